/* sq-grid-run.c
 *
 * How a run goes:
 *
 * 1. Setup, in a worker thread (the project's synchronous calls block on
 *    disk): store the prompts, images and models given as values, read
 *    the ones given by id, list the unfinished results (to resume by
 *    prediction id) and the cells to run, and make sure every cell has
 *    its result row, so a viewer sees the whole grid as "queued" at once.
 * 2. Models given by project id are resolved through the catalog.
 * 3. Cells start, at most `concurrency` at a time: resumed predictions
 *    first, then in grid order. The image input of each image is prepared
 *    once (SqImage caches uploads), when its first cell starts.
 *
 * Every write goes through the project's ordered async queue, so for a
 * cell "started" is written before its text batches and those before its
 * finish; a cell counts as finished once its finish is written.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-grid-run"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "sq-config.h"
#include "sq-error.h"
#include "sq-grid-run.h"
#include "sq-image.h"
#include "sq-json.h"
#include "sq-model.h"
#include "sq-model-catalog.h"
#include "sq-prediction.h"
#include "sq-project.h"
#include "sq-replicate-client.h"

/* How often streamed text is written (one transaction for every cell that changed). */
#define FLUSH_INTERVAL_MS 250

typedef struct
{
  char   *text;   /* nullable until the setup read it */
  gint64  id;     /* 0 until stored */
} PromptEntry;

typedef enum
{
  PREP_NONE,
  PREP_BUSY,
  PREP_READY,
  PREP_FAILED,
} PrepState;

typedef struct
{
  SqImage   *image;    /* nullable: an image given by id, loaded from the project when needed */
  gint64     id;
  GBytes    *bytes;    /* the stored bytes of an image given by id */
  char      *name;
  PrepState  prep;
  char      *input;    /* what goes into the prediction, once PREP_READY */
  GError    *error;    /* why it cannot be used, once PREP_FAILED */
  GPtrArray *waiters;  /* (element-type Cell) (unowned) cells waiting for the input */
} ImageEntry;

typedef struct
{
  SqModel    *model;        /* nullable until resolved */
  gint64      id;
  char       *display_name;
  char       *ref;
  char       *params_json;
  JsonObject *params;
  GError     *error;        /* the model could not be resolved */
} ModelEntry;

typedef enum
{
  CELL_QUEUED,
  CELL_RUNNING,
  CELL_DONE,
} CellState;

typedef struct
{
  SqGridRun    *self;         /* unowned */
  gint64        result_id;
  guint         prompt_index;
  guint         image_index;
  guint         model_index;
  int           run;
  char         *resume_id;    /* a prediction to pick up by id, or NULL */
  CellState     state;
  const char   *outcome;      /* the final status once ended (static string) */
  SqPrediction *prediction;
  GString      *text;
  gboolean      dirty;        /* text not written yet */
  gboolean      ending;       /* the finish is being written */
  char         *error;
  GError       *gerror;       /* why it failed, when known */
  gint64        start_us;
} Cell;

struct _SqGridRun
{
  GObject             parent_instance;

  SqProject          *project;          /* owned */
  SqReplicateClient  *client;           /* owned */
  SqModelCatalog     *catalog;          /* owned, nullable */

  GPtrArray          *prompts;          /* (element-type PromptEntry) */
  GPtrArray          *images;           /* (element-type ImageEntry) */
  GPtrArray          *models;           /* (element-type ModelEntry) */

  guint               n_runs;
  gboolean            rerun;
  guint               concurrency;
  guint               poll_interval_ms;

  SqGridRunState      state;
  GTask              *task;             /* the run in progress, owned */
  GCancellable       *cancellable;      /* owned: cancels this run's work */
  GCancellable       *external;         /* owned: the caller's cancellable */
  gulong              external_id;
  GMainContext       *context;          /* owned: where the run was started */
  gboolean            setting_up;
  gboolean            only_failed;
  guint               pending_ops;      /* resolves and writes in flight */
  guint               flush_source;
  GError             *write_error;      /* the first failed project write */

  GPtrArray          *cells;            /* (element-type Cell) owned */
  GHashTable         *cells_by_id;      /* result id → Cell (unowned) */
  GQueue              queue;            /* (element-type Cell) unowned */

  guint               n_cells;
  guint               n_queued;
  guint               n_running;
  guint               n_done;
  guint               n_failed;
  guint               n_canceled;
  guint               n_resumed;
  int                 eta_seconds;
  gint64              total_duration_us; /* of the cells that ended, not canceled */
  guint               n_timed;
};

G_DEFINE_FINAL_TYPE (SqGridRun, sq_grid_run, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PROJECT,
  PROP_CLIENT,
  PROP_CATALOG,
  PROP_STATE,
  PROP_N_CELLS,
  PROP_N_QUEUED,
  PROP_N_RUNNING,
  PROP_N_DONE,
  PROP_N_FAILED,
  PROP_N_CANCELED,
  PROP_ETA_SECONDS,
  PROP_CONCURRENCY,
  PROP_N_RUNS,
  PROP_RERUN,
  PROP_POLL_INTERVAL_MS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  CELL_STARTED,
  CELL_DELTA,
  CELL_RESET,
  CELL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void grid_schedule        (SqGridRun *self);
static void grid_check_complete  (SqGridRun *self);
static void cell_launch          (Cell       *cell);
static void cell_end             (Cell       *cell,
                                  const char *status,
                                  const char *error_message);

GType
sq_grid_run_state_get_type (void)
{
  static gsize type_id = 0;

  if (g_once_init_enter (&type_id))
    {
      static const GEnumValue values[] = {
        { SQ_GRID_RUN_STATE_IDLE, "SQ_GRID_RUN_STATE_IDLE", "idle" },
        { SQ_GRID_RUN_STATE_RUNNING, "SQ_GRID_RUN_STATE_RUNNING", "running" },
        { SQ_GRID_RUN_STATE_PAUSED, "SQ_GRID_RUN_STATE_PAUSED", "paused" },
        { SQ_GRID_RUN_STATE_CANCELLING, "SQ_GRID_RUN_STATE_CANCELLING", "cancelling" },
        { SQ_GRID_RUN_STATE_FINISHED, "SQ_GRID_RUN_STATE_FINISHED", "finished" },
        { 0, NULL, NULL }
      };
      GType id = g_enum_register_static (g_intern_static_string ("SqGridRunState"), values);

      g_once_init_leave (&type_id, id);
    }

  return type_id;
}

/* Entries */

static void
prompt_entry_free (PromptEntry *entry)
{
  g_free (entry->text);
  g_free (entry);
}

static void
image_entry_free (ImageEntry *entry)
{
  g_clear_object (&entry->image);
  g_clear_pointer (&entry->bytes, g_bytes_unref);
  g_free (entry->name);
  g_free (entry->input);
  g_clear_error (&entry->error);
  g_clear_pointer (&entry->waiters, g_ptr_array_unref);
  g_free (entry);
}

static void
model_entry_free (ModelEntry *entry)
{
  g_clear_object (&entry->model);
  g_free (entry->display_name);
  g_free (entry->ref);
  g_free (entry->params_json);
  g_clear_pointer (&entry->params, json_object_unref);
  g_clear_error (&entry->error);
  g_free (entry);
}

static void
cell_free (Cell *cell)
{
  if (cell->prediction != NULL)
    g_signal_handlers_disconnect_by_data (cell->prediction, cell);
  g_clear_object (&cell->prediction);
  g_free (cell->resume_id);
  g_string_free (cell->text, TRUE);
  g_free (cell->error);
  g_clear_error (&cell->gerror);
  g_free (cell);
}

static PromptEntry *
get_prompt (SqGridRun *self,
            guint      index)
{
  return g_ptr_array_index (self->prompts, index);
}

static ImageEntry *
get_image (SqGridRun *self,
           guint      index)
{
  return g_ptr_array_index (self->images, index);
}

static ModelEntry *
get_model (SqGridRun *self,
           guint      index)
{
  return g_ptr_array_index (self->models, index);
}

/* Counters and properties */

static void
set_uint (SqGridRun *self,
          guint     *field,
          guint      value,
          guint      prop)
{
  if (*field == value)
    return;

  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_state (SqGridRun      *self,
           SqGridRunState  state)
{
  if (self->state == state)
    return;

  g_debug ("State: %d → %d", self->state, state);
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

static void
update_eta (SqGridRun *self)
{
  int eta = -1;
  guint left = self->n_queued + self->n_running;

  if (self->state == SQ_GRID_RUN_STATE_FINISHED || left == 0)
    eta = self->n_timed > 0 || self->state == SQ_GRID_RUN_STATE_FINISHED ? 0 : -1;
  else if (self->n_timed > 0)
    {
      double mean_s = (double) self->total_duration_us / self->n_timed / G_USEC_PER_SEC;
      guint waves = (left + self->concurrency - 1) / self->concurrency;

      eta = (int) ceil (mean_s * waves);
    }

  if (eta != self->eta_seconds)
    {
      self->eta_seconds = eta;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ETA_SECONDS]);
    }
}

/* Writes */

static void
record_write_error (SqGridRun *self,
                    GError    *error)
{
  g_warning ("Could not save a result: %s", error->message);
  if (self->write_error == NULL)
    self->write_error = g_error_copy (error);
}

static void
update_responses_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(SqGridRun) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_project_update_responses_finish (SQ_PROJECT (object), result, &error))
    g_warning ("Could not save streamed text: %s", error->message);

  self->pending_ops--;
  grid_check_complete (self);
}

