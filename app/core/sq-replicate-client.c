/* sq-replicate-client.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-replicate-client"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "sq-error.h"
#include "sq-json.h"
#include "sq-replicate-client.h"
#include "sq-replicate-client-private.h"

#define DEFAULT_MAX_ATTEMPTS   6
#define DEFAULT_BASE_DELAY_MS  500
#define DEFAULT_MAX_DELAY_MS   30000
/* A Retry-After the server asks for is honoured up to this much even when
 * the backoff cap is lower; beyond it we would rather give up. */
#define MAX_RETRY_AFTER_MS     120000

/* Whole-request limits (connect, send, response headers and, for JSON
 * requests, the body). Streams are bounded only until their headers
 * arrive: a stream may stay quiet for a long time and that is fine. */
#define JSON_TIMEOUT_S         60
#define STREAM_TIMEOUT_S       30
#define UPLOAD_TIMEOUT_S       600
#define IDLE_TIMEOUT_S         30

#define ERROR_BODY_MAX         300

/* Not in libsoup 3.2’s SoupStatus */
#define HTTP_TOO_MANY_REQUESTS 429

struct _SqReplicateClient
{
  GObject      parent_instance;

  SoupSession *session;        /* owned */
  char        *token;          /* owned, never logged */
  char        *api_url;        /* owned: scheme://host[:port]/v1 */
  char        *api_origin;     /* owned: scheme://host:port (explicit port) */
  GHashTable  *stream_origins; /* owned: origin keys of urls.stream handed out */
  char        *user_agent;     /* owned */

  guint        max_attempts;
  guint        base_delay_ms;
  guint        max_delay_ms;
};

G_DEFINE_FINAL_TYPE (SqReplicateClient, sq_replicate_client, G_TYPE_OBJECT)

typedef enum
{
  RETRY_NEVER,
  RETRY_ON_429,
  RETRY_ON_429_AND_5XX,
} RetryMode;

typedef struct
{
  char          *method;
  char          *url;
  char          *what;            /* for messages: "the prediction", … */
  GBytes        *body;            /* JSON body, or NULL */
  SoupMultipart *multipart;       /* or a multipart body */
  char          *last_event_id;
  RetryMode      retry;
  guint          timeout_s;
  gboolean       want_stream;
  GCancellable  *wait_cancellable;

  guint          attempt;

  /* The current attempt */
  SoupMessage   *msg;
  GCancellable  *attempt_cancellable;
  gulong         chain_id;
  GSource       *timeout_source;
  gboolean       timed_out;
  GSource       *retry_source;
} Request;

static void request_start_attempt (GTask *task);

static void
request_finish_attempt (Request *req,
                        GTask   *task)
{
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (req->chain_id != 0)
    g_cancellable_disconnect (cancellable, req->chain_id);
  req->chain_id = 0;

  if (req->timeout_source != NULL)
    {
      g_source_destroy (req->timeout_source);
      g_clear_pointer (&req->timeout_source, g_source_unref);
    }

  g_clear_object (&req->attempt_cancellable);
}

static void
request_free (gpointer data)
{
  Request *req = data;

  g_assert (req->chain_id == 0);

  if (req->timeout_source != NULL)
    {
      g_source_destroy (req->timeout_source);
      g_source_unref (req->timeout_source);
    }
  if (req->retry_source != NULL)
    {
      g_source_destroy (req->retry_source);
      g_source_unref (req->retry_source);
    }

  g_clear_object (&req->msg);
  g_clear_object (&req->attempt_cancellable);
  g_clear_object (&req->wait_cancellable);
  g_clear_pointer (&req->body, g_bytes_unref);
  g_clear_pointer (&req->multipart, soup_multipart_free);
  g_free (req->method);
  g_free (req->url);
  g_free (req->what);
  g_free (req->last_event_id);
  g_free (req);
}

/* The string value of @member, or NULL when it is absent or not a string. */
static const char *
string_member (JsonObject *object,
               const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;

  return json_node_get_string (node);
}

/* URL helpers */

static gboolean
host_is_loopback (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;

  if (host == NULL)
    return FALSE;

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;

  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

static int
uri_effective_port (GUri *uri)
{
  int port = g_uri_get_port (uri);

  if (port > 0)
    return port;
  if (g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0)
    return 443;
  if (g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") == 0)
    return 80;
  return -1;
}

/* "scheme://host:port", lower-cased, with an explicit port. */
static char *
uri_origin_key (GUri *uri)
{
  g_autofree char *scheme = NULL;
  g_autofree char *host = NULL;

  if (g_uri_get_scheme (uri) == NULL || g_uri_get_host (uri) == NULL)
    return NULL;

  scheme = g_ascii_strdown (g_uri_get_scheme (uri), -1);
  host = g_ascii_strdown (g_uri_get_host (uri), -1);

  return g_strdup_printf ("%s://%s:%d", scheme, host, uri_effective_port (uri));
}

static gboolean
uri_is_secure_enough (GUri *uri)
{
  const char *scheme = g_uri_get_scheme (uri);

  if (g_ascii_strcasecmp (scheme, "https") == 0)
    return TRUE;
  return g_ascii_strcasecmp (scheme, "http") == 0 && host_is_loopback (g_uri_get_host (uri));
}

static char *
make_api_url (const char  *base_url,
              char       **origin_out,
              GError     **error)
{
  g_autofree char *stripped = NULL;
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *scheme;
  const char *host;
  const char *path;

  if (base_url == NULL || *base_url == '\0')
    base_url = SQ_REPLICATE_DEFAULT_ORIGIN;

  stripped = g_strstrip (g_strdup (base_url));

  uri = g_uri_parse (stripped, G_URI_FLAGS_NONE, &local_error);
  if (uri == NULL)
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                   _("The Replicate base URL “%s” is not a valid URL: %s"),
                   stripped, local_error->message);
      return NULL;
    }

  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);
  path = g_uri_get_path (uri);

  if (g_ascii_strcasecmp (scheme, "http") != 0 &&
      g_ascii_strcasecmp (scheme, "https") != 0)
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                   _("The Replicate base URL “%s” must start with https://"),
                   stripped);
      return NULL;
    }

  if (host == NULL || *host == '\0')
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                   _("The Replicate base URL “%s” has no host name"),
                   stripped);
      return NULL;
    }

  if (g_uri_get_userinfo (uri) != NULL ||
      g_uri_get_query (uri) != NULL ||
      g_uri_get_fragment (uri) != NULL)
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                   _("The Replicate base URL “%s” may only have a scheme, a host and a port"),
                   stripped);
      return NULL;
    }

  if (g_strcmp0 (path, "") != 0 &&
      g_strcmp0 (path, "/") != 0 &&
      g_strcmp0 (path, "/v1") != 0 &&
      g_strcmp0 (path, "/v1/") != 0)
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                   _("The Replicate base URL “%s” has an unexpected path; use “scheme://host[:port]”"),
                   stripped);
      return NULL;
    }

  if (!uri_is_secure_enough (uri))
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_INSECURE,
                   _("Refusing to send the API token to “%s” over plain HTTP; "
                     "use https:// (plain http:// is only allowed on this computer)"),
                   host);
      return NULL;
    }

  if (origin_out != NULL)
    *origin_out = uri_origin_key (uri);

  {
    g_autofree char *scheme_lower = g_ascii_strdown (scheme, -1);
    g_autofree char *host_lower = g_ascii_strdown (host, -1);

    return g_uri_join (G_URI_FLAGS_NONE, scheme_lower, NULL, host_lower,
                       g_uri_get_port (uri), "/v1", NULL, NULL);
  }
}

