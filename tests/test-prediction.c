/* test-prediction.c
 *
 * SqPrediction against the loopback fake Replicate: streaming, polling,
 * dropped streams, failures, cancellation, resume and concurrency.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "sq-error.h"
#include "sq-fake-replicate.h"
#include "sq-prediction.h"
#include "sq-replicate-client.h"
#include "sq-test-util.h"

#define LLAVA      "yorickvp/llava-13b:e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358"
#define FUYU       "lucataco/fuyu-8b:42f23bc876570a46f5a90737086fbc4c3f79dd11753a28eaa39544dd391815e9"
#define MINIGPT    "daanelson/minigpt-4:b96a2f33cc8e4b0aa23eacfce731b9c41a7d9466d9ed4e167375587b54db9423"
#define COGVLM     "naklecha/cogvlm:ec3886f9ea85dd0aee216585be5e6d07b04c9650f7b8b08363a14eb89e207eb2"

typedef SqTestFakeFixture Fixture;

/* Watches a prediction: every delta, resets, and status changes. */
typedef struct
{
  GString      *deltas;
  guint         n_deltas;
  guint         n_resets;
  guint         n_id_notifies;
  gboolean      id_before_terminal;
  GPtrArray    *statuses;       /* (element-type utf8) */
  GCancellable *cancel_on_delta;
} Watch;

static void
delta_cb (SqPrediction *prediction,
          const char   *text,
          Watch        *watch)
{
  g_assert_nonnull (text);
  g_assert_cmpstr (text, !=, "");
  g_string_append (watch->deltas, text);
  watch->n_deltas++;

  /* The text property is always the sum of the deltas. */
  g_assert_cmpstr (sq_prediction_get_text (prediction), ==, watch->deltas->str);
  g_assert_cmpint (sq_prediction_get_ttft_ms (prediction), >=, 0);

  if (watch->cancel_on_delta != NULL)
    g_cancellable_cancel (watch->cancel_on_delta);
}

static void
text_reset_cb (SqPrediction *prediction,
               const char   *text,
               Watch        *watch)
{
  g_string_assign (watch->deltas, text);
  watch->n_resets++;
}

static void
notify_status_cb (SqPrediction *prediction,
                  GParamSpec   *pspec,
                  Watch        *watch)
{
  g_ptr_array_add (watch->statuses,
                   g_strdup (sq_prediction_status_to_string (sq_prediction_get_status (prediction))));
}

static void
notify_id_cb (SqPrediction *prediction,
              GParamSpec   *pspec,
              Watch        *watch)
{
  g_assert_nonnull (sq_prediction_get_id (prediction));
  watch->n_id_notifies++;
  watch->id_before_terminal = !sq_prediction_status_is_terminal (sq_prediction_get_status (prediction));
}

static void
watch_init (Watch        *watch,
            SqPrediction *prediction)
{
  memset (watch, 0, sizeof *watch);
  watch->deltas = g_string_new (NULL);
  watch->statuses = g_ptr_array_new_with_free_func (g_free);

  g_signal_connect (prediction, "delta", G_CALLBACK (delta_cb), watch);
  g_signal_connect (prediction, "text-reset", G_CALLBACK (text_reset_cb), watch);
  g_signal_connect (prediction, "notify::status", G_CALLBACK (notify_status_cb), watch);
  g_signal_connect (prediction, "notify::id", G_CALLBACK (notify_id_cb), watch);
}

static void
watch_clear (Watch        *watch,
             SqPrediction *prediction)
{
  g_signal_handlers_disconnect_by_data (prediction, watch);
  g_string_free (watch->deltas, TRUE);
  g_ptr_array_unref (watch->statuses);
}

static gboolean
run_sync (SqPrediction  *prediction,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_prediction_run_async (prediction, cancellable, sq_test_store_result_cb, &result);
  return sq_prediction_run_finish (prediction, sq_test_wait_result (&result), error);
}

static gboolean
strv_has (GStrv       strv,
          const char *s)
{
  return strv != NULL && s != NULL && g_strv_contains ((const char * const *) strv, s);
}

