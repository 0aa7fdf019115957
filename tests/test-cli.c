/* test-cli.c
 *
 * Runs the real `squint` executable (SQUINT_EXE) as a subprocess against
 * a `fake-replicate` process (FAKE_REPLICATE_EXE) and checks what it
 * prints, its exit status and, from the fake's request log, what it sent.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>

#include "sq-config.h"
#include "sq-fake-replicate.h"
#include "sq-test-util.h"

#define LLAVA    "yorickvp/llava-13b"
#define FUYU     "lucataco/fuyu-8b"
#define MINIGPT4 "daanelson/minigpt-4"

typedef struct
{
  GSubprocess     *fake;          /* the fake-replicate process */
  char            *origin;        /* its first line of output */
  char            *requests_log;  /* one JSON object per request and line */
  SqFakeReplicate *oracle;        /* only for sq_fake_replicate_expected_answer() */
  char            *tmpdir;
  char            *small_png;   /* < 256 KB: goes as a data URI */
  char            *large_png;   /* > 256 KB: goes through /v1/files */
  char            *text_file;
  char            *small_sha;
  char            *large_sha;
  gboolean         keyfile_settings;  /* settings from config/glib-2.0/settings/keyfile */
  const char      *base_url;          /* REPLICATE_BASE_URL instead of the fake's origin */
} Fixture;

/* The file keyring squint and this process share (libsecret reads its
 * path once per process, so there is one for the whole run). */
static char *keyring_path;

typedef SqTestRun Run;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, sq_test_run_free)

/* A PNG of @size × @size; with @noise, random pixels so it does not compress. */
static char *
write_png (const char *dir,
           const char *name,
           int         size,
           gboolean    noise,
           guint32     seed)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, size, size);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  guchar *pixels = gdk_pixbuf_get_pixels (pixbuf);
  int rowstride = gdk_pixbuf_get_rowstride (pixbuf);

  for (int y = 0; y < size; y++)
    {
      for (int x = 0; x < size; x++)
        {
          guchar *p = pixels + y * rowstride + x * 3;

          if (noise)
            {
              guint32 r = g_rand_int (rand);

              p[0] = r & 0xff;
              p[1] = (r >> 8) & 0xff;
              p[2] = (r >> 16) & 0xff;
            }
          else
            {
              p[0] = (x * 255) / size;
              p[1] = (y * 255) / size;
              p[2] = seed & 0xff;
            }
        }
    }

  gdk_pixbuf_save (pixbuf, path, "png", &error, NULL);
  g_assert_no_error (error);

  return path;
}

static void start_fake (Fixture            *fixture,
                        const char * const *args);

/* @data: extra fake-replicate arguments (a NULL-terminated array), or NULL. */
static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  struct stat st;

  fixture->oracle = sq_fake_replicate_new ();
  fixture->tmpdir = g_dir_make_tmp ("squint-test-cli-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->requests_log = g_build_filename (fixture->tmpdir, "requests.jsonl", NULL);

  fixture->small_png = write_png (fixture->tmpdir, "cat.png", 64, FALSE, 7);
  fixture->large_png = write_png (fixture->tmpdir, "noise.png", 800, TRUE, 11);
  fixture->small_sha = sq_test_file_sha256 (fixture->small_png);
  fixture->large_sha = sq_test_file_sha256 (fixture->large_png);

  g_assert_cmpint (g_stat (fixture->small_png, &st), ==, 0);
  g_assert_cmpint (st.st_size, <, 256 * 1024);
  g_assert_cmpint (g_stat (fixture->large_png, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 256 * 1024);

  fixture->text_file = g_build_filename (fixture->tmpdir, "notes.png", NULL);
  g_file_set_contents (fixture->text_file, "This is not an image, only text.\n", -1, &error);
  g_assert_no_error (error);

  start_fake (fixture, data);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  sq_test_stop_process (&fixture->fake);
  sq_test_remove_tree (fixture->tmpdir);
  g_clear_object (&fixture->oracle);
  g_free (fixture->origin);
  g_free (fixture->requests_log);
  g_free (fixture->tmpdir);
  g_free (fixture->small_png);
  g_free (fixture->large_png);
  g_free (fixture->text_file);
  g_free (fixture->small_sha);
  g_free (fixture->large_sha);
}

/* Starts fake-replicate with the request log and @args, and reads its
 * origin from its first line. */
static void
start_fake (Fixture            *fixture,
            const char * const *args)
{
  g_assert_null (fixture->fake);
  fixture->fake = sq_test_spawn_fake_replicate (fixture->requests_log, args, &fixture->origin);
}

/* Every request the fake logged so far. (element-type JsonObject) */
static GPtrArray *
dup_requests (Fixture *fixture)
{
  return sq_test_read_requests_log (fixture->requests_log);
}

static guint
count_requests (Fixture    *fixture,
                const char *method,
                const char *path_prefix,
                const char *path_suffix)
{
  g_autoptr(GPtrArray) requests = dup_requests (fixture);
  guint n = 0;

  for (guint i = 0; i < requests->len; i++)
    {
      JsonObject *request = g_ptr_array_index (requests, i);
      const char *path = json_object_get_string_member (request, "path");

      if ((method == NULL || g_strcmp0 (json_object_get_string_member (request, "method"), method) == 0) &&
          (path_prefix == NULL || g_str_has_prefix (path, path_prefix)) &&
          (path_suffix == NULL || g_str_has_suffix (path, path_suffix)))
        n++;
    }

  return n;
}

static char *
expected_answer (Fixture    *fixture,
                 const char *model,
                 const char *image_sha,
                 const char *prompt)
{
  return sq_fake_replicate_expected_answer (fixture->oracle, model, image_sha, prompt);
}

/* The environment squint runs in: its own XDG directories, memory
 * settings, a file keyring, and the fake as the API unless @token is NULL. */
static char **
make_env (Fixture    *fixture,
          const char *token)
{
  return sq_test_squint_environ (fixture->tmpdir,
                                 fixture->base_url != NULL ? fixture->base_url : fixture->origin,
                                 token,
                                 fixture->keyfile_settings ? "keyfile" : "memory",
                                 keyring_path);
}

static GSubprocess *
spawn_squint (Fixture            *fixture,
              const char         *token,
              const char * const *args)
{
  g_auto(GStrv) env = make_env (fixture, token);

  return sq_test_spawn_squint ((const char * const *) env, args);
}

static void
assert_no_token (const char *text)
{
  g_assert_null (strstr (text, SQ_FAKE_REPLICATE_TOKEN));
  g_assert_null (strstr (text, "r8_wrong"));
}

/* Nothing went wrong inside squint, whatever its answer. */
static void
assert_clean_stderr (const char *err)
{
  g_assert_null (strstr (err, "CRITICAL"));
  g_assert_null (strstr (err, "WARNING"));
  g_assert_null (strstr (err, "ERROR"));
  assert_no_token (err);
}

/* Runs squint to the end with @token (NULL: none) and the given arguments. */
static Run *
run_squint_with_token (Fixture    *fixture,
                       const char *token,
                       ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_auto(GStrv) env = make_env (fixture, token);
  Run *run;
  const char *arg;
  va_list ap;

  va_start (ap, token);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  run = sq_test_run_squint ((const char * const *) env, (const char * const *) args->pdata);

  g_test_message ("squint exited with %d\nstdout:\n%s\nstderr:\n%s", run->status, run->out, run->err);

  /* Never, in any output, even with G_MESSAGES_DEBUG=all. */
  assert_no_token (run->out);
  assert_clean_stderr (run->err);

  return run;
}

#define run_squint(fixture, ...) \
  run_squint_with_token ((fixture), SQ_FAKE_REPLICATE_TOKEN, __VA_ARGS__, NULL)

/* Prediction creates, accepted or not. */
static guint
count_predictions (Fixture *fixture)
{
  return count_requests (fixture, "POST", "/v1/predictions", NULL) -
         count_requests (fixture, "POST", "/v1/predictions/", "/cancel");
}

static guint
count_all_requests (Fixture *fixture)
{
  return count_requests (fixture, NULL, NULL, NULL);
}

/* The lines of @text without the empty last one. */
static char **
split_lines (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] != '\0')
        g_strv_builder_add (builder, lines[i]);
    }

  return g_strv_builder_end (builder);
}

