/* bench-stream.c
 *
 * How fast SqSseParser eats a Replicate token stream: 100,000 "output"
 * events shaped like Replicate's (an id line each, tokens with a leading
 * space), fed in 1400-byte chunks (one TCP segment each), the text
 * accumulated into a GString as SqPrediction does. Prints CPU time and
 * throughput; it never fails.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <locale.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sq-sse-parser.h"

#define N_EVENTS   100000
#define CHUNK_SIZE 1400
#define N_ROUNDS   5

static const char * const tokens[] = {
  " The", " image", " shows", " a", " man", " in", " a", " suit", " holding",
  " a", " trophy", " on", " stage", ",", " smiling", " at", " the", " camera",
  ".", "\n", " caf\xC3\xA9", " 42", " photograph", " with", " warm", " lighting",
};

static double
cpu_seconds (void)
{
  struct rusage usage;

  if (getrusage (RUSAGE_SELF, &usage) != 0)
    return (double) clock () / CLOCKS_PER_SEC;

  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/* Returns the stream and sets @expected_text to what it should give. */
static GString *
build_stream (GString *expected_text)
{
  GString *stream = g_string_sized_new (N_EVENTS * 48);

  g_string_append (stream, ": hi\n\n");
  for (guint i = 0; i < N_EVENTS; i++)
    {
      const char *token = tokens[i % G_N_ELEMENTS (tokens)];

      g_string_append (stream, "event: output\n");
      g_string_append_printf (stream, "id: 1690212292:%u\n", i);
      if (strchr (token, '\n') != NULL)
        g_string_append (stream, "data: \ndata: \n\n");  /* a bare newline token */
      else
        g_string_append_printf (stream, "data: %s\n\n", token);
      g_string_append (expected_text, token);
    }
  g_string_append (stream, "event: done\ndata: {}\n\n");

  return stream;
}

static double
run_once (const GString *stream,
          const GString *expected_text,
          guint         *n_events)
{
  g_autoptr(SqSseParser) parser = sq_sse_parser_new ();
  g_autoptr(GString) text = g_string_new (NULL);
  gboolean done = FALSE;
  double start, elapsed;

  *n_events = 0;
  start = cpu_seconds ();

  for (gsize pos = 0; pos < stream->len; pos += CHUNK_SIZE)
    {
      SqSseEvent *event;

      sq_sse_parser_feed (parser, stream->str + pos, MIN (CHUNK_SIZE, stream->len - pos));

      while ((event = sq_sse_parser_pop (parser)) != NULL)
        {
          (*n_events)++;
          if (strcmp (event->event, "output") == 0)
            g_string_append (text, event->data);
          else if (strcmp (event->event, "done") == 0)
            done = TRUE;
          sq_sse_event_free (event);
        }
    }
  sq_sse_parser_finish (parser);

  elapsed = cpu_seconds () - start;

  if (!done || !g_string_equal (text, expected_text))
    g_print ("# warning: the parsed text differs from what was sent\n");

  return elapsed;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GString) expected_text = g_string_new (NULL);
  g_autoptr(GString) stream = NULL;
  double best = G_MAXDOUBLE;
  guint n_events = 0;

  setlocale (LC_ALL, "");

  stream = build_stream (expected_text);

  g_print ("# SSE stream: %u output events, %.2f MB, fed in %d-byte chunks\n",
           N_EVENTS, stream->len / 1e6, CHUNK_SIZE);

  for (guint round = 0; round < N_ROUNDS; round++)
    {
      double seconds = run_once (stream, expected_text, &n_events);

      g_print ("round %u: %u events, %.1f ms CPU, %.1f MB/s\n",
               round + 1, n_events, seconds * 1e3,
               seconds > 0 ? stream->len / 1e6 / seconds : 0.0);
      best = MIN (best, seconds);
    }

  g_print ("best: %.1f ms CPU for %u events, %.1f MB/s, %.2f µs per event\n",
           best * 1e3, n_events,
           best > 0 ? stream->len / 1e6 / best : 0.0,
           best * 1e6 / MAX (n_events, 1));
  g_print ("RESULT stream-100k-tokens-cpu %.1f ms 100\n", best * 1e3);

  return 0;
}
