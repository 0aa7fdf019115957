/* test-model.c
 *
 * SqModel: reading openapi_schema documents, settings, inputs.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <json-glib/json-glib.h>

#include "sq-error.h"
#include "sq-model.h"
#include "sq-model-catalog.h"

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));

  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* A schema whose Input has @properties (a JSON object body), and
 * optionally extra components and an Output. */
static SqModel *
model_from_input (const char  *properties,
                  const char  *required,
                  const char  *extra_schemas,
                  GError     **error)
{
  g_autofree char *json = NULL;
  g_autoptr(JsonObject) schema = NULL;

  json = g_strdup_printf ("{\"openapi\":\"3.0.2\",\"components\":{\"schemas\":{"
                          "\"Input\":{\"type\":\"object\",\"title\":\"Input\","
                          "\"required\":[%s],\"properties\":{%s}}%s%s}}}",
                          required ? required : "",
                          properties,
                          extra_schemas ? "," : "",
                          extra_schemas ? extra_schemas : "");
  schema = parse_object (json);

  return sq_model_new_from_schema (NULL, "acme", "test", "1234", schema, error);
}

static SqModel *
builtin (const char *alias)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) schema = NULL;
  g_autofree char *path = NULL;
  const SqModelAlias *a = sq_model_alias_lookup (alias);
  SqModel *model;

  g_assert_nonnull (a);
  path = g_strdup_printf ("/io/github/squintapp/Squint/core/schemas/%s.json", alias);
  bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  g_assert_no_error (error);
  schema = parse_object (g_bytes_get_data (bytes, NULL));

  model = sq_model_new_from_schema (a->alias, a->owner, a->name, a->version, schema, &error);
  g_assert_no_error (error);
  g_assert_nonnull (model);

  return model;
}

static char *
param_keys (SqModel *model)
{
  GPtrArray *params = sq_model_get_params (model);
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < params->len; i++)
    {
      const SqModelParam *p = g_ptr_array_index (params, i);

      g_string_append_printf (s, "%s%s", i ? "," : "", p->key);
    }

  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
object_keys (JsonObject *object)
{
  g_autoptr(GList) members = json_object_get_members (object);
  g_autoptr(GString) s = g_string_new (NULL);

  members = g_list_sort (members, (GCompareFunc)g_strcmp0);
  for (GList *l = members; l != NULL; l = l->next)
    g_string_append_printf (s, "%s%s", l == members ? "" : ",", (const char *)l->data);

  return g_string_free (g_steal_pointer (&s), FALSE);
}

static GHashTable *
settings_new (const char *first_key,
              ...)
{
  GHashTable *settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *key = first_key;
  va_list args;

  va_start (args, first_key);
  while (key != NULL)
    {
      const char *value = va_arg (args, const char *);

      g_hash_table_insert (settings, g_strdup (key), g_strdup (value));
      key = va_arg (args, const char *);
    }
  va_end (args);

  return settings;
}

static void
test_builtin_llava (void)
{
  g_autoptr(SqModel) model = builtin ("llava-13b");
  g_autofree char *keys = param_keys (model);
  const SqModelParam *p;

  g_assert_cmpstr (sq_model_get_display_name (model), ==, "llava-13b");
  g_assert_cmpstr (sq_model_get_ref (model), ==,
                   "yorickvp/llava-13b:e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358");
  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "prompt");
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "image");
  g_assert_false (sq_model_get_image_is_array (model));
  g_assert_true (sq_model_get_streams_text (model));
  g_assert_cmpstr (keys, ==, "top_p,temperature,max_tokens");

  p = sq_model_find_param (model, "image");
  g_assert_nonnull (p);
  g_assert_cmpint (p->type, ==, SQ_PARAM_URI);
  g_assert_true (p->required);

  p = sq_model_find_param (model, "top_p");
  g_assert_cmpint (p->type, ==, SQ_PARAM_NUMBER);
  g_assert_true (p->has_minimum && p->has_maximum);
  g_assert_cmpfloat (p->minimum, ==, 0.0);
  g_assert_cmpfloat (p->maximum, ==, 1.0);
  g_assert_cmpfloat (json_node_get_double (p->default_value), ==, 1.0);
  g_assert_false (p->required);

  p = sq_model_find_param (model, "temperature");
  g_assert_cmpint (p->type, ==, SQ_PARAM_NUMBER);
  g_assert_true (p->has_minimum);
  g_assert_false (p->has_maximum);
  g_assert_cmpfloat (json_node_get_double (p->default_value), ==, 0.2);

  p = sq_model_find_param (model, "max_tokens");
  g_assert_cmpint (p->type, ==, SQ_PARAM_INTEGER);
  g_assert_cmpint (json_node_get_int (p->default_value), ==, 1024);
  g_assert_cmpfloat (p->minimum, ==, 0.0);
  g_assert_false (p->has_maximum);
}