/* Writes the text of every cell that changed since the last time, in one transaction. */
static void
grid_flush (SqGridRun *self)
{
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GPtrArray) texts = g_ptr_array_new ();

  for (guint i = 0; self->cells != NULL && i < self->cells->len; i++)
    {
      Cell *cell = g_ptr_array_index (self->cells, i);

      if (!cell->dirty || cell->ending)
        continue;

      g_array_append_val (ids, cell->result_id);
      g_ptr_array_add (texts, cell->text->str);
      cell->dirty = FALSE;
    }

  if (ids->len == 0)
    return;

  self->pending_ops++;
  sq_project_update_responses_async (self->project, (const gint64 *) ids->data,
                                     (const char * const *) texts->pdata, ids->len,
                                     NULL, update_responses_cb, g_object_ref (self));
}

static gboolean
flush_timeout_cb (gpointer user_data)
{
  SqGridRun *self = user_data;

  self->flush_source = 0;
  grid_flush (self);

  return G_SOURCE_REMOVE;
}

static void
grid_queue_flush (SqGridRun *self)
{
  GSource *source;

  if (self->flush_source != 0)
    return;

  source = g_timeout_source_new (FLUSH_INTERVAL_MS);
  g_source_set_callback (source, flush_timeout_cb, self, NULL);
  g_source_set_static_name (source, "[sq-grid-run] flush");
  self->flush_source = g_source_attach (source, self->context);
  g_source_unref (source);
}

/* One cell */

static void
set_result_started_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(SqGridRun) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_project_set_result_started_finish (SQ_PROJECT (object), result, &error))
    record_write_error (self, error);

  self->pending_ops--;
  grid_check_complete (self);
}

static void
prediction_notify_id_cb (SqPrediction *prediction,
                         GParamSpec   *pspec,
                         Cell         *cell)
{
  SqGridRun *self = cell->self;
  GDateTime *created_at = sq_prediction_get_created_at (prediction);
  const char *id = sq_prediction_get_id (prediction);

  if (id == NULL)
    return;

  /* Stored at once: should the process die now, the next run picks it up. */
  g_debug ("Cell %" G_GINT64_FORMAT " is prediction %s", cell->result_id, id);
  self->pending_ops++;
  sq_project_set_result_started_async (self->project, cell->result_id, id,
                                       created_at != NULL
                                       ? g_date_time_to_unix (created_at) * G_USEC_PER_SEC +
                                         g_date_time_get_microsecond (created_at)
                                       : 0,
                                       NULL, set_result_started_cb, g_object_ref (self));
}

static void
prediction_delta_cb (SqPrediction *prediction,
                     const char   *text,
                     Cell         *cell)
{
  SqGridRun *self = cell->self;
  gboolean first;

  if (text == NULL || *text == '\0')
    return;

  first = cell->text->len == 0;
  g_string_append (cell->text, text);
  cell->dirty = TRUE;
  /* The first text is written at once (the row becomes "processing" with
   * its started_at); the rest in batches. */
  if (first)
    grid_flush (self);
  else
    grid_queue_flush (self);
  g_signal_emit (self, signals[CELL_DELTA], 0, cell->result_id, text);
}

static void
prediction_text_reset_cb (SqPrediction *prediction,
                          const char   *text,
                          Cell         *cell)
{
  SqGridRun *self = cell->self;

  g_string_assign (cell->text, text != NULL ? text : "");
  cell->dirty = TRUE;
  grid_queue_flush (self);
  g_signal_emit (self, signals[CELL_RESET], 0, cell->result_id, cell->text->str);
}

static void
cell_restart_fresh (Cell *cell)
{
  g_signal_handlers_disconnect_by_data (cell->prediction, cell);
  g_clear_object (&cell->prediction);
  g_clear_pointer (&cell->resume_id, g_free);
  g_string_truncate (cell->text, 0);
  cell_launch (cell);
}

static void
prediction_run_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Cell *cell = user_data;
  SqPrediction *prediction = SQ_PREDICTION (object);
  g_autoptr(GError) error = NULL;
  const char *status;

  if (sq_prediction_run_finish (prediction, result, &error))
    {
      status = "succeeded";
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
           sq_prediction_get_status (prediction) == SQ_PREDICTION_CANCELED)
    {
      status = "canceled";
    }
  else if (cell->resume_id != NULL &&
           g_error_matches (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND))
    {
      /* Replicate no longer knows it (or this is another account): run it anew. */
      g_debug ("Prediction %s of cell %" G_GINT64_FORMAT " is gone; creating a new one",
               cell->resume_id, cell->result_id);
      cell_restart_fresh (cell);
      return;
    }
  else if (g_error_matches (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PREDICTION_ABORTED) ||
           sq_prediction_get_status (prediction) == SQ_PREDICTION_ABORTED)
    {
      status = "aborted";
    }
  else
    {
      status = "failed";
    }

  if (error != NULL && !g_str_equal (status, "canceled"))
    {
      g_clear_error (&cell->gerror);
      cell->gerror = g_error_copy (error);
    }

  /* The prediction's text is the authority: a resumed one replays from the start. */
  g_string_assign (cell->text, sq_prediction_get_text (prediction));
  cell_end (cell, status, error != NULL && !g_str_equal (status, "canceled") ? error->message : NULL);
}

static void
cell_run_prediction (Cell *cell)
{
  SqGridRun *self = cell->self;

  sq_prediction_set_poll_interval (cell->prediction, self->poll_interval_ms);
  g_signal_connect (cell->prediction, "notify::id", G_CALLBACK (prediction_notify_id_cb), cell);
  g_signal_connect (cell->prediction, "delta", G_CALLBACK (prediction_delta_cb), cell);
  g_signal_connect (cell->prediction, "text-reset", G_CALLBACK (prediction_text_reset_cb), cell);
  sq_prediction_run_async (cell->prediction, self->cancellable, prediction_run_cb, cell);
}

