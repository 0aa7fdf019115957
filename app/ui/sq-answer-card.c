/* sq-answer-card.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-answer-card"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-answer-card.h"
#include "sq-rating.h"

/* Wait this long after the last key before saving a note. */
#define NOTE_SAVE_DELAY_MS 600

struct _SqAnswerCard
{
  GtkWidget       parent_instance;

  /* Template widgets */
  GtkBox         *box;
  GtkImage       *thumbnail;
  GtkLabel       *model_label;
  GtkLabel       *subtitle_label;
  GtkSpinner     *status_spinner;
  GtkImage       *status_icon;
  GtkLabel       *status_label;
  GtkScrolledWindow *scroller;
  GtkTextView    *text_view;
  GtkLabel       *waiting_label;
  GtkLabel       *error_label;
  GtkLabel       *timing_label;
  SqRatingWidget *correctness;
  SqRatingWidget *relevance;
  GtkRevealer    *note_revealer;
  GtkEntry       *note_entry;
  GtkButton      *stop_button;
  GtkButton      *retry_button;
  GtkButton      *copy_button;
  GtkToggleButton *note_button;

  SqAskRun       *run;          /* (owned) */
  GCancellable   *cancellable;  /* (owned) for ratings and notes */
  GString        *pending;      /* text received, not drawn yet */
  guint           tick_id;
  guint           clock_id;
  guint           note_id;
  gboolean        follow;       /* keep the end in view */
  gboolean        running;
  gboolean        disposed;
};

G_DEFINE_FINAL_TYPE (SqAnswerCard, sq_answer_card, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_RUN,
  N_PROPS
};

enum {
  COPIED,
  SAVE_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void sq_answer_card_set_run (SqAnswerCard *self,
                                    SqAskRun     *run);

static char *
format_seconds (gint64 ms)
{
  /* Translators: a duration in seconds, e.g. "2.1 s" */
  return g_strdup_printf (_("%.1f s"), ms / 1000.0);
}

static void
sq_answer_card_update_timing (SqAnswerCard *self)
{
  g_autofree char *ttft = NULL;
  g_autofree char *elapsed = NULL;
  g_autofree char *text = NULL;
  gint64 elapsed_ms = -1;
  gint64 ttft_ms;

  g_assert (SQ_IS_ANSWER_CARD (self));

  ttft_ms = sq_ask_run_get_ttft_ms (self->run);
  if (sq_prediction_status_is_terminal (sq_ask_run_get_status (self->run)))
    elapsed_ms = sq_ask_run_get_total_ms (self->run);
  else if (sq_ask_run_get_start_time (self->run) > 0)
    elapsed_ms = (g_get_monotonic_time () - sq_ask_run_get_start_time (self->run)) / 1000;

  if (elapsed_ms < 0)
    {
      gtk_label_set_label (self->timing_label, "");
      return;
    }

  elapsed = format_seconds (elapsed_ms);
  if (ttft_ms >= 0)
    {
      ttft = format_seconds (ttft_ms);
      /* Translators: time to the first token, then the time so far */
      text = g_strdup_printf (_("First token %s · %s"), ttft, elapsed);
    }
  else
    text = g_steal_pointer (&elapsed);

  gtk_label_set_label (self->timing_label, text);
}

static gboolean
clock_cb (gpointer user_data)
{
  SqAnswerCard *self = user_data;

  sq_answer_card_update_timing (self);

  return G_SOURCE_CONTINUE;
}

static void
sq_answer_card_update_waiting (SqAnswerCard *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);

  gtk_widget_set_visible (GTK_WIDGET (self->waiting_label),
                          gtk_text_buffer_get_char_count (buffer) == 0 &&
                          self->pending->len == 0 &&
                          !sq_prediction_status_is_terminal (sq_ask_run_get_status (self->run)));
}

/* Draws the text received since the last frame, at most once a frame. */
static void
sq_answer_card_flush_text (SqAnswerCard *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter end;

  if (self->pending->len == 0)
    return;

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert (buffer, &end, self->pending->str, self->pending->len);
  g_string_truncate (self->pending, 0);
  sq_answer_card_update_waiting (self);

  /* Following the end happens in vadjustment_changed_cb, once the new
   * text is laid out and the adjustment knows its height. */
}

