/* sq-project.c
 *
 * One SQLite connection per project, guarded by a recursive mutex; every
 * public call is one transaction. The `_async` variants queue their work
 * on a one-thread GThreadPool, so writes land in the order they were
 * asked for and never on the main loop. The schema and the durability
 * argument are in docs/project-format.md.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-project"

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>

#include "sq-json.h"
#include "sq-project.h"
#include "sq-project-private.h"

G_DEFINE_QUARK (sq-project-error-quark, sq_project_error)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

#define NOW_SQL "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
#define TIME_SQL(param) \
  "(CASE WHEN " param " > 0 THEN strftime('%Y-%m-%dT%H:%M:%fZ', " param " / 1000000.0, 'unixepoch') " \
  "ELSE " NOW_SQL " END)"

static const char * const criterion_names[SQ_N_CRITERIA] = { "correctness", "relevance" };

const char *
sq_criterion_to_string (SqCriterion criterion)
{
  g_return_val_if_fail ((guint) criterion < SQ_N_CRITERIA, NULL);
  return criterion_names[criterion];
}

gboolean
sq_criterion_from_string (const char  *name,
                          SqCriterion *out_criterion)
{
  for (guint i = 0; name != NULL && i < SQ_N_CRITERIA; i++)
    {
      if (strcmp (name, criterion_names[i]) == 0)
        {
          if (out_criterion != NULL)
            *out_criterion = (SqCriterion) i;
          return TRUE;
        }
    }
  return FALSE;
}

static gboolean
status_is_terminal (const char *status)
{
  return g_strcmp0 (status, "succeeded") == 0 || g_strcmp0 (status, "failed") == 0 ||
         g_strcmp0 (status, "canceled") == 0 || g_strcmp0 (status, "aborted") == 0;
}

/* ------------------------------------------------------------------ */
/* Boxed records                                                       */

SqImageRecord *
sq_image_record_copy (const SqImageRecord *record)
{
  SqImageRecord *copy = g_new0 (SqImageRecord, 1);

  *copy = *record;
  copy->sha256 = g_strdup (record->sha256);
  copy->name = g_strdup (record->name);
  copy->mime_type = g_strdup (record->mime_type);
  copy->added_at = g_strdup (record->added_at);
  return copy;
}

void
sq_image_record_free (SqImageRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->sha256);
  g_free (record->name);
  g_free (record->mime_type);
  g_free (record->added_at);
  g_free (record);
}

SqPromptRecord *
sq_prompt_record_copy (const SqPromptRecord *record)
{
  SqPromptRecord *copy = g_new0 (SqPromptRecord, 1);

  copy->id = record->id;
  copy->text = g_strdup (record->text);
  copy->added_at = g_strdup (record->added_at);
  return copy;
}

void
sq_prompt_record_free (SqPromptRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->text);
  g_free (record->added_at);
  g_free (record);
}

SqModelRecord *
sq_model_record_copy (const SqModelRecord *record)
{
  SqModelRecord *copy = g_new0 (SqModelRecord, 1);

  copy->id = record->id;
  copy->display_name = g_strdup (record->display_name);
  copy->ref = g_strdup (record->ref);
  copy->params_json = g_strdup (record->params_json);
  copy->added_at = g_strdup (record->added_at);
  return copy;
}

void
sq_model_record_free (SqModelRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->display_name);
  g_free (record->ref);
  g_free (record->params_json);
  g_free (record->added_at);
  g_free (record);
}

SqRating *
sq_rating_copy (const SqRating *rating)
{
  SqRating *copy = g_new0 (SqRating, 1);

  *copy = *rating;
  copy->rater = g_strdup (rating->rater);
  copy->rated_at = g_strdup (rating->rated_at);
  return copy;
}

void
sq_rating_free (SqRating *rating)
{
  if (rating == NULL)
    return;
  g_free (rating->rater);
  g_free (rating->rated_at);
  g_free (rating);
}

G_DEFINE_BOXED_TYPE (SqImageRecord, sq_image_record, sq_image_record_copy, sq_image_record_free)
G_DEFINE_BOXED_TYPE (SqPromptRecord, sq_prompt_record, sq_prompt_record_copy, sq_prompt_record_free)
G_DEFINE_BOXED_TYPE (SqModelRecord, sq_model_record, sq_model_record_copy, sq_model_record_free)
G_DEFINE_BOXED_TYPE (SqRating, sq_rating, sq_rating_copy, sq_rating_free)

/* ------------------------------------------------------------------ */
/* SqResult                                                            */

struct _SqResult
{
  GObject  parent_instance;

  gint64   id;
  gint64   prompt_id;
  gint64   image_id;
  gint64   model_id;
  int      run;
  char    *prompt;
  char    *image_name;
  char    *image_sha256;
  char    *model_name;
  char    *model_ref;
  char    *status;
  char    *response;
  char    *error;
  char    *prediction_id;
  char    *created_at;
  char    *started_at;
  char    *finished_at;
  gint64   ttft_ms;
  gint64   total_ms;
  double   predict_time;
  double   score[SQ_N_CRITERIA];
  guint    n_ratings[SQ_N_CRITERIA];
  char    *note;
};

G_DEFINE_FINAL_TYPE (SqResult, sq_result, G_TYPE_OBJECT)

enum {
  RESULT_PROP_0,
  RESULT_PROP_ID,
  RESULT_PROP_PROMPT_ID,
  RESULT_PROP_PROMPT,
  RESULT_PROP_IMAGE_ID,
  RESULT_PROP_IMAGE_NAME,
  RESULT_PROP_IMAGE_SHA256,
  RESULT_PROP_MODEL_ID,
  RESULT_PROP_MODEL_NAME,
  RESULT_PROP_MODEL_REF,
  RESULT_PROP_RUN,
  RESULT_PROP_STATUS,
  RESULT_PROP_RESPONSE,
  RESULT_PROP_ERROR,
  RESULT_PROP_PREDICTION_ID,
  RESULT_PROP_CREATED_AT,
  RESULT_PROP_STARTED_AT,
  RESULT_PROP_FINISHED_AT,
  RESULT_PROP_TTFT_MS,
  RESULT_PROP_TOTAL_MS,
  RESULT_PROP_PREDICT_TIME,
  RESULT_PROP_CORRECTNESS,
  RESULT_PROP_RELEVANCE,
  RESULT_PROP_NOTE,
  RESULT_N_PROPS
};

static GParamSpec *result_properties[RESULT_N_PROPS];

static void
sq_result_finalize (GObject *object)
{
  SqResult *self = SQ_RESULT (object);

  g_free (self->prompt);
  g_free (self->image_name);
  g_free (self->image_sha256);
  g_free (self->model_name);
  g_free (self->model_ref);
  g_free (self->status);
  g_free (self->response);
  g_free (self->error);
  g_free (self->prediction_id);
  g_free (self->created_at);
  g_free (self->started_at);
  g_free (self->finished_at);
  g_free (self->note);

  G_OBJECT_CLASS (sq_result_parent_class)->finalize (object);
}

static void
sq_result_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  SqResult *self = SQ_RESULT (object);

  switch (prop_id)
    {
    case RESULT_PROP_ID: g_value_set_int64 (value, self->id); break;
    case RESULT_PROP_PROMPT_ID: g_value_set_int64 (value, self->prompt_id); break;
    case RESULT_PROP_PROMPT: g_value_set_string (value, self->prompt); break;
    case RESULT_PROP_IMAGE_ID: g_value_set_int64 (value, self->image_id); break;
    case RESULT_PROP_IMAGE_NAME: g_value_set_string (value, self->image_name); break;
    case RESULT_PROP_IMAGE_SHA256: g_value_set_string (value, self->image_sha256); break;
    case RESULT_PROP_MODEL_ID: g_value_set_int64 (value, self->model_id); break;
    case RESULT_PROP_MODEL_NAME: g_value_set_string (value, self->model_name); break;
    case RESULT_PROP_MODEL_REF: g_value_set_string (value, self->model_ref); break;
    case RESULT_PROP_RUN: g_value_set_int (value, self->run); break;
    case RESULT_PROP_STATUS: g_value_set_string (value, self->status); break;
    case RESULT_PROP_RESPONSE: g_value_set_string (value, self->response); break;
    case RESULT_PROP_ERROR: g_value_set_string (value, self->error); break;
    case RESULT_PROP_PREDICTION_ID: g_value_set_string (value, self->prediction_id); break;
    case RESULT_PROP_CREATED_AT: g_value_set_string (value, self->created_at); break;
    case RESULT_PROP_STARTED_AT: g_value_set_string (value, self->started_at); break;
    case RESULT_PROP_FINISHED_AT: g_value_set_string (value, self->finished_at); break;
    case RESULT_PROP_TTFT_MS: g_value_set_int64 (value, self->ttft_ms); break;
    case RESULT_PROP_TOTAL_MS: g_value_set_int64 (value, self->total_ms); break;
    case RESULT_PROP_PREDICT_TIME: g_value_set_double (value, self->predict_time); break;
    case RESULT_PROP_CORRECTNESS: g_value_set_double (value, self->score[SQ_CRITERION_CORRECTNESS]); break;
    case RESULT_PROP_RELEVANCE: g_value_set_double (value, self->score[SQ_CRITERION_RELEVANCE]); break;
    case RESULT_PROP_NOTE: g_value_set_string (value, self->note); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_result_class_init (SqResultClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = sq_result_finalize;
  object_class->get_property = sq_result_get_property;

#define INT64_PROP(ID, name, dflt) \
  result_properties[ID] = g_param_spec_int64 (name, NULL, NULL, -1, G_MAXINT64, dflt, flags)
#define STRING_PROP(ID, name) \
  result_properties[ID] = g_param_spec_string (name, NULL, NULL, NULL, flags)
#define DOUBLE_PROP(ID, name) \
  result_properties[ID] = g_param_spec_double (name, NULL, NULL, -1, G_MAXDOUBLE, -1, flags)

  INT64_PROP (RESULT_PROP_ID, "id", 0);
  INT64_PROP (RESULT_PROP_PROMPT_ID, "prompt-id", 0);
  STRING_PROP (RESULT_PROP_PROMPT, "prompt");
  INT64_PROP (RESULT_PROP_IMAGE_ID, "image-id", 0);
  STRING_PROP (RESULT_PROP_IMAGE_NAME, "image-name");
  STRING_PROP (RESULT_PROP_IMAGE_SHA256, "image-sha256");
  INT64_PROP (RESULT_PROP_MODEL_ID, "model-id", 0);
  STRING_PROP (RESULT_PROP_MODEL_NAME, "model-name");
  STRING_PROP (RESULT_PROP_MODEL_REF, "model-ref");
  result_properties[RESULT_PROP_RUN] = g_param_spec_int ("run", NULL, NULL, 0, G_MAXINT, 0, flags);
  STRING_PROP (RESULT_PROP_STATUS, "status");
  STRING_PROP (RESULT_PROP_RESPONSE, "response");
  STRING_PROP (RESULT_PROP_ERROR, "error");
  STRING_PROP (RESULT_PROP_PREDICTION_ID, "prediction-id");
  STRING_PROP (RESULT_PROP_CREATED_AT, "created-at");
  STRING_PROP (RESULT_PROP_STARTED_AT, "started-at");
  STRING_PROP (RESULT_PROP_FINISHED_AT, "finished-at");
  INT64_PROP (RESULT_PROP_TTFT_MS, "ttft-ms", -1);
  INT64_PROP (RESULT_PROP_TOTAL_MS, "total-ms", -1);
  DOUBLE_PROP (RESULT_PROP_PREDICT_TIME, "predict-time");
  DOUBLE_PROP (RESULT_PROP_CORRECTNESS, "correctness");
  DOUBLE_PROP (RESULT_PROP_RELEVANCE, "relevance");
  STRING_PROP (RESULT_PROP_NOTE, "note");

#undef INT64_PROP
#undef STRING_PROP
#undef DOUBLE_PROP

  g_object_class_install_properties (object_class, RESULT_N_PROPS, result_properties);
}

static void
sq_result_init (SqResult *self)
{
  self->ttft_ms = -1;
  self->total_ms = -1;
  self->predict_time = -1;
  for (guint i = 0; i < SQ_N_CRITERIA; i++)
    self->score[i] = -1;
}

gint64 sq_result_get_id (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), 0); return self->id; }
gint64 sq_result_get_prompt_id (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), 0); return self->prompt_id; }
const char *sq_result_get_prompt (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->prompt; }
gint64 sq_result_get_image_id (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), 0); return self->image_id; }
const char *sq_result_get_image_name (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->image_name; }
const char *sq_result_get_image_sha256 (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->image_sha256; }
gint64 sq_result_get_model_id (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), 0); return self->model_id; }
const char *sq_result_get_model_name (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->model_name; }
const char *sq_result_get_model_ref (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->model_ref; }
int sq_result_get_run (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), 0); return self->run; }
const char *sq_result_get_status (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->status; }
const char *sq_result_get_response (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->response; }
const char *sq_result_get_error (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->error; }
const char *sq_result_get_prediction_id (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->prediction_id; }
const char *sq_result_get_created_at (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->created_at; }
const char *sq_result_get_started_at (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->started_at; }
const char *sq_result_get_finished_at (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->finished_at; }
gint64 sq_result_get_ttft_ms (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), -1); return self->ttft_ms; }
gint64 sq_result_get_total_ms (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), -1); return self->total_ms; }
double sq_result_get_predict_time (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), -1); return self->predict_time; }
const char *sq_result_get_note (SqResult *self) { g_return_val_if_fail (SQ_IS_RESULT (self), NULL); return self->note; }

