/* sq-fake-replicate.c
 *
 * A loopback fake of the Replicate HTTP API. See sq-fake-replicate.h.
 *
 * Predictions progress on the server's own monotonic clock: their state is
 * a pure function of the time elapsed since creation (start delay, then one
 * token per token delay), so they advance whether or not anybody polls or
 * streams. Stream connections are driven by a timer in the stream server's
 * thread that wakes when the next event is due.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-fake-replicate"

#include "config.h"

#include <string.h>
#include <stdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <libsoup/soup.h>

#include "sq-fake-replicate.h"

#define DEFAULT_MAX_FILE_SIZE (100 * 1024 * 1024)
#define FAIL_AFTER_TOKENS 3
#define DROP_TRIGGER_TOKENS 3
#define MAX_PIECE 16
#define LOGS_LINES "Loading model weights\nProcessing image"

/* ------------------------------------------------------------------ */
/* Models                                                               */
/* ------------------------------------------------------------------ */

typedef enum
{
  PROP_STRING,
  PROP_URI,
  PROP_INTEGER,
  PROP_NUMBER,
  PROP_BOOLEAN,
  PROP_URI_ARRAY,
  PROP_ENUM_REF,
} PropKind;

typedef struct
{
  const char         *name;
  PropKind            kind;
  const char         *title;
  const char         *description;
  const char         *default_json;  /* NULL: no default */
  gboolean            has_minimum;
  double              minimum;
  gboolean            has_maximum;
  double              maximum;
  gboolean            required;
  const char * const *enum_values;   /* for PROP_ENUM_REF */
} PropSpec;

typedef enum
{
  OUTPUT_CONCATENATE_ITERATOR,
  OUTPUT_ITERATOR,
  OUTPUT_STRING,
} OutputKind;

typedef struct
{
  const char     *owner;
  const char     *name;
  const char     *version;      /* latest version id */
  const char     *description;
  gboolean        official;
  gboolean        streams;
  OutputKind      output;
  const char     *prompt_key;
  const char     *image_key;    /* NULL: no image input */
  const char     *cog_version;
  const char     *created_at;
  const PropSpec *props;
  guint           n_props;
} ModelSpec;

static const char * const molmo_dtype_values[] = { "bfloat16", "float16", NULL };

static const PropSpec llava_props[] = {
  { "image", PROP_URI, "Image", "Input image", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
  { "prompt", PROP_STRING, "Prompt", "Prompt to use for text generation", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
  { "top_p", PROP_NUMBER, "Top P", "When decoding text, samples from the top p percentage of most likely tokens; lower to ignore less likely tokens", "1", TRUE, 0, TRUE, 1, FALSE, NULL },
  { "temperature", PROP_NUMBER, "Temperature", "Adjusts randomness of outputs, greater than 1 is random and 0 is deterministic", "0.2", TRUE, 0, FALSE, 0, FALSE, NULL },
  { "max_tokens", PROP_INTEGER, "Max Tokens", "Maximum number of tokens to generate. A word is generally 2-3 tokens", "1024", TRUE, 0, FALSE, 0, FALSE, NULL },
};

static const PropSpec fuyu_props[] = {
  { "prompt", PROP_STRING, "Prompt", "Text prompt", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
  { "image", PROP_URI, "Image", "Input image", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
  { "max_new_tokens", PROP_INTEGER, "Max New Tokens", "Max new tokens", "512", TRUE, 0, TRUE, 2048, FALSE, NULL },
};

static const PropSpec minigpt_props[] = {
  { "image", PROP_URI, "Image", "Image to discuss", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
  { "prompt", PROP_STRING, "Prompt", "Prompt for mini-gpt4 regarding input image", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
  { "num_beams", PROP_INTEGER, "Num Beams", "Number of beams for beam search decoding", "3", TRUE, 1, TRUE, 10, FALSE, NULL },
  { "temperature", PROP_NUMBER, "Temperature", "Temperature for generating tokens, lower = more predictable results", "1", TRUE, 0.01, TRUE, 2, FALSE, NULL },
  { "top_p", PROP_NUMBER, "Top P", "Sample from the top p percent most likely tokens", "0.9", TRUE, 0, TRUE, 1, FALSE, NULL },
  { "repetition_penalty", PROP_NUMBER, "Repetition Penalty", "Penalty for repeated words in generated text; 1 is no penalty, values greater than 1 discourage repetition, less than 1 encourage it.", "1", TRUE, 0.01, TRUE, 5, FALSE, NULL },
  { "max_new_tokens", PROP_INTEGER, "Max New Tokens", "Maximum number of new tokens to generate", "3000", TRUE, 1, FALSE, 0, FALSE, NULL },
  { "max_length", PROP_INTEGER, "Max Length", "Total length of prompt and output in tokens", "4000", TRUE, 1, FALSE, 0, FALSE, NULL },
};

static const PropSpec cogvlm_props[] = {
  { "image", PROP_URI, "Image", "input image", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
  { "prompt", PROP_STRING, "Prompt", "prompt", "\"Describe this image.\"", FALSE, 0, FALSE, 0, FALSE, NULL },
};

static const PropSpec molmo_props[] = {
  { "image", PROP_URI, "Image", "Input image to process", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
  { "text", PROP_STRING, "Text", "Text prompt or question about the image", "\"Describe this image.\"", FALSE, 0, FALSE, 0, FALSE, NULL },
  { "top_k", PROP_INTEGER, "Top K", "Top-k sampling parameter", "50", TRUE, 1, TRUE, 100, FALSE, NULL },
  { "top_p", PROP_NUMBER, "Top P", "Top-p sampling parameter", "1", TRUE, 0, TRUE, 1, FALSE, NULL },
  { "max_new_tokens", PROP_INTEGER, "Max New Tokens", "Maximum number of new tokens to generate", "200", TRUE, 1, TRUE, 1000, FALSE, NULL },
  { "temperature", PROP_NUMBER, "Temperature", "Temperature for sampling", "1", TRUE, 0.1, TRUE, 2, FALSE, NULL },
  { "dtype", PROP_ENUM_REF, NULL, "Weights precision", "\"bfloat16\"", FALSE, 0, FALSE, 0, FALSE, molmo_dtype_values },
};

static const PropSpec gpt4o_mini_props[] = {
  { "prompt", PROP_STRING, "Prompt", "The prompt to send to the model.", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
  { "system_prompt", PROP_STRING, "System Prompt", "System prompt to set the assistant's behavior", "\"You are a helpful assistant.\"", FALSE, 0, FALSE, 0, FALSE, NULL },
  { "image_input", PROP_URI_ARRAY, "Image Input", "List of images to send to the model", "[]", FALSE, 0, FALSE, 0, FALSE, NULL },
  { "temperature", PROP_NUMBER, "Temperature", "Sampling temperature between 0 and 2", "1", TRUE, 0, TRUE, 2, FALSE, NULL },
  { "max_completion_tokens", PROP_INTEGER, "Max Completion Tokens", "Maximum number of completion tokens to generate", "4096", TRUE, 1, FALSE, 0, FALSE, NULL },
};

static const PropSpec text_only_props[] = {
  { "prompt", PROP_STRING, "Prompt", "Input prompt", NULL, FALSE, 0, FALSE, 0, TRUE, NULL },
};

static const ModelSpec models[] = {
  { "yorickvp", "llava-13b",
    "e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358",
    "Visual instruction tuning towards large language and vision models with GPT-4 level capabilities",
    FALSE, TRUE, OUTPUT_CONCATENATE_ITERATOR, "prompt", "image", "0.8.6",
    "2024-02-05T17:21:53.573297Z", llava_props, G_N_ELEMENTS (llava_props) },
  { "lucataco", "fuyu-8b",
    "42f23bc876570a46f5a90737086fbc4c3f79dd11753a28eaa39544dd391815e9",
    "Fuyu-8B: A Multimodal Architecture for AI Agents",
    FALSE, TRUE, OUTPUT_STRING, "prompt", "image", "0.8.6",
    "2023-10-19T02:37:44.102545Z", fuyu_props, G_N_ELEMENTS (fuyu_props) },
  { "daanelson", "minigpt-4",
    "b96a2f33cc8e4b0aa23eacfce731b9c41a7d9466d9ed4e167375587b54db9423",
    "A model which generates text in response to an input image and prompt.",
    FALSE, TRUE, OUTPUT_STRING, "prompt", "image", "0.7.0b3",
    "2023-05-08T21:48:46.711519Z", minigpt_props, G_N_ELEMENTS (minigpt_props) },
  { "naklecha", "cogvlm",
    "ec3886f9ea85dd0aee216585be5e6d07b04c9650f7b8b08363a14eb89e207eb2",
    "powerful open-source visual language model",
    FALSE, FALSE, OUTPUT_STRING, "prompt", "image", "0.8.6",
    "2023-11-20T09:40:56.842312Z", cogvlm_props, G_N_ELEMENTS (cogvlm_props) },
  { "zsxkib", "molmo-7b",
    "76ebd700864218a4ca97ac1ccff068be7222272859f9ea2ae1dd4ac073fa8de8",
    "allenai/Molmo-7B-D-0924: Answers questions and captions about images",
    FALSE, TRUE, OUTPUT_ITERATOR, "text", "image", "0.9.25",
    "2024-09-26T13:03:12.419Z", molmo_props, G_N_ELEMENTS (molmo_props) },
  { "openai", "gpt-4o-mini",
    "167a3b6f40bd45b5f17f9c4a9e1c9c2b7ad4e02f8c6cde8e2e6fc1c5b1d2a7f3",
    "Low latency, low cost version of OpenAI's GPT-4o model",
    TRUE, TRUE, OUTPUT_CONCATENATE_ITERATOR, "prompt", "image_input", "0.14.3",
    "2025-05-01T18:24:08.031Z", gpt4o_mini_props, G_N_ELEMENTS (gpt4o_mini_props) },
  { "acme", "text-only",
    "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
    "A text-only language model (no image input)",
    FALSE, TRUE, OUTPUT_CONCATENATE_ITERATOR, "prompt", NULL, "0.9.4",
    "2024-06-11T08:15:32.77Z", text_only_props, G_N_ELEMENTS (text_only_props) },
};

#define DEPLOYMENT_OWNER "acme"
#define DEPLOYMENT_NAME "llava-deploy"
#define DEPLOYMENT_MODEL (&models[0])

static const ModelSpec *
find_model (const char *owner,
            const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    if (g_strcmp0 (models[i].owner, owner) == 0 &&
        g_strcmp0 (models[i].name, name) == 0)
      return &models[i];
  return NULL;
}

static const ModelSpec *
find_model_by_version (const char *version)
{
  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    if (g_strcmp0 (models[i].version, version) == 0)
      return &models[i];
  return NULL;
}

static const PropSpec *
find_prop (const ModelSpec *model,
           const char      *name)
{
  for (guint i = 0; i < model->n_props; i++)
    if (g_strcmp0 (model->props[i].name, name) == 0)
      return &model->props[i];
  return NULL;
}

static void
add_number (JsonBuilder *b,
            PropKind     kind,
            double       value)
{
  if (kind == PROP_INTEGER)
    json_builder_add_int_value (b, (gint64) value);
  else
    json_builder_add_double_value (b, value);
}

static JsonNode *
build_openapi_schema (const ModelSpec *model)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "info");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, "Cog");
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, "0.1.0");
  json_builder_end_object (b);
  json_builder_set_member_name (b, "paths");
  json_builder_begin_object (b);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "openapi");
  json_builder_add_string_value (b, "3.0.2");
  json_builder_set_member_name (b, "components");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "schemas");
  json_builder_begin_object (b);

  /* Input */
  json_builder_set_member_name (b, "Input");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "object");
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, "Input");
  json_builder_set_member_name (b, "required");
  json_builder_begin_array (b);
  for (guint i = 0; i < model->n_props; i++)
    if (model->props[i].required)
      json_builder_add_string_value (b, model->props[i].name);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "properties");
  json_builder_begin_object (b);
  for (guint i = 0; i < model->n_props; i++)
    {
      const PropSpec *p = &model->props[i];

      json_builder_set_member_name (b, p->name);
      json_builder_begin_object (b);
      switch (p->kind)
        {
        case PROP_STRING:
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, "string");
          break;
        case PROP_URI:
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, "string");
          json_builder_set_member_name (b, "format");
          json_builder_add_string_value (b, "uri");
          break;
        case PROP_INTEGER:
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, "integer");
          break;
        case PROP_NUMBER:
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, "number");
          break;
        case PROP_BOOLEAN:
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, "boolean");
          break;
        case PROP_URI_ARRAY:
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, "array");
          json_builder_set_member_name (b, "items");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "type");
          json_builder_add_string_value (b, "string");
          json_builder_set_member_name (b, "format");
          json_builder_add_string_value (b, "uri");
          json_builder_end_object (b);
          break;
        case PROP_ENUM_REF:
          {
            g_autofree char *ref = g_strdup_printf ("#/components/schemas/%s", p->name);

            json_builder_set_member_name (b, "allOf");
            json_builder_begin_array (b);
            json_builder_begin_object (b);
            json_builder_set_member_name (b, "$ref");
            json_builder_add_string_value (b, ref);
            json_builder_end_object (b);
            json_builder_end_array (b);
          }
          break;
        default:
          g_assert_not_reached ();
        }
      if (p->title)
        {
          json_builder_set_member_name (b, "title");
          json_builder_add_string_value (b, p->title);
        }
      if (p->default_json)
        {
          json_builder_set_member_name (b, "default");
          json_builder_add_value (b, json_from_string (p->default_json, NULL));
        }
      if (p->has_minimum)
        {
          json_builder_set_member_name (b, "minimum");
          add_number (b, p->kind, p->minimum);
        }
      if (p->has_maximum)
        {
          json_builder_set_member_name (b, "maximum");
          add_number (b, p->kind, p->maximum);
        }
      json_builder_set_member_name (b, "x-order");
      json_builder_add_int_value (b, i);
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, p->description);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);

  /* Enumerations referenced through allOf */
  for (guint i = 0; i < model->n_props; i++)
    {
      const PropSpec *p = &model->props[i];

      if (p->kind != PROP_ENUM_REF)
        continue;
      json_builder_set_member_name (b, p->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "enum");
      json_builder_begin_array (b);
      for (guint j = 0; p->enum_values[j]; j++)
        json_builder_add_string_value (b, p->enum_values[j]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "string");
      json_builder_set_member_name (b, "title");
      json_builder_add_string_value (b, p->name);
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, "An enumeration.");
      json_builder_end_object (b);
    }

  /* Output */
  json_builder_set_member_name (b, "Output");
  json_builder_begin_object (b);
  if (model->output == OUTPUT_STRING)
    {
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "string");
      json_builder_set_member_name (b, "title");
      json_builder_add_string_value (b, "Output");
    }
  else
    {
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "array");
      json_builder_set_member_name (b, "items");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, "string");
      json_builder_end_object (b);
      json_builder_set_member_name (b, "title");
      json_builder_add_string_value (b, "Output");
      json_builder_set_member_name (b, "x-cog-array-type");
      json_builder_add_string_value (b, "iterator");
      if (model->output == OUTPUT_CONCATENATE_ITERATOR)
        {
          json_builder_set_member_name (b, "x-cog-array-display");
          json_builder_add_string_value (b, "concatenate");
        }
    }
  json_builder_end_object (b);

  /* Status */
  json_builder_set_member_name (b, "Status");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "enum");
  json_builder_begin_array (b);
  json_builder_add_string_value (b, "starting");
  json_builder_add_string_value (b, "processing");
  json_builder_add_string_value (b, "succeeded");
  json_builder_add_string_value (b, "canceled");
  json_builder_add_string_value (b, "failed");
  json_builder_end_array (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "string");
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, "Status");
  json_builder_set_member_name (b, "description");
  json_builder_add_string_value (b, "An enumeration.");
  json_builder_end_object (b);

  json_builder_end_object (b); /* schemas */
  json_builder_end_object (b); /* components */
  json_builder_end_object (b);

  return json_builder_get_root (b);
}

