/* screenshot-ask.c
 *
 * Takes the Ask view's screenshots: the real application against the
 * in-process fake Replicate, three models answering about two images,
 * mid-stream and finished, light and dark, wide and narrow. Not a test:
 * run it under Xvfb (see data/screenshots/take-ask.sh).
 *
 * Usage: screenshot-ask OUTDIR
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>

#include "sq-answer-card.h"
#include "sq-application.h"
#include "sq-ask-view.h"
#include "sq-fake-replicate.h"
#include "sq-image-tray.h"
#include "sq-model-picker.h"
#include "sq-prompt-box.h"
#include "sq-rating.h"
#include "sq-window.h"
#include "sq-test-util.h"

static const char *outdir;
static char *tmpdir;

static void
wait_ms (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE), g_usleep (2000);
}

static gboolean
count_frame_cb (GtkWidget     *widget,
                GdkFrameClock *clock,
                gpointer       user_data)
{
  guint *frames = user_data;

  (*frames)++;

  return G_SOURCE_CONTINUE;
}

/* Snapshots between frames, once styles and sizes have settled. */
static void
wait_frames (GtkWidget *window)
{
  guint frames = 0;
  guint tick = gtk_widget_add_tick_callback (window, count_frame_cb, &frames, NULL);

  gtk_widget_queue_draw (window);
  while (frames < 3)
    g_main_context_iteration (NULL, TRUE);
  gtk_widget_remove_tick_callback (window, tick);
}

static void
save_window (GtkWidget  *window,
             const char *name)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = g_build_filename (outdir, name, NULL);
  int width;
  int height;

  wait_frames (window);
  width = gtk_widget_get_width (window);
  height = gtk_widget_get_height (window);
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_texture_save_to_png (texture, path);
  g_print ("%s (%d × %d)\n", path, width, height);
}

/* Two small made-up photos. */
static GFile *
draw_scene (const char *name,
            int         scene)
{
  g_autofree char *path = g_build_filename (tmpdir, name, NULL);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 640, 480);
  cairo_t *cr = cairo_create (surface);
  cairo_pattern_t *sky;

  if (scene == 0)
    {
      sky = cairo_pattern_create_linear (0, 0, 0, 320);
      cairo_pattern_add_color_stop_rgb (sky, 0, 0.35, 0.6, 0.95);
      cairo_pattern_add_color_stop_rgb (sky, 1, 0.85, 0.93, 1.0);
      cairo_set_source (cr, sky);
      cairo_paint (cr);
      cairo_pattern_destroy (sky);
      cairo_set_source_rgb (cr, 1.0, 0.85, 0.3);
      cairo_arc (cr, 500, 110, 55, 0, 2 * G_PI);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.3, 0.62, 0.3);
      cairo_move_to (cr, 0, 330);
      cairo_curve_to (cr, 160, 250, 300, 380, 640, 290);
      cairo_line_to (cr, 640, 480);
      cairo_line_to (cr, 0, 480);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.2, 0.48, 0.25);
      cairo_move_to (cr, 0, 420);
      cairo_curve_to (cr, 200, 360, 420, 460, 640, 380);
      cairo_line_to (cr, 640, 480);
      cairo_line_to (cr, 0, 480);
      cairo_fill (cr);
    }
  else
    {
      cairo_set_source_rgb (cr, 0.93, 0.89, 0.82);
      cairo_paint (cr);
      cairo_set_source_rgb (cr, 0.55, 0.38, 0.25);
      cairo_rectangle (cr, 0, 330, 640, 150);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.85, 0.2, 0.2);
      cairo_arc (cr, 200, 280, 70, 0, 2 * G_PI);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.2, 0.4, 0.8);
      cairo_rectangle (cr, 340, 200, 120, 140);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 0.95, 0.75, 0.2);
      cairo_rectangle (cr, 470, 260, 80, 80);
      cairo_fill (cr);
    }

  cairo_destroy (cr);
  cairo_surface_write_to_png (surface, path);
  cairo_surface_destroy (surface);

  return g_file_new_for_path (path);
}

static SqWindow *
find_window (GApplication *app)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l; l = l->next)
    {
      if (SQ_IS_WINDOW (l->data))
        return l->data;
    }

  return NULL;
}

static gboolean
any_running (SqAskView *view)
{
  g_autoptr(GPtrArray) cards = sq_ask_view_get_cards (view);

  for (guint i = 0; i < cards->len; i++)
    {
      if (sq_answer_card_is_running (g_ptr_array_index (cards, i)))
        return TRUE;
    }

  return FALSE;
}

