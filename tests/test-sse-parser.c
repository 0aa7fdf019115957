/* test-sse-parser.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include "sq-sse-parser.h"

/* Feeds @chunks (a NULL-terminated list of C strings) and returns every
 * event that came out, without calling finish. */
static GPtrArray *
collect_events (SqSseParser *parser)
{
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_sse_event_free);
  SqSseEvent *event;

  while ((event = sq_sse_parser_pop (parser)) != NULL)
    g_ptr_array_add (events, event);

  return events;
}

static GPtrArray *
parse_chunks (const char * const *chunks)
{
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();

  for (guint i = 0; chunks[i] != NULL; i++)
    sq_sse_parser_feed (parser, chunks[i], strlen (chunks[i]));
  sq_sse_parser_finish (parser);

  return collect_events (parser);
}

static GPtrArray *
parse (const char *stream)
{
  const char *chunks[] = { stream, NULL };

  return parse_chunks (chunks);
}

static GPtrArray *
parse_len (const char *stream,
           gsize       len)
{
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();

  sq_sse_parser_feed (parser, stream, len);
  sq_sse_parser_finish (parser);

  return collect_events (parser);
}

static void
assert_event (GPtrArray  *events,
              guint       index,
              const char *type,
              const char *data,
              const char *id)
{
  SqSseEvent *event;

  g_assert_cmpuint (index, <, events->len);
  event = g_ptr_array_index (events, index);
  g_assert_cmpstr (event->event, ==, type);
  g_assert_cmpstr (event->data, ==, data);
  g_assert_cmpstr (event->id, ==, id);
}

static void
assert_same_events (GPtrArray *a,
                    GPtrArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      SqSseEvent *ea = g_ptr_array_index (a, i);
      SqSseEvent *eb = g_ptr_array_index (b, i);

      g_assert_cmpstr (ea->event, ==, eb->event);
      g_assert_cmpstr (ea->data, ==, eb->data);
      g_assert_cmpstr (ea->id, ==, eb->id);
    }
}

static void
test_basic (void)
{
  g_autoptr(GPtrArray) events = parse ("data: hello\n\n");

  g_assert_cmpuint (events->len, ==, 1);
  assert_event (events, 0, "message", "hello", NULL);
}

static void
test_pop_empty (void)
{
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();

  g_assert_null (sq_sse_parser_pop (parser));
  g_assert_null (sq_sse_parser_get_last_id (parser));
  g_assert_cmpint (sq_sse_parser_get_retry_ms (parser), ==, -1);

  /* Nothing comes out before the blank line. */
  sq_sse_parser_feed (parser, "data: a\n", 8);
  g_assert_null (sq_sse_parser_pop (parser));
  sq_sse_parser_feed (parser, "\n", 1);
  {
    g_autoptr(SqSseEvent) event = sq_sse_parser_pop (parser);
    g_assert_nonnull (event);
    g_assert_cmpstr (event->data, ==, "a");
  }
  g_assert_null (sq_sse_parser_pop (parser));
}