/* Tests */

static void
test_help (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(Run) help = run_squint (fixture, "help");
  g_autoptr(Run) ask_help = run_squint (fixture, "ask", "--help");
  g_autoptr(Run) help_ask = run_squint (fixture, "help", "ask");
  g_autoptr(Run) models_help = run_squint (fixture, "models", "--help");
  g_autoptr(Run) bogus = run_squint (fixture, "help", "bogus");

  g_assert_cmpint (help->status, ==, 0);
  g_assert_nonnull (strstr (help->out, "squint ask"));
  g_assert_nonnull (strstr (help->out, "squint models"));

  g_assert_cmpint (ask_help->status, ==, 0);
  g_assert_nonnull (strstr (ask_help->out, "--model"));
  g_assert_nonnull (strstr (ask_help->out, "--image"));
  g_assert_nonnull (strstr (ask_help->out, "--param"));
  g_assert_nonnull (strstr (ask_help->out, "--json"));
  /* There is no way to give the token on the command line. */
  g_assert_null (strstr (ask_help->out, "--token"));

  g_assert_cmpint (help_ask->status, ==, 0);
  g_assert_nonnull (strstr (help_ask->out, "--image"));

  g_assert_cmpint (models_help->status, ==, 0);
  g_assert_nonnull (strstr (models_help->out, "--json"));

  g_assert_cmpint (bogus->status, ==, 2);

  g_assert_cmpuint (count_all_requests (fixture), ==, 0);
}

static void
test_models_table (Fixture       *fixture,
                   gconstpointer  data)
{
  /* No token and no server: the built-in schemas are enough. */
  g_autoptr(Run) run = run_squint_with_token (fixture, NULL, "models", NULL);

  g_assert_cmpint (run->status, ==, 0);
  g_assert_nonnull (strstr (run->out, "llava-13b"));
  g_assert_nonnull (strstr (run->out, "yorickvp/llava-13b:e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358"));
  g_assert_nonnull (strstr (run->out, "fuyu-8b"));
  g_assert_nonnull (strstr (run->out, "minigpt-4"));
  g_assert_nonnull (strstr (run->out, "cogvlm"));
  g_assert_nonnull (strstr (run->out, "max_tokens"));
  g_assert_nonnull (strstr (run->out, "max_new_tokens"));
  g_assert_nonnull (strstr (run->out, "repetition_penalty"));
  g_assert_cmpuint (count_all_requests (fixture), ==, 0);
}

static JsonObject *
find_model (JsonArray  *models,
            const char *alias)
{
  for (guint i = 0; i < json_array_get_length (models); i++)
    {
      JsonObject *model = json_array_get_object_element (models, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (model, "alias", ""), alias) == 0)
        return model;
    }

  return NULL;
}

static JsonObject *
find_param (JsonObject *model,
            const char *key)
{
  JsonArray *params = json_object_get_array_member (model, "parameters");

  for (guint i = 0; i < json_array_get_length (params); i++)
    {
      JsonObject *param = json_array_get_object_element (params, i);

      if (g_strcmp0 (json_object_get_string_member (param, "key"), key) == 0)
        return param;
    }

  return NULL;
}

