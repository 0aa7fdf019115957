/* sq-test-util.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "sq-config.h"
#include "sq-test-util.h"

/* Waiting for an async operation ---------------------------------------- */

/* A GAsyncReadyCallback that stores a reference to @result in the
 * GAsyncResult * that @user_data points to, which must be NULL. */
void
sq_test_store_result_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  g_assert_null (*slot);
  *slot = g_object_ref (result);
}

/* Iterates the default main context until *@slot is set; returns it. */
GAsyncResult *
sq_test_wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *slot;
}

/* Files ------------------------------------------------------------------ */

/* Removes @path and, if it is a directory, everything in it; never
 * follows a symbolic link. */
void
sq_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        sq_test_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

char *
sq_test_file_sha256 (const char *path)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);

  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
}

/* Writes @data to @dir/@name; returns the path. */
char *
sq_test_write_file (const char *dir,
                    const char *name,
                    const void *data,
                    gsize       len)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);

  return path;
}

/* The environment of the test process ------------------------------------ */

/* Makes a temporary directory from @tmpl (as g_dir_make_tmp()) and makes
 * it this process's XDG data, cache and config home; returns its path.
 * Call it before anything asks GLib for those directories. */
char *
sq_test_make_xdg_tmpdir (const char *tmpl)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  g_setenv ("XDG_DATA_HOME", dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", dir, TRUE);
  g_setenv ("XDG_CONFIG_HOME", dir, TRUE);

  return dir;
}

/* Never the user's keyring: libsecret's file backend at @path, with the
 * password the squint subprocesses get from sq_test_squint_environ(). */
void
sq_test_use_file_keyring (const char *path)
{
  g_setenv ("SECRET_BACKEND", "file", TRUE);
  g_setenv ("SECRET_FILE_TEST_PATH", path, TRUE);
  g_setenv ("SECRET_FILE_TEST_PASSWORD", "test", TRUE);
}

/* The token in the keyring, as squint looks it up, or NULL. */
char *
sq_test_keyring_lookup (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *token;

  sq_token_store_lookup_async (NULL, sq_test_store_result_cb, &result);
  token = sq_token_store_lookup_finish (sq_test_wait_result (&result), &error);
  g_assert_no_error (error);

  return token;
}

/* Images ----------------------------------------------------------------- */

/* Loads @file with sq_image_load_file_async(), waiting for it. */
SqImage *
sq_test_load_image_file (GFile   *file,
                         GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_image_load_file_async (file, NULL, sq_test_store_result_cb, &result);
  return sq_image_load_finish (sq_test_wait_result (&result), error);
}

/* Loads @bytes named @name with sq_image_load_bytes_async(), waiting for it. */
SqImage *
sq_test_load_image_bytes (GBytes      *bytes,
                          const char  *name,
                          GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_image_load_bytes_async (bytes, name, NULL, sq_test_store_result_cb, &result);
  return sq_image_load_finish (sq_test_wait_result (&result), error);
}

/* @error is set, valid UTF-8, and its message names @name. */
void
sq_test_assert_message_names (const GError *error,
                              const char   *name)
{
  g_assert_nonnull (error);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  if (strstr (error->message, name) == NULL)
    g_error ("“%s” does not name “%s”", error->message, name);
}

/* A PNG of @width × @height filled with @rgba (0xRRGGBBAA). */
GBytes *
sq_test_make_filled_png (int      width,
                         int      height,
                         gboolean has_alpha,
                         guint32  rgba)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, has_alpha, 8, width, height);
  g_autoptr(GError) error = NULL;
  char *buffer = NULL;
  gsize size = 0;

  gdk_pixbuf_fill (pixbuf, rgba);
  gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "png", &error, NULL);
  g_assert_no_error (error);

  return g_bytes_new_take (buffer, size);
}

/* Loopback servers ------------------------------------------------------- */

/* Makes @server listen on a free IPv4 loopback port; returns its origin. */
char *
sq_test_server_listen_local (SoupServer *server)
{
  g_autoptr(GError) error = NULL;
  GSList *uris;
  char *origin;

  soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);

  uris = soup_server_get_uris (server);
  g_assert_nonnull (uris);
  origin = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  return origin;
}

/* The in-process fake Replicate ------------------------------------------ */

/* The fake's server threads must be inside their main loops before the
 * fake is disposed, or its shutdown can miss the quit and hang (a quit
 * that comes before g_main_loop_run() is lost). One answered request on
 * each server proves the loop runs. Forgets those requests. */
