/* test-faults.c
 *
 * SqPrediction and SqReplicateClient when the fake Replicate misbehaves:
 * 429 storms, bursts of 5xx, dropped, stalled and malformed streams,
 * malformed JSON and a server that goes away mid-run. Every prediction
 * must end succeeded or with a clear error, and its text must never hold
 * a repeated or a missing piece.
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

/* Retries: 6 attempts, backoff from 1 ms capped at 5 ms (sq_test_fake_fixture_set_up()). */
#define MAX_ATTEMPTS 6

typedef SqTestFakeFixture Fixture;

/* One prediction in flight, with what it told us. */
typedef struct
{
  SqPrediction  *prediction;
  char          *expected;
  GString       *deltas;     /* every delta, in order; reset on text-reset */
  guint          n_deltas;
  guint          n_resets;
  GAsyncResult  *result;
  GError        *error;
  gboolean       ok;
  /* Called once, on the first delta. */
  GSourceFunc    on_first_delta;
  gpointer       on_first_delta_data;
} Run;

static void
run_delta_cb (SqPrediction *prediction,
              const char   *text,
              Run          *run)
{
  g_string_append (run->deltas, text);
  run->n_deltas++;

  /* The text is always the sum of the deltas: nothing repeated. */
  g_assert_cmpstr (sq_prediction_get_text (prediction), ==, run->deltas->str);

  if (run->n_deltas == 1 && run->on_first_delta != NULL)
    g_idle_add (run->on_first_delta, run->on_first_delta_data);
}

static void
run_text_reset_cb (SqPrediction *prediction,
                   const char   *text,
                   Run          *run)
{
  g_string_assign (run->deltas, text);
  run->n_resets++;
}

static Run *
run_new (Fixture    *f,
         const char *model_ref,
         const char *prompt)
{
  g_autoptr(JsonObject) input = sq_test_make_input (prompt);
  Run *run = g_new0 (Run, 1);

  run->prediction = sq_prediction_new (f->client, model_ref, input);
  run->expected = sq_test_expected_answer (f->fake, model_ref, prompt);
  run->deltas = g_string_new (NULL);
  sq_prediction_set_poll_interval (run->prediction, 5);
  g_signal_connect (run->prediction, "delta", G_CALLBACK (run_delta_cb), run);
  g_signal_connect (run->prediction, "text-reset", G_CALLBACK (run_text_reset_cb), run);

  return run;
}

