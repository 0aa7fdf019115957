/* test-ask-widgets.c
 *
 * The Ask view's reusable widgets: SqRatingWidget (keys, clicks,
 * clearing, its accessible value) and SqModelPicker (the built-in
 * models, the remembered selection and settings, adding models by
 * reference against the fake Replicate server).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "sq-error.h"
#include "sq-fake-replicate.h"
#include "sq-model-picker.h"
#include "sq-rating.h"
#include "sq-workspace.h"
#include "sq-test-util.h"

static char *tmpdir;

static void
iterate_until (gboolean *flag)
{
  while (!*flag)
    g_main_context_iteration (NULL, TRUE);
}

static gpointer
find_controller (GtkWidget *widget,
                 GType      type)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (controller, type))
        return controller;
    }

  return NULL;
}

static gpointer
find_descendant (GtkWidget  *widget,
                 GType       type,
                 const char *data_key,
                 const char *data_value)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      gpointer found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type) &&
          (data_key == NULL || g_strcmp0 (g_object_get_data (G_OBJECT (child), data_key), data_value) == 0))
        return child;

      found = find_descendant (child, type, data_key, data_value);
      if (found != NULL)
        return found;
    }

  return NULL;
}

static gboolean
press_key (GtkWidget *widget,
           guint      keyval)
{
  GtkEventController *keys = find_controller (widget, GTK_TYPE_EVENT_CONTROLLER_KEY);
  gboolean handled = FALSE;

  g_assert_nonnull (keys);
  g_signal_emit_by_name (keys, "key-pressed", keyval, 0, 0, &handled);

  return handled;
}

static void
count_cb (guint *count)
{
  (*count)++;
}

static void
test_rating_keys (void)
{
  GtkWidget *rating = g_object_ref_sink (sq_rating_widget_new ("Correctness"));
  guint changed = 0;
  g_autofree char *tooltip = NULL;

  g_signal_connect_swapped (rating, "changed", G_CALLBACK (count_cb), &changed);

  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 0);
  g_assert_true (gtk_widget_get_focusable (rating));
  g_assert_cmpint (gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (rating)), ==,
                   GTK_ACCESSIBLE_ROLE_SLIDER);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (rating), ==, "Correctness: not rated");

  g_assert_true (press_key (rating, GDK_KEY_4));
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 4);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (rating), ==, "Correctness: 4 of 5");
  g_assert_cmpuint (changed, ==, 1);

  g_assert_true (press_key (rating, GDK_KEY_Right));
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 5);
  g_assert_true (press_key (rating, GDK_KEY_Right));
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 5);
  g_assert_cmpuint (changed, ==, 2);
  g_assert_true (press_key (rating, GDK_KEY_Left));
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 4);
  g_assert_true (press_key (rating, GDK_KEY_BackSpace));
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 0);
  g_assert_true (press_key (rating, GDK_KEY_KP_2));
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 2);
  g_assert_true (press_key (rating, GDK_KEY_0));
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 0);
  g_assert_true (press_key (rating, GDK_KEY_3));
  g_assert_true (press_key (rating, GDK_KEY_Delete));
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 0);
  g_assert_cmpuint (changed, ==, 8);
  g_assert_false (press_key (rating, GDK_KEY_a));

  /* Setting the value from code does not count as a change by the person. */
  sq_rating_widget_set_value (SQ_RATING_WIDGET (rating), 3);
  g_assert_cmpuint (changed, ==, 8);
  g_object_get (rating, "tooltip-text", &tooltip, NULL);
  g_assert_cmpstr (tooltip, ==, "Correctness: 3 of 5");

  sq_rating_widget_set_criterion_label (SQ_RATING_WIDGET (rating), "Relevance");
  g_assert_cmpstr (gtk_widget_get_tooltip_text (rating), ==, "Relevance: 3 of 5");

  g_assert_finalize_object (rating);
}

