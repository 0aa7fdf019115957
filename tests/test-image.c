/* test-image.c
 *
 * Every test image is made here, at run time, in a temporary directory.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "sq-error.h"
#include "sq-fake-replicate.h"
#include "sq-image.h"
#include "sq-replicate-client.h"
#include "sq-test-util.h"

static char *tmpdir;

/* Helpers ---------------------------------------------------------------- */

/* A @width × @height picture with some detail, so that it compresses
 * like a photo rather than to nothing. */
static GdkPixbuf *
make_pixbuf (int     width,
             int     height,
             guint32 seed)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = pixels + y * rowstride + x * 3;

        p[0] = (x * 255) / width;
        p[1] = (y * 255) / height;
        p[2] = g_rand_int_range (rand, 0, 256);
      }

  return pixbuf;
}

static GBytes *
make_image (const char *type,
            int         width,
            int         height,
            guint32     seed)
{
  g_autoptr(GdkPixbuf) pixbuf = make_pixbuf (width, height, seed);
  g_autoptr(GError) error = NULL;
  gchar *buffer = NULL;
  gsize size = 0;

  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, type, &error, NULL);
  g_assert_no_error (error);

  return g_bytes_new_take (buffer, size);
}

static GFile *
write_file (const char *name,
            const void *data,
            gsize       len)
{
  g_autofree char *path = sq_test_write_file (tmpdir, name, data, len);

  return g_file_new_for_path (path);
}

