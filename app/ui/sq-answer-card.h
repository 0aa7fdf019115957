/* sq-answer-card.h
 *
 * One answer in the Ask view: the model, the image, the status, the
 * text as it streams in, timings, Stop / Retry / Copy, the two ratings
 * and a note, all saved to the answer's project.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sq-ask-run.h"

G_BEGIN_DECLS

#define SQ_TYPE_ANSWER_CARD (sq_answer_card_get_type ())

G_DECLARE_FINAL_TYPE (SqAnswerCard, sq_answer_card, SQ, ANSWER_CARD, GtkWidget)

/* Property run (SqAskRun, replaced by Retry). Signals: ::copied after
 * Copy put the answer on the clipboard; ::rating-failed (const char
 * *message) when a rating or note could not be saved. */
GtkWidget *sq_answer_card_new        (SqAskRun     *run);
SqAskRun  *sq_answer_card_get_run    (SqAnswerCard *self);
/* Starts the run (once). */
void       sq_answer_card_start      (SqAnswerCard *self);
void       sq_answer_card_stop       (SqAnswerCard *self);
/* Asks again with a new run, when the current one has ended. */
void       sq_answer_card_retry      (SqAnswerCard *self);
gboolean   sq_answer_card_is_running (SqAnswerCard *self);
/* The text shown (what has been drawn so far). */
char      *sq_answer_card_dup_text   (SqAnswerCard *self);
/* The status as shown: "Queued", "Streaming", "Done"… */
const char *sq_answer_card_get_status_label (SqAnswerCard *self);

G_END_DECLS
