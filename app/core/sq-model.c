/* sq-model.c
 *
 * Reads a model version's openapi_schema (as cog generates it) into
 * parameters, finds the prompt and image keys, maps the notebook's
 * generic settings onto the model's own keys and builds checked
 * prediction inputs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-model"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "sq-error.h"
#include "sq-json.h"
#include "sq-model.h"

/* Guards against schemas that nest or refer too much. */
#define MAX_DEPTH  32
#define MAX_BUDGET 4096

struct _SqModel
{
  GObject     parent_instance;

  char       *alias;          /* owned, nullable */
  char       *owner;          /* owned */
  char       *name;           /* owned */
  char       *version;        /* owned, nullable */
  char       *display_name;   /* owned */
  char       *ref;            /* owned */
  char       *prompt_key;     /* owned */
  char       *image_key;      /* owned */
  gboolean    image_is_array;
  gboolean    streams_text;
  JsonObject *schema;         /* owned */
  GPtrArray  *all_params;     /* owned, element-type SqModelParam, sorted */
  GPtrArray  *params;         /* owned, without prompt and image */
};

G_DEFINE_FINAL_TYPE (SqModel, sq_model, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (SqModelParam, sq_model_param, sq_model_param_copy, sq_model_param_free)

static const char * const generic_settings[] = {
  SQ_SETTING_MAX_NEW_TOKENS,
  SQ_SETTING_TEMPERATURE,
  SQ_SETTING_TOP_P,
  SQ_SETTING_NUM_BEAMS,
  SQ_SETTING_REPETITION_PENALTY,
  NULL
};

static const char * const max_token_keys[] = {
  "max_new_tokens",
  "max_tokens",
  "max_completion_tokens",
  "max_length",
  NULL
};

static const char * const prompt_names[] = {
  "prompt", "text", "question", "query", "instruction", "message", NULL
};

static const char * const image_names[] = {
  "image", "image_input", "images", "input_image", "img", NULL
};

SqModelParam *
sq_model_param_copy (const SqModelParam *param)
{
  SqModelParam *copy;

  g_return_val_if_fail (param != NULL, NULL);

  copy = g_new0 (SqModelParam, 1);
  *copy = *param;
  copy->key = g_strdup (param->key);
  copy->title = g_strdup (param->title);
  copy->description = g_strdup (param->description);
  copy->default_value = param->default_value ? json_node_copy (param->default_value) : NULL;
  copy->choices = g_strdupv (param->choices);

  return copy;
}

void
sq_model_param_free (SqModelParam *param)
{
  if (param == NULL)
    return;

  g_free (param->key);
  g_free (param->title);
  g_free (param->description);
  g_clear_pointer (&param->default_value, json_node_unref);
  g_strfreev (param->choices);
  g_free (param);
}

static void
sq_model_finalize (GObject *object)
{
  SqModel *self = (SqModel *)object;

  g_clear_pointer (&self->alias, g_free);
  g_clear_pointer (&self->owner, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->version, g_free);
  g_clear_pointer (&self->display_name, g_free);
  g_clear_pointer (&self->ref, g_free);
  g_clear_pointer (&self->prompt_key, g_free);
  g_clear_pointer (&self->image_key, g_free);
  g_clear_pointer (&self->schema, json_object_unref);
  g_clear_pointer (&self->params, g_ptr_array_unref);
  g_clear_pointer (&self->all_params, g_ptr_array_unref);

  G_OBJECT_CLASS (sq_model_parent_class)->finalize (object);
}

static void
sq_model_class_init (SqModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sq_model_finalize;
}

static void
sq_model_init (SqModel *self)
{
}

/* JSON helpers that never warn on the wrong type. */

static JsonObject *
get_object (JsonObject *object,
            const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);

  return NULL;
}

static JsonArray *
get_array (JsonObject *object,
           const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);

  return NULL;
}

static gboolean
node_is_string (JsonNode *node)
{
  return node != NULL &&
         JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
node_is_number (JsonNode *node)
{
  GType type;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  type = json_node_get_value_type (node);
  return type == G_TYPE_INT64 || type == G_TYPE_DOUBLE;
}

static double
node_get_number (JsonNode *node)
{
  if (json_node_get_value_type (node) == G_TYPE_INT64)
    return (double)json_node_get_int (node);

  return json_node_get_double (node);
}

static const char *
get_string (JsonObject *object,
            const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node_is_string (node))
    return json_node_get_string (node);

  return NULL;
}

static gboolean
get_true (JsonObject *object,
          const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL &&
         JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_BOOLEAN &&
         json_node_get_boolean (node);
}

/* Resolving $ref, allOf and anyOf into one flat object. */

typedef struct
{
  JsonObject *root;
  GHashTable *active;       /* refs being followed right now */
  guint       budget;
  const char *model_name;
} Resolver;

