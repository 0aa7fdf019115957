/* bench-startup.c
 *
 * Time from launch to the first frame of Squint's window. Runs Squint
 * in-process, as main.c does (SqApplication, g_application_run), in a
 * child process of its own each time, with empty temporary XDG folders
 * and no API token: the parent stamps the monotonic clock just before it
 * spawns the child, and the child prints the monotonic clock when the
 * main window's frame clock has painted for the first time, then quits.
 * So the figure covers exec, dynamic linking, GTK and libadwaita start-up,
 * building the window and opening the (new) default project. The first
 * launch is cold-ish (after a fresh Xvfb); the median of the next ones is
 * warm. Nothing in Squint is changed for this: the bench only connects
 * to GtkApplication::window-added and the window's frame clock.
 * Prints figures; it never fails.
 *
 * Usage: bench-startup [N_LAUNCHES]   (default 6)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sq-application.h"

static gint64 main_started;

static void
after_paint_cb (GdkFrameClock *clock,
                GtkWindow     *window)
{
  g_print ("FRAME %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", main_started, g_get_monotonic_time ());
  g_signal_handlers_disconnect_by_func (clock, after_paint_cb, window);
  g_application_quit (G_APPLICATION (gtk_window_get_application (window)));
}

static void
window_realize_cb (GtkWidget *window,
                   gpointer   user_data)
{
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint",
                    G_CALLBACK (after_paint_cb), window);
}

static void
window_added_cb (GtkApplication *app,
                 GtkWindow      *window,
                 gpointer        user_data)
{
  static gboolean seen;

  if (seen)
    return;
  seen = TRUE;
  if (gtk_widget_get_realized (GTK_WIDGET (window)))
    window_realize_cb (GTK_WIDGET (window), NULL);
  else
    g_signal_connect (window, "realize", G_CALLBACK (window_realize_cb), NULL);
}

static int
run_child (void)
{
  g_autoptr(SqApplication) app = NULL;
  char *argv[] = { (char *) "squint", NULL };

  setlocale (LC_ALL, "");
  setvbuf (stdout, NULL, _IOLBF, 0);
  app = sq_application_new ();
  g_signal_connect (app, "window-added", G_CALLBACK (window_added_cb), NULL);

  return g_application_run (G_APPLICATION (app), 1, argv);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_dir (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GArray) launches = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) from_main = g_array_new (FALSE, FALSE, sizeof (double));
  guint n_launches = 6;
  double first, median, median_main;

  main_started = g_get_monotonic_time ();

  if (argc > 1 && g_strcmp0 (argv[1], "--child") == 0)
    return run_child ();
  if (argc > 1)
    n_launches = MAX (2, atoi (argv[1]));

  setlocale (LC_ALL, "");
  setvbuf (stdout, NULL, _IOLBF, 0);

  /* No token anywhere: a first launch, which does not reach the network. */
  g_unsetenv ("REPLICATE_API_TOKEN");
  g_setenv ("REPLICATE_BASE_URL", "http://127.0.0.1:9", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  for (guint i = 0; i < n_launches; i++)
    {
      g_autofree char *tmpdir = g_dir_make_tmp ("squint-bench-startup-XXXXXX", NULL);
      g_autofree char *data = g_build_filename (tmpdir, "data", NULL);
      g_autofree char *cache = g_build_filename (tmpdir, "cache", NULL);
      g_autofree char *config = g_build_filename (tmpdir, "config", NULL);
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      g_auto(GStrv) envp = g_get_environ ();
      g_autoptr(GError) error = NULL;
      char *child_argv[] = { argv[0], (char *) "--child", NULL };
      gint64 child_main = 0, frame = 0;
      gint64 spawned;
      int status = 0;
      const char *line;

      envp = g_environ_setenv (envp, "XDG_DATA_HOME", data, TRUE);
      envp = g_environ_setenv (envp, "XDG_CACHE_HOME", cache, TRUE);
      envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", config, TRUE);

      spawned = g_get_monotonic_time ();
      if (!g_spawn_sync (NULL, child_argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error))
        g_error ("Could not launch: %s", error->message);

      line = out != NULL ? strstr (out, "FRAME ") : NULL;
      if (line == NULL || sscanf (line, "FRAME %" G_GINT64_FORMAT " %" G_GINT64_FORMAT, &child_main, &frame) != 2)
        {
          g_print ("launch %u: no frame (status %d)\n%s%s", i + 1, status, out ? out : "", err ? err : "");
          remove_dir (tmpdir);
          continue;
        }
      if (err != NULL && *err != '\0')
        g_print ("# launch %u said: %s", i + 1, err);

      {
        double total = (frame - spawned) / 1e3;
        double inside = (frame - child_main) / 1e3;

        g_print ("launch %u: first frame %.0f ms after spawning (%.0f ms after main)\n", i + 1, total, inside);
        g_array_append_val (launches, total);
        g_array_append_val (from_main, inside);
      }
      remove_dir (tmpdir);
    }

  if (launches->len < 2)
    {
      g_print ("Too few launches drew a frame\n");
      return 0;
    }

  first = g_array_index (launches, double, 0);
  g_array_remove_index (launches, 0);
  g_array_remove_index (from_main, 0);
  g_array_sort (launches, compare_doubles);
  g_array_sort (from_main, compare_doubles);
  median = g_array_index (launches, double, launches->len / 2);
  median_main = g_array_index (from_main, double, from_main->len / 2);

  g_print ("Launch to first frame: first %.0f ms, median of the next %u %.0f ms (%.0f ms of it after main); renderer %s\n",
           first, launches->len, median, median_main,
           g_getenv ("GSK_RENDERER") != NULL ? g_getenv ("GSK_RENDERER") : "default");
  g_print ("RESULT startup-first-frame-first-launch %.0f ms -\n", first);
  g_print ("RESULT startup-first-frame-median %.0f ms -\n", median);

  return 0;
}