static void
test_builtin_fuyu (void)
{
  g_autoptr(SqModel) model = builtin ("fuyu-8b");
  g_autofree char *keys = param_keys (model);
  const SqModelParam *p;

  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "prompt");
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "image");
  g_assert_false (sq_model_get_streams_text (model));
  g_assert_cmpstr (keys, ==, "max_new_tokens");

  p = sq_model_find_param (model, "max_new_tokens");
  g_assert_cmpint (p->type, ==, SQ_PARAM_INTEGER);
  g_assert_cmpint (json_node_get_int (p->default_value), ==, 512);
  g_assert_cmpfloat (p->minimum, ==, 0);
  g_assert_cmpfloat (p->maximum, ==, 2048);
}

static void
test_builtin_minigpt4 (void)
{
  g_autoptr(SqModel) model = builtin ("minigpt-4");
  g_autofree char *keys = param_keys (model);
  const SqModelParam *p;

  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "prompt");
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "image");
  g_assert_false (sq_model_get_streams_text (model));
  g_assert_cmpstr (keys, ==,
                   "num_beams,temperature,top_p,repetition_penalty,max_new_tokens,max_length");

  p = sq_model_find_param (model, "num_beams");
  g_assert_cmpint (p->type, ==, SQ_PARAM_INTEGER);
  g_assert_cmpint (json_node_get_int (p->default_value), ==, 3);
  g_assert_cmpfloat (p->minimum, ==, 1);
  g_assert_cmpfloat (p->maximum, ==, 10);

  p = sq_model_find_param (model, "temperature");
  g_assert_cmpfloat (p->minimum, ==, 0.01);
  g_assert_cmpfloat (p->maximum, ==, 2);

  p = sq_model_find_param (model, "repetition_penalty");
  g_assert_cmpfloat (p->minimum, ==, 0.01);
  g_assert_cmpfloat (p->maximum, ==, 5);

  p = sq_model_find_param (model, "max_new_tokens");
  g_assert_cmpint (json_node_get_int (p->default_value), ==, 3000);
  g_assert_cmpfloat (p->minimum, ==, 1);
  g_assert_false (p->has_maximum);

  p = sq_model_find_param (model, "max_length");
  g_assert_cmpint (json_node_get_int (p->default_value), ==, 4000);
}

static void
test_builtin_cogvlm (void)
{
  g_autoptr(SqModel) model = builtin ("cogvlm");

  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "prompt");
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "image");
  g_assert_false (sq_model_get_streams_text (model));
  g_assert_cmpuint (sq_model_get_params (model)->len, ==, 0);
}

static void
test_schema_allof_enum (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  const SqModelParam *p;

  model = model_from_input ("\"image\":{\"type\":\"string\",\"format\":\"uri\",\"x-order\":0},"
                            "\"text\":{\"type\":\"string\",\"x-order\":1},"
                            "\"style\":{\"allOf\":[{\"$ref\":\"#/components/schemas/style\"}],"
                            "  \"default\":\"plain\",\"x-order\":2,\"description\":\"How to answer\"},"
                            "\"size\":{\"type\":\"integer\",\"enum\":[256,512,1024],\"x-order\":3}",
                            "\"image\",\"text\"",
                            "\"style\":{\"enum\":[\"plain\",\"fancy\"],\"type\":\"string\","
                            "\"title\":\"style\",\"description\":\"An enumeration.\"}",
                            &error);
  g_assert_no_error (error);

  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "text");

  p = sq_model_find_param (model, "style");
  g_assert_cmpint (p->type, ==, SQ_PARAM_ENUM);
  g_assert_cmpuint (g_strv_length (p->choices), ==, 2);
  g_assert_cmpstr (p->choices[0], ==, "plain");
  g_assert_cmpstr (p->choices[1], ==, "fancy");
  g_assert_cmpstr (p->description, ==, "How to answer");
  g_assert_cmpstr (p->title, ==, "style");
  g_assert_cmpstr (json_node_get_string (p->default_value), ==, "plain");
  g_assert_cmpint (p->order, ==, 2);

  p = sq_model_find_param (model, "size");
  g_assert_cmpint (p->type, ==, SQ_PARAM_ENUM);
  g_assert_cmpint (p->item_type, ==, SQ_PARAM_INTEGER);
  g_assert_cmpstr (p->choices[2], ==, "1024");

  /* Choices are checked, and integer choices are sent as integers. */
  g_assert_true (sq_model_check_setting (model, "style", "fancy", &error));
  g_assert_no_error (error);
  g_assert_false (sq_model_check_setting (model, "style", "loud", &error));
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  g_assert_cmpstr (error->message, ==, "style must be one of plain, fancy for acme/test, not “loud”");
  g_clear_error (&error);

  {
    g_autoptr(GHashTable) settings = settings_new ("size", "512", "style", "fancy", NULL);
    g_autoptr(JsonObject) input = sq_model_build_input (model, "hi", "https://x/y.png", settings, &error);

    g_assert_no_error (error);
    g_assert_cmpint (json_node_get_value_type (json_object_get_member (input, "size")), ==, G_TYPE_INT64);
    g_assert_cmpint (json_object_get_int_member (input, "size"), ==, 512);
    g_assert_cmpstr (json_object_get_string_member (input, "style"), ==, "fancy");
  }
}

