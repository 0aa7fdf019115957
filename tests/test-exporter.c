/* test-exporter.c
 *
 * Every format is parsed back: CSV with the small RFC 4180 parser below,
 * JSON and JSONL with json-glib, Markdown by its table rows, HTML by
 * looking for any markup the payloads could have smuggled in.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "sq-exporter.h"
#include "sq-project.h"
#include "sq-test-util.h"

/* Model output (and a prompt) that try to break out of every format. */
static const char * const payloads[] = {
  "<script>alert(1)</script>",
  "\"><img src=x onerror=alert(1)>",
  "a | b || c",
  "line one\nline two\r\nline three\rline four",
  "```\nrm -rf /\n``` and `code`",
  "=HYPERLINK(\"http://evil.example\",\"click\")",
  "+1+2",
  "-2+3",
  "@SUM(A1:A2)",
  "\tstarts with a tab",
  "\rstarts with a CR",
  "[link](javascript:alert(1)) ![img](x) **bold** _it_ ~~s~~ \\ #",
  "Plain answer, with a comma and \"quotes\".",
  "Ünïcödé ✓ 图片",
};

typedef struct
{
  char      *dir;
  SqProject *project;
  GPtrArray *expected;   /* (element-type utf8) response of each row, in export order */
  guint      n_ratings;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GBytes) png = sq_test_make_filled_png (6, 6, TRUE, 0x336699ff);
  gint64 prompt, evil_prompt, image, model_a, model_b;
  guint n = 0;

  fixture->dir = g_dir_make_tmp ("squint-export-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (fixture->dir, "report.squint", NULL);
  fixture->project = sq_project_open (path, &error);
  g_assert_no_error (error);
  fixture->expected = g_ptr_array_new ();

  prompt = sq_project_add_prompt (fixture->project, "What is shown?", &error);
  evil_prompt = sq_project_add_prompt (fixture->project, "=cmd|' /C calc'!A0 <b>bold</b> | pipe", &error);
  image = sq_project_add_image (fixture->project, png, NULL, "\"><img src=x onerror=alert(2)>.png",
                                "image/png", 6, 6, png, &error);
  model_a = sq_project_add_model (fixture->project, "llava-13b", "yorickvp/llava-13b:abc",
                                  "{\"temperature\":0.2}", &error);
  model_b = sq_project_add_model (fixture->project, "<i>fuyu</i>", "lucataco/fuyu-8b:def", NULL, &error);
  g_assert_no_error (error);

  /* One result per payload, over prompts × models × runs, added in
   * export order: prompt, image, model, run. */
  for (guint p = 0; p < 2; p++)
    for (guint m = 0; m < 2; m++)
      for (guint run = 0; n < G_N_ELEMENTS (payloads) && run < 4; run++)
        {
          gint64 id = sq_project_ensure_result (fixture->project, p ? evil_prompt : prompt, image,
                                                m ? model_b : model_a, run, &error);
          g_assert_no_error (error);
          g_assert_true (sq_project_set_result_started (fixture->project, id, "pred-x", 0, &error));
          g_assert_true (sq_project_finish_result (fixture->project, id, n % 5 == 4 ? "failed" : "succeeded",
                                                   payloads[n], n % 5 == 4 ? payloads[(n + 1) % G_N_ELEMENTS (payloads)] : NULL,
                                                   100 + n, 1000 + n, 0.5, &error));
          g_assert_no_error (error);
          if (n % 3 == 0)
            {
              g_assert_true (sq_project_set_rating (fixture->project, id, SQ_CRITERION_CORRECTNESS, 3, "alice", &error));
              g_assert_true (sq_project_set_rating (fixture->project, id, SQ_CRITERION_CORRECTNESS, 4, "bob", &error));
              g_assert_true (sq_project_set_rating (fixture->project, id, SQ_CRITERION_RELEVANCE, 5, "alice", &error));
              fixture->n_ratings += 3;
            }
          if (n % 4 == 1)
            g_assert_true (sq_project_set_note (fixture->project, id, payloads[(n + 2) % G_N_ELEMENTS (payloads)],
                                                NULL, &error));
          g_assert_no_error (error);
          g_ptr_array_add (fixture->expected, (gpointer) payloads[n]);
          n++;
        }
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (payloads));
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  g_assert_finalize_object (fixture->project);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (fixture->dir, name, NULL);
      g_unlink (child);
    }
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
  g_ptr_array_unref (fixture->expected);
}

