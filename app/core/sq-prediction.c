/* sq-prediction.c
 *
 * One prediction from creation to a terminal state.
 *
 * The run goes: create (unless resumed by id) -> stream urls.stream
 * through SqSseParser -> GET urls.get until terminal. The GET after the
 * stream confirms the status, reads the metrics and repairs the text;
 * when there is no stream, it fails to open or it drops without "done",
 * the same polling loop takes over. Text is reconciled against the
 * authoritative output (see reconcile_text()), so nothing is lost or
 * repeated.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-prediction"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "sq-error.h"
#include "sq-json.h"
#include "sq-prediction.h"
#include "sq-replicate-client.h"
#include "sq-replicate-client-private.h"
#include "sq-sse-parser.h"

#define DEFAULT_POLL_INTERVAL_MS 500
/* Replicate's stream server sends a comment at least every 30 s (its
 * own timeout); a stream silent for twice that is given up for polling. */
#define DEFAULT_STREAM_TIMEOUT_MS 60000
/* How long polling a created prediction rides out a server that keeps
 * failing (429, 5xx, unreachable) before giving up: the prediction runs
 * (and is paid for) on Replicate all the same, so its answer is worth
 * waiting for. */
#define DEFAULT_POLL_PATIENCE_MS (10 * 60 * 1000)
#define STREAM_READ_SIZE         8192
#define CANCEL_TIMEOUT_S         15

struct _SqPrediction
{
  GObject             parent_instance;

  SqReplicateClient  *client;        /* owned */
  char               *model_ref;     /* owned, NULL when made for an id */
  JsonObject         *input;         /* owned, may be NULL */

  SqPredictionStatus  status;
  GString            *text;          /* owned */
  char               *error_message; /* owned */
  char               *id;            /* owned */
  char               *get_url;       /* owned */
  char               *cancel_url;    /* owned */
  char               *stream_url;    /* owned */
  char               *model_error;   /* owned: "error" from the JSON */

  gint64              ttft_ms;
  gint64              total_ms;
  double              predict_time;
  GDateTime          *created_at;    /* owned */
  GDateTime          *started_at;    /* owned */
  GDateTime          *completed_at;  /* owned */

  guint               poll_interval_ms;
  guint               stream_timeout_ms;
  guint               poll_patience_ms;
  gint64              run_start_us;
  guint               has_run : 1;
};

