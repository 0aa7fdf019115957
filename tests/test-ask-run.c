/* test-ask-run.c
 *
 * SqAskRun: one Ask answer against the fake Replicate, stored in a
 * project as it streams.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>

#include "sq-ask-run.h"
#include "sq-config.h"
#include "sq-fake-replicate.h"
#include "sq-model-catalog.h"
#include "sq-test-util.h"

static char *tmpdir;

typedef struct
{
  SqFakeReplicate   *fake;
  SqReplicateClient *client;
  SqModelCatalog    *catalog;
  SqProject         *project;
  SqImage           *image;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  fixture->fake = sq_fake_replicate_new ();
  sq_test_setenv_fake (fixture->fake);
  sq_config_create_client_async (NULL, sq_test_store_result_cb, &result);
  fixture->client = sq_config_create_client_finish (sq_test_wait_result (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  fixture->catalog = sq_model_catalog_new (fixture->client, NULL);

  path = g_build_filename (tmpdir, "ask.squint", NULL);
  g_unlink (path);
  fixture->project = sq_project_open (path, &error);
  g_assert_no_error (error);

  bytes = sq_test_make_filled_png (32, 24, FALSE, 0x3366ccff);
  sq_image_load_bytes_async (bytes, "blue.png", NULL, sq_test_store_result_cb, &result);
  fixture->image = sq_image_load_finish (sq_test_wait_result (&result), &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_clear_object (&fixture->image);
  g_clear_object (&fixture->project);
  g_clear_object (&fixture->catalog);
  g_clear_object (&fixture->client);
  g_clear_object (&fixture->fake);
  g_unsetenv ("REPLICATE_BASE_URL");
  g_unsetenv ("REPLICATE_API_TOKEN");
}

static SqModel *
resolve (Fixture    *fixture,
         const char *name)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  SqModel *model;

  sq_model_catalog_resolve_async (fixture->catalog, name, NULL, sq_test_store_result_cb, &result);
  model = sq_model_catalog_resolve_finish (fixture->catalog, sq_test_wait_result (&result), &error);
  g_assert_no_error (error);

  return model;
}

static void
record_status_cb (SqAskRun   *run,
                  GParamSpec *pspec,
                  GString    *statuses)
{
  g_string_append_printf (statuses, "%s ",
                          sq_prediction_status_to_string (sq_ask_run_get_status (run)));
}

static void
append_cb (SqAskRun   *run,
           const char *text,
           GString    *streamed)
{
  g_string_append (streamed, text);
}

static void
test_succeeds (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(SqModel) model = resolve (fixture, "llava-13b");
  g_autoptr(SqAskRun) run = NULL;
  g_autoptr(SqAskRun) again = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqResult) row = NULL;
  g_autoptr(GString) statuses = g_string_new ("");
  g_autoptr(GString) streamed = g_string_new ("");
  g_autoptr(GHashTable) settings = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *expected = NULL;

  sq_fake_replicate_set_answer_tokens (fixture->fake, 30);
  g_hash_table_insert (settings, (char *) "temperature", (char *) "0.5");
  run = sq_ask_run_new (fixture->project, fixture->client, model, settings,
                        fixture->image, "what is shown in this image?");
  g_signal_connect (run, "notify::status", G_CALLBACK (record_status_cb), statuses);
  g_signal_connect (run, "delta", G_CALLBACK (append_cb), streamed);

  sq_ask_run_run_async (run, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_ask_run_run_finish (run, sq_test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  expected = sq_fake_replicate_expected_answer (fixture->fake, "yorickvp/llava-13b",
                                                sq_image_get_hash (fixture->image),
                                                "what is shown in this image?");
  g_assert_cmpstr (sq_ask_run_get_text (run), ==, expected);
  g_assert_cmpstr (streamed->str, ==, expected);
  g_assert_cmpstr (statuses->str, ==, "starting processing succeeded ");
  g_assert_cmpint (sq_ask_run_get_ttft_ms (run), >=, 0);
  g_assert_cmpint (sq_ask_run_get_total_ms (run), >=, sq_ask_run_get_ttft_ms (run));

  /* It is in the project, finished, with its prediction id and settings. */
  g_assert_cmpint (sq_ask_run_get_result_id (run), >, 0);
  row = sq_project_get_result (fixture->project, sq_ask_run_get_result_id (run), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_result_get_status (row), ==, "succeeded");
  g_assert_cmpstr (sq_result_get_response (row), ==, expected);
  g_assert_cmpstr (sq_result_get_prompt (row), ==, "what is shown in this image?");
  g_assert_nonnull (sq_result_get_prediction_id (row));
  g_assert_cmpint (sq_result_get_run (row), ==, 0);
  g_clear_object (&row);

  /* Asking again is a new run of the same cell. */
  again = sq_ask_run_new_again (run);
  sq_ask_run_run_async (again, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_ask_run_run_finish (again, sq_test_wait_result (&result), &error));
  g_assert_cmpint (sq_ask_run_get_result_id (again), !=, sq_ask_run_get_result_id (run));
  row = sq_project_get_result (fixture->project, sq_ask_run_get_result_id (again), &error);
  g_assert_cmpint (sq_result_get_run (row), ==, 1);

  /* Running twice is refused. */
  g_clear_object (&result);
  sq_ask_run_run_async (run, NULL, sq_test_store_result_cb, &result);
  g_assert_false (sq_ask_run_run_finish (run, sq_test_wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
}

static void
test_fails (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(SqModel) model = resolve (fixture, "fuyu-8b");
  g_autoptr(SqAskRun) run = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqResult) row = NULL;

  run = sq_ask_run_new (fixture->project, fixture->client, model, NULL,
                        fixture->image, "[[fail]] what?");
  sq_ask_run_run_async (run, NULL, sq_test_store_result_cb, &result);
  g_assert_false (sq_ask_run_run_finish (run, sq_test_wait_result (&result), &error));
  g_assert_nonnull (error);
  g_assert_cmpint (sq_ask_run_get_status (run), ==, SQ_PREDICTION_FAILED);
  g_assert_nonnull (sq_ask_run_get_error_message (run));
  g_assert_cmpstr (error->message, ==, sq_ask_run_get_error_message (run));

  row = sq_project_get_result (fixture->project, sq_ask_run_get_result_id (run), NULL);
  g_assert_cmpstr (sq_result_get_status (row), ==, "failed");
  g_assert_cmpstr (sq_result_get_error (row), ==, sq_ask_run_get_error_message (run));
}

