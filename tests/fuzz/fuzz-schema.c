/* fuzz-schema.c
 *
 * libFuzzer harness for SqModel's openapi_schema reader. The input is a
 * JSON document, read both as a whole openapi_schema and as the Input
 * schema alone. Whatever it holds, reading it must either fail with a
 * SQ_MODEL_ERROR or give a model whose keys, params and settings hold
 * together, and building inputs from it must never crash.
 *
 * Built with -fsanitize=fuzzer,address when meson's "fuzzing" option is
 * on; fuzz-driver.c also runs it over the seed corpus in every build.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "sq-error.h"
#include "sq-json.h"
#include "sq-model.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

#define CHECK(cond) G_STMT_START { if (!(cond)) { g_printerr ("fuzz-schema: check failed: %s\n", #cond); abort (); } } G_STMT_END

/* Limits that keep json-glib's own recursive parser and copier out of
 * the way: they are not what is being fuzzed. */
#define MAX_SIZE    (64 * 1024)
#define MAX_NESTING 200

static const char * const values[] = {
  "0", "1", "-1", "0.5", "1e308", "-0", "2048", "abc", "", "true", "no",
  "[1, 2]", "[\"a\"]", "[", "nan", "99999999999999999999", NULL
};

static gboolean
nesting_ok (const uint8_t *data,
            size_t         size)
{
  int depth = 0;

  for (size_t i = 0; i < size; i++)
    {
      if (data[i] == '[' || data[i] == '{')
        depth++;
      else if (data[i] == ']' || data[i] == '}')
        depth--;
      if (depth > MAX_NESTING)
        return FALSE;
    }

  return TRUE;
}

static void
check_message (const GError *error,
               gboolean      utf8)
{
  CHECK (error != NULL);
  CHECK (error->message != NULL);
  CHECK (error->message[0] != '\0');
  CHECK (!utf8 || g_utf8_validate (error->message, -1, NULL));
}

static void
check_input (SqModel    *model,
             JsonObject *input)
{
  JsonObjectIter iter;
  const char *key;
  JsonNode *node;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;

  CHECK (json_object_has_member (input, sq_model_get_prompt_key (model)));

  json_object_iter_init (&iter, input);
  while (json_object_iter_next (&iter, &key, &node))
    {
      CHECK (sq_model_find_param (model, key) != NULL);
      CHECK (node != NULL);
    }

  root = json_node_init_object (json_node_alloc (), input);
  json = json_to_string (root, FALSE);
  CHECK (json != NULL);
}