G_DEFINE_FINAL_TYPE (SqPrediction, sq_prediction, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATUS,
  PROP_TEXT,
  PROP_ERROR_MESSAGE,
  PROP_ID,
  PROP_TTFT_MS,
  PROP_TOTAL_MS,
  PROP_PREDICT_TIME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  DELTA,
  TEXT_RESET,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The string value of @member, or NULL when it is absent or not a string. */
static const char *
string_member (JsonObject *object,
               const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* Status helpers */

static const GEnumValue status_values[] = {
  { SQ_PREDICTION_QUEUED, "SQ_PREDICTION_QUEUED", "queued" },
  { SQ_PREDICTION_STARTING, "SQ_PREDICTION_STARTING", "starting" },
  { SQ_PREDICTION_PROCESSING, "SQ_PREDICTION_PROCESSING", "processing" },
  { SQ_PREDICTION_SUCCEEDED, "SQ_PREDICTION_SUCCEEDED", "succeeded" },
  { SQ_PREDICTION_FAILED, "SQ_PREDICTION_FAILED", "failed" },
  { SQ_PREDICTION_CANCELED, "SQ_PREDICTION_CANCELED", "canceled" },
  { SQ_PREDICTION_ABORTED, "SQ_PREDICTION_ABORTED", "aborted" },
  { 0, NULL, NULL }
};

GType
sq_prediction_status_get_type (void)
{
  static gsize type_id = 0;

  if (g_once_init_enter (&type_id))
    {
      GType type = g_enum_register_static (g_intern_static_string ("SqPredictionStatus"),
                                           status_values);
      g_once_init_leave (&type_id, type);
    }

  return type_id;
}

const char *
sq_prediction_status_to_string (SqPredictionStatus status)
{
  for (guint i = 0; status_values[i].value_nick != NULL; i++)
    if (status_values[i].value == (int) status)
      return status_values[i].value_nick;

  g_return_val_if_reached ("queued");
}

SqPredictionStatus
sq_prediction_status_from_string (const char *status)
{
  if (status == NULL)
    return SQ_PREDICTION_STARTING;

  for (guint i = 0; status_values[i].value_nick != NULL; i++)
    if (g_strcmp0 (status_values[i].value_nick, status) == 0)
      return status_values[i].value;

  return SQ_PREDICTION_STARTING;
}

gboolean
sq_prediction_status_is_terminal (SqPredictionStatus status)
{
  switch (status)
    {
    case SQ_PREDICTION_SUCCEEDED:
    case SQ_PREDICTION_FAILED:
    case SQ_PREDICTION_CANCELED:
    case SQ_PREDICTION_ABORTED:
      return TRUE;
    case SQ_PREDICTION_QUEUED:
    case SQ_PREDICTION_STARTING:
    case SQ_PREDICTION_PROCESSING:
    default:
      return FALSE;
    }
}

/* GObject */

static void
sq_prediction_finalize (GObject *object)
{
  SqPrediction *self = (SqPrediction *)object;

  g_clear_object (&self->client);
  g_clear_pointer (&self->model_ref, g_free);
  g_clear_pointer (&self->input, json_object_unref);
  g_string_free (self->text, TRUE);
  g_clear_pointer (&self->error_message, g_free);
  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->get_url, g_free);
  g_clear_pointer (&self->cancel_url, g_free);
  g_clear_pointer (&self->stream_url, g_free);
  g_clear_pointer (&self->model_error, g_free);
  g_clear_pointer (&self->created_at, g_date_time_unref);
  g_clear_pointer (&self->started_at, g_date_time_unref);
  g_clear_pointer (&self->completed_at, g_date_time_unref);

  G_OBJECT_CLASS (sq_prediction_parent_class)->finalize (object);
}

static void
sq_prediction_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  SqPrediction *self = SQ_PREDICTION (object);

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
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_TTFT_MS:
      g_value_set_int64 (value, self->ttft_ms);
      break;
    case PROP_TOTAL_MS:
      g_value_set_int64 (value, self->total_ms);
      break;
    case PROP_PREDICT_TIME:
      g_value_set_double (value, self->predict_time);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_prediction_class_init (SqPredictionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sq_prediction_finalize;
  object_class->get_property = sq_prediction_get_property;

  properties[PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL,
                       SQ_TYPE_PREDICTION_STATUS, SQ_PREDICTION_QUEUED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEXT] =
    g_param_spec_string ("text", NULL, NULL, "",
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR_MESSAGE] =
    g_param_spec_string ("error-message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TTFT_MS] =
    g_param_spec_int64 ("ttft-ms", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TOTAL_MS] =
    g_param_spec_int64 ("total-ms", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PREDICT_TIME] =
    g_param_spec_double ("predict-time", NULL, NULL, -1, G_MAXDOUBLE, -1,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[DELTA] =
    g_signal_new ("delta",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  signals[TEXT_RESET] =
    g_signal_new ("text-reset",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1,
                  G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
sq_prediction_init (SqPrediction *self)
{
  self->status = SQ_PREDICTION_QUEUED;
  self->text = g_string_new (NULL);
  self->ttft_ms = -1;
  self->total_ms = -1;
  self->predict_time = -1;
  self->poll_interval_ms = DEFAULT_POLL_INTERVAL_MS;
  self->stream_timeout_ms = DEFAULT_STREAM_TIMEOUT_MS;
  self->poll_patience_ms = DEFAULT_POLL_PATIENCE_MS;
}

SqPrediction *
sq_prediction_new (SqReplicateClient *client,
                   const char        *model_ref,
                   JsonObject        *input)
{
  SqPrediction *self;

  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (client), NULL);
  g_return_val_if_fail (model_ref != NULL, NULL);
  g_return_val_if_fail (input != NULL, NULL);

  self = g_object_new (SQ_TYPE_PREDICTION, NULL);
  self->client = g_object_ref (client);
  self->model_ref = g_strdup (model_ref);
  self->input = json_object_ref (input);

  return self;
}

SqPrediction *
sq_prediction_new_for_id (SqReplicateClient *client,
                          const char        *prediction_id)
{
  SqPrediction *self;

  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (client), NULL);
  g_return_val_if_fail (prediction_id != NULL && *prediction_id != '\0', NULL);

  self = g_object_new (SQ_TYPE_PREDICTION, NULL);
  self->client = g_object_ref (client);
  self->id = g_strdup (prediction_id);
  self->status = SQ_PREDICTION_STARTING;

  return self;
}

/* State changes */

static gint64
elapsed_ms (SqPrediction *self)
{
  return (g_get_monotonic_time () - self->run_start_us) / 1000;
}

static void
set_status (SqPrediction       *self,
            SqPredictionStatus  status)
{
  if (self->status == status)
    return;

  g_debug ("Prediction %s: %s -> %s", self->id ? self->id : "(new)",
           sq_prediction_status_to_string (self->status),
           sq_prediction_status_to_string (status));

  self->status = status;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

/* Statuses only move forward: starting -> processing -> terminal. */
static void
advance_status (SqPrediction       *self,
                SqPredictionStatus  status)
{
  if (sq_prediction_status_is_terminal (self->status))
    return;

  if (sq_prediction_status_is_terminal (status) || status > self->status)
    set_status (self, status);
}

static void
set_error_message (SqPrediction *self,
                   const char   *message)
{
  if (g_strcmp0 (self->error_message, message) == 0)
    return;

  g_free (self->error_message);
  self->error_message = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR_MESSAGE]);
}

static void
set_total_ms (SqPrediction *self)
{
  if (self->run_start_us == 0)
    return;

  self->total_ms = elapsed_ms (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOTAL_MS]);
}

static void
note_first_text (SqPrediction *self)
{
  if (self->ttft_ms >= 0 || self->text->len == 0 || self->run_start_us == 0)
    return;

  self->ttft_ms = elapsed_ms (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TTFT_MS]);
}

static void
append_text (SqPrediction *self,
             const char   *piece,
             gsize         len)
{
  g_autofree char *copy = NULL;

  if (len == 0)
    return;

  copy = g_strndup (piece, len);
  g_string_append_len (self->text, piece, len);
  note_first_text (self);

  g_signal_emit (self, signals[DELTA], 0, copy);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXT]);
}

