/* bench-project.c
 *
 * How the core copes with a big project: builds a project of 10,000
 * answers (100 prompts × 10 images × 10 models, half of them rated) with
 * the core API, then times opening it, listing its results, sorting them
 * as the Compare table's sorters do (by model: case-folded collation
 * keys; by correctness: numeric, unrated last), exporting CSV and HTML
 * with sq_exporter_write_file(), and saving one rating, synchronously and
 * asynchronously. Each figure is the best of a few rounds. Prints
 * figures; it never fails.
 *
 * Usage: bench-project [N_PROMPTS]   (default 100: 10,000 rows)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq-exporter.h"
#include "sq-project.h"

#define N_IMAGES 10
#define N_MODELS 10
#define N_ROUNDS 5

static const char *models[N_MODELS] = {
  "llava-13b", "fuyu-8b", "minigpt-4", "cogvlm", "molmo-7b",
  "gpt-4o-mini", "llava-7b", "blip-2", "idefics-9b", "qwen-vl",
};

static GBytes *
make_png (guint32 rgba,
          int     size)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, size, size);
  char *buffer = NULL;
  gsize len = 0;

  gdk_pixbuf_fill (pixbuf, rgba);
  if (!gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &len, "png", NULL, NULL))
    g_error ("Could not encode a PNG");

  return g_bytes_new_take (buffer, len);
}

static void
check (GError *error)
{
  if (error != NULL)
    g_error ("%s", error->message);
}

static void
build_project (const char *path,
               guint       n_prompts,
               gint64     *out_result_id)
{
  g_autoptr(SqProject) project = NULL;
  g_autoptr(GError) error = NULL;
  gint64 image_ids[N_IMAGES];
  gint64 model_ids[N_MODELS];
  gint64 start = g_get_monotonic_time ();
  guint n = 0;

  project = sq_project_open (path, &error);
  check (error);

  for (guint i = 0; i < N_IMAGES; i++)
    {
      g_autoptr(GBytes) png = make_png (0x204080ff + i * 0x10203000, 64);
      g_autofree char *name = g_strdup_printf ("photo-%02u.png", i + 1);

      image_ids[i] = sq_project_add_image (project, png, NULL, name, "image/png", 64, 64, png, &error);
      check (error);
    }
  for (guint m = 0; m < N_MODELS; m++)
    {
      g_autofree char *ref = g_strdup_printf ("bench/%s:%040u", models[m], m);

      model_ids[m] = sq_project_add_model (project, models[m], ref, NULL, &error);
      check (error);
    }

  for (guint p = 0; p < n_prompts; p++)
    {
      g_autofree char *prompt = g_strdup_printf ("Question %u: what is shown in this image, and what colour is it?", p + 1);
      gint64 prompt_id = sq_project_add_prompt (project, prompt, &error);

      check (error);
      for (guint i = 0; i < N_IMAGES; i++)
        for (guint m = 0; m < N_MODELS; m++, n++)
          {
            gint64 id = sq_project_ensure_result (project, prompt_id, image_ids[i], model_ids[m], 0, &error);
            g_autofree char *answer = NULL;

            check (error);
            answer = g_strdup_printf ("%s sees a plain square of colour %u in image %u. It answers "
                                      "question %u at some length, with \"quotes\", a comma, <b>markup</b> "
                                      "& a line break\nso the exports have something to escape.",
                                      models[m], i, i + 1, p + 1);
            sq_project_finish_result (project, id, "succeeded", answer, NULL,
                                      200 + (n * 37) % 900, 1000 + (n * 131) % 9000, -1, &error);
            check (error);
            if (n % 2 == 0)
              {
                sq_project_set_rating (project, id, SQ_CRITERION_CORRECTNESS, 1 + n % 5, NULL, &error);
                sq_project_set_rating (project, id, SQ_CRITERION_RELEVANCE, 1 + (n / 3) % 5, NULL, &error);
                check (error);
              }
            if (n == 4321)
              *out_result_id = id;
          }
    }

  g_print ("# built a project of %u answers in %.1f s\n", n, (g_get_monotonic_time () - start) / 1e6);
}

typedef struct
{
  SqResult *result;
  char     *key;
  guint     index;
} SortItem;

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  const SortItem *x = a;
  const SortItem *y = b;
  int cmp = strcmp (x->key, y->key);

  return cmp != 0 ? cmp : (x->index > y->index) - (x->index < y->index);
}

static int
compare_correctness (gconstpointer a,
                     gconstpointer b)
{
  const SortItem *x = a;
  const SortItem *y = b;
  double sx = sq_result_get_correctness (x->result);
  double sy = sq_result_get_correctness (y->result);
  gboolean rx = !isnan (sx) && sx > 0;
  gboolean ry = !isnan (sy) && sy > 0;

  if (rx != ry)
    return rx ? -1 : 1;
  if (rx && sx != sy)
    return sx > sy ? -1 : 1;

  return (x->index > y->index) - (x->index < y->index);
}

/* As GtkStringSorter does: case-folded collation keys, made once. */
static double
sort_by_model (GPtrArray *results)
{
  gint64 start = g_get_monotonic_time ();
  SortItem *items = g_new (SortItem, results->len);

  for (guint i = 0; i < results->len; i++)
    {
      g_autofree char *folded = g_utf8_casefold (sq_result_get_model_name (g_ptr_array_index (results, i)), -1);

      items[i].result = g_ptr_array_index (results, i);
      items[i].key = g_utf8_collate_key (folded, -1);
      items[i].index = i;
    }
  qsort (items, results->len, sizeof (SortItem), compare_keys);
  for (guint i = 0; i < results->len; i++)
    g_free (items[i].key);
  g_free (items);

  return (g_get_monotonic_time () - start) / 1e3;
}