static void
cell_start_with_input (Cell       *cell,
                       const char *image_input)
{
  SqGridRun *self = cell->self;
  ModelEntry *model = get_model (self, cell->model_index);
  PromptEntry *prompt = get_prompt (self, cell->prompt_index);
  g_autoptr(JsonObject) input = NULL;
  g_autoptr(GError) error = NULL;

  if (g_cancellable_is_cancelled (self->cancellable))
    {
      cell_end (cell, "canceled", NULL);
      return;
    }

  input = sq_model_build_input (model->model, prompt->text, image_input, NULL, &error);
  if (input == NULL)
    {
      cell_end (cell, "failed", error->message);
      return;
    }

  if (model->params != NULL)
    {
      g_autoptr(GList) members = json_object_get_members (model->params);

      for (GList *l = members; l != NULL; l = l->next)
        {
          const char *key = l->data;

          /* The prompt and the image are the cell's own. */
          if (g_strcmp0 (key, sq_model_get_prompt_key (model->model)) == 0 ||
              g_strcmp0 (key, sq_model_get_image_key (model->model)) == 0)
            continue;

          json_object_set_member (input, key,
                                  json_node_copy (json_object_get_member (model->params, key)));
        }
    }

  cell->prediction = sq_prediction_new (self->client, sq_model_get_ref (model->model), input);
  cell_run_prediction (cell);
}

static void
image_prepared (SqGridRun  *self,
                ImageEntry *entry)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&entry->waiters);

  entry->waiters = g_ptr_array_new ();

  for (guint i = 0; i < waiters->len; i++)
    {
      Cell *cell = g_ptr_array_index (waiters, i);

      if (entry->prep == PREP_READY)
        cell_start_with_input (cell, entry->input);
      else if (g_error_matches (entry->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        cell_end (cell, "canceled", NULL);
      else
        cell_end (cell, "failed", entry->error->message);
    }

  /* A cancelled preparation is tried again by a later run. */
  if (entry->prep == PREP_FAILED && g_error_matches (entry->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      entry->prep = PREP_NONE;
      g_clear_error (&entry->error);
    }
}

typedef struct
{
  SqGridRun *self;   /* owned */
  guint      image_index;
} PrepData;

static void
prep_data_free (PrepData *data)
{
  g_object_unref (data->self);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PrepData, prep_data_free)

static void
prepare_input_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(PrepData) data = user_data;
  ImageEntry *entry = get_image (data->self, data->image_index);

  entry->input = sq_image_prepare_input_finish (SQ_IMAGE (object), result, &entry->error);
  entry->prep = entry->input != NULL ? PREP_READY : PREP_FAILED;
  image_prepared (data->self, entry);
}

static void
image_prepare_input (PrepData *data)
{
  ImageEntry *entry = get_image (data->self, data->image_index);

  sq_image_prepare_input_async (entry->image, data->self->client, data->self->cancellable,
                                prepare_input_cb, data);
}

static void
image_load_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(PrepData) data = user_data;
  ImageEntry *entry = get_image (data->self, data->image_index);

  entry->image = sq_image_load_finish (result, &entry->error);
  if (entry->image == NULL)
    {
      entry->prep = PREP_FAILED;
      image_prepared (data->self, entry);
      return;
    }

  g_clear_pointer (&entry->bytes, g_bytes_unref);
  image_prepare_input (g_steal_pointer (&data));
}

static void
image_prepare (SqGridRun *self,
               guint      image_index)
{
  ImageEntry *entry = get_image (self, image_index);
  PrepData *data;

  g_assert (entry->prep == PREP_NONE);

  entry->prep = PREP_BUSY;
  data = g_new0 (PrepData, 1);
  data->self = g_object_ref (self);
  data->image_index = image_index;

  if (entry->image != NULL)
    image_prepare_input (data);
  else if (entry->bytes != NULL)
    sq_image_load_bytes_async (entry->bytes, entry->name, self->cancellable, image_load_cb, data);
  else
    {
      entry->error = g_error_new (SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND,
                                  _("The image “%s” is not in the project"),
                                  entry->name != NULL ? entry->name : "?");
      entry->prep = PREP_FAILED;
      prep_data_free (data);
      image_prepared (self, entry);
    }
}

static void
cell_launch (Cell *cell)
{
  SqGridRun *self = cell->self;
  ModelEntry *model = get_model (self, cell->model_index);
  ImageEntry *image = get_image (self, cell->image_index);

  if (cell->resume_id != NULL)
    {
      g_debug ("Resuming prediction %s for cell %" G_GINT64_FORMAT, cell->resume_id, cell->result_id);
      cell->prediction = sq_prediction_new_for_id (self->client, cell->resume_id);
      cell_run_prediction (cell);
      return;
    }

  if (model->model == NULL)
    {
      cell_end (cell, "failed", model->error != NULL ? model->error->message : _("Unknown model"));
      return;
    }

  switch (image->prep)
    {
    case PREP_READY:
      cell_start_with_input (cell, image->input);
      break;

    case PREP_FAILED:
      cell_end (cell, "failed", image->error->message);
      break;

    case PREP_BUSY:
      g_ptr_array_add (image->waiters, cell);
      break;

    case PREP_NONE:
    default:
      g_ptr_array_add (image->waiters, cell);
      image_prepare (self, cell->image_index);
      break;
    }
}

static void
cell_start (Cell *cell)
{
  SqGridRun *self = cell->self;

  g_assert (cell->state == CELL_QUEUED);

  cell->state = CELL_RUNNING;
  cell->start_us = g_get_monotonic_time ();
  cell->outcome = NULL;
  cell->ending = FALSE;
  cell->dirty = FALSE;
  g_clear_pointer (&cell->error, g_free);
  g_clear_error (&cell->gerror);
  g_string_truncate (cell->text, 0);

  g_object_freeze_notify (G_OBJECT (self));
  set_uint (self, &self->n_queued, self->n_queued - 1, PROP_N_QUEUED);
  set_uint (self, &self->n_running, self->n_running + 1, PROP_N_RUNNING);
  update_eta (self);
  g_object_thaw_notify (G_OBJECT (self));

  g_signal_emit (self, signals[CELL_STARTED], 0, cell->result_id);
  cell_launch (cell);
}

typedef struct
{
  SqGridRun *self;   /* owned */
  Cell      *cell;
} FinishData;

static void
finish_result_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autofree FinishData *data = user_data;
  g_autoptr(SqGridRun) self = data->self;
  Cell *cell = data->cell;
  g_autoptr(GError) error = NULL;

  if (!sq_project_finish_result_finish (SQ_PROJECT (object), result, &error))
    record_write_error (self, error);

  self->pending_ops--;

  cell->state = CELL_DONE;
  cell->ending = FALSE;
  g_clear_object (&cell->prediction);

  g_object_freeze_notify (G_OBJECT (self));
  set_uint (self, &self->n_running, self->n_running - 1, PROP_N_RUNNING);
  if (g_str_equal (cell->outcome, "succeeded"))
    set_uint (self, &self->n_done, self->n_done + 1, PROP_N_DONE);
  else if (g_str_equal (cell->outcome, "canceled"))
    set_uint (self, &self->n_canceled, self->n_canceled + 1, PROP_N_CANCELED);
  else
    set_uint (self, &self->n_failed, self->n_failed + 1, PROP_N_FAILED);
  if (!g_str_equal (cell->outcome, "canceled"))
    {
      self->total_duration_us += g_get_monotonic_time () - cell->start_us;
      self->n_timed++;
    }
  update_eta (self);
  g_object_thaw_notify (G_OBJECT (self));

  g_signal_emit (self, signals[CELL_FINISHED], 0, cell->result_id, cell->outcome);

  grid_schedule (self);
  grid_check_complete (self);
}

