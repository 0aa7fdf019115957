/* test-replicate-client.c
 *
 * SqReplicateClient against the loopback fake Replicate.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <libsoup/soup.h>

#include "sq-error.h"
#include "sq-fake-replicate.h"
#include "sq-replicate-client.h"
#include "sq-test-util.h"

#define LLAVA       "yorickvp/llava-13b"
#define LLAVA_VER   "e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358"
#define IMAGE_URL   "https://example.com/images/cat.jpg"

/* Every log line, for the check that the token never shows. */
static GMutex   log_mutex;
static GString *log_text;

static GLogWriterOutput
record_log_writer (GLogLevelFlags   log_level,
                   const GLogField *fields,
                   gsize            n_fields,
                   gpointer         user_data)
{
  g_mutex_lock (&log_mutex);
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 || g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
      {
        if (fields[i].length < 0)
          g_string_append (log_text, fields[i].value);
        else
          g_string_append_len (log_text, fields[i].value, fields[i].length);
        g_string_append_c (log_text, '\n');
      }
  g_mutex_unlock (&log_mutex);

  if (log_level & G_LOG_LEVEL_DEBUG)
    return G_LOG_WRITER_HANDLED;

  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

typedef SqTestFakeFixture Fixture;

static JsonObject *
llava_input (const char *prompt)
{
  JsonObject *input = json_object_new ();

  json_object_set_string_member (input, "prompt", prompt);
  json_object_set_string_member (input, "image", IMAGE_URL);

  return input;
}

static JsonObject *
create_sync (SqReplicateClient  *client,
             const char         *model_ref,
             JsonObject         *input,
             GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_replicate_client_create_prediction_async (client, model_ref, input, NULL,
                                               sq_test_store_result_cb, &result);
  return sq_replicate_client_create_prediction_finish (client, sq_test_wait_result (&result), error);
}

static JsonObject *
get_prediction_sync (SqReplicateClient  *client,
                     const char         *id_or_url,
                     GCancellable       *cancellable,
                     GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_replicate_client_get_prediction_async (client, id_or_url, cancellable,
                                            sq_test_store_result_cb, &result);
  return sq_replicate_client_get_prediction_finish (client, sq_test_wait_result (&result), error);
}

static JsonObject *
get_model_sync (SqReplicateClient  *client,
                const char         *owner,
                const char         *name,
                GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_replicate_client_get_model_async (client, owner, name, NULL, sq_test_store_result_cb, &result);
  return sq_replicate_client_get_model_finish (client, sq_test_wait_result (&result), error);
}

static GInputStream *
open_stream_sync (SqReplicateClient  *client,
                  const char         *url,
                  GError            **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_replicate_client_open_stream_async (client, url, NULL, NULL, sq_test_store_result_cb, &result);
  return sq_replicate_client_open_stream_finish (client, sq_test_wait_result (&result), error);
}

/* Reads a stream to its end without blocking the loop. */
static char *
read_all (GInputStream *stream)
{
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char nul = '\0';

  g_output_stream_splice_async (memory, stream, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE,
                                G_PRIORITY_DEFAULT, NULL, sq_test_store_result_cb, &result);
  g_output_stream_splice_finish (memory, sq_test_wait_result (&result), &error);
  g_assert_no_error (error);
  g_output_stream_write_all (memory, &nul, 1, NULL, NULL, NULL);
  g_output_stream_close (memory, NULL, NULL);

  return g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (memory));
}

static SqFakeRequest *
last_request (SqFakeReplicate *fake)
{
  g_autoptr(GPtrArray) requests = sq_fake_replicate_dup_requests (fake);
  SqFakeRequest *request;

  g_assert_cmpuint (requests->len, >, 0);
  request = g_ptr_array_steal_index (requests, requests->len - 1);
  g_ptr_array_set_free_func (requests, (GDestroyNotify) sq_fake_request_free);

  return request;
}

static const char *
string_at (JsonObject *object,
           const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, ".", -1);
  JsonObject *o = object;

  for (guint i = 0; parts[i + 1] != NULL; i++)
    {
      g_assert_true (json_object_has_member (o, parts[i]));
      o = json_object_get_object_member (o, parts[i]);
      g_assert_nonnull (o);
    }

  return json_object_get_string_member_with_default (o, parts[g_strv_length (parts) - 1], NULL);
}