static char *
export (Fixture        *fixture,
        SqExportFormat  format)
{
  g_autoptr(GOutputStream) stream = g_memory_output_stream_new_resizable ();
  g_autoptr(GError) error = NULL;
  char nul = '\0';

  g_assert_true (sq_exporter_write (fixture->project, format, stream, NULL, &error));
  g_assert_no_error (error);
  g_output_stream_write_all (stream, &nul, 1, NULL, NULL, NULL);
  g_output_stream_close (stream, NULL, NULL);
  return g_memory_output_stream_steal_data (G_MEMORY_OUTPUT_STREAM (stream));
}

/* ------------------------------------------------------------------ */
/* A strict RFC 4180 parser: records end in CRLF; a field is either bare
 * (no '"', ',', CR or LF) or quoted with '""' for a quote. Returns rows
 * of fields, or fails the test on malformed input. */

static GPtrArray *
parse_csv (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  const char *p = text;

  while (*p != '\0')
    {
      g_autoptr(GString) field = g_string_new (NULL);

      if (*p == '"')
        {
          p++;
          for (;;)
            {
              g_assert_true (*p != '\0');   /* unterminated quote */
              if (*p == '"' && p[1] == '"')
                {
                  g_string_append_c (field, '"');
                  p += 2;
                }
              else if (*p == '"')
                {
                  p++;
                  break;
                }
              else
                g_string_append_c (field, *p++);
            }
        }
      else
        {
          while (*p != '\0' && *p != ',' && *p != '\r')
            {
              g_assert_true (*p != '"' && *p != '\n');
              g_string_append_c (field, *p++);
            }
        }
      g_ptr_array_add (fields, g_string_free (g_steal_pointer (&field), FALSE));

      if (*p == ',')
        p++;
      else
        {
          g_assert_true (p[0] == '\r' && p[1] == '\n');
          p += 2;
          g_ptr_array_add (fields, NULL);
          g_ptr_array_add (rows, g_ptr_array_steal (fields, NULL));
        }
    }
  g_assert_cmpuint (fields->len, ==, 0);
  return rows;
}

static char *
neutralised (const char *value)
{
  if (value[0] != '\0' && strchr ("=+-@\t\r", value[0]) != NULL)
    return g_strconcat ("'", value, NULL);
  return g_strdup (value);
}

static int
column_index (char      **header,
              const char *name)
{
  for (int i = 0; header[i] != NULL; i++)
    if (g_str_equal (header[i], name))
      return i;
  g_error ("no column %s", name);
  return -1;
}

static void
test_csv (Fixture       *fixture,
          gconstpointer  data)
{
  g_autofree char *text = export (fixture, SQ_EXPORT_FORMAT_CSV);
  g_autoptr(GPtrArray) rows = NULL;
  const char * const *columns = sq_exporter_get_columns ();
  static const char * const required[] = {
    "model", "model_ref", "prompt", "image", "response", "status", "error", "correctness",
    "relevance", "notes", "prediction_id", "ttft_ms", "total_ms",
  };
  char **header;
  guint multi = 0, unrated = 0;

  g_assert_true (g_utf8_validate (text, -1, NULL));
  rows = parse_csv (text);
  g_assert_cmpuint (rows->len, ==, fixture->expected->len + 1);
  header = g_ptr_array_index (rows, 0);
  g_assert_cmpuint (g_strv_length (header), ==, g_strv_length ((char **) columns));
  for (guint i = 0; columns[i] != NULL; i++)
    g_assert_cmpstr (header[i], ==, columns[i]);
  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    g_assert_true (g_strv_contains ((const char * const *) header, required[i]));

  for (guint r = 1; r < rows->len; r++)
    {
      char **row = g_ptr_array_index (rows, r);
      const char *payload = g_ptr_array_index (fixture->expected, r - 1);
      g_autofree char *expected = neutralised (payload);
      const char *correctness = row[column_index (header, "correctness")];
      const char *relevance = row[column_index (header, "relevance")];
      g_autofree char *ttft = g_strdup_printf ("%u", 100 + r - 1);

      g_assert_cmpuint (g_strv_length (row), ==, g_strv_length (header));
      g_assert_cmpstr (row[column_index (header, "response")], ==, expected);
      /* No cell starts with a formula character. */
      for (guint c = 0; row[c] != NULL; c++)
        g_assert_true (row[c][0] == '\0' || strchr ("=+-@\t\r", row[c][0]) == NULL);
      g_assert_cmpstr (row[column_index (header, "model_ref")], !=, "");
      g_assert_cmpstr (row[column_index (header, "prediction_id")], ==, "pred-x");
      g_assert_cmpstr (row[column_index (header, "ttft_ms")], ==, ttft);
      if (g_str_equal (correctness, ""))
        {
          unrated++;
          g_assert_cmpstr (relevance, ==, "");
        }
      else
        {
          /* Two raters, 3 and 4: the mean. Never a 0. */
          g_assert_cmpstr (correctness, ==, "3.5");
          g_assert_cmpstr (relevance, ==, "5");
          multi++;
        }
    }
  g_assert_cmpuint (multi, ==, fixture->n_ratings / 3);
  g_assert_cmpuint (unrated, ==, fixture->expected->len - multi);

  /* The prompt that looks like a DDE formula is neutralised too. */
  g_assert_nonnull (strstr (text, "'=cmd|"));
}

