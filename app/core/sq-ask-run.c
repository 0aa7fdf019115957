/* sq-ask-run.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-ask-run"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "sq-ask-run.h"

/* How often streamed text is written to the project. */
#define FLUSH_INTERVAL_MS 250

struct _SqAskRun
{
  GObject             parent_instance;

  SqProject          *project;       /* (owned) (nullable) */
  SqReplicateClient  *client;        /* (owned) */
  SqModel            *model;         /* (owned) */
  GHashTable         *settings;      /* (owned) (element-type utf8 utf8) */
  SqImage            *image;         /* (owned) */
  char               *prompt;        /* (owned) */

  SqPrediction       *prediction;    /* (owned) (nullable) */
  GCancellable       *cancellable;   /* (owned) */
  GTask              *task;          /* (owned) (nullable): the running run_async */
  gulong              cancelled_id;
  GCancellable       *outer;         /* (owned) (nullable) */

  GString            *text;
  char               *error_message;
  char               *image_input;
  GError             *step_error;    /* (owned) (nullable) */
  SqPredictionStatus  status;
  gint64              ttft_ms;
  gint64              total_ms;
  gint64              result_id;
  gint64              start_time;
  guint               pending;       /* steps before the prediction can start */
  guint               flush_id;
  gboolean            dirty;
  gboolean            started;
};

G_DEFINE_FINAL_TYPE (SqAskRun, sq_ask_run, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATUS,
  PROP_TEXT,
  PROP_ERROR_MESSAGE,
  PROP_TTFT_MS,
  PROP_TOTAL_MS,
  PROP_RESULT_ID,
  N_PROPS
};

enum {
  DELTA,
  TEXT_RESET,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
sq_ask_run_set_status (SqAskRun           *self,
                       SqPredictionStatus  status)
{
  if (self->status == status)
    return;

  self->status = status;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

static void
sq_ask_run_set_error_message (SqAskRun   *self,
                              const char *message)
{
  if (g_strcmp0 (self->error_message, message) == 0)
    return;

  g_free (self->error_message);
  self->error_message = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
}

static char *
settings_to_json (GHashTable *settings)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree gpointer *keys = NULL;
  guint n_keys = 0;

  if (settings != NULL)
    keys = g_hash_table_get_keys_as_array (settings, &n_keys);
  if (keys != NULL)
    g_qsort_with_data (keys, n_keys, sizeof (gpointer),
                       (GCompareDataFunc) (void (*) (void)) g_strcmp0, NULL);

  json_builder_begin_object (builder);
  for (guint i = 0; i < n_keys; i++)
    {
      json_builder_set_member_name (builder, keys[i]);
      json_builder_add_string_value (builder, g_hash_table_lookup (settings, keys[i]));
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);

  return json_generator_to_data (generator, NULL);
}

static void
log_write_error (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  gboolean (*finish) (SqProject *, GAsyncResult *, GError **) = user_data;

  if (!finish (SQ_PROJECT (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Could not save an answer to the project: %s", error->message);
}

static void
sq_ask_run_flush (SqAskRun *self)
{
  const char *texts[1];

  if (!self->dirty || self->project == NULL || self->result_id == 0)
    return;

  self->dirty = FALSE;
  texts[0] = self->text->str;
  sq_project_update_responses_async (self->project, &self->result_id, texts, 1, NULL,
                                     log_write_error, sq_project_update_responses_finish);
}

static gboolean
flush_cb (gpointer user_data)
{
  SqAskRun *self = user_data;

  sq_ask_run_flush (self);

  return G_SOURCE_CONTINUE;
}

/* --- the prediction ------------------------------------------------ */

static void
prediction_delta_cb (SqAskRun     *self,
                     const char   *text,
                     SqPrediction *prediction)
{
  g_string_append (self->text, text);
  self->dirty = TRUE;
  g_signal_emit (self, signals[DELTA], 0, text);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXT]);
}

static void
prediction_text_reset_cb (SqAskRun     *self,
                          const char   *text,
                          SqPrediction *prediction)
{
  g_string_assign (self->text, text);
  self->dirty = TRUE;
  g_signal_emit (self, signals[TEXT_RESET], 0, text);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXT]);
}