/* Runs @model_ref on @prompt and checks the text arrived whole and once. */
static void
check_run (Fixture    *f,
           const char *model_ref,
           const char *prompt)
{
  g_autoptr(JsonObject) input = sq_test_make_input (prompt);
  g_autoptr(SqPrediction) prediction = sq_prediction_new (f->client, model_ref, input);
  g_autofree char *expected = sq_test_expected_answer (f->fake, model_ref, prompt);
  g_autoptr(GError) error = NULL;
  Watch watch;

  sq_prediction_set_poll_interval (prediction, 5);
  watch_init (&watch, prediction);

  g_assert_cmpint (sq_prediction_get_status (prediction), ==, SQ_PREDICTION_QUEUED);
  g_assert_cmpstr (sq_prediction_get_text (prediction), ==, "");
  g_assert_null (sq_prediction_get_id (prediction));

  g_assert_true (run_sync (prediction, NULL, &error));
  g_assert_no_error (error);

  g_assert_cmpint (sq_prediction_get_status (prediction), ==, SQ_PREDICTION_SUCCEEDED);
  g_assert_cmpstr (sq_prediction_get_text (prediction), ==, expected);
  g_assert_cmpstr (watch.deltas->str, ==, expected);
  g_assert_cmpuint (watch.n_resets, ==, 0);
  g_assert_cmpuint (watch.n_deltas, >, 0);
  g_assert_null (sq_prediction_get_error_message (prediction));

  g_assert_nonnull (sq_prediction_get_id (prediction));
  g_assert_cmpuint (watch.n_id_notifies, ==, 1);
  g_assert_true (watch.id_before_terminal);
  g_assert_cmpstr (g_ptr_array_index (watch.statuses, watch.statuses->len - 1), ==, "succeeded");

  g_assert_cmpint (sq_prediction_get_ttft_ms (prediction), >=, 0);
  g_assert_cmpint (sq_prediction_get_total_ms (prediction), >=, sq_prediction_get_ttft_ms (prediction));
  g_assert_cmpfloat (sq_prediction_get_predict_time (prediction), >=, 0);
  g_assert_nonnull (sq_prediction_get_created_at (prediction));
  g_assert_nonnull (sq_prediction_get_completed_at (prediction));
  g_assert_cmpint (g_date_time_compare (sq_prediction_get_created_at (prediction),
                                        sq_prediction_get_completed_at (prediction)), <=, 0);

  /* Exactly one create */
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 1);
  /* At most one reconnection of the stream */
  g_assert_cmpuint (sq_test_count_stream_requests (f->fake), <=, 2);

  watch_clear (&watch, prediction);
}

static void
test_status_helpers (void)
{
  static const char * const names[] = {
    "queued", "starting", "processing", "succeeded", "failed", "canceled", "aborted",
  };
  g_autoptr(GEnumClass) klass = g_type_class_ref (SQ_TYPE_PREDICTION_STATUS);

  g_assert_true (G_TYPE_IS_ENUM (SQ_TYPE_PREDICTION_STATUS));

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_cmpstr (sq_prediction_status_to_string (i), ==, names[i]);
      g_assert_cmpint (sq_prediction_status_from_string (names[i]), ==, i);
      g_assert_cmpstr (g_enum_get_value (klass, i)->value_nick, ==, names[i]);
    }

  g_assert_cmpint (sq_prediction_status_from_string ("warming-up"), ==, SQ_PREDICTION_STARTING);
  g_assert_cmpint (sq_prediction_status_from_string (NULL), ==, SQ_PREDICTION_STARTING);

  g_assert_false (sq_prediction_status_is_terminal (SQ_PREDICTION_QUEUED));
  g_assert_false (sq_prediction_status_is_terminal (SQ_PREDICTION_STARTING));
  g_assert_false (sq_prediction_status_is_terminal (SQ_PREDICTION_PROCESSING));
  g_assert_true (sq_prediction_status_is_terminal (SQ_PREDICTION_SUCCEEDED));
  g_assert_true (sq_prediction_status_is_terminal (SQ_PREDICTION_FAILED));
  g_assert_true (sq_prediction_status_is_terminal (SQ_PREDICTION_CANCELED));
  g_assert_true (sq_prediction_status_is_terminal (SQ_PREDICTION_ABORTED));
}