/* ------------------------------------------------------------------ */
/* State                                                                */
/* ------------------------------------------------------------------ */

typedef struct
{
  char       *id;
  char       *name;
  char       *content_type;
  GBytes     *data;
  char       *sha256;
  char       *md5;
  JsonNode   *metadata;
  gint64      created_real;
} FakeFile;

typedef struct
{
  char            *id;
  const ModelSpec *model;
  gboolean         via_official;  /* version "hidden" */
  gboolean         deployment;
  JsonNode        *input;
  JsonNode        *webhook;
  JsonNode        *webhook_events_filter;
  GPtrArray       *tokens;
  guint            n_events;      /* tokens produced before completion */
  gint64           created_mono;
  gint64           created_real;
  gint64           start_delay_us;
  gint64           token_delay_us;
  gboolean         fail;
  gboolean         drop;
  gboolean         remote_cancel;
  gboolean         has_stream;
  gboolean         canceled;
  gint64           canceled_mono;
  char            *error;
} FakePrediction;

typedef enum
{
  STATE_STARTING,
  STATE_PROCESSING,
  STATE_SUCCEEDED,
  STATE_FAILED,
  STATE_CANCELED,
} PredictionState;

typedef struct
{
  PredictionState state;
  guint           n_tokens;      /* tokens emitted so far */
  gint64          started_us;    /* offsets from creation, -1 if not */
  gint64          completed_us;
  gint64          next_event_us; /* offset of the next change, -1 if none */
} Progress;

typedef struct _ServerThread ServerThread;

typedef struct
{
  SqFakeReplicate   *self;
  ServerThread      *thread;
  SoupServerMessage *msg;
  char              *id;
  guint              next_seq;
  guint              sent_this_connection;
  GSource           *timer;
  GRand             *rand;
  guint64            appended;
  guint64            written;
  gboolean           random_splits;
  gboolean           dropping;
  gboolean           malformed;
  guint              junk_index;
} StreamConn;

struct _ServerThread
{
  SqFakeReplicate *self;
  gboolean         is_stream;
  GThread         *thread;
  GMainContext    *context;
  GMainLoop       *loop;
  char            *origin;
  /* Only touched in the thread: */
  SoupServer      *server;
  GCancellable    *cancellable;
  GList           *conns;    /* StreamConn */
  GList           *waits;    /* PendingWait */
  GHashTable      *sockets;  /* client port → GSocketConnection (weak) */
};

struct _SqFakeReplicate
{
  GObject       parent_instance;

  GMutex        mutex;
  GCond         cond;

  ServerThread  api;
  ServerThread  stream;

  char         *token;
  guint32       seed;
  GRand        *rand;
  guint         token_delay_ms;
  guint         start_delay_ms;
  guint         answer_tokens;
  gboolean      random_splits;
  gboolean      no_stream;
  int           drop_after;
  gboolean      stall_streams;
  gboolean      malformed_streams;

  guint         create_429_count;
  guint         create_429_retry_after;
  gboolean      create_429_in_header;
  guint         get_error_count;
  guint         get_error_status;
  guint         get_malformed_count;

  GPtrArray    *requests;
  GHashTable   *predictions;   /* id → FakePrediction */
  GPtrArray    *prediction_order;
  GHashTable   *files;         /* id → FakeFile */
  GPtrArray    *file_order;
  GPtrArray    *canceled_ids;
  GHashTable   *schemas;       /* ModelSpec* → JsonNode */
  gsize         max_file_size;
  char         *requests_log;
};

G_DEFINE_FINAL_TYPE (SqFakeReplicate, sq_fake_replicate, G_TYPE_OBJECT)

static void
fake_file_free (gpointer data)
{
  FakeFile *file = data;

  g_free (file->id);
  g_free (file->name);
  g_free (file->content_type);
  g_bytes_unref (file->data);
  g_free (file->sha256);
  g_free (file->md5);
  json_node_unref (file->metadata);
  g_free (file);
}

static void
fake_prediction_free (gpointer data)
{
  FakePrediction *p = data;

  g_free (p->id);
  json_node_unref (p->input);
  g_clear_pointer (&p->webhook, json_node_unref);
  g_clear_pointer (&p->webhook_events_filter, json_node_unref);
  g_ptr_array_unref (p->tokens);
  g_free (p->error);
  g_free (p);
}

void
sq_fake_request_free (SqFakeRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->method);
  g_free (request->path);
  g_free (request->authorization);
  g_free (request->user_agent);
  g_free (request->content_type);
  g_clear_pointer (&request->body, json_node_unref);
  g_free (request);
}

static SqFakeRequest *
sq_fake_request_copy (const SqFakeRequest *request)
{
  SqFakeRequest *copy = g_new0 (SqFakeRequest, 1);

  copy->method = g_strdup (request->method);
  copy->path = g_strdup (request->path);
  copy->authorization = g_strdup (request->authorization);
  copy->user_agent = g_strdup (request->user_agent);
  copy->content_type = g_strdup (request->content_type);
  copy->body = request->body ? json_node_copy (request->body) : NULL;
  copy->status = request->status;
  copy->on_stream_server = request->on_stream_server;
  return copy;
}

static char *
random_id (GRand      *rand,
           guint       length,
           const char *alphabet)
{
  gsize n = strlen (alphabet);
  char *id = g_malloc (length + 1);

  for (guint i = 0; i < length; i++)
    id[i] = alphabet[g_rand_int_range (rand, 0, n)];
  id[length] = '\0';
  return id;
}

/* RFC 3339 in UTC with @digits fractional digits (3, 6 or 9) */
static char *
format_time (gint64 real_us,
             guint  digits)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (real_us / G_USEC_PER_SEC);
  g_autofree char *base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  guint usec = real_us % G_USEC_PER_SEC;

  switch (digits)
    {
    case 3:
      return g_strdup_printf ("%s.%03uZ", base, usec / 1000);
    case 9:
      return g_strdup_printf ("%s.%06u%03uZ", base, usec, (usec * 7) % 1000);
    default:
      return g_strdup_printf ("%s.%06uZ", base, usec);
    }
}

/* ------------------------------------------------------------------ */
/* The answer                                                           */
/* ------------------------------------------------------------------ */

static char *
normalize_newlines (const char *text)
{
  GString *s = g_string_new (NULL);

  for (const char *c = text; *c; c++)
    {
      if (*c == '\r')
        {
          g_string_append_c (s, '\n');
          if (c[1] == '\n')
            c++;
        }
      else
        g_string_append_c (s, *c);
    }
  return g_string_free (s, FALSE);
}

static GPtrArray *
build_tokens (const char *model,
              const char *image_sha256,
              const char *prompt,
              guint       n_tokens)
{
  GPtrArray *tokens = g_ptr_array_new_with_free_func (g_free);
  const char *slash = strrchr (model, '/');
  g_autofree char *norm = normalize_newlines (prompt ? prompt : "");
  g_autofree char *sha8 = image_sha256 ? g_strndup (image_sha256, 8) : g_strdup ("none");

  g_ptr_array_add (tokens, g_strdup (slash ? slash + 1 : model));
  g_ptr_array_add (tokens, g_strdup (" sees"));
  g_ptr_array_add (tokens, g_strdup (" image"));
  g_ptr_array_add (tokens, g_strdup_printf (" %s", sha8));
  g_ptr_array_add (tokens, g_strdup (" about"));
  g_ptr_array_add (tokens, g_strdup_printf (" \"%s\":", norm));
  g_ptr_array_add (tokens, g_strdup ("\nVoilà"));
  g_ptr_array_add (tokens, g_strdup (" \xf0\x9f\x99\x82"));
  for (guint i = 1; tokens->len < n_tokens; i++)
    {
      if (i % 5 == 0)
        g_ptr_array_add (tokens, g_strdup (".\n"));
      else
        g_ptr_array_add (tokens, g_strdup_printf (" w%u", i));
    }
  return tokens;
}

static char *
join_tokens (GPtrArray *tokens,
             guint      n)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n && i < tokens->len; i++)
    g_string_append (s, g_ptr_array_index (tokens, i));
  return g_string_free (s, FALSE);
}

/* ------------------------------------------------------------------ */
/* Prediction progress                                                  */
/* ------------------------------------------------------------------ */

static guint
prediction_total_events (FakePrediction *p)
{
  return (p->fail || p->remote_cancel) ? MIN (FAIL_AFTER_TOKENS, p->tokens->len) : p->tokens->len;
}