static void
reset_text (SqPrediction *self,
            const char   *full)
{
  g_debug ("Prediction %s: the output disagrees with the streamed text, resetting it",
           self->id);

  g_string_assign (self->text, full);
  note_first_text (self);

  g_signal_emit (self, signals[TEXT_RESET], 0, self->text->str);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXT]);
}

/* The output as text: strings concatenated; NULL when there is none yet. */
static char *
output_to_text (JsonNode *output)
{
  if (output == NULL || JSON_NODE_HOLDS_NULL (output))
    return NULL;

  if (JSON_NODE_HOLDS_ARRAY (output))
    {
      JsonArray *array = json_node_get_array (output);
      GString *text = g_string_new (NULL);
      guint n = json_array_get_length (array);

      for (guint i = 0; i < n; i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (JSON_NODE_HOLDS_VALUE (element) &&
              json_node_get_value_type (element) == G_TYPE_STRING)
            g_string_append (text, json_node_get_string (element));
          else if (!JSON_NODE_HOLDS_NULL (element))
            {
              g_autofree char *json = json_to_string (element, FALSE);

              g_string_append (text, json);
            }
        }

      return g_string_free (text, FALSE);
    }

  if (JSON_NODE_HOLDS_VALUE (output) &&
      json_node_get_value_type (output) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (output));

  return json_to_string (output, FALSE);
}

/* @full is Replicate's output so far. While the prediction runs, the
 * output may lag behind what the stream already delivered: a prefix of
 * our text is no news. Otherwise only the new suffix is emitted. Once
 * the prediction is terminal the output is the truth: if it disagrees,
 * the text is replaced (::text-reset). */
static void
reconcile_text (SqPrediction *self,
                const char   *full,
                gboolean      terminal)
{
  gsize full_len;

  if (full == NULL)
    return;

  full_len = strlen (full);

  if (full_len >= self->text->len &&
      memcmp (full, self->text->str, self->text->len) == 0)
    {
      append_text (self, full + self->text->len, full_len - self->text->len);
      return;
    }

  if (!terminal && memcmp (self->text->str, full, full_len) == 0)
    return;

  reset_text (self, full);
}

static GDateTime *
parse_time (JsonObject *object,
            const char *member)
{
  const char *value = string_member (object, member);
  g_autoptr(GTimeZone) utc = NULL;

  if (value == NULL || *value == '\0')
    return NULL;

  utc = g_time_zone_new_utc ();
  return g_date_time_new_from_iso8601 (value, utc);
}

static double
number_member (JsonObject *object,
               const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return -1;

  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return json_node_get_int (node);
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    return json_node_get_double (node);

  return -1;
}

static void
replace_string (char       **field,
                const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return;

  g_free (*field);
  *field = g_strdup (value);
}

