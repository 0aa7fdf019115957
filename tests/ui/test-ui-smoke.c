/* test-ui-smoke.c
 *
 * Opens the real window and Preferences, and saves, reads back and
 * removes the API token through the Preferences widgets, with libsecret
 * on its file backend.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>

#include "sq-application.h"
#include "sq-preferences-window.h"
#include "sq-window.h"
#include "sq-test-util.h"

static SqApplication *app;
static char *tmpdir;
static char *keyring_path;

static gpointer
find_window (GType type)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l; l = l->next)
    {
      if (G_TYPE_CHECK_INSTANCE_TYPE (l->data, type))
        return l->data;
    }

  return NULL;
}

static gpointer
template_child (gpointer    widget,
                GType       type,
                const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (child);

  return child;
}

static void
wait_for_token_source (SqTokenSource source)
{
  while (!sq_application_get_token_checked (app) ||
         sq_application_get_token_source (app) != source)
    g_main_context_iteration (NULL, TRUE);
}

/* Every interactive control below @widget has an accessible name: a
 * label, a labelling relation, or (for buttons) a text label. */
static guint
assert_controls_named (GtkWidget *widget)
{
  guint n_checked = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      /* Hidden widgets (like the search entry of the disabled search) are
       * not controls anyone reaches. */
      if (!gtk_widget_get_visible (child) || !gtk_widget_get_child_visible (child))
        continue;

      if (GTK_IS_SWITCH (child) || GTK_IS_SPIN_BUTTON (child) || GTK_IS_TEXT (child) ||
          (GTK_IS_BUTTON (child) && gtk_button_get_label (GTK_BUTTON (child)) == NULL &&
           gtk_widget_get_tooltip_text (child) == NULL))
        {
          gboolean named = gtk_test_accessible_has_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL) ||
                           gtk_test_accessible_has_relation (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_RELATION_LABELLED_BY);

          if (!named)
            g_test_message ("unnamed %s inside %s", G_OBJECT_TYPE_NAME (child),
                            G_OBJECT_TYPE_NAME (gtk_widget_get_parent (child)));
          g_assert_true (named);
          n_checked++;
          /* Its own parts (the text of a spin button) are named by it. */
          continue;
        }

      n_checked += assert_controls_named (child);
    }

  return n_checked;
}

static SqPreferencesWindow *
open_preferences (SqWindow *window)
{
  SqPreferencesWindow *prefs;

  g_assert_null (find_window (SQ_TYPE_PREFERENCES_WINDOW));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "app.preferences", NULL));
  prefs = find_window (SQ_TYPE_PREFERENCES_WINDOW);
  g_assert_nonnull (prefs);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (prefs)) == GTK_WINDOW (window));

  /* Let the keyring lookup of the window finish. */
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);

  return prefs;
}

static void
test_window (void)
{
  SqWindow *window = find_window (SQ_TYPE_WINDOW);
  AdwViewStack *stack;
  GtkWidget *child;
  GtkMenuButton *menu_button;
  GtkStack *ask_stack;

  g_assert_nonnull (window);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (window)));

  stack = template_child (window, SQ_TYPE_WINDOW, "view_stack");
  child = adw_view_stack_get_child_by_name (stack, "ask");
  g_assert_nonnull (child);
  g_assert_cmpstr (adw_view_stack_page_get_title (adw_view_stack_get_page (stack, child)), ==, "_Ask");
  child = adw_view_stack_get_child_by_name (stack, "compare");
  g_assert_nonnull (child);
  g_assert_cmpstr (adw_view_stack_page_get_title (adw_view_stack_get_page (stack, child)), ==, "_Compare");

  /* Alt+2 / Alt+1 switch views through win.view. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.view", "s", "compare"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "compare");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.view", "s", "ask"));
  g_assert_cmpstr (adw_view_stack_get_visible_child_name (stack), ==, "ask");

  menu_button = template_child (window, SQ_TYPE_WINDOW, "menu_button");
  gtk_test_accessible_assert_property (menu_button, GTK_ACCESSIBLE_PROPERTY_LABEL, "Main Menu");
  g_assert_nonnull (gtk_menu_button_get_menu_model (menu_button));
  g_assert_cmpint (g_menu_model_get_n_items (gtk_menu_button_get_menu_model (menu_button)), >, 0);
  g_assert_cmpuint (assert_controls_named (GTK_WIDGET (window)), >=, 1);

  /* No token anywhere: the first-run state for asking; the Compare view
   * stays usable for labelling what the project holds. */
  wait_for_token_source (SQ_TOKEN_SOURCE_NONE);
  ask_stack = template_child (window, SQ_TYPE_WINDOW, "ask_stack");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (ask_stack), ==, "connect");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (template_child (window, SQ_TYPE_WINDOW, "compare_stack")),
                   ==, "ready");
}