static void
check_json_row (Fixture    *fixture,
                JsonObject *object,
                guint       index)
{
  const char * const *columns = sq_exporter_get_columns ();
  JsonNode *correctness;

  for (guint c = 0; columns[c] != NULL; c++)
    g_assert_true (json_object_has_member (object, columns[c]));
  /* JSON carries the text as it is. */
  g_assert_cmpstr (json_object_get_string_member (object, "response"), ==,
                   g_ptr_array_index (fixture->expected, index));
  g_assert_cmpint (json_object_get_int_member (object, "ttft_ms"), ==, 100 + index);
  g_assert_cmpfloat (json_object_get_double_member_with_default (json_object_get_object_member (object, "model_params"),
                                                                 "temperature", 0), ==,
                     g_str_equal (json_object_get_string_member (object, "model"), "llava-13b") ? 0.2 : 0);
  correctness = json_object_get_member (object, "correctness");
  if (index % 3 == 0)
    {
      g_assert_cmpfloat (json_node_get_double (correctness), ==, 3.5);
      g_assert_cmpfloat (json_object_get_double_member (object, "relevance"), ==, 5);
    }
  else
    {
      g_assert_true (JSON_NODE_HOLDS_NULL (correctness));
      g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (object, "relevance")));
    }
}

static void
test_json (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *text = export (fixture, SQ_EXPORT_FORMAT_JSON);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *array;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_parser_get_root (parser)));
  array = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (array), ==, fixture->expected->len);
  for (guint i = 0; i < json_array_get_length (array); i++)
    check_json_row (fixture, json_array_get_object_element (array, i), i);
}

static void
test_jsonl (Fixture       *fixture,
            gconstpointer  data)
{
  g_autofree char *text = export (fixture, SQ_EXPORT_FORMAT_JSONL);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  /* One object per line, and a final newline. */
  g_assert_cmpuint (g_strv_length (lines), ==, fixture->expected->len + 1);
  g_assert_cmpstr (lines[fixture->expected->len], ==, "");
  for (guint i = 0; i < fixture->expected->len; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;

      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      check_json_row (fixture, json_node_get_object (json_parser_get_root (parser)), i);
    }
}

/* The cells of a Markdown table row, split at unescaped pipes. */
static GPtrArray *
markdown_cells (const char *line)
{
  GPtrArray *cells = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) cell = g_string_new (NULL);

  g_assert_true (line[0] == '|');
  for (const char *p = line + 1; *p != '\0'; p++)
    {
      if (*p == '\\' && p[1] != '\0')
        {
          g_string_append_c (cell, *p++);
          g_string_append_c (cell, *p);
        }
      else if (*p == '|')
        {
          g_ptr_array_add (cells, g_strdup (g_strstrip (cell->str)));
          g_string_truncate (cell, 0);
        }
      else
        g_string_append_c (cell, *p);
    }
  g_assert_cmpstr (g_strstrip (cell->str), ==, "");
  return cells;
}