static void
prediction_progress (FakePrediction *p,
                     gint64          now_mono,
                     Progress       *out)
{
  gint64 elapsed = now_mono - p->created_mono;
  guint total = prediction_total_events (p);
  gint64 finish_us;

  if (p->canceled)
    elapsed = MIN (elapsed, p->canceled_mono - p->created_mono);

  out->started_us = -1;
  out->completed_us = -1;
  out->n_tokens = 0;
  out->next_event_us = -1;

  if (elapsed < p->start_delay_us)
    {
      out->state = STATE_STARTING;
      out->next_event_us = p->start_delay_us;
    }
  else
    {
      gint64 run = elapsed - p->start_delay_us;

      out->started_us = p->start_delay_us;
      if (p->token_delay_us <= 0)
        out->n_tokens = total;
      else
        out->n_tokens = MIN ((gint64) total, run / p->token_delay_us);
      finish_us = p->start_delay_us + p->token_delay_us * (total + ((p->fail || p->remote_cancel) ? 1 : 0));
      if (elapsed >= finish_us)
        {
          out->n_tokens = total;
          out->state = p->fail ? STATE_FAILED : p->remote_cancel ? STATE_CANCELED : STATE_SUCCEEDED;
          out->completed_us = finish_us;
        }
      else
        {
          out->state = STATE_PROCESSING;
          out->next_event_us = p->start_delay_us + p->token_delay_us * (out->n_tokens + 1);
        }
    }

  if (p->canceled && out->state != STATE_SUCCEEDED && out->state != STATE_FAILED)
    {
      out->state = STATE_CANCELED;
      out->completed_us = p->canceled_mono - p->created_mono;
      out->next_event_us = -1;
    }
}

static gboolean
progress_is_terminal (const Progress *pr)
{
  return pr->state == STATE_SUCCEEDED || pr->state == STATE_FAILED ||
         pr->state == STATE_CANCELED;
}

static const char *
state_to_string (PredictionState state)
{
  switch (state)
    {
    case STATE_STARTING:
      return "starting";
    case STATE_PROCESSING:
      return "processing";
    case STATE_SUCCEEDED:
      return "succeeded";
    case STATE_FAILED:
      return "failed";
    case STATE_CANCELED:
      return "canceled";
    default:
      g_assert_not_reached ();
    }
}

/* Number of output events visible now: tokens for iterator models, the
 * whole string once done for string models. */
static guint
visible_events (FakePrediction *p,
                const Progress *pr)
{
  if (p->model->output != OUTPUT_STRING)
    return pr->n_tokens;
  return pr->state == STATE_SUCCEEDED ? 1 : 0;
}

static const char *
event_data (FakePrediction *p,
            guint           seq,
            char          **to_free)
{
  if (p->model->output != OUTPUT_STRING)
    {
      *to_free = NULL;
      return g_ptr_array_index (p->tokens, seq);
    }
  *to_free = join_tokens (p->tokens, p->tokens->len);
  return *to_free;
}

static JsonNode *
prediction_to_json (SqFakeReplicate *self,
                    FakePrediction  *p)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *model_name = g_strdup_printf ("%s/%s", p->model->owner, p->model->name);
  g_autofree char *created = NULL;
  g_autofree char *url = NULL;
  Progress pr;
  GString *logs;

  prediction_progress (p, g_get_monotonic_time (), &pr);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, p->id);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model_name);
  json_builder_set_member_name (b, "version");
  json_builder_add_string_value (b, p->via_official ? "hidden" : p->model->version);
  json_builder_set_member_name (b, "input");
  json_builder_add_value (b, json_node_copy (p->input));

  logs = g_string_new (NULL);
  if (pr.started_us >= 0)
    g_string_append (logs, LOGS_LINES "\n");
  if (pr.state == STATE_FAILED)
    g_string_append_printf (logs, "Traceback (most recent call last):\n"
                            "  File \"predict.py\", line 88, in predict\n"
                            "RuntimeError: %s\n", p->error);
  json_builder_set_member_name (b, "logs");
  json_builder_add_string_value (b, logs->str);
  g_string_free (logs, TRUE);

  json_builder_set_member_name (b, "output");
  if (p->model->output == OUTPUT_STRING)
    {
      if (pr.state == STATE_SUCCEEDED)
        {
          g_autofree char *text = join_tokens (p->tokens, p->tokens->len);
          json_builder_add_string_value (b, text);
        }
      else
        json_builder_add_null_value (b);
    }
  else if (pr.n_tokens == 0)
    json_builder_add_null_value (b);
  else
    {
      json_builder_begin_array (b);
      json_builder_add_string_value (b, "");
      for (guint i = 0; i < pr.n_tokens; i++)
        json_builder_add_string_value (b, g_ptr_array_index (p->tokens, i));
      json_builder_end_array (b);
    }

  json_builder_set_member_name (b, "data_removed");
  json_builder_add_boolean_value (b, FALSE);
  json_builder_set_member_name (b, "error");
  if (pr.state == STATE_FAILED)
    json_builder_add_string_value (b, p->error);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, state_to_string (pr.state));
  json_builder_set_member_name (b, "source");
  json_builder_add_string_value (b, "api");

  created = format_time (p->created_real, 9);
  json_builder_set_member_name (b, "created_at");
  json_builder_add_string_value (b, created);
  if (pr.started_us >= 0)
    {
      g_autofree char *started = format_time (p->created_real + pr.started_us, 6);
      json_builder_set_member_name (b, "started_at");
      json_builder_add_string_value (b, started);
    }
  if (pr.completed_us >= 0)
    {
      g_autofree char *completed = format_time (p->created_real + pr.completed_us, 3);
      json_builder_set_member_name (b, "completed_at");
      json_builder_add_string_value (b, completed);
      json_builder_set_member_name (b, "metrics");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "predict_time");
      json_builder_add_double_value (b, pr.started_us >= 0
                                     ? (pr.completed_us - pr.started_us) / 1e6 : 3e-06);
      json_builder_set_member_name (b, "total_time");
      json_builder_add_double_value (b, pr.completed_us / 1e6);
      json_builder_end_object (b);
    }
  if (p->deployment)
    {
      json_builder_set_member_name (b, "deployment");
      json_builder_add_string_value (b, DEPLOYMENT_OWNER "/" DEPLOYMENT_NAME);
    }
  if (p->webhook)
    {
      json_builder_set_member_name (b, "webhook");
      json_builder_add_value (b, json_node_copy (p->webhook));
    }
  if (p->webhook_events_filter)
    {
      json_builder_set_member_name (b, "webhook_events_filter");
      json_builder_add_value (b, json_node_copy (p->webhook_events_filter));
    }

  json_builder_set_member_name (b, "urls");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "cancel");
  url = g_strdup_printf ("%s/v1/predictions/%s/cancel", self->api.origin, p->id);
  json_builder_add_string_value (b, url);
  g_free (url);
  json_builder_set_member_name (b, "get");
  url = g_strdup_printf ("%s/v1/predictions/%s", self->api.origin, p->id);
  json_builder_add_string_value (b, url);
  g_free (url);
  if (p->has_stream)
    {
      json_builder_set_member_name (b, "stream");
      url = g_strdup_printf ("%s/v1/predictions/%s", self->stream.origin, p->id);
      json_builder_add_string_value (b, url);
      g_free (url);
    }
  json_builder_set_member_name (b, "web");
  url = g_strdup_printf ("https://replicate.com/p/%s", p->id);
  json_builder_add_string_value (b, url);
  json_builder_end_object (b);

  json_builder_end_object (b);

  return json_builder_get_root (b);
}

/* ------------------------------------------------------------------ */
/* Request recording and replies                                        */
/* ------------------------------------------------------------------ */

typedef struct
{
  gboolean  authorized;
  JsonNode *body;
} RequestInfo;

static gboolean
check_authorization (SqFakeReplicate *self,
                     const char      *header)
{
  const char *token = NULL;

  if (header == NULL)
    return FALSE;
  if (g_str_has_prefix (header, "Bearer "))
    token = header + strlen ("Bearer ");
  else if (g_str_has_prefix (header, "Token "))
    token = header + strlen ("Token ");
  return token != NULL && g_strcmp0 (token, self->token) == 0;
}

static void
record_request (SqFakeReplicate   *self,
                SoupServerMessage *msg,
                RequestInfo       *info,
                gboolean           on_stream_server)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SqFakeRequest *request = g_new0 (SqFakeRequest, 1);

  request->method = g_strdup (soup_server_message_get_method (msg));
  request->path = g_strdup (g_uri_get_path (soup_server_message_get_uri (msg)));
  request->authorization = g_strdup (soup_message_headers_get_one (headers, "Authorization"));
  request->user_agent = g_strdup (soup_message_headers_get_one (headers, "User-Agent"));
  request->content_type = g_strdup (soup_message_headers_get_one (headers, "Content-Type"));
  request->body = info->body ? json_node_copy (info->body) : NULL;
  request->status = soup_server_message_get_status (msg);
  request->on_stream_server = on_stream_server;

  if (self->requests_log != NULL)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *line = NULL;
      FILE *f;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "method");
      json_builder_add_string_value (b, request->method);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, request->path);
      json_builder_set_member_name (b, "authorized");
      json_builder_add_boolean_value (b, info->authorized);
      json_builder_set_member_name (b, "status");
      json_builder_add_int_value (b, request->status);
      json_builder_set_member_name (b, "server");
      json_builder_add_string_value (b, on_stream_server ? "stream" : "api");
      json_builder_set_member_name (b, "body");
      if (info->body)
        json_builder_add_value (b, json_node_copy (info->body));
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      line = json_to_string (root, FALSE);

      f = fopen (self->requests_log, "a");
      if (f != NULL)
        {
          fprintf (f, "%s\n", line);
          fclose (f);
        }
      else
        g_warning ("Could not append to the requests log %s", self->requests_log);
    }

  g_ptr_array_add (self->requests, request);
}

static void
reply_json (SoupServerMessage *msg,
            guint              status,
            JsonNode          *node)
{
  g_autofree char *text = json_to_string (node, FALSE);
  gsize len = strlen (text);

  soup_server_message_set_status (msg, status, NULL);
  /* As recorded from the real API; clients must not compare it whole */
  soup_server_message_set_response (msg, "application/json; charset=UTF-8", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&text), len);
}

static void
reply_problem_full (SoupServerMessage *msg,
                    guint              status,
                    const char        *title,
                    const char        *detail,
                    int                retry_after)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  gsize len;

  json_builder_begin_object (b);
  if (title)
    {
      json_builder_set_member_name (b, "title");
      json_builder_add_string_value (b, title);
    }
  json_builder_set_member_name (b, "detail");
  json_builder_add_string_value (b, detail);
  json_builder_set_member_name (b, "status");
  json_builder_add_int_value (b, status);
  if (retry_after >= 0)
    {
      json_builder_set_member_name (b, "retry_after");
      json_builder_add_int_value (b, retry_after);
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);
  len = strlen (text);

  /* libsoup 3.2 has no phrase for 429 */
  soup_server_message_set_status (msg, status, status == 429 ? "Too Many Requests" : NULL);
  soup_server_message_set_response (msg, "application/problem+json", SOUP_MEMORY_TAKE,
                                    g_steal_pointer (&text), len);
}

static void
reply_problem (SoupServerMessage *msg,
               guint              status,
               const char        *title,
               const char        *detail)
{
  reply_problem_full (msg, status, title, detail, -1);
}

static void
reply_not_found (SoupServerMessage *msg)
{
  reply_problem (msg, SOUP_STATUS_NOT_FOUND, NULL, "Not found.");
}

static void
reply_invalid_input (SoupServerMessage *msg,
                     const char        *detail)
{
  reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Input validation failed", detail);
}

/* ------------------------------------------------------------------ */
/* Input validation                                                     */
/* ------------------------------------------------------------------ */

static const char *
json_type_name (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return "object";
    case JSON_NODE_ARRAY:
      return "array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          return "string";
        case G_TYPE_BOOLEAN:
          return "boolean";
        case G_TYPE_INT64:
          return "integer";
        case G_TYPE_DOUBLE:
          return "number";
        default:
          return "unknown";
        }
    default:
      return "unknown";
    }
}

static gboolean
is_base64 (const char *s)
{
  gsize len = strlen (s);
  gsize pad = 0;

  if (len == 0 || len % 4 != 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = s[i];

      if (c == '=')
        {
          if (i < len - 2)
            return FALSE;
          pad++;
        }
      else if (pad > 0)
        return FALSE;
      else if (!g_ascii_isalnum (c) && c != '+' && c != '/')
        return FALSE;
    }
  return TRUE;
}

/* Checks an image-ish URI input and computes the hash the answer uses.
 * Returns NULL on success (and sets *sha256), or the error text. */
