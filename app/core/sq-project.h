/* sq-project.h
 *
 * A Squint project: one `.squint` file, an SQLite database holding the
 * images (once each, by content hash), prompts, models, one result per
 * prompt × image × model × run, ratings and notes. Every write is its
 * own transaction, committed before the call returns; see
 * docs/project-format.md for the schema and the durability argument.
 *
 * Every function is thread-safe. The synchronous functions block on disk
 * and are meant for the CLI, tests and worker threads; the UI uses the
 * `_async` variants, which run one after another, in call order, on a
 * single worker thread (so a response update queued before a finish is
 * written before it).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sq-types.h"

G_BEGIN_DECLS

#define SQ_PROJECT_ERROR (sq_project_error_quark ())

typedef enum
{
  SQ_PROJECT_ERROR_FAILED,
  SQ_PROJECT_ERROR_TOO_NEW,    /* made by a newer Squint (higher schema version) */
  SQ_PROJECT_ERROR_CORRUPT,    /* empty, not SQLite, not Squint, or damaged */
  SQ_PROJECT_ERROR_READ_ONLY,  /* the file or its folder cannot be written */
  SQ_PROJECT_ERROR_NO_SPACE,   /* SQLITE_FULL: the disk (or the size limit) is full */
  SQ_PROJECT_ERROR_IO,         /* SQLITE_IOERR and friends */
  SQ_PROJECT_ERROR_BUSY,       /* locked by another program */
  SQ_PROJECT_ERROR_NOT_FOUND,  /* no row with that id */
  SQ_PROJECT_ERROR_INVALID,    /* a bad argument: score out of range, bad JSON… */
} SqProjectError;

GQuark sq_project_error_quark (void);

/* PRAGMA user_version of the files this build writes. */
#define SQ_PROJECT_SCHEMA_VERSION  2
/* PRAGMA application_id of every Squint project: "SQNT". */
#define SQ_PROJECT_APPLICATION_ID  0x53514E54

typedef enum
{
  SQ_CRITERION_CORRECTNESS,
  SQ_CRITERION_RELEVANCE,
} SqCriterion;

#define SQ_N_CRITERIA 2

/* "correctness", "relevance" */
const char *sq_criterion_to_string   (SqCriterion  criterion);
gboolean    sq_criterion_from_string (const char  *name,
                                      SqCriterion *out_criterion);

/* ------------------------------------------------------------------ */
/* Plain records handed out by the list functions (all boxed).        */

typedef struct
{
  gint64  id;
  char   *sha256;     /* lower-case hex */
  char   *name;
  char   *mime_type;
  int     width;
  int     height;
  gint64  n_bytes;
  char   *added_at;   /* ISO 8601, UTC */
} SqImageRecord;

typedef struct
{
  gint64  id;
  char   *text;
  char   *added_at;
} SqPromptRecord;

typedef struct
{
  gint64  id;
  char   *display_name;
  char   *ref;          /* owner/name:version */
  char   *params_json;  /* a JSON object, never NULL ("{}") */
  char   *added_at;
} SqModelRecord;

typedef struct
{
  gint64       id;
  gint64       result_id;
  SqCriterion  criterion;
  int          score;     /* 1..5 */
  char        *rater;     /* "" is the local, unnamed rater */
  char        *rated_at;
} SqRating;

/* One cell of a grid: prompt × image × model × run. */
typedef struct
{
  gint64 prompt_id;
  gint64 image_id;
  gint64 model_id;
  int    run;
  gint64 result_id;       /* 0 when the cell has no result row yet */
} SqCell;

#define SQ_TYPE_IMAGE_RECORD  (sq_image_record_get_type ())
#define SQ_TYPE_PROMPT_RECORD (sq_prompt_record_get_type ())
#define SQ_TYPE_MODEL_RECORD  (sq_model_record_get_type ())
#define SQ_TYPE_RATING        (sq_rating_get_type ())

