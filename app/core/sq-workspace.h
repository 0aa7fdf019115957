/* sq-workspace.h
 *
 * What the window's views share: the current project, the Replicate
 * client made from the configured token and base URL, and the model
 * catalog. No GTK: the window owns one and hands it to its views.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sq-config.h"
#include "sq-model-catalog.h"
#include "sq-project.h"
#include "sq-replicate-client.h"

G_BEGIN_DECLS

#define SQ_TYPE_WORKSPACE (sq_workspace_get_type ())

G_DECLARE_FINAL_TYPE (SqWorkspace, sq_workspace, SQ, WORKSPACE, GObject)

SqWorkspace       *sq_workspace_new                  (void);

/* The open project, or NULL until one is open. notify::project. */
SqProject         *sq_workspace_get_project          (SqWorkspace         *self);
/* Opens @path (NULL: the current project in the user data dir) and makes
 * it the workspace's project once it opened; on failure the previous
 * project stays. */
void               sq_workspace_open_project_async   (SqWorkspace         *self,
                                                      const char          *path,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
gboolean           sq_workspace_open_project_finish  (SqWorkspace         *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);

/* The client for the configured token and base URL, or NULL when there
 * is no token (or the base URL is unusable: see get_client_error).
 * notify::client when it changes. */
SqReplicateClient *sq_workspace_get_client           (SqWorkspace         *self);
/* Why there is no client, or NULL. */
const GError      *sq_workspace_get_client_error     (SqWorkspace         *self);
SqTokenSource      sq_workspace_get_token_source     (SqWorkspace         *self);
/* The catalog, following the client (offline, built-in schemas only,
 * while there is none). Never NULL. notify::catalog. */
SqModelCatalog    *sq_workspace_get_catalog          (SqWorkspace         *self);
/* Reads the token and base URL again (after Preferences changed them)
 * and replaces the client and the catalog. */
void               sq_workspace_reload_client_async  (SqWorkspace         *self,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
gboolean           sq_workspace_reload_client_finish (SqWorkspace         *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);

G_END_DECLS
