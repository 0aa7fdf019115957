/* test-security.c
 *
 * Bad files and the API token: image bombs in the formats gdk-pixbuf
 * reads besides PNG and JPEG (those are in test-image.c), files and
 * projects that cannot be read, a project at a path that is not UTF-8,
 * JSON with several top-level values, and the token, which must never
 * appear in a log line (G_MESSAGES_DEBUG=all), an error message, a
 * project file after a grid run, or an export.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "sq-error.h"
#include "sq-exporter.h"
#include "sq-fake-replicate.h"
#include "sq-grid-run.h"
#include "sq-image.h"
#include "sq-json.h"
#include "sq-model.h"
#include "sq-model-catalog.h"
#include "sq-prediction.h"
#include "sq-project.h"
#include "sq-replicate-client.h"
#include "sq-test-util.h"

/* Shaped like a real token, and found nowhere else. */
#define SECRET_TOKEN "r8_secret-token-for-leak-checks-0123456789"
#define WRONG_TOKEN  "r8_wrong-token-that-must-not-leak-9876543"
#define LLAVA        "yorickvp/llava-13b:e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358"
#define NOBODY       65534

static char *tmpdir;

/* Helpers -------------------------------------------------------------- */

static GBytes *
make_png (int      width,
          int      height,
          gboolean noise)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  g_autoptr(GRand) rand = g_rand_new_with_seed (width * 31 + height);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  g_autoptr(GError) error = NULL;
  gchar *buffer = NULL;
  gsize size = 0;

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = pixels + y * rowstride + x * 3;

        p[0] = noise ? g_rand_int_range (rand, 0, 256) : (x * 255) / width;
        p[1] = noise ? g_rand_int_range (rand, 0, 256) : (y * 255) / height;
        p[2] = noise ? g_rand_int_range (rand, 0, 256) : 128;
      }

  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "png", &error, NULL);
  g_assert_no_error (error);

  return g_bytes_new_take (buffer, size);
}

static SqImage *
load_path (const char  *path,
           GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);

  return sq_test_load_image_file (file, error);
}

/* TRUE when @haystack holds @needle anywhere, NUL bytes included. */
static gboolean
bytes_contain (const guint8 *haystack,
               gsize         len,
               const char   *needle)
{
  gsize n = strlen (needle);

  for (gsize i = 0; n <= len && i <= len - n; i++)
    if (haystack[i] == (guint8) needle[0] && memcmp (haystack + i, needle, n) == 0)
      return TRUE;

  return FALSE;
}

/* The token, or a good part of it, in @text. */
static void
assert_no_secret (const guint8 *data,
                  gsize         len,
                  const char   *what)
{
  /* Its distinctive middle alone would be a leak too */
  static const char * const needles[] = {
    SECRET_TOKEN, SECRET_TOKEN + 3, "SecretTokenForLeakChecks",
    WRONG_TOKEN, "Wr0ngTokenThatMustNotLeak",
  };

  for (guint i = 0; i < G_N_ELEMENTS (needles); i++)
    if (bytes_contain (data, len, needles[i]))
      g_error ("%s holds the API token (“%s”)", what, needles[i]);
}

static void
assert_file_has_no_secret (const char *path)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      return;
    }
  assert_no_secret ((const guint8 *) contents, len, path);
}

static void
remove_file (const char *file)
{
  g_remove (file);
}

/* Calls @func on every file under @path; returns how many. With
 * remove_file(), the folders go too. */
static guint
walk_tree (const char *path,
           void      (*func) (const char *file))
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        {
          n += walk_tree (child, func);
          if (func == remove_file)
            g_rmdir (child);
        }
      else
        {
          func (child);
          n++;
        }
    }

  return n;
}

/* In a g_test_trap_subprocess() child: become nobody when root, so that
 * file permissions apply. Returns FALSE when that is impossible. */
static gboolean
drop_privileges (void)
{
  if (geteuid () != 0)
    return TRUE;

  if (setgroups (0, NULL) != 0 || setgid (NOBODY) != 0 || setuid (NOBODY) != 0)
    return FALSE;
  /* Changing uid makes the process undumpable, and LeakSanitizer needs
   * to ptrace its own threads at exit. */
  prctl (PR_SET_DUMPABLE, 1, 0, 0, 0);

  return geteuid () == NOBODY && getuid () == NOBODY;
}

