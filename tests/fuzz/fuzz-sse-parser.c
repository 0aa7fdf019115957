/* fuzz-sse-parser.c
 *
 * libFuzzer harness for SqSseParser. The first input byte picks how the
 * rest is cut into chunks; the events must be well formed and exactly
 * the same as when the rest is fed in one piece, and finish, a second
 * stream and reset must all survive whatever came before.
 *
 * Built with -fsanitize=fuzzer,address when meson's "fuzzing" option is
 * on; fuzz-driver.c also runs it over the seed corpus in every build.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sq-sse-parser.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

#define CHECK(cond) G_STMT_START { if (!(cond)) { g_printerr ("fuzz-sse-parser: check failed: %s\n", #cond); abort (); } } G_STMT_END

static void
check_event (const SqSseEvent *event)
{
  CHECK (event != NULL);
  CHECK (event->event != NULL);
  CHECK (event->event[0] != '\0');
  CHECK (g_utf8_validate (event->event, -1, NULL));
  CHECK (event->data != NULL);
  CHECK (g_utf8_validate (event->data, -1, NULL));
  CHECK (event->id == NULL || event->id[0] != '\0');
  CHECK (event->id == NULL || g_utf8_validate (event->id, -1, NULL));
}

static void
check_parser (SqSseParser *parser)
{
  const char *last_id = sq_sse_parser_get_last_id (parser);

  CHECK (last_id == NULL || (last_id[0] != '\0' && g_utf8_validate (last_id, -1, NULL)));
  CHECK (sq_sse_parser_get_retry_ms (parser) >= -1);
}

static GPtrArray *
drain (SqSseParser *parser,
       GPtrArray   *events)
{
  SqSseEvent *event;

  while ((event = sq_sse_parser_pop (parser)) != NULL)
    {
      check_event (event);
      g_ptr_array_add (events, event);
    }

  return events;
}

static gboolean
same_event (const SqSseEvent *a,
            const SqSseEvent *b)
{
  return g_str_equal (a->event, b->event) &&
         g_str_equal (a->data, b->data) &&
         g_strcmp0 (a->id, b->id) == 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(SqSseParser) whole = NULL;
  g_autoptr(SqSseParser) chunked = NULL;
  g_autoptr(GPtrArray) whole_events = NULL;
  g_autoptr(GPtrArray) chunked_events = NULL;
  g_autoptr(SqSseEvent) copy = NULL;
  const char *stream;
  gsize len, pos;
  guint32 state;

  if (size == 0)
    return 0;

  /* The first byte seeds the cuts: 0 means one byte at a time. */
  state = data[0];
  stream = (const char *) data + 1;
  len = size - 1;

  whole = sq_sse_parser_new ();
  sq_sse_parser_feed (whole, stream, len);
  check_parser (whole);
  sq_sse_parser_finish (whole);
  check_parser (whole);
  whole_events = drain (whole, g_ptr_array_new_with_free_func ((GDestroyNotify) sq_sse_event_free));

  chunked = sq_sse_parser_new ();
  chunked_events = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_sse_event_free);
  pos = 0;
  while (pos < len)
    {
      gsize n;

      if (state == 0)
        {
          n = 1;
        }
      else
        {
          /* xorshift32 */
          state ^= state << 13;
          state ^= state >> 17;
          state ^= state << 5;
          n = 1 + state % 17;
        }
      n = MIN (n, len - pos);

      sq_sse_parser_feed (chunked, stream + pos, n);
      sq_sse_parser_feed (chunked, stream + pos, 0);
      pos += n;
      check_parser (chunked);
      if (state & 0x100)
        drain (chunked, chunked_events);
    }
  sq_sse_parser_finish (chunked);
  drain (chunked, chunked_events);

  CHECK (whole_events->len == chunked_events->len);
  for (guint i = 0; i < whole_events->len; i++)
    CHECK (same_event (g_ptr_array_index (whole_events, i),
                       g_ptr_array_index (chunked_events, i)));
  CHECK (g_strcmp0 (sq_sse_parser_get_last_id (whole),
                    sq_sse_parser_get_last_id (chunked)) == 0);
  CHECK (sq_sse_parser_get_retry_ms (whole) == sq_sse_parser_get_retry_ms (chunked));

  if (whole_events->len > 0)
    {
      copy = sq_sse_event_copy (g_ptr_array_index (whole_events, 0));
      CHECK (same_event (copy, g_ptr_array_index (whole_events, 0)));
    }

  /* A second stream after finish, then a reset, on what is left. */
  sq_sse_parser_feed (whole, stream, len);
  sq_sse_parser_finish (whole);
  drain (whole, whole_events);
  sq_sse_parser_feed (whole, stream, len);
  sq_sse_parser_reset (whole);
  CHECK (sq_sse_parser_pop (whole) == NULL);
  CHECK (sq_sse_parser_get_last_id (whole) == NULL);
  CHECK (sq_sse_parser_get_retry_ms (whole) == -1);

  return 0;
}