static void
test_line_endings (void)
{
  const char *streams[] = {
    "data: a\ndata: b\n\nevent: x\ndata: c\n\n",
    "data: a\r\ndata: b\r\n\r\nevent: x\r\ndata: c\r\n\r\n",
    "data: a\rdata: b\r\revent: x\rdata: c\r\r",
    "data: a\r\ndata: b\r\revent: x\ndata: c\r\n\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (streams); i++)
    {
      g_autoptr(GPtrArray) events = parse (streams[i]);

      g_test_message ("stream %u", i);
      g_assert_cmpuint (events->len, ==, 2);
      assert_event (events, 0, "message", "a\nb", NULL);
      assert_event (events, 1, "x", "c", NULL);
    }
}

static void
test_crlf_split (void)
{
  /* The "\r" and "\n" of one line end arrive in different feeds: that is
   * one line end, not a line end and then a blank line. */
  const char *chunks[] = { "data: a\r", "\ndata: b\r", "\n\r", "\n", NULL };
  g_autoptr(GPtrArray) events = parse_chunks (chunks);

  g_assert_cmpuint (events->len, ==, 1);
  assert_event (events, 0, "message", "a\nb", NULL);
}

static void
test_cr_then_blank (void)
{
  /* "\r" then "\r": two line ends, so a dispatch, even split. */
  const char *chunks[] = { "data: a\r", "\r", "data: b\r", "", "\r", NULL };
  g_autoptr(GPtrArray) events = parse_chunks (chunks);

  g_assert_cmpuint (events->len, ==, 2);
  assert_event (events, 0, "message", "a", NULL);
  assert_event (events, 1, "message", "b", NULL);
}

static void
test_bom (void)
{
  g_autoptr(GPtrArray) whole = parse ("\xEF\xBB\xBF" "data: x\n\n");
  const char *chunks[] = { "\xEF", "\xBB", "\xBF" "da", "ta: y\n\n", NULL };
  g_autoptr(GPtrArray) split = parse_chunks (chunks);
  /* Only a BOM at the very start is skipped; later it is part of the
   * field name, which is then unknown. */
  g_autoptr(GPtrArray) later = parse ("data: 1\n\n" "\xEF\xBB\xBF" "data: 2\n\n");
  /* A BOM alone on the first line leaves a blank line. */
  g_autoptr(GPtrArray) alone = parse ("\xEF\xBB\xBF\ndata: 3\n\n");

  g_assert_cmpuint (whole->len, ==, 1);
  assert_event (whole, 0, "message", "x", NULL);
  g_assert_cmpuint (split->len, ==, 1);
  assert_event (split, 0, "message", "y", NULL);
  g_assert_cmpuint (later->len, ==, 1);
  assert_event (later, 0, "message", "1", NULL);
  g_assert_cmpuint (alone->len, ==, 1);
  assert_event (alone, 0, "message", "3", NULL);
}

static void
test_utf8_split (void)
{
  /* "é" is C3 A9 and "€" is E2 82 AC; cut inside both. */
  const char *chunks[] = { "data: caf\xC3", "\xA9 5 \xE2\x82", "\xAC\n\n", NULL };
  g_autoptr(GPtrArray) events = parse_chunks (chunks);

  g_assert_cmpuint (events->len, ==, 1);
  assert_event (events, 0, "message", "caf\xC3\xA9 5 \xE2\x82\xAC", NULL);
}

static void
test_invalid_utf8 (void)
{
  static const char stream[] = "event: a\xFF\ndata: x\xC3\ndata: y\0z\nid: \xFE\n\n";
  g_autoptr(GPtrArray) events = parse_len (stream, sizeof stream - 1);
  SqSseEvent *event;

  g_assert_cmpuint (events->len, ==, 1);
  event = g_ptr_array_index (events, 0);
  g_assert_true (g_utf8_validate (event->event, -1, NULL));
  g_assert_true (g_utf8_validate (event->data, -1, NULL));
  g_assert_true (g_utf8_validate (event->id, -1, NULL));
  g_assert_cmpstr (event->event, ==, "a\xEF\xBF\xBD");
  g_assert_cmpstr (event->data, ==, "x\xEF\xBF\xBD\ny\xEF\xBF\xBDz");
  g_assert_cmpstr (event->id, ==, "\xEF\xBF\xBD");
}

static void
test_comments (void)
{
  g_autoptr(GPtrArray) events = parse (": hi\n\n"
                                       ":408: 408 Request Timeout\n"
                                       ":\n"
                                       "data: a\n"
                                       ": inside an event\n"
                                       "data: b\n\n");

  /* The comment followed by a blank line dispatches nothing. */
  g_assert_cmpuint (events->len, ==, 1);
  assert_event (events, 0, "message", "a\nb", NULL);
}

static void
test_value_space (void)
{
  g_autoptr(GPtrArray) events = parse ("data:x\n\n"
                                       "data: x\n\n"
                                       "data:  x\n\n"
                                       "data:\tx\n\n"
                                       "data: x \n\n"
                                       "data: a: b\n\n");

  g_assert_cmpuint (events->len, ==, 6);
  assert_event (events, 0, "message", "x", NULL);
  assert_event (events, 1, "message", "x", NULL);
  assert_event (events, 2, "message", " x", NULL);
  assert_event (events, 3, "message", "\tx", NULL);
  assert_event (events, 4, "message", "x ", NULL);
  assert_event (events, 5, "message", "a: b", NULL);
}

static void
test_multiline_data (void)
{
  g_autoptr(GPtrArray) events = parse ("data: hello,\n"
                                       "data: this is a new line,\n"
                                       "data: and this is a new line too\n\n"
                                       "data:\ndata:\n\n"
                                       "data: trailing\ndata:\n\n");

  g_assert_cmpuint (events->len, ==, 3);
  assert_event (events, 0, "message",
                "hello,\nthis is a new line,\nand this is a new line too", NULL);
  assert_event (events, 1, "message", "\n", NULL);
  assert_event (events, 2, "message", "trailing\n", NULL);
}

static void
test_empty_data_line (void)
{
  /* "data:" alone makes the data buffer non-empty: one event, data "". */
  g_autoptr(GPtrArray) events = parse ("data:\n\n" "data\n\n");

  g_assert_cmpuint (events->len, ==, 2);
  assert_event (events, 0, "message", "", NULL);
  assert_event (events, 1, "message", "", NULL);
}

static void
test_event_type (void)
{
  g_autoptr(GPtrArray) events = parse ("event: output\ndata: a\n\n"
                                       "data: b\n\n"
                                       "event: first\nevent: second\ndata: c\n\n"
                                       "event:\ndata: d\n\n");

  /* The type resets to "message" after each dispatch; the last event
   * line wins; an empty type means "message". */
  g_assert_cmpuint (events->len, ==, 4);
  assert_event (events, 0, "output", "a", NULL);
  assert_event (events, 1, "message", "b", NULL);
  assert_event (events, 2, "second", "c", NULL);
  assert_event (events, 3, "message", "d", NULL);
}

static void
test_event_without_data (void)
{
  g_autoptr(GPtrArray) events = parse ("event: done\n\n" "event\n\n" "\n\n\n");

  /* An event type alone is dispatched with empty data; blank lines
   * alone and an empty event type are not. */
  g_assert_cmpuint (events->len, ==, 1);
  assert_event (events, 0, "done", "", NULL);
}

static void
test_id (void)
{
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();
  g_autoptr(GPtrArray) events = NULL;
  static const char stream[] =
    "id: 1\ndata: a\n\n"      /* id 1 */
    "data: b\n\n"             /* still 1 */
    "id: 2\n\n"               /* no event, but the id is now 2 */
    "data: c\n\n"             /* 2 */
    "id: x\0y\ndata: d\n\n"   /* NUL: ignored, still 2 */
    "id\ndata: e\n\n"         /* empty id resets */
    "id: 3\ndata: f\n"        /* not ended: discarded with its id */
    ;

  sq_sse_parser_feed (parser, stream, sizeof stream - 1);
  g_assert_cmpstr (sq_sse_parser_get_last_id (parser), ==, NULL);
  sq_sse_parser_finish (parser);
  g_assert_cmpstr (sq_sse_parser_get_last_id (parser), ==, NULL);

  events = collect_events (parser);
  g_assert_cmpuint (events->len, ==, 5);
  assert_event (events, 0, "message", "a", "1");
  assert_event (events, 1, "message", "b", "1");
  assert_event (events, 2, "message", "c", "2");
  assert_event (events, 3, "message", "d", "2");
  assert_event (events, 4, "message", "e", NULL);
}

static void
test_id_committed_at_blank_line (void)
{
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();

  sq_sse_parser_feed (parser, "id: 7\ndata: a\n", 14);
  g_assert_null (sq_sse_parser_get_last_id (parser));
  sq_sse_parser_feed (parser, "\n", 1);
  g_assert_cmpstr (sq_sse_parser_get_last_id (parser), ==, "7");

  /* An id in an event cut off by the end of the stream is not kept. */
  sq_sse_parser_feed (parser, "id: 8\ndata: b\n", 14);
  sq_sse_parser_finish (parser);
  g_assert_cmpstr (sq_sse_parser_get_last_id (parser), ==, "7");

  /* The next stream goes on with 7. */
  sq_sse_parser_feed (parser, "data: c\n\n", 9);
  {
    g_autoptr(SqSseEvent) a = sq_sse_parser_pop (parser);
    g_autoptr(SqSseEvent) c = sq_sse_parser_pop (parser);

    g_assert_cmpstr (a->data, ==, "a");
    g_assert_cmpstr (c->data, ==, "c");
    g_assert_cmpstr (c->id, ==, "7");
    g_assert_null (sq_sse_parser_pop (parser));
  }
}

static void
test_retry (void)
{
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();
  struct {
    const char *line;
    gint64 expected;
  } cases[] = {
    { "retry: 3000\n", 3000 },
    { "retry: 12a\n", 3000 },
    { "retry:\n", 3000 },
    { "retry: -5\n", 3000 },
    { "retry: 1.5\n", 3000 },
    { "retry:  10\n", 3000 },
    { "retry: 99999999999999999999999\n", 3000 },
    { "retry:0\n", 0 },
    { "retry: 007\n", 7 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      sq_sse_parser_feed (parser, cases[i].line, strlen (cases[i].line));
      g_assert_cmpint (sq_sse_parser_get_retry_ms (parser), ==, cases[i].expected);
    }

  /* retry alone dispatches nothing */
  sq_sse_parser_feed (parser, "\n", 1);
  g_assert_null (sq_sse_parser_pop (parser));
}

static void
test_unknown_field (void)
{
  g_autoptr(GPtrArray) events = parse ("foo: bar\ndata: a\nDATA: b\nData: c\nevents: x\n"
                                       " data: d\nid : 5\n\n"
                                       "foo: bar\n\n");

  /* Field names are case-sensitive and exact. */
  g_assert_cmpuint (events->len, ==, 1);
  assert_event (events, 0, "message", "a", NULL);
}

static void
test_no_colon (void)
{
  g_autoptr(GPtrArray) events = parse ("data\ndata\ndata\n\n" "event\ndata: x\n\n");

  g_assert_cmpuint (events->len, ==, 2);
  assert_event (events, 0, "message", "\n\n", NULL);
  assert_event (events, 1, "message", "x", NULL);
}

static void
test_finish_discards (void)
{
  g_autoptr(GPtrArray) no_blank = parse ("data: a\n\ndata: b\n");
  g_autoptr(GPtrArray) no_newline = parse ("data: a\n\ndata: b");
  g_autoptr(GPtrArray) event_only = parse ("event: done");
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();
  g_autoptr(GPtrArray) after = NULL;

  g_assert_cmpuint (no_blank->len, ==, 1);
  assert_event (no_blank, 0, "message", "a", NULL);
  g_assert_cmpuint (no_newline->len, ==, 1);
  assert_event (no_newline, 0, "message", "a", NULL);
  g_assert_cmpuint (event_only->len, ==, 0);

  /* After finish, a new stream starts clean: the half line, data and
   * type are gone, a "\n" right after a final "\r" is a blank line of
   * the new stream, and a BOM is skipped again. */
  sq_sse_parser_feed (parser, "event: x\rdata: a\rdat", 20);
  sq_sse_parser_finish (parser);
  sq_sse_parser_finish (parser);
  sq_sse_parser_feed (parser, "event: y\rdata: z\r", 18);
  sq_sse_parser_finish (parser);
  sq_sse_parser_feed (parser, "\n", 1);
  sq_sse_parser_feed (parser, "\xEF\xBB\xBF" "a: q\ndata: b\n\n", 17);
  after = collect_events (parser);
  g_assert_cmpuint (after->len, ==, 1);
  assert_event (after, 0, "message", "b", NULL);
}

static void
test_reset (void)
{
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();
  static const char stream[] = "retry: 5\nid: 4\ndata: a\n\ndata: b";
  g_autoptr(SqSseEvent) event = NULL;

  sq_sse_parser_feed (parser, stream, strlen (stream));
  g_assert_cmpstr (sq_sse_parser_get_last_id (parser), ==, "4");
  sq_sse_parser_reset (parser);
  g_assert_null (sq_sse_parser_pop (parser));
  g_assert_null (sq_sse_parser_get_last_id (parser));
  g_assert_cmpint (sq_sse_parser_get_retry_ms (parser), ==, -1);

  sq_sse_parser_feed (parser, "\n\ndata: c\n\n", 11);
  event = sq_sse_parser_pop (parser);
  g_assert_cmpstr (event->data, ==, "c");
  g_assert_null (event->id);
  g_assert_null (sq_sse_parser_pop (parser));
}

static void
test_event_boxed (void)
{
  SqSseEvent event = { (char *) "output", (char *) "tok", (char *) "1:0" };
  g_autoptr(SqSseEvent) copy = sq_sse_event_copy (&event);
  g_auto(GValue) value = G_VALUE_INIT;
  SqSseEvent *held;

  g_assert_true (copy != &event);
  g_assert_cmpstr (copy->event, ==, "output");
  g_assert_cmpstr (copy->data, ==, "tok");
  g_assert_cmpstr (copy->id, ==, "1:0");

  g_assert_true (G_TYPE_IS_BOXED (SQ_TYPE_SSE_EVENT));
  g_value_init (&value, SQ_TYPE_SSE_EVENT);
  g_value_set_boxed (&value, copy);
  held = g_value_get_boxed (&value);
  g_assert_true (held != copy);
  g_assert_cmpstr (held->data, ==, "tok");

  event.id = NULL;
  g_clear_pointer (&copy, sq_sse_event_free);
  copy = sq_sse_event_copy (&event);
  g_assert_null (copy->id);
  sq_sse_event_free (NULL);
}

/* Replicate's sequences, as in replicate-protocol.md §4.3 */

static void
test_replicate_output (void)
{
  g_autoptr(GPtrArray) events = parse (": hi\n\n"
                                       "event: output\n"
                                       "id: 1690212292:0\n"
                                       "data: Once upon a time...\n\n"
                                       "event: output\n"
                                       "id: 1690212292:1\n"
                                       "data:  world\n\n"
                                       "event: done\n"
                                       "data: {}\n\n");

  g_assert_cmpuint (events->len, ==, 3);
  assert_event (events, 0, "output", "Once upon a time...", "1690212292:0");
  assert_event (events, 1, "output", " world", "1690212292:1");
  /* done has no id line: the last id persists */
  assert_event (events, 2, "done", "{}", "1690212292:1");
}

static void
test_replicate_multiline (void)
{
  g_autoptr(GPtrArray) events = parse ("event: output\n"
                                       "id: 1690212292:3\n"
                                       "data: hello,\n"
                                       "data: this is a new line,\n"
                                       "data: and this is a new line too\n\n");

  g_assert_cmpuint (events->len, ==, 1);
  assert_event (events, 0, "output",
                "hello,\nthis is a new line,\nand this is a new line too", "1690212292:3");
}

static void
test_replicate_error (void)
{
  g_autoptr(GPtrArray) events = parse ("event: output\r\n"
                                       "id: 1700000000:0\r\n"
                                       "data: The\r\n\r\n"
                                       "event: error\r\n"
                                       "data: {\"detail\": \"Something went wrong\"}\r\n\r\n"
                                       "event: done\r\n"
                                       "data: {\"reason\": \"error\"}\r\n\r\n");

  g_assert_cmpuint (events->len, ==, 3);
  assert_event (events, 0, "output", "The", "1700000000:0");
  assert_event (events, 1, "error", "{\"detail\": \"Something went wrong\"}", "1700000000:0");
  assert_event (events, 2, "done", "{\"reason\": \"error\"}", "1700000000:0");
}

static void
test_replicate_done_without_id (void)
{
  /* Canceled before the first token: no id was ever seen. */
  g_autoptr(GPtrArray) events = parse (": hi\n\n"
                                       "event: done\n"
                                       "data: {\"reason\": \"canceled\"}\n\n");

  g_assert_cmpuint (events->len, ==, 1);
  assert_event (events, 0, "done", "{\"reason\": \"canceled\"}", NULL);
}

static void
test_replicate_timeout (void)
{
  g_autoptr(GPtrArray) events = parse (":408: 408 Request Timeout\n\n");

  g_assert_cmpuint (events->len, ==, 0);
}

/* The property: how the bytes are cut does not change the events. */

static const char split_stream[] =
  "\xEF\xBB\xBF: hi\r\n\r\n"
  "event: output\nid: 1690212292:0\ndata: Once\n\n"
  "event: output\rid: 1690212292:1\rdata:  upon\r\r"
  "event: output\r\nid: 1690212292:2\r\ndata:  a caf\xC3\xA9\r\n\r\n"
  "retry: 1500\n"
  "data: multi\ndata:\ndata: line\n\n"
  ":408: 408 Request Timeout\n"
  "bogus\nevent: logs\ndata:x\r\n\n"
  "id\nevent: done\n\n"
  "event: error\ndata: {\"detail\": \"no\"}\n\n"
  "data: cut off";

static GPtrArray *
parse_split_stream_whole (void)
{
  return parse_len (split_stream, sizeof split_stream - 1);
}

static void
test_split_reference (void)
{
  g_autoptr(GPtrArray) events = parse_split_stream_whole ();

  /* The reference itself is what we expect. */
  g_assert_cmpuint (events->len, ==, 7);
  assert_event (events, 0, "output", "Once", "1690212292:0");
  assert_event (events, 1, "output", " upon", "1690212292:1");
  assert_event (events, 2, "output", " a caf\xC3\xA9", "1690212292:2");
  assert_event (events, 3, "message", "multi\n\nline", "1690212292:2");
  assert_event (events, 4, "logs", "x", "1690212292:2");
  assert_event (events, 5, "done", "", NULL);
  assert_event (events, 6, "error", "{\"detail\": \"no\"}", NULL);
}

static void
test_split_two_way (void)
{
  g_autoptr(GPtrArray) reference = parse_split_stream_whole ();
  gsize len = sizeof split_stream - 1;

  for (gsize cut = 0; cut <= len; cut++)
    {
      g_autoptr(SqSseParser) parser = sq_sse_parser_new ();
      g_autoptr(GPtrArray) events = NULL;

      sq_sse_parser_feed (parser, split_stream, cut);
      sq_sse_parser_feed (parser, split_stream + cut, len - cut);
      g_assert_cmpint (sq_sse_parser_get_retry_ms (parser), ==, 1500);
      sq_sse_parser_finish (parser);
      events = collect_events (parser);
      assert_same_events (reference, events);
    }
}

static void
test_split_random (void)
{
  g_autoptr(GPtrArray) reference = parse_split_stream_whole ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (20231029);
  gsize len = sizeof split_stream - 1;

  for (guint round = 0; round < 500; round++)
    {
      g_autoptr(SqSseParser) parser = sq_sse_parser_new ();
      g_autoptr(GPtrArray) events = NULL;
      gsize pos = 0;

      while (pos < len)
        {
          gsize n = g_rand_int_range (rand, 1, 8);

          n = MIN (n, len - pos);   /* MIN evaluates its arguments twice */

          sq_sse_parser_feed (parser, split_stream + pos, n);
          pos += n;

          /* Popping between feeds must not disturb anything. */
          if (g_rand_boolean (rand))
            {
              SqSseEvent *event;

              while ((event = sq_sse_parser_pop (parser)) != NULL)
                {
                  SqSseEvent *expected;

                  g_assert_cmpuint (events ? events->len : 0, <, reference->len);
                  if (events == NULL)
                    events = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_sse_event_free);
                  expected = g_ptr_array_index (reference, events->len);
                  g_assert_cmpstr (event->data, ==, expected->data);
                  g_ptr_array_add (events, event);
                }
            }
        }
      sq_sse_parser_finish (parser);

      {
        g_autoptr(GPtrArray) rest = collect_events (parser);

        if (events == NULL)
          events = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_sse_event_free);
        g_ptr_array_extend_and_steal (events, g_steal_pointer (&rest));
      }
      assert_same_events (reference, events);
    }
}