/* JSON ----------------------------------------------------------------- */

static void
test_json_single_value (void)
{
  static const char * const good[] = {
    "{}", " {\"a\": \"}{\"} \n", "[1, [2, {\"b\": \"\\\"]\"}]]\r\n", "\"x\"", "42", "true",
    "\xEF\xBB\xBF{\"bom\": 1}", "{\"s\": \"\\\\\"}\t",
  };
  static const char * const multi[] = {
    "{}{}", "[] []", "\"a\"\"b\"", "1 2", "{} x", "null null", "\"array\"{\"a\": 1}",
    "{\"a\": 1}\n{\"a\": 2}\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;

      g_assert_true (sq_json_parser_load (parser, good[i], -1, &error));
      g_assert_no_error (error);
      g_assert_nonnull (json_parser_get_root (parser));
      node = sq_json_from_string (good[i], &error);
      g_assert_no_error (error);
      g_assert_nonnull (node);
    }

  for (guint i = 0; i < G_N_ELEMENTS (multi); i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;

      g_assert_false (sq_json_parser_load (parser, multi[i], -1, &error));
      g_assert_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA);
      g_clear_error (&error);
      node = sq_json_from_string (multi[i], &error);
      g_assert_null (node);
      g_assert_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA);
    }

  /* Broken JSON is still json-glib's to report */
  {
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_autoptr(GError) error = NULL;

    g_assert_false (sq_json_parser_load (parser, "{\"a\": ", -1, &error));
    g_assert_nonnull (error);
    g_assert_false (g_error_matches (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA) &&
                    strstr (error->message, "after the JSON value") != NULL);
  }
}

/* Image bombs ------------------------------------------------------------ */

/* A GIF whose screen and frame claim 65535 × 65535, in 40-odd bytes. */
static GBytes *
make_gif_bomb (void)
{
  static const guint8 gif[] = {
    'G', 'I', 'F', '8', '9', 'a',
    0xFF, 0xFF, 0xFF, 0xFF,                     /* screen 65535 × 65535 */
    0x00, 0x00, 0x00,                           /* no colour table */
    0x2C, 0x00, 0x00, 0x00, 0x00,               /* image at 0, 0 */
    0xFF, 0xFF, 0xFF, 0xFF, 0x00,               /* 65535 × 65535 */
    0x02, 0x02, 0x4C, 0x01, 0x00,               /* LZW, one tiny block */
    0x3B,
  };

  return g_bytes_new_static (gif, sizeof gif);
}

/* A BMP header claiming 60000 × 60000 at 24 bits, with 16 bytes of pixels. */
static GBytes *
make_bmp_bomb (void)
{
  guint8 *bmp = g_malloc0 (54 + 16);
  const guint32 width = 60000, height = 60000;
  const guint32 data_size = 16;

  bmp[0] = 'B';
  bmp[1] = 'M';
  memcpy (bmp + 2, &(guint32) { GUINT32_TO_LE (54 + data_size) }, 4);
  memcpy (bmp + 10, &(guint32) { GUINT32_TO_LE (54) }, 4);
  memcpy (bmp + 14, &(guint32) { GUINT32_TO_LE (40) }, 4);
  memcpy (bmp + 18, &(guint32) { GUINT32_TO_LE (width) }, 4);
  memcpy (bmp + 22, &(guint32) { GUINT32_TO_LE (height) }, 4);
  memcpy (bmp + 26, &(guint16) { GUINT16_TO_LE (1) }, 2);
  memcpy (bmp + 28, &(guint16) { GUINT16_TO_LE (24) }, 2);
  memcpy (bmp + 34, &(guint32) { GUINT32_TO_LE (data_size) }, 4);

  return g_bytes_new_take (bmp, 54 + 16);
}

