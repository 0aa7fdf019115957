/* sq-cli.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit statuses, as design.md sets them. */
#define SQ_EXIT_OK          0
#define SQ_EXIT_SOME_FAILED 1
#define SQ_EXIT_USAGE       2
#define SQ_EXIT_CONFIG      3

/* TRUE when argv[1] names a headless subcommand. */
gboolean sq_cli_is_subcommand (int    argc,
                               char **argv);
/* Runs the subcommand in argv[1]; returns the exit status. Needs no display. */
int      sq_cli_run           (int    argc,
                               char **argv);

G_END_DECLS