static void
stop_when_streaming_cb (SqAskRun   *run,
                        const char *text,
                        gpointer    user_data)
{
  sq_ask_run_stop (run);
}

static void
test_stop (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(SqModel) model = resolve (fixture, "llava-13b");
  g_autoptr(SqAskRun) run = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqResult) row = NULL;
  g_auto(GStrv) canceled = NULL;

  sq_fake_replicate_set_answer_tokens (fixture->fake, 500);
  sq_fake_replicate_set_token_delay_ms (fixture->fake, 20);
  run = sq_ask_run_new (fixture->project, fixture->client, model, NULL,
                        fixture->image, "stop me");
  g_signal_connect (run, "delta", G_CALLBACK (stop_when_streaming_cb), NULL);
  sq_ask_run_run_async (run, NULL, sq_test_store_result_cb, &result);
  g_assert_false (sq_ask_run_run_finish (run, sq_test_wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (sq_ask_run_get_status (run), ==, SQ_PREDICTION_CANCELED);

  row = sq_project_get_result (fixture->project, sq_ask_run_get_result_id (run), NULL);
  g_assert_cmpstr (sq_result_get_status (row), ==, "canceled");
  canceled = sq_fake_replicate_dup_canceled_ids (fixture->fake);
  g_assert_true (g_strv_contains ((const char * const *) canceled, sq_result_get_prediction_id (row)));
}

static void
test_no_project (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(SqModel) model = resolve (fixture, "cogvlm");
  g_autoptr(SqAskRun) run = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;

  run = sq_ask_run_new (NULL, fixture->client, model, NULL, fixture->image, "hi");
  sq_ask_run_run_async (run, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_ask_run_run_finish (run, sq_test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpint (sq_ask_run_get_result_id (run), ==, 0);
  expected = sq_fake_replicate_expected_answer (fixture->fake, "naklecha/cogvlm",
                                                sq_image_get_hash (fixture->image), "hi");
  g_assert_cmpstr (sq_ask_run_get_text (run), ==, expected);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  tmpdir = sq_test_make_xdg_tmpdir ("squint-ask-run-XXXXXX");

  g_test_init (&argc, &argv, NULL);

  g_test_add ("/ask-run/succeeds", Fixture, NULL, fixture_set_up, test_succeeds, fixture_tear_down);
  g_test_add ("/ask-run/fails", Fixture, NULL, fixture_set_up, test_fails, fixture_tear_down);
  g_test_add ("/ask-run/stop", Fixture, NULL, fixture_set_up, test_stop, fixture_tear_down);
  g_test_add ("/ask-run/no-project", Fixture, NULL, fixture_set_up, test_no_project, fixture_tear_down);

  ret = g_test_run ();

  g_free (tmpdir);

  return ret;
}