static void
test_preferences_token (void)
{
  SqWindow *window = find_window (SQ_TYPE_WINDOW);
  SqPreferencesWindow *prefs;
  AdwPasswordEntryRow *token_row;
  g_autofree char *token = NULL;
  GtkStack *ask_stack;
  GtkWidget *connect_button;

  ask_stack = template_child (window, SQ_TYPE_WINDOW, "ask_stack");

  /* The first-run button opens Preferences. */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (ask_stack), ==, "connect");
  connect_button = adw_status_page_get_child (ADW_STATUS_PAGE (gtk_stack_get_child_by_name (ask_stack, "connect")));
  g_assert_true (GTK_IS_BUTTON (connect_button));
  g_assert_null (find_window (SQ_TYPE_PREFERENCES_WINDOW));
  g_signal_emit_by_name (connect_button, "clicked");
  prefs = find_window (SQ_TYPE_PREFERENCES_WINDOW);
  g_assert_nonnull (prefs);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);

  token_row = template_child (prefs, SQ_TYPE_PREFERENCES_WINDOW, "token_row");
  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (token_row)));
  gtk_test_accessible_assert_property (gtk_editable_get_delegate (GTK_EDITABLE (token_row)),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "API Token");

  /* Type a token and press the apply button. */
  gtk_editable_set_text (GTK_EDITABLE (token_row), "r8_SmokeTestToken0123456789");
  g_signal_emit_by_name (token_row, "apply");
  wait_for_token_source (SQ_TOKEN_SOURCE_KEYRING);

  token = sq_test_keyring_lookup ();
  g_assert_cmpstr (token, ==, "r8_SmokeTestToken0123456789");
  g_clear_pointer (&token, g_free);

  /* The entry does not keep it, the keyring file holds it encrypted,
   * and the views left the first-run state. */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (token_row)), ==, "");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (ask_stack), ==, "ready");
  {
    g_autofree char *contents = NULL;
    gsize length = 0;

    g_assert_true (g_file_get_contents (keyring_path, &contents, &length, NULL));
    g_assert_null (g_strstr_len (contents, length, "r8_SmokeTestToken"));
  }

  /* Remove it again. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (prefs), "prefs.remove-token", NULL));
  wait_for_token_source (SQ_TOKEN_SOURCE_NONE);
  g_assert_null (sq_test_keyring_lookup ());
  g_assert_cmpstr (gtk_stack_get_visible_child_name (ask_stack), ==, "connect");

  gtk_window_destroy (GTK_WINDOW (prefs));
}

static void
test_preferences_settings (void)
{
  SqWindow *window = find_window (SQ_TYPE_WINDOW);
  GSettings *settings = sq_application_get_settings (app);
  SqPreferencesWindow *prefs;
  AdwEntryRow *base_url_row;
  GtkSpinButton *spin;
  AdwExpanderRow *expander;
  g_autofree char *url = NULL;

  g_assert_nonnull (settings);
  prefs = open_preferences (window);
  /* The Replicate page: token text, base URL text, concurrency spin
   * button, and the header bar's close button at least. */
  g_assert_cmpuint (assert_controls_named (GTK_WIDGET (prefs)), >=, 4);

  /* The base URL: plain HTTP off loopback is refused and marked. */
  base_url_row = template_child (prefs, SQ_TYPE_PREFERENCES_WINDOW, "base_url_row");
  gtk_test_accessible_assert_property (gtk_editable_get_delegate (GTK_EDITABLE (base_url_row)),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "API Base URL");
  gtk_editable_set_text (GTK_EDITABLE (base_url_row), "http://proxy.example.com");
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (base_url_row), "error"));
  url = g_settings_get_string (settings, "base-url");
  g_assert_cmpstr (url, ==, "");
  g_clear_pointer (&url, g_free);

  gtk_editable_set_text (GTK_EDITABLE (base_url_row), "https://proxy.example.com");
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (base_url_row), "error"));
  url = g_settings_get_string (settings, "base-url");
  g_assert_cmpstr (url, ==, "https://proxy.example.com");
  g_clear_pointer (&url, g_free);
  g_settings_reset (settings, "base-url");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (base_url_row)), ==, "");

  /* The concurrency spin button and a generation default. */
  spin = template_child (prefs, SQ_TYPE_PREFERENCES_WINDOW, "concurrency_spin");
  gtk_test_accessible_assert_property (spin, GTK_ACCESSIBLE_PROPERTY_LABEL, "Concurrent requests");
  g_assert_cmpfloat (gtk_spin_button_get_value (spin), ==, 4.0);
  gtk_spin_button_set_value (spin, 9);
  g_assert_cmpint (g_settings_get_int (settings, "concurrency"), ==, 9);
  g_settings_reset (settings, "concurrency");

  expander = template_child (prefs, SQ_TYPE_PREFERENCES_WINDOW, "temperature_row");
  spin = template_child (prefs, SQ_TYPE_PREFERENCES_WINDOW, "temperature_spin");
  gtk_test_accessible_assert_property (spin, GTK_ACCESSIBLE_PROPERTY_LABEL, "Temperature");
  g_assert_false (adw_expander_row_get_enable_expansion (expander));
  adw_expander_row_set_enable_expansion (expander, TRUE);
  g_assert_true (g_settings_get_boolean (settings, "override-temperature"));
  gtk_spin_button_set_value (spin, 0.7);
  g_assert_cmpfloat_with_epsilon (g_settings_get_double (settings, "temperature"), 0.7, 1e-9);
  g_settings_reset (settings, "override-temperature");
  g_settings_reset (settings, "temperature");
  g_assert_false (adw_expander_row_get_enable_expansion (expander));

  gtk_window_destroy (GTK_WINDOW (prefs));
}

