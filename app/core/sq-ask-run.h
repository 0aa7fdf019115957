/* sq-ask-run.h
 *
 * One answer of the Ask view: one prompt about one image by one model.
 * Stores the image, prompt and model in the project, creates the result
 * row (a new run of that cell), runs the prediction, stores its id the
 * moment Replicate hands it out, writes the streamed text in batches
 * (about every 250 ms) and the final answer, status, error and timings
 * when it ends. Works without a project too (nothing is stored).
 *
 * Properties (read-only, notified on change): status
 * (SqPredictionStatus), text, error-message, ttft-ms, total-ms,
 * result-id (0 until the row exists).
 * Signals: ::delta (const char *text) to append, ::text-reset (const
 * char *text) to replace, as SqPrediction's.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sq-image.h"
#include "sq-model.h"
#include "sq-prediction.h"
#include "sq-project.h"
#include "sq-replicate-client.h"

G_BEGIN_DECLS

#define SQ_TYPE_ASK_RUN (sq_ask_run_get_type ())

G_DECLARE_FINAL_TYPE (SqAskRun, sq_ask_run, SQ, ASK_RUN, GObject)

/* @project may be NULL; @settings (nullable, element-type utf8 utf8) as
 * sq_model_build_input() takes them (copied). */
SqAskRun           *sq_ask_run_new               (SqProject          *project,
                                                  SqReplicateClient  *client,
                                                  SqModel            *model,
                                                  GHashTable         *settings,
                                                  SqImage            *image,
                                                  const char         *prompt);
/* A new run with the same project, client, model, settings, image and
 * prompt (for Retry). */
SqAskRun           *sq_ask_run_new_again         (SqAskRun           *self);
/* Runs it once. TRUE when the answer succeeded; FALSE with the reason
 * (G_IO_ERROR_CANCELLED after sq_ask_run_stop() or @cancellable, the
 * model's error, a bad setting, an image that cannot be sent…). The
 * callback runs once the final row is written. */
void                sq_ask_run_run_async         (SqAskRun           *self,
                                                  GCancellable       *cancellable,
                                                  GAsyncReadyCallback callback,
                                                  gpointer            user_data);
gboolean            sq_ask_run_run_finish        (SqAskRun           *self,
                                                  GAsyncResult       *result,
                                                  GError            **error);
/* Stops it (also on Replicate). */
void                sq_ask_run_stop              (SqAskRun           *self);

SqProject          *sq_ask_run_get_project       (SqAskRun           *self);
SqModel            *sq_ask_run_get_model         (SqAskRun           *self);
SqImage            *sq_ask_run_get_image         (SqAskRun           *self);
const char         *sq_ask_run_get_prompt        (SqAskRun           *self);
SqPredictionStatus  sq_ask_run_get_status        (SqAskRun           *self);
/* Never NULL. */
const char         *sq_ask_run_get_text          (SqAskRun           *self);
const char         *sq_ask_run_get_error_message (SqAskRun           *self);
gint64              sq_ask_run_get_ttft_ms       (SqAskRun           *self);
gint64              sq_ask_run_get_total_ms      (SqAskRun           *self);
gint64              sq_ask_run_get_result_id     (SqAskRun           *self);
/* The monotonic time (µs) the run started, or 0. */
gint64              sq_ask_run_get_start_time    (SqAskRun           *self);

G_END_DECLS
