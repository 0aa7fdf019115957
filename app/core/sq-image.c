/* sq-image.c
 *
 * Images are validated by decoding them with a GdkPixbufLoader in a
 * worker thread. The loader's size-prepared signal tells the dimensions
 * before any pixel is decoded, so image bombs are refused without
 * allocating, and large images are decoded straight to thumbnail size.
 * PNG and JPEG files are also walked chunk by chunk / segment by
 * segment, because gdk-pixbuf accepts some of them cut short.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-image"

#include "config.h"

#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <glib/gi18n-lib.h>

#include "sq-error.h"
#include "sq-image.h"
#include "sq-replicate-client.h"

#define WRITE_CHUNK (64 * 1024)
#define READ_CHUNK  (64 * 1024)

struct _SqImage
{
  GObject     parent_instance;

  char       *name;        /* for people, valid UTF-8 */
  char       *source;      /* path or URL, or NULL */
  GBytes     *bytes;
  int         width;
  int         height;
  char       *format;
  char       *mime_type;
  char       *hash;
  GdkPixbuf  *thumbnail;

  /* Main-context state for sq_image_prepare_input_async() */
  GHashTable *inputs;      /* API URL → urls.get of the uploaded file */
  GHashTable *uploads;     /* API URL → GPtrArray of waiting GTasks */
};

G_DEFINE_FINAL_TYPE (SqImage, sq_image, G_TYPE_OBJECT)

static void
sq_image_finalize (GObject *object)
{
  SqImage *self = (SqImage *)object;

  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->source, g_free);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->format, g_free);
  g_clear_pointer (&self->mime_type, g_free);
  g_clear_pointer (&self->hash, g_free);
  g_clear_object (&self->thumbnail);
  g_clear_pointer (&self->inputs, g_hash_table_unref);
  g_clear_pointer (&self->uploads, g_hash_table_unref);

  G_OBJECT_CLASS (sq_image_parent_class)->finalize (object);
}

static void
sq_image_class_init (SqImageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sq_image_finalize;
}

static void
sq_image_init (SqImage *self)
{
  self->inputs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->uploads = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) g_ptr_array_unref);
}

/* Structure checks ----------------------------------------------------- */

static guint32
read_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* Whether the PNG's chunks run whole up to IEND. */
static gboolean
png_is_complete (const guint8 *data,
                 gsize         len)
{
  gsize pos = 8;   /* the signature */

  while (pos + 8 <= len)
    {
      guint32 chunk_len = read_be32 (data + pos);
      const guint8 *type = data + pos + 4;

      if (chunk_len > len || pos + 12 + (gsize) chunk_len > len)
        return FALSE;
      if (memcmp (type, "IEND", 4) == 0)
        return TRUE;
      pos += 12 + (gsize) chunk_len;
    }

  return FALSE;
}

/* Whether the JPEG's segments and scans run up to an EOI marker. What
 * follows EOI (some cameras append data) does not matter; an EOI inside
 * an EXIF thumbnail is skipped with its segment. */
static gboolean
jpeg_is_complete (const guint8 *data,
                  gsize         len)
{
  gsize pos = 2;   /* SOI */

  while (pos + 1 < len)
    {
      guint8 marker;

      if (data[pos] != 0xFF)
        return FALSE;
      marker = data[pos + 1];

      if (marker == 0xFF)
        {
          pos++;   /* fill byte */
          continue;
        }
      if (marker == 0xD9)
        return TRUE;   /* EOI */
      if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8))
        {
          pos += 2;    /* no length */
          continue;
        }

      if (pos + 4 > len)
        return FALSE;
      pos += 2 + (((gsize) data[pos + 2] << 8) | data[pos + 3]);

      if (marker == 0xDA)
        {
          /* Entropy-coded data up to the next marker that is not a
           * stuffed zero or a restart marker. */
          while (pos + 1 < len)
            {
              if (data[pos] == 0xFF && data[pos + 1] != 0x00 &&
                  !(data[pos + 1] >= 0xD0 && data[pos + 1] <= 0xD7))
                break;
              pos++;
            }
        }
    }

  return FALSE;
}

/* Decoding -------------------------------------------------------------- */