static void
test_markdown (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *text = export (fixture, SQ_EXPORT_FORMAT_MARKDOWN);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint n_rows = 0;
  guint n_columns = 0;

  g_assert_null (strstr (text, "<script"));
  g_assert_null (strstr (text, "<img"));
  g_assert_null (strstr (text, "<b>"));
  g_assert_null (strstr (text, "<i>"));
  g_assert_null (strstr (text, "```"));
  /* A link needs an unescaped "](": every one is escaped. */
  for (const char *p = strstr (text, "]("); p != NULL; p = strstr (p + 1, "]("))
    g_assert_cmpint (p[-1], ==, '\\');
  g_assert_nonnull (strstr (text, "\\[link\\](javascript:alert(1))"));
  g_assert_nonnull (strstr (text, "&lt;script&gt;"));
  g_assert_nonnull (strstr (text, "a \\| b \\|\\| c"));
  g_assert_nonnull (strstr (text, "line one<br>line two<br>line three<br>line four"));
  g_assert_nonnull (strstr (text, "\\`\\`\\`<br>rm -rf /<br>\\`\\`\\` and \\`code\\`"));

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(GPtrArray) cells = NULL;

      if (lines[i][0] != '|')
        continue;
      cells = markdown_cells (lines[i]);
      if (n_columns == 0)
        {
          n_columns = cells->len;
          g_assert_cmpstr (g_ptr_array_index (cells, 0), ==, "model");
        }
      g_assert_cmpuint (cells->len, ==, n_columns);
      n_rows++;
    }
  /* Header, separator and one line per result: no payload broke a row. */
  g_assert_cmpuint (n_rows, ==, fixture->expected->len + 2);
}