static void
set_bad_schema (GError     **error,
                const char  *model_name,
                const char  *reason)
{
  g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_SCHEMA,
               _("The input schema of %s cannot be used: %s"),
               model_name, reason);
}

static JsonObject *
resolve_ref (Resolver    *r,
             const char  *ref,
             GError     **error)
{
  g_auto(GStrv) tokens = NULL;
  JsonObject *object = r->root;

  if (!g_str_has_prefix (ref, "#/"))
    {
      g_autofree char *reason = g_strdup_printf (_("the reference “%s” is not local to the schema"), ref);
      set_bad_schema (error, r->model_name, reason);
      return NULL;
    }

  tokens = g_strsplit (ref + 2, "/", -1);
  for (guint i = 0; tokens[i] != NULL; i++)
    {
      g_autoptr(GString) token = g_string_new (tokens[i]);

      /* JSON pointer escapes, ~1 first */
      g_string_replace (token, "~1", "/", 0);
      g_string_replace (token, "~0", "~", 0);

      object = get_object (object, token->str);
      if (object == NULL)
        {
          g_autofree char *reason = g_strdup_printf (_("the reference “%s” points nowhere"), ref);
          set_bad_schema (error, r->model_name, reason);
          return NULL;
        }
    }

  return object;
}

static gboolean
is_null_schema (JsonObject *object)
{
  const char *type = get_string (object, "type");

  return g_strcmp0 (type, "null") == 0 && json_object_get_size (object) <= 2;
}

static gboolean flatten_into (Resolver    *r,
                              JsonObject  *dst,
                              JsonObject  *src,
                              gboolean    *nullable,
                              guint        depth,
                              GError     **error);

static gboolean
flatten_ref (Resolver    *r,
             JsonObject  *dst,
             const char  *ref,
             gboolean    *nullable,
             guint        depth,
             GError     **error)
{
  JsonObject *target;
  gboolean ret;

  if (g_hash_table_contains (r->active, ref))
    {
      g_autofree char *reason = g_strdup_printf (_("the reference “%s” loops back on itself"), ref);
      set_bad_schema (error, r->model_name, reason);
      return FALSE;
    }

  target = resolve_ref (r, ref, error);
  if (target == NULL)
    return FALSE;

  g_hash_table_add (r->active, g_strdup (ref));
  ret = flatten_into (r, dst, target, nullable, depth + 1, error);
  g_hash_table_remove (r->active, ref);

  return ret;
}

/* Copies @src's own members into @dst (members already in @dst win),
 * then those of its $ref, its allOf parts and its first non-null anyOf
 * or oneOf branch. */
static gboolean
flatten_into (Resolver    *r,
              JsonObject  *dst,
              JsonObject  *src,
              gboolean    *nullable,
              guint        depth,
              GError     **error)
{
  JsonObjectIter iter;
  const char *member;
  JsonNode *node;
  const char *ref;
  JsonArray *parts;

  if (depth > MAX_DEPTH || r->budget == 0)
    {
      set_bad_schema (error, r->model_name, _("it nests too deeply"));
      return FALSE;
    }
  r->budget--;

  json_object_iter_init (&iter, src);
  while (json_object_iter_next (&iter, &member, &node))
    {
      if (g_str_equal (member, "$ref") ||
          g_str_equal (member, "allOf") ||
          g_str_equal (member, "anyOf") ||
          g_str_equal (member, "oneOf"))
        continue;

      if (!json_object_has_member (dst, member))
        json_object_set_member (dst, member, json_node_copy (node));
    }

  if (get_true (src, "nullable"))
    *nullable = TRUE;

  if (json_object_has_member (src, "$ref"))
    {
      ref = get_string (src, "$ref");
      if (ref == NULL)
        {
          set_bad_schema (error, r->model_name, _("a reference is not a string"));
          return FALSE;
        }
      if (!flatten_ref (r, dst, ref, nullable, depth, error))
        return FALSE;
    }

  if ((parts = get_array (src, "allOf")) != NULL)
    {
      guint n = json_array_get_length (parts);

      for (guint i = 0; i < n; i++)
        {
          JsonNode *part = json_array_get_element (parts, i);

          if (!JSON_NODE_HOLDS_OBJECT (part))
            continue;
          if (!flatten_into (r, dst, json_node_get_object (part), nullable, depth + 1, error))
            return FALSE;
        }
    }

  if ((parts = get_array (src, "anyOf")) != NULL ||
      (parts = get_array (src, "oneOf")) != NULL)
    {
      guint n = json_array_get_length (parts);
      gboolean taken = FALSE;

      for (guint i = 0; i < n; i++)
        {
          JsonNode *part = json_array_get_element (parts, i);
          JsonObject *branch;

          if (!JSON_NODE_HOLDS_OBJECT (part))
            continue;

          branch = json_node_get_object (part);
          if (is_null_schema (branch))
            {
              *nullable = TRUE;
              continue;
            }

          if (!taken)
            {
              if (!flatten_into (r, dst, branch, nullable, depth + 1, error))
                return FALSE;
              taken = TRUE;
            }
        }
    }

  return TRUE;
}