static void
test_image_bombs (void)
{
  static const char svg[] =
    "<svg xmlns='http://www.w3.org/2000/svg' width='200000' height='200000'>"
    "<rect width='10' height='10' fill='red'/></svg>";
  /* Entities that would expand to gigabytes */
  static const char laughs[] =
    "<?xml version='1.0'?>\n"
    "<!DOCTYPE svg [\n"
    " <!ENTITY a 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'>\n"
    " <!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>\n"
    " <!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>\n"
    " <!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>\n"
    " <!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'>\n"
    " <!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'>\n"
    " <!ENTITY g '&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;'>\n"
    "]>\n"
    "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'><text>&g;</text></svg>\n";
  struct {
    const char *name;
    GBytes     *bytes;
    gboolean    must_be_too_large;
  } bombs[] = {
    { "bomb.gif", make_gif_bomb (), TRUE },
    { "bomb.bmp", make_bmp_bomb (), FALSE },
    { "bomb.svg", g_bytes_new_static (svg, strlen (svg)), TRUE },
    { "laughs.svg", g_bytes_new_static (laughs, strlen (laughs)), FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bombs); i++)
    {
      g_autofree char *path = sq_test_write_file (tmpdir, bombs[i].name,
                                                  g_bytes_get_data (bombs[i].bytes, NULL),
                                                  g_bytes_get_size (bombs[i].bytes));
      g_autoptr(GError) error = NULL;
      g_autoptr(SqImage) image = NULL;

      g_test_message ("%s: %" G_GSIZE_FORMAT " bytes", bombs[i].name, g_bytes_get_size (bombs[i].bytes));
      g_assert_cmpuint (g_bytes_get_size (bombs[i].bytes), <, 2048);

      image = load_path (path, &error);
      if (image != NULL)
        {
          /* A loader that gives up on the pixels may still hand out a
           * small picture; never a huge one. */
          g_assert_false (bombs[i].must_be_too_large);
          g_assert_cmpint ((gint64) sq_image_get_width (image) * sq_image_get_height (image),
                           <=, SQ_IMAGE_MAX_PIXELS);
          continue;
        }

      g_test_message ("%s: %s", bombs[i].name, error->message);
      g_assert_error (error, SQ_IMAGE_ERROR, error->code);
      if (bombs[i].must_be_too_large)
        g_assert_error (error, SQ_IMAGE_ERROR, SQ_IMAGE_ERROR_TOO_LARGE);
      else
        g_assert_true (error->code == SQ_IMAGE_ERROR_TOO_LARGE ||
                       error->code == SQ_IMAGE_ERROR_TRUNCATED ||
                       error->code == SQ_IMAGE_ERROR_NOT_IMAGE);
      sq_test_assert_message_names (error, bombs[i].name);
      g_bytes_unref (bombs[i].bytes);
      bombs[i].bytes = NULL;
    }

  for (guint i = 0; i < G_N_ELEMENTS (bombs); i++)
    g_clear_pointer (&bombs[i].bytes, g_bytes_unref);
}

static void
test_image_directory (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "folder.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqImage) image = NULL;

  g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
  image = load_path (path, &error);
  g_assert_null (image);
  g_assert_nonnull (error);
  sq_test_assert_message_names (error, "folder.png");
  g_rmdir (path);
}

/* Permissions ---------------------------------------------------------- */

static void
test_unreadable_image (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "secret-picture.png", NULL);

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SqImage) image = NULL;

      if (!drop_privileges ())
        {
          g_test_skip ("Running as root, and cannot become nobody to test permissions");
          return;
        }
      g_assert_cmpint (g_access (path, R_OK), !=, 0);

      image = load_path (path, &error);
      g_assert_null (image);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
      sq_test_assert_message_names (error, "secret-picture.png");
      return;
    }

  {
    g_autoptr(GBytes) png = make_png (32, 32, FALSE);
    g_autofree char *written = sq_test_write_file (tmpdir, "secret-picture.png", g_bytes_get_data (png, NULL),
                                                   g_bytes_get_size (png));

    g_assert_cmpint (g_chmod (written, 0000), ==, 0);
  }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_unlink (path);
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);

  return g_bytes_new_take (contents, len);
}

