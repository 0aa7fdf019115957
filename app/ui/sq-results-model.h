/* sq-results-model.h
 *
 * The rows of the Compare table: a GListModel of SqResultRow, one per
 * result of a SqProject, kept in sync with the project's
 * "results-changed" signal. A row is a stable, mutable wrapper around
 * the immutable SqResult snapshot: when a result changes the row takes
 * the new snapshot, notifies the properties that changed and the model
 * emits items-changed (pos, 1, 1) with the same item, so sorters and
 * filters see the change and selections keep their row.
 *
 * Blind mode: with a key, the models of each prompt × image are shown
 * as "Model A", "Model B"… in an order shuffled from the key (stable for
 * a key), and the rows of a prompt × image come in that order.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sq-project.h"

G_BEGIN_DECLS

#define SQ_TYPE_RESULT_ROW (sq_result_row_get_type ())

G_DECLARE_FINAL_TYPE (SqResultRow, sq_result_row, SQ, RESULT_ROW, GObject)

/* Properties (read-only unless said): result, id, prompt, image-id,
 * image-name, model-name (the blind label in blind mode), real-model-name,
 * status, response, error, correctness, relevance (-1 unrated), note,
 * ttft-ms, total-ms (-1 unknown), unrated (some criterion unrated),
 * blind-order, expanded (read-write), active-criterion (read-write, -1
 * when the row is not the one being labelled). */
SqResult   *sq_result_row_get_result            (SqResultRow *self);
gint64      sq_result_row_get_id                (SqResultRow *self);
const char *sq_result_row_get_model_name        (SqResultRow *self);
double      sq_result_row_get_score             (SqResultRow *self,
                                                 SqCriterion  criterion);
/* The score of the local rater shown until the project confirms it
 * (0 clears). Replaced by the next snapshot of the result. */
void        sq_result_row_set_local_score       (SqResultRow *self,
                                                 SqCriterion  criterion,
                                                 int          score);
gboolean    sq_result_row_get_unrated           (SqResultRow *self);
/* A collation key of the start of the answer, for sorting; cached. */
const char *sq_result_row_get_response_key      (SqResultRow *self);
gboolean    sq_result_row_get_expanded          (SqResultRow *self);
void        sq_result_row_set_expanded          (SqResultRow *self,
                                                 gboolean     expanded);
int         sq_result_row_get_active_criterion  (SqResultRow *self);
void        sq_result_row_set_active_criterion  (SqResultRow *self,
                                                 int          criterion);

#define SQ_TYPE_RESULTS_MODEL (sq_results_model_get_type ())

G_DECLARE_FINAL_TYPE (SqResultsModel, sq_results_model, SQ, RESULTS_MODEL, GObject)

/* Starts loading the project's results at once ("loaded" turns TRUE). */
SqResultsModel *sq_results_model_new             (SqProject      *project);
SqProject      *sq_results_model_get_project     (SqResultsModel *self);
gboolean        sq_results_model_get_loaded      (SqResultsModel *self);
/* The row of a result, or NULL (borrowed). */
SqResultRow    *sq_results_model_find            (SqResultsModel *self,
                                                  gint64          result_id);
/* NULL turns blind mode off. */
void            sq_results_model_set_blind_key   (SqResultsModel *self,
                                                  const char     *key);
gboolean        sq_results_model_get_blind       (SqResultsModel *self);
/* Reloads every result (as "results-changed" with id 0 does). */
void            sq_results_model_reload          (SqResultsModel *self);

G_END_DECLS
