/* sq-prompt-box.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-prompt-box"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-prompt-box.h"

struct _SqPromptBox
{
  GtkWidget        parent_instance;

  /* Template widgets */
  GtkBox          *box;
  GtkScrolledWindow *scroller;
  GtkTextView     *text_view;
  GtkLabel        *placeholder;
  GtkMenuButton   *history_button;
  GtkPopover      *history_popover;
  GtkSearchEntry  *search_entry;
  GtkStack        *history_stack;
  GtkListBox      *history_list;
  GtkLabel        *history_empty;
  GtkBox          *suggestions;
  GtkFlowBox      *suggestion_flow;

  SqPromptHistory *history;        /* (owned) (nullable) */
  int              history_index;  /* -1 when not browsing with Up/Down */
  gboolean         setting_text;
};

G_DEFINE_FINAL_TYPE (SqPromptBox, sq_prompt_box, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TEXT,
  PROP_HISTORY,
  PROP_EMPTY,
  N_PROPS
};

enum {
  ACTIVATE,
  PASTE_IMAGE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
sq_prompt_box_update_suggestions (SqPromptBox *self)
{
  gboolean show;

  show = self->history != NULL &&
         sq_prompt_history_get_n_prompts (self->history) == 0 &&
         sq_prompt_box_is_empty (self);
  gtk_widget_set_visible (GTK_WIDGET (self->suggestions), show);
}

static void
buffer_changed_cb (SqPromptBox   *self,
                   GtkTextBuffer *buffer)
{
  g_assert (SQ_IS_PROMPT_BOX (self));

  gtk_widget_set_visible (GTK_WIDGET (self->placeholder),
                          gtk_text_buffer_get_char_count (buffer) == 0);

  if (!self->setting_text)
    self->history_index = -1;

  sq_prompt_box_update_suggestions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TEXT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EMPTY]);
}

static void
sq_prompt_box_set_text_internal (SqPromptBox *self,
                                 const char  *text)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);
  GtkTextIter end;

  self->setting_text = TRUE;
  gtk_text_buffer_set_text (buffer, text != NULL ? text : "", -1);
  self->setting_text = FALSE;

  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_place_cursor (buffer, &end);
}

/* Up (+1, older) or Down (-1, newer) through the history. */
static gboolean
sq_prompt_box_recall (SqPromptBox *self,
                      int          step)
{
  int n;
  int index;

  if (self->history == NULL)
    return FALSE;

  /* Only from an empty box, or while already recalling. */
  if (self->history_index < 0 && !sq_prompt_box_is_empty (self))
    return FALSE;

  n = sq_prompt_history_get_n_prompts (self->history);
  index = self->history_index + step;
  if (index >= n || (index < -1) || (self->history_index < 0 && step < 0))
    return self->history_index >= 0;

  sq_prompt_box_set_text_internal (self, index >= 0 ? sq_prompt_history_get_prompt (self->history, index) : "");
  self->history_index = index;

  return TRUE;
}

static gboolean
key_pressed_cb (SqPromptBox           *self,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                GtkEventControllerKey *controller)
{
  GdkModifierType mods = state & gtk_accelerator_get_default_mod_mask ();

  g_assert (SQ_IS_PROMPT_BOX (self));

  if ((keyval == GDK_KEY_Return || keyval == GDK_KEY_KP_Enter || keyval == GDK_KEY_ISO_Enter) &&
      mods == GDK_CONTROL_MASK)
    {
      g_signal_emit (self, signals[ACTIVATE], 0);
      return GDK_EVENT_STOP;
    }

  if (mods != 0)
    return GDK_EVENT_PROPAGATE;

  if (keyval == GDK_KEY_Up || keyval == GDK_KEY_KP_Up)
    return sq_prompt_box_recall (self, +1);
  if (keyval == GDK_KEY_Down || keyval == GDK_KEY_KP_Down)
    return sq_prompt_box_recall (self, -1);

  return GDK_EVENT_PROPAGATE;
}

static void
paste_clipboard_cb (SqPromptBox *self,
                    GtkTextView *text_view)
{
  GdkClipboard *clipboard;
  GdkContentFormats *formats;

  g_assert (SQ_IS_PROMPT_BOX (self));

  clipboard = gtk_widget_get_clipboard (GTK_WIDGET (text_view));
  formats = gdk_clipboard_get_formats (clipboard);

  /* Text goes into the question; an image or files go to the images. */
  if (!gdk_content_formats_contain_gtype (formats, G_TYPE_STRING) &&
      (gdk_content_formats_contain_gtype (formats, GDK_TYPE_TEXTURE) ||
       gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST)))
    {
      g_signal_stop_emission_by_name (text_view, "paste-clipboard");
      g_signal_emit (self, signals[PASTE_IMAGE], 0);
    }
}