static void
prediction_notify_cb (SqAskRun     *self,
                      GParamSpec   *pspec,
                      SqPrediction *prediction)
{
  const char *name = g_param_spec_get_name (pspec);

  if (g_str_equal (name, "status"))
    {
      SqPredictionStatus status = sq_prediction_get_status (prediction);

      /* The terminal state is set once the row is written. */
      if (!sq_prediction_status_is_terminal (status))
        sq_ask_run_set_status (self, status);
    }
  else if (g_str_equal (name, "id"))
    {
      if (self->project != NULL && self->result_id != 0 && sq_prediction_get_id (prediction) != NULL)
        sq_project_set_result_started_async (self->project, self->result_id,
                                             sq_prediction_get_id (prediction), 0, NULL,
                                             log_write_error, sq_project_set_result_started_finish);
    }
  else if (g_str_equal (name, "ttft-ms"))
    {
      self->ttft_ms = sq_prediction_get_ttft_ms (prediction);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TTFT_MS]);
    }
}

static void
sq_ask_run_complete (SqAskRun *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  g_clear_handle_id (&self->flush_id, g_source_remove);
  if (self->outer != NULL)
    {
      g_cancellable_disconnect (self->outer, self->cancelled_id);
      self->cancelled_id = 0;
      g_clear_object (&self->outer);
    }

  if (self->status == SQ_PREDICTION_SUCCEEDED)
    g_task_return_boolean (task, TRUE);
  else if (self->status == SQ_PREDICTION_CANCELED)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s",
                             _("The answer was stopped"));
  else
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                             self->error_message != NULL ? self->error_message : _("The answer failed"));
}

static void
finish_written_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(SqAskRun) self = user_data;
  g_autoptr(GError) error = NULL;
  SqPredictionStatus status = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (self), "sq-final-status"));

  if (!sq_project_finish_result_finish (SQ_PROJECT (object), result, &error))
    g_warning ("Could not save an answer to the project: %s", error->message);

  sq_ask_run_set_status (self, status);
  sq_ask_run_complete (self);
}

/* Ends the run with @status: writes the final row, then completes. */
static void
sq_ask_run_end (SqAskRun           *self,
                SqPredictionStatus  status,
                const char         *error_message)
{
  double predict_time = -1;

  g_clear_handle_id (&self->flush_id, g_source_remove);

  if (status == SQ_PREDICTION_FAILED || status == SQ_PREDICTION_ABORTED)
    sq_ask_run_set_error_message (self, error_message);

  self->total_ms = (g_get_monotonic_time () - self->start_time) / 1000;
  if (self->prediction != NULL)
    {
      if (sq_prediction_get_total_ms (self->prediction) >= 0)
        self->total_ms = sq_prediction_get_total_ms (self->prediction);
      self->ttft_ms = sq_prediction_get_ttft_ms (self->prediction);
      predict_time = sq_prediction_get_predict_time (self->prediction);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOTAL_MS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TTFT_MS]);

  if (self->project == NULL || self->result_id == 0)
    {
      sq_ask_run_set_status (self, status);
      sq_ask_run_complete (self);
      return;
    }

  g_object_set_data (G_OBJECT (self), "sq-final-status", GINT_TO_POINTER (status));
  sq_project_finish_result_async (self->project, self->result_id,
                                  sq_prediction_status_to_string (status),
                                  self->text->str, self->error_message,
                                  self->ttft_ms, self->total_ms, predict_time,
                                  NULL, finish_written_cb, g_object_ref (self));
}

static void
prediction_run_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(SqAskRun) self = user_data;
  g_autoptr(GError) error = NULL;
  SqPrediction *prediction = SQ_PREDICTION (object);

  if (sq_prediction_run_finish (prediction, result, &error))
    {
      sq_ask_run_end (self, SQ_PREDICTION_SUCCEEDED, NULL);
      return;
    }

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    sq_ask_run_end (self, SQ_PREDICTION_CANCELED, NULL);
  else if (sq_prediction_get_status (prediction) == SQ_PREDICTION_ABORTED)
    sq_ask_run_end (self, SQ_PREDICTION_ABORTED, error->message);
  else
    sq_ask_run_end (self, SQ_PREDICTION_FAILED, error->message);
}