/* GObject */

static void
sq_replicate_client_finalize (GObject *object)
{
  SqReplicateClient *self = (SqReplicateClient *)object;

  g_clear_object (&self->session);
  if (self->token != NULL)
    memset (self->token, 0, strlen (self->token));
  g_clear_pointer (&self->token, g_free);
  g_clear_pointer (&self->api_url, g_free);
  g_clear_pointer (&self->api_origin, g_free);
  g_clear_pointer (&self->stream_origins, g_hash_table_unref);
  g_clear_pointer (&self->user_agent, g_free);

  G_OBJECT_CLASS (sq_replicate_client_parent_class)->finalize (object);
}

static void
sq_replicate_client_class_init (SqReplicateClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sq_replicate_client_finalize;
}

static void
sq_replicate_client_init (SqReplicateClient *self)
{
  self->stream_origins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->user_agent = g_strdup ("squint/" PACKAGE_VERSION);
  self->max_attempts = DEFAULT_MAX_ATTEMPTS;
  self->base_delay_ms = DEFAULT_BASE_DELAY_MS;
  self->max_delay_ms = DEFAULT_MAX_DELAY_MS;
}

SqReplicateClient *
sq_replicate_client_new_with_session (SoupSession  *session,
                                      const char   *base_url,
                                      const char   *token,
                                      GError      **error)
{
  g_autoptr(SqReplicateClient) self = NULL;
  g_autofree char *origin = NULL;
  g_autofree char *api_url = NULL;

  g_return_val_if_fail (session == NULL || SOUP_IS_SESSION (session), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  api_url = make_api_url (base_url, &origin, error);
  if (api_url == NULL)
    return NULL;

  if (token != NULL)
    {
      g_autofree char *stripped = g_strstrip (g_strdup (token));

      for (const char *p = stripped; *p != '\0'; p++)
        if ((guchar) *p < 0x20 || (guchar) *p == 0x7f)
          {
            g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                         _("The API token contains control characters; paste it again"));
            memset (stripped, 0, strlen (stripped));
            return NULL;
          }
      memset (stripped, 0, strlen (stripped));
    }

  self = g_object_new (SQ_TYPE_REPLICATE_CLIENT, NULL);
  self->api_url = g_steal_pointer (&api_url);
  self->api_origin = g_steal_pointer (&origin);

  if (token != NULL)
    {
      self->token = g_strstrip (g_strdup (token));
      if (*self->token == '\0')
        g_clear_pointer (&self->token, g_free);
    }

  if (session != NULL)
    self->session = g_object_ref (session);
  else
    self->session = g_object_new (SOUP_TYPE_SESSION,
                                  "user-agent", self->user_agent,
                                  "idle-timeout", IDLE_TIMEOUT_S,
                                  /* No socket I/O timeout: it would cut
                                   * quiet event streams. Each request has
                                   * its own deadline instead. */
                                  "timeout", 0,
                                  "max-conns", 64,
                                  "max-conns-per-host", 32,
                                  NULL);

  g_debug ("Replicate API at %s", self->api_url);

  return g_steal_pointer (&self);
}

SqReplicateClient *
sq_replicate_client_new (const char  *base_url,
                         const char  *token,
                         GError     **error)
{
  return sq_replicate_client_new_with_session (NULL, base_url, token, error);
}

SoupSession *
sq_replicate_client_get_session (SqReplicateClient *self)
{
  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (self), NULL);

  return self->session;
}

const char *
sq_replicate_client_get_api_url (SqReplicateClient *self)
{
  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (self), NULL);

  return self->api_url;
}

gboolean
sq_replicate_client_has_token (SqReplicateClient *self)
{
  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (self), FALSE);

  return self->token != NULL;
}

void
sq_replicate_client_set_retry_policy (SqReplicateClient *self,
                                      guint              max_attempts,
                                      guint              base_delay_ms,
                                      guint              max_delay_ms)
{
  g_return_if_fail (SQ_IS_REPLICATE_CLIENT (self));

  self->max_attempts = MAX (max_attempts, 1);
  self->base_delay_ms = base_delay_ms;
  self->max_delay_ms = MAX (max_delay_ms, base_delay_ms);
}