static void
test_models_json (Fixture       *fixture,
                  gconstpointer  data)
{
  /* With a token it still needs no network: the versions are pinned. */
  g_autoptr(Run) run = run_squint (fixture, "models", "--json");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *models;
  JsonObject *llava, *fuyu, *minigpt, *cogvlm, *param;

  g_assert_cmpint (run->status, ==, 0);
  json_parser_load_from_data (parser, run->out, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  models = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (models), >=, 4);

  llava = find_model (models, "llava-13b");
  fuyu = find_model (models, "fuyu-8b");
  minigpt = find_model (models, "minigpt-4");
  cogvlm = find_model (models, "cogvlm");
  g_assert_nonnull (llava);
  g_assert_nonnull (fuyu);
  g_assert_nonnull (minigpt);
  g_assert_nonnull (cogvlm);

  g_assert_cmpstr (json_object_get_string_member (llava, "ref"), ==,
                   LLAVA ":e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358");
  g_assert_cmpstr (json_object_get_string_member (llava, "prompt_key"), ==, "prompt");
  g_assert_cmpstr (json_object_get_string_member (llava, "image_key"), ==, "image");

  param = find_param (llava, "max_tokens");
  g_assert_nonnull (param);
  g_assert_cmpstr (json_object_get_string_member (param, "type"), ==, "integer");
  g_assert_null (find_param (llava, "max_new_tokens"));

  param = find_param (fuyu, "max_new_tokens");
  g_assert_nonnull (param);
  g_assert_cmpint (json_object_get_int_member (param, "default"), ==, 512);
  g_assert_cmpfloat (json_object_get_double_member (param, "minimum"), ==, 0);
  g_assert_cmpfloat (json_object_get_double_member (param, "maximum"), ==, 2048);

  param = find_param (minigpt, "temperature");
  g_assert_nonnull (param);
  g_assert_cmpstr (json_object_get_string_member (param, "type"), ==, "number");

  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (cogvlm, "parameters")), ==, 0);

  g_assert_cmpuint (count_all_requests (fixture), ==, 0);
}

static void
test_ask_single (Fixture       *fixture,
                 gconstpointer  data)
{
  const char *prompt = "What is in this picture?";
  g_autoptr(Run) run = run_squint (fixture, "ask", "-m", "llava-13b", "-i", fixture->small_png, prompt);
  g_autofree char *expected = expected_answer (fixture, LLAVA, fixture->small_sha, prompt);
  g_autofree char *expected_line = g_strconcat (expected, "\n", NULL);

  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->out, ==, expected_line);
  g_assert_cmpuint (count_predictions (fixture), ==, 1);
  /* A small image goes inline. */
  g_assert_cmpuint (count_requests (fixture, "POST", "/v1/files", NULL), ==, 0);
}

/* The input of the next successful create for a version starting with
 * @version_prefix that is not in @seen. */
static JsonObject *
find_request_input (GPtrArray  *requests,
                    const char *version_prefix,
                    GPtrArray  *seen)
{
  for (guint i = 0; i < requests->len; i++)
    {
      JsonObject *request = g_ptr_array_index (requests, i);
      JsonObject *body;
      JsonObject *input;
      const char *version;

      if (g_strcmp0 (json_object_get_string_member (request, "method"), "POST") != 0 ||
          g_strcmp0 (json_object_get_string_member (request, "path"), "/v1/predictions") != 0 ||
          json_object_get_int_member (request, "status") >= 300 ||
          json_object_get_null_member (request, "body"))
        continue;

      body = json_object_get_object_member (request, "body");
      version = json_object_get_string_member_with_default (body, "version", "");
      input = json_object_get_object_member (body, "input");
      if (!g_str_has_prefix (version, version_prefix) || input == NULL)
        continue;
      if (g_ptr_array_find (seen, input, NULL))
        continue;

      g_ptr_array_add (seen, input);
      return input;
    }

  return NULL;
}

