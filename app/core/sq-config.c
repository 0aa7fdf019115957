/* sq-config.c
 *
 * The token lives in the keyring (libsecret) or in REPLICATE_API_TOKEN and
 * nowhere else: it is never logged, never put in GSettings, never written
 * to a file by Squint.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-config"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>
#include <string.h>

#include "sq-config.h"
#include "sq-error.h"
#include "sq-replicate-client.h"

#define DEFAULT_CONCURRENCY 4
#define MAX_CONCURRENCY     32

#define TOKEN_ATTRIBUTE     "service"
#define TOKEN_SERVICE       "replicate"

static const SecretSchema *
sq_token_store_get_schema (void)
{
  static const SecretSchema schema = {
    "io.github.squintapp.Squint.Token", SECRET_SCHEMA_NONE,
    {
      { TOKEN_ATTRIBUTE, SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    }
  };

  return &schema;
}

GSettings *
sq_config_new_settings (void)
{
  GSettingsSchemaSource *source;
  g_autoptr(GSettingsSchema) schema = NULL;

  source = g_settings_schema_source_get_default ();
  if (source == NULL)
    return NULL;

  schema = g_settings_schema_source_lookup (source, SQ_SETTINGS_SCHEMA_ID, TRUE);
  if (schema == NULL)
    return NULL;

  return g_settings_new_full (schema, NULL, NULL);
}

const char *
sq_config_get_env_token (void)
{
  const char *token = g_getenv ("REPLICATE_API_TOKEN");

  if (token == NULL || token[0] == '\0')
    return NULL;

  return token;
}

char *
sq_config_dup_base_url (void)
{
  g_autoptr(GSettings) settings = NULL;
  g_autofree char *url = NULL;
  const char *env = g_getenv ("REPLICATE_BASE_URL");

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);

  settings = sq_config_new_settings ();
  if (settings == NULL)
    return NULL;

  url = g_settings_get_string (settings, "base-url");
  g_strstrip (url);
  if (url[0] == '\0')
    return NULL;

  return g_steal_pointer (&url);
}

guint
sq_config_get_concurrency (void)
{
  g_autoptr(GSettings) settings = sq_config_new_settings ();

  if (settings == NULL)
    return DEFAULT_CONCURRENCY;

  return CLAMP (g_settings_get_int (settings, "concurrency"), 1, MAX_CONCURRENCY);
}

static gboolean
host_is_loopback (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;

  address = g_inet_address_new_from_string (host);

  return address != NULL && g_inet_address_get_is_loopback (address);
}

gboolean
sq_config_check_base_url (const char  *base_url,
                          GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *scheme;
  const char *host;
  const char *path;

  if (base_url == NULL || base_url[0] == '\0')
    return TRUE;

  uri = g_uri_parse (base_url, G_URI_FLAGS_NONE, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                   _("The API base URL “%s” is not a valid URL"), base_url);
      return FALSE;
    }

  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);
  path = g_uri_get_path (uri);

  if (host == NULL || host[0] == '\0')
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                   _("The API base URL “%s” has no host name"), base_url);
      return FALSE;
    }

  if (g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL ||
      g_uri_get_userinfo (uri) != NULL ||
      (path[0] != '\0' && strcmp (path, "/") != 0 &&
       strcmp (path, "/v1") != 0 && strcmp (path, "/v1/") != 0))
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                   _("The API base URL “%s” must be only a scheme, a host and a port, like https://api.replicate.com"),
                   base_url);
      return FALSE;
    }

  if (g_ascii_strcasecmp (scheme, "https") == 0)
    return TRUE;

  if (g_ascii_strcasecmp (scheme, "http") == 0)
    {
      if (host_is_loopback (host))
        return TRUE;

      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_INSECURE,
                   _("The API base URL “%s” uses plain HTTP, which would send the API token unencrypted; use https://, or http:// only for this computer"),
                   base_url);
      return FALSE;
    }

  g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
               _("The API base URL “%s” must start with https://"), base_url);
  return FALSE;
}

/* Token lookup: environment, then keyring */

typedef struct
{
  char          *token;
  SqTokenSource  source;
} TokenResult;

static void
token_result_free (gpointer data)
{
  TokenResult *result = data;

  if (result->token != NULL)
    {
      /* Do not leave the token lying around in freed memory. */
      memset (result->token, 0, strlen (result->token));
      g_free (result->token);
    }
  g_free (result);
}

static char *
take_password (char *password)
{
  char *copy;

  if (password == NULL)
    return NULL;

  copy = g_strdup (password);
  secret_password_free (password);

  return copy;
}

static void
lookup_token_keyring_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  TokenResult *token_result;
  char *token;

  token = sq_token_store_lookup_finish (result, &error);
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  token_result = g_new0 (TokenResult, 1);
  token_result->token = token;
  token_result->source = token != NULL ? SQ_TOKEN_SOURCE_KEYRING : SQ_TOKEN_SOURCE_NONE;
  g_task_return_pointer (task, token_result, token_result_free);
}

