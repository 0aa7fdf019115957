/* sq-fake-replicate.h
 *
 * A loopback fake of the Replicate HTTP API, faithful to
 * shared/docs/replicate-protocol.md: an API server and a separate
 * streaming server (another port), each a SoupServer running in its own
 * thread with its own GMainContext, so tests may block or iterate their
 * own loop freely.
 *
 * Models it knows (all with realistic openapi_schema documents):
 *   yorickvp/llava-13b:e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358
 *       prompt, image (uri), top_p, temperature, max_tokens; concatenate-iterator output
 *   lucataco/fuyu-8b:42f23bc876570a46f5a90737086fbc4c3f79dd11753a28eaa39544dd391815e9
 *       prompt, image, max_new_tokens (0..2048); string output
 *   daanelson/minigpt-4:b96a2f33cc8e4b0aa23eacfce731b9c41a7d9466d9ed4e167375587b54db9423
 *       image, prompt, num_beams, temperature, top_p, repetition_penalty,
 *       max_new_tokens, max_length; string output
 *   naklecha/cogvlm:ec3886f9ea85dd0aee216585be5e6d07b04c9650f7b8b08363a14eb89e207eb2
 *       image, prompt; string output; predictions have NO urls.stream
 *   zsxkib/molmo-7b (latest version in GET model): image, text, top_k,
 *       top_p, max_new_tokens, temperature; iterator output; enum via allOf/$ref
 *   openai/gpt-4o-mini (official, version "hidden"): prompt, system_prompt,
 *       image_input (array of uri), temperature, max_completion_tokens
 *   acme/text-only: prompt only (no image input)
 *   deployment acme/llava-deploy → runs like llava-13b
 *
 * The answer is deterministic, so tests can check which image and
 * prompt produced it; see sq_fake_replicate_expected_answer(). Its tokens:
 *   "<name>", " sees", " image", " <sha8>", " about", " \"<prompt>\":",
 *   "\nVoilà", " 🙂", then " w1", " w2", … (every 5th filler is ".\n")
 * up to answer_tokens (never fewer than these 8). <name> is the model name
 * without owner ("llava-13b"; deployments answer as llava-13b), <sha8> the
 * first 8 hex digits of the image SHA-256 ("none" without an image input),
 * <prompt> the prompt input (molmo: "text") with CR/CRLF turned into LF.
 * E.g. "llava-13b sees image 494a3070 about \"hi\":\nVoilà 🙂 w1 w2 w3 w4".
 *
 * Inputs are validated like the real API: unknown keys, wrong types and
 * values out of range are refused with 422 problem+json, one line per
 * problem in "detail" ("input: Additional property max_new_tokens is not
 * allowed", "input.top_p: Must be less than or equal to 1", "input: prompt
 * is required", "input.x: Invalid type. Expected: integer, given: string").
 * Image inputs must be data:image/<type>;base64,<valid base64>, an http(s)
 * URL, or <origin>/v1/files/<id> of a file uploaded to this fake.
 *
 * Timing: a prediction is "starting" for start_delay_ms, then
 * "processing" with one token every token_delay_ms; it succeeds when the
 * last token is out. Iterator models poll as output ["", t0, t1, …]
 * (null before the first token); string models (fuyu, minigpt-4, cogvlm)
 * poll as null until they succeed, then the whole string, and their SSE
 * stream carries a single output event with the whole string at the end.
 * The create body must be application/json (else 400), "version" is
 * required on POST /v1/predictions and refused elsewhere (422). Community
 * models on POST /v1/models/{o}/{n}/predictions answer 404.
 *
 * "Prefer: wait" / "wait=N" (1..60) on a create holds the 201 until the
 * prediction ends or N s pass (Preference-Applied: wait=N); other wait
 * values answer 400.
 *
 * Stream server: GET with Accept: text/event-stream (else 406), no auth
 * needed; ": hi", then once running a logs event ("id: <created
 * epoch>:0", two data lines), then output events with ids :1, :2, …, then
 * done ({} / {"reason":"canceled"} / after an error event
 * {"reason":"error"}), no id on done. Tokens with "\n" go out as several
 * data lines. With random splits (default) the body comes in chunks of
 * 1..16 bytes and each event ends its lines with "\n", "\r\n" or "\r"
 * (chosen from the seed). Late connections replay;
 * Last-Event-ID "<epoch>:<seq>" resumes after seq. A dropped stream
 * ends inside an HTTP chunk, so clients see a truncated body; so do
 * streams still open when the fake is disposed.
 *
 * Prompt triggers (work with the standalone server too):
 *   "[[fail]]"  the prediction fails after 3 tokens (status failed, error
 *               set; the stream sends an error event then done
 *               {"reason":"error"})
 *   "[[cancel]]" Replicate cancels the prediction itself after 3 tokens
 *               (status canceled, no error; the stream ends with done
 *               {"reason":"canceled"}), as when its deadline passes
 *   "[[drop]]"  every stream connection closes after 3 output events
 *               (string models: after their one) without done; polling
 *               urls.get still completes it, and reconnecting with
 *               Last-Event-ID gets the next 3, and so on, then done
 *   "[[slow]]"  tokens come 10× slower
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define SQ_FAKE_REPLICATE_TOKEN "r8_fake-token-for-squint-tests"

typedef struct
{
  char     *method;
  char     *path;          /* without query */
  char     *authorization; /* the header as sent, or NULL */
  char     *user_agent;
  char     *content_type;
  JsonNode *body;          /* parsed JSON body, or NULL */
  guint     status;        /* what the fake answered */
  gboolean  on_stream_server;
} SqFakeRequest;

