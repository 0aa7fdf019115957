/* fuzz-project-open.c
 *
 * libFuzzer harness for the project loader: the input is written to a
 * file and opened. Either it opens, and every list and every export
 * works on whatever the file holds, or it is refused with an
 * SQ_PROJECT_ERROR and the file is left byte-for-byte unchanged.
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

#include <glib/gstdio.h>

#include "sq-exporter.h"
#include "sq-project.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

#define CHECK(cond) G_STMT_START { if (!(cond)) { g_printerr ("fuzz-project-open: check failed: %s\n", #cond); abort (); } } G_STMT_END

static void
remove_files (const char *path)
{
  static const char * const suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);
      g_unlink (file);
    }
}

static void
exercise (SqProject *project)
{
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) prompts = NULL;
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) models = NULL;
  g_autoptr(GPtrArray) ratings = NULL;
  g_autoptr(GPtrArray) unfinished = NULL;
  g_autoptr(GArray) cells = NULL;

  /* Any of these may fail on a damaged file, but must not crash. */
  results = sq_project_list_results (project, NULL);
  prompts = sq_project_list_prompts (project, NULL);
  images = sq_project_list_images (project, NULL);
  models = sq_project_list_models (project, NULL);
  ratings = sq_project_list_ratings (project, NULL);
  unfinished = sq_project_list_unfinished (project, NULL);
  cells = sq_project_list_cells_to_run (project, NULL, 0, NULL, 0, NULL, 0, 1, NULL);

  for (guint i = 0; images != NULL && i < images->len; i++)
    {
      SqImageRecord *image = g_ptr_array_index (images, i);
      GBytes *thumbnail = sq_project_get_thumbnail (project, image->id, NULL);

      g_clear_pointer (&thumbnail, g_bytes_unref);
    }

  for (guint format = 0; format < SQ_N_EXPORT_FORMATS; format++)
    {
      g_autoptr(GOutputStream) stream = g_memory_output_stream_new_resizable ();

      sq_exporter_write (project, format, stream, NULL, NULL);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static char *dir;
  g_autofree char *path = NULL;
  g_autofree char *before = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = NULL;

  if (dir == NULL)
    {
      dir = g_dir_make_tmp ("squint-fuzz-XXXXXX", NULL);
      CHECK (dir != NULL);
    }
  path = g_build_filename (dir, "fuzz.squint", NULL);
  remove_files (path);
  CHECK (g_file_set_contents (path, (const char *) data, size, NULL));
  before = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, size);

  project = sq_project_open (path, &error);
  if (project == NULL)
    {
      g_autofree char *contents = NULL;
      g_autofree char *after = NULL;
      gsize length = 0;

      CHECK (error != NULL);
      CHECK (error->domain == SQ_PROJECT_ERROR);
      CHECK (g_file_get_contents (path, &contents, &length, NULL));
      after = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
      CHECK (strcmp (before, after) == 0);
    }
  else
    {
      CHECK (error == NULL);
      exercise (project);
      g_clear_object (&project);
    }

  remove_files (path);
  return 0;
}
