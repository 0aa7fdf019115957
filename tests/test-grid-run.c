/* test-grid-run.c
 *
 * SqGridRun against the in-process fake Replicate: the whole grid with
 * the right answer in every cell, the concurrency limit (from the fake's
 * own prediction timestamps), failing cells, retries, pause, cancel, and
 * resuming a prediction by its id.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sq-error.h"
#include "sq-grid-run.h"
#include "sq-image.h"
#include "sq-model.h"
#include "sq-model-catalog.h"
#include "sq-prediction.h"
#include "sq-project.h"
#include "sq-replicate-client.h"
#include "sq-fake-replicate.h"
#include "sq-test-util.h"


typedef struct
{
  SqFakeReplicate   *fake;
  SqReplicateClient *client;
  SqModelCatalog    *catalog;
  SqProject         *project;
  char              *tmpdir;
  char              *project_path;
  GPtrArray         *images;   /* (element-type SqImage) */
  GPtrArray         *models;   /* (element-type SqModel) in sq_test_model_names order */
} Fixture;

static SqImage *
load_image (GBytes     *bytes,
            const char *name)
{
  g_autoptr(GError) error = NULL;
  SqImage *image = sq_test_load_image_bytes (bytes, name, &error);

  g_assert_no_error (error);

  return image;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) cache = NULL;
  g_autofree char *cache_path = NULL;

  f->fake = sq_fake_replicate_new ();
  f->client = sq_replicate_client_new (sq_fake_replicate_get_origin (f->fake),
                                       SQ_FAKE_REPLICATE_TOKEN, &error);
  g_assert_no_error (error);
  sq_replicate_client_set_retry_policy (f->client, 6, 1, 5);

  f->tmpdir = g_dir_make_tmp ("squint-test-grid-XXXXXX", &error);
  g_assert_no_error (error);
  cache_path = g_build_filename (f->tmpdir, "cache", NULL);
  cache = g_file_new_for_path (cache_path);
  f->catalog = sq_model_catalog_new (f->client, cache);

  f->project_path = g_build_filename (f->tmpdir, "grid.squint", NULL);
  f->project = sq_project_open (f->project_path, &error);
  g_assert_no_error (error);

  f->images = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) png = sq_test_make_filled_png (24 + i * 8, 24 + i * 8, FALSE,
                                                           0x10203000 | ((guint32) 40 * (i + 1) << 24));
      g_autofree char *name = g_strdup_printf ("image-%u.png", i);

      g_ptr_array_add (f->images, load_image (png, name));
    }

  f->models = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint m = 0; m < G_N_ELEMENTS (sq_test_model_names); m++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      SqModel *model;

      sq_model_catalog_resolve_async (f->catalog, sq_test_model_names[m], NULL, sq_test_store_result_cb, &result);
      model = sq_model_catalog_resolve_finish (f->catalog, sq_test_wait_result (&result), &error);
      g_assert_no_error (error);
      g_ptr_array_add (f->models, model);
    }

  sq_fake_replicate_clear_requests (f->fake);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->project);
  g_clear_pointer (&f->images, g_ptr_array_unref);
  g_clear_pointer (&f->models, g_ptr_array_unref);
  g_clear_object (&f->catalog);
  g_clear_object (&f->client);
  g_clear_object (&f->fake);
  sq_test_remove_tree (f->tmpdir);
  g_free (f->tmpdir);
  g_free (f->project_path);
}

static SqGridRun *
new_grid (Fixture            *f,
          const char * const *prompts,
          guint               n_images,
          guint               n_models)
{
  SqGridRun *grid = sq_grid_run_new (f->project, f->client, f->catalog);
  g_autoptr(GError) error = NULL;

  sq_grid_run_set_poll_interval_ms (grid, 10);
  for (guint p = 0; prompts[p] != NULL; p++)
    sq_grid_run_add_prompt (grid, prompts[p]);
  for (guint i = 0; i < n_images; i++)
    sq_grid_run_add_image (grid, g_ptr_array_index (f->images, i));
  for (guint m = 0; m < n_models; m++)
    {
      sq_grid_run_add_model (grid, g_ptr_array_index (f->models, m), NULL, &error);
      g_assert_no_error (error);
    }

  return grid;
}