static void
test_ask_grid_json (Fixture       *fixture,
                    gconstpointer  data)
{
  const char *prompt = "Describe the image";
  const char *models[][2] = {
    { "llava-13b", LLAVA },
    { "fuyu-8b", FUYU },
    { "minigpt-4", MINIGPT4 },
  };
  g_autoptr(Run) run = run_squint (fixture, "ask", "--json",
                                   "-m", "llava-13b", "-m", "fuyu-8b", "-m", "minigpt-4",
                                   "-i", fixture->small_png, "-i", fixture->large_png,
                                   "-p", "max_new_tokens=100",
                                   prompt);
  g_auto(GStrv) lines = split_lines (run->out);
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new ();
  gboolean found[3][2] = { { FALSE } };

  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpuint (g_strv_length (lines), ==, 6);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = NULL;
      JsonObject *object;
      const char *model, *image;
      guint m, im;

      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      object = json_node_get_object (json_parser_get_root (parser));

      model = json_object_get_string_member (object, "model");
      image = json_object_get_string_member (object, "image");
      for (m = 0; m < G_N_ELEMENTS (models); m++)
        {
          if (g_strcmp0 (models[m][0], model) == 0)
            break;
        }
      g_assert_cmpuint (m, <, G_N_ELEMENTS (models));
      g_assert_true (g_str_has_prefix (json_object_get_string_member (object, "model_ref"), models[m][1]));

      if (g_str_has_suffix (image, "cat.png"))
        im = 0;
      else if (g_str_has_suffix (image, "noise.png"))
        im = 1;
      else
        g_assert_not_reached ();

      g_assert_false (found[m][im]);
      found[m][im] = TRUE;

      expected = expected_answer (fixture, models[m][1],
                                                    im == 0 ? fixture->small_sha : fixture->large_sha,
                                                    prompt);
      g_assert_cmpstr (json_object_get_string_member (object, "response"), ==, expected);
      g_assert_cmpstr (json_object_get_string_member (object, "prompt"), ==, prompt);
      g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "succeeded");
      g_assert_true (json_object_get_null_member (object, "error"));
      /* Unrated: null, never 0. */
      g_assert_true (json_object_has_member (object, "correctness"));
      g_assert_true (json_object_get_null_member (object, "correctness"));
      g_assert_true (json_object_get_null_member (object, "relevance"));
      g_assert_true (json_object_has_member (object, "notes"));
      g_assert_nonnull (json_object_get_string_member (object, "prediction_id"));
      g_assert_cmpint (json_object_get_int_member (object, "total_ms"), >=, 0);
      g_assert_true (json_object_has_member (object, "ttft_ms"));
    }

  for (guint m = 0; m < G_N_ELEMENTS (models); m++)
    g_assert_true (found[m][0] && found[m][1]);

  /* The large image was uploaded once, and used by every model. */
  g_assert_cmpuint (count_requests (fixture, "POST", "/v1/files", NULL), ==, 1);
  g_assert_cmpuint (count_predictions (fixture), ==, 6);

  /* Each model received only its own keys. */
  requests = dup_requests (fixture);
  for (guint n = 0; n < 2; n++)
    {
      JsonObject *llava = find_request_input (requests, "e272157381e2", seen);
      JsonObject *fuyu = find_request_input (requests, "42f23bc876570", seen);
      JsonObject *minigpt = find_request_input (requests, "b96a2f33cc8e", seen);

      g_assert_nonnull (llava);
      g_assert_cmpint (json_object_get_int_member (llava, "max_tokens"), ==, 100);
      g_assert_false (json_object_has_member (llava, "max_new_tokens"));
      g_assert_cmpuint (json_object_get_size (llava), ==, 3);

      g_assert_nonnull (fuyu);
      g_assert_cmpint (json_object_get_int_member (fuyu, "max_new_tokens"), ==, 100);
      g_assert_cmpuint (json_object_get_size (fuyu), ==, 3);

      g_assert_nonnull (minigpt);
      g_assert_cmpint (json_object_get_int_member (minigpt, "max_new_tokens"), ==, 100);
      g_assert_cmpuint (json_object_get_size (minigpt), ==, 3);
    }
}

static void
test_ask_grid_plain (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *prompt = "What colour is it?";
  g_autoptr(Run) run = run_squint (fixture, "ask", "-m", "llava-13b", "-m", "cogvlm",
                                   "-i", fixture->small_png, prompt);
  g_autofree char *llava = expected_answer (fixture, LLAVA, fixture->small_sha, prompt);
  g_autofree char *cogvlm = expected_answer (fixture, "naklecha/cogvlm",
                                                               fixture->small_sha, prompt);
  g_autofree char *llava_block = g_strdup_printf ("== llava-13b · cat.png ==\n%s\n", llava);
  g_autofree char *cogvlm_block = g_strdup_printf ("== cogvlm · cat.png ==\n%s\n", cogvlm);

  g_assert_cmpint (run->status, ==, 0);
  g_assert_nonnull (strstr (run->out, llava_block));
  g_assert_nonnull (strstr (run->out, cogvlm_block));
}

static void
test_ask_fail (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(Run) run = run_squint (fixture, "ask", "-m", "fuyu-8b", "-i", fixture->small_png,
                                   "[[fail]] what is this?");

  g_assert_cmpint (run->status, ==, 1);
  g_assert_nonnull (strstr (run->err, "fuyu-8b on cat.png failed:"));
}

/* A prediction canceled on Replicate's side (not by Ctrl+C) did not
 * succeed: exit status 1, and the text that arrived is kept. */
static void
test_ask_canceled_remotely (Fixture       *fixture,
                            gconstpointer  data)
{
  const char *prompt = "[[cancel]] what is this?";
  g_autoptr(Run) run = run_squint (fixture, "ask", "-m", "llava-13b", "-i", fixture->small_png, prompt);
  g_autoptr(Run) json_run = NULL;
  g_autofree char *expected = expected_answer (fixture, LLAVA, fixture->small_sha, prompt);
  g_autoptr(JsonNode) node = NULL;
  JsonObject *obj;

  g_assert_cmpint (run->status, ==, 1);
  g_assert_nonnull (strstr (run->err, "llava-13b on cat.png was canceled"));
  g_assert_cmpuint (strlen (run->out), >, 0);
  g_assert_true (g_str_has_prefix (expected, g_strchomp (run->out)));

  json_run = run_squint (fixture, "ask", "--json", "-m", "fuyu-8b", "-i", fixture->small_png, prompt);
  g_assert_cmpint (json_run->status, ==, 1);
  node = json_from_string (json_run->out, NULL);
  g_assert_nonnull (node);
  obj = json_node_get_object (node);
  g_assert_cmpstr (json_object_get_string_member (obj, "status"), ==, "canceled");
}

static void
test_ask_drop (Fixture       *fixture,
               gconstpointer  data)
{
  const char *prompt = "[[drop]] what is this?";
  g_autoptr(Run) run = run_squint (fixture, "ask", "-m", "llava-13b", "-i", fixture->small_png, prompt);
  g_autofree char *expected = expected_answer (fixture, LLAVA, fixture->small_sha, prompt);
  g_autofree char *expected_line = g_strconcat (expected, "\n", NULL);

  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->out, ==, expected_line);
}