static void
test_schema_anyof_nullable (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  const SqModelParam *p;

  model = model_from_input ("\"image\":{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"string\",\"format\":\"uri\"}]},"
                            "\"prompt\":{\"type\":\"string\"},"
                            "\"seed\":{\"anyOf\":[{\"type\":\"integer\",\"minimum\":0},{\"type\":\"null\"}],"
                            "  \"title\":\"Seed\"},"
                            "\"mode\":{\"type\":\"string\",\"nullable\":true},"
                            "\"level\":{\"type\":[\"number\",\"null\"],\"maximum\":3}",
                            "\"prompt\",\"seed\",\"mode\"",
                            NULL, &error);
  g_assert_no_error (error);

  p = sq_model_find_param (model, "image");
  g_assert_cmpint (p->type, ==, SQ_PARAM_URI);

  p = sq_model_find_param (model, "seed");
  g_assert_cmpint (p->type, ==, SQ_PARAM_INTEGER);
  g_assert_true (p->has_minimum);
  g_assert_cmpstr (p->title, ==, "Seed");
  g_assert_false (p->required);
  g_assert_cmpint (p->order, ==, G_MAXINT);

  p = sq_model_find_param (model, "mode");
  g_assert_cmpint (p->type, ==, SQ_PARAM_STRING);
  g_assert_false (p->required);

  p = sq_model_find_param (model, "level");
  g_assert_cmpint (p->type, ==, SQ_PARAM_NUMBER);
  g_assert_cmpfloat (p->maximum, ==, 3);

  p = sq_model_find_param (model, "prompt");
  g_assert_true (p->required);
}

static void
test_schema_array_image (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  g_autoptr(JsonObject) input = NULL;
  g_autoptr(GHashTable) settings = NULL;
  JsonArray *images;

  /* Like openai/gpt-4o-mini */
  model = model_from_input ("\"prompt\":{\"type\":\"string\",\"x-order\":0},"
                            "\"system_prompt\":{\"type\":\"string\",\"x-order\":1},"
                            "\"image_input\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"format\":\"uri\"},"
                            "  \"default\":[],\"x-order\":2},"
                            "\"temperature\":{\"type\":\"number\",\"default\":1,\"minimum\":0,\"maximum\":2,\"x-order\":3},"
                            "\"max_completion_tokens\":{\"type\":\"integer\",\"default\":4096,\"x-order\":4}",
                            NULL,
                            "\"Output\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
                            "\"x-cog-array-type\":\"iterator\",\"x-cog-array-display\":\"concatenate\"}",
                            &error);
  g_assert_no_error (error);

  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "prompt");
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "image_input");
  g_assert_true (sq_model_get_image_is_array (model));
  g_assert_true (sq_model_get_streams_text (model));
  g_assert_cmpint (sq_model_find_param (model, "image_input")->item_type, ==, SQ_PARAM_URI);
  g_assert_cmpstr (sq_model_map_setting (model, SQ_SETTING_MAX_NEW_TOKENS), ==, "max_completion_tokens");

  settings = settings_new ("max_new_tokens", "100", "num_beams", "4", NULL);
  input = sq_model_build_input (model, "What is this?", "data:image/png;base64,AAAA", settings, &error);
  g_assert_no_error (error);
  images = json_object_get_array_member (input, "image_input");
  g_assert_cmpuint (json_array_get_length (images), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (images, 0), ==, "data:image/png;base64,AAAA");
  g_assert_cmpint (json_object_get_int_member (input, "max_completion_tokens"), ==, 100);
  g_assert_false (json_object_has_member (input, "num_beams"));
}