static GFile *
write_bytes (const char *name,
             GBytes     *bytes)
{
  return write_file (name, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static SqImage *
load_uri (SoupSession *session,
          const char  *uri,
          GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_image_load_uri_async (session, uri, NULL, sq_test_store_result_cb, &result);
  return sq_image_load_finish (sq_test_wait_result (&result), error);
}

static char *
sha256_hex (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

/* Tests --------------------------------------------------------------- */

static void
test_valid_png (void)
{
  g_autoptr(GBytes) bytes = make_image ("png", 320, 200, 1);
  g_autoptr(GFile) file = write_bytes ("picture.png", bytes);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = sq_test_load_image_file (file, &error);
  g_autofree char *hash = sha256_hex (bytes);
  g_autofree char *path = g_file_get_path (file);
  GdkPixbuf *thumbnail;

  g_assert_no_error (error);
  g_assert_nonnull (image);
  g_assert_cmpstr (sq_image_get_name (image), ==, "picture.png");
  g_assert_cmpstr (sq_image_get_source (image), ==, path);
  g_assert_cmpuint (sq_image_get_size (image), ==, g_bytes_get_size (bytes));
  g_assert_true (g_bytes_equal (sq_image_get_bytes (image), bytes));
  g_assert_cmpint (sq_image_get_width (image), ==, 320);
  g_assert_cmpint (sq_image_get_height (image), ==, 200);
  g_assert_cmpstr (sq_image_get_format (image), ==, "png");
  g_assert_cmpstr (sq_image_get_mime_type (image), ==, "image/png");
  g_assert_cmpstr (sq_image_get_hash (image), ==, hash);
  g_assert_cmpuint (strlen (sq_image_get_hash (image)), ==, 64);

  thumbnail = sq_image_get_thumbnail (image);
  g_assert_true (GDK_IS_PIXBUF (thumbnail));
  g_assert_cmpint (gdk_pixbuf_get_width (thumbnail), ==, SQ_IMAGE_THUMBNAIL_SIZE);
  g_assert_cmpint (gdk_pixbuf_get_height (thumbnail), ==, 160);
}

static void
test_valid_jpeg (void)
{
  g_autoptr(GBytes) bytes = make_image ("jpeg", 200, 600, 2);
  g_autoptr(GFile) file = write_bytes ("photo.jpg", bytes);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = sq_test_load_image_file (file, &error);
  g_autofree char *hash = sha256_hex (bytes);
  GdkPixbuf *thumbnail;

  g_assert_no_error (error);
  g_assert_cmpstr (sq_image_get_name (image), ==, "photo.jpg");
  g_assert_cmpuint (sq_image_get_size (image), ==, g_bytes_get_size (bytes));
  g_assert_cmpint (sq_image_get_width (image), ==, 200);
  g_assert_cmpint (sq_image_get_height (image), ==, 600);
  g_assert_cmpstr (sq_image_get_format (image), ==, "jpeg");
  g_assert_cmpstr (sq_image_get_mime_type (image), ==, "image/jpeg");
  g_assert_cmpstr (sq_image_get_hash (image), ==, hash);

  thumbnail = sq_image_get_thumbnail (image);
  g_assert_cmpint (MAX (gdk_pixbuf_get_width (thumbnail), gdk_pixbuf_get_height (thumbnail)),
                   ==, SQ_IMAGE_THUMBNAIL_SIZE);
  g_assert_cmpint (gdk_pixbuf_get_height (thumbnail), ==, SQ_IMAGE_THUMBNAIL_SIZE);
  g_assert_cmpint (gdk_pixbuf_get_width (thumbnail), >=, 84);
  g_assert_cmpint (gdk_pixbuf_get_width (thumbnail), <=, 86);
}

static void
test_small_image (void)
{
  /* Smaller than a thumbnail: kept at its size. */
  g_autoptr(GBytes) bytes = make_image ("png", 40, 30, 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = sq_test_load_image_bytes (bytes, "tiny.png", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (sq_image_get_name (image), ==, "tiny.png");
  g_assert_null (sq_image_get_source (image));
  g_assert_cmpint (gdk_pixbuf_get_width (sq_image_get_thumbnail (image)), ==, 40);
  g_assert_cmpint (gdk_pixbuf_get_height (sq_image_get_thumbnail (image)), ==, 30);
}

static void
test_exif_orientation (void)
{
  /* An Exif APP1 segment, big-endian, with Orientation = 6 (the camera
   * was turned: rotate 90° clockwise to show). */
  static const guint8 app1[] = {
    0xFF, 0xE1, 0x00, 0x22,
    'E', 'x', 'i', 'f', 0, 0,
    'M', 'M', 0x00, 0x2A, 0x00, 0x00, 0x00, 0x08,
    0x00, 0x01,
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
  };
  g_autoptr(GBytes) plain = make_image ("jpeg", 64, 32, 4);
  g_autoptr(GByteArray) rotated = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = NULL;
  const guint8 *data;
  gsize len;

  data = g_bytes_get_data (plain, &len);
  g_byte_array_append (rotated, data, 2);              /* SOI */
  g_byte_array_append (rotated, app1, sizeof app1);
  g_byte_array_append (rotated, data + 2, len - 2);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&rotated));

  image = sq_test_load_image_bytes (bytes, "turned.jpg", &error);
  g_assert_no_error (error);
  /* The stored size; the thumbnail is upright. */
  g_assert_cmpint (sq_image_get_width (image), ==, 64);
  g_assert_cmpint (sq_image_get_height (image), ==, 32);
  g_assert_cmpint (gdk_pixbuf_get_width (sq_image_get_thumbnail (image)), ==, 32);
  g_assert_cmpint (gdk_pixbuf_get_height (sq_image_get_thumbnail (image)), ==, 64);
}

static void
test_empty (void)
{
  g_autoptr(GFile) file = write_file ("empty.png", "", 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = sq_test_load_image_file (file, &error);

  g_assert_null (image);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_EMPTY);
  sq_test_assert_message_names (error, "empty.png");
}

static void
test_text_file (void)
{
  static const char text[] = "Dear diary, the beach was lovely.\n";
  g_autoptr(GFile) file = write_file ("holiday.txt", text, sizeof text - 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = sq_test_load_image_file (file, &error);
  g_autoptr(GString) long_text = g_string_new (NULL);
  g_autoptr(GBytes) long_bytes = NULL;
  g_autoptr(SqImage) long_image = NULL;

  g_assert_null (image);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_NOT_IMAGE);
  g_assert_cmpstr (error->message, ==, "“holiday.txt” is not an image Squint can read");
  g_clear_error (&error);

  /* Longer than what the loader sniffs at once. */
  for (guint i = 0; i < 2000; i++)
    g_string_append (long_text, "lorem ipsum ");
  long_bytes = g_bytes_new (long_text->str, long_text->len);
  long_image = sq_test_load_image_bytes (long_bytes, "notes.md", &error);
  g_assert_null (long_image);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_NOT_IMAGE);
  sq_test_assert_message_names (error, "notes.md");
}

static void
assert_truncated (const char *type,
                  const char *name,
                  gsize       keep_num,
                  gsize       keep_den)
{
  g_autoptr(GBytes) bytes = make_image (type, 300, 200, 5);
  g_autoptr(GBytes) half = g_bytes_new_from_bytes (bytes, 0, g_bytes_get_size (bytes) * keep_num / keep_den);
  g_autoptr(GFile) file = write_bytes (name, half);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = sq_test_load_image_file (file, &error);

  g_test_message ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes",
                  name, g_bytes_get_size (half), g_bytes_get_size (bytes));
  g_assert_null (image);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TRUNCATED);
  sq_test_assert_message_names (error, name);
}

