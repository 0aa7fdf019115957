/* sq-model-catalog.h
 *
 * Known models by alias, and any owner/name[:version] looked up on
 * Replicate. Schemas are cached on disk.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sq-types.h"

G_BEGIN_DECLS

typedef struct
{
  const char *alias;
  const char *owner;
  const char *name;
  const char *version;
} SqModelAlias;

/* The four models the LlamaIndex notebook used, pinned to its versions. */
const SqModelAlias *sq_model_aliases               (guint         *n_aliases);
const SqModelAlias *sq_model_alias_lookup          (const char    *alias);
/* Splits "owner/name[:version]"; FALSE for anything else. */
gboolean            sq_model_ref_parse             (const char    *ref,
                                                    char         **owner,
                                                    char         **name,
                                                    char         **version);

#define SQ_TYPE_MODEL_CATALOG (sq_model_catalog_get_type ())

G_DECLARE_FINAL_TYPE (SqModelCatalog, sq_model_catalog, SQ, MODEL_CATALOG, GObject)

/* @client may be NULL (offline: built-in schemas and the cache only).
 * @cache_dir NULL means $XDG_CACHE_HOME/squint/schemas. */
SqModelCatalog *sq_model_catalog_new               (SqReplicateClient *client,
                                                    GFile             *cache_dir);
/* The built-in models (the four aliases), with their built-in schemas.
 * (element-type SqModel) (transfer container) */
GPtrArray      *sq_model_catalog_list_builtin      (SqModelCatalog    *self);
/* Resolves an alias or "owner/name[:version]" to a model with its schema:
 * from the memory cache, then the disk cache (for pinned versions), then
 * the API (GET model for the latest version, or GET version), and for
 * aliases the built-in schema when the API cannot be reached. */
void            sq_model_catalog_resolve_async     (SqModelCatalog    *self,
                                                    const char        *name,
                                                    GCancellable      *cancellable,
                                                    GAsyncReadyCallback callback,
                                                    gpointer           user_data);
SqModel        *sq_model_catalog_resolve_finish    (SqModelCatalog    *self,
                                                    GAsyncResult      *result,
                                                    GError           **error);

G_END_DECLS