static JsonObject *
flatten (Resolver    *r,
         JsonObject  *src,
         gboolean    *nullable,
         GError     **error)
{
  g_autoptr(JsonObject) dst = json_object_new ();
  gboolean dummy = FALSE;

  if (!flatten_into (r, dst, src, nullable ? nullable : &dummy, 0, error))
    return NULL;

  return g_steal_pointer (&dst);
}

/* The first non-"null" type name; "type" may be a string or a list. */
static const char *
get_type_name (JsonObject *object,
               gboolean   *nullable)
{
  JsonNode *node = json_object_get_member (object, "type");

  if (node_is_string (node))
    return json_node_get_string (node);

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *types = json_node_get_array (node);
      const char *found = NULL;

      for (guint i = 0; i < json_array_get_length (types); i++)
        {
          JsonNode *element = json_array_get_element (types, i);
          const char *name;

          if (!node_is_string (element))
            continue;

          name = json_node_get_string (element);
          if (g_str_equal (name, "null"))
            *nullable = TRUE;
          else if (found == NULL)
            found = name;
        }

      return found;
    }

  return NULL;
}

static SqParamType
type_from_name (const char *name,
                JsonNode   *default_value)
{
  if (name == NULL && default_value != NULL && JSON_NODE_HOLDS_VALUE (default_value))
    {
      GType type = json_node_get_value_type (default_value);

      if (type == G_TYPE_INT64)
        return SQ_PARAM_INTEGER;
      if (type == G_TYPE_DOUBLE)
        return SQ_PARAM_NUMBER;
      if (type == G_TYPE_BOOLEAN)
        return SQ_PARAM_BOOLEAN;
    }
  else if (name == NULL && default_value != NULL && JSON_NODE_HOLDS_ARRAY (default_value))
    return SQ_PARAM_ARRAY;

  if (g_strcmp0 (name, "integer") == 0)
    return SQ_PARAM_INTEGER;
  if (g_strcmp0 (name, "number") == 0)
    return SQ_PARAM_NUMBER;
  if (g_strcmp0 (name, "boolean") == 0)
    return SQ_PARAM_BOOLEAN;
  if (g_strcmp0 (name, "array") == 0)
    return SQ_PARAM_ARRAY;

  return SQ_PARAM_STRING;
}

static char *
format_number (double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.15g", value));
}

/* Fills choices and the values' type from "enum"; FALSE when there is
 * no usable enum. */
static gboolean
read_enum (JsonObject   *flat,
           char       ***choices,
           SqParamType  *value_type)
{
  JsonArray *values = get_array (flat, "enum");
  g_autoptr(GStrvBuilder) builder = NULL;
  gboolean all_int = TRUE;
  gboolean all_number = TRUE;
  guint n_values = 0;

  if (values == NULL)
    return FALSE;

  builder = g_strv_builder_new ();
  for (guint i = 0; i < json_array_get_length (values); i++)
    {
      JsonNode *node = json_array_get_element (values, i);
      GType type;

      if (!JSON_NODE_HOLDS_VALUE (node))
        continue;

      type = json_node_get_value_type (node);
      if (type == G_TYPE_STRING)
        {
          g_strv_builder_add (builder, json_node_get_string (node));
          all_int = all_number = FALSE;
        }
      else if (type == G_TYPE_INT64)
        {
          g_autofree char *s = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
          g_strv_builder_add (builder, s);
        }
      else if (type == G_TYPE_DOUBLE)
        {
          g_autofree char *s = format_number (json_node_get_double (node));
          g_strv_builder_add (builder, s);
          all_int = FALSE;
        }
      else if (type == G_TYPE_BOOLEAN)
        {
          g_strv_builder_add (builder, json_node_get_boolean (node) ? "true" : "false");
          all_int = all_number = FALSE;
        }
      else
        continue;

      n_values++;
    }

  if (n_values == 0)
    return FALSE;

  *choices = g_strv_builder_end (builder);
  *value_type = all_int ? SQ_PARAM_INTEGER : all_number ? SQ_PARAM_NUMBER : SQ_PARAM_STRING;

  return TRUE;
}

static gboolean
is_uri_format (JsonObject *flat)
{
  return g_strcmp0 (get_string (flat, "format"), "uri") == 0;
}