/* Takes in what Replicate says about the prediction. */
static void
apply_json (SqPrediction *self,
            JsonObject   *object)
{
  const char *id;
  const char *status_str;
  SqPredictionStatus status;
  JsonObject *urls = NULL;
  JsonObject *metrics = NULL;
  GDateTime *when;

  g_object_freeze_notify (G_OBJECT (self));

  id = string_member (object, "id");
  if (id != NULL && self->id == NULL)
    {
      self->id = g_strdup (id);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
    }

  if (json_object_has_member (object, "urls") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "urls")))
    urls = json_object_get_object_member (object, "urls");
  if (urls != NULL)
    {
      replace_string (&self->get_url, string_member (urls, "get"));
      replace_string (&self->cancel_url, string_member (urls, "cancel"));
      replace_string (&self->stream_url, string_member (urls, "stream"));
    }

  status_str = string_member (object, "status");
  status = sq_prediction_status_from_string (status_str);

  if (json_object_has_member (object, "error"))
    {
      JsonNode *node = json_object_get_member (object, "error");

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        replace_string (&self->model_error, json_node_get_string (node));
      else if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
        {
          g_autofree char *json = json_to_string (node, FALSE);

          replace_string (&self->model_error, json);
        }
    }

  /* Text first, so that whoever sees the terminal status sees the final text. */
  if (json_object_has_member (object, "output"))
    {
      g_autofree char *full = output_to_text (json_object_get_member (object, "output"));

      reconcile_text (self, full, sq_prediction_status_is_terminal (status));
    }

  if (json_object_has_member (object, "metrics") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "metrics")))
    metrics = json_object_get_object_member (object, "metrics");
  if (metrics != NULL)
    {
      double predict_time = number_member (metrics, "predict_time");

      if (predict_time >= 0 && predict_time != self->predict_time)
        {
          self->predict_time = predict_time;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PREDICT_TIME]);
        }
    }

  if ((when = parse_time (object, "created_at")) != NULL)
    {
      g_clear_pointer (&self->created_at, g_date_time_unref);
      self->created_at = when;
    }
  if ((when = parse_time (object, "started_at")) != NULL)
    {
      g_clear_pointer (&self->started_at, g_date_time_unref);
      self->started_at = when;
    }
  if ((when = parse_time (object, "completed_at")) != NULL)
    {
      g_clear_pointer (&self->completed_at, g_date_time_unref);
      self->completed_at = when;
    }

  if (status_str != NULL)
    advance_status (self, status);

  g_object_thaw_notify (G_OBJECT (self));
}

/* The run */

typedef struct
{
  SqSseParser  *parser;
  GInputStream *stream;
  gboolean      stream_done;
  gboolean      stream_unsafe;    /* can no longer tell new events from old */
  gboolean      reconnected;
  char         *stream_error;     /* detail of an "error" event */
  GHashTable   *seen_ids;         /* ids of the output events taken */

  /* One stream read: its own cancellable (the run's is forwarded to it),
   * so that a stream that sends nothing can be given up alone. */
  GCancellable *read_cancellable;
  gulong        read_cancel_id;
  GSource      *stall_source;
  gboolean      stalled;

  GSource      *poll_source;
  gint64        poll_trouble_since; /* monotonic µs of the first failed poll in a row, or 0 */

  gboolean      canceling;
  GCancellable *cancel_cancellable;
  GSource      *cancel_timeout;
} RunData;

static void
run_data_free (gpointer data)
{
  RunData *run = data;

  g_assert (run->poll_source == NULL);
  g_assert (run->cancel_timeout == NULL);
  g_assert (run->stall_source == NULL);
  g_assert (run->read_cancel_id == 0);

  g_clear_object (&run->parser);
  if (run->stream != NULL)
    {
      g_input_stream_close_async (run->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      g_clear_object (&run->stream);
    }
  g_clear_object (&run->cancel_cancellable);
  g_clear_object (&run->read_cancellable);
  g_free (run->stream_error);
  g_clear_pointer (&run->seen_ids, g_hash_table_unref);
  g_free (run);
}

static void run_poll_now (GTask *task);
static void run_schedule_poll (GTask *task);
static void run_start_cancel (GTask *task);

static gboolean
run_is_cancelled (GTask *task)
{
  return g_cancellable_is_cancelled (g_task_get_cancellable (task));
}

static void
run_close_stream (RunData *run)
{
  if (run->stream == NULL)
    return;

  /* The async close holds its own reference on the stream. */
  g_input_stream_close_async (run->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&run->stream);
}

/* Takes @task. */
static void
run_return_error (GTask  *task,
                  GError *error)
{
  SqPrediction *self = g_task_get_source_object (task);

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    set_error_message (self, error->message);

  g_task_return_error (task, error);
  g_object_unref (task);
}

/* The prediction is terminal on Replicate. Takes @task. */
static void
run_finish_terminal (GTask *task)
{
  SqPrediction *self = g_task_get_source_object (task);
  RunData *run = g_task_get_task_data (task);
  const char *message;

  run_close_stream (run);
  set_total_ms (self);

  switch (self->status)
    {
    case SQ_PREDICTION_SUCCEEDED:
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;

    case SQ_PREDICTION_FAILED:
      message = self->model_error;
      if (message == NULL || *message == '\0')
        message = run->stream_error;
      if (message == NULL || *message == '\0')
        message = _("The model failed without saying why");
      run_return_error (task, g_error_new_literal (SQ_REPLICATE_ERROR,
                                                   SQ_REPLICATE_ERROR_PREDICTION_FAILED,
                                                   message));
      return;

    case SQ_PREDICTION_ABORTED:
      run_return_error (task, g_error_new_literal (SQ_REPLICATE_ERROR,
                                                   SQ_REPLICATE_ERROR_PREDICTION_ABORTED,
                                                   _("Replicate aborted the prediction before it "
                                                     "started (it may have hit its deadline)")));
      return;

    case SQ_PREDICTION_CANCELED:
      run_return_error (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                   _("The prediction was canceled on Replicate")));
      return;

    case SQ_PREDICTION_QUEUED:
    case SQ_PREDICTION_STARTING:
    case SQ_PREDICTION_PROCESSING:
    default:
      g_assert_not_reached ();
    }
}