static char *
check_uri (SqFakeReplicate *self,
           const char      *where,
           const char      *value,
           char           **sha256)
{
  g_autofree char *files_prefix = g_strdup_printf ("%s/v1/files/", self->api.origin);

  if (g_str_has_prefix (value, "data:"))
    {
      const char *comma = strchr (value, ',');
      g_autofree char *header = NULL;
      g_autofree guchar *data = NULL;
      gsize len = 0;

      if (comma == NULL)
        return g_strdup_printf ("%s: Does not match format 'uri'", where);
      header = g_strndup (value + 5, comma - value - 5);
      if (!g_str_has_prefix (header, "image/") || !g_str_has_suffix (header, ";base64"))
        return g_strdup_printf ("%s: data URI must be data:image/<type>;base64,<data>, got data:%s",
                                where, header);
      if (!is_base64 (comma + 1))
        return g_strdup_printf ("%s: data URI is not valid base64", where);
      data = g_base64_decode (comma + 1, &len);
      if (len == 0)
        return g_strdup_printf ("%s: data URI holds no data", where);
      *sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
      return NULL;
    }

  if (g_str_has_prefix (value, files_prefix))
    {
      FakeFile *file = g_hash_table_lookup (self->files, value + strlen (files_prefix));

      if (file == NULL)
        return g_strdup_printf ("%s: file %s does not exist", where, value);
      *sha256 = g_strdup (file->sha256);
      return NULL;
    }

  if (g_str_has_prefix (value, "http://") || g_str_has_prefix (value, "https://"))
    {
      g_autoptr(GUri) uri = g_uri_parse (value, G_URI_FLAGS_NONE, NULL);

      if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
        return g_strdup_printf ("%s: Does not match format 'uri'", where);
      *sha256 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, value, -1);
      return NULL;
    }

  return g_strdup_printf ("%s: Does not match format 'uri'", where);
}

static void
check_number (GPtrArray      *errors,
              const PropSpec *p,
              const char     *where,
              JsonNode       *node)
{
  double v;

  if (json_node_get_value_type (node) == G_TYPE_INT64)
    v = json_node_get_int (node);
  else
    v = json_node_get_double (node);

  if (p->has_minimum && v < p->minimum)
    g_ptr_array_add (errors, g_strdup_printf ("%s: Must be greater than or equal to %g",
                                              where, p->minimum));
  if (p->has_maximum && v > p->maximum)
    g_ptr_array_add (errors, g_strdup_printf ("%s: Must be less than or equal to %g",
                                              where, p->maximum));
}

/* Validates @input against @model; on success returns NULL and sets the
 * image hash (or NULL if no image) and the prompt. */
static char *
validate_input (SqFakeReplicate *self,
                const ModelSpec *model,
                JsonNode        *input,
                char           **image_sha256,
                char           **prompt)
{
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GList) members = NULL;
  JsonObject *obj;

  *image_sha256 = NULL;
  *prompt = NULL;

  if (input == NULL)
    return g_strdup ("input is required");
  if (!JSON_NODE_HOLDS_OBJECT (input))
    return g_strdup_printf ("input: Invalid type. Expected: object, given: %s",
                            json_type_name (input));
  obj = json_node_get_object (input);

  for (guint i = 0; i < model->n_props; i++)
    if (model->props[i].required && !json_object_has_member (obj, model->props[i].name))
      g_ptr_array_add (errors, g_strdup_printf ("input: %s is required", model->props[i].name));

  members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next)
    {
      const char *key = l->data;
      const PropSpec *p = find_prop (model, key);
      JsonNode *node = json_object_get_member (obj, key);
      g_autofree char *where = g_strdup_printf ("input.%s", key);
      const char *given = json_type_name (node);
      const char *expected = NULL;

      if (p == NULL)
        {
          g_ptr_array_add (errors, g_strdup_printf ("input: Additional property %s is not allowed", key));
          continue;
        }

      switch (p->kind)
        {
        case PROP_STRING:
        case PROP_URI:
        case PROP_ENUM_REF:
          if (g_strcmp0 (given, "string") != 0)
            expected = "string";
          break;
        case PROP_INTEGER:
          if (g_strcmp0 (given, "integer") == 0)
            break;
          if (g_strcmp0 (given, "number") == 0)
            {
              double d = json_node_get_double (node);
              if (d == (double) (gint64) d)
                break;
            }
          expected = "integer";
          break;
        case PROP_NUMBER:
          if (g_strcmp0 (given, "integer") != 0 && g_strcmp0 (given, "number") != 0)
            expected = "number";
          break;
        case PROP_BOOLEAN:
          if (g_strcmp0 (given, "boolean") != 0)
            expected = "boolean";
          break;
        case PROP_URI_ARRAY:
          if (g_strcmp0 (given, "array") != 0)
            expected = "array";
          break;
        default:
          g_assert_not_reached ();
        }

      if (expected)
        {
          g_ptr_array_add (errors, g_strdup_printf ("%s: Invalid type. Expected: %s, given: %s",
                                                    where, expected, given));
          continue;
        }

      switch (p->kind)
        {
        case PROP_INTEGER:
        case PROP_NUMBER:
          check_number (errors, p, where, node);
          break;
        case PROP_URI:
          {
            g_autofree char *sha = NULL;
            char *error = check_uri (self, where, json_node_get_string (node), &sha);

            if (error)
              g_ptr_array_add (errors, error);
            else if (g_strcmp0 (key, model->image_key) == 0)
              {
                g_free (*image_sha256);
                *image_sha256 = g_steal_pointer (&sha);
              }
          }
          break;
        case PROP_URI_ARRAY:
          {
            JsonArray *array = json_node_get_array (node);

            for (guint i = 0; i < json_array_get_length (array); i++)
              {
                JsonNode *item = json_array_get_element (array, i);
                g_autofree char *item_where = g_strdup_printf ("%s.%u", where, i);
                g_autofree char *sha = NULL;
                char *error;

                if (!JSON_NODE_HOLDS_VALUE (item) ||
                    json_node_get_value_type (item) != G_TYPE_STRING)
                  {
                    g_ptr_array_add (errors,
                                     g_strdup_printf ("%s: Invalid type. Expected: string, given: %s",
                                                      item_where, json_type_name (item)));
                    continue;
                  }
                error = check_uri (self, item_where, json_node_get_string (item), &sha);
                if (error)
                  g_ptr_array_add (errors, error);
                else if (i == 0 && g_strcmp0 (key, model->image_key) == 0)
                  {
                    g_free (*image_sha256);
                    *image_sha256 = g_steal_pointer (&sha);
                  }
              }
          }
          break;
        case PROP_ENUM_REF:
          {
            const char *value = json_node_get_string (node);

            if (!g_strv_contains (p->enum_values, value))
              {
                GString *s = g_string_new (NULL);

                g_string_append_printf (s, "%s: %s must be one of the following: ", where, where);
                for (guint j = 0; p->enum_values[j]; j++)
                  g_string_append_printf (s, "%s\"%s\"", j ? ", " : "", p->enum_values[j]);
                g_ptr_array_add (errors, g_string_free (s, FALSE));
              }
          }
          break;
        case PROP_STRING:
        case PROP_BOOLEAN:
        default:
          break;
        }
    }

  if (errors->len > 0)
    {
      g_ptr_array_add (errors, NULL);
      g_clear_pointer (image_sha256, g_free);
      return g_strjoinv ("\n", (char **) errors->pdata);
    }

  if (json_object_has_member (obj, model->prompt_key))
    *prompt = g_strdup (json_object_get_string_member (obj, model->prompt_key));
  else
    {
      const PropSpec *p = find_prop (model, model->prompt_key);
      g_autoptr(JsonNode) def = p && p->default_json ? json_from_string (p->default_json, NULL) : NULL;

      *prompt = g_strdup (def ? json_node_get_string (def) : "");
    }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* API handlers                                                         */
/* ------------------------------------------------------------------ */

static JsonNode *
parse_json_body (SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = NULL;
  const char *ct;

  ct = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
  if (g_strcmp0 (ct, "application/json") != 0)
    return NULL;
  bytes = soup_message_body_flatten (body);
  if (g_bytes_get_size (bytes) == 0)
    return NULL;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, g_bytes_get_data (bytes, NULL),
                                   g_bytes_get_size (bytes), NULL))
    return NULL;
  return json_node_copy (json_parser_get_root (parser));
}

static gboolean
maybe_throttle_create (SqFakeReplicate   *self,
                       SoupServerMessage *msg)
{
  g_autofree char *detail = NULL;
  guint s;

  if (self->create_429_count == 0)
    return FALSE;
  self->create_429_count--;
  s = self->create_429_retry_after;

  if (self->create_429_in_header)
    {
      g_autofree char *value = g_strdup_printf ("%u", s);

      detail = g_strdup_printf ("Request was throttled. Expected available in %u second%s.",
                                s, s == 1 ? "" : "s");
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Retry-After", value);
      reply_problem_full (msg, 429, NULL, detail, -1);
    }
  else
    {
      detail = g_strdup_printf ("Request was throttled. Your rate limit for creating predictions "
                                "is reduced to 6 requests per minute with a burst of 1 requests "
                                "while you have less than $5.0 in credit. Your rate limit resets "
                                "in ~%us.", s);
      reply_problem_full (msg, 429, NULL, detail, s);
    }
  return TRUE;
}

typedef struct
{
  SqFakeReplicate   *self;
  SoupServerMessage *msg;
  char              *id;
  guint              wait_s;
  gint64             deadline;
  GSource           *timer;
} PendingWait;

static void
pending_wait_free (PendingWait *w)
{
  if (w->timer)
    {
      g_source_destroy (w->timer);
      g_source_unref (w->timer);
    }
  w->self->api.waits = g_list_remove (w->self->api.waits, w);
  g_object_unref (w->msg);
  g_free (w->id);
  g_free (w);
}

static gboolean
pending_wait_cb (gpointer user_data)
{
  PendingWait *w = user_data;
  SqFakeReplicate *self = w->self;
  g_autoptr(JsonNode) json = NULL;
  g_autofree char *applied = NULL;
  FakePrediction *p;
  Progress pr;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&self->mutex);
  p = g_hash_table_lookup (self->predictions, w->id);
  prediction_progress (p, now, &pr);
  if (!progress_is_terminal (&pr) && now < w->deadline)
    {
      g_mutex_unlock (&self->mutex);
      return G_SOURCE_CONTINUE;
    }
  json = prediction_to_json (self, p);
  g_mutex_unlock (&self->mutex);

  applied = g_strdup_printf ("wait=%u", w->wait_s);
  soup_message_headers_replace (soup_server_message_get_response_headers (w->msg),
                                "Preference-Applied", applied);
  reply_json (w->msg, SOUP_STATUS_CREATED, json);
  soup_server_message_unpause (w->msg);

  g_source_unref (g_steal_pointer (&w->timer));
  pending_wait_free (w);
  return G_SOURCE_REMOVE;
}

/* Called in the API thread with the lock held */
static void
pending_wait_start (SqFakeReplicate   *self,
                    SoupServerMessage *msg,
                    const char        *id,
                    guint              wait_s)
{
  PendingWait *w = g_new0 (PendingWait, 1);

  w->self = self;
  w->msg = g_object_ref (msg);
  w->id = g_strdup (id);
  w->wait_s = wait_s;
  w->deadline = g_get_monotonic_time () + wait_s * G_USEC_PER_SEC;
  w->timer = g_timeout_source_new (2);
  g_source_set_callback (w->timer, pending_wait_cb, w, NULL);
  g_source_attach (w->timer, self->api.context);
  self->api.waits = g_list_prepend (self->api.waits, w);

  /* The status is what the request log records; the body comes later. */
  soup_server_message_set_status (msg, SOUP_STATUS_CREATED, NULL);
  soup_server_message_pause (msg);
}