static void
cell_end (Cell       *cell,
          const char *status,
          const char *error_message)
{
  SqGridRun *self = cell->self;
  FinishData *data;

  g_assert (cell->state == CELL_RUNNING);
  g_assert (!cell->ending);

  g_debug ("Cell %" G_GINT64_FORMAT " ended: %s%s%s", cell->result_id, status,
           error_message != NULL ? ": " : "", error_message != NULL ? error_message : "");

  cell->outcome = g_intern_string (status);
  cell->ending = TRUE;
  cell->dirty = FALSE;
  g_free (cell->error);
  cell->error = g_strdup (error_message);

  if (cell->prediction != NULL)
    g_signal_handlers_disconnect_by_data (cell->prediction, cell);

  data = g_new0 (FinishData, 1);
  data->self = g_object_ref (self);
  data->cell = cell;

  self->pending_ops++;
  sq_project_finish_result_async (self->project, cell->result_id, status, cell->text->str,
                                  error_message,
                                  cell->prediction != NULL ? sq_prediction_get_ttft_ms (cell->prediction) : -1,
                                  cell->prediction != NULL ? sq_prediction_get_total_ms (cell->prediction) : -1,
                                  cell->prediction != NULL ? sq_prediction_get_predict_time (cell->prediction) : -1,
                                  NULL, finish_result_cb, data);
}

/* The run */

static void
grid_schedule (SqGridRun *self)
{
  while (self->task != NULL &&
         !self->setting_up &&
         self->state == SQ_GRID_RUN_STATE_RUNNING &&
         !g_cancellable_is_cancelled (self->cancellable) &&
         self->n_running < self->concurrency &&
         !g_queue_is_empty (&self->queue))
    cell_start (g_queue_pop_head (&self->queue));
}

static void
grid_complete (SqGridRun *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);
  gboolean cancelled = g_cancellable_is_cancelled (self->cancellable);

  g_clear_handle_id (&self->flush_source, g_source_remove);
  if (self->external != NULL)
    g_cancellable_disconnect (self->external, self->external_id);
  self->external_id = 0;
  g_clear_object (&self->external);

  g_object_freeze_notify (G_OBJECT (self));
  set_state (self, SQ_GRID_RUN_STATE_FINISHED);
  update_eta (self);
  g_object_thaw_notify (G_OBJECT (self));

  if (cancelled)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The grid run was canceled"));
  else if (self->write_error != NULL)
    g_task_return_error (task, g_steal_pointer (&self->write_error));
  else
    g_task_return_boolean (task, TRUE);

  g_clear_error (&self->write_error);
}

static void
grid_check_complete (SqGridRun *self)
{
  if (self->task == NULL || self->setting_up || self->pending_ops > 0 || self->n_running > 0)
    return;

  if (self->state == SQ_GRID_RUN_STATE_CANCELLING ||
      g_cancellable_is_cancelled (self->cancellable) ||
      g_queue_is_empty (&self->queue))
    grid_complete (self);
}

/* Setup, in a worker thread */

typedef struct
{
  guint  n_runs;
  gboolean rerun;
  gboolean only_failed;
  GPtrArray *cells;   /* (element-type Cell) the result */
} SetupData;

static void
setup_data_free (SetupData *data)
{
  g_clear_pointer (&data->cells, g_ptr_array_unref);
  g_free (data);
}

static GBytes *
thumbnail_png (SqImage *image)
{
  GdkPixbuf *thumbnail = sq_image_get_thumbnail (image);
  g_autofree char *buffer = NULL;
  gsize len = 0;

  if (thumbnail == NULL || !gdk_pixbuf_save_to_buffer (thumbnail, &buffer, &len, "png", NULL, NULL))
    return NULL;

  return g_bytes_new_take (g_steal_pointer (&buffer), len);
}

/* Appends @id to @ids unless it is there; returns its position. */
static guint
add_unique_id (GArray *ids,
               gint64  id)
{
  for (guint i = 0; i < ids->len; i++)
    {
      if (g_array_index (ids, gint64, i) == id)
        return i;
    }

  g_array_append_val (ids, id);
  return ids->len - 1;
}

static gboolean
setup_inputs (SqGridRun  *self,
              GError    **error)
{
  g_autoptr(GPtrArray) prompt_records = NULL;
  g_autoptr(GPtrArray) image_records = NULL;
  g_autoptr(GPtrArray) model_records = NULL;

  for (guint i = 0; i < self->prompts->len; i++)
    {
      PromptEntry *entry = get_prompt (self, i);

      if (entry->id == 0)
        {
          entry->id = sq_project_add_prompt (self->project, entry->text, error);
          if (entry->id == 0)
            return FALSE;
        }
      else if (entry->text == NULL)
        {
          if (prompt_records == NULL && (prompt_records = sq_project_list_prompts (self->project, error)) == NULL)
            return FALSE;
          for (guint r = 0; r < prompt_records->len; r++)
            {
              SqPromptRecord *record = g_ptr_array_index (prompt_records, r);

              if (record->id == entry->id)
                entry->text = g_strdup (record->text);
            }
          if (entry->text == NULL)
            {
              g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND,
                           _("The project has no prompt %lld"), (long long) entry->id);
              return FALSE;
            }
        }
    }

  for (guint i = 0; i < self->images->len; i++)
    {
      ImageEntry *entry = get_image (self, i);

      if (entry->image != NULL && entry->id == 0)
        {
          g_autoptr(GBytes) thumbnail = thumbnail_png (entry->image);

          entry->id = sq_project_add_image (self->project,
                                            sq_image_get_bytes (entry->image),
                                            sq_image_get_hash (entry->image),
                                            sq_image_get_name (entry->image),
                                            sq_image_get_mime_type (entry->image),
                                            sq_image_get_width (entry->image),
                                            sq_image_get_height (entry->image),
                                            thumbnail, error);
          if (entry->id == 0)
            return FALSE;
        }
      else if (entry->image == NULL && entry->bytes == NULL)
        {
          if (image_records == NULL && (image_records = sq_project_list_images (self->project, error)) == NULL)
            return FALSE;
          for (guint r = 0; r < image_records->len; r++)
            {
              SqImageRecord *record = g_ptr_array_index (image_records, r);

              if (record->id == entry->id)
                {
                  g_free (entry->name);
                  entry->name = g_strdup (record->name);
                }
            }
          entry->bytes = sq_project_get_image_bytes (self->project, entry->id, error);
          if (entry->bytes == NULL)
            return FALSE;
        }
    }

  for (guint i = 0; i < self->models->len; i++)
    {
      ModelEntry *entry = get_model (self, i);

      if (entry->id == 0)
        {
          entry->id = sq_project_add_model (self->project, entry->display_name, entry->ref,
                                            entry->params_json, error);
          if (entry->id == 0)
            return FALSE;
        }
      else if (entry->ref == NULL)
        {
          if (model_records == NULL && (model_records = sq_project_list_models (self->project, error)) == NULL)
            return FALSE;
          for (guint r = 0; r < model_records->len; r++)
            {
              SqModelRecord *record = g_ptr_array_index (model_records, r);

              if (record->id == entry->id)
                {
                  entry->display_name = g_strdup (record->display_name);
                  entry->ref = g_strdup (record->ref);
                  entry->params_json = g_strdup (record->params_json);
                }
            }
          if (entry->ref == NULL)
            {
              g_set_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND,
                           _("The project has no model %lld"), (long long) entry->id);
              return FALSE;
            }
        }

      if (entry->params == NULL && entry->params_json != NULL)
        {
          g_autoptr(JsonNode) node = sq_json_from_string (entry->params_json, NULL);

          if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
            entry->params = json_object_ref (json_node_get_object (node));
        }
    }

  return TRUE;
}