double
sq_result_get_score (SqResult    *self,
                     SqCriterion  criterion)
{
  g_return_val_if_fail (SQ_IS_RESULT (self), -1);
  g_return_val_if_fail ((guint) criterion < SQ_N_CRITERIA, -1);
  return self->score[criterion];
}

double
sq_result_get_correctness (SqResult *self)
{
  return sq_result_get_score (self, SQ_CRITERION_CORRECTNESS);
}

double
sq_result_get_relevance (SqResult *self)
{
  return sq_result_get_score (self, SQ_CRITERION_RELEVANCE);
}

guint
sq_result_get_n_ratings (SqResult    *self,
                         SqCriterion  criterion)
{
  g_return_val_if_fail (SQ_IS_RESULT (self), 0);
  g_return_val_if_fail ((guint) criterion < SQ_N_CRITERIA, 0);
  return self->n_ratings[criterion];
}

gboolean
sq_result_is_finished (SqResult *self)
{
  g_return_val_if_fail (SQ_IS_RESULT (self), FALSE);
  return status_is_terminal (self->status);
}

/* ------------------------------------------------------------------ */
/* SqProject                                                           */

struct _SqProject
{
  GObject       parent_instance;

  GRecMutex     mutex;        /* guards everything below */
  sqlite3      *db;           /* (owned) */
  char         *path;         /* (owned) */
  GMainContext *context;      /* (owned) where signals are emitted */
  GThreadPool  *pool;         /* (owned) (nullable) one thread for the _async calls */
  guint         read_only : 1;
  guint         sync_full : 1;
};

G_DEFINE_FINAL_TYPE (SqProject, sq_project, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_READ_ONLY,
  N_PROPS
};

enum {
  RESULTS_CHANGED,
  INPUTS_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* The schema, one step per version: step i takes a file from version i
 * to i + 1. Never edit a step that shipped; add one. */
static const char * const migrations[SQ_PROJECT_SCHEMA_VERSION] = {
  /* 0 → 1: the first schema. */
  "CREATE TABLE meta ("
  "  key   TEXT PRIMARY KEY NOT NULL,"
  "  value TEXT NOT NULL"
  ") WITHOUT ROWID;"
  "CREATE TABLE images ("
  "  id        INTEGER PRIMARY KEY,"
  "  sha256    TEXT NOT NULL UNIQUE CHECK (length (sha256) = 64),"
  "  name      TEXT NOT NULL,"
  "  mime_type TEXT NOT NULL,"
  "  width     INTEGER NOT NULL CHECK (width >= 0),"
  "  height    INTEGER NOT NULL CHECK (height >= 0),"
  "  bytes     BLOB NOT NULL,"
  "  thumbnail BLOB,"
  "  added_at  TEXT NOT NULL"
  ");"
  "CREATE TABLE prompts ("
  "  id       INTEGER PRIMARY KEY,"
  "  text     TEXT NOT NULL UNIQUE,"
  "  added_at TEXT NOT NULL"
  ");"
  "CREATE TABLE models ("
  "  id           INTEGER PRIMARY KEY,"
  "  display_name TEXT NOT NULL,"
  "  ref          TEXT NOT NULL,"
  "  params_json  TEXT NOT NULL DEFAULT '{}',"
  "  added_at     TEXT NOT NULL,"
  "  UNIQUE (ref, params_json)"
  ");"
  "CREATE TABLE results ("
  "  id            INTEGER PRIMARY KEY,"
  "  prompt_id     INTEGER NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,"
  "  image_id      INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  model_id      INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,"
  "  run           INTEGER NOT NULL DEFAULT 0 CHECK (run >= 0),"
  "  status        TEXT NOT NULL DEFAULT 'queued' CHECK (status IN"
  "                  ('queued', 'starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted')),"
  "  response      TEXT NOT NULL DEFAULT '',"
  "  error         TEXT,"
  "  note          TEXT,"
  "  prediction_id TEXT,"
  "  created_at    TEXT,"
  "  started_at    TEXT,"
  "  finished_at   TEXT,"
  "  ttft_ms       INTEGER,"
  "  total_ms      INTEGER,"
  "  UNIQUE (prompt_id, image_id, model_id, run)"
  ");"
  "CREATE INDEX results_image ON results (image_id);"
  "CREATE INDEX results_model ON results (model_id);"
  "CREATE INDEX results_status ON results (status);"
  "CREATE TABLE ratings ("
  "  id        INTEGER PRIMARY KEY,"
  "  result_id INTEGER NOT NULL REFERENCES results (id) ON DELETE CASCADE,"
  "  criterion TEXT NOT NULL CHECK (criterion IN ('correctness', 'relevance')),"
  "  score     INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),"
  "  rater     TEXT NOT NULL DEFAULT '',"
  "  rated_at  TEXT NOT NULL,"
  "  UNIQUE (result_id, criterion, rater)"
  ");",

  /* 1 → 2: notes per rater in their own table; Replicate's predict_time. */
  "CREATE TABLE notes ("
  "  result_id  INTEGER NOT NULL REFERENCES results (id) ON DELETE CASCADE,"
  "  rater      TEXT NOT NULL DEFAULT '',"
  "  text       TEXT NOT NULL CHECK (text <> ''),"
  "  updated_at TEXT NOT NULL,"
  "  PRIMARY KEY (result_id, rater)"
  ") WITHOUT ROWID;"
  "INSERT INTO notes (result_id, rater, text, updated_at)"
  "  SELECT id, '', note, COALESCE (finished_at, " NOW_SQL ") FROM results"
  "  WHERE note IS NOT NULL AND note <> '';"
  "ALTER TABLE results DROP COLUMN note;"
  "ALTER TABLE results ADD COLUMN predict_time REAL;",
};

/* ------------------------------------------------------------------ */
/* Errors                                                              */

static void
set_sqlite_error (const char  *path,
                  sqlite3     *db,
                  int          rc,
                  GError     **error)
{
  g_autofree char *name = path ? g_filename_display_basename (path) : g_strdup ("?");
  const char *detail = db != NULL ? sqlite3_errmsg (db) : sqlite3_errstr (rc);

  switch (rc & 0xff)
    {
    case SQLITE_FULL:
      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NO_SPACE,
                   _("Could not save to “%s”: the disk is full. Everything saved before is kept."),
                   name);
      break;
    case SQLITE_READONLY:
      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_READ_ONLY,
                   _("Could not save to “%s”: the file is read-only. Everything saved before is kept."),
                   name);
      break;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_IO,
                   _("Could not read or write “%s”: %s"), name, detail);
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_CORRUPT,
                   _("“%s” is damaged: %s"), name, detail);
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_BUSY,
                   _("“%s” is in use by another program"), name);
      break;
    case SQLITE_CONSTRAINT:
      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_INVALID,
                   _("Could not save to “%s”: %s"), name, detail);
      break;
    default:
      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_FAILED,
                   _("Could not use “%s”: %s"), name, detail);
      break;
    }
}

static void
set_db_error (SqProject  *self,
              int         rc,
              GError    **error)
{
  set_sqlite_error (self->path, self->db, rc, error);
}

/* ------------------------------------------------------------------ */
/* Small SQLite helpers (the mutex is held)                            */

static sqlite3_stmt *
prepare (SqProject   *self,
         const char  *sql,
         GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);

  if (rc != SQLITE_OK)
    {
      set_db_error (self, rc, error);
      sqlite3_finalize (stmt);
      return NULL;
    }
  return stmt;
}

/* SQLITE_ROW, SQLITE_DONE, or 0 with @error set. */
static int
step (SqProject     *self,
      sqlite3_stmt  *stmt,
      GError       **error)
{
  int rc = sqlite3_step (stmt);

  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    return rc;
  set_db_error (self, rc, error);
  return 0;
}

static gboolean
exec (SqProject   *self,
      const char  *sql,
      GError     **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      set_db_error (self, rc, error);
      return FALSE;
    }
  return TRUE;
}

static void
bind_text_or_null (sqlite3_stmt *stmt,
                   int           index,
                   const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (stmt, index, text, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, index);
}

static char *
column_dup (sqlite3_stmt *stmt,
            int           column)
{
  if (sqlite3_column_type (stmt, column) == SQLITE_NULL)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (stmt, column));
}

static gboolean
check_writable (SqProject  *self,
                GError    **error)
{
  if (self->read_only)
    {
      g_autofree char *name = g_filename_display_basename (self->path);

      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_READ_ONLY,
                   _("Could not save to “%s”: the file is read-only. Use Save As to keep your changes elsewhere."),
                   name);
      return FALSE;
    }
  return TRUE;
}