GType           sq_image_record_get_type  (void) G_GNUC_CONST;
SqImageRecord  *sq_image_record_copy      (const SqImageRecord  *record);
void            sq_image_record_free      (SqImageRecord        *record);
GType           sq_prompt_record_get_type (void) G_GNUC_CONST;
SqPromptRecord *sq_prompt_record_copy     (const SqPromptRecord *record);
void            sq_prompt_record_free     (SqPromptRecord       *record);
GType           sq_model_record_get_type  (void) G_GNUC_CONST;
SqModelRecord  *sq_model_record_copy      (const SqModelRecord  *record);
void            sq_model_record_free      (SqModelRecord        *record);
GType           sq_rating_get_type        (void) G_GNUC_CONST;
SqRating       *sq_rating_copy            (const SqRating       *rating);
void            sq_rating_free            (SqRating             *rating);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqImageRecord, sq_image_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqPromptRecord, sq_prompt_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqModelRecord, sq_model_record_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqRating, sq_rating_free)

/* ------------------------------------------------------------------ */
/* SqResult: a read-only snapshot of one result row, joined with its  */
/* prompt, image and model, its mean scores and its notes. Every      */
/* getter is also a read-only property ("prompt", "model-name",       */
/* "correctness", …) for GtkColumnView expressions. Take a fresh one  */
/* with sq_project_get_result() on "results-changed".                 */

#define SQ_TYPE_RESULT (sq_result_get_type ())

G_DECLARE_FINAL_TYPE (SqResult, sq_result, SQ, RESULT, GObject)

gint64      sq_result_get_id            (SqResult    *self);
gint64      sq_result_get_prompt_id     (SqResult    *self);
const char *sq_result_get_prompt        (SqResult    *self);
gint64      sq_result_get_image_id      (SqResult    *self);
const char *sq_result_get_image_name    (SqResult    *self);
const char *sq_result_get_image_sha256  (SqResult    *self);
gint64      sq_result_get_model_id      (SqResult    *self);
const char *sq_result_get_model_name    (SqResult    *self);
const char *sq_result_get_model_ref     (SqResult    *self);
int         sq_result_get_run           (SqResult    *self);
/* "queued", "starting", "processing", "succeeded", "failed", "canceled",
 * "aborted": the strings of sq_prediction_status_to_string(). */
const char *sq_result_get_status        (SqResult    *self);
/* Never NULL ("" before any text). */
const char *sq_result_get_response      (SqResult    *self);
const char *sq_result_get_error         (SqResult    *self);
const char *sq_result_get_prediction_id (SqResult    *self);
/* ISO 8601 UTC strings, or NULL. */
const char *sq_result_get_created_at    (SqResult    *self);
const char *sq_result_get_started_at    (SqResult    *self);
const char *sq_result_get_finished_at   (SqResult    *self);
/* -1 when unknown. */
gint64      sq_result_get_ttft_ms       (SqResult    *self);
gint64      sq_result_get_total_ms      (SqResult    *self);
/* Replicate's metrics.predict_time in seconds, or -1. */
double      sq_result_get_predict_time  (SqResult    *self);
/* The mean over raters, or -1 when unrated ("correctness", "relevance"). */
double      sq_result_get_score         (SqResult    *self,
                                         SqCriterion  criterion);
double      sq_result_get_correctness   (SqResult    *self);
double      sq_result_get_relevance     (SqResult    *self);
/* How many raters scored this criterion. */
guint       sq_result_get_n_ratings     (SqResult    *self,
                                         SqCriterion  criterion);
/* The notes of every rater joined by newlines; never NULL. */
const char *sq_result_get_note          (SqResult    *self);
gboolean    sq_result_is_finished       (SqResult    *self);

/* ------------------------------------------------------------------ */

#define SQ_TYPE_PROJECT (sq_project_get_type ())

G_DECLARE_FINAL_TYPE (SqProject, sq_project, SQ, PROJECT, GObject)

