/* test-fake-replicate.c
 *
 * Drives the loopback fake Replicate server with a plain SoupSession.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <libsoup/soup.h>

#include "sq-fake-replicate.h"

#define LLAVA "yorickvp/llava-13b"
#define LLAVA_VERSION "e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358"
#define FUYU "lucataco/fuyu-8b"
#define FUYU_VERSION "42f23bc876570a46f5a90737086fbc4c3f79dd11753a28eaa39544dd391815e9"
#define COGVLM_VERSION "ec3886f9ea85dd0aee216585be5e6d07b04c9650f7b8b08363a14eb89e207eb2"
#define IMAGE_URL "https://example.com/cat.png"

/* 1×1 PNG */
static const char png_b64[] =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

typedef struct
{
  SqFakeReplicate *fake;
  SoupSession     *session;
} Fixture;

typedef struct
{
  guint     status;
  JsonNode *json;
  char     *content_type;
  char     *retry_after;
  char     *ratelimit_remaining;
} Response;

static void
response_clear (Response *r)
{
  g_clear_pointer (&r->json, json_node_unref);
  g_clear_pointer (&r->content_type, g_free);
  g_clear_pointer (&r->retry_after, g_free);
  g_clear_pointer (&r->ratelimit_remaining, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

typedef struct
{
  char *event;
  char *id;
  char *data;
} Event;

static void
event_free (Event *e)
{
  g_free (e->event);
  g_free (e->id);
  g_free (e->data);
  g_free (e);
}

/* g_set_str() is newer than GLib 2.74 */
static void
replace_str (char       **ptr,
             const char  *value)
{
  char *copy = g_strdup (value);

  g_free (*ptr);
  *ptr = copy;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->fake = sq_fake_replicate_new ();
  f->session = soup_session_new ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->session);
  if (f->fake)
    g_assert_finalize_object (f->fake);
}

static char *
api_url (Fixture    *f,
         const char *path)
{
  return g_strconcat (sq_fake_replicate_get_origin (f->fake), path, NULL);
}

static void
do_request_full (Fixture    *f,
                 const char *method,
                 const char *url,
                 const char *authorization,
                 const char *content_type,
                 GBytes     *body,
                 Response   *out)
{
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *headers;
  const char *ct;

  g_assert_nonnull (msg);
  headers = soup_message_get_request_headers (msg);
  if (authorization)
    soup_message_headers_replace (headers, "Authorization", authorization);
  soup_message_headers_replace (headers, "User-Agent", "test-fake-replicate/1.0");
  if (body)
    soup_message_set_request_body_from_bytes (msg, content_type, body);

  reply = soup_session_send_and_read (f->session, msg, NULL, &error);
  g_assert_no_error (error);

  memset (out, 0, sizeof *out);
  out->status = soup_message_get_status (msg);
  headers = soup_message_get_response_headers (msg);
  ct = soup_message_headers_get_content_type (headers, NULL);
  out->content_type = g_strdup (ct);
  out->retry_after = g_strdup (soup_message_headers_get_one (headers, "Retry-After"));
  out->ratelimit_remaining = g_strdup (soup_message_headers_get_one (headers, "ratelimit-remaining"));
  if (g_bytes_get_size (reply) > 0)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();

      json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL),
                                  g_bytes_get_size (reply), &error);
      g_assert_no_error (error);
      out->json = json_node_copy (json_parser_get_root (parser));
    }
}

static void
do_request (Fixture    *f,
            const char *method,
            const char *path,
            const char *json_body,
            Response   *out)
{
  g_autofree char *url = api_url (f, path);
  g_autoptr(GBytes) body = json_body ? g_bytes_new (json_body, strlen (json_body)) : NULL;

  do_request_full (f, method, url, "Bearer " SQ_FAKE_REPLICATE_TOKEN,
                   "application/json", body, out);
}

static JsonObject *
obj (Response *r)
{
  g_assert_nonnull (r->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (r->json));
  return json_node_get_object (r->json);
}

static char *
data_uri (void)
{
  return g_strconcat ("data:image/png;base64,", png_b64, NULL);
}

static char *
png_sha256 (void)
{
  gsize len;
  g_autofree guchar *bytes = g_base64_decode (png_b64, &len);

  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, bytes, len);
}

static char *
create_body (const char *version,
             const char *image,
             const char *prompt)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, version);
  json_builder_set_member_name (b, "input");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "image");
  json_builder_add_string_value (b, image);
  json_builder_set_member_name (b, "prompt");
  json_builder_add_string_value (b, prompt);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "stream");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

/* Creates a prediction and returns its JSON (asserting 201). */
static JsonObject *
create_prediction (Fixture    *f,
                   const char *version,
                   const char *image,
                   const char *prompt)
{
  g_autofree char *body = create_body (version, image, prompt);
  g_auto(Response) r = { 0 };

  do_request (f, "POST", "/v1/predictions", body, &r);
  g_assert_cmpuint (r.status, ==, 201);
  return json_object_ref (obj (&r));
}

static JsonObject *
get_prediction (Fixture    *f,
                const char *id)
{
  g_autofree char *path = g_strdup_printf ("/v1/predictions/%s", id);
  g_auto(Response) r = { 0 };

  do_request (f, "GET", path, NULL, &r);
  g_assert_cmpuint (r.status, ==, 200);
  return json_object_ref (obj (&r));
}

static gboolean
is_terminal (const char *status)
{
  return g_str_equal (status, "succeeded") || g_str_equal (status, "failed") ||
         g_str_equal (status, "canceled");
}

static JsonObject *
poll_until_done (Fixture    *f,
                 const char *id)
{
  for (;;)
    {
      JsonObject *p = get_prediction (f, id);

      if (is_terminal (json_object_get_string_member (p, "status")))
        return p;
      json_object_unref (p);
      g_usleep (2000);
    }
}

static char *
join_output (JsonObject *p)
{
  JsonNode *output = json_object_get_member (p, "output");
  GString *s = g_string_new (NULL);

  if (JSON_NODE_HOLDS_ARRAY (output))
    {
      JsonArray *a = json_node_get_array (output);

      for (guint i = 0; i < json_array_get_length (a); i++)
        g_string_append (s, json_array_get_string_element (a, i));
    }
  else if (JSON_NODE_HOLDS_VALUE (output))
    g_string_append (s, json_node_get_string (output));
  return g_string_free (s, FALSE);
}