static void
test_schema_image_by_name (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;

  /* No well-known key: any uri param with "image" in its name. */
  model = model_from_input ("\"question\":{\"type\":\"string\"},"
                            "\"reference_image\":{\"type\":\"string\",\"format\":\"uri\"},"
                            "\"image_size\":{\"type\":\"integer\"}",
                            NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "question");
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "reference_image");
  g_clear_object (&model);

  /* A required *prompt* string is the prompt when nothing better exists. */
  model = model_from_input ("\"user_prompt\":{\"type\":\"string\"},"
                            "\"system_prompt\":{\"type\":\"string\"},"
                            "\"img\":{\"type\":\"string\",\"format\":\"uri\"}",
                            "\"user_prompt\"", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "user_prompt");
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "img");
}

static void
test_schema_text_only (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  g_autoptr(JsonObject) schema = NULL;

  schema = parse_object ("{\"components\":{\"schemas\":{\"Input\":{\"type\":\"object\","
                         "\"properties\":{\"prompt\":{\"type\":\"string\"},"
                         "\"max_tokens\":{\"type\":\"integer\"}}}}}}");
  model = sq_model_new_from_schema (NULL, "acme", "text-only", NULL, schema, &error);
  g_assert_null (model);
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_NO_IMAGE_INPUT);
  g_assert_cmpstr (error->message, ==, "acme/text-only takes no image input");
  g_clear_error (&error);

  model = model_from_input ("\"image\":{\"type\":\"string\",\"format\":\"uri\"},"
                            "\"scale\":{\"type\":\"number\"}",
                            NULL, NULL, &error);
  g_assert_null (model);
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_NO_PROMPT_INPUT);
}

static void
test_schema_malformed (void)
{
  static const char * const bad[] = {
    "{}",
    "{\"components\":[]}",
    "{\"components\":{}}",
    "{\"components\":{\"schemas\":{}}}",
    "{\"components\":{\"schemas\":{\"Input\":3}}}",
    "{\"components\":{\"schemas\":{\"Input\":\"object\"}}}",
    "{\"components\":{\"schemas\":{\"Input\":{\"type\":\"object\"}}}}",
    "{\"components\":{\"schemas\":{\"Input\":{\"properties\":[1,2]}}}}",
    "{\"components\":{\"schemas\":{\"Input\":{\"properties\":{\"prompt\":\"string\"}}}}}",
    "{\"components\":{\"schemas\":{\"Input\":{\"properties\":{\"prompt\":null}}}}}",
    /* A reference to itself, and a loop over two */
    "{\"components\":{\"schemas\":{\"Input\":{\"properties\":{\"image\":{\"type\":\"string\"},"
    "\"prompt\":{\"allOf\":[{\"$ref\":\"#/components/schemas/A\"}]}}},"
    "\"A\":{\"allOf\":[{\"$ref\":\"#/components/schemas/A\"}]}}}}",
    "{\"components\":{\"schemas\":{\"Input\":{\"properties\":{\"image\":{\"type\":\"string\"},"
    "\"prompt\":{\"$ref\":\"#/components/schemas/A\"}}},"
    "\"A\":{\"anyOf\":[{\"$ref\":\"#/components/schemas/B\"}]},"
    "\"B\":{\"$ref\":\"#/components/schemas/A\"}}}}",
    /* Input itself loops */
    "{\"components\":{\"schemas\":{\"Input\":{\"$ref\":\"#/components/schemas/Input\"}}}}",
    /* References that go nowhere, leave the document, or are not strings */
    "{\"components\":{\"schemas\":{\"Input\":{\"properties\":{\"image\":{\"type\":\"string\"},"
    "\"prompt\":{\"allOf\":[{\"$ref\":\"#/components/schemas/Nope\"}]}}}}}}",
    "{\"components\":{\"schemas\":{\"Input\":{\"properties\":{\"image\":{\"type\":\"string\"},"
    "\"prompt\":{\"allOf\":[{\"$ref\":\"https://example.com/x.json\"}]}}}}}}",
    "{\"components\":{\"schemas\":{\"Input\":{\"properties\":{\"image\":{\"type\":\"string\"},"
    "\"prompt\":{\"$ref\":42}}}}}}",
    "{\"components\":{\"schemas\":{\"Input\":{\"properties\":{\"image\":{\"type\":\"string\"},"
    "\"prompt\":{\"$ref\":\"#/components/schemas/Input/required\"}}}}}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonObject) schema = parse_object (bad[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(SqModel) model = NULL;

      model = sq_model_new_from_schema (NULL, "acme", "bad", "1", schema, &error);
      g_test_message ("%s → %s", bad[i], error ? error->message : "(no error)");
      g_assert_null (model);
      g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_SCHEMA);
      g_assert_true (g_str_has_prefix (error->message, "The input schema of acme/bad cannot be used: "));
    }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SqModel) model = sq_model_new_from_schema (NULL, "acme", "bad", "1", NULL, &error);

    g_assert_null (model);
    g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_SCHEMA);
  }
}

