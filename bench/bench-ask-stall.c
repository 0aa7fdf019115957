/* bench-ask-stall.c
 *
 * Does the main loop stall while the Ask view streams eight answers at
 * once? Four images × two streaming models (llava-13b, molmo-7b) against
 * the in-process fake Replicate at ~100 tokens/s each, in a real window
 * under Xvfb. Two probes run the whole time: a 1 ms timeout source (the
 * gap between its runs, less the 1 ms, is how long the loop was busy)
 * and the window's frame clock (time between frames). Prints the
 * longest, the p99 and the median of both, over the whole run and from
 * one second after asking (when only streaming goes on); it never fails.
 *
 * Under Xvfb GTK's GL renderers draw with llvmpipe on the CPU, on the
 * main thread, which then dominates every figure; meson runs this with
 * GSK_RENDERER=cairo so the figures are about Squint. Run it by hand with
 * another GSK_RENDERER to compare.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <locale.h>

#include "sq-answer-card.h"
#include "sq-ask-view.h"
#include "sq-fake-replicate.h"
#include "sq-image-tray.h"
#include "sq-model-picker.h"
#include "sq-prompt-box.h"
#include "sq-workspace.h"

#define N_IMAGES       4
#define TOKEN_DELAY_MS 10
#define ANSWER_TOKENS  600

typedef struct
{
  GArray *gaps;         /* (element-type double) ms, all of them */
  GArray *steady_gaps;  /* the same, from one second after asking */
  gint64  last;
} Probe;

/* When the answers were asked for: the first second includes making
 * the eight cards and starting the predictions. */
static gint64 asked_at;

static void
probe_hit (Probe *probe)
{
  gint64 now = g_get_monotonic_time ();

  if (probe->last != 0)
    {
      double gap = (now - probe->last) / 1000.0;

      g_array_append_val (probe->gaps, gap);
      if (asked_at != 0 && probe->last > asked_at + G_USEC_PER_SEC)
        g_array_append_val (probe->steady_gaps, gap);
    }
  probe->last = now;
}

static gboolean
timeout_probe_cb (gpointer user_data)
{
  probe_hit (user_data);

  return G_SOURCE_CONTINUE;
}

static gboolean
frame_probe_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  probe_hit (user_data);

  return G_SOURCE_CONTINUE;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* @key: when not NULL, also prints RESULT lines for the p99 and max. */
static void
report (const char *name,
        const char *key,
        GArray     *gaps,
        double      subtract)
{
  double p50;
  double p99;
  double max;

  if (gaps->len == 0)
    {
      g_print ("%-24s no samples\n", name);
      return;
    }

  g_array_sort (gaps, compare_doubles);
  p50 = g_array_index (gaps, double, gaps->len / 2) - subtract;
  p99 = g_array_index (gaps, double, MIN (gaps->len - 1, (gaps->len * 99) / 100)) - subtract;
  max = g_array_index (gaps, double, gaps->len - 1) - subtract;

  g_print ("%-24s %7u samples   median %6.2f ms   p99 %6.2f ms   max %6.2f ms\n",
           name, gaps->len, MAX (p50, 0), MAX (p99, 0), MAX (max, 0));
  if (key != NULL)
    {
      g_print ("RESULT %s-p99 %.2f ms 16\n", key, MAX (p99, 0));
      g_print ("RESULT %s-max %.2f ms 16\n", key, MAX (max, 0));
    }
}

