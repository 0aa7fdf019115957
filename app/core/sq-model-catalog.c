/* sq-model-catalog.c
 *
 * Resolves aliases and "owner/name[:version]" to SqModels: from memory,
 * from the on-disk schema cache, from the API, and for the four aliases
 * from the built-in schemas when Replicate cannot be reached.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-model-catalog"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "sq-error.h"
#include "sq-json.h"
#include "sq-model.h"
#include "sq-model-catalog.h"
#include "sq-replicate-client.h"

#define SCHEMAS_RESOURCE_PATH "/io/github/squintapp/Squint/core/schemas/"
#define OFFICIAL_CACHE_NAME   "official"

struct _SqModelCatalog
{
  GObject            parent_instance;

  SqReplicateClient *client;    /* owned, nullable */
  GFile             *cache_dir; /* owned */
  GHashTable        *memory;    /* owned: alias or "owner/name:version" → SqModel */
  GHashTable        *builtin;   /* owned: alias → SqModel */
};

G_DEFINE_FINAL_TYPE (SqModelCatalog, sq_model_catalog, G_TYPE_OBJECT)

static const SqModelAlias aliases[] = {
  { "llava-13b", "yorickvp", "llava-13b", "e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358" },
  { "fuyu-8b", "lucataco", "fuyu-8b", "42f23bc876570a46f5a90737086fbc4c3f79dd11753a28eaa39544dd391815e9" },
  { "minigpt-4", "daanelson", "minigpt-4", "b96a2f33cc8e4b0aa23eacfce731b9c41a7d9466d9ed4e167375587b54db9423" },
  { "cogvlm", "naklecha", "cogvlm", "ec3886f9ea85dd0aee216585be5e6d07b04c9650f7b8b08363a14eb89e207eb2" },
};

const SqModelAlias *
sq_model_aliases (guint *n_aliases)
{
  if (n_aliases != NULL)
    *n_aliases = G_N_ELEMENTS (aliases);

  return aliases;
}

const SqModelAlias *
sq_model_alias_lookup (const char *alias)
{
  g_return_val_if_fail (alias != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (aliases); i++)
    {
      if (g_str_equal (aliases[i].alias, alias))
        return &aliases[i];
    }

  return NULL;
}

/* The alias pinned to exactly this owner/name:version, if any. */
static const SqModelAlias *
alias_for_version (const char *owner,
                   const char *name,
                   const char *version)
{
  if (version == NULL)
    return NULL;

  for (guint i = 0; i < G_N_ELEMENTS (aliases); i++)
    {
      if (g_str_equal (aliases[i].owner, owner) &&
          g_str_equal (aliases[i].name, name) &&
          g_str_equal (aliases[i].version, version))
        return &aliases[i];
    }

  return NULL;
}

/* The semantics of ^([^/]+)/([^/:]+)(:(.+))?$ */
gboolean
sq_model_ref_parse (const char  *ref,
                    char       **owner,
                    char       **name,
                    char       **version)
{
  const char *slash;
  const char *name_start;
  const char *name_end;

  if (owner != NULL)
    *owner = NULL;
  if (name != NULL)
    *name = NULL;
  if (version != NULL)
    *version = NULL;

  if (ref == NULL)
    return FALSE;

  slash = strchr (ref, '/');
  if (slash == NULL || slash == ref)
    return FALSE;

  name_start = slash + 1;
  name_end = name_start + strcspn (name_start, "/:");
  if (name_end == name_start)
    return FALSE;

  if (*name_end == '/')
    return FALSE;

  if (*name_end == ':' && name_end[1] == '\0')
    return FALSE;

  if (owner != NULL)
    *owner = g_strndup (ref, slash - ref);
  if (name != NULL)
    *name = g_strndup (name_start, name_end - name_start);
  if (version != NULL && *name_end == ':')
    *version = g_strdup (name_end + 1);

  return TRUE;
}

static void
sq_model_catalog_finalize (GObject *object)
{
  SqModelCatalog *self = (SqModelCatalog *)object;

  g_clear_object (&self->client);
  g_clear_object (&self->cache_dir);
  g_clear_pointer (&self->memory, g_hash_table_unref);
  g_clear_pointer (&self->builtin, g_hash_table_unref);

  G_OBJECT_CLASS (sq_model_catalog_parent_class)->finalize (object);
}

