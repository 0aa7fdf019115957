/* sq-summary-chart.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-summary-chart"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-stats.h"
#include "sq-summary-chart.h"

#define BAR_HEIGHT    12
#define BAR_GAP       3
#define GROUP_GAP     14
#define LEGEND_HEIGHT 24
#define AXIS_HEIGHT   20
#define PAD           6
#define MAX_SCORE     5.0

struct _SqSummaryChart
{
  GtkWidget  parent_instance;

  GPtrArray *entries;  /* (owned) (element-type SqStatsEntry) */
  GPtrArray *models;   /* (owned) (element-type utf8): distinct, in order */
};

G_DEFINE_FINAL_TYPE (SqSummaryChart, sq_summary_chart, GTK_TYPE_WIDGET)

static const SqStatsEntry *
find_entry (SqSummaryChart *self,
            const char     *model,
            SqCriterion     criterion)
{
  for (guint i = 0; self->entries != NULL && i < self->entries->len; i++)
    {
      const SqStatsEntry *entry = g_ptr_array_index (self->entries, i);

      if (entry->criterion == criterion && g_strcmp0 (entry->model, model) == 0)
        return entry;
    }

  return NULL;
}

static const char *
criterion_label (SqCriterion criterion)
{
  return criterion == SQ_CRITERION_CORRECTNESS ? _("Correctness") : _("Relevance");
}

static void
lookup_color (GtkWidget  *widget,
              const char *name,
              const char *fallback,
              GdkRGBA    *out)
{
  GtkStyleContext *context = gtk_widget_get_style_context (widget);

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (!gtk_style_context_lookup_color (context, name, out))
    gdk_rgba_parse (out, fallback);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
get_colors (GtkWidget *widget,
            GdkRGBA   *fg,
            GdkRGBA   *bars)
{
  GtkStyleContext *context = gtk_widget_get_style_context (widget);

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_get_color (context, fg);
  G_GNUC_END_IGNORE_DEPRECATIONS

  /* The accent for correctness, a palette colour that reads well next to
   * it (in light and dark styles) for relevance. */
  lookup_color (widget, "accent_bg_color", "#3584e4", &bars[SQ_CRITERION_CORRECTNESS]);
  lookup_color (widget, "orange_3", "#ff7800", &bars[SQ_CRITERION_RELEVANCE]);
}

static PangoLayout *
make_layout (GtkWidget  *widget,
             const char *text)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (widget, text);

  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  return layout;
}

static int
name_column_width (SqSummaryChart *self,
                   int             width)
{
  int widest = 0;

  for (guint i = 0; i < self->models->len; i++)
    {
      g_autoptr(PangoLayout) layout = make_layout (GTK_WIDGET (self), g_ptr_array_index (self->models, i));
      int w;

      pango_layout_get_pixel_size (layout, &w, NULL);
      widest = MAX (widest, w);
    }

  return MIN (widest + 2 * PAD, width * 2 / 5);
}

static void
append_rect (GtkSnapshot   *snapshot,
             const GdkRGBA *color,
             float          x,
             float          y,
             float          w,
             float          h)
{
  gtk_snapshot_append_color (snapshot, color, &GRAPHENE_RECT_INIT (x, y, MAX (w, 0), MAX (h, 0)));
}

static void
append_text (GtkSnapshot   *snapshot,
             PangoLayout   *layout,
             const GdkRGBA *color,
             float          x,
             float          y)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT (x, y));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}

