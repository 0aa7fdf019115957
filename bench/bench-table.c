/* bench-table.c
 *
 * How the Compare table copes with a big project: builds a project of
 * 10,000 answers (100 prompts × 10 images × 10 models, half of them
 * rated) with the core API, opens it in SqCompareView under Xvfb, and
 * prints the time to the first frame with rows, the time to sort by a
 * column (until the next frame), and the longest gap between frames
 * while scrolling through the whole table one screen step per frame.
 * It prints figures; it never fails.
 *
 * Usage: bench-table [N_PROMPTS]   (default 100: 10,000 rows)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "sq-compare-view.h"
#include "sq-project.h"

#define N_IMAGES 10
#define N_MODELS 10

static const char *models[N_MODELS] = {
  "llava-13b", "fuyu-8b", "minigpt-4", "cogvlm", "molmo-7b",
  "gpt-4o-mini", "llava-7b", "blip-2", "idefics-9b", "qwen-vl",
};

typedef struct
{
  gint64 last_paint;
  gint64 max_gap;
  guint  n_frames;
  gboolean recording;
} FrameStats;

static void
after_paint_cb (GdkFrameClock *clock,
                FrameStats    *stats)
{
  gint64 now = g_get_monotonic_time ();

  if (stats->recording && stats->last_paint != 0)
    stats->max_gap = MAX (stats->max_gap, now - stats->last_paint);
  stats->last_paint = now;
  stats->n_frames++;
}

/* Keeps the frame clock ticking, so that every wait sees frames. */
static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  return G_SOURCE_CONTINUE;
}

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

static char *
build_project (const char *dir,
               guint       n_prompts)
{
  g_autofree char *path = g_build_filename (dir, "bench.squint", NULL);
  g_autoptr(SqProject) project = NULL;
  g_autoptr(GError) error = NULL;
  gint64 image_ids[N_IMAGES];
  gint64 model_ids[N_MODELS];
  gint64 start = g_get_monotonic_time ();
  guint n = 0;

  project = sq_project_open (path, &error);
  if (project == NULL)
    g_error ("%s", error->message);

  for (guint i = 0; i < N_IMAGES; i++)
    {
      g_autoptr(GBytes) png = make_png (0x204080ff + i * 0x10203000, 64);
      g_autofree char *name = g_strdup_printf ("photo-%02u.png", i + 1);

      image_ids[i] = sq_project_add_image (project, png, NULL, name, "image/png", 64, 64, png, &error);
      g_assert_no_error (error);
    }
  for (guint m = 0; m < N_MODELS; m++)
    {
      g_autofree char *ref = g_strdup_printf ("bench/%s:%040u", models[m], m);

      model_ids[m] = sq_project_add_model (project, models[m], ref, NULL, &error);
      g_assert_no_error (error);
    }

  for (guint p = 0; p < n_prompts; p++)
    {
      g_autofree char *prompt = g_strdup_printf ("Question %u: what is shown in this image, and what colour is it?", p + 1);
      gint64 prompt_id = sq_project_add_prompt (project, prompt, &error);

      g_assert_no_error (error);
      for (guint i = 0; i < N_IMAGES; i++)
        for (guint m = 0; m < N_MODELS; m++, n++)
          {
            gint64 id = sq_project_ensure_result (project, prompt_id, image_ids[i], model_ids[m], 0, &error);
            g_autofree char *answer = NULL;

            g_assert_no_error (error);
            answer = g_strdup_printf ("%s sees a plain square of colour %u in image %u. It answers "
                                      "question %u at some length, so the cell wraps over a few "
                                      "lines like a real answer would.", models[m], i, i + 1, p + 1);
            sq_project_finish_result (project, id, "succeeded", answer, NULL,
                                      200 + (n * 37) % 900, 1000 + (n * 131) % 9000, -1, &error);
            g_assert_no_error (error);
            if (n % 2 == 0)
              {
                sq_project_set_rating (project, id, SQ_CRITERION_CORRECTNESS, 1 + n % 5, NULL, &error);
                sq_project_set_rating (project, id, SQ_CRITERION_RELEVANCE, 1 + (n / 3) % 5, NULL, &error);
                g_assert_no_error (error);
              }
          }
    }

  g_print ("Built a project of %u answers in %.1f s\n", n,
           (g_get_monotonic_time () - start) / 1e6);

  return g_steal_pointer (&path);
}

static GtkWidget *
find_scrolled_window (GtkWidget *widget)
{
  if (GTK_IS_SCROLLED_WINDOW (widget) &&
      GTK_IS_COLUMN_VIEW (gtk_scrolled_window_get_child (GTK_SCROLLED_WINDOW (widget))))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_scrolled_window (child);

      if (found != NULL)
        return found;
    }

  return NULL;
}

