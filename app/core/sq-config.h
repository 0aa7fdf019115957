/* sq-config.h
 *
 * Where Squint's configuration comes from, shared by the window and the
 * command line: the API token (REPLICATE_API_TOKEN, else the keyring via
 * libsecret), the base URL (REPLICATE_BASE_URL, else the "base-url"
 * setting, else Replicate), and the settings schema.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sq-types.h"

G_BEGIN_DECLS

#define SQ_SETTINGS_SCHEMA_ID "io.github.squintapp.Squint"

typedef enum
{
  SQ_TOKEN_SOURCE_NONE,
  SQ_TOKEN_SOURCE_ENVIRONMENT,
  SQ_TOKEN_SOURCE_KEYRING,
} SqTokenSource;

/* A new GSettings for Squint's schema, or NULL when the schema is not
 * installed (then callers use the documented defaults). (transfer full) */
GSettings  *sq_config_new_settings          (void);
/* REPLICATE_API_TOKEN when set and not empty, else NULL. */
const char *sq_config_get_env_token         (void);
/* REPLICATE_BASE_URL when set, else the "base-url" setting when not
 * empty, else NULL (meaning Replicate itself). (transfer full) */
char       *sq_config_dup_base_url          (void);
/* The concurrency limit from settings (default 4). */
guint       sq_config_get_concurrency       (void);
/* Whether @base_url may be used as the API origin: empty or NULL (meaning
 * Replicate), https://host[:port][/v1], or http:// on a loopback host.
 * Fails with SQ_REPLICATE_ERROR_CONFIG or SQ_REPLICATE_ERROR_INSECURE and
 * a message meant for a person. */
gboolean    sq_config_check_base_url        (const char          *base_url,
                                             GError             **error);

/* The token: from the environment, else looked up in the keyring. The
 * result is NULL (no error) when there is none. */
void        sq_config_lookup_token_async    (GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
char       *sq_config_lookup_token_finish   (GAsyncResult        *result,
                                             SqTokenSource       *source,
                                             GError             **error);

/* The keyring only (libsecret, schema "io.github.squintapp.Squint.Token"). */
void        sq_token_store_lookup_async     (GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
char       *sq_token_store_lookup_finish    (GAsyncResult        *result,
                                             GError             **error);
void        sq_token_store_save_async       (const char          *token,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean    sq_token_store_save_finish      (GAsyncResult        *result,
                                             GError             **error);
void        sq_token_store_clear_async      (GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
gboolean    sq_token_store_clear_finish     (GAsyncResult        *result,
                                             GError             **error);

/* Convenience for both front ends: resolves the token and the base URL
 * and makes a client. Fails with SQ_REPLICATE_ERROR_CONFIG when there is
 * no token, or the base URL is unusable. */
void               sq_config_create_client_async  (GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
SqReplicateClient *sq_config_create_client_finish (GAsyncResult        *result,
                                                   GError             **error);

G_END_DECLS