/* Runs @grid to the end; returns what run_finish said. */
static gboolean
run_grid (SqGridRun     *grid,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_grid_run_run_async (grid, cancellable, sq_test_store_result_cb, &result);
  return sq_grid_run_run_finish (grid, sq_test_wait_result (&result), error);
}

/* Every result of the project: its answer is the one its own model,
 * image and prompt produce. Returns the number of results. */
static guint
assert_answers (Fixture    *f,
                const char *status_wanted)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = sq_project_list_results (f->project, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    {
      SqResult *result = g_ptr_array_index (results, i);
      g_autofree char *expected = NULL;

      if (status_wanted != NULL)
        g_assert_cmpstr (sq_result_get_status (result), ==, status_wanted);
      if (!g_str_equal (sq_result_get_status (result), "succeeded"))
        continue;

      expected = sq_fake_replicate_expected_answer (f->fake,
                                                    sq_test_model_ref_for (sq_result_get_model_name (result)),
                                                    sq_result_get_image_sha256 (result),
                                                    sq_result_get_prompt (result));
      g_assert_cmpstr (sq_result_get_response (result), ==, expected);
      g_assert_nonnull (sq_result_get_prediction_id (result));
      g_assert_cmpint (sq_result_get_total_ms (result), >=, 0);
    }

  return results->len;
}

static guint
count_creates (Fixture *f)
{
  return sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions") -
         sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions/");
}

static GDateTime *
member_time (JsonObject *object,
             const char *member)
{
  const char *text = json_object_get_string_member_with_default (object, member, NULL);

  g_assert_nonnull (text);
  return g_date_time_new_from_iso8601 (text, NULL);
}

typedef struct
{
  GDateTime *when;
  int        delta;
} Event;

static int
compare_events (gconstpointer a,
                gconstpointer b)
{
  const Event *x = a, *y = b;
  int c = g_date_time_compare (x->when, y->when);

  /* An end and a start at the same instant do not overlap. */
  return c != 0 ? c : x->delta - y->delta;
}

/* The most predictions the fake had alive at once, from its own created_at
 * and completed_at of every prediction created so far. */
static guint
max_simultaneous_predictions (Fixture *f)
{
  g_autoptr(GArray) events = g_array_new (FALSE, FALSE, sizeof (Event));
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int level = 0, max = 0;

  /* The ids come from the project: every result row names its prediction. */
  {
    g_autoptr(GPtrArray) results = sq_project_list_results (f->project, NULL);

    for (guint i = 0; i < results->len; i++)
      {
        const char *id = sq_result_get_prediction_id (g_ptr_array_index (results, i));
        g_autoptr(JsonObject) prediction = NULL;
        Event start, end;

        if (id == NULL || g_hash_table_contains (seen, id))
          continue;
        g_hash_table_add (seen, g_strdup (id));

        prediction = sq_fake_replicate_dup_prediction (f->fake, id);
        g_assert_nonnull (prediction);
        start.when = member_time (prediction, "created_at");
        start.delta = 1;
        end.when = member_time (prediction, "completed_at");
        end.delta = -1;
        g_array_append_val (events, start);
        g_array_append_val (events, end);
      }
  }

  g_array_sort (events, compare_events);
  for (guint i = 0; i < events->len; i++)
    {
      Event *event = &g_array_index (events, Event, i);

      level += event->delta;
      max = MAX (max, level);
      g_date_time_unref (event->when);
    }

  return max;
}

static void
track_running_cb (SqGridRun  *grid,
                  GParamSpec *pspec,
                  guint      *max_running)
{
  *max_running = MAX (*max_running, sq_grid_run_get_n_running (grid));
}

static void
count_signal_cb (SqGridRun *grid,
                 gint64     result_id,
                 guint     *count)
{
  (*count)++;
}

static void
count_signal2_cb (SqGridRun  *grid,
                  gint64      result_id,
                  const char *text,
                  guint      *count)
{
  (*count)++;
}