/* $XDG_DATA_HOME/squint/current.squint (transfer full). The folder is
 * not created here; sq_project_open() creates it. */
char          *sq_project_get_default_path       (void);

/* Opens the project at @path, creating it (and its folder) when no file
 * is there. An existing file is first checked read-only: empty, not an
 * SQLite database, not a Squint project or damaged gives
 * SQ_PROJECT_ERROR_CORRUPT, a newer schema SQ_PROJECT_ERROR_TOO_NEW, and
 * in both cases the file is left byte-for-byte unchanged. An older schema
 * is migrated in one transaction. A file that cannot be written opens
 * read-only: reads work, writes fail with SQ_PROJECT_ERROR_READ_ONLY.
 * "results-changed" and "inputs-changed" are emitted in the thread-default
 * main context of the caller. */
SqProject     *sq_project_open                   (const char           *path,
                                                  GError              **error);
void           sq_project_open_async             (const char           *path,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
SqProject     *sq_project_open_finish            (GAsyncResult         *result,
                                                  GError              **error);

/* The path changes only in Save As ("notify::path"); from other threads
 * than the main one use sq_project_dup_path(). */
const char    *sq_project_get_path               (SqProject            *self);
char          *sq_project_dup_path               (SqProject            *self);
gboolean       sq_project_is_read_only           (SqProject            *self);

/* Copies the whole project to @path with the SQLite backup API (through a
 * temporary file renamed into place, so an existing file is replaced
 * atomically) and goes on working on the copy: later changes are saved
 * there. On failure the project stays where it was, unchanged. */
gboolean       sq_project_save_as                (SqProject            *self,
                                                  const char           *path,
                                                  GError              **error);
void           sq_project_save_as_async          (SqProject            *self,
                                                  const char           *path,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gboolean       sq_project_save_as_finish         (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

/* Key/value metadata ("blind-key", "created_at", "squint_version", …). */
char          *sq_project_get_meta               (SqProject            *self,
                                                  const char           *key,
                                                  GError              **error);
gboolean       sq_project_set_meta               (SqProject            *self,
                                                  const char           *key,
                                                  const char           *value,
                                                  GError              **error);

/* --- inputs ------------------------------------------------------- */

/* Adds an image, or returns the id of the one with the same content.
 * @sha256 may be NULL (it is then computed from @bytes). @thumbnail_png
 * may be NULL. Returns the image id, or 0 with @error set. */
gint64         sq_project_add_image              (SqProject            *self,
                                                  GBytes               *bytes,
                                                  const char           *sha256,
                                                  const char           *name,
                                                  const char           *mime_type,
                                                  int                   width,
                                                  int                   height,
                                                  GBytes               *thumbnail_png,
                                                  GError              **error);
void           sq_project_add_image_async        (SqProject            *self,
                                                  GBytes               *bytes,
                                                  const char           *sha256,
                                                  const char           *name,
                                                  const char           *mime_type,
                                                  int                   width,
                                                  int                   height,
                                                  GBytes               *thumbnail_png,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gint64         sq_project_add_image_finish       (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* 0 (and no error) when there is no such image. */
gint64         sq_project_find_image             (SqProject            *self,
                                                  const char           *sha256,
                                                  GError              **error);
/* Adds a prompt or returns the id of the identical one. */
gint64         sq_project_add_prompt             (SqProject            *self,
                                                  const char           *text,
                                                  GError              **error);
void           sq_project_add_prompt_async       (SqProject            *self,
                                                  const char           *text,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gint64         sq_project_add_prompt_finish      (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* Adds a model or returns the id of the one with the same @ref and the
 * same parameters. @ref is the exact owner/name:version used;
 * @params_json a JSON object (NULL = "{}"), stored as given. */
gint64         sq_project_add_model              (SqProject            *self,
                                                  const char           *display_name,
                                                  const char           *ref,
                                                  const char           *params_json,
                                                  GError              **error);
void           sq_project_add_model_async        (SqProject            *self,
                                                  const char           *display_name,
                                                  const char           *ref,
                                                  const char           *params_json,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gint64         sq_project_add_model_finish       (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

/* (transfer full) (element-type SqImageRecord / SqPromptRecord / SqModelRecord),
 * in the order they were added. */
GPtrArray     *sq_project_list_images            (SqProject            *self,
                                                  GError              **error);
GPtrArray     *sq_project_list_prompts           (SqProject            *self,
                                                  GError              **error);
GPtrArray     *sq_project_list_models            (SqProject            *self,
                                                  GError              **error);
/* The original bytes / the PNG thumbnail (NULL and no error when the
 * image has none). Unknown id: SQ_PROJECT_ERROR_NOT_FOUND. */
GBytes        *sq_project_get_image_bytes        (SqProject            *self,
                                                  gint64                image_id,
                                                  GError              **error);
void           sq_project_get_image_bytes_async  (SqProject            *self,
                                                  gint64                image_id,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
GBytes        *sq_project_get_image_bytes_finish (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
GBytes        *sq_project_get_thumbnail          (SqProject            *self,
                                                  gint64                image_id,
                                                  GError              **error);
void           sq_project_get_thumbnail_async    (SqProject            *self,
                                                  gint64                image_id,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
GBytes        *sq_project_get_thumbnail_finish   (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

/* --- results ------------------------------------------------------ */

/* The id of the result row for the cell, created "queued" if missing. */
gint64         sq_project_ensure_result          (SqProject            *self,
                                                  gint64                prompt_id,
                                                  gint64                image_id,
                                                  gint64                model_id,
                                                  int                   run,
                                                  GError              **error);
void           sq_project_ensure_result_async    (SqProject            *self,
                                                  gint64                prompt_id,
                                                  gint64                image_id,
                                                  gint64                model_id,
                                                  int                   run,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gint64         sq_project_ensure_result_finish   (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* The cells of prompts × images × models × runs 0..@n_runs-1 that have no
 * succeeded result. A NULL id array (with 0 length) means "every one in
 * the project". (transfer full) (element-type SqCell), ordered by prompt,
 * image, model, run. */
GArray        *sq_project_list_cells_to_run      (SqProject            *self,
                                                  const gint64         *prompt_ids,
                                                  guint                 n_prompts,
                                                  const gint64         *image_ids,
                                                  guint                 n_images,
                                                  const gint64         *model_ids,
                                                  guint                 n_models,
                                                  guint                 n_runs,
                                                  GError              **error);
/* A prediction was created for the result: status "starting", its
 * prediction id and Replicate's created_at (unix µs, 0 = now). Clears the
 * response, error, timings and finish time of an earlier attempt. */
gboolean       sq_project_set_result_started     (SqProject            *self,
                                                  gint64                result_id,
                                                  const char           *prediction_id,
                                                  gint64                created_at_us,
                                                  GError              **error);
void           sq_project_set_result_started_async (SqProject          *self,
                                                  gint64                result_id,
                                                  const char           *prediction_id,
                                                  gint64                created_at_us,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gboolean       sq_project_set_result_started_finish (SqProject         *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* Replaces the accumulated text of @n results in one transaction (call it
 * at most every ~250 ms with every cell that changed). A result still
 * "queued"/"starting" becomes "processing" and gets its started_at. A
 * finished result is left alone, so a late batch cannot undo a finish. */
gboolean       sq_project_update_responses       (SqProject            *self,
                                                  const gint64         *result_ids,
                                                  const char * const   *texts,
                                                  guint                 n,
                                                  GError              **error);
gboolean       sq_project_update_response        (SqProject            *self,
                                                  gint64                result_id,
                                                  const char           *text,
                                                  GError              **error);
void           sq_project_update_responses_async (SqProject            *self,
                                                  const gint64         *result_ids,
                                                  const char * const   *texts,
                                                  guint                 n,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gboolean       sq_project_update_responses_finish (SqProject           *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* Ends an attempt: @status is "succeeded", "failed", "canceled" or
 * "aborted"; @response (NULL keeps the stored text), @error_message
 * (may be NULL), timings (-1 = unknown). Written with synchronous=FULL. */
gboolean       sq_project_finish_result          (SqProject            *self,
                                                  gint64                result_id,
                                                  const char           *status,
                                                  const char           *response,
                                                  const char           *error_message,
                                                  gint64                ttft_ms,
                                                  gint64                total_ms,
                                                  double                predict_time,
                                                  GError              **error);
void           sq_project_finish_result_async    (SqProject            *self,
                                                  gint64                result_id,
                                                  const char           *status,
                                                  const char           *response,
                                                  const char           *error_message,
                                                  gint64                ttft_ms,
                                                  gint64                total_ms,
                                                  double                predict_time,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gboolean       sq_project_finish_result_finish   (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

/* (transfer full) (element-type SqResult), ordered by prompt, image,
 * model, run (each in the order it was added). */
GPtrArray     *sq_project_list_results           (SqProject            *self,
                                                  GError              **error);
void           sq_project_list_results_async     (SqProject            *self,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
GPtrArray     *sq_project_list_results_finish    (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* Results left "starting"/"processing" with a prediction id, e.g. by a
 * kill -9: resume them by polling the prediction. (element-type SqResult) */
GPtrArray     *sq_project_list_unfinished        (SqProject            *self,
                                                  GError              **error);
void           sq_project_list_unfinished_async  (SqProject            *self,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
GPtrArray     *sq_project_list_unfinished_finish (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* Unknown id: SQ_PROJECT_ERROR_NOT_FOUND. */
SqResult      *sq_project_get_result             (SqProject            *self,
                                                  gint64                result_id,
                                                  GError              **error);
void           sq_project_get_result_async       (SqProject            *self,
                                                  gint64                result_id,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
SqResult      *sq_project_get_result_finish      (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);

/* --- ratings and notes (written with synchronous=FULL) ------------ */

/* @score 1..5 sets, 0 clears (the row is deleted: unrated is NULL, never
 * 0). @rater NULL is "" (the local, unnamed rater). */
gboolean       sq_project_set_rating             (SqProject            *self,
                                                  gint64                result_id,
                                                  SqCriterion           criterion,
                                                  int                   score,
                                                  const char           *rater,
                                                  GError              **error);
void           sq_project_set_rating_async       (SqProject            *self,
                                                  gint64                result_id,
                                                  SqCriterion           criterion,
                                                  int                   score,
                                                  const char           *rater,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gboolean       sq_project_set_rating_finish      (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* The score @rater gave, or 0 when unrated. */
int            sq_project_get_rating             (SqProject            *self,
                                                  gint64                result_id,
                                                  SqCriterion           criterion,
                                                  const char           *rater,
                                                  GError              **error);
/* (transfer full) (element-type SqRating), by result then criterion then rater. */
GPtrArray     *sq_project_list_ratings           (SqProject            *self,
                                                  GError              **error);
/* @text NULL or "" deletes the note. */
gboolean       sq_project_set_note               (SqProject            *self,
                                                  gint64                result_id,
                                                  const char           *text,
                                                  const char           *rater,
                                                  GError              **error);
void           sq_project_set_note_async         (SqProject            *self,
                                                  gint64                result_id,
                                                  const char           *text,
                                                  const char           *rater,
                                                  GCancellable         *cancellable,
                                                  GAsyncReadyCallback   callback,
                                                  gpointer              user_data);
gboolean       sq_project_set_note_finish        (SqProject            *self,
                                                  GAsyncResult         *result,
                                                  GError              **error);
/* The note of @rater, or NULL. */
char          *sq_project_get_note               (SqProject            *self,
                                                  gint64                result_id,
                                                  const char           *rater,
                                                  GError              **error);

G_END_DECLS