void sq_fake_request_free (SqFakeRequest *request);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqFakeRequest, sq_fake_request_free)

#define SQ_TYPE_FAKE_REPLICATE (sq_fake_replicate_get_type ())

G_DECLARE_FINAL_TYPE (SqFakeReplicate, sq_fake_replicate, SQ, FAKE_REPLICATE, GObject)

/* Starts both servers on 127.0.0.1, ephemeral ports. Aborts on failure. */
SqFakeReplicate *sq_fake_replicate_new                  (void);
/* "http://127.0.0.1:PORT": what REPLICATE_BASE_URL should be. */
const char      *sq_fake_replicate_get_origin           (SqFakeReplicate *self);
const char      *sq_fake_replicate_get_stream_origin    (SqFakeReplicate *self);
/* The accepted token, SQ_FAKE_REPLICATE_TOKEN unless set. */
void             sq_fake_replicate_set_token            (SqFakeReplicate *self,
                                                         const char      *token);
void             sq_fake_replicate_set_seed             (SqFakeReplicate *self,
                                                         guint32          seed);

/* Behaviour knobs; all thread-safe, taking effect for later requests. */
void             sq_fake_replicate_set_token_delay_ms   (SqFakeReplicate *self,
                                                         guint            ms);   /* default 2 */
void             sq_fake_replicate_set_start_delay_ms   (SqFakeReplicate *self,
                                                         guint            ms);   /* default 5 */
void             sq_fake_replicate_set_answer_tokens    (SqFakeReplicate *self,
                                                         guint            n);    /* default 12 */
/* Write SSE in random byte-sized pieces (default TRUE). */
void             sq_fake_replicate_set_random_splits    (SqFakeReplicate *self,
                                                         gboolean         random_splits);
/* The next @count prediction creates answer 429; @retry_after_s in a
 * Retry-After header when @in_header, else as "retry_after" in the body. */
void             sq_fake_replicate_queue_create_429     (SqFakeReplicate *self,
                                                         guint            count,
                                                         guint            retry_after_s,
                                                         gboolean         in_header);
/* The next @count GETs (predictions, models) answer @status (429/500/503). */
void             sq_fake_replicate_queue_get_errors     (SqFakeReplicate *self,
                                                         guint            count,
                                                         guint            status);
/* Every stream closes after @n_tokens without done; -1 (default) never. */
void             sq_fake_replicate_set_drop_streams_after (SqFakeReplicate *self,
                                                           int              n_tokens);
/* Predictions get no urls.stream (polling only). */
void             sq_fake_replicate_set_no_stream        (SqFakeReplicate *self,
                                                         gboolean         no_stream);

/* Streams send their opening comment, then nothing, and stay open until
 * the client (or sq_fake_replicate_stop()) closes them. */
void             sq_fake_replicate_set_stall_streams    (SqFakeReplicate *self,
                                                         gboolean         stall);
/* Streams put junk before every output event: lines that are no field,
 * comments, unknown fields and events, events without data, invalid UTF-8
 * and NUL bytes. The output events themselves are unchanged. */
void             sq_fake_replicate_set_malformed_streams (SqFakeReplicate *self,
                                                          gboolean         malformed);
/* The next @count GETs (predictions, models) answer 200 with JSON cut short. */
void             sq_fake_replicate_queue_get_malformed  (SqFakeReplicate *self,
                                                         guint            count);
/* Stops both servers as if the host went away: open streams break, later
 * connections are refused. The origins stay as they were. */
void             sq_fake_replicate_stop                 (SqFakeReplicate *self);
/* Uploads larger than this answer 413 (default 100 MiB, like Replicate). */
void             sq_fake_replicate_set_max_file_size    (SqFakeReplicate *self,
                                                         gsize            max_file_size);
/* Appends one JSON line per request to @path (NULL: stop): method, path,
 * authorized (bool, the token itself is never written), status, server
 * ("api" or "stream") and the parsed JSON body (or null). */
void             sq_fake_replicate_set_requests_log     (SqFakeReplicate *self,
                                                         const char      *path);

/* What the fake answers for this model, image and prompt. @model is
 * "owner/name"; @image_sha256 is the lower-case hex SHA-256 of the image
 * bytes (data URI or Files upload), or of the URL string for http(s)
 * URLs. The streamed text, the polled output joined, and the final
 * output are all exactly this string. */
char            *sq_fake_replicate_expected_answer      (SqFakeReplicate *self,
                                                         const char      *model,
                                                         const char      *image_sha256,
                                                         const char      *prompt);

/* Every request so far, in order. (element-type SqFakeRequest) (transfer full) */
GPtrArray       *sq_fake_replicate_dup_requests         (SqFakeReplicate *self);
void             sq_fake_replicate_clear_requests       (SqFakeReplicate *self);
guint            sq_fake_replicate_count_requests       (SqFakeReplicate *self,
                                                         const char      *method,
                                                         const char      *path_prefix);
/* The current JSON of a prediction (as GET would answer), or NULL. */
JsonObject      *sq_fake_replicate_dup_prediction       (SqFakeReplicate *self,
                                                         const char      *id);
/* Ids of predictions that were canceled through the API. */
GStrv            sq_fake_replicate_dup_canceled_ids     (SqFakeReplicate *self);

G_END_DECLS