gboolean
sq_replicate_client_may_authorize (SqReplicateClient *self,
                                   GUri              *uri)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (self), FALSE);

  if (uri == NULL)
    return FALSE;

  key = uri_origin_key (uri);
  if (key == NULL)
    return FALSE;

  if (g_strcmp0 (key, self->api_origin) == 0)
    return TRUE;

  return g_hash_table_contains (self->stream_origins, key) && uri_is_secure_enough (uri);
}

static gboolean
url_is_on_api_origin (SqReplicateClient *self,
                      const char        *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  g_autofree char *key = NULL;

  if (uri == NULL)
    return FALSE;

  key = uri_origin_key (uri);
  return g_strcmp0 (key, self->api_origin) == 0;
}

/* Remembers where the API said this prediction streams from, so that the
 * token may go there too (see sq_replicate_client_may_authorize()). */
static void
note_stream_origin (SqReplicateClient *self,
                    JsonObject        *object)
{
  JsonObject *urls;
  const char *stream;
  g_autoptr(GUri) uri = NULL;
  char *key;

  if (object == NULL ||
      !json_object_has_member (object, "urls") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "urls")))
    return;

  urls = json_object_get_object_member (object, "urls");
  if (!json_object_has_member (urls, "stream") ||
      !JSON_NODE_HOLDS_VALUE (json_object_get_member (urls, "stream")))
    return;

  stream = string_member (urls, "stream");
  if (stream == NULL)
    return;

  uri = g_uri_parse (stream, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || !uri_is_secure_enough (uri))
    return;

  key = uri_origin_key (uri);
  if (key != NULL && !g_hash_table_contains (self->stream_origins, key))
    {
      g_debug ("Stream origin %s handed out by the API", key);
      g_hash_table_add (self->stream_origins, key);
    }
  else
    g_free (key);
}

/* Error handling */

static char *
body_detail (SoupMessage  *msg,
             GBytes       *body,
             JsonObject  **problem_out)
{
  const char *content_type;
  const char *data;
  gsize len = 0;

  if (problem_out != NULL)
    *problem_out = NULL;

  data = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  if (len > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      if (sq_json_parser_load (parser, data, len, NULL) &&
          JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          JsonObject *problem = json_node_get_object (json_parser_get_root (parser));
          const char *detail = string_member (problem, "detail");
          const char *title = string_member (problem, "title");

          if (problem_out != NULL)
            *problem_out = json_object_ref (problem);

          if (detail != NULL && *detail != '\0')
            return g_strdup (detail);
          if (title != NULL && *title != '\0')
            return g_strdup (title);
        }

      content_type = soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL);
      if (content_type != NULL &&
          g_ascii_strcasecmp (content_type, "text/plain") == 0 &&
          g_utf8_validate (data, len, NULL))
        {
          g_autofree char *text = g_strndup (data, len);

          g_strstrip (text);
          if (*text != '\0' && g_utf8_strlen (text, -1) <= ERROR_BODY_MAX)
            return g_steal_pointer (&text);
        }
    }

  if (soup_message_get_reason_phrase (msg) != NULL && *soup_message_get_reason_phrase (msg) != '\0')
    return g_strdup (soup_message_get_reason_phrase (msg));

  return g_strdup_printf ("HTTP %u", soup_message_get_status (msg));
}

static GError *
http_error (Request     *req,
            SoupMessage *msg,
            GBytes      *body)
{
  guint status = soup_message_get_status (msg);
  g_autofree char *detail = body_detail (msg, body, NULL);

  switch (status)
    {
    case SOUP_STATUS_UNAUTHORIZED:
      return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_UNAUTHORIZED,
                          _("Replicate refused the API token. Check it in Preferences or in REPLICATE_API_TOKEN."));
    case SOUP_STATUS_PAYMENT_REQUIRED:
      return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_BILLING,
                          _("Replicate needs billing set up for this account: %s"), detail);
    case SOUP_STATUS_FORBIDDEN:
      return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_FORBIDDEN,
                          _("Replicate does not allow access to %s: %s"), req->what, detail);
    case SOUP_STATUS_NOT_FOUND:
      return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND,
                          _("Replicate could not find %s: %s"), req->what, detail);
    case SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE:
      return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_TOO_LARGE,
                          _("Replicate refused %s as too large: %s"), req->what, detail);
    case SOUP_STATUS_UNPROCESSABLE_ENTITY:
      return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_INVALID,
                          _("Replicate rejected %s: %s"), req->what, detail);
    case HTTP_TOO_MANY_REQUESTS:
      return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_RATE_LIMITED,
                          _("Replicate is limiting the request rate and the retries ran out: %s"),
                          detail);
    default:
      break;
    }

  if (status >= 500 && status < 600)
    return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_SERVER,
                        _("Replicate had a server error (HTTP %u) with %s: %s"),
                        status, req->what, detail);

  if (status >= 400 && status < 500)
    return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_INVALID,
                        _("Replicate rejected %s (HTTP %u): %s"),
                        req->what, status, detail);

  return g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL,
                      _("Replicate gave an unexpected answer for %s (HTTP %u): %s"),
                      req->what, status, detail);
}

static gboolean
status_is_retryable (RetryMode mode,
                     guint     status)
{
  switch (mode)
    {
    case RETRY_NEVER:
      return FALSE;
    case RETRY_ON_429:
      return status == HTTP_TOO_MANY_REQUESTS;
    case RETRY_ON_429_AND_5XX:
      return status == HTTP_TOO_MANY_REQUESTS || (status >= 500 && status < 600);
    default:
      g_assert_not_reached ();
    }
}