void
sq_test_wait_for_fake_servers (SqFakeReplicate *fake)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  const char *origins[] = {
    sq_fake_replicate_get_origin (fake),
    sq_fake_replicate_get_stream_origin (fake),
  };

  for (guint i = 0; i < G_N_ELEMENTS (origins); i++)
    {
      g_autofree char *url = g_strconcat (origins[i], "/v1/", NULL);
      g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
      g_autoptr(GBytes) body = soup_session_send_and_read (session, msg, NULL, NULL);

      g_assert_cmpuint (soup_message_get_status (msg), !=, 0);
    }

  sq_fake_replicate_clear_requests (fake);
}

/* Points REPLICATE_BASE_URL at @fake and sets its token as
 * REPLICATE_API_TOKEN, for code that reads its configuration. */
void
sq_test_setenv_fake (SqFakeReplicate *fake)
{
  g_setenv ("REPLICATE_BASE_URL", sq_fake_replicate_get_origin (fake), TRUE);
  g_setenv ("REPLICATE_API_TOKEN", SQ_FAKE_REPLICATE_TOKEN, TRUE);
}

const char * const sq_test_model_names[SQ_TEST_N_MODELS] = {
  "llava-13b", "fuyu-8b", "minigpt-4", "cogvlm",
};

static const char * const model_refs[SQ_TEST_N_MODELS] = {
  "yorickvp/llava-13b", "lucataco/fuyu-8b", "daanelson/minigpt-4", "naklecha/cogvlm",
};

/* The owner/name of the model shown as @display_name. */
const char *
sq_test_model_ref_for (const char *display_name)
{
  for (guint m = 0; m < G_N_ELEMENTS (sq_test_model_names); m++)
    {
      if (g_str_equal (sq_test_model_names[m], display_name))
        return model_refs[m];
    }

  g_assert_not_reached ();
}

/* How many requests the fake's streaming server has had. */
guint
sq_test_count_stream_requests (SqFakeReplicate *fake)
{
  g_autoptr(GPtrArray) requests = sq_fake_replicate_dup_requests (fake);
  guint count = 0;

  for (guint i = 0; i < requests->len; i++)
    if (((SqFakeRequest *) g_ptr_array_index (requests, i))->on_stream_server)
      count++;

  return count;
}

/* A prediction input of @prompt about the image at SQ_TEST_IMAGE_URL. */
JsonObject *
sq_test_make_input (const char *prompt)
{
  JsonObject *input = json_object_new ();

  json_object_set_string_member (input, "prompt", prompt);
  json_object_set_string_member (input, "image", SQ_TEST_IMAGE_URL);

  return input;
}

/* What the fake answers @model_ref (owner/name[:version]) for @prompt
 * about the image at SQ_TEST_IMAGE_URL. */
char *
sq_test_expected_answer (SqFakeReplicate *fake,
                         const char      *model_ref,
                         const char      *prompt)
{
  g_autofree char *model = g_strndup (model_ref, strcspn (model_ref, ":"));
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, SQ_TEST_IMAGE_URL, -1);

  return sq_fake_replicate_expected_answer (fake, model, sha, prompt);
}

/* A fake with the default token, and a client of it whose retries are
 * 6 attempts with waits from 1 ms capped at 5 ms, so that retries do not
 * slow the tests down. */
void
sq_test_fake_fixture_set_up (SqTestFakeFixture *fixture,
                             gconstpointer      data)
{
  g_autoptr(GError) error = NULL;

  fixture->fake = sq_fake_replicate_new ();
  sq_test_wait_for_fake_servers (fixture->fake);
  fixture->client = sq_replicate_client_new (sq_fake_replicate_get_origin (fixture->fake),
                                             SQ_FAKE_REPLICATE_TOKEN, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->client);
  sq_replicate_client_set_retry_policy (fixture->client, 6, 1, 5);
}

void
sq_test_fake_fixture_tear_down (SqTestFakeFixture *fixture,
                                gconstpointer      data)
{
  g_assert_finalize_object (fixture->client);
  g_clear_object (&fixture->fake);
}

/* Subprocesses ----------------------------------------------------------- */

void
sq_test_run_free (SqTestRun *run)
{
  g_free (run->out);
  g_free (run->err);
  g_free (run);
}

#ifdef __linux__
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}
#endif

/* Starts FAKE_REPLICATE_EXE logging its requests to @requests_log, with
 * the extra arguments @args (NULL-terminated, or NULL), and reads its
 * origin from its first line of output into @origin. */