static void
test_truncated_png (void)
{
  assert_truncated ("png", "half.png", 1, 2);
  assert_truncated ("png", "most.png", 15, 16);
  /* Everything but the IEND chunk (12 bytes). */
  {
    g_autoptr(GBytes) bytes = make_image ("png", 30, 20, 6);
    g_autoptr(GBytes) cut = g_bytes_new_from_bytes (bytes, 0, g_bytes_get_size (bytes) - 12);
    g_autoptr(GError) error = NULL;
    g_autoptr(SqImage) image = sq_test_load_image_bytes (cut, "no-end.png", &error);

    g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TRUNCATED);
  }
}

static void
test_truncated_jpeg (void)
{
  assert_truncated ("jpeg", "half.jpg", 1, 2);
  assert_truncated ("jpeg", "most.jpg", 15, 16);
  /* All but the EOI marker. */
  {
    g_autoptr(GBytes) bytes = make_image ("jpeg", 30, 20, 7);
    g_autoptr(GBytes) cut = g_bytes_new_from_bytes (bytes, 0, g_bytes_get_size (bytes) - 2);
    g_autoptr(GError) error = NULL;
    g_autoptr(SqImage) image = sq_test_load_image_bytes (cut, "no-eoi.jpg", &error);

    g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TRUNCATED);
  }
}

static void
test_trailing_data_jpeg (void)
{
  /* Data after EOI (as motion photos have) is fine. */
  g_autoptr(GBytes) bytes = make_image ("jpeg", 30, 20, 8);
  g_autoptr(GByteArray) array = g_byte_array_new ();
  g_autoptr(GBytes) longer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = NULL;

  g_byte_array_append (array, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_byte_array_append (array, (const guint8 *) "trailer\0\xFF\xD8", 10);
  longer = g_byte_array_free_to_bytes (g_steal_pointer (&array));

  image = sq_test_load_image_bytes (longer, "motion.jpg", &error);
  g_assert_no_error (error);
  g_assert_cmpint (sq_image_get_width (image), ==, 30);
}

static guint32
crc32 (const guint8 *data,
       gsize         len)
{
  guint32 crc = 0xFFFFFFFF;

  for (gsize i = 0; i < len; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1));
    }

  return crc ^ 0xFFFFFFFF;
}

static void
append_be32 (GByteArray *array,
             guint32     value)
{
  guint8 b[4] = { value >> 24, value >> 16, value >> 8, value };

  g_byte_array_append (array, b, 4);
}

static void
append_png_chunk (GByteArray   *array,
                  const char   *type,
                  const guint8 *data,
                  gsize         len)
{
  gsize start;

  append_be32 (array, len);
  start = array->len;
  g_byte_array_append (array, (const guint8 *) type, 4);
  if (len > 0)
    g_byte_array_append (array, data, len);
  append_be32 (array, crc32 (array->data + start, len + 4));
}

static GBytes *
make_png_bomb (guint32 width,
               guint32 height)
{
  static const guint8 signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
  /* zlib stream of one filter byte and a few pixels: never reached */
  static const guint8 idat[] = { 0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01 };
  g_autoptr(GByteArray) png = g_byte_array_new ();
  g_autoptr(GByteArray) ihdr = g_byte_array_new ();
  guint8 tail[] = { 8, 2, 0, 0, 0 };  /* depth 8, RGB, deflate, no filter, no interlace */

  append_be32 (ihdr, width);
  append_be32 (ihdr, height);
  g_byte_array_append (ihdr, tail, sizeof tail);

  g_byte_array_append (png, signature, sizeof signature);
  append_png_chunk (png, "IHDR", ihdr->data, ihdr->len);
  append_png_chunk (png, "IDAT", idat, sizeof idat);
  append_png_chunk (png, "IEND", NULL, 0);

  return g_byte_array_free_to_bytes (g_steal_pointer (&png));
}

