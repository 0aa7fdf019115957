/* sq-ask-view.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-ask-view"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-answer-card.h"
#include "sq-ask-run.h"
#include "sq-ask-view.h"
#include "sq-image-tray.h"
#include "sq-model-picker.h"
#include "sq-prompt-box.h"
#include "sq-prompt-history.h"

/* Finished cards beyond this many are dropped from the view (they stay
 * in the project). */
#define MAX_CARDS 48

struct _SqAskView
{
  GtkWidget        parent_instance;

  /* Template widgets */
  AdwToastOverlay *toast_overlay;
  GtkScrolledWindow *scroller;
  SqImageTray     *tray;
  SqPromptBox     *prompt_box;
  GtkMenuButton   *models_button;
  GtkLabel        *models_label;
  SqModelPicker   *picker;
  GtkButton       *stop_all_button;
  GtkButton       *ask_button;
  GtkStack        *results_stack;
  GtkFlowBox      *cards;

  SqWorkspace     *workspace;     /* (owned) (nullable) */
  SqPromptHistory *history;       /* (owned) */
  GCancellable    *cancellable;   /* (owned) */
  guint            n_running;
};

G_DEFINE_FINAL_TYPE (SqAskView, sq_ask_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_WORKSPACE,
  N_PROPS
};

enum {
  TOAST,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
sq_ask_view_toast (SqAskView  *self,
                   const char *message)
{
  AdwToast *toast = adw_toast_new (message);

  adw_toast_set_timeout (toast, 5);
  g_signal_emit (self, signals[TOAST], 0, toast);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

GPtrArray *
sq_ask_view_get_cards (SqAskView *self)
{
  GPtrArray *cards;

  g_return_val_if_fail (SQ_IS_ASK_VIEW (self), NULL);

  cards = g_ptr_array_new ();
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->cards));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *card = gtk_flow_box_child_get_child (GTK_FLOW_BOX_CHILD (child));

      if (SQ_IS_ANSWER_CARD (card))
        g_ptr_array_add (cards, card);
    }

  return cards;
}

static void
sq_ask_view_update_actions (SqAskView *self)
{
  g_autoptr(GPtrArray) cards = sq_ask_view_get_cards (self);
  gboolean can_ask;
  guint running = 0;

  for (guint i = 0; i < cards->len; i++)
    {
      if (sq_answer_card_is_running (g_ptr_array_index (cards, i)))
        running++;
    }
  self->n_running = running;

  can_ask = self->workspace != NULL &&
            sq_workspace_get_client (self->workspace) != NULL &&
            sq_image_tray_get_n_selected (self->tray) > 0 &&
            sq_model_picker_get_n_selected (self->picker) > 0 &&
            !sq_prompt_box_is_empty (self->prompt_box);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.ask", can_ask);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "ask.stop-all", running > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->stop_all_button), running > 0);
}

static void
sq_ask_view_update_models_label (SqAskView *self)
{
  g_autoptr(GPtrArray) models = sq_model_picker_dup_selected (self->picker);
  g_autoptr(GString) names = g_string_new ("");

  for (guint i = 0; i < models->len; i++)
    {
      if (i > 0)
        g_string_append (names, ", ");
      g_string_append (names, sq_model_get_display_name (g_ptr_array_index (models, i)));
    }

  if (models->len == 0)
    gtk_label_set_label (self->models_label, _("No models chosen"));
  else
    gtk_label_set_label (self->models_label, names->str);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->models_button),
                               models->len > 0 ? names->str : _("Choose Models"));

  sq_ask_view_update_actions (self);
}

static void
card_status_cb (SqAskView  *self,
                GParamSpec *pspec,
                SqAskRun   *run)
{
  sq_ask_view_update_actions (self);
}

static void
card_run_cb (SqAskView    *self,
             GParamSpec   *pspec,
             SqAnswerCard *card)
{
  g_signal_connect_object (sq_answer_card_get_run (card), "notify::status",
                           G_CALLBACK (card_status_cb), self, G_CONNECT_SWAPPED);
  sq_ask_view_update_actions (self);
}

static void
card_copied_cb (SqAskView *self)
{
  sq_ask_view_toast (self, _("Answer copied"));
}

static void
card_save_failed_cb (SqAskView  *self,
                     const char *message)
{
  g_autofree char *text = NULL;

  /* Translators: %s says why a rating or note could not be saved */
  text = g_strdup_printf (_("Could not save the rating: %s"), message);
  sq_ask_view_toast (self, text);
}

static void
sq_ask_view_trim (SqAskView *self)
{
  g_autoptr(GPtrArray) cards = sq_ask_view_get_cards (self);

  for (guint i = cards->len; i > MAX_CARDS; i--)
    {
      SqAnswerCard *card = g_ptr_array_index (cards, i - 1);

      if (!sq_answer_card_is_running (card))
        gtk_flow_box_remove (self->cards, gtk_widget_get_parent (GTK_WIDGET (card)));
    }
}