static void
test_full_grid (Fixture       *f,
                gconstpointer  data)
{
  const char *prompts[] = { "What is shown here?", "Count the objects", "Describe the colours", NULL };
  g_autoptr(SqGridRun) grid = new_grid (f, prompts, 3, 4);
  g_autoptr(GError) error = NULL;
  guint max_running = 0, n_started = 0, n_finished = 0;

  /* Slow enough that every started cell is still alive when the next ones start. */
  sq_fake_replicate_set_token_delay_ms (f->fake, 5);
  sq_grid_run_set_concurrency (grid, 3);
  g_signal_connect (grid, "notify::n-running", G_CALLBACK (track_running_cb), &max_running);
  g_signal_connect (grid, "cell-started", G_CALLBACK (count_signal_cb), &n_started);
  g_signal_connect (grid, "cell-finished", G_CALLBACK (count_signal2_cb), &n_finished);

  g_assert_cmpint (sq_grid_run_get_state (grid), ==, SQ_GRID_RUN_STATE_IDLE);
  g_assert_true (run_grid (grid, NULL, &error));
  g_assert_no_error (error);

  g_assert_cmpint (sq_grid_run_get_state (grid), ==, SQ_GRID_RUN_STATE_FINISHED);
  g_assert_cmpuint (sq_grid_run_get_n_cells (grid), ==, 36);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 36);
  g_assert_cmpuint (sq_grid_run_get_n_failed (grid), ==, 0);
  g_assert_cmpuint (sq_grid_run_get_n_queued (grid), ==, 0);
  g_assert_cmpuint (sq_grid_run_get_n_running (grid), ==, 0);
  g_assert_cmpuint (n_started, ==, 36);
  g_assert_cmpuint (n_finished, ==, 36);
  g_assert_cmpint (sq_grid_run_get_eta_seconds (grid), ==, 0);

  g_assert_cmpuint (assert_answers (f, "succeeded"), ==, 36);
  g_assert_cmpuint (count_creates (f), ==, 36);

  /* The limit held, on the runner's side and on the server's. */
  g_assert_cmpuint (max_running, ==, 3);
  g_assert_cmpuint (max_simultaneous_predictions (f), <=, 3);
  g_assert_cmpuint (max_simultaneous_predictions (f), >=, 2);

  /* The inputs are in the project once each. */
  {
    g_autoptr(GPtrArray) prompt_rows = sq_project_list_prompts (f->project, NULL);
    g_autoptr(GPtrArray) image_rows = sq_project_list_images (f->project, NULL);
    g_autoptr(GPtrArray) model_rows = sq_project_list_models (f->project, NULL);

    g_assert_cmpuint (prompt_rows->len, ==, 3);
    g_assert_cmpuint (image_rows->len, ==, 3);
    g_assert_cmpuint (model_rows->len, ==, 4);
  }

  /* Running it again: nothing left to do, nothing created. */
  g_assert_true (run_grid (grid, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sq_grid_run_get_n_cells (grid), ==, 0);
  g_assert_cmpuint (count_creates (f), ==, 36);

  /* --rerun: a second run of every cell. */
  sq_grid_run_set_rerun (grid, TRUE);
  sq_grid_run_set_concurrency (grid, 8);
  g_assert_true (run_grid (grid, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sq_grid_run_get_n_cells (grid), ==, 36);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 36);
  g_assert_cmpuint (assert_answers (f, "succeeded"), ==, 72);
  g_assert_cmpuint (count_creates (f), ==, 72);
}

