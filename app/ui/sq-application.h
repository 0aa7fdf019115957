/* sq-application.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sq-config.h"
#include "sq-workspace.h"

G_BEGIN_DECLS

#define SQ_TYPE_APPLICATION (sq_application_get_type ())

G_DECLARE_FINAL_TYPE (SqApplication, sq_application, SQ, APPLICATION, AdwApplication)

SqApplication *sq_application_new              (void);
/* The application's settings; NULL before startup. */
GSettings     *sq_application_get_settings     (SqApplication *self);
/* The project, client and catalog the windows share. */
SqWorkspace   *sq_application_get_workspace    (SqApplication *self);
/* Where the API token comes from, as the workspace last loaded it. The
 * token itself is never kept here. */
SqTokenSource  sq_application_get_token_source (SqApplication *self);
/* FALSE until the first lookup has finished. */
gboolean       sq_application_get_token_checked (SqApplication *self);
/* Reloads the workspace's client (after Preferences changed the token
 * or base URL); notifies "token-source" and "token-checked". */
void           sq_application_reload_token     (SqApplication *self);

G_END_DECLS