/* Minimal SSE reader: handles \n, \r\n and \r, comments, multi-line data
 * and one optional space after the colon. Returns the events; *truncated
 * is set when the body ended with a read error. */
static GPtrArray *
read_sse (Fixture    *f,
          const char *url,
          const char *last_event_id,
          gboolean   *truncated,
          char      **content_type)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) raw = g_string_new (NULL);
  g_autoptr(GString) line = g_string_new (NULL);
  g_autoptr(GString) data = g_string_new (NULL);
  g_autofree char *event = NULL;
  g_autofree char *id = NULL;
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) event_free);
  gboolean have_data = FALSE;
  char buf[97];
  gssize n;

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "text/event-stream");
  if (last_event_id)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Last-Event-ID", last_event_id);
  stream = soup_session_send (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  if (content_type)
    *content_type = g_strdup (soup_message_headers_get_content_type (soup_message_get_response_headers (msg), NULL));

  *truncated = FALSE;
  while ((n = g_input_stream_read (stream, buf, sizeof buf, NULL, &error)) > 0)
    g_string_append_len (raw, buf, n);
  if (n < 0)
    {
      *truncated = TRUE;
      g_clear_error (&error);
    }

  for (gsize i = 0; i <= raw->len; i++)
    {
      char c = i < raw->len ? raw->str[i] : '\n';
      const char *colon;
      const char *value;
      g_autofree char *field = NULL;

      if (c != '\n' && c != '\r')
        {
          g_string_append_c (line, c);
          continue;
        }
      if (c == '\r' && i + 1 < raw->len && raw->str[i + 1] == '\n')
        i++;

      if (line->len == 0)
        {
          if (event || have_data)
            {
              Event *e = g_new0 (Event, 1);

              e->event = g_strdup (event ? event : "message");
              e->id = g_strdup (id);
              e->data = g_strdup (data->str);
              g_ptr_array_add (events, e);
            }
          g_clear_pointer (&event, g_free);
          g_clear_pointer (&id, g_free);
          g_string_truncate (data, 0);
          have_data = FALSE;
          continue;
        }
      if (line->str[0] == ':')
        {
          g_string_truncate (line, 0);
          continue;
        }
      colon = strchr (line->str, ':');
      field = colon ? g_strndup (line->str, colon - line->str) : g_strdup (line->str);
      value = colon ? colon + 1 : "";
      if (*value == ' ')
        value++;
      if (g_str_equal (field, "event"))
        replace_str (&event, value);
      else if (g_str_equal (field, "id"))
        replace_str (&id, value);
      else if (g_str_equal (field, "data"))
        {
          if (have_data)
            g_string_append_c (data, '\n');
          g_string_append (data, value);
          have_data = TRUE;
        }
      g_string_truncate (line, 0);
    }

  return events;
}

static char *
join_output_events (GPtrArray *events)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < events->len; i++)
    {
      Event *e = g_ptr_array_index (events, i);

      if (g_str_equal (e->event, "output"))
        g_string_append (s, e->data);
    }
  return g_string_free (s, FALSE);
}

static Event *
last_event (GPtrArray *events)
{
  g_assert_cmpuint (events->len, >, 0);
  return g_ptr_array_index (events, events->len - 1);
}

/* ------------------------------------------------------------------ */

static void
test_unauthorized (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *url = api_url (f, "/v1/predictions");
  g_autofree char *body_text = create_body (LLAVA_VERSION, IMAGE_URL, "hello");
  g_autoptr(GBytes) body = g_bytes_new (body_text, strlen (body_text));
  const char *headers[] = { NULL, "Bearer r8_wrong", "Token r8_wrong", SQ_FAKE_REPLICATE_TOKEN };

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      g_auto(Response) r = { 0 };

      do_request_full (f, "POST", url, headers[i], "application/json", body, &r);
      g_assert_cmpuint (r.status, ==, 401);
      g_assert_cmpstr (r.content_type, ==, "application/problem+json");
      g_assert_cmpstr (json_object_get_string_member (obj (&r), "title"), ==, "Unauthenticated");
      g_assert_cmpstr (json_object_get_string_member (obj (&r), "detail"), ==,
                       "You did not pass a valid authentication token");
      g_assert_cmpint (json_object_get_int_member (obj (&r), "status"), ==, 401);
    }

  /* The older "Token" scheme is accepted too */
  {
    g_auto(Response) r = { 0 };

    do_request_full (f, "POST", url, "Token " SQ_FAKE_REPLICATE_TOKEN, "application/json", body, &r);
    g_assert_cmpuint (r.status, ==, 201);
  }

  /* A changed token */
  sq_fake_replicate_set_token (f->fake, "r8_other");
  {
    g_auto(Response) r = { 0 };

    do_request_full (f, "POST", url, "Bearer " SQ_FAKE_REPLICATE_TOKEN, "application/json", body, &r);
    g_assert_cmpuint (r.status, ==, 401);
    response_clear (&r);
    do_request_full (f, "POST", url, "Bearer r8_other", "application/json", body, &r);
    g_assert_cmpuint (r.status, ==, 201);
  }

  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions"), ==, 7);
}

