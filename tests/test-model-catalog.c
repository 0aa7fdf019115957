/* test-model-catalog.c
 *
 * SqModelCatalog: aliases, references, the disk cache, and resolving
 * against the loopback fake Replicate.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "sq-error.h"
#include "sq-fake-replicate.h"
#include "sq-model.h"
#include "sq-model-catalog.h"
#include "sq-replicate-client.h"
#include "sq-test-util.h"

#define LLAVA_VERSION "e272157381e2a3bf12df3a8edd1f38d1dbd736bbb7437277c8b34175f8fce358"
#define MOLMO_VERSION "76ebd700864218a4ca97ac1ccff068be7222272859f9ea2ae1dd4ac073fa8de8"

typedef struct
{
  GFile           *cache_dir;
  SqFakeReplicate *fake;    /* only for the fake tests */
  SqReplicateClient *client;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("squint-model-catalog-XXXXXX", &error);

  g_assert_no_error (error);
  fixture->cache_dir = g_file_new_for_path (dir);

  if (GPOINTER_TO_INT (user_data))
    {
      fixture->fake = sq_fake_replicate_new ();
      fixture->client = sq_replicate_client_new (sq_fake_replicate_get_origin (fixture->fake),
                                                 SQ_FAKE_REPLICATE_TOKEN, &error);
      g_assert_no_error (error);
      sq_replicate_client_set_retry_policy (fixture->client, 2, 1, 2);
    }
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autofree char *cache_path = g_file_get_path (fixture->cache_dir);

  sq_test_remove_tree (cache_path);
  g_clear_object (&fixture->cache_dir);
  g_clear_object (&fixture->client);
  g_clear_object (&fixture->fake);
}

static SqModel *
resolve (SqModelCatalog  *catalog,
         const char      *name,
         GCancellable    *cancellable,
         GError         **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_model_catalog_resolve_async (catalog, name, cancellable, sq_test_store_result_cb, &result);
  return sq_model_catalog_resolve_finish (catalog, sq_test_wait_result (&result), error);
}

static GFile *
cached_file (Fixture    *fixture,
             const char *owner,
             const char *name,
             const char *version)
{
  g_autofree char *basename = g_strconcat (version, ".json", NULL);
  g_autofree char *relative = g_build_filename (owner, name, basename, NULL);

  return g_file_resolve_relative_path (fixture->cache_dir, relative);
}