static double
sort_by_correctness (GPtrArray *results)
{
  gint64 start = g_get_monotonic_time ();
  SortItem *items = g_new (SortItem, results->len);

  for (guint i = 0; i < results->len; i++)
    {
      items[i].result = g_ptr_array_index (results, i);
      items[i].key = NULL;
      items[i].index = i;
    }
  qsort (items, results->len, sizeof (SortItem), compare_correctness);
  g_free (items);

  return (g_get_monotonic_time () - start) / 1e3;
}

static void
done_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static double
export (SqProject      *project,
        SqExportFormat  format,
        const char     *dir,
        goffset        *out_size)
{
  g_autofree char *name = g_strconcat ("export.", sq_export_format_get_extension (format), NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  GStatBuf st;
  double ms;

  if (!sq_exporter_write_file (project, format, file, NULL, &error))
    g_error ("%s", error->message);
  ms = (g_get_monotonic_time () - start) / 1e3;
  *out_size = g_stat (path, &st) == 0 ? st.st_size : 0;
  g_unlink (path);

  return ms;
}

#define BEST(var, expr) G_STMT_START { double _v = (expr); var = MIN (var, _v); } G_STMT_END

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dir = g_dir_make_tmp ("squint-bench-project-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bench.squint", NULL);
  guint n_prompts = argc > 1 ? (guint) atoi (argv[1]) : 100;
  double open_ms = G_MAXDOUBLE, list_ms = G_MAXDOUBLE, list_async_ms = G_MAXDOUBLE;
  double model_ms = G_MAXDOUBLE, correctness_ms = G_MAXDOUBLE;
  double csv_ms = G_MAXDOUBLE, html_ms = G_MAXDOUBLE;
  double rate_ms = G_MAXDOUBLE, rate_async_ms = G_MAXDOUBLE;
  goffset csv_size = 0, html_size = 0;
  gint64 result_id = 0;
  guint n_rows = 0;

  setlocale (LC_ALL, "");
  setvbuf (stdout, NULL, _IOLBF, 0);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  build_project (path, n_prompts, &result_id);

  for (guint round = 0; round < N_ROUNDS; round++)
    {
      g_autoptr(SqProject) project = NULL;
      g_autoptr(GPtrArray) results = NULL;
      g_autoptr(GAsyncResult) async_result = NULL;
      g_autoptr(GError) error = NULL;
      gint64 start;

      start = g_get_monotonic_time ();
      project = sq_project_open (path, &error);
      check (error);
      BEST (open_ms, (g_get_monotonic_time () - start) / 1e3);

      start = g_get_monotonic_time ();
      results = sq_project_list_results (project, &error);
      check (error);
      BEST (list_ms, (g_get_monotonic_time () - start) / 1e3);
      n_rows = results->len;
      g_clear_pointer (&results, g_ptr_array_unref);

      start = g_get_monotonic_time ();
      sq_project_list_results_async (project, NULL, done_cb, &async_result);
      while (async_result == NULL)
        g_main_context_iteration (NULL, TRUE);
      results = sq_project_list_results_finish (project, async_result, &error);
      check (error);
      BEST (list_async_ms, (g_get_monotonic_time () - start) / 1e3);
      g_clear_object (&async_result);

      BEST (model_ms, sort_by_model (results));
      BEST (correctness_ms, sort_by_correctness (results));

      BEST (csv_ms, export (project, SQ_EXPORT_FORMAT_CSV, dir, &csv_size));
      BEST (html_ms, export (project, SQ_EXPORT_FORMAT_HTML, dir, &html_size));

      start = g_get_monotonic_time ();
      if (!sq_project_set_rating (project, result_id, SQ_CRITERION_CORRECTNESS, 1 + round % 5, NULL, &error))
        g_error ("%s", error->message);
      BEST (rate_ms, (g_get_monotonic_time () - start) / 1e3);

      start = g_get_monotonic_time ();
      sq_project_set_rating_async (project, result_id, SQ_CRITERION_RELEVANCE, 1 + round % 5, NULL,
                                   NULL, done_cb, &async_result);
      while (async_result == NULL)
        g_main_context_iteration (NULL, TRUE);
      if (!sq_project_set_rating_finish (project, async_result, &error))
        g_error ("%s", error->message);
      BEST (rate_async_ms, (g_get_monotonic_time () - start) / 1e3);
    }

  g_print ("Project of %u rows, best of %u rounds\n", n_rows, N_ROUNDS);
  g_print ("%-36s %9.1f ms\n", "open", open_ms);
  g_print ("%-36s %9.1f ms\n", "sq_project_list_results", list_ms);
  g_print ("%-36s %9.1f ms\n", "sq_project_list_results_async", list_async_ms);
  g_print ("%-36s %9.1f ms\n", "sort by model (collation keys)", model_ms);
  g_print ("%-36s %9.1f ms\n", "sort by correctness", correctness_ms);
  g_print ("%-36s %9.1f ms  (%.1f MB)\n", "export CSV", csv_ms, csv_size / 1e6);
  g_print ("%-36s %9.1f ms  (%.1f MB)\n", "export HTML", html_ms, html_size / 1e6);
  g_print ("%-36s %9.2f ms\n", "save one rating (sync)", rate_ms);
  g_print ("%-36s %9.2f ms\n", "save one rating (async, to callback)", rate_async_ms);
  g_print ("RESULT project-10k-open %.1f ms -\n", open_ms);
  g_print ("RESULT project-10k-list-results %.1f ms -\n", list_ms);
  g_print ("RESULT project-10k-sort-model %.1f ms -\n", model_ms);
  g_print ("RESULT project-10k-sort-correctness %.1f ms -\n", correctness_ms);
  g_print ("RESULT project-10k-export-csv %.1f ms -\n", csv_ms);
  g_print ("RESULT project-10k-export-html %.1f ms -\n", html_ms);
  g_print ("RESULT project-save-rating-sync %.2f ms -\n", rate_ms);
  g_print ("RESULT project-save-rating-async %.2f ms -\n", rate_async_ms);

  {
    g_autofree char *wal = g_strconcat (path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (path, "-shm", NULL);

    g_unlink (path);
    g_unlink (wal);
    g_unlink (shm);
    g_rmdir (dir);
  }

  return 0;
}