static void
test_create_and_stream (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *image = data_uri ();
  g_autofree char *sha = png_sha256 ();
  g_autofree char *expected = sq_fake_replicate_expected_answer (f->fake, LLAVA, sha, "What is this?");
  g_autoptr(JsonObject) p = create_prediction (f, LLAVA_VERSION, image, "What is this?");
  g_autoptr(JsonObject) final = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autofree char *stream_prefix = g_strconcat (sq_fake_replicate_get_stream_origin (f->fake), "/v1/predictions/", NULL);
  g_autofree char *get_url = NULL;
  g_autofree char *text = NULL;
  g_autofree char *polled = NULL;
  g_autofree char *content_type = NULL;
  JsonObject *urls = json_object_get_object_member (p, "urls");
  const char *id = json_object_get_string_member (p, "id");
  gboolean truncated;

  g_assert_cmpuint (strlen (id), ==, 26);
  for (const char *c = id; *c; c++)
    g_assert_true (g_ascii_islower (*c) || g_ascii_isdigit (*c));
  g_assert_cmpstr (json_object_get_string_member (p, "model"), ==, LLAVA);
  g_assert_cmpstr (json_object_get_string_member (p, "version"), ==, LLAVA_VERSION);
  g_assert_cmpstr (json_object_get_string_member (p, "status"), ==, "starting");
  g_assert_true (json_object_get_null_member (p, "output"));
  g_assert_true (json_object_get_null_member (p, "error"));
  g_assert_false (json_object_get_boolean_member (p, "data_removed"));
  g_assert_cmpstr (json_object_get_string_member (p, "source"), ==, "api");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (p, "created_at"), "Z"));
  g_assert_nonnull (strchr (json_object_get_string_member (p, "created_at"), '.'));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (p, "input"), "prompt"), ==,
                   "What is this?");
  get_url = g_strdup_printf ("%s/v1/predictions/%s", sq_fake_replicate_get_origin (f->fake), id);
  g_assert_cmpstr (json_object_get_string_member (urls, "get"), ==, get_url);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (urls, "cancel"), get_url));
  g_assert_true (g_str_has_suffix (json_object_get_string_member (urls, "cancel"), "/cancel"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (urls, "stream"), stream_prefix));
  g_assert_cmpstr (sq_fake_replicate_get_origin (f->fake), !=, sq_fake_replicate_get_stream_origin (f->fake));

  events = read_sse (f, json_object_get_string_member (urls, "stream"), NULL, &truncated, &content_type);
  g_assert_false (truncated);
  g_assert_cmpstr (content_type, ==, "text/event-stream");
  text = join_output_events (events);
  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpstr (last_event (events)->event, ==, "done");
  g_assert_cmpstr (last_event (events)->data, ==, "{}");
  g_assert_null (last_event (events)->id);
  /* Logs come first, and output ids count on from there */
  g_assert_cmpstr (((Event *) g_ptr_array_index (events, 0))->event, ==, "logs");
  g_assert_true (g_str_has_suffix (((Event *) g_ptr_array_index (events, 0))->id, ":0"));
  g_assert_cmpstr (((Event *) g_ptr_array_index (events, 1))->event, ==, "output");
  g_assert_true (g_str_has_suffix (((Event *) g_ptr_array_index (events, 1))->id, ":1"));

  final = poll_until_done (f, id);
  g_assert_cmpstr (json_object_get_string_member (final, "status"), ==, "succeeded");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (final, "output"), 0), ==, "");
  polled = join_output (final);
  g_assert_cmpstr (polled, ==, expected);
  g_assert_true (json_object_has_member (final, "completed_at"));
  g_assert_true (json_object_has_member (json_object_get_object_member (final, "metrics"), "predict_time"));

  /* The answer carries a newline and non-ASCII text */
  g_assert_nonnull (strchr (expected, '\n'));
  g_assert_true (g_utf8_validate (expected, -1, NULL));
  g_assert_cmpuint (g_utf8_strlen (expected, -1), <, strlen (expected));
  g_assert_true (g_str_has_prefix (expected, "llava-13b sees image "));

  requests = sq_fake_replicate_dup_requests (f->fake);
  g_assert_cmpuint (requests->len, >=, 3);
  {
    SqFakeRequest *create = g_ptr_array_index (requests, 0);
    SqFakeRequest *stream = g_ptr_array_index (requests, 1);

    g_assert_cmpstr (create->method, ==, "POST");
    g_assert_cmpstr (create->path, ==, "/v1/predictions");
    g_assert_cmpstr (create->user_agent, ==, "test-fake-replicate/1.0");
    g_assert_cmpstr (create->authorization, ==, "Bearer " SQ_FAKE_REPLICATE_TOKEN);
    g_assert_cmpuint (create->status, ==, 201);
    g_assert_false (create->on_stream_server);
    g_assert_true (json_object_get_boolean_member (json_node_get_object (create->body), "stream"));
    g_assert_true (stream->on_stream_server);
    g_assert_cmpuint (stream->status, ==, 200);
  }
}

static void
test_stream_late_and_resume (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *expected = NULL;
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, IMAGE_URL, -1);
  g_autoptr(JsonObject) p = NULL;
  g_autoptr(JsonObject) final = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) rest = NULL;
  g_autofree char *text = NULL;
  g_autofree char *tail = NULL;
  const char *stream_url;
  Event *third;
  gboolean truncated;

  sq_fake_replicate_set_token_delay_ms (f->fake, 0);
  sq_fake_replicate_set_start_delay_ms (f->fake, 0);
  sq_fake_replicate_set_answer_tokens (f->fake, 30);
  expected = sq_fake_replicate_expected_answer (f->fake, LLAVA, sha, "late");
  p = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "late");
  final = poll_until_done (f, json_object_get_string_member (p, "id"));
  stream_url = json_object_get_string_member (json_object_get_object_member (p, "urls"), "stream");

  /* Connecting after the end replays everything */
  all = read_sse (f, stream_url, NULL, &truncated, NULL);
  g_assert_false (truncated);
  text = join_output_events (all);
  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpuint (all->len, ==, 32);  /* logs, 30 outputs, done */

  /* Last-Event-ID replays only what followed */
  third = g_ptr_array_index (all, 2);
  rest = read_sse (f, stream_url, third->id, &truncated, NULL);
  g_assert_false (truncated);
  g_assert_cmpuint (rest->len, ==, 29);
  tail = join_output_events (rest);
  g_assert_true (g_str_has_suffix (expected, tail));
  g_assert_cmpuint (strlen (tail), <, strlen (expected));
}