static void
check_ref_chain (guint n_links)
{
  g_autoptr(GString) json = g_string_new ("{\"components\":{\"schemas\":{"
                                          "\"Input\":{\"properties\":{\"image\":{\"type\":\"string\"},"
                                          "\"prompt\":{\"$ref\":\"#/components/schemas/S0\"}}}");
  g_autoptr(JsonObject) schema = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;

  /* Each link refers twice to the next one. */
  for (guint i = 0; i < n_links; i++)
    g_string_append_printf (json, ",\"S%u\":{\"allOf\":[{\"$ref\":\"#/components/schemas/S%u\"},"
                            "{\"$ref\":\"#/components/schemas/S%u\"}]}", i, i + 1, i + 1);
  g_string_append_printf (json, ",\"S%u\":{\"type\":\"string\"}}}}", n_links);

  schema = parse_object (json->str);
  model = sq_model_new_from_schema (NULL, "acme", "deep", NULL, schema, &error);
  g_assert_null (model);
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_SCHEMA);
}

static void
test_schema_deep_refs (void)
{
  /* Too deep, and (2^14 paths) too much work: both end with an error,
   * not a hang. A short chain is fine. */
  check_ref_chain (64);
  check_ref_chain (14);

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SqModel) model = NULL;

    model = model_from_input ("\"image\":{\"type\":\"string\",\"format\":\"uri\"},"
                              "\"prompt\":{\"$ref\":\"#/components/schemas/S0\"}",
                              NULL,
                              "\"S0\":{\"allOf\":[{\"$ref\":\"#/components/schemas/S1\"},"
                              "{\"$ref\":\"#/components/schemas/S1\"}]},"
                              "\"S1\":{\"$ref\":\"#/components/schemas/S~12\"},"
                              "\"S/2\":{\"type\":\"string\",\"title\":\"Deep\"}",
                              &error);
    g_assert_no_error (error);
    g_assert_cmpstr (sq_model_find_param (model, "prompt")->title, ==, "Deep");
  }
}