static void
test_unreadable_project (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "locked.squint", NULL);
  g_autofree char *ro_path = g_build_filename (tmpdir, "read-only.squint", NULL);

  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SqProject) project = NULL;
      g_autoptr(GPtrArray) prompts = NULL;

      if (!drop_privileges ())
        {
          g_test_skip ("Running as root, and cannot become nobody to test permissions");
          return;
        }

      /* Not readable at all: a clear error that names the file */
      g_assert_cmpint (g_access (path, R_OK), !=, 0);
      project = sq_project_open (path, &error);
      g_assert_null (project);
      g_assert_nonnull (error);
      g_test_message ("Unreadable: %s", error->message);
      g_assert_true (error->domain == SQ_PROJECT_ERROR || error->domain == G_IO_ERROR ||
                     error->domain == G_FILE_ERROR);
      sq_test_assert_message_names (error, "locked.squint");
      g_clear_error (&error);

      /* Readable but not writable: it opens read-only and still lists
       * what it holds; a change fails clearly and changes nothing. */
      g_assert_cmpint (g_access (ro_path, R_OK), ==, 0);
      g_assert_cmpint (g_access (ro_path, W_OK), !=, 0);
      project = sq_project_open (ro_path, &error);
      if (project == NULL)
        {
          g_test_message ("Read-only: %s", error->message);
          g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_READ_ONLY);
          sq_test_assert_message_names (error, "read-only.squint");
          return;
        }
      g_assert_no_error (error);
      g_assert_true (sq_project_is_read_only (project));
      prompts = sq_project_list_prompts (project, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (prompts->len, ==, 1);
      g_assert_cmpint (sq_project_add_prompt (project, "Another prompt", &error), <=, 0);
      g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_READ_ONLY);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      return;
    }

  {
    g_autoptr(GError) error = NULL;
    const char *paths[] = { path, ro_path };

    for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
      {
        g_autoptr(SqProject) project = sq_project_open (paths[i], &error);

        g_assert_no_error (error);
        g_assert_cmpint (sq_project_add_prompt (project, "What is in the picture?", &error), >, 0);
        g_assert_no_error (error);
      }
  }

  {
    g_autoptr(GBytes) before = read_bytes (ro_path);
    g_autoptr(GBytes) after = NULL;

    g_assert_cmpint (g_chmod (path, 0000), ==, 0);
    g_assert_cmpint (g_chmod (ro_path, 0444), ==, 0);
    /* The folder too, so that no journal can be made next to it */
    g_assert_cmpint (g_chmod (tmpdir, 0555), ==, 0);

    g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT | G_TEST_SUBPROCESS_INHERIT_STDERR);

    g_assert_cmpint (g_chmod (tmpdir, 0755), ==, 0);
    g_test_trap_assert_passed ();

    after = read_bytes (ro_path);
    g_assert_true (g_bytes_equal (before, after));
  }

  g_unlink (path);
  g_unlink (ro_path);
}

/* Paths ----------------------------------------------------------------- */

static void
test_non_utf8_project_path (void)
{
  /* Latin-1 "café", as an old file system would name it */
  g_autofree char *path = g_build_filename (tmpdir, "caf\xe9 \xff.squint", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) prompts = NULL;
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  SqProject *project;

  g_assert_false (g_utf8_validate (path, -1, NULL));

  project = sq_project_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sq_project_add_prompt (project, "Qu’y a-t-il sur l’image ?", &error), >, 0);
  g_assert_no_error (error);
  g_assert_finalize_object (project);

  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  project = sq_project_open (path, &error);
  g_assert_no_error (error);
  prompts = sq_project_list_prompts (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_cmpstr (((SqPromptRecord *) g_ptr_array_index (prompts, 0))->text, ==, "Qu’y a-t-il sur l’image ?");

  /* What it shows of its own path is valid UTF-8 */
  {
    g_autofree char *shown = sq_project_dup_path (project);

    g_assert_nonnull (shown);
  }

  g_assert_true (sq_exporter_write (project, SQ_EXPORT_FORMAT_JSON, out, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_utf8_validate (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out)),
                                  g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out)),
                                  NULL));
  g_assert_finalize_object (project);
  g_unlink (path);
}

/* The token ------------------------------------------------------------- */

typedef struct
{
  GString *all;
  guint    n_debug;
} LogCapture;

static LogCapture capture;