static void
test_string_model (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, IMAGE_URL, -1);
  g_autofree char *expected = sq_fake_replicate_expected_answer (f->fake, FUYU, sha, "Describe");
  g_autoptr(JsonObject) p = create_prediction (f, FUYU_VERSION, IMAGE_URL, "Describe");
  g_autoptr(JsonObject) final = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autofree char *text = NULL;
  gboolean truncated;

  g_assert_cmpstr (json_object_get_string_member (p, "model"), ==, FUYU);
  events = read_sse (f, json_object_get_string_member (json_object_get_object_member (p, "urls"), "stream"),
                     NULL, &truncated, NULL);
  g_assert_false (truncated);
  g_assert_cmpuint (events->len, ==, 3);  /* logs, the whole string, done */
  text = join_output_events (events);
  g_assert_cmpstr (text, ==, expected);

  final = poll_until_done (f, json_object_get_string_member (p, "id"));
  g_assert_cmpstr (json_object_get_string_member (final, "status"), ==, "succeeded");
  g_assert_cmpstr (json_object_get_string_member (final, "output"), ==, expected);
}

static void
test_polling_growth (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, IMAGE_URL, -1);
  g_autofree char *expected = NULL;
  g_autoptr(JsonObject) p = NULL;
  g_autofree char *previous = g_strdup ("");
  gboolean saw_starting_or_null = FALSE;
  guint distinct = 0;
  const char *id;

  sq_fake_replicate_set_token_delay_ms (f->fake, 100);
  sq_fake_replicate_set_answer_tokens (f->fake, 10);
  expected = sq_fake_replicate_expected_answer (f->fake, LLAVA, sha, "grow");
  p = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "grow");
  id = json_object_get_string_member (p, "id");

  for (;;)
    {
      g_autoptr(JsonObject) cur = get_prediction (f, id);
      g_autofree char *text = join_output (cur);
      const char *status = json_object_get_string_member (cur, "status");

      if (json_object_get_null_member (cur, "output"))
        saw_starting_or_null = TRUE;
      /* Output only ever grows, as a prefix of the answer */
      g_assert_true (g_str_has_prefix (text, previous));
      g_assert_true (g_str_has_prefix (expected, text));
      if (strlen (text) > strlen (previous))
        distinct++;
      replace_str (&previous, text);
      if (is_terminal (status))
        {
          g_assert_cmpstr (status, ==, "succeeded");
          break;
        }
      g_assert_true (g_str_equal (status, "starting") || g_str_equal (status, "processing"));
      g_usleep (5000);
    }
  g_assert_cmpstr (previous, ==, expected);
  g_assert_true (saw_starting_or_null);
  g_assert_cmpuint (distinct, >, 1);
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(JsonObject) p = NULL;
  g_autoptr(JsonObject) later = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_auto(GStrv) canceled = NULL;
  g_autofree char *path = NULL;
  g_auto(Response) r = { 0 };
  const char *id;
  gboolean truncated;

  sq_fake_replicate_set_token_delay_ms (f->fake, 60 * 1000);
  p = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "stop me");
  id = json_object_get_string_member (p, "id");

  path = g_strdup_printf ("/v1/predictions/%s/cancel", id);
  do_request (f, "POST", path, NULL, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "status"), ==, "canceled");
  g_assert_true (json_object_has_member (obj (&r), "completed_at"));

  later = get_prediction (f, id);
  g_assert_cmpstr (json_object_get_string_member (later, "status"), ==, "canceled");

  events = read_sse (f, json_object_get_string_member (json_object_get_object_member (p, "urls"), "stream"),
                     NULL, &truncated, NULL);
  g_assert_false (truncated);
  g_assert_cmpstr (last_event (events)->event, ==, "done");
  g_assert_cmpstr (last_event (events)->data, ==, "{\"reason\":\"canceled\"}");

  canceled = sq_fake_replicate_dup_canceled_ids (f->fake);
  g_assert_cmpuint (g_strv_length (canceled), ==, 1);
  g_assert_cmpstr (canceled[0], ==, id);

  response_clear (&r);
  do_request (f, "POST", "/v1/predictions/doesnotexist000000000000000/cancel", NULL, &r);
  g_assert_cmpuint (r.status, ==, 404);
  response_clear (&r);
  do_request (f, "GET", "/v1/predictions/doesnotexist000000000000000", NULL, &r);
  g_assert_cmpuint (r.status, ==, 404);
}

static void
assert_422 (Fixture    *f,
            const char *path,
            const char *body,
            const char *detail_part)
{
  g_auto(Response) r = { 0 };
  const char *detail;

  do_request (f, "POST", path, body, &r);
  g_assert_cmpuint (r.status, ==, 422);
  g_assert_cmpstr (r.content_type, ==, "application/problem+json");
  detail = json_object_get_string_member (obj (&r), "detail");
  if (strstr (detail, detail_part) == NULL)
    g_error ("detail %s does not contain %s", detail, detail_part);
  g_assert_cmpint (json_object_get_int_member (obj (&r), "status"), ==, 422);
}

