/* sq-cli.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-cli"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-cli.h"

gboolean
sq_cli_is_subcommand (int    argc,
                      char **argv)
{
  return FALSE;
}

int
sq_cli_run (int    argc,
            char **argv)
{
  return SQ_EXIT_USAGE;
}