/* Tests */

static void
test_base_url (void)
{
  static const struct {
    const char *base;
    const char *api_url;
  } good[] = {
    { NULL, "https://api.replicate.com/v1" },
    { "", "https://api.replicate.com/v1" },
    { "https://api.replicate.com", "https://api.replicate.com/v1" },
    { "https://api.replicate.com/", "https://api.replicate.com/v1" },
    { "https://api.replicate.com/v1", "https://api.replicate.com/v1" },
    { "https://api.replicate.com/v1/", "https://api.replicate.com/v1" },
    { "HTTPS://API.Replicate.com", "https://api.replicate.com/v1" },
    { "  https://proxy.example.org:8443  ", "https://proxy.example.org:8443/v1" },
    { "http://127.0.0.1:8000", "http://127.0.0.1:8000/v1" },
    { "http://127.3.4.5:8000/v1", "http://127.3.4.5:8000/v1" },
    { "http://localhost:9/", "http://localhost:9/v1" },
    { "http://[::1]:8080", "http://[::1]:8080/v1" },
  };
  static const struct {
    const char *base;
    int code;
  } bad[] = {
    { "http://api.replicate.com", SQ_REPLICATE_ERROR_INSECURE },
    { "http://10.0.0.1:8000", SQ_REPLICATE_ERROR_INSECURE },
    { "http://[2001:db8::1]/", SQ_REPLICATE_ERROR_INSECURE },
    { "http://localhost.example.com", SQ_REPLICATE_ERROR_INSECURE },
    { "ftp://api.replicate.com", SQ_REPLICATE_ERROR_CONFIG },
    { "api.replicate.com", SQ_REPLICATE_ERROR_CONFIG },
    { "not a url at all", SQ_REPLICATE_ERROR_CONFIG },
    { "https://", SQ_REPLICATE_ERROR_CONFIG },
    { "https://api.replicate.com/v2", SQ_REPLICATE_ERROR_CONFIG },
    { "https://api.replicate.com/v1/predictions", SQ_REPLICATE_ERROR_CONFIG },
    { "https://user:secret@api.replicate.com", SQ_REPLICATE_ERROR_CONFIG },
    { "https://api.replicate.com/?x=1", SQ_REPLICATE_ERROR_CONFIG },
    { "https://api.replicate.com/#v1", SQ_REPLICATE_ERROR_CONFIG },
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SqReplicateClient) client = sq_replicate_client_new (good[i].base, "r8_x", &error);

      g_test_message ("base URL “%s”", good[i].base ? good[i].base : "(null)");
      g_assert_no_error (error);
      g_assert_cmpstr (sq_replicate_client_get_api_url (client), ==, good[i].api_url);
      g_assert_true (sq_replicate_client_has_token (client));
      g_assert_true (SOUP_IS_SESSION (sq_replicate_client_get_session (client)));
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SqReplicateClient) client = sq_replicate_client_new (bad[i].base, "r8_x", &error);

      g_test_message ("base URL “%s”", bad[i].base);
      g_assert_null (client);
      g_assert_error (error, SQ_REPLICATE_ERROR, bad[i].code);
      g_assert_null (strstr (error->message, "r8_x"));
    }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SqReplicateClient) client = sq_replicate_client_new (NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_false (sq_replicate_client_has_token (client));
  }

  /* A pasted token keeps no stray whitespace; control characters could
   * forge headers and are refused. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SqReplicateClient) client = sq_replicate_client_new (NULL, " r8_abc\n", &error);

    g_assert_no_error (error);
    g_assert_true (sq_replicate_client_has_token (client));
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SqReplicateClient) client =
      sq_replicate_client_new (NULL, "r8_abc\r\nX-Evil: 1", &error);

    g_assert_null (client);
    g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG);
    g_assert_null (strstr (error->message, "r8_abc"));
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SqReplicateClient) client = sq_replicate_client_new (NULL, "  \t ", &error);

    g_assert_no_error (error);
    g_assert_false (sq_replicate_client_has_token (client));
  }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SoupSession) session = soup_session_new ();
    g_autoptr(SqReplicateClient) client =
      sq_replicate_client_new_with_session (session, "https://api.replicate.com", "r8_x", &error);

    g_assert_no_error (error);
    g_assert_true (sq_replicate_client_get_session (client) == session);
  }
}

static void
test_auth_origins (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(JsonObject) input = llava_input ("Describe this image.");
  g_autoptr(JsonObject) prediction = NULL;
  g_autoptr(SqFakeRequest) create = NULL;
  g_autoptr(SqFakeRequest) stream_request = NULL;
  g_autoptr(SqFakeRequest) foreign_request = NULL;
  g_autoptr(SqReplicateClient) other = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", SQ_FAKE_REPLICATE_TOKEN);
  g_autofree char *text = NULL;
  g_autoptr(GUri) api_uri = NULL;
  g_autoptr(GUri) stream_uri = NULL;
  g_autoptr(GUri) delivery_uri = NULL;
  g_autoptr(GUri) other_port_uri = NULL;
  const char *stream_url;

  api_uri = g_uri_parse (sq_replicate_client_get_api_url (f->client), G_URI_FLAGS_NONE, NULL);
  g_assert_true (sq_replicate_client_may_authorize (f->client, api_uri));

  prediction = create_sync (f->client, LLAVA ":" LLAVA_VER, input, &error);
  g_assert_no_error (error);

  create = last_request (f->fake);
  g_assert_cmpstr (create->method, ==, "POST");
  g_assert_cmpstr (create->path, ==, "/v1/predictions");
  g_assert_cmpstr (create->authorization, ==, bearer);
  g_assert_cmpstr (create->user_agent, ==, "squint/" PACKAGE_VERSION);
  g_assert_true (g_str_has_prefix (create->content_type, "application/json"));
  g_assert_false (create->on_stream_server);
  g_assert_cmpuint (create->status, ==, 201);
  /* Only the version id goes in the body; stream: true is sent. */
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (create->body), "version"), ==, LLAVA_VER);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (create->body), "stream"));

  stream_url = string_at (prediction, "urls.stream");
  g_assert_nonnull (stream_url);
  g_assert_true (g_str_has_prefix (stream_url, sq_fake_replicate_get_stream_origin (f->fake)));

  stream_uri = g_uri_parse (stream_url, G_URI_FLAGS_NONE, NULL);
  g_assert_true (sq_replicate_client_may_authorize (f->client, stream_uri));

  stream = open_stream_sync (f->client, stream_url, &error);
  g_assert_no_error (error);
  text = read_all (stream);
  g_assert_nonnull (strstr (text, "event: done"));

  stream_request = last_request (f->fake);
  g_assert_true (stream_request->on_stream_server);
  g_assert_cmpstr (stream_request->authorization, ==, bearer);
  g_assert_cmpstr (stream_request->user_agent, ==, "squint/" PACKAGE_VERSION);

  /* Somewhere the API never pointed to: no token. */
  delivery_uri = g_uri_parse ("https://replicate.delivery/pbxt/abc/out.png", G_URI_FLAGS_NONE, NULL);
  g_assert_false (sq_replicate_client_may_authorize (f->client, delivery_uri));
  other_port_uri = g_uri_parse ("http://127.0.0.1:1/v1/predictions", G_URI_FLAGS_NONE, NULL);
  g_assert_false (sq_replicate_client_may_authorize (f->client, other_port_uri));
  g_assert_false (sq_replicate_client_may_authorize (f->client, NULL));

  /* A client that never heard of the stream origin treats it as foreign:
   * the request goes out, the token does not. */
  other = sq_replicate_client_new (sq_fake_replicate_get_origin (f->fake), SQ_FAKE_REPLICATE_TOKEN, &error);
  g_assert_no_error (error);
  g_assert_false (sq_replicate_client_may_authorize (other, stream_uri));
  g_clear_object (&stream);
  stream = open_stream_sync (other, stream_url, &error);
  g_assert_no_error (error);
  g_clear_pointer (&text, g_free);
  text = read_all (stream);
  g_assert_nonnull (strstr (text, "event: done"));

  foreign_request = last_request (f->fake);
  g_assert_true (foreign_request->on_stream_server);
  g_assert_null (foreign_request->authorization);
}