typedef struct
{
  int      width;
  int      height;
  int      rows_done;    /* the lowest row the loader reported decoded */
  gboolean too_large;
  gboolean scaled;
} SizeInfo;

static gboolean
format_is (GdkPixbufFormat *format,
           const char      *name)
{
  g_autofree char *format_name = NULL;

  if (format == NULL)
    return FALSE;

  format_name = gdk_pixbuf_format_get_name (format);

  return g_strcmp0 (format_name, name) == 0;
}

static void
loader_size_prepared_cb (GdkPixbufLoader *loader,
                         int              width,
                         int              height,
                         SizeInfo        *info)
{
  info->width = width;
  info->height = height;

  if (width <= 0 || height <= 0 || (gint64) width * height > SQ_IMAGE_MAX_PIXELS)
    {
      /* A zero size makes the loader stop before allocating. */
      info->too_large = TRUE;
      gdk_pixbuf_loader_set_size (loader, 0, 0);
      return;
    }

  /* libjpeg decodes straight to a fraction of the size, so a 12 MP photo
   * never takes 48 MB. Other loaders decode at full size whatever we ask
   * and scale afterwards, so we scale ourselves and keep the loader's
   * area-updated reports, which tell whether every row arrived. */
  if ((width > SQ_IMAGE_THUMBNAIL_SIZE || height > SQ_IMAGE_THUMBNAIL_SIZE) &&
      format_is (gdk_pixbuf_loader_get_format (loader), "jpeg"))
    {
      double scale = (double) SQ_IMAGE_THUMBNAIL_SIZE / MAX (width, height);

      info->scaled = TRUE;
      gdk_pixbuf_loader_set_size (loader,
                                  CLAMP ((int) (width * scale + 0.5), 1, SQ_IMAGE_THUMBNAIL_SIZE),
                                  CLAMP ((int) (height * scale + 0.5), 1, SQ_IMAGE_THUMBNAIL_SIZE));
    }
}

static void
loader_area_updated_cb (GdkPixbufLoader *loader,
                        int              x,
                        int              y,
                        int              width,
                        int              height,
                        SizeInfo        *info)
{
  info->rows_done = MAX (info->rows_done, y + height);
}

static GError *
too_many_bytes_error (const char *name,
                      guint64     size)
{
  g_autofree char *max_str = g_format_size_full (SQ_IMAGE_UPLOAD_MAX, G_FORMAT_SIZE_IEC_UNITS);

  g_debug ("%s: %" G_GUINT64_FORMAT " bytes or more", name, size);

  return g_error_new (SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TOO_LARGE,
                      _("“%s” is larger than %s, the most Squint can send"),
                      name, max_str);
}

static GError *
not_image_error (const char *name)
{
  return g_error_new (SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_NOT_IMAGE,
                      _("“%s” is not an image Squint can read"), name);
}

static GError *
truncated_error (const char *name)
{
  return g_error_new (SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TRUNCATED,
                      _("“%s” is cut short or damaged"), name);
}

