/* sq-rating.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-rating"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-rating.h"

struct _SqRatingWidget
{
  GtkWidget  parent_instance;

  /* Template widgets */
  GtkBox    *box;
  GtkLabel  *label;
  GtkBox    *stars;
  GtkButton *clear_button;

  GtkImage  *star_images[SQ_RATING_MAX];

  char      *criterion_label;   /* (owned) */
  int        value;
  int        hover;             /* the star under the pointer, 0 for none */
};

G_DEFINE_FINAL_TYPE (SqRatingWidget, sq_rating_widget, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_VALUE,
  PROP_CRITERION_LABEL,
  PROP_SHOW_LABEL,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
sq_rating_widget_update (SqRatingWidget *self)
{
  g_autofree char *value_text = NULL;
  g_autofree char *clear_label = NULL;
  const char *criterion;
  int shown;

  g_assert (SQ_IS_RATING_WIDGET (self));

  shown = self->hover > 0 ? self->hover : self->value;
  for (int i = 0; i < SQ_RATING_MAX; i++)
    {
      GtkWidget *image = GTK_WIDGET (self->star_images[i]);
      gboolean filled = i < shown;

      gtk_image_set_from_icon_name (self->star_images[i],
                                    filled ? "starred-symbolic" : "non-starred-symbolic");
      if (filled)
        gtk_widget_add_css_class (image, "filled");
      else
        gtk_widget_remove_css_class (image, "filled");
      if (self->hover > 0 && self->hover != self->value)
        gtk_widget_add_css_class (image, "preview");
      else
        gtk_widget_remove_css_class (image, "preview");
    }

  if (self->value > 0)
    gtk_widget_add_css_class (GTK_WIDGET (self), "rated");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "rated");

  gtk_widget_set_opacity (GTK_WIDGET (self->clear_button), self->value > 0 ? 1.0 : 0.0);
  gtk_widget_set_can_target (GTK_WIDGET (self->clear_button), self->value > 0);

  criterion = self->criterion_label != NULL ? self->criterion_label : "";
  if (self->value > 0)
    /* Translators: the accessible value of a rating, e.g. "Correctness: 4 of 5" */
    value_text = g_strdup_printf (_("%s: %d of %d"), criterion, self->value, SQ_RATING_MAX);
  else
    /* Translators: the accessible value of a rating nobody gave yet */
    value_text = g_strdup_printf (_("%s: not rated"), criterion);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, criterion,
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_MIN, 0.0,
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_MAX, (double) SQ_RATING_MAX,
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_NOW, (double) self->value,
                                  GTK_ACCESSIBLE_PROPERTY_VALUE_TEXT, value_text,
                                  -1);
  /* Setting a tooltip queries the pointer on the display: only on change,
   * since a table of answers updates many of these at once. */
  if (g_strcmp0 (gtk_widget_get_tooltip_text (GTK_WIDGET (self)), value_text) != 0)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self), value_text);

  /* Translators: %s is a criterion, e.g. "Clear Correctness" */
  clear_label = g_strdup_printf (_("Clear %s"), criterion);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->clear_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, clear_label,
                                  -1);
  if (g_strcmp0 (gtk_widget_get_tooltip_text (GTK_WIDGET (self->clear_button)), clear_label) != 0)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->clear_button), clear_label);
}

/* A change made by the person: sets, notifies and emits ::changed. */
static void
sq_rating_widget_change (SqRatingWidget *self,
                         int             value)
{
  g_assert (SQ_IS_RATING_WIDGET (self));

  value = CLAMP (value, 0, SQ_RATING_MAX);
  if (value == self->value)
    return;

  sq_rating_widget_set_value (self, value);
  g_signal_emit (self, signals[CHANGED], 0);
}

/* The star (1..5) at @x, @y in the stars box, or 0. */
static int
sq_rating_widget_star_at (SqRatingWidget *self,
                          double          x,
                          double          y)
{
  g_assert (SQ_IS_RATING_WIDGET (self));

  for (int i = 0; i < SQ_RATING_MAX; i++)
    {
      GtkWidget *image = GTK_WIDGET (self->star_images[i]);
      graphene_rect_t bounds;

      if (!gtk_widget_compute_bounds (image, GTK_WIDGET (self->stars), &bounds))
        continue;
      /* Count the spacing between stars as part of the star on its left. */
      if (x >= bounds.origin.x - 1 && x < bounds.origin.x + bounds.size.width + 2 &&
          y >= bounds.origin.y - 4 && y < bounds.origin.y + bounds.size.height + 4)
        return i + 1;
    }

  return 0;
}

