/* fake-replicate-main.c
 *
 * The loopback fake Replicate server as a program, for CLI tests,
 * benchmarks and manual runs. Prints the API origin as its first line of
 * output and runs until SIGTERM or SIGINT.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "fake-replicate"

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <glib-unix.h>

#include "sq-fake-replicate.h"

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqFakeReplicate) fake = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *token = NULL;
  g_autofree char *port_file = NULL;
  g_autofree char *requests_log = NULL;
  int token_delay_ms = -1;
  int start_delay_ms = -1;
  int answer_tokens = -1;
  int drop_after = -1;
  int create_429 = 0;
  int retry_after = 1;
  int seed = -1;
  gboolean no_stream = FALSE;
  gboolean no_random_splits = FALSE;
  guint sigterm_id, sigint_id;
  const GOptionEntry entries[] = {
    { "token", 0, 0, G_OPTION_ARG_STRING, &token, "Accepted API token", "TOKEN" },
    { "token-delay-ms", 0, 0, G_OPTION_ARG_INT, &token_delay_ms, "Delay between tokens", "MS" },
    { "start-delay-ms", 0, 0, G_OPTION_ARG_INT, &start_delay_ms, "Time spent in starting", "MS" },
    { "answer-tokens", 0, 0, G_OPTION_ARG_INT, &answer_tokens, "Tokens per answer", "N" },
    { "drop-after", 0, 0, G_OPTION_ARG_INT, &drop_after, "Close every stream after N tokens", "N" },
    { "create-429", 0, 0, G_OPTION_ARG_INT, &create_429, "Answer the first N creates with 429", "N" },
    { "retry-after", 0, 0, G_OPTION_ARG_INT, &retry_after, "Retry-After seconds for --create-429 (default 1)", "S" },
    { "no-stream", 0, 0, G_OPTION_ARG_NONE, &no_stream, "Predictions have no urls.stream", NULL },
    { "no-random-splits", 0, 0, G_OPTION_ARG_NONE, &no_random_splits, "Write SSE events whole", NULL },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Random seed", "SEED" },
    { "port-file", 0, 0, G_OPTION_ARG_FILENAME, &port_file, "Write the origin URL to FILE once listening", "FILE" },
    { "requests-log", 0, 0, G_OPTION_ARG_FILENAME, &requests_log, "Append one JSON line per request to FILE", "FILE" },
    { NULL }
  };

  context = g_option_context_new ("- loopback fake of the Replicate API");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("fake-replicate: %s\n", error->message);
      return EXIT_FAILURE;
    }

  fake = sq_fake_replicate_new ();
  if (token)
    sq_fake_replicate_set_token (fake, token);
  if (seed >= 0)
    sq_fake_replicate_set_seed (fake, (guint32) seed);
  if (token_delay_ms >= 0)
    sq_fake_replicate_set_token_delay_ms (fake, token_delay_ms);
  if (start_delay_ms >= 0)
    sq_fake_replicate_set_start_delay_ms (fake, start_delay_ms);
  if (answer_tokens > 0)
    sq_fake_replicate_set_answer_tokens (fake, answer_tokens);
  if (drop_after >= 0)
    sq_fake_replicate_set_drop_streams_after (fake, drop_after);
  if (create_429 > 0)
    sq_fake_replicate_queue_create_429 (fake, create_429, MAX (retry_after, 0), TRUE);
  sq_fake_replicate_set_no_stream (fake, no_stream);
  sq_fake_replicate_set_random_splits (fake, !no_random_splits);
  if (requests_log)
    sq_fake_replicate_set_requests_log (fake, requests_log);

  if (port_file)
    {
      if (!g_file_set_contents (port_file, sq_fake_replicate_get_origin (fake), -1, &error))
        {
          g_printerr ("fake-replicate: could not write %s: %s\n", port_file, error->message);
          return EXIT_FAILURE;
        }
    }

  g_print ("%s\n", sq_fake_replicate_get_origin (fake));
  fflush (stdout);

  loop = g_main_loop_new (NULL, FALSE);
  sigterm_id = g_unix_signal_add (SIGTERM, quit_cb, loop);
  sigint_id = g_unix_signal_add (SIGINT, quit_cb, loop);
  g_main_loop_run (loop);
  g_source_remove (sigterm_id);
  g_source_remove (sigint_id);

  return EXIT_SUCCESS;
}