static void
rollback (SqProject *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Starts a write transaction. @durable picks synchronous=FULL (the WAL is
 * fsynced at commit) for human work and final answers; NORMAL is enough
 * against a process crash (see docs/project-format.md). */
static gboolean
begin (SqProject  *self,
       gboolean    durable,
       GError    **error)
{
  if (!check_writable (self, error))
    return FALSE;

  if (!!durable != !!self->sync_full)
    {
      if (!exec (self, durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL", error))
        return FALSE;
      self->sync_full = !!durable;
    }

  return exec (self, "BEGIN IMMEDIATE", error);
}

static gboolean
commit (SqProject  *self,
        GError    **error)
{
  int rc = sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      set_db_error (self, rc, error);
      rollback (self);
      return FALSE;
    }
  return TRUE;
}

/* Ends a transaction: commits when @ok, rolls back otherwise. */
static gboolean
end (SqProject  *self,
     gboolean    ok,
     GError    **error)
{
  if (!ok)
    {
      rollback (self);
      return FALSE;
    }
  return commit (self, error);
}

/* ------------------------------------------------------------------ */
/* Signals, emitted in the project's main context                      */

typedef struct
{
  SqProject *self;
  guint      signal_id;
  gint64     result_id;
  GParamSpec *pspec;
} Emission;

static gboolean
emit_cb (gpointer data)
{
  Emission *emission = data;

  if (emission->pspec != NULL)
    g_object_notify_by_pspec (G_OBJECT (emission->self), emission->pspec);
  else if (emission->signal_id == signals[RESULTS_CHANGED])
    g_signal_emit (emission->self, emission->signal_id, 0, emission->result_id);
  else
    g_signal_emit (emission->self, emission->signal_id, 0);

  return G_SOURCE_REMOVE;
}

static void
emission_free (gpointer data)
{
  Emission *emission = data;

  g_object_unref (emission->self);
  g_free (emission);
}

static void
emit_later (SqProject  *self,
            guint       signal_id,
            gint64      result_id,
            GParamSpec *pspec)
{
  Emission *emission = g_new0 (Emission, 1);

  emission->self = g_object_ref (self);
  emission->signal_id = signal_id;
  emission->result_id = result_id;
  emission->pspec = pspec;
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, emit_cb, emission, emission_free);
}

static void
results_changed (SqProject *self,
                 gint64     result_id)
{
  emit_later (self, signals[RESULTS_CHANGED], result_id, NULL);
}

static void
inputs_changed (SqProject *self)
{
  emit_later (self, signals[INPUTS_CHANGED], 0, NULL);
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */

static gboolean
pragma_int (sqlite3     *db,
            const char  *sql,
            gint64      *out_value,
            int         *out_rc)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          *out_value = sqlite3_column_int64 (stmt, 0);
          rc = SQLITE_OK;
        }
      else if (rc == SQLITE_DONE)
        rc = SQLITE_CORRUPT;
    }
  sqlite3_finalize (stmt);
  *out_rc = rc;
  return rc == SQLITE_OK;
}

static gboolean
set_corrupt (const char  *path,
             const char  *why,
             GError     **error)
{
  g_autofree char *name = g_filename_display_name (path);

  g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_CORRUPT,
               _("Could not open “%s”: %s"), name, why);
  return FALSE;
}

/* Looks at an existing file without writing a byte: a read-only
 * connection, no journal or schema changes. */
static gboolean
check_existing_file (const char  *path,
                     GError     **error)
{
  static const char magic[16] = "SQLite format 3";
  g_autofree char *name = g_filename_display_name (path);
  char header[100];
  sqlite3 *db = NULL;
  gint64 value = 0;
  gsize n_read;
  FILE *file;
  int rc;

  file = g_fopen (path, "rb");
  if (file == NULL)
    {
      int saved_errno = errno;

      g_set_error (error, SQ_PROJECT_ERROR,
                   saved_errno == EACCES ? SQ_PROJECT_ERROR_READ_ONLY : SQ_PROJECT_ERROR_IO,
                   _("Could not open “%s”: %s"), name, g_strerror (saved_errno));
      return FALSE;
    }
  n_read = fread (header, 1, sizeof header, file);
  fclose (file);

  if (n_read == 0)
    return set_corrupt (path, _("the file is empty; it is not a Squint project"), error);
  if (n_read < sizeof header || memcmp (header, magic, sizeof magic) != 0)
    return set_corrupt (path, _("it is not a Squint project (not an SQLite database)"), error);

  /* Without a -wal file nobody has the project open and the main file is
   * all there is: read it as immutable, which creates no -wal or -shm
   * next to it. With one (a crash, or another Squint using it), read it
   * the normal way so the committed pages in the WAL count. */
  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *escaped = g_uri_escape_string (path, "/", FALSE);
    g_autofree char *uri = g_strconcat ("file:", escaped,
                                        g_file_test (wal, G_FILE_TEST_EXISTS) ? "" : "?immutable=1",
                                        NULL);

    rc = sqlite3_open_v2 (uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI, NULL);
  }
  if (rc != SQLITE_OK)
    goto sqlite_failed;

  if (!pragma_int (db, "PRAGMA application_id", &value, &rc))
    goto sqlite_failed;
  if (value != SQ_PROJECT_APPLICATION_ID)
    {
      sqlite3_close (db);
      return set_corrupt (path, _("it is an SQLite database but not a Squint project"), error);
    }

  if (!pragma_int (db, "PRAGMA user_version", &value, &rc))
    goto sqlite_failed;
  if (value > SQ_PROJECT_SCHEMA_VERSION || value < 0)
    {
      sqlite3_close (db);
      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_TOO_NEW,
                   _("Could not open “%s”: it was made by a newer version of Squint "
                     "(file format %d, this version reads up to %d). Update Squint to open it."),
                   name, (int) value, SQ_PROJECT_SCHEMA_VERSION);
      return FALSE;
    }

  {
    sqlite3_stmt *stmt = NULL;
    g_autoptr(GString) problems = g_string_new (NULL);

    rc = sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
      {
        const char *line = (const char *) sqlite3_column_text (stmt, 0);

        if (g_strcmp0 (line, "ok") != 0 && problems->len < 200)
          g_string_append_printf (problems, "%s%s", problems->len ? "; " : "", line ? line : "");
        rc = SQLITE_OK;
      }
    sqlite3_finalize (stmt);
    if (rc != SQLITE_DONE)
      goto sqlite_failed;
    if (problems->len > 0)
      {
        g_autofree char *why = g_strdup_printf (_("the file is damaged (%s)"), problems->str);

        sqlite3_close (db);
        return set_corrupt (path, why, error);
      }
  }

  sqlite3_close (db);
  return TRUE;

sqlite_failed:
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    set_sqlite_error (path, NULL, rc, error);
  else if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_IOERR)
    set_sqlite_error (path, db, rc, error);
  else
    {
      g_autofree char *why = g_strdup_printf (_("the file is damaged (%s)"),
                                              db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
      set_corrupt (path, why, error);
    }
  sqlite3_close (db);
  return FALSE;
}

/* Brings the schema to SQ_PROJECT_SCHEMA_VERSION in one transaction. */
static gboolean
migrate (SqProject  *self,
         gboolean    created,
         GError    **error)
{
  g_autofree char *version_sql = NULL;
  gint64 version = 0;
  gboolean ok = TRUE;
  int rc;

  if (!pragma_int (self->db, "PRAGMA user_version", &version, &rc))
    {
      set_db_error (self, rc, error);
      return FALSE;
    }
  if (version == SQ_PROJECT_SCHEMA_VERSION)
    return TRUE;

  if (!begin (self, TRUE, error))
    return FALSE;

  if (created)
    {
      g_autofree char *sql = g_strdup_printf ("PRAGMA application_id = %d", SQ_PROJECT_APPLICATION_ID);
      ok = exec (self, sql, error);
    }

  for (gint64 v = version; ok && v < SQ_PROJECT_SCHEMA_VERSION; v++)
    {
      g_autofree char *display = g_filename_display_name (self->path);

      g_debug ("Migrating %s from schema %d to %d", display, (int) v, (int) v + 1);
      ok = exec (self, migrations[v], error);
    }

  version_sql = g_strdup_printf ("PRAGMA user_version = %d;"
                                 "INSERT OR REPLACE INTO meta (key, value) VALUES ('squint_version', '%s');",
                                 SQ_PROJECT_SCHEMA_VERSION, PACKAGE_VERSION);
  if (ok)
    ok = exec (self, version_sql, error);
  if (ok)
    ok = exec (self, "INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', " NOW_SQL ")", error);
  if (!ok && error != NULL && *error != NULL &&
      g_error_matches (*error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_FAILED))
    {
      /* The schema is not what its version says: a damaged file. */
      g_autofree char *name = g_filename_display_name (self->path);
      GError *damaged = g_error_new (SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_CORRUPT,
                                     _("Could not open “%s”: it could not be updated to this "
                                       "version of Squint (%s)"),
                                     name, (*error)->message);

      g_clear_error (error);
      g_propagate_error (error, damaged);
    }

  return end (self, ok, error);
}

static void
remove_database_files (const char *path)
{
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  g_autofree char *journal = g_strconcat (path, "-journal", NULL);

  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
  g_unlink (journal);
}

/* Opens (checking first) or creates the file; fills db and read_only. */
static gboolean
open_database (const char  *path,
               sqlite3    **out_db,
               gboolean    *out_read_only,
               gboolean    *out_created,
               GError     **error)
{
  g_autofree char *name = g_filename_display_name (path);
  gboolean created = FALSE;
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
  int rc;

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        return set_corrupt (path, _("it is a folder"), error);
      if (!check_existing_file (path, error))
        return FALSE;
    }
  else
    {
      g_autofree char *dir = g_path_get_dirname (path);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          int saved_errno = errno;

          g_set_error (error, SQ_PROJECT_ERROR,
                       saved_errno == EACCES || saved_errno == EROFS ?
                         SQ_PROJECT_ERROR_READ_ONLY : SQ_PROJECT_ERROR_IO,
                       _("Could not create “%s”: %s"), name, g_strerror (saved_errno));
          return FALSE;
        }
      flags |= SQLITE_OPEN_CREATE;
      created = TRUE;
    }

  rc = sqlite3_open_v2 (path, &db, flags, NULL);
  if (rc != SQLITE_OK)
    {
      if (created)
        {
          g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_IO,
                       _("Could not create “%s”: %s"), name,
                       db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
          sqlite3_close (db);
          remove_database_files (path);
        }
      else
        {
          set_sqlite_error (path, db, rc, error);
          sqlite3_close (db);
        }
      return FALSE;
    }

  sqlite3_busy_timeout (db, 5000);
  sqlite3_extended_result_codes (db, 1);

  *out_db = db;
  *out_read_only = sqlite3_db_readonly (db, "main") == 1;
  *out_created = created;
  return TRUE;
}

static void
sq_project_set_database (SqProject  *self,
                         sqlite3    *db,
                         const char *path,
                         gboolean    read_only)
{
  if (self->db != NULL)
    sqlite3_close (self->db);
  self->db = db;
  g_free (self->path);
  self->path = g_strdup (path);
  self->read_only = !!read_only;
  self->sync_full = FALSE;
}