static SqModelParam *
param_from_property (Resolver    *r,
                     const char  *key,
                     JsonObject  *property,
                     gboolean     required,
                     GError     **error)
{
  g_autoptr(SqModelParam) param = g_new0 (SqModelParam, 1);
  g_autoptr(JsonObject) flat = NULL;
  gboolean nullable = FALSE;
  const char *type_name;
  JsonNode *node;

  flat = flatten (r, property, &nullable, error);
  if (flat == NULL)
    return NULL;

  param->key = g_strdup (key);
  param->title = g_strdup (get_string (flat, "title"));
  param->description = g_strdup (get_string (flat, "description"));
  param->order = G_MAXINT;
  param->item_type = SQ_PARAM_STRING;

  node = json_object_get_member (flat, "default");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    param->default_value = json_node_copy (node);

  node = json_object_get_member (flat, "x-order");
  if (node_is_number (node))
    param->order = (int)CLAMP (node_get_number (node), (double)G_MININT, (double)G_MAXINT);

  node = json_object_get_member (flat, "minimum");
  if (node_is_number (node))
    {
      param->has_minimum = TRUE;
      param->minimum = node_get_number (node);
    }

  node = json_object_get_member (flat, "maximum");
  if (node_is_number (node))
    {
      param->has_maximum = TRUE;
      param->maximum = node_get_number (node);
    }

  param->secret = get_true (flat, "x-cog-secret") ||
                  g_strcmp0 (get_string (flat, "format"), "password") == 0;

  type_name = get_type_name (flat, &nullable);

  if (read_enum (flat, &param->choices, &param->item_type))
    param->type = SQ_PARAM_ENUM;
  else
    param->type = type_from_name (type_name, param->default_value);

  if (param->type == SQ_PARAM_STRING && is_uri_format (flat))
    param->type = SQ_PARAM_URI;

  if (param->type == SQ_PARAM_ARRAY)
    {
      JsonObject *items = get_object (flat, "items");

      param->item_type = SQ_PARAM_STRING;
      if (items != NULL)
        {
          g_autoptr(JsonObject) flat_items = NULL;
          gboolean items_nullable = FALSE;

          flat_items = flatten (r, items, &items_nullable, error);
          if (flat_items == NULL)
            return NULL;

          param->item_type = type_from_name (get_type_name (flat_items, &items_nullable), NULL);
          if (param->item_type == SQ_PARAM_STRING && is_uri_format (flat_items))
            param->item_type = SQ_PARAM_URI;
          /* Nested arrays are passed as strings. */
          if (param->item_type == SQ_PARAM_ARRAY)
            param->item_type = SQ_PARAM_STRING;
        }
    }

  param->required = required && !nullable;

  return g_steal_pointer (&param);
}

static int
compare_params (gconstpointer a,
                gconstpointer b)
{
  const SqModelParam *pa = *(const SqModelParam * const *)a;
  const SqModelParam *pb = *(const SqModelParam * const *)b;

  if (pa->order != pb->order)
    return pa->order < pb->order ? -1 : 1;

  return strcmp (pa->key, pb->key);
}

static const SqModelParam *
find_in (GPtrArray  *params,
         const char *key)
{
  for (guint i = 0; i < params->len; i++)
    {
      const SqModelParam *param = g_ptr_array_index (params, i);

      if (g_str_equal (param->key, key))
        return param;
    }

  return NULL;
}

static gboolean
is_image_type (const SqModelParam *param,
               gboolean            strict)
{
  if (param->type == SQ_PARAM_URI)
    return TRUE;
  if (param->type == SQ_PARAM_ARRAY)
    return param->item_type == SQ_PARAM_URI ||
           (!strict && param->item_type == SQ_PARAM_STRING);
  return !strict && param->type == SQ_PARAM_STRING;
}

static const SqModelParam *
find_prompt (GPtrArray *params)
{
  for (guint i = 0; prompt_names[i] != NULL; i++)
    {
      const SqModelParam *param = find_in (params, prompt_names[i]);

      if (param != NULL && param->type == SQ_PARAM_STRING)
        return param;
    }

  for (guint i = 0; i < params->len; i++)
    {
      const SqModelParam *param = g_ptr_array_index (params, i);

      if (param->type == SQ_PARAM_STRING && param->required &&
          strstr (param->key, "prompt") != NULL)
        return param;
    }

  return NULL;
}

static const SqModelParam *
find_image (GPtrArray *params)
{
  for (guint i = 0; image_names[i] != NULL; i++)
    {
      const SqModelParam *param = find_in (params, image_names[i]);

      if (param != NULL && is_image_type (param, FALSE))
        return param;
    }

  for (guint i = 0; i < params->len; i++)
    {
      const SqModelParam *param = g_ptr_array_index (params, i);

      if (is_image_type (param, TRUE) && strstr (param->key, "image") != NULL)
        return param;
    }

  return NULL;
}