static void
history_saved_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!sq_prompt_history_save_finish (SQ_PROMPT_HISTORY (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Could not save the prompt history: %s", error->message);
}

gboolean
sq_ask_view_ask (SqAskView *self)
{
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) models = NULL;
  g_autofree char *prompt = NULL;
  SqReplicateClient *client;
  SqProject *project;
  int position = 0;

  g_return_val_if_fail (SQ_IS_ASK_VIEW (self), FALSE);

  client = self->workspace != NULL ? sq_workspace_get_client (self->workspace) : NULL;
  if (client == NULL)
    {
      sq_ask_view_toast (self, _("Add a Replicate API token in Preferences to ask models"));
      return FALSE;
    }

  prompt = sq_prompt_box_dup_text (self->prompt_box);
  images = sq_image_tray_dup_selected (self->tray);
  models = sq_model_picker_dup_selected (self->picker);

  if (images->len == 0)
    {
      sq_ask_view_toast (self, _("Add an image first: drop, paste or open one"));
      return FALSE;
    }
  if (models->len == 0)
    {
      sq_ask_view_toast (self, _("Choose at least one model"));
      return FALSE;
    }
  if (*prompt == '\0')
    {
      sq_ask_view_toast (self, _("Type a question first"));
      gtk_widget_grab_focus (GTK_WIDGET (sq_prompt_box_get_text_view (self->prompt_box)));
      return FALSE;
    }

  project = sq_workspace_get_project (self->workspace);
  if (project == NULL)
    sq_ask_view_toast (self, _("No project is open: these answers will not be saved"));

  sq_prompt_history_add (self->history, prompt);
  sq_prompt_history_save_async (self->history, NULL, history_saved_cb, NULL);

  for (guint i = 0; i < images->len; i++)
    {
      for (guint m = 0; m < models->len; m++)
        {
          SqModel *model = g_ptr_array_index (models, m);
          g_autoptr(GHashTable) settings = sq_model_picker_dup_settings (self->picker, model);
          g_autoptr(SqAskRun) run = NULL;
          GtkWidget *card;
          GtkWidget *child;

          run = sq_ask_run_new (project, client, model, settings,
                                g_ptr_array_index (images, i), prompt);
          card = sq_answer_card_new (run);
          gtk_widget_set_size_request (card, 280, -1);
          g_signal_connect_object (card, "copied", G_CALLBACK (card_copied_cb), self, G_CONNECT_SWAPPED);
          g_signal_connect_object (card, "save-failed", G_CALLBACK (card_save_failed_cb), self, G_CONNECT_SWAPPED);
          g_signal_connect_object (card, "notify::run", G_CALLBACK (card_run_cb), self, G_CONNECT_SWAPPED);
          g_signal_connect_object (run, "notify::status", G_CALLBACK (card_status_cb), self, G_CONNECT_SWAPPED);

          gtk_flow_box_insert (self->cards, card, position++);
          child = gtk_widget_get_parent (card);
          gtk_widget_set_focusable (child, FALSE);

          sq_answer_card_start (SQ_ANSWER_CARD (card));
        }
    }

  gtk_stack_set_visible_child_name (self->results_stack, "cards");
  sq_ask_view_trim (self);
  sq_ask_view_update_actions (self);

  return TRUE;
}

void
sq_ask_view_stop_all (SqAskView *self)
{
  g_autoptr(GPtrArray) cards = NULL;

  g_return_if_fail (SQ_IS_ASK_VIEW (self));

  cards = sq_ask_view_get_cards (self);
  for (guint i = 0; i < cards->len; i++)
    sq_answer_card_stop (g_ptr_array_index (cards, i));
}

/* --- actions ------------------------------------------------------- */

static void
ask_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  sq_ask_view_ask (SQ_ASK_VIEW (widget));
}

static void
stop_all_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *parameter)
{
  sq_ask_view_stop_all (SQ_ASK_VIEW (widget));
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  sq_image_tray_open (SQ_ASK_VIEW (widget)->tray);
}

static void
paste_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  SqAskView *self = SQ_ASK_VIEW (widget);

  sq_image_tray_paste (self->tray, gtk_widget_get_clipboard (widget));
}

/* --- callbacks ----------------------------------------------------- */

static void
tray_error_cb (SqAskView  *self,
               const char *message)
{
  sq_ask_view_toast (self, message);
}

static void
prompt_activate_cb (SqAskView *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "ask.ask", NULL);
}

static void
prompt_paste_image_cb (SqAskView *self)
{
  sq_image_tray_paste (self->tray, gtk_widget_get_clipboard (GTK_WIDGET (self)));
}