static void
sq_summary_chart_snapshot (GtkWidget   *widget,
                           GtkSnapshot *snapshot)
{
  SqSummaryChart *self = SQ_SUMMARY_CHART (widget);
  int width = gtk_widget_get_width (widget);
  GdkRGBA fg, dim, grid, bars[SQ_N_CRITERIA];
  int names_w;
  float plot_x, plot_w, y;

  if (self->models->len == 0 || width < 80)
    return;

  get_colors (widget, &fg, bars);
  dim = fg;
  dim.alpha *= 0.6f;
  grid = fg;
  grid.alpha *= 0.12f;

  /* Legend */
  {
    float x = PAD;

    for (guint c = 0; c < SQ_N_CRITERIA; c++)
      {
        g_autoptr(PangoLayout) layout = make_layout (widget, criterion_label (c));
        int w, h;

        pango_layout_get_pixel_size (layout, &w, &h);
        append_rect (snapshot, &bars[c], x, (LEGEND_HEIGHT - 10) / 2.0f, 10, 10);
        append_text (snapshot, layout, &dim, x + 14, (LEGEND_HEIGHT - h) / 2.0f);
        x += 14 + w + 16;
      }
  }

  names_w = name_column_width (self, width);
  plot_x = names_w + PAD;
  plot_w = width - plot_x - 3 * PAD - 24;  /* room for the value labels */
  if (plot_w < 20)
    return;

  y = LEGEND_HEIGHT + PAD;

  /* Grid lines at 1..5 with their labels under the plot */
  {
    float plot_h = self->models->len * (SQ_N_CRITERIA * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP);

    for (int s = 0; s <= (int) MAX_SCORE; s++)
      {
        g_autofree char *text = g_strdup_printf ("%d", s);
        g_autoptr(PangoLayout) layout = make_layout (widget, text);
        float gx = plot_x + plot_w * s / MAX_SCORE;
        int w, h;

        append_rect (snapshot, &grid, gx, y, 1, plot_h);
        pango_layout_get_pixel_size (layout, &w, &h);
        append_text (snapshot, layout, &dim, gx - w / 2.0f, y + plot_h + 2);
      }
  }

  for (guint m = 0; m < self->models->len; m++)
    {
      const char *model = g_ptr_array_index (self->models, m);
      g_autoptr(PangoLayout) name = make_layout (widget, model);
      float group_h = SQ_N_CRITERIA * (BAR_HEIGHT + BAR_GAP) - BAR_GAP;
      int nh;

      pango_layout_set_width (name, (names_w - PAD) * PANGO_SCALE);
      pango_layout_get_pixel_size (name, NULL, &nh);
      append_text (snapshot, name, &fg, PAD, y + (group_h - nh) / 2.0f);

      for (guint c = 0; c < SQ_N_CRITERIA; c++)
        {
          const SqStatsEntry *entry = find_entry (self, model, c);
          float by = y + c * (BAR_HEIGHT + BAR_GAP);

          if (entry != NULL && entry->n > 0)
            {
              g_autofree char *value = g_strdup_printf ("%.1f", entry->mean);
              g_autoptr(PangoLayout) layout = make_layout (widget, value);
              float x0 = plot_x + plot_w * CLAMP (entry->ci_low, 0, MAX_SCORE) / MAX_SCORE;
              float x1 = plot_x + plot_w * CLAMP (entry->ci_high, 0, MAX_SCORE) / MAX_SCORE;
              float cy = by + BAR_HEIGHT / 2.0f;
              int lh;

              append_rect (snapshot, &bars[c], plot_x, by,
                           plot_w * CLAMP (entry->mean, 0, MAX_SCORE) / MAX_SCORE, BAR_HEIGHT);
              /* the interval: a line with caps */
              append_rect (snapshot, &fg, x0, cy - 0.75f, x1 - x0, 1.5f);
              append_rect (snapshot, &fg, x0 - 0.75f, by + 2, 1.5f, BAR_HEIGHT - 4);
              append_rect (snapshot, &fg, x1 - 0.75f, by + 2, 1.5f, BAR_HEIGHT - 4);

              pango_layout_get_pixel_size (layout, NULL, &lh);
              append_text (snapshot, layout, &dim, MAX (x1, plot_x + plot_w * entry->mean / MAX_SCORE) + 4,
                           cy - lh / 2.0f);
            }
          else
            {
              g_autoptr(PangoLayout) layout = make_layout (widget, _("not rated"));
              int lh;

              pango_layout_get_pixel_size (layout, NULL, &lh);
              append_text (snapshot, layout, &dim, plot_x + 4, by + (BAR_HEIGHT - lh) / 2.0f);
            }
        }

      y += group_h + BAR_GAP + GROUP_GAP;
    }
}