static void
run_free (Run *run)
{
  g_signal_handlers_disconnect_by_data (run->prediction, run);
  g_clear_object (&run->result);
  g_assert_finalize_object (run->prediction);
  g_free (run->expected);
  g_string_free (run->deltas, TRUE);
  g_clear_error (&run->error);
  g_free (run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

static void
run_start (Run          *run,
           GCancellable *cancellable)
{
  sq_prediction_run_async (run->prediction, cancellable, sq_test_store_result_cb, &run->result);
}

static void
run_wait (Run *run)
{
  run->ok = sq_prediction_run_finish (run->prediction, sq_test_wait_result (&run->result), &run->error);
}

/* Runs all of @runs at once and waits for every one to end. */
static void
run_all (Run   **runs,
         guint   n_runs)
{
  for (guint i = 0; i < n_runs; i++)
    run_start (runs[i], NULL);
  for (guint i = 0; i < n_runs; i++)
    run_wait (runs[i]);
}

/* It succeeded, with the whole answer once, straight from the deltas. */
static void
assert_succeeded (Run *run)
{
  g_assert_no_error (run->error);
  g_assert_true (run->ok);
  g_assert_cmpint (sq_prediction_get_status (run->prediction), ==, SQ_PREDICTION_SUCCEEDED);
  g_assert_cmpstr (sq_prediction_get_text (run->prediction), ==, run->expected);
  g_assert_cmpstr (run->deltas->str, ==, run->expected);
  g_assert_null (sq_prediction_get_error_message (run->prediction));
  g_assert_cmpint (sq_prediction_get_total_ms (run->prediction), >=, 0);
}

/* It failed with @domain/@code and a message, and kept a true prefix of
 * the answer. */
static void
assert_failed_clearly (Run    *run,
                       GQuark  domain,
                       int     code)
{
  g_assert_false (run->ok);
  g_assert_error (run->error, domain, code);
  g_assert_nonnull (run->error->message);
  g_assert_cmpuint (strlen (run->error->message), >, 10);
  g_assert_true (g_utf8_validate (run->error->message, -1, NULL));
  g_assert_cmpstr (sq_prediction_get_error_message (run->prediction), ==, run->error->message);
  g_assert_true (g_str_has_prefix (run->expected, sq_prediction_get_text (run->prediction)));
  g_assert_cmpstr (run->deltas->str, ==, sq_prediction_get_text (run->prediction));
}

/* 429 storms */

static void
test_create_429_storm (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(Run) absorbed = NULL;
  g_autoptr(Run) too_many = NULL;
  Run *runs[4];

  /* As many 429s as the retries absorb, then a create that goes through */
  sq_fake_replicate_queue_create_429 (f->fake, MAX_ATTEMPTS - 1, 0, TRUE);
  absorbed = run_new (f, LLAVA, "Describe the dog, despite the throttling.");
  run_all (&absorbed, 1);
  assert_succeeded (absorbed);
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, MAX_ATTEMPTS);

  /* One more than that: a clear error, no prediction made, no text */
  sq_fake_replicate_clear_requests (f->fake);
  sq_fake_replicate_queue_create_429 (f->fake, MAX_ATTEMPTS, 0, FALSE);
  too_many = run_new (f, LLAVA, "Describe the dog, in vain.");
  run_all (&too_many, 1);
  assert_failed_clearly (too_many, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_RATE_LIMITED);
  g_assert_cmpstr (sq_prediction_get_text (too_many->prediction), ==, "");
  g_assert_null (sq_prediction_get_id (too_many->prediction));
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, MAX_ATTEMPTS);

  /* Four at once share a storm none of them alone can lose to */
  sq_fake_replicate_queue_create_429 (f->fake, MAX_ATTEMPTS - 1, 0, TRUE);
  runs[0] = run_new (f, LLAVA, "Storm, one.");
  runs[1] = run_new (f, FUYU, "Storm, two.");
  runs[2] = run_new (f, MINIGPT, "Storm, three.");
  runs[3] = run_new (f, COGVLM, "Storm, four.");
  run_all (runs, G_N_ELEMENTS (runs));
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      assert_succeeded (runs[i]);
      run_free (runs[i]);
    }
}

/* 5xx bursts */

static void
test_get_error_burst (Fixture       *f,
                      gconstpointer  data)
{
  static const guint statuses[] = { 500, 502, 503, 429 };

  /* Polling only: every GET of the prediction meets the burst. */
  sq_fake_replicate_set_no_stream (f->fake, TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_autofree char *prompt = g_strdup_printf ("Burst of %u.", statuses[i]);
      g_autoptr(Run) run = run_new (f, LLAVA, prompt);

      sq_fake_replicate_queue_get_errors (f->fake, MAX_ATTEMPTS - 1, statuses[i]);
      run_all (&run, 1);
      assert_succeeded (run);
    }

  /* A burst longer than one GET's retries: polling rides it out, since
   * the prediction goes on (and is paid for) on Replicate anyway. */
  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_autofree char *prompt = g_strdup_printf ("Long burst of %u.", statuses[i]);
      g_autoptr(Run) run = run_new (f, MINIGPT, prompt);

      sq_fake_replicate_queue_get_errors (f->fake, 3 * MAX_ATTEMPTS, statuses[i]);
      run_all (&run, 1);
      assert_succeeded (run);
    }

  /* Once the patience is spent: a clear error */
  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++)
    {
      g_autofree char *prompt = g_strdup_printf ("Endless %u.", statuses[i]);
      g_autoptr(Run) run = run_new (f, FUYU, prompt);

      sq_prediction_set_poll_patience (run->prediction, 0);
      sq_fake_replicate_queue_get_errors (f->fake, MAX_ATTEMPTS, statuses[i]);
      run_all (&run, 1);
      assert_failed_clearly (run, SQ_REPLICATE_ERROR,
                             statuses[i] == 429 ? SQ_REPLICATE_ERROR_RATE_LIMITED
                                                : SQ_REPLICATE_ERROR_SERVER);
      /* The prediction was made; only following it failed */
      g_assert_nonnull (sq_prediction_get_id (run->prediction));
    }
}

