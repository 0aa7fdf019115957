/* shoot-compare.c
 *
 * Takes the Compare view's screenshots with the real window, against the
 * in-process fake Replicate: a running grid, the labelled table and the
 * summary chart, in light and dark styles, and the table at a narrow
 * width. Not a test: run it through data/screenshots/take-compare.sh.
 *
 * Usage: shoot-compare OUTDIR
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "sq-application.h"
#include "sq-compare-view.h"
#include "sq-fake-replicate.h"
#include "sq-grid-builder.h"
#include "sq-model-picker.h"
#include "sq-window.h"

static const char *outdir;

static void
iterate_ms (guint ms)
{
  gint64 until = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < until)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2000);
    }
}

static void
shoot (GtkWidget  *window,
       const char *name)
{
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = NULL;
  GskRenderer *renderer;
  int width, height;

  iterate_ms (500);
  width = gtk_widget_get_width (window);
  height = gtk_widget_get_height (window);
  paintable = gtk_widget_paintable_new (window);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  path = g_strdup_printf ("%s/%s.png", outdir, name);
  if (!gdk_texture_save_to_png (texture, path))
    g_error ("Could not write %s", path);
  g_print ("Wrote %s\n", path);
}

static void
shoot_both (GtkWidget  *window,
            const char *name)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  g_autofree char *light = g_strdup_printf ("%s-light", name);
  g_autofree char *dark = g_strdup_printf ("%s-dark", name);

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  shoot (window, light);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  shoot (window, dark);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
}

static void
image_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  SqImage **slot = user_data;
  g_autoptr(GError) error = NULL;

  *slot = sq_image_load_finish (result, &error);
  g_assert_no_error (error);
}

/* A small picture: a sky-to-ground gradient with a sun, so thumbnails
 * look like photographs rather than flat squares. */
static SqImage *
make_image (const char *name,
            guint32     sky,
            guint32     ground)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 160, 120);
  guchar *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  g_autoptr(GBytes) bytes = NULL;
  SqImage *image = NULL;
  char *buffer = NULL;
  gsize len = 0;

  for (int y = 0; y < 120; y++)
    for (int x = 0; x < 160; x++)
      {
        guint32 c = y < 75 ? sky : ground;
        double shade = y < 75 ? 0.7 + 0.3 * y / 75.0 : 1.0 - 0.4 * (y - 75) / 45.0;
        double dx = x - 118, dy = y - 34;
        guchar *p = pixels + y * stride + x * 3;

        p[0] = ((c >> 24) & 0xff) * shade;
        p[1] = ((c >> 16) & 0xff) * shade;
        p[2] = ((c >> 8) & 0xff) * shade;
        if (dx * dx + dy * dy < 14 * 14)
          p[0] = 250, p[1] = 220, p[2] = 120;
      }

  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &len, "png", NULL, NULL));
  bytes = g_bytes_new_take (buffer, len);
  sq_image_load_bytes_async (bytes, name, NULL, image_cb, &image);
  while (image == NULL)
    g_main_context_iteration (NULL, TRUE);

  return image;
}