static void
test_stream (Fixture       *f,
             gconstpointer  data)
{
  /* Different seeds give different random splits of the SSE bytes. */
  for (guint32 seed = 1; seed <= 5; seed++)
    {
      g_autofree char *prompt = g_strdup_printf ("Describe the picture, take %u.", seed);

      sq_fake_replicate_clear_requests (f->fake);
      sq_fake_replicate_set_seed (f->fake, seed);
      sq_fake_replicate_set_random_splits (f->fake, TRUE);
      sq_fake_replicate_set_answer_tokens (f->fake, 20 + seed * 7);

      check_run (f, LLAVA, prompt);
    }
}

static void
test_no_stream (Fixture       *f,
                gconstpointer  data)
{
  /* cogvlm predictions have no urls.stream: polling only */
  check_run (f, COGVLM, "What breed is the dog?");

  /* And a streaming model when the server hands out no stream */
  sq_fake_replicate_clear_requests (f->fake);
  sq_fake_replicate_set_no_stream (f->fake, TRUE);
  check_run (f, LLAVA, "What colour is the dog?");
}

static void
test_string_output (Fixture       *f,
                    gconstpointer  data)
{
  check_run (f, FUYU, "Is the dog happy?");
  sq_fake_replicate_clear_requests (f->fake);
  check_run (f, MINIGPT, "Where is the dog?");
}

static void
test_dropped_stream (Fixture       *f,
                     gconstpointer  data)
{
  /* The prompt trigger drops the stream after a few tokens */
  check_run (f, LLAVA, "[[drop]] Tell me about the dog.");

  /* Every stream drops, after various numbers of events */
  for (int n = 0; n < 6; n++)
    {
      g_autofree char *prompt = g_strdup_printf ("Count the legs, attempt %d.", n);

      sq_fake_replicate_clear_requests (f->fake);
      sq_fake_replicate_set_drop_streams_after (f->fake, n);
      check_run (f, LLAVA, prompt);
    }
}

static void
test_failed (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(JsonObject) input = sq_test_make_input ("[[fail]] Describe the dog.");
  g_autoptr(SqPrediction) prediction = sq_prediction_new (f->client, LLAVA, input);
  g_autoptr(JsonObject) server = NULL;
  g_autoptr(GError) error = NULL;
  Watch watch;

  sq_prediction_set_poll_interval (prediction, 5);
  watch_init (&watch, prediction);

  g_assert_false (run_sync (prediction, NULL, &error));
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PREDICTION_FAILED);
  g_assert_cmpint (sq_prediction_get_status (prediction), ==, SQ_PREDICTION_FAILED);

  server = sq_fake_replicate_dup_prediction (f->fake, sq_prediction_get_id (prediction));
  g_assert_nonnull (server);
  g_assert_cmpstr (error->message, ==, json_object_get_string_member (server, "error"));
  g_assert_cmpstr (sq_prediction_get_error_message (prediction), ==, error->message);
  g_assert_cmpint (sq_prediction_get_total_ms (prediction), >=, 0);
  /* Whatever text came before the failure is consistent. */
  g_assert_cmpstr (watch.deltas->str, ==, sq_prediction_get_text (prediction));

  watch_clear (&watch, prediction);
}