static void
test_params (Fixture       *f,
             gconstpointer  data)
{
  const char *prompts[] = { "Short answer please", NULL };
  g_autoptr(SqGridRun) grid = sq_grid_run_new (f->project, f->client, f->catalog);
  g_autoptr(GHashTable) settings = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) bad = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GPtrArray) model_rows = NULL;
  g_autoptr(GError) error = NULL;
  SqModelRecord *record;
  gboolean found = FALSE;

  g_hash_table_insert (settings, (char *) "temperature", (char *) "0.25");
  g_hash_table_insert (settings, (char *) "top_p", (char *) "0.5");
  g_hash_table_insert (bad, (char *) "top_p", (char *) "7");

  g_assert_false (sq_grid_run_add_model (grid, g_ptr_array_index (f->models, 0), bad, &error));
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  g_clear_error (&error);

  g_assert_true (sq_grid_run_add_model (grid, g_ptr_array_index (f->models, 0), settings, &error));
  g_assert_no_error (error);
  sq_grid_run_add_prompt (grid, prompts[0]);
  sq_grid_run_add_image (grid, g_ptr_array_index (f->images, 0));
  g_assert_true (run_grid (grid, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 1);

  /* Stored with the model row, keys sorted. */
  model_rows = sq_project_list_models (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (model_rows->len, ==, 1);
  record = g_ptr_array_index (model_rows, 0);
  g_assert_cmpstr (record->params_json, ==, "{\"temperature\":0.25,\"top_p\":0.5}");

  /* And sent. */
  requests = sq_fake_replicate_dup_requests (f->fake);
  for (guint i = 0; i < requests->len; i++)
    {
      SqFakeRequest *request = g_ptr_array_index (requests, i);
      JsonObject *input;

      if (!g_str_equal (request->method, "POST") || !g_str_equal (request->path, "/v1/predictions"))
        continue;

      input = json_object_get_object_member (json_node_get_object (request->body), "input");
      g_assert_cmpfloat (json_object_get_double_member (input, "temperature"), ==, 0.25);
      g_assert_cmpfloat (json_object_get_double_member (input, "top_p"), ==, 0.5);
      g_assert_cmpstr (json_object_get_string_member (input, "prompt"), ==, prompts[0]);
      found = TRUE;
    }
  g_assert_true (found);
}

static void
test_failing_cell (Fixture       *f,
                   gconstpointer  data)
{
  const char *prompts[] = { "fine question", "[[fail]] doomed question", "another fine one", NULL };
  g_autoptr(SqGridRun) grid = new_grid (f, prompts, 2, 4);
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;

  sq_grid_run_set_concurrency (grid, 4);
  /* Cells failing never stop the run: it completes without error. */
  g_assert_true (run_grid (grid, NULL, &error));
  g_assert_no_error (error);

  g_assert_cmpuint (sq_grid_run_get_n_cells (grid), ==, 24);
  g_assert_cmpuint (sq_grid_run_get_n_failed (grid), ==, 8);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 16);

  results = sq_project_list_results (f->project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 24);
  for (guint i = 0; i < results->len; i++)
    {
      SqResult *result = g_ptr_array_index (results, i);

      if (strstr (sq_result_get_prompt (result), "[[fail]]") != NULL)
        {
          g_assert_cmpstr (sq_result_get_status (result), ==, "failed");
          g_assert_nonnull (sq_result_get_error (result));
          g_assert_cmpstr (sq_result_get_error (result), !=, "");
          g_assert_cmpstr (sq_grid_run_get_cell_error (grid, sq_result_get_id (result)), ==,
                           sq_result_get_error (result));
        }
      else
        {
          g_assert_cmpstr (sq_result_get_status (result), ==, "succeeded");
        }
    }
  assert_answers (f, NULL);
}

static void
test_retry_failed (Fixture       *f,
                   gconstpointer  data)
{
  const char *prompts[] = { "first", "second", NULL };
  g_autoptr(SqGridRun) grid = new_grid (f, prompts, 2, 2);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* No retries in the client: three creates answer 429 and their cells fail. */
  sq_replicate_client_set_retry_policy (f->client, 1, 1, 1);
  sq_fake_replicate_queue_create_429 (f->fake, 3, 0, TRUE);
  sq_grid_run_set_concurrency (grid, 1);

  g_assert_true (run_grid (grid, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sq_grid_run_get_n_cells (grid), ==, 8);
  g_assert_cmpuint (sq_grid_run_get_n_failed (grid), ==, 3);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 5);

  sq_fake_replicate_clear_requests (f->fake);
  sq_grid_run_retry_failed_async (grid, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_grid_run_retry_failed_finish (grid, sq_test_wait_result (&result), &error));
  g_assert_no_error (error);

  /* Only the three failed cells ran again, and now they succeeded. */
  g_assert_cmpuint (sq_grid_run_get_n_cells (grid), ==, 3);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 3);
  g_assert_cmpuint (count_creates (f), ==, 3);
  g_assert_cmpuint (assert_answers (f, "succeeded"), ==, 8);
}

typedef struct
{
  SqGridRun *grid;
  guint      n_started;
  gboolean   paused;
} PauseData;

static void
pause_on_first_start_cb (SqGridRun *grid,
                         gint64     result_id,
                         PauseData *data)
{
  data->n_started++;
  if (!data->paused)
    {
      data->paused = TRUE;
      sq_grid_run_pause (grid);
    }
}