static void
test_png_bomb (void)
{
  g_autoptr(GBytes) bomb = make_png_bomb (100000, 100000);
  g_autoptr(GFile) file = write_bytes ("bomb.png", bomb);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = NULL;

  g_assert_cmpuint (g_bytes_get_size (bomb), <, 100);
  image = sq_test_load_image_file (file, &error);
  g_assert_null (image);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TOO_LARGE);
  sq_test_assert_message_names (error, "bomb.png");
}

static void
test_jpeg_bomb (void)
{
  /* A real JPEG whose frame header claims 60000 × 60000. */
  g_autoptr(GBytes) plain = make_image ("jpeg", 16, 16, 9);
  g_autofree guint8 *data = NULL;
  g_autoptr(GBytes) bomb = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = NULL;
  gsize len;
  gboolean patched = FALSE;

  data = g_memdup2 (g_bytes_get_data (plain, NULL), g_bytes_get_size (plain));
  len = g_bytes_get_size (plain);
  for (gsize i = 2; i + 9 < len; i++)
    if (data[i] == 0xFF && (data[i + 1] == 0xC0 || data[i + 1] == 0xC2))
      {
        /* FF C0, length (2), precision (1), height (2), width (2) */
        data[i + 5] = 60000 >> 8;
        data[i + 6] = 60000 & 0xFF;
        data[i + 7] = 60000 >> 8;
        data[i + 8] = 60000 & 0xFF;
        patched = TRUE;
        break;
      }
  g_assert_true (patched);
  bomb = g_bytes_new_take (g_steal_pointer (&data), len);

  image = sq_test_load_image_bytes (bomb, "bomb.jpg", &error);
  g_assert_null (image);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TOO_LARGE);
}

static void
test_pixel_limit (void)
{
  /* Exactly at the limit the header is accepted (and then the missing
   * pixel data makes it fail as cut short, not as too large). */
  g_autoptr(GBytes) edge = make_png_bomb (16384, 16384);
  g_autoptr(GBytes) over = make_png_bomb (16384, 16385);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = NULL;

  image = sq_test_load_image_bytes (over, "over.png", &error);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  image = sq_test_load_image_bytes (edge, "edge.png", &error);
  g_assert_null (image);
  g_assert_nonnull (error);
  g_assert_false (g_error_matches (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TOO_LARGE));
}

static void
test_missing_file (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "not-there.png", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = sq_test_load_image_file (file, &error);

  g_assert_null (image);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  sq_test_assert_message_names (error, "not-there.png");
}

static void
test_non_utf8_name (void)
{
  g_autoptr(GBytes) bytes = make_image ("png", 20, 10, 10);
  g_autoptr(GFile) file = write_bytes ("caf\xE9-\xFF.png", bytes);
  g_autoptr(GFile) text = write_file ("note-\xFE.png", "not a picture", 13);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = sq_test_load_image_file (file, &error);
  g_autoptr(SqImage) not_image = NULL;
  g_autofree char *path = g_file_get_path (file);

  g_assert_no_error (error);
  g_assert_true (g_utf8_validate (sq_image_get_name (image), -1, NULL));
  g_assert_true (g_str_has_prefix (sq_image_get_name (image), "caf"));
  g_assert_true (g_str_has_suffix (sq_image_get_name (image), ".png"));
  /* The source is the path as it is on disk. */
  g_assert_cmpstr (sq_image_get_source (image), ==, path);

  not_image = sq_test_load_image_file (text, &error);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_NOT_IMAGE);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  sq_test_assert_message_names (error, "note-");
}

