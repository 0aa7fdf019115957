/* sq-cli-models.c
 *
 * squint models [--json]: the known models, their references, prompt and
 * image keys and parameters. Offline: built-in schemas and the schema
 * cache only, never the network.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-cli-models"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "sq-config.h"
#include "sq-model.h"
#include "sq-model-catalog.h"

#include "sq-cli-private.h"

typedef struct
{
  char    *ref;    /* as configured, for models that could not be resolved */
  SqModel *model;  /* nullable */
  GError  *error;  /* why model is NULL */
} ModelEntry;

static void
model_entry_free (ModelEntry *entry)
{
  g_clear_pointer (&entry->ref, g_free);
  g_clear_object (&entry->model);
  g_clear_error (&entry->error);
  g_free (entry);
}

static const char *
param_type_to_string (SqParamType type)
{
  switch (type)
    {
    case SQ_PARAM_STRING:
      return "string";
    case SQ_PARAM_INTEGER:
      return "integer";
    case SQ_PARAM_NUMBER:
      return "number";
    case SQ_PARAM_BOOLEAN:
      return "boolean";
    case SQ_PARAM_ENUM:
      return "enum";
    case SQ_PARAM_URI:
      return "uri";
    case SQ_PARAM_ARRAY:
      return "array";
    default:
      return "unknown";
    }
}

static char *
format_default (const SqModelParam *param)
{
  if (param->default_value == NULL || JSON_NODE_HOLDS_NULL (param->default_value))
    return g_strdup ("");

  if (JSON_NODE_HOLDS_VALUE (param->default_value) &&
      json_node_get_value_type (param->default_value) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (param->default_value));

  if (JSON_NODE_HOLDS_VALUE (param->default_value) &&
      (json_node_get_value_type (param->default_value) == G_TYPE_DOUBLE ||
       json_node_get_value_type (param->default_value) == G_TYPE_FLOAT))
    return _sq_cli_format_double (json_node_get_double (param->default_value));

  return json_to_string (param->default_value, FALSE);
}

static char *
format_range (const SqModelParam *param)
{
  g_autofree char *min = NULL;
  g_autofree char *max = NULL;

  if (param->choices != NULL)
    return g_strjoinv (", ", param->choices);

  if (param->has_minimum)
    min = _sq_cli_format_double (param->minimum);
  if (param->has_maximum)
    max = _sq_cli_format_double (param->maximum);

  if (min != NULL && max != NULL)
    return g_strdup_printf ("%s – %s", min, max);
  else if (min != NULL)
    return g_strdup_printf ("≥ %s", min);
  else if (max != NULL)
    return g_strdup_printf ("≤ %s", max);

  return g_strdup ("");
}

/* Pads to @width characters (not bytes). */
static void
print_cell (GString    *out,
            const char *text,
            guint       width)
{
  glong len = g_utf8_strlen (text, -1);

  g_string_append (out, text);
  for (glong i = len; i < (glong) width; i++)
    g_string_append_c (out, ' ');
}

static void
print_model_table (GString *out,
                   SqModel *model)
{
  GPtrArray *params = sq_model_get_params (model);
  const char *headings[4] = { _("PARAMETER"), _("TYPE"), _("DEFAULT"), _("RANGE") };
  guint widths[4];
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  for (guint c = 0; c < 4; c++)
    widths[c] = g_utf8_strlen (headings[c], -1);

  for (guint i = 0; params != NULL && i < params->len; i++)
    {
      const SqModelParam *param = g_ptr_array_index (params, i);
      char **row = g_new0 (char *, 5);

      row[0] = g_strdup (param->key);
      if (param->type == SQ_PARAM_ARRAY)
        row[1] = g_strdup_printf ("array of %s", param_type_to_string (param->item_type));
      else
        row[1] = g_strdup (param_type_to_string (param->type));
      row[2] = format_default (param);
      row[3] = format_range (param);

      for (guint c = 0; c < 4; c++)
        widths[c] = MAX (widths[c], (guint) g_utf8_strlen (row[c], -1));

      g_ptr_array_add (rows, row);
    }

  g_string_append_printf (out, "%s\n", sq_model_get_display_name (model));
  g_string_append_printf (out, "  %s %s\n", _("Reference:"), sq_model_get_ref (model));
  g_string_append_printf (out, "  %s %s\n", _("Prompt key:"), sq_model_get_prompt_key (model));
  g_string_append_printf (out, "  %s %s%s\n", _("Image key:"), sq_model_get_image_key (model),
                          sq_model_get_image_is_array (model) ? _(" (a list of images)") : "");
  g_string_append_printf (out, "  %s %s\n", _("Output:"),
                          sq_model_get_streams_text (model) ? _("streamed text") : _("text when done"));

  if (rows->len == 0)
    {
      g_string_append_printf (out, "  %s\n", _("No other parameters."));
      return;
    }

  g_string_append (out, "  ");
  for (guint c = 0; c < 4; c++)
    {
      print_cell (out, headings[c], c < 3 ? widths[c] + 2 : 0);
    }
  g_string_append_c (out, '\n');

  for (guint i = 0; i < rows->len; i++)
    {
      char **row = g_ptr_array_index (rows, i);

      g_string_append (out, "  ");
      for (guint c = 0; c < 4; c++)
        print_cell (out, row[c], c < 3 ? widths[c] + 2 : 0);
      /* No trailing blanks when the last cells are empty. */
      while (out->len > 0 && out->str[out->len - 1] == ' ')
        g_string_truncate (out, out->len - 1);
      g_string_append_c (out, '\n');
    }
}