static void
test_ask_rate_limited (Fixture       *fixture,
                       gconstpointer  data)
{
  const char *prompt = "Is it day or night?";
  g_autoptr(Run) run = NULL;
  g_autofree char *expected = expected_answer (fixture, LLAVA, fixture->small_sha, prompt);
  g_autofree char *expected_line = g_strconcat (expected, "\n", NULL);

  run = run_squint (fixture, "ask", "-m", "llava-13b", "-i", fixture->small_png, prompt);

  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->out, ==, expected_line);
  /* Two refused, the third accepted. */
  g_assert_cmpuint (count_predictions (fixture), ==, 3);
  g_assert_cmpuint (count_requests (fixture, "POST", "/v1/predictions", NULL), ==, 3);
}

static void
test_ask_no_token (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(Run) run = run_squint_with_token (fixture, NULL, "ask", "-m", "llava-13b",
                                              "-i", fixture->small_png, "hello", NULL);

  g_assert_cmpint (run->status, ==, 3);
  g_assert_nonnull (strstr (run->err, "REPLICATE_API_TOKEN"));
  g_assert_cmpstr (run->out, ==, "");
  g_assert_cmpuint (count_all_requests (fixture), ==, 0);
}

static void
test_ask_keyring_token (Fixture       *fixture,
                        gconstpointer  data)
{
  const char *prompt = "Whose token is it?";
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Run) run = NULL;
  g_autoptr(Run) cleared = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autofree char *expected = expected_answer (fixture, LLAVA, fixture->small_sha, prompt);
  g_autofree char *expected_line = g_strconcat (expected, "\n", NULL);

  /* Saved the way Preferences saves it. */
  sq_token_store_save_async (SQ_FAKE_REPLICATE_TOKEN, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_token_store_save_finish (sq_test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  run = run_squint_with_token (fixture, NULL, "ask", "-m", "llava-13b", "-i", fixture->small_png, prompt, NULL);
  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->out, ==, expected_line);

  requests = dup_requests (fixture);
  g_assert_cmpuint (requests->len, >, 0);
  for (guint i = 0; i < requests->len; i++)
    g_assert_true (json_object_get_boolean_member (g_ptr_array_index (requests, i), "authorized"));

  sq_token_store_clear_async (NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_token_store_clear_finish (sq_test_wait_result (&result), &error));
  g_assert_no_error (error);

  cleared = run_squint_with_token (fixture, NULL, "ask", "-m", "llava-13b", "-i", fixture->small_png, prompt, NULL);
  g_assert_cmpint (cleared->status, ==, 3);
}

static void
test_ask_bad_base_url (Fixture       *fixture,
                       gconstpointer  data)
{
  /* The URL, and what the message must name. */
  const char *urls[][2] = {
    { "ftp://127.0.0.1:1", "ftp://127.0.0.1:1" },
    { "http://example.com", "example.com" },
    { "not a url", "not a url" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr(Run) run = NULL;

      fixture->base_url = urls[i][0];
      run = run_squint (fixture, "ask", "-m", "llava-13b", "-i", fixture->small_png, "hello");
      g_assert_cmpint (run->status, ==, 3);
      g_assert_nonnull (strstr (run->err, urls[i][1]));
      g_assert_cmpstr (run->out, ==, "");
    }

  g_assert_cmpuint (count_all_requests (fixture), ==, 0);
}

static void
test_ask_wrong_token (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(Run) run = run_squint_with_token (fixture, "r8_wrong-token-for-squint-tests",
                                              "ask", "-m", "llava-13b", "-i", fixture->small_png,
                                              "hello", NULL);

  g_assert_cmpint (run->status, ==, 3);
  g_assert_cmpstr (run->out, ==, "");
  g_assert_nonnull (strstr (run->err, "token"));
  g_assert_cmpuint (count_all_requests (fixture), >, 0);
}

static void
test_ask_usage_errors (Fixture       *fixture,
                       gconstpointer  data)
{
  /* @IMG@ is a good image, @TEXT@ a text file named like an image. */
  const struct {
    const char *args[12];
    const char *message;
  } cases[] = {
    { { "ask", "-m", "gpt-5-vision", "-i", "@IMG@", "hi", NULL }, "gpt-5-vision" },
    { { "ask", "-m", "llava-13b", "-i", "@IMG@", "-p", "temperature", "hi", NULL }, "KEY=VALUE" },
    { { "ask", "-m", "llava-13b", "-i", "@IMG@", "-p", "=3", "hi", NULL }, "KEY=VALUE" },
    { { "ask", "-m", "llava-13b", "-i", "@IMG@", "-p", "num_beams=2", "hi", NULL }, "num_beams" },
    { { "ask", "-m", "llava-13b", "-i", "@IMG@", "-p", "no_such_key=2", "hi", NULL }, "no_such_key" },
    { { "ask", "-m", "fuyu-8b", "-m", "llava-13b", "-i", "@IMG@", "-p", "max_new_tokens=5000", "hi", NULL }, "fuyu-8b" },
    { { "ask", "-m", "llava-13b", "-i", "@IMG@", "-p", "temperature=hot", "hi", NULL }, "temperature" },
    { { "ask", "-m", "llava-13b", "-i", "@IMG@", "-p", "prompt=x", "hi", NULL }, "prompt" },
    { { "ask", "-m", "llava-13b", "hi", NULL }, "-i" },
    { { "ask", "-m", "llava-13b", "-i", "@IMG@", NULL }, "prompt" },
    { { "ask", "-m", "llava-13b", "-i", "/nonexistent/cat.png", "hi", NULL }, "cat.png" },
    { { "ask", "-m", "llava-13b", "-i", "@TEXT@", "hi", NULL }, "notes.png" },
    { { "ask", "--bogus-option", "-i", "@IMG@", "hi", NULL }, "bogus-option" },
    { { "ask", "--token", "r8_wrong0000", "-i", "@IMG@", "hi", NULL }, "token" },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GSubprocess) process = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      const char *args[G_N_ELEMENTS (cases[c].args)] = { NULL };

      for (guint a = 0; cases[c].args[a] != NULL; a++)
        {
          if (g_str_equal (cases[c].args[a], "@IMG@"))
            args[a] = fixture->small_png;
          else if (g_str_equal (cases[c].args[a], "@TEXT@"))
            args[a] = fixture->text_file;
          else
            args[a] = cases[c].args[a];
        }

      process = spawn_squint (fixture, SQ_FAKE_REPLICATE_TOKEN, args);
      g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
      g_assert_no_error (error);
      g_test_message ("case %u: exit %d, stderr: %s", c, sq_test_process_status (process), err);

      g_assert_cmpint (sq_test_process_status (process), ==, 2);
      g_assert_nonnull (strstr (err, cases[c].message));
      assert_no_token (out);
      assert_clean_stderr (err);
      g_assert_cmpuint (count_all_requests (fixture), ==, 0);
    }
}