static void
test_no_token_in_logs (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(JsonObject) input = llava_input ("What is in the picture?");
  g_autoptr(JsonObject) prediction = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autoptr(JsonObject) model = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(SqReplicateClient) wrong = NULL;
  const char *wrong_token = "r8_wrong-token-for-squint-tests";

  /* As with G_MESSAGES_DEBUG=all */
  g_log_set_debug_enabled (TRUE);
  g_mutex_lock (&log_mutex);
  g_string_truncate (log_text, 0);
  g_mutex_unlock (&log_mutex);

  sq_fake_replicate_queue_create_429 (f->fake, 1, 0, TRUE);
  sq_fake_replicate_queue_get_errors (f->fake, 1, 503);

  prediction = create_sync (f->client, LLAVA ":" LLAVA_VER, input, &error);
  g_assert_no_error (error);
  again = get_prediction_sync (f->client, string_at (prediction, "urls.get"), NULL, &error);
  g_assert_no_error (error);
  stream = open_stream_sync (f->client, string_at (prediction, "urls.stream"), &error);
  g_assert_no_error (error);
  text = read_all (stream);

  wrong = sq_replicate_client_new (sq_fake_replicate_get_origin (f->fake), wrong_token, &error);
  g_assert_no_error (error);
  model = get_model_sync (wrong, "yorickvp", "llava-13b", &error);
  g_assert_null (model);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_UNAUTHORIZED);
  g_assert_null (strstr (error->message, wrong_token));

  g_mutex_lock (&log_mutex);
  /* The client did log (so the check below means something)… */
  g_assert_nonnull (strstr (log_text->str, "sq-replicate-client"));
  g_assert_nonnull (strstr (log_text->str, "/v1/predictions"));
  /* …but never a token, nor a Bearer header. */
  g_assert_null (strstr (log_text->str, SQ_FAKE_REPLICATE_TOKEN));
  g_assert_null (strstr (log_text->str, wrong_token));
  g_assert_null (strstr (log_text->str, "Bearer"));
  g_mutex_unlock (&log_mutex);

  g_log_set_debug_enabled (FALSE);
}