static gboolean
tick_cb (GtkWidget     *widget,
         GdkFrameClock *frame_clock,
         gpointer       user_data)
{
  SqAnswerCard *self = SQ_ANSWER_CARD (widget);

  sq_answer_card_flush_text (self);
  self->tick_id = 0;

  return G_SOURCE_REMOVE;
}

static void
run_delta_cb (SqAnswerCard *self,
              const char   *text,
              SqAskRun     *run)
{
  g_assert (SQ_IS_ANSWER_CARD (self));

  if (self->pending->len == 0 && gtk_widget_get_visible (GTK_WIDGET (self->status_spinner)))
    {
      gtk_spinner_set_spinning (self->status_spinner, FALSE);
      gtk_widget_set_visible (GTK_WIDGET (self->status_spinner), FALSE);
      gtk_widget_set_sensitive (GTK_WIDGET (self->copy_button), TRUE);
    }
  g_string_append (self->pending, text);
  if (self->tick_id == 0)
    self->tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (self), tick_cb, NULL, NULL);
}

static void
run_text_reset_cb (SqAnswerCard *self,
                   const char   *text,
                   SqAskRun     *run)
{
  g_assert (SQ_IS_ANSWER_CARD (self));

  g_string_truncate (self->pending, 0);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), text, -1);
}

static void
vadjustment_value_changed_cb (SqAnswerCard  *self,
                              GtkAdjustment *adjustment)
{
  double bottom = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);

  /* Follow the text unless the person scrolled up to read. */
  self->follow = gtk_adjustment_get_value (adjustment) >= bottom - 8;
}

static void
vadjustment_changed_cb (SqAnswerCard  *self,
                        GtkAdjustment *adjustment)
{
  double bottom = gtk_adjustment_get_upper (adjustment) - gtk_adjustment_get_page_size (adjustment);

  if (self->follow && gtk_adjustment_get_value (adjustment) < bottom)
    gtk_adjustment_set_value (adjustment, bottom);
}

static void
sq_answer_card_update_status (SqAnswerCard *self)
{
  static const char *classes[] = { "queued", "starting", "streaming", "done", "failed", "canceled" };
  SqPredictionStatus status;
  const char *label;
  const char *css;
  const char *icon = NULL;
  gboolean terminal;
  gboolean rateable;
  gboolean spinning;

  g_assert (SQ_IS_ANSWER_CARD (self));

  status = sq_ask_run_get_status (self->run);
  switch (status)
    {
    case SQ_PREDICTION_QUEUED:
      label = _("Queued");
      css = "queued";
      break;
    case SQ_PREDICTION_STARTING:
      label = _("Starting");
      css = "starting";
      break;
    case SQ_PREDICTION_PROCESSING:
      label = _("Streaming");
      css = "streaming";
      break;
    case SQ_PREDICTION_SUCCEEDED:
      label = _("Done");
      css = "done";
      icon = "emblem-ok-symbolic";
      break;
    case SQ_PREDICTION_CANCELED:
      label = _("Canceled");
      css = "canceled";
      icon = "media-playback-stop-symbolic";
      break;
    case SQ_PREDICTION_ABORTED:
      label = _("Aborted");
      css = "failed";
      icon = "dialog-error-symbolic";
      break;
    case SQ_PREDICTION_FAILED:
    default:
      label = _("Failed");
      css = "failed";
      icon = "dialog-error-symbolic";
      break;
    }

  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self), classes[i]);
  gtk_widget_add_css_class (GTK_WIDGET (self), css);

  terminal = sq_prediction_status_is_terminal (status);
  gtk_label_set_label (self->status_label, label);
  /* Streaming text shows it is alive; the spinner is for the waits. */
  spinning = !terminal && *sq_ask_run_get_text (self->run) == '\0';
  gtk_spinner_set_spinning (self->status_spinner, spinning);
  gtk_widget_set_visible (GTK_WIDGET (self->status_spinner), spinning);
  gtk_widget_set_visible (GTK_WIDGET (self->status_icon), icon != NULL);
  if (icon != NULL)
    gtk_image_set_from_icon_name (self->status_icon, icon);

  gtk_widget_set_visible (GTK_WIDGET (self->stop_button), !terminal);
  gtk_widget_set_visible (GTK_WIDGET (self->retry_button), terminal);
  gtk_widget_set_sensitive (GTK_WIDGET (self->copy_button),
                            *sq_ask_run_get_text (self->run) != '\0');

  if (sq_ask_run_get_error_message (self->run) != NULL &&
      (status == SQ_PREDICTION_FAILED || status == SQ_PREDICTION_ABORTED))
    {
      gtk_label_set_label (self->error_label, sq_ask_run_get_error_message (self->run));
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), TRUE);
    }
  else
    gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);

  rateable = sq_ask_run_get_result_id (self->run) > 0;
  gtk_widget_set_sensitive (GTK_WIDGET (self->correctness), rateable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->relevance), rateable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->note_button), rateable);

  if (terminal)
    {
      /* Draw what is left now rather than on the next frame. */
      if (self->tick_id != 0)
        {
          gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
          self->tick_id = 0;
        }
      sq_answer_card_flush_text (self);
      g_clear_handle_id (&self->clock_id, g_source_remove);
      self->running = FALSE;
    }
  else if (self->clock_id == 0 && sq_ask_run_get_start_time (self->run) > 0)
    self->clock_id = g_timeout_add (100, clock_cb, self);

  sq_answer_card_update_waiting (self);
  sq_answer_card_update_timing (self);
}

