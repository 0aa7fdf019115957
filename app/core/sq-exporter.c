/* sq-exporter.c
 *
 * Every format is written row by row to the stream. The rows come from
 * sq_project_list_results(); the model parameters from
 * sq_project_list_models(); the summary of the HTML report from SqStats.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-exporter"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "sq-exporter.h"
#include "sq-json.h"
#include "sq-stats.h"

static const struct {
  const char *name;
  const char *extension;
  const char *content_type;
} formats[SQ_N_EXPORT_FORMATS] = {
  [SQ_EXPORT_FORMAT_CSV] = { "csv", "csv", "text/csv" },
  [SQ_EXPORT_FORMAT_JSON] = { "json", "json", "application/json" },
  [SQ_EXPORT_FORMAT_JSONL] = { "jsonl", "jsonl", "application/jsonl" },
  [SQ_EXPORT_FORMAT_MARKDOWN] = { "md", "md", "text/markdown" },
  [SQ_EXPORT_FORMAT_HTML] = { "html", "html", "text/html" },
  [SQ_EXPORT_FORMAT_RATINGS_CSV] = { "ratings-csv", "ratings.csv", "text/csv" },
  [SQ_EXPORT_FORMAT_RATINGS_JSON] = { "ratings-json", "ratings.json", "application/json" },
};

static const char * const columns[] = {
  "result_id", "model", "model_ref", "model_params", "prompt", "image", "image_sha256",
  "run", "response", "status", "error", "correctness", "relevance", "notes",
  "prediction_id", "created_at", "started_at", "finished_at", "ttft_ms", "total_ms",
  "predict_time", NULL
};

static const char * const rating_columns[] = {
  "result_id", "model", "model_ref", "prompt", "image", "run", "criterion", "score",
  "rater", "rated_at", NULL
};

gboolean
sq_export_format_from_string (const char     *name,
                              SqExportFormat *out_format)
{
  if (name == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (name, "markdown") == 0)
    name = "md";
  for (guint i = 0; i < SQ_N_EXPORT_FORMATS; i++)
    {
      if (g_ascii_strcasecmp (name, formats[i].name) == 0)
        {
          if (out_format != NULL)
            *out_format = (SqExportFormat) i;
          return TRUE;
        }
    }
  return FALSE;
}

const char *
sq_export_format_to_string (SqExportFormat format)
{
  g_return_val_if_fail ((guint) format < SQ_N_EXPORT_FORMATS, NULL);
  return formats[format].name;
}

const char *
sq_export_format_get_extension (SqExportFormat format)
{
  g_return_val_if_fail ((guint) format < SQ_N_EXPORT_FORMATS, NULL);
  return formats[format].extension;
}

const char *
sq_export_format_get_content_type (SqExportFormat format)
{
  g_return_val_if_fail ((guint) format < SQ_N_EXPORT_FORMATS, NULL);
  return formats[format].content_type;
}

const char * const *
sq_exporter_get_columns (void)
{
  return columns;
}

const char * const *
sq_exporter_get_rating_columns (void)
{
  return rating_columns;
}

/* ------------------------------------------------------------------ */
/* Escaping                                                            */

static char *
make_valid (const char *value)
{
  if (value == NULL)
    return g_strdup ("");
  return g_utf8_make_valid (value, -1);
}

char *
sq_exporter_csv_field (const char *value)
{
  g_autofree char *valid = make_valid (value);
  g_autoptr(GString) field = g_string_new (NULL);
  gboolean quote;

  /* Neutralise what a spreadsheet would take for a formula. */
  if (strchr ("=+-@\t\r", valid[0]) != NULL && valid[0] != '\0')
    g_string_append_c (field, '\'');
  g_string_append (field, valid);

  quote = strpbrk (field->str, "\",\r\n") != NULL;
  if (!quote)
    return g_string_free (g_steal_pointer (&field), FALSE);

  {
    GString *quoted = g_string_sized_new (field->len + 8);

    g_string_append_c (quoted, '"');
    for (const char *p = field->str; *p != '\0'; p++)
      {
        if (*p == '"')
          g_string_append_c (quoted, '"');
        g_string_append_c (quoted, *p);
      }
    g_string_append_c (quoted, '"');
    return g_string_free (quoted, FALSE);
  }
}