static void
test_validation (Fixture       *f,
                 gconstpointer  data)
{
  const char *p = "/v1/predictions";

  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"" IMAGE_URL "\","
              "\"prompt\":\"x\",\"max_new_tokens\":5}}",
              "input: Additional property max_new_tokens is not allowed");
  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"" IMAGE_URL "\","
              "\"prompt\":\"x\",\"top_p\":1.5}}",
              "input.top_p: Must be less than or equal to 1");
  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"" IMAGE_URL "\","
              "\"prompt\":\"x\",\"temperature\":-1}}",
              "input.temperature: Must be greater than or equal to 0");
  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"" IMAGE_URL "\","
              "\"prompt\":\"x\",\"max_tokens\":\"12\"}}",
              "input.max_tokens: Invalid type. Expected: integer, given: string");
  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"" IMAGE_URL "\","
              "\"prompt\":\"x\",\"max_tokens\":1.5}}",
              "Expected: integer, given: number");
  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"" IMAGE_URL "\"}}",
              "input: prompt is required");
  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"/tmp/cat.png\",\"prompt\":\"x\"}}",
              "input.image");
  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"data:image/png;base64,!!!!\","
              "\"prompt\":\"x\"}}", "input.image");
  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"data:text/plain;base64,aGk=\","
              "\"prompt\":\"x\"}}", "input.image");
  assert_422 (f, p, "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"image\":\"" IMAGE_URL "\","
              "\"prompt\":\"x\"},\"webhook_completed\":\"https://example.com\"}",
              "Additional property webhook_completed is not allowed");
  assert_422 (f, p, "{\"version\":\"0000000000000000000000000000000000000000000000000000000000000000\","
              "\"input\":{\"prompt\":\"x\"}}",
              "The specified version does not exist");
  assert_422 (f, p, "{\"version\":\"" LLAVA "\",\"input\":{\"prompt\":\"x\"}}",
              "The specified version does not exist");
  assert_422 (f, p, "{\"version\":\"" LLAVA ":" FUYU_VERSION "\",\"input\":{\"prompt\":\"x\"}}",
              "The specified version does not exist");
  assert_422 (f, "/v1/models/openai/gpt-4o-mini/predictions",
              "{\"version\":\"" LLAVA_VERSION "\",\"input\":{\"prompt\":\"x\"}}",
              "Additional property version is not allowed");
  assert_422 (f, p, "{\"version\":\"zsxkib/molmo-7b:76ebd700864218a4ca97ac1ccff068be7222272859f9ea2ae1dd4ac073fa8de8\","
              "\"input\":{\"image\":\"" IMAGE_URL "\",\"dtype\":\"int4\"}}",
              "input.dtype must be one of the following: \"bfloat16\", \"float16\"");

  /* Nothing was created */
  g_assert_cmpuint (sq_fake_replicate_count_requests (f->fake, "POST", NULL), ==, 15);
  {
    g_auto(Response) r = { 0 };

    do_request (f, "GET", "/v1/predictions", NULL, &r);
    g_assert_cmpuint (r.status, ==, 200);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj (&r), "results")), ==, 0);
  }

  /* The version formats that are accepted */
  {
    g_autoptr(JsonObject) a = create_prediction (f, LLAVA ":" LLAVA_VERSION, IMAGE_URL, "x");
    g_auto(Response) r = { 0 };

    g_assert_cmpstr (json_object_get_string_member (a, "version"), ==, LLAVA_VERSION);
    do_request (f, "POST", p, "{\"version\":\"openai/gpt-4o-mini\",\"input\":{\"prompt\":\"x\"}}", &r);
    g_assert_cmpuint (r.status, ==, 201);
    g_assert_cmpstr (json_object_get_string_member (obj (&r), "version"), ==, "hidden");
  }
}

static void
test_throttle (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *body = create_body (LLAVA_VERSION, IMAGE_URL, "x");

  sq_fake_replicate_queue_create_429 (f->fake, 2, 3, TRUE);
  for (guint i = 0; i < 3; i++)
    {
      g_auto(Response) r = { 0 };

      do_request (f, "POST", "/v1/predictions", body, &r);
      if (i < 2)
        {
          g_assert_cmpuint (r.status, ==, 429);
          g_assert_cmpstr (r.retry_after, ==, "3");
          g_assert_true (g_str_has_prefix (json_object_get_string_member (obj (&r), "detail"),
                                           "Request was throttled."));
        }
      else
        {
          g_assert_cmpuint (r.status, ==, 201);
          g_assert_cmpstr (r.ratelimit_remaining, ==, "599");
        }
    }

  sq_fake_replicate_queue_create_429 (f->fake, 1, 5, FALSE);
  {
    g_auto(Response) r = { 0 };

    do_request (f, "POST", "/v1/predictions", body, &r);
    g_assert_cmpuint (r.status, ==, 429);
    g_assert_null (r.retry_after);
    g_assert_cmpint (json_object_get_int_member (obj (&r), "retry_after"), ==, 5);
    g_assert_cmpint (json_object_get_int_member (obj (&r), "status"), ==, 429);
  }

  sq_fake_replicate_queue_get_errors (f->fake, 2, 503);
  {
    g_auto(Response) r = { 0 };

    do_request (f, "GET", "/v1/models/" LLAVA, NULL, &r);
    g_assert_cmpuint (r.status, ==, 503);
    response_clear (&r);
    do_request (f, "GET", "/v1/models/" LLAVA, NULL, &r);
    g_assert_cmpuint (r.status, ==, 503);
    response_clear (&r);
    do_request (f, "GET", "/v1/models/" LLAVA, NULL, &r);
    g_assert_cmpuint (r.status, ==, 200);
  }
}

static void
test_files (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *url = api_url (f, "/v1/files");
  g_autoptr(SoupMultipart) multipart = soup_multipart_new ("multipart/form-data");
  g_autoptr(SoupMessageHeaders) part_headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_MULTIPART);
  g_autoptr(GBytes) content = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) meta = g_bytes_new_static ("{\"source\":\"test\"}", 17);
  g_autoptr(SoupMessage) dummy = soup_message_new ("POST", url);
  g_autofree char *sha = NULL;
  g_autofree char *md5 = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) p = NULL;
  g_autoptr(JsonObject) final = NULL;
  g_auto(Response) r = { 0 };
  g_auto(Response) g = { 0 };
  gsize len;
  guchar *png = g_base64_decode (png_b64, &len);
  const char *file_url;

  content = g_bytes_new_take (png, len);
  sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, content);
  md5 = g_compute_checksum_for_bytes (G_CHECKSUM_MD5, content);
  soup_multipart_append_form_file (multipart, "content", "cat.png", "image/png", content);
  soup_multipart_append_form_string (multipart, "metadata", "{\"source\":\"test\"}");
  soup_multipart_to_message (multipart, soup_message_get_request_headers (dummy), &body);
  do_request_full (f, "POST", url, "Bearer " SQ_FAKE_REPLICATE_TOKEN,
                   soup_message_headers_get_one (soup_message_get_request_headers (dummy), "Content-Type"),
                   body, &r);
  g_assert_cmpuint (r.status, ==, 201);
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "name"), ==, "cat.png");
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "content_type"), ==, "image/png");
  g_assert_cmpint (json_object_get_int_member (obj (&r), "size"), ==, len);
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "etag"), ==, md5);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (obj (&r), "checksums"), "sha256"), ==, sha);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (obj (&r), "checksums"), "md5"), ==, md5);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (obj (&r), "metadata"), "source"), ==, "test");
  g_assert_true (json_object_has_member (obj (&r), "created_at"));
  g_assert_true (json_object_has_member (obj (&r), "expires_at"));
  file_url = json_object_get_string_member (json_object_get_object_member (obj (&r), "urls"), "get");
  g_assert_true (g_str_has_prefix (file_url, url));

  do_request_full (f, "GET", file_url, "Bearer " SQ_FAKE_REPLICATE_TOKEN, NULL, NULL, &g);
  g_assert_cmpuint (g.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (obj (&g), "id"), ==,
                   json_object_get_string_member (obj (&r), "id"));

  /* Use the upload in a prediction: the answer names the file's bytes */
  expected = sq_fake_replicate_expected_answer (f->fake, LLAVA, sha, "uploaded");
  p = create_prediction (f, LLAVA_VERSION, file_url, "uploaded");
  final = poll_until_done (f, json_object_get_string_member (p, "id"));
  text = join_output (final);
  g_assert_cmpstr (text, ==, expected);

  /* An unknown files URL of this server is refused */
  {
    g_autofree char *bad_url = api_url (f, "/v1/files/nosuchfile");
    g_autofree char *bad = create_body (LLAVA_VERSION, bad_url, "x");

    assert_422 (f, "/v1/predictions", bad, "input.image");
  }

  /* No content part */
  {
    g_autoptr(SoupMultipart) empty = soup_multipart_new ("multipart/form-data");
    g_autoptr(GBytes) empty_body = NULL;
    g_autoptr(SoupMessage) dummy2 = soup_message_new ("POST", url);
    g_auto(Response) e = { 0 };

    soup_multipart_append_form_string (empty, "metadata", "{}");
    soup_multipart_to_message (empty, soup_message_get_request_headers (dummy2), &empty_body);
    do_request_full (f, "POST", url, "Bearer " SQ_FAKE_REPLICATE_TOKEN,
                     soup_message_headers_get_one (soup_message_get_request_headers (dummy2), "Content-Type"),
                     empty_body, &e);
    g_assert_cmpuint (e.status, ==, 422);
  }
  (void) part_headers;
  (void) meta;
}