static void
rating_saved_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SqAnswerCard) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_project_set_rating_finish (SQ_PROJECT (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_signal_emit (self, signals[SAVE_FAILED], 0, error->message);
}

static void
note_saved_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(SqAnswerCard) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_project_set_note_finish (SQ_PROJECT (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_signal_emit (self, signals[SAVE_FAILED], 0, error->message);
}

static void
rating_changed_cb (SqAnswerCard   *self,
                   SqRatingWidget *rating)
{
  SqProject *project;
  SqCriterion criterion;

  g_assert (SQ_IS_ANSWER_CARD (self));

  project = sq_ask_run_get_project (self->run);
  if (project == NULL || sq_ask_run_get_result_id (self->run) == 0)
    return;

  criterion = rating == self->correctness ? SQ_CRITERION_CORRECTNESS : SQ_CRITERION_RELEVANCE;
  sq_project_set_rating_async (project, sq_ask_run_get_result_id (self->run), criterion,
                               sq_rating_widget_get_value (rating), NULL,
                               self->cancellable, rating_saved_cb, g_object_ref (self));
}

static gboolean
save_note (gpointer user_data)
{
  SqAnswerCard *self = user_data;
  SqProject *project;

  self->note_id = 0;

  project = sq_ask_run_get_project (self->run);
  if (project == NULL || sq_ask_run_get_result_id (self->run) == 0)
    return G_SOURCE_REMOVE;

  sq_project_set_note_async (project, sq_ask_run_get_result_id (self->run),
                             gtk_editable_get_text (GTK_EDITABLE (self->note_entry)), NULL,
                             self->cancellable, note_saved_cb, g_object_ref (self));

  return G_SOURCE_REMOVE;
}

static void
note_changed_cb (SqAnswerCard *self)
{
  g_assert (SQ_IS_ANSWER_CARD (self));

  g_clear_handle_id (&self->note_id, g_source_remove);
  self->note_id = g_timeout_add (NOTE_SAVE_DELAY_MS, save_note, self);
}

static void
note_activate_cb (SqAnswerCard *self)
{
  g_assert (SQ_IS_ANSWER_CARD (self));

  if (self->note_id != 0)
    {
      g_clear_handle_id (&self->note_id, g_source_remove);
      save_note (self);
    }
}

static void
copy_clicked_cb (SqAnswerCard *self)
{
  g_assert (SQ_IS_ANSWER_CARD (self));

  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)),
                          sq_ask_run_get_text (self->run));
  g_signal_emit (self, signals[COPIED], 0);
}

static void
stop_clicked_cb (SqAnswerCard *self)
{
  sq_answer_card_stop (self);
}

static void
retry_clicked_cb (SqAnswerCard *self)
{
  sq_answer_card_retry (self);
}

static void
run_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(SqAnswerCard) self = user_data;

  /* The run's status and error say everything; the card shows them. */
  sq_ask_run_run_finish (SQ_ASK_RUN (object), result, NULL);
  if (SQ_ASK_RUN (object) == self->run && !self->disposed)
    sq_answer_card_update_status (self);
  else if (SQ_ASK_RUN (object) == self->run)
    self->running = FALSE;
}

