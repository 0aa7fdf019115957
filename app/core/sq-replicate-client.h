/* sq-replicate-client.h
 *
 * One SoupSession, one token, one API origin. Every request to
 * Replicate goes through here.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "sq-types.h"

G_BEGIN_DECLS

#define SQ_REPLICATE_DEFAULT_ORIGIN "https://api.replicate.com"

#define SQ_TYPE_REPLICATE_CLIENT (sq_replicate_client_get_type ())

G_DECLARE_FINAL_TYPE (SqReplicateClient, sq_replicate_client, SQ, REPLICATE_CLIENT, GObject)

/* @base_url: "scheme://host[:port]", with or without a trailing "/v1";
 * NULL means SQ_REPLICATE_DEFAULT_ORIGIN. Fails with
 * SQ_REPLICATE_ERROR_CONFIG for a malformed URL and with
 * SQ_REPLICATE_ERROR_INSECURE for plain http:// off loopback.
 * @token may be NULL (requests then fail with UNAUTHORIZED from the server). */
SqReplicateClient *sq_replicate_client_new                  (const char          *base_url,
                                                             const char          *token,
                                                             GError             **error);
SqReplicateClient *sq_replicate_client_new_with_session     (SoupSession         *session,
                                                             const char          *base_url,
                                                             const char          *token,
                                                             GError             **error);
SoupSession       *sq_replicate_client_get_session          (SqReplicateClient   *self);
/* "scheme://host[:port]/v1", never with a trailing slash. */
const char        *sq_replicate_client_get_api_url          (SqReplicateClient   *self);
gboolean           sq_replicate_client_has_token            (SqReplicateClient   *self);
/* Tests shrink the retry delays; production uses the defaults. */
void               sq_replicate_client_set_retry_policy     (SqReplicateClient   *self,
                                                             guint                max_attempts,
                                                             guint                base_delay_ms,
                                                             guint                max_delay_ms);
/* Whether the token may be sent to @url: the API origin, or the origin
 * of a urls.stream the API handed out in a prediction this client read
 * (https://, or http:// on loopback). Anything else (e.g. a download
 * from replicate.delivery) gets no token. Every request carries the
 * token only when this allows it; it is never a session default. */
gboolean           sq_replicate_client_may_authorize        (SqReplicateClient   *self,
                                                             GUri                *uri);

/* Creates a prediction. @model_ref is "owner/name:version" or a bare
 * 64-hex version id (POST /v1/predictions), or "owner/name" for an
 * official model (POST /v1/models/{owner}/{name}/predictions).
 * Retried on 429 only. Resolves to the prediction JSON. */
void               sq_replicate_client_create_prediction_async   (SqReplicateClient   *self,
                                                                  const char          *model_ref,
                                                                  JsonObject          *input,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
/* POST /v1/deployments/{owner}/{name}/predictions */
void               sq_replicate_client_create_deployment_prediction_async (SqReplicateClient   *self,
                                                                           const char          *deployment,
                                                                           JsonObject          *input,
                                                                           GCancellable        *cancellable,
                                                                           GAsyncReadyCallback  callback,
                                                                           gpointer             user_data);
JsonObject        *sq_replicate_client_create_prediction_finish  (SqReplicateClient   *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);

/* @id_or_url: a prediction id, or its urls.get. Retried on 429/5xx. */
void               sq_replicate_client_get_prediction_async      (SqReplicateClient   *self,
                                                                  const char          *id_or_url,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
JsonObject        *sq_replicate_client_get_prediction_finish     (SqReplicateClient   *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);

/* @id_or_url: a prediction id, or its urls.cancel. */
void               sq_replicate_client_cancel_prediction_async   (SqReplicateClient   *self,
                                                                  const char          *id_or_url,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
JsonObject        *sq_replicate_client_cancel_prediction_finish  (SqReplicateClient   *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);

/* GET <stream_url> with Accept: text/event-stream (and Last-Event-ID
 * when @last_event_id is set). Resolves to the body stream once a 200
 * with Content-Type text/event-stream arrived; anything else fails with
 * the server's detail. The stream has no read timeout. */
void               sq_replicate_client_open_stream_async         (SqReplicateClient   *self,
                                                                  const char          *stream_url,
                                                                  const char          *last_event_id,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
GInputStream      *sq_replicate_client_open_stream_finish        (SqReplicateClient   *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);

/* POST /v1/files (multipart, part "content"). Resolves to the file
 * object JSON; its urls.get is what goes into a prediction's input. */
void               sq_replicate_client_upload_file_async         (SqReplicateClient   *self,
                                                                  GBytes              *content,
                                                                  const char          *filename,
                                                                  const char          *content_type,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
JsonObject        *sq_replicate_client_upload_file_finish        (SqReplicateClient   *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);

/* GET /v1/models/{owner}/{name} (with latest_version.openapi_schema). */
void               sq_replicate_client_get_model_async           (SqReplicateClient   *self,
                                                                  const char          *owner,
                                                                  const char          *name,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
JsonObject        *sq_replicate_client_get_model_finish          (SqReplicateClient   *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);

/* GET /v1/models/{owner}/{name}/versions/{version}. */
void               sq_replicate_client_get_model_version_async   (SqReplicateClient   *self,
                                                                  const char          *owner,
                                                                  const char          *name,
                                                                  const char          *version,
                                                                  GCancellable        *cancellable,
                                                                  GAsyncReadyCallback  callback,
                                                                  gpointer             user_data);
JsonObject        *sq_replicate_client_get_model_version_finish  (SqReplicateClient   *self,
                                                                  GAsyncResult        *result,
                                                                  GError             **error);

G_END_DECLS
