/* sq-compat.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-compat"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-compat.h"

#define SQUINT_WEBSITE   "https://github.com/squintapp/squint"
#define SQUINT_ISSUE_URL "https://github.com/squintapp/squint/issues"

void
sq_compat_show_about (GtkWindow *parent)
{
  static const char *developers[] = {
    "The Squint developers https://github.com/squintapp/squint",
    NULL
  };
#if ADW_CHECK_VERSION (1, 5, 0)
  AdwDialog *about;

  about = adw_about_dialog_new ();
  adw_about_dialog_set_application_name (ADW_ABOUT_DIALOG (about), _("Squint"));
  adw_about_dialog_set_application_icon (ADW_ABOUT_DIALOG (about), APP_ID);
  adw_about_dialog_set_developer_name (ADW_ABOUT_DIALOG (about), _("The Squint developers"));
  adw_about_dialog_set_version (ADW_ABOUT_DIALOG (about), PACKAGE_VERSION);
  adw_about_dialog_set_comments (ADW_ABOUT_DIALOG (about),
                                 _("Ask vision models about images and compare their answers"));
  adw_about_dialog_set_website (ADW_ABOUT_DIALOG (about), SQUINT_WEBSITE);
  adw_about_dialog_set_issue_url (ADW_ABOUT_DIALOG (about), SQUINT_ISSUE_URL);
  adw_about_dialog_set_developers (ADW_ABOUT_DIALOG (about), developers);
  adw_about_dialog_set_copyright (ADW_ABOUT_DIALOG (about), _("© 2026 The Squint developers"));
  adw_about_dialog_set_license_type (ADW_ABOUT_DIALOG (about), GTK_LICENSE_GPL_3_0);
  /* Translators: Replace "translator-credits" with your name and email, one per line */
  adw_about_dialog_set_translator_credits (ADW_ABOUT_DIALOG (about), _("translator-credits"));
  adw_dialog_present (about, parent != NULL ? GTK_WIDGET (parent) : NULL);
#else
  GtkWidget *about;

  about = adw_about_window_new ();
  adw_about_window_set_application_name (ADW_ABOUT_WINDOW (about), _("Squint"));
  adw_about_window_set_application_icon (ADW_ABOUT_WINDOW (about), APP_ID);
  adw_about_window_set_developer_name (ADW_ABOUT_WINDOW (about), _("The Squint developers"));
  adw_about_window_set_version (ADW_ABOUT_WINDOW (about), PACKAGE_VERSION);
  adw_about_window_set_comments (ADW_ABOUT_WINDOW (about),
                                 _("Ask vision models about images and compare their answers"));
  adw_about_window_set_website (ADW_ABOUT_WINDOW (about), SQUINT_WEBSITE);
  adw_about_window_set_issue_url (ADW_ABOUT_WINDOW (about), SQUINT_ISSUE_URL);
  adw_about_window_set_developers (ADW_ABOUT_WINDOW (about), developers);
  adw_about_window_set_copyright (ADW_ABOUT_WINDOW (about), _("© 2026 The Squint developers"));
  adw_about_window_set_license_type (ADW_ABOUT_WINDOW (about), GTK_LICENSE_GPL_3_0);
  /* Translators: Replace "translator-credits" with your name and email, one per line */
  adw_about_window_set_translator_credits (ADW_ABOUT_WINDOW (about), _("translator-credits"));
  if (parent != NULL)
    {
      gtk_window_set_transient_for (GTK_WINDOW (about), parent);
      gtk_window_set_modal (GTK_WINDOW (about), TRUE);
    }
  gtk_window_present (GTK_WINDOW (about));
#endif
}

#if !GTK_CHECK_VERSION (4, 10, 0)
static void
native_response_cb (GtkNativeDialog *native,
                    int              response,
                    gpointer         user_data)
{
  g_autoptr(GTask) task = user_data;

  g_signal_handlers_disconnect_by_func (native, native_response_cb, user_data);
  if (response != GTK_RESPONSE_ACCEPT)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "Dismissed");
      g_object_unref (native);
      return;
    }

  if (gtk_file_chooser_get_select_multiple (GTK_FILE_CHOOSER (native)))
    g_task_return_pointer (task, gtk_file_chooser_get_files (GTK_FILE_CHOOSER (native)), g_object_unref);
  else
    g_task_return_pointer (task, gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native)), g_object_unref);
  g_object_unref (native);
}
#else
static void
dialog_save_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  GFile *file;

  file = gtk_file_dialog_save_finish (GTK_FILE_DIALOG (object), result, &error);
  if (file == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", error->message);
  else
    g_task_return_pointer (task, file, g_object_unref);
}