/* Milliseconds the server asked us to wait, or -1. */
static gint64
server_retry_after_ms (SoupMessage *msg,
                       GBytes      *body)
{
  const char *header;
  g_autoptr(JsonObject) problem = NULL;
  g_autofree char *detail = NULL;

  header = soup_message_headers_get_one (soup_message_get_response_headers (msg), "Retry-After");
  if (header != NULL)
    {
      g_autofree char *value = g_strstrip (g_strdup (header));
      guint64 seconds;

      if (*value != '\0' && g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT32, &seconds, NULL))
        return (gint64) seconds * 1000;
      else
        {
          g_autoptr(GDateTime) when = soup_date_time_new_from_http_string (value);

          if (when != NULL)
            {
              g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
              GTimeSpan diff = g_date_time_difference (when, now);

              return MAX (diff / 1000, 0);
            }
        }
    }

  detail = body_detail (msg, body, &problem);
  if (problem != NULL && json_object_has_member (problem, "retry_after"))
    {
      JsonNode *node = json_object_get_member (problem, "retry_after");

      if (JSON_NODE_HOLDS_VALUE (node))
        {
          GType type = json_node_get_value_type (node);
          double seconds = -1;

          if (type == G_TYPE_INT64)
            seconds = json_node_get_int (node);
          else if (type == G_TYPE_DOUBLE)
            seconds = json_node_get_double (node);
          else if (type == G_TYPE_STRING)
            seconds = g_ascii_strtod (json_node_get_string (node), NULL);

          if (seconds >= 0)
            return (gint64) (seconds * 1000);
        }
    }

  return -1;
}

static guint
retry_delay_ms (SqReplicateClient *self,
                Request           *req,
                SoupMessage       *msg,
                GBytes            *body)
{
  gint64 server_ms = msg != NULL ? server_retry_after_ms (msg, body) : -1;
  double delay;

  if (server_ms >= 0)
    return (guint) MIN (server_ms, MAX ((gint64) self->max_delay_ms, MAX_RETRY_AFTER_MS));

  /* attempt counts from 1: the first retry waits base */
  delay = (double) self->base_delay_ms * (double) (1u << MIN (req->attempt - 1, 20u));
  delay *= g_random_double_range (0.8, 1.2);
  delay = MIN (delay, (double) self->max_delay_ms);

  return (guint) delay;
}

/* Request machinery */

static void
chain_cancel_cb (GCancellable *cancellable,
                 GCancellable *attempt_cancellable)
{
  g_cancellable_cancel (attempt_cancellable);
}

static gboolean
request_timeout_cb (gpointer data)
{
  Request *req = data;

  g_debug ("%s %s: no answer within %u s", req->method, req->url, req->timeout_s);
  req->timed_out = TRUE;
  g_cancellable_cancel (req->attempt_cancellable);
  g_clear_pointer (&req->timeout_source, g_source_unref);

  return G_SOURCE_REMOVE;
}

static gboolean
retry_wait_done_cb (gpointer data)
{
  GTask *task = data;
  Request *req = g_task_get_task_data (task);
  GError *error = NULL;

  g_clear_pointer (&req->retry_source, g_source_unref);

  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error) ||
      g_cancellable_set_error_if_cancelled (req->wait_cancellable, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return G_SOURCE_REMOVE;
    }

  request_start_attempt (task);

  return G_SOURCE_REMOVE;
}

/* Takes @task (owned). Returns TRUE when a retry was scheduled. */
static gboolean
request_maybe_retry (GTask       *task,
                     SoupMessage *msg,
                     GBytes      *body,
                     gboolean     retryable)
{
  SqReplicateClient *self = g_task_get_source_object (task);
  Request *req = g_task_get_task_data (task);
  GSource *source;
  guint delay;

  if (!retryable || req->attempt >= self->max_attempts)
    return FALSE;

  delay = retry_delay_ms (self, req, msg, body);
  g_debug ("%s %s: retrying in %u ms (attempt %u of %u)",
           req->method, req->url, delay, req->attempt + 1, self->max_attempts);

  source = g_timeout_source_new (delay);
  g_source_set_static_name (source, "[squint] retry wait");
  if (g_task_get_cancellable (task) != NULL)
    {
      GSource *cancel_source = g_cancellable_source_new (g_task_get_cancellable (task));

      g_source_set_dummy_callback (cancel_source);
      g_source_add_child_source (source, cancel_source);
      g_source_unref (cancel_source);
    }
  if (req->wait_cancellable != NULL)
    {
      GSource *cancel_source = g_cancellable_source_new (req->wait_cancellable);

      g_source_set_dummy_callback (cancel_source);
      g_source_add_child_source (source, cancel_source);
      g_source_unref (cancel_source);
    }
  g_source_set_callback (source, retry_wait_done_cb, task, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  req->retry_source = source;

  return TRUE;
}

static void
request_fail_transport (GTask  *task,
                        GError *error)
{
  SqReplicateClient *self = g_task_get_source_object (task);
  Request *req = g_task_get_task_data (task);

  if (req->timed_out)
    {
      g_clear_error (&error);
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   _("Replicate did not answer within %u seconds (%s)"),
                   req->timeout_s, req->what);

      if (req->retry == RETRY_ON_429_AND_5XX && req->attempt < self->max_attempts)
        {
          g_error_free (error);
          if (request_maybe_retry (task, NULL, NULL, TRUE))
            return;
          g_assert_not_reached ();
        }
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_prefix_error (&error, _("Could not reach Replicate: "));

  g_debug ("%s %s failed: %s", req->method, req->url, error->message);
  g_task_return_error (task, error);
  g_object_unref (task);
}

static JsonObject *
parse_json_object (Request     *req,
                   SoupMessage *msg,
                   GBytes      *body,
                   GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  const char *content_type;
  const char *data;
  gsize len = 0;

  content_type = soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL);
  if (content_type == NULL ||
      (g_ascii_strcasecmp (content_type, "application/json") != 0 &&
       !(g_str_has_prefix (content_type, "application/") && g_str_has_suffix (content_type, "+json"))))
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL,
                   _("Replicate answered %s with “%s” instead of JSON"),
                   req->what, content_type != NULL ? content_type : _("no content type"));
      return NULL;
    }

  data = body != NULL ? g_bytes_get_data (body, &len) : NULL;
  if (data == NULL || len == 0)
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL,
                   _("Replicate answered %s with an empty body"), req->what);
      return NULL;
    }

  if (!sq_json_parser_load (parser, data, len, &local_error))
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL,
                   _("Replicate answered %s with malformed JSON: %s"),
                   req->what, local_error->message);
      return NULL;
    }

  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL,
                   _("Replicate answered %s with JSON that is not an object"), req->what);
      return NULL;
    }

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* Common handling of a complete (non-stream) response. Takes @task. */
static void
request_handle_response (GTask       *task,
                         SoupMessage *msg,
                         GBytes      *body)
{
  SqReplicateClient *self = g_task_get_source_object (task);
  Request *req = g_task_get_task_data (task);
  guint status = soup_message_get_status (msg);
  GError *error = NULL;
  JsonObject *object;

  g_debug ("%s %s -> %u (attempt %u)", req->method, req->url, status, req->attempt);

  if (req->want_stream || status < 200 || status >= 300)
    {
      if (request_maybe_retry (task, msg, body, status_is_retryable (req->retry, status)))
        return;

      if (req->want_stream && status == SOUP_STATUS_OK)
        {
          g_autofree char *detail = body_detail (msg, body, NULL);
          const char *content_type =
            soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL);

          error = g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL,
                               _("Replicate answered %s with “%s” instead of an event stream: %s"),
                               req->what,
                               content_type != NULL ? content_type : _("no content type"),
                               detail);
        }
      else
        error = http_error (req, msg, body);

      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  object = parse_json_object (req, msg, body, &error);
  if (object == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  note_stream_origin (self, object);

  g_task_return_pointer (task, object, (GDestroyNotify) json_object_unref);
  g_object_unref (task);
}