char *
sq_exporter_markdown_cell (const char *value)
{
  g_autofree char *valid = make_valid (value);
  GString *cell = g_string_sized_new (strlen (valid) + 16);

  for (const char *p = valid; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '&': g_string_append (cell, "&amp;"); break;
        case '<': g_string_append (cell, "&lt;"); break;
        case '>': g_string_append (cell, "&gt;"); break;
        case '\r':
          if (p[1] == '\n')
            p++;
          G_GNUC_FALLTHROUGH;
        case '\n': g_string_append (cell, "<br>"); break;
        case '\\': case '`': case '*': case '_': case '[': case ']':
        case '|': case '~': case '!': case '#':
          g_string_append_c (cell, '\\');
          g_string_append_c (cell, *p);
          break;
        default:
          g_string_append_c (cell, *p);
          break;
        }
    }
  return g_string_free (cell, FALSE);
}

char *
sq_exporter_html_escape (const char *value)
{
  g_autofree char *valid = make_valid (value);

  return g_markup_escape_text (valid, -1);
}

/* ------------------------------------------------------------------ */
/* Rows                                                                */

typedef struct
{
  GPtrArray  *results;     /* (element-type SqResult) */
  GHashTable *params;      /* model id → params JSON (owned strings) */
} ExportData;

static void
export_data_clear (ExportData *data)
{
  g_clear_pointer (&data->results, g_ptr_array_unref);
  g_clear_pointer (&data->params, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ExportData, export_data_clear)

static gboolean
export_data_load (ExportData  *data,
                  SqProject   *project,
                  GError     **error)
{
  g_autoptr(GPtrArray) models = NULL;

  data->results = sq_project_list_results (project, error);
  if (data->results == NULL)
    return FALSE;
  models = sq_project_list_models (project, error);
  if (models == NULL)
    return FALSE;
  data->params = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  for (guint i = 0; i < models->len; i++)
    {
      SqModelRecord *model = g_ptr_array_index (models, i);

      g_hash_table_insert (data->params, g_memdup2 (&model->id, sizeof model->id),
                           g_strdup (model->params_json));
    }
  return TRUE;
}

static const char *
model_params (ExportData *data,
              SqResult   *result)
{
  gint64 id = sq_result_get_model_id (result);
  const char *params = g_hash_table_lookup (data->params, &id);

  return params ? params : "{}";
}

/* "4", "3.5", "3.67"; "" when unrated. */
static char *
format_score (double score)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];
  char *end;

  if (score < 1)
    return g_strdup ("");
  g_ascii_formatd (buffer, sizeof buffer, "%.2f", score);
  end = buffer + strlen (buffer) - 1;
  while (end > buffer && *end == '0')
    *end-- = '\0';
  if (*end == '.')
    *end = '\0';
  return g_strdup (buffer);
}

static char *
format_int (gint64 value)
{
  return value >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, value) : g_strdup ("");
}

static char *
format_double (double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (value < 0)
    return g_strdup ("");
  return g_strdup (g_ascii_dtostr (buffer, sizeof buffer, value));
}

/* The text of each column of @result as a string ("" for NULL); numbers
 * as text. (transfer full) */