static void
sq_model_catalog_class_init (SqModelCatalogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sq_model_catalog_finalize;
}

static void
sq_model_catalog_init (SqModelCatalog *self)
{
  self->memory = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->builtin = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/**
 * sq_model_catalog_new:
 * @client: (nullable): the client to ask Replicate with
 * @cache_dir: (nullable): where schemas are cached
 *
 * Returns: (transfer full): a new #SqModelCatalog
 */
SqModelCatalog *
sq_model_catalog_new (SqReplicateClient *client,
                      GFile             *cache_dir)
{
  SqModelCatalog *self;

  g_return_val_if_fail (client == NULL || SQ_IS_REPLICATE_CLIENT (client), NULL);
  g_return_val_if_fail (cache_dir == NULL || G_IS_FILE (cache_dir), NULL);

  self = g_object_new (SQ_TYPE_MODEL_CATALOG, NULL);
  self->client = client ? g_object_ref (client) : NULL;
  if (cache_dir != NULL)
    self->cache_dir = g_object_ref (cache_dir);
  else
    self->cache_dir = g_file_new_build_filename (g_get_user_cache_dir (), "squint", "schemas", NULL);

  return self;
}

static SqModel *
load_builtin (SqModelCatalog      *self,
              const SqModelAlias  *alias,
              GError             **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *path = NULL;
  SqModel *model;
  JsonNode *root;

  if ((model = g_hash_table_lookup (self->builtin, alias->alias)) != NULL)
    return g_object_ref (model);

  path = g_strconcat (SCHEMAS_RESOURCE_PATH, alias->alias, ".json", NULL);
  bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (bytes == NULL)
    return NULL;

  parser = json_parser_new ();
  if (!sq_json_parser_load (parser, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), error))
    return NULL;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_SCHEMA,
                   _("The built-in schema of %s is not a JSON object"), alias->alias);
      return NULL;
    }

  model = sq_model_new_from_schema (alias->alias, alias->owner, alias->name, alias->version,
                                    json_node_get_object (root), error);
  if (model == NULL)
    return NULL;

  g_hash_table_insert (self->builtin, g_strdup (alias->alias), g_object_ref (model));

  return model;
}

GPtrArray *
sq_model_catalog_list_builtin (SqModelCatalog *self)
{
  GPtrArray *models;

  g_return_val_if_fail (SQ_IS_MODEL_CATALOG (self), NULL);

  models = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (aliases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SqModel) model = load_builtin (self, &aliases[i], &error);

      if (model == NULL)
        {
          g_critical ("Cannot load the built-in schema of %s: %s", aliases[i].alias, error->message);
          continue;
        }

      /* The catalog keeps its reference. */
      g_ptr_array_add (models, model);
    }

  return models;
}

/* The disk cache: <cache_dir>/<owner>/<name>/<version>.json holding
 * {"owner", "name", "version" (or null), "openapi_schema"}. */

static gboolean
is_safe_component (const char *s)
{
  return s != NULL &&
         s[0] != '\0' &&
         s[0] != '.' &&
         strchr (s, '/') == NULL &&
         strchr (s, '\\') == NULL &&
         strlen (s) < 256;
}

static GFile *
cache_model_dir (SqModelCatalog *self,
                 const char     *owner,
                 const char     *name)
{
  g_autoptr(GFile) owner_dir = NULL;

  if (!is_safe_component (owner) || !is_safe_component (name))
    return NULL;

  owner_dir = g_file_get_child (self->cache_dir, owner);

  return g_file_get_child (owner_dir, name);
}

static GFile *
cache_file (SqModelCatalog *self,
            const char     *owner,
            const char     *name,
            const char     *version)
{
  g_autoptr(GFile) dir = NULL;
  g_autofree char *basename = NULL;

  if (version == NULL)
    version = OFFICIAL_CACHE_NAME;

  if (!is_safe_component (version))
    return NULL;

  if ((dir = cache_model_dir (self, owner, name)) == NULL)
    return NULL;

  basename = g_strconcat (version, ".json", NULL);

  return g_file_get_child (dir, basename);
}