/* Sets the pragmas and migrates. */
static gboolean
prepare_database (SqProject  *self,
                  gboolean    created,
                  GError    **error)
{
  gint64 version = 0;
  int rc;

  if (!exec (self, "PRAGMA foreign_keys = ON", error))
    return FALSE;

  if (self->read_only)
    {
      if (!pragma_int (self->db, "PRAGMA user_version", &version, &rc))
        {
          set_db_error (self, rc, error);
          return FALSE;
        }
      if (version != SQ_PROJECT_SCHEMA_VERSION)
        {
          g_autofree char *name = g_filename_display_name (self->path);

          g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_READ_ONLY,
                       _("Could not open “%s”: it was made by an older version of Squint and "
                         "needs updating, but the file is read-only"), name);
          return FALSE;
        }
      return TRUE;
    }

  /* Migrate first, in the journal mode the file already has: if a step
   * fails, the rollback leaves the file as it was, and switching to WAL
   * (which rewrites the header) waits until the schema is current. */
  if (!exec (self, "PRAGMA synchronous = NORMAL", error) ||
      !migrate (self, created, error))
    return FALSE;

  return exec (self, "PRAGMA journal_mode = WAL", error);
}

static SqProject *
project_open (const char    *path,
              GMainContext  *context,
              GError       **error)
{
  g_autoptr(SqProject) self = NULL;
  gboolean read_only = FALSE;
  gboolean created = FALSE;
  sqlite3 *db = NULL;

  if (!open_database (path, &db, &read_only, &created, error))
    return NULL;

  self = g_object_new (SQ_TYPE_PROJECT, NULL);
  self->context = g_main_context_ref (context);
  sq_project_set_database (self, db, path, read_only);

  if (!prepare_database (self, created, error))
    {
      sqlite3_close (self->db);
      self->db = NULL;
      if (created)
        remove_database_files (path);
      return NULL;
    }

  return g_steal_pointer (&self);
}

SqProject *
sq_project_open (const char  *path,
                 GError     **error)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return project_open (path, context, error);
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GMainContext *context = g_task_get_context (task);
  GError *error = NULL;
  SqProject *project;

  project = project_open (task_data, context, &error);
  if (project == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, project, g_object_unref);
}

void
sq_project_open_async (const char          *path,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (path != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_project_open_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  g_task_run_in_thread (task, open_thread);
}

SqProject *
sq_project_open_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_project_open_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

char *
sq_project_get_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "squint", "current.squint", NULL);
}

const char *
sq_project_get_path (SqProject *self)
{
  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);
  return self->path;
}

char *
sq_project_dup_path (SqProject *self)
{
  g_autoptr(GRecMutexLocker) locker = NULL;

  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);

  locker = g_rec_mutex_locker_new (&self->mutex);
  return g_strdup (self->path);
}

