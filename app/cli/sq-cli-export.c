/* sq-cli-export.c
 *
 * squint export FILE.squint [-f FORMAT] [-o OUT]
 *
 * Writes the results (or, in the long ratings formats, the ratings) of a
 * project to standard output or, with -o, to a file that is replaced
 * only once the export is complete. A project that is missing is a usage
 * error (2); one that is damaged or made by a newer Squint exits with 3.
 * The project is never created or changed by an export.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-cli-export"

#include "config.h"

#include <glib/gi18n.h>
#include <gio/gunixoutputstream.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sq-exporter.h"
#include "sq-project.h"

#include "sq-cli-private.h"

static GOptionContext *
export_context_new (char  **format,
                    char  **output,
                    char ***rest)
{
  const GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, format,
      N_("csv, json, jsonl, md, html, ratings-csv or ratings-json (default: from the -o "
         "file name, else csv)"),
      N_("FORMAT") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, output,
      N_("Write to this file (replaced only when the export is complete) instead of "
         "standard output"),
      N_("OUT") },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, rest, NULL, N_("FILE.squint") },
    { NULL }
  };
  GOptionContext *context = g_option_context_new (NULL);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _("Writes every result of a project, with its scores and notes, as CSV,\n"
                                  "JSON, JSON Lines, a Markdown table or a standalone HTML report; or every\n"
                                  "rating, one per row (ratings-csv, ratings-json)."));
  g_option_context_set_description (context,
                                    _("Exit status: 0 written, 1 could not write, 2 usage error (no such\n"
                                      "project, unknown format), 3 the project is damaged or too new."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  return context;
}

GOptionContext *
_sq_cli_export_new_context (void)
{
  static char *unused_format, *unused_output;
  static char **unused_rest;

  return export_context_new (&unused_format, &unused_output, &unused_rest);
}

/* The format a file name asks for, by its extension. */
static gboolean
format_from_file_name (const char     *path,
                       SqExportFormat *out_format)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  gboolean found = FALSE;
  gsize best = 0;

  for (int f = 0; f < SQ_N_EXPORT_FORMATS; f++)
    {
      g_autofree char *suffix = g_strconcat (".", sq_export_format_get_extension (f), NULL);

      /* The longest match wins: "x.ratings.csv" is ratings-csv, not csv. */
      if (g_str_has_suffix (lower, suffix) && strlen (suffix) > best)
        {
          best = strlen (suffix);
          *out_format = f;
          found = TRUE;
        }
    }

  if (!found && g_str_has_suffix (lower, ".markdown"))
    {
      *out_format = SQ_EXPORT_FORMAT_MARKDOWN;
      found = TRUE;
    }

  return found;
}

int
_sq_cli_export_run (int    argc,
                    char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(SqProject) project = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *format_name = NULL;
  g_autofree char *output = NULL;
  g_auto(GStrv) rest = NULL;
  SqExportFormat format = SQ_EXPORT_FORMAT_CSV;
  const char *path;

  context = export_context_new (&format_name, &output, &rest);
  if (!_sq_cli_parse_options (context, "export", &argc, &argv))
    return SQ_EXIT_USAGE;

  if (rest == NULL || rest[0] == NULL)
    {
      _sq_cli_printerr ("export", _("No project: give the .squint file to export."));
      fprintf (stderr, "%s\n", _("Run “squint export --help” to see the options."));
      return SQ_EXIT_USAGE;
    }
  if (rest[1] != NULL)
    {
      _sq_cli_printerr ("export", _("Give one project at a time (got “%s” and “%s”)."), rest[0], rest[1]);
      return SQ_EXIT_USAGE;
    }
  path = rest[0];

  if (format_name != NULL)
    {
      if (!sq_export_format_from_string (format_name, &format))
        {
          _sq_cli_printerr ("export", _("Unknown format “%s”: give csv, json, jsonl, md, html, "
                                        "ratings-csv or ratings-json."), format_name);
          return SQ_EXIT_USAGE;
        }
    }
  else if (output != NULL && !format_from_file_name (output, &format))
    {
      format = SQ_EXPORT_FORMAT_CSV;
    }

  /* Opening a path that does not exist would create a project there. */
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      _sq_cli_printerr ("export", _("There is no project at “%s”."), path);
      return SQ_EXIT_USAGE;
    }
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      _sq_cli_printerr ("export", _("“%s” is a folder, not a project file."), path);
      return SQ_EXIT_USAGE;
    }

  project = sq_project_open (path, &error);
  if (project == NULL)
    {
      /* The project's messages name the file and say why. */
      _sq_cli_printerr ("export", "%s", error->message);
      if (g_error_matches (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_CORRUPT) ||
          g_error_matches (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_TOO_NEW))
        return SQ_EXIT_CONFIG;
      return SQ_EXIT_SOME_FAILED;
    }

  if (output != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (output);

      if (!sq_exporter_write_file (project, format, file, NULL, &error))
        {
          _sq_cli_printerr ("export", _("Could not write “%s”: %s"), output, error->message);
          return SQ_EXIT_SOME_FAILED;
        }
    }
  else
    {
      g_autoptr(GOutputStream) out = g_unix_output_stream_new (STDOUT_FILENO, FALSE);

      fflush (stdout);
      if (!sq_exporter_write (project, format, out, NULL, &error) ||
          !g_output_stream_flush (out, NULL, &error))
        {
          _sq_cli_printerr ("export", _("Could not write the export: %s"), error->message);
          return SQ_EXIT_SOME_FAILED;
        }
    }

  return SQ_EXIT_OK;
}