static void
add_double_or_null (JsonBuilder *builder,
                    const char  *member,
                    gboolean     has_value,
                    double       value)
{
  json_builder_set_member_name (builder, member);
  if (has_value)
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
build_model_json (JsonBuilder *builder,
                  ModelEntry  *entry)
{
  SqModel *model = entry->model;
  GPtrArray *params;

  json_builder_begin_object (builder);

  if (model == NULL)
    {
      _sq_cli_json_add_string_or_null (builder, "alias", NULL);
      _sq_cli_json_add_string_or_null (builder, "ref", entry->ref);
      _sq_cli_json_add_string_or_null (builder, "error", entry->error->message);
      json_builder_end_object (builder);
      return;
    }

  _sq_cli_json_add_string_or_null (builder, "alias", sq_model_get_alias (model));
  _sq_cli_json_add_string_or_null (builder, "name", sq_model_get_display_name (model));
  _sq_cli_json_add_string_or_null (builder, "ref", sq_model_get_ref (model));
  _sq_cli_json_add_string_or_null (builder, "owner", sq_model_get_owner (model));
  _sq_cli_json_add_string_or_null (builder, "model", sq_model_get_name (model));
  _sq_cli_json_add_string_or_null (builder, "version", sq_model_get_version (model));
  _sq_cli_json_add_string_or_null (builder, "prompt_key", sq_model_get_prompt_key (model));
  _sq_cli_json_add_string_or_null (builder, "image_key", sq_model_get_image_key (model));
  json_builder_set_member_name (builder, "image_is_array");
  json_builder_add_boolean_value (builder, sq_model_get_image_is_array (model));
  json_builder_set_member_name (builder, "streams_text");
  json_builder_add_boolean_value (builder, sq_model_get_streams_text (model));

  json_builder_set_member_name (builder, "parameters");
  json_builder_begin_array (builder);
  params = sq_model_get_params (model);
  for (guint i = 0; params != NULL && i < params->len; i++)
    {
      const SqModelParam *param = g_ptr_array_index (params, i);

      json_builder_begin_object (builder);
      _sq_cli_json_add_string_or_null (builder, "key", param->key);
      _sq_cli_json_add_string_or_null (builder, "type", param_type_to_string (param->type));
      if (param->type == SQ_PARAM_ARRAY)
        _sq_cli_json_add_string_or_null (builder, "item_type", param_type_to_string (param->item_type));
      _sq_cli_json_add_string_or_null (builder, "title", param->title);
      _sq_cli_json_add_string_or_null (builder, "description", param->description);
      json_builder_set_member_name (builder, "default");
      if (param->default_value != NULL)
        json_builder_add_value (builder, json_node_copy (param->default_value));
      else
        json_builder_add_null_value (builder);
      add_double_or_null (builder, "minimum", param->has_minimum, param->minimum);
      add_double_or_null (builder, "maximum", param->has_maximum, param->maximum);
      json_builder_set_member_name (builder, "choices");
      if (param->choices != NULL)
        {
          json_builder_begin_array (builder);
          for (guint c = 0; param->choices[c] != NULL; c++)
            json_builder_add_string_value (builder, param->choices[c]);
          json_builder_end_array (builder);
        }
      else
        {
          json_builder_add_null_value (builder);
        }
      json_builder_set_member_name (builder, "required");
      json_builder_add_boolean_value (builder, param->required);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);

  json_builder_end_object (builder);
}

typedef struct
{
  GMainLoop  *loop;
  guint       pending;
} ResolveWait;

typedef struct
{
  ResolveWait *wait;
  ModelEntry  *entry;
} ResolveData;

static void
resolve_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  ResolveData *data = user_data;
  ModelEntry *entry = data->entry;

  entry->model = sq_model_catalog_resolve_finish (SQ_MODEL_CATALOG (object), result, &entry->error);
  if (entry->model == NULL && entry->error == NULL)
    g_set_error_literal (&entry->error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The model is not known"));

  if (--data->wait->pending == 0)
    g_main_loop_quit (data->wait->loop);

  g_free (data);
}

/* The models in the "custom-models" setting, resolved from the schema
 * cache (no client, so never the network). */
static void
add_custom_models (SqModelCatalog *catalog,
                   GPtrArray      *entries)
{
  g_autoptr(GSettings) settings = sq_config_new_settings ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree const char **refs = NULL;
  ResolveWait wait = { 0 };

  if (settings == NULL)
    return;

  g_object_get (settings, "settings-schema", &schema, NULL);
  if (schema == NULL || !g_settings_schema_has_key (schema, "custom-models"))
    return;

  value = g_settings_get_value (settings, "custom-models");
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    return;

  refs = g_variant_get_strv (value, NULL);
  if (refs == NULL || refs[0] == NULL)
    return;

  loop = g_main_loop_new (NULL, FALSE);
  wait.loop = loop;

  for (guint i = 0; refs[i] != NULL; i++)
    {
      ModelEntry *entry;
      ResolveData *data;
      gboolean seen = FALSE;

      if (refs[i][0] == '\0')
        continue;

      /* Built-in ones are listed already. */
      for (guint j = 0; j < entries->len && !seen; j++)
        {
          ModelEntry *other = g_ptr_array_index (entries, j);

          seen = other->model != NULL &&
                 (g_strcmp0 (sq_model_get_ref (other->model), refs[i]) == 0 ||
                  g_strcmp0 (sq_model_get_alias (other->model), refs[i]) == 0);
        }
      if (seen)
        continue;

      entry = g_new0 (ModelEntry, 1);
      entry->ref = g_strdup (refs[i]);
      g_ptr_array_add (entries, entry);

      data = g_new0 (ResolveData, 1);
      data->wait = &wait;
      data->entry = entry;
      wait.pending++;
      sq_model_catalog_resolve_async (catalog, refs[i], NULL, resolve_cb, data);
    }

  if (wait.pending > 0)
    g_main_loop_run (loop);
}

static GOptionContext *
models_context_new (gboolean *json)
{
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, json,
      N_("Print a JSON array instead of a table"), NULL },
    { NULL }
  };
  GOptionContext *context = g_option_context_new (NULL);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _("Lists the built-in models (and the custom ones from the settings) with\n"
                                  "their Replicate reference, prompt and image keys, and parameters.\n"
                                  "Needs no network."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  return context;
}