static void
test_data_uri (void)
{
  g_autoptr(GBytes) bytes = make_image ("png", 20, 10, 11);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = sq_test_load_image_bytes (bytes, "small.png", &error);
  g_autofree char *uri = NULL;
  g_autofree guchar *decoded = NULL;
  const char *prefix = "data:image/png;base64,";
  gsize decoded_len = 0;

  g_assert_no_error (error);
  uri = sq_image_dup_data_uri (image);
  g_assert_true (g_str_has_prefix (uri, prefix));
  decoded = g_base64_decode (uri + strlen (prefix), &decoded_len);
  g_assert_cmpmem (decoded, decoded_len,
                   g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static void
test_cancelled (void)
{
  g_autoptr(GBytes) bytes = make_image ("png", 20, 10, 12);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = NULL;

  g_cancellable_cancel (cancellable);
  sq_image_load_bytes_async (bytes, "x.png", cancellable, sq_test_store_result_cb, &result);
  image = sq_image_load_finish (sq_test_wait_result (&result), &error);
  g_assert_null (image);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* Downloads, from a SoupServer in this thread ------------------------- */

typedef struct
{
  SoupServer *server;
  char       *origin;
  GBytes     *png;
  guint       n_requests;
  guint       n_authorized;
  guint       n_chunks;
} ImageServer;

#define ENDLESS_CHUNK (1024 * 1024)

static void
endless_wrote_chunk_cb (SoupServerMessage *msg,
                        guint              chunk_size,
                        gpointer           user_data)
{
  static guint8 zeros[ENDLESS_CHUNK];
  ImageServer *fixture = user_data;
  SoupMessageBody *body = soup_server_message_get_response_body (msg);

  if (fixture->n_chunks++ < SQ_IMAGE_UPLOAD_MAX / ENDLESS_CHUNK + 10)
    soup_message_body_append (body, SOUP_MEMORY_STATIC, zeros, sizeof zeros);
  else
    soup_message_body_complete (body);
}

static void
image_server_cb (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  ImageServer *fixture = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  fixture->n_requests++;
  if (soup_message_headers_get_one (headers, "Authorization") != NULL)
    fixture->n_authorized++;

  if (g_str_equal (path, "/cat.png"))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "image/png", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (fixture->png, NULL),
                                        g_bytes_get_size (fixture->png));
    }
  else if (g_str_equal (path, "/page.png"))
    {
      static const char html[] = "<!DOCTYPE html><html><body>Sign in to see this image</body></html>";

      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC, html, strlen (html));
    }
  else if (g_str_equal (path, "/private.png"))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "WWW-Authenticate", "Basic realm=\"pictures\"");
      soup_server_message_set_status (msg, SOUP_STATUS_UNAUTHORIZED, NULL);
    }
  else if (g_str_equal (path, "/endless.png"))
    {
      /* Chunked, with no length announced: 1 MiB after 1 MiB for longer
       * than anything Squint accepts. */
      SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);

      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_message_headers_set_encoding (response_headers, SOUP_ENCODING_CHUNKED);
      soup_message_headers_set_content_type (response_headers, "image/png", NULL);
      g_signal_connect (msg, "wrote-chunk", G_CALLBACK (endless_wrote_chunk_cb), fixture);
      fixture->n_chunks = 0;
      endless_wrote_chunk_cb (msg, 0, fixture);
    }
  else
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
    }
}

static void
image_server_setup (ImageServer   *fixture,
                    gconstpointer  user_data)
{
  fixture->png = make_image ("png", 64, 64, 13);
  fixture->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (fixture->server, NULL, image_server_cb, fixture, NULL);
  fixture->origin = sq_test_server_listen_local (fixture->server);
}