static int
find_index (GArray *ids,
            gint64  id)
{
  for (guint i = 0; i < ids->len; i++)
    {
      if (g_array_index (ids, gint64, i) == id)
        return i;
    }

  return -1;
}

static gboolean
status_is_retryable (const char *status)
{
  return g_strcmp0 (status, "failed") == 0 ||
         g_strcmp0 (status, "aborted") == 0 ||
         g_strcmp0 (status, "canceled") == 0;
}

static void
setup_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  SqGridRun *self = source_object;
  SetupData *data = task_data;
  g_autoptr(GArray) prompt_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) image_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) model_ids = g_array_new (FALSE, FALSE, sizeof (gint64));
  /* The first entry of each id (entries may repeat an id: a prompt by text and by id). */
  g_autoptr(GArray) prompt_first = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) image_first = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GArray) model_first = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GHashTable) unfinished = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GHashTable) statuses = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) resumable = NULL;
  g_autoptr(GArray) to_run = NULL;
  g_autoptr(GPtrArray) cells = g_ptr_array_new_with_free_func ((GDestroyNotify) cell_free);
  GError *error = NULL;
  guint n_runs = data->n_runs;
  int only_run = -1;

  if (!setup_inputs (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }

#define ADD_IDS(list, getter, ids, first) \
  for (guint i = 0; i < self->list->len; i++) \
    { \
      guint before = ids->len; \
      add_unique_id (ids, getter (self, i)->id); \
      if (ids->len > before) \
        g_array_append_val (first, i); \
    }
  ADD_IDS (prompts, get_prompt, prompt_ids, prompt_first);
  ADD_IDS (images, get_image, image_ids, image_first);
  ADD_IDS (models, get_model, model_ids, model_first);
#undef ADD_IDS

  if (prompt_ids->len == 0 || image_ids->len == 0 || model_ids->len == 0)
    {
      data->cells = g_steal_pointer (&cells);
      g_task_return_boolean (task, TRUE);
      return;
    }

  /* What earlier runs left. */
  results = sq_project_list_results (self->project, &error);
  if (results == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  for (guint i = 0; i < results->len; i++)
    {
      SqResult *result = g_ptr_array_index (results, i);
      gint64 *key;

      if (find_index (prompt_ids, sq_result_get_prompt_id (result)) < 0 ||
          find_index (image_ids, sq_result_get_image_id (result)) < 0 ||
          find_index (model_ids, sq_result_get_model_id (result)) < 0)
        continue;

      if (data->rerun)
        only_run = MAX (only_run, sq_result_get_run (result));

      key = g_new (gint64, 1);
      *key = sq_result_get_id (result);
      g_hash_table_insert (statuses, key, g_strdup (sq_result_get_status (result)));
    }

  if (data->rerun)
    {
      only_run++;
      n_runs = only_run + 1;
    }

  resumable = sq_project_list_unfinished (self->project, &error);
  if (resumable == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < resumable->len; i++)
    {
      SqResult *result = g_ptr_array_index (resumable, i);
      const char *id = sq_result_get_prediction_id (result);
      gint64 *key;

      if (id == NULL || *id == '\0')
        continue;

      key = g_new (gint64, 1);
      *key = sq_result_get_id (result);
      g_hash_table_insert (unfinished, key, g_strdup (id));
    }

  to_run = sq_project_list_cells_to_run (self->project,
                                         (const gint64 *) prompt_ids->data, prompt_ids->len,
                                         (const gint64 *) image_ids->data, image_ids->len,
                                         (const gint64 *) model_ids->data, model_ids->len,
                                         n_runs, &error);
  if (to_run == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  for (guint i = 0; i < to_run->len; i++)
    {
      SqCell *sq_cell = &g_array_index (to_run, SqCell, i);
      const char *resume_id = NULL;
      Cell *cell;

      if (only_run >= 0 && sq_cell->run != only_run)
        continue;

      if (sq_cell->result_id != 0)
        {
          const char *status = g_hash_table_lookup (statuses, &sq_cell->result_id);

          resume_id = g_hash_table_lookup (unfinished, &sq_cell->result_id);
          if (data->only_failed && resume_id == NULL && !status_is_retryable (status))
            continue;
        }
      else
        {
          if (data->only_failed)
            continue;

          sq_cell->result_id = sq_project_ensure_result (self->project, sq_cell->prompt_id,
                                                         sq_cell->image_id, sq_cell->model_id,
                                                         sq_cell->run, &error);
          if (sq_cell->result_id == 0)
            {
              g_task_return_error (task, error);
              return;
            }
        }

      cell = g_new0 (Cell, 1);
      cell->self = self;
      cell->result_id = sq_cell->result_id;
      cell->prompt_index = g_array_index (prompt_first, guint, find_index (prompt_ids, sq_cell->prompt_id));
      cell->image_index = g_array_index (image_first, guint, find_index (image_ids, sq_cell->image_id));
      cell->model_index = g_array_index (model_first, guint, find_index (model_ids, sq_cell->model_id));
      cell->run = sq_cell->run;
      cell->resume_id = g_strdup (resume_id);
      cell->text = g_string_new (NULL);
      g_ptr_array_add (cells, cell);
    }

  data->cells = g_steal_pointer (&cells);
  g_task_return_boolean (task, TRUE);
}

/* Models given by id */

typedef struct
{
  SqGridRun *self;   /* owned */
  guint      model_index;
} ResolveData;

static void
resolve_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autofree ResolveData *data = user_data;
  g_autoptr(SqGridRun) self = data->self;
  ModelEntry *entry = get_model (self, data->model_index);

  g_clear_error (&entry->error);
  entry->model = sq_model_catalog_resolve_finish (SQ_MODEL_CATALOG (object), result, &entry->error);

  self->pending_ops--;
  if (self->pending_ops == 0 && self->setting_up)
    {
      self->setting_up = FALSE;
      grid_schedule (self);
    }
  grid_check_complete (self);
}

static void
setup_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  SqGridRun *self = SQ_GRID_RUN (object);
  SetupData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  guint n_resumed = 0;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autoptr(GTask) task = g_steal_pointer (&self->task);

      self->setting_up = FALSE;
      set_state (self, SQ_GRID_RUN_STATE_FINISHED);
      if (self->external != NULL)
        g_cancellable_disconnect (self->external, self->external_id);
      self->external_id = 0;
      g_clear_object (&self->external);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_clear_pointer (&self->cells, g_ptr_array_unref);
  g_hash_table_remove_all (self->cells_by_id);
  g_queue_clear (&self->queue);
  self->cells = g_steal_pointer (&data->cells);

  /* Predictions in flight when an earlier process died go first. */
  for (guint i = 0; i < self->cells->len; i++)
    {
      Cell *cell = g_ptr_array_index (self->cells, i);

      g_hash_table_insert (self->cells_by_id, &cell->result_id, cell);
      if (cell->resume_id != NULL)
        {
          g_queue_push_tail (&self->queue, cell);
          n_resumed++;
        }
    }
  for (guint i = 0; i < self->cells->len; i++)
    {
      Cell *cell = g_ptr_array_index (self->cells, i);

      if (cell->resume_id == NULL)
        g_queue_push_tail (&self->queue, cell);
    }

  g_debug ("%u cells to run, %u of them resumed by prediction id", self->cells->len, n_resumed);

  g_object_freeze_notify (G_OBJECT (self));
  self->n_resumed = n_resumed;
  set_uint (self, &self->n_cells, self->cells->len, PROP_N_CELLS);
  set_uint (self, &self->n_queued, self->cells->len, PROP_N_QUEUED);
  update_eta (self);
  g_object_thaw_notify (G_OBJECT (self));

  /* Resolve the models given by project id, then start. */
  for (guint m = 0; m < self->models->len; m++)
    {
      ModelEntry *entry = get_model (self, m);
      ResolveData *resolve;

      if (entry->model != NULL)
        continue;

      if (self->catalog == NULL)
        {
          g_clear_error (&entry->error);
          entry->error = g_error_new (SQ_MODEL_ERROR, SQ_MODEL_ERROR_FAILED,
                                      _("Cannot look up the model “%s”"), entry->ref);
          continue;
        }

      resolve = g_new0 (ResolveData, 1);
      resolve->self = g_object_ref (self);
      resolve->model_index = m;
      self->pending_ops++;
      sq_model_catalog_resolve_async (self->catalog, entry->ref, self->cancellable, resolve_cb, resolve);
    }

  if (self->pending_ops == 0)
    {
      self->setting_up = FALSE;
      grid_schedule (self);
    }
  grid_check_complete (self);
}