static void
create_prediction (SqFakeReplicate   *self,
                   SoupServerMessage *msg,
                   JsonNode          *body,
                   const ModelSpec   *fixed_model,
                   gboolean           deployment)
{
  static const char * const allowed_versioned[] = {
    "version", "input", "stream", "webhook", "webhook_events_filter", NULL
  };
  static const char * const allowed_unversioned[] = {
    "input", "stream", "webhook", "webhook_events_filter", NULL
  };
  static const char * const webhook_events[] = { "start", "output", "logs", "completed", NULL };
  const char * const *allowed = fixed_model ? allowed_unversioned : allowed_versioned;
  const char *prefer = soup_message_headers_get_one (soup_server_message_get_request_headers (msg), "Prefer");
  g_autoptr(GList) members = NULL;
  guint64 wait_s = 0;
  g_autofree char *sha = NULL;
  g_autofree char *prompt = NULL;
  g_autoptr(JsonNode) json = NULL;
  const ModelSpec *model = fixed_model;
  gboolean via_official = fixed_model != NULL && !deployment;
  JsonObject *obj;
  JsonNode *node;
  FakePrediction *p;
  char *error;

  /* Prefer: wait or wait=1..60 holds the answer until the prediction
   * is done or the time is up; other preferences are ignored. */
  if (prefer && g_str_has_prefix (prefer, "wait"))
    {
      if (g_str_equal (prefer, "wait"))
        wait_s = 60;
      else if (!g_str_has_prefix (prefer, "wait=") ||
               !g_ascii_string_to_unsigned (prefer + 5, 10, 1, 60, &wait_s, NULL) ||
               prefer[5] == '0')
        {
          reply_problem (msg, SOUP_STATUS_BAD_REQUEST, "Invalid request",
                         "Prefer: the wait preference must be \"wait\" or \"wait=N\" with N from 1 to 60");
          return;
        }
    }

  if (body == NULL || !JSON_NODE_HOLDS_OBJECT (body))
    {
      reply_problem (msg, SOUP_STATUS_BAD_REQUEST, "Invalid request",
                     "The request body must be a JSON object sent with Content-Type: application/json");
      return;
    }
  obj = json_node_get_object (body);

  members = json_object_get_members (obj);
  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      {
        g_autofree char *detail = g_strdup_printf ("Additional property %s is not allowed",
                                                   (const char *) l->data);
        reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Invalid request", detail);
        return;
      }

  if (fixed_model == NULL)
    {
      const char *version;
      const char *colon;

      node = json_object_get_member (obj, "version");
      if (node == NULL)
        {
          reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Invalid request", "version is required");
          return;
        }
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        {
          g_autofree char *detail = g_strdup_printf ("version: Invalid type. Expected: string, given: %s",
                                                     json_type_name (node));
          reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Invalid request", detail);
          return;
        }
      version = json_node_get_string (node);
      colon = strchr (version, ':');
      if (colon)
        {
          g_autofree char *full = g_strndup (version, colon - version);
          g_auto(GStrv) parts = g_strsplit (full, "/", -1);

          if (g_strv_length (parts) == 2)
            {
              model = find_model (parts[0], parts[1]);
              if (model && g_strcmp0 (model->version, colon + 1) != 0)
                model = NULL;
            }
        }
      else if (strchr (version, '/'))
        {
          g_auto(GStrv) parts = g_strsplit (version, "/", -1);

          if (g_strv_length (parts) == 2)
            {
              model = find_model (parts[0], parts[1]);
              if (model && !model->official)
                model = NULL;
            }
          via_official = model != NULL;
        }
      else
        model = find_model_by_version (version);

      if (model == NULL)
        {
          reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Invalid version or not permitted",
                         "The specified version does not exist (or perhaps you don't have "
                         "permission to use it?)");
          return;
        }
      if (model->official && colon == NULL)
        via_official = TRUE;
    }

  node = json_object_get_member (obj, "stream");
  if (node && (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN))
    {
      g_autofree char *detail = g_strdup_printf ("stream: Invalid type. Expected: boolean, given: %s",
                                                 json_type_name (node));
      reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Invalid request", detail);
      return;
    }
  node = json_object_get_member (obj, "webhook");
  if (node && (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
               !g_str_has_prefix (json_node_get_string (node), "https://")))
    {
      reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Invalid request",
                     "webhook: Must be an HTTPS URL");
      return;
    }
  node = json_object_get_member (obj, "webhook_events_filter");
  if (node)
    {
      gboolean ok = JSON_NODE_HOLDS_ARRAY (node);

      for (guint i = 0; ok && i < json_array_get_length (json_node_get_array (node)); i++)
        {
          JsonNode *item = json_array_get_element (json_node_get_array (node), i);

          ok = JSON_NODE_HOLDS_VALUE (item) && json_node_get_value_type (item) == G_TYPE_STRING &&
               g_strv_contains (webhook_events, json_node_get_string (item));
        }
      if (!ok)
        {
          reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Invalid request",
                         "webhook_events_filter: Must be an array of \"start\", \"output\", \"logs\", \"completed\"");
          return;
        }
    }

  error = validate_input (self, model, json_object_get_member (obj, "input"), &sha, &prompt);
  if (error)
    {
      reply_invalid_input (msg, error);
      g_free (error);
      return;
    }

  p = g_new0 (FakePrediction, 1);
  do
    {
      g_free (p->id);
      p->id = random_id (self->rand, 26, "abcdefghijklmnopqrstuvwxyz0123456789");
    }
  while (g_hash_table_contains (self->predictions, p->id));
  p->model = model;
  p->via_official = via_official;
  p->deployment = deployment;
  p->input = json_node_copy (json_object_get_member (obj, "input"));
  if ((node = json_object_get_member (obj, "webhook")))
    p->webhook = json_node_copy (node);
  if ((node = json_object_get_member (obj, "webhook_events_filter")))
    p->webhook_events_filter = json_node_copy (node);
  {
    g_autofree char *model_name = g_strdup_printf ("%s/%s", model->owner, model->name);
    p->tokens = build_tokens (model_name, sha, prompt, self->answer_tokens);
  }
  p->created_mono = g_get_monotonic_time ();
  p->created_real = g_get_real_time ();
  p->start_delay_us = (gint64) self->start_delay_ms * 1000;
  p->token_delay_us = (gint64) self->token_delay_ms * 1000;
  if (strstr (prompt, "[[slow]]"))
    p->token_delay_us *= 10;
  p->fail = strstr (prompt, "[[fail]]") != NULL;
  p->drop = strstr (prompt, "[[drop]]") != NULL;
  p->remote_cancel = strstr (prompt, "[[cancel]]") != NULL;
  p->has_stream = model->streams && !self->no_stream;
  if (p->fail)
    p->error = g_strdup ("CUDA error: the fake model was asked to fail ([[fail]] in the prompt)");

  g_hash_table_insert (self->predictions, p->id, p);
  g_ptr_array_add (self->prediction_order, p);

  if (wait_s > 0)
    {
      pending_wait_start (self, msg, p->id, wait_s);
      return;
    }

  json = prediction_to_json (self, p);
  reply_json (msg, SOUP_STATUS_CREATED, json);
}

static JsonNode *
file_to_json (SqFakeReplicate *self,
              FakeFile        *file)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *created = format_time (file->created_real, 3);
  g_autofree char *expires = format_time (file->created_real + G_TIME_SPAN_DAY, 3);
  g_autofree char *url = g_strdup_printf ("%s/v1/files/%s", self->api.origin, file->id);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, file->id);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, file->name);
  json_builder_set_member_name (b, "content_type");
  json_builder_add_string_value (b, file->content_type);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, g_bytes_get_size (file->data));
  json_builder_set_member_name (b, "etag");
  json_builder_add_string_value (b, file->md5);
  json_builder_set_member_name (b, "checksums");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "sha256");
  json_builder_add_string_value (b, file->sha256);
  json_builder_set_member_name (b, "md5");
  json_builder_add_string_value (b, file->md5);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "metadata");
  json_builder_add_value (b, json_node_copy (file->metadata));
  json_builder_set_member_name (b, "created_at");
  json_builder_add_string_value (b, created);
  json_builder_set_member_name (b, "expires_at");
  json_builder_add_string_value (b, expires);
  json_builder_set_member_name (b, "urls");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "get");
  json_builder_add_string_value (b, url);
  json_builder_end_object (b);
  json_builder_end_object (b);

  return json_builder_get_root (b);
}

static void
upload_file (SqFakeReplicate   *self,
             SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(SoupMultipart) multipart = NULL;
  g_autoptr(GBytes) content = NULL;
  g_autoptr(JsonNode) metadata = NULL;
  g_autoptr(JsonNode) json = NULL;
  g_autofree char *filename = NULL;
  g_autofree char *content_type = NULL;
  const char *ct = soup_message_headers_get_content_type (headers, NULL);
  FakeFile *file;

  if (g_strcmp0 (ct, "multipart/form-data") != 0)
    {
      reply_problem (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "Unsupported media type",
                     "Files must be uploaded as multipart/form-data");
      return;
    }
  if (g_bytes_get_size (body) > self->max_file_size + 64 * 1024)
    {
      reply_problem (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "Content too large",
                     "The file exceeds the maximum size of 100 MiB");
      return;
    }
  multipart = soup_multipart_new_from_message (headers, body);
  if (multipart == NULL)
    {
      reply_problem (msg, SOUP_STATUS_BAD_REQUEST, "Invalid request",
                     "The multipart/form-data body could not be parsed");
      return;
    }

  for (int i = 0; i < soup_multipart_get_length (multipart); i++)
    {
      SoupMessageHeaders *part_headers;
      GBytes *part_body;
      g_autofree char *disposition = NULL;
      g_autoptr(GHashTable) params = NULL;
      const char *name;

      if (!soup_multipart_get_part (multipart, i, &part_headers, &part_body))
        continue;
      if (!soup_message_headers_get_content_disposition (part_headers, &disposition, &params))
        continue;
      name = g_hash_table_lookup (params, "name");
      if (g_strcmp0 (name, "content") == 0)
        {
          const char *part_ct = soup_message_headers_get_content_type (part_headers, NULL);

          g_clear_pointer (&content, g_bytes_unref);
          content = g_bytes_ref (part_body);
          g_free (filename);
          filename = g_strdup (g_hash_table_lookup (params, "filename"));
          g_free (content_type);
          content_type = g_strdup (part_ct ? part_ct : "application/octet-stream");
        }
      else if (g_strcmp0 (name, "metadata") == 0)
        {
          g_autoptr(JsonParser) parser = json_parser_new ();

          if (!json_parser_load_from_data (parser, g_bytes_get_data (part_body, NULL),
                                           g_bytes_get_size (part_body), NULL) ||
              !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
            {
              reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Invalid request",
                             "metadata: Must be a JSON object");
              return;
            }
          g_clear_pointer (&metadata, json_node_unref);
          metadata = json_node_copy (json_parser_get_root (parser));
        }
      else if (g_strcmp0 (name, "filename") == 0 && g_bytes_get_size (part_body) > 0)
        {
          g_free (filename);
          filename = g_strndup (g_bytes_get_data (part_body, NULL), g_bytes_get_size (part_body));
        }
      else if (g_strcmp0 (name, "type") == 0 && g_bytes_get_size (part_body) > 0)
        {
          g_free (content_type);
          content_type = g_strndup (g_bytes_get_data (part_body, NULL), g_bytes_get_size (part_body));
        }
    }

  if (content == NULL)
    {
      reply_problem (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, "Invalid request",
                     "content: A file must be sent in the form part named content");
      return;
    }
  if (g_bytes_get_size (content) > self->max_file_size)
    {
      reply_problem (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, "Content too large",
                     "The file exceeds the maximum size of 100 MiB");
      return;
    }

  file = g_new0 (FakeFile, 1);
  do
    {
      g_free (file->id);
      file->id = random_id (self->rand, 32,
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789");
    }
  while (g_hash_table_contains (self->files, file->id));
  file->name = filename && *filename ? g_steal_pointer (&filename) : g_strdup ("file");
  file->content_type = g_steal_pointer (&content_type);
  file->data = g_bytes_ref (content);
  file->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, content);
  file->md5 = g_compute_checksum_for_bytes (G_CHECKSUM_MD5, content);
  file->metadata = metadata ? g_steal_pointer (&metadata) : json_from_string ("{}", NULL);
  file->created_real = g_get_real_time ();
  g_hash_table_insert (self->files, file->id, file);
  g_ptr_array_add (self->file_order, file);

  json = file_to_json (self, file);
  reply_json (msg, SOUP_STATUS_CREATED, json);
}

static JsonNode *
version_to_json (SqFakeReplicate *self,
                 const ModelSpec *model)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  JsonNode *schema = g_hash_table_lookup (self->schemas, model);

  if (schema == NULL)
    {
      schema = build_openapi_schema (model);
      g_hash_table_insert (self->schemas, (gpointer) model, schema);
    }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, model->version);
  json_builder_set_member_name (b, "created_at");
  json_builder_add_string_value (b, model->created_at);
  json_builder_set_member_name (b, "cog_version");
  json_builder_add_string_value (b, model->cog_version);
  json_builder_set_member_name (b, "openapi_schema");
  json_builder_add_value (b, json_node_copy (schema));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static JsonNode *