static void
sq_answer_card_update_header (SqAnswerCard *self)
{
  SqModel *model = sq_ask_run_get_model (self->run);
  SqImage *image = sq_ask_run_get_image (self->run);
  g_autofree char *subtitle = NULL;
  g_autofree char *accessible = NULL;
  GdkPixbuf *pixbuf;

  gtk_label_set_label (self->model_label, sq_model_get_display_name (model));
  /* Translators: an image name, then the question asked about it */
  subtitle = g_strdup_printf (_("%s · %s"), sq_image_get_name (image), sq_ask_run_get_prompt (self->run));
  gtk_label_set_label (self->subtitle_label, subtitle);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->subtitle_label), subtitle);

  pixbuf = sq_image_get_thumbnail (image);
  if (pixbuf != NULL)
    {
      g_autoptr(GdkPixbuf) square = NULL;
      g_autoptr(GdkTexture) texture = NULL;
      int width = gdk_pixbuf_get_width (pixbuf);
      int height = gdk_pixbuf_get_height (pixbuf);
      int side = MIN (width, height);
      g_autoptr(GdkPixbuf) cropped = gdk_pixbuf_new_subpixbuf (pixbuf, (width - side) / 2,
                                                              (height - side) / 2, side, side);

      /* A small square crop, drawn at twice the size for HiDPI. */
      square = gdk_pixbuf_scale_simple (cropped, 88, 88, GDK_INTERP_BILINEAR);
      texture = gdk_texture_new_for_pixbuf (square);
      gtk_image_set_from_paintable (self->thumbnail, GDK_PAINTABLE (texture));
    }
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->thumbnail),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, sq_image_get_name (image),
                                  -1);

  /* Translators: the accessible name of an answer card: model and image */
  accessible = g_strdup_printf (_("Answer of %s about %s"), sq_model_get_display_name (model),
                                sq_image_get_name (image));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, accessible,
                                  -1);
}

static void
sq_answer_card_set_run (SqAnswerCard *self,
                        SqAskRun     *run)
{
  g_assert (SQ_IS_ANSWER_CARD (self));
  g_assert (SQ_IS_ASK_RUN (run));

  if (self->run != NULL)
    g_signal_handlers_disconnect_by_data (self->run, self);
  g_set_object (&self->run, run);

  g_signal_connect_object (run, "delta", G_CALLBACK (run_delta_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (run, "text-reset", G_CALLBACK (run_text_reset_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (run, "notify::status", G_CALLBACK (sq_answer_card_update_status), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (run, "notify::result-id", G_CALLBACK (sq_answer_card_update_status), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (run, "notify::ttft-ms", G_CALLBACK (sq_answer_card_update_timing), self, G_CONNECT_SWAPPED);

  g_string_truncate (self->pending, 0);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->text_view), sq_ask_run_get_text (run), -1);
  sq_rating_widget_set_value (self->correctness, 0);
  sq_rating_widget_set_value (self->relevance, 0);
  g_clear_handle_id (&self->note_id, g_source_remove);
  g_signal_handlers_block_by_func (self->note_entry, note_changed_cb, self);
  gtk_editable_set_text (GTK_EDITABLE (self->note_entry), "");
  g_signal_handlers_unblock_by_func (self->note_entry, note_changed_cb, self);
  self->follow = TRUE;

  sq_answer_card_update_header (self);
  sq_answer_card_update_status (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN]);
}

/* --- GObject ------------------------------------------------------- */

static void
sq_answer_card_dispose (GObject *object)
{
  SqAnswerCard *self = SQ_ANSWER_CARD (object);

  /* A pending note is saved before the card goes. */
  if (self->note_id != 0)
    {
      g_clear_handle_id (&self->note_id, g_source_remove);
      save_note (self);
    }
  g_clear_handle_id (&self->clock_id, g_source_remove);
  if (self->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->tick_id);
      self->tick_id = 0;
    }
  if (self->run != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->run, self);
      if (self->running)
        sq_ask_run_stop (self->run);
    }
  self->disposed = TRUE;

  gtk_widget_dispose_template (GTK_WIDGET (object), SQ_TYPE_ANSWER_CARD);

  G_OBJECT_CLASS (sq_answer_card_parent_class)->dispose (object);
}

static void
sq_answer_card_finalize (GObject *object)
{
  SqAnswerCard *self = SQ_ANSWER_CARD (object);

  g_clear_object (&self->run);
  g_clear_object (&self->cancellable);
  g_string_free (self->pending, TRUE);

  G_OBJECT_CLASS (sq_answer_card_parent_class)->finalize (object);
}

static void
sq_answer_card_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  SqAnswerCard *self = SQ_ANSWER_CARD (object);

  switch (prop_id)
    {
    case PROP_RUN:
      g_value_set_object (value, self->run);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_answer_card_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  SqAnswerCard *self = SQ_ANSWER_CARD (object);

  switch (prop_id)
    {
    case PROP_RUN:
      sq_answer_card_set_run (self, g_value_get_object (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_answer_card_class_init (SqAnswerCardClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sq_answer_card_dispose;
  object_class->finalize = sq_answer_card_finalize;
  object_class->get_property = sq_answer_card_get_property;
  object_class->set_property = sq_answer_card_set_property;

  properties[PROP_RUN] =
    g_param_spec_object ("run", NULL, NULL,
                         SQ_TYPE_ASK_RUN,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[COPIED] =
    g_signal_new ("copied",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  signals[SAVE_FAILED] =
    g_signal_new ("save-failed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  g_type_ensure (SQ_TYPE_RATING_WIDGET);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-answer-card.ui");
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, box);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, thumbnail);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, model_label);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, status_spinner);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, status_icon);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, status_label);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, scroller);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, text_view);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, waiting_label);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, error_label);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, timing_label);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, correctness);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, relevance);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, note_revealer);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, note_entry);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, stop_button);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, retry_button);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, copy_button);
  gtk_widget_class_bind_template_child (widget_class, SqAnswerCard, note_button);
  gtk_widget_class_bind_template_callback (widget_class, rating_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, note_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, note_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, copy_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, stop_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sqanswercard");
}