gboolean
sq_project_is_read_only (SqProject *self)
{
  g_return_val_if_fail (SQ_IS_PROJECT (self), TRUE);
  return self->read_only;
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
sq_project_finalize (GObject *object)
{
  SqProject *self = SQ_PROJECT (object);

  /* Every queued task holds a reference, so the pool is idle here; this
   * may run on the pool's own thread, so do not wait for it. */
  if (self->pool != NULL)
    g_thread_pool_free (self->pool, FALSE, FALSE);
  if (self->db != NULL)
    sqlite3_close (self->db);
  g_free (self->path);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_rec_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (sq_project_parent_class)->finalize (object);
}

static void
sq_project_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  SqProject *self = SQ_PROJECT (object);

  switch (prop_id)
    {
    case PROP_PATH:
      {
        g_rec_mutex_lock (&self->mutex);
        g_value_set_string (value, self->path);
        g_rec_mutex_unlock (&self->mutex);
      }
      break;
    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_project_class_init (SqProjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sq_project_finalize;
  object_class->get_property = sq_project_get_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * SqProject::results-changed:
   * @result_id: the result that changed, or 0 when many did
   *
   * A result, its ratings or its notes were written.
   */
  signals[RESULTS_CHANGED] =
    g_signal_new ("results-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  /**
   * SqProject::inputs-changed:
   *
   * An image, prompt or model was added.
   */
  signals[INPUTS_CHANGED] =
    g_signal_new ("inputs-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
sq_project_init (SqProject *self)
{
  g_rec_mutex_init (&self->mutex);
}

/* ------------------------------------------------------------------ */
/* The async queue                                                     */

typedef struct _Op Op;
typedef void (*OpFunc) (SqProject *self,
                        Op        *op,
                        GTask     *task);

struct _Op
{
  OpFunc     func;
  gboolean   is_read;   /* reads honour cancellation; queued writes always run */
  gint64     i[4];
  double     d;
  char      *s[4];
  GBytes    *b[2];
  GArray    *ids;       /* (element-type gint64) */
  GStrv      strv;
};

static void
op_free (gpointer data)
{
  Op *op = data;

  for (guint i = 0; i < G_N_ELEMENTS (op->s); i++)
    g_free (op->s[i]);
  for (guint i = 0; i < G_N_ELEMENTS (op->b); i++)
    g_clear_pointer (&op->b[i], g_bytes_unref);
  g_clear_pointer (&op->ids, g_array_unref);
  g_strfreev (op->strv);
  g_free (op);
}

static void
pool_func (gpointer data,
           gpointer user_data)
{
  GTask *task = data;
  SqProject *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);

  if (!(op->is_read && g_task_return_error_if_cancelled (task)))
    op->func (self, op, task);

  g_object_unref (task);
}

static Op *
op_new (OpFunc   func,
        gboolean is_read)
{
  Op *op = g_new0 (Op, 1);

  op->func = func;
  op->is_read = is_read;
  return op;
}

static void
queue_op (SqProject           *self,
          Op                  *op,
          gpointer             source_tag,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, op, op_free);

  g_rec_mutex_lock (&self->mutex);
  if (self->pool == NULL)
    self->pool = g_thread_pool_new (pool_func, NULL, 1, FALSE, NULL);
  g_rec_mutex_unlock (&self->mutex);

  g_thread_pool_push (self->pool, task, NULL);
}

static void
return_id (GTask  *task,
           gint64  id,
           GError *error)
{
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_memdup2 (&id, sizeof id), g_free);
}

static void
return_boolean (GTask    *task,
                gboolean  ok,
                GError   *error)
{
  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
return_pointer (GTask          *task,
                gpointer        pointer,
                GDestroyNotify  destroy,
                GError         *error)
{
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, pointer, destroy);
}

static gboolean
check_task (SqProject    *self,
            GAsyncResult *result,
            gpointer      source_tag)
{
  g_return_val_if_fail (SQ_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, FALSE);
  return TRUE;
}

static gint64
finish_id (SqProject     *self,
           GAsyncResult  *result,
           gpointer       source_tag,
           GError       **error)
{
  g_autofree gint64 *id = NULL;

  if (!check_task (self, result, source_tag))
    return 0;
  id = g_task_propagate_pointer (G_TASK (result), error);
  return id ? *id : 0;
}

static gboolean
finish_boolean (SqProject     *self,
                GAsyncResult  *result,
                gpointer       source_tag,
                GError       **error)
{
  if (!check_task (self, result, source_tag))
    return FALSE;
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gpointer
finish_pointer (SqProject     *self,
                GAsyncResult  *result,
                gpointer       source_tag,
                GError       **error)
{
  if (!check_task (self, result, source_tag))
    return NULL;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ------------------------------------------------------------------ */
/* Save As                                                             */

static gboolean
backup_to (SqProject   *self,
           const char  *path,
           GError     **error)
{
  g_autofree char *name = g_filename_display_name (path);
  g_autofree char *tmp = g_strconcat (path, ".saving", NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  sqlite3_backup *backup;
  sqlite3 *dest = NULL;
  int rc;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, SQ_PROJECT_ERROR,
                   saved_errno == EACCES || saved_errno == EROFS ?
                     SQ_PROJECT_ERROR_READ_ONLY : SQ_PROJECT_ERROR_IO,
                   _("Could not save to “%s”: %s"), name, g_strerror (saved_errno));
      return FALSE;
    }

  remove_database_files (tmp);
  rc = sqlite3_open_v2 (tmp, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc != SQLITE_OK)
    goto failed;

  backup = sqlite3_backup_init (dest, "main", self->db, "main");
  if (backup == NULL)
    {
      rc = sqlite3_errcode (dest);
      goto failed;
    }
  rc = sqlite3_backup_step (backup, -1);
  sqlite3_backup_finish (backup);
  if (rc != SQLITE_DONE)
    goto failed;
  rc = sqlite3_errcode (dest);
  if (rc != SQLITE_OK)
    goto failed;
  /* Fold everything into the main file so one file is the whole project. */
  rc = sqlite3_exec (dest, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    goto failed;
  rc = sqlite3_close (dest);
  dest = NULL;
  if (rc != SQLITE_OK)
    goto failed;

  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);

    /* A stale WAL next to the new file would be replayed into it. */
    g_unlink (wal);
    g_unlink (shm);
  }

  if (g_rename (tmp, path) != 0)
    {
      int saved_errno = errno;

      remove_database_files (tmp);
      g_set_error (error, SQ_PROJECT_ERROR,
                   saved_errno == EACCES || saved_errno == EROFS ?
                     SQ_PROJECT_ERROR_READ_ONLY : SQ_PROJECT_ERROR_IO,
                   _("Could not save to “%s”: %s"), name, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;

failed:
  set_sqlite_error (path, dest, rc, error);
  sqlite3_close (dest);
  remove_database_files (tmp);
  return FALSE;
}

gboolean
sq_project_save_as (SqProject   *self,
                    const char  *path,
                    GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  gboolean read_only = FALSE;
  gboolean created = FALSE;
  sqlite3 *db = NULL;
  sqlite3 *old_db;
  char *old_path;
  gboolean old_read_only;

  g_return_val_if_fail (SQ_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  locker = g_rec_mutex_locker_new (&self->mutex);

  if (g_strcmp0 (path, self->path) == 0)
    return TRUE;

  if (!backup_to (self, path, error))
    return FALSE;

  if (!open_database (path, &db, &read_only, &created, error))
    return FALSE;

  old_db = g_steal_pointer (&self->db);
  old_path = g_steal_pointer (&self->path);
  old_read_only = self->read_only;
  sq_project_set_database (self, db, path, read_only);

  if (!prepare_database (self, FALSE, error))
    {
      sqlite3_close (self->db);
      self->db = old_db;
      g_free (self->path);
      self->path = old_path;
      self->read_only = old_read_only;
      return FALSE;
    }

  sqlite3_close (old_db);
  g_free (old_path);

  emit_later (self, 0, 0, properties[PROP_PATH]);
  emit_later (self, 0, 0, properties[PROP_READ_ONLY]);
  return TRUE;
}

static void
op_save_as (SqProject *self,
            Op        *op,
            GTask     *task)
{
  GError *error = NULL;
  gboolean ok = sq_project_save_as (self, op->s[0], &error);

  return_boolean (task, ok, error);
}

void
sq_project_save_as_async (SqProject           *self,
                          const char          *path,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));
  g_return_if_fail (path != NULL);

  op = op_new (op_save_as, FALSE);
  op->s[0] = g_strdup (path);
  queue_op (self, op, sq_project_save_as_async, cancellable, callback, user_data);
}

gboolean
sq_project_save_as_finish (SqProject     *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  return finish_boolean (self, result, sq_project_save_as_async, error);
}

/* ------------------------------------------------------------------ */
/* Meta                                                                */

char *
sq_project_get_meta (SqProject   *self,
                     const char  *key,
                     GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self, "SELECT value FROM meta WHERE key = ?", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  rc = step (self, stmt, error);
  return rc == SQLITE_ROW ? column_dup (stmt, 0) : NULL;
}

gboolean
sq_project_set_meta (SqProject   *self,
                     const char  *key,
                     const char  *value,
                     GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean ok;

  g_return_val_if_fail (SQ_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (!begin (self, TRUE, error))
    return FALSE;
  if (value != NULL)
    stmt = prepare (self, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", error);
  else
    stmt = prepare (self, "DELETE FROM meta WHERE key = ?1", error);
  ok = stmt != NULL;
  if (ok)
    {
      sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
      if (value != NULL)
        sqlite3_bind_text (stmt, 2, value, -1, SQLITE_TRANSIENT);
      ok = step (self, stmt, error) != 0;
    }
  return end (self, ok, error);
}

/* ------------------------------------------------------------------ */
/* Inputs                                                              */

static gboolean
set_invalid (GError     **error,
             const char  *message)
{
  g_set_error_literal (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_INVALID, message);
  return FALSE;
}

/* Runs @stmt (already bound) that returns one id with RETURNING. */
static gint64
step_returning_id (SqProject     *self,
                   sqlite3_stmt  *stmt,
                   GError       **error)
{
  gint64 id = 0;
  int rc = step (self, stmt, error);

  if (rc == SQLITE_ROW)
    {
      id = sqlite3_column_int64 (stmt, 0);
      /* Let the statement finish so the write is complete. */
      while ((rc = step (self, stmt, error)) == SQLITE_ROW)
        ;
      if (rc == 0)
        return 0;
    }
  else if (rc == SQLITE_DONE)
    {
      g_set_error_literal (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_FAILED,
                           _("The project did not return the new row"));
    }
  return id;
}

gint64
sq_project_add_image (SqProject   *self,
                      GBytes      *bytes,
                      const char  *sha256,
                      const char  *name,
                      const char  *mime_type,
                      int          width,
                      int          height,
                      GBytes      *thumbnail_png,
                      GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *computed = NULL;
  gconstpointer data;
  gsize size;
  gint64 id = 0;

  g_return_val_if_fail (SQ_IS_PROJECT (self), 0);
  g_return_val_if_fail (bytes != NULL, 0);

  data = g_bytes_get_data (bytes, &size);
  if (size == 0)
    {
      set_invalid (error, _("Could not add the image: it is empty"));
      return 0;
    }
  computed = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  if (sha256 != NULL && g_ascii_strcasecmp (sha256, computed) != 0)
    {
      set_invalid (error, _("Could not add the image: its content hash does not match its bytes"));
      return 0;
    }

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (!begin (self, FALSE, error))
    return 0;

  stmt = prepare (self,
                  "INSERT INTO images (sha256, name, mime_type, width, height, bytes, thumbnail, added_at)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, " NOW_SQL ")"
                  " ON CONFLICT (sha256) DO UPDATE SET thumbnail = COALESCE (images.thumbnail, excluded.thumbnail)"
                  " RETURNING id",
                  error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, computed, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 2, name ? name : "", -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, mime_type ? mime_type : "application/octet-stream", -1, SQLITE_TRANSIENT);
      sqlite3_bind_int (stmt, 4, MAX (width, 0));
      sqlite3_bind_int (stmt, 5, MAX (height, 0));
      sqlite3_bind_blob64 (stmt, 6, data, size, SQLITE_STATIC);
      if (thumbnail_png != NULL && g_bytes_get_size (thumbnail_png) > 0)
        sqlite3_bind_blob64 (stmt, 7, g_bytes_get_data (thumbnail_png, NULL),
                             g_bytes_get_size (thumbnail_png), SQLITE_STATIC);
      else
        sqlite3_bind_null (stmt, 7);
      id = step_returning_id (self, stmt, error);
    }
  g_clear_pointer (&stmt, sqlite3_finalize);

  if (!end (self, id > 0, error))
    return 0;

  g_clear_pointer (&locker, g_rec_mutex_locker_free);
  inputs_changed (self);
  return id;
}

gint64
sq_project_find_image (SqProject   *self,
                       const char  *sha256,
                       GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *lower = NULL;
  int rc;

  g_return_val_if_fail (SQ_IS_PROJECT (self), 0);
  g_return_val_if_fail (sha256 != NULL, 0);

  lower = g_ascii_strdown (sha256, -1);
  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self, "SELECT id FROM images WHERE sha256 = ?", error);
  if (stmt == NULL)
    return 0;
  sqlite3_bind_text (stmt, 1, lower, -1, SQLITE_STATIC);
  rc = step (self, stmt, error);
  return rc == SQLITE_ROW ? sqlite3_column_int64 (stmt, 0) : 0;
}

gint64
sq_project_add_prompt (SqProject   *self,
                       const char  *text,
                       GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 id = 0;

  g_return_val_if_fail (SQ_IS_PROJECT (self), 0);
  g_return_val_if_fail (text != NULL, 0);

  if (!g_utf8_validate (text, -1, NULL) || *text == '\0')
    {
      set_invalid (error, _("Could not add the prompt: it is empty or not valid text"));
      return 0;
    }

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (!begin (self, FALSE, error))
    return 0;
  stmt = prepare (self,
                  "INSERT INTO prompts (text, added_at) VALUES (?1, " NOW_SQL ")"
                  " ON CONFLICT (text) DO UPDATE SET text = excluded.text RETURNING id",
                  error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, text, -1, SQLITE_TRANSIENT);
      id = step_returning_id (self, stmt, error);
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!end (self, id > 0, error))
    return 0;

  g_clear_pointer (&locker, g_rec_mutex_locker_free);
  inputs_changed (self);
  return id;
}

static char *
compact_json_object (const char  *json,
                     GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (json == NULL || *json == '\0')
    return g_strdup ("{}");

  if (!sq_json_parser_load (parser, json, -1, NULL) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_OBJECT (root))
    {
      set_invalid (error, _("Could not add the model: its parameters are not a JSON object"));
      return NULL;
    }

  /* Stored as given (numbers printed back by json-glib 1.6 lose their
   * shortest form: 0.2 would become 0.20000000000000001). */
  return g_strstrip (g_strdup (json));
}

gint64
sq_project_add_model (SqProject   *self,
                      const char  *display_name,
                      const char  *ref,
                      const char  *params_json,
                      GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *params = NULL;
  gint64 id = 0;

  g_return_val_if_fail (SQ_IS_PROJECT (self), 0);
  g_return_val_if_fail (ref != NULL, 0);

  if (*ref == '\0')
    {
      set_invalid (error, _("Could not add the model: it has no reference"));
      return 0;
    }
  params = compact_json_object (params_json, error);
  if (params == NULL)
    return 0;

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (!begin (self, FALSE, error))
    return 0;
  stmt = prepare (self,
                  "INSERT INTO models (display_name, ref, params_json, added_at)"
                  " VALUES (?1, ?2, ?3, " NOW_SQL ")"
                  " ON CONFLICT (ref, params_json) DO UPDATE SET ref = excluded.ref RETURNING id",
                  error);
  if (stmt != NULL)
    {
      sqlite3_bind_text (stmt, 1, display_name && *display_name ? display_name : ref, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 2, ref, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (stmt, 3, params, -1, SQLITE_STATIC);
      id = step_returning_id (self, stmt, error);
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!end (self, id > 0, error))
    return 0;

  g_clear_pointer (&locker, g_rec_mutex_locker_free);
  inputs_changed (self);
  return id;
}

static void
op_add_image (SqProject *self,
              Op        *op,
              GTask     *task)
{
  GError *error = NULL;
  gint64 id = sq_project_add_image (self, op->b[0], op->s[0], op->s[1], op->s[2],
                                    (int) op->i[0], (int) op->i[1], op->b[1], &error);

  return_id (task, id, error);
}

void
sq_project_add_image_async (SqProject           *self,
                            GBytes              *bytes,
                            const char          *sha256,
                            const char          *name,
                            const char          *mime_type,
                            int                  width,
                            int                  height,
                            GBytes              *thumbnail_png,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));
  g_return_if_fail (bytes != NULL);

  op = op_new (op_add_image, FALSE);
  op->b[0] = g_bytes_ref (bytes);
  op->b[1] = thumbnail_png ? g_bytes_ref (thumbnail_png) : NULL;
  op->s[0] = g_strdup (sha256);
  op->s[1] = g_strdup (name);
  op->s[2] = g_strdup (mime_type);
  op->i[0] = width;
  op->i[1] = height;
  queue_op (self, op, sq_project_add_image_async, cancellable, callback, user_data);
}

gint64
sq_project_add_image_finish (SqProject     *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return finish_id (self, result, sq_project_add_image_async, error);
}

static void
op_add_prompt (SqProject *self,
               Op        *op,
               GTask     *task)
{
  GError *error = NULL;
  gint64 id = sq_project_add_prompt (self, op->s[0], &error);

  return_id (task, id, error);
}

void
sq_project_add_prompt_async (SqProject           *self,
                             const char          *text,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));
  g_return_if_fail (text != NULL);

  op = op_new (op_add_prompt, FALSE);
  op->s[0] = g_strdup (text);
  queue_op (self, op, sq_project_add_prompt_async, cancellable, callback, user_data);
}

gint64
sq_project_add_prompt_finish (SqProject     *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  return finish_id (self, result, sq_project_add_prompt_async, error);
}

static void
op_add_model (SqProject *self,
              Op        *op,
              GTask     *task)
{
  GError *error = NULL;
  gint64 id = sq_project_add_model (self, op->s[0], op->s[1], op->s[2], &error);

  return_id (task, id, error);
}

void
sq_project_add_model_async (SqProject           *self,
                            const char          *display_name,
                            const char          *ref,
                            const char          *params_json,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));
  g_return_if_fail (ref != NULL);

  op = op_new (op_add_model, FALSE);
  op->s[0] = g_strdup (display_name);
  op->s[1] = g_strdup (ref);
  op->s[2] = g_strdup (params_json);
  queue_op (self, op, sq_project_add_model_async, cancellable, callback, user_data);
}

gint64
sq_project_add_model_finish (SqProject     *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return finish_id (self, result, sq_project_add_model_async, error);
}

GPtrArray *
sq_project_list_images (SqProject  *self,
                        GError    **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) images = NULL;
  int rc;

  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);

  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self,
                  "SELECT id, sha256, name, mime_type, width, height, length (bytes), added_at"
                  " FROM images ORDER BY id",
                  error);
  if (stmt == NULL)
    return NULL;
  images = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_image_record_free);
  while ((rc = step (self, stmt, error)) == SQLITE_ROW)
    {
      SqImageRecord *record = g_new0 (SqImageRecord, 1);

      record->id = sqlite3_column_int64 (stmt, 0);
      record->sha256 = column_dup (stmt, 1);
      record->name = column_dup (stmt, 2);
      record->mime_type = column_dup (stmt, 3);
      record->width = sqlite3_column_int (stmt, 4);
      record->height = sqlite3_column_int (stmt, 5);
      record->n_bytes = sqlite3_column_int64 (stmt, 6);
      record->added_at = column_dup (stmt, 7);
      g_ptr_array_add (images, record);
    }
  return rc == SQLITE_DONE ? g_steal_pointer (&images) : NULL;
}