static void
test_error_unauthorized (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(SqReplicateClient) anonymous = NULL;
  g_autoptr(JsonObject) model = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqFakeRequest) request = NULL;

  anonymous = sq_replicate_client_new (sq_fake_replicate_get_origin (f->fake), NULL, &error);
  g_assert_no_error (error);

  model = get_model_sync (anonymous, "yorickvp", "llava-13b", &error);
  g_assert_null (model);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_UNAUTHORIZED);
  g_assert_nonnull (strstr (error->message, "token"));

  request = last_request (f->fake);
  g_assert_null (request->authorization);
  g_assert_cmpuint (request->status, ==, 401);
  /* Not retried */
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "GET", "/v1/models"), ==, 1);
}

static void
test_error_not_found (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;

  object = get_model_sync (f->client, "nobody", "nothing", &error);
  g_assert_null (object);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "nobody/nothing"));
  g_assert_nonnull (strstr (error->message, "Not found."));
  g_clear_error (&error);

  object = get_prediction_sync (f->client, "doesnotexist", NULL, &error);
  g_assert_null (object);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A community model on the official-model endpoint: 404 with detail */
  {
    g_autoptr(JsonObject) input = llava_input ("Hello");

    object = create_sync (f->client, LLAVA, input, &error);
    g_assert_null (object);
    g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "not an official model"));
  }
}

static void
test_error_invalid (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(JsonObject) input = llava_input ("Hello");
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (input, "max_tokens", "lots");

  object = create_sync (f->client, LLAVA ":" LLAVA_VER, input, &error);
  g_assert_null (object);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_INVALID);
  /* The server's detail reaches the person. */
  g_assert_nonnull (strstr (error->message, "input.max_tokens"));
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 1);
}