typedef struct
{
  GWeakRef      self;
  GCancellable *run_cancellable;  /* owned: which run to cancel */
} CancelData;

static gboolean
external_cancelled_idle_cb (gpointer user_data)
{
  CancelData *data = user_data;
  g_autoptr(SqGridRun) self = g_weak_ref_get (&data->self);

  /* Only the run that was cancelled, not a later one. */
  if (self != NULL && self->cancellable == data->run_cancellable)
    sq_grid_run_cancel (self);

  return G_SOURCE_REMOVE;
}

static void
cancel_data_free (gpointer user_data)
{
  CancelData *data = user_data;

  g_weak_ref_clear (&data->self);
  g_clear_object (&data->run_cancellable);
  g_free (data);
}

static void
external_cancelled_cb (GCancellable *cancellable,
                       gpointer      user_data)
{
  SqGridRun *self = user_data;
  CancelData *data = g_new0 (CancelData, 1);
  GSource *source;

  /* Any thread may cancel; the state changes in the run's context, and
   * never from inside this handler (completing the run disconnects it). */
  g_cancellable_cancel (self->cancellable);
  g_weak_ref_init (&data->self, self);
  data->run_cancellable = g_object_ref (self->cancellable);
  source = g_idle_source_new ();
  g_source_set_callback (source, external_cancelled_idle_cb, data, cancel_data_free);
  g_source_set_static_name (source, "[sq-grid-run] cancel");
  g_source_attach (source, self->context);
  g_source_unref (source);
}

static void
grid_start (SqGridRun    *self,
            GTask        *task,
            gboolean      only_failed)
{
  g_autoptr(GTask) setup = NULL;
  SetupData *data;

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  g_clear_error (&self->write_error);

  self->task = task;
  self->setting_up = TRUE;
  self->only_failed = only_failed;
  self->total_duration_us = 0;
  self->n_timed = 0;

  g_object_freeze_notify (G_OBJECT (self));
  set_state (self, SQ_GRID_RUN_STATE_RUNNING);
  set_uint (self, &self->n_cells, 0, PROP_N_CELLS);
  set_uint (self, &self->n_queued, 0, PROP_N_QUEUED);
  set_uint (self, &self->n_running, 0, PROP_N_RUNNING);
  set_uint (self, &self->n_done, 0, PROP_N_DONE);
  set_uint (self, &self->n_failed, 0, PROP_N_FAILED);
  set_uint (self, &self->n_canceled, 0, PROP_N_CANCELED);
  self->n_resumed = 0;
  update_eta (self);
  g_object_thaw_notify (G_OBJECT (self));

  if (g_task_get_cancellable (task) != NULL)
    {
      self->external = g_object_ref (g_task_get_cancellable (task));
      self->external_id = g_cancellable_connect (self->external, G_CALLBACK (external_cancelled_cb),
                                                 self, NULL);
    }

  data = g_new0 (SetupData, 1);
  data->n_runs = self->n_runs;
  data->rerun = self->rerun;
  data->only_failed = only_failed;

  setup = g_task_new (self, NULL, setup_cb, NULL);
  g_task_set_source_tag (setup, grid_start);
  g_task_set_task_data (setup, data, (GDestroyNotify) setup_data_free);
  g_task_run_in_thread (setup, setup_thread);
}

/* GObject */

static void
sq_grid_run_dispose (GObject *object)
{
  SqGridRun *self = SQ_GRID_RUN (object);

  /* A run holds a reference on its object until it completes; here none is left. */
  g_clear_handle_id (&self->flush_source, g_source_remove);
  g_queue_clear (&self->queue);
  g_clear_pointer (&self->cells, g_ptr_array_unref);

  G_OBJECT_CLASS (sq_grid_run_parent_class)->dispose (object);
}

static void
sq_grid_run_finalize (GObject *object)
{
  SqGridRun *self = SQ_GRID_RUN (object);

  g_clear_object (&self->project);
  g_clear_object (&self->client);
  g_clear_object (&self->catalog);
  g_clear_pointer (&self->prompts, g_ptr_array_unref);
  g_clear_pointer (&self->images, g_ptr_array_unref);
  g_clear_pointer (&self->models, g_ptr_array_unref);
  g_clear_pointer (&self->cells_by_id, g_hash_table_unref);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_error (&self->write_error);

  G_OBJECT_CLASS (sq_grid_run_parent_class)->finalize (object);
}