/* Reads one cache file; NULL (and no error) when it is missing or not
 * a usable cache entry. */
static JsonObject *
read_cache_entry (GFile        *file,
                  GCancellable *cancellable)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  JsonNode *root;
  JsonNode *schema;

  if (!g_file_load_contents (file, cancellable, &contents, &length, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_debug ("Cannot read the cached schema %s: %s", g_file_peek_path (file), error->message);
      return NULL;
    }

  parser = json_parser_new ();
  if (!sq_json_parser_load (parser, contents, length, &error))
    {
      g_debug ("Ignoring the broken cached schema %s: %s", g_file_peek_path (file), error->message);
      return NULL;
    }

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;

  schema = json_object_get_member (json_node_get_object (root), "openapi_schema");
  if (schema == NULL || !JSON_NODE_HOLDS_OBJECT (schema))
    return NULL;

  return json_object_ref (json_node_get_object (root));
}

static void
read_cache_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  GFile *file = task_data;

  g_task_return_pointer (task, read_cache_entry (file, cancellable), (GDestroyNotify)json_object_unref);
}

/* The most recently written entry under a model's cache directory. */
static void
read_newest_cache_thread (GTask        *task,
                          gpointer      source_object,
                          gpointer      task_data,
                          GCancellable *cancellable)
{
  GFile *dir = task_data;
  g_autoptr(GFileEnumerator) enumerator = NULL;
  g_autoptr(GFile) newest = NULL;
  guint64 newest_time = 0;

  enumerator = g_file_enumerate_children (dir,
                                          G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                          G_FILE_ATTRIBUTE_TIME_MODIFIED,
                                          G_FILE_QUERY_INFO_NONE,
                                          cancellable, NULL);
  while (enumerator != NULL)
    {
      GFileInfo *info = NULL;
      GFile *child = NULL;
      guint64 mtime;

      if (!g_file_enumerator_iterate (enumerator, &info, &child, cancellable, NULL) || info == NULL)
        break;

      if (!g_str_has_suffix (g_file_info_get_name (info), ".json"))
        continue;

      mtime = g_file_info_get_attribute_uint64 (info, G_FILE_ATTRIBUTE_TIME_MODIFIED);
      if (newest == NULL || mtime > newest_time)
        {
          g_set_object (&newest, child);
          newest_time = mtime;
        }
    }

  g_task_return_pointer (task,
                         newest ? read_cache_entry (newest, cancellable) : NULL,
                         (GDestroyNotify)json_object_unref);
}

static void
make_dir_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GFile *dir = task_data;
  g_autoptr(GError) error = NULL;

  if (!g_file_make_directory_with_parents (dir, cancellable, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_task_return_boolean (task, TRUE);
}

/* Resolving */

typedef struct
{
  char               *request;   /* as asked */
  const SqModelAlias *alias;     /* nullable */
  char               *owner;
  char               *name;
  char               *version;   /* nullable: the latest */
  SqModel            *model;     /* the answer, once there is one */
  GBytes             *to_cache;  /* the cache entry to write, nullable */
  GFile              *cache_file;
} ResolveData;

static void
resolve_data_free (ResolveData *data)
{
  g_free (data->request);
  g_free (data->owner);
  g_free (data->name);
  g_free (data->version);
  g_clear_object (&data->model);
  g_clear_pointer (&data->to_cache, g_bytes_unref);
  g_clear_object (&data->cache_file);
  g_free (data);
}

static const char *
memory_key (ResolveData *data)
{
  return data->alias ? data->alias->alias : data->request;
}

static void
resolve_return_model (GTask   *task,
                      SqModel *model)
{
  SqModelCatalog *self = g_task_get_source_object (task);
  ResolveData *data = g_task_get_task_data (task);

  /* Only pinned versions are remembered: "owner/name" asks every time. */
  if (data->version != NULL)
    g_hash_table_replace (self->memory, g_strdup (memory_key (data)), g_object_ref (model));

  g_task_return_pointer (task, g_object_ref (model), g_object_unref);
}

static gboolean
resolve_with_builtin (GTask *task)
{
  SqModelCatalog *self = g_task_get_source_object (task);
  ResolveData *data = g_task_get_task_data (task);
  g_autoptr(SqModel) model = NULL;
  g_autoptr(GError) error = NULL;
  const SqModelAlias *alias = data->alias;

  if (alias == NULL)
    alias = alias_for_version (data->owner, data->name, data->version);
  if (alias == NULL)
    return FALSE;

  model = load_builtin (self, alias, &error);
  if (model == NULL)
    {
      g_critical ("Cannot load the built-in schema of %s: %s", alias->alias, error->message);
      return FALSE;
    }

  if (data->alias == NULL)
    {
      /* Asked as owner/name:version: same schema, no alias. */
      g_autoptr(SqModel) plain = NULL;

      plain = sq_model_new_from_schema (NULL, alias->owner, alias->name, alias->version,
                                        sq_model_get_schema (model), &error);
      if (plain == NULL)
        return FALSE;
      g_set_object (&model, plain);
    }

  resolve_return_model (task, model);
  return TRUE;
}

static void
cache_written_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ResolveData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!g_file_replace_contents_finish (G_FILE (object), result, NULL, &error))
    g_warning ("Cannot cache the schema of %s: %s", data->request, error->message);

  resolve_return_model (task, data->model);
}

