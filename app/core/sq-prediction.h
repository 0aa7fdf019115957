/* sq-prediction.h
 *
 * One prediction on Replicate, from creation to a terminal state:
 * streamed from urls.stream, completed by polling urls.get when there is
 * no stream or it drops, never losing or repeating text.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sq-types.h"

G_BEGIN_DECLS

typedef enum
{
  SQ_PREDICTION_QUEUED,      /* not created yet (local) */
  SQ_PREDICTION_STARTING,    /* created, Replicate status "starting" */
  SQ_PREDICTION_PROCESSING,  /* "processing": text may be arriving */
  SQ_PREDICTION_SUCCEEDED,
  SQ_PREDICTION_FAILED,
  SQ_PREDICTION_CANCELED,
  SQ_PREDICTION_ABORTED,
} SqPredictionStatus;

#define SQ_TYPE_PREDICTION_STATUS (sq_prediction_status_get_type ())
GType               sq_prediction_status_get_type       (void) G_GNUC_CONST;
/* "queued", "starting", "processing", "succeeded", "failed", "canceled", "aborted" */
const char         *sq_prediction_status_to_string      (SqPredictionStatus  status);
/* Unknown strings map to SQ_PREDICTION_STARTING. */
SqPredictionStatus  sq_prediction_status_from_string    (const char         *status);
gboolean            sq_prediction_status_is_terminal    (SqPredictionStatus  status);

/* Signals:
 *
 * ::delta (const char *text): a piece of text to append, in order, each
 *   piece exactly once. The concatenation of all deltas since the last
 *   ::text-reset is sq_prediction_get_text().
 *
 * ::text-reset (const char *text): emitted only if Replicate's output
 *   stops agreeing with the text received so far (it should not happen;
 *   e.g. a resumed stream that did not replay from the start). @text is
 *   the new full text: listeners replace what they have with it, and
 *   later ::delta pieces append to it.
 *
 * Properties (read-only, notified on change): status, text,
 * error-message, id (set as soon as the prediction exists on Replicate,
 * so it can be stored for a resume with sq_prediction_new_for_id()),
 * ttft-ms, total-ms, predict-time.
 */

#define SQ_TYPE_PREDICTION (sq_prediction_get_type ())

G_DECLARE_FINAL_TYPE (SqPrediction, sq_prediction, SQ, PREDICTION, GObject)

/* A new prediction of @model_ref (see sq_replicate_client_create_prediction_async)
 * with @input. Nothing happens until sq_prediction_run_async(). */
SqPrediction       *sq_prediction_new                   (SqReplicateClient  *client,
                                                         const char         *model_ref,
                                                         JsonObject         *input);
/* An existing prediction, picked up by id (e.g. after a restart): run
 * polls (or streams) it to completion without creating a new one. */
SqPrediction       *sq_prediction_new_for_id            (SqReplicateClient  *client,
                                                         const char         *prediction_id);

/* Creates the prediction (unless it has an id), streams it and, when
 * needed, polls it until it is terminal. Emits ::delta for each piece of
 * text, in order, exactly once. Returns TRUE on "succeeded"; FALSE with
 * SQ_REPLICATE_ERROR_PREDICTION_FAILED (the model's error as message),
 * SQ_REPLICATE_ERROR_PREDICTION_ABORTED, or G_IO_ERROR_CANCELLED.
 * Cancelling @cancellable stops the HTTP work and also cancels the
 * prediction on Replicate; the callback runs after that request ended. */
void                sq_prediction_run_async             (SqPrediction       *self,
                                                         GCancellable       *cancellable,
                                                         GAsyncReadyCallback callback,
                                                         gpointer            user_data);
gboolean            sq_prediction_run_finish            (SqPrediction       *self,
                                                         GAsyncResult       *result,
                                                         GError            **error);

SqPredictionStatus  sq_prediction_get_status            (SqPrediction       *self);
const char         *sq_prediction_get_model_ref         (SqPrediction       *self);
JsonObject         *sq_prediction_get_input             (SqPrediction       *self);
/* The text so far (output concatenated). Never NULL. */
const char         *sq_prediction_get_text              (SqPrediction       *self);
/* The error message once failed, else NULL. */
const char         *sq_prediction_get_error_message     (SqPrediction       *self);
/* Replicate's id, NULL before creation. */
const char         *sq_prediction_get_id                (SqPrediction       *self);
/* Milliseconds from the start of run to the first text, or -1. */
gint64              sq_prediction_get_ttft_ms           (SqPrediction       *self);
/* Milliseconds from the start of run to the terminal state, or -1. */
gint64              sq_prediction_get_total_ms          (SqPrediction       *self);
/* metrics.predict_time in seconds, or -1. */
double              sq_prediction_get_predict_time      (SqPrediction       *self);
/* Wall-clock times (UTC) of creation/start/completion, NULL when unknown. */
GDateTime          *sq_prediction_get_created_at        (SqPrediction       *self);
GDateTime          *sq_prediction_get_started_at        (SqPrediction       *self);
GDateTime          *sq_prediction_get_completed_at      (SqPrediction       *self);
/* How often to poll when not streaming; default 500 ms. */
void                sq_prediction_set_poll_interval     (SqPrediction       *self,
                                                         guint               interval_ms);
/* How long a stream may send nothing (not even a comment) before it is
 * given up and the prediction polled instead; default 60 s, 0: never. */
void                sq_prediction_set_stream_timeout    (SqPrediction       *self,
                                                         guint               timeout_ms);
/* How long polling a created prediction goes on through failures that
 * look passing (429, 5xx, network) before the run fails with the last
 * error; default 10 minutes, 0: fail at the first failed poll (after the
 * client's own retries). */
void                sq_prediction_set_poll_patience     (SqPrediction       *self,
                                                         guint               patience_ms);

G_END_DECLS
