/* sq-replicate-client-private.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sq-replicate-client.h"

G_BEGIN_DECLS

/* Like sq_replicate_client_create_prediction_async() (or the deployment
 * variant when @deployment is set and @model_ref is NULL), with two
 * cancellables: @cancellable aborts the HTTP exchange itself, while
 * @wait_cancellable only aborts the waits between retries. SqPrediction
 * passes NULL and the run's cancellable, so that a create that already
 * went out is let finish and the prediction it made can be canceled on
 * Replicate instead of being orphaned. Finish with
 * sq_replicate_client_create_prediction_finish(). */
void _sq_replicate_client_create_prediction_full_async (SqReplicateClient   *self,
                                                        const char          *model_ref,
                                                        const char          *deployment,
                                                        JsonObject          *input,
                                                        GCancellable        *cancellable,
                                                        GCancellable        *wait_cancellable,
                                                        GAsyncReadyCallback  callback,
                                                        gpointer             user_data);

G_END_DECLS