static void
done_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *result;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmpdir = g_dir_make_tmp ("squint-bench-ask-XXXXXX", NULL);
  g_autofree char *project_path = g_build_filename (tmpdir, "bench.squint", NULL);
  g_autoptr(SqFakeReplicate) fake = NULL;
  g_autoptr(SqWorkspace) workspace = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) cards = NULL;
  g_autoptr(GError) error = NULL;
  Probe timeout_probe = { g_array_new (FALSE, FALSE, sizeof (double)),
                          g_array_new (FALSE, FALSE, sizeof (double)), 0 };
  Probe frame_probe = { g_array_new (FALSE, FALSE, sizeof (double)),
                        g_array_new (FALSE, FALSE, sizeof (double)), 0 };
  SqImageTray *tray;
  SqPromptBox *prompt_box;
  SqModelPicker *picker;
  GtkWidget *window;
  SqAskView *view;
  gsize characters = 0;
  gint64 start;
  gint64 end;
  guint timeout_id;
  guint tick_id;
  gboolean running;

  setlocale (LC_ALL, "");
  g_setenv ("XDG_DATA_HOME", tmpdir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmpdir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", tmpdir, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  gtk_init ();
  adw_init ();

  fake = sq_fake_replicate_new ();
  sq_fake_replicate_set_token_delay_ms (fake, TOKEN_DELAY_MS);
  sq_fake_replicate_set_answer_tokens (fake, ANSWER_TOKENS);
  g_setenv ("REPLICATE_BASE_URL", sq_fake_replicate_get_origin (fake), TRUE);
  g_setenv ("REPLICATE_API_TOKEN", SQ_FAKE_REPLICATE_TOKEN, TRUE);

  workspace = sq_workspace_new ();
  sq_workspace_reload_client_async (workspace, NULL, done_cb, &result);
  if (!sq_workspace_reload_client_finish (workspace, wait_result (&result), &error))
    g_error ("%s", error->message);
  g_clear_object (&result);
  sq_workspace_open_project_async (workspace, project_path, NULL, done_cb, &result);
  if (!sq_workspace_open_project_finish (workspace, wait_result (&result), &error))
    g_error ("%s", error->message);
  g_clear_object (&result);

  view = SQ_ASK_VIEW (sq_ask_view_new (workspace));
  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 900);
  gtk_window_set_child (GTK_WINDOW (window), GTK_WIDGET (view));
  gtk_window_present (GTK_WINDOW (window));
  while (!gtk_widget_get_mapped (GTK_WIDGET (view)))
    g_main_context_iteration (NULL, TRUE);

  tray = SQ_IMAGE_TRAY (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_ASK_VIEW, "tray"));
  prompt_box = SQ_PROMPT_BOX (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_ASK_VIEW, "prompt_box"));
  picker = SQ_MODEL_PICKER (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_ASK_VIEW, "picker"));

  for (guint i = 0; i < N_IMAGES; i++)
    {
      g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 320, 240);
      g_autofree char *name = g_strdup_printf ("image-%u.png", i);
      g_autofree char *path = g_build_filename (tmpdir, name, NULL);
      g_autoptr(GFile) file = g_file_new_for_path (path);

      gdk_pixbuf_fill (pixbuf, 0x20406080 + i * 0x10203000);
      gdk_pixbuf_save (pixbuf, path, "png", NULL, NULL);
      sq_image_tray_add_file (tray, file);
    }
  while (sq_image_tray_get_n_images (tray) < N_IMAGES)
    g_main_context_iteration (NULL, TRUE);

  sq_model_picker_add_model_async (picker, "zsxkib/molmo-7b", NULL, done_cb, &result);
  if (!sq_model_picker_add_model_finish (picker, wait_result (&result), &error))
    g_error ("%s", error->message);
  g_clear_object (&result);
  sq_model_picker_set_selected (picker, "llava-13b", TRUE);
  sq_model_picker_set_selected (picker, "fuyu-8b", FALSE);
  sq_model_picker_set_selected (picker, "minigpt-4", FALSE);
  sq_model_picker_set_selected (picker, "cogvlm", FALSE);
  sq_prompt_box_set_text (prompt_box, "what is shown in this image?");

  timeout_id = g_timeout_add (1, timeout_probe_cb, &timeout_probe);
  tick_id = gtk_widget_add_tick_callback (window, frame_probe_cb, &frame_probe, NULL);

  start = asked_at = g_get_monotonic_time ();
  if (!sq_ask_view_ask (view))
    g_error ("Could not ask");

  cards = sq_ask_view_get_cards (view);
  do
    {
      g_main_context_iteration (NULL, TRUE);
      running = FALSE;
      for (guint i = 0; i < cards->len; i++)
        running |= sq_answer_card_is_running (g_ptr_array_index (cards, i));
    }
  while (running);
  end = g_get_monotonic_time ();

  g_source_remove (timeout_id);
  gtk_widget_remove_tick_callback (window, tick_id);

  for (guint i = 0; i < cards->len; i++)
    {
      g_autofree char *text = sq_answer_card_dup_text (g_ptr_array_index (cards, i));

      characters += g_utf8_strlen (text, -1);
    }

  g_print ("Ask view, %u answers streaming at once, %u tokens each, one every %u ms\n",
           cards->len, ANSWER_TOKENS, TOKEN_DELAY_MS);
  g_print ("%-24s %.2f s, %zu characters drawn\n", "wall time", (end - start) / 1e6, characters);
  g_print ("%-24s %s\n", "renderer", g_getenv ("GSK_RENDERER") != NULL ? g_getenv ("GSK_RENDERER") : "default");
  report ("main loop stall", "ask-8-streams-stall", timeout_probe.gaps, 1.0);
  report ("frame interval", NULL, frame_probe.gaps, 0.0);
  report ("  streaming only: stall", "ask-8-streams-steady-stall", timeout_probe.steady_gaps, 1.0);
  report ("  streaming only: frame", NULL, frame_probe.steady_gaps, 0.0);

  gtk_window_destroy (GTK_WINDOW (window));
  g_array_unref (timeout_probe.gaps);
  g_array_unref (timeout_probe.steady_gaps);
  g_array_unref (frame_probe.gaps);
  g_array_unref (frame_probe.steady_gaps);

  return 0;
}