static void
test_error_bad_reference (Fixture       *f,
                          gconstpointer  data)
{
  static const char * const refs[] = {
    "llava", "a/b/c", "/name", "owner/", "owner/name:", "owner/na me:abc", "e27215738",
  };

  for (guint i = 0; i < G_N_ELEMENTS (refs); i++)
    {
      g_autoptr(JsonObject) input = llava_input ("Hello");
      g_autoptr(JsonObject) object = NULL;
      g_autoptr(GError) error = NULL;

      g_test_message ("model reference “%s”", refs[i]);
      object = create_sync (f->client, refs[i], input, &error);
      g_assert_null (object);
      g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE);
    }

  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, NULL, "/"), ==, 0);
}

static void
test_retry_create_429 (Fixture       *f,
                       gconstpointer  data)
{
  gboolean in_header = GPOINTER_TO_INT (data);
  g_autoptr(JsonObject) input = llava_input ("Hello");
  g_autoptr(JsonObject) prediction = NULL;
  g_autoptr(GError) error = NULL;

  /* retry_after 1 s: the client must wait that long rather than its own
   * 1–5 ms backoff for the fake to let it through. */
  sq_fake_replicate_queue_create_429 (f->fake, 2, 1, in_header);

  prediction = create_sync (f->client, LLAVA ":" LLAVA_VER, input, &error);
  g_assert_no_error (error);
  g_assert_nonnull (string_at (prediction, "id"));
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 3);
}

static void
test_retry_create_429_exhausted (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(JsonObject) input = llava_input ("Hello");
  g_autoptr(JsonObject) prediction = NULL;
  g_autoptr(GError) error = NULL;

  sq_replicate_client_set_retry_policy (f->client, 3, 1, 5);
  sq_fake_replicate_queue_create_429 (f->fake, 10, 0, FALSE);

  prediction = create_sync (f->client, LLAVA ":" LLAVA_VER, input, &error);
  g_assert_null (prediction);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_RATE_LIMITED);
  g_assert_nonnull (strstr (error->message, "throttled"));
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 3);
}

static void
test_retry_get_errors (Fixture       *f,
                       gconstpointer  data)
{
  guint status = GPOINTER_TO_UINT (data);
  g_autoptr(JsonObject) model = NULL;
  g_autoptr(GError) error = NULL;

  sq_fake_replicate_queue_get_errors (f->fake, 3, status);

  model = get_model_sync (f->client, "yorickvp", "llava-13b", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (model, "name"), ==, "llava-13b");
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "GET", "/v1/models/yorickvp/llava-13b"), ==, 4);
}

static void
test_retry_get_exhausted (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(JsonObject) model = NULL;
  g_autoptr(GError) error = NULL;

  sq_replicate_client_set_retry_policy (f->client, 2, 1, 5);
  sq_fake_replicate_queue_get_errors (f->fake, 5, 500);

  model = get_model_sync (f->client, "yorickvp", "llava-13b", &error);
  g_assert_null (model);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_SERVER);
  g_assert_nonnull (strstr (error->message, "500"));
  g_assert_nonnull (strstr (error->message, "Something went wrong on our side."));
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "GET", "/v1/models"), ==, 2);
}

static gboolean
cancel_when_counted_cb (gpointer data)
{
  gpointer *args = data;
  SqFakeReplicate *fake = args[0];
  GCancellable *cancellable = args[1];

  if (sq_fake_replicate_count_requests (fake, "POST", "/v1/predictions") == 0)
    return G_SOURCE_CONTINUE;

  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

static void
test_retry_wait_cancellable (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(JsonObject) input = llava_input ("Hello");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) prediction = NULL;
  g_autoptr(GError) error = NULL;
  gpointer args[2] = { f->fake, cancellable };

  /* The server asks for a minute; the cancellable must end the wait. */
  sq_replicate_client_set_retry_policy (f->client, 6, 1, 5);
  sq_fake_replicate_queue_create_429 (f->fake, 1, 60, TRUE);

  g_timeout_add (1, cancel_when_counted_cb, args);
  sq_replicate_client_create_prediction_async (f->client, LLAVA ":" LLAVA_VER, input, cancellable,
                                               sq_test_store_result_cb, &result);
  prediction = sq_replicate_client_create_prediction_finish (f->client, sq_test_wait_result (&result), &error);
  g_assert_null (prediction);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 1);
}

