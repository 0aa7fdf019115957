/* test-workspace.c
 *
 * SqWorkspace: the project, client and catalog the window's views share.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>

#include "sq-error.h"
#include "sq-fake-replicate.h"
#include "sq-workspace.h"
#include "sq-test-util.h"

static char *tmpdir;

static void
count_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
test_no_token (void)
{
  g_autoptr(SqWorkspace) workspace = sq_workspace_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  SqModelCatalog *offline_catalog;

  g_unsetenv ("REPLICATE_API_TOKEN");

  offline_catalog = sq_workspace_get_catalog (workspace);
  g_assert_nonnull (offline_catalog);
  g_assert_null (sq_workspace_get_client (workspace));

  sq_workspace_reload_client_async (workspace, NULL, sq_test_store_result_cb, &result);
  g_assert_false (sq_workspace_reload_client_finish (workspace, sq_test_wait_result (&result), &error));
  g_assert_error (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_CONFIG);

  g_assert_null (sq_workspace_get_client (workspace));
  g_assert_nonnull (sq_workspace_get_client_error (workspace));
  g_assert_cmpint (sq_workspace_get_token_source (workspace), ==, SQ_TOKEN_SOURCE_NONE);
  g_assert_nonnull (sq_workspace_get_catalog (workspace));
}

static void
test_env_token (void)
{
  g_autoptr(SqFakeReplicate) fake = sq_fake_replicate_new ();
  g_autoptr(SqWorkspace) workspace = sq_workspace_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *api_url = NULL;
  guint client_notifies = 0;
  guint catalog_notifies = 0;

  sq_test_setenv_fake (fake);

  g_signal_connect (workspace, "notify::client", G_CALLBACK (count_notify_cb), &client_notifies);
  g_signal_connect (workspace, "notify::catalog", G_CALLBACK (count_notify_cb), &catalog_notifies);

  sq_workspace_reload_client_async (workspace, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_workspace_reload_client_finish (workspace, sq_test_wait_result (&result), &error));
  g_assert_no_error (error);

  g_assert_nonnull (sq_workspace_get_client (workspace));
  g_assert_null (sq_workspace_get_client_error (workspace));
  g_assert_cmpint (sq_workspace_get_token_source (workspace), ==, SQ_TOKEN_SOURCE_ENVIRONMENT);
  g_assert_cmpuint (client_notifies, ==, 1);
  g_assert_cmpuint (catalog_notifies, ==, 1);

  api_url = g_strdup_printf ("%s/v1", sq_fake_replicate_get_origin (fake));
  g_assert_cmpstr (sq_replicate_client_get_api_url (sq_workspace_get_client (workspace)), ==, api_url);

  /* Losing the token drops the client again. */
  g_clear_object (&result);
  g_unsetenv ("REPLICATE_API_TOKEN");
  sq_workspace_reload_client_async (workspace, NULL, sq_test_store_result_cb, &result);
  g_assert_false (sq_workspace_reload_client_finish (workspace, sq_test_wait_result (&result), NULL));
  g_assert_null (sq_workspace_get_client (workspace));
  g_assert_cmpuint (client_notifies, ==, 2);

  g_unsetenv ("REPLICATE_BASE_URL");
}

static void
test_open_project (void)
{
  g_autoptr(SqWorkspace) workspace = sq_workspace_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) result2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (tmpdir, "a.squint", NULL);
  g_autofree char *bad = g_build_filename (tmpdir, "bad.squint", NULL);
  SqProject *project;
  guint notifies = 0;

  g_signal_connect (workspace, "notify::project", G_CALLBACK (count_notify_cb), &notifies);
  g_assert_null (sq_workspace_get_project (workspace));

  sq_workspace_open_project_async (workspace, path, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_workspace_open_project_finish (workspace, sq_test_wait_result (&result), &error));
  g_assert_no_error (error);
  project = sq_workspace_get_project (workspace);
  g_assert_nonnull (project);
  g_assert_cmpuint (notifies, ==, 1);
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));

  /* A file that is not a project fails and keeps the open one. */
  g_assert_true (g_file_set_contents (bad, "not a database", -1, NULL));
  sq_workspace_open_project_async (workspace, bad, NULL, sq_test_store_result_cb, &result2);
  g_assert_false (sq_workspace_open_project_finish (workspace, sq_test_wait_result (&result2), &error));
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_CORRUPT);
  g_assert_true (sq_workspace_get_project (workspace) == project);
  g_assert_cmpuint (notifies, ==, 1);
}

static void
test_default_project (void)
{
  g_autoptr(SqWorkspace) workspace = sq_workspace_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = sq_project_get_default_path ();

  sq_workspace_open_project_async (workspace, NULL, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_workspace_open_project_finish (workspace, sq_test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (expected, tmpdir));
  g_assert_true (g_file_test (expected, G_FILE_TEST_EXISTS));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *data_home = NULL;
  g_autofree char *cache_home = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  tmpdir = g_dir_make_tmp ("squint-test-workspace-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  data_home = g_build_filename (tmpdir, "data", NULL);
  cache_home = g_build_filename (tmpdir, "cache", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  sq_test_use_file_keyring (cache_home);
  g_unsetenv ("REPLICATE_BASE_URL");

  g_test_add_func ("/workspace/client/no-token", test_no_token);
  g_test_add_func ("/workspace/client/env-token", test_env_token);
  g_test_add_func ("/workspace/project/open", test_open_project);
  g_test_add_func ("/workspace/project/default", test_default_project);

  ret = g_test_run ();

  g_free (tmpdir);

  return ret;
}
