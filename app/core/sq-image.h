/* sq-image.h
 *
 * An image from a file, a URL, a drop or the clipboard, validated by
 * decoding it, with its size, format, content hash and a thumbnail.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <libsoup/soup.h>

#include "sq-types.h"

G_BEGIN_DECLS

/* Images up to this many bytes go inline as a data URI; larger ones
 * through the Files API. */
#define SQ_IMAGE_DATA_URI_MAX  (256 * 1024)
/* The Files API limit. */
#define SQ_IMAGE_UPLOAD_MAX    (100 * 1024 * 1024)
/* Refuse to decode anything with more pixels than this (image bombs). */
#define SQ_IMAGE_MAX_PIXELS    (16384 * 16384)
#define SQ_IMAGE_THUMBNAIL_SIZE 256

#define SQ_TYPE_IMAGE (sq_image_get_type ())

G_DECLARE_FINAL_TYPE (SqImage, sq_image, SQ, IMAGE, GObject)

/* Reads and decodes in a worker thread. Errors are SQ_IMAGE_ERROR (or
 * G_IO_ERROR for an unreadable file), with messages that name the file. */
void          sq_image_load_file_async      (GFile              *file,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
/* @name: how to call it in messages and exports (a file name or URL). */
void          sq_image_load_bytes_async     (GBytes             *bytes,
                                             const char         *name,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
/* Downloads http(s) @uri with @session (NULL: a session of its own; no
 * credentials are sent either way) and
 * validates the body; a non-2xx answer or a non-image body fails with
 * SQ_IMAGE_ERROR_DOWNLOAD / _NOT_IMAGE. */
void          sq_image_load_uri_async       (SoupSession        *session,
                                             const char         *uri,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
SqImage      *sq_image_load_finish          (GAsyncResult       *result,
                                             GError            **error);

/* A file name or URL, for people. */
const char   *sq_image_get_name             (SqImage            *self);
/* The file path or URL it came from, or NULL (bytes, clipboard). */
const char   *sq_image_get_source           (SqImage            *self);
GBytes       *sq_image_get_bytes            (SqImage            *self);
gsize         sq_image_get_size             (SqImage            *self);
/* The size as stored in the file, before any EXIF orientation. */
int           sq_image_get_width            (SqImage            *self);
int           sq_image_get_height           (SqImage            *self);
/* "png", "jpeg", "gif", "webp", ... as gdk-pixbuf names the format. */
const char   *sq_image_get_format           (SqImage            *self);
const char   *sq_image_get_mime_type        (SqImage            *self);
/* Lower-case hex SHA-256 of the bytes. */
const char   *sq_image_get_hash             (SqImage            *self);
/* At most SQ_IMAGE_THUMBNAIL_SIZE on the long side, made while loading,
 * upright (EXIF orientation applied). */
GdkPixbuf    *sq_image_get_thumbnail        (SqImage            *self);
/* "data:<mime>;base64,..." */
char         *sq_image_dup_data_uri         (SqImage            *self);
/* What goes into a prediction input: the data URI when the image is at
 * most SQ_IMAGE_DATA_URI_MAX bytes, else the urls.get of a Files API
 * upload (done once and remembered per client origin). An image larger
 * than SQ_IMAGE_UPLOAD_MAX fails with SQ_IMAGE_ERROR_TOO_LARGE. */
void          sq_image_prepare_input_async  (SqImage            *self,
                                             SqReplicateClient  *client,
                                             GCancellable       *cancellable,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
char         *sq_image_prepare_input_finish (SqImage            *self,
                                             GAsyncResult       *result,
                                             GError            **error);

G_END_DECLS