static gboolean
read_streams_text (Resolver   *r,
                   JsonObject *schemas)
{
  g_autoptr(JsonObject) flat = NULL;
  JsonObject *output = get_object (schemas, "Output");
  JsonNode *array_type;

  if (output == NULL)
    return FALSE;

  /* An unusable Output only means "not streaming". */
  flat = flatten (r, output, NULL, NULL);
  if (flat == NULL)
    return FALSE;

  if (g_strcmp0 (get_string (flat, "type"), "array") != 0)
    return FALSE;

  array_type = json_object_get_member (flat, "x-cog-array-type");
  if (array_type == NULL)
    return TRUE;

  return g_strcmp0 (get_string (flat, "x-cog-array-type"), "iterator") == 0;
}

/**
 * sq_model_new_from_schema:
 * @alias: (nullable): the alias, as in "llava-13b"
 * @owner: the model's owner
 * @name: the model's name
 * @version: (nullable): the version id, NULL for an official model
 * @schema: the version's openapi_schema
 * @error: return location for an error
 *
 * Returns: (transfer full): a new #SqModel, or %NULL with @error set
 */
SqModel *
sq_model_new_from_schema (const char  *alias,
                          const char  *owner,
                          const char  *name,
                          const char  *version,
                          JsonObject  *schema,
                          GError     **error)
{
  g_autoptr(SqModel) self = NULL;
  g_autoptr(GHashTable) active = NULL;
  g_autoptr(GHashTable) required = NULL;
  g_autoptr(JsonObject) input = NULL;
  JsonObject *components;
  JsonObject *schemas;
  JsonObject *properties;
  JsonNode *input_node;
  JsonArray *required_list;
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  const SqModelParam *prompt;
  const SqModelParam *image;
  Resolver r;

  g_return_val_if_fail (owner != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (SQ_TYPE_MODEL, NULL);
  self->alias = g_strdup (alias);
  self->owner = g_strdup (owner);
  self->name = g_strdup (name);
  self->version = g_strdup (version);
  if (version != NULL)
    self->ref = g_strdup_printf ("%s/%s:%s", owner, name, version);
  else
    self->ref = g_strdup_printf ("%s/%s", owner, name);
  if (alias != NULL)
    self->display_name = g_strdup (alias);
  else
    self->display_name = g_strdup_printf ("%s/%s", owner, name);
  self->all_params = g_ptr_array_new_with_free_func ((GDestroyNotify)sq_model_param_free);
  self->params = g_ptr_array_new ();

  if (schema == NULL)
    {
      set_bad_schema (error, self->display_name, _("there is no schema"));
      return NULL;
    }
  self->schema = json_object_ref (schema);

  active = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  r.root = schema;
  r.active = active;
  r.budget = MAX_BUDGET;
  r.model_name = self->display_name;

  components = get_object (schema, "components");
  if (components == NULL)
    {
      set_bad_schema (error, self->display_name, _("it has no components"));
      return NULL;
    }

  schemas = get_object (components, "schemas");
  if (schemas == NULL)
    {
      set_bad_schema (error, self->display_name, _("it has no components.schemas"));
      return NULL;
    }

  input_node = json_object_get_member (schemas, "Input");
  if (input_node == NULL || !JSON_NODE_HOLDS_OBJECT (input_node))
    {
      set_bad_schema (error, self->display_name, _("its Input is missing or not an object"));
      return NULL;
    }

  input = flatten (&r, json_node_get_object (input_node), NULL, error);
  if (input == NULL)
    return NULL;

  properties = get_object (input, "properties");
  if (properties == NULL)
    {
      set_bad_schema (error, self->display_name, _("its Input has no properties"));
      return NULL;
    }

  required = g_hash_table_new (g_str_hash, g_str_equal);
  if ((required_list = get_array (input, "required")) != NULL)
    {
      for (guint i = 0; i < json_array_get_length (required_list); i++)
        {
          JsonNode *element = json_array_get_element (required_list, i);

          if (node_is_string (element))
            g_hash_table_add (required, (gpointer)json_node_get_string (element));
        }
    }

  json_object_iter_init (&iter, properties);
  while (json_object_iter_next (&iter, &key, &node))
    {
      SqModelParam *param;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        {
          g_autofree char *reason = g_strdup_printf (_("the input “%s” is not an object"), key);
          set_bad_schema (error, self->display_name, reason);
          return NULL;
        }

      param = param_from_property (&r, key, json_node_get_object (node),
                                   g_hash_table_contains (required, key), error);
      if (param == NULL)
        return NULL;

      g_ptr_array_add (self->all_params, param);
    }

  g_ptr_array_sort (self->all_params, compare_params);

  image = find_image (self->all_params);
  if (image == NULL)
    {
      g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_NO_IMAGE_INPUT,
                   _("%s takes no image input"), self->display_name);
      return NULL;
    }

  prompt = find_prompt (self->all_params);
  if (prompt == NULL || prompt == image)
    {
      g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_NO_PROMPT_INPUT,
                   _("%s takes no text prompt"), self->display_name);
      return NULL;
    }

  self->prompt_key = g_strdup (prompt->key);
  self->image_key = g_strdup (image->key);
  self->image_is_array = image->type == SQ_PARAM_ARRAY;

  for (guint i = 0; i < self->all_params->len; i++)
    {
      SqModelParam *param = g_ptr_array_index (self->all_params, i);

      if (param != prompt && param != image)
        g_ptr_array_add (self->params, param);
    }

  self->streams_text = read_streams_text (&r, schemas);

  return g_steal_pointer (&self);
}