static void
test_rating_click (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *rating = sq_rating_widget_new ("Relevance");
  GtkWidget *stars;
  GtkWidget *third;
  GtkGesture *click;
  graphene_rect_t bounds;
  guint changed = 0;

  gtk_window_set_child (GTK_WINDOW (window), rating);
  gtk_window_present (GTK_WINDOW (window));
  while (gtk_widget_get_width (rating) == 0)
    g_main_context_iteration (NULL, TRUE);

  g_signal_connect_swapped (rating, "changed", G_CALLBACK (count_cb), &changed);

  stars = find_descendant (rating, GTK_TYPE_BOX, NULL, NULL);
  stars = gtk_widget_get_next_sibling (gtk_widget_get_first_child (stars));
  g_assert_true (gtk_widget_has_css_class (stars, "stars"));
  third = gtk_widget_get_next_sibling (gtk_widget_get_next_sibling (gtk_widget_get_first_child (stars)));
  g_assert_true (gtk_widget_compute_bounds (third, stars, &bounds));

  click = find_controller (stars, GTK_TYPE_GESTURE_CLICK);
  g_assert_nonnull (click);
  g_signal_emit_by_name (click, "pressed", 1,
                         (double) bounds.origin.x + bounds.size.width / 2,
                         (double) bounds.origin.y + bounds.size.height / 2);
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 3);
  g_assert_true (gtk_widget_has_css_class (third, "filled"));
  g_assert_true (gtk_widget_has_css_class (rating, "rated"));

  /* The same star again clears. */
  g_signal_emit_by_name (click, "pressed", 1,
                         (double) bounds.origin.x + bounds.size.width / 2,
                         (double) bounds.origin.y + bounds.size.height / 2);
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 0);
  g_assert_false (gtk_widget_has_css_class (third, "filled"));
  g_assert_cmpuint (changed, ==, 2);

  /* And so does the clear button. */
  sq_rating_widget_set_value (SQ_RATING_WIDGET (rating), 5);
  g_signal_emit_by_name (find_descendant (rating, GTK_TYPE_BUTTON, NULL, NULL), "clicked");
  g_assert_cmpint (sq_rating_widget_get_value (SQ_RATING_WIDGET (rating)), ==, 0);
  g_assert_cmpuint (changed, ==, 3);

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_picker_builtin (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.squintapp.Squint");
  g_autoptr(SqWorkspace) workspace = sq_workspace_new ();
  g_autoptr(GPtrArray) selected = NULL;
  g_autoptr(GHashTable) model_settings = NULL;
  g_auto(GStrv) names = NULL;
  GtkWidget *picker;
  GtkWidget *window;
  GtkMenuButton *settings_button;
  GtkSpinButton *spin;
  SqModel *llava = NULL;

  g_settings_reset (settings, "selected-models");
  g_settings_reset (settings, "model-settings");
  g_settings_set_strv (settings, "selected-models",
                       (const char * const[]) { "llava-13b", "fuyu-8b", NULL });

  picker = sq_model_picker_new (workspace, settings);
  window = gtk_window_new ();
  gtk_window_set_child (GTK_WINDOW (window), picker);
  gtk_window_present (GTK_WINDOW (window));

  g_assert_cmpuint (sq_model_picker_get_n_selected (SQ_MODEL_PICKER (picker)), ==, 2);
  selected = sq_model_picker_dup_selected (SQ_MODEL_PICKER (picker));
  g_assert_cmpuint (selected->len, ==, 2);
  g_assert_cmpstr (sq_model_get_alias (g_ptr_array_index (selected, 0)), ==, "llava-13b");
  g_assert_cmpstr (sq_model_get_alias (g_ptr_array_index (selected, 1)), ==, "fuyu-8b");
  llava = g_ptr_array_index (selected, 0);

  g_assert_true (sq_model_picker_set_selected (SQ_MODEL_PICKER (picker), "cogvlm", TRUE));
  g_assert_true (sq_model_picker_set_selected (SQ_MODEL_PICKER (picker), "fuyu-8b", FALSE));
  g_assert_false (sq_model_picker_set_selected (SQ_MODEL_PICKER (picker), "nope", TRUE));
  names = g_settings_get_strv (settings, "selected-models");
  g_assert_cmpstrv (names, ((const char * const[]) { "llava-13b", "cogvlm", NULL }));
  g_assert_cmpuint (sq_model_picker_get_n_selected (SQ_MODEL_PICKER (picker)), ==, 2);

  /* The settings popover is made from the schema; a change is kept. */
  settings_button = find_descendant (picker, GTK_TYPE_MENU_BUTTON, NULL, NULL);
  g_assert_nonnull (settings_button);
  gtk_menu_button_popup (settings_button);
  g_assert_nonnull (gtk_menu_button_get_popover (settings_button));
  spin = find_descendant (GTK_WIDGET (gtk_menu_button_get_popover (settings_button)),
                          GTK_TYPE_SPIN_BUTTON, "sq-key", "temperature");
  g_assert_nonnull (spin);
  gtk_spin_button_set_value (spin, 0.75);
  model_settings = sq_model_picker_dup_settings (SQ_MODEL_PICKER (picker), llava);
  g_assert_cmpstr (g_hash_table_lookup (model_settings, "temperature"), ==, "0.75");
  g_clear_pointer (&model_settings, g_hash_table_unref);

  /* Below the schema's minimum, the spin button clamps. */
  gtk_spin_button_set_value (spin, -3);
  model_settings = sq_model_picker_dup_settings (SQ_MODEL_PICKER (picker), llava);
  g_assert_cmpstr (g_hash_table_lookup (model_settings, "temperature"), ==, "0");
  g_clear_pointer (&model_settings, g_hash_table_unref);
  gtk_popover_popdown (gtk_menu_button_get_popover (settings_button));

  /* A new picker remembers all of it. */
  gtk_window_destroy (GTK_WINDOW (window));
  picker = g_object_ref_sink (sq_model_picker_new (workspace, settings));
  g_assert_cmpuint (sq_model_picker_get_n_selected (SQ_MODEL_PICKER (picker)), ==, 2);
  g_clear_pointer (&selected, g_ptr_array_unref);
  selected = sq_model_picker_dup_selected (SQ_MODEL_PICKER (picker));
  model_settings = sq_model_picker_dup_settings (SQ_MODEL_PICKER (picker), g_ptr_array_index (selected, 0));
  g_assert_nonnull (g_hash_table_lookup (model_settings, "temperature"));
  g_clear_pointer (&selected, g_ptr_array_unref);
  g_assert_finalize_object (picker);
}