model_to_json (SqFakeReplicate *self,
               const ModelSpec *model)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *url = g_strdup_printf ("https://replicate.com/%s/%s", model->owner, model->name);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "url");
  json_builder_add_string_value (b, url);
  json_builder_set_member_name (b, "owner");
  json_builder_add_string_value (b, model->owner);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, model->name);
  json_builder_set_member_name (b, "description");
  json_builder_add_string_value (b, model->description);
  json_builder_set_member_name (b, "visibility");
  json_builder_add_string_value (b, "public");
  json_builder_set_member_name (b, "github_url");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "paper_url");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "license_url");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "run_count");
  json_builder_add_int_value (b, 1234567);
  json_builder_set_member_name (b, "cover_image_url");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "default_example");
  json_builder_add_null_value (b);
  json_builder_set_member_name (b, "is_official");
  json_builder_add_boolean_value (b, model->official);
  json_builder_set_member_name (b, "latest_version");
  json_builder_add_value (b, version_to_json (self, model));
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static void
reply_page (SoupServerMessage *msg,
            GPtrArray         *nodes)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *obj = json_object_new ();
  JsonArray *results = json_array_new ();

  for (guint i = 0; i < nodes->len; i++)
    json_array_add_element (results, g_ptr_array_index (nodes, i));
  json_object_set_null_member (obj, "next");
  json_object_set_null_member (obj, "previous");
  json_object_set_array_member (obj, "results", results);
  json_node_take_object (root, obj);
  reply_json (msg, SOUP_STATUS_OK, root);
}

static void
handle_api (SqFakeReplicate   *self,
            SoupServerMessage *msg,
            const char        *path,
            JsonNode          *body)
{
  const char *method = soup_server_message_get_method (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  g_auto(GStrv) parts = NULL;
  guint n;
  gboolean is_get = g_strcmp0 (method, "GET") == 0;
  gboolean is_post = g_strcmp0 (method, "POST") == 0;

  if (!g_str_has_prefix (path, "/v1/"))
    {
      reply_not_found (msg);
      return;
    }
  parts = g_strsplit (path + strlen ("/v1/"), "/", -1);
  n = g_strv_length (parts);
  for (guint i = 0; i < n; i++)
    if (*parts[i] == '\0')
      {
        reply_not_found (msg);
        return;
      }

  if (is_get && self->get_error_count > 0)
    {
      self->get_error_count--;
      switch (self->get_error_status)
        {
        case 429:
          reply_problem (msg, 429, NULL, "Request was throttled.");
          break;
        case 503:
          reply_problem (msg, 503, "Service Unavailable",
                         "The service is temporarily unavailable, please retry.");
          break;
        default:
          reply_problem (msg, self->get_error_status, "Internal Server Error",
                         "Something went wrong on our side.");
          break;
        }
      return;
    }

  if (is_get && self->get_malformed_count > 0)
    {
      /* A 200 whose JSON was cut short, as a broken proxy would pass on */
      static const char truncated[] = "{\"id\": \"";

      self->get_malformed_count--;
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/json; charset=UTF-8", SOUP_MEMORY_STATIC,
                                        truncated, strlen (truncated));
      return;
    }

  /* predictions */
  if (n >= 1 && g_str_equal (parts[0], "predictions"))
    {
      if (n == 1 && is_post)
        {
          soup_message_headers_replace (response_headers, "ratelimit-remaining", "599");
          if (!maybe_throttle_create (self, msg))
            create_prediction (self, msg, body, NULL, FALSE);
          return;
        }
      if (n == 1 && is_get)
        {
          g_autoptr(GPtrArray) nodes = g_ptr_array_new ();

          for (guint i = self->prediction_order->len; i > 0; i--)
            g_ptr_array_add (nodes, prediction_to_json (self, g_ptr_array_index (self->prediction_order, i - 1)));
          reply_page (msg, nodes);
          return;
        }
      if (n == 2 && is_get)
        {
          FakePrediction *p = g_hash_table_lookup (self->predictions, parts[1]);
          g_autoptr(JsonNode) json = NULL;

          soup_message_headers_replace (response_headers, "ratelimit-remaining", "59999");
          if (p == NULL)
            {
              reply_not_found (msg);
              return;
            }
          json = prediction_to_json (self, p);
          reply_json (msg, SOUP_STATUS_OK, json);
          return;
        }
      if (n == 3 && is_post && g_str_equal (parts[2], "cancel"))
        {
          FakePrediction *p = g_hash_table_lookup (self->predictions, parts[1]);
          g_autoptr(JsonNode) json = NULL;

          if (p == NULL)
            {
              reply_not_found (msg);
              return;
            }
          if (!p->canceled)
            {
              p->canceled = TRUE;
              p->canceled_mono = g_get_monotonic_time ();
            }
          if (!g_ptr_array_find_with_equal_func (self->canceled_ids, p->id, g_str_equal, NULL))
            g_ptr_array_add (self->canceled_ids, g_strdup (p->id));
          json = prediction_to_json (self, p);
          reply_json (msg, SOUP_STATUS_OK, json);
          return;
        }
    }

  /* models */
  if (n >= 3 && g_str_equal (parts[0], "models"))
    {
      const ModelSpec *model = find_model (parts[1], parts[2]);

      if (n == 4 && is_post && g_str_equal (parts[3], "predictions"))
        {
          soup_message_headers_replace (response_headers, "ratelimit-remaining", "599");
          if (maybe_throttle_create (self, msg))
            return;
          if (model == NULL)
            {
              reply_not_found (msg);
              return;
            }
          if (!model->official)
            {
              /* The official-model endpoint refuses community models. */
              reply_problem (msg, SOUP_STATUS_NOT_FOUND, NULL,
                             "This model is not an official model: create its predictions "
                             "with POST /v1/predictions and a version");
              return;
            }
          create_prediction (self, msg, body, model, FALSE);
          return;
        }
      if (n == 3 && is_get)
        {
          g_autoptr(JsonNode) json = NULL;

          if (model == NULL)
            {
              reply_not_found (msg);
              return;
            }
          json = model_to_json (self, model);
          reply_json (msg, SOUP_STATUS_OK, json);
          return;
        }
      if (n == 4 && is_get && g_str_equal (parts[3], "versions"))
        {
          g_autoptr(GPtrArray) nodes = g_ptr_array_new ();

          if (model == NULL)
            {
              reply_not_found (msg);
              return;
            }
          g_ptr_array_add (nodes, version_to_json (self, model));
          reply_page (msg, nodes);
          return;
        }
      if (n == 5 && is_get && g_str_equal (parts[3], "versions"))
        {
          g_autoptr(JsonNode) json = NULL;

          if (model == NULL || g_strcmp0 (model->version, parts[4]) != 0)
            {
              reply_not_found (msg);
              return;
            }
          json = version_to_json (self, model);
          reply_json (msg, SOUP_STATUS_OK, json);
          return;
        }
    }

  /* deployments */
  if (n == 4 && g_str_equal (parts[0], "deployments") && g_str_equal (parts[3], "predictions") &&
      is_post)
    {
      soup_message_headers_replace (response_headers, "ratelimit-remaining", "599");
      if (maybe_throttle_create (self, msg))
        return;
      if (!g_str_equal (parts[1], DEPLOYMENT_OWNER) || !g_str_equal (parts[2], DEPLOYMENT_NAME))
        {
          reply_not_found (msg);
          return;
        }
      create_prediction (self, msg, body, DEPLOYMENT_MODEL, TRUE);
      return;
    }

  /* files */
  if (n >= 1 && g_str_equal (parts[0], "files"))
    {
      if (n == 1 && is_post)
        {
          upload_file (self, msg);
          return;
        }
      if (n == 1 && is_get)
        {
          g_autoptr(GPtrArray) nodes = g_ptr_array_new ();

          for (guint i = self->file_order->len; i > 0; i--)
            g_ptr_array_add (nodes, file_to_json (self, g_ptr_array_index (self->file_order, i - 1)));
          reply_page (msg, nodes);
          return;
        }
      if (n == 2 && (is_get || g_strcmp0 (method, "DELETE") == 0))
        {
          FakeFile *file = g_hash_table_lookup (self->files, parts[1]);
          g_autoptr(JsonNode) json = NULL;

          if (file == NULL)
            {
              reply_not_found (msg);
              return;
            }
          if (!is_get)
            {
              g_ptr_array_remove (self->file_order, file);
              g_hash_table_remove (self->files, parts[1]);
              soup_server_message_set_status (msg, SOUP_STATUS_NO_CONTENT, NULL);
              return;
            }
          json = file_to_json (self, file);
          reply_json (msg, SOUP_STATUS_OK, json);
          return;
        }
    }

  /* account */
  if (n == 1 && g_str_equal (parts[0], "account") && is_get)
    {
      g_autoptr(JsonNode) json = json_from_string ("{\"type\":\"user\",\"username\":\"fake-user\","
                                                   "\"name\":\"Fake User\",\"github_url\":null}", NULL);
      reply_json (msg, SOUP_STATUS_OK, json);
      return;
    }

  reply_not_found (msg);
}

static void
api_handler (SoupServer        *server,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  SqFakeReplicate *self = user_data;
  SoupMessageHeaders *req_headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp_headers = soup_server_message_get_response_headers (msg);
  RequestInfo info = { 0 };

  g_mutex_lock (&self->mutex);

  info.authorized = check_authorization (self, soup_message_headers_get_one (req_headers, "Authorization"));
  info.body = parse_json_body (msg);

  soup_message_headers_replace (resp_headers, "ratelimit-remaining", "2999");
  soup_message_headers_replace (resp_headers, "ratelimit-reset", "1");

  if (!info.authorized)
    reply_problem (msg, SOUP_STATUS_UNAUTHORIZED, "Unauthenticated",
                   "You did not pass a valid authentication token");
  else
    handle_api (self, msg, path, info.body);

  record_request (self, msg, &info, FALSE);
  g_mutex_unlock (&self->mutex);

  g_clear_pointer (&info.body, json_node_unref);
}

/* ------------------------------------------------------------------ */
/* Stream server                                                        */
/* ------------------------------------------------------------------ */

static void stream_conn_schedule (StreamConn *conn,
                                  gint64      delay_us);

static void
stream_conn_free (StreamConn *conn)
{
  if (conn->timer)
    {
      g_source_destroy (conn->timer);
      g_source_unref (conn->timer);
    }
  conn->thread->conns = g_list_remove (conn->thread->conns, conn);
  g_rand_free (conn->rand);
  g_free (conn->id);
  g_free (conn);
}

static void
stream_conn_finished_cb (SoupServerMessage *msg,
                         StreamConn        *conn)
{
  g_signal_handlers_disconnect_by_data (msg, conn);
  stream_conn_free (conn);
}

/* Appends one SSE event with the connection's choice of line ending. */
static void
append_event (StreamConn *conn,
              GString    *out,
              const char *event,
              const char *id,
              const char *data)
{
  static const char * const endings[] = { "\n", "\r\n", "\r" };
  const char *eol = conn->random_splits
                    ? endings[g_rand_int_range (conn->rand, 0, 3)] : "\n";
  g_auto(GStrv) lines = g_strsplit (data, "\n", -1);

  g_string_append_printf (out, "event: %s%s", event, eol);
  if (id)
    g_string_append_printf (out, "id: %s%s", id, eol);
  for (guint i = 0; lines[i]; i++)
    g_string_append_printf (out, "data: %s%s", lines[i], eol);
  g_string_append (out, eol);
}

/* What a malformed stream puts before each output event: nothing here is
 * an output event, nor changes the last event id, so a correct parser
 * takes the same text from the stream as without it. */
static void
append_junk (StreamConn *conn,
             GString    *out)
{
  static const struct { const char *text; gsize len; } junk[] = {
#define JUNK(s) { s, sizeof (s) - 1 }
    JUNK ("this line is no field\n\n"),
    JUNK (": a comment\n"),
    JUNK ("retry: soon\n\n"),
    JUNK ("event: output\n\n"),                   /* no data: never dispatched */
    JUNK ("event: bogus\ndata: {\"half\": \n\n"),
    JUNK ("data: an event without a type\n\n"),
    JUNK ("\xff\xfe\xfd not UTF-8 at all\n\n"),
    JUNK ("event: \xc3\x28\ndata: \xff\xc0\n\n"),
    JUNK ("data:\n\n"),
    JUNK ("nul\0bytes\0\n\n"),
    JUNK ("event:output\r\n\r\n"),
    JUNK ("::::\n:\n\n"),
#undef JUNK
  };

  g_string_append_len (out, junk[conn->junk_index].text, junk[conn->junk_index].len);
  conn->junk_index = (conn->junk_index + 1) % G_N_ELEMENTS (junk);
}