static void
image_server_teardown (ImageServer   *fixture,
                       gconstpointer  user_data)
{
  /* Let the server see its connections close. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  soup_server_disconnect (fixture->server);
  g_clear_object (&fixture->server);
  g_clear_pointer (&fixture->origin, g_free);
  g_clear_pointer (&fixture->png, g_bytes_unref);
}

static void
test_uri_ok (ImageServer   *fixture,
             gconstpointer  user_data)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strconcat (fixture->origin, "/cat.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = load_uri (session, uri, &error);
  g_autofree char *hash = sha256_hex (fixture->png);

  g_assert_no_error (error);
  g_assert_cmpstr (sq_image_get_name (image), ==, uri);
  g_assert_cmpstr (sq_image_get_source (image), ==, uri);
  g_assert_cmpstr (sq_image_get_format (image), ==, "png");
  g_assert_cmpint (sq_image_get_width (image), ==, 64);
  g_assert_cmpstr (sq_image_get_hash (image), ==, hash);
  g_assert_cmpuint (fixture->n_requests, ==, 1);
  g_assert_cmpuint (fixture->n_authorized, ==, 0);
}

/* Without a session of the caller's, the download makes its own. */
static void
test_uri_own_session (ImageServer   *fixture,
                      gconstpointer  user_data)
{
  g_autofree char *uri = g_strconcat (fixture->origin, "/cat.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = load_uri (NULL, uri, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (sq_image_get_format (image), ==, "png");
  g_assert_cmpuint (fixture->n_requests, ==, 1);
  g_assert_cmpuint (fixture->n_authorized, ==, 0);
}

static void
test_uri_not_found (ImageServer   *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strconcat (fixture->origin, "/gone.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = load_uri (session, uri, &error);

  g_assert_null (image);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_DOWNLOAD);
  sq_test_assert_message_names (error, uri);
  sq_test_assert_message_names (error, "404");
}

static void
test_uri_html (ImageServer   *fixture,
               gconstpointer  user_data)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strconcat (fixture->origin, "/page.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = load_uri (session, uri, &error);

  g_assert_null (image);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_NOT_IMAGE);
  sq_test_assert_message_names (error, uri);
}

static void
test_uri_no_credentials (ImageServer   *fixture,
                         gconstpointer  user_data)
{
  /* Even through the Replicate client's session, with a token set,
   * and when the server asks for credentials. */
  g_autoptr(GError) error = NULL;
  g_autoptr(SqReplicateClient) client =
    sq_replicate_client_new (fixture->origin, SQ_FAKE_REPLICATE_TOKEN, &error);
  g_autofree char *ok_uri = g_strconcat (fixture->origin, "/cat.png", NULL);
  g_autofree char *private_uri = g_strconcat (fixture->origin, "/private.png", NULL);
  g_autoptr(SqImage) image = NULL;
  g_autoptr(SqImage) private_image = NULL;

  g_assert_no_error (error);
  image = load_uri (sq_replicate_client_get_session (client), ok_uri, &error);
  g_assert_no_error (error);
  g_assert_nonnull (image);

  private_image = load_uri (sq_replicate_client_get_session (client), private_uri, &error);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_DOWNLOAD);
  sq_test_assert_message_names (error, "401");

  g_assert_cmpuint (fixture->n_requests, ==, 2);
  g_assert_cmpuint (fixture->n_authorized, ==, 0);
}

static void
test_uri_too_large (ImageServer   *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strconcat (fixture->origin, "/endless.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = load_uri (session, uri, &error);

  g_assert_null (image);
  g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TOO_LARGE);
  sq_test_assert_message_names (error, uri);
  g_test_message ("%s (%u chunks sent)", error->message, fixture->n_chunks);
  /* It stopped reading, not at the end of the stream. */
  g_assert_cmpuint (fixture->n_chunks, <, SQ_IMAGE_UPLOAD_MAX / ENDLESS_CHUNK + 10);
}

static void
test_uri_bad_scheme (void)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  const char *uris[] = { "file:///etc/passwd", "ftp://example.com/a.png", "not a url", "http://" };

  for (guint i = 0; i < G_N_ELEMENTS (uris); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SqImage) image = load_uri (session, uris[i], &error);

      g_assert_null (image);
      g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_DOWNLOAD);
    }
}

/* Preparing inputs, against the fake Replicate ------------------------ */

static char *
prepare_input (SqImage           *image,
               SqReplicateClient *client,
               GError           **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_image_prepare_input_async (image, client, NULL, sq_test_store_result_cb, &result);
  return sq_image_prepare_input_finish (image, sq_test_wait_result (&result), error);
}

static SqImage *
make_large_image (guint32 seed)
{
  /* Noise does not compress: 600 × 400 is about 360 KB of PNG. */
  g_autoptr(GBytes) bytes = make_image ("png", 600, 400, seed);
  g_autoptr(GError) error = NULL;
  SqImage *image;

  g_assert_cmpuint (g_bytes_get_size (bytes), >, SQ_IMAGE_DATA_URI_MAX);
  image = sq_test_load_image_bytes (bytes, "large.png", &error);
  g_assert_no_error (error);

  return image;
}

