/* sq-compare-view.h
 *
 * The Compare view: the grid builder, the table of every answer of the
 * project with keyboard labelling, blind mode, the summary chart and the
 * export menu.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sq-exporter.h"
#include "sq-project.h"
#include "sq-workspace.h"

G_BEGIN_DECLS

#define SQ_TYPE_COMPARE_VIEW (sq_compare_view_get_type ())

G_DECLARE_FINAL_TYPE (SqCompareView, sq_compare_view, SQ, COMPARE_VIEW, GtkWidget)

/* Properties: workspace (SqWorkspace; the view follows its project),
 * project (SqProject, read-write: set directly when there is no
 * workspace), blind (boolean), loaded (boolean, read-only: the project's
 * results and blind state are read). */
GtkWidget      *sq_compare_view_new                 (SqWorkspace     *workspace);
SqWorkspace    *sq_compare_view_get_workspace       (SqCompareView   *self);
void            sq_compare_view_set_workspace       (SqCompareView   *self,
                                                     SqWorkspace     *workspace);
SqProject      *sq_compare_view_get_project         (SqCompareView   *self);
void            sq_compare_view_set_project         (SqCompareView   *self,
                                                     SqProject       *project);
gboolean        sq_compare_view_get_loaded          (SqCompareView   *self);
gboolean        sq_compare_view_get_blind           (SqCompareView   *self);
void            sq_compare_view_set_blind           (SqCompareView   *self,
                                                     gboolean         blind);
/* The table's model after filtering and sorting (a GtkSingleSelection of
 * SqResultRow). */
GtkSelectionModel *sq_compare_view_get_selection    (SqCompareView   *self);
/* The grid builder at the top of the view. */
GtkWidget      *sq_compare_view_get_grid_builder    (SqCompareView   *self);
/* The criterion that 1–5 rates. */
SqCriterion     sq_compare_view_get_criterion       (SqCompareView   *self);
/* Writes an export of the project to @file; a toast offers to open it. */
void            sq_compare_view_export_async        (SqCompareView   *self,
                                                     SqExportFormat   format,
                                                     GFile           *file,
                                                     GCancellable    *cancellable,
                                                     GAsyncReadyCallback callback,
                                                     gpointer         user_data);
gboolean        sq_compare_view_export_finish       (SqCompareView   *self,
                                                     GAsyncResult    *result,
                                                     GError         **error);

G_END_DECLS