static void
test_preferences_env_token (void)
{
  SqWindow *window = find_window (SQ_TYPE_WINDOW);
  SqPreferencesWindow *prefs;
  AdwPasswordEntryRow *token_row;
  AdwActionRow *status_row;

  g_setenv ("REPLICATE_API_TOKEN", "r8_FromTheEnvironment", TRUE);
  sq_application_reload_token (app);
  wait_for_token_source (SQ_TOKEN_SOURCE_ENVIRONMENT);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (template_child (window, SQ_TYPE_WINDOW, "ask_stack")),
                   ==, "ready");

  prefs = open_preferences (window);
  token_row = template_child (prefs, SQ_TYPE_PREFERENCES_WINDOW, "token_row");
  status_row = template_child (prefs, SQ_TYPE_PREFERENCES_WINDOW, "token_status_row");
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (token_row)));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (status_row), "REPLICATE_API_TOKEN"));
  /* Nothing from the environment ends up in the keyring. */
  g_assert_null (sq_test_keyring_lookup ());

  gtk_window_destroy (GTK_WINDOW (prefs));
  g_unsetenv ("REPLICATE_API_TOKEN");
  sq_application_reload_token (app);
  wait_for_token_source (SQ_TOKEN_SOURCE_NONE);
}

static void
test_shortcuts_and_about (void)
{
  SqWindow *window = find_window (SQ_TYPE_WINDOW);
  GtkWindow *shortcuts;
  guint n_toplevels;

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "app.shortcuts", NULL));
  shortcuts = find_window (GTK_TYPE_SHORTCUTS_WINDOW);
  g_assert_nonnull (shortcuts);
  gtk_window_destroy (shortcuts);

  n_toplevels = g_list_model_get_n_items (gtk_window_get_toplevels ());
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "app.about", NULL));
  /* A window (libadwaita 1.2) or a dialog inside the main window (1.5+). */
  g_assert_cmpuint (g_list_model_get_n_items (gtk_window_get_toplevels ()), >=, n_toplevels);
}

static void
test_window_state (void)
{
  SqWindow *window = find_window (SQ_TYPE_WINDOW);
  GSettings *settings = sq_application_get_settings (app);

  /* Closing the window remembers its size. */
  gtk_window_set_default_size (GTK_WINDOW (window), 777, 555);
  gtk_window_close (GTK_WINDOW (window));
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 777);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 555);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));
  g_assert_null (find_window (SQ_TYPE_WINDOW));

  /* A new window starts at that size. */
  g_application_activate (G_APPLICATION (app));
  window = find_window (SQ_TYPE_WINDOW);
  g_assert_nonnull (window);
  {
    int width, height;

    gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
    g_assert_cmpint (width, ==, 777);
    g_assert_cmpint (height, ==, 555);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  GList *windows;
  int ret;

  tmpdir = g_dir_make_tmp ("squint-test-ui-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  keyring_path = g_build_filename (tmpdir, "keyring", NULL);
  sq_test_use_file_keyring (keyring_path);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_setenv ("GTK_A11Y", "test", TRUE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  g_unsetenv ("REPLICATE_API_TOKEN");
  g_unsetenv ("REPLICATE_BASE_URL");

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  app = sq_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));

  g_test_add_func ("/ui/window", test_window);
  g_test_add_func ("/ui/preferences/token", test_preferences_token);
  g_test_add_func ("/ui/preferences/settings", test_preferences_settings);
  g_test_add_func ("/ui/preferences/env-token", test_preferences_env_token);
  g_test_add_func ("/ui/shortcuts-and-about", test_shortcuts_and_about);
  g_test_add_func ("/ui/window-state/size", test_window_state);

  ret = g_test_run ();

  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
  g_clear_object (&app);

  g_unlink (keyring_path);
  g_rmdir (tmpdir);
  g_free (keyring_path);
  g_free (tmpdir);

  return ret;
}