static void
sq_ask_run_start_prediction (SqAskRun *self)
{
  g_autoptr(JsonObject) input = NULL;
  g_autoptr(GError) error = NULL;

  if (self->step_error != NULL)
    {
      if (g_error_matches (self->step_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        sq_ask_run_end (self, SQ_PREDICTION_CANCELED, NULL);
      else
        sq_ask_run_end (self, SQ_PREDICTION_FAILED, self->step_error->message);
      return;
    }

  if (g_cancellable_is_cancelled (self->cancellable))
    {
      sq_ask_run_end (self, SQ_PREDICTION_CANCELED, NULL);
      return;
    }

  input = sq_model_build_input (self->model, self->prompt, self->image_input,
                                self->settings, &error);
  if (input == NULL)
    {
      sq_ask_run_end (self, SQ_PREDICTION_FAILED, error->message);
      return;
    }

  self->prediction = sq_prediction_new (self->client, sq_model_get_ref (self->model), input);
  g_signal_connect_object (self->prediction, "delta",
                           G_CALLBACK (prediction_delta_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->prediction, "text-reset",
                           G_CALLBACK (prediction_text_reset_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->prediction, "notify",
                           G_CALLBACK (prediction_notify_cb), self, G_CONNECT_SWAPPED);

  self->flush_id = g_timeout_add (FLUSH_INTERVAL_MS, flush_cb, self);
  sq_prediction_run_async (self->prediction, self->cancellable,
                           prediction_run_cb, g_object_ref (self));
}

static void
sq_ask_run_step_done (SqAskRun *self,
                      GError   *error)
{
  if (error != NULL && self->step_error == NULL)
    self->step_error = g_steal_pointer (&error);
  g_clear_error (&error);

  g_assert (self->pending > 0);
  if (--self->pending == 0)
    sq_ask_run_start_prediction (self);
}

static void
prepare_input_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(SqAskRun) self = user_data;
  GError *error = NULL;

  self->image_input = sq_image_prepare_input_finish (SQ_IMAGE (object), result, &error);
  sq_ask_run_step_done (self, error);
}

/* --- storing the inputs (worker thread) ---------------------------- */

typedef struct
{
  SqProject *project;
  GBytes    *bytes;
  char      *sha256;
  char      *image_name;
  char      *mime_type;
  int        width;
  int        height;
  GdkPixbuf *thumbnail;
  char      *prompt;
  char      *display_name;
  char      *ref;
  char      *params_json;
} StoreData;

static void
store_data_free (StoreData *data)
{
  g_clear_object (&data->project);
  g_clear_pointer (&data->bytes, g_bytes_unref);
  g_free (data->sha256);
  g_free (data->image_name);
  g_free (data->mime_type);
  g_clear_object (&data->thumbnail);
  g_free (data->prompt);
  g_free (data->display_name);
  g_free (data->ref);
  g_free (data->params_json);
  g_free (data);
}

static void
store_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  StoreData *data = task_data;
  g_autoptr(GBytes) thumbnail_png = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  gint64 image_id;
  gint64 prompt_id;
  gint64 model_id;
  gint64 result_id;
  int run = 0;

  if (data->thumbnail != NULL)
    {
      g_autofree char *buffer = NULL;
      gsize size = 0;

      if (gdk_pixbuf_save_to_buffer (data->thumbnail, &buffer, &size, "png", NULL, NULL))
        thumbnail_png = g_bytes_new_take (g_steal_pointer (&buffer), size);
    }

  image_id = sq_project_add_image (data->project, data->bytes, data->sha256, data->image_name,
                                   data->mime_type, data->width, data->height, thumbnail_png,
                                   &error);
  if (image_id == 0)
    goto failed;

  prompt_id = sq_project_add_prompt (data->project, data->prompt, &error);
  if (prompt_id == 0)
    goto failed;

  model_id = sq_project_add_model (data->project, data->display_name, data->ref,
                                   data->params_json, &error);
  if (model_id == 0)
    goto failed;

  /* Every question asked is a new run of its cell. */
  results = sq_project_list_results (data->project, &error);
  if (results == NULL)
    goto failed;
  for (guint i = 0; i < results->len; i++)
    {
      SqResult *result = g_ptr_array_index (results, i);

      if (sq_result_get_prompt_id (result) == prompt_id &&
          sq_result_get_image_id (result) == image_id &&
          sq_result_get_model_id (result) == model_id)
        run = MAX (run, sq_result_get_run (result) + 1);
    }

  result_id = sq_project_ensure_result (data->project, prompt_id, image_id, model_id, run, &error);
  if (result_id == 0)
    goto failed;

  g_task_return_int (task, result_id);
  return;

failed:
  g_task_return_error (task, g_steal_pointer (&error));
}

static void
store_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  SqAskRun *self = SQ_ASK_RUN (object);
  GError *error = NULL;
  gint64 result_id;

  result_id = g_task_propagate_int (G_TASK (result), &error);
  if (error == NULL)
    {
      self->result_id = result_id;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESULT_ID]);
    }
  else
    {
      /* The answer is still worth having; say why it is not kept. */
      g_warning ("Could not save the question to the project: %s", error->message);
      g_clear_error (&error);
    }

  sq_ask_run_step_done (self, NULL);
  g_object_unref (self);
}

