/* test-project.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "sq-project.h"
#include "sq-project-private.h"
#include "sq-test-util.h"

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("squint-project-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "sub", "dir", "test.squint", NULL);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      g_chmod (path, 0700);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  remove_tree (fixture->dir);
  g_free (fixture->dir);
  g_free (fixture->path);
}

static char *
file_checksum (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
}

static gint64
raw_pragma (const char *path,
            const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 value;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return value;
}

static void
raw_exec (const char *path,
          const char *sql)
{
  sqlite3 *db = NULL;
  char *message = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &message) != SQLITE_OK)
    g_error ("%s: %s", sql, message);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

/* A project with one prompt, two images, two models and a result per
 * image × model. Returns the result ids in @ids (4). */
static SqProject *
populate (const char *path,
          gint64     *ids)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = sq_project_open (path, &error);
  g_autoptr(GBytes) red = sq_test_make_filled_png (8, 8, TRUE, 0xff0000ff);
  g_autoptr(GBytes) blue = sq_test_make_filled_png (8, 8, TRUE, 0x0000ffff);
  gint64 prompt, images[2], models[2];
  guint n = 0;

  g_assert_no_error (error);
  prompt = sq_project_add_prompt (project, "What is shown?", &error);
  g_assert_no_error (error);
  images[0] = sq_project_add_image (project, red, NULL, "red.png", "image/png", 8, 8, red, &error);
  g_assert_no_error (error);
  images[1] = sq_project_add_image (project, blue, NULL, "blue.png", "image/png", 8, 8, NULL, &error);
  g_assert_no_error (error);
  models[0] = sq_project_add_model (project, "llava-13b", "yorickvp/llava-13b:abc", "{\"temperature\": 0.2}", &error);
  g_assert_no_error (error);
  models[1] = sq_project_add_model (project, "fuyu-8b", "lucataco/fuyu-8b:def", NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < 2; i++)
    for (guint m = 0; m < 2; m++)
      {
        ids[n] = sq_project_ensure_result (project, prompt, images[i], models[m], 0, &error);
        g_assert_no_error (error);
        g_assert_cmpint (ids[n], >, 0);
        n++;
      }
  return g_steal_pointer (&project);
}

/* ------------------------------------------------------------------ */

static void
test_create_reopen (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) prompts = NULL;
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) models = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autofree char *version = NULL;
  g_autofree char *created = NULL;
  g_autofree char *blind = NULL;
  SqProject *project;
  gint64 ids[4];

  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));
  project = populate (fixture->path, ids);
  g_assert_cmpstr (sq_project_get_path (project), ==, fixture->path);
  g_assert_false (sq_project_is_read_only (project));
  g_assert_true (sq_project_set_meta (project, "blind-key", "s3cret", &error));
  g_assert_no_error (error);
  g_assert_finalize_object (project);

  g_assert_cmpint (raw_pragma (fixture->path, "PRAGMA application_id"), ==, SQ_PROJECT_APPLICATION_ID);
  g_assert_cmpint (raw_pragma (fixture->path, "PRAGMA user_version"), ==, SQ_PROJECT_SCHEMA_VERSION);
  /* WAL is recorded in the header: bytes 18 and 19 are 2. */
  g_assert_cmpint (raw_pragma (fixture->path, "SELECT count (*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), ==, 1);

  project = sq_project_open (fixture->path, &error);
  g_assert_no_error (error);
  prompts = sq_project_list_prompts (project, &error);
  g_assert_no_error (error);
  images = sq_project_list_images (project, &error);
  g_assert_no_error (error);
  models = sq_project_list_models (project, &error);
  g_assert_no_error (error);
  results = sq_project_list_results (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_assert_cmpuint (images->len, ==, 2);
  g_assert_cmpuint (models->len, ==, 2);
  g_assert_cmpuint (results->len, ==, 4);
  g_assert_cmpstr (((SqModelRecord *) g_ptr_array_index (models, 0))->params_json, ==, "{\"temperature\": 0.2}");
  g_assert_cmpstr (((SqModelRecord *) g_ptr_array_index (models, 1))->params_json, ==, "{}");
  g_assert_cmpstr (((SqImageRecord *) g_ptr_array_index (images, 1))->name, ==, "blue.png");
  g_assert_cmpstr (sq_result_get_status (g_ptr_array_index (results, 0)), ==, "queued");
  g_assert_cmpstr (sq_result_get_response (g_ptr_array_index (results, 0)), ==, "");

  version = sq_project_get_meta (project, "squint_version", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (version, ==, PACKAGE_VERSION);
  created = sq_project_get_meta (project, "created_at", &error);
  g_assert_nonnull (created);
  blind = sq_project_get_meta (project, "blind-key", &error);
  g_assert_cmpstr (blind, ==, "s3cret");

  g_clear_pointer (&results, g_ptr_array_unref);
  g_assert_finalize_object (project);
}

static void
test_default_path (void)
{
  g_autofree char *path = sq_project_get_default_path ();
  g_autofree char *expected = g_build_filename (g_get_user_data_dir (), "squint", "current.squint", NULL);

  g_assert_cmpstr (path, ==, expected);
}

static void
test_image_dedup (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = sq_project_open (fixture->path, &error);
  g_autoptr(GBytes) png = sq_test_make_filled_png (16, 16, TRUE, 0x00ff00ff);
  g_autoptr(GBytes) thumb = sq_test_make_filled_png (4, 4, TRUE, 0x00ff00ff);
  g_autoptr(GBytes) stored = NULL;
  g_autoptr(GBytes) stored_thumb = NULL;
  g_autoptr(GPtrArray) images = NULL;
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, png);
  g_autofree char *upper = g_ascii_strup (sha, -1);
  gint64 a, b;

  g_assert_no_error (error);
  a = sq_project_add_image (project, png, sha, "one.png", "image/png", 16, 16, NULL, &error);
  g_assert_no_error (error);
  /* The same bytes under another name: the same row; the thumbnail fills in. */
  b = sq_project_add_image (project, png, upper, "two.png", "image/png", 16, 16, thumb, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a, ==, b);
  g_assert_cmpint (sq_project_find_image (project, sha, &error), ==, a);
  g_assert_cmpint (sq_project_find_image (project, "00", &error), ==, 0);
  g_assert_no_error (error);

  images = sq_project_list_images (project, &error);
  g_assert_cmpuint (images->len, ==, 1);
  g_assert_cmpstr (((SqImageRecord *) g_ptr_array_index (images, 0))->sha256, ==, sha);
  g_assert_cmpint (((SqImageRecord *) g_ptr_array_index (images, 0))->n_bytes, ==, g_bytes_get_size (png));

  stored = sq_project_get_image_bytes (project, a, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (stored, png));
  stored_thumb = sq_project_get_thumbnail (project, a, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (stored_thumb, thumb));

  /* A hash that does not match the bytes is refused. */
  g_assert_cmpint (sq_project_add_image (project, png, "ab", "x.png", "image/png", 1, 1, NULL, &error), ==, 0);
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_null (sq_project_get_image_bytes (project, 999, &error));
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Stored as a BLOB, not as text. */
  g_clear_object (&project);
  g_assert_cmpint (raw_pragma (fixture->path, "SELECT count (*) FROM images WHERE typeof (bytes) = 'blob'"), ==, 1);
}

static void
test_inputs_dedup (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = sq_project_open (fixture->path, &error);
  gint64 p1, p2, m1, m2, m3;

  g_assert_no_error (error);
  p1 = sq_project_add_prompt (project, "Describe", &error);
  p2 = sq_project_add_prompt (project, "Describe", &error);
  g_assert_no_error (error);
  g_assert_cmpint (p1, ==, p2);
  g_assert_cmpint (sq_project_add_prompt (project, "", &error), ==, 0);
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_INVALID);
  g_clear_error (&error);

  m1 = sq_project_add_model (project, "llava", "a/b:1", "{\"top_p\": 1}", &error);
  m2 = sq_project_add_model (project, "llava", "a/b:1", " {\"top_p\": 1}\n", &error);
  m3 = sq_project_add_model (project, "llava hot", "a/b:1", "{\"top_p\":1,\"temperature\":1.5}", &error);
  g_assert_no_error (error);
  g_assert_cmpint (m1, ==, m2);
  g_assert_cmpint (m1, !=, m3);
  g_assert_cmpint (sq_project_add_model (project, "x", "a/b:1", "[1]", &error), ==, 0);
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_INVALID);
}

