/* sq-compat.h
 *
 * Everything that differs between libadwaita 1.2 / GTK 4.8 (Debian 12)
 * and newer runtimes (GNOME 47: libadwaita 1.6, GTK 4.16). Every
 * GTK_CHECK_VERSION / ADW_CHECK_VERSION branch of Squint lives in
 * sq-compat.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* Shows the About window (AdwAboutWindow on 1.2–1.4, AdwAboutDialog from 1.5). */
void sq_compat_show_about (GtkWindow *parent);

/* Asks where to save a file (GtkFileChooserNative before GTK 4.10,
 * GtkFileDialog after). Finishes with the chosen file, or NULL and
 * G_IO_ERROR_CANCELLED when the person dismissed the dialog. */
void   sq_compat_save_file_async   (GtkWindow           *parent,
                                    const char          *title,
                                    const char          *initial_name,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data);
GFile *sq_compat_save_file_finish  (GAsyncResult        *result,
                                    GError             **error);
/* Asks for image files to open. Finishes with a GListModel of GFile. */
void        sq_compat_open_images_async  (GtkWindow           *parent,
                                          const char          *title,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
GListModel *sq_compat_open_images_finish (GAsyncResult        *result,
                                          GError             **error);
/* Asks for one file to open, showing files that match @pattern
 * ("*.squint") under @filter_name. Finishes with the GFile, or NULL and
 * G_IO_ERROR_CANCELLED when dismissed. */
void   sq_compat_open_file_async   (GtkWindow           *parent,
                                    const char          *title,
                                    const char          *filter_name,
                                    const char          *pattern,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data);
GFile *sq_compat_open_file_finish  (GAsyncResult        *result,
                                    GError             **error);
/* Opens @file in the application the desktop chose for its type. */
void   sq_compat_launch_file       (GtkWindow           *parent,
                                    GFile               *file);

G_END_DECLS