static void
activate_cb (GApplication *app)
{
  SqWindow *window;
  SqAskView *view;
  SqImageTray *tray;
  SqPromptBox *prompt_box;
  SqModelPicker *picker;
  SqWorkspace *workspace = sq_application_get_workspace (SQ_APPLICATION (app));
  g_autoptr(GFile) first = NULL;
  g_autoptr(GFile) second = NULL;
  g_autoptr(GPtrArray) cards = NULL;
  AdwStyleManager *style = adw_style_manager_get_default ();

  window = find_window (app);
  g_assert (window != NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 860);
  view = SQ_ASK_VIEW (gtk_widget_get_template_child (GTK_WIDGET (window), SQ_TYPE_WINDOW, "ask_view"));
  tray = SQ_IMAGE_TRAY (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_ASK_VIEW, "tray"));
  prompt_box = SQ_PROMPT_BOX (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_ASK_VIEW, "prompt_box"));
  picker = SQ_MODEL_PICKER (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_ASK_VIEW, "picker"));

  while (sq_workspace_get_client (workspace) == NULL || sq_workspace_get_project (workspace) == NULL)
    g_main_context_iteration (NULL, TRUE);

  /* The empty state first, once the window's crossfade is over. */
  wait_ms (1500);
  save_window (GTK_WIDGET (window), "ask-empty.png");

  first = draw_scene ("meadow.png", 0);
  second = draw_scene ("still-life.png", 1);
  sq_image_tray_add_file (tray, first);
  sq_image_tray_add_file (tray, second);
  while (sq_image_tray_get_n_images (tray) < 2)
    g_main_context_iteration (NULL, TRUE);

  sq_model_picker_set_selected (picker, "llava-13b", TRUE);
  sq_model_picker_set_selected (picker, "fuyu-8b", TRUE);
  sq_model_picker_set_selected (picker, "minigpt-4", FALSE);
  sq_model_picker_set_selected (picker, "cogvlm", TRUE);
  sq_prompt_box_set_text (prompt_box, "what is shown in this image?");

  gtk_widget_activate_action (GTK_WIDGET (view), "ask.ask", NULL);
  wait_ms (2200);
  save_window (GTK_WIDGET (window), "ask-streaming-light.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  wait_ms (400);
  save_window (GTK_WIDGET (window), "ask-streaming-dark.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);

  while (any_running (view))
    g_main_context_iteration (NULL, TRUE);

  /* Rate two answers, as a person would after reading them. */
  cards = sq_ask_view_get_cards (view);
  if (cards->len >= 2)
    {
      SqAnswerCard *card = g_ptr_array_index (cards, 0);

      sq_rating_widget_set_value (SQ_RATING_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (card), SQ_TYPE_ANSWER_CARD, "correctness")), 4);
      sq_rating_widget_set_value (SQ_RATING_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (card), SQ_TYPE_ANSWER_CARD, "relevance")), 5);
      card = g_ptr_array_index (cards, 1);
      sq_rating_widget_set_value (SQ_RATING_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (card), SQ_TYPE_ANSWER_CARD, "correctness")), 2);
    }

  wait_ms (600);
  save_window (GTK_WIDGET (window), "ask-done-light.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  wait_ms (400);
  save_window (GTK_WIDGET (window), "ask-done-dark.png");
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);

  gtk_window_set_default_size (GTK_WINDOW (window), 400, 860);
  wait_ms (800);
  save_window (GTK_WIDGET (window), "ask-narrow-light.png");

  g_application_quit (app);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(SqFakeReplicate) fake = NULL;
  g_autoptr(SqApplication) app = NULL;
  char *args[] = { argv[0], NULL };

  if (argc != 2)
    {
      g_printerr ("Usage: %s OUTDIR\n", argv[0]);
      return 2;
    }
  outdir = argv[1];
  g_mkdir_with_parents (outdir, 0755);

  tmpdir = sq_test_make_xdg_tmpdir ("squint-screenshot-XXXXXX");
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  fake = sq_fake_replicate_new ();
  sq_fake_replicate_set_token_delay_ms (fake, 60);
  sq_fake_replicate_set_answer_tokens (fake, 60);
  sq_test_setenv_fake (fake);

  app = sq_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_signal_connect_after (app, "activate", G_CALLBACK (activate_cb), NULL);

  return g_application_run (G_APPLICATION (app), 1, args);
}