static void
test_schema_secret (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;

  model = model_from_input ("\"image\":{\"type\":\"string\",\"format\":\"uri\"},"
                            "\"prompt\":{\"type\":\"string\"},"
                            "\"api_key\":{\"type\":\"string\",\"format\":\"password\",\"x-cog-secret\":true},"
                            "\"pin\":{\"type\":\"integer\",\"x-cog-secret\":true,\"maximum\":9999}",
                            NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (sq_model_find_param (model, "api_key")->secret);
  g_assert_cmpint (sq_model_find_param (model, "api_key")->type, ==, SQ_PARAM_STRING);
  g_assert_true (sq_model_find_param (model, "pin")->secret);

  /* Secret values never appear in messages. */
  g_assert_false (sq_model_check_setting (model, "pin", "s3cr3t", &error));
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  g_assert_null (strstr (error->message, "s3cr3t"));
  g_clear_error (&error);

  g_assert_false (sq_model_check_setting (model, "pin", "123456", &error));
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  g_assert_null (strstr (error->message, "123456"));
}

static void
test_schema_streams (void)
{
  static const struct {
    const char *output;
    gboolean    streams;
  } cases[] = {
    { "\"Output\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"x-cog-array-type\":\"iterator\"}", TRUE },
    { "\"Output\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}", TRUE },
    { "\"Output\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"format\":\"uri\"},\"x-cog-array-type\":\"list\"}", FALSE },
    { "\"Output\":{\"type\":\"string\"}", FALSE },
    { "\"Output\":{\"$ref\":\"#/components/schemas/Nope\"}", FALSE },
    { "\"Output\":7", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SqModel) model = NULL;

      model = model_from_input ("\"image\":{\"type\":\"string\",\"format\":\"uri\"},\"prompt\":{\"type\":\"string\"}",
                                NULL, cases[i].output, &error);
      g_assert_no_error (error);
      g_assert_cmpint (sq_model_get_streams_text (model), ==, cases[i].streams);
    }
}

static void
test_settings_map (void)
{
  g_autoptr(SqModel) llava = builtin ("llava-13b");
  g_autoptr(SqModel) fuyu = builtin ("fuyu-8b");
  g_autoptr(SqModel) minigpt = builtin ("minigpt-4");
  g_autoptr(SqModel) cogvlm = builtin ("cogvlm");

  g_assert_cmpstr (sq_model_map_setting (llava, SQ_SETTING_MAX_NEW_TOKENS), ==, "max_tokens");
  g_assert_cmpstr (sq_model_map_setting (fuyu, SQ_SETTING_MAX_NEW_TOKENS), ==, "max_new_tokens");
  g_assert_cmpstr (sq_model_map_setting (minigpt, SQ_SETTING_MAX_NEW_TOKENS), ==, "max_new_tokens");
  g_assert_null (sq_model_map_setting (cogvlm, SQ_SETTING_MAX_NEW_TOKENS));

  g_assert_cmpstr (sq_model_map_setting (llava, SQ_SETTING_TEMPERATURE), ==, "temperature");
  g_assert_null (sq_model_map_setting (fuyu, SQ_SETTING_TEMPERATURE));
  g_assert_null (sq_model_map_setting (llava, SQ_SETTING_NUM_BEAMS));
  g_assert_cmpstr (sq_model_map_setting (minigpt, SQ_SETTING_NUM_BEAMS), ==, "num_beams");
  g_assert_cmpstr (sq_model_map_setting (minigpt, SQ_SETTING_REPETITION_PENALTY), ==, "repetition_penalty");
  g_assert_null (sq_model_map_setting (llava, SQ_SETTING_REPETITION_PENALTY));
  g_assert_cmpstr (sq_model_map_setting (llava, SQ_SETTING_TOP_P), ==, "top_p");

  /* Own keys map to themselves; the prompt and image are not settings. */
  g_assert_cmpstr (sq_model_map_setting (llava, "max_tokens"), ==, "max_tokens");
  g_assert_cmpstr (sq_model_map_setting (minigpt, "max_length"), ==, "max_length");
  g_assert_null (sq_model_map_setting (llava, "prompt"));
  g_assert_null (sq_model_map_setting (llava, "image"));
  g_assert_null (sq_model_map_setting (llava, "foo"));
}

static void
test_settings_range (void)
{
  g_autoptr(SqModel) minigpt = builtin ("minigpt-4");
  g_autoptr(SqModel) llava = builtin ("llava-13b");
  g_autoptr(SqModel) fuyu = builtin ("fuyu-8b");
  g_autoptr(GError) error = NULL;

  g_assert_false (sq_model_check_setting (minigpt, "temperature", "5", &error));
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  g_assert_cmpstr (error->message, ==, "temperature must be between 0.01 and 2 for minigpt-4, not 5");
  g_clear_error (&error);

  g_assert_false (sq_model_check_setting (llava, "temperature", "-1", &error));
  g_assert_cmpstr (error->message, ==, "temperature must be at least 0 for llava-13b, not -1");
  g_clear_error (&error);

  /* A generic name is checked against the key it maps to. */
  g_assert_false (sq_model_check_setting (fuyu, "max_new_tokens", "4096", &error));
  g_assert_cmpstr (error->message, ==, "max_new_tokens must be between 0 and 2048 for fuyu-8b, not 4096");
  g_clear_error (&error);
  g_assert_false (sq_model_check_setting (llava, "max_new_tokens", "-5", &error));
  g_assert_cmpstr (error->message, ==, "max_tokens must be at least 0 for llava-13b, not -5");
  g_clear_error (&error);

  /* Limits themselves are fine; generic settings a model lacks too. */
  g_assert_true (sq_model_check_setting (minigpt, "temperature", "0.01", &error));
  g_assert_true (sq_model_check_setting (minigpt, "temperature", "2", &error));
  g_assert_true (sq_model_check_setting (fuyu, "max_new_tokens", "2048", &error));
  g_assert_true (sq_model_check_setting (fuyu, "temperature", "99", &error));
  g_assert_no_error (error);

  /* And build_input refuses before anything is sent. */
  {
    g_autoptr(GHashTable) settings = settings_new ("temperature", "5", NULL);
    g_autoptr(JsonObject) input = sq_model_build_input (minigpt, "p", "https://x/y.png", settings, &error);

    g_assert_null (input);
    g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  }
}

static void
test_settings_types (void)
{
  g_autoptr(SqModel) minigpt = builtin ("minigpt-4");
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  static const char * const bad_integers[] = { "2.5", "abc", "", " 3", "3 ", "0x10", "1e2", "99999999999999999999" };
  static const char * const bad_numbers[] = { "warm", "", "1.0.0", "0.5x", "nan", "inf", " 0.5", "1e999" };

  for (guint i = 0; i < G_N_ELEMENTS (bad_integers); i++)
    {
      g_assert_false (sq_model_check_setting (minigpt, "num_beams", bad_integers[i], &error));
      g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
      g_clear_error (&error);
    }
  g_assert_false (sq_model_check_setting (minigpt, "num_beams", "2.5", &error));
  g_assert_cmpstr (error->message, ==, "num_beams must be a whole number for minigpt-4, not “2.5”");
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (bad_numbers); i++)
    {
      g_assert_false (sq_model_check_setting (minigpt, "top_p", bad_numbers[i], &error));
      g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
      g_clear_error (&error);
    }
  g_assert_false (sq_model_check_setting (minigpt, "top_p", "warm", &error));
  g_assert_cmpstr (error->message, ==, "top_p must be a number for minigpt-4, not “warm”");
  g_clear_error (&error);

  g_assert_true (sq_model_check_setting (minigpt, "top_p", "1", &error));
  g_assert_true (sq_model_check_setting (minigpt, "top_p", ".5", &error));
  g_assert_true (sq_model_check_setting (minigpt, "top_p", "5e-1", &error));
  g_assert_no_error (error);

  model = model_from_input ("\"image\":{\"type\":\"string\",\"format\":\"uri\"},\"prompt\":{\"type\":\"string\"},"
                            "\"sample\":{\"type\":\"boolean\",\"default\":false},"
                            "\"stops\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                            "\"weights\":{\"type\":\"array\",\"items\":{\"type\":\"number\"}}",
                            NULL, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < 6; i++)
    {
      static const char * const good[] = { "true", "false", "1", "0", "YES", "no" };
      g_assert_true (sq_model_check_setting (model, "sample", good[i], &error));
      g_assert_no_error (error);
    }
  g_assert_false (sq_model_check_setting (model, "sample", "maybe", &error));
  g_assert_cmpstr (error->message, ==, "sample must be true or false for acme/test, not “maybe”");
  g_clear_error (&error);

  g_assert_false (sq_model_check_setting (model, "weights", "[1, \"a\"]", &error));
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  g_clear_error (&error);
  g_assert_false (sq_model_check_setting (model, "weights", "[1,", &error));
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  g_clear_error (&error);

  {
    g_autoptr(GHashTable) settings = settings_new ("sample", "yes", "stops", "END", "weights", "[0.5, 2]", NULL);
    g_autoptr(JsonObject) input = sq_model_build_input (model, "p", "https://x/y.png", settings, &error);
    JsonArray *array;

    g_assert_no_error (error);
    g_assert_true (json_object_get_boolean_member (input, "sample"));
    array = json_object_get_array_member (input, "stops");
    g_assert_cmpuint (json_array_get_length (array), ==, 1);
    g_assert_cmpstr (json_array_get_string_element (array, 0), ==, "END");
    array = json_object_get_array_member (input, "weights");
    g_assert_cmpuint (json_array_get_length (array), ==, 2);
    g_assert_cmpfloat (json_array_get_double_element (array, 0), ==, 0.5);
  }
}