static void
request_json_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  Request *req = g_task_get_task_data (task);
  g_autoptr(SoupMessage) msg = g_steal_pointer (&req->msg);
  g_autoptr(GBytes) body = NULL;
  GError *error = NULL;

  body = soup_session_send_and_read_finish (SOUP_SESSION (object), result, &error);
  request_finish_attempt (req, task);

  if (body == NULL)
    {
      request_fail_transport (task, error);
      return;
    }

  request_handle_response (task, msg, body);
}

#define ERROR_BODY_READ_MAX (64 * 1024)

typedef struct
{
  GTask        *task;
  SoupMessage  *msg;
  GInputStream *stream;
  guint8       *buffer;
} ErrorBodyRead;

static void
request_error_body_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  ErrorBodyRead *read = user_data;
  Request *req = g_task_get_task_data (read->task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  gsize len = 0;

  /* Whatever arrived is good enough for a message, unless the caller
   * gave up on the request. */
  g_input_stream_read_all_finish (read->stream, result, &len, &error);
  request_finish_attempt (req, read->task);
  g_input_stream_close_async (read->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !req->timed_out)
    {
      g_task_return_error (read->task, g_steal_pointer (&error));
      g_object_unref (read->task);
    }
  else
    {
      body = g_bytes_new_take (g_steal_pointer (&read->buffer), len);
      request_handle_response (read->task, read->msg, body);
    }

  g_object_unref (read->stream);
  g_object_unref (read->msg);
  g_free (read->buffer);
  g_free (read);
}

static void
request_stream_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  Request *req = g_task_get_task_data (task);
  g_autoptr(SoupMessage) msg = g_steal_pointer (&req->msg);
  g_autoptr(GInputStream) stream = NULL;
  GError *error = NULL;
  const char *content_type;
  guint status;
  ErrorBodyRead *read;

  stream = soup_session_send_finish (SOUP_SESSION (object), result, &error);

  if (stream == NULL)
    {
      request_finish_attempt (req, task);
      request_fail_transport (task, error);
      return;
    }

  status = soup_message_get_status (msg);
  content_type = soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL);

  if (status == SOUP_STATUS_OK &&
      content_type != NULL &&
      g_ascii_strcasecmp (content_type, "text/event-stream") == 0)
    {
      request_finish_attempt (req, task);
      g_debug ("%s %s -> %u, streaming", req->method, req->url, status);
      g_task_return_pointer (task, g_steal_pointer (&stream), g_object_unref);
      g_object_unref (task);
      return;
    }

  /* Read the (small) body for the error message, still under the
   * request's deadline. */
  read = g_new0 (ErrorBodyRead, 1);
  read->task = task;
  read->msg = g_steal_pointer (&msg);
  read->stream = g_steal_pointer (&stream);
  read->buffer = g_malloc (ERROR_BODY_READ_MAX);
  g_input_stream_read_all_async (read->stream, read->buffer, ERROR_BODY_READ_MAX,
                                 G_PRIORITY_DEFAULT, req->attempt_cancellable,
                                 request_error_body_cb, read);
}