static void
test_result_lifecycle (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = NULL;
  g_autoptr(SqResult) result = NULL;
  g_autoptr(GArray) cells = NULL;
  g_autoptr(GPtrArray) unfinished = NULL;
  gint64 ids[4];
  gint64 again;

  project = populate (fixture->path, ids);

  result = sq_project_get_result (project, ids[0], &error);
  g_assert_no_error (error);
  again = sq_project_ensure_result (project, sq_result_get_prompt_id (result), sq_result_get_image_id (result),
                                    sq_result_get_model_id (result), 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (again, ==, ids[0]);
  g_assert_cmpstr (sq_result_get_prompt (result), ==, "What is shown?");
  g_assert_cmpstr (sq_result_get_image_name (result), ==, "red.png");
  g_assert_cmpstr (sq_result_get_model_name (result), ==, "llava-13b");
  g_assert_cmpstr (sq_result_get_model_ref (result), ==, "yorickvp/llava-13b:abc");
  g_assert_null (sq_result_get_prediction_id (result));
  g_assert_cmpint (sq_result_get_ttft_ms (result), ==, -1);
  g_clear_object (&result);

  /* Every cell needs a run, two runs each: 8, four of them with rows. */
  cells = sq_project_list_cells_to_run (project, NULL, 0, NULL, 0, NULL, 0, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cells->len, ==, 8);
  g_assert_cmpint (g_array_index (cells, SqCell, 0).result_id, ==, ids[0]);
  g_assert_cmpint (g_array_index (cells, SqCell, 1).result_id, ==, 0);
  g_assert_cmpint (g_array_index (cells, SqCell, 1).run, ==, 1);
  g_clear_pointer (&cells, g_array_unref);

  g_assert_true (sq_project_set_result_started (project, ids[0], "pred-123", G_GINT64_CONSTANT (1700000000000000), &error));
  g_assert_no_error (error);
  result = sq_project_get_result (project, ids[0], &error);
  g_assert_cmpstr (sq_result_get_status (result), ==, "starting");
  g_assert_cmpstr (sq_result_get_prediction_id (result), ==, "pred-123");
  g_assert_cmpstr (sq_result_get_created_at (result), ==, "2023-11-14T22:13:20.000Z");
  g_assert_null (sq_result_get_started_at (result));
  g_clear_object (&result);

  g_assert_true (sq_project_update_response (project, ids[0], "A red", &error));
  g_assert_no_error (error);
  {
    const gint64 batch_ids[] = { ids[0], ids[1] };
    const char *texts[] = { "A red square", "ignored: still queued but processing now" };

    g_assert_true (sq_project_update_responses (project, batch_ids, texts, 2, &error));
    g_assert_no_error (error);
  }
  result = sq_project_get_result (project, ids[0], &error);
  g_assert_cmpstr (sq_result_get_status (result), ==, "processing");
  g_assert_cmpstr (sq_result_get_response (result), ==, "A red square");
  g_assert_nonnull (sq_result_get_started_at (result));
  g_assert_false (sq_result_is_finished (result));
  g_clear_object (&result);

  unfinished = sq_project_list_unfinished (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (unfinished->len, ==, 1);   /* ids[1] has no prediction id */
  g_assert_cmpint (sq_result_get_id (g_ptr_array_index (unfinished, 0)), ==, ids[0]);
  g_clear_pointer (&unfinished, g_ptr_array_unref);

  g_assert_true (sq_project_finish_result (project, ids[0], "succeeded", NULL, NULL, 120, 900, 0.75, &error));
  g_assert_no_error (error);
  /* A late batch does not undo the finish. */
  g_assert_true (sq_project_update_response (project, ids[0], "A", &error));
  result = sq_project_get_result (project, ids[0], &error);
  g_assert_cmpstr (sq_result_get_status (result), ==, "succeeded");
  g_assert_cmpstr (sq_result_get_response (result), ==, "A red square");
  g_assert_cmpint (sq_result_get_ttft_ms (result), ==, 120);
  g_assert_cmpint (sq_result_get_total_ms (result), ==, 900);
  g_assert_cmpfloat_with_epsilon (sq_result_get_predict_time (result), 0.75, 1e-9);
  g_assert_nonnull (sq_result_get_finished_at (result));
  g_assert_true (sq_result_is_finished (result));
  g_clear_object (&result);

  g_assert_true (sq_project_finish_result (project, ids[1], "failed", NULL, "Model crashed", -1, 50, -1, &error));
  result = sq_project_get_result (project, ids[1], &error);
  g_assert_cmpstr (sq_result_get_status (result), ==, "failed");
  g_assert_cmpstr (sq_result_get_error (result), ==, "Model crashed");
  g_assert_cmpint (sq_result_get_ttft_ms (result), ==, -1);
  g_clear_object (&result);

  /* The succeeded cell is done; the failed one is to run again. */
  cells = sq_project_list_cells_to_run (project, NULL, 0, NULL, 0, NULL, 0, 1, &error);
  g_assert_cmpuint (cells->len, ==, 3);
  g_assert_cmpint (g_array_index (cells, SqCell, 0).result_id, ==, ids[1]);
  g_clear_pointer (&cells, g_array_unref);

  /* A retry clears the earlier attempt. */
  g_assert_true (sq_project_set_result_started (project, ids[1], "pred-456", 0, &error));
  result = sq_project_get_result (project, ids[1], &error);
  g_assert_cmpstr (sq_result_get_status (result), ==, "starting");
  g_assert_null (sq_result_get_error (result));
  g_assert_cmpstr (sq_result_get_response (result), ==, "");
  g_assert_nonnull (sq_result_get_created_at (result));
  g_clear_object (&result);

  g_assert_false (sq_project_finish_result (project, ids[2], "processing", NULL, NULL, -1, -1, -1, &error));
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sq_project_set_result_started (project, 9999, "x", 0, &error));
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (sq_project_get_result (project, 9999, &error));
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (sq_project_ensure_result (project, 9999, 1, 1, 0, &error), ==, 0);
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_INVALID);   /* foreign key */
}