static void
stream_conn_write (StreamConn *conn,
                   const char *text,
                   gsize       len)
{
  SoupMessageBody *body = soup_server_message_get_response_body (conn->msg);

  if (len == 0)
    return;
  conn->appended += len;
  if (!conn->random_splits)
    {
      soup_message_body_append (body, SOUP_MEMORY_COPY, text, len);
      return;
    }
  for (gsize off = 0; off < len;)
    {
      gsize piece = g_rand_int_range (conn->rand, 1, MAX_PIECE + 1);

      piece = MIN (piece, len - off);

      soup_message_body_append (body, SOUP_MEMORY_COPY, text + off, piece);
      off += piece;
    }
}

static void
stream_conn_wrote_body_data_cb (SoupServerMessage *msg,
                                guint              size,
                                StreamConn        *conn)
{
  conn->written += size;
}

static GSocket *
find_socket (ServerThread      *st,
             SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  GSocketConnection *connection;

  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return NULL;
  connection = g_hash_table_lookup (st->sockets,
                                    GUINT_TO_POINTER (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote))));
  return connection ? g_socket_connection_get_socket (connection) : NULL;
}

static void
stream_conn_drop (StreamConn *conn)
{
  /* A chunk that promises 64 bytes and delivers the start of an event */
  static const char partial_chunk[] = "40\r\nevent: output\nid: ";
  GIOStream *stream;
  GSocket *socket;

  /* Close the connection in the middle of the chunked body: the client
   * sees a truncated response, never a clean end. Shut the socket down
   * first, so that closing the stolen stream cannot write the final
   * zero-length chunk. */
  g_signal_handlers_disconnect_by_data (conn->msg, conn);
  socket = find_socket (conn->thread, conn->msg);
  if (socket)
    {
      g_socket_send (socket, partial_chunk, strlen (partial_chunk), NULL, NULL);
      g_socket_shutdown (socket, TRUE, TRUE, NULL);
    }
  stream = soup_server_message_steal_connection (conn->msg);
  if (stream)
    {
      g_io_stream_close (stream, NULL, NULL);
      g_object_unref (stream);
    }
  stream_conn_free (conn);
}

static void
stream_conn_pump (StreamConn *conn)
{
  SqFakeReplicate *self = conn->self;
  g_autoptr(GString) out = g_string_new (NULL);
  FakePrediction *p;
  Progress pr;
  guint visible;
  gboolean finish = FALSE;
  gboolean drop = FALSE;
  gint64 next_us = -1;
  int drop_after;

  g_mutex_lock (&self->mutex);
  p = g_hash_table_lookup (self->predictions, conn->id);
  prediction_progress (p, g_get_monotonic_time (), &pr);
  /* Event 0 is a logs event once the prediction runs, then output k at
   * index k + 1; the index is the seq of the event id. */
  visible = pr.started_us >= 0 ? 1 + visible_events (p, &pr) : 0;
  drop_after = self->drop_after;
  if (p->drop)
    {
      /* [[drop]] also drops string models, which have one output event */
      int trigger = p->model->output == OUTPUT_STRING
                    ? 1 : (int) MIN (DROP_TRIGGER_TOKENS, prediction_total_events (p));

      if (drop_after < 0 || drop_after > trigger)
        drop_after = trigger;
    }

  while (conn->next_seq < visible)
    {
      g_autofree char *to_free = NULL;
      g_autofree char *id = NULL;
      const char *data;

      id = g_strdup_printf ("%" G_GINT64_FORMAT ":%u",
                            p->created_real / G_USEC_PER_SEC, conn->next_seq);
      if (conn->next_seq == 0)
        {
          append_event (conn, out, "logs", id, LOGS_LINES);
          conn->next_seq++;
          continue;
        }
      if (drop_after >= 0 && conn->sent_this_connection >= (guint) drop_after)
        break;
      data = event_data (p, conn->next_seq - 1, &to_free);
      if (conn->malformed)
        append_junk (conn, out);
      append_event (conn, out, "output", id, data);
      conn->next_seq++;
      conn->sent_this_connection++;
    }

  /* A dropping connection closes once it has sent its share of events,
   * even when that was the last one, so the client never sees done. */
  drop = drop_after >= 0 && conn->sent_this_connection >= (guint) drop_after;

  if (!drop && progress_is_terminal (&pr) && conn->next_seq >= visible)
    {
      if (pr.state == STATE_FAILED)
        {
          g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
          JsonObject *obj = json_object_new ();
          g_autofree char *data = NULL;

          json_object_set_string_member (obj, "detail", p->error);
          json_node_take_object (node, obj);
          data = json_to_string (node, FALSE);
          append_event (conn, out, "error", NULL, data);
          append_event (conn, out, "done", NULL, "{\"reason\":\"error\"}");
        }
      else if (pr.state == STATE_CANCELED)
        append_event (conn, out, "done", NULL, "{\"reason\":\"canceled\"}");
      else
        append_event (conn, out, "done", NULL, "{}");
      finish = TRUE;
    }
  else if (!drop)
    next_us = pr.next_event_us >= 0
              ? MAX (0, pr.next_event_us - (g_get_monotonic_time () - p->created_mono))
              : 50 * 1000;
  g_mutex_unlock (&self->mutex);

  stream_conn_write (conn, out->str, out->len);

  if (drop)
    {
      /* Let what was written go out first, then close. */
      soup_server_message_unpause (conn->msg);
      conn->dropping = TRUE;
      stream_conn_schedule (conn, 0);
      return;
    }
  if (finish)
    {
      soup_message_body_complete (soup_server_message_get_response_body (conn->msg));
      soup_server_message_unpause (conn->msg);
      return;
    }
  if (out->len > 0)
    soup_server_message_unpause (conn->msg);
  stream_conn_schedule (conn, next_us);
}

static gboolean
stream_conn_timeout_cb (gpointer user_data)
{
  StreamConn *conn = user_data;

  g_source_unref (g_steal_pointer (&conn->timer));
  if (conn->dropping && conn->written < conn->appended)
    stream_conn_schedule (conn, 5 * 1000);  /* let libsoup flush first */
  else if (conn->dropping)
    stream_conn_drop (conn);
  else
    stream_conn_pump (conn);
  return G_SOURCE_REMOVE;
}

static void
stream_conn_schedule (StreamConn *conn,
                      gint64      delay_us)
{
  g_assert (conn->timer == NULL);
  conn->timer = g_timeout_source_new ((guint) ((delay_us + 999) / 1000));
  g_source_set_callback (conn->timer, stream_conn_timeout_cb, conn, NULL);
  g_source_attach (conn->timer, conn->thread->context);
}

static void
stream_handler (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  SqFakeReplicate *self = user_data;
  SoupMessageHeaders *req_headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *resp_headers = soup_server_message_get_response_headers (msg);
  const char *accept = soup_message_headers_get_one (req_headers, "Accept");
  const char *last_event_id = soup_message_headers_get_one (req_headers, "Last-Event-ID");
  RequestInfo info = { 0 };
  FakePrediction *p = NULL;
  StreamConn *conn;
  guint start_seq = 0;
  gboolean stall;

  g_mutex_lock (&self->mutex);
  info.authorized = check_authorization (self, soup_message_headers_get_one (req_headers, "Authorization"));

  if (g_str_has_prefix (path, "/v1/predictions/") && strchr (path + strlen ("/v1/predictions/"), '/') == NULL)
    p = g_hash_table_lookup (self->predictions, path + strlen ("/v1/predictions/"));

  if (g_strcmp0 (soup_server_message_get_method (msg), "GET") != 0)
    reply_problem (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, NULL, "Method not allowed.");
  else if (p == NULL || !p->has_stream)
    reply_not_found (msg);
  else if (accept == NULL || strstr (accept, "text/event-stream") == NULL)
    reply_problem (msg, SOUP_STATUS_NOT_ACCEPTABLE, NULL,
                   "The stream endpoint only serves Accept: text/event-stream");
  else
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);

  record_request (self, msg, &info, TRUE);

  if (soup_server_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_mutex_unlock (&self->mutex);
      return;
    }

  if (last_event_id)
    {
      g_auto(GStrv) fields = g_strsplit (last_event_id, ":", 2);
      guint64 epoch, seq;

      if (g_strv_length (fields) == 2 &&
          g_ascii_string_to_unsigned (fields[0], 10, 0, G_MAXUINT64, &epoch, NULL) &&
          g_ascii_string_to_unsigned (fields[1], 10, 0, G_MAXUINT, &seq, NULL) &&
          (gint64) epoch == p->created_real / G_USEC_PER_SEC)
        start_seq = seq + 1;
    }

  conn = g_new0 (StreamConn, 1);
  conn->self = self;
  conn->thread = &self->stream;
  conn->msg = msg;
  conn->id = g_strdup (p->id);
  conn->next_seq = start_seq;
  conn->random_splits = self->random_splits;
  conn->malformed = self->malformed_streams;
  conn->rand = g_rand_new_with_seed (self->seed ^ g_str_hash (p->id) ^ start_seq);
  stall = self->stall_streams;
  g_mutex_unlock (&self->mutex);

  self->stream.conns = g_list_prepend (self->stream.conns, conn);
  g_signal_connect (msg, "finished", G_CALLBACK (stream_conn_finished_cb), conn);
  g_signal_connect (msg, "wrote-body-data", G_CALLBACK (stream_conn_wrote_body_data_cb), conn);

  /* Written chunks are dropped; libsoup looks chunks up from the start
   * of the list, which is quadratic over a long accumulated stream. */
  soup_message_body_set_accumulate (soup_server_message_get_response_body (msg), FALSE);
  soup_message_headers_set_encoding (resp_headers, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (resp_headers, "text/event-stream", NULL);
  soup_message_headers_replace (resp_headers, "Cache-Control", "no-cache");
  stream_conn_write (conn, ": hi\n\n", 6);
  if (stall)
    {
      /* Headers and the opening comment, then silence: the connection
       * stays open until the client or the server closes it. */
      soup_server_message_unpause (msg);
      return;
    }
  stream_conn_pump (conn);
}

/* ------------------------------------------------------------------ */
/* Threads                                                              */
/* ------------------------------------------------------------------ */

static gboolean
remove_socket_cb (gpointer key,
                  gpointer value,
                  gpointer user_data)
{
  return value == user_data;
}

static void
socket_finalized_cb (gpointer  data,
                     GObject  *where_the_object_was)
{
  ServerThread *st = data;

  g_hash_table_foreach_remove (st->sockets, remove_socket_cb, where_the_object_was);
}

/* We accept connections ourselves and hand them to the server with
 * soup_server_accept_iostream(): SoupListener in libsoup 3.2 leaks its
 * local address and accepted sockets (fixed upstream in 3.3/3.4), and
 * this way the stream server also knows each client's socket. */
static void
accept_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  ServerThread *st = user_data;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), result, NULL, &error);
  if (connection == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Could not accept a connection: %s", error->message);
      return;
    }

  /* Small SSE pieces must not wait for Nagle and delayed ACKs */
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  local = g_socket_connection_get_local_address (connection, NULL);
  remote = g_socket_connection_get_remote_address (connection, NULL);
  if (local && remote && G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_hash_table_insert (st->sockets,
                           GUINT_TO_POINTER (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote))),
                           connection);
      g_object_weak_ref (G_OBJECT (connection), socket_finalized_cb, st);
      soup_server_accept_iostream (st->server, G_IO_STREAM (connection), local, remote, NULL);
    }

  g_socket_listener_accept_async (G_SOCKET_LISTENER (source), st->cancellable, accept_cb, st);
}