static void
outer_cancelled_cb (GCancellable *outer,
                    GCancellable *inner)
{
  g_cancellable_cancel (inner);
}

void
sq_ask_run_run_async (SqAskRun            *self,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SQ_IS_ASK_RUN (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_ask_run_run_async);
  g_task_set_check_cancellable (task, FALSE);

  if (self->started)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING, "%s",
                               _("This answer was already asked for"));
      return;
    }

  self->started = TRUE;
  self->task = g_steal_pointer (&task);
  self->start_time = g_get_monotonic_time ();

  if (cancellable != NULL)
    {
      self->outer = g_object_ref (cancellable);
      self->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (outer_cancelled_cb),
                                                  g_object_ref (self->cancellable),
                                                  g_object_unref);
    }

  self->pending = 1;
  if (self->project != NULL)
    {
      g_autoptr(GTask) store = g_task_new (self, NULL, store_cb, g_object_ref (self));
      StoreData *data = g_new0 (StoreData, 1);
      GdkPixbuf *thumbnail = sq_image_get_thumbnail (self->image);

      data->project = g_object_ref (self->project);
      data->bytes = g_bytes_ref (sq_image_get_bytes (self->image));
      data->sha256 = g_strdup (sq_image_get_hash (self->image));
      data->image_name = g_strdup (sq_image_get_name (self->image));
      data->mime_type = g_strdup (sq_image_get_mime_type (self->image));
      data->width = sq_image_get_width (self->image);
      data->height = sq_image_get_height (self->image);
      data->thumbnail = thumbnail != NULL ? g_object_ref (thumbnail) : NULL;
      data->prompt = g_strdup (self->prompt);
      data->display_name = g_strdup (sq_model_get_display_name (self->model));
      data->ref = g_strdup (sq_model_get_ref (self->model));
      data->params_json = settings_to_json (self->settings);

      self->pending++;
      g_task_set_source_tag (store, sq_ask_run_run_async);
      g_task_set_task_data (store, data, (GDestroyNotify) store_data_free);
      g_task_run_in_thread (store, store_thread);
    }

  sq_image_prepare_input_async (self->image, self->client, self->cancellable,
                                prepare_input_cb, g_object_ref (self));
}

gboolean
sq_ask_run_run_finish (SqAskRun      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
sq_ask_run_stop (SqAskRun *self)
{
  g_return_if_fail (SQ_IS_ASK_RUN (self));

  g_cancellable_cancel (self->cancellable);
}

/* --- GObject ------------------------------------------------------- */

static void
sq_ask_run_dispose (GObject *object)
{
  SqAskRun *self = SQ_ASK_RUN (object);

  g_clear_handle_id (&self->flush_id, g_source_remove);

  G_OBJECT_CLASS (sq_ask_run_parent_class)->dispose (object);
}

static void
sq_ask_run_finalize (GObject *object)
{
  SqAskRun *self = SQ_ASK_RUN (object);

  g_clear_object (&self->project);
  g_clear_object (&self->client);
  g_clear_object (&self->model);
  g_clear_pointer (&self->settings, g_hash_table_unref);
  g_clear_object (&self->image);
  g_clear_pointer (&self->prompt, g_free);
  g_clear_object (&self->prediction);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->outer);
  g_string_free (self->text, TRUE);
  g_clear_pointer (&self->error_message, g_free);
  g_clear_pointer (&self->image_input, g_free);
  g_clear_error (&self->step_error);

  G_OBJECT_CLASS (sq_ask_run_parent_class)->finalize (object);
}