static void
test_cancelled_before (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonObject) object = NULL;
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancellable);
  object = get_prediction_sync (f->client, "abc", cancellable, &error);
  g_assert_null (object);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_upload (Fixture       *f,
             gconstpointer  data)
{
  static const char content[] = "\x89PNG\r\n\x1a\n not really a picture, but bytes";
  g_autoptr(GBytes) bytes = g_bytes_new_static (content, sizeof content - 1);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) file = NULL;
  g_autoptr(JsonObject) input = json_object_new ();
  g_autoptr(JsonObject) prediction = NULL;
  g_autoptr(SqFakeRequest) request = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *files_prefix = NULL;
  const char *url;

  sq_replicate_client_upload_file_async (f->client, bytes, "cat.png", "image/png", NULL,
                                         sq_test_store_result_cb, &result);
  file = sq_replicate_client_upload_file_finish (f->client, sq_test_wait_result (&result), &error);
  g_assert_no_error (error);

  request = last_request (f->fake);
  g_assert_cmpstr (request->path, ==, "/v1/files");
  g_assert_true (g_str_has_prefix (request->content_type, "multipart/form-data"));
  g_assert_cmpuint (request->status, ==, 201);

  g_assert_cmpstr (json_object_get_string_member (file, "name"), ==, "cat.png");
  g_assert_cmpstr (json_object_get_string_member (file, "content_type"), ==, "image/png");
  g_assert_cmpint (json_object_get_int_member (file, "size"), ==, sizeof content - 1);

  url = string_at (file, "urls.get");
  files_prefix = g_strdup_printf ("%s/v1/files/", sq_fake_replicate_get_origin (f->fake));
  g_assert_true (g_str_has_prefix (url, files_prefix));

  /* The upload works as an input. */
  json_object_set_string_member (input, "prompt", "What is this?");
  json_object_set_string_member (input, "image", url);
  prediction = create_sync (f->client, LLAVA ":" LLAVA_VER, input, &error);
  g_assert_no_error (error);
  g_assert_nonnull (string_at (prediction, "id"));
}

static void
test_upload_too_large (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GBytes) bytes = g_bytes_new_take (g_malloc0 (4096), 4096);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) file = NULL;
  g_autoptr(GError) error = NULL;

  sq_fake_replicate_set_max_file_size (f->fake, 1024);

  sq_replicate_client_upload_file_async (f->client, bytes, "big.png", "image/png", NULL,
                                         sq_test_store_result_cb, &result);
  file = sq_replicate_client_upload_file_finish (f->client, sq_test_wait_result (&result), &error);
  g_assert_null (file);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "big.png"));
  /* Not retried */
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/files"), ==, 1);
}

static void
test_models (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) model = NULL;
  g_autoptr(JsonObject) version = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *latest;

  model = get_model_sync (f->client, "yorickvp", "llava-13b", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (model, "owner"), ==, "yorickvp");
  latest = json_object_get_object_member (model, "latest_version");
  g_assert_nonnull (latest);
  g_assert_true (json_object_has_member (latest, "openapi_schema"));

  sq_replicate_client_get_model_version_async (f->client, "yorickvp", "llava-13b", LLAVA_VER, NULL,
                                               sq_test_store_result_cb, &result);
  version = sq_replicate_client_get_model_version_finish (f->client, sq_test_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (version, "id"), ==, LLAVA_VER);
  g_assert_nonnull (string_at (version, "openapi_schema.components.schemas.Input.type"));
  g_clear_object (&result);

  sq_replicate_client_get_model_version_async (f->client, "yorickvp", "llava-13b",
                                               "0000000000000000000000000000000000000000000000000000000000000000",
                                               NULL, sq_test_store_result_cb, &result);
  g_clear_pointer (&version, json_object_unref);
  version = sq_replicate_client_get_model_version_finish (f->client, sq_test_wait_result (&result), &error);
  g_assert_null (version);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_object (&result);

  /* Bad names never reach the network. */
  sq_replicate_client_get_model_async (f->client, "yorickvp", "../../account", NULL,
                                       sq_test_store_result_cb, &result);
  g_clear_pointer (&model, json_object_unref);
  model = sq_replicate_client_get_model_finish (f->client, sq_test_wait_result (&result), &error);
  g_assert_null (model);
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE);
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "GET", "/v1/account"), ==, 0);
}