const char *
sq_model_get_alias (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->alias;
}

const char *
sq_model_get_owner (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->owner;
}

const char *
sq_model_get_name (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->name;
}

const char *
sq_model_get_version (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->version;
}

const char *
sq_model_get_display_name (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->display_name;
}

const char *
sq_model_get_ref (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->ref;
}

const char *
sq_model_get_prompt_key (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->prompt_key;
}

const char *
sq_model_get_image_key (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->image_key;
}

gboolean
sq_model_get_image_is_array (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), FALSE);

  return self->image_is_array;
}

gboolean
sq_model_get_streams_text (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), FALSE);

  return self->streams_text;
}

JsonObject *
sq_model_get_schema (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->schema;
}

GPtrArray *
sq_model_get_params (SqModel *self)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);

  return self->params;
}

const SqModelParam *
sq_model_find_param (SqModel    *self,
                     const char *key)
{
  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  return find_in (self->all_params, key);
}

static gboolean
is_generic_setting (const char *key)
{
  return g_strv_contains (generic_settings, key);
}

const char *
sq_model_map_setting (SqModel    *self,
                      const char *setting)
{
  const SqModelParam *param;

  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);
  g_return_val_if_fail (setting != NULL, NULL);

  /* The prompt and the image are not settings. */
  if (g_str_equal (setting, self->prompt_key) || g_str_equal (setting, self->image_key))
    return NULL;

  if ((param = find_in (self->params, setting)) != NULL)
    return param->key;

  if (g_str_equal (setting, SQ_SETTING_MAX_NEW_TOKENS))
    {
      for (guint i = 0; max_token_keys[i] != NULL; i++)
        {
          if ((param = find_in (self->params, max_token_keys[i])) != NULL)
            return param->key;
        }
    }

  return NULL;
}

/* Value parsing and checking. */

static void
set_bad_value (GError            **error,
               SqModel            *self,
               const SqModelParam *param,
               const char         *value,
               const char         *what)
{
  /* @what is a translated fragment like "a whole number" */
  if (param->secret)
    g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER,
                 /* Translators: "temperature must be a number for llava-13b" */
                 _("%s must be %s for %s"),
                 param->key, what, self->display_name);
  else
    g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER,
                 /* Translators: "temperature must be a number for llava-13b, not “hot”" */
                 _("%s must be %s for %s, not “%s”"),
                 param->key, what, self->display_name, value);
}

static gboolean
parse_boolean (const char *value,
               gboolean   *out)
{
  static const char * const yes[] = { "true", "1", "yes", NULL };
  static const char * const no[] = { "false", "0", "no", NULL };
  g_autofree char *lower = g_ascii_strdown (value, -1);

  if (g_strv_contains (yes, lower))
    *out = TRUE;
  else if (g_strv_contains (no, lower))
    *out = FALSE;
  else
    return FALSE;

  return TRUE;
}

static gboolean
parse_integer (const char *value,
               gint64     *out)
{
  return g_ascii_string_to_signed (value, 10, G_MININT64, G_MAXINT64, out, NULL);
}

static gboolean
parse_number (const char *value,
              double     *out)
{
  char *end = NULL;
  double d;

  if (*value == '\0' || g_ascii_isspace (*value))
    return FALSE;

  errno = 0;
  d = g_ascii_strtod (value, &end);
  if (end == value || *end != '\0' || errno == ERANGE || !isfinite (d))
    return FALSE;

  *out = d;
  return TRUE;
}

