/* test-config.c
 *
 * SqConfig: where the token and the base URL come from. libsecret runs on
 * its file backend here (SECRET_BACKEND=file), in a temporary directory.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "sq-config.h"
#include "sq-error.h"
#include "sq-replicate-client.h"
#include "sq-test-util.h"

static char *tmpdir;
static char *keyring_path;

static void
keyring_save (const char *token)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  sq_token_store_save_async (token, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_token_store_save_finish (sq_test_wait_result (&result), &error));
  g_assert_no_error (error);
}

static void
keyring_clear (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  sq_token_store_clear_async (NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_token_store_clear_finish (sq_test_wait_result (&result), &error));
  g_assert_no_error (error);
}

static char *
config_lookup (SqTokenSource *source)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *token;

  sq_config_lookup_token_async (NULL, sq_test_store_result_cb, &result);
  token = sq_config_lookup_token_finish (sq_test_wait_result (&result), source, &error);
  g_assert_no_error (error);

  return token;
}

static gboolean
file_contains (const char *path,
               const char *needle)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, NULL))
    return FALSE;

  return g_strstr_len (contents, length, needle) != NULL;
}

static void
test_token_round_trip (void)
{
  g_autofree char *token = NULL;

  g_assert_null (sq_test_keyring_lookup ());

  /* Whitespace around a pasted token is not part of it. */
  keyring_save ("  r8_RoundTripToken123\n");
  token = sq_test_keyring_lookup ();
  g_assert_cmpstr (token, ==, "r8_RoundTripToken123");
  g_clear_pointer (&token, g_free);

  /* Saving again replaces the token. */
  keyring_save ("r8_SecondToken456");
  token = sq_test_keyring_lookup ();
  g_assert_cmpstr (token, ==, "r8_SecondToken456");
  g_clear_pointer (&token, g_free);

  /* The keyring file is encrypted: the token is not in it in clear. */
  g_assert_true (g_file_test (keyring_path, G_FILE_TEST_EXISTS));
  g_assert_false (file_contains (keyring_path, "r8_SecondToken456"));

  keyring_clear ();
  g_assert_null (sq_test_keyring_lookup ());

  /* Clearing when there is nothing stored is not an error. */
  keyring_clear ();
}

static void
test_token_empty (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  sq_token_store_save_async ("   ", NULL, sq_test_store_result_cb, &result);
  g_assert_false (sq_token_store_save_finish (sq_test_wait_result (&result), &error));
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG);
  g_assert_null (sq_test_keyring_lookup ());
}

static void
test_token_env_precedence (void)
{
  g_autofree char *token = NULL;
  SqTokenSource source = SQ_TOKEN_SOURCE_KEYRING;

  g_assert_null (config_lookup (&source));
  g_assert_cmpint (source, ==, SQ_TOKEN_SOURCE_NONE);

  keyring_save ("r8_FromKeyring");
  token = config_lookup (&source);
  g_assert_cmpstr (token, ==, "r8_FromKeyring");
  g_assert_cmpint (source, ==, SQ_TOKEN_SOURCE_KEYRING);
  g_clear_pointer (&token, g_free);

  g_setenv ("REPLICATE_API_TOKEN", "r8_FromEnvironment", TRUE);
  g_assert_cmpstr (sq_config_get_env_token (), ==, "r8_FromEnvironment");
  token = config_lookup (&source);
  g_assert_cmpstr (token, ==, "r8_FromEnvironment");
  g_assert_cmpint (source, ==, SQ_TOKEN_SOURCE_ENVIRONMENT);
  g_clear_pointer (&token, g_free);

  /* An empty variable counts as unset. */
  g_setenv ("REPLICATE_API_TOKEN", "", TRUE);
  g_assert_null (sq_config_get_env_token ());
  token = config_lookup (&source);
  g_assert_cmpstr (token, ==, "r8_FromKeyring");
  g_assert_cmpint (source, ==, SQ_TOKEN_SOURCE_KEYRING);
  g_clear_pointer (&token, g_free);

  g_unsetenv ("REPLICATE_API_TOKEN");
  keyring_clear ();
}

