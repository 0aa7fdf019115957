/* sq-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-window"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-window.h"

struct _SqWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwViewSwitcherTitle *switcher_title;
  GtkMenuButton        *menu_button;
  AdwToastOverlay      *toast_overlay;
  AdwViewStack         *view_stack;
  GtkStack             *ask_stack;
  GtkStack             *compare_stack;
  AdwViewSwitcherBar   *switcher_bar;
};

G_DEFINE_FINAL_TYPE (SqWindow, sq_window, ADW_TYPE_APPLICATION_WINDOW)

static void
sq_window_update_token_state (SqWindow *self)
{
  SqApplication *app;
  const char *child;

  g_assert (SQ_IS_WINDOW (self));

  app = SQ_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
  if (app == NULL)
    return;

  if (!sq_application_get_token_checked (app))
    child = "loading";
  else if (sq_application_get_token_source (app) == SQ_TOKEN_SOURCE_NONE)
    child = "connect";
  else
    child = "ready";

  gtk_stack_set_visible_child_name (self->ask_stack, child);
  gtk_stack_set_visible_child_name (self->compare_stack, child);
}

static void
sq_window_view_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  SqWindow *self = SQ_WINDOW (widget);

  adw_view_stack_set_visible_child_name (self->view_stack,
                                         g_variant_get_string (parameter, NULL));
}

static gboolean
sq_window_close_request (GtkWindow *window)
{
  SqWindow *self = SQ_WINDOW (window);
  SqApplication *app;
  GSettings *settings;
  int width;
  int height;

  app = SQ_APPLICATION (gtk_window_get_application (window));
  settings = app != NULL ? sq_application_get_settings (app) : NULL;

  if (settings != NULL)
    {
      gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
      g_settings_set_boolean (settings, "window-maximized", gtk_window_is_maximized (window));
      if (!gtk_window_is_maximized (window))
        {
          g_settings_set_int (settings, "window-width", width);
          g_settings_set_int (settings, "window-height", height);
        }
    }

  return GTK_WINDOW_CLASS (sq_window_parent_class)->close_request (window);
}

/* The "application" property of a GtkWindow is set after construction,
 * so this runs from sq_window_new(). */
static void
sq_window_load (SqWindow      *self,
                SqApplication *app)
{
  GSettings *settings;

  g_assert (SQ_IS_WINDOW (self));
  g_assert (SQ_IS_APPLICATION (app));

  settings = sq_application_get_settings (app);
  if (settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   MAX (360, g_settings_get_int (settings, "window-width")),
                                   MAX (294, g_settings_get_int (settings, "window-height")));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }

  g_signal_connect_object (app, "notify::token-source",
                           G_CALLBACK (sq_window_update_token_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (app, "notify::token-checked",
                           G_CALLBACK (sq_window_update_token_state), self,
                           G_CONNECT_SWAPPED);
  sq_window_update_token_state (self);
}

static void
sq_window_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), SQ_TYPE_WINDOW);

  G_OBJECT_CLASS (sq_window_parent_class)->dispose (object);
}

static void
sq_window_class_init (SqWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = sq_window_dispose;

  window_class->close_request = sq_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SqWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, SqWindow, menu_button);
  gtk_widget_class_bind_template_child (widget_class, SqWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SqWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, SqWindow, ask_stack);
  gtk_widget_class_bind_template_child (widget_class, SqWindow, compare_stack);
  gtk_widget_class_bind_template_child (widget_class, SqWindow, switcher_bar);

  gtk_widget_class_install_action (widget_class, "win.view", "s", sq_window_view_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK,
                                       "win.view", "s", "ask");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK,
                                       "win.view", "s", "compare");
}

static void
sq_window_init (SqWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

SqWindow *
sq_window_new (SqApplication *application)
{
  SqWindow *self;

  g_return_val_if_fail (SQ_IS_APPLICATION (application), NULL);

  self = g_object_new (SQ_TYPE_WINDOW,
                       "application", application,
                       NULL);
  sq_window_load (self, application);

  return self;
}

void
sq_window_add_toast (SqWindow *self,
                     AdwToast *toast)
{
  g_return_if_fail (SQ_IS_WINDOW (self));
  g_return_if_fail (ADW_IS_TOAST (toast));

  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}