static gboolean
check_range (SqModel             *self,
             const SqModelParam  *param,
             const char          *value,
             double               number,
             GError             **error)
{
  g_autofree char *min = NULL;
  g_autofree char *max = NULL;
  gboolean low = param->has_minimum && number < param->minimum;
  gboolean high = param->has_maximum && number > param->maximum;

  if (!low && !high)
    return TRUE;

  if (param->has_minimum)
    min = format_number (param->minimum);
  if (param->has_maximum)
    max = format_number (param->maximum);

  if (param->secret)
    value = "…";

  if (min != NULL && max != NULL)
    g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER,
                 /* Translators: "temperature must be between 0.01 and 2 for minigpt-4, not 5" */
                 _("%s must be between %s and %s for %s, not %s"),
                 param->key, min, max, self->display_name, value);
  else if (min != NULL)
    g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER,
                 _("%s must be at least %s for %s, not %s"),
                 param->key, min, self->display_name, value);
  else
    g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER,
                 _("%s must be at most %s for %s, not %s"),
                 param->key, max, self->display_name, value);

  return FALSE;
}

/* One scalar of @type from @value; for arrays this parses one item. */
static JsonNode *
parse_scalar (SqModel             *self,
              const SqModelParam  *param,
              SqParamType          type,
              const char          *value,
              GError             **error)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  gint64 i;
  double d;
  gboolean b;

  switch (type)
    {
    case SQ_PARAM_INTEGER:
      if (!parse_integer (value, &i))
        {
          set_bad_value (error, self, param, value, _("a whole number"));
          return NULL;
        }
      if (!check_range (self, param, value, (double)i, error))
        return NULL;
      json_node_set_int (node, i);
      break;

    case SQ_PARAM_NUMBER:
      if (!parse_number (value, &d))
        {
          set_bad_value (error, self, param, value, _("a number"));
          return NULL;
        }
      if (!check_range (self, param, value, d, error))
        return NULL;
      json_node_set_double (node, d);
      break;

    case SQ_PARAM_BOOLEAN:
      if (!parse_boolean (value, &b))
        {
          set_bad_value (error, self, param, value, _("true or false"));
          return NULL;
        }
      json_node_set_boolean (node, b);
      break;

    case SQ_PARAM_ENUM:
      if (param->choices == NULL || !g_strv_contains ((const char * const *)param->choices, value))
        {
          g_autofree char *list = NULL;
          g_autofree char *what = NULL;

          list = param->choices ? g_strjoinv (", ", param->choices) : g_strdup ("");
          /* Translators: the list of choices, as in "one of low, high" */
          what = g_strdup_printf (_("one of %s"), list);
          set_bad_value (error, self, param, value, what);
          return NULL;
        }
      if (param->item_type == SQ_PARAM_INTEGER && parse_integer (value, &i))
        json_node_set_int (node, i);
      else if (param->item_type == SQ_PARAM_NUMBER && parse_number (value, &d))
        json_node_set_double (node, d);
      else
        json_node_set_string (node, value);
      break;

    case SQ_PARAM_STRING:
    case SQ_PARAM_URI:
    case SQ_PARAM_ARRAY:
    default:
      json_node_set_string (node, value);
      break;
    }

  return g_steal_pointer (&node);
}

static gboolean
json_matches_type (JsonNode    *node,
                   SqParamType  type)
{
  GType value_type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return FALSE;

  value_type = json_node_get_value_type (node);
  switch (type)
    {
    case SQ_PARAM_INTEGER:
      return value_type == G_TYPE_INT64;
    case SQ_PARAM_NUMBER:
      return value_type == G_TYPE_INT64 || value_type == G_TYPE_DOUBLE;
    case SQ_PARAM_BOOLEAN:
      return value_type == G_TYPE_BOOLEAN;
    case SQ_PARAM_ENUM:
    case SQ_PARAM_STRING:
    case SQ_PARAM_URI:
    case SQ_PARAM_ARRAY:
    default:
      return value_type == G_TYPE_STRING;
    }
}

static JsonNode *
parse_value (SqModel             *self,
             const SqModelParam  *param,
             const char          *value,
             GError             **error)
{
  g_autoptr(JsonArray) array = NULL;
  JsonNode *item;

  if (param->type != SQ_PARAM_ARRAY)
    return parse_scalar (self, param, param->type, value, error);

  /* An array: JSON ("[1, 2]") or a single item. */
  if (value[0] == '[')
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonNode *root;

      if (sq_json_parser_load (parser, value, -1, NULL) &&
          (root = json_parser_get_root (parser)) != NULL &&
          JSON_NODE_HOLDS_ARRAY (root))
        {
          JsonArray *parsed = json_node_get_array (root);

          for (guint i = 0; i < json_array_get_length (parsed); i++)
            {
              if (!json_matches_type (json_array_get_element (parsed, i), param->item_type))
                {
                  set_bad_value (error, self, param, value, _("a list of values of the right type"));
                  return NULL;
                }
            }

          return json_node_copy (root);
        }

      set_bad_value (error, self, param, value, _("a list"));
      return NULL;
    }

  item = parse_scalar (self, param, param->item_type, value, error);
  if (item == NULL)
    return NULL;

  array = json_array_new ();
  json_array_add_element (array, item);

  return json_node_init_array (json_node_alloc (), array);
}