static void
sq_ask_run_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  SqAskRun *self = SQ_ASK_RUN (object);

  switch (prop_id)
    {
    case PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;

    case PROP_TEXT:
      g_value_set_string (value, self->text->str);
      break;

    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->error_message);
      break;

    case PROP_TTFT_MS:
      g_value_set_int64 (value, self->ttft_ms);
      break;

    case PROP_TOTAL_MS:
      g_value_set_int64 (value, self->total_ms);
      break;

    case PROP_RESULT_ID:
      g_value_set_int64 (value, self->result_id);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_ask_run_class_init (SqAskRunClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sq_ask_run_dispose;
  object_class->finalize = sq_ask_run_finalize;
  object_class->get_property = sq_ask_run_get_property;

  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL,
                       SQ_TYPE_PREDICTION_STATUS, SQ_PREDICTION_QUEUED,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_TEXT] =
    g_param_spec_string ("text", NULL, NULL, "",
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_ERROR_MESSAGE] =
    g_param_spec_string ("error-message", NULL, NULL, NULL,
                         (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_TTFT_MS] =
    g_param_spec_int64 ("ttft-ms", NULL, NULL, -1, G_MAXINT64, -1,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_TOTAL_MS] =
    g_param_spec_int64 ("total-ms", NULL, NULL, -1, G_MAXINT64, -1,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_RESULT_ID] =
    g_param_spec_int64 ("result-id", NULL, NULL, 0, G_MAXINT64, 0,
                        (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[DELTA] =
    g_signal_new ("delta",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[TEXT_RESET] =
    g_signal_new ("text-reset",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
sq_ask_run_init (SqAskRun *self)
{
  self->text = g_string_new ("");
  self->cancellable = g_cancellable_new ();
  self->status = SQ_PREDICTION_QUEUED;
  self->ttft_ms = -1;
  self->total_ms = -1;
}

SqAskRun *
sq_ask_run_new (SqProject         *project,
                SqReplicateClient *client,
                SqModel           *model,
                GHashTable        *settings,
                SqImage           *image,
                const char        *prompt)
{
  SqAskRun *self;

  g_return_val_if_fail (!project || SQ_IS_PROJECT (project), NULL);
  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (client), NULL);
  g_return_val_if_fail (SQ_IS_MODEL (model), NULL);
  g_return_val_if_fail (SQ_IS_IMAGE (image), NULL);
  g_return_val_if_fail (prompt != NULL, NULL);

  self = g_object_new (SQ_TYPE_ASK_RUN, NULL);
  self->project = project != NULL ? g_object_ref (project) : NULL;
  self->client = g_object_ref (client);
  self->model = g_object_ref (model);
  self->settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (settings != NULL)
    {
      GHashTableIter iter;
      gpointer key;
      gpointer value;

      g_hash_table_iter_init (&iter, settings);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (self->settings, g_strdup (key), g_strdup (value));
    }
  self->image = g_object_ref (image);
  self->prompt = g_strdup (prompt);

  return self;
}

SqAskRun *
sq_ask_run_new_again (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), NULL);

  return sq_ask_run_new (self->project, self->client, self->model, self->settings,
                         self->image, self->prompt);
}

SqProject *
sq_ask_run_get_project (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), NULL);
  return self->project;
}

SqModel *
sq_ask_run_get_model (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), NULL);
  return self->model;
}

SqImage *
sq_ask_run_get_image (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), NULL);
  return self->image;
}

const char *
sq_ask_run_get_prompt (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), NULL);
  return self->prompt;
}

SqPredictionStatus
sq_ask_run_get_status (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), SQ_PREDICTION_QUEUED);
  return self->status;
}

const char *
sq_ask_run_get_text (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), "");
  return self->text->str;
}

const char *
sq_ask_run_get_error_message (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), NULL);
  return self->error_message;
}

gint64
sq_ask_run_get_ttft_ms (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), -1);
  return self->ttft_ms;
}

gint64
sq_ask_run_get_total_ms (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), -1);
  return self->total_ms;
}

gint64
sq_ask_run_get_result_id (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), 0);
  return self->result_id;
}

gint64
sq_ask_run_get_start_time (SqAskRun *self)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (self), 0);
  return self->start_time;
}