static void
history_loaded_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!sq_prompt_history_load_finish (SQ_PROMPT_HISTORY (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("%s", error->message);
}

/* --- GObject ------------------------------------------------------- */

static void
sq_ask_view_dispose (GObject *object)
{
  SqAskView *self = SQ_ASK_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  /* Nobody will see the answers still coming: stop them, on Replicate
   * too; their rows are kept as canceled with the text so far. */
  if (self->cards != NULL)
    sq_ask_view_stop_all (self);
  gtk_widget_dispose_template (GTK_WIDGET (object), SQ_TYPE_ASK_VIEW);
  g_clear_object (&self->workspace);

  G_OBJECT_CLASS (sq_ask_view_parent_class)->dispose (object);
}

static void
sq_ask_view_finalize (GObject *object)
{
  SqAskView *self = SQ_ASK_VIEW (object);

  g_clear_object (&self->history);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (sq_ask_view_parent_class)->finalize (object);
}

static void
sq_ask_view_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  SqAskView *self = SQ_ASK_VIEW (object);

  switch (prop_id)
    {
    case PROP_WORKSPACE:
      g_value_set_object (value, self->workspace);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_ask_view_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  SqAskView *self = SQ_ASK_VIEW (object);

  switch (prop_id)
    {
    case PROP_WORKSPACE:
      sq_ask_view_set_workspace (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_ask_view_class_init (SqAskViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sq_ask_view_dispose;
  object_class->finalize = sq_ask_view_finalize;
  object_class->get_property = sq_ask_view_get_property;
  object_class->set_property = sq_ask_view_set_property;

  properties[PROP_WORKSPACE] =
    g_param_spec_object ("workspace", NULL, NULL,
                         SQ_TYPE_WORKSPACE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[TOAST] =
    g_signal_new ("toast",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, ADW_TYPE_TOAST);

  g_type_ensure (SQ_TYPE_IMAGE_TRAY);
  g_type_ensure (SQ_TYPE_PROMPT_BOX);
  g_type_ensure (SQ_TYPE_MODEL_PICKER);
  g_type_ensure (SQ_TYPE_ANSWER_CARD);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-ask-view.ui");
  gtk_widget_class_bind_template_child (widget_class, SqAskView, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, scroller);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, tray);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, prompt_box);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, models_button);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, models_label);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, picker);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, stop_all_button);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, ask_button);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, results_stack);
  gtk_widget_class_bind_template_child (widget_class, SqAskView, cards);

  gtk_widget_class_install_action (widget_class, "ask.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "ask.paste", NULL, paste_action);
  gtk_widget_class_install_action (widget_class, "ask.ask", NULL, ask_action);
  gtk_widget_class_install_action (widget_class, "ask.stop-all", NULL, stop_all_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "ask.open", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_v, GDK_CONTROL_MASK, "ask.paste", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "ask.ask", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Enter, GDK_CONTROL_MASK, "ask.ask", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "ask.stop-all", NULL);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sqaskview");
}

static void
sq_ask_view_init (SqAskView *self)
{
  self->cancellable = g_cancellable_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  /* Drops anywhere on the view go to the tray. */
  gtk_widget_add_controller (GTK_WIDGET (self),
                             g_object_ref (GTK_EVENT_CONTROLLER (sq_image_tray_get_drop_target (self->tray))));

  self->history = sq_prompt_history_new (NULL);
  sq_prompt_box_set_history (self->prompt_box, self->history);
  sq_prompt_history_load_async (self->history, self->cancellable, history_loaded_cb, NULL);

  g_signal_connect_object (self->tray, "error", G_CALLBACK (tray_error_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->tray, "changed", G_CALLBACK (sq_ask_view_update_actions), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->prompt_box, "notify::empty", G_CALLBACK (sq_ask_view_update_actions), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->prompt_box, "activate", G_CALLBACK (prompt_activate_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->prompt_box, "paste-image", G_CALLBACK (prompt_paste_image_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->picker, "notify::n-selected", G_CALLBACK (sq_ask_view_update_models_label), self, G_CONNECT_SWAPPED);

  sq_ask_view_update_models_label (self);
}

GtkWidget *
sq_ask_view_new (SqWorkspace *workspace)
{
  return g_object_new (SQ_TYPE_ASK_VIEW,
                       "workspace", workspace,
                       NULL);
}

SqWorkspace *
sq_ask_view_get_workspace (SqAskView *self)
{
  g_return_val_if_fail (SQ_IS_ASK_VIEW (self), NULL);

  return self->workspace;
}

void
sq_ask_view_set_workspace (SqAskView   *self,
                           SqWorkspace *workspace)
{
  g_return_if_fail (SQ_IS_ASK_VIEW (self));
  g_return_if_fail (!workspace || SQ_IS_WORKSPACE (workspace));

  if (self->workspace == workspace)
    return;

  if (self->workspace != NULL)
    g_signal_handlers_disconnect_by_data (self->workspace, self);
  g_set_object (&self->workspace, workspace);
  if (workspace != NULL)
    g_signal_connect_object (workspace, "notify::client",
                             G_CALLBACK (sq_ask_view_update_actions), self,
                             G_CONNECT_SWAPPED);

  sq_model_picker_set_workspace (self->picker, workspace);
  sq_ask_view_update_models_label (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WORKSPACE]);
}
