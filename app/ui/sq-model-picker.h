/* sq-model-picker.h
 *
 * The list of models to ask: the four built-in ones and any added by
 * owner/name[:version], each with a check button and a settings popover
 * generated from its schema. The selection, the added models and the
 * settings are kept in GSettings ("selected-models", "custom-models",
 * "model-settings").
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sq-model.h"
#include "sq-workspace.h"

G_BEGIN_DECLS

#define SQ_TYPE_MODEL_PICKER (sq_model_picker_get_type ())

G_DECLARE_FINAL_TYPE (SqModelPicker, sq_model_picker, SQ, MODEL_PICKER, GtkWidget)

/* Properties: workspace (SqWorkspace, whose catalog resolves the models),
 * settings (GSettings, construct-only, NULL = Squint's schema),
 * n-selected (guint, read-only). */
GtkWidget    *sq_model_picker_new                (SqWorkspace         *workspace,
                                                  GSettings           *settings);
SqWorkspace  *sq_model_picker_get_workspace      (SqModelPicker       *self);
void          sq_model_picker_set_workspace      (SqModelPicker       *self,
                                                  SqWorkspace         *workspace);
guint         sq_model_picker_get_n_selected     (SqModelPicker       *self);
/* The ticked models that are resolved, in list order.
 * (transfer full) (element-type SqModel) */
GPtrArray    *sq_model_picker_dup_selected       (SqModelPicker       *self);
/* The settings to send with @model (one of the picker's models): the
 * enabled generic overrides from Preferences, then the model's own
 * settings from its popover, as sq_model_build_input() takes them.
 * (transfer full) (element-type utf8 utf8) */
GHashTable   *sq_model_picker_dup_settings       (SqModelPicker       *self,
                                                  SqModel             *model);
/* Ticks or unticks the model called @name (an alias or the reference it
 * was added by). FALSE when there is no such model in the list. */
gboolean      sq_model_picker_set_selected       (SqModelPicker       *self,
                                                  const char          *name,
                                                  gboolean             selected);
/* Resolves @ref (owner/name[:version]) with the workspace's catalog and
 * adds it, ticked, to the list and to "custom-models". Fails with the
 * catalog's error (no such model, no image input, no connection…). */
void          sq_model_picker_add_model_async    (SqModelPicker       *self,
                                                  const char          *ref,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
gboolean      sq_model_picker_add_model_finish   (SqModelPicker       *self,
                                                  GAsyncResult        *result,
                                                  GError             **error);

G_END_DECLS