static void
test_invalid_input (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(JsonObject) input = sq_test_make_input ("Describe the dog.");
  g_autoptr(SqPrediction) prediction = NULL;
  g_autoptr(GError) error = NULL;

  json_object_set_int_member (input, "max_new_tokens", 99999);
  prediction = sq_prediction_new (f->client, FUYU, input);

  g_assert_false (run_sync (prediction, NULL, &error));
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "max_new_tokens"));
  g_assert_cmpint (sq_prediction_get_status (prediction), ==, SQ_PREDICTION_FAILED);
  g_assert_cmpstr (sq_prediction_get_error_message (prediction), ==, error->message);
  g_assert_null (sq_prediction_get_id (prediction));

  /* A run is run once. */
  g_clear_error (&error);
  g_assert_false (run_sync (prediction, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
}

static void
test_cancel_mid_stream (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(JsonObject) input = sq_test_make_input ("[[slow]] Describe every hair of the dog.");
  g_autoptr(SqPrediction) prediction = sq_prediction_new (f->client, LLAVA, input);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *expected = NULL;
  g_auto(GStrv) canceled = NULL;
  g_autoptr(GError) error = NULL;
  Watch watch;

  sq_fake_replicate_set_answer_tokens (f->fake, 200);
  expected = sq_test_expected_answer (f->fake, LLAVA, "[[slow]] Describe every hair of the dog.");
  watch_init (&watch, prediction);
  watch.cancel_on_delta = cancellable;

  g_assert_false (run_sync (prediction, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (sq_prediction_get_status (prediction), ==, SQ_PREDICTION_CANCELED);

  /* The prediction was canceled on Replicate before the run completed. */
  canceled = sq_fake_replicate_dup_canceled_ids (f->fake);
  g_assert_true (strv_has (canceled, sq_prediction_get_id (prediction)));

  /* No delta after the cancel; the text is a true prefix. */
  g_assert_cmpuint (watch.n_deltas, ==, 1);
  g_assert_true (g_str_has_prefix (expected, sq_prediction_get_text (prediction)));
  g_assert_cmpstr (watch.deltas->str, ==, sq_prediction_get_text (prediction));
  g_assert_null (sq_prediction_get_error_message (prediction));
  g_assert_cmpint (sq_prediction_get_total_ms (prediction), >=, 0);

  watch_clear (&watch, prediction);
}

static gboolean
cancel_idle_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_polling (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(JsonObject) input = sq_test_make_input ("[[slow]] Is there a cat too?");
  g_autoptr(SqPrediction) prediction = sq_prediction_new (f->client, COGVLM, input);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_auto(GStrv) canceled = NULL;
  g_autoptr(GError) error = NULL;
  Watch watch;

  sq_fake_replicate_set_answer_tokens (f->fake, 200);
  sq_prediction_set_poll_interval (prediction, 5);
  watch_init (&watch, prediction);

  /* Cancel as soon as Replicate says it runs */
  g_signal_connect_swapped (prediction, "notify::id", G_CALLBACK (g_cancellable_cancel), cancellable);

  g_assert_false (run_sync (prediction, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (sq_prediction_get_status (prediction), ==, SQ_PREDICTION_CANCELED);

  canceled = sq_fake_replicate_dup_canceled_ids (f->fake);
  g_assert_true (strv_has (canceled, sq_prediction_get_id (prediction)));

  watch_clear (&watch, prediction);
}

static void
test_cancel_before_create (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(JsonObject) input = sq_test_make_input ("[[slow]] What is the dog thinking?");
  g_autoptr(SqPrediction) prediction = sq_prediction_new (f->client, LLAVA, input);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_auto(GStrv) canceled = NULL;
  g_autoptr(GError) error = NULL;

  /* The create request is on its way when the cancel comes. */
  sq_prediction_run_async (prediction, cancellable, sq_test_store_result_cb, &result);
  g_cancellable_cancel (cancellable);

  g_assert_false (sq_prediction_run_finish (prediction, sq_test_wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (sq_prediction_get_status (prediction), ==, SQ_PREDICTION_CANCELED);

  /* The prediction the create made was not orphaned. */
  g_assert_nonnull (sq_prediction_get_id (prediction));
  canceled = sq_fake_replicate_dup_canceled_ids (f->fake);
  g_assert_true (strv_has (canceled, sq_prediction_get_id (prediction)));
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 2);
  g_assert_cmpstr (sq_prediction_get_text (prediction), ==, "");
}

static void
test_cancel_while_throttled (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(JsonObject) input = sq_test_make_input ("What is the dog thinking?");
  g_autoptr(SqPrediction) prediction = sq_prediction_new (f->client, LLAVA, input);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* Replicate says: come back in a minute. Cancelling must not wait. */
  sq_fake_replicate_queue_create_429 (f->fake, 1, 60, TRUE);

  sq_prediction_run_async (prediction, cancellable, sq_test_store_result_cb, &result);
  while (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions") == 0)
    g_main_context_iteration (NULL, TRUE);
  g_idle_add (cancel_idle_cb, cancellable);

  g_assert_false (sq_prediction_run_finish (prediction, sq_test_wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (sq_prediction_get_status (prediction), ==, SQ_PREDICTION_CANCELED);
  g_assert_null (sq_prediction_get_id (prediction));
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 1);
}

static void
first_delta_cb (SqPrediction *prediction,
                const char   *text,
                gboolean     *seen)
{
  *seen = TRUE;
}

/* Resumes @id in a new SqPrediction and checks it completes with
 * @expected without creating anything. */
static void
check_resume (Fixture    *f,
              const char *id,
              const char *expected)
{
  g_autoptr(SqPrediction) resumed = sq_prediction_new_for_id (f->client, id);
  g_autoptr(GError) error = NULL;
  guint n_creates = sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions");
  Watch watch;

  sq_prediction_set_poll_interval (resumed, 5);
  watch_init (&watch, resumed);
  g_assert_cmpstr (sq_prediction_get_id (resumed), ==, id);
  g_assert_null (sq_prediction_get_model_ref (resumed));

  g_assert_true (run_sync (resumed, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sq_prediction_get_status (resumed), ==, SQ_PREDICTION_SUCCEEDED);
  g_assert_cmpstr (sq_prediction_get_text (resumed), ==, expected);
  g_assert_cmpstr (watch.deltas->str, ==, expected);
  g_assert_cmpuint (watch.n_resets, ==, 0);
  g_assert_cmpfloat (sq_prediction_get_predict_time (resumed), >=, 0);
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, n_creates);

  watch_clear (&watch, resumed);
}

static void
test_resume (Fixture       *f,
             gconstpointer  data)
{
  const char *prompt = "[[slow]] Resume me, please.";
  g_autoptr(JsonObject) input = sq_test_make_input (prompt);
  g_autoptr(SqPrediction) first = sq_prediction_new (f->client, LLAVA, input);
  g_autoptr(SqPrediction) second = sq_prediction_new (f->client, LLAVA, input);
  g_autoptr(GAsyncResult) first_result = NULL;
  g_autoptr(GAsyncResult) second_result = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GError) error = NULL;
  gboolean second_has_text = FALSE;

  sq_fake_replicate_set_answer_tokens (f->fake, 40);
  expected = sq_test_expected_answer (f->fake, LLAVA, prompt);

  /* The grid runner stores the id as soon as it is known; after a crash
   * a new SqPrediction picks the prediction up by that id. Here the
   * original runs go on meanwhile, as they would on Replicate. */
  sq_prediction_run_async (first, NULL, sq_test_store_result_cb, &first_result);
  while (sq_prediction_get_id (first) == NULL)
    g_main_context_iteration (NULL, TRUE);
  check_resume (f, sq_prediction_get_id (first), expected);

  /* Resumed once some text exists already */
  g_signal_connect (second, "delta", G_CALLBACK (first_delta_cb), &second_has_text);
  sq_prediction_run_async (second, NULL, sq_test_store_result_cb, &second_result);
  while (!second_has_text)
    g_main_context_iteration (NULL, TRUE);
  check_resume (f, sq_prediction_get_id (second), expected);

  g_assert_true (sq_prediction_run_finish (first, sq_test_wait_result (&first_result), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (sq_prediction_get_text (first), ==, expected);
  g_assert_true (sq_prediction_run_finish (second, sq_test_wait_result (&second_result), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (sq_prediction_get_text (second), ==, expected);

  /* A prediction that already finished resumes straight to its result. */
  check_resume (f, sq_prediction_get_id (first), expected);
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 2);
}

static void
test_resume_unknown (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(SqPrediction) prediction = sq_prediction_new_for_id (f->client, "nosuchprediction");
  g_autoptr(GError) error = NULL;

  g_assert_false (run_sync (prediction, NULL, &error));
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND);
  g_assert_cmpstr (sq_prediction_get_error_message (prediction), ==, error->message);
}

static void
test_poll_server_errors (Fixture       *f,
                         gconstpointer  data)
{
  /* 5xx and 429 while polling are retried by the client */
  sq_fake_replicate_queue_get_errors (f->fake, 2, 503);
  check_run (f, COGVLM, "Is the dog wet?");
  sq_fake_replicate_clear_requests (f->fake);
  sq_fake_replicate_queue_get_errors (f->fake, 2, 429);
  check_run (f, FUYU, "Is the dog dry?");
}

typedef struct
{
  SqPrediction *prediction;
  Watch         watch;
  char         *expected;
  GAsyncResult *result;
} Job;

static void
test_concurrent (Fixture       *f,
                 gconstpointer  data)
{
  static const char * const models[] = { LLAVA, FUYU, COGVLM, MINIGPT };
  Job jobs[8];
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  sq_fake_replicate_set_drop_streams_after (f->fake, -1);

  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      g_autofree char *prompt = g_strdup_printf ("Question number %u about the dog%s", i,
                                                 i == 5 ? " [[drop]]" : "");
      const char *model = models[i % G_N_ELEMENTS (models)];
      g_autoptr(JsonObject) input = sq_test_make_input (prompt);

      jobs[i].prediction = sq_prediction_new (f->client, model, input);
      jobs[i].expected = sq_test_expected_answer (f->fake, model, prompt);
      jobs[i].result = NULL;
      sq_prediction_set_poll_interval (jobs[i].prediction, 5);
      watch_init (&jobs[i].watch, jobs[i].prediction);
      sq_prediction_run_async (jobs[i].prediction, NULL, sq_test_store_result_cb, &jobs[i].result);
    }

  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (sq_prediction_run_finish (jobs[i].prediction, sq_test_wait_result (&jobs[i].result), &error));
      g_assert_no_error (error);
      g_assert_cmpstr (sq_prediction_get_text (jobs[i].prediction), ==, jobs[i].expected);
      g_assert_cmpstr (jobs[i].watch.deltas->str, ==, jobs[i].expected);
      g_assert_cmpuint (jobs[i].watch.n_resets, ==, 0);
      g_assert_true (g_hash_table_add (ids, (gpointer) sq_prediction_get_id (jobs[i].prediction)));
    }

  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 8);

  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      g_clear_object (&jobs[i].result);
      watch_clear (&jobs[i].watch, jobs[i].prediction);
      g_assert_finalize_object (jobs[i].prediction);
      g_free (jobs[i].expected);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/prediction/" path, Fixture, NULL, sq_test_fake_fixture_set_up, func, sq_test_fake_fixture_tear_down)

  g_test_add_func ("/prediction/status-helpers", test_status_helpers);
  ADD ("stream", test_stream);
  ADD ("no-stream", test_no_stream);
  ADD ("string-output", test_string_output);
  ADD ("dropped-stream", test_dropped_stream);
  ADD ("failed", test_failed);
  ADD ("invalid-input", test_invalid_input);
  ADD ("cancel/mid-stream", test_cancel_mid_stream);
  ADD ("cancel/polling", test_cancel_polling);
  ADD ("cancel/before-create", test_cancel_before_create);
  ADD ("cancel/while-throttled", test_cancel_while_throttled);
  ADD ("resume", test_resume);
  ADD ("resume-unknown", test_resume_unknown);
  ADD ("poll-server-errors", test_poll_server_errors);
  ADD ("concurrent", test_concurrent);

#undef ADD

  return g_test_run ();
}