static void
test_split_bytewise (void)
{
  g_autoptr(GPtrArray) reference = parse_split_stream_whole ();
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();
  g_autoptr(GPtrArray) events = NULL;

  for (gsize i = 0; i < sizeof split_stream - 1; i++)
    {
      sq_sse_parser_feed (parser, split_stream + i, 1);
      sq_sse_parser_feed (parser, split_stream + i, 0);
    }
  sq_sse_parser_finish (parser);
  events = collect_events (parser);
  assert_same_events (reference, events);
}

static void
test_long_line (void)
{
  /* A 1 MB token split in 1400-byte chunks comes out whole. */
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();
  g_autoptr(GString) stream = g_string_new ("event: output\ndata: ");
  g_autoptr(SqSseEvent) event = NULL;
  gsize data_start = stream->len;

  for (guint i = 0; i < 1024 * 1024; i++)
    g_string_append_c (stream, 'a' + i % 26);
  g_string_append (stream, "\n\n");

  for (gsize pos = 0; pos < stream->len; pos += 1400)
    sq_sse_parser_feed (parser, stream->str + pos, MIN (1400, stream->len - pos));

  event = sq_sse_parser_pop (parser);
  g_assert_nonnull (event);
  g_assert_cmpuint (strlen (event->data), ==, 1024 * 1024);
  g_assert_true (memcmp (event->data, stream->str + data_start, 1024 * 1024) == 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sse-parser/basic", test_basic);
  g_test_add_func ("/sse-parser/pop-empty", test_pop_empty);
  g_test_add_func ("/sse-parser/line-endings", test_line_endings);
  g_test_add_func ("/sse-parser/crlf-split", test_crlf_split);
  g_test_add_func ("/sse-parser/cr-then-blank", test_cr_then_blank);
  g_test_add_func ("/sse-parser/bom", test_bom);
  g_test_add_func ("/sse-parser/utf8-split", test_utf8_split);
  g_test_add_func ("/sse-parser/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/sse-parser/comments", test_comments);
  g_test_add_func ("/sse-parser/value-space", test_value_space);
  g_test_add_func ("/sse-parser/multiline-data", test_multiline_data);
  g_test_add_func ("/sse-parser/empty-data-line", test_empty_data_line);
  g_test_add_func ("/sse-parser/event-type", test_event_type);
  g_test_add_func ("/sse-parser/event-without-data", test_event_without_data);
  g_test_add_func ("/sse-parser/id", test_id);
  g_test_add_func ("/sse-parser/id-committed-at-blank-line", test_id_committed_at_blank_line);
  g_test_add_func ("/sse-parser/retry", test_retry);
  g_test_add_func ("/sse-parser/unknown-field", test_unknown_field);
  g_test_add_func ("/sse-parser/no-colon", test_no_colon);
  g_test_add_func ("/sse-parser/finish-discards", test_finish_discards);
  g_test_add_func ("/sse-parser/reset", test_reset);
  g_test_add_func ("/sse-parser/event-boxed", test_event_boxed);
  g_test_add_func ("/sse-parser/long-line", test_long_line);
  g_test_add_func ("/sse-parser/replicate/output", test_replicate_output);
  g_test_add_func ("/sse-parser/replicate/multiline", test_replicate_multiline);
  g_test_add_func ("/sse-parser/replicate/error", test_replicate_error);
  g_test_add_func ("/sse-parser/replicate/done-without-id", test_replicate_done_without_id);
  g_test_add_func ("/sse-parser/replicate/timeout-comment", test_replicate_timeout);
  g_test_add_func ("/sse-parser/split/reference", test_split_reference);
  g_test_add_func ("/sse-parser/split/two-way", test_split_two_way);
  g_test_add_func ("/sse-parser/split/random-chunks", test_split_random);
  g_test_add_func ("/sse-parser/split/bytewise", test_split_bytewise);

  return g_test_run ();
}
