/* test-prompt-history.c
 *
 * SqPromptHistory: most recent first, deduplicated, searchable, kept
 * on disk.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "sq-prompt-history.h"
#include "sq-test-util.h"

static char *tmpdir;

static gboolean
load (SqPromptHistory  *history,
      GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_prompt_history_load_async (history, NULL, sq_test_store_result_cb, &result);
  return sq_prompt_history_load_finish (history, sq_test_wait_result (&result), error);
}

static gboolean
save (SqPromptHistory  *history,
      GError          **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  sq_prompt_history_save_async (history, NULL, sq_test_store_result_cb, &result);
  return sq_prompt_history_save_finish (history, sq_test_wait_result (&result), error);
}

static GFile *
temp_file (const char *name)
{
  return g_file_new_build_filename (tmpdir, "nested", name, NULL);
}

static void
test_order_and_dedup (void)
{
  g_autoptr(SqPromptHistory) history = sq_prompt_history_new (NULL);

  sq_prompt_history_add (history, "what is shown in this image?");
  sq_prompt_history_add (history, "  how many people?  ");
  sq_prompt_history_add (history, "");
  sq_prompt_history_add (history, "   ");
  sq_prompt_history_add (history, NULL);
  g_assert_cmpuint (sq_prompt_history_get_n_prompts (history), ==, 2);
  g_assert_cmpstr (sq_prompt_history_get_prompt (history, 0), ==, "how many people?");
  g_assert_cmpstr (sq_prompt_history_get_prompt (history, 1), ==, "what is shown in this image?");
  g_assert_null (sq_prompt_history_get_prompt (history, 2));

  /* Asking again moves it to the front, once. */
  sq_prompt_history_add (history, "what is shown in this image?\n");
  g_assert_cmpuint (sq_prompt_history_get_n_prompts (history), ==, 2);
  g_assert_cmpstr (sq_prompt_history_get_prompt (history, 0), ==, "what is shown in this image?");

  for (guint i = 0; i < SQ_PROMPT_HISTORY_MAX + 10; i++)
    {
      g_autofree char *prompt = g_strdup_printf ("prompt %u", i);

      sq_prompt_history_add (history, prompt);
    }
  g_assert_cmpuint (sq_prompt_history_get_n_prompts (history), ==, SQ_PROMPT_HISTORY_MAX);
  g_assert_cmpstr (sq_prompt_history_get_prompt (history, 0), ==, "prompt 209");

  sq_prompt_history_clear (history);
  g_assert_cmpuint (sq_prompt_history_get_n_prompts (history), ==, 0);
}

static void
test_search (void)
{
  g_autoptr(SqPromptHistory) history = sq_prompt_history_new (NULL);
  g_autoptr(GPtrArray) found = NULL;

  sq_prompt_history_add (history, "What is shown in this image?");
  sq_prompt_history_add (history, "how many people are shown in the image?");
  sq_prompt_history_add (history, "Is there anything UNUSUAL in the Äpfel image?");

  found = sq_prompt_history_search (history, "SHOWN");
  g_assert_cmpuint (found->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (found, 0), ==, "how many people are shown in the image?");
  g_clear_pointer (&found, g_ptr_array_unref);

  found = sq_prompt_history_search (history, "image what");
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (found, 0), ==, "What is shown in this image?");
  g_clear_pointer (&found, g_ptr_array_unref);

  found = sq_prompt_history_search (history, "äpfel unusual");
  g_assert_cmpuint (found->len, ==, 1);
  g_clear_pointer (&found, g_ptr_array_unref);

  found = sq_prompt_history_search (history, "giraffe");
  g_assert_cmpuint (found->len, ==, 0);
  g_clear_pointer (&found, g_ptr_array_unref);

  found = sq_prompt_history_search (history, "");
  g_assert_cmpuint (found->len, ==, 3);
}

static void
test_persist (void)
{
  g_autoptr(GFile) file = temp_file ("history.json");
  g_autoptr(SqPromptHistory) history = sq_prompt_history_new (file);
  g_autoptr(SqPromptHistory) again = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (load (history, &error));
  g_assert_no_error (error);
  g_assert_true (sq_prompt_history_is_first_run (history));
  g_assert_cmpuint (sq_prompt_history_get_n_prompts (history), ==, 0);

  sq_prompt_history_add (history, "first");
  sq_prompt_history_add (history, "second \"quoted\"\nline");
  g_assert_true (save (history, &error));
  g_assert_no_error (error);

  again = sq_prompt_history_new (file);
  sq_prompt_history_add (again, "typed while loading");
  g_assert_true (load (again, &error));
  g_assert_no_error (error);
  g_assert_false (sq_prompt_history_is_first_run (again));
  g_assert_cmpuint (sq_prompt_history_get_n_prompts (again), ==, 3);
  g_assert_cmpstr (sq_prompt_history_get_prompt (again, 0), ==, "typed while loading");
  g_assert_cmpstr (sq_prompt_history_get_prompt (again, 1), ==, "second \"quoted\"\nline");
  g_assert_cmpstr (sq_prompt_history_get_prompt (again, 2), ==, "first");

  g_assert_true (g_file_delete (file, NULL, NULL));
}

static void
test_damaged (void)
{
  g_autoptr(GFile) file = temp_file ("damaged.json");
  g_autoptr(SqPromptHistory) history = sq_prompt_history_new (file);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_file_get_path (file);
  g_autofree char *parent = g_path_get_dirname (path);

  g_mkdir_with_parents (parent, 0700);
  g_assert_true (g_file_set_contents (path, "{\"not\": \"a list\"", -1, NULL));

  g_assert_false (load (history, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "damaged.json"));
  g_assert_cmpuint (sq_prompt_history_get_n_prompts (history), ==, 0);

  g_assert_true (g_file_delete (file, NULL, NULL));
}

static void
test_suggestions (void)
{
  const char * const *suggestions = sq_prompt_history_get_suggestions ();

  g_assert_cmpuint (g_strv_length ((char **) suggestions), ==, 3);
  g_assert_cmpstr (suggestions[0], ==, "what is shown in this image?");
  g_assert_cmpstr (suggestions[1], ==, "how many people are shown in the image?");
  g_assert_cmpstr (suggestions[2], ==, "is there anything unusual in the image?");
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *nested = NULL;
  int ret;

  tmpdir = sq_test_make_xdg_tmpdir ("squint-prompt-history-XXXXXX");

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/prompt-history/order-and-dedup", test_order_and_dedup);
  g_test_add_func ("/prompt-history/search", test_search);
  g_test_add_func ("/prompt-history/persist", test_persist);
  g_test_add_func ("/prompt-history/damaged", test_damaged);
  g_test_add_func ("/prompt-history/suggestions", test_suggestions);

  ret = g_test_run ();

  nested = g_build_filename (tmpdir, "nested", NULL);
  g_rmdir (nested);
  g_rmdir (tmpdir);
  g_free (tmpdir);

  return ret;
}
