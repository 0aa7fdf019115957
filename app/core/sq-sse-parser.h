/* sq-sse-parser.h
 *
 * A pure, incremental parser for server-sent events (the WHATWG
 * "event stream" format). Bytes go in, split anywhere; complete
 * events come out. It does no I/O, so it can be fuzzed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "sq-types.h"

G_BEGIN_DECLS

/* All three strings are valid UTF-8: invalid bytes and NUL bytes in the
 * stream become U+FFFD. */
typedef struct
{
  char *event;  /* never NULL: "message" when the stream named none */
  char *data;   /* data lines joined with '\n', never NULL */
  char *id;     /* the last event id seen so far, or NULL */
} SqSseEvent;

#define SQ_TYPE_SSE_EVENT (sq_sse_event_get_type ())

GType       sq_sse_event_get_type (void) G_GNUC_CONST;
SqSseEvent *sq_sse_event_copy     (const SqSseEvent *event);
void        sq_sse_event_free     (SqSseEvent       *event);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqSseEvent, sq_sse_event_free)

#define SQ_TYPE_SSE_PARSER (sq_sse_parser_get_type ())

G_DECLARE_FINAL_TYPE (SqSseParser, sq_sse_parser, SQ, SSE_PARSER, GObject)

SqSseParser *sq_sse_parser_new           (void);
/* Feeds bytes; lines may end in "\n", "\r\n" or "\r", split anywhere,
 * even between the "\r" and the "\n". */
void         sq_sse_parser_feed          (SqSseParser  *self,
                                          const char   *data,
                                          gsize         length);
/* Takes the next complete event, or NULL when none is ready. (transfer full) */
SqSseEvent  *sq_sse_parser_pop           (SqSseParser  *self);
/* The end of the stream: a trailing event without its blank line is
 * discarded, as the standard says. Events already complete stay to be
 * popped, and the last event id and retry delay are kept, so the same
 * parser can go on with the bytes of a reconnected stream. */
void         sq_sse_parser_finish        (SqSseParser  *self);
const char  *sq_sse_parser_get_last_id   (SqSseParser  *self);
/* The value of the last "retry:" field, or -1. */
gint64       sq_sse_parser_get_retry_ms  (SqSseParser  *self);
/* Back to a new parser: drops queued events, the last id and retry. */
void         sq_sse_parser_reset         (SqSseParser  *self);

G_END_DECLS