static void
test_prepare_small (void)
{
  g_autoptr(SqFakeReplicate) fake = sq_fake_replicate_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SqReplicateClient) client =
    sq_replicate_client_new (sq_fake_replicate_get_origin (fake), SQ_FAKE_REPLICATE_TOKEN, &error);
  g_autoptr(GBytes) bytes = make_image ("jpeg", 50, 50, 14);
  g_autoptr(SqImage) image = sq_test_load_image_bytes (bytes, "small.jpg", &error);
  g_autofree char *input = NULL;
  g_autofree char *data_uri = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (sq_image_get_size (image), <=, SQ_IMAGE_DATA_URI_MAX);

  input = prepare_input (image, client, &error);
  g_assert_no_error (error);
  data_uri = sq_image_dup_data_uri (image);
  g_assert_cmpstr (input, ==, data_uri);
  g_assert_true (g_str_has_prefix (input, "data:image/jpeg;base64,"));
  g_assert_cmpuint (sq_fake_replicate_count_requests (fake, NULL, "/"), ==, 0);
}

static void
test_prepare_upload (void)
{
  g_autoptr(SqFakeReplicate) fake = sq_fake_replicate_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SqReplicateClient) client =
    sq_replicate_client_new (sq_fake_replicate_get_origin (fake), SQ_FAKE_REPLICATE_TOKEN, &error);
  g_autoptr(SqImage) image = make_large_image (15);
  g_autofree char *files_prefix = g_strconcat (sq_fake_replicate_get_origin (fake), "/v1/files/", NULL);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  g_assert_no_error (error);

  first = prepare_input (image, client, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (first, files_prefix));
  g_assert_cmpuint (sq_fake_replicate_count_requests (fake, "POST", "/v1/files"), ==, 1);

  /* Remembered: no second upload. */
  second = prepare_input (image, client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, ==, first);
  g_assert_cmpuint (sq_fake_replicate_count_requests (fake, "POST", "/v1/files"), ==, 1);
}

static void
test_prepare_upload_concurrent (void)
{
  g_autoptr(SqFakeReplicate) fake = sq_fake_replicate_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SqReplicateClient) client =
    sq_replicate_client_new (sq_fake_replicate_get_origin (fake), SQ_FAKE_REPLICATE_TOKEN, &error);
  g_autoptr(SqImage) image = make_large_image (16);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result_a = NULL;
  g_autoptr(GAsyncResult) result_b = NULL;
  g_autoptr(GAsyncResult) result_c = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  g_autofree char *d = NULL;

  g_assert_no_error (error);

  /* Three cells of a grid want the same image at once; one of them is
   * stopped. One upload serves them all. */
  sq_image_prepare_input_async (image, client, NULL, sq_test_store_result_cb, &result_a);
  sq_image_prepare_input_async (image, client, cancellable, sq_test_store_result_cb, &result_b);
  sq_image_prepare_input_async (image, client, NULL, sq_test_store_result_cb, &result_c);
  g_cancellable_cancel (cancellable);

  b = sq_image_prepare_input_finish (image, sq_test_wait_result (&result_b), &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (b);
  g_clear_error (&error);

  a = sq_image_prepare_input_finish (image, sq_test_wait_result (&result_a), &error);
  g_assert_no_error (error);
  c = sq_image_prepare_input_finish (image, sq_test_wait_result (&result_c), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a, ==, c);

  d = prepare_input (image, client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d, ==, a);
  g_assert_cmpuint (sq_fake_replicate_count_requests (fake, "POST", "/v1/files"), ==, 1);
}

static void
test_prepare_per_origin (void)
{
  /* Another API origin has not seen the file: upload again there. */
  g_autoptr(SqFakeReplicate) fake_a = sq_fake_replicate_new ();
  g_autoptr(SqFakeReplicate) fake_b = sq_fake_replicate_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SqReplicateClient) client_a =
    sq_replicate_client_new (sq_fake_replicate_get_origin (fake_a), SQ_FAKE_REPLICATE_TOKEN, &error);
  g_autoptr(SqReplicateClient) client_b =
    sq_replicate_client_new (sq_fake_replicate_get_origin (fake_b), SQ_FAKE_REPLICATE_TOKEN, &error);
  g_autoptr(SqImage) image = make_large_image (17);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  g_assert_no_error (error);
  a = prepare_input (image, client_a, &error);
  g_assert_no_error (error);
  b = prepare_input (image, client_b, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (a, sq_fake_replicate_get_origin (fake_a)));
  g_assert_true (g_str_has_prefix (b, sq_fake_replicate_get_origin (fake_b)));
  g_assert_cmpuint (sq_fake_replicate_count_requests (fake_a, "POST", "/v1/files"), ==, 1);
  g_assert_cmpuint (sq_fake_replicate_count_requests (fake_b, "POST", "/v1/files"), ==, 1);
}