static void
cache_dir_made_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ResolveData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_warning ("Cannot cache the schema of %s: %s", data->request, error->message);
      resolve_return_model (task, data->model);
      return;
    }

  cancellable = g_task_get_cancellable (task);
  g_file_replace_contents_bytes_async (data->cache_file,
                                       data->to_cache,
                                       NULL,
                                       FALSE,
                                       G_FILE_CREATE_REPLACE_DESTINATION,
                                       cancellable,
                                       cache_written_cb,
                                       g_steal_pointer (&task));
}

/* Builds the model from a freshly fetched schema, writes it to the disk
 * cache, then returns it. */
static void
resolve_with_fetched (GTask      *task,
                      const char *version,
                      JsonObject *schema)
{
  SqModelCatalog *self = g_task_get_source_object (task);
  ResolveData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) entry = NULL;
  g_autoptr(JsonNode) entry_node = NULL;
  g_autoptr(GTask) dir_task = NULL;
  g_autofree char *json = NULL;
  gsize length;

  data->model = sq_model_new_from_schema (data->alias ? data->alias->alias : NULL,
                                          data->owner, data->name, version, schema, &error);
  if (data->model == NULL)
    {
      if (data->alias != NULL)
        {
          g_debug ("Using the built-in schema of %s: %s", data->alias->alias, error->message);
          if (resolve_with_builtin (task))
            return;
        }
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  data->cache_file = cache_file (self, data->owner, data->name, version);
  if (data->cache_file == NULL)
    {
      resolve_return_model (task, data->model);
      return;
    }

  entry = json_object_new ();
  json_object_set_string_member (entry, "owner", data->owner);
  json_object_set_string_member (entry, "name", data->name);
  if (version != NULL)
    json_object_set_string_member (entry, "version", version);
  else
    json_object_set_null_member (entry, "version");
  json_object_set_object_member (entry, "openapi_schema", json_object_ref (schema));
  entry_node = json_node_init_object (json_node_alloc (), entry);
  json = json_to_string (entry_node, FALSE);
  length = strlen (json);
  data->to_cache = g_bytes_new_take (g_steal_pointer (&json), length);

  dir_task = g_task_new (self, g_task_get_cancellable (task), cache_dir_made_cb, g_object_ref (task));
  g_task_set_source_tag (dir_task, resolve_with_fetched);
  g_task_set_task_data (dir_task, g_file_get_parent (data->cache_file), g_object_unref);
  g_task_run_in_thread (dir_task, make_dir_thread);
}

static void
resolve_not_found (GTask  *task,
                   GError *error)
{
  ResolveData *data = g_task_get_task_data (task);

  g_debug ("%s: %s", data->request, error->message);
  g_task_return_new_error (task, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND,
                           _("There is no model “%s” on Replicate"), data->request);
}

