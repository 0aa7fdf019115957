/* sq-image-tray.h
 *
 * The images of the Ask view: dropped (files, textures from other
 * apps, links), pasted or opened, shown as thumbnails with a check
 * button saying whether the next question uses them, and a remove
 * button. Images are read, checked and thumbnailed in a worker thread;
 * anything that is not an image is refused with ::error, naming it.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sq-image.h"

G_BEGIN_DECLS

#define SQ_TYPE_IMAGE_TRAY (sq_image_tray_get_type ())

G_DECLARE_FINAL_TYPE (SqImageTray, sq_image_tray, SQ, IMAGE_TRAY, GtkWidget)

/* Signals: ::error (const char *message) when something could not be
 * added; ::changed when images are added, removed, (un)selected.
 * Properties: n-images, n-selected, n-loading (read-only). */
GtkWidget     *sq_image_tray_new             (void);
/* The drop target (files, textures, links); the tray puts it on itself
 * unless it is moved to a larger area with gtk_widget_add_controller()
 * before the tray is realized. */
GtkDropTarget *sq_image_tray_get_drop_target (SqImageTray  *self);
/* Handles a dropped value: a GdkFileList, a GdkTexture or a string of
 * links. FALSE when it holds nothing that could be an image. */
gboolean       sq_image_tray_add_value       (SqImageTray  *self,
                                              const GValue *value);
void           sq_image_tray_add_file        (SqImageTray  *self,
                                              GFile        *file);
/* http(s) links are downloaded; file: URIs are read. */
void           sq_image_tray_add_uri         (SqImageTray  *self,
                                              const char   *uri);
void           sq_image_tray_add_texture     (SqImageTray  *self,
                                              GdkTexture   *texture,
                                              const char   *name);
/* Adds what @clipboard holds: files, an image or a link. */
void           sq_image_tray_paste           (SqImageTray  *self,
                                              GdkClipboard *clipboard);
/* Shows the file chooser. */
void           sq_image_tray_open            (SqImageTray  *self);
guint          sq_image_tray_get_n_images    (SqImageTray  *self);
guint          sq_image_tray_get_n_selected  (SqImageTray  *self);
guint          sq_image_tray_get_n_loading   (SqImageTray  *self);
/* (transfer full) (element-type SqImage) */
GPtrArray     *sq_image_tray_dup_images      (SqImageTray  *self);
/* (transfer full) (element-type SqImage) the ones the next question uses */
GPtrArray     *sq_image_tray_dup_selected    (SqImageTray  *self);
void           sq_image_tray_set_selected    (SqImageTray  *self,
                                              SqImage      *image,
                                              gboolean      selected);
void           sq_image_tray_remove          (SqImageTray  *self,
                                              SqImage      *image);

G_END_DECLS
