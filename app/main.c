/* main.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "sq-application.h"
#include "sq-cli.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(SqApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (sq_cli_is_subcommand (argc, argv))
    return sq_cli_run (argc, argv);

  app = sq_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
