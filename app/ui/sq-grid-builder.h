/* sq-grid-builder.h
 *
 * The top of the Compare view: the prompts, images and models of a grid,
 * how many cells that makes and how many are already answered, and the
 * Run, Pause, Cancel and Retry Failed controls with a progress bar, bound
 * to a SqGridRun. Sends a desktop notification when a grid finishes
 * while the window is not focused.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sq-grid-run.h"
#include "sq-image.h"
#include "sq-project.h"
#include "sq-workspace.h"

G_BEGIN_DECLS

#define SQ_TYPE_GRID_BUILDER (sq_grid_builder_get_type ())

G_DECLARE_FINAL_TYPE (SqGridBuilder, sq_grid_builder, SQ, GRID_BUILDER, GtkWidget)

/* Properties: workspace, project, run (SqGridRun, read-only, NULL until
 * the first run), n-cells (guint, read-only). */
GtkWidget   *sq_grid_builder_new            (SqWorkspace   *workspace);
void         sq_grid_builder_set_workspace  (SqGridBuilder *self,
                                             SqWorkspace   *workspace);
void         sq_grid_builder_set_project    (SqGridBuilder *self,
                                             SqProject     *project);
SqGridRun   *sq_grid_builder_get_run        (SqGridBuilder *self);
/* Appends a prompt (ignored when empty or already there). */
void         sq_grid_builder_add_prompt     (SqGridBuilder *self,
                                             const char    *text);
/* The prompts in grid order. (transfer full) */
GStrv        sq_grid_builder_dup_prompts    (SqGridBuilder *self);
void         sq_grid_builder_add_image      (SqGridBuilder *self,
                                             SqImage       *image);
guint        sq_grid_builder_get_n_cells    (SqGridBuilder *self);
/* The SqModelPicker of the grid's models. */
GtkWidget   *sq_grid_builder_get_model_picker (SqGridBuilder *self);

G_END_DECLS
