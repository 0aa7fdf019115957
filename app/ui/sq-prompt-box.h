/* sq-prompt-box.h
 *
 * The question of the Ask view: a multi-line text box, Ctrl+Enter to
 * ask, the prompt history in a searchable popover and on Up/Down in an
 * empty box, and the notebook's prompts as suggestions on first run.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sq-prompt-history.h"

G_BEGIN_DECLS

#define SQ_TYPE_PROMPT_BOX (sq_prompt_box_get_type ())

G_DECLARE_FINAL_TYPE (SqPromptBox, sq_prompt_box, SQ, PROMPT_BOX, GtkWidget)

/* Signals: ::activate on Ctrl+Enter; ::paste-image when Ctrl+V in the
 * box finds an image or files and no text on the clipboard.
 * Properties: text (string), history (SqPromptHistory), empty (bool). */
GtkWidget       *sq_prompt_box_new         (void);
SqPromptHistory *sq_prompt_box_get_history (SqPromptBox     *self);
void             sq_prompt_box_set_history (SqPromptBox     *self,
                                            SqPromptHistory *history);
/* The prompt without surrounding white space. (transfer full) */
char            *sq_prompt_box_dup_text    (SqPromptBox     *self);
void             sq_prompt_box_set_text    (SqPromptBox     *self,
                                            const char      *text);
gboolean         sq_prompt_box_is_empty    (SqPromptBox     *self);
GtkTextView     *sq_prompt_box_get_text_view (SqPromptBox   *self);

G_END_DECLS
