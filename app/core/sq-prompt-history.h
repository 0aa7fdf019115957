/* sq-prompt-history.h
 *
 * The prompts asked before, most recent first, without duplicates,
 * searchable, kept as a JSON array of strings in
 * $XDG_DATA_HOME/squint/prompt-history.json.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* How many prompts are kept; older ones are dropped. */
#define SQ_PROMPT_HISTORY_MAX 200

#define SQ_TYPE_PROMPT_HISTORY (sq_prompt_history_get_type ())

G_DECLARE_FINAL_TYPE (SqPromptHistory, sq_prompt_history, SQ, PROMPT_HISTORY, GObject)

/* Signal ::changed, after load and after every add or clear. */

/* @file NULL means $XDG_DATA_HOME/squint/prompt-history.json. */
SqPromptHistory     *sq_prompt_history_new           (GFile               *file);
GFile               *sq_prompt_history_get_file      (SqPromptHistory     *self);
/* Reads the file in a worker thread. A missing file is an empty history
 * (and is_first_run() is TRUE); a damaged one fails with
 * G_IO_ERROR_INVALID_DATA naming the file, leaving the history empty. */
void                 sq_prompt_history_load_async    (SqPromptHistory     *self,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
gboolean             sq_prompt_history_load_finish   (SqPromptHistory     *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);
/* Writes the history atomically (creating the folder) in a worker thread.
 * Saves run in call order. */
void                 sq_prompt_history_save_async    (SqPromptHistory     *self,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
gboolean             sq_prompt_history_save_finish   (SqPromptHistory     *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);
/* TRUE when the last load found no file: nothing was ever asked. */
gboolean             sq_prompt_history_is_first_run  (SqPromptHistory     *self);
/* Puts @prompt first (moving it if it was there already); blank prompts
 * are ignored. Surrounding white space is not part of the prompt. */
void                 sq_prompt_history_add           (SqPromptHistory     *self,
                                                      const char          *prompt);
void                 sq_prompt_history_clear         (SqPromptHistory     *self);
guint                sq_prompt_history_get_n_prompts (SqPromptHistory     *self);
/* The @index-th most recent prompt, or NULL past the end. */
const char          *sq_prompt_history_get_prompt    (SqPromptHistory     *self,
                                                      guint                index);
/* Prompts containing every word of @query, ignoring case, most recent
 * first; every prompt when @query is empty.
 * (transfer full) (element-type utf8) */
GPtrArray           *sq_prompt_history_search        (SqPromptHistory     *self,
                                                      const char          *query);
/* The prompts of the notebook Squint replaces, offered on first run.
 * (array zero-terminated=1) */
const char * const  *sq_prompt_history_get_suggestions (void);

G_END_DECLS