static void
request_start_attempt (GTask *task)
{
  SqReplicateClient *self = g_task_get_source_object (task);
  Request *req = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  SoupMessageHeaders *headers;
  g_autoptr(GUri) uri = NULL;

  g_assert (req->msg == NULL);
  g_assert (req->attempt_cancellable == NULL);

  req->attempt++;
  req->timed_out = FALSE;

  if (req->multipart != NULL)
    req->msg = soup_message_new_from_multipart (req->url, req->multipart);
  else
    req->msg = soup_message_new (req->method, req->url);

  if (req->msg == NULL)
    {
      g_task_return_new_error (task, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                               _("Could not make a request for %s: the URL is not valid"),
                               req->what);
      g_object_unref (task);
      return;
    }

  /* Never follow a redirect with the token on board. */
  soup_message_add_flags (req->msg, SOUP_MESSAGE_NO_REDIRECT);

  headers = soup_message_get_request_headers (req->msg);
  soup_message_headers_replace (headers, "User-Agent", self->user_agent);

  uri = g_uri_ref (soup_message_get_uri (req->msg));
  if (self->token != NULL && sq_replicate_client_may_authorize (self, uri))
    {
      g_autofree char *value = g_strconcat ("Bearer ", self->token, NULL);

      soup_message_headers_replace (headers, "Authorization", value);
      memset (value, 0, strlen (value));
    }

  if (req->body != NULL)
    soup_message_set_request_body_from_bytes (req->msg, "application/json", req->body);

  if (req->want_stream)
    {
      soup_message_headers_replace (headers, "Accept", "text/event-stream");
      soup_message_headers_replace (headers, "Cache-Control", "no-store");
      if (req->last_event_id != NULL)
        soup_message_headers_replace (headers, "Last-Event-ID", req->last_event_id);
    }
  else
    soup_message_headers_replace (headers, "Accept", "application/json");

  req->attempt_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    req->chain_id = g_cancellable_connect (cancellable,
                                           G_CALLBACK (chain_cancel_cb),
                                           g_object_ref (req->attempt_cancellable),
                                           g_object_unref);

  req->timeout_source = g_timeout_source_new_seconds (req->timeout_s);
  g_source_set_static_name (req->timeout_source, "[squint] request timeout");
  g_source_set_callback (req->timeout_source, request_timeout_cb, req, NULL);
  g_source_attach (req->timeout_source, g_main_context_get_thread_default ());

  g_debug ("%s %s (attempt %u)", req->method, req->url, req->attempt);

  if (req->want_stream)
    soup_session_send_async (self->session, req->msg, G_PRIORITY_DEFAULT,
                             req->attempt_cancellable, request_stream_cb, task);
  else
    soup_session_send_and_read_async (self->session, req->msg, G_PRIORITY_DEFAULT,
                                      req->attempt_cancellable, request_json_cb, task);
}

static Request *
request_new (const char *method,
             char       *url,
             const char *what,
             RetryMode   retry)
{
  Request *req = g_new0 (Request, 1);

  req->method = g_strdup (method);
  req->url = url;
  req->what = g_strdup (what);
  req->retry = retry;
  req->timeout_s = JSON_TIMEOUT_S;

  return req;
}

/* Takes @req. */
static void
request_run (SqReplicateClient   *self,
             Request             *req,
             gpointer             source_tag,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  GTask *task;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, req, request_free);

  request_start_attempt (task);
}

static void
fail_early (SqReplicateClient   *self,
            gpointer             source_tag,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data,
            GError              *error)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_return_error (task, error);
}

static GBytes *
json_object_to_bytes (JsonObject *object)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = json_node_init_object (json_node_alloc (), object);
  gsize len = 0;
  char *data;

  json_generator_set_root (generator, root);
  data = json_generator_to_data (generator, &len);

  return g_bytes_new_take (data, len);
}

static char *
escape_segment (const char *segment)
{
  return g_uri_escape_string (segment, NULL, FALSE);
}

static gboolean
is_valid_name (const char *name)
{
  if (name == NULL || *name == '\0')
    return FALSE;

  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;

  return TRUE;
}