/* Runs in a worker thread. @name is valid UTF-8. */
static SqImage *
decode (GBytes        *bytes,
        const char    *name,
        const char    *source,
        GCancellable  *cancellable,
        GError       **error)
{
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GdkPixbuf) oriented = NULL;
  g_autoptr(SqImage) self = NULL;
  GdkPixbufFormat *format;
  GdkPixbuf *pixbuf;
  SizeInfo info = { 0, 0, 0, FALSE, FALSE };
  const guint8 *data;
  g_auto(GStrv) mime_types = NULL;
  gboolean failed = FALSE;
  gsize len;

  data = g_bytes_get_data (bytes, &len);

  if (len == 0)
    {
      g_set_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_EMPTY,
                   _("“%s” is empty"), name);
      return NULL;
    }
  if (len > SQ_IMAGE_UPLOAD_MAX)
    {
      g_propagate_error (error, too_many_bytes_error (name, len));
      return NULL;
    }

  loader = gdk_pixbuf_loader_new ();
  g_signal_connect (loader, "size-prepared", G_CALLBACK (loader_size_prepared_cb), &info);
  g_signal_connect (loader, "area-updated", G_CALLBACK (loader_area_updated_cb), &info);

  for (gsize pos = 0; pos < len && !failed; pos += WRITE_CHUNK)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          gdk_pixbuf_loader_close (loader, NULL);
          return NULL;
        }
      if (!gdk_pixbuf_loader_write (loader, data + pos, MIN (WRITE_CHUNK, len - pos), &local_error))
        failed = TRUE;
      if (info.too_large)
        failed = TRUE;
    }

  /* Closing after a failed write only repeats the error. */
  if (!gdk_pixbuf_loader_close (loader, failed ? NULL : &local_error))
    failed = TRUE;

  if (info.too_large)
    {
      g_set_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TOO_LARGE,
                   _("“%s” is too large: %d × %d pixels, more than Squint decodes"),
                   name, info.width, info.height);
      return NULL;
    }

  format = gdk_pixbuf_loader_get_format (loader);
  if (format == NULL ||
      g_error_matches (local_error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_UNKNOWN_TYPE))
    {
      g_propagate_error (error, not_image_error (name));
      return NULL;
    }

  if (g_error_matches (local_error, GDK_PIXBUF_ERROR, GDK_PIXBUF_ERROR_INSUFFICIENT_MEMORY))
    {
      g_set_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TOO_LARGE,
                   _("“%s” is too large to decode: %d × %d pixels"),
                   name, info.width, info.height);
      return NULL;
    }

  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (failed || pixbuf == NULL || info.width <= 0 || info.height <= 0)
    {
      if (local_error != NULL)
        g_debug ("Decoding %s failed: %s", name, local_error->message);
      g_propagate_error (error, truncated_error (name));
      return NULL;
    }

  /* Some loaders take a file cut short without a word: check that the
   * PNG chunks run to IEND, that the JPEG segments run to EOI, and that
   * the rows of an unscaled still image were all decoded. */
  if ((format_is (format, "png") && !png_is_complete (data, len)) ||
      (format_is (format, "jpeg") && !jpeg_is_complete (data, len)) ||
      (!info.scaled &&
       gdk_pixbuf_animation_is_static_image (gdk_pixbuf_loader_get_animation (loader)) &&
       info.rows_done < gdk_pixbuf_get_height (pixbuf)))
    {
      g_propagate_error (error, truncated_error (name));
      return NULL;
    }

  oriented = gdk_pixbuf_apply_embedded_orientation (pixbuf);
  if (oriented == NULL)
    oriented = g_object_ref (pixbuf);

  self = g_object_new (SQ_TYPE_IMAGE, NULL);
  self->name = g_strdup (name);
  self->source = g_strdup (source);
  self->bytes = g_bytes_ref (bytes);
  self->width = info.width;
  self->height = info.height;
  self->format = gdk_pixbuf_format_get_name (format);
  mime_types = gdk_pixbuf_format_get_mime_types (format);
  self->mime_type = g_strdup (mime_types != NULL && mime_types[0] != NULL ?
                              mime_types[0] : "application/octet-stream");
  self->hash = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);

  /* Loaders that cannot decode to a size were scaled after decoding;
   * make sure anyway. */
  if (gdk_pixbuf_get_width (oriented) > SQ_IMAGE_THUMBNAIL_SIZE ||
      gdk_pixbuf_get_height (oriented) > SQ_IMAGE_THUMBNAIL_SIZE)
    {
      int w = gdk_pixbuf_get_width (oriented);
      int h = gdk_pixbuf_get_height (oriented);
      double scale = (double) SQ_IMAGE_THUMBNAIL_SIZE / MAX (w, h);

      self->thumbnail = gdk_pixbuf_scale_simple (oriented,
                                                 CLAMP ((int) (w * scale + 0.5), 1, SQ_IMAGE_THUMBNAIL_SIZE),
                                                 CLAMP ((int) (h * scale + 0.5), 1, SQ_IMAGE_THUMBNAIL_SIZE),
                                                 GDK_INTERP_BILINEAR);
    }
  else
    {
      self->thumbnail = g_steal_pointer (&oriented);
    }

  return g_steal_pointer (&self);
}

typedef struct
{
  GFile  *file;
  GBytes *bytes;
  char   *name;
  char   *source;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_clear_object (&data->file);
  g_clear_pointer (&data->bytes, g_bytes_unref);
  g_free (data->name);
  g_free (data->source);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LoadData, load_data_free)