/* Cancellation */

static void
run_cancel_finished (GTask *task)
{
  SqPrediction *self = g_task_get_source_object (task);

  set_status (self, SQ_PREDICTION_CANCELED);
  set_total_ms (self);

  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           _("The prediction was canceled"));
  g_object_unref (task);
}

static void
run_cancel_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  SqPrediction *self = g_task_get_source_object (task);
  RunData *run = g_task_get_task_data (task);
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(GError) error = NULL;

  if (run->cancel_timeout != NULL)
    {
      g_source_destroy (run->cancel_timeout);
      g_clear_pointer (&run->cancel_timeout, g_source_unref);
    }

  reply = sq_replicate_client_cancel_prediction_finish (SQ_REPLICATE_CLIENT (object), result, &error);
  if (reply == NULL)
    g_debug ("Could not cancel prediction %s on Replicate: %s", self->id, error->message);
  else
    g_debug ("Canceled prediction %s on Replicate", self->id);

  run_cancel_finished (task);
}

static gboolean
run_cancel_timeout_cb (gpointer data)
{
  RunData *run = data;

  g_cancellable_cancel (run->cancel_cancellable);
  g_clear_pointer (&run->cancel_timeout, g_source_unref);

  return G_SOURCE_REMOVE;
}

/* The run's cancellable fired: stop the HTTP work and cancel the
 * prediction on Replicate, then complete. Takes @task. */
static void
run_start_cancel (GTask *task)
{
  SqPrediction *self = g_task_get_source_object (task);
  RunData *run = g_task_get_task_data (task);
  const char *target;

  g_assert (!run->canceling);
  run->canceling = TRUE;

  run_close_stream (run);

  if (run->poll_source != NULL)
    {
      g_source_destroy (run->poll_source);
      g_clear_pointer (&run->poll_source, g_source_unref);
    }

  target = self->cancel_url != NULL ? self->cancel_url : self->id;
  if (target == NULL)
    {
      run_cancel_finished (task);
      return;
    }

  g_debug ("Canceling prediction %s on Replicate", self->id);

  run->cancel_cancellable = g_cancellable_new ();
  run->cancel_timeout = g_timeout_source_new_seconds (CANCEL_TIMEOUT_S);
  g_source_set_static_name (run->cancel_timeout, "[squint] cancel timeout");
  g_source_set_callback (run->cancel_timeout, run_cancel_timeout_cb, run, NULL);
  g_source_attach (run->cancel_timeout, g_main_context_get_thread_default ());

  sq_replicate_client_cancel_prediction_async (self->client, target,
                                               run->cancel_cancellable,
                                               run_cancel_cb, task);
}

/* Polling */

static gboolean
run_poll_wait_done_cb (gpointer data)
{
  GTask *task = data;
  RunData *run = g_task_get_task_data (task);

  g_clear_pointer (&run->poll_source, g_source_unref);

  if (run_is_cancelled (task))
    run_start_cancel (task);
  else
    run_poll_now (task);

  return G_SOURCE_REMOVE;
}

/* Polls again after the interval, or cancels as soon as asked to. */
static void
run_schedule_poll (GTask *task)
{
  SqPrediction *self = g_task_get_source_object (task);
  RunData *run = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  g_assert (run->poll_source == NULL);

  run->poll_source = g_timeout_source_new (self->poll_interval_ms);
  g_source_set_static_name (run->poll_source, "[squint] poll wait");
  if (cancellable != NULL)
    {
      GSource *cancel_source = g_cancellable_source_new (cancellable);

      g_source_set_dummy_callback (cancel_source);
      g_source_add_child_source (run->poll_source, cancel_source);
      g_source_unref (cancel_source);
    }
  g_source_set_callback (run->poll_source, run_poll_wait_done_cb, task, NULL);
  g_source_attach (run->poll_source, g_main_context_get_thread_default ());
}

/* Errors worth polling through: throttling, server trouble, a network
 * that comes and goes. */