static void
test_settings_unknown (void)
{
  g_autoptr(SqModel) llava = builtin ("llava-13b");
  g_autoptr(SqModel) cogvlm = builtin ("cogvlm");
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) settings = NULL;
  g_autoptr(JsonObject) input = NULL;

  g_assert_false (sq_model_check_setting (llava, "foo", "1", &error));
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  g_assert_cmpstr (error->message, ==, "llava-13b has no parameter “foo”. It takes: top_p, temperature, max_tokens");
  g_clear_error (&error);

  g_assert_false (sq_model_check_setting (cogvlm, "top_k", "1", &error));
  g_assert_cmpstr (error->message, ==, "cogvlm has no parameter “top_k”. It takes only a prompt and an image");
  g_clear_error (&error);

  g_assert_false (sq_model_check_setting (llava, "prompt", "hello", &error));
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
  g_clear_error (&error);

  settings = settings_new ("temperature", "0.3", "foo", "1", NULL);
  input = sq_model_build_input (llava, "p", "https://x/y.png", settings, &error);
  g_assert_null (input);
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_PARAMETER);
}

/* The notebook's settings, as LlamaIndex sent them to every model. */
static GHashTable *
notebook_settings (void)
{
  return settings_new ("temperature", "0.75",
                       "max_new_tokens", "512",
                       "num_beams", "1",
                       "repetition_penalty", "1.0",
                       "top_p", "0.9",
                       NULL);
}

