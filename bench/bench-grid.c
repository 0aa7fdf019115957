/* bench-grid.c
 *
 * How close SqGridRun gets to the ideal wall time of a grid. The
 * in-process fake Replicate answers with a fixed latency model, and two
 * grids run at -j 1, 4, 8 and 16 into a fresh project each time:
 * 3 prompts × 3 images × 4 models (36 cells; 200 ms in "starting", then
 * 20 tokens 20 ms apart, so about 600 ms per cell) and 10 × 10 × 4
 * (400 cells; 50 ms + 10 tokens × 10 ms = 150 ms per cell, so that the
 * whole bench stays within a few minutes). For each it prints the wall time,
 * the ideal (ceil(cells / j) × cell time) and their ratio. For comparison
 * it then times the notebook's way: one prediction after another, no
 * project. Prints figures; it never fails.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>

#include "sq-grid-run.h"
#include "sq-image.h"
#include "sq-model.h"
#include "sq-model-catalog.h"
#include "sq-prediction.h"
#include "sq-project.h"
#include "sq-replicate-client.h"
#include "sq-fake-replicate.h"

#define POLL_MS         50

typedef struct
{
  guint n_prompts;
  guint n_images;
  int   start_delay_ms;
  int   token_delay_ms;
  int   answer_tokens;
  guint only_jobs;   /* 0: every concurrency and the sequential loop */
} GridSize;

/* The last one checks the 400-cell grid at -j 16 with the longer cells
 * too: with 150 ms cells, the fsync of each finished answer (one at a
 * time, synchronous=FULL) is no longer small next to a cell. */
static const GridSize sizes[] = {
  { 3, 3, 200, 20, 20, 0 },
  { 10, 10, 50, 10, 10, 0 },
  { 10, 10, 200, 20, 20, 16 },
};

static const char * const model_names[] = { "llava-13b", "fuyu-8b", "minigpt-4", "cogvlm" };
static const char * const prompts[] = {
  "What is shown in this image?",
  "How many objects are there?",
  "What colours dominate?",
  "Is there a person in this image?",
  "Describe the lighting.",
  "What is in the background?",
  "Is this photo taken indoors?",
  "What season is it?",
  "Read any text in the image.",
  "What is the main subject doing?",
};

static void
store_result_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *slot;
}

static SqImage *
make_image (guint index)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 64);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *name = g_strdup_printf ("image-%u.png", index);
  char *buffer = NULL;
  gsize len = 0;

  gdk_pixbuf_fill (pixbuf, 0x30507000 | (index * 25u) << 24);
  if (!gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &len, "png", NULL, NULL))
    g_error ("Cannot encode a PNG");
  bytes = g_bytes_new_take (buffer, len);

  sq_image_load_bytes_async (bytes, name, NULL, store_result_cb, &result);
  return sq_image_load_finish (wait_for (&result), NULL);
}