static void
test_create_forms (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* A bare version id */
  {
    g_autoptr(JsonObject) input = llava_input ("Hello");
    g_autoptr(JsonObject) prediction = create_sync (f->client, LLAVA_VER, input, &error);
    g_autoptr(SqFakeRequest) request = NULL;

    g_assert_no_error (error);
    request = last_request (f->fake);
    g_assert_cmpstr (request->path, ==, "/v1/predictions");
    g_assert_cmpstr (json_object_get_string_member (json_node_get_object (request->body), "version"), ==, LLAVA_VER);
    g_assert_cmpstr (json_object_get_string_member (prediction, "version"), ==, LLAVA_VER);
  }

  /* An official model: the models endpoint, no version in the body */
  {
    g_autoptr(JsonObject) input = json_object_new ();
    g_autoptr(JsonObject) prediction = NULL;
    g_autoptr(SqFakeRequest) request = NULL;

    json_object_set_string_member (input, "prompt", "Say hi");
    prediction = create_sync (f->client, "openai/gpt-4o-mini", input, &error);
    g_assert_no_error (error);
    request = last_request (f->fake);
    g_assert_cmpstr (request->method, ==, "POST");
    g_assert_cmpstr (request->path, ==, "/v1/models/openai/gpt-4o-mini/predictions");
    g_assert_false (json_object_has_member (json_node_get_object (request->body), "version"));
    g_assert_nonnull (string_at (prediction, "id"));
  }

  /* A deployment */
  {
    g_autoptr(JsonObject) input = llava_input ("Hello");
    g_autoptr(JsonObject) prediction = NULL;
    g_autoptr(SqFakeRequest) request = NULL;
    g_autoptr(GAsyncResult) result = NULL;

    sq_replicate_client_create_deployment_prediction_async (f->client, "acme/llava-deploy", input, NULL,
                                                            sq_test_store_result_cb, &result);
    prediction = sq_replicate_client_create_prediction_finish (f->client, sq_test_wait_result (&result), &error);
    g_assert_no_error (error);
    request = last_request (f->fake);
    g_assert_cmpstr (request->path, ==, "/v1/deployments/acme/llava-deploy/predictions");
    g_assert_cmpstr (request->authorization, !=, NULL);
    g_assert_nonnull (string_at (prediction, "id"));
  }
}

static void
test_get_and_cancel (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(JsonObject) input = llava_input ("[[slow]] Take your time");
  g_autoptr(JsonObject) prediction = NULL;
  g_autoptr(JsonObject) by_id = NULL;
  g_autoptr(JsonObject) by_url = NULL;
  g_autoptr(JsonObject) foreign = NULL;
  g_autoptr(JsonObject) canceled = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) canceled_ids = NULL;
  const char *id;
  guint n_requests;

  prediction = create_sync (f->client, LLAVA ":" LLAVA_VER, input, &error);
  g_assert_no_error (error);
  id = string_at (prediction, "id");

  by_id = get_prediction_sync (f->client, id, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (string_at (by_id, "id"), ==, id);

  by_url = get_prediction_sync (f->client, string_at (prediction, "urls.get"), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (string_at (by_url, "id"), ==, id);

  /* URLs off the API origin are not followed. */
  n_requests = sq_fake_replicate_count_requests (f->fake, NULL, "/");
  foreign = get_prediction_sync (f->client, "https://evil.example.com/v1/predictions/x", NULL, &error);
  g_assert_null (foreign);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_INSECURE);
  g_clear_error (&error);
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, NULL, "/"), ==, n_requests);

  sq_replicate_client_cancel_prediction_async (f->client, string_at (prediction, "urls.cancel"), NULL,
                                               sq_test_store_result_cb, &result);
  canceled = sq_replicate_client_cancel_prediction_finish (f->client, sq_test_wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (string_at (canceled, "id"), ==, id);

  canceled_ids = sq_fake_replicate_dup_canceled_ids (f->fake);
  g_assert_true (g_strv_contains ((const char * const *) canceled_ids, id));
}