void
sq_config_lookup_token_async (GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  const char *env_token;

  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_config_lookup_token_async);

  env_token = sq_config_get_env_token ();
  if (env_token != NULL)
    {
      TokenResult *token_result = g_new0 (TokenResult, 1);

      token_result->token = g_strdup (env_token);
      token_result->source = SQ_TOKEN_SOURCE_ENVIRONMENT;
      g_task_return_pointer (task, token_result, token_result_free);
      return;
    }

  sq_token_store_lookup_async (cancellable,
                               lookup_token_keyring_cb,
                               g_steal_pointer (&task));
}

char *
sq_config_lookup_token_finish (GAsyncResult  *result,
                               SqTokenSource *source,
                               GError       **error)
{
  TokenResult *token_result;
  char *token;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_config_lookup_token_async, NULL);

  if (source != NULL)
    *source = SQ_TOKEN_SOURCE_NONE;

  token_result = g_task_propagate_pointer (G_TASK (result), error);
  if (token_result == NULL)
    return NULL;

  if (source != NULL)
    *source = token_result->source;
  token = g_steal_pointer (&token_result->token);
  token_result_free (token_result);

  return token;
}

/* The keyring */

static void
token_store_lookup_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  char *password;

  password = take_password (secret_password_lookup_finish (result, &error));
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (error != NULL)
    {
      g_task_return_new_error (task, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                               _("Could not read the API token from the keyring: %s"),
                               error->message);
      return;
    }

  if (password != NULL && password[0] == '\0')
    g_clear_pointer (&password, g_free);

  g_task_return_pointer (task, password, g_free);
}

void
sq_token_store_lookup_async (GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_token_store_lookup_async);

  secret_password_lookup (sq_token_store_get_schema (), cancellable,
                          token_store_lookup_cb, g_steal_pointer (&task),
                          TOKEN_ATTRIBUTE, TOKEN_SERVICE,
                          NULL);
}

char *
sq_token_store_lookup_finish (GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_token_store_lookup_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
token_store_save_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  if (!secret_password_store_finish (result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                                 _("Could not save the API token in the keyring: %s"),
                                 error->message);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

void
sq_token_store_save_async (const char          *token,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *stripped = NULL;

  g_return_if_fail (token != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_token_store_save_async);

  stripped = g_strstrip (g_strdup (token));
  if (stripped[0] == '\0')
    {
      g_task_return_new_error (task, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                               _("The API token is empty"));
      return;
    }

  /* Translators: the label of the API token in the keyring (e.g. Passwords and Keys) */
  secret_password_store (sq_token_store_get_schema (), SECRET_COLLECTION_DEFAULT,
                         _("Replicate API token for Squint"), stripped,
                         cancellable, token_store_save_cb, g_steal_pointer (&task),
                         TOKEN_ATTRIBUTE, TOKEN_SERVICE,
                         NULL);

  memset (stripped, 0, strlen (stripped));
}

gboolean
sq_token_store_save_finish (GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_token_store_save_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
token_store_clear_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;

  /* FALSE without an error means there was nothing to remove. */
  if (!secret_password_clear_finish (result, &error) && error != NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                                 _("Could not remove the API token from the keyring: %s"),
                                 error->message);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

void
sq_token_store_clear_async (GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_token_store_clear_async);

  secret_password_clear (sq_token_store_get_schema (), cancellable,
                         token_store_clear_cb, g_steal_pointer (&task),
                         TOKEN_ATTRIBUTE, TOKEN_SERVICE,
                         NULL);
}

gboolean
sq_token_store_clear_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_token_store_clear_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* The client */

static void
create_client_lookup_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqReplicateClient) client = NULL;
  g_autofree char *token = NULL;
  g_autofree char *base_url = NULL;

  token = sq_config_lookup_token_finish (result, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (token == NULL)
    {
      if (error != NULL)
        g_task_return_new_error (task, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                                 _("No Replicate API token: set REPLICATE_API_TOKEN or save a token in Preferences (%s)"),
                                 error->message);
      else
        g_task_return_new_error (task, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                                 _("No Replicate API token: set REPLICATE_API_TOKEN or save a token in Preferences"));
      return;
    }

  base_url = sq_config_dup_base_url ();
  client = sq_replicate_client_new (base_url, token, &error);
  memset (token, 0, strlen (token));
  if (client == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_pointer (task, g_steal_pointer (&client), g_object_unref);
}

void
sq_config_create_client_async (GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_config_create_client_async);

  sq_config_lookup_token_async (cancellable,
                                create_client_lookup_cb,
                                g_steal_pointer (&task));
}

SqReplicateClient *
sq_config_create_client_finish (GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_config_create_client_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