static void
sq_summary_chart_measure (GtkWidget      *widget,
                          GtkOrientation  orientation,
                          int             for_size,
                          int            *minimum,
                          int            *natural,
                          int            *minimum_baseline,
                          int            *natural_baseline)
{
  SqSummaryChart *self = SQ_SUMMARY_CHART (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 160;
      *natural = 320;
    }
  else
    {
      guint n = self->models->len;

      *minimum = *natural = n == 0 ? 0 :
        LEGEND_HEIGHT + PAD + n * (SQ_N_CRITERIA * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP) + AXIS_HEIGHT;
    }
}

static void
sq_summary_chart_update_description (SqSummaryChart *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint m = 0; m < self->models->len; m++)
    {
      const char *model = g_ptr_array_index (self->models, m);

      if (text->len > 0)
        g_string_append (text, "; ");
      g_string_append (text, model);
      for (guint c = 0; c < SQ_N_CRITERIA; c++)
        {
          const SqStatsEntry *entry = find_entry (self, model, c);

          if (entry == NULL)
            /* Translators: ", Relevance not rated" in the chart's description */
            g_string_append_printf (text, _(", %s not rated"), criterion_label (c));
          else
            /* Translators: ", Correctness 4.2 (3.8 to 4.6, 12 answers)" */
            g_string_append_printf (text, _(", %s %.1f (%.1f to %.1f, %u answers)"),
                                    criterion_label (c), entry->mean,
                                    entry->ci_low, entry->ci_high, entry->n);
        }
    }

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, text->str,
                                  -1);
}

static void
sq_summary_chart_css_changed (GtkWidget         *widget,
                              GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (sq_summary_chart_parent_class)->css_changed (widget, change);
  gtk_widget_queue_draw (widget);
}

static void
sq_summary_chart_finalize (GObject *object)
{
  SqSummaryChart *self = SQ_SUMMARY_CHART (object);

  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_pointer (&self->models, g_ptr_array_unref);

  G_OBJECT_CLASS (sq_summary_chart_parent_class)->finalize (object);
}

static void
sq_summary_chart_class_init (SqSummaryChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = sq_summary_chart_finalize;

  widget_class->snapshot = sq_summary_chart_snapshot;
  widget_class->measure = sq_summary_chart_measure;
  widget_class->css_changed = sq_summary_chart_css_changed;

  gtk_widget_class_set_css_name (widget_class, "sqsummarychart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
sq_summary_chart_init (SqSummaryChart *self)
{
  self->models = g_ptr_array_new_with_free_func (g_free);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Mean scores per model"),
                                  -1);
}

GtkWidget *
sq_summary_chart_new (void)
{
  return g_object_new (SQ_TYPE_SUMMARY_CHART, NULL);
}

void
sq_summary_chart_set_entries (SqSummaryChart *self,
                              GPtrArray      *entries)
{
  g_return_if_fail (SQ_IS_SUMMARY_CHART (self));

  if (entries != NULL)
    g_ptr_array_ref (entries);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  self->entries = entries;

  g_ptr_array_set_size (self->models, 0);
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      const SqStatsEntry *entry = g_ptr_array_index (entries, i);

      if (!g_ptr_array_find_with_equal_func (self->models, entry->model, g_str_equal, NULL))
        g_ptr_array_add (self->models, g_strdup (entry->model));
    }

  sq_summary_chart_update_description (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

guint
sq_summary_chart_get_n_models (SqSummaryChart *self)
{
  g_return_val_if_fail (SQ_IS_SUMMARY_CHART (self), 0);

  return self->models->len;
}