static void
wait_frames (FrameStats *stats,
             guint       n)
{
  guint target = stats->n_frames + n;

  while (stats->n_frames < target)
    g_main_context_iteration (NULL, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(SqProject) project = NULL;
  g_autoptr(GError) error = NULL;
  FrameStats stats = { 0 };
  guint n_prompts = argc > 1 ? (guint) atoi (argv[1]) : 100;
  GtkColumnView *column_view;
  GtkAdjustment *vadjustment;
  GdkFrameClock *clock;
  GtkWidget *window;
  GtkWidget *view;
  GtkWidget *scroller;
  GListModel *columns;
  gint64 start;
  gint64 loaded;
  guint n_scroll_frames = 0;

  setlocale (LC_ALL, "");
  setvbuf (stdout, NULL, _IOLBF, 0);
  dir = g_dir_make_tmp ("squint-bench-table-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", dir, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  path = build_project (dir, n_prompts);

  gtk_init ();
  adw_init ();

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  view = sq_compare_view_new (NULL);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  while (gtk_widget_get_frame_clock (window) == NULL)
    g_main_context_iteration (NULL, TRUE);
  clock = gtk_widget_get_frame_clock (window);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), &stats);
  gtk_widget_add_tick_callback (window, tick_cb, NULL, NULL);
  wait_frames (&stats, 2);

  /* Open: from the file to the first frame that shows rows */
  start = g_get_monotonic_time ();
  project = sq_project_open (path, &error);
  g_assert_no_error (error);
  sq_compare_view_set_project (SQ_COMPARE_VIEW (view), project);
  while (!sq_compare_view_get_loaded (SQ_COMPARE_VIEW (view)) ||
         g_list_model_get_n_items (G_LIST_MODEL (sq_compare_view_get_selection (SQ_COMPARE_VIEW (view)))) == 0)
    g_main_context_iteration (NULL, TRUE);
  loaded = g_get_monotonic_time ();
  wait_frames (&stats, 1);
  g_print ("Open %u rows: read in %.0f ms, first frame after %.0f ms\n",
           g_list_model_get_n_items (G_LIST_MODEL (sq_compare_view_get_selection (SQ_COMPARE_VIEW (view)))),
           (loaded - start) / 1e3, (g_get_monotonic_time () - start) / 1e3);
  g_print ("RESULT table-open-first-frame %.0f ms -\n", (g_get_monotonic_time () - start) / 1e3);
  wait_frames (&stats, 30);  /* let the summary and thumbnails settle */

  /* Sort by each kind of column, until the next frame */
  column_view = GTK_COLUMN_VIEW (gtk_widget_get_template_child (view, SQ_TYPE_COMPARE_VIEW, "column_view"));
  columns = gtk_column_view_get_columns (column_view);
  for (guint i = 0; i < g_list_model_get_n_items (columns); i++)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, i);
      const char *title = gtk_column_view_column_get_title (column);
      gint64 sorted;

      if (g_strcmp0 (title, "Model") != 0 && g_strcmp0 (title, "Correctness") != 0 &&
          g_strcmp0 (title, "Answer") != 0)
        continue;

      start = g_get_monotonic_time ();
      gtk_column_view_sort_by_column (column_view, column, GTK_SORT_DESCENDING);
      sorted = g_get_monotonic_time ();
      wait_frames (&stats, 1);
      g_print ("Sort by %s: %.0f ms, to the next frame: %.0f ms\n", title,
               (sorted - start) / 1e3, (g_get_monotonic_time () - start) / 1e3);
      g_print ("RESULT table-sort-%s %.0f ms -\n", title, (g_get_monotonic_time () - start) / 1e3);
    }

  /* Scroll through everything, one step per frame */
  scroller = find_scrolled_window (view);
  vadjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scroller));
  stats.recording = TRUE;
  stats.max_gap = 0;
  stats.last_paint = 0;
  start = g_get_monotonic_time ();
  while (g_getenv ("BENCH_TABLE_NO_SCROLL") == NULL &&
         gtk_adjustment_get_value (vadjustment) + gtk_adjustment_get_page_size (vadjustment) <
         gtk_adjustment_get_upper (vadjustment) - 1)
    {
      gtk_adjustment_set_value (vadjustment,
                                gtk_adjustment_get_value (vadjustment) + gtk_adjustment_get_page_size (vadjustment) * 0.9);
      wait_frames (&stats, 1);
      n_scroll_frames++;
    }
  stats.recording = FALSE;
  g_print ("Paged through %.0f px, 0.9 screen a frame, in %u frames (%.1f s): longest frame gap %.1f ms, mean %.1f ms\n",
           gtk_adjustment_get_upper (vadjustment), n_scroll_frames,
           (g_get_monotonic_time () - start) / 1e6, stats.max_gap / 1e3,
           n_scroll_frames > 0 ? (g_get_monotonic_time () - start) / 1e3 / n_scroll_frames : 0.0);
  g_print ("RESULT table-page-scroll-longest-frame %.1f ms 16\n", stats.max_gap / 1e3);

  /* Then as a fast mouse wheel or a fling would: 60 px a frame, 600 frames */
  gtk_adjustment_set_value (vadjustment, 0);
  wait_frames (&stats, 5);
  stats.recording = TRUE;
  stats.max_gap = 0;
  stats.last_paint = 0;
  start = g_get_monotonic_time ();
  n_scroll_frames = 0;
  while (g_getenv ("BENCH_TABLE_NO_SCROLL") == NULL && n_scroll_frames < 600)
    {
      gtk_adjustment_set_value (vadjustment, gtk_adjustment_get_value (vadjustment) + 60);
      wait_frames (&stats, 1);
      n_scroll_frames++;
    }
  stats.recording = FALSE;
  g_print ("Scrolled 60 px a frame for %u frames (%.1f s): longest frame gap %.1f ms, mean %.1f ms\n",
           n_scroll_frames, (g_get_monotonic_time () - start) / 1e6, stats.max_gap / 1e3,
           n_scroll_frames > 0 ? (g_get_monotonic_time () - start) / 1e3 / n_scroll_frames : 0.0);
  g_print ("RESULT table-wheel-scroll-longest-frame %.1f ms 16\n", stats.max_gap / 1e3);

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&project);
  {
    g_autofree char *db = g_build_filename (dir, "bench.squint", NULL);
    g_autofree char *wal = g_strconcat (db, "-wal", NULL);
    g_autofree char *shm = g_strconcat (db, "-shm", NULL);

    g_unlink (db);
    g_unlink (wal);
    g_unlink (shm);
    g_rmdir (dir);
  }

  return 0;
}
