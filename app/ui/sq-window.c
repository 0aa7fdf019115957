/* sq-window.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-window"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "sq-ask-view.h"
#include "sq-compare-view.h"
#include "sq-compat.h"
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
  SqAskView            *ask_view;
  SqCompareView        *compare_view;

  GCancellable         *cancellable;  /* (owned) */
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

  /* Labelling what a project already holds needs no token: the Compare
   * view is always there, and its grid builder says why it cannot run. */
  gtk_stack_set_visible_child_name (self->compare_stack,
                                    g_str_equal (child, "loading") ? "loading" : "ready");
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

static SqWorkspace *
sq_window_get_workspace (SqWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  return SQ_IS_APPLICATION (app) ? sq_application_get_workspace (SQ_APPLICATION (app)) : NULL;
}

static void
sq_window_update_project (SqWindow *self)
{
  SqWorkspace *workspace = sq_window_get_workspace (self);
  SqProject *project = workspace != NULL ? sq_workspace_get_project (workspace) : NULL;
  g_autofree char *name = NULL;

  g_assert (SQ_IS_WINDOW (self));

  if (project != NULL)
    {
      name = g_path_get_basename (sq_project_get_path (project));
      if (g_str_has_suffix (name, ".squint"))
        name[strlen (name) - strlen (".squint")] = '\0';
      g_signal_handlers_disconnect_by_func (project, sq_window_update_project, self);
      g_signal_connect_object (project, "notify::path",
                               G_CALLBACK (sq_window_update_project), self,
                               G_CONNECT_SWAPPED);
    }

  adw_view_switcher_title_set_subtitle (self->switcher_title, name != NULL ? name : "");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.save-project-as", project != NULL);
}

static void
sq_window_toast_error (SqWindow     *self,
                       const char   *what,
                       const GError *error)
{
  g_autofree char *message = g_strdup_printf ("%s: %s", what, error->message);

  sq_window_add_toast (self, adw_toast_new (message));
}

static void
open_project_done_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(SqWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_workspace_open_project_finish (SQ_WORKSPACE (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    sq_window_toast_error (self, _("Could not open the project"), error);
}

static void
open_project_chosen_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(SqWindow) self = user_data;
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;
  SqWorkspace *workspace;

  file = sq_compat_open_file_finish (result, NULL);
  workspace = sq_window_get_workspace (self);
  if (file == NULL || workspace == NULL)
    return;

  path = g_file_get_path (file);
  if (path == NULL)
    return;

  sq_workspace_open_project_async (workspace, path, self->cancellable,
                                   open_project_done_cb, g_object_ref (self));
}

static void
sq_window_open_project_action (GtkWidget  *widget,
                               const char *action_name,
                               GVariant   *parameter)
{
  SqWindow *self = SQ_WINDOW (widget);

  sq_compat_open_file_async (GTK_WINDOW (self), _("Open Project"), _("Squint Projects"),
                             "*.squint", self->cancellable,
                             open_project_chosen_cb, g_object_ref (self));
}

static void
save_as_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SqWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_project_save_as_finish (SQ_PROJECT (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    sq_window_toast_error (self, _("Could not save the project"), error);
}

static void
save_as_chosen_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(SqWindow) self = user_data;
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;
  SqWorkspace *workspace;
  SqProject *project;

  file = sq_compat_save_file_finish (result, NULL);
  workspace = sq_window_get_workspace (self);
  project = workspace != NULL ? sq_workspace_get_project (workspace) : NULL;
  if (file == NULL || project == NULL)
    return;

  path = g_file_get_path (file);
  if (path == NULL)
    return;
  if (!g_str_has_suffix (path, ".squint"))
    {
      char *with_suffix = g_strconcat (path, ".squint", NULL);

      g_free (path);
      path = with_suffix;
    }

  sq_project_save_as_async (project, path, self->cancellable,
                            save_as_done_cb, g_object_ref (self));
}

static void
sq_window_save_project_as_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  SqWindow *self = SQ_WINDOW (widget);

  /* Translators: the suggested file name of a project */
  sq_compat_save_file_async (GTK_WINDOW (self), _("Save Project As"), _("Untitled.squint"),
                             self->cancellable, save_as_chosen_cb, g_object_ref (self));
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

  sq_ask_view_set_workspace (self->ask_view, sq_application_get_workspace (app));
  sq_compare_view_set_workspace (self->compare_view, sq_application_get_workspace (app));
  g_signal_connect_object (sq_application_get_workspace (app), "notify::project",
                           G_CALLBACK (sq_window_update_project), self,
                           G_CONNECT_SWAPPED);
  sq_window_update_project (self);
}

static void
sq_window_dispose (GObject *object)
{
  SqWindow *self = SQ_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
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
  gtk_widget_class_bind_template_child (widget_class, SqWindow, ask_view);
  gtk_widget_class_bind_template_child (widget_class, SqWindow, compare_view);

  gtk_widget_class_install_action (widget_class, "win.open-project", NULL,
                                   sq_window_open_project_action);
  gtk_widget_class_install_action (widget_class, "win.save-project-as", NULL,
                                   sq_window_save_project_as_action);

  gtk_widget_class_install_action (widget_class, "win.view", "s", sq_window_view_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK,
                                       "win.view", "s", "ask");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK,
                                       "win.view", "s", "compare");
}

static void
sq_window_init (SqWindow *self)
{
  self->cancellable = g_cancellable_new ();

  g_type_ensure (SQ_TYPE_ASK_VIEW);
  g_type_ensure (SQ_TYPE_COMPARE_VIEW);
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