/* Reads @file whole, but never more than SQ_IMAGE_UPLOAD_MAX bytes (a
 * file may be huge, still growing, or a device that never ends). */
static GBytes *
read_file (GFile         *file,
           const char    *name,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autoptr(GFileInputStream) stream = NULL;
  g_autoptr(GByteArray) contents = NULL;
  g_autoptr(GFileInfo) info = NULL;
  goffset size;

  stream = g_file_read (file, cancellable, error);
  if (stream == NULL)
    return NULL;

  info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, cancellable, NULL);
  size = info != NULL ? g_file_info_get_size (info) : 0;
  if (size > SQ_IMAGE_UPLOAD_MAX)
    {
      g_propagate_error (error, too_many_bytes_error (name, size));
      return NULL;
    }

  contents = g_byte_array_sized_new (size > 0 ? size : READ_CHUNK);
  for (;;)
    {
      gssize n;

      g_byte_array_set_size (contents, contents->len + READ_CHUNK);
      n = g_input_stream_read (G_INPUT_STREAM (stream),
                               contents->data + contents->len - READ_CHUNK, READ_CHUNK,
                               cancellable, error);
      if (n < 0)
        return NULL;
      g_byte_array_set_size (contents, contents->len - READ_CHUNK + n);
      if (n == 0)
        break;
      if (contents->len > SQ_IMAGE_UPLOAD_MAX)
        {
          g_propagate_error (error, too_many_bytes_error (name, contents->len));
          return NULL;
        }
    }

  return g_byte_array_free_to_bytes (g_steal_pointer (&contents));
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = NULL;

  if (data->bytes == NULL)
    {
      data->bytes = read_file (data->file, data->name, cancellable, &error);
      if (data->bytes == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }

  image = decode (data->bytes, data->name, data->source, cancellable, &error);
  if (image == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, g_steal_pointer (&image), g_object_unref);
}

static void
load_worker (gpointer data,
             gpointer user_data)
{
  g_autoptr(GTask) task = data;
#ifdef __linux__
  static GPrivate lowered;

  /* Below the main thread, so that decoding never keeps it waiting for
   * a CPU: the threads are the pool's own (it is exclusive). */
  if (g_private_get (&lowered) == NULL)
    {
      setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 10);
      g_private_set (&lowered, GINT_TO_POINTER (1));
    }
#endif

  if (g_task_return_error_if_cancelled (task))
    return;

  load_thread (task, g_task_get_source_object (task),
               g_task_get_task_data (task), g_task_get_cancellable (task));
}

/* Decoding is CPU-bound, so loads run at most one per processor, in a
 * pool of their own. With g_task_run_in_thread(), dropping a hundred
 * photos grew GTask's pool past ten decoding threads, which on a small
 * machine starved the main loop for a hundred milliseconds at a time
 * and made the whole batch no faster. */
static void
run_load (GTask *task)
{
  static GThreadPool *pool;

  if (g_once_init_enter (&pool))
    {
      GThreadPool *new_pool = g_thread_pool_new (load_worker, NULL,
                                                 (int) MAX (1, g_get_num_processors ()),
                                                 TRUE, NULL);

      g_once_init_leave (&pool, new_pool);
    }

  g_thread_pool_push (pool, g_object_ref (task), NULL);
}

static char *
file_display_name (GFile *file)
{
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *basename = NULL;

  if (path != NULL)
    return g_filename_display_basename (path);

  basename = g_file_get_basename (file);
  if (basename != NULL && g_strcmp0 (basename, "/") != 0)
    return g_filename_display_name (basename);

  return g_file_get_parse_name (file);
}

void
sq_image_load_file_async (GFile               *file,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data;

  g_return_if_fail (G_IS_FILE (file));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_image_load_file_async);

  data = g_new0 (LoadData, 1);
  data->file = g_object_ref (file);
  data->name = file_display_name (file);
  data->source = g_file_get_path (file);
  if (data->source == NULL)
    data->source = g_file_get_uri (file);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);

  run_load (task);
}