/* Writes @contents as the settings squint reads (keyfile backend). */
static void
write_settings (Fixture    *fixture,
                const char *contents)
{
  g_autofree char *dir = g_build_filename (fixture->tmpdir, "config", "glib-2.0", "settings", NULL);
  g_autofree char *path = g_build_filename (dir, "keyfile", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  fixture->keyfile_settings = TRUE;
}

static gboolean
have_settings_schema (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, "io.github.squintapp.Squint", TRUE);

  return schema != NULL;
}

/* Parses JSON Lines into objects. (element-type JsonObject) */
static GPtrArray *
parse_json_lines (const char *text)
{
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_auto(GStrv) lines = split_lines (text);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;

      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      g_ptr_array_add (objects, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
    }

  return objects;
}

static JsonObject *
find_answer (GPtrArray  *answers,
             const char *model)
{
  for (guint i = 0; i < answers->len; i++)
    {
      JsonObject *answer = g_ptr_array_index (answers, i);

      if (g_strcmp0 (json_object_get_string_member (answer, "model"), model) == 0)
        return answer;
    }

  return NULL;
}

static void
test_ask_default_models (Fixture       *fixture,
                         gconstpointer  data)
{
  /* Without -m: the selected-models setting, else llava-13b. */
  g_autoptr(Run) run = run_squint (fixture, "ask", "--json", "-i", fixture->small_png, "hi");
  g_autoptr(GPtrArray) answers = parse_json_lines (run->out);

  g_assert_cmpint (run->status, ==, 0);

  if (have_settings_schema ())
    {
      g_autoptr(GSettings) settings = g_settings_new ("io.github.squintapp.Squint");
      g_auto(GStrv) selected = g_settings_get_strv (settings, "selected-models");

      g_assert_cmpuint (answers->len, ==, g_strv_length (selected));
      for (guint i = 0; selected[i] != NULL; i++)
        g_assert_nonnull (find_answer (answers, selected[i]));
    }
  else
    {
      g_assert_cmpuint (answers->len, ==, 1);
      g_assert_nonnull (find_answer (answers, "llava-13b"));
    }
}

static void
test_ask_settings (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(Run) defaults = NULL;
  g_autoptr(Run) explicit = NULL;
  g_autoptr(GPtrArray) answers = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GPtrArray) seen = g_ptr_array_new ();
  JsonObject *llava, *minigpt;

  if (!have_settings_schema ())
    {
      g_test_skip ("The settings schema is not compiled in the build directory");
      return;
    }

  write_settings (fixture,
                  "[io/github/squintapp/Squint]\n"
                  "selected-models=['llava-13b', 'minigpt-4']\n"
                  "override-temperature=true\n"
                  "temperature=0.5\n"
                  "override-max-new-tokens=true\n"
                  "max-new-tokens=64\n");

  defaults = run_squint (fixture, "ask", "--json", "-i", fixture->small_png, "hi");
  g_assert_cmpint (defaults->status, ==, 0);
  answers = parse_json_lines (defaults->out);
  g_assert_cmpuint (answers->len, ==, 2);
  g_assert_nonnull (find_answer (answers, "llava-13b"));
  g_assert_nonnull (find_answer (answers, "minigpt-4"));

  /* -p wins over the saved defaults. */
  explicit = run_squint (fixture, "ask", "--json", "-i", fixture->small_png, "-p", "temperature=0.7", "hi");
  g_assert_cmpint (explicit->status, ==, 0);

  requests = dup_requests (fixture);

  llava = find_request_input (requests, "e272157381e2", seen);
  minigpt = find_request_input (requests, "b96a2f33cc8e", seen);
  g_assert_nonnull (llava);
  g_assert_nonnull (minigpt);
  g_assert_cmpfloat (json_object_get_double_member (llava, "temperature"), ==, 0.5);
  g_assert_cmpint (json_object_get_int_member (llava, "max_tokens"), ==, 64);
  g_assert_cmpfloat (json_object_get_double_member (minigpt, "temperature"), ==, 0.5);
  g_assert_cmpint (json_object_get_int_member (minigpt, "max_new_tokens"), ==, 64);

  llava = find_request_input (requests, "e272157381e2", seen);
  minigpt = find_request_input (requests, "b96a2f33cc8e", seen);
  g_assert_nonnull (llava);
  g_assert_nonnull (minigpt);
  g_assert_cmpfloat (json_object_get_double_member (llava, "temperature"), ==, 0.7);
  g_assert_cmpint (json_object_get_int_member (llava, "max_tokens"), ==, 64);
  g_assert_cmpfloat (json_object_get_double_member (minigpt, "temperature"), ==, 0.7);
}