static void
test_ref_parse (void)
{
  static const struct {
    const char *ref;
    gboolean    ok;
    const char *owner;
    const char *name;
    const char *version;
  } cases[] = {
    { "yorickvp/llava-13b", TRUE, "yorickvp", "llava-13b", NULL },
    { "yorickvp/llava-13b:" LLAVA_VERSION, TRUE, "yorickvp", "llava-13b", LLAVA_VERSION },
    { "a/b:c:d", TRUE, "a", "b", "c:d" },
    { "a/b:c/d", TRUE, "a", "b", "c/d" },
    { "a:x/b", TRUE, "a:x", "b", NULL },
    { "llava-13b", FALSE, NULL, NULL, NULL },
    { "", FALSE, NULL, NULL, NULL },
    { "/b", FALSE, NULL, NULL, NULL },
    { "a/", FALSE, NULL, NULL, NULL },
    { "a/:v", FALSE, NULL, NULL, NULL },
    { "a/b:", FALSE, NULL, NULL, NULL },
    { "a/b/c", FALSE, NULL, NULL, NULL },
    { "a//b", FALSE, NULL, NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *owner = NULL;
      g_autofree char *name = NULL;
      g_autofree char *version = NULL;

      g_test_message ("%s", cases[i].ref);
      g_assert_cmpint (sq_model_ref_parse (cases[i].ref, &owner, &name, &version), ==, cases[i].ok);
      g_assert_cmpstr (owner, ==, cases[i].owner);
      g_assert_cmpstr (name, ==, cases[i].name);
      g_assert_cmpstr (version, ==, cases[i].version);
    }

  g_assert_false (sq_model_ref_parse (NULL, NULL, NULL, NULL));
  g_assert_true (sq_model_ref_parse ("a/b", NULL, NULL, NULL));
}

static void
test_aliases (void)
{
  const SqModelAlias *aliases;
  const SqModelAlias *a;
  guint n = 0;

  aliases = sq_model_aliases (&n);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpstr (aliases[0].alias, ==, "llava-13b");

  a = sq_model_alias_lookup ("llava-13b");
  g_assert_cmpstr (a->owner, ==, "yorickvp");
  g_assert_cmpstr (a->name, ==, "llava-13b");
  g_assert_cmpstr (a->version, ==, LLAVA_VERSION);
  a = sq_model_alias_lookup ("fuyu-8b");
  g_assert_cmpstr (a->owner, ==, "lucataco");
  g_assert_cmpstr (a->version, ==, "42f23bc876570a46f5a90737086fbc4c3f79dd11753a28eaa39544dd391815e9");
  a = sq_model_alias_lookup ("minigpt-4");
  g_assert_cmpstr (a->owner, ==, "daanelson");
  g_assert_cmpstr (a->version, ==, "b96a2f33cc8e4b0aa23eacfce731b9c41a7d9466d9ed4e167375587b54db9423");
  a = sq_model_alias_lookup ("cogvlm");
  g_assert_cmpstr (a->owner, ==, "naklecha");
  g_assert_cmpstr (a->version, ==, "ec3886f9ea85dd0aee216585be5e6d07b04c9650f7b8b08363a14eb89e207eb2");
  g_assert_null (sq_model_alias_lookup ("llava"));
}

static void
test_builtin_list (Fixture       *fixture,
                   gconstpointer  user_data)
{
  g_autoptr(SqModelCatalog) catalog = sq_model_catalog_new (NULL, fixture->cache_dir);
  g_autoptr(GPtrArray) models = sq_model_catalog_list_builtin (catalog);
  g_autoptr(GPtrArray) again = NULL;

  g_assert_cmpuint (models->len, ==, 4);
  for (guint i = 0; i < models->len; i++)
    {
      SqModel *model = g_ptr_array_index (models, i);
      const SqModelAlias *a = &sq_model_aliases (NULL)[i];
      g_autofree char *ref = g_strdup_printf ("%s/%s:%s", a->owner, a->name, a->version);

      g_assert_cmpstr (sq_model_get_alias (model), ==, a->alias);
      g_assert_cmpstr (sq_model_get_ref (model), ==, ref);
    }

  /* The same objects every time. */
  again = sq_model_catalog_list_builtin (catalog);
  g_assert_true (g_ptr_array_index (again, 2) == g_ptr_array_index (models, 2));
}

static void
test_offline_aliases (Fixture       *fixture,
                      gconstpointer  user_data)
{
  g_autoptr(SqModelCatalog) catalog = sq_model_catalog_new (NULL, fixture->cache_dir);
  guint n;
  const SqModelAlias *aliases = sq_model_aliases (&n);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SqModel) model = resolve (catalog, aliases[i].alias, NULL, &error);
      g_autoptr(SqModel) again = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (sq_model_get_alias (model), ==, aliases[i].alias);
      g_assert_cmpstr (sq_model_get_display_name (model), ==, aliases[i].alias);
      g_assert_cmpstr (sq_model_get_version (model), ==, aliases[i].version);
      g_assert_cmpstr (sq_model_get_image_key (model), ==, "image");

      again = resolve (catalog, aliases[i].alias, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (again == model);
    }

  /* A pinned reference to an alias's version works offline too. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SqModel) model = resolve (catalog, "yorickvp/llava-13b:" LLAVA_VERSION, NULL, &error);

    g_assert_no_error (error);
    g_assert_null (sq_model_get_alias (model));
    g_assert_cmpstr (sq_model_get_display_name (model), ==, "yorickvp/llava-13b");
    g_assert_true (sq_model_get_streams_text (model));
  }
}

static void
test_offline_errors (Fixture       *fixture,
                     gconstpointer  user_data)
{
  g_autoptr(SqModelCatalog) catalog = sq_model_catalog_new (NULL, fixture->cache_dir);
  static const char * const bad[] = { "llava", "a/b/c", "", "acme/:x" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SqModel) model = resolve (catalog, bad[i], NULL, &error);

      g_assert_null (model);
      g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE);
    }

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(SqModel) model = resolve (catalog, "acme/nope", NULL, &error);

    g_assert_null (model);
    g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_FAILED);
    g_assert_nonnull (strstr (error->message, "acme/nope"));
    g_clear_error (&error);

    model = resolve (catalog, "acme/nope:1234", NULL, &error);
    g_assert_null (model);
    g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_FAILED);
    g_clear_error (&error);

    /* Nothing leaves the cache directory. */
    model = resolve (catalog, "../x:y", NULL, &error);
    g_assert_null (model);
    g_assert_nonnull (error);
  }
}