/* --- the history popover ------------------------------------------ */

static void
sq_prompt_box_fill_history (SqPromptBox *self)
{
  g_autoptr(GPtrArray) found = NULL;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->history_list))) != NULL)
    gtk_list_box_remove (self->history_list, child);

  if (self->history == NULL)
    {
      gtk_stack_set_visible_child_name (self->history_stack, "empty");
      return;
    }

  found = sq_prompt_history_search (self->history,
                                    gtk_editable_get_text (GTK_EDITABLE (self->search_entry)));
  for (guint i = 0; i < found->len; i++)
    {
      const char *prompt = g_ptr_array_index (found, i);
      GtkWidget *label = gtk_label_new (prompt);
      GtkWidget *row = gtk_list_box_row_new ();

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_lines (GTK_LABEL (label), 2);
      gtk_label_set_wrap (GTK_LABEL (label), TRUE);
      gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 40);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), label);
      gtk_widget_set_tooltip_text (row, prompt);
      g_object_set_data_full (G_OBJECT (row), "sq-prompt", g_strdup (prompt), g_free);
      gtk_accessible_update_property (GTK_ACCESSIBLE (row),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, prompt,
                                      -1);
      gtk_list_box_append (self->history_list, row);
    }

  gtk_label_set_label (self->history_empty,
                       sq_prompt_history_get_n_prompts (self->history) == 0
                         ? _("No earlier questions")
                         : _("No earlier question matches"));
  gtk_stack_set_visible_child_name (self->history_stack, found->len > 0 ? "list" : "empty");
}

static void
history_popover_show_cb (SqPromptBox *self)
{
  g_assert (SQ_IS_PROMPT_BOX (self));

  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  sq_prompt_box_fill_history (self);
  gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
search_changed_cb (SqPromptBox *self)
{
  g_assert (SQ_IS_PROMPT_BOX (self));

  sq_prompt_box_fill_history (self);
}

static void
sq_prompt_box_choose (SqPromptBox *self,
                      const char  *prompt)
{
  sq_prompt_box_set_text (self, prompt);
  gtk_popover_popdown (self->history_popover);
  gtk_widget_grab_focus (GTK_WIDGET (self->text_view));
}

static void
history_row_activated_cb (SqPromptBox   *self,
                          GtkListBoxRow *row)
{
  g_assert (SQ_IS_PROMPT_BOX (self));

  sq_prompt_box_choose (self, g_object_get_data (G_OBJECT (row), "sq-prompt"));
}

static void
search_activate_cb (SqPromptBox *self)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->history_list, 0);

  g_assert (SQ_IS_PROMPT_BOX (self));

  if (row != NULL)
    history_row_activated_cb (self, row);
}

static void
suggestion_clicked_cb (GtkButton   *button,
                       SqPromptBox *self)
{
  sq_prompt_box_choose (self, g_object_get_data (G_OBJECT (button), "sq-prompt"));
}

static void
history_changed_cb (SqPromptBox *self)
{
  self->history_index = -1;
  sq_prompt_box_update_suggestions (self);
}

/* --- GObject ------------------------------------------------------- */

static void
sq_prompt_box_dispose (GObject *object)
{
  SqPromptBox *self = SQ_PROMPT_BOX (object);

  gtk_widget_dispose_template (GTK_WIDGET (object), SQ_TYPE_PROMPT_BOX);
  if (self->history != NULL)
    g_signal_handlers_disconnect_by_data (self->history, self);
  g_clear_object (&self->history);

  G_OBJECT_CLASS (sq_prompt_box_parent_class)->dispose (object);
}