/* Every field of every message, whether or not it would be shown. */
static GLogWriterOutput
capture_writer (GLogLevelFlags   log_level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    {
      g_string_append (capture.all, fields[i].key);
      g_string_append_c (capture.all, '=');
      if (fields[i].length < 0)
        g_string_append (capture.all, fields[i].value);
      else
        g_string_append_len (capture.all, fields[i].value, fields[i].length);
      g_string_append_c (capture.all, '\n');
    }
  if (log_level & G_LOG_LEVEL_DEBUG)
    capture.n_debug++;

  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    return g_log_writer_default (log_level, fields, n_fields, user_data);

  return G_LOG_WRITER_HANDLED;
}

typedef struct
{
  SqFakeReplicate   *fake;
  SqReplicateClient *client;
  GString           *errors;    /* every error message seen */
} TokenFixture;

static void
token_fixture_set_up (TokenFixture  *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->fake = sq_fake_replicate_new ();
  sq_fake_replicate_set_token (f->fake, SECRET_TOKEN);
  sq_test_wait_for_fake_servers (f->fake);
  f->client = sq_replicate_client_new (sq_fake_replicate_get_origin (f->fake), SECRET_TOKEN, &error);
  g_assert_no_error (error);
  sq_replicate_client_set_retry_policy (f->client, 3, 1, 5);
  f->errors = g_string_new (NULL);

  g_string_truncate (capture.all, 0);
  capture.n_debug = 0;
}

static void
token_fixture_tear_down (TokenFixture  *f,
                         gconstpointer  data)
{
  g_assert_finalize_object (f->client);
  g_clear_object (&f->fake);
  g_string_free (f->errors, TRUE);
}