static void
write_cache_entry (Fixture    *fixture,
                   const char *owner,
                   const char *name,
                   const char *version,
                   const char *contents)
{
  g_autoptr(GFile) file = cached_file (fixture, owner, name, version);
  g_autoptr(GFile) parent = g_file_get_parent (file);
  g_autoptr(GError) error = NULL;

  g_file_make_directory_with_parents (parent, NULL, NULL);
  g_file_replace_contents (file, contents, strlen (contents), NULL, FALSE,
                           G_FILE_CREATE_NONE, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
test_disk_cache_offline (Fixture       *fixture,
                         gconstpointer  user_data)
{
  g_autoptr(SqModelCatalog) catalog = sq_model_catalog_new (NULL, fixture->cache_dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;

  /* A cached schema is used without any network. */
  write_cache_entry (fixture, "acme", "looker", "v1",
                     "{\"owner\":\"acme\",\"name\":\"looker\",\"version\":\"v1\",\"openapi_schema\":"
                     "{\"components\":{\"schemas\":{\"Input\":{\"properties\":{"
                     "\"query\":{\"type\":\"string\"},\"img\":{\"type\":\"string\",\"format\":\"uri\"},"
                     "\"max_length\":{\"type\":\"integer\",\"maximum\":77}}}}}}}");
  model = resolve (catalog, "acme/looker:v1", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "query");
  g_assert_cmpstr (sq_model_map_setting (model, SQ_SETTING_MAX_NEW_TOKENS), ==, "max_length");
  g_clear_object (&model);

  /* owner/name offline: the newest cached version. */
  model = resolve (catalog, "acme/looker", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_version (model), ==, "v1");
  g_clear_object (&model);

  /* A broken cache entry of an alias: the built-in schema instead. */
  write_cache_entry (fixture, "yorickvp", "llava-13b", LLAVA_VERSION, "{\"owner\": tru");
  model = resolve (catalog, "llava-13b", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "image");
  g_clear_object (&model);

  /* A cache entry that is not a usable schema: not used. */
  write_cache_entry (fixture, "acme", "broken", "v2",
                     "{\"owner\":\"acme\",\"openapi_schema\":{\"components\":7}}");
  model = resolve (catalog, "acme/broken:v2", NULL, &error);
  g_assert_null (model);
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_FAILED);
}

static void
test_fake_molmo (Fixture       *fixture,
                 gconstpointer  user_data)
{
  g_autoptr(SqModelCatalog) catalog = sq_model_catalog_new (fixture->client, fixture->cache_dir);
  g_autoptr(SqModelCatalog) offline = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  g_autoptr(GFile) file = NULL;
  const SqModelParam *p;

  model = resolve (catalog, "zsxkib/molmo-7b", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_version (model), ==, MOLMO_VERSION);
  g_assert_cmpstr (sq_model_get_ref (model), ==, "zsxkib/molmo-7b:" MOLMO_VERSION);
  g_assert_cmpstr (sq_model_get_display_name (model), ==, "zsxkib/molmo-7b");
  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "text");
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "image");
  g_assert_true (sq_model_get_streams_text (model));
  g_assert_cmpstr (sq_model_map_setting (model, SQ_SETTING_MAX_NEW_TOKENS), ==, "max_new_tokens");
  p = sq_model_find_param (model, "dtype");
  g_assert_nonnull (p);
  g_assert_cmpint (p->type, ==, SQ_PARAM_ENUM);
  g_assert_true (g_strv_contains ((const char * const *)p->choices, "bfloat16"));
  g_assert_cmpuint (sq_fake_replicate_count_requests (fixture->fake, "GET", "/v1/models/zsxkib/molmo-7b"), ==, 1);

  /* Written to the disk cache before the resolve finished. */
  file = cached_file (fixture, "zsxkib", "molmo-7b", MOLMO_VERSION);
  g_assert_true (g_file_query_exists (file, NULL));
  g_clear_object (&model);

  /* owner/name always asks for the latest. */
  model = resolve (catalog, "zsxkib/molmo-7b", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sq_fake_replicate_count_requests (fixture->fake, "GET", "/v1/models/zsxkib/molmo-7b"), ==, 2);
  g_clear_object (&model);

  /* Offline, with the same cache: both forms resolve from disk. */
  offline = sq_model_catalog_new (NULL, fixture->cache_dir);
  model = resolve (offline, "zsxkib/molmo-7b:" MOLMO_VERSION, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_prompt_key (model), ==, "text");
  g_clear_object (&model);
  model = resolve (offline, "zsxkib/molmo-7b", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_version (model), ==, MOLMO_VERSION);
  g_clear_object (&model);

  /* The API failing: owner/name falls back to the newest cached one. */
  sq_fake_replicate_queue_get_errors (fixture->fake, 10, 503);
  model = resolve (catalog, "zsxkib/molmo-7b", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_version (model), ==, MOLMO_VERSION);
}