static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_pause_resume (Fixture       *f,
                   gconstpointer  data)
{
  const char *prompts[] = { "one", "two", NULL };
  g_autoptr(SqGridRun) grid = new_grid (f, prompts, 2, 2);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  PauseData pause = { grid, 0, FALSE };
  gboolean waited = FALSE;

  sq_grid_run_set_concurrency (grid, 2);
  g_signal_connect (grid, "cell-started", G_CALLBACK (pause_on_first_start_cb), &pause);
  sq_grid_run_run_async (grid, NULL, sq_test_store_result_cb, &result);

  /* Paused as the first cell starts: it finishes, nothing else starts. */
  while (!(pause.paused && sq_grid_run_get_n_running (grid) == 0))
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (sq_grid_run_get_state (grid), ==, SQ_GRID_RUN_STATE_PAUSED);
  g_assert_cmpuint (pause.n_started, ==, 1);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 1);
  g_assert_cmpuint (sq_grid_run_get_n_queued (grid), ==, 7);

  /* Stay paused a little while: still nothing starts and the run goes on. */
  g_timeout_add (100, set_flag_cb, &waited);
  while (!waited)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (result);
  g_assert_cmpuint (pause.n_started, ==, 1);
  g_assert_cmpuint (count_creates (f), ==, 1);

  sq_grid_run_resume (grid);
  g_assert_true (sq_grid_run_run_finish (grid, sq_test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pause.n_started, ==, 8);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 8);
  g_assert_cmpuint (assert_answers (f, "succeeded"), ==, 8);
}