static void
test_token_not_in_settings (void)
{
  g_autoptr(GSettings) settings = sq_config_new_settings ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_assert_nonnull (settings);

  keyring_save ("r8_NeverInSettings");

  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autoptr(GVariant) value = g_settings_get_value (settings, keys[i]);
      g_autofree char *printed = g_variant_print (value, FALSE);

      g_assert_null (strstr (printed, "r8_NeverInSettings"));
    }

  keyring_clear ();
}

static void
test_base_url_precedence (void)
{
  g_autoptr(GSettings) settings = sq_config_new_settings ();
  g_autofree char *url = NULL;

  g_assert_nonnull (settings);

  g_assert_null (sq_config_dup_base_url ());

  /* An empty or blank setting means Replicate itself. */
  g_settings_set_string (settings, "base-url", "   ");
  g_assert_null (sq_config_dup_base_url ());

  g_settings_set_string (settings, "base-url", "https://proxy.example.com ");
  url = sq_config_dup_base_url ();
  g_assert_cmpstr (url, ==, "https://proxy.example.com");
  g_clear_pointer (&url, g_free);

  g_setenv ("REPLICATE_BASE_URL", "http://127.0.0.1:8080", TRUE);
  url = sq_config_dup_base_url ();
  g_assert_cmpstr (url, ==, "http://127.0.0.1:8080");
  g_clear_pointer (&url, g_free);

  g_unsetenv ("REPLICATE_BASE_URL");
  url = sq_config_dup_base_url ();
  g_assert_cmpstr (url, ==, "https://proxy.example.com");
  g_clear_pointer (&url, g_free);

  g_settings_reset (settings, "base-url");
  g_assert_null (sq_config_dup_base_url ());
}

static void
test_base_url_check (void)
{
  static const char *good[] = {
    "", "https://api.replicate.com", "https://api.replicate.com/",
    "https://api.replicate.com/v1", "https://proxy.example.com:8443",
    "http://127.0.0.1:9000", "http://localhost:1234/v1", "http://[::1]:80",
    "HTTPS://API.REPLICATE.COM",
  };
  static const struct {
    const char *url;
    int         code;
  } bad[] = {
    { "http://api.replicate.com", SQ_REPLICATE_ERROR_INSECURE },
    { "http://192.168.1.10:8000", SQ_REPLICATE_ERROR_INSECURE },
    { "ftp://api.replicate.com", SQ_REPLICATE_ERROR_CONFIG },
    { "api.replicate.com", SQ_REPLICATE_ERROR_CONFIG },
    { "https://", SQ_REPLICATE_ERROR_CONFIG },
    { "https://api.replicate.com/v1/predictions", SQ_REPLICATE_ERROR_CONFIG },
    { "https://api.replicate.com/?token=x", SQ_REPLICATE_ERROR_CONFIG },
    { "https://user:pass@api.replicate.com", SQ_REPLICATE_ERROR_CONFIG },
    { "not a url at all", SQ_REPLICATE_ERROR_CONFIG },
  };

  g_assert_true (sq_config_check_base_url (NULL, NULL));

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("good: %s", good[i]);
      g_assert_true (sq_config_check_base_url (good[i], &error));
      g_assert_no_error (error);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("bad: %s", bad[i].url);
      g_assert_false (sq_config_check_base_url (bad[i].url, &error));
      g_assert_error (error, SQ_REPLICATE_ERROR, bad[i].code);
      g_assert_nonnull (strstr (error->message, bad[i].url));
    }
}

static void
test_concurrency (void)
{
  g_autoptr(GSettings) settings = sq_config_new_settings ();

  g_assert_nonnull (settings);
  g_assert_cmpuint (sq_config_get_concurrency (), ==, 4);

  g_settings_set_int (settings, "concurrency", 12);
  g_assert_cmpuint (sq_config_get_concurrency (), ==, 12);

  g_settings_reset (settings, "concurrency");
  g_assert_cmpuint (sq_config_get_concurrency (), ==, 4);
}