/* Runs one prediction to its end; returns its text. */
static char *
run_prediction (TokenFixture      *f,
                SqReplicateClient *client,
                const char        *prompt,
                const char        *image_input,
                GCancellable      *cancellable)
{
  g_autoptr(JsonObject) input = json_object_new ();
  g_autoptr(SqPrediction) prediction = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (input, "prompt", prompt);
  json_object_set_string_member (input, "image", image_input);
  prediction = sq_prediction_new (client, LLAVA, input);
  sq_prediction_set_poll_interval (prediction, 5);

  sq_prediction_run_async (prediction, cancellable, sq_test_store_result_cb, &result);
  if (!sq_prediction_run_finish (prediction, sq_test_wait_result (&result), &error))
    {
      g_string_append_printf (f->errors, "%s\n", error->message);
      if (sq_prediction_get_error_message (prediction) != NULL)
        g_string_append_printf (f->errors, "%s\n", sq_prediction_get_error_message (prediction));
    }

  return g_strdup (sq_prediction_get_text (prediction));
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_token_not_logged (TokenFixture  *f,
                       gconstpointer  data)
{
  g_autoptr(GBytes) noise = make_png (400, 400, TRUE);
  g_autoptr(SqImage) image = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *image_url = NULL;
  g_autofree char *text = NULL;

  g_assert_cmpstr (g_getenv ("G_MESSAGES_DEBUG"), ==, "all");

  /* An upload: too large for a data URI */
  g_assert_cmpuint (g_bytes_get_size (noise), >, SQ_IMAGE_DATA_URI_MAX);
  image = sq_test_load_image_bytes (noise, "noise.png", &error);
  g_assert_no_error (error);
  sq_image_prepare_input_async (image, f->client, NULL, sq_test_store_result_cb, &result);
  image_url = sq_image_prepare_input_finish (image, sq_test_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (image_url, sq_fake_replicate_get_origin (f->fake)));
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/files"), ==, 1);

  /* A streamed prediction, a polled one, a failed one */
  text = run_prediction (f, f->client, "Describe the noise.", image_url, NULL);
  g_assert_cmpstr (text, !=, "");
  g_clear_pointer (&text, g_free);
  sq_fake_replicate_set_no_stream (f->fake, TRUE);
  text = run_prediction (f, f->client, "Describe it again.", image_url, NULL);
  g_assert_cmpstr (text, !=, "");
  g_clear_pointer (&text, g_free);
  sq_fake_replicate_set_no_stream (f->fake, FALSE);
  g_free (run_prediction (f, f->client, "[[fail]] Fail, please.", image_url, NULL));

  /* Retries that run out: 5xx and 429 */
  sq_fake_replicate_queue_get_errors (f->fake, 10, 503);
  g_free (run_prediction (f, f->client, "Through a storm.", image_url, NULL));
  sq_fake_replicate_queue_get_errors (f->fake, 0, 503);
  sq_fake_replicate_queue_create_429 (f->fake, 10, 0, TRUE);
  g_free (run_prediction (f, f->client, "Throttled.", image_url, NULL));
  sq_fake_replicate_queue_create_429 (f->fake, 0, 0, TRUE);

  /* A cancel, on Replicate too */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    g_timeout_add (20, cancel_cb, cancellable);
    g_free (run_prediction (f, f->client, "[[slow]] Cancel me.", image_url, cancellable));
  }

  /* A token the server refuses, for a prediction and an upload */
  {
    g_autoptr(SqReplicateClient) wrong = NULL;
    g_autoptr(GAsyncResult) upload = NULL;
    g_autofree char *url = NULL;
    /* A new image: the first one keeps its upload per origin */
    g_autoptr(SqImage) again = sq_test_load_image_bytes (noise, "noise.png", &error);

    g_assert_no_error (error);
    wrong = sq_replicate_client_new (sq_fake_replicate_get_origin (f->fake), WRONG_TOKEN, &error);
    g_assert_no_error (error);
    g_free (run_prediction (f, wrong, "Who am I?", image_url, NULL));

    sq_image_prepare_input_async (again, wrong, NULL, sq_test_store_result_cb, &upload);
    url = sq_image_prepare_input_finish (again, sq_test_wait_result (&upload), &error);
    g_assert_null (url);
    g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_UNAUTHORIZED);
    g_string_append_printf (f->errors, "%s\n", error->message);
    g_clear_error (&error);
  }

  /* The server saw the token (so the check below can fail)... */
  {
    g_autoptr(GPtrArray) requests = sq_fake_replicate_dup_requests (f->fake);
    guint with_token = 0;

    for (guint i = 0; i < requests->len; i++)
      {
        SqFakeRequest *request = g_ptr_array_index (requests, i);

        if (g_strcmp0 (request->authorization, "Bearer " SECRET_TOKEN) == 0)
          with_token++;
      }
    g_assert_cmpuint (with_token, >, 5);
  }

  /* ...the errors were many and none holds it... */
  g_test_message ("%s", f->errors->str);
  g_assert_nonnull (strstr (f->errors->str, "CUDA error"));
  g_assert_cmpuint (strlen (f->errors->str), >, 100);
  assert_no_secret ((const guint8 *) f->errors->str, f->errors->len, "An error message");

  /* ...and the logs were busy and never show it. */
  g_assert_cmpuint (capture.n_debug, >, 20);
  g_assert_nonnull (strstr (capture.all->str, "sq-replicate-client"));
  assert_no_secret ((const guint8 *) capture.all->str, capture.all->len, "The log");
}

