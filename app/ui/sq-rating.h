/* sq-rating.h
 *
 * SqRatingWidget: a 1–5 star rating for one criterion ("Correctness",
 * "Relevance"), with a clear "not rated" state. Used by the Ask view's
 * answer cards and the Compare table.
 *
 * (The type is not called SqRating because sq-project.h already names
 * its rating record that way.)
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SQ_RATING_MAX 5

#define SQ_TYPE_RATING_WIDGET (sq_rating_widget_get_type ())

G_DECLARE_FINAL_TYPE (SqRatingWidget, sq_rating_widget, SQ, RATING_WIDGET, GtkWidget)

/* Properties: value (int, 0 = unrated, 1..5), criterion-label (string),
 * show-label (boolean, whether the criterion is shown before the stars).
 * Signal ::changed, emitted when the person changes the value (clicks,
 * keys, the clear button) — not when set_value() is called. */
GtkWidget  *sq_rating_widget_new                 (const char     *criterion_label);
int         sq_rating_widget_get_value           (SqRatingWidget *self);
void        sq_rating_widget_set_value           (SqRatingWidget *self,
                                                  int             value);
const char *sq_rating_widget_get_criterion_label (SqRatingWidget *self);
void        sq_rating_widget_set_criterion_label (SqRatingWidget *self,
                                                  const char     *label);
gboolean    sq_rating_widget_get_show_label      (SqRatingWidget *self);
void        sq_rating_widget_set_show_label      (SqRatingWidget *self,
                                                  gboolean        show_label);

G_END_DECLS