GPtrArray *
sq_project_list_prompts (SqProject  *self,
                         GError    **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) prompts = NULL;
  int rc;

  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);

  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self, "SELECT id, text, added_at FROM prompts ORDER BY id", error);
  if (stmt == NULL)
    return NULL;
  prompts = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_prompt_record_free);
  while ((rc = step (self, stmt, error)) == SQLITE_ROW)
    {
      SqPromptRecord *record = g_new0 (SqPromptRecord, 1);

      record->id = sqlite3_column_int64 (stmt, 0);
      record->text = column_dup (stmt, 1);
      record->added_at = column_dup (stmt, 2);
      g_ptr_array_add (prompts, record);
    }
  return rc == SQLITE_DONE ? g_steal_pointer (&prompts) : NULL;
}

GPtrArray *
sq_project_list_models (SqProject  *self,
                        GError    **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) models = NULL;
  int rc;

  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);

  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self,
                  "SELECT id, display_name, ref, params_json, added_at FROM models ORDER BY id",
                  error);
  if (stmt == NULL)
    return NULL;
  models = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_model_record_free);
  while ((rc = step (self, stmt, error)) == SQLITE_ROW)
    {
      SqModelRecord *record = g_new0 (SqModelRecord, 1);

      record->id = sqlite3_column_int64 (stmt, 0);
      record->display_name = column_dup (stmt, 1);
      record->ref = column_dup (stmt, 2);
      record->params_json = column_dup (stmt, 3);
      record->added_at = column_dup (stmt, 4);
      g_ptr_array_add (models, record);
    }
  return rc == SQLITE_DONE ? g_steal_pointer (&models) : NULL;
}

static GBytes *
get_image_blob (SqProject   *self,
                gint64       image_id,
                const char  *sql,
                GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self, sql, error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, image_id);
  rc = step (self, stmt, error);
  if (rc == SQLITE_DONE)
    {
      g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND,
                   _("The project has no image number %lld"), (long long) image_id);
      return NULL;
    }
  if (rc != SQLITE_ROW || sqlite3_column_type (stmt, 0) == SQLITE_NULL)
    return NULL;
  return g_bytes_new (sqlite3_column_blob (stmt, 0), sqlite3_column_bytes (stmt, 0));
}

GBytes *
sq_project_get_image_bytes (SqProject  *self,
                            gint64      image_id,
                            GError    **error)
{
  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);
  return get_image_blob (self, image_id, "SELECT bytes FROM images WHERE id = ?", error);
}

GBytes *
sq_project_get_thumbnail (SqProject  *self,
                          gint64      image_id,
                          GError    **error)
{
  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);
  return get_image_blob (self, image_id, "SELECT thumbnail FROM images WHERE id = ?", error);
}

static void
op_get_image_bytes (SqProject *self,
                    Op        *op,
                    GTask     *task)
{
  GError *error = NULL;
  GBytes *bytes = sq_project_get_image_bytes (self, op->i[0], &error);

  return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref, error);
}

void
sq_project_get_image_bytes_async (SqProject           *self,
                                  gint64               image_id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));

  op = op_new (op_get_image_bytes, TRUE);
  op->i[0] = image_id;
  queue_op (self, op, sq_project_get_image_bytes_async, cancellable, callback, user_data);
}

GBytes *
sq_project_get_image_bytes_finish (SqProject     *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  return finish_pointer (self, result, sq_project_get_image_bytes_async, error);
}

static void
op_get_thumbnail (SqProject *self,
                  Op        *op,
                  GTask     *task)
{
  GError *error = NULL;
  GBytes *bytes = sq_project_get_thumbnail (self, op->i[0], &error);

  return_pointer (task, bytes, (GDestroyNotify) g_bytes_unref, error);
}

void
sq_project_get_thumbnail_async (SqProject           *self,
                                gint64               image_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));

  op = op_new (op_get_thumbnail, TRUE);
  op->i[0] = image_id;
  queue_op (self, op, sq_project_get_thumbnail_async, cancellable, callback, user_data);
}

GBytes *
sq_project_get_thumbnail_finish (SqProject     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return finish_pointer (self, result, sq_project_get_thumbnail_async, error);
}

/* ------------------------------------------------------------------ */
/* Results                                                             */

static gboolean
set_not_found (GError      **error,
               gint64        result_id)
{
  g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND,
               _("The project has no result number %lld"), (long long) result_id);
  return FALSE;
}

gint64
sq_project_ensure_result (SqProject   *self,
                          gint64       prompt_id,
                          gint64       image_id,
                          gint64       model_id,
                          int          run,
                          GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gint64 id = 0;

  g_return_val_if_fail (SQ_IS_PROJECT (self), 0);

  if (run < 0)
    {
      set_invalid (error, _("Could not add the result: the run number is negative"));
      return 0;
    }

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (!begin (self, FALSE, error))
    return 0;
  stmt = prepare (self,
                  "INSERT INTO results (prompt_id, image_id, model_id, run) VALUES (?1, ?2, ?3, ?4)"
                  " ON CONFLICT (prompt_id, image_id, model_id, run) DO UPDATE SET run = excluded.run"
                  " RETURNING id",
                  error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, prompt_id);
      sqlite3_bind_int64 (stmt, 2, image_id);
      sqlite3_bind_int64 (stmt, 3, model_id);
      sqlite3_bind_int (stmt, 4, run);
      id = step_returning_id (self, stmt, error);
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!end (self, id > 0, error))
    return 0;

  g_clear_pointer (&locker, g_rec_mutex_locker_free);
  results_changed (self, id);
  return id;
}

static void
op_ensure_result (SqProject *self,
                  Op        *op,
                  GTask     *task)
{
  GError *error = NULL;
  gint64 id = sq_project_ensure_result (self, op->i[0], op->i[1], op->i[2], (int) op->i[3], &error);

  return_id (task, id, error);
}

void
sq_project_ensure_result_async (SqProject           *self,
                                gint64               prompt_id,
                                gint64               image_id,
                                gint64               model_id,
                                int                  run,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));

  op = op_new (op_ensure_result, FALSE);
  op->i[0] = prompt_id;
  op->i[1] = image_id;
  op->i[2] = model_id;
  op->i[3] = run;
  queue_op (self, op, sq_project_ensure_result_async, cancellable, callback, user_data);
}

gint64
sq_project_ensure_result_finish (SqProject     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return finish_id (self, result, sq_project_ensure_result_async, error);
}

static GArray *
ids_or_all (SqProject     *self,
            const gint64  *ids,
            guint          n_ids,
            const char    *table,
            GError       **error)
{
  g_autoptr(GArray) array = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autofree char *sql = NULL;
  int rc;

  if (ids != NULL && n_ids > 0)
    {
      g_array_append_vals (array, ids, n_ids);
      return g_steal_pointer (&array);
    }

  sql = g_strdup_printf ("SELECT id FROM %s ORDER BY id", table);
  stmt = prepare (self, sql, error);
  if (stmt == NULL)
    return NULL;
  while ((rc = step (self, stmt, error)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      g_array_append_val (array, id);
    }
  return rc == SQLITE_DONE ? g_steal_pointer (&array) : NULL;
}

GArray *
sq_project_list_cells_to_run (SqProject     *self,
                              const gint64  *prompt_ids,
                              guint          n_prompts,
                              const gint64  *image_ids,
                              guint          n_images,
                              const gint64  *model_ids,
                              guint          n_models,
                              guint          n_runs,
                              GError       **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GHashTable) existing = NULL;
  g_autoptr(GArray) prompts = NULL;
  g_autoptr(GArray) images = NULL;
  g_autoptr(GArray) models = NULL;
  g_autoptr(GArray) cells = NULL;
  int rc;

  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (!(prompts = ids_or_all (self, prompt_ids, n_prompts, "prompts", error)) ||
      !(images = ids_or_all (self, image_ids, n_images, "images", error)) ||
      !(models = ids_or_all (self, model_ids, n_models, "models", error)))
    return NULL;

  /* key "p:i:m:r" → result id, negated when the result succeeded */
  existing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  stmt = prepare (self,
                  "SELECT id, prompt_id, image_id, model_id, run, status = 'succeeded' FROM results",
                  error);
  if (stmt == NULL)
    return NULL;
  while ((rc = step (self, stmt, error)) == SQLITE_ROW)
    {
      gint64 id = sqlite3_column_int64 (stmt, 0);
      char *key = g_strdup_printf ("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%d",
                                   (gint64) sqlite3_column_int64 (stmt, 1), (gint64) sqlite3_column_int64 (stmt, 2),
                                   (gint64) sqlite3_column_int64 (stmt, 3), sqlite3_column_int (stmt, 4));
      g_hash_table_insert (existing, key, GSIZE_TO_POINTER ((gsize) (sqlite3_column_int (stmt, 5) ? 0 : id) + 1));
    }
  if (rc != SQLITE_DONE)
    return NULL;

  cells = g_array_new (FALSE, TRUE, sizeof (SqCell));
  for (guint p = 0; p < prompts->len; p++)
    for (guint i = 0; i < images->len; i++)
      for (guint m = 0; m < models->len; m++)
        for (guint r = 0; r < n_runs; r++)
          {
            SqCell cell = {
              .prompt_id = g_array_index (prompts, gint64, p),
              .image_id = g_array_index (images, gint64, i),
              .model_id = g_array_index (models, gint64, m),
              .run = (int) r,
            };
            g_autofree char *key = g_strdup_printf ("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%d",
                                                    cell.prompt_id, cell.image_id, cell.model_id, cell.run);
            gpointer value;

            if (g_hash_table_lookup_extended (existing, key, NULL, &value))
              {
                gsize stored = GPOINTER_TO_SIZE (value) - 1;

                if (stored == 0)
                  continue;   /* succeeded */
                cell.result_id = (gint64) stored;
              }
            g_array_append_val (cells, cell);
          }

  return g_steal_pointer (&cells);
}

static gboolean
update_result (SqProject    *self,
               gint64        result_id,
               const char   *sql,
               gboolean      durable,
               void        (*bind) (sqlite3_stmt *, gconstpointer),
               gconstpointer bind_data,
               GError      **error)
{
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean ok = FALSE;

  if (!begin (self, durable, error))
    return FALSE;
  stmt = prepare (self, sql, error);
  if (stmt != NULL)
    {
      sqlite3_bind_int64 (stmt, 1, result_id);
      bind (stmt, bind_data);
      ok = step (self, stmt, error) != 0;
      if (ok && sqlite3_changes (self->db) == 0)
        ok = set_not_found (error, result_id);
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  return end (self, ok, error);
}

typedef struct
{
  const char *prediction_id;
  gint64      created_at_us;
} StartedData;

static void
bind_started (sqlite3_stmt  *stmt,
              gconstpointer  data)
{
  const StartedData *started = data;

  bind_text_or_null (stmt, 2, started->prediction_id);
  sqlite3_bind_int64 (stmt, 3, started->created_at_us);
}

gboolean
sq_project_set_result_started (SqProject   *self,
                               gint64       result_id,
                               const char  *prediction_id,
                               gint64       created_at_us,
                               GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  StartedData data = { prediction_id, created_at_us };
  gboolean ok;

  g_return_val_if_fail (SQ_IS_PROJECT (self), FALSE);

  locker = g_rec_mutex_locker_new (&self->mutex);
  ok = update_result (self, result_id,
                      "UPDATE results SET status = 'starting', prediction_id = ?2,"
                      " created_at = " TIME_SQL ("?3") ", started_at = NULL, finished_at = NULL,"
                      " response = '', error = NULL, ttft_ms = NULL, total_ms = NULL, predict_time = NULL"
                      " WHERE id = ?1",
                      TRUE, bind_started, &data, error);
  g_clear_pointer (&locker, g_rec_mutex_locker_free);
  if (ok)
    results_changed (self, result_id);
  return ok;
}

static void
op_set_result_started (SqProject *self,
                       Op        *op,
                       GTask     *task)
{
  GError *error = NULL;
  gboolean ok = sq_project_set_result_started (self, op->i[0], op->s[0], op->i[1], &error);

  return_boolean (task, ok, error);
}

void
sq_project_set_result_started_async (SqProject           *self,
                                     gint64               result_id,
                                     const char          *prediction_id,
                                     gint64               created_at_us,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));

  op = op_new (op_set_result_started, FALSE);
  op->i[0] = result_id;
  op->i[1] = created_at_us;
  op->s[0] = g_strdup (prediction_id);
  queue_op (self, op, sq_project_set_result_started_async, cancellable, callback, user_data);
}