static gpointer
server_thread_func (gpointer data)
{
  ServerThread *st = data;
  SqFakeReplicate *self = st->self;
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer value;

  g_main_context_push_thread_default (st->context);

  st->sockets = g_hash_table_new (NULL, NULL);
  st->cancellable = g_cancellable_new ();
  st->server = soup_server_new ("server-header", "fake-replicate ", NULL);
  soup_server_add_handler (st->server, NULL, st->is_stream ? stream_handler : api_handler, self, NULL);
  if (!g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                      NULL, &effective, &error))
    g_error ("Could not listen on 127.0.0.1: %s", error->message);
  g_socket_listener_accept_async (listener, st->cancellable, accept_cb, st);

  g_mutex_lock (&self->mutex);
  st->origin = g_strdup_printf ("http://127.0.0.1:%u",
                                g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);

  g_main_loop_run (st->loop);

  /* Shut down inside the thread so the server is finalized here. */
  g_cancellable_cancel (st->cancellable);
  g_socket_listener_close (listener);
  /* Streams still open end like a dropped connection, not cleanly */
  while (st->conns)
    stream_conn_drop (st->conns->data);
  while (st->waits)
    pending_wait_free (st->waits->data);
  soup_server_disconnect (st->server);
  {
    gpointer server = st->server;

    g_object_add_weak_pointer (server, &server);
    g_clear_object (&st->server);
    g_warn_if_fail (server == NULL);  /* finalized here, in its thread */
  }
  while (g_main_context_iteration (st->context, FALSE))
    ;

  g_hash_table_iter_init (&iter, st->sockets);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_object_weak_unref (value, socket_finalized_cb, st);
  g_clear_pointer (&st->sockets, g_hash_table_unref);
  g_clear_object (&st->cancellable);

  g_main_context_pop_thread_default (st->context);
  return NULL;
}

static void
server_thread_start (SqFakeReplicate *self,
                     ServerThread    *st,
                     gboolean         is_stream)
{
  st->self = self;
  st->is_stream = is_stream;
  st->context = g_main_context_new ();
  st->loop = g_main_loop_new (st->context, FALSE);
  st->thread = g_thread_new (is_stream ? "fake-replicate-stream" : "fake-replicate-api",
                             server_thread_func, st);
}

static gboolean
quit_loop_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
server_thread_stop (ServerThread *st)
{
  GSource *source;

  if (st->thread == NULL)
    return;
  /* Quit from inside the loop: a g_main_loop_quit() that came before the
   * thread reached g_main_loop_run() would be lost. */
  source = g_idle_source_new ();
  g_source_set_callback (source, quit_loop_cb, st->loop, NULL);
  g_source_attach (source, st->context);
  g_source_unref (source);
  g_thread_join (st->thread);
  st->thread = NULL;
  g_main_loop_unref (st->loop);
  g_main_context_unref (st->context);
  g_clear_pointer (&st->origin, g_free);
}

/* ------------------------------------------------------------------ */
/* GObject                                                              */
/* ------------------------------------------------------------------ */

static void
sq_fake_replicate_dispose (GObject *object)
{
  SqFakeReplicate *self = SQ_FAKE_REPLICATE (object);

  server_thread_stop (&self->api);
  server_thread_stop (&self->stream);

  G_OBJECT_CLASS (sq_fake_replicate_parent_class)->dispose (object);
}

static void
sq_fake_replicate_finalize (GObject *object)
{
  SqFakeReplicate *self = SQ_FAKE_REPLICATE (object);

  g_free (self->token);
  g_rand_free (self->rand);
  g_ptr_array_unref (self->requests);
  g_ptr_array_unref (self->prediction_order);
  g_hash_table_unref (self->predictions);
  g_ptr_array_unref (self->file_order);
  g_hash_table_unref (self->files);
  g_ptr_array_unref (self->canceled_ids);
  g_hash_table_unref (self->schemas);
  g_free (self->requests_log);
  g_free (self->api.origin);
  g_free (self->stream.origin);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (sq_fake_replicate_parent_class)->finalize (object);
}

static void
sq_fake_replicate_class_init (SqFakeReplicateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sq_fake_replicate_dispose;
  object_class->finalize = sq_fake_replicate_finalize;
}

static void
sq_fake_replicate_init (SqFakeReplicate *self)
{
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->token = g_strdup (SQ_FAKE_REPLICATE_TOKEN);
  self->seed = 0x5eed;
  self->rand = g_rand_new_with_seed (self->seed);
  self->token_delay_ms = 2;
  self->start_delay_ms = 5;
  self->answer_tokens = 12;
  self->random_splits = TRUE;
  self->drop_after = -1;
  self->max_file_size = DEFAULT_MAX_FILE_SIZE;
  self->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_fake_request_free);
  self->predictions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, fake_prediction_free);
  self->prediction_order = g_ptr_array_new ();
  self->files = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, fake_file_free);
  self->file_order = g_ptr_array_new ();
  self->canceled_ids = g_ptr_array_new_with_free_func (g_free);
  self->schemas = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) json_node_unref);
}

SqFakeReplicate *
sq_fake_replicate_new (void)
{
  SqFakeReplicate *self = g_object_new (SQ_TYPE_FAKE_REPLICATE, NULL);

  server_thread_start (self, &self->api, FALSE);
  server_thread_start (self, &self->stream, TRUE);

  g_mutex_lock (&self->mutex);
  while (self->api.origin == NULL || self->stream.origin == NULL)
    g_cond_wait (&self->cond, &self->mutex);
  g_mutex_unlock (&self->mutex);

  return self;
}

const char *
sq_fake_replicate_get_origin (SqFakeReplicate *self)
{
  g_return_val_if_fail (SQ_IS_FAKE_REPLICATE (self), NULL);
  return self->api.origin;
}

const char *
sq_fake_replicate_get_stream_origin (SqFakeReplicate *self)
{
  g_return_val_if_fail (SQ_IS_FAKE_REPLICATE (self), NULL);
  return self->stream.origin;
}

void
sq_fake_replicate_set_token (SqFakeReplicate *self,
                             const char      *token)
{
  g_return_if_fail (SQ_IS_FAKE_REPLICATE (self));
  g_mutex_lock (&self->mutex);
  g_free (self->token);
  self->token = g_strdup (token ? token : SQ_FAKE_REPLICATE_TOKEN);
  g_mutex_unlock (&self->mutex);
}

void
sq_fake_replicate_set_seed (SqFakeReplicate *self,
                            guint32          seed)
{
  g_return_if_fail (SQ_IS_FAKE_REPLICATE (self));
  g_mutex_lock (&self->mutex);
  self->seed = seed;
  g_rand_set_seed (self->rand, seed);
  g_mutex_unlock (&self->mutex);
}

#define DEFINE_SETTER(name, field, type)                        \
  void                                                          \
  sq_fake_replicate_set_##name (SqFakeReplicate *self,          \
                                type             value)         \
  {                                                             \
    g_return_if_fail (SQ_IS_FAKE_REPLICATE (self));             \
    g_mutex_lock (&self->mutex);                                \
    self->field = value;                                        \
    g_mutex_unlock (&self->mutex);                              \
  }

DEFINE_SETTER (token_delay_ms, token_delay_ms, guint)
DEFINE_SETTER (start_delay_ms, start_delay_ms, guint)
DEFINE_SETTER (answer_tokens, answer_tokens, guint)
DEFINE_SETTER (random_splits, random_splits, gboolean)
DEFINE_SETTER (drop_streams_after, drop_after, int)
DEFINE_SETTER (no_stream, no_stream, gboolean)
DEFINE_SETTER (stall_streams, stall_streams, gboolean)
DEFINE_SETTER (malformed_streams, malformed_streams, gboolean)
DEFINE_SETTER (max_file_size, max_file_size, gsize)

void
sq_fake_replicate_queue_create_429 (SqFakeReplicate *self,
                                    guint            count,
                                    guint            retry_after_s,
                                    gboolean         in_header)
{
  g_return_if_fail (SQ_IS_FAKE_REPLICATE (self));
  g_mutex_lock (&self->mutex);
  self->create_429_count = count;
  self->create_429_retry_after = retry_after_s;
  self->create_429_in_header = in_header;
  g_mutex_unlock (&self->mutex);
}

void
sq_fake_replicate_queue_get_errors (SqFakeReplicate *self,
                                    guint            count,
                                    guint            status)
{
  g_return_if_fail (SQ_IS_FAKE_REPLICATE (self));
  g_return_if_fail (status >= 400 && status < 600);
  g_mutex_lock (&self->mutex);
  self->get_error_count = count;
  self->get_error_status = status;
  g_mutex_unlock (&self->mutex);
}

void
sq_fake_replicate_queue_get_malformed (SqFakeReplicate *self,
                                       guint            count)
{
  g_return_if_fail (SQ_IS_FAKE_REPLICATE (self));
  g_mutex_lock (&self->mutex);
  self->get_malformed_count = count;
  g_mutex_unlock (&self->mutex);
}

void
sq_fake_replicate_stop (SqFakeReplicate *self)
{
  char *api_origin;
  char *stream_origin;

  g_return_if_fail (SQ_IS_FAKE_REPLICATE (self));

  /* Clients keep the origins they were given; so do we. */
  api_origin = g_steal_pointer (&self->api.origin);
  stream_origin = g_steal_pointer (&self->stream.origin);
  server_thread_stop (&self->api);
  server_thread_stop (&self->stream);
  self->api.origin = api_origin;
  self->stream.origin = stream_origin;
}

void
sq_fake_replicate_set_requests_log (SqFakeReplicate *self,
                                    const char      *path)
{
  g_return_if_fail (SQ_IS_FAKE_REPLICATE (self));
  g_mutex_lock (&self->mutex);
  g_free (self->requests_log);
  self->requests_log = g_strdup (path);
  g_mutex_unlock (&self->mutex);
}

char *
sq_fake_replicate_expected_answer (SqFakeReplicate *self,
                                   const char      *model,
                                   const char      *image_sha256,
                                   const char      *prompt)
{
  g_autoptr(GPtrArray) tokens = NULL;
  guint n;

  g_return_val_if_fail (SQ_IS_FAKE_REPLICATE (self), NULL);
  g_return_val_if_fail (model != NULL, NULL);

  g_mutex_lock (&self->mutex);
  n = self->answer_tokens;
  g_mutex_unlock (&self->mutex);

  tokens = build_tokens (model, image_sha256, prompt, n);
  return join_tokens (tokens, tokens->len);
}

GPtrArray *
sq_fake_replicate_dup_requests (SqFakeReplicate *self)
{
  GPtrArray *copy;

  g_return_val_if_fail (SQ_IS_FAKE_REPLICATE (self), NULL);

  copy = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_fake_request_free);
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->requests->len; i++)
    g_ptr_array_add (copy, sq_fake_request_copy (g_ptr_array_index (self->requests, i)));
  g_mutex_unlock (&self->mutex);
  return copy;
}

void
sq_fake_replicate_clear_requests (SqFakeReplicate *self)
{
  g_return_if_fail (SQ_IS_FAKE_REPLICATE (self));
  g_mutex_lock (&self->mutex);
  g_ptr_array_set_size (self->requests, 0);
  g_mutex_unlock (&self->mutex);
}

guint
sq_fake_replicate_count_requests (SqFakeReplicate *self,
                                  const char      *method,
                                  const char      *path_prefix)
{
  guint count = 0;

  g_return_val_if_fail (SQ_IS_FAKE_REPLICATE (self), 0);

  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->requests->len; i++)
    {
      SqFakeRequest *r = g_ptr_array_index (self->requests, i);

      if ((method == NULL || g_strcmp0 (r->method, method) == 0) &&
          (path_prefix == NULL || g_str_has_prefix (r->path, path_prefix)))
        count++;
    }
  g_mutex_unlock (&self->mutex);
  return count;
}

JsonObject *
sq_fake_replicate_dup_prediction (SqFakeReplicate *self,
                                  const char      *id)
{
  FakePrediction *p;
  JsonObject *obj = NULL;

  g_return_val_if_fail (SQ_IS_FAKE_REPLICATE (self), NULL);

  g_mutex_lock (&self->mutex);
  p = g_hash_table_lookup (self->predictions, id);
  if (p)
    {
      g_autoptr(JsonNode) node = prediction_to_json (self, p);
      obj = json_object_ref (json_node_get_object (node));
    }
  g_mutex_unlock (&self->mutex);
  return obj;
}

GStrv
sq_fake_replicate_dup_canceled_ids (SqFakeReplicate *self)
{
  GStrvBuilder *builder;
  GStrv result;

  g_return_val_if_fail (SQ_IS_FAKE_REPLICATE (self), NULL);

  builder = g_strv_builder_new ();
  g_mutex_lock (&self->mutex);
  for (guint i = 0; i < self->canceled_ids->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->canceled_ids, i));
  g_mutex_unlock (&self->mutex);
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}