static gboolean
error_is_transient (const GError *error)
{
  if (error->domain == SQ_REPLICATE_ERROR)
    return error->code == SQ_REPLICATE_ERROR_RATE_LIMITED ||
           error->code == SQ_REPLICATE_ERROR_SERVER;

  return (error->domain == G_IO_ERROR && error->code != G_IO_ERROR_CANCELLED) ||
         error->domain == G_RESOLVER_ERROR ||
         error->domain == G_TLS_ERROR;
}

static void
run_poll_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *task = user_data;
  SqPrediction *self = g_task_get_source_object (task);
  g_autoptr(JsonObject) reply = NULL;
  GError *error = NULL;

  reply = sq_replicate_client_get_prediction_finish (SQ_REPLICATE_CLIENT (object), result, &error);

  if (run_is_cancelled (task))
    {
      g_clear_error (&error);
      run_start_cancel (task);
      return;
    }

  if (reply == NULL)
    {
      RunData *run = g_task_get_task_data (task);
      gint64 now = g_get_monotonic_time ();

      /* The client already retried this GET; keep following a prediction
       * that exists while the trouble looks passing, up to the patience. */
      if (self->id != NULL && error_is_transient (error))
        {
          if (run->poll_trouble_since == 0)
            run->poll_trouble_since = now;
          if (now - run->poll_trouble_since < (gint64) self->poll_patience_ms * 1000)
            {
              g_debug ("Prediction %s: polling failed (%s), trying again",
                       self->id, error->message);
              g_clear_error (&error);
              run_schedule_poll (task);
              return;
            }
        }

      run_return_error (task, error);
      return;
    }

  ((RunData *) g_task_get_task_data (task))->poll_trouble_since = 0;
  apply_json (self, reply);

  if (sq_prediction_status_is_terminal (self->status))
    {
      run_finish_terminal (task);
      return;
    }

  if (run_is_cancelled (task))
    {
      run_start_cancel (task);
      return;
    }

  run_schedule_poll (task);
}

static void
run_poll_now (GTask *task)
{
  SqPrediction *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (run_is_cancelled (task))
    {
      run_start_cancel (task);
      return;
    }

  sq_replicate_client_get_prediction_async (self->client,
                                            self->get_url != NULL ? self->get_url : self->id,
                                            cancellable, run_poll_cb, task);
}

/* Streaming */

static void run_read_next      (GTask        *task);
static void run_open_stream_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data);