static void
test_stream_errors (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;

  url = g_strdup_printf ("%s/v1/predictions/nosuchprediction", sq_fake_replicate_get_stream_origin (f->fake));
  stream = open_stream_sync (f->client, url, &error);
  g_assert_null (stream);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "Not found."));
  g_clear_error (&error);

  /* Not an event stream: the API answers JSON */
  g_clear_pointer (&url, g_free);
  url = g_strdup_printf ("%s/models/yorickvp/llava-13b", sq_replicate_client_get_api_url (f->client));
  stream = open_stream_sync (f->client, url, &error);
  g_assert_null (stream);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL);
  g_clear_error (&error);

  stream = open_stream_sync (f->client, "file:///etc/passwd", &error);
  g_assert_null (stream);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_PROTOCOL);
}

static void
test_last_event_id (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(JsonObject) input = llava_input ("Hello again");
  g_autoptr(JsonObject) prediction = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *full = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *last_id = NULL;
  const char *id_line;
  const char *end;

  sq_fake_replicate_set_random_splits (f->fake, FALSE);
  prediction = create_sync (f->client, LLAVA ":" LLAVA_VER, input, &error);
  g_assert_no_error (error);

  stream = open_stream_sync (f->client, string_at (prediction, "urls.stream"), &error);
  g_assert_no_error (error);
  full = read_all (stream);
  g_clear_object (&stream);

  /* The first event's id */
  id_line = strstr (full, "id: ");
  g_assert_nonnull (id_line);
  end = strchr (id_line, '\n');
  last_id = g_strndup (id_line + 4, end - id_line - 4);

  sq_replicate_client_open_stream_async (f->client, string_at (prediction, "urls.stream"), last_id,
                                         NULL, sq_test_store_result_cb, &result);
  stream = sq_replicate_client_open_stream_finish (f->client, sq_test_wait_result (&result), &error);
  g_assert_no_error (error);
  rest = read_all (stream);

  /* The server resumed after that event. */
  g_assert_null (strstr (rest, last_id));
  g_assert_nonnull (strstr (rest, "event: done"));
  g_assert_cmpuint (strlen (rest), <, strlen (full));
}

int
main (int   argc,
      char *argv[])
{
  log_text = g_string_new (NULL);
  g_log_set_writer_func (record_log_writer, NULL, NULL);

  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, data) \
  g_test_add ("/replicate-client/" path, Fixture, data, sq_test_fake_fixture_set_up, func, sq_test_fake_fixture_tear_down)

  g_test_add_func ("/replicate-client/base-url", test_base_url);
  ADD ("auth/origins", test_auth_origins, NULL);
  ADD ("auth/no-token-in-logs", test_no_token_in_logs, NULL);
  ADD ("errors/unauthorized", test_error_unauthorized, NULL);
  ADD ("errors/not-found", test_error_not_found, NULL);
  ADD ("errors/invalid", test_error_invalid, NULL);
  ADD ("errors/bad-reference", test_error_bad_reference, NULL);
  ADD ("retry/create-429-retry-after-header", test_retry_create_429, GINT_TO_POINTER (TRUE));
  ADD ("retry/create-429-retry-after-body", test_retry_create_429, GINT_TO_POINTER (FALSE));
  ADD ("retry/create-429-exhausted", test_retry_create_429_exhausted, NULL);
  ADD ("retry/get-429", test_retry_get_errors, GUINT_TO_POINTER (429));
  ADD ("retry/get-500", test_retry_get_errors, GUINT_TO_POINTER (500));
  ADD ("retry/get-503", test_retry_get_errors, GUINT_TO_POINTER (503));
  ADD ("retry/get-exhausted", test_retry_get_exhausted, NULL);
  ADD ("retry/wait-cancellable", test_retry_wait_cancellable, NULL);
  ADD ("cancelled-before", test_cancelled_before, NULL);
  ADD ("upload", test_upload, NULL);
  ADD ("upload-too-large", test_upload_too_large, NULL);
  ADD ("models", test_models, NULL);
  ADD ("create-forms", test_create_forms, NULL);
  ADD ("get-and-cancel", test_get_and_cancel, NULL);
  ADD ("stream/errors", test_stream_errors, NULL);
  ADD ("stream/last-event-id", test_last_event_id, NULL);

#undef ADD

  return g_test_run ();
}