gboolean
sq_project_set_result_started_finish (SqProject     *self,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  return finish_boolean (self, result, sq_project_set_result_started_async, error);
}

gboolean
sq_project_update_responses (SqProject           *self,
                             const gint64        *result_ids,
                             const char * const  *texts,
                             guint                n,
                             GError             **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean ok;

  g_return_val_if_fail (SQ_IS_PROJECT (self), FALSE);
  g_return_val_if_fail (n == 0 || (result_ids != NULL && texts != NULL), FALSE);

  if (n == 0)
    return TRUE;

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (!begin (self, FALSE, error))
    return FALSE;
  stmt = prepare (self,
                  "UPDATE results SET response = ?2,"
                  " status = CASE WHEN status IN ('queued', 'starting') THEN 'processing' ELSE status END,"
                  " started_at = COALESCE (started_at, " NOW_SQL ")"
                  " WHERE id = ?1 AND status NOT IN ('succeeded', 'failed', 'canceled', 'aborted')",
                  error);
  ok = stmt != NULL;
  for (guint i = 0; ok && i < n; i++)
    {
      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, result_ids[i]);
      sqlite3_bind_text (stmt, 2, texts[i] ? texts[i] : "", -1, SQLITE_STATIC);
      ok = step (self, stmt, error) != 0;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!end (self, ok, error))
    return FALSE;

  g_clear_pointer (&locker, g_rec_mutex_locker_free);
  for (guint i = 0; i < n; i++)
    results_changed (self, result_ids[i]);
  return TRUE;
}

gboolean
sq_project_update_response (SqProject   *self,
                            gint64       result_id,
                            const char  *text,
                            GError     **error)
{
  const char *texts[] = { text };

  return sq_project_update_responses (self, &result_id, texts, 1, error);
}

static void
op_update_responses (SqProject *self,
                     Op        *op,
                     GTask     *task)
{
  GError *error = NULL;
  gboolean ok = sq_project_update_responses (self, (const gint64 *) (gpointer) op->ids->data,
                                             (const char * const *) op->strv, op->ids->len, &error);

  return_boolean (task, ok, error);
}

void
sq_project_update_responses_async (SqProject           *self,
                                   const gint64        *result_ids,
                                   const char * const  *texts,
                                   guint                n,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));
  g_return_if_fail (n == 0 || (result_ids != NULL && texts != NULL));

  op = op_new (op_update_responses, FALSE);
  op->ids = g_array_sized_new (FALSE, FALSE, sizeof (gint64), n);
  g_array_append_vals (op->ids, result_ids, n);
  op->strv = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    op->strv[i] = g_strdup (texts[i] ? texts[i] : "");
  queue_op (self, op, sq_project_update_responses_async, cancellable, callback, user_data);
}

gboolean
sq_project_update_responses_finish (SqProject     *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  return finish_boolean (self, result, sq_project_update_responses_async, error);
}

typedef struct
{
  const char *status;
  const char *response;
  const char *error_message;
  gint64      ttft_ms;
  gint64      total_ms;
  double      predict_time;
} FinishData;

static void
bind_finish (sqlite3_stmt  *stmt,
             gconstpointer  data)
{
  const FinishData *finish = data;

  sqlite3_bind_text (stmt, 2, finish->status, -1, SQLITE_STATIC);
  bind_text_or_null (stmt, 3, finish->response);
  bind_text_or_null (stmt, 4, finish->error_message);
  if (finish->ttft_ms >= 0)
    sqlite3_bind_int64 (stmt, 5, finish->ttft_ms);
  else
    sqlite3_bind_null (stmt, 5);
  if (finish->total_ms >= 0)
    sqlite3_bind_int64 (stmt, 6, finish->total_ms);
  else
    sqlite3_bind_null (stmt, 6);
  if (finish->predict_time >= 0)
    sqlite3_bind_double (stmt, 7, finish->predict_time);
  else
    sqlite3_bind_null (stmt, 7);
}

gboolean
sq_project_finish_result (SqProject   *self,
                          gint64       result_id,
                          const char  *status,
                          const char  *response,
                          const char  *error_message,
                          gint64       ttft_ms,
                          gint64       total_ms,
                          double       predict_time,
                          GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  FinishData data = { status, response, error_message, ttft_ms, total_ms, predict_time };
  gboolean ok;

  g_return_val_if_fail (SQ_IS_PROJECT (self), FALSE);

  if (!status_is_terminal (status))
    return set_invalid (error, _("Could not finish the result: the status is not a final one"));

  locker = g_rec_mutex_locker_new (&self->mutex);
  ok = update_result (self, result_id,
                      "UPDATE results SET status = ?2, response = COALESCE (?3, response),"
                      " error = ?4, ttft_ms = ?5, total_ms = ?6, predict_time = ?7,"
                      " finished_at = " NOW_SQL " WHERE id = ?1",
                      TRUE, bind_finish, &data, error);
  g_clear_pointer (&locker, g_rec_mutex_locker_free);
  if (ok)
    results_changed (self, result_id);
  return ok;
}

static void
op_finish_result (SqProject *self,
                  Op        *op,
                  GTask     *task)
{
  GError *error = NULL;
  gboolean ok = sq_project_finish_result (self, op->i[0], op->s[0], op->s[1], op->s[2],
                                          op->i[1], op->i[2], op->d, &error);

  return_boolean (task, ok, error);
}

void
sq_project_finish_result_async (SqProject           *self,
                                gint64               result_id,
                                const char          *status,
                                const char          *response,
                                const char          *error_message,
                                gint64               ttft_ms,
                                gint64               total_ms,
                                double               predict_time,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));
  g_return_if_fail (status != NULL);

  op = op_new (op_finish_result, FALSE);
  op->i[0] = result_id;
  op->i[1] = ttft_ms;
  op->i[2] = total_ms;
  op->d = predict_time;
  op->s[0] = g_strdup (status);
  op->s[1] = g_strdup (response);
  op->s[2] = g_strdup (error_message);
  queue_op (self, op, sq_project_finish_result_async, cancellable, callback, user_data);
}

gboolean
sq_project_finish_result_finish (SqProject     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return finish_boolean (self, result, sq_project_finish_result_async, error);
}

#define RESULT_SELECT \
  "SELECT r.id, r.prompt_id, p.text, r.image_id, i.name, i.sha256, r.model_id, m.display_name, m.ref," \
  " r.run, r.status, r.response, r.error, r.prediction_id, r.created_at, r.started_at, r.finished_at," \
  " r.ttft_ms, r.total_ms, r.predict_time," \
  " (SELECT avg (score) FROM ratings WHERE result_id = r.id AND criterion = 'correctness')," \
  " (SELECT count (*) FROM ratings WHERE result_id = r.id AND criterion = 'correctness')," \
  " (SELECT avg (score) FROM ratings WHERE result_id = r.id AND criterion = 'relevance')," \
  " (SELECT count (*) FROM ratings WHERE result_id = r.id AND criterion = 'relevance')," \
  " (SELECT group_concat (text, char (10)) FROM (SELECT text FROM notes WHERE result_id = r.id ORDER BY rater))" \
  " FROM results r JOIN prompts p ON p.id = r.prompt_id JOIN images i ON i.id = r.image_id" \
  " JOIN models m ON m.id = r.model_id "
#define RESULT_ORDER " ORDER BY r.prompt_id, r.image_id, r.model_id, r.run"

static SqResult *
result_from_stmt (sqlite3_stmt *stmt)
{
  SqResult *result = g_object_new (SQ_TYPE_RESULT, NULL);

  result->id = sqlite3_column_int64 (stmt, 0);
  result->prompt_id = sqlite3_column_int64 (stmt, 1);
  result->prompt = column_dup (stmt, 2);
  result->image_id = sqlite3_column_int64 (stmt, 3);
  result->image_name = column_dup (stmt, 4);
  result->image_sha256 = column_dup (stmt, 5);
  result->model_id = sqlite3_column_int64 (stmt, 6);
  result->model_name = column_dup (stmt, 7);
  result->model_ref = column_dup (stmt, 8);
  result->run = sqlite3_column_int (stmt, 9);
  result->status = column_dup (stmt, 10);
  result->response = column_dup (stmt, 11);
  if (result->response == NULL)
    result->response = g_strdup ("");
  result->error = column_dup (stmt, 12);
  result->prediction_id = column_dup (stmt, 13);
  result->created_at = column_dup (stmt, 14);
  result->started_at = column_dup (stmt, 15);
  result->finished_at = column_dup (stmt, 16);
  if (sqlite3_column_type (stmt, 17) != SQLITE_NULL)
    result->ttft_ms = sqlite3_column_int64 (stmt, 17);
  if (sqlite3_column_type (stmt, 18) != SQLITE_NULL)
    result->total_ms = sqlite3_column_int64 (stmt, 18);
  if (sqlite3_column_type (stmt, 19) != SQLITE_NULL)
    result->predict_time = sqlite3_column_double (stmt, 19);
  for (guint c = 0; c < SQ_N_CRITERIA; c++)
    {
      if (sqlite3_column_type (stmt, 20 + 2 * c) != SQLITE_NULL)
        result->score[c] = sqlite3_column_double (stmt, 20 + 2 * c);
      result->n_ratings[c] = (guint) sqlite3_column_int (stmt, 21 + 2 * c);
    }
  result->note = column_dup (stmt, 24);
  if (result->note == NULL)
    result->note = g_strdup ("");

  return result;
}

static GPtrArray *
list_results_where (SqProject   *self,
                    const char  *where,
                    gint64       id,
                    GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *sql = g_strconcat (RESULT_SELECT, where, RESULT_ORDER, NULL);
  int rc;

  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self, sql, error);
  if (stmt == NULL)
    return NULL;
  if (id != 0)
    sqlite3_bind_int64 (stmt, 1, id);
  results = g_ptr_array_new_with_free_func (g_object_unref);
  while ((rc = step (self, stmt, error)) == SQLITE_ROW)
    g_ptr_array_add (results, result_from_stmt (stmt));
  return rc == SQLITE_DONE ? g_steal_pointer (&results) : NULL;
}

GPtrArray *
sq_project_list_results (SqProject  *self,
                         GError    **error)
{
  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);
  return list_results_where (self, "", 0, error);
}