static void
test_html (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *text = export (fixture, SQ_EXPORT_FORMAT_HTML);
  g_autofree char *lower = g_ascii_strdown (text, -1);

  g_assert_true (g_str_has_prefix (text, "<!DOCTYPE html>"));
  g_assert_null (strstr (lower, "<script"));
  g_assert_null (strstr (lower, "<img"));
  g_assert_null (strstr (lower, "<b>"));
  g_assert_null (strstr (lower, "<i>"));
  /* Only our own tags: nothing a payload could have opened. */
  for (const char *p = strchr (lower, '<'); p != NULL; p = strchr (p + 1, '<'))
    {
      static const char * const allowed[] = {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table", "thead",
        "tbody", "tr", "th", "td", "div", "span", NULL
      };
      const char *start = p[1] == '/' ? p + 2 : p + 1;
      g_autofree char *tag = NULL;
      gsize len = 0;

      if (p[1] == '!')
        continue;   /* <!DOCTYPE html> */
      while (g_ascii_isalnum (start[len]))
        len++;
      tag = g_strndup (start, len);
      if (!g_strv_contains (allowed, tag))
        g_error ("unexpected tag <%s> in: %.60s", tag, p);
    }
  /* No resource but inline data. */
  for (const char *p = strstr (lower, "url("); p != NULL; p = strstr (p + 1, "url("))
    g_assert_true (g_str_has_prefix (p, "url(\"data:image/png;base64,"));
  g_assert_null (strstr (lower, " href="));
  g_assert_null (strstr (lower, " src=\""));
  g_assert_nonnull (strstr (text, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  g_assert_nonnull (strstr (text, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
  g_assert_nonnull (strstr (text, "&lt;i&gt;fuyu&lt;/i&gt;"));
  g_assert_nonnull (strstr (text, "Content-Security-Policy"));
  g_assert_nonnull (strstr (text, "prefers-color-scheme: dark"));
  /* The thumbnail, once, inline. */
  g_assert_nonnull (strstr (text, "data:image/png;base64,"));
  g_assert_null (strstr (strstr (text, "data:image/png;base64,") + 1, "data:image/png;base64,"));
  /* The per-model summary with intervals, from SqStats. */
  g_assert_nonnull (strstr (text, "Summary per model"));
  g_assert_nonnull (strstr (text, "3.50 – 3.50"));
  g_assert_nonnull (strstr (text, "<td class=\"num\" title=\"2\">3.5</td>"));
  g_assert_true (g_str_has_suffix (text, "</html>\n"));
}

static void
test_ratings_long (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *csv = export (fixture, SQ_EXPORT_FORMAT_RATINGS_CSV);
  g_autofree char *json = export (fixture, SQ_EXPORT_FORMAT_RATINGS_JSON);
  g_autoptr(GPtrArray) rows = parse_csv (csv);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  const char * const *columns = sq_exporter_get_rating_columns ();
  char **header = g_ptr_array_index (rows, 0);
  JsonArray *array;

  g_assert_cmpuint (rows->len, ==, fixture->n_ratings + 1);
  for (guint i = 0; columns[i] != NULL; i++)
    g_assert_cmpstr (header[i], ==, columns[i]);
  {
    char **first = g_ptr_array_index (rows, 1);

    g_assert_cmpstr (first[column_index (header, "criterion")], ==, "correctness");
    g_assert_cmpstr (first[column_index (header, "rater")], ==, "alice");
    g_assert_cmpstr (first[column_index (header, "score")], ==, "3");
  }

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (array), ==, fixture->n_ratings);
  {
    JsonObject *second = json_array_get_object_element (array, 1);

    g_assert_cmpstr (json_object_get_string_member (second, "rater"), ==, "bob");
    g_assert_cmpint (json_object_get_int_member (second, "score"), ==, 4);
    g_assert_cmpstr (json_object_get_string_member (second, "prompt"), ==, "What is shown?");
  }
}

static void
test_csv_field (void)
{
  static const struct { const char *in, *out; } cases[] = {
    { "plain", "plain" },
    { "", "" },
    { "=1+2", "'=1+2" },
    { "+1", "'+1" },
    { "-1", "'-1" },
    { "@A1", "'@A1" },
    { "\tx", "'\tx" },
    { "\rx", "\"'\rx\"" },
    { "a,b", "\"a,b\"" },
    { "say \"hi\"", "\"say \"\"hi\"\"\"" },
    { "two\nlines", "\"two\nlines\"" },
    { "=\"a\",b", "\"'=\"\"a\"\",b\"" },
    { "x=1", "x=1" },
    { "\xff\xfe bad", "\xef\xbf\xbd\xef\xbf\xbd bad" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = sq_exporter_csv_field (cases[i].in);
      g_assert_cmpstr (out, ==, cases[i].out);
    }
  {
    g_autofree char *out = sq_exporter_csv_field (NULL);
    g_assert_cmpstr (out, ==, "");
  }
}

static void
test_escape_helpers (void)
{
  g_autofree char *md = sq_exporter_markdown_cell ("<a> | `x` \r\n *y* & z");
  g_autofree char *html = sq_exporter_html_escape ("<a href=\"x\">'&'</a>");

  g_assert_cmpstr (md, ==, "&lt;a&gt; \\| \\`x\\` <br> \\*y\\* &amp; z");
  g_assert_cmpstr (html, ==, "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
}

static void
test_formats (void)
{
  SqExportFormat format;

  for (guint i = 0; i < SQ_N_EXPORT_FORMATS; i++)
    {
      g_assert_true (sq_export_format_from_string (sq_export_format_to_string (i), &format));
      g_assert_cmpint (format, ==, i);
      g_assert_nonnull (sq_export_format_get_extension (i));
      g_assert_nonnull (sq_export_format_get_content_type (i));
    }
  g_assert_true (sq_export_format_from_string ("markdown", &format));
  g_assert_cmpint (format, ==, SQ_EXPORT_FORMAT_MARKDOWN);
  g_assert_false (sq_export_format_from_string ("xlsx", &format));
}

typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} WriteState;

static void
written_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  WriteState *state = user_data;

  state->ok = sq_exporter_write_file_finish (result, &state->error);
  state->done = TRUE;
}

static void
test_file (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "out.csv", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autofree char *bad_path = g_build_filename (fixture->dir, "no", "such", "dir", "out.csv", NULL);
  g_autoptr(GFile) bad = g_file_new_for_path (bad_path);
  g_autoptr(GError) error = NULL;
  g_autofree char *direct = export (fixture, SQ_EXPORT_FORMAT_CSV);
  g_autofree char *contents = NULL;
  WriteState state = { 0 };

  g_file_set_contents (path, "previous", -1, &error);
  g_assert_no_error (error);

  /* A failing export leaves nothing behind. */
  g_assert_false (sq_exporter_write_file (fixture->project, SQ_EXPORT_FORMAT_CSV, bad, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (g_file_test (bad_path, G_FILE_TEST_EXISTS));

  sq_exporter_write_file_async (fixture->project, SQ_EXPORT_FORMAT_CSV, file, NULL, written_cb, &state);
  while (!state.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (state.error);
  g_assert_true (state.ok);
  /* The worker thread lets go of its task (and the project) just after
   * the callback. */
  while (G_OBJECT (fixture->project)->ref_count > 1)
    g_main_context_iteration (NULL, FALSE);

  /* The earlier file is replaced by the whole export. */
  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, direct);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, func) \
  g_test_add (name, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/exporter/csv", test_csv);
  ADD ("/exporter/json", test_json);
  ADD ("/exporter/jsonl", test_jsonl);
  ADD ("/exporter/markdown", test_markdown);
  ADD ("/exporter/html", test_html);
  ADD ("/exporter/ratings-long", test_ratings_long);
  ADD ("/exporter/file", test_file);
  g_test_add_func ("/exporter/csv-field", test_csv_field);
  g_test_add_func ("/exporter/escape-helpers", test_escape_helpers);
  g_test_add_func ("/exporter/formats", test_formats);

#undef ADD

  return g_test_run ();
}