static void
click_pressed_cb (SqRatingWidget *self,
                  int             n_press,
                  double          x,
                  double          y,
                  GtkGestureClick *gesture)
{
  int star;

  g_assert (SQ_IS_RATING_WIDGET (self));

  star = sq_rating_widget_star_at (self, x, y);
  if (star == 0)
    return;

  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  if (gtk_widget_get_focus_on_click (GTK_WIDGET (self)))
    gtk_widget_grab_focus (GTK_WIDGET (self));

  /* Clicking the star that is already the score clears it. */
  self->hover = 0;
  sq_rating_widget_change (self, star == self->value ? 0 : star);
  sq_rating_widget_update (self);
}

static void
motion_cb (SqRatingWidget           *self,
           double                    x,
           double                    y,
           GtkEventControllerMotion *controller)
{
  int star;

  g_assert (SQ_IS_RATING_WIDGET (self));

  star = sq_rating_widget_star_at (self, x, y);
  if (star != self->hover)
    {
      self->hover = star;
      sq_rating_widget_update (self);
    }
}

static void
leave_cb (SqRatingWidget           *self,
          GtkEventControllerMotion *controller)
{
  g_assert (SQ_IS_RATING_WIDGET (self));

  if (self->hover != 0)
    {
      self->hover = 0;
      sq_rating_widget_update (self);
    }
}

static gboolean
key_pressed_cb (SqRatingWidget        *self,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                GtkEventControllerKey *controller)
{
  gboolean rtl;

  g_assert (SQ_IS_RATING_WIDGET (self));

  if (state & (GDK_CONTROL_MASK | GDK_ALT_MASK | GDK_SUPER_MASK))
    return GDK_EVENT_PROPAGATE;

  rtl = gtk_widget_get_direction (GTK_WIDGET (self)) == GTK_TEXT_DIR_RTL;

  switch (keyval)
    {
    case GDK_KEY_1: case GDK_KEY_KP_1:
    case GDK_KEY_2: case GDK_KEY_KP_2:
    case GDK_KEY_3: case GDK_KEY_KP_3:
    case GDK_KEY_4: case GDK_KEY_KP_4:
    case GDK_KEY_5: case GDK_KEY_KP_5:
      sq_rating_widget_change (self,
                               (int) (keyval >= GDK_KEY_KP_0 ? keyval - GDK_KEY_KP_0 : keyval - GDK_KEY_0));
      return GDK_EVENT_STOP;

    case GDK_KEY_0: case GDK_KEY_KP_0:
    case GDK_KEY_Delete: case GDK_KEY_KP_Delete:
    case GDK_KEY_BackSpace:
      sq_rating_widget_change (self, 0);
      return GDK_EVENT_STOP;

    case GDK_KEY_Right: case GDK_KEY_KP_Right:
    case GDK_KEY_Up: case GDK_KEY_KP_Up:
      sq_rating_widget_change (self, self->value + ((keyval == GDK_KEY_Right || keyval == GDK_KEY_KP_Right) && rtl ? -1 : 1));
      return GDK_EVENT_STOP;

    case GDK_KEY_Left: case GDK_KEY_KP_Left:
    case GDK_KEY_Down: case GDK_KEY_KP_Down:
      sq_rating_widget_change (self, self->value + ((keyval == GDK_KEY_Left || keyval == GDK_KEY_KP_Left) && rtl ? 1 : -1));
      return GDK_EVENT_STOP;

    case GDK_KEY_Home: case GDK_KEY_KP_Home:
      sq_rating_widget_change (self, 1);
      return GDK_EVENT_STOP;

    case GDK_KEY_End: case GDK_KEY_KP_End:
      sq_rating_widget_change (self, SQ_RATING_MAX);
      return GDK_EVENT_STOP;

    default:
      return GDK_EVENT_PROPAGATE;
    }
}

static void
clear_button_clicked_cb (SqRatingWidget *self)
{
  g_assert (SQ_IS_RATING_WIDGET (self));

  sq_rating_widget_change (self, 0);
}

static void
sq_rating_widget_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), SQ_TYPE_RATING_WIDGET);

  G_OBJECT_CLASS (sq_rating_widget_parent_class)->dispose (object);
}

static void
sq_rating_widget_finalize (GObject *object)
{
  SqRatingWidget *self = SQ_RATING_WIDGET (object);

  g_clear_pointer (&self->criterion_label, g_free);

  G_OBJECT_CLASS (sq_rating_widget_parent_class)->finalize (object);
}