static void
test_schema_defaults (void)
{
  g_autoptr(GSettings) settings = sq_config_new_settings ();
  g_auto(GStrv) models = NULL;
  g_autofree char *base_url = NULL;

  g_assert_nonnull (settings);

  models = g_settings_get_strv (settings, "selected-models");
  g_assert_cmpuint (g_strv_length (models), ==, 4);
  g_assert_cmpstr (models[0], ==, "llava-13b");
  g_assert_cmpstr (models[1], ==, "fuyu-8b");
  g_assert_cmpstr (models[2], ==, "minigpt-4");
  g_assert_cmpstr (models[3], ==, "cogvlm");
  g_assert_false (g_settings_get_boolean (settings, "override-temperature"));
  base_url = g_settings_get_string (settings, "base-url");
  g_assert_cmpstr (base_url, ==, "");
}

static void
test_create_client_no_token (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqReplicateClient) client = NULL;

  sq_config_create_client_async (NULL, sq_test_store_result_cb, &result);
  client = sq_config_create_client_finish (sq_test_wait_result (&result), &error);
  g_assert_null (client);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "REPLICATE_API_TOKEN"));
}

static void
test_create_client (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqReplicateClient) client = NULL;

  keyring_save ("r8_ClientToken");
  g_setenv ("REPLICATE_BASE_URL", "http://127.0.0.1:9", TRUE);

  sq_config_create_client_async (NULL, sq_test_store_result_cb, &result);
  client = sq_config_create_client_finish (sq_test_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (client);
  g_assert_true (sq_replicate_client_has_token (client));
  g_assert_cmpstr (sq_replicate_client_get_api_url (client), ==, "http://127.0.0.1:9/v1");
  g_clear_object (&client);
  g_clear_object (&result);

  /* A base URL that would send the token in clear is refused. */
  g_setenv ("REPLICATE_BASE_URL", "http://api.example.com", TRUE);
  sq_config_create_client_async (NULL, sq_test_store_result_cb, &result);
  client = sq_config_create_client_finish (sq_test_wait_result (&result), &error);
  g_assert_null (client);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_INSECURE);

  g_unsetenv ("REPLICATE_BASE_URL");
  keyring_clear ();
}

static void
test_cancelled (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *token;

  g_cancellable_cancel (cancellable);
  sq_token_store_lookup_async (cancellable, sq_test_store_result_cb, &result);
  token = sq_token_store_lookup_finish (sq_test_wait_result (&result), &error);
  g_assert_null (token);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  /* libsecret's file backend, in a directory of our own, set up before
   * anything touches libsecret. */
  tmpdir = g_dir_make_tmp ("squint-test-config-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  keyring_path = g_build_filename (tmpdir, "keyring", NULL);
  sq_test_use_file_keyring (keyring_path);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  g_unsetenv ("REPLICATE_API_TOKEN");
  g_unsetenv ("REPLICATE_BASE_URL");

  g_test_add_func ("/config/token/round-trip", test_token_round_trip);
  g_test_add_func ("/config/token/empty", test_token_empty);
  g_test_add_func ("/config/token/env-precedence", test_token_env_precedence);
  g_test_add_func ("/config/token/not-in-settings", test_token_not_in_settings);
  g_test_add_func ("/config/token/cancelled", test_cancelled);
  g_test_add_func ("/config/base-url/precedence", test_base_url_precedence);
  g_test_add_func ("/config/base-url/check", test_base_url_check);
  g_test_add_func ("/config/concurrency", test_concurrency);
  g_test_add_func ("/config/schema/defaults", test_schema_defaults);
  g_test_add_func ("/config/client/no-token", test_create_client_no_token);
  g_test_add_func ("/config/client/create", test_create_client);

  ret = g_test_run ();

  g_unlink (keyring_path);
  g_rmdir (tmpdir);
  g_free (keyring_path);
  g_free (tmpdir);

  return ret;
}