static void
test_models (Fixture       *f,
             gconstpointer  data)
{
  g_auto(Response) r = { 0 };
  JsonObject *latest, *schemas, *props;

  do_request (f, "GET", "/v1/models/" LLAVA, NULL, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "owner"), ==, "yorickvp");
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "name"), ==, "llava-13b");
  latest = json_object_get_object_member (obj (&r), "latest_version");
  g_assert_cmpstr (json_object_get_string_member (latest, "id"), ==, LLAVA_VERSION);
  g_assert_true (json_object_has_member (latest, "cog_version"));
  g_assert_true (json_object_has_member (latest, "created_at"));
  schemas = json_object_get_object_member (json_object_get_object_member (json_object_get_object_member (latest, "openapi_schema"), "components"), "schemas");
  props = json_object_get_object_member (json_object_get_object_member (schemas, "Input"), "properties");
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (props, "top_p"), "maximum"), ==, 1.0);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (props, "image"), "format"), ==, "uri");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (schemas, "Output"), "x-cog-array-display"), ==, "concatenate");
  response_clear (&r);

  do_request (f, "GET", "/v1/models/" LLAVA "/versions/" LLAVA_VERSION, NULL, &r);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "id"), ==, LLAVA_VERSION);
  g_assert_true (json_object_has_member (obj (&r), "openapi_schema"));
  response_clear (&r);

  /* molmo's enum is a reference, like older cog schemas */
  do_request (f, "GET", "/v1/models/zsxkib/molmo-7b", NULL, &r);
  g_assert_cmpuint (r.status, ==, 200);
  latest = json_object_get_object_member (obj (&r), "latest_version");
  schemas = json_object_get_object_member (json_object_get_object_member (json_object_get_object_member (latest, "openapi_schema"), "components"), "schemas");
  props = json_object_get_object_member (json_object_get_object_member (schemas, "Input"), "properties");
  g_assert_true (json_object_has_member (json_object_get_object_member (props, "dtype"), "allOf"));
  g_assert_true (json_object_has_member (json_object_get_object_member (schemas, "dtype"), "enum"));
  response_clear (&r);

  do_request (f, "GET", "/v1/models/nobody/nothing", NULL, &r);
  g_assert_cmpuint (r.status, ==, 404);
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "detail"), ==, "Not found.");
  g_assert_cmpint (json_object_get_int_member (obj (&r), "status"), ==, 404);
  response_clear (&r);

  do_request (f, "GET", "/v1/models/" LLAVA "/versions/" FUYU_VERSION, NULL, &r);
  g_assert_cmpuint (r.status, ==, 404);
}

static void
test_drop (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, IMAGE_URL, -1);
  g_autofree char *expected = sq_fake_replicate_expected_answer (f->fake, LLAVA, sha, "drop");
  g_autoptr(JsonObject) p = NULL;
  g_autoptr(JsonObject) final = NULL;
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) second = NULL;
  g_autofree char *text = NULL;
  g_autofree char *resumed = NULL;
  g_autofree char *polled = NULL;
  const char *stream_url;
  gboolean truncated;

  sq_fake_replicate_set_drop_streams_after (f->fake, 4);
  p = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "drop");
  stream_url = json_object_get_string_member (json_object_get_object_member (p, "urls"), "stream");

  first = read_sse (f, stream_url, NULL, &truncated, NULL);
  g_assert_true (truncated);
  g_assert_cmpuint (first->len, ==, 5);  /* logs and 4 outputs */
  g_assert_cmpstr (last_event (first)->event, ==, "output");
  text = join_output_events (first);
  g_assert_true (g_str_has_prefix (expected, text));

  /* Polling still completes it */
  final = poll_until_done (f, json_object_get_string_member (p, "id"));
  polled = join_output (final);
  g_assert_cmpstr (polled, ==, expected);

  /* Resuming after the last id continues where it stopped */
  sq_fake_replicate_set_drop_streams_after (f->fake, -1);
  second = read_sse (f, stream_url, last_event (first)->id, &truncated, NULL);
  g_assert_false (truncated);
  g_assert_cmpstr (last_event (second)->event, ==, "done");
  resumed = join_output_events (second);
  {
    g_autofree char *all = g_strconcat (text, resumed, NULL);
    g_assert_cmpstr (all, ==, expected);
  }

  /* The prompt trigger */
  {
    g_autoptr(JsonObject) q = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "please [[drop]]");
    g_autoptr(GPtrArray) events = NULL;

    events = read_sse (f, json_object_get_string_member (json_object_get_object_member (q, "urls"), "stream"),
                       NULL, &truncated, NULL);
    g_assert_true (truncated);
    g_assert_cmpuint (events->len, ==, 4);
  }

  /* A string model drops after its single output event */
  {
    g_autoptr(JsonObject) q = create_prediction (f, FUYU_VERSION, IMAGE_URL, "[[drop]] fuyu");
    g_autoptr(GPtrArray) events = NULL;

    events = read_sse (f, json_object_get_string_member (json_object_get_object_member (q, "urls"), "stream"),
                       NULL, &truncated, NULL);
    g_assert_true (truncated);
    g_assert_cmpuint (events->len, ==, 2);
    g_assert_cmpstr (last_event (events)->event, ==, "output");
  }
}