static void
test_token_not_in_project_or_exports (TokenFixture  *f,
                                      gconstpointer  data)
{
  static const char * const aliases[] = { "llava-13b", "fuyu-8b" };
  g_autofree char *path = g_build_filename (tmpdir, "grid.squint", NULL);
  g_autofree char *cache_path = g_build_filename (tmpdir, "schema-cache", NULL);
  g_autoptr(GFile) cache = g_file_new_for_path (cache_path);
  g_autoptr(SqModelCatalog) catalog = sq_model_catalog_new (f->client, cache);
  g_autoptr(SqProject) project = NULL;
  g_autoptr(SqGridRun) grid = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GBytes) small = make_png (48, 32, FALSE);
  g_autoptr(GBytes) large = make_png (400, 400, TRUE);
  g_autoptr(SqImage) small_image = sq_test_load_image_bytes (small, "small.png", &error);
  g_autoptr(SqImage) large_image = sq_test_load_image_bytes (large, "large.png", &error);
  const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  g_assert_no_error (error);
  project = sq_project_open (path, &error);
  g_assert_no_error (error);

  grid = sq_grid_run_new (project, f->client, catalog);
  sq_grid_run_set_poll_interval_ms (grid, 5);
  sq_grid_run_add_prompt (grid, "What is shown?");
  sq_grid_run_add_prompt (grid, "[[fail]] Fail here.");
  sq_grid_run_add_image (grid, small_image);
  sq_grid_run_add_image (grid, large_image);
  for (guint i = 0; i < G_N_ELEMENTS (aliases); i++)
    {
      g_autoptr(GAsyncResult) resolved = NULL;
      g_autoptr(SqModel) model = NULL;

      sq_model_catalog_resolve_async (catalog, aliases[i], NULL, sq_test_store_result_cb, &resolved);
      model = sq_model_catalog_resolve_finish (catalog, sq_test_wait_result (&resolved), &error);
      g_assert_no_error (error);
      g_assert_true (sq_grid_run_add_model (grid, model, NULL, &error));
      g_assert_no_error (error);
    }

  sq_grid_run_run_async (grid, NULL, sq_test_store_result_cb, &result);
  sq_grid_run_run_finish (grid, sq_test_wait_result (&result), NULL);

  /* The grid ran: answers, errors and an upload */
  results = sq_project_list_results (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 2 * 2 * 2);
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/files"), >=, 1);

  /* Every byte of the project, its journal and WAL, while open... */
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      assert_file_has_no_secret (file);
    }

  /* ...every export... */
  for (guint format = 0; format < SQ_N_EXPORT_FORMATS; format++)
    {
      g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
      GMemoryOutputStream *mem = G_MEMORY_OUTPUT_STREAM (out);

      g_assert_true (sq_exporter_write (project, format, out, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (g_memory_output_stream_get_data_size (mem), >, 0);
      assert_no_secret (g_memory_output_stream_get_data (mem),
                        g_memory_output_stream_get_data_size (mem), "An export");
    }

  /* ...and the project once closed, and the schema cache */
  g_clear_object (&result);
  g_clear_object (&grid);
  g_assert_finalize_object (g_steal_pointer (&project));
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      assert_file_has_no_secret (file);
      g_unlink (file);
    }
  g_assert_cmpuint (walk_tree (cache_path, assert_file_has_no_secret), >, 0);

  assert_no_secret ((const guint8 *) capture.all->str, capture.all->len, "The log");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int ret;

  /* Before anything logs: every debug message is produced */
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  capture.all = g_string_new (NULL);
  g_log_set_writer_func (capture_writer, NULL, NULL);

  g_test_init (&argc, &argv, NULL);

  /* A subprocess works in the folder of the process that made it */
  if (g_test_subprocess () && g_getenv ("SQUINT_TEST_SECURITY_DIR") != NULL)
    tmpdir = g_strdup (g_getenv ("SQUINT_TEST_SECURITY_DIR"));
  else
    {
      tmpdir = g_dir_make_tmp ("squint-test-security-XXXXXX", &error);
      g_assert_no_error (error);
      /* nobody must reach the files inside to meet their own permissions */
      g_assert_cmpint (g_chmod (tmpdir, 0755), ==, 0);
      g_setenv ("SQUINT_TEST_SECURITY_DIR", tmpdir, TRUE);
    }

  g_test_add_func ("/security/json/single-value", test_json_single_value);
  g_test_add_func ("/security/image/bombs", test_image_bombs);
  g_test_add_func ("/security/image/directory", test_image_directory);
  g_test_add_func ("/security/image/unreadable", test_unreadable_image);
  g_test_add_func ("/security/project/unreadable", test_unreadable_project);
  g_test_add_func ("/security/project/non-utf8-path", test_non_utf8_project_path);
  g_test_add ("/security/token/not-logged", TokenFixture, NULL,
              token_fixture_set_up, test_token_not_logged, token_fixture_tear_down);
  g_test_add ("/security/token/not-in-project-or-exports", TokenFixture, NULL,
              token_fixture_set_up, test_token_not_in_project_or_exports, token_fixture_tear_down);

  ret = g_test_run ();

  if (!g_test_subprocess ())
    {
      walk_tree (tmpdir, remove_file);
      g_rmdir (tmpdir);
    }
  g_free (tmpdir);
  g_string_free (capture.all, TRUE);

  return ret;
}
