/* sq-cli-private.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sq-cli.h"

G_BEGIN_DECLS

/* Exit status after an interruption (Ctrl+C / SIGTERM), as shells use. */
#define SQ_EXIT_INTERRUPTED 130

/* Each subcommand gets argv with argv[0] set to its own name. */
int             _sq_cli_ask_run            (int           argc,
                                            char        **argv);
GOptionContext *_sq_cli_ask_new_context    (void);
int             _sq_cli_models_run         (int           argc,
                                            char        **argv);
GOptionContext *_sq_cli_models_new_context (void);

/* Parses @argv with @context; on failure prints the error and a hint to
 * stderr and returns FALSE. */
gboolean        _sq_cli_parse_options      (GOptionContext *context,
                                            const char     *command,
                                            int            *argc,
                                            char         ***argv);
/* Prints "squint <command>: <message>" to stderr. */
void            _sq_cli_printerr           (const char     *command,
                                            const char     *format,
                                            ...) G_GNUC_PRINTF (2, 3);
/* The exit status an error calls for: SQ_EXIT_CONFIG for configuration
 * and authentication errors, SQ_EXIT_USAGE for bad references, images
 * and parameters, SQ_EXIT_SOME_FAILED for anything else. */
int             _sq_cli_exit_status_for_error (const GError *error);
/* A number the way JSON and people write it ("0.2", "1024"), locale-free. */
char           *_sq_cli_format_double      (double          value);

G_END_DECLS