static void
got_version_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ResolveData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) version = NULL;
  JsonNode *schema;

  version = sq_replicate_client_get_model_version_finish (SQ_REPLICATE_CLIENT (object), result, &error);
  if (version == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (resolve_with_builtin (task))
        g_debug ("Using the built-in schema of %s: %s", data->request, error->message);
      else if (g_error_matches (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND))
        resolve_not_found (task, error);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  schema = json_object_get_member (version, "openapi_schema");
  if (schema == NULL || !JSON_NODE_HOLDS_OBJECT (schema))
    {
      if (!resolve_with_builtin (task))
        g_task_return_new_error (task, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_SCHEMA,
                                 _("Replicate has no input schema for %s"), data->request);
      return;
    }

  resolve_with_fetched (task, data->version, json_node_get_object (schema));
}

static void
got_newest_cached_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ResolveData *data = g_task_get_task_data (task);
  g_autoptr(JsonObject) entry = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  GError *offline_error = g_object_get_data (G_OBJECT (task), "offline-error");
  JsonNode *version;
  const char *version_id = NULL;

  entry = g_task_propagate_pointer (G_TASK (result), &error);
  if (entry == NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else if (offline_error != NULL)
        g_task_return_error (task, g_error_copy (offline_error));
      else
        g_task_return_new_error (task, SQ_MODEL_ERROR, SQ_MODEL_ERROR_FAILED,
                                 _("Cannot look up %s: there is no connection to Replicate and no cached schema"),
                                 data->request);
      return;
    }

  version = json_object_get_member (entry, "version");
  if (version != NULL && JSON_NODE_HOLDS_VALUE (version) && json_node_get_value_type (version) == G_TYPE_STRING)
    version_id = json_node_get_string (version);

  model = sq_model_new_from_schema (NULL, data->owner, data->name, version_id,
                                    json_object_get_object_member (entry, "openapi_schema"), &error);
  if (model == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    resolve_return_model (task, model);
}

static void
resolve_from_newest_cached (GTask  *task,
                            GError *offline_error)
{
  SqModelCatalog *self = g_task_get_source_object (task);
  ResolveData *data = g_task_get_task_data (task);
  g_autoptr(GTask) read_task = NULL;
  GFile *dir;

  if (offline_error != NULL)
    g_object_set_data_full (G_OBJECT (task), "offline-error",
                            g_error_copy (offline_error), (GDestroyNotify)g_error_free);

  read_task = g_task_new (self, g_task_get_cancellable (task), got_newest_cached_cb, g_object_ref (task));
  g_task_set_source_tag (read_task, resolve_from_newest_cached);

  dir = cache_model_dir (self, data->owner, data->name);
  if (dir == NULL)
    {
      g_task_return_pointer (read_task, NULL, NULL);
      return;
    }

  g_task_set_task_data (read_task, dir, g_object_unref);
  g_task_run_in_thread (read_task, read_newest_cache_thread);
}

static gboolean
is_official (JsonObject *model,
             JsonObject *latest,
             const char *version_id)
{
  JsonNode *node = json_object_get_member (model, "is_official");

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
      json_node_get_value_type (node) == G_TYPE_BOOLEAN &&
      json_node_get_boolean (node))
    return TRUE;

  return latest == NULL || version_id == NULL || g_str_equal (version_id, "hidden");
}

static void
got_model_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ResolveData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) model = NULL;
  JsonObject *latest = NULL;
  JsonNode *node;
  const char *version_id = NULL;
  JsonObject *schema = NULL;

  model = sq_replicate_client_get_model_finish (SQ_REPLICATE_CLIENT (object), result, &error);
  if (model == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (g_error_matches (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND))
        resolve_not_found (task, error);
      else
        resolve_from_newest_cached (task, error);
      return;
    }

  node = json_object_get_member (model, "latest_version");
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    {
      latest = json_node_get_object (node);

      node = json_object_get_member (latest, "id");
      if (node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        version_id = json_node_get_string (node);

      node = json_object_get_member (latest, "openapi_schema");
      if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
        schema = json_node_get_object (node);
    }

  if (schema == NULL)
    {
      g_task_return_new_error (task, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_SCHEMA,
                               _("Replicate has no input schema for %s"), data->request);
      return;
    }

  if (is_official (model, latest, version_id))
    version_id = NULL;

  resolve_with_fetched (task, version_id, schema);
}