static void
test_build_input (void)
{
  static const struct {
    const char *alias;
    const char *keys;
    const char *json;
  } cases[] = {
    { "llava-13b", "image,max_tokens,prompt,temperature,top_p",
      "{\"max_tokens\":512,\"temperature\":0.75,\"top_p\":0.90000000000000002}" },
    { "fuyu-8b", "image,max_new_tokens,prompt", "{\"max_new_tokens\":512}" },
    { "minigpt-4", "image,max_new_tokens,num_beams,prompt,repetition_penalty,temperature,top_p", NULL },
    { "cogvlm", "image,prompt", "{}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(SqModel) model = builtin (cases[i].alias);
      g_autoptr(GHashTable) settings = notebook_settings ();
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) input = NULL;
      g_autofree char *keys = NULL;

      input = sq_model_build_input (model, "What is in the image?", "https://example.com/a.jpg", settings, &error);
      g_assert_no_error (error);
      keys = object_keys (input);
      g_assert_cmpstr (keys, ==, cases[i].keys);
      g_assert_cmpstr (json_object_get_string_member (input, "prompt"), ==, "What is in the image?");
      g_assert_cmpstr (json_object_get_string_member (input, "image"), ==, "https://example.com/a.jpg");

      if (json_object_has_member (input, "max_tokens"))
        g_assert_cmpint (json_node_get_value_type (json_object_get_member (input, "max_tokens")), ==, G_TYPE_INT64);
      if (json_object_has_member (input, "max_new_tokens"))
        g_assert_cmpint (json_node_get_value_type (json_object_get_member (input, "max_new_tokens")), ==, G_TYPE_INT64);
      if (json_object_has_member (input, "num_beams"))
        g_assert_cmpint (json_object_get_int_member (input, "num_beams"), ==, 1);
      if (json_object_has_member (input, "temperature"))
        {
          g_assert_cmpint (json_node_get_value_type (json_object_get_member (input, "temperature")), ==, G_TYPE_DOUBLE);
          g_assert_cmpfloat (json_object_get_double_member (input, "temperature"), ==, 0.75);
        }

      if (cases[i].json != NULL)
        {
          /* Everything but the prompt and image, as JSON. */
          g_autoptr(JsonNode) node = NULL;
          g_autofree char *json = NULL;

          json_object_remove_member (input, "prompt");
          json_object_remove_member (input, "image");
          node = json_node_init_object (json_node_alloc (), input);
          json = json_to_string (node, FALSE);
          g_assert_cmpstr (json, ==, cases[i].json);
        }
    }
}

static void
test_build_input_explicit_wins (void)
{
  g_autoptr(SqModel) llava = builtin ("llava-13b");
  g_autoptr(GHashTable) settings = settings_new ("max_new_tokens", "100", "max_tokens", "200", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) input = NULL;

  input = sq_model_build_input (llava, "p", NULL, settings, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (input, "max_tokens"), ==, 200);
  g_assert_false (json_object_has_member (input, "max_new_tokens"));
  /* No image given: none sent. */
  g_assert_false (json_object_has_member (input, "image"));
  g_clear_pointer (&input, json_object_unref);

  input = sq_model_build_input (llava, "p", "https://x/y.png", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_object_get_size (input), ==, 2);
}

static void
test_param_copy (void)
{
  g_autoptr(SqModel) minigpt = builtin ("minigpt-4");
  const SqModelParam *p = sq_model_find_param (minigpt, "temperature");
  g_autoptr(SqModelParam) copy = sq_model_param_copy (p);

  g_assert_true (copy != p);
  g_assert_cmpstr (copy->key, ==, p->key);
  g_assert_true (copy->key != p->key);
  g_assert_cmpfloat (copy->maximum, ==, 2);
  g_assert_true (json_node_equal (copy->default_value, p->default_value));
  g_assert_true (g_type_is_a (SQ_TYPE_MODEL_PARAM, G_TYPE_BOXED));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/model/builtin/llava-13b", test_builtin_llava);
  g_test_add_func ("/model/builtin/fuyu-8b", test_builtin_fuyu);
  g_test_add_func ("/model/builtin/minigpt-4", test_builtin_minigpt4);
  g_test_add_func ("/model/builtin/cogvlm", test_builtin_cogvlm);
  g_test_add_func ("/model/schema/allof-enum", test_schema_allof_enum);
  g_test_add_func ("/model/schema/anyof-nullable", test_schema_anyof_nullable);
  g_test_add_func ("/model/schema/array-image", test_schema_array_image);
  g_test_add_func ("/model/schema/image-by-name", test_schema_image_by_name);
  g_test_add_func ("/model/schema/text-only", test_schema_text_only);
  g_test_add_func ("/model/schema/malformed", test_schema_malformed);
  g_test_add_func ("/model/schema/deep-refs", test_schema_deep_refs);
  g_test_add_func ("/model/schema/secret", test_schema_secret);
  g_test_add_func ("/model/schema/streams", test_schema_streams);
  g_test_add_func ("/model/settings/map", test_settings_map);
  g_test_add_func ("/model/settings/range", test_settings_range);
  g_test_add_func ("/model/settings/types", test_settings_types);
  g_test_add_func ("/model/settings/unknown", test_settings_unknown);
  g_test_add_func ("/model/build-input/notebook", test_build_input);
  g_test_add_func ("/model/build-input/explicit-wins", test_build_input_explicit_wins);
  g_test_add_func ("/model/param/copy", test_param_copy);

  return g_test_run ();
}