static int
compare_keys (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  return strcmp (*(const char * const *)a, *(const char * const *)b);
}

static char *
list_params (SqModel *self)
{
  g_autoptr(GString) list = g_string_new (NULL);

  for (guint i = 0; i < self->params->len; i++)
    {
      const SqModelParam *param = g_ptr_array_index (self->params, i);

      if (list->len > 0)
        g_string_append (list, ", ");
      g_string_append (list, param->key);
    }

  return g_string_free (g_steal_pointer (&list), FALSE);
}

/* Checks @key=@value. Returns the model key (NULL with no error when a
 * generic setting does not apply), and the JSON value in @out. */
static const char *
check_one (SqModel     *self,
           const char  *key,
           const char  *value,
           JsonNode   **out,
           GError     **error)
{
  const char *mapped;
  const SqModelParam *param;

  if (g_str_equal (key, self->prompt_key) || g_str_equal (key, self->image_key))
    {
      g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER,
                   _("“%s” holds the prompt or the image of %s; it cannot be set as a parameter"),
                   key, self->display_name);
      return NULL;
    }

  mapped = sq_model_map_setting (self, key);
  if (mapped == NULL)
    {
      g_autofree char *list = NULL;

      if (is_generic_setting (key))
        return NULL;

      list = list_params (self);
      if (*list == '\0')
        g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER,
                     _("%s has no parameter “%s”. It takes only a prompt and an image"),
                     self->display_name, key);
      else
        g_set_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER,
                     _("%s has no parameter “%s”. It takes: %s"),
                     self->display_name, key, list);
      return NULL;
    }

  if (value == NULL)
    value = "";

  param = find_in (self->params, mapped);
  g_assert (param != NULL);

  *out = parse_value (self, param, value, error);
  if (*out == NULL)
    return NULL;

  return mapped;
}

gboolean
sq_model_check_setting (SqModel     *self,
                        const char  *key,
                        const char  *value,
                        GError     **error)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (SQ_IS_MODEL (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (check_one (self, key, value, &node, &local_error) == NULL && local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  return TRUE;
}

/**
 * sq_model_build_input:
 * @self: a #SqModel
 * @prompt: the prompt
 * @image_uri: (nullable): the image as a URL or data URI; NULL leaves it out
 * @settings: (nullable) (element-type utf8 utf8): settings to apply
 * @error: return location for an error
 *
 * Returns: (transfer full): the prediction input, or %NULL with @error set
 */
JsonObject *
sq_model_build_input (SqModel     *self,
                      const char  *prompt,
                      const char  *image_uri,
                      GHashTable  *settings,
                      GError     **error)
{
  g_autoptr(JsonObject) input = NULL;
  g_autoptr(GHashTable) explicit_keys = NULL;
  g_autofree const char **keys = NULL;
  guint n_keys = 0;

  g_return_val_if_fail (SQ_IS_MODEL (self), NULL);
  g_return_val_if_fail (prompt != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  input = json_object_new ();
  json_object_set_string_member (input, self->prompt_key, prompt);

  if (image_uri != NULL)
    {
      if (self->image_is_array)
        {
          JsonArray *images = json_array_new ();

          json_array_add_string_element (images, image_uri);
          json_object_set_array_member (input, self->image_key, images);
        }
      else
        json_object_set_string_member (input, self->image_key, image_uri);
    }

  if (settings == NULL)
    return g_steal_pointer (&input);

  /* Sorted, so that the first error is always the same one. */
  keys = (const char **)g_hash_table_get_keys_as_array (settings, &n_keys);
  g_qsort_with_data (keys, n_keys, sizeof (char *), compare_keys, NULL);
  explicit_keys = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < n_keys; i++)
    {
      const char *key = keys[i];
      const char *value = g_hash_table_lookup (settings, key);
      g_autoptr(GError) local_error = NULL;
      JsonNode *node = NULL;
      const char *mapped;

      mapped = check_one (self, key, value, &node, &local_error);
      if (mapped == NULL)
        {
          if (local_error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local_error));
              return NULL;
            }
          continue;
        }

      /* The model's own key wins over a generic one mapped onto it. */
      if (!g_str_equal (key, mapped) && g_hash_table_contains (explicit_keys, mapped))
        {
          json_node_unref (node);
          continue;
        }
      if (g_str_equal (key, mapped))
        g_hash_table_add (explicit_keys, (gpointer)mapped);

      json_object_set_member (input, mapped, node);
    }

  return g_steal_pointer (&input);
}