static void
test_cancel_while_paused (Fixture       *f,
                          gconstpointer  data)
{
  const char *prompts[] = { "one", "two", NULL };
  g_autoptr(SqGridRun) grid = new_grid (f, prompts, 1, 2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  PauseData pause = { grid, 0, FALSE };

  g_signal_connect (grid, "cell-started", G_CALLBACK (pause_on_first_start_cb), &pause);
  sq_grid_run_run_async (grid, cancellable, sq_test_store_result_cb, &result);
  while (!(pause.paused && sq_grid_run_get_n_running (grid) == 0))
    g_main_context_iteration (NULL, TRUE);

  /* Nothing is running: the run ends as soon as it is cancelled. */
  g_cancellable_cancel (cancellable);
  g_assert_false (sq_grid_run_run_finish (grid, sq_test_wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (sq_grid_run_get_state (grid), ==, SQ_GRID_RUN_STATE_FINISHED);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 1);
  g_assert_cmpuint (sq_grid_run_get_n_queued (grid), ==, 3);
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  const char *prompts[] = { "long one", "long two", NULL };
  /* llava-13b streams its tokens, so every running cell has text early. */
  g_autoptr(SqGridRun) grid = new_grid (f, prompts, 2, 1);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) canceled_ids = NULL;
  guint n_canceled_rows = 0, n_queued_rows = 0;
  guint n_deltas = 0;

  sq_fake_replicate_set_answer_tokens (f->fake, 5000);
  sq_grid_run_set_concurrency (grid, 3);
  g_signal_connect (grid, "cell-delta", G_CALLBACK (count_signal2_cb), &n_deltas);
  sq_grid_run_run_async (grid, cancellable, sq_test_store_result_cb, &result);

  /* Three cells streaming, each with its prediction id stored. */
  while (TRUE)
    {
      g_autoptr(GPtrArray) rows = NULL;
      guint with_text = 0;

      g_main_context_iteration (NULL, TRUE);
      g_assert_null (result);
      if (sq_grid_run_get_n_running (grid) < 3)
        continue;
      rows = sq_project_list_unfinished (f->project, &error);
      g_assert_no_error (error);
      for (guint i = 0; i < rows->len; i++)
        with_text += *sq_result_get_response (g_ptr_array_index (rows, i)) != '\0';
      if (with_text == 3)
        break;
    }
  g_assert_cmpuint (n_deltas, >, 0);

  g_cancellable_cancel (cancellable);
  g_assert_false (sq_grid_run_run_finish (grid, sq_test_wait_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&result);

  g_assert_cmpint (sq_grid_run_get_state (grid), ==, SQ_GRID_RUN_STATE_FINISHED);
  g_assert_cmpuint (sq_grid_run_get_n_canceled (grid), ==, 3);
  g_assert_cmpuint (sq_grid_run_get_n_queued (grid), ==, 1);

  /* Canceled on Replicate too, and marked so; the rest is still queued. */
  canceled_ids = sq_fake_replicate_dup_canceled_ids (f->fake);
  g_assert_cmpuint (g_strv_length (canceled_ids), ==, 3);
  results = sq_project_list_results (f->project, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    {
      SqResult *row = g_ptr_array_index (results, i);

      if (g_str_equal (sq_result_get_status (row), "canceled"))
        {
          n_canceled_rows++;
          g_assert_true (g_strv_contains ((const char * const *) canceled_ids,
                                          sq_result_get_prediction_id (row)));
          g_assert_cmpstr (sq_result_get_response (row), !=, "");
        }
      else
        {
          g_assert_cmpstr (sq_result_get_status (row), ==, "queued");
          n_queued_rows++;
        }
    }
  g_assert_cmpuint (n_canceled_rows, ==, 3);
  g_assert_cmpuint (n_queued_rows, ==, 1);

  /* A new run completes the grid. */
  sq_fake_replicate_set_answer_tokens (f->fake, 12);
  g_assert_true (run_grid (grid, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sq_grid_run_get_n_cells (grid), ==, 4);
  g_assert_cmpuint (assert_answers (f, "succeeded"), ==, 4);
}

static void
test_streams_into_project (Fixture       *f,
                           gconstpointer  data)
{
  const char *prompts[] = { "tell me a lot", NULL };
  g_autoptr(SqGridRun) grid = new_grid (f, prompts, 1, 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gboolean seen_partial = FALSE;

  /* A long, steady stream: the project has part of it before it ends. */
  sq_fake_replicate_set_answer_tokens (f->fake, 400);
  sq_fake_replicate_set_token_delay_ms (f->fake, 3);
  sq_grid_run_run_async (grid, NULL, sq_test_store_result_cb, &result);

  while (result == NULL)
    {
      g_autoptr(GPtrArray) rows = NULL;

      g_main_context_iteration (NULL, TRUE);
      rows = sq_project_list_unfinished (f->project, &error);
      g_assert_no_error (error);
      if (rows->len == 1 && *sq_result_get_response (g_ptr_array_index (rows, 0)) != '\0')
        {
          SqResult *row = g_ptr_array_index (rows, 0);

          g_assert_cmpstr (sq_result_get_status (row), ==, "processing");
          g_assert_nonnull (sq_result_get_prediction_id (row));
          g_assert_true (g_str_has_prefix (sq_grid_run_get_cell_text (grid, sq_result_get_id (row)),
                                           sq_result_get_response (row)));
          seen_partial = TRUE;
        }
    }
  g_assert_true (sq_grid_run_run_finish (grid, result, &error));
  g_assert_no_error (error);
  g_assert_true (seen_partial);
  g_assert_cmpuint (assert_answers (f, "succeeded"), ==, 1);
}

static void
test_resume_by_id (Fixture       *f,
                   gconstpointer  data)
{
  const char *prompts[] = { "was running when we died", NULL };
  SqModel *llava = g_ptr_array_index (f->models, 0);
  SqImage *image = g_ptr_array_index (f->images, 0);
  g_autoptr(SqGridRun) grid = new_grid (f, prompts, 2, 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) input = NULL;
  g_autoptr(JsonObject) prediction = NULL;
  g_autoptr(SqResult) row = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *data_uri = sq_image_dup_data_uri (image);
  g_autofree char *expected = NULL;
  g_autofree char *prediction_id = NULL;
  gint64 prompt_id, image_id, model_id, result_id;

  /* An earlier process created a prediction, stored its id, and died. */
  input = sq_model_build_input (llava, prompts[0], data_uri, NULL, &error);
  g_assert_no_error (error);
  sq_replicate_client_create_prediction_async (f->client, sq_model_get_ref (llava), input, NULL,
                                               sq_test_store_result_cb, &result);
  prediction = sq_replicate_client_create_prediction_finish (f->client, sq_test_wait_result (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  prediction_id = g_strdup (json_object_get_string_member (prediction, "id"));

  prompt_id = sq_project_add_prompt (f->project, prompts[0], &error);
  g_assert_no_error (error);
  image_id = sq_project_add_image (f->project, sq_image_get_bytes (image), NULL, sq_image_get_name (image),
                                   sq_image_get_mime_type (image), sq_image_get_width (image),
                                   sq_image_get_height (image), NULL, &error);
  g_assert_no_error (error);
  model_id = sq_project_add_model (f->project, sq_model_get_display_name (llava),
                                   sq_model_get_ref (llava), "{}", &error);
  g_assert_no_error (error);
  result_id = sq_project_ensure_result (f->project, prompt_id, image_id, model_id, 0, &error);
  g_assert_no_error (error);
  sq_project_set_result_started (f->project, result_id, prediction_id, 0, &error);
  g_assert_no_error (error);
  sq_project_update_response (f->project, result_id, "llava-13b sees", &error);
  g_assert_no_error (error);

  sq_fake_replicate_clear_requests (f->fake);

  g_assert_true (run_grid (grid, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sq_grid_run_get_n_cells (grid), ==, 2);
  g_assert_cmpuint (sq_grid_run_get_n_resumed (grid), ==, 1);
  g_assert_cmpuint (sq_grid_run_get_n_done (grid), ==, 2);

  /* Polled by id, not created again: one create, for the other image. */
  g_assert_cmpuint (count_creates (f), ==, 1);
  {
    g_autofree char *path = g_strconcat ("/v1/predictions/", prediction_id, NULL);

    g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "GET", path), >=, 1);
  }

  row = sq_project_get_result (f->project, result_id, &error);
  g_assert_no_error (error);
  expected = sq_fake_replicate_expected_answer (f->fake, "yorickvp/llava-13b",
                                                sq_image_get_hash (image), prompts[0]);
  g_assert_cmpstr (sq_result_get_status (row), ==, "succeeded");
  g_assert_cmpstr (sq_result_get_prediction_id (row), ==, prediction_id);
  g_assert_cmpstr (sq_result_get_response (row), ==, expected);
  assert_answers (f, "succeeded");
}

static void
test_by_project_ids (Fixture       *f,
                     gconstpointer  data)
{
  const char *prompts[] = { "stored prompt", NULL };
  g_autoptr(SqGridRun) first = new_grid (f, prompts, 1, 2);
  g_autoptr(SqGridRun) second = sq_grid_run_new (f->project, f->client, f->catalog);
  g_autoptr(GPtrArray) prompt_rows = NULL;
  g_autoptr(GPtrArray) image_rows = NULL;
  g_autoptr(GPtrArray) model_rows = NULL;
  g_autoptr(GError) error = NULL;

  /* Store the inputs (a run with no image does nothing else). */
  g_assert_true (run_grid (first, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sq_grid_run_get_n_done (first), ==, 2);

  /* A second grid over the same rows by id, plus a new image by id. */
  {
    SqImage *image = g_ptr_array_index (f->images, 2);

    sq_project_add_image (f->project, sq_image_get_bytes (image), NULL, sq_image_get_name (image),
                          sq_image_get_mime_type (image), sq_image_get_width (image),
                          sq_image_get_height (image), NULL, &error);
    g_assert_no_error (error);
  }
  prompt_rows = sq_project_list_prompts (f->project, NULL);
  image_rows = sq_project_list_images (f->project, NULL);
  model_rows = sq_project_list_models (f->project, NULL);
  for (guint i = 0; i < prompt_rows->len; i++)
    sq_grid_run_add_prompt_id (second, ((SqPromptRecord *) g_ptr_array_index (prompt_rows, i))->id);
  for (guint i = 0; i < image_rows->len; i++)
    sq_grid_run_add_image_id (second, ((SqImageRecord *) g_ptr_array_index (image_rows, i))->id);
  for (guint i = 0; i < model_rows->len; i++)
    sq_grid_run_add_model_id (second, ((SqModelRecord *) g_ptr_array_index (model_rows, i))->id);
  sq_grid_run_set_poll_interval_ms (second, 10);

  g_assert_true (run_grid (second, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sq_grid_run_get_n_cells (second), ==, 2);
  g_assert_cmpuint (sq_grid_run_get_n_done (second), ==, 2);
  g_assert_cmpuint (assert_answers (f, "succeeded"), ==, 4);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/grid-run/full", test_full_grid);
  ADD ("/grid-run/params", test_params);
  ADD ("/grid-run/failing-cell", test_failing_cell);
  ADD ("/grid-run/retry-failed", test_retry_failed);
  ADD ("/grid-run/pause-resume", test_pause_resume);
  ADD ("/grid-run/cancel", test_cancel);
  ADD ("/grid-run/cancel-while-paused", test_cancel_while_paused);
  ADD ("/grid-run/streams-into-project", test_streams_into_project);
  ADD ("/grid-run/resume-by-id", test_resume_by_id);
  ADD ("/grid-run/by-project-ids", test_by_project_ids);

#undef ADD

  return g_test_run ();
}
