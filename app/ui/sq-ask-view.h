/* sq-ask-view.h
 *
 * The Ask view: images, a question and models in, one streaming answer
 * card per image × model out, every answer saved to the workspace's
 * project.
 *
 * Actions: ask.open (Ctrl+O), ask.paste (Ctrl+V), ask.ask
 * (Ctrl+Enter), ask.stop-all (Escape).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sq-workspace.h"

G_BEGIN_DECLS

#define SQ_TYPE_ASK_VIEW (sq_ask_view_get_type ())

G_DECLARE_FINAL_TYPE (SqAskView, sq_ask_view, SQ, ASK_VIEW, GtkWidget)

/* Property workspace (SqWorkspace). Signal ::toast (AdwToast *) before a
 * toast is shown. */
GtkWidget   *sq_ask_view_new           (SqWorkspace *workspace);
SqWorkspace *sq_ask_view_get_workspace (SqAskView   *self);
void         sq_ask_view_set_workspace (SqAskView   *self,
                                        SqWorkspace *workspace);
/* Asks the current question (what ask.ask does). FALSE, with a toast
 * saying why, when something is missing. */
gboolean     sq_ask_view_ask           (SqAskView   *self);
void         sq_ask_view_stop_all      (SqAskView   *self);
/* The answer cards, newest question first. (transfer container)
 * (element-type SqAnswerCard) */
GPtrArray   *sq_ask_view_get_cards     (SqAskView   *self);

G_END_DECLS