void
sq_image_load_bytes_async (GBytes              *bytes,
                           const char          *name,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  LoadData *data;

  g_return_if_fail (bytes != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_image_load_bytes_async);

  data = g_new0 (LoadData, 1);
  data->bytes = g_bytes_ref (bytes);
  if (name == NULL || *name == '\0')
    data->name = g_strdup (_("Pasted image"));
  else
    data->name = g_utf8_make_valid (name, -1);
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);

  run_load (task);
}

/* Downloads ------------------------------------------------------------ */

typedef struct
{
  char         *uri;
  GInputStream *stream;
  GByteArray   *body;
  SoupSession  *session;  /* (owned) */
} DownloadData;

static void
download_data_free (DownloadData *data)
{
  g_clear_object (&data->session);
  g_free (data->uri);
  g_clear_object (&data->stream);
  g_clear_pointer (&data->body, g_byte_array_unref);
  g_free (data);
}

static void read_next (GTask *task);

static void
download_read_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  DownloadData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) chunk = NULL;
  LoadData *load_data;

  chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (chunk == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_DOWNLOAD,
                                 _("Could not download “%s”: %s"),
                                 data->uri, error->message);
      return;
    }

  if (g_bytes_get_size (chunk) > 0)
    {
      if (data->body->len + g_bytes_get_size (chunk) > SQ_IMAGE_UPLOAD_MAX)
        {
          g_task_return_error (task, too_many_bytes_error (data->uri,
                                                           data->body->len + g_bytes_get_size (chunk)));
          return;
        }
      g_byte_array_append (data->body, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
      read_next (g_steal_pointer (&task));
      return;
    }

  /* The end: decode in a thread. */
  g_input_stream_close (data->stream, NULL, NULL);

  load_data = g_new0 (LoadData, 1);
  load_data->bytes = g_byte_array_free_to_bytes (g_steal_pointer (&data->body));
  load_data->name = g_strdup (data->uri);
  load_data->source = g_strdup (data->uri);
  g_task_set_task_data (task, load_data, (GDestroyNotify) load_data_free);

  run_load (task);
}

static void
read_next (GTask *task)
{
  DownloadData *data = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (data->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task),
                                   download_read_cb, task);
}

static void
download_send_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  DownloadData *data = g_task_get_task_data (task);
  SoupSession *session = SOUP_SESSION (object);
  SoupMessage *msg = soup_session_get_async_result_message (session, result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) stream = NULL;
  guint status;
  goffset content_length;

  stream = soup_session_send_finish (session, result, &error);
  if (stream == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_DOWNLOAD,
                                 _("Could not download “%s”: %s"),
                                 data->uri, error->message);
      return;
    }

  status = soup_message_get_status (msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      const char *reason = soup_message_get_reason_phrase (msg);

      g_input_stream_close (stream, NULL, NULL);
      g_task_return_new_error (task, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_DOWNLOAD,
                               _("Could not download “%s”: the server answered %u %s"),
                               data->uri, status,
                               reason != NULL ? reason : soup_status_get_phrase (status));
      return;
    }

  content_length = soup_message_headers_get_content_length (soup_message_get_response_headers (msg));
  if (content_length > SQ_IMAGE_UPLOAD_MAX)
    {
      g_input_stream_close (stream, NULL, NULL);
      g_task_return_error (task, too_many_bytes_error (data->uri, content_length));
      return;
    }

  data->stream = g_steal_pointer (&stream);
  data->body = g_byte_array_sized_new (content_length > 0 ? content_length : READ_CHUNK);
  read_next (g_steal_pointer (&task));
}

static gboolean
msg_authenticate_cb (SoupMessage *msg,
                     SoupAuth    *auth,
                     gboolean     retrying,
                     gpointer     user_data)
{
  return FALSE;   /* no credentials for images, ever */
}