static void
test_ask_other_models (Fixture       *fixture,
                       gconstpointer  data)
{
  const char *prompt = "Count the squares";
  g_autoptr(Run) run = run_squint (fixture, "ask", "--json", "-m", "zsxkib/molmo-7b", "-m", "openai/gpt-4o-mini",
                                   "-i", fixture->small_png, "-p", "max_new_tokens=50", prompt);
  g_autoptr(GPtrArray) answers = parse_json_lines (run->out);
  g_autofree char *molmo_expected = expected_answer (fixture, "zsxkib/molmo-7b", fixture->small_sha, prompt);
  g_autofree char *gpt_expected = expected_answer (fixture, "openai/gpt-4o-mini", fixture->small_sha, prompt);
  g_autoptr(Run) models = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *molmo, *gpt;
  JsonArray *list;
  gboolean listed = FALSE;

  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpuint (answers->len, ==, 2);
  molmo = find_answer (answers, "zsxkib/molmo-7b");
  gpt = find_answer (answers, "openai/gpt-4o-mini");
  g_assert_nonnull (molmo);
  g_assert_nonnull (gpt);
  g_assert_cmpstr (json_object_get_string_member (molmo, "response"), ==, molmo_expected);
  g_assert_cmpstr (json_object_get_string_member (gpt, "response"), ==, gpt_expected);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (molmo, "model_ref"), "zsxkib/molmo-7b:"));
  g_assert_cmpstr (json_object_get_string_member (gpt, "model_ref"), ==, "openai/gpt-4o-mini");
  /* The official model goes through its own endpoint. */
  g_assert_cmpuint (count_requests (fixture, "POST", "/v1/models/openai/gpt-4o-mini/predictions", NULL), ==, 1);

  if (!have_settings_schema ())
    return;

  /* A custom model whose schema squint has seen is listed offline. */
  write_settings (fixture,
                  "[io/github/squintapp/Squint]\n"
                  "custom-models=['zsxkib/molmo-7b', 'acme/never-seen']\n");
  models = run_squint_with_token (fixture, NULL, "models", "--json", NULL);
  g_assert_cmpint (models->status, ==, 0);
  json_parser_load_from_data (parser, models->out, -1, &error);
  g_assert_no_error (error);
  list = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *model = json_array_get_object_element (list, i);
      const char *ref = json_object_get_string_member (model, "ref");

      if (g_str_has_prefix (ref, "zsxkib/molmo-7b"))
        {
          g_assert_cmpstr (json_object_get_string_member (model, "prompt_key"), ==, "text");
          g_assert_nonnull (find_param (model, "top_k"));
          listed = TRUE;
        }
      else if (g_str_equal (ref, "acme/never-seen"))
        {
          g_assert_nonnull (json_object_get_string_member (model, "error"));
        }
    }
  g_assert_true (listed);
}

static void
test_ask_remote_model_errors (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(Run) missing = run_squint (fixture, "ask", "-m", "acme/no-such-model", "-i", fixture->small_png, "hi");
  g_autoptr(Run) text_only = run_squint (fixture, "ask", "-m", "acme/text-only", "-i", fixture->small_png, "hi");

  g_assert_cmpint (missing->status, ==, 2);
  g_assert_nonnull (strstr (missing->err, "acme/no-such-model"));
  g_assert_cmpint (text_only->status, ==, 2);
  g_assert_nonnull (strstr (text_only->err, "acme/text-only"));
  g_assert_cmpuint (count_predictions (fixture), ==, 0);
}

/* A loopback web server for images given as URLs, on its own thread. */
typedef struct
{
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *server;
  GThread      *thread;
  GBytes       *png;
  char         *origin;
} ImageServer;

static void
image_server_cb (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  ImageServer *self = user_data;

  if (g_str_equal (path, "/cat.png"))
    {
      soup_server_message_set_status (msg, 200, NULL);
      soup_server_message_set_response (msg, "image/png", SOUP_MEMORY_COPY,
                                        g_bytes_get_data (self->png, NULL), g_bytes_get_size (self->png));
    }
  else
    {
      soup_server_message_set_status (msg, 404, NULL);
    }
}

static gpointer
image_server_thread (gpointer user_data)
{
  ImageServer *self = user_data;

  g_main_context_push_thread_default (self->context);
  g_main_loop_run (self->loop);

  /* Tear the server down in its own context, and let it finish. */
  soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  while (g_main_context_iteration (self->context, FALSE))
    ;
  g_main_context_pop_thread_default (self->context);

  return NULL;
}