static void
test_fake_pinned_cache (Fixture       *fixture,
                        gconstpointer  user_data)
{
  g_autoptr(SqModelCatalog) catalog = sq_model_catalog_new (fixture->client, fixture->cache_dir);
  g_autoptr(SqModelCatalog) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  g_autoptr(SqModel) again = NULL;
  const char *path = "/v1/models/yorickvp/llava-13b/versions/" LLAVA_VERSION;

  model = resolve (catalog, "llava-13b", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_get_alias (model), ==, "llava-13b");
  g_assert_cmpstr (sq_model_map_setting (model, SQ_SETTING_MAX_NEW_TOKENS), ==, "max_tokens");
  g_assert_cmpuint (sq_fake_replicate_count_requests (fixture->fake, "GET", path), ==, 1);

  /* Memory */
  again = resolve (catalog, "llava-13b", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (again == model);
  g_assert_cmpuint (sq_fake_replicate_count_requests (fixture->fake, "GET", path), ==, 1);
  g_clear_object (&again);

  /* Disk: a pinned version needs no network, even in a new catalog. */
  second = sq_model_catalog_new (fixture->client, fixture->cache_dir);
  again = resolve (second, "llava-13b", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (again != model);
  g_assert_cmpstr (sq_model_get_ref (again), ==, sq_model_get_ref (model));
  g_clear_object (&again);
  again = resolve (second, "yorickvp/llava-13b:" LLAVA_VERSION, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (sq_model_get_alias (again));
  g_assert_cmpuint (sq_fake_replicate_count_requests (fixture->fake, "GET", path), ==, 1);
}

static void
test_fake_official (Fixture       *fixture,
                    gconstpointer  user_data)
{
  g_autoptr(SqModelCatalog) catalog = sq_model_catalog_new (fixture->client, fixture->cache_dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  g_autoptr(GHashTable) settings = NULL;
  g_autoptr(JsonObject) input = NULL;

  model = resolve (catalog, "openai/gpt-4o-mini", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (sq_model_get_version (model));
  g_assert_cmpstr (sq_model_get_ref (model), ==, "openai/gpt-4o-mini");
  g_assert_cmpstr (sq_model_get_image_key (model), ==, "image_input");
  g_assert_true (sq_model_get_image_is_array (model));
  g_assert_cmpstr (sq_model_map_setting (model, SQ_SETTING_MAX_NEW_TOKENS), ==, "max_completion_tokens");

  settings = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (settings, (gpointer)"max_new_tokens", (gpointer)"64");
  g_hash_table_insert (settings, (gpointer)"top_p", (gpointer)"0.5");
  input = sq_model_build_input (model, "hi", "https://example.com/a.png", settings, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_object_get_size (input), ==, 3);
  g_assert_cmpint (json_object_get_int_member (input, "max_completion_tokens"), ==, 64);
  g_clear_object (&model);

  /* Cached too, and offline it is still an official model. */
  {
    g_autoptr(SqModelCatalog) offline = sq_model_catalog_new (NULL, fixture->cache_dir);

    model = resolve (offline, "openai/gpt-4o-mini", NULL, &error);
    g_assert_no_error (error);
    g_assert_null (sq_model_get_version (model));
    g_assert_cmpstr (sq_model_get_ref (model), ==, "openai/gpt-4o-mini");
    g_assert_true (sq_model_get_image_is_array (model));
  }
}

static void
test_fake_errors (Fixture       *fixture,
                  gconstpointer  user_data)
{
  g_autoptr(SqModelCatalog) catalog = sq_model_catalog_new (fixture->client, fixture->cache_dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  model = resolve (catalog, "acme/text-only", NULL, &error);
  g_assert_null (model);
  g_assert_error (error, SQ_MODEL_ERROR, SQ_MODEL_ERROR_NO_IMAGE_INPUT);
  g_assert_cmpstr (error->message, ==, "acme/text-only takes no image input");
  g_clear_error (&error);

  model = resolve (catalog, "acme/nope", NULL, &error);
  g_assert_null (model);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "There is no model “acme/nope” on Replicate");
  g_clear_error (&error);

  model = resolve (catalog, "zsxkib/molmo-7b:0000", NULL, &error);
  g_assert_null (model);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND);
  g_assert_cmpstr (error->message, ==, "There is no model “zsxkib/molmo-7b:0000” on Replicate");
  g_clear_error (&error);

  /* Not reachable and nothing cached: the API's error. */
  sq_fake_replicate_queue_get_errors (fixture->fake, 10, 500);
  model = resolve (catalog, "zsxkib/molmo-7b", NULL, &error);
  g_assert_null (model);
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_SERVER);
  g_clear_error (&error);

  /* An alias when the API fails: the built-in schema. */
  model = resolve (catalog, "minigpt-4", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_model_map_setting (model, SQ_SETTING_NUM_BEAMS), ==, "num_beams");
  g_clear_object (&model);

  g_cancellable_cancel (cancellable);
  model = resolve (catalog, "fuyu-8b", cancellable, &error);
  g_assert_null (model);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/model-catalog/ref-parse", test_ref_parse);
  g_test_add_func ("/model-catalog/aliases", test_aliases);
  g_test_add ("/model-catalog/builtin-list", Fixture, GINT_TO_POINTER (FALSE),
              fixture_set_up, test_builtin_list, fixture_tear_down);
  g_test_add ("/model-catalog/offline/aliases", Fixture, GINT_TO_POINTER (FALSE),
              fixture_set_up, test_offline_aliases, fixture_tear_down);
  g_test_add ("/model-catalog/offline/errors", Fixture, GINT_TO_POINTER (FALSE),
              fixture_set_up, test_offline_errors, fixture_tear_down);
  g_test_add ("/model-catalog/offline/disk-cache", Fixture, GINT_TO_POINTER (FALSE),
              fixture_set_up, test_disk_cache_offline, fixture_tear_down);
  g_test_add ("/model-catalog/fake/molmo", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_fake_molmo, fixture_tear_down);
  g_test_add ("/model-catalog/fake/pinned-cache", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_fake_pinned_cache, fixture_tear_down);
  g_test_add ("/model-catalog/fake/official", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_fake_official, fixture_tear_down);
  g_test_add ("/model-catalog/fake/errors", Fixture, GINT_TO_POINTER (TRUE),
              fixture_set_up, test_fake_errors, fixture_tear_down);

  return g_test_run ();
}