static gboolean
is_version_id (const char *version)
{
  if (version == NULL || strlen (version) != 64)
    return FALSE;

  for (const char *p = version; *p != '\0'; p++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;

  return TRUE;
}

/* Splits "owner/name" into its parts. */
static gboolean
split_owner_name (const char  *ref,
                  char       **owner,
                  char       **name)
{
  g_auto(GStrv) parts = g_strsplit (ref, "/", -1);

  if (g_strv_length (parts) != 2 || !is_valid_name (parts[0]) || !is_valid_name (parts[1]))
    return FALSE;

  *owner = g_strdup (parts[0]);
  *name = g_strdup (parts[1]);
  return TRUE;
}

/* Create */

void
_sq_replicate_client_create_prediction_full_async (SqReplicateClient   *self,
                                                   const char          *model_ref,
                                                   const char          *deployment,
                                                   JsonObject          *input,
                                                   GCancellable        *cancellable,
                                                   GCancellable        *wait_cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data)
{
  g_autoptr(JsonObject) body = NULL;
  g_autofree char *owner = NULL;
  g_autofree char *name = NULL;
  g_autofree char *what = NULL;
  char *url = NULL;
  Request *req;

  g_return_if_fail (SQ_IS_REPLICATE_CLIENT (self));
  g_return_if_fail ((model_ref != NULL) != (deployment != NULL));
  g_return_if_fail (input != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  body = json_object_new ();

  if (deployment != NULL)
    {
      g_autofree char *owner_e = NULL;
      g_autofree char *name_e = NULL;

      if (!split_owner_name (deployment, &owner, &name))
        {
          fail_early (self, sq_replicate_client_create_prediction_async,
                      cancellable, callback, user_data,
                      g_error_new (SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE,
                                   _("“%s” is not a deployment name of the form owner/name"),
                                   deployment));
          return;
        }

      owner_e = escape_segment (owner);
      name_e = escape_segment (name);
      url = g_strdup_printf ("%s/deployments/%s/%s/predictions", self->api_url, owner_e, name_e);
      what = g_strdup_printf (_("a prediction on deployment %s"), deployment);
    }
  else
    {
      const char *colon = strchr (model_ref, ':');

      if (colon == NULL && is_version_id (model_ref))
        {
          json_object_set_string_member (body, "version", model_ref);
          url = g_strdup_printf ("%s/predictions", self->api_url);
          what = g_strdup_printf (_("a prediction of version %s"), model_ref);
        }
      else if (colon != NULL)
        {
          g_autofree char *model = g_strndup (model_ref, colon - model_ref);
          const char *version = colon + 1;

          if (!split_owner_name (model, &owner, &name) || !is_valid_name (version))
            {
              fail_early (self, sq_replicate_client_create_prediction_async,
                          cancellable, callback, user_data,
                          g_error_new (SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE,
                                       _("“%s” is not a model reference of the form owner/name:version"),
                                       model_ref));
              return;
            }

          json_object_set_string_member (body, "version", version);
          url = g_strdup_printf ("%s/predictions", self->api_url);
          what = g_strdup_printf (_("a prediction of %s"), model_ref);
        }
      else
        {
          g_autofree char *owner_e = NULL;
          g_autofree char *name_e = NULL;

          if (!split_owner_name (model_ref, &owner, &name))
            {
              fail_early (self, sq_replicate_client_create_prediction_async,
                          cancellable, callback, user_data,
                          g_error_new (SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE,
                                       _("“%s” is not a model reference (owner/name, owner/name:version or a version id)"),
                                       model_ref));
              return;
            }

          owner_e = escape_segment (owner);
          name_e = escape_segment (name);
          url = g_strdup_printf ("%s/models/%s/%s/predictions", self->api_url, owner_e, name_e);
          what = g_strdup_printf (_("a prediction of %s"), model_ref);
        }
    }

  json_object_set_object_member (body, "input", json_object_ref (input));
  /* Deprecated but harmless, and older deployments still want it. */
  json_object_set_boolean_member (body, "stream", TRUE);

  req = request_new ("POST", url, what, RETRY_ON_429);
  req->body = json_object_to_bytes (body);
  if (wait_cancellable != NULL)
    req->wait_cancellable = g_object_ref (wait_cancellable);

  request_run (self, req, sq_replicate_client_create_prediction_async,
               cancellable, callback, user_data);
}

void
sq_replicate_client_create_prediction_async (SqReplicateClient   *self,
                                             const char          *model_ref,
                                             JsonObject          *input,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  g_return_if_fail (model_ref != NULL);

  _sq_replicate_client_create_prediction_full_async (self, model_ref, NULL, input,
                                                     cancellable, NULL,
                                                     callback, user_data);
}

void
sq_replicate_client_create_deployment_prediction_async (SqReplicateClient   *self,
                                                        const char          *deployment,
                                                        JsonObject          *input,
                                                        GCancellable        *cancellable,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data)
{
  g_return_if_fail (deployment != NULL);

  _sq_replicate_client_create_prediction_full_async (self, NULL, deployment, input,
                                                     cancellable, NULL,
                                                     callback, user_data);
}

static JsonObject *
json_task_finish (SqReplicateClient *self,
                  GAsyncResult      *result,
                  gpointer           source_tag,
                  GError           **error)
{
  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

JsonObject *
sq_replicate_client_create_prediction_finish (SqReplicateClient  *self,
                                              GAsyncResult       *result,
                                              GError            **error)
{
  return json_task_finish (self, result, sq_replicate_client_create_prediction_async, error);
}

/* Get and cancel */

/* The URL for a prediction id or an API URL; NULL with @error when @id_or_url
 * is a URL off the API origin. */
static char *
prediction_url (SqReplicateClient  *self,
                const char         *id_or_url,
                const char         *suffix,
                GError            **error)
{
  g_autofree char *id = NULL;

  if (strstr (id_or_url, "://") != NULL)
    {
      if (!url_is_on_api_origin (self, id_or_url))
        {
          g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_INSECURE,
                       _("Refusing to follow a prediction URL that is not on the Replicate API (%s)"),
                       self->api_url);
          return NULL;
        }
      return g_strdup (id_or_url);
    }

  if (*id_or_url == '\0' || strchr (id_or_url, '/') != NULL)
    {
      g_set_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG,
                   _("“%s” is not a prediction id"), id_or_url);
      return NULL;
    }

  id = escape_segment (id_or_url);
  return g_strdup_printf ("%s/predictions/%s%s", self->api_url, id, suffix);
}

void
sq_replicate_client_get_prediction_async (SqReplicateClient   *self,
                                          const char          *id_or_url,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  GError *error = NULL;
  char *url;

  g_return_if_fail (SQ_IS_REPLICATE_CLIENT (self));
  g_return_if_fail (id_or_url != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  url = prediction_url (self, id_or_url, "", &error);
  if (url == NULL)
    {
      fail_early (self, sq_replicate_client_get_prediction_async,
                  cancellable, callback, user_data, error);
      return;
    }

  request_run (self, request_new ("GET", url, _("the prediction"), RETRY_ON_429_AND_5XX),
               sq_replicate_client_get_prediction_async,
               cancellable, callback, user_data);
}

JsonObject *
sq_replicate_client_get_prediction_finish (SqReplicateClient  *self,
                                           GAsyncResult       *result,
                                           GError            **error)
{
  return json_task_finish (self, result, sq_replicate_client_get_prediction_async, error);
}

void
sq_replicate_client_cancel_prediction_async (SqReplicateClient   *self,
                                             const char          *id_or_url,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  GError *error = NULL;
  char *url;

  g_return_if_fail (SQ_IS_REPLICATE_CLIENT (self));
  g_return_if_fail (id_or_url != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  url = prediction_url (self, id_or_url, "/cancel", &error);
  if (url == NULL)
    {
      fail_early (self, sq_replicate_client_cancel_prediction_async,
                  cancellable, callback, user_data, error);
      return;
    }

  /* Canceling twice is harmless, so 5xx may be retried too. */
  request_run (self, request_new ("POST", url, _("the cancellation of the prediction"), RETRY_ON_429_AND_5XX),
               sq_replicate_client_cancel_prediction_async,
               cancellable, callback, user_data);
}

JsonObject *
sq_replicate_client_cancel_prediction_finish (SqReplicateClient  *self,
                                              GAsyncResult       *result,
                                              GError            **error)
{
  return json_task_finish (self, result, sq_replicate_client_cancel_prediction_async, error);
}

/* Streams */

void
sq_replicate_client_open_stream_async (SqReplicateClient   *self,
                                       const char          *stream_url,
                                       const char          *last_event_id,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GUri) uri = NULL;
  Request *req;

  g_return_if_fail (SQ_IS_REPLICATE_CLIENT (self));
  g_return_if_fail (stream_url != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  uri = g_uri_parse (stream_url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL ||
      (g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") != 0 &&
       g_ascii_strcasecmp (g_uri_get_scheme (uri), "http") != 0))
    {
      fail_early (self, sq_replicate_client_open_stream_async,
                  cancellable, callback, user_data,
                  g_error_new (SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL,
                               _("Replicate handed out a stream URL that is not valid")));
      return;
    }

  req = request_new ("GET", g_strdup (stream_url), _("the prediction’s event stream"),
                     RETRY_ON_429_AND_5XX);
  req->want_stream = TRUE;
  req->timeout_s = STREAM_TIMEOUT_S;
  req->last_event_id = g_strdup (last_event_id);

  request_run (self, req, sq_replicate_client_open_stream_async,
               cancellable, callback, user_data);
}

GInputStream *
sq_replicate_client_open_stream_finish (SqReplicateClient  *self,
                                        GAsyncResult       *result,
                                        GError            **error)
{
  g_return_val_if_fail (SQ_IS_REPLICATE_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_replicate_client_open_stream_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Files */

void
sq_replicate_client_upload_file_async (SqReplicateClient   *self,
                                       GBytes              *content,
                                       const char          *filename,
                                       const char          *content_type,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  Request *req;
  g_autofree char *what = NULL;

  g_return_if_fail (SQ_IS_REPLICATE_CLIENT (self));
  g_return_if_fail (content != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (filename == NULL || *filename == '\0')
    filename = "file";
  if (content_type == NULL || *content_type == '\0')
    content_type = "application/octet-stream";

  what = g_strdup_printf (_("the upload of “%s”"), filename);
  req = request_new ("POST", g_strdup_printf ("%s/files", self->api_url), what, RETRY_ON_429);
  req->timeout_s = UPLOAD_TIMEOUT_S;
  req->multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
  soup_multipart_append_form_file (req->multipart, "content", filename, content_type, content);
  soup_multipart_append_form_string (req->multipart, "metadata", "{}");

  request_run (self, req, sq_replicate_client_upload_file_async,
               cancellable, callback, user_data);
}

JsonObject *
sq_replicate_client_upload_file_finish (SqReplicateClient  *self,
                                        GAsyncResult       *result,
                                        GError            **error)
{
  return json_task_finish (self, result, sq_replicate_client_upload_file_async, error);
}

/* Models */

static char *
model_url (SqReplicateClient  *self,
           const char         *owner,
           const char         *name,
           const char         *version,
           GError            **error)
{
  g_autofree char *owner_e = NULL;
  g_autofree char *name_e = NULL;
  g_autofree char *version_e = NULL;

  if (!is_valid_name (owner) || !is_valid_name (name) ||
      (version != NULL && !is_valid_name (version)))
    {
      g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE,
                   _("“%s/%s%s%s” is not a valid model reference"),
                   owner != NULL ? owner : "", name != NULL ? name : "",
                   version != NULL ? ":" : "", version != NULL ? version : "");
      return NULL;
    }

  owner_e = escape_segment (owner);
  name_e = escape_segment (name);

  if (version == NULL)
    return g_strdup_printf ("%s/models/%s/%s", self->api_url, owner_e, name_e);

  version_e = escape_segment (version);
  return g_strdup_printf ("%s/models/%s/%s/versions/%s", self->api_url, owner_e, name_e, version_e);
}

void
sq_replicate_client_get_model_async (SqReplicateClient   *self,
                                     const char          *owner,
                                     const char          *name,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  GError *error = NULL;
  g_autofree char *what = NULL;
  char *url;

  g_return_if_fail (SQ_IS_REPLICATE_CLIENT (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  url = model_url (self, owner, name, NULL, &error);
  if (url == NULL)
    {
      fail_early (self, sq_replicate_client_get_model_async,
                  cancellable, callback, user_data, error);
      return;
    }

  what = g_strdup_printf (_("the model %s/%s"), owner, name);
  request_run (self, request_new ("GET", url, what, RETRY_ON_429_AND_5XX),
               sq_replicate_client_get_model_async,
               cancellable, callback, user_data);
}

JsonObject *
sq_replicate_client_get_model_finish (SqReplicateClient  *self,
                                      GAsyncResult       *result,
                                      GError            **error)
{
  return json_task_finish (self, result, sq_replicate_client_get_model_async, error);
}

void
sq_replicate_client_get_model_version_async (SqReplicateClient   *self,
                                             const char          *owner,
                                             const char          *name,
                                             const char          *version,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data)
{
  GError *error = NULL;
  g_autofree char *what = NULL;
  char *url;

  g_return_if_fail (SQ_IS_REPLICATE_CLIENT (self));
  g_return_if_fail (version != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  url = model_url (self, owner, name, version, &error);
  if (url == NULL)
    {
      fail_early (self, sq_replicate_client_get_model_version_async,
                  cancellable, callback, user_data, error);
      return;
    }

  what = g_strdup_printf (_("the version %s of %s/%s"), version, owner, name);
  request_run (self, request_new ("GET", url, what, RETRY_ON_429_AND_5XX),
               sq_replicate_client_get_model_version_async,
               cancellable, callback, user_data);
}

JsonObject *
sq_replicate_client_get_model_version_finish (SqReplicateClient  *self,
                                              GAsyncResult       *result,
                                              GError            **error)
{
  return json_task_finish (self, result, sq_replicate_client_get_model_version_async, error);
}
