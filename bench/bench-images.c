/* bench-images.c
 *
 * What 100 12-megapixel photos cost the Ask view's image tray: makes 100
 * photo-like JPEGs (4000 × 3000, gradients, soft shapes and noise, so
 * that they weigh what a phone's photos do) once into a cache folder and
 * reuses them, then drops them all at once on the tray of a real Ask
 * view under Xvfb, as a GdkFileList through the drop target like Files
 * would. Prints the RSS growth (VmRSS after less before, and the peak
 * VmHWM less before), the time until every thumbnail is in the tray and
 * drawn, and the main loop's longest stall and p99 meanwhile (a 1 ms
 * timeout source). It never fails.
 *
 * Usage: bench-images [CACHE_DIR]
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sq-ask-view.h"
#include "sq-image-tray.h"
#include "sq-workspace.h"

#define N_PHOTOS     100
#define PHOTO_WIDTH  4000
#define PHOTO_HEIGHT 3000

typedef struct
{
  GArray *gaps;   /* (element-type double) ms */
  gint64  last;
} Probe;

static guint n_paints;

static gboolean
timeout_probe_cb (gpointer user_data)
{
  Probe *probe = user_data;
  gint64 now = g_get_monotonic_time ();

  if (probe->last != 0)
    {
      double gap = (now - probe->last) / 1000.0 - 1.0;

      g_array_append_val (probe->gaps, gap);
    }
  probe->last = now;

  return G_SOURCE_CONTINUE;
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *clock,
         gpointer       user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       user_data)
{
  n_paints++;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* In kB, from /proc/self/status; 0 when unknown. */
static gint64
read_status_kb (const char *key)
{
  g_autofree char *contents = NULL;
  gsize key_len = strlen (key);

  if (!g_file_get_contents ("/proc/self/status", &contents, NULL, NULL))
    return 0;

  for (char *line = contents; line != NULL && *line != '\0'; )
    {
      char *next = strchr (line, '\n');

      if (strncmp (line, key, key_len) == 0 && line[key_len] == ':')
        return g_ascii_strtoll (line + key_len + 1, NULL, 10);
      line = next != NULL ? next + 1 : NULL;
    }

  return 0;
}

static guint32
xorshift (guint32 *state)
{
  guint32 x = *state;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;

  return x;
}

/* A photo-like picture: a sky-to-ground gradient, a few soft discs,
 * and per-pixel noise like a sensor's, so JPEG cannot shrink it much. */
static void
make_photo (const char *path,
            guint       index)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, PHOTO_WIDTH, PHOTO_HEIGHT);
  g_autoptr(GError) error = NULL;
  guchar *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  guint32 state = 0x9e3779b9u ^ (index * 2654435761u);
  double cx[3], cy[3], r2[3];

  for (guint d = 0; d < 3; d++)
    {
      cx[d] = xorshift (&state) % PHOTO_WIDTH;
      cy[d] = xorshift (&state) % PHOTO_HEIGHT;
      r2[d] = pow (200 + xorshift (&state) % 800, 2);
    }

  for (int y = 0; y < PHOTO_HEIGHT; y++)
    {
      guchar *row = pixels + (gsize) y * stride;
      double t = (double) y / PHOTO_HEIGHT;

      for (int x = 0; x < PHOTO_WIDTH; x++)
        {
          double s = (double) x / PHOTO_WIDTH;
          int r = 60 + 120 * (1 - t) + 40 * s + (index * 7) % 30;
          int g = 90 + 100 * (1 - t) * (1 - s) + 30 * sin (s * 12 + index);
          int b = 200 * (1 - t) + 30 * t + 20 * cos (t * 9 + index);
          guint32 noise = xorshift (&state);

          for (guint d = 0; d < 3; d++)
            {
              double dx = x - cx[d];
              double dy = y - cy[d];

              if (dx * dx + dy * dy < r2[d])
                {
                  r = (r + 230 - d * 60) / 2;
                  g = (g + 60 + d * 70) / 2;
                  b = (b + 40 + d * 50) / 2;
                }
            }

          row[3 * x + 0] = CLAMP (r + (int) (noise & 31) - 16, 0, 255);
          row[3 * x + 1] = CLAMP (g + (int) ((noise >> 8) & 31) - 16, 0, 255);
          row[3 * x + 2] = CLAMP (b + (int) ((noise >> 16) & 31) - 16, 0, 255);
        }
    }

  if (!gdk_pixbuf_save (pixbuf, path, "jpeg", &error, "quality", "90", NULL))
    g_error ("Could not write %s: %s", path, error->message);
}