static void
exercise (SqModel  *model,
          gboolean  utf8)
{
  static const char * const generic[] = {
    SQ_SETTING_MAX_NEW_TOKENS, SQ_SETTING_TEMPERATURE, SQ_SETTING_TOP_P,
    SQ_SETTING_NUM_BEAMS, SQ_SETTING_REPETITION_PENALTY, NULL
  };
  GPtrArray *params = sq_model_get_params (model);
  const char *prompt_key = sq_model_get_prompt_key (model);
  const char *image_key = sq_model_get_image_key (model);
  g_autoptr(GHashTable) settings = NULL;
  const SqModelParam *prompt;
  const SqModelParam *image;

  CHECK (prompt_key != NULL);
  CHECK (image_key != NULL);
  CHECK (strcmp (prompt_key, image_key) != 0);
  CHECK (sq_model_get_ref (model) != NULL);
  CHECK (sq_model_get_display_name (model) != NULL);
  CHECK (sq_model_get_schema (model) != NULL);

  prompt = sq_model_find_param (model, prompt_key);
  image = sq_model_find_param (model, image_key);
  CHECK (prompt != NULL && prompt->type == SQ_PARAM_STRING);
  CHECK (image != NULL);
  CHECK (sq_model_get_image_is_array (model) == (image->type == SQ_PARAM_ARRAY));

  for (guint i = 0; i < params->len; i++)
    {
      const SqModelParam *p = g_ptr_array_index (params, i);
      g_autoptr(SqModelParam) copy = sq_model_param_copy (p);

      CHECK (p->key != NULL);
      CHECK (p != prompt && p != image);
      CHECK (sq_model_find_param (model, p->key) != NULL);
      CHECK (g_strcmp0 (sq_model_map_setting (model, p->key), p->key) == 0);
      CHECK (p->type != SQ_PARAM_ENUM || (p->choices != NULL && p->choices[0] != NULL));
      CHECK (p->type == SQ_PARAM_ENUM || p->choices == NULL);
      CHECK (g_strcmp0 (copy->key, p->key) == 0);
      if (i > 0)
        {
          const SqModelParam *prev = g_ptr_array_index (params, i - 1);

          CHECK (prev->order < p->order ||
                 (prev->order == p->order && strcmp (prev->key, p->key) < 0));
        }

      for (guint j = 0; values[j] != NULL; j++)
        {
          g_autoptr(GError) error = NULL;

          if (!sq_model_check_setting (model, p->key, values[j], &error))
            {
              CHECK (g_error_matches (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER));
              check_message (error, utf8);
              /* A secret's value never shows (unless the schema itself
               * spells it out somewhere the message names). */
              CHECK (!p->secret || strlen (values[j]) < 8 || p->choices != NULL ||
                     strstr (p->key, values[j]) != NULL ||
                     strstr (error->message, values[j]) == NULL);
            }
          else
            CHECK (error == NULL);
        }

      if (p->choices != NULL)
        {
          g_autoptr(GError) error = NULL;

          CHECK (sq_model_check_setting (model, p->key, p->choices[0], &error));
        }
    }

  for (guint i = 0; generic[i] != NULL; i++)
    {
      const char *mapped = sq_model_map_setting (model, generic[i]);

      CHECK (mapped == NULL || sq_model_find_param (model, mapped) != NULL);
    }

  /* Every param and generic setting at once, with a few values. */
  for (guint j = 0; j < 4; j++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) input = NULL;

      settings = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint i = 0; i < params->len; i++)
        {
          const SqModelParam *p = g_ptr_array_index (params, i);

          g_hash_table_insert (settings, p->key,
                               (gpointer)(p->choices ? p->choices[0] : values[j]));
        }
      for (guint i = 0; generic[i] != NULL; i++)
        g_hash_table_insert (settings, (gpointer)generic[i], (gpointer)values[j]);

      input = sq_model_build_input (model, "What is this?", "https://example.com/a.png", settings, &error);
      if (input != NULL)
        check_input (model, input);
      else
        {
          CHECK (g_error_matches (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER));
          check_message (error, utf8);
        }

      g_clear_pointer (&settings, g_hash_table_unref);
    }

  {
    g_autoptr(JsonObject) input = sq_model_build_input (model, "", NULL, NULL, NULL);

    CHECK (input != NULL);
    CHECK (json_object_get_size (input) == 1);
  }
}

static void
read_schema (JsonObject *schema,
             gboolean    utf8)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;

  model = sq_model_new_from_schema (NULL, "fuzz", "model", "1", schema, &error);
  if (model == NULL)
    {
      CHECK (error != NULL);
      CHECK (error->domain == SQ_MODEL_ERROR);
      CHECK (error->code == SQ_MODEL_ERROR_BAD_SCHEMA ||
             error->code == SQ_MODEL_ERROR_NO_IMAGE_INPUT ||
             error->code == SQ_MODEL_ERROR_NO_PROMPT_INPUT);
      check_message (error, utf8);
      return;
    }

  CHECK (error == NULL);
  exercise (model, utf8);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;
  gboolean utf8;

  if (size > MAX_SIZE || !nesting_ok (data, size))
    return 0;

  utf8 = g_utf8_validate ((const char *)data, size, NULL);

  parser = json_parser_new ();
  /* As Squint reads JSON from outside (json-glib 1.6 leaks extra roots) */
  if (!sq_json_parser_load (parser, (const char *)data, size, NULL))
    return 0;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return 0;

  /* As a whole openapi_schema... */
  read_schema (json_node_get_object (root), utf8);

  /* ...and as the Input alone, so that every seed reaches the params. */
  {
    g_autoptr(JsonObject) schema = json_object_new ();
    JsonObject *components = json_object_new ();
    JsonObject *schemas = json_object_new ();

    json_object_set_member (schemas, "Input", json_node_copy (root));
    json_object_set_object_member (components, "schemas", schemas);
    json_object_set_object_member (schema, "components", components);
    read_schema (schema, utf8);
  }

  return 0;
}