static void
got_cached_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SqModelCatalog *self = g_task_get_source_object (task);
  ResolveData *data = g_task_get_task_data (task);
  g_autoptr(JsonObject) entry = NULL;
  g_autoptr(GError) error = NULL;

  entry = g_task_propagate_pointer (G_TASK (result), &error);
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (entry != NULL)
    {
      g_autoptr(SqModel) model = NULL;

      model = sq_model_new_from_schema (data->alias ? data->alias->alias : NULL,
                                        data->owner, data->name, data->version,
                                        json_object_get_object_member (entry, "openapi_schema"),
                                        &error);
      if (model != NULL)
        {
          resolve_return_model (task, model);
          return;
        }

      g_debug ("Ignoring the cached schema of %s: %s", data->request, error->message);
      g_clear_error (&error);
    }

  if (self->client != NULL)
    {
      GCancellable *cancellable = g_task_get_cancellable (task);

      sq_replicate_client_get_model_version_async (self->client,
                                                   data->owner,
                                                   data->name,
                                                   data->version,
                                                   cancellable,
                                                   got_version_cb,
                                                   g_steal_pointer (&task));
      return;
    }

  if (!resolve_with_builtin (task))
    g_task_return_new_error (task, SQ_MODEL_ERROR, SQ_MODEL_ERROR_FAILED,
                             _("Cannot look up %s: there is no connection to Replicate and no cached schema"),
                             data->request);
}

void
sq_model_catalog_resolve_async (SqModelCatalog      *self,
                                const char          *name,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ResolveData *data;
  SqModel *model;

  g_return_if_fail (SQ_IS_MODEL_CATALOG (self));
  g_return_if_fail (name != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_model_catalog_resolve_async);

  data = g_new0 (ResolveData, 1);
  data->request = g_strdup (name);
  g_task_set_task_data (task, data, (GDestroyNotify)resolve_data_free);

  if ((data->alias = sq_model_alias_lookup (name)) != NULL)
    {
      data->owner = g_strdup (data->alias->owner);
      data->name = g_strdup (data->alias->name);
      data->version = g_strdup (data->alias->version);
    }
  else if (!sq_model_ref_parse (name, &data->owner, &data->name, &data->version))
    {
      g_task_return_new_error (task, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE,
                               _("“%s” is not a model: use one of llava-13b, fuyu-8b, minigpt-4, cogvlm, "
                                 "or owner/name, or owner/name:version"),
                               name);
      return;
    }

  if (g_task_return_error_if_cancelled (task))
    return;

  /* The latest version of owner/name: always ask. */
  if (data->version == NULL)
    {
      if (self->client != NULL)
        sq_replicate_client_get_model_async (self->client,
                                             data->owner,
                                             data->name,
                                             cancellable,
                                             got_model_cb,
                                             g_steal_pointer (&task));
      else
        resolve_from_newest_cached (task, NULL);
      return;
    }

  if ((model = g_hash_table_lookup (self->memory, memory_key (data))) != NULL)
    {
      g_task_return_pointer (task, g_object_ref (model), g_object_unref);
      return;
    }

  /* A pinned version never changes: the disk cache needs no network. */
  {
    g_autoptr(GTask) read_task = NULL;
    GFile *file = cache_file (self, data->owner, data->name, data->version);

    read_task = g_task_new (self, cancellable, got_cached_cb, g_steal_pointer (&task));
    g_task_set_source_tag (read_task, sq_model_catalog_resolve_async);
    if (file == NULL)
      {
        g_task_return_pointer (read_task, NULL, NULL);
        return;
      }

    g_task_set_task_data (read_task, file, g_object_unref);
    g_task_run_in_thread (read_task, read_cache_thread);
  }
}

SqModel *
sq_model_catalog_resolve_finish (SqModelCatalog  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (SQ_IS_MODEL_CATALOG (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_model_catalog_resolve_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