static void
test_fail (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(JsonObject) p = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "[[fail]] now");
  g_autoptr(JsonObject) final = NULL;
  g_autoptr(GPtrArray) events = NULL;
  Event *error_event;
  gboolean truncated;

  events = read_sse (f, json_object_get_string_member (json_object_get_object_member (p, "urls"), "stream"),
                     NULL, &truncated, NULL);
  g_assert_false (truncated);
  g_assert_cmpuint (events->len, >=, 2);
  error_event = g_ptr_array_index (events, events->len - 2);
  g_assert_cmpstr (error_event->event, ==, "error");
  g_assert_true (g_str_has_prefix (error_event->data, "{\"detail\":"));
  g_assert_cmpstr (last_event (events)->event, ==, "done");
  g_assert_cmpstr (last_event (events)->data, ==, "{\"reason\":\"error\"}");

  final = poll_until_done (f, json_object_get_string_member (p, "id"));
  g_assert_cmpstr (json_object_get_string_member (final, "status"), ==, "failed");
  g_assert_nonnull (json_object_get_string_member (final, "error"));
}

static void
test_official_and_deployment (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *image = data_uri ();
  g_autofree char *sha = png_sha256 ();
  g_autofree char *body = g_strdup_printf ("{\"input\":{\"prompt\":\"hi\",\"image_input\":[\"%s\"]}}", image);
  g_autofree char *expected = sq_fake_replicate_expected_answer (f->fake, "openai/gpt-4o-mini", sha, "hi");
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) final = NULL;
  g_auto(Response) r = { 0 };

  do_request (f, "POST", "/v1/models/openai/gpt-4o-mini/predictions", body, &r);
  g_assert_cmpuint (r.status, ==, 201);
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "version"), ==, "hidden");
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "model"), ==, "openai/gpt-4o-mini");
  final = poll_until_done (f, json_object_get_string_member (obj (&r), "id"));
  text = join_output (final);
  g_assert_cmpstr (text, ==, expected);
  response_clear (&r);

  /* Community models are not served by the official-model endpoint */
  do_request (f, "POST", "/v1/models/" LLAVA "/predictions",
              "{\"input\":{\"prompt\":\"hi\",\"image\":\"" IMAGE_URL "\"}}", &r);
  g_assert_cmpuint (r.status, ==, 404);
  response_clear (&r);

  do_request (f, "POST", "/v1/deployments/acme/llava-deploy/predictions",
              "{\"input\":{\"prompt\":\"hi\",\"image\":\"" IMAGE_URL "\"},\"stream\":true}", &r);
  g_assert_cmpuint (r.status, ==, 201);
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "model"), ==, LLAVA);
  g_assert_cmpstr (json_object_get_string_member (obj (&r), "deployment"), ==, "acme/llava-deploy");
  response_clear (&r);

  do_request (f, "POST", "/v1/deployments/acme/nothing/predictions",
              "{\"input\":{\"prompt\":\"hi\",\"image\":\"" IMAGE_URL "\"}}", &r);
  g_assert_cmpuint (r.status, ==, 404);
}

static void
test_no_stream (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(JsonObject) cog = create_prediction (f, COGVLM_VERSION, IMAGE_URL, "x");
  g_autoptr(JsonObject) llava = NULL;

  g_assert_false (json_object_has_member (json_object_get_object_member (cog, "urls"), "stream"));
  g_assert_true (json_object_has_member (json_object_get_object_member (cog, "urls"), "get"));

  sq_fake_replicate_set_no_stream (f->fake, TRUE);
  llava = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "x");
  g_assert_false (json_object_has_member (json_object_get_object_member (llava, "urls"), "stream"));
}

static void
test_file_too_large (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *url = api_url (f, "/v1/files");
  g_autoptr(SoupMultipart) multipart = soup_multipart_new ("multipart/form-data");
  g_autoptr(SoupMessage) dummy = soup_message_new ("POST", url);
  g_autoptr(GBytes) content = g_bytes_new_static ("0123456789abcdef0123", 20);
  g_autoptr(GBytes) body = NULL;
  g_auto(Response) r = { 0 };

  sq_fake_replicate_set_max_file_size (f->fake, 16);
  soup_multipart_append_form_file (multipart, "content", "big.bin", "application/octet-stream", content);
  soup_multipart_to_message (multipart, soup_message_get_request_headers (dummy), &body);
  do_request_full (f, "POST", url, "Bearer " SQ_FAKE_REPLICATE_TOKEN,
                   soup_message_headers_get_one (soup_message_get_request_headers (dummy), "Content-Type"),
                   body, &r);
  g_assert_cmpuint (r.status, ==, 413);
  g_assert_cmpstr (r.content_type, ==, "application/problem+json");
}

static GInputStream *
open_stream (Fixture    *f,
             const char *url)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GError) error = NULL;
  GInputStream *stream;
  char buf[6];
  gsize n;

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept", "text/event-stream");
  stream = soup_session_send (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  g_input_stream_read_all (stream, buf, sizeof buf, &n, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 6);
  g_assert_cmpmem (buf, 6, ": hi\n\n", 6);
  return stream;
}