GPtrArray *
sq_project_list_unfinished (SqProject  *self,
                            GError    **error)
{
  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);
  return list_results_where (self,
                             "WHERE r.status IN ('starting', 'processing') AND r.prediction_id IS NOT NULL",
                             0, error);
}

SqResult *
sq_project_get_result (SqProject  *self,
                       gint64      result_id,
                       GError    **error)
{
  g_autoptr(GPtrArray) results = NULL;

  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);

  results = list_results_where (self, "WHERE r.id = ?1", result_id, error);
  if (results == NULL)
    return NULL;
  if (results->len == 0)
    {
      set_not_found (error, result_id);
      return NULL;
    }
  return g_object_ref (g_ptr_array_index (results, 0));
}

static void
op_list_results (SqProject *self,
                 Op        *op,
                 GTask     *task)
{
  GError *error = NULL;
  GPtrArray *results = op->i[0] ? sq_project_list_unfinished (self, &error)
                                : sq_project_list_results (self, &error);

  return_pointer (task, results, (GDestroyNotify) g_ptr_array_unref, error);
}

void
sq_project_list_results_async (SqProject           *self,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (SQ_IS_PROJECT (self));
  queue_op (self, op_new (op_list_results, TRUE), sq_project_list_results_async,
            cancellable, callback, user_data);
}

GPtrArray *
sq_project_list_results_finish (SqProject     *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  return finish_pointer (self, result, sq_project_list_results_async, error);
}

void
sq_project_list_unfinished_async (SqProject           *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));

  op = op_new (op_list_results, TRUE);
  op->i[0] = 1;
  queue_op (self, op, sq_project_list_unfinished_async, cancellable, callback, user_data);
}

GPtrArray *
sq_project_list_unfinished_finish (SqProject     *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  return finish_pointer (self, result, sq_project_list_unfinished_async, error);
}

static void
op_get_result (SqProject *self,
               Op        *op,
               GTask     *task)
{
  GError *error = NULL;
  SqResult *result = sq_project_get_result (self, op->i[0], &error);

  return_pointer (task, result, g_object_unref, error);
}

void
sq_project_get_result_async (SqProject           *self,
                             gint64               result_id,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));

  op = op_new (op_get_result, TRUE);
  op->i[0] = result_id;
  queue_op (self, op, sq_project_get_result_async, cancellable, callback, user_data);
}

SqResult *
sq_project_get_result_finish (SqProject     *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  return finish_pointer (self, result, sq_project_get_result_async, error);
}

/* ------------------------------------------------------------------ */
/* Ratings and notes                                                   */

static gboolean
result_exists (SqProject  *self,
               gint64      result_id,
               GError    **error)
{
  g_autoptr(sqlite3_stmt) stmt = prepare (self, "SELECT 1 FROM results WHERE id = ?", error);
  int rc;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, result_id);
  rc = step (self, stmt, error);
  if (rc == SQLITE_DONE)
    return set_not_found (error, result_id);
  return rc == SQLITE_ROW;
}

gboolean
sq_project_set_rating (SqProject    *self,
                       gint64        result_id,
                       SqCriterion   criterion,
                       int           score,
                       const char   *rater,
                       GError      **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean ok;

  g_return_val_if_fail (SQ_IS_PROJECT (self), FALSE);

  if ((guint) criterion >= SQ_N_CRITERIA)
    return set_invalid (error, _("Could not save the rating: unknown criterion"));
  if (score < 0 || score > 5)
    return set_invalid (error, _("Could not save the rating: scores go from 1 to 5"));

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (!begin (self, TRUE, error))
    return FALSE;
  ok = result_exists (self, result_id, error);
  if (ok)
    {
      if (score > 0)
        stmt = prepare (self,
                        "INSERT INTO ratings (result_id, criterion, rater, score, rated_at)"
                        " VALUES (?1, ?2, ?3, ?4, " NOW_SQL ")"
                        " ON CONFLICT (result_id, criterion, rater)"
                        " DO UPDATE SET score = excluded.score, rated_at = excluded.rated_at",
                        error);
      else
        stmt = prepare (self,
                        "DELETE FROM ratings WHERE result_id = ?1 AND criterion = ?2 AND rater = ?3",
                        error);
      ok = stmt != NULL;
    }
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, result_id);
      sqlite3_bind_text (stmt, 2, criterion_names[criterion], -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, rater ? rater : "", -1, SQLITE_TRANSIENT);
      if (score > 0)
        sqlite3_bind_int (stmt, 4, score);
      ok = step (self, stmt, error) != 0;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!end (self, ok, error))
    return FALSE;

  g_clear_pointer (&locker, g_rec_mutex_locker_free);
  results_changed (self, result_id);
  return TRUE;
}

static void
op_set_rating (SqProject *self,
               Op        *op,
               GTask     *task)
{
  GError *error = NULL;
  gboolean ok = sq_project_set_rating (self, op->i[0], (SqCriterion) op->i[1], (int) op->i[2],
                                       op->s[0], &error);

  return_boolean (task, ok, error);
}

void
sq_project_set_rating_async (SqProject           *self,
                             gint64               result_id,
                             SqCriterion          criterion,
                             int                  score,
                             const char          *rater,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));

  op = op_new (op_set_rating, FALSE);
  op->i[0] = result_id;
  op->i[1] = criterion;
  op->i[2] = score;
  op->s[0] = g_strdup (rater);
  queue_op (self, op, sq_project_set_rating_async, cancellable, callback, user_data);
}

gboolean
sq_project_set_rating_finish (SqProject     *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  return finish_boolean (self, result, sq_project_set_rating_async, error);
}

int
sq_project_get_rating (SqProject    *self,
                       gint64        result_id,
                       SqCriterion   criterion,
                       const char   *rater,
                       GError      **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (SQ_IS_PROJECT (self), 0);
  g_return_val_if_fail ((guint) criterion < SQ_N_CRITERIA, 0);

  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self,
                  "SELECT score FROM ratings WHERE result_id = ?1 AND criterion = ?2 AND rater = ?3",
                  error);
  if (stmt == NULL)
    return 0;
  sqlite3_bind_int64 (stmt, 1, result_id);
  sqlite3_bind_text (stmt, 2, criterion_names[criterion], -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, rater ? rater : "", -1, SQLITE_TRANSIENT);
  rc = step (self, stmt, error);
  return rc == SQLITE_ROW ? sqlite3_column_int (stmt, 0) : 0;
}

GPtrArray *
sq_project_list_ratings (SqProject  *self,
                         GError    **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  g_autoptr(GPtrArray) ratings = NULL;
  int rc;

  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);

  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self,
                  "SELECT id, result_id, criterion, score, rater, rated_at FROM ratings"
                  " ORDER BY result_id, criterion, rater",
                  error);
  if (stmt == NULL)
    return NULL;
  ratings = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_rating_free);
  while ((rc = step (self, stmt, error)) == SQLITE_ROW)
    {
      SqRating *rating = g_new0 (SqRating, 1);

      rating->id = sqlite3_column_int64 (stmt, 0);
      rating->result_id = sqlite3_column_int64 (stmt, 1);
      sq_criterion_from_string ((const char *) sqlite3_column_text (stmt, 2), &rating->criterion);
      rating->score = sqlite3_column_int (stmt, 3);
      rating->rater = column_dup (stmt, 4);
      rating->rated_at = column_dup (stmt, 5);
      g_ptr_array_add (ratings, rating);
    }
  return rc == SQLITE_DONE ? g_steal_pointer (&ratings) : NULL;
}

gboolean
sq_project_set_note (SqProject   *self,
                     gint64       result_id,
                     const char  *text,
                     const char  *rater,
                     GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  gboolean clear = text == NULL || *text == '\0';
  gboolean ok;

  g_return_val_if_fail (SQ_IS_PROJECT (self), FALSE);

  if (!clear && !g_utf8_validate (text, -1, NULL))
    return set_invalid (error, _("Could not save the note: it is not valid text"));

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (!begin (self, TRUE, error))
    return FALSE;
  ok = result_exists (self, result_id, error);
  if (ok)
    {
      if (!clear)
        stmt = prepare (self,
                        "INSERT INTO notes (result_id, rater, text, updated_at)"
                        " VALUES (?1, ?2, ?3, " NOW_SQL ")"
                        " ON CONFLICT (result_id, rater)"
                        " DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at",
                        error);
      else
        stmt = prepare (self, "DELETE FROM notes WHERE result_id = ?1 AND rater = ?2", error);
      ok = stmt != NULL;
    }
  if (ok)
    {
      sqlite3_bind_int64 (stmt, 1, result_id);
      sqlite3_bind_text (stmt, 2, rater ? rater : "", -1, SQLITE_TRANSIENT);
      if (!clear)
        sqlite3_bind_text (stmt, 3, text, -1, SQLITE_TRANSIENT);
      ok = step (self, stmt, error) != 0;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  if (!end (self, ok, error))
    return FALSE;

  g_clear_pointer (&locker, g_rec_mutex_locker_free);
  results_changed (self, result_id);
  return TRUE;
}

static void
op_set_note (SqProject *self,
             Op        *op,
             GTask     *task)
{
  GError *error = NULL;
  gboolean ok = sq_project_set_note (self, op->i[0], op->s[0], op->s[1], &error);

  return_boolean (task, ok, error);
}

void
sq_project_set_note_async (SqProject           *self,
                           gint64               result_id,
                           const char          *text,
                           const char          *rater,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  Op *op;

  g_return_if_fail (SQ_IS_PROJECT (self));

  op = op_new (op_set_note, FALSE);
  op->i[0] = result_id;
  op->s[0] = g_strdup (text);
  op->s[1] = g_strdup (rater);
  queue_op (self, op, sq_project_set_note_async, cancellable, callback, user_data);
}

gboolean
sq_project_set_note_finish (SqProject     *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return finish_boolean (self, result, sq_project_set_note_async, error);
}

char *
sq_project_get_note (SqProject   *self,
                     gint64       result_id,
                     const char  *rater,
                     GError     **error)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autoptr(sqlite3_stmt) stmt = NULL;
  int rc;

  g_return_val_if_fail (SQ_IS_PROJECT (self), NULL);

  locker = g_rec_mutex_locker_new (&self->mutex);
  stmt = prepare (self, "SELECT text FROM notes WHERE result_id = ?1 AND rater = ?2", error);
  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, result_id);
  sqlite3_bind_text (stmt, 2, rater ? rater : "", -1, SQLITE_TRANSIENT);
  rc = step (self, stmt, error);
  return rc == SQLITE_ROW ? column_dup (stmt, 0) : NULL;
}

void
_sq_project_limit_size (SqProject *self,
                        gint64     max_pages)
{
  g_autoptr(GRecMutexLocker) locker = NULL;
  g_autofree char *sql = NULL;
  gint64 pages = 0;
  int rc;

  g_return_if_fail (SQ_IS_PROJECT (self));

  locker = g_rec_mutex_locker_new (&self->mutex);
  if (max_pages <= 0 && !pragma_int (self->db, "PRAGMA page_count", &pages, &rc))
    return;
  sql = g_strdup_printf ("PRAGMA max_page_count = %" G_GINT64_FORMAT, max_pages > 0 ? max_pages : pages);
  sqlite3_exec (self->db, sql, NULL, NULL, NULL);
}