static ImageServer *
image_server_new (const char *png_path)
{
  ImageServer *self = g_new0 (ImageServer, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  g_file_get_contents (png_path, &contents, &len, &error);
  g_assert_no_error (error);
  self->png = g_bytes_new_take (g_steal_pointer (&contents), len);

  self->context = g_main_context_new ();
  self->loop = g_main_loop_new (self->context, FALSE);

  g_main_context_push_thread_default (self->context);
  self->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (self->server, NULL, image_server_cb, self, NULL);
  self->origin = sq_test_server_listen_local (self->server);
  g_main_context_pop_thread_default (self->context);

  self->thread = g_thread_new ("image-server", image_server_thread, self);

  return self;
}

static gboolean
quit_loop_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
image_server_free (ImageServer *self)
{
  g_main_context_invoke (self->context, quit_loop_cb, self->loop);
  g_thread_join (self->thread);
  g_main_loop_unref (self->loop);
  g_main_context_unref (self->context);
  g_bytes_unref (self->png);
  g_free (self->origin);
  g_free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ImageServer, image_server_free)

static void
test_ask_image_url (Fixture       *fixture,
                    gconstpointer  data)
{
  const char *prompt = "Where was this taken?";
  g_autoptr(ImageServer) server = image_server_new (fixture->small_png);
  g_autofree char *url = g_strconcat (server->origin, "/cat.png", NULL);
  g_autofree char *missing_url = g_strconcat (server->origin, "/gone.png", NULL);
  g_autofree char *expected = expected_answer (fixture, LLAVA, fixture->small_sha, prompt);
  g_autofree char *expected_line = g_strconcat (expected, "\n", NULL);
  g_autoptr(Run) run = run_squint (fixture, "ask", "-m", "llava-13b", "-i", url, prompt);
  g_autoptr(Run) missing = run_squint (fixture, "ask", "-m", "llava-13b", "-i", missing_url, prompt);

  g_assert_cmpint (run->status, ==, 0);
  g_assert_cmpstr (run->out, ==, expected_line);

  /* An image that cannot be fetched is a usage error, found before anything is sent. */
  g_assert_cmpint (missing->status, ==, 2);
  g_assert_nonnull (strstr (missing->err, "gone.png"));
  g_assert_cmpuint (count_predictions (fixture), ==, 1);
}

static void
test_ask_interrupt (Fixture       *fixture,
                    gconstpointer  data)
{
  const char *prompt = "[[slow]] tell me everything";
  const char *args[] = { "ask", "-m", "llava-13b", "-i", NULL, prompt, NULL };
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  GInputStream *stdout_pipe;
  char buf[256];
  gssize n;

  /* Long enough that it is still streaming when the signal arrives. */
  sq_fake_replicate_set_answer_tokens (fixture->oracle, 2000);
  expected = expected_answer (fixture, LLAVA, fixture->small_sha, prompt);

  args[4] = fixture->small_png;
  process = spawn_squint (fixture, SQ_FAKE_REPLICATE_TOKEN, args);
  stdout_pipe = g_subprocess_get_stdout_pipe (process);

  /* Wait for the first streamed text: by then the prediction exists. */
  n = g_input_stream_read (stdout_pipe, buf, sizeof buf, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, >, 0);
  g_string_append_len (out, buf, n);

  g_subprocess_send_signal (process, SIGINT);

  g_subprocess_communicate_utf8 (process, NULL, NULL, &rest, &err, &error);
  g_assert_no_error (error);
  g_string_append (out, rest);
  g_test_message ("exit %d, stdout: %s\nstderr: %s", sq_test_process_status (process), out->str, err);

  g_assert_cmpint (sq_test_process_status (process), ==, 130);
  assert_no_token (out->str);
  assert_clean_stderr (err);

  /* The partial answer was printed, with its newline. */
  g_assert_true (g_str_has_suffix (out->str, "\n"));
  g_string_truncate (out, out->len - 1);
  g_assert_cmpuint (out->len, >, 0);
  g_assert_cmpuint (out->len, <, strlen (expected));
  g_assert_true (g_str_has_prefix (expected, out->str));

  /* And the prediction was canceled on Replicate. */
  g_assert_cmpuint (count_predictions (fixture), ==, 1);
  g_assert_cmpuint (count_requests (fixture, "POST", "/v1/predictions/", "/cancel"), ==, 1);
}

static const char * const fake_create_429[] = { "--create-429", "2", "--retry-after", "0", NULL };
static const char * const fake_long_answers[] = { "--answer-tokens", "2000", NULL };

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *keyring_dir = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  /* Never the user's keyring: a file one, for squint and for this process. */
  keyring_dir = g_dir_make_tmp ("squint-test-cli-keyring-XXXXXX", &error);
  g_assert_no_error (error);
  keyring_path = g_build_filename (keyring_dir, "keyring", NULL);
  sq_test_use_file_keyring (keyring_path);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
#define ADD_WITH_FAKE_ARGS(path, func, args) \
  g_test_add (path, Fixture, args, fixture_setup, func, fixture_teardown)

  ADD ("/cli/help", test_help);
  ADD ("/cli/models/table", test_models_table);
  ADD ("/cli/models/json", test_models_json);
  ADD ("/cli/ask/single-streams", test_ask_single);
  ADD ("/cli/ask/grid-json", test_ask_grid_json);
  ADD ("/cli/ask/grid-plain", test_ask_grid_plain);
  ADD ("/cli/ask/fail", test_ask_fail);
  ADD ("/cli/ask/drop", test_ask_drop);
  ADD ("/cli/ask/canceled-remotely", test_ask_canceled_remotely);
  ADD_WITH_FAKE_ARGS ("/cli/ask/rate-limited", test_ask_rate_limited, fake_create_429);
  ADD ("/cli/ask/no-token", test_ask_no_token);
  ADD ("/cli/ask/keyring-token", test_ask_keyring_token);
  ADD ("/cli/ask/bad-base-url", test_ask_bad_base_url);
  ADD ("/cli/ask/wrong-token", test_ask_wrong_token);
  ADD ("/cli/ask/usage-errors", test_ask_usage_errors);
  ADD ("/cli/ask/default-models", test_ask_default_models);
  ADD ("/cli/ask/settings", test_ask_settings);
  ADD ("/cli/ask/other-models", test_ask_other_models);
  ADD ("/cli/ask/remote-model-errors", test_ask_remote_model_errors);
  ADD ("/cli/ask/image-url", test_ask_image_url);
  ADD_WITH_FAKE_ARGS ("/cli/ask/interrupt", test_ask_interrupt, fake_long_answers);

#undef ADD
#undef ADD_WITH_FAKE_ARGS

  status = g_test_run ();

  g_unlink (keyring_path);
  g_rmdir (keyring_dir);
  g_free (keyring_path);

  return status;
}
