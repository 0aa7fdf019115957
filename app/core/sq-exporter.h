/* sq-exporter.h
 *
 * Exports the results of a project as CSV (RFC 4180), JSON, JSONL,
 * Markdown or a standalone HTML report, and the ratings in long format
 * (one row per rating) as CSV or JSON. Rows are ordered by prompt,
 * image, model and run. Scores are the mean over raters (e.g. 3.5), and
 * empty (CSV) or null (JSON) when unrated, never 0.
 *
 * Model output is never trusted: HTML escapes every string and forbids
 * scripts with a Content-Security-Policy; Markdown escapes pipes, HTML
 * and inline markup and turns newlines into <br>; CSV neutralises cells
 * that start with '=', '+', '-', '@', a tab or a carriage return by
 * prefixing a single quote ('), so spreadsheets do not run them as
 * formulas. See docs/project-format.md.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sq-project.h"

G_BEGIN_DECLS

typedef enum
{
  SQ_EXPORT_FORMAT_CSV,
  SQ_EXPORT_FORMAT_JSON,
  SQ_EXPORT_FORMAT_JSONL,
  SQ_EXPORT_FORMAT_MARKDOWN,
  SQ_EXPORT_FORMAT_HTML,
  SQ_EXPORT_FORMAT_RATINGS_CSV,   /* long format: one row per rating */
  SQ_EXPORT_FORMAT_RATINGS_JSON,
} SqExportFormat;

#define SQ_N_EXPORT_FORMATS 7

/* "csv", "json", "jsonl", "md" (also "markdown"), "html",
 * "ratings-csv", "ratings-json". */
gboolean            sq_export_format_from_string    (const char      *name,
                                                     SqExportFormat  *out_format);
const char         *sq_export_format_to_string      (SqExportFormat   format);
/* "csv", "json", "jsonl", "md", "html", "ratings.csv", "ratings.json" */
const char         *sq_export_format_get_extension  (SqExportFormat   format);
/* "text/csv", "application/json", … */
const char         *sq_export_format_get_content_type (SqExportFormat format);

/* The result columns of CSV, JSON and JSONL, in order (NULL-terminated):
 * result_id, model, model_ref, model_params, prompt, image, image_sha256,
 * run, response, status, error, correctness, relevance, notes,
 * prediction_id, created_at, started_at, finished_at, ttft_ms, total_ms,
 * predict_time. */
const char * const *sq_exporter_get_columns         (void);
/* The long-format columns: result_id, model, model_ref, prompt, image,
 * run, criterion, score, rater, rated_at. */
const char * const *sq_exporter_get_rating_columns  (void);

/* Writes the export to @stream (not closed). Thread-safe for the project;
 * the caller must not use @stream until it returns. */
gboolean            sq_exporter_write               (SqProject       *project,
                                                     SqExportFormat   format,
                                                     GOutputStream   *stream,
                                                     GCancellable    *cancellable,
                                                     GError         **error);
void                sq_exporter_write_async         (SqProject       *project,
                                                     SqExportFormat   format,
                                                     GOutputStream   *stream,
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
gboolean            sq_exporter_write_finish        (GAsyncResult    *result,
                                                     GError         **error);
/* Writes to @file through g_file_replace(), so an existing file is only
 * replaced once the export is complete. */
gboolean            sq_exporter_write_file          (SqProject       *project,
                                                     SqExportFormat   format,
                                                     GFile           *file,
                                                     GCancellable    *cancellable,
                                                     GError         **error);
void                sq_exporter_write_file_async    (SqProject       *project,
                                                     SqExportFormat   format,
                                                     GFile           *file,
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
gboolean            sq_exporter_write_file_finish   (GAsyncResult    *result,
                                                     GError         **error);

/* Building blocks, public for tests and fuzzing. Each takes any bytes
 * (invalid UTF-8 becomes U+FFFD) and returns a new string. */
/* One CSV field: neutralised, then quoted when it holds '"', ',', CR or LF. */
char               *sq_exporter_csv_field           (const char      *value);
/* One Markdown table cell. */
char               *sq_exporter_markdown_cell       (const char      *value);
/* Text for HTML element content or a quoted attribute value. */
char               *sq_exporter_html_escape         (const char      *value);

G_END_DECLS