static void
sq_rating_widget_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  SqRatingWidget *self = SQ_RATING_WIDGET (object);

  switch (prop_id)
    {
    case PROP_VALUE:
      g_value_set_int (value, self->value);
      break;

    case PROP_CRITERION_LABEL:
      g_value_set_string (value, self->criterion_label);
      break;

    case PROP_SHOW_LABEL:
      g_value_set_boolean (value, sq_rating_widget_get_show_label (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_rating_widget_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  SqRatingWidget *self = SQ_RATING_WIDGET (object);

  switch (prop_id)
    {
    case PROP_VALUE:
      sq_rating_widget_set_value (self, g_value_get_int (value));
      break;

    case PROP_CRITERION_LABEL:
      sq_rating_widget_set_criterion_label (self, g_value_get_string (value));
      break;

    case PROP_SHOW_LABEL:
      sq_rating_widget_set_show_label (self, g_value_get_boolean (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_rating_widget_class_init (SqRatingWidgetClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sq_rating_widget_dispose;
  object_class->finalize = sq_rating_widget_finalize;
  object_class->get_property = sq_rating_widget_get_property;
  object_class->set_property = sq_rating_widget_set_property;

  properties[PROP_VALUE] =
    g_param_spec_int ("value", NULL, NULL,
                      0, SQ_RATING_MAX, 0,
                      (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_CRITERION_LABEL] =
    g_param_spec_string ("criterion-label", NULL, NULL,
                         NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_SHOW_LABEL] =
    g_param_spec_boolean ("show-label", NULL, NULL,
                          TRUE,
                          (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CHANGED] =
    g_signal_new ("changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-rating.ui");
  gtk_widget_class_bind_template_child (widget_class, SqRatingWidget, box);
  gtk_widget_class_bind_template_child (widget_class, SqRatingWidget, label);
  gtk_widget_class_bind_template_child (widget_class, SqRatingWidget, stars);
  gtk_widget_class_bind_template_child (widget_class, SqRatingWidget, clear_button);
  gtk_widget_class_bind_template_callback (widget_class, clear_button_clicked_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sqrating");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_SLIDER);
}

static void
sq_rating_widget_init (SqRatingWidget *self)
{
  GtkGesture *click;
  GtkEventController *motion;
  GtkEventController *keys;

  gtk_widget_init_template (GTK_WIDGET (self));

  for (int i = 0; i < SQ_RATING_MAX; i++)
    {
      GtkWidget *image = gtk_image_new_from_icon_name ("non-starred-symbolic");

      gtk_widget_add_css_class (image, "star");
      gtk_box_append (self->stars, image);
      self->star_images[i] = GTK_IMAGE (image);
    }

  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_PRIMARY);
  g_signal_connect_object (click, "pressed", G_CALLBACK (click_pressed_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->stars), GTK_EVENT_CONTROLLER (click));

  motion = gtk_event_controller_motion_new ();
  g_signal_connect_object (motion, "motion", G_CALLBACK (motion_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (motion, "leave", G_CALLBACK (leave_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->stars), motion);

  keys = gtk_event_controller_key_new ();
  g_signal_connect_object (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);

  gtk_widget_set_cursor_from_name (GTK_WIDGET (self->stars), "pointer");

  sq_rating_widget_update (self);
}

GtkWidget *
sq_rating_widget_new (const char *criterion_label)
{
  return g_object_new (SQ_TYPE_RATING_WIDGET,
                       "criterion-label", criterion_label,
                       NULL);
}

int
sq_rating_widget_get_value (SqRatingWidget *self)
{
  g_return_val_if_fail (SQ_IS_RATING_WIDGET (self), 0);

  return self->value;
}

void
sq_rating_widget_set_value (SqRatingWidget *self,
                            int             value)
{
  g_return_if_fail (SQ_IS_RATING_WIDGET (self));
  g_return_if_fail (value >= 0 && value <= SQ_RATING_MAX);

  if (self->value == value)
    return;

  self->value = value;
  sq_rating_widget_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALUE]);
}

const char *
sq_rating_widget_get_criterion_label (SqRatingWidget *self)
{
  g_return_val_if_fail (SQ_IS_RATING_WIDGET (self), NULL);

  return self->criterion_label;
}

void
sq_rating_widget_set_criterion_label (SqRatingWidget *self,
                                      const char     *label)
{
  g_return_if_fail (SQ_IS_RATING_WIDGET (self));

  if (g_strcmp0 (self->criterion_label, label) == 0)
    return;

  g_free (self->criterion_label);
  self->criterion_label = g_strdup (label);
  gtk_label_set_label (self->label, label != NULL ? label : "");
  sq_rating_widget_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CRITERION_LABEL]);
}

gboolean
sq_rating_widget_get_show_label (SqRatingWidget *self)
{
  g_return_val_if_fail (SQ_IS_RATING_WIDGET (self), FALSE);

  return gtk_widget_get_visible (GTK_WIDGET (self->label));
}

void
sq_rating_widget_set_show_label (SqRatingWidget *self,
                                 gboolean        show_label)
{
  g_return_if_fail (SQ_IS_RATING_WIDGET (self));

  show_label = !!show_label;
  if (show_label == gtk_widget_get_visible (GTK_WIDGET (self->label)))
    return;

  gtk_widget_set_visible (GTK_WIDGET (self->label), show_label);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_LABEL]);
}