static void
add_model_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  GError **error = user_data;

  if (!sq_model_picker_add_model_finish (SQ_MODEL_PICKER (object), result, error))
    g_assert_nonnull (*error);
  else
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "ok");
}

static GError *
add_model (GtkWidget  *picker,
           const char *ref)
{
  GError *error = NULL;

  sq_model_picker_add_model_async (SQ_MODEL_PICKER (picker), ref, NULL, add_model_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    g_clear_error (&error);

  return error;
}

static void
reload_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  gboolean *done = user_data;

  g_assert_true (sq_workspace_reload_client_finish (SQ_WORKSPACE (object), result, NULL));
  *done = TRUE;
}

static void
test_picker_add (void)
{
  g_autoptr(SqFakeReplicate) fake = sq_fake_replicate_new ();
  g_autoptr(GSettings) settings = g_settings_new ("io.github.squintapp.Squint");
  g_autoptr(SqWorkspace) workspace = sq_workspace_new ();
  g_autoptr(GPtrArray) selected = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) customs = NULL;
  GtkWidget *picker;
  gboolean done = FALSE;

  sq_test_setenv_fake (fake);
  sq_workspace_reload_client_async (workspace, NULL, reload_cb, &done);
  iterate_until (&done);

  g_settings_reset (settings, "custom-models");
  g_settings_set_strv (settings, "selected-models", (const char * const[]) { "llava-13b", NULL });
  picker = g_object_ref_sink (sq_model_picker_new (workspace, settings));

  error = add_model (picker, "not a model");
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE);
  g_clear_error (&error);

  error = add_model (picker, "acme/does-not-exist");
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "acme/does-not-exist"));
  g_clear_error (&error);

  error = add_model (picker, "acme/text-only");
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_NO_IMAGE_INPUT);
  g_clear_error (&error);

  customs = g_settings_get_strv (settings, "custom-models");
  g_assert_cmpuint (g_strv_length (customs), ==, 0);
  g_clear_pointer (&customs, g_strfreev);

  error = add_model (picker, " zsxkib/molmo-7b ");
  g_assert_no_error (error);
  customs = g_settings_get_strv (settings, "custom-models");
  g_assert_cmpstrv (customs, ((const char * const[]) { "zsxkib/molmo-7b", NULL }));
  selected = sq_model_picker_dup_selected (SQ_MODEL_PICKER (picker));
  g_assert_cmpuint (selected->len, ==, 2);
  g_assert_cmpstr (sq_model_get_owner (g_ptr_array_index (selected, 1)), ==, "zsxkib");
  g_clear_pointer (&selected, g_ptr_array_unref);
  g_assert_finalize_object (picker);

  /* A new picker looks the added model up again and keeps it ticked. */
  picker = g_object_ref_sink (sq_model_picker_new (workspace, settings));
  while (sq_model_picker_get_n_selected (SQ_MODEL_PICKER (picker)) < 2)
    g_main_context_iteration (NULL, TRUE);
  selected = sq_model_picker_dup_selected (SQ_MODEL_PICKER (picker));
  g_assert_cmpstr (sq_model_get_name (g_ptr_array_index (selected, 1)), ==, "molmo-7b");
  g_clear_pointer (&selected, g_ptr_array_unref);
  g_assert_finalize_object (picker);

  g_unsetenv ("REPLICATE_BASE_URL");
  g_unsetenv ("REPLICATE_API_TOKEN");
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  tmpdir = sq_test_make_xdg_tmpdir ("squint-ask-widgets-XXXXXX");
  g_unsetenv ("REPLICATE_API_TOKEN");
  g_unsetenv ("REPLICATE_BASE_URL");

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/rating/keys", test_rating_keys);
  g_test_add_func ("/rating/click", test_rating_click);
  g_test_add_func ("/model-picker/builtin", test_picker_builtin);
  g_test_add_func ("/model-picker/add", test_picker_add);

  ret = g_test_run ();

  g_free (tmpdir);

  return ret;
}