static void
test_ratings_null (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = NULL;
  g_autoptr(SqResult) result = NULL;
  g_autoptr(GPtrArray) ratings = NULL;
  gint64 ids[4];

  project = populate (fixture->path, ids);

  result = sq_project_get_result (project, ids[0], &error);
  g_assert_cmpfloat (sq_result_get_correctness (result), ==, -1);
  g_assert_cmpfloat (sq_result_get_relevance (result), ==, -1);
  g_assert_cmpuint (sq_result_get_n_ratings (result, SQ_CRITERION_CORRECTNESS), ==, 0);
  g_clear_object (&result);

  g_assert_true (sq_project_set_rating (project, ids[0], SQ_CRITERION_CORRECTNESS, 4, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (sq_project_set_rating (project, ids[0], SQ_CRITERION_CORRECTNESS, 5, NULL, &error));
  result = sq_project_get_result (project, ids[0], &error);
  g_assert_cmpfloat (sq_result_get_correctness (result), ==, 5);
  g_assert_cmpfloat (sq_result_get_relevance (result), ==, -1);
  g_clear_object (&result);

  /* Out of range: refused, the stored score stays. */
  g_assert_false (sq_project_set_rating (project, ids[0], SQ_CRITERION_CORRECTNESS, 6, NULL, &error));
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (sq_project_set_rating (project, 9999, SQ_CRITERION_CORRECTNESS, 3, NULL, &error));
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_cmpint (sq_project_get_rating (project, ids[0], SQ_CRITERION_CORRECTNESS, NULL, &error), ==, 5);

  /* 0 clears: the row goes, nothing stores a 0. */
  g_assert_true (sq_project_set_rating (project, ids[0], SQ_CRITERION_CORRECTNESS, 0, NULL, &error));
  g_assert_no_error (error);
  result = sq_project_get_result (project, ids[0], &error);
  g_assert_cmpfloat (sq_result_get_correctness (result), ==, -1);
  ratings = sq_project_list_ratings (project, &error);
  g_assert_cmpuint (ratings->len, ==, 0);
  g_clear_object (&project);
  g_assert_cmpint (raw_pragma (fixture->path, "SELECT count (*) FROM ratings"), ==, 0);
}

static void
test_multiple_raters (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = NULL;
  g_autoptr(SqResult) result = NULL;
  g_autoptr(GPtrArray) ratings = NULL;
  g_autofree char *note = NULL;
  gint64 ids[4];

  project = populate (fixture->path, ids);
  g_assert_true (sq_project_set_rating (project, ids[2], SQ_CRITERION_RELEVANCE, 3, "alice", &error));
  g_assert_true (sq_project_set_rating (project, ids[2], SQ_CRITERION_RELEVANCE, 4, "bob", &error));
  g_assert_true (sq_project_set_rating (project, ids[2], SQ_CRITERION_CORRECTNESS, 2, "bob", &error));
  g_assert_no_error (error);

  result = sq_project_get_result (project, ids[2], &error);
  g_assert_cmpfloat_with_epsilon (sq_result_get_relevance (result), 3.5, 1e-9);
  g_assert_cmpuint (sq_result_get_n_ratings (result, SQ_CRITERION_RELEVANCE), ==, 2);
  g_assert_cmpfloat (sq_result_get_correctness (result), ==, 2);
  g_clear_object (&result);
  g_assert_cmpint (sq_project_get_rating (project, ids[2], SQ_CRITERION_RELEVANCE, "alice", &error), ==, 3);
  g_assert_cmpint (sq_project_get_rating (project, ids[2], SQ_CRITERION_RELEVANCE, "carol", &error), ==, 0);

  ratings = sq_project_list_ratings (project, &error);
  g_assert_cmpuint (ratings->len, ==, 3);
  g_assert_cmpstr (((SqRating *) g_ptr_array_index (ratings, 0))->rater, ==, "bob");
  g_assert_cmpint (((SqRating *) g_ptr_array_index (ratings, 0))->criterion, ==, SQ_CRITERION_CORRECTNESS);

  /* Notes, one per rater */
  g_assert_true (sq_project_set_note (project, ids[2], "too short", "alice", &error));
  g_assert_true (sq_project_set_note (project, ids[2], "fine", "bob", &error));
  g_assert_no_error (error);
  note = sq_project_get_note (project, ids[2], "alice", &error);
  g_assert_cmpstr (note, ==, "too short");
  result = sq_project_get_result (project, ids[2], &error);
  g_assert_cmpstr (sq_result_get_note (result), ==, "too short\nfine");
  g_clear_object (&result);

  g_assert_true (sq_project_set_note (project, ids[2], "", "alice", &error));
  g_clear_pointer (&note, g_free);
  note = sq_project_get_note (project, ids[2], "alice", &error);
  g_assert_null (note);
  result = sq_project_get_result (project, ids[2], &error);
  g_assert_cmpstr (sq_result_get_note (result), ==, "fine");
}

/* The first schema, as version 1 of Squint wrote it. */
static const char v1_schema[] =
  "PRAGMA application_id = 1397837396;"
  "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;"
  "CREATE TABLE images (id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE CHECK (length (sha256) = 64),"
  "  name TEXT NOT NULL, mime_type TEXT NOT NULL, width INTEGER NOT NULL CHECK (width >= 0),"
  "  height INTEGER NOT NULL CHECK (height >= 0), bytes BLOB NOT NULL, thumbnail BLOB, added_at TEXT NOT NULL);"
  "CREATE TABLE prompts (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE, added_at TEXT NOT NULL);"
  "CREATE TABLE models (id INTEGER PRIMARY KEY, display_name TEXT NOT NULL, ref TEXT NOT NULL,"
  "  params_json TEXT NOT NULL DEFAULT '{}', added_at TEXT NOT NULL, UNIQUE (ref, params_json));"
  "CREATE TABLE results (id INTEGER PRIMARY KEY,"
  "  prompt_id INTEGER NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,"
  "  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,"
  "  model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,"
  "  run INTEGER NOT NULL DEFAULT 0 CHECK (run >= 0),"
  "  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN"
  "    ('queued', 'starting', 'processing', 'succeeded', 'failed', 'canceled', 'aborted')),"
  "  response TEXT NOT NULL DEFAULT '', error TEXT, note TEXT, prediction_id TEXT,"
  "  created_at TEXT, started_at TEXT, finished_at TEXT, ttft_ms INTEGER, total_ms INTEGER,"
  "  UNIQUE (prompt_id, image_id, model_id, run));"
  "CREATE INDEX results_image ON results (image_id);"
  "CREATE INDEX results_model ON results (model_id);"
  "CREATE INDEX results_status ON results (status);"
  "CREATE TABLE ratings (id INTEGER PRIMARY KEY,"
  "  result_id INTEGER NOT NULL REFERENCES results (id) ON DELETE CASCADE,"
  "  criterion TEXT NOT NULL CHECK (criterion IN ('correctness', 'relevance')),"
  "  score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5), rater TEXT NOT NULL DEFAULT '',"
  "  rated_at TEXT NOT NULL, UNIQUE (result_id, criterion, rater));"
  "INSERT INTO meta VALUES ('created_at', '2026-01-01T00:00:00.000Z');"
  "INSERT INTO prompts VALUES (1, 'What is it?', '2026-01-01T00:00:00.000Z');"
  "INSERT INTO images VALUES (1, '0000000000000000000000000000000000000000000000000000000000000001',"
  "  'a.png', 'image/png', 1, 1, x'89504e47', NULL, '2026-01-01T00:00:00.000Z');"
  "INSERT INTO models VALUES (1, 'llava-13b', 'yorickvp/llava-13b:abc', '{}', '2026-01-01T00:00:00.000Z');"
  "INSERT INTO results (id, prompt_id, image_id, model_id, run, status, response, note, finished_at, ttft_ms)"
  "  VALUES (1, 1, 1, 1, 0, 'succeeded', 'A cat.', 'looks right', '2026-01-01T00:01:00.000Z', 300);"
  "INSERT INTO ratings VALUES (1, 1, 'correctness', 4, '', '2026-01-01T00:02:00.000Z');"
  "PRAGMA user_version = 1;";

static void
test_migrate_v1 (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = NULL;
  g_autoptr(SqResult) result = NULL;
  g_autofree char *note = NULL;
  g_autofree char *dir = g_path_get_dirname (fixture->path);

  g_mkdir_with_parents (dir, 0700);
  raw_exec (fixture->path, v1_schema);
  g_assert_cmpint (raw_pragma (fixture->path, "PRAGMA user_version"), ==, 1);

  project = sq_project_open (fixture->path, &error);
  g_assert_no_error (error);
  result = sq_project_get_result (project, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_result_get_response (result), ==, "A cat.");
  g_assert_cmpstr (sq_result_get_note (result), ==, "looks right");
  g_assert_cmpfloat (sq_result_get_correctness (result), ==, 4);
  g_assert_cmpfloat (sq_result_get_predict_time (result), ==, -1);
  note = sq_project_get_note (project, 1, NULL, &error);
  g_assert_cmpstr (note, ==, "looks right");
  g_assert_true (sq_project_finish_result (project, 1, "succeeded", NULL, NULL, 300, 1000, 1.5, &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_clear_object (&project);

  g_assert_cmpint (raw_pragma (fixture->path, "PRAGMA user_version"), ==, SQ_PROJECT_SCHEMA_VERSION);
  g_assert_cmpint (raw_pragma (fixture->path, "SELECT count (*) FROM pragma_table_info ('results') WHERE name = 'note'"), ==, 0);
  g_assert_cmpint (raw_pragma (fixture->path, "SELECT count (*) FROM notes"), ==, 1);
}

static void assert_refused (const char *path,
                            int         code);

static void
test_migrate_failure (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *dir = g_path_get_dirname (fixture->path);
  g_autofree char *broken = NULL;

  /* Says version 1 but lacks the results.note column step 2 drops. */
  g_mkdir_with_parents (dir, 0700);
  broken = g_strjoin ("", "PRAGMA application_id = 1397837396;",
                      "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);",
                      "CREATE TABLE results (id INTEGER PRIMARY KEY, finished_at TEXT);",
                      "PRAGMA user_version = 1;", NULL);
  raw_exec (fixture->path, broken);
  assert_refused (fixture->path, SQ_PROJECT_ERROR_CORRUPT);
  g_assert_cmpint (raw_pragma (fixture->path, "PRAGMA user_version"), ==, 1);
}

static void
assert_refused (const char *path,
                int         code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = NULL;
  g_autofree char *before = file_checksum (path);
  g_autofree char *after = NULL;
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  gboolean had_wal = g_file_test (wal, G_FILE_TEST_EXISTS);

  project = sq_project_open (path, &error);
  g_assert_null (project);
  g_assert_error (error, SQ_PROJECT_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, base));

  after = file_checksum (path);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpint (had_wal, ==, g_file_test (wal, G_FILE_TEST_EXISTS));
}

static void
test_too_new (Fixture       *fixture,
              gconstpointer  data)
{
  gint64 ids[4];

  g_object_unref (populate (fixture->path, ids));
  raw_exec (fixture->path, "PRAGMA user_version = 99");
  assert_refused (fixture->path, SQ_PROJECT_ERROR_TOO_NEW);
  g_assert_cmpint (raw_pragma (fixture->path, "PRAGMA user_version"), ==, 99);
}

static void
test_corrupt (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *empty = g_build_filename (fixture->dir, "empty.squint", NULL);
  g_autofree char *random = g_build_filename (fixture->dir, "random.squint", NULL);
  g_autofree char *text = g_build_filename (fixture->dir, "text.squint", NULL);
  g_autofree char *foreign = g_build_filename (fixture->dir, "foreign.squint", NULL);
  g_autofree char *damaged = g_build_filename (fixture->dir, "damaged.squint", NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  g_autofree char *bytes = g_malloc (8192);
  g_autofree char *contents = NULL;
  gsize length;
  gint64 ids[4];

  g_file_set_contents (empty, "", 0, &error);
  for (guint i = 0; i < 8192; i++)
    bytes[i] = (char) g_rand_int_range (rand, 0, 256);
  g_file_set_contents (random, bytes, 8192, &error);
  g_file_set_contents (text, "id,name\n1,hello\n", -1, &error);
  g_assert_no_error (error);
  raw_exec (foreign, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");

  /* A real project with its pages after the first overwritten. */
  g_object_unref (populate (damaged, ids));
  g_file_get_contents (damaged, &contents, &length, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (length, >, 8192);
  for (gsize i = 4096; i < length; i++)
    contents[i] = bytes[i % 8192];
  g_file_set_contents (damaged, contents, length, &error);
  g_assert_no_error (error);

  assert_refused (empty, SQ_PROJECT_ERROR_CORRUPT);
  assert_refused (random, SQ_PROJECT_ERROR_CORRUPT);
  assert_refused (text, SQ_PROJECT_ERROR_CORRUPT);
  assert_refused (foreign, SQ_PROJECT_ERROR_CORRUPT);
  assert_refused (damaged, SQ_PROJECT_ERROR_CORRUPT);

  /* A folder is not a project either. */
  {
    g_autoptr(SqProject) project = sq_project_open (fixture->dir, &error);
    g_assert_null (project);
    g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_CORRUPT);
  }
}

/* Runs @func as an unprivileged user: root writes to 0444 files. */
static void
run_unprivileged (void (*func) (const char *),
                  const char *path)
{
  pid_t pid;
  int status = 0;

  if (geteuid () != 0)
    {
      func (path);
      return;
    }

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      if (setgid (65534) != 0 || setuid (65534) != 0)
        _exit (77);
      func (path);
      _exit (0);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 77)
    {
      g_test_skip ("cannot drop root privileges");
      return;
    }
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

static void
check_read_only (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = sq_project_open (path, &error);
  g_autoptr(GPtrArray) results = NULL;
  SqResult *first;

  g_assert_no_error (error);
  g_assert_true (sq_project_is_read_only (project));

  g_assert_false (sq_project_set_rating (project, 1, SQ_CRITERION_RELEVANCE, 2, NULL, &error));
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_READ_ONLY);
  g_assert_nonnull (strstr (error->message, "test.squint"));
  g_clear_error (&error);
  g_assert_cmpint (sq_project_add_prompt (project, "new", &error), ==, 0);
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_READ_ONLY);
  g_clear_error (&error);

  results = sq_project_list_results (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 4);
  first = g_ptr_array_index (results, 0);
  g_assert_cmpfloat (sq_result_get_correctness (first), ==, 3);
  g_assert_cmpfloat (sq_result_get_relevance (first), ==, -1);
  g_assert_cmpstr (sq_result_get_note (first), ==, "kept");
}

static void
test_read_only (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (fixture->path);
  g_autofree char *sub = g_path_get_dirname (dir);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  SqProject *project;
  gint64 ids[4];

  project = populate (fixture->path, ids);
  g_assert_cmpint (ids[0], ==, 1);
  g_assert_true (sq_project_set_rating (project, ids[0], SQ_CRITERION_CORRECTNESS, 3, NULL, &error));
  g_assert_true (sq_project_set_note (project, ids[0], "kept", NULL, &error));
  g_assert_no_error (error);
  g_assert_finalize_object (project);

  before = file_checksum (fixture->path);
  g_assert_cmpint (g_chmod (fixture->path, 0444), ==, 0);
  /* The folder stays writable (SQLite keeps its -shm there), and open to
   * the unprivileged user the test may switch to. */
  g_chmod (fixture->dir, 0777);
  g_chmod (sub, 0777);
  g_chmod (dir, 0777);
  run_unprivileged (check_read_only, fixture->path);
  after = file_checksum (fixture->path);
  g_assert_cmpstr (before, ==, after);
}

static void
test_disk_full (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) big = NULL;
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) prompts = NULL;
  g_autoptr(SqResult) result = NULL;
  g_autofree char *payload = g_malloc (256 * 1024);
  SqProject *project;
  gint64 ids[4];

  project = populate (fixture->path, ids);
  g_assert_true (sq_project_set_rating (project, ids[0], SQ_CRITERION_CORRECTNESS, 5, NULL, &error));
  g_assert_true (sq_project_finish_result (project, ids[0], "succeeded", "An answer", NULL, 10, 20, -1, &error));
  g_assert_no_error (error);

  _sq_project_limit_size (project, 0);
  for (guint i = 0; i < 256 * 1024; i++)
    payload[i] = (char) (i * 7919 % 251);
  big = g_bytes_new (payload, 256 * 1024);

  g_assert_cmpint (sq_project_add_image (project, big, NULL, "big.bin", "image/png", 1, 1, NULL, &error), ==, 0);
  g_assert_error (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NO_SPACE);
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* The failed write left no trace, and what was saved is still there. */
  images = sq_project_list_images (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (images->len, ==, 2);
  result = sq_project_get_result (project, ids[0], &error);
  g_assert_cmpfloat (sq_result_get_correctness (result), ==, 5);
  g_clear_object (&result);
  g_assert_finalize_object (project);

  project = sq_project_open (fixture->path, &error);
  g_assert_no_error (error);
  prompts = sq_project_list_prompts (project, &error);
  g_assert_cmpuint (prompts->len, ==, 1);
  g_clear_pointer (&images, g_ptr_array_unref);
  images = sq_project_list_images (project, &error);
  g_assert_cmpuint (images->len, ==, 2);
  result = sq_project_get_result (project, ids[0], &error);
  g_assert_cmpstr (sq_result_get_response (result), ==, "An answer");
  g_assert_cmpfloat (sq_result_get_correctness (result), ==, 5);
  g_clear_object (&result);
  /* With room again, writing works. */
  g_assert_cmpint (sq_project_add_image (project, big, NULL, "big.bin", "image/png", 1, 1, NULL, &error), >, 0);
  g_assert_no_error (error);
  g_assert_finalize_object (project);
}

/* The child writes and dies with SIGKILL, the project still open. */
static void
crash_child (const char *path)
{
  g_autoptr(GError) error = NULL;
  SqProject *project;
  gint64 ids[4];

  project = populate (path, ids);
  sq_project_set_result_started (project, ids[0], "pred-a", 0, &error);
  sq_project_update_response (project, ids[0], "The answer is", &error);
  sq_project_finish_result (project, ids[0], "succeeded", "The answer is 42", NULL, 5, 50, 0.1, &error);
  sq_project_set_rating (project, ids[0], SQ_CRITERION_CORRECTNESS, 4, NULL, &error);
  sq_project_set_rating (project, ids[0], SQ_CRITERION_RELEVANCE, 2, "bob", &error);
  sq_project_set_note (project, ids[0], "double-check", NULL, &error);
  sq_project_set_result_started (project, ids[1], "pred-b", 0, &error);
  sq_project_update_response (project, ids[1], "Half an ans", &error);
  if (error != NULL)
    _exit (3);
  kill (getpid (), SIGKILL);
  _exit (4);
}

static void
test_crash (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = NULL;
  g_autoptr(SqResult) result = NULL;
  g_autoptr(GPtrArray) unfinished = NULL;
  g_autofree char *wal = g_strconcat (fixture->path, "-wal", NULL);
  int status = 0;
  pid_t pid;

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    crash_child (fixture->path);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
  /* The committed work sits in the WAL, not yet checkpointed. */
  g_assert_true (g_file_test (wal, G_FILE_TEST_EXISTS));

  project = sq_project_open (fixture->path, &error);
  g_assert_no_error (error);
  result = sq_project_get_result (project, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sq_result_get_status (result), ==, "succeeded");
  g_assert_cmpstr (sq_result_get_response (result), ==, "The answer is 42");
  g_assert_cmpfloat (sq_result_get_correctness (result), ==, 4);
  g_assert_cmpfloat (sq_result_get_relevance (result), ==, 2);
  g_assert_cmpstr (sq_result_get_note (result), ==, "double-check");
  g_assert_cmpint (sq_result_get_total_ms (result), ==, 50);

  unfinished = sq_project_list_unfinished (project, &error);
  g_assert_cmpuint (unfinished->len, ==, 1);
  g_assert_cmpstr (sq_result_get_prediction_id (g_ptr_array_index (unfinished, 0)), ==, "pred-b");
  g_assert_cmpstr (sq_result_get_response (g_ptr_array_index (unfinished, 0)), ==, "Half an ans");
}

static void
test_save_as (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *copy = g_build_filename (fixture->dir, "copy", "saved.squint", NULL);
  g_autofree char *copy_dir = g_path_get_dirname (copy);
  g_autoptr(GPtrArray) prompts = NULL;
  SqProject *project;
  gint64 ids[4];

  project = populate (fixture->path, ids);
  g_assert_true (sq_project_set_rating (project, ids[3], SQ_CRITERION_RELEVANCE, 5, NULL, &error));
  /* Something already at the destination is replaced. */
  g_mkdir_with_parents (copy_dir, 0700);
  g_file_set_contents (copy, "old", -1, &error);
  g_assert_no_error (error);

  g_assert_true (sq_project_save_as (project, copy, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (sq_project_get_path (project), ==, copy);
  /* Later changes go to the copy. */
  g_assert_cmpint (sq_project_add_prompt (project, "Second prompt", &error), >, 0);
  g_assert_finalize_object (project);

  g_assert_cmpint (raw_pragma (fixture->path, "SELECT count (*) FROM prompts"), ==, 1);
  g_assert_cmpint (raw_pragma (copy, "SELECT count (*) FROM prompts"), ==, 2);
  g_assert_cmpint (raw_pragma (copy, "SELECT count (*) FROM ratings"), ==, 1);
  g_assert_cmpint (raw_pragma (copy, "PRAGMA application_id"), ==, SQ_PROJECT_APPLICATION_ID);

  project = sq_project_open (copy, &error);
  g_assert_no_error (error);
  prompts = sq_project_list_prompts (project, &error);
  g_assert_cmpuint (prompts->len, ==, 2);

  /* Saving into a folder that cannot be made fails and changes nothing. */
  g_assert_false (sq_project_save_as (project, "/proc/squint/nope.squint", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpstr (sq_project_get_path (project), ==, copy);
  g_assert_cmpint (sq_project_add_prompt (project, "Third", &error), >, 0);
  g_assert_no_error (error);
  g_assert_finalize_object (project);
}

/* ------------------------------------------------------------------ */
/* Async                                                               */

typedef struct
{
  GMainLoop  *loop;
  SqProject  *project;
  GPtrArray  *results;
  gint64      id;
  guint       pending;
  guint       changed;
  GError     *error;
} AsyncState;

static void
opened_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  AsyncState *state = user_data;

  state->project = sq_project_open_finish (result, &state->error);
  g_main_loop_quit (state->loop);
}

static void
id_cb (GObject      *source,
       GAsyncResult *result,
       gpointer      user_data)
{
  AsyncState *state = user_data;
  g_autoptr(GError) error = NULL;

  state->id = sq_project_ensure_result_finish (SQ_PROJECT (source), result, &error);
  g_assert_no_error (error);
  g_main_loop_quit (state->loop);
}

static void
boolean_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  AsyncState *state = user_data;
  g_autoptr(GError) error = NULL;
  GTask *task = G_TASK (result);
  gpointer tag = g_task_get_source_tag (task);
  gboolean ok;

  if (tag == sq_project_update_responses_async)
    ok = sq_project_update_responses_finish (SQ_PROJECT (source), result, &error);
  else if (tag == sq_project_finish_result_async)
    ok = sq_project_finish_result_finish (SQ_PROJECT (source), result, &error);
  else if (tag == sq_project_set_rating_async)
    ok = sq_project_set_rating_finish (SQ_PROJECT (source), result, &error);
  else if (tag == sq_project_set_note_async)
    ok = sq_project_set_note_finish (SQ_PROJECT (source), result, &error);
  else if (tag == sq_project_set_result_started_async)
    ok = sq_project_set_result_started_finish (SQ_PROJECT (source), result, &error);
  else
    g_assert_not_reached ();
  g_assert_no_error (error);
  g_assert_true (ok);
  if (--state->pending == 0)
    g_main_loop_quit (state->loop);
}

static void
list_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  AsyncState *state = user_data;

  state->results = sq_project_list_results_finish (SQ_PROJECT (source), result, &state->error);
  g_main_loop_quit (state->loop);
}

static void
results_changed_cb (SqProject *project,
                    gint64     result_id,
                    gpointer   user_data)
{
  AsyncState *state = user_data;

  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  state->changed++;
}

static void
test_async (Fixture       *fixture,
            gconstpointer  data)
{
  AsyncState state = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gint64 prompt, image, model;
  g_autoptr(GBytes) png = sq_test_make_filled_png (4, 4, TRUE, 0xffffffff);
  SqResult *row;
  const char *texts[] = { "partial" };
  gint64 batch_ids[1];

  state.loop = g_main_loop_new (NULL, FALSE);
  sq_project_open_async (fixture->path, NULL, opened_cb, &state);
  g_main_loop_run (state.loop);
  g_assert_no_error (state.error);
  g_assert_nonnull (state.project);
  g_signal_connect (state.project, "results-changed", G_CALLBACK (results_changed_cb), &state);

  prompt = sq_project_add_prompt (state.project, "p", &error);
  image = sq_project_add_image (state.project, png, NULL, "w.png", "image/png", 4, 4, NULL, &error);
  model = sq_project_add_model (state.project, "m", "o/m:1", NULL, &error);
  g_assert_no_error (error);

  sq_project_ensure_result_async (state.project, prompt, image, model, 0, NULL, id_cb, &state);
  g_main_loop_run (state.loop);
  g_assert_cmpint (state.id, >, 0);

  /* Queued in this order, written in this order: the finish wins. */
  batch_ids[0] = state.id;
  state.pending = 5;
  sq_project_set_result_started_async (state.project, state.id, "p1", 0, NULL, boolean_cb, &state);
  sq_project_update_responses_async (state.project, batch_ids, texts, 1, NULL, boolean_cb, &state);
  sq_project_finish_result_async (state.project, state.id, "succeeded", "complete", NULL, 1, 2, -1,
                                  NULL, boolean_cb, &state);
  sq_project_set_rating_async (state.project, state.id, SQ_CRITERION_CORRECTNESS, 3, NULL, NULL, boolean_cb, &state);
  sq_project_set_note_async (state.project, state.id, "async note", NULL, NULL, boolean_cb, &state);
  g_main_loop_run (state.loop);
  g_assert_cmpuint (state.changed, >=, 5);

  sq_project_list_results_async (state.project, NULL, list_cb, &state);
  g_main_loop_run (state.loop);
  g_assert_no_error (state.error);
  g_assert_cmpuint (state.results->len, ==, 1);
  row = g_ptr_array_index (state.results, 0);
  g_assert_cmpstr (sq_result_get_response (row), ==, "complete");
  g_assert_cmpstr (sq_result_get_status (row), ==, "succeeded");
  g_assert_cmpfloat (sq_result_get_correctness (row), ==, 3);
  g_assert_cmpstr (sq_result_get_note (row), ==, "async note");
  {
    g_autofree char *status = NULL;
    double correctness = 0;

    g_object_get (row, "status", &status, "correctness", &correctness, NULL);
    g_assert_cmpstr (status, ==, "succeeded");
    g_assert_cmpfloat (correctness, ==, 3);
  }
  g_clear_pointer (&state.results, g_ptr_array_unref);

  /* A cancelled read reports the cancellation. */
  g_cancellable_cancel (cancellable);
  sq_project_list_results_async (state.project, cancellable, list_cb, &state);
  g_main_loop_run (state.loop);
  g_assert_error (state.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&state.error);

  /* The worker thread drops its reference on each task just after
   * returning it; wait for the last ones. */
  while (G_OBJECT (state.project)->ref_count > 1)
    g_main_context_iteration (NULL, FALSE);
  g_assert_finalize_object (state.project);
  g_main_loop_unref (state.loop);
}

static void
test_open_async_error (Fixture       *fixture,
                       gconstpointer  data)
{
  AsyncState state = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "bad.squint", NULL);

  g_file_set_contents (path, "not a database at all, just text that is long enough", -1, &error);
  g_assert_no_error (error);
  state.loop = g_main_loop_new (NULL, FALSE);
  sq_project_open_async (path, NULL, opened_cb, &state);
  g_main_loop_run (state.loop);
  g_assert_null (state.project);
  g_assert_error (state.error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_CORRUPT);
  g_clear_error (&state.error);
  g_main_loop_unref (state.loop);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/project/create-reopen", test_create_reopen);
  g_test_add_func ("/project/default-path", test_default_path);
  ADD ("/project/image-dedup", test_image_dedup);
  ADD ("/project/inputs-dedup", test_inputs_dedup);
  ADD ("/project/result-lifecycle", test_result_lifecycle);
  ADD ("/project/ratings-null", test_ratings_null);
  ADD ("/project/multiple-raters", test_multiple_raters);
  ADD ("/project/migrate-v1", test_migrate_v1);
  ADD ("/project/migrate-failure", test_migrate_failure);
  ADD ("/project/refuse/too-new", test_too_new);
  ADD ("/project/refuse/corrupt", test_corrupt);
  ADD ("/project/read-only", test_read_only);
  ADD ("/project/disk-full", test_disk_full);
  ADD ("/project/crash", test_crash);
  ADD ("/project/save-as", test_save_as);
  ADD ("/project/async", test_async);
  ADD ("/project/open-async-error", test_open_async_error);

#undef ADD

  return g_test_run ();
}