GSubprocess *
sq_test_spawn_fake_replicate (const char         *requests_log,
                              const char * const *args,
                              char              **origin)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  const char *exe = g_getenv ("FAKE_REPLICATE_EXE");
  GSubprocess *process;

  if (exe == NULL)
    g_error ("FAKE_REPLICATE_EXE is not set: run this test through meson test");

  g_ptr_array_add (argv, (char *) exe);
  g_ptr_array_add (argv, (char *) "--requests-log");
  g_ptr_array_add (argv, (char *) requests_log);
  for (guint i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
#ifdef __linux__
  /* Should an assertion abort the test, the fake goes with it. */
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
#endif
  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  *origin = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*origin);
  g_assert_true (g_str_has_prefix (*origin, "http://127.0.0.1:"));

  return process;
}

/* Sends SIGTERM to *@process, if any, waits for it and clears it. */
void
sq_test_stop_process (GSubprocess **process)
{
  if (*process == NULL)
    return;

  g_subprocess_send_signal (*process, SIGTERM);
  g_subprocess_wait (*process, NULL, NULL);
  g_clear_object (process);
}

/* Every request fake-replicate logged so far to @path, none if it has
 * not written the log yet. (element-type JsonObject) */
GPtrArray *
sq_test_read_requests_log (const char *path)
{
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    {
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      return g_steal_pointer (&requests);
    }

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (lines[i][0] == '\0')
        continue;

      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      g_ptr_array_add (requests, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
    }

  return g_steal_pointer (&requests);
}

const char *
sq_test_squint_exe (void)
{
  const char *exe = g_getenv ("SQUINT_EXE");

  if (exe == NULL)
    g_error ("SQUINT_EXE is not set: run this test through meson test");

  return exe;
}

/* The environment squint runs in: its own XDG directories under @tmpdir,
 * @settings_backend for GSettings, the file keyring at @keyring_path,
 * @base_url as the API and @token as the token (each NULL: none). */
char **
sq_test_squint_environ (const char *tmpdir,
                        const char *base_url,
                        const char *token,
                        const char *settings_backend,
                        const char *keyring_path)
{
  char **env = g_get_environ ();
  g_autofree char *cache = g_build_filename (tmpdir, "cache", NULL);
  g_autofree char *data = g_build_filename (tmpdir, "data", NULL);
  g_autofree char *config = g_build_filename (tmpdir, "config", NULL);

  env = g_environ_unsetenv (env, "REPLICATE_API_TOKEN");
  env = g_environ_unsetenv (env, "REPLICATE_BASE_URL");
  if (base_url != NULL)
    env = g_environ_setenv (env, "REPLICATE_BASE_URL", base_url, TRUE);
  if (token != NULL)
    env = g_environ_setenv (env, "REPLICATE_API_TOKEN", token, TRUE);
  env = g_environ_setenv (env, "XDG_CACHE_HOME", cache, TRUE);
  env = g_environ_setenv (env, "XDG_DATA_HOME", data, TRUE);
  env = g_environ_setenv (env, "XDG_CONFIG_HOME", config, TRUE);
  env = g_environ_setenv (env, "GSETTINGS_BACKEND", settings_backend, TRUE);
  env = g_environ_setenv (env, "SECRET_BACKEND", "file", TRUE);
  env = g_environ_setenv (env, "SECRET_FILE_TEST_PATH", keyring_path, TRUE);
  env = g_environ_setenv (env, "SECRET_FILE_TEST_PASSWORD", "test", TRUE);
  env = g_environ_setenv (env, "G_MESSAGES_DEBUG", "all", TRUE);
  env = g_environ_setenv (env, "LC_ALL", "C.UTF-8", TRUE);

  return env;
}

/* Starts SQUINT_EXE with @args (NULL-terminated) in @env, its stdout and
 * stderr piped. */
GSubprocess *
sq_test_spawn_squint (const char * const *env,
                      const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE |
                                        G_SUBPROCESS_FLAGS_STDIN_INHERIT);
  g_subprocess_launcher_set_environ (launcher, (char **) env);

  g_ptr_array_add (argv, (char *) sq_test_squint_exe ());
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  return process;
}

int
sq_test_process_status (GSubprocess *process)
{
  if (g_subprocess_get_if_signaled (process))
    return 128 + g_subprocess_get_term_sig (process);

  return g_subprocess_get_exit_status (process);
}

/* Runs squint to its end; returns its status and output. */
SqTestRun *
sq_test_run_squint (const char * const *env,
                    const char * const *args)
{
  g_autoptr(GSubprocess) process = sq_test_spawn_squint (env, args);
  g_autoptr(GError) error = NULL;
  SqTestRun *run = g_new0 (SqTestRun, 1);

  g_subprocess_communicate_utf8 (process, NULL, NULL, &run->out, &run->err, &error);
  g_assert_no_error (error);
  run->status = sq_test_process_status (process);

  return run;
}