GOptionContext *
_sq_cli_models_new_context (void)
{
  static gboolean unused;

  return models_context_new (&unused);
}

int
_sq_cli_models_run (int    argc,
                    char **argv)
{
  gboolean json = FALSE;
  g_autoptr(GOptionContext) context = models_context_new (&json);
  g_autoptr(SqModelCatalog) catalog = NULL;
  g_autoptr(GPtrArray) builtin = NULL;
  g_autoptr(GPtrArray) models = g_ptr_array_new_with_free_func ((GDestroyNotify) model_entry_free);

  if (!_sq_cli_parse_options (context, "models", &argc, &argv))
    return SQ_EXIT_USAGE;

  if (argc > 1)
    {
      _sq_cli_printerr ("models", _("Unexpected argument “%s”."), argv[1]);
      return SQ_EXIT_USAGE;
    }

  catalog = sq_model_catalog_new (NULL, NULL);
  builtin = sq_model_catalog_list_builtin (catalog);
  for (guint i = 0; builtin != NULL && i < builtin->len; i++)
    {
      ModelEntry *entry = g_new0 (ModelEntry, 1);

      entry->model = g_object_ref (g_ptr_array_index (builtin, i));
      entry->ref = g_strdup (sq_model_get_ref (entry->model));
      g_ptr_array_add (models, entry);
    }

  add_custom_models (catalog, models);

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_array (builder);
      for (guint i = 0; i < models->len; i++)
        build_model_json (builder, g_ptr_array_index (models, i));
      json_builder_end_array (builder);

      root = json_builder_get_root (builder);
      json_generator_set_root (generator, root);
      json_generator_set_pretty (generator, TRUE);
      text = json_generator_to_data (generator, NULL);
      fputs (text, stdout);
      fputc ('\n', stdout);
    }
  else
    {
      g_autoptr(GString) out = g_string_new (NULL);

      for (guint i = 0; i < models->len; i++)
        {
          ModelEntry *entry = g_ptr_array_index (models, i);

          if (i > 0)
            g_string_append_c (out, '\n');

          if (entry->model != NULL)
            {
              print_model_table (out, entry->model);
            }
          else
            {
              g_string_append_printf (out, "%s\n", entry->ref);
              g_string_append_printf (out, "  %s %s\n", _("Not available offline:"), entry->error->message);
            }
        }

      fputs (out->str, stdout);
    }

  return fflush (stdout) == 0 ? SQ_EXIT_OK : SQ_EXIT_SOME_FAILED;
}