static void
run_handle_event (GTask      *task,
                  SqSseEvent *event)
{
  SqPrediction *self = g_task_get_source_object (task);
  RunData *run = g_task_get_task_data (task);

  if (g_strcmp0 (event->event, "output") == 0)
    {
      /* After a reconnection the server may replay events: ids tell.
       * Without an id there is no telling, so the stream is left for
       * polling, which cannot repeat text. */
      if (event->id != NULL)
        {
          if (!g_hash_table_add (run->seen_ids, g_strdup (event->id)))
            return;
        }
      else if (run->reconnected)
        {
          run->stream_unsafe = TRUE;
          return;
        }

      if (*event->data != '\0')
        advance_status (self, SQ_PREDICTION_PROCESSING);
      append_text (self, event->data, strlen (event->data));
    }
  else if (g_strcmp0 (event->event, "error") == 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      const char *detail = NULL;

      if (sq_json_parser_load (parser, event->data, -1, NULL) &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        detail = string_member (json_node_get_object (json_parser_get_root (parser)), "detail");
      g_free (run->stream_error);
      run->stream_error = g_strdup (detail != NULL ? detail : event->data);
      g_debug ("Prediction %s: error event: %s", self->id, run->stream_error);
    }
  else if (g_strcmp0 (event->event, "done") == 0)
    {
      g_debug ("Prediction %s: done event: %s", self->id, event->data);
      run->stream_done = TRUE;
    }
}

/* Hands events out until the stream is done or the run was canceled.
 * Returns TRUE when the stream should be read further. */
static gboolean
run_drain_events (GTask *task)
{
  RunData *run = g_task_get_task_data (task);

  while (!run->stream_done && !run->stream_unsafe && !run_is_cancelled (task))
    {
      g_autoptr(SqSseEvent) event = sq_sse_parser_pop (run->parser);

      if (event == NULL)
        return TRUE;

      run_handle_event (task, event);
    }

  return FALSE;
}

static void
run_stream_ended (GTask *task)
{
  SqPrediction *self = g_task_get_source_object (task);
  RunData *run = g_task_get_task_data (task);

  run_close_stream (run);

  if (run_is_cancelled (task))
    {
      run_start_cancel (task);
      return;
    }

  /* Once, pick the stream up where it broke (a stream that went silent
   * is left for polling). */
  if (!run->stream_done && !run->stream_unsafe && !run->reconnected && !run->stalled)
    {
      const char *last_id = sq_sse_parser_get_last_id (run->parser);

      g_debug ("Prediction %s: the stream ended without done, reconnecting after %s",
               self->id, last_id ? last_id : "(none)");
      run->reconnected = TRUE;
      sq_replicate_client_open_stream_async (self->client, self->stream_url, last_id,
                                             g_task_get_cancellable (task),
                                             run_open_stream_cb, task);
      return;
    }

  if (run->stalled)
    g_debug ("Prediction %s: the stream sent nothing for %u ms, polling",
             self->id, self->stream_timeout_ms);
  else if (!run->stream_done)
    g_debug ("Prediction %s: the stream ended without done, polling", self->id);

  /* Confirms the status, reads the metrics and repairs the text; keeps
   * polling if the stream dropped. */
  run_poll_now (task);
}

static void
run_forward_cancel_cb (GCancellable *cancellable,
                       GCancellable *read_cancellable)
{
  g_cancellable_cancel (read_cancellable);
}

/* The stream sent nothing for stream_timeout_ms: give the read up. */
static gboolean
run_stall_cb (gpointer data)
{
  GTask *task = data;
  RunData *run = g_task_get_task_data (task);

  g_clear_pointer (&run->stall_source, g_source_unref);
  run->stalled = TRUE;
  g_cancellable_cancel (run->read_cancellable);

  return G_SOURCE_REMOVE;
}

/* A read completed: stop watching it. */
static void
run_end_read (GTask *task)
{
  RunData *run = g_task_get_task_data (task);

  if (run->stall_source != NULL)
    {
      g_source_destroy (run->stall_source);
      g_clear_pointer (&run->stall_source, g_source_unref);
    }
  if (run->read_cancel_id != 0)
    {
      g_cancellable_disconnect (g_task_get_cancellable (task), run->read_cancel_id);
      run->read_cancel_id = 0;
    }
  g_clear_object (&run->read_cancellable);
}

static void
run_read_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  GTask *task = user_data;
  SqPrediction *self = g_task_get_source_object (task);
  RunData *run = g_task_get_task_data (task);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  gconstpointer data;
  gsize len;

  run_end_read (task);
  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);

  if (bytes == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("Prediction %s: the stream broke: %s", self->id, error->message);
      run_stream_ended (task);
      return;
    }

  data = g_bytes_get_data (bytes, &len);
  if (len == 0)
    {
      sq_sse_parser_finish (run->parser);
      run_drain_events (task);
      run_stream_ended (task);
      return;
    }

  sq_sse_parser_feed (run->parser, data, len);

  if (run_drain_events (task))
    run_read_next (task);
  else
    run_stream_ended (task);
}

static void
run_read_next (GTask *task)
{
  SqPrediction *self = g_task_get_source_object (task);
  RunData *run = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  g_assert (run->read_cancellable == NULL);

  run->read_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    run->read_cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (run_forward_cancel_cb),
                                                 g_object_ref (run->read_cancellable),
                                                 g_object_unref);
  if (self->stream_timeout_ms > 0)
    {
      run->stall_source = g_timeout_source_new (self->stream_timeout_ms);
      g_source_set_static_name (run->stall_source, "[squint] stream inactivity");
      g_source_set_callback (run->stall_source, run_stall_cb, task, NULL);
      g_source_attach (run->stall_source, g_main_context_get_thread_default ());
    }

  g_input_stream_read_bytes_async (run->stream, STREAM_READ_SIZE, G_PRIORITY_DEFAULT,
                                   run->read_cancellable, run_read_cb, task);
}

static void
run_open_stream_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  GTask *task = user_data;
  SqPrediction *self = g_task_get_source_object (task);
  RunData *run = g_task_get_task_data (task);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;

  stream = sq_replicate_client_open_stream_finish (SQ_REPLICATE_CLIENT (object), result, &error);

  if (run_is_cancelled (task))
    {
      if (stream != NULL)
        g_input_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      run_start_cancel (task);
      return;
    }

  if (stream == NULL)
    {
      g_debug ("Prediction %s: could not open the stream (%s), polling",
               self->id, error->message);
      run_poll_now (task);
      return;
    }

  run->stream = g_steal_pointer (&stream);
  if (run->parser == NULL)
    run->parser = sq_sse_parser_new ();
  else
    sq_sse_parser_reset (run->parser);
  if (run->seen_ids == NULL)
    run->seen_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  run_read_next (task);
}

/* The prediction exists and we know about it. */
static void
run_follow (GTask *task)
{
  SqPrediction *self = g_task_get_source_object (task);

  if (run_is_cancelled (task))
    {
      run_start_cancel (task);
      return;
    }

  if (sq_prediction_status_is_terminal (self->status))
    {
      run_finish_terminal (task);
      return;
    }

  /* A resumed prediction that already has text is polled: a stream that
   * replays from the start would only be reconciled away. */
  if (self->stream_url != NULL && self->text->len == 0)
    sq_replicate_client_open_stream_async (self->client, self->stream_url, NULL,
                                           g_task_get_cancellable (task),
                                           run_open_stream_cb, task);
  else
    run_poll_now (task);
}

