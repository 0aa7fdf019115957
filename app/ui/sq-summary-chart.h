/* sq-summary-chart.h
 *
 * A bar chart of the mean scores per model and criterion, with their 95%
 * confidence intervals as error bars, drawn with GtkSnapshot. Its
 * accessible description carries the same figures as text.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SQ_TYPE_SUMMARY_CHART (sq_summary_chart_get_type ())

G_DECLARE_FINAL_TYPE (SqSummaryChart, sq_summary_chart, SQ, SUMMARY_CHART, GtkWidget)

GtkWidget *sq_summary_chart_new         (void);
/* @entries (element-type SqStatsEntry) (nullable): what sq_stats_compute()
 * returned. The chart keeps a reference. */
void       sq_summary_chart_set_entries (SqSummaryChart *self,
                                         GPtrArray      *entries);
/* The number of models drawn. */
guint      sq_summary_chart_get_n_models (SqSummaryChart *self);

G_END_DECLS