static void
test_prepare_upload_fails (void)
{
  /* A wrong token: the error comes back, nothing is remembered. */
  g_autoptr(SqFakeReplicate) fake = sq_fake_replicate_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SqReplicateClient) client =
    sq_replicate_client_new (sq_fake_replicate_get_origin (fake), "r8_wrong", &error);
  g_autoptr(SqImage) image = make_large_image (18);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;

  g_assert_no_error (error);
  first = prepare_input (image, client, &error);
  g_assert_null (first);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_UNAUTHORIZED);
  g_clear_error (&error);

  second = prepare_input (image, client, &error);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_UNAUTHORIZED);
  g_assert_cmpuint (sq_fake_replicate_count_requests (fake, "POST", "/v1/files"), ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  tmpdir = g_dir_make_tmp ("squint-test-image-XXXXXX", &error);
  g_assert_no_error (error);

  g_test_add_func ("/image/png", test_valid_png);
  g_test_add_func ("/image/jpeg", test_valid_jpeg);
  g_test_add_func ("/image/small", test_small_image);
  g_test_add_func ("/image/exif-orientation", test_exif_orientation);
  g_test_add_func ("/image/empty", test_empty);
  g_test_add_func ("/image/text-file", test_text_file);
  g_test_add_func ("/image/truncated-png", test_truncated_png);
  g_test_add_func ("/image/truncated-jpeg", test_truncated_jpeg);
  g_test_add_func ("/image/jpeg-trailing-data", test_trailing_data_jpeg);
  g_test_add_func ("/image/bomb-png", test_png_bomb);
  g_test_add_func ("/image/bomb-jpeg", test_jpeg_bomb);
  g_test_add_func ("/image/pixel-limit", test_pixel_limit);
  g_test_add_func ("/image/missing-file", test_missing_file);
  g_test_add_func ("/image/non-utf8-name", test_non_utf8_name);
  g_test_add_func ("/image/data-uri", test_data_uri);
  g_test_add_func ("/image/cancelled", test_cancelled);
  g_test_add ("/image/uri/ok", ImageServer, NULL,
              image_server_setup, test_uri_ok, image_server_teardown);
  g_test_add ("/image/uri/own-session", ImageServer, NULL,
              image_server_setup, test_uri_own_session, image_server_teardown);
  g_test_add ("/image/uri/not-found", ImageServer, NULL,
              image_server_setup, test_uri_not_found, image_server_teardown);
  g_test_add ("/image/uri/html", ImageServer, NULL,
              image_server_setup, test_uri_html, image_server_teardown);
  g_test_add ("/image/uri/no-credentials", ImageServer, NULL,
              image_server_setup, test_uri_no_credentials, image_server_teardown);
  g_test_add ("/image/uri/too-large", ImageServer, NULL,
              image_server_setup, test_uri_too_large, image_server_teardown);
  g_test_add_func ("/image/uri/bad-scheme", test_uri_bad_scheme);
  g_test_add_func ("/image/prepare/small", test_prepare_small);
  g_test_add_func ("/image/prepare/upload", test_prepare_upload);
  g_test_add_func ("/image/prepare/upload-concurrent", test_prepare_upload_concurrent);
  g_test_add_func ("/image/prepare/per-origin", test_prepare_per_origin);
  g_test_add_func ("/image/prepare/upload-fails", test_prepare_upload_fails);

  status = g_test_run ();

  /* Remove what the tests wrote. */
  {
    g_autoptr(GDir) dir = g_dir_open (tmpdir, 0, NULL);
    const char *name;

    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (tmpdir, name, NULL);
        g_unlink (path);
      }
    g_rmdir (tmpdir);
    g_free (tmpdir);
  }

  return status;
}