static void
dialog_open_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  GListModel *files;

  files = gtk_file_dialog_open_multiple_finish (GTK_FILE_DIALOG (object), result, &error);
  if (files == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", error->message);
  else
    g_task_return_pointer (task, files, g_object_unref);
}
#endif

void
sq_compat_save_file_async (GtkWindow           *parent,
                           const char          *title,
                           const char          *initial_name,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  /* No source object: the _finish functions check for none. */
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, sq_compat_save_file_async);
#if GTK_CHECK_VERSION (4, 10, 0)
  {
    g_autoptr(GtkFileDialog) dialog = gtk_file_dialog_new ();

    gtk_file_dialog_set_title (dialog, title);
    gtk_file_dialog_set_initial_name (dialog, initial_name);
    gtk_file_dialog_save (dialog, parent, cancellable, dialog_save_cb, g_steal_pointer (&task));
  }
#else
  {
    GtkFileChooserNative *native;

    native = gtk_file_chooser_native_new (title, parent, GTK_FILE_CHOOSER_ACTION_SAVE,
                                          _("_Save"), _("_Cancel"));
    gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (native), initial_name);
    g_signal_connect (native, "response", G_CALLBACK (native_response_cb), g_steal_pointer (&task));
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
  }
#endif
}

GFile *
sq_compat_save_file_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
sq_compat_open_images_async (GtkWindow           *parent,
                             const char          *title,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  /* No source object: the _finish functions check for none. */
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  g_task_set_source_tag (task, sq_compat_open_images_async);
  gtk_file_filter_set_name (filter, _("Images"));
  gtk_file_filter_add_pixbuf_formats (filter);
#if GTK_CHECK_VERSION (4, 10, 0)
  {
    g_autoptr(GtkFileDialog) dialog = gtk_file_dialog_new ();

    gtk_file_dialog_set_title (dialog, title);
    gtk_file_dialog_set_default_filter (dialog, filter);
    gtk_file_dialog_open_multiple (dialog, parent, cancellable, dialog_open_cb, g_steal_pointer (&task));
  }
#else
  {
    GtkFileChooserNative *native;

    native = gtk_file_chooser_native_new (title, parent, GTK_FILE_CHOOSER_ACTION_OPEN,
                                          _("_Open"), _("_Cancel"));
    gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
    gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (native), TRUE);
    gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
    g_signal_connect (native, "response", G_CALLBACK (native_response_cb), g_steal_pointer (&task));
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
  }
#endif
}

GListModel *
sq_compat_open_images_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

#if GTK_CHECK_VERSION (4, 10, 0)
static void
dialog_open_one_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  GFile *file;

  file = gtk_file_dialog_open_finish (GTK_FILE_DIALOG (object), result, &error);
  if (file == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", error->message);
  else
    g_task_return_pointer (task, file, g_object_unref);
}
#endif

void
sq_compat_open_file_async (GtkWindow           *parent,
                           const char          *title,
                           const char          *filter_name,
                           const char          *pattern,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  /* No source object: the _finish functions check for none. */
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  g_task_set_source_tag (task, sq_compat_open_file_async);
  gtk_file_filter_set_name (filter, filter_name);
  gtk_file_filter_add_pattern (filter, pattern);
#if GTK_CHECK_VERSION (4, 10, 0)
  {
    g_autoptr(GtkFileDialog) dialog = gtk_file_dialog_new ();

    gtk_file_dialog_set_title (dialog, title);
    gtk_file_dialog_set_default_filter (dialog, filter);
    gtk_file_dialog_open (dialog, parent, cancellable, dialog_open_one_cb, g_steal_pointer (&task));
  }
#else
  {
    GtkFileChooserNative *native;

    native = gtk_file_chooser_native_new (title, parent, GTK_FILE_CHOOSER_ACTION_OPEN,
                                          _("_Open"), _("_Cancel"));
    gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
    gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (native), filter);
    g_signal_connect (native, "response", G_CALLBACK (native_response_cb), g_steal_pointer (&task));
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
  }
#endif
}

GFile *
sq_compat_open_file_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
launch_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_app_info_launch_default_for_uri_finish (result, &error))
    g_warning ("Could not open the file: %s", error->message);
}

void
sq_compat_launch_file (GtkWindow *parent,
                       GFile     *file)
{
  g_autofree char *uri = NULL;
  g_autoptr(GdkAppLaunchContext) context = NULL;

  g_return_if_fail (G_IS_FILE (file));

  uri = g_file_get_uri (file);
  if (parent != NULL)
    context = gdk_display_get_app_launch_context (gtk_widget_get_display (GTK_WIDGET (parent)));
  g_app_info_launch_default_for_uri_async (uri, context != NULL ? G_APP_LAUNCH_CONTEXT (context) : NULL,
                                           NULL, launch_cb, NULL);
}