static void
done_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *result;
}

static void
wait_paints (guint n)
{
  guint target = n_paints + n;

  while (n_paints < target)
    g_main_context_iteration (NULL, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmpdir = g_dir_make_tmp ("squint-bench-images-XXXXXX", NULL);
  g_autofree char *project_path = g_build_filename (tmpdir, "bench.squint", NULL);
  g_autofree char *cache_dir = NULL;
  g_autoptr(SqWorkspace) workspace = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GValue) value = G_VALUE_INIT;
  Probe probe = { g_array_new (FALSE, FALSE, sizeof (double)), 0 };
  GFile *files[N_PHOTOS];
  gsize total_bytes = 0;
  gboolean accepted = FALSE;
  SqImageTray *tray;
  GtkWidget *window;
  SqAskView *view;
  gint64 rss_before, rss_after, hwm_after;
  gint64 start, added, shown, made;
  guint timeout_id;
  double p99, max;

  setlocale (LC_ALL, "");
  setvbuf (stdout, NULL, _IOLBF, 0);
  g_setenv ("XDG_DATA_HOME", tmpdir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmpdir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", tmpdir, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  cache_dir = g_strdup (argc > 1 ? argv[1] : "bench-images-cache");
  g_mkdir_with_parents (cache_dir, 0755);
  made = g_get_monotonic_time ();
  for (guint i = 0; i < N_PHOTOS; i++)
    {
      g_autofree char *name = g_strdup_printf ("photo-%03u.jpg", i + 1);
      g_autofree char *path = g_build_filename (cache_dir, name, NULL);
      GStatBuf st;

      if (g_stat (path, &st) != 0 || st.st_size == 0)
        {
          g_autofree char *part = g_strconcat (path, ".part", NULL);

          if (i == 0 || i % 10 == 9)
            g_print ("# making photo %u of %u in %s\n", i + 1, N_PHOTOS, cache_dir);
          make_photo (part, i);
          g_rename (part, path);
          g_stat (path, &st);
        }
      total_bytes += st.st_size;
      files[i] = g_file_new_for_path (path);
    }
  g_print ("# %u JPEGs of %d × %d, %.1f MB in all (%.1f MB each), ready in %.1f s\n",
           N_PHOTOS, PHOTO_WIDTH, PHOTO_HEIGHT, total_bytes / 1e6, total_bytes / 1e6 / N_PHOTOS,
           (g_get_monotonic_time () - made) / 1e6);

  gtk_init ();
  adw_init ();

  workspace = sq_workspace_new ();
  sq_workspace_open_project_async (workspace, project_path, NULL, done_cb, &result);
  if (!sq_workspace_open_project_finish (workspace, wait_result (&result), &error))
    g_error ("%s", error->message);
  g_clear_object (&result);

  view = SQ_ASK_VIEW (sq_ask_view_new (workspace));
  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 900);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (view));
  gtk_window_present (GTK_WINDOW (window));
  while (gtk_widget_get_frame_clock (window) == NULL || !gtk_widget_get_mapped (GTK_WIDGET (view)))
    g_main_context_iteration (NULL, TRUE);
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint", G_CALLBACK (after_paint_cb), NULL);
  gtk_widget_add_tick_callback (window, tick_cb, NULL, NULL);
  wait_paints (30);

  tray = SQ_IMAGE_TRAY (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_ASK_VIEW, "tray"));

  /* Reset VmHWM to the current RSS (Linux 4.0 and later), so that the
   * peak is that of loading, not of making the photos. */
  {
    FILE *clear_refs = fopen ("/proc/self/clear_refs", "w");

    if (clear_refs != NULL)
      {
        fputs ("5", clear_refs);
        fclose (clear_refs);
      }
  }
  rss_before = read_status_kb ("VmRSS");
  timeout_id = g_timeout_add (1, timeout_probe_cb, &probe);

  start = g_get_monotonic_time ();
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_array (files, N_PHOTOS));
  g_signal_emit_by_name (sq_image_tray_get_drop_target (tray), "drop", &value, 20.0, 20.0, &accepted);
  if (!accepted)
    g_error ("The tray refused the photos");

  while (sq_image_tray_get_n_loading (tray) > 0 || sq_image_tray_get_n_images (tray) < N_PHOTOS)
    {
      g_main_context_iteration (NULL, TRUE);
      if (sq_image_tray_get_n_loading (tray) == 0 && sq_image_tray_get_n_images (tray) < N_PHOTOS)
        g_error ("Only %u of %u photos were added", sq_image_tray_get_n_images (tray), N_PHOTOS);
    }
  added = g_get_monotonic_time ();
  wait_paints (1);
  shown = g_get_monotonic_time ();
  wait_paints (10);

  g_source_remove (timeout_id);
  rss_after = read_status_kb ("VmRSS");
  hwm_after = read_status_kb ("VmHWM");

  g_array_sort (probe.gaps, compare_doubles);
  p99 = probe.gaps->len > 0 ? g_array_index (probe.gaps, double, MIN (probe.gaps->len - 1, probe.gaps->len * 99 / 100)) : 0;
  max = probe.gaps->len > 0 ? g_array_index (probe.gaps, double, probe.gaps->len - 1) : 0;

  g_print ("Dropped %u photos of %d × %d (%.0f MB of JPEG) on the tray; renderer %s\n",
           N_PHOTOS, PHOTO_WIDTH, PHOTO_HEIGHT, total_bytes / 1e6,
           g_getenv ("GSK_RENDERER") != NULL ? g_getenv ("GSK_RENDERER") : "default");
  g_print ("%-34s %8.2f s\n", "all in the tray", (added - start) / 1e6);
  g_print ("%-34s %8.2f s\n", "all thumbnails drawn", (shown - start) / 1e6);
  g_print ("%-34s %8.1f MB (%.1f → %.1f)\n", "RSS growth", (rss_after - rss_before) / 1024.0,
           rss_before / 1024.0, rss_after / 1024.0);
  g_print ("%-34s %8.1f MB (VmHWM %.1f)\n", "peak RSS growth", (hwm_after - rss_before) / 1024.0,
           hwm_after / 1024.0);
  g_print ("%-34s %8.2f ms (p99 %.2f ms, %u samples)\n", "longest main-loop stall", MAX (max, 0),
           MAX (p99, 0), probe.gaps->len);
  g_print ("RESULT images-100x12mp-thumbnails-drawn %.2f s 3\n", (shown - start) / 1e6);
  g_print ("RESULT images-100x12mp-rss-growth %.1f MB 150\n", (rss_after - rss_before) / 1024.0);
  g_print ("RESULT images-100x12mp-peak-rss-growth %.1f MB 150\n", (hwm_after - rss_before) / 1024.0);
  g_print ("RESULT images-100x12mp-stall-max %.2f ms 16\n", MAX (max, 0));
  g_print ("RESULT images-100x12mp-stall-p99 %.2f ms 16\n", MAX (p99, 0));

  gtk_window_destroy (GTK_WINDOW (window));
  g_array_unref (probe.gaps);
  for (guint i = 0; i < N_PHOTOS; i++)
    g_object_unref (files[i]);
  g_clear_object (&workspace);
  g_unlink (project_path);
  {
    g_autofree char *wal = g_strconcat (project_path, "-wal", NULL);
    g_autofree char *shm = g_strconcat (project_path, "-shm", NULL);

    g_unlink (wal);
    g_unlink (shm);
  }
  g_rmdir (tmpdir);

  return 0;
}
