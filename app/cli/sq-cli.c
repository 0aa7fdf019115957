/* sq-cli.c
 *
 * The headless subcommands: dispatch, usage and the helpers they share.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>

#include "sq-error.h"

#include "sq-cli-private.h"

typedef struct
{
  const char      *name;
  int            (*run)         (int    argc,
                                 char **argv);
  GOptionContext *(*new_context) (void);
} SqCliCommand;

static const SqCliCommand commands[] = {
  { "ask", _sq_cli_ask_run, _sq_cli_ask_new_context },
  { "models", _sq_cli_models_run, _sq_cli_models_new_context },
};

static const SqCliCommand *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_strcmp0 (commands[i].name, name) == 0)
        return &commands[i];
    }

  return NULL;
}

gboolean
sq_cli_is_subcommand (int    argc,
                      char **argv)
{
  if (argc < 2 || argv[1] == NULL)
    return FALSE;

  return g_strcmp0 (argv[1], "help") == 0 || find_command (argv[1]) != NULL;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n", _("Usage:"));
  fprintf (out, "  squint [FILE.squint]\n");
  fprintf (out, "  squint ask [-m MODEL]... -i IMAGE... [-p KEY=VALUE]... [--json] PROMPT\n");
  fprintf (out, "  squint models [--json]\n");
  fprintf (out, "  squint help [COMMAND]\n");
  fprintf (out, "\n%s\n", _("Commands:"));
  fprintf (out, "  ask      %s\n", _("Ask one or more models a question about one or more images"));
  fprintf (out, "  models   %s\n", _("List the known models and their parameters"));
  fprintf (out, "  help     %s\n", _("Show this help, or the help of a command"));
  fprintf (out, "\n%s\n", _("Without a command, Squint opens its window."));
  fprintf (out, "\n%s\n", _("Environment:"));
  fprintf (out, "  REPLICATE_API_TOKEN  %s\n", _("The Replicate API token (else the one stored in the keyring)"));
  fprintf (out, "  REPLICATE_BASE_URL   %s\n", _("The API origin, scheme://host[:port] (default https://api.replicate.com)"));
  fprintf (out, "\n%s\n", _("Exit status:"));
  fprintf (out, "  0    %s\n", _("every answer succeeded"));
  fprintf (out, "  1    %s\n", _("some answers failed"));
  fprintf (out, "  2    %s\n", _("usage error: bad option, unknown model, bad parameter or image"));
  fprintf (out, "  3    %s\n", _("configuration or authentication error"));
  fprintf (out, "  130  %s\n", _("interrupted (Ctrl+C); the answers so far are printed"));
}

static int
run_help (int    argc,
          char **argv)
{
  const SqCliCommand *command;
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *help = NULL;

  if (argc < 3)
    {
      print_usage (stdout);
      return SQ_EXIT_OK;
    }

  command = find_command (argv[2]);
  if (command == NULL)
    {
      _sq_cli_printerr ("help", _("Unknown command “%s”."), argv[2]);
      print_usage (stderr);
      return SQ_EXIT_USAGE;
    }

  context = command->new_context ();
  help = g_option_context_get_help (context, TRUE, NULL);
  fputs (help, stdout);

  return SQ_EXIT_OK;
}

int
sq_cli_run (int    argc,
            char **argv)
{
  const SqCliCommand *command;
  g_autofree char *prgname = NULL;

  g_return_val_if_fail (argc >= 2, SQ_EXIT_USAGE);

  /* Standard output is for answers; log messages (G_MESSAGES_DEBUG) go to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);

  if (g_strcmp0 (argv[1], "help") == 0)
    {
      if (argc > 2 && find_command (argv[2]) != NULL)
        prgname = g_strdup_printf ("squint %s", argv[2]);
      g_set_prgname (prgname != NULL ? prgname : "squint");
      return run_help (argc, argv);
    }

  command = find_command (argv[1]);
  if (command == NULL)
    {
      print_usage (stderr);
      return SQ_EXIT_USAGE;
    }

  /* So that --help reads "squint ask [OPTION…] PROMPT". */
  prgname = g_strdup_printf ("squint %s", command->name);
  g_set_prgname (prgname);

  return command->run (argc - 1, argv + 1);
}

void
_sq_cli_printerr (const char *command,
                  const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fflush (stdout);
  if (command != NULL)
    fprintf (stderr, "squint %s: %s\n", command, message);
  else
    fprintf (stderr, "squint: %s\n", message);
}

gboolean
_sq_cli_parse_options (GOptionContext   *context,
                       const char       *command,
                       int              *argc,
                       char           ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      _sq_cli_printerr (command, "%s", error->message);
      fprintf (stderr, _("Run “squint %s --help” to see the options."), command);
      fputc ('\n', stderr);
      return FALSE;
    }

  return TRUE;
}

int
_sq_cli_exit_status_for_error (const GError *error)
{
  g_return_val_if_fail (error != NULL, SQ_EXIT_SOME_FAILED);

  if (error->domain == SQ_REPLICATE_ERROR)
    {
      switch ((SqReplicateError) error->code)
        {
        case SQ_REPLICATE_ERROR_CONFIG:
        case SQ_REPLICATE_ERROR_INSECURE:
        case SQ_REPLICATE_ERROR_UNAUTHORIZED:
          return SQ_EXIT_CONFIG;

        case SQ_REPLICATE_ERROR_FAILED:
        case SQ_REPLICATE_ERROR_BILLING:
        case SQ_REPLICATE_ERROR_FORBIDDEN:
        case SQ_REPLICATE_ERROR_NOT_FOUND:
        case SQ_REPLICATE_ERROR_TOO_LARGE:
        case SQ_REPLICATE_ERROR_INVALID:
        case SQ_REPLICATE_ERROR_RATE_LIMITED:
        case SQ_REPLICATE_ERROR_SERVER:
        case SQ_REPLICATE_ERROR_PROTOCOL:
        case SQ_REPLICATE_ERROR_PREDICTION_FAILED:
        case SQ_REPLICATE_ERROR_PREDICTION_ABORTED:
        default:
          return SQ_EXIT_SOME_FAILED;
        }
    }

  if (error->domain == SQ_MODEL_ERROR || error->domain == SQ_IMAGE_ERROR)
    return SQ_EXIT_USAGE;

  return SQ_EXIT_SOME_FAILED;
}

char *
_sq_cli_format_double (double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.15g", value));
}