static void
sq_answer_card_init (SqAnswerCard *self)
{
  self->pending = g_string_new ("");
  self->cancellable = g_cancellable_new ();
  self->follow = TRUE;

  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect_object (gtk_scrolled_window_get_vadjustment (self->scroller), "value-changed",
                           G_CALLBACK (vadjustment_value_changed_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (gtk_scrolled_window_get_vadjustment (self->scroller), "changed",
                           G_CALLBACK (vadjustment_changed_cb), self,
                           G_CONNECT_SWAPPED);
}

GtkWidget *
sq_answer_card_new (SqAskRun *run)
{
  g_return_val_if_fail (SQ_IS_ASK_RUN (run), NULL);

  return g_object_new (SQ_TYPE_ANSWER_CARD,
                       "run", run,
                       NULL);
}

SqAskRun *
sq_answer_card_get_run (SqAnswerCard *self)
{
  g_return_val_if_fail (SQ_IS_ANSWER_CARD (self), NULL);

  return self->run;
}

void
sq_answer_card_start (SqAnswerCard *self)
{
  g_return_if_fail (SQ_IS_ANSWER_CARD (self));

  if (self->running || sq_ask_run_get_start_time (self->run) != 0)
    return;

  self->running = TRUE;
  sq_ask_run_run_async (self->run, NULL, run_done_cb, g_object_ref (self));
  sq_answer_card_update_status (self);
}

void
sq_answer_card_stop (SqAnswerCard *self)
{
  g_return_if_fail (SQ_IS_ANSWER_CARD (self));

  sq_ask_run_stop (self->run);
}

void
sq_answer_card_retry (SqAnswerCard *self)
{
  g_autoptr(SqAskRun) run = NULL;

  g_return_if_fail (SQ_IS_ANSWER_CARD (self));

  if (self->running)
    return;

  run = sq_ask_run_new_again (self->run);
  sq_answer_card_set_run (self, run);
  sq_answer_card_start (self);
}

gboolean
sq_answer_card_is_running (SqAnswerCard *self)
{
  g_return_val_if_fail (SQ_IS_ANSWER_CARD (self), FALSE);

  return self->running;
}

char *
sq_answer_card_dup_text (SqAnswerCard *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start;
  GtkTextIter end;

  g_return_val_if_fail (SQ_IS_ANSWER_CARD (self), NULL);

  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);

  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

const char *
sq_answer_card_get_status_label (SqAnswerCard *self)
{
  g_return_val_if_fail (SQ_IS_ANSWER_CARD (self), NULL);

  return gtk_label_get_label (self->status_label);
}