static void
test_client_goes_away (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(JsonObject) p = NULL;
  g_autoptr(JsonObject) q = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GPtrArray) events = NULL;
  gboolean truncated;

  sq_fake_replicate_set_token_delay_ms (f->fake, 5);
  sq_fake_replicate_set_answer_tokens (f->fake, 40);
  p = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "bye");
  stream = open_stream (f, json_object_get_string_member (json_object_get_object_member (p, "urls"), "stream"));
  g_input_stream_close (stream, NULL, NULL);
  g_clear_object (&stream);

  /* The fake keeps serving */
  q = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "again");
  events = read_sse (f, json_object_get_string_member (json_object_get_object_member (q, "urls"), "stream"),
                     NULL, &truncated, NULL);
  g_assert_false (truncated);
  g_assert_cmpstr (last_event (events)->event, ==, "done");
}

static void
test_dispose_while_streaming (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(JsonObject) p = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GError) error = NULL;
  char buf[64];
  gssize n;

  sq_fake_replicate_set_token_delay_ms (f->fake, 60 * 1000);
  p = create_prediction (f, LLAVA_VERSION, IMAGE_URL, "forever");
  stream = open_stream (f, json_object_get_string_member (json_object_get_object_member (p, "urls"), "stream"));

  g_assert_finalize_object (g_steal_pointer (&f->fake));

  /* The connection is gone: no clean end of the body */
  do
    n = g_input_stream_read (stream, buf, sizeof buf, NULL, &error);
  while (n > 0);
  g_assert_cmpint (n, ==, -1);
  g_assert_nonnull (error);
}

static JsonObject *
create_with_prefer (Fixture    *f,
                    const char *prefer,
                    guint       expected_status,
                    char      **applied)
{
  g_autofree char *url = api_url (f, "/v1/predictions");
  g_autofree char *body = create_body (LLAVA_VERSION, IMAGE_URL, "wait for it");
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                "Bearer " SQ_FAKE_REPLICATE_TOKEN);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Prefer", prefer);
  soup_message_set_request_body_from_bytes (msg, "application/json", request);
  reply = soup_session_send_and_read (f->session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, expected_status);
  *applied = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                     "Preference-Applied"));
  json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL), g_bytes_get_size (reply), &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
test_prefer_wait (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, IMAGE_URL, -1);
  g_autofree char *expected = sq_fake_replicate_expected_answer (f->fake, LLAVA, sha, "wait for it");
  g_autofree char *applied = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonObject) done = NULL;
  g_autoptr(JsonObject) pending = NULL;
  g_autoptr(JsonObject) bad = NULL;

  /* Finished within the wait: the answer is complete */
  done = create_with_prefer (f, "wait=30", 201, &applied);
  g_assert_cmpstr (applied, ==, "wait=30");
  g_assert_cmpstr (json_object_get_string_member (done, "status"), ==, "succeeded");
  text = join_output (done);
  g_assert_cmpstr (text, ==, expected);
  g_clear_pointer (&applied, g_free);

  /* Not finished when the wait is over: the prediction as it is */
  sq_fake_replicate_set_token_delay_ms (f->fake, 60 * 1000);
  pending = create_with_prefer (f, "wait=1", 201, &applied);
  g_assert_cmpstr (applied, ==, "wait=1");
  g_assert_false (is_terminal (json_object_get_string_member (pending, "status")));
  g_clear_pointer (&applied, g_free);

  bad = create_with_prefer (f, "wait=61", 400, &applied);
  g_assert_null (applied);
  g_assert_cmpint (json_object_get_int_member (bad, "status"), ==, 400);
}

static void
send_and_read_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  GError **error = user_data;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result, error);

  if (*error == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "unexpected answer");
}

static void
test_dispose_while_waiting (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *url = api_url (f, "/v1/predictions");
  g_autofree char *body = create_body (LLAVA_VERSION, IMAGE_URL, "never");
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));
  GError *error = NULL;

  sq_fake_replicate_set_token_delay_ms (f->fake, 60 * 1000);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                "Bearer " SQ_FAKE_REPLICATE_TOKEN);
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Prefer", "wait");
  soup_message_set_request_body_from_bytes (msg, "application/json", request);
  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, send_and_read_cb, &error);

  /* The fake holds the answer; take it down meanwhile */
  while (sq_fake_replicate_count_requests (f->fake, "POST", "/v1/predictions") == 0)
    g_main_context_iteration (NULL, FALSE);
  g_assert_finalize_object (g_steal_pointer (&f->fake));

  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_FAILED));
  g_clear_error (&error);
}

static void
test_new_and_free (void)
{
  /* Stopping right after starting must not hang (the quit used to be
   * lost when it came before the server thread ran its loop). */
  for (guint i = 0; i < 200; i++)
    {
      SqFakeReplicate *fake = sq_fake_replicate_new ();

      g_assert_finalize_object (fake);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  g_test_add_func ("/fake-replicate/new-and-free", test_new_and_free);
  ADD ("/fake-replicate/unauthorized", test_unauthorized);
  ADD ("/fake-replicate/create-and-stream", test_create_and_stream);
  ADD ("/fake-replicate/stream-late-and-resume", test_stream_late_and_resume);
  ADD ("/fake-replicate/string-model", test_string_model);
  ADD ("/fake-replicate/polling-growth", test_polling_growth);
  ADD ("/fake-replicate/cancel", test_cancel);
  ADD ("/fake-replicate/validation", test_validation);
  ADD ("/fake-replicate/throttle", test_throttle);
  ADD ("/fake-replicate/files", test_files);
  ADD ("/fake-replicate/models", test_models);
  ADD ("/fake-replicate/drop", test_drop);
  ADD ("/fake-replicate/fail", test_fail);
  ADD ("/fake-replicate/official-and-deployment", test_official_and_deployment);
  ADD ("/fake-replicate/no-stream", test_no_stream);
  ADD ("/fake-replicate/file-too-large", test_file_too_large);
  ADD ("/fake-replicate/prefer-wait", test_prefer_wait);
  ADD ("/fake-replicate/client-goes-away", test_client_goes_away);
  ADD ("/fake-replicate/dispose-while-streaming", test_dispose_while_streaming);
  ADD ("/fake-replicate/dispose-while-waiting", test_dispose_while_waiting);

  return g_test_run ();
}