static void
sq_prompt_box_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  SqPromptBox *self = SQ_PROMPT_BOX (object);

  switch (prop_id)
    {
    case PROP_TEXT:
      g_value_take_string (value, sq_prompt_box_dup_text (self));
      break;

    case PROP_HISTORY:
      g_value_set_object (value, self->history);
      break;

    case PROP_EMPTY:
      g_value_set_boolean (value, sq_prompt_box_is_empty (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_prompt_box_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  SqPromptBox *self = SQ_PROMPT_BOX (object);

  switch (prop_id)
    {
    case PROP_TEXT:
      sq_prompt_box_set_text (self, g_value_get_string (value));
      break;

    case PROP_HISTORY:
      sq_prompt_box_set_history (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_prompt_box_class_init (SqPromptBoxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sq_prompt_box_dispose;
  object_class->get_property = sq_prompt_box_get_property;
  object_class->set_property = sq_prompt_box_set_property;

  properties[PROP_TEXT] =
    g_param_spec_string ("text", NULL, NULL, NULL,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_HISTORY] =
    g_param_spec_object ("history", NULL, NULL, SQ_TYPE_PROMPT_HISTORY,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_EMPTY] =
    g_param_spec_boolean ("empty", NULL, NULL, TRUE,
                          (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[ACTIVATE] =
    g_signal_new ("activate",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  signals[PASTE_IMAGE] =
    g_signal_new ("paste-image",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-prompt-box.ui");
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, box);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, scroller);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, text_view);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, placeholder);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, history_button);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, history_popover);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, search_entry);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, history_stack);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, history_list);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, history_empty);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, suggestions);
  gtk_widget_class_bind_template_child (widget_class, SqPromptBox, suggestion_flow);
  gtk_widget_class_bind_template_callback (widget_class, paste_clipboard_cb);
  gtk_widget_class_bind_template_callback (widget_class, history_popover_show_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, history_row_activated_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sqpromptbox");
}

static void
sq_prompt_box_init (SqPromptBox *self)
{
  const char * const *suggestions = sq_prompt_history_get_suggestions ();
  GtkEventController *keys;

  self->history_index = -1;

  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (gtk_text_view_get_buffer (self->text_view), "changed",
                           G_CALLBACK (buffer_changed_cb), self, G_CONNECT_SWAPPED);

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect_object (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->text_view), keys);

  for (guint i = 0; suggestions[i] != NULL; i++)
    {
      GtkWidget *button = gtk_button_new_with_label (suggestions[i]);

      gtk_widget_add_css_class (button, "pill");
      gtk_widget_add_css_class (button, "suggestion");
      gtk_label_set_ellipsize (GTK_LABEL (gtk_button_get_child (GTK_BUTTON (button))), PANGO_ELLIPSIZE_END);
      g_object_set_data_full (G_OBJECT (button), "sq-prompt", g_strdup (suggestions[i]), g_free);
      g_signal_connect (button, "clicked", G_CALLBACK (suggestion_clicked_cb), self);
      gtk_flow_box_append (self->suggestion_flow, button);
    }
}

GtkWidget *
sq_prompt_box_new (void)
{
  return g_object_new (SQ_TYPE_PROMPT_BOX, NULL);
}

SqPromptHistory *
sq_prompt_box_get_history (SqPromptBox *self)
{
  g_return_val_if_fail (SQ_IS_PROMPT_BOX (self), NULL);

  return self->history;
}

void
sq_prompt_box_set_history (SqPromptBox     *self,
                           SqPromptHistory *history)
{
  g_return_if_fail (SQ_IS_PROMPT_BOX (self));
  g_return_if_fail (!history || SQ_IS_PROMPT_HISTORY (history));

  if (self->history == history)
    return;

  if (self->history != NULL)
    g_signal_handlers_disconnect_by_data (self->history, self);
  g_set_object (&self->history, history);
  if (history != NULL)
    g_signal_connect_object (history, "changed", G_CALLBACK (history_changed_cb), self,
                             G_CONNECT_SWAPPED);

  history_changed_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HISTORY]);
}

char *
sq_prompt_box_dup_text (SqPromptBox *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start;
  GtkTextIter end;
  char *text;

  g_return_val_if_fail (SQ_IS_PROMPT_BOX (self), NULL);

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);

  return g_strstrip (text);
}

void
sq_prompt_box_set_text (SqPromptBox *self,
                        const char  *text)
{
  g_return_if_fail (SQ_IS_PROMPT_BOX (self));

  sq_prompt_box_set_text_internal (self, text);
  self->history_index = -1;
}

gboolean
sq_prompt_box_is_empty (SqPromptBox *self)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (SQ_IS_PROMPT_BOX (self), TRUE);

  text = sq_prompt_box_dup_text (self);

  return *text == '\0';
}

GtkTextView *
sq_prompt_box_get_text_view (SqPromptBox *self)
{
  g_return_val_if_fail (SQ_IS_PROMPT_BOX (self), NULL);

  return self->text_view;
}