static void
sq_grid_run_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  SqGridRun *self = SQ_GRID_RUN (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      g_value_set_object (value, self->project);
      break;

    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;

    case PROP_CATALOG:
      g_value_set_object (value, self->catalog);
      break;

    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;

    case PROP_N_CELLS:
      g_value_set_uint (value, self->n_cells);
      break;

    case PROP_N_QUEUED:
      g_value_set_uint (value, self->n_queued);
      break;

    case PROP_N_RUNNING:
      g_value_set_uint (value, self->n_running);
      break;

    case PROP_N_DONE:
      g_value_set_uint (value, self->n_done);
      break;

    case PROP_N_FAILED:
      g_value_set_uint (value, self->n_failed);
      break;

    case PROP_N_CANCELED:
      g_value_set_uint (value, self->n_canceled);
      break;

    case PROP_ETA_SECONDS:
      g_value_set_int (value, self->eta_seconds);
      break;

    case PROP_CONCURRENCY:
      g_value_set_uint (value, self->concurrency);
      break;

    case PROP_N_RUNS:
      g_value_set_uint (value, self->n_runs);
      break;

    case PROP_RERUN:
      g_value_set_boolean (value, self->rerun);
      break;

    case PROP_POLL_INTERVAL_MS:
      g_value_set_uint (value, self->poll_interval_ms);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_grid_run_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  SqGridRun *self = SQ_GRID_RUN (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      self->project = g_value_dup_object (value);
      break;

    case PROP_CLIENT:
      self->client = g_value_dup_object (value);
      break;

    case PROP_CATALOG:
      self->catalog = g_value_dup_object (value);
      break;

    case PROP_CONCURRENCY:
      sq_grid_run_set_concurrency (self, g_value_get_uint (value));
      break;

    case PROP_N_RUNS:
      sq_grid_run_set_n_runs (self, g_value_get_uint (value));
      break;

    case PROP_RERUN:
      sq_grid_run_set_rerun (self, g_value_get_boolean (value));
      break;

    case PROP_POLL_INTERVAL_MS:
      sq_grid_run_set_poll_interval_ms (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_grid_run_class_init (SqGridRunClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = sq_grid_run_dispose;
  object_class->finalize = sq_grid_run_finalize;
  object_class->get_property = sq_grid_run_get_property;
  object_class->set_property = sq_grid_run_set_property;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, SQ_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, SQ_TYPE_REPLICATE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CATALOG] =
    g_param_spec_object ("catalog", NULL, NULL, SQ_TYPE_MODEL_CATALOG,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, SQ_TYPE_GRID_RUN_STATE, SQ_GRID_RUN_STATE_IDLE, ro);
  properties[PROP_N_CELLS] = g_param_spec_uint ("n-cells", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_N_QUEUED] = g_param_spec_uint ("n-queued", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_N_RUNNING] = g_param_spec_uint ("n-running", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_N_DONE] = g_param_spec_uint ("n-done", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_N_FAILED] = g_param_spec_uint ("n-failed", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_N_CANCELED] = g_param_spec_uint ("n-canceled", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_ETA_SECONDS] = g_param_spec_int ("eta-seconds", NULL, NULL, -1, G_MAXINT, -1, ro);
  properties[PROP_CONCURRENCY] = g_param_spec_uint ("concurrency", NULL, NULL, 1, G_MAXUINT, 4, rw);
  properties[PROP_N_RUNS] = g_param_spec_uint ("n-runs", NULL, NULL, 1, G_MAXINT, 1, rw);
  properties[PROP_RERUN] = g_param_spec_boolean ("rerun", NULL, NULL, FALSE, rw);
  properties[PROP_POLL_INTERVAL_MS] = g_param_spec_uint ("poll-interval-ms", NULL, NULL, 1, G_MAXUINT, 500, rw);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CELL_STARTED] =
    g_signal_new ("cell-started", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
  signals[CELL_DELTA] =
    g_signal_new ("cell-delta", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_STRING);
  signals[CELL_RESET] =
    g_signal_new ("cell-reset", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_STRING);
  signals[CELL_FINISHED] =
    g_signal_new ("cell-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_STRING);
}

static void
sq_grid_run_init (SqGridRun *self)
{
  self->prompts = g_ptr_array_new_with_free_func ((GDestroyNotify) prompt_entry_free);
  self->images = g_ptr_array_new_with_free_func ((GDestroyNotify) image_entry_free);
  self->models = g_ptr_array_new_with_free_func ((GDestroyNotify) model_entry_free);
  self->cells_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_queue_init (&self->queue);
  self->n_runs = 1;
  self->concurrency = MAX (sq_config_get_concurrency (), 1);
  self->poll_interval_ms = 500;
  self->eta_seconds = -1;
  self->state = SQ_GRID_RUN_STATE_IDLE;
}

/* Public API */

SqGridRun *
sq_grid_run_new (SqProject         *project,
                 SqReplicateClient *client,
                 SqModelCatalog    *catalog)
{
  g_return_val_if_fail (SQ_IS_PROJECT (project), NULL);
  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (client), NULL);
  g_return_val_if_fail (catalog == NULL || SQ_IS_MODEL_CATALOG (catalog), NULL);

  return g_object_new (SQ_TYPE_GRID_RUN,
                       "project", project,
                       "client", client,
                       "catalog", catalog,
                       NULL);
}

SqProject *
sq_grid_run_get_project (SqGridRun *self)
{
  g_return_val_if_fail (SQ_IS_GRID_RUN (self), NULL);

  return self->project;
}

static gboolean
is_busy (SqGridRun *self)
{
  return self->task != NULL;
}

void
sq_grid_run_add_prompt (SqGridRun  *self,
                        const char *text)
{
  PromptEntry *entry;

  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (text != NULL);
  g_return_if_fail (!is_busy (self));

  for (guint i = 0; i < self->prompts->len; i++)
    {
      if (g_strcmp0 (get_prompt (self, i)->text, text) == 0)
        return;
    }

  entry = g_new0 (PromptEntry, 1);
  entry->text = g_strdup (text);
  g_ptr_array_add (self->prompts, entry);
}

void
sq_grid_run_add_prompt_id (SqGridRun *self,
                           gint64     prompt_id)
{
  PromptEntry *entry;

  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (prompt_id > 0);
  g_return_if_fail (!is_busy (self));

  for (guint i = 0; i < self->prompts->len; i++)
    {
      if (get_prompt (self, i)->id == prompt_id)
        return;
    }

  entry = g_new0 (PromptEntry, 1);
  entry->id = prompt_id;
  g_ptr_array_add (self->prompts, entry);
}

static ImageEntry *
image_entry_new (void)
{
  ImageEntry *entry = g_new0 (ImageEntry, 1);

  entry->waiters = g_ptr_array_new ();
  return entry;
}

void
sq_grid_run_add_image (SqGridRun *self,
                       SqImage   *image)
{
  ImageEntry *entry;

  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (SQ_IS_IMAGE (image));
  g_return_if_fail (!is_busy (self));

  for (guint i = 0; i < self->images->len; i++)
    {
      ImageEntry *other = get_image (self, i);

      if (other->image != NULL &&
          g_strcmp0 (sq_image_get_hash (other->image), sq_image_get_hash (image)) == 0)
        return;
    }

  entry = image_entry_new ();
  entry->image = g_object_ref (image);
  entry->name = g_strdup (sq_image_get_name (image));
  g_ptr_array_add (self->images, entry);
}

void
sq_grid_run_add_image_id (SqGridRun *self,
                          gint64     image_id)
{
  ImageEntry *entry;

  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (image_id > 0);
  g_return_if_fail (!is_busy (self));

  for (guint i = 0; i < self->images->len; i++)
    {
      if (get_image (self, i)->id == image_id)
        return;
    }

  entry = image_entry_new ();
  entry->id = image_id;
  g_ptr_array_add (self->images, entry);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The parameters as they will be sent, keys sorted, so the same settings
 * always give the same model row. */
static char *
params_to_json (SqModel    *model,
                JsonObject *input)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GList) members = json_object_get_members (input);

  for (GList *l = members; l != NULL; l = l->next)
    {
      if (g_strcmp0 (l->data, sq_model_get_prompt_key (model)) != 0 &&
          g_strcmp0 (l->data, sq_model_get_image_key (model)) != 0)
        g_ptr_array_add (keys, l->data);
    }
  g_ptr_array_sort (keys, compare_strings);

  json_builder_begin_object (builder);
  for (guint i = 0; i < keys->len; i++)
    {
      json_builder_set_member_name (builder, g_ptr_array_index (keys, i));
      json_builder_add_value (builder, json_node_copy (json_object_get_member (input, g_ptr_array_index (keys, i))));
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

gboolean
sq_grid_run_add_model (SqGridRun   *self,
                       SqModel     *model,
                       GHashTable  *settings,
                       GError     **error)
{
  g_autoptr(JsonObject) input = NULL;
  g_autofree char *params_json = NULL;
  g_autoptr(JsonNode) params = NULL;
  ModelEntry *entry;

  g_return_val_if_fail (SQ_IS_GRID_RUN (self), FALSE);
  g_return_val_if_fail (SQ_IS_MODEL (model), FALSE);
  g_return_val_if_fail (!is_busy (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  input = sq_model_build_input (model, "", NULL, settings, error);
  if (input == NULL)
    return FALSE;
  params_json = params_to_json (model, input);

  for (guint i = 0; i < self->models->len; i++)
    {
      ModelEntry *other = get_model (self, i);

      if (g_strcmp0 (other->ref, sq_model_get_ref (model)) == 0 &&
          g_strcmp0 (other->params_json, params_json) == 0)
        return TRUE;
    }

  params = sq_json_from_string (params_json, NULL);

  entry = g_new0 (ModelEntry, 1);
  entry->model = g_object_ref (model);
  entry->display_name = g_strdup (sq_model_get_display_name (model));
  entry->ref = g_strdup (sq_model_get_ref (model));
  entry->params_json = g_steal_pointer (&params_json);
  entry->params = json_object_ref (json_node_get_object (params));
  g_ptr_array_add (self->models, entry);

  return TRUE;
}

void
sq_grid_run_add_model_id (SqGridRun *self,
                          gint64     model_id)
{
  ModelEntry *entry;

  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (model_id > 0);
  g_return_if_fail (!is_busy (self));

  for (guint i = 0; i < self->models->len; i++)
    {
      if (get_model (self, i)->id == model_id)
        return;
    }

  entry = g_new0 (ModelEntry, 1);
  entry->id = model_id;
  g_ptr_array_add (self->models, entry);
}

void
sq_grid_run_clear (SqGridRun *self)
{
  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (!is_busy (self));

  g_queue_clear (&self->queue);
  g_hash_table_remove_all (self->cells_by_id);
  g_clear_pointer (&self->cells, g_ptr_array_unref);
  g_ptr_array_set_size (self->prompts, 0);
  g_ptr_array_set_size (self->images, 0);
  g_ptr_array_set_size (self->models, 0);
}

void
sq_grid_run_set_n_runs (SqGridRun *self,
                        guint      n_runs)
{
  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (n_runs >= 1);

  set_uint (self, &self->n_runs, n_runs, PROP_N_RUNS);
}

guint
sq_grid_run_get_n_runs (SqGridRun *self)
{
  g_return_val_if_fail (SQ_IS_GRID_RUN (self), 0);

  return self->n_runs;
}

void
sq_grid_run_set_rerun (SqGridRun *self,
                       gboolean   rerun)
{
  g_return_if_fail (SQ_IS_GRID_RUN (self));

  rerun = !!rerun;
  if (self->rerun == rerun)
    return;

  self->rerun = rerun;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RERUN]);
}

gboolean
sq_grid_run_get_rerun (SqGridRun *self)
{
  g_return_val_if_fail (SQ_IS_GRID_RUN (self), FALSE);

  return self->rerun;
}

void
sq_grid_run_set_concurrency (SqGridRun *self,
                             guint      concurrency)
{
  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (concurrency >= 1);

  if (self->concurrency == concurrency)
    return;

  g_object_freeze_notify (G_OBJECT (self));
  set_uint (self, &self->concurrency, concurrency, PROP_CONCURRENCY);
  update_eta (self);
  g_object_thaw_notify (G_OBJECT (self));

  grid_schedule (self);
}

guint
sq_grid_run_get_concurrency (SqGridRun *self)
{
  g_return_val_if_fail (SQ_IS_GRID_RUN (self), 0);

  return self->concurrency;
}

void
sq_grid_run_set_poll_interval_ms (SqGridRun *self,
                                  guint      interval_ms)
{
  g_return_if_fail (SQ_IS_GRID_RUN (self));

  set_uint (self, &self->poll_interval_ms, MAX (interval_ms, 1), PROP_POLL_INTERVAL_MS);
}

void
sq_grid_run_run_async (SqGridRun           *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_grid_run_run_async);

  if (is_busy (self))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The grid is already running"));
      return;
    }

  grid_start (self, g_steal_pointer (&task), FALSE);
}

gboolean
sq_grid_run_run_finish (SqGridRun     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (SQ_IS_GRID_RUN (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
sq_grid_run_retry_failed_async (SqGridRun           *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SQ_IS_GRID_RUN (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_grid_run_retry_failed_async);

  if (!is_busy (self))
    {
      grid_start (self, g_steal_pointer (&task), TRUE);
      return;
    }

  if (self->setting_up || self->state == SQ_GRID_RUN_STATE_CANCELLING)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The grid is busy; try again in a moment"));
      return;
    }

  /* Queue this run's failed cells again. */
  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = 0; i < self->cells->len; i++)
    {
      Cell *cell = g_ptr_array_index (self->cells, i);

      if (cell->state != CELL_DONE || g_str_equal (cell->outcome, "succeeded"))
        continue;

      if (g_str_equal (cell->outcome, "canceled"))
        set_uint (self, &self->n_canceled, self->n_canceled - 1, PROP_N_CANCELED);
      else
        set_uint (self, &self->n_failed, self->n_failed - 1, PROP_N_FAILED);

      cell->state = CELL_QUEUED;
      cell->outcome = NULL;
      g_clear_pointer (&cell->resume_id, g_free);
      g_queue_push_tail (&self->queue, cell);
      set_uint (self, &self->n_queued, self->n_queued + 1, PROP_N_QUEUED);
    }
  update_eta (self);
  g_object_thaw_notify (G_OBJECT (self));

  grid_schedule (self);
  g_task_return_boolean (task, TRUE);
}

gboolean
sq_grid_run_retry_failed_finish (SqGridRun     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (SQ_IS_GRID_RUN (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
sq_grid_run_pause (SqGridRun *self)
{
  g_return_if_fail (SQ_IS_GRID_RUN (self));

  if (self->state == SQ_GRID_RUN_STATE_RUNNING)
    set_state (self, SQ_GRID_RUN_STATE_PAUSED);
}

void
sq_grid_run_resume (SqGridRun *self)
{
  g_return_if_fail (SQ_IS_GRID_RUN (self));

  if (self->state != SQ_GRID_RUN_STATE_PAUSED)
    return;

  set_state (self, SQ_GRID_RUN_STATE_RUNNING);
  grid_schedule (self);
  grid_check_complete (self);
}

void
sq_grid_run_cancel (SqGridRun *self)
{
  g_return_if_fail (SQ_IS_GRID_RUN (self));

  if (self->task == NULL || self->state == SQ_GRID_RUN_STATE_CANCELLING)
    return;

  g_debug ("Canceling: %u running, %u queued", self->n_running, self->n_queued);
  set_state (self, SQ_GRID_RUN_STATE_CANCELLING);
  g_cancellable_cancel (self->cancellable);
  grid_check_complete (self);
}

SqGridRunState
sq_grid_run_get_state (SqGridRun *self)
{
  g_return_val_if_fail (SQ_IS_GRID_RUN (self), SQ_GRID_RUN_STATE_IDLE);

  return self->state;
}

#define COUNT_GETTER(field) \
  guint \
  sq_grid_run_get_##field (SqGridRun *self) \
  { \
    g_return_val_if_fail (SQ_IS_GRID_RUN (self), 0); \
    return self->field; \
  }

COUNT_GETTER (n_cells)
COUNT_GETTER (n_queued)
COUNT_GETTER (n_running)
COUNT_GETTER (n_done)
COUNT_GETTER (n_failed)
COUNT_GETTER (n_canceled)
COUNT_GETTER (n_resumed)

#undef COUNT_GETTER

int
sq_grid_run_get_eta_seconds (SqGridRun *self)
{
  g_return_val_if_fail (SQ_IS_GRID_RUN (self), -1);

  return self->eta_seconds;
}

const char *
sq_grid_run_get_cell_error (SqGridRun *self,
                            gint64     result_id)
{
  Cell *cell;

  g_return_val_if_fail (SQ_IS_GRID_RUN (self), NULL);

  cell = g_hash_table_lookup (self->cells_by_id, &result_id);
  return cell != NULL ? cell->error : NULL;
}

gboolean
sq_grid_run_cell_error_matches (SqGridRun *self,
                                gint64     result_id,
                                GQuark     domain,
                                int        code)
{
  Cell *cell;

  g_return_val_if_fail (SQ_IS_GRID_RUN (self), FALSE);

  cell = g_hash_table_lookup (self->cells_by_id, &result_id);
  return cell != NULL && g_error_matches (cell->gerror, domain, code);
}

const char *
sq_grid_run_get_cell_text (SqGridRun *self,
                           gint64     result_id)
{
  Cell *cell;

  g_return_val_if_fail (SQ_IS_GRID_RUN (self), "");

  cell = g_hash_table_lookup (self->cells_by_id, &result_id);
  return cell != NULL ? cell->text->str : "";
}