static void
test_get_error_burst_streaming (Fixture       *f,
                                gconstpointer  data)
{
  Run *runs[4];

  /* The GET that confirms a finished stream meets the burst */
  sq_fake_replicate_set_drop_streams_after (f->fake, 3);
  sq_fake_replicate_queue_get_errors (f->fake, MAX_ATTEMPTS - 1, 503);
  runs[0] = run_new (f, LLAVA, "Stream through the storm, one.");
  runs[1] = run_new (f, FUYU, "Stream through the storm, two.");
  runs[2] = run_new (f, MINIGPT, "Stream through the storm, three.");
  runs[3] = run_new (f, COGVLM, "Stream through the storm, four.");
  run_all (runs, G_N_ELEMENTS (runs));
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      assert_succeeded (runs[i]);
      run_free (runs[i]);
    }
}

/* Dropped, stalled and malformed streams */

static void
test_dropped_streams (Fixture       *f,
                      gconstpointer  data)
{
  /* Every stream drops (also the reconnection), after 0 to 4 events, in
   * random pieces: the rest comes from polling. */
  for (int n = 0; n <= 4; n++)
    {
      g_autofree char *prompt = g_strdup_printf ("Drop after %d.", n);
      g_autoptr(Run) run = NULL;

      sq_fake_replicate_set_seed (f->fake, 100 + n);
      sq_fake_replicate_set_answer_tokens (f->fake, 30);
      sq_fake_replicate_set_drop_streams_after (f->fake, n);
      run = run_new (f, LLAVA, prompt);
      run_all (&run, 1);
      assert_succeeded (run);
    }
}

static void
test_stalled_stream (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(Run) run = NULL;

  sq_fake_replicate_set_stall_streams (f->fake, TRUE);
  run = run_new (f, LLAVA, "Say something, anything.");
  sq_prediction_set_stream_timeout (run->prediction, 50);
  run_all (&run, 1);

  /* The silent stream was given up for polling, not reconnected */
  assert_succeeded (run);
  g_assert_cmpuint (sq_test_count_stream_requests (f->fake), ==, 1);
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "GET", "/v1/predictions/"), >=, 1);
}