static void
run_resume_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  SqPrediction *self = g_task_get_source_object (task);
  g_autoptr(JsonObject) reply = NULL;
  GError *error = NULL;

  reply = sq_replicate_client_get_prediction_finish (SQ_REPLICATE_CLIENT (object), result, &error);

  if (run_is_cancelled (task))
    {
      g_clear_error (&error);
      run_start_cancel (task);
      return;
    }

  if (reply == NULL)
    {
      run_return_error (task, error);
      return;
    }

  apply_json (self, reply);
  run_follow (task);
}

static void
run_create_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  SqPrediction *self = g_task_get_source_object (task);
  g_autoptr(JsonObject) reply = NULL;
  GError *error = NULL;

  reply = sq_replicate_client_create_prediction_finish (SQ_REPLICATE_CLIENT (object), result, &error);

  if (reply != NULL)
    apply_json (self, reply);

  if (run_is_cancelled (task))
    {
      /* Cancels the prediction if it was created after all. */
      g_clear_error (&error);
      run_start_cancel (task);
      return;
    }

  if (reply == NULL)
    {
      set_status (self, SQ_PREDICTION_FAILED);
      set_total_ms (self);
      run_return_error (task, error);
      return;
    }

  if (self->id == NULL)
    {
      set_status (self, SQ_PREDICTION_FAILED);
      set_total_ms (self);
      run_return_error (task, g_error_new_literal (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL,
                                                   _("Replicate created a prediction without an id")));
      return;
    }

  run_follow (task);
}

void
sq_prediction_run_async (SqPrediction        *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SQ_IS_PREDICTION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_prediction_run_async);

  if (self->has_run)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The prediction was already run"));
      return;
    }

  /* The create is not cancelled on the wire (only its retry waits are):
   * a prediction it made must be canceled on Replicate, not orphaned. */
  self->has_run = TRUE;
  self->run_start_us = g_get_monotonic_time ();
  g_task_set_task_data (task, g_new0 (RunData, 1), run_data_free);

  if (self->id == NULL)
    _sq_replicate_client_create_prediction_full_async (self->client, self->model_ref, NULL,
                                                       self->input,
                                                       NULL, cancellable,
                                                       run_create_cb,
                                                       g_steal_pointer (&task));
  else
    sq_replicate_client_get_prediction_async (self->client, self->id, cancellable,
                                              run_resume_cb, g_steal_pointer (&task));
}

gboolean
sq_prediction_run_finish (SqPrediction  *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_prediction_run_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Getters */

SqPredictionStatus
sq_prediction_get_status (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), SQ_PREDICTION_QUEUED);

  return self->status;
}

const char *
sq_prediction_get_model_ref (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), NULL);

  return self->model_ref;
}

JsonObject *
sq_prediction_get_input (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), NULL);

  return self->input;
}

const char *
sq_prediction_get_text (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), "");

  return self->text->str;
}

const char *
sq_prediction_get_error_message (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), NULL);

  return self->error_message;
}

const char *
sq_prediction_get_id (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), NULL);

  return self->id;
}

gint64
sq_prediction_get_ttft_ms (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), -1);

  return self->ttft_ms;
}

gint64
sq_prediction_get_total_ms (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), -1);

  return self->total_ms;
}

double
sq_prediction_get_predict_time (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), -1);

  return self->predict_time;
}

GDateTime *
sq_prediction_get_created_at (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), NULL);

  return self->created_at;
}

GDateTime *
sq_prediction_get_started_at (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), NULL);

  return self->started_at;
}

GDateTime *
sq_prediction_get_completed_at (SqPrediction *self)
{
  g_return_val_if_fail (SQ_IS_PREDICTION (self), NULL);

  return self->completed_at;
}

void
sq_prediction_set_poll_interval (SqPrediction *self,
                                 guint         interval_ms)
{
  g_return_if_fail (SQ_IS_PREDICTION (self));

  self->poll_interval_ms = MAX (interval_ms, 1);
}

void
sq_prediction_set_poll_patience (SqPrediction *self,
                                 guint         patience_ms)
{
  g_return_if_fail (SQ_IS_PREDICTION (self));

  self->poll_patience_ms = patience_ms;
}

void
sq_prediction_set_stream_timeout (SqPrediction *self,
                                  guint         timeout_ms)
{
  g_return_if_fail (SQ_IS_PREDICTION (self));

  self->stream_timeout_ms = timeout_ms;
}
