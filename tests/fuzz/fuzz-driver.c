/* fuzz-driver.c
 *
 * Runs a libFuzzer target over every file of the corpus directories
 * given on the command line, without libFuzzer, so the harness and its
 * seed corpus are exercised in ordinary test runs. One GTest case per
 * file; a failed check in the target aborts the test.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdint.h>

#include <gio/gio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static void
run_file (gconstpointer user_data)
{
  const char *path = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);

  g_assert_cmpint (LLVMFuzzerTestOneInput ((const uint8_t *) contents, length), ==, 0);

  /* Every chunking seed over the same bytes. */
  for (guint seed = 0; seed < 256 && length > 0; seed++)
    {
      g_autofree char *copy = g_memdup2 (contents, length);

      copy[0] = (char) seed;
      g_assert_cmpint (LLVMFuzzerTestOneInput ((const uint8_t *) copy, length), ==, 0);
    }
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  /* g_ptr_array_sort passes pointers to the elements */
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  int status;

  g_test_init (&argc, &argv, NULL);

  /* An empty input must be fine too. */
  g_assert_cmpint (LLVMFuzzerTestOneInput ((const uint8_t *) "", 0), ==, 0);

  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GDir) dir = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *base = g_path_get_basename (argv[i]);
      const char *name;

      dir = g_dir_open (argv[i], 0, &error);
      g_assert_no_error (error);

      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_sort (names, compare_names);

      g_assert_cmpuint (names->len, >, 0);

      for (guint j = 0; j < names->len; j++)
        {
          const char *file = g_ptr_array_index (names, j);
          g_autofree char *test_path = g_strdup_printf ("/fuzz/%s/%s", base, file);
          char *path = g_build_filename (argv[i], file, NULL);

          g_ptr_array_add (paths, path);
          g_test_add_data_func (test_path, path, run_file);
        }
    }

  status = g_test_run ();

  return status;
}