static GStrv
result_row (ExportData *data,
            SqResult   *result)
{
  GPtrArray *builder = g_ptr_array_new ();
  GStrv row;

  g_ptr_array_add (builder, format_int (sq_result_get_id (result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_model_name (result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_model_ref (result)));
  g_ptr_array_add (builder, g_strdup (model_params (data, result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_prompt (result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_image_name (result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_image_sha256 (result)));
  g_ptr_array_add (builder, format_int (sq_result_get_run (result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_response (result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_status (result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_error (result) ? sq_result_get_error (result) : ""));
  g_ptr_array_add (builder, format_score (sq_result_get_correctness (result)));
  g_ptr_array_add (builder, format_score (sq_result_get_relevance (result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_note (result)));
  g_ptr_array_add (builder, g_strdup (sq_result_get_prediction_id (result) ? sq_result_get_prediction_id (result) : ""));
  g_ptr_array_add (builder, g_strdup (sq_result_get_created_at (result) ? sq_result_get_created_at (result) : ""));
  g_ptr_array_add (builder, g_strdup (sq_result_get_started_at (result) ? sq_result_get_started_at (result) : ""));
  g_ptr_array_add (builder, g_strdup (sq_result_get_finished_at (result) ? sq_result_get_finished_at (result) : ""));
  g_ptr_array_add (builder, format_int (sq_result_get_ttft_ms (result)));
  g_ptr_array_add (builder, format_int (sq_result_get_total_ms (result)));
  g_ptr_array_add (builder, format_double (sq_result_get_predict_time (result)));

  g_ptr_array_add (builder, NULL);
  row = (GStrv) g_ptr_array_free (builder, FALSE);
  g_assert (g_strv_length (row) == G_N_ELEMENTS (columns) - 1);
  return row;
}

static JsonNode *
result_json (ExportData *data,
             SqResult   *result)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  const char *params = model_params (data, result);

#define ADD_STRING(key, value) \
  G_STMT_START { \
    const char *v_ = (value); \
    json_builder_set_member_name (builder, key); \
    if (v_ != NULL) \
      { \
        g_autofree char *valid_ = make_valid (v_); \
        json_builder_add_string_value (builder, valid_); \
      } \
    else \
      json_builder_add_null_value (builder); \
  } G_STMT_END
#define ADD_INT(key, value) \
  G_STMT_START { \
    gint64 v_ = (value); \
    json_builder_set_member_name (builder, key); \
    if (v_ >= 0) \
      json_builder_add_int_value (builder, v_); \
    else \
      json_builder_add_null_value (builder); \
  } G_STMT_END
#define ADD_DOUBLE(key, value, min) \
  G_STMT_START { \
    double v_ = (value); \
    json_builder_set_member_name (builder, key); \
    if (v_ >= (min)) \
      json_builder_add_double_value (builder, v_); \
    else \
      json_builder_add_null_value (builder); \
  } G_STMT_END

  json_builder_begin_object (builder);
  ADD_INT ("result_id", sq_result_get_id (result));
  ADD_STRING ("model", sq_result_get_model_name (result));
  ADD_STRING ("model_ref", sq_result_get_model_ref (result));
  json_builder_set_member_name (builder, "model_params");
  if (sq_json_parser_load (parser, params, -1, NULL) && json_parser_get_root (parser) != NULL)
    json_builder_add_value (builder, json_node_copy (json_parser_get_root (parser)));
  else
    json_builder_add_null_value (builder);
  ADD_STRING ("prompt", sq_result_get_prompt (result));
  ADD_STRING ("image", sq_result_get_image_name (result));
  ADD_STRING ("image_sha256", sq_result_get_image_sha256 (result));
  ADD_INT ("run", sq_result_get_run (result));
  ADD_STRING ("response", sq_result_get_response (result));
  ADD_STRING ("status", sq_result_get_status (result));
  ADD_STRING ("error", sq_result_get_error (result));
  ADD_DOUBLE ("correctness", sq_result_get_correctness (result), 1);
  ADD_DOUBLE ("relevance", sq_result_get_relevance (result), 1);
  ADD_STRING ("notes", *sq_result_get_note (result) ? sq_result_get_note (result) : NULL);
  ADD_STRING ("prediction_id", sq_result_get_prediction_id (result));
  ADD_STRING ("created_at", sq_result_get_created_at (result));
  ADD_STRING ("started_at", sq_result_get_started_at (result));
  ADD_STRING ("finished_at", sq_result_get_finished_at (result));
  ADD_INT ("ttft_ms", sq_result_get_ttft_ms (result));
  ADD_INT ("total_ms", sq_result_get_total_ms (result));
  ADD_DOUBLE ("predict_time", sq_result_get_predict_time (result), 0);
  json_builder_end_object (builder);

#undef ADD_STRING
#undef ADD_INT
#undef ADD_DOUBLE

  return json_builder_get_root (builder);
}

static char *
node_to_string (JsonNode *node,
                gboolean  pretty)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, pretty);
  return json_generator_to_data (generator, NULL);
}

static gboolean
put (GOutputStream  *stream,
     GString        *buffer,
     gboolean        force,
     GCancellable   *cancellable,
     GError        **error)
{
  if (!force && buffer->len < 64 * 1024)
    return TRUE;
  if (buffer->len > 0 &&
      !g_output_stream_write_all (stream, buffer->str, buffer->len, NULL, cancellable, error))
    return FALSE;
  g_string_truncate (buffer, 0);
  return TRUE;
}

static void
append_csv_row (GString            *out,
                const char * const *fields)
{
  for (guint i = 0; fields[i] != NULL; i++)
    {
      g_autofree char *field = sq_exporter_csv_field (fields[i]);

      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append (out, field);
    }
  g_string_append (out, "\r\n");
}

static gboolean
write_csv (ExportData     *data,
           GOutputStream  *stream,
           GCancellable   *cancellable,
           GError        **error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  append_csv_row (out, columns);
  for (guint i = 0; i < data->results->len; i++)
    {
      g_auto(GStrv) row = result_row (data, g_ptr_array_index (data->results, i));

      append_csv_row (out, (const char * const *) row);
      if (!put (stream, out, FALSE, cancellable, error))
        return FALSE;
    }
  return put (stream, out, TRUE, cancellable, error);
}

static gboolean
write_json (ExportData     *data,
            gboolean        lines,
            GOutputStream  *stream,
            GCancellable   *cancellable,
            GError        **error)
{
  g_autoptr(GString) out = g_string_new (lines ? NULL : "[");

  for (guint i = 0; i < data->results->len; i++)
    {
      g_autoptr(JsonNode) node = result_json (data, g_ptr_array_index (data->results, i));
      g_autofree char *text = node_to_string (node, FALSE);

      if (!lines)
        g_string_append (out, i > 0 ? ",\n  " : "\n  ");
      g_string_append (out, text);
      if (lines)
        g_string_append_c (out, '\n');
      if (!put (stream, out, FALSE, cancellable, error))
        return FALSE;
    }
  if (!lines)
    g_string_append (out, data->results->len > 0 ? "\n]\n" : "]\n");
  return put (stream, out, TRUE, cancellable, error);
}

static gboolean
write_markdown (ExportData     *data,
                SqProject      *project,
                GOutputStream  *stream,
                GCancellable   *cancellable,
                GError        **error)
{
  static const char * const md_columns[] = {
    "model", "prompt", "image", "response", "status", "error", "correctness", "relevance", "notes",
  };
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *path = sq_project_dup_path (project);
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *title = sq_exporter_markdown_cell (name);

  g_string_append_printf (out, "# %s\n\n", title);
  g_string_append (out, "|");
  for (guint c = 0; c < G_N_ELEMENTS (md_columns); c++)
    g_string_append_printf (out, " %s |", md_columns[c]);
  g_string_append (out, "\n|");
  for (guint c = 0; c < G_N_ELEMENTS (md_columns); c++)
    g_string_append (out, " --- |");
  g_string_append_c (out, '\n');

  for (guint i = 0; i < data->results->len; i++)
    {
      SqResult *result = g_ptr_array_index (data->results, i);
      g_autofree char *correctness = format_score (sq_result_get_correctness (result));
      g_autofree char *relevance = format_score (sq_result_get_relevance (result));
      const char *cells[] = {
        sq_result_get_model_name (result),
        sq_result_get_prompt (result),
        sq_result_get_image_name (result),
        sq_result_get_response (result),
        sq_result_get_status (result),
        sq_result_get_error (result),
        correctness,
        relevance,
        sq_result_get_note (result),
      };

      g_string_append (out, "|");
      for (guint c = 0; c < G_N_ELEMENTS (cells); c++)
        {
          g_autofree char *cell = sq_exporter_markdown_cell (cells[c]);

          g_string_append_printf (out, " %s |", cell);
        }
      g_string_append_c (out, '\n');
      if (!put (stream, out, FALSE, cancellable, error))
        return FALSE;
    }
  return put (stream, out, TRUE, cancellable, error);
}

static const char html_style[] =
  ":root { color-scheme: light dark; --fg: #1e1e1e; --bg: #fafafa; --muted: #6b6b6b;"
  " --line: #d8d8d8; --accent: #3584e4; --head: #efefef; --bad: #c01c28; }\n"
  "@media (prefers-color-scheme: dark) { :root { --fg: #f0f0f0; --bg: #1d1d1d;"
  " --muted: #a0a0a0; --line: #3a3a3a; --accent: #78aeed; --head: #2a2a2a; --bad: #ff7b63; } }\n"
  "body { font: 15px/1.45 system-ui, 'Cantarell', sans-serif; color: var(--fg);"
  " background: var(--bg); margin: 2em auto; max-width: 80em; padding: 0 1em; }\n"
  "h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; }\n"
  "table { border-collapse: collapse; width: 100%; }\n"
  "th, td { border-bottom: 1px solid var(--line); padding: .4em .6em; text-align: left; vertical-align: top; }\n"
  "th { background: var(--head); }\n"
  "td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }\n"
  "td.response, td.note { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 40em; }\n"
  ".thumb { width: 96px; height: 96px; background: center / contain no-repeat; }\n"
  ".muted { color: var(--muted); } .failed { color: var(--bad); }\n"
  ".bar { background: var(--line); height: .6em; width: 10em; border-radius: .3em; }\n"
  ".bar span { display: block; background: var(--accent); height: 100%; border-radius: .3em; }\n";

static void
append_escaped (GString    *out,
                const char *value)
{
  g_autofree char *escaped = sq_exporter_html_escape (value);

  g_string_append (out, escaped);
}

static void
append_html_score (GString  *out,
                   SqResult *result,
                   SqCriterion criterion)
{
  double score = sq_result_get_score (result, criterion);
  guint n = sq_result_get_n_ratings (result, criterion);
  g_autofree char *text = format_score (score);

  if (score < 1)
    g_string_append (out, "<td class=\"num muted\">–</td>");
  else if (n > 1)
    g_string_append_printf (out, "<td class=\"num\" title=\"%u\">%s</td>", n, text);
  else
    g_string_append_printf (out, "<td class=\"num\">%s</td>", text);
}

static gboolean
write_html (ExportData     *data,
            SqProject      *project,
            GOutputStream  *stream,
            GCancellable   *cancellable,
            GError        **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GHashTable) with_thumbnail = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GArray) scores = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GPtrArray) winners = NULL;
  g_autofree char *path = sq_project_dup_path (project);
  g_autofree char *name = g_path_get_basename (path);

  images = sq_project_list_images (project, error);
  if (images == NULL)
    return FALSE;

  g_string_append (out,
                   "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                   "img-src data:; style-src 'unsafe-inline'\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<meta name=\"color-scheme\" content=\"light dark\">\n"
                   "<meta name=\"generator\" content=\"Squint " PACKAGE_VERSION "\">\n<title>");
  append_escaped (out, name);
  g_string_append (out, "</title>\n<style>\n");
  g_string_append (out, html_style);

  /* Each thumbnail once, as a CSS class, however many rows show it. */
  for (guint i = 0; i < images->len; i++)
    {
      SqImageRecord *image = g_ptr_array_index (images, i);
      g_autoptr(GBytes) thumbnail = sq_project_get_thumbnail (project, image->id, error);
      g_autofree char *base64 = NULL;

      if (thumbnail == NULL)
        {
          if (error != NULL && *error != NULL)
            return FALSE;
          continue;
        }
      base64 = g_base64_encode (g_bytes_get_data (thumbnail, NULL), g_bytes_get_size (thumbnail));
      g_string_append_printf (out, ".img-%" G_GINT64_FORMAT " { background-image: url(\"data:image/png;base64,%s\"); }\n",
                              image->id, base64);
      g_hash_table_add (with_thumbnail, g_memdup2 (&image->id, sizeof image->id));
      if (!put (stream, out, FALSE, cancellable, error))
        return FALSE;
    }
  g_string_append (out, "</style>\n</head>\n<body>\n<h1>");
  append_escaped (out, name);
  g_string_append (out, "</h1>\n");

  /* Summary per model */
  scores = sq_stats_scores_from_results (data->results);
  entries = sq_stats_compute ((const SqScore *) (gpointer) scores->data, scores->len,
                              SQ_STATS_DEFAULT_RESAMPLES, SQ_STATS_DEFAULT_SEED);
  winners = sq_stats_winners ((const SqScore *) (gpointer) scores->data, scores->len);

  g_string_append_printf (out, "<h2>%s</h2>\n", _("Summary per model"));
  if (entries->len == 0)
    g_string_append_printf (out, "<p class=\"muted\">%s</p>\n", _("No answer has been rated yet."));
  else
    {
      g_string_append_printf (out,
                              "<table class=\"summary\">\n<thead><tr><th>%s</th><th>%s</th>"
                              "<th>%s</th><th>%s</th><th>%s</th><th></th></tr></thead>\n<tbody>\n",
                              _("Model"), _("Criterion"), _("Rated"), _("Mean"),
                              /* xgettext:no-c-format */
                              _("95% confidence interval"));
      for (guint i = 0; i < entries->len; i++)
        {
          SqStatsEntry *entry = g_ptr_array_index (entries, i);
          char mean[G_ASCII_DTOSTR_BUF_SIZE], low[G_ASCII_DTOSTR_BUF_SIZE], high[G_ASCII_DTOSTR_BUF_SIZE];

          g_ascii_formatd (mean, sizeof mean, "%.2f", entry->mean);
          g_ascii_formatd (low, sizeof low, "%.2f", entry->ci_low);
          g_ascii_formatd (high, sizeof high, "%.2f", entry->ci_high);
          g_string_append (out, "<tr><td>");
          append_escaped (out, entry->model);
          g_string_append_printf (out, "</td><td>%s</td><td class=\"num\">%u</td><td class=\"num\">%s</td>"
                                  "<td class=\"num\">%s – %s</td>"
                                  "<td><div class=\"bar\"><span style=\"width: %d%%\"></span></div></td></tr>\n",
                                  sq_criterion_to_string (entry->criterion), entry->n, mean, low, high,
                                  (int) CLAMP ((entry->mean - 1) / 4 * 100, 0, 100));
        }
      g_string_append (out, "</tbody>\n</table>\n");
    }

  if (winners->len > 0)
    {
      g_string_append_printf (out,
                              "<h2>%s</h2>\n<table class=\"winners\">\n<thead><tr><th>%s</th><th>%s</th>"
                              "<th>%s</th></tr></thead>\n<tbody>\n",
                              _("Best model per prompt"), _("Prompt"), _("Model"), _("Mean of both criteria"));
      for (guint i = 0; i < winners->len; i++)
        {
          SqStatsWinner *winner = g_ptr_array_index (winners, i);
          char mean[G_ASCII_DTOSTR_BUF_SIZE];

          g_ascii_formatd (mean, sizeof mean, "%.2f", winner->mean);
          g_string_append (out, "<tr><td class=\"note\">");
          append_escaped (out, winner->prompt);
          g_string_append (out, "</td><td>");
          if (winner->model != NULL)
            append_escaped (out, winner->model);
          else
            g_string_append_printf (out, "<span class=\"muted\">%s</span>", _("tie"));
          g_string_append_printf (out, "</td><td class=\"num\">%s</td></tr>\n", mean);
        }
      g_string_append (out, "</tbody>\n</table>\n");
    }

  /* Every result */
  g_string_append_printf (out,
                          "<h2>%s</h2>\n<table class=\"results\">\n<thead><tr><th>%s</th><th>%s</th>"
                          "<th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th>"
                          "<th>%s</th><th>%s</th></tr></thead>\n<tbody>\n",
                          _("Answers"), _("Image"), _("Prompt"), _("Model"), _("Response"), _("Status"),
                          _("Correctness"), _("Relevance"), _("Notes"), _("First token (ms)"),
                          _("Total (ms)"));
  for (guint i = 0; i < data->results->len; i++)
    {
      SqResult *result = g_ptr_array_index (data->results, i);
      gint64 image_id = sq_result_get_image_id (result);
      g_autofree char *ttft = format_int (sq_result_get_ttft_ms (result));
      g_autofree char *total = format_int (sq_result_get_total_ms (result));
      gboolean failed = g_strcmp0 (sq_result_get_status (result), "succeeded") != 0 &&
                        sq_result_is_finished (result);

      g_string_append (out, "<tr><td>");
      if (g_hash_table_contains (with_thumbnail, &image_id))
        {
          g_string_append_printf (out, "<div class=\"thumb img-%" G_GINT64_FORMAT "\" role=\"img\" aria-label=\"",
                                  image_id);
          append_escaped (out, sq_result_get_image_name (result));
          g_string_append (out, "\"></div>");
        }
      g_string_append (out, "<div class=\"muted\">");
      append_escaped (out, sq_result_get_image_name (result));
      g_string_append (out, "</div></td><td class=\"note\">");
      append_escaped (out, sq_result_get_prompt (result));
      g_string_append (out, "</td><td>");
      append_escaped (out, sq_result_get_model_name (result));
      g_string_append (out, "<div class=\"muted\">");
      append_escaped (out, sq_result_get_model_ref (result));
      g_string_append (out, "</div></td><td class=\"response\">");
      append_escaped (out, sq_result_get_response (result));
      if (sq_result_get_error (result) != NULL)
        {
          g_string_append (out, "<div class=\"failed\">");
          append_escaped (out, sq_result_get_error (result));
          g_string_append (out, "</div>");
        }
      g_string_append_printf (out, "</td><td%s>", failed ? " class=\"failed\"" : "");
      append_escaped (out, sq_result_get_status (result));
      g_string_append (out, "</td>");
      append_html_score (out, result, SQ_CRITERION_CORRECTNESS);
      append_html_score (out, result, SQ_CRITERION_RELEVANCE);
      g_string_append (out, "<td class=\"note\">");
      append_escaped (out, sq_result_get_note (result));
      g_string_append_printf (out, "</td><td class=\"num\">%s</td><td class=\"num\">%s</td></tr>\n",
                              ttft, total);
      if (!put (stream, out, FALSE, cancellable, error))
        return FALSE;
    }
  g_string_append (out, "</tbody>\n</table>\n</body>\n</html>\n");
  return put (stream, out, TRUE, cancellable, error);
}

static gboolean
write_ratings (ExportData     *data,
               SqProject      *project,
               gboolean        json,
               GOutputStream  *stream,
               GCancellable   *cancellable,
               GError        **error)
{
  g_autoptr(GPtrArray) ratings = sq_project_list_ratings (project, error);
  g_autoptr(GHashTable) by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean first = TRUE;

  if (ratings == NULL)
    return FALSE;

  /* ratings are sorted by result id: remember where each result's start */
  for (guint i = ratings->len; i > 0; i--)
    {
      SqRating *rating = g_ptr_array_index (ratings, i - 1);
      g_hash_table_insert (by_id, &rating->result_id, GUINT_TO_POINTER (i));
    }

  if (json)
    g_string_append (out, "[");
  else
    append_csv_row (out, rating_columns);

  /* In the order of the results (prompt, image, model, run), then criterion and rater. */
  for (guint r = 0; r < data->results->len; r++)
    {
      SqResult *result = g_ptr_array_index (data->results, r);

      gint64 id = sq_result_get_id (result);
      guint start = GPOINTER_TO_UINT (g_hash_table_lookup (by_id, &id));

      for (guint i = start ? start - 1 : ratings->len; i < ratings->len; i++)
        {
          SqRating *rating = g_ptr_array_index (ratings, i);
          g_autofree char *result_id = NULL;
          g_autofree char *run = NULL;
          g_autofree char *score = NULL;

          if (rating->result_id != id)
            break;

          result_id = format_int (rating->result_id);
          run = format_int (sq_result_get_run (result));
          score = format_int (rating->score);

          if (json)
            {
              g_autoptr(JsonBuilder) builder = json_builder_new ();
              g_autoptr(JsonNode) node = NULL;
              g_autofree char *text = NULL;
              const char *strings[][2] = {
                { "model", sq_result_get_model_name (result) },
                { "model_ref", sq_result_get_model_ref (result) },
                { "prompt", sq_result_get_prompt (result) },
                { "image", sq_result_get_image_name (result) },
              };

              json_builder_begin_object (builder);
              json_builder_set_member_name (builder, "result_id");
              json_builder_add_int_value (builder, rating->result_id);
              for (guint s = 0; s < G_N_ELEMENTS (strings); s++)
                {
                  g_autofree char *valid = make_valid (strings[s][1]);

                  json_builder_set_member_name (builder, strings[s][0]);
                  json_builder_add_string_value (builder, valid);
                }
              json_builder_set_member_name (builder, "run");
              json_builder_add_int_value (builder, sq_result_get_run (result));
              json_builder_set_member_name (builder, "criterion");
              json_builder_add_string_value (builder, sq_criterion_to_string (rating->criterion));
              json_builder_set_member_name (builder, "score");
              json_builder_add_int_value (builder, rating->score);
              json_builder_set_member_name (builder, "rater");
              json_builder_add_string_value (builder, rating->rater);
              json_builder_set_member_name (builder, "rated_at");
              json_builder_add_string_value (builder, rating->rated_at);
              json_builder_end_object (builder);
              node = json_builder_get_root (builder);
              text = node_to_string (node, FALSE);
              g_string_append (out, first ? "\n  " : ",\n  ");
              g_string_append (out, text);
            }
          else
            {
              const char *fields[] = {
                result_id, sq_result_get_model_name (result), sq_result_get_model_ref (result),
                sq_result_get_prompt (result), sq_result_get_image_name (result), run,
                sq_criterion_to_string (rating->criterion), score, rating->rater, rating->rated_at,
                NULL
              };

              append_csv_row (out, fields);
            }
          first = FALSE;
          if (!put (stream, out, FALSE, cancellable, error))
            return FALSE;
        }
    }

  if (json)
    g_string_append (out, first ? "]\n" : "\n]\n");
  return put (stream, out, TRUE, cancellable, error);
}

gboolean
sq_exporter_write (SqProject       *project,
                   SqExportFormat   format,
                   GOutputStream   *stream,
                   GCancellable    *cancellable,
                   GError         **error)
{
  g_auto(ExportData) data = { NULL, NULL };

  g_return_val_if_fail (SQ_IS_PROJECT (project), FALSE);
  g_return_val_if_fail ((guint) format < SQ_N_EXPORT_FORMATS, FALSE);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (stream), FALSE);

  if (!export_data_load (&data, project, error))
    return FALSE;

  switch (format)
    {
    case SQ_EXPORT_FORMAT_CSV:
      return write_csv (&data, stream, cancellable, error);
    case SQ_EXPORT_FORMAT_JSON:
      return write_json (&data, FALSE, stream, cancellable, error);
    case SQ_EXPORT_FORMAT_JSONL:
      return write_json (&data, TRUE, stream, cancellable, error);
    case SQ_EXPORT_FORMAT_MARKDOWN:
      return write_markdown (&data, project, stream, cancellable, error);
    case SQ_EXPORT_FORMAT_HTML:
      return write_html (&data, project, stream, cancellable, error);
    case SQ_EXPORT_FORMAT_RATINGS_CSV:
      return write_ratings (&data, project, FALSE, stream, cancellable, error);
    case SQ_EXPORT_FORMAT_RATINGS_JSON:
      return write_ratings (&data, project, TRUE, stream, cancellable, error);
    default:
      g_assert_not_reached ();
    }
}

typedef struct
{
  SqProject      *project;
  SqExportFormat  format;
  GOutputStream  *stream;
  GFile          *file;
} WriteData;

static void
write_data_free (gpointer data)
{
  WriteData *write = data;

  g_clear_object (&write->project);
  g_clear_object (&write->stream);
  g_clear_object (&write->file);
  g_free (write);
}

static void
write_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  WriteData *write = task_data;
  GError *error = NULL;
  gboolean ok;

  if (write->file != NULL)
    ok = sq_exporter_write_file (write->project, write->format, write->file, cancellable, &error);
  else
    ok = sq_exporter_write (write->project, write->format, write->stream, cancellable, &error);

  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
start_write (SqProject           *project,
             SqExportFormat       format,
             GOutputStream       *stream,
             GFile               *file,
             gpointer             source_tag,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  WriteData *write = g_new0 (WriteData, 1);

  write->project = g_object_ref (project);
  write->format = format;
  write->stream = stream ? g_object_ref (stream) : NULL;
  write->file = file ? g_object_ref (file) : NULL;
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, write, write_data_free);
  g_task_run_in_thread (task, write_thread);
}

void
sq_exporter_write_async (SqProject           *project,
                         SqExportFormat       format,
                         GOutputStream       *stream,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (SQ_IS_PROJECT (project));
  g_return_if_fail (G_IS_OUTPUT_STREAM (stream));

  start_write (project, format, stream, NULL, sq_exporter_write_async, cancellable, callback, user_data);
}

gboolean
sq_exporter_write_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_exporter_write_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
sq_exporter_write_file (SqProject       *project,
                        SqExportFormat   format,
                        GFile           *file,
                        GCancellable    *cancellable,
                        GError         **error)
{
  g_autoptr(GFileOutputStream) stream = NULL;

  g_return_val_if_fail (SQ_IS_PROJECT (project), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  stream = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, cancellable, error);
  if (stream == NULL)
    return FALSE;

  if (!sq_exporter_write (project, format, G_OUTPUT_STREAM (stream), cancellable, error))
    {
      /* Closing after a cancel leaves any earlier file in place. */
      g_autoptr(GCancellable) cancel = g_cancellable_new ();

      g_cancellable_cancel (cancel);
      g_output_stream_close (G_OUTPUT_STREAM (stream), cancel, NULL);
      return FALSE;
    }
  return g_output_stream_close (G_OUTPUT_STREAM (stream), cancellable, error);
}

void
sq_exporter_write_file_async (SqProject           *project,
                              SqExportFormat       format,
                              GFile               *file,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (SQ_IS_PROJECT (project));
  g_return_if_fail (G_IS_FILE (file));

  start_write (project, format, NULL, file, sq_exporter_write_file_async, cancellable, callback, user_data);
}

gboolean
sq_exporter_write_file_finish (GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sq_exporter_write_file_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