void
sq_image_load_uri_async (SoupSession         *session,
                         const char          *uri,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GUri) guri = NULL;
  DownloadData *data;
  const char *scheme;

  g_return_if_fail (session == NULL || SOUP_IS_SESSION (session));
  g_return_if_fail (uri != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_image_load_uri_async);

  data = g_new0 (DownloadData, 1);
  data->uri = g_utf8_make_valid (uri, -1);
  if (session != NULL)
    data->session = g_object_ref (session);
  else
    data->session = soup_session_new_with_options ("timeout", 60,
                                                   "user-agent", PACKAGE_NAME "/" PACKAGE_VERSION " ",
                                                   NULL);
  g_task_set_task_data (task, data, (GDestroyNotify) download_data_free);

  guri = g_uri_parse (uri, SOUP_HTTP_URI_FLAGS, NULL);
  scheme = guri != NULL ? g_uri_get_scheme (guri) : NULL;
  if (scheme == NULL ||
      (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0) ||
      g_uri_get_host (guri) == NULL || *g_uri_get_host (guri) == '\0')
    {
      g_task_return_new_error (task, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_DOWNLOAD,
                               _("“%s” is not an http or https address"), data->uri);
      return;
    }

  msg = soup_message_new_from_uri (SOUP_METHOD_GET, guri);
  /* No Authorization from the session's auth manager, cookies, or a
   * 401 challenge: image URLs are third-party hosts. */
  soup_message_disable_feature (msg, SOUP_TYPE_AUTH_MANAGER);
  soup_message_disable_feature (msg, SOUP_TYPE_COOKIE_JAR);
  g_signal_connect (msg, "authenticate", G_CALLBACK (msg_authenticate_cb), NULL);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "image/*");

  soup_session_send_async (data->session, msg, G_PRIORITY_DEFAULT, cancellable,
                           download_send_cb, g_steal_pointer (&task));
}

SqImage *
sq_image_load_finish (GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (G_IS_TASK (result), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Getters ---------------------------------------------------------------- */

const char *
sq_image_get_name (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), NULL);

  return self->name;
}

const char *
sq_image_get_source (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), NULL);

  return self->source;
}

GBytes *
sq_image_get_bytes (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), NULL);

  return self->bytes;
}

gsize
sq_image_get_size (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), 0);

  return g_bytes_get_size (self->bytes);
}

int
sq_image_get_width (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), 0);

  return self->width;
}

int
sq_image_get_height (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), 0);

  return self->height;
}

const char *
sq_image_get_format (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), NULL);

  return self->format;
}

const char *
sq_image_get_mime_type (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), NULL);

  return self->mime_type;
}

const char *
sq_image_get_hash (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), NULL);

  return self->hash;
}

GdkPixbuf *
sq_image_get_thumbnail (SqImage *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), NULL);

  return self->thumbnail;
}

char *
sq_image_dup_data_uri (SqImage *self)
{
  g_autofree char *base64 = NULL;
  const guint8 *data;
  gsize len;

  g_return_val_if_fail (SQ_IS_IMAGE (self), NULL);

  data = g_bytes_get_data (self->bytes, &len);
  base64 = g_base64_encode (data, len);

  return g_strdup_printf ("data:%s;base64,%s", self->mime_type, base64);
}

/* Preparing the input ---------------------------------------------------- */

typedef struct
{
  SqImage *self;
  char    *api_url;
} UploadData;

static void
upload_data_free (UploadData *data)
{
  g_clear_object (&data->self);
  g_free (data->api_url);
  g_free (data);
}

typedef struct
{
  GTask   *task;
  GSource *cancelled_source;   /* or NULL */
} Waiter;

static void
waiter_free (Waiter *waiter)
{
  if (waiter->cancelled_source != NULL)
    {
      g_source_destroy (waiter->cancelled_source);
      g_source_unref (waiter->cancelled_source);
    }
  g_object_unref (waiter->task);
  g_free (waiter);
}

/* A waiter whose cancellable fired leaves the queue at once; the upload
 * itself goes on, and its result is remembered for the next call. */
static gboolean
waiter_cancelled_cb (GCancellable *cancellable,
                     gpointer      user_data)
{
  Waiter *waiter = user_data;
  g_autoptr(GTask) task = g_object_ref (waiter->task);
  SqImage *self = g_task_get_source_object (task);
  const char *api_url = g_task_get_task_data (task);
  GPtrArray *waiters = g_hash_table_lookup (self->uploads, api_url);

  g_assert (waiters != NULL);

  g_ptr_array_remove (waiters, waiter);   /* frees @waiter */
  g_task_return_error_if_cancelled (task);

  return G_SOURCE_REMOVE;
}