static gboolean
cancel_when_streaming_cb (gpointer data)
{
  Fixture *f = ((gpointer *) data)[0];
  GCancellable *cancellable = ((gpointer *) data)[1];

  if (sq_test_count_stream_requests (f->fake) == 0)
    return G_SOURCE_CONTINUE;

  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

static void
test_stalled_stream_cancel (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(Run) run = NULL;
  g_auto(GStrv) canceled = NULL;
  gpointer cancel_data[2] = { f, cancellable };

  /* No inactivity timeout: only the cancel can end this stream */
  sq_fake_replicate_set_stall_streams (f->fake, TRUE);
  run = run_new (f, LLAVA, "Keep quiet.");
  sq_prediction_set_stream_timeout (run->prediction, 0);
  g_idle_add (cancel_when_streaming_cb, cancel_data);

  run_start (run, cancellable);
  run_wait (run);

  g_assert_error (run->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (sq_prediction_get_status (run->prediction), ==, SQ_PREDICTION_CANCELED);
  g_assert_cmpstr (sq_prediction_get_text (run->prediction), ==, "");
  canceled = sq_fake_replicate_dup_canceled_ids (f->fake);
  g_assert_nonnull (canceled);
  g_assert_true (g_strv_contains ((const char * const *) canceled, sq_prediction_get_id (run->prediction)));
}

static void
test_malformed_stream (Fixture       *f,
                       gconstpointer  data)
{
  /* Junk between the events, split at random bytes: the parser takes the
   * same events, so the stream needs no repair and no reconnection. */
  sq_fake_replicate_set_malformed_streams (f->fake, TRUE);

  for (guint32 seed = 1; seed <= 4; seed++)
    {
      g_autofree char *prompt = g_strdup_printf ("Read through the junk, take %u.", seed);
      g_autoptr(Run) run = NULL;

      sq_fake_replicate_clear_requests (f->fake);
      sq_fake_replicate_set_seed (f->fake, seed);
      sq_fake_replicate_set_answer_tokens (f->fake, 15 + seed * 5);
      run = run_new (f, seed % 2 ? LLAVA : FUYU, prompt);
      run_all (&run, 1);
      assert_succeeded (run);
      g_assert_cmpuint (run->n_resets, ==, 0);
      g_assert_cmpuint (sq_test_count_stream_requests (f->fake), ==, 1);
    }

  /* Junk and a drop together */
  {
    g_autoptr(Run) run = NULL;

    sq_fake_replicate_set_drop_streams_after (f->fake, 2);
    run = run_new (f, LLAVA, "Junk, then nothing.");
    run_all (&run, 1);
    assert_succeeded (run);
  }
}

/* Malformed JSON */

static void
test_malformed_json (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(Run) run = NULL;

  /* The first GET of a polled prediction is cut short */
  sq_fake_replicate_set_no_stream (f->fake, TRUE);
  sq_fake_replicate_queue_get_malformed (f->fake, 1);
  run = run_new (f, LLAVA, "Answer in broken JSON.");
  run_all (&run, 1);

  assert_failed_clearly (run, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (run->error->message, "malformed JSON"));
  g_assert_nonnull (sq_prediction_get_id (run->prediction));

  /* The next prediction, with the fault gone, is not affected */
  {
    g_autoptr(Run) next = run_new (f, LLAVA, "Answer in good JSON.");

    run_all (&next, 1);
    assert_succeeded (next);
  }
}

/* A server that goes away */

static gboolean
stop_fake_cb (gpointer data)
{
  sq_fake_replicate_stop (data);
  return G_SOURCE_REMOVE;
}

static void
test_server_gone_mid_stream (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(Run) run = NULL;

  sq_fake_replicate_set_answer_tokens (f->fake, 200);
  run = run_new (f, LLAVA, "[[slow]] Describe the dog at length.");
  sq_prediction_set_poll_patience (run->prediction, 300);
  run->on_first_delta = stop_fake_cb;
  run->on_first_delta_data = f->fake;
  run_all (&run, 1);

  /* Reconnecting and polling both fail: a clear transport error, with
   * the text that came before it intact. */
  g_assert_false (run->ok);
  g_assert_nonnull (run->error);
  g_assert_false (g_error_matches (run->error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_assert_true (g_str_has_prefix (run->error->message, "Could not reach Replicate"));
  g_assert_cmpstr (sq_prediction_get_error_message (run->prediction), ==, run->error->message);
  g_assert_cmpuint (run->n_deltas, >=, 1);
  g_assert_cmpuint (strlen (sq_prediction_get_text (run->prediction)), <, strlen (run->expected));
  g_assert_true (g_str_has_prefix (run->expected, sq_prediction_get_text (run->prediction)));
  g_assert_cmpstr (run->deltas->str, ==, sq_prediction_get_text (run->prediction));
  g_assert_cmpint (sq_prediction_get_status (run->prediction), !=, SQ_PREDICTION_SUCCEEDED);
}

static void
test_server_gone_polling (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(Run) run = NULL;

  sq_fake_replicate_set_no_stream (f->fake, TRUE);
  sq_fake_replicate_set_answer_tokens (f->fake, 200);
  run = run_new (f, LLAVA, "[[slow]] Poll me until the end.");
  /* A little patience, then a clear error: the server is gone for good. */
  sq_prediction_set_poll_patience (run->prediction, 300);
  run->on_first_delta = stop_fake_cb;
  run->on_first_delta_data = f->fake;
  run_all (&run, 1);

  g_assert_false (run->ok);
  g_assert_nonnull (run->error);
  g_assert_true (g_str_has_prefix (run->error->message, "Could not reach Replicate"));
  g_assert_cmpstr (sq_prediction_get_error_message (run->prediction), ==, run->error->message);
  g_assert_true (g_str_has_prefix (run->expected, sq_prediction_get_text (run->prediction)));
  g_assert_cmpstr (run->deltas->str, ==, sq_prediction_get_text (run->prediction));
}

static void
test_server_gone_before_create (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(Run) run = NULL;

  sq_fake_replicate_stop (f->fake);
  run = run_new (f, LLAVA, "Is anyone there?");
  run_all (&run, 1);

  g_assert_false (run->ok);
  g_assert_nonnull (run->error);
  g_assert_true (g_str_has_prefix (run->error->message, "Could not reach Replicate"));
  g_assert_cmpint (sq_prediction_get_status (run->prediction), ==, SQ_PREDICTION_FAILED);
  g_assert_cmpstr (sq_prediction_get_error_message (run->prediction), ==, run->error->message);
  g_assert_cmpstr (sq_prediction_get_text (run->prediction), ==, "");
  g_assert_null (sq_prediction_get_id (run->prediction));
}

/* Everything at once */

static void
test_chaos (Fixture       *f,
            gconstpointer  data)
{
  static const char * const models[] = { LLAVA, FUYU, MINIGPT, COGVLM };
  Run *runs[8];

  sq_fake_replicate_set_seed (f->fake, 7);
  sq_fake_replicate_set_malformed_streams (f->fake, TRUE);
  sq_fake_replicate_set_drop_streams_after (f->fake, 2);
  sq_fake_replicate_queue_create_429 (f->fake, MAX_ATTEMPTS - 1, 0, TRUE);
  sq_fake_replicate_queue_get_errors (f->fake, MAX_ATTEMPTS - 1, 502);

  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_autofree char *prompt = g_strdup_printf ("%sChaos number %u.", i == 3 ? "[[drop]] " : "", i);

      runs[i] = run_new (f, models[i % G_N_ELEMENTS (models)], prompt);
      sq_prediction_set_stream_timeout (runs[i]->prediction, 2000);
    }
  run_all (runs, G_N_ELEMENTS (runs));

  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      assert_succeeded (runs[i]);
      run_free (runs[i]);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/faults/" path, Fixture, NULL, sq_test_fake_fixture_set_up, func, sq_test_fake_fixture_tear_down)

  ADD ("create-429-storm", test_create_429_storm);
  ADD ("get-error-burst", test_get_error_burst);
  ADD ("get-error-burst-streaming", test_get_error_burst_streaming);
  ADD ("dropped-streams", test_dropped_streams);
  ADD ("stalled-stream", test_stalled_stream);
  ADD ("stalled-stream-cancel", test_stalled_stream_cancel);
  ADD ("malformed-stream", test_malformed_stream);
  ADD ("malformed-json", test_malformed_json);
  ADD ("server-gone-mid-stream", test_server_gone_mid_stream);
  ADD ("server-gone-polling", test_server_gone_polling);
  ADD ("server-gone-before-create", test_server_gone_before_create);
  ADD ("chaos", test_chaos);

#undef ADD

  return g_test_run ();
}