static void
press (SqCompareView *view,
       guint          keyval)
{
  GtkWidget *column_view = GTK_WIDGET (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_COMPARE_VIEW, "column_view"));
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (column_view);
  gboolean handled = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (g_strcmp0 (gtk_event_controller_get_name (controller), "sq-labelling-keys") == 0)
        g_signal_emit_by_name (controller, "key-pressed", keyval, 0, 0, &handled);
    }
  g_assert_true (handled);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmpdir = g_dir_make_tmp ("squint-shoot-XXXXXX", NULL);
  g_autoptr(SqFakeReplicate) fake = NULL;
  g_autoptr(SqApplication) app = NULL;
  static const char *prompts[] = {
    "What is shown in this image?",
    "Where could this photo have been taken?",
    "Describe the weather in one sentence.",
  };
  const guint32 skies[] = { 0x6fa8dcff, 0xe69138ff, 0x8e7cc3ff };
  const guint32 grounds[] = { 0x38761dff, 0xbf9000ff, 0x45818eff };
  const char *names[] = { "meadow.jpg", "desert.jpg", "lake.jpg" };
  SqCompareView *view;
  SqGridBuilder *builder;
  SqModelPicker *picker;
  SqWindow *window;
  SqGridRun *run;

  if (argc < 2)
    g_error ("usage: shoot-compare OUTDIR");
  outdir = argv[1];

  g_setenv ("XDG_DATA_HOME", tmpdir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmpdir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", tmpdir, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);

  fake = sq_fake_replicate_new ();
  sq_fake_replicate_set_token_delay_ms (fake, 45);
  sq_fake_replicate_set_start_delay_ms (fake, 300);
  sq_fake_replicate_set_answer_tokens (fake, 28);
  g_setenv ("REPLICATE_BASE_URL", sq_fake_replicate_get_origin (fake), TRUE);
  g_setenv ("REPLICATE_API_TOKEN", SQ_FAKE_REPLICATE_TOKEN, TRUE);

  app = sq_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
  g_application_activate (G_APPLICATION (app));

  window = SQ_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_nonnull (window);
  gtk_window_unmaximize (GTK_WINDOW (window));
  gtk_window_set_default_size (GTK_WINDOW (window), 1360, 820);
  while (!sq_application_get_token_checked (app) ||
         sq_workspace_get_project (sq_application_get_workspace (app)) == NULL ||
         sq_workspace_get_client (sq_application_get_workspace (app)) == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.view", "s", "compare"));

  view = SQ_COMPARE_VIEW (gtk_widget_get_template_child (GTK_WIDGET (window), SQ_TYPE_WINDOW, "compare_view"));
  while (!sq_compare_view_get_loaded (view))
    g_main_context_iteration (NULL, TRUE);
  builder = SQ_GRID_BUILDER (sq_compare_view_get_grid_builder (view));
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_COMPARE_VIEW, "grid_button")), TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (prompts); i++)
    sq_grid_builder_add_prompt (builder, prompts[i]);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(SqImage) image = make_image (names[i], skies[i], grounds[i]);

      sq_grid_builder_add_image (builder, image);
    }
  picker = SQ_MODEL_PICKER (sq_grid_builder_get_model_picker (builder));
  sq_model_picker_set_selected (picker, "llava-13b", TRUE);
  sq_model_picker_set_selected (picker, "fuyu-8b", TRUE);
  sq_model_picker_set_selected (picker, "minigpt-4", TRUE);
  sq_model_picker_set_selected (picker, "cogvlm", TRUE);
  iterate_ms (800);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (builder), "grid.run", NULL));
  run = sq_grid_builder_get_run (builder);
  while (sq_grid_run_get_n_done (run) < 14)
    g_main_context_iteration (NULL, TRUE);
  press (view, GDK_KEY_j);
  shoot_both (GTK_WIDGET (window), "compare-running");

  while (sq_grid_run_get_state (run) != SQ_GRID_RUN_STATE_FINISHED)
    g_main_context_iteration (NULL, TRUE);
  iterate_ms (800);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_COMPARE_VIEW, "grid_button")), FALSE);

  /* Label all 36 answers with keys only: a made-up but plausible rater */
  press (view, GDK_KEY_n);
  for (guint i = 0; i < 36; i++)
    {
      guint model = i % 4;
      int correctness = 1 + (int) ((3 - model + i / 7) % 5);
      int relevance = 1 + (int) ((4 - model / 2 + i % 3) % 5);

      if (i == 35)
        break;  /* leave the last one to show "unrated" */
      press (view, GDK_KEY_0 + correctness);
      press (view, GDK_KEY_0 + relevance);
    }
  press (view, GDK_KEY_k);
  press (view, GDK_KEY_k);
  press (view, GDK_KEY_Return);  /* expand one answer */
  iterate_ms (1000);
  shoot_both (GTK_WIDGET (window), "compare-labelled");

  /* The summary, wide */
  gtk_window_set_default_size (GTK_WINDOW (window), 1500, 860);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (gtk_widget_get_template_child (GTK_WIDGET (view), SQ_TYPE_COMPARE_VIEW, "summary_button")), TRUE);
  iterate_ms (1000);
  shoot_both (GTK_WIDGET (window), "compare-summary");

  /* Blind mode */
  sq_compare_view_set_blind (view, TRUE);
  iterate_ms (800);
  shoot (GTK_WIDGET (window), "compare-blind-light");

  /* Narrow */
  sq_compare_view_set_blind (view, FALSE);
  gtk_window_set_default_size (GTK_WINDOW (window), 420, 760);
  iterate_ms (1000);
  shoot_both (GTK_WIDGET (window), "compare-narrow");

  gtk_window_destroy (GTK_WINDOW (window));
  iterate_ms (300);

  return 0;
}