static void
upload_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  SqReplicateClient *client = SQ_REPLICATE_CLIENT (object);
  UploadData *data = user_data;
  SqImage *self = data->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) file_object = NULL;
  g_autoptr(GPtrArray) waiters = NULL;
  const char *url = NULL;
  char *key = NULL;

  file_object = sq_replicate_client_upload_file_finish (client, result, &error);
  if (file_object != NULL)
    {
      JsonObject *urls = NULL;

      if (json_object_has_member (file_object, "urls") &&
          JSON_NODE_HOLDS_OBJECT (json_object_get_member (file_object, "urls")))
        urls = json_object_get_object_member (file_object, "urls");
      if (urls != NULL && json_object_has_member (urls, "get") &&
          JSON_NODE_HOLDS_VALUE (json_object_get_member (urls, "get")) &&
          json_node_get_value_type (json_object_get_member (urls, "get")) == G_TYPE_STRING)
        url = json_object_get_string_member (urls, "get");

      if (url == NULL || *url == '\0')
        g_set_error (&error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL,
                     _("Replicate did not say where the upload of “%s” went"),
                     self->name);
      else
        g_hash_table_replace (self->inputs, g_strdup (data->api_url), g_strdup (url));
    }

  if (g_hash_table_steal_extended (self->uploads, data->api_url,
                                   (gpointer *) &key, (gpointer *) &waiters))
    g_free (key);

  for (guint i = 0; waiters != NULL && i < waiters->len; i++)
    {
      Waiter *waiter = g_ptr_array_index (waiters, i);
      GTask *task = waiter->task;


      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_pointer (task, g_strdup (url), g_free);
    }

  upload_data_free (data);
}

void
sq_image_prepare_input_async (SqImage             *self,
                              SqReplicateClient   *client,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  const char *api_url;
  const char *cached;
  GPtrArray *waiters;
  Waiter *waiter;
  gsize size;

  g_return_if_fail (SQ_IS_IMAGE (self));
  g_return_if_fail (SQ_IS_REPLICATE_CLIENT (client));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_image_prepare_input_async);

  size = g_bytes_get_size (self->bytes);
  if (size > SQ_IMAGE_UPLOAD_MAX)
    {
      g_task_return_error (task, too_many_bytes_error (self->name, size));
      return;
    }

  if (size <= SQ_IMAGE_DATA_URI_MAX)
    {
      g_task_return_pointer (task, sq_image_dup_data_uri (self), g_free);
      return;
    }

  api_url = sq_replicate_client_get_api_url (client);
  cached = g_hash_table_lookup (self->inputs, api_url);
  if (cached != NULL)
    {
      g_task_return_pointer (task, g_strdup (cached), g_free);
      return;
    }

  g_task_set_task_data (task, g_strdup (api_url), g_free);

  waiter = g_new0 (Waiter, 1);
  waiter->task = g_steal_pointer (&task);
  if (cancellable != NULL)
    {
      waiter->cancelled_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (waiter->cancelled_source, G_SOURCE_FUNC (waiter_cancelled_cb),
                             waiter, NULL);
      g_source_set_static_name (waiter->cancelled_source, "[sq-image] upload waiter cancelled");
      g_source_attach (waiter->cancelled_source, g_task_get_context (waiter->task));
    }

  waiters = g_hash_table_lookup (self->uploads, api_url);
  if (waiters != NULL)
    {
      /* An upload to this API is under way already: wait for it. */
      g_ptr_array_add (waiters, waiter);
      return;
    }

  waiters = g_ptr_array_new_with_free_func ((GDestroyNotify) waiter_free);
  g_ptr_array_add (waiters, waiter);
  g_hash_table_insert (self->uploads, g_strdup (api_url), waiters);

  {
    UploadData *data = g_new0 (UploadData, 1);
    g_autofree char *filename = g_strdup_printf ("image-%.16s.%s", self->hash, self->format);

    data->self = g_object_ref (self);
    data->api_url = g_strdup (api_url);

    /* Not tied to any one caller's cancellable: others may be waiting. */
    sq_replicate_client_upload_file_async (client, self->bytes, filename, self->mime_type,
                                           NULL, upload_cb, data);
  }
}

char *
sq_image_prepare_input_finish (SqImage       *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (SQ_IS_IMAGE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