static void
remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_dir (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static double
run_grid (SqReplicateClient *client,
          SqModelCatalog    *catalog,
          GPtrArray         *images,
          GPtrArray         *models,
          guint              n_prompts,
          const char        *dir,
          guint              jobs,
          guint             *n_done)
{
  static guint n_runs;
  g_autofree char *name = g_strdup_printf ("bench-%u-j%u-%u.squint", images->len, jobs, n_runs++);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(SqProject) project = NULL;
  g_autoptr(SqGridRun) grid = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  gint64 start;

  project = sq_project_open (path, &error);
  if (project == NULL)
    g_error ("%s", error->message);

  grid = sq_grid_run_new (project, client, catalog);
  sq_grid_run_set_concurrency (grid, jobs);
  sq_grid_run_set_poll_interval_ms (grid, POLL_MS);
  for (guint p = 0; p < n_prompts; p++)
    sq_grid_run_add_prompt (grid, prompts[p]);
  for (guint i = 0; i < images->len; i++)
    sq_grid_run_add_image (grid, g_ptr_array_index (images, i));
  for (guint m = 0; m < models->len; m++)
    sq_grid_run_add_model (grid, g_ptr_array_index (models, m), NULL, NULL);

  start = g_get_monotonic_time ();
  sq_grid_run_run_async (grid, NULL, store_result_cb, &result);
  if (!sq_grid_run_run_finish (grid, wait_for (&result), &error))
    g_error ("%s", error->message);

  *n_done = sq_grid_run_get_n_done (grid);
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

/* The notebook: for each cell, run one prediction to the end, then the next. */
static double
run_sequential (SqReplicateClient *client,
                GPtrArray         *images,
                GPtrArray         *models,
                guint              n_prompts,
                guint             *n_done)
{
  gint64 start = g_get_monotonic_time ();

  *n_done = 0;
  for (guint p = 0; p < n_prompts; p++)
    for (guint i = 0; i < images->len; i++)
      for (guint m = 0; m < models->len; m++)
        {
          SqImage *image = g_ptr_array_index (images, i);
          SqModel *model = g_ptr_array_index (models, m);
          g_autofree char *uri = sq_image_dup_data_uri (image);
          g_autoptr(JsonObject) input = sq_model_build_input (model, prompts[p], uri, NULL, NULL);
          g_autoptr(SqPrediction) prediction = sq_prediction_new (client, sq_model_get_ref (model), input);
          g_autoptr(GAsyncResult) result = NULL;

          sq_prediction_set_poll_interval (prediction, POLL_MS);
          sq_prediction_run_async (prediction, NULL, store_result_cb, &result);
          if (sq_prediction_run_finish (prediction, wait_for (&result), NULL))
            (*n_done)++;
        }

  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

static void
bench_size (SqFakeReplicate   *fake,
            SqReplicateClient *client,
            SqModelCatalog    *catalog,
            GPtrArray         *all_images,
            GPtrArray         *models,
            const char        *dir,
            const GridSize    *size)
{
  static const guint jobs[] = { 1, 4, 8, 16 };
  g_autoptr(GPtrArray) images = g_ptr_array_new ();
  const double cell_s = (size->start_delay_ms + size->answer_tokens * size->token_delay_ms) / 1000.0;
  guint n_cells;
  guint n_done = 0;
  double sequential;

  for (guint i = 0; i < size->n_images; i++)
    g_ptr_array_add (images, g_ptr_array_index (all_images, i));

  sq_fake_replicate_set_start_delay_ms (fake, size->start_delay_ms);
  sq_fake_replicate_set_token_delay_ms (fake, size->token_delay_ms);
  sq_fake_replicate_set_answer_tokens (fake, size->answer_tokens);

  n_cells = size->n_prompts * images->len * models->len;
  g_print ("Grid: %u prompts x %u images x %u models = %u cells; fake latency: %d ms starting + "
           "%d tokens x %d ms = %.2f s per cell; polling every %d ms\n\n",
           size->n_prompts, images->len, models->len, n_cells,
           size->start_delay_ms, size->answer_tokens, size->token_delay_ms, cell_s, POLL_MS);
  g_print ("%-22s %9s %9s %7s %6s\n", "", "wall (s)", "ideal (s)", "ratio", "done");

  for (guint j = 0; j < G_N_ELEMENTS (jobs); j++)
    {
      double ideal;
      double wall;
      g_autofree char *label = NULL;

      if (size->only_jobs != 0 && jobs[j] != size->only_jobs)
        continue;
      ideal = ceil ((double) n_cells / jobs[j]) * cell_s;
      wall = run_grid (client, catalog, images, models, size->n_prompts, dir, jobs[j], &n_done);
      label = g_strdup_printf ("SqGridRun -j %u", jobs[j]);

      g_print ("%-22s %9.2f %9.2f %7.2f %3u/%u\n", label, wall, ideal, wall / ideal, n_done, n_cells);
      g_print ("RESULT grid-%ux%ux%u-j%u-%.2fs-cells-vs-ideal %.2f x 1.2\n",
               size->n_prompts, images->len, models->len, jobs[j], cell_s, wall / ideal);
    }

  if (size->only_jobs != 0)
    {
      g_print ("\n");
      return;
    }

  sequential = run_sequential (client, images, models, size->n_prompts, &n_done);
  g_print ("%-22s %9.2f %9.2f %7.2f %3u/%u\n", "sequential loop", sequential, n_cells * cell_s,
           sequential / (n_cells * cell_s), n_done, n_cells);
  g_print ("RESULT grid-%ux%ux%u-sequential-s %.2f s -\n",
           size->n_prompts, images->len, models->len, sequential);
  g_print ("\n");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(SqFakeReplicate) fake = NULL;
  g_autoptr(SqReplicateClient) client = NULL;
  g_autoptr(SqModelCatalog) catalog = NULL;
  g_autoptr(GPtrArray) images = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) models = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GFile) cache = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *cache_path = NULL;

  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  setvbuf (stdout, NULL, _IOLBF, 0);

  fake = sq_fake_replicate_new ();

  client = sq_replicate_client_new (sq_fake_replicate_get_origin (fake), SQ_FAKE_REPLICATE_TOKEN, &error);
  if (client == NULL)
    g_error ("%s", error->message);

  dir = g_dir_make_tmp ("squint-bench-grid-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);
  cache_path = g_build_filename (dir, "cache", NULL);
  cache = g_file_new_for_path (cache_path);
  catalog = sq_model_catalog_new (client, cache);

  for (guint i = 0; i < 10; i++)
    g_ptr_array_add (images, make_image (i));
  for (guint m = 0; m < G_N_ELEMENTS (model_names); m++)
    {
      g_autoptr(GAsyncResult) result = NULL;
      SqModel *model;

      sq_model_catalog_resolve_async (catalog, model_names[m], NULL, store_result_cb, &result);
      model = sq_model_catalog_resolve_finish (catalog, wait_for (&result), &error);
      if (model == NULL)
        g_error ("%s", error->message);
      g_ptr_array_add (models, model);
    }

  /* Only the smaller grid when asked: bench-grid --quick */
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    if (s == 0 || argc < 2 || g_strcmp0 (argv[1], "--quick") != 0)
      bench_size (fake, client, catalog, images, models, dir, &sizes[s]);

  remove_dir (dir);

  return 0;
}
