/* sq-compare-view.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-compare-view"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "sq-compare-view.h"
#include "sq-compat.h"
#include "sq-grid-builder.h"
#include "sq-rating.h"
#include "sq-results-model.h"
#include "sq-stats.h"
#include "sq-summary-chart.h"

/* How long changes are gathered before the summary is computed again. */
#define SUMMARY_DELAY_MS 300
/* Below this width the table keeps the columns needed to label. */
#define NARROW_WIDTH 760
#define ANSWER_WIDTH 300
#define MODEL_WIDTH  110
/* How much of an answer a collapsed cell lays out. */
#define COLLAPSED_MAX_BYTES 480
/* How many winners the summary lists before "and N more". */
#define MAX_WINNERS 30

typedef enum
{
  COLUMN_THUMBNAIL,
  COLUMN_PROMPT,
  COLUMN_MODEL,
  COLUMN_ANSWER,
  COLUMN_STATUS,
  COLUMN_CORRECTNESS,
  COLUMN_RELEVANCE,
  COLUMN_NOTE,
  COLUMN_TTFT,
  COLUMN_TOTAL,
} ColumnKind;

typedef enum
{
  STATUS_ANY,
  STATUS_DONE,
  STATUS_RUNNING,
  STATUS_FAILED,
} StatusFilter;

typedef struct
{
  gint64      result_id;
  SqCriterion criterion;
  int         previous;
} UndoEntry;

struct _SqCompareView
{
  GtkWidget           parent_instance;

  /* Template widgets */
  AdwToastOverlay    *toast_overlay;
  GtkRevealer        *builder_revealer;
  GtkToggleButton    *grid_button;
  GtkSearchEntry     *search_entry;
  GtkToggleButton    *unrated_button;
  GtkMenuButton      *filter_button;
  GtkDropDown        *model_filter;
  GtkDropDown        *prompt_filter;
  GtkDropDown        *image_filter;
  GtkDropDown        *status_filter;
  GtkToggleButton    *blind_button;
  GtkMenuButton      *export_button;
  GtkToggleButton    *summary_button;
  GtkRevealer        *summary_revealer;
  GtkScrolledWindow  *summary_scroller;
  GtkStack           *table_stack;
  GtkScrolledWindow  *table_scroller;
  GtkColumnView      *column_view;
  GtkLabel           *status_label;
  GtkLabel           *summary_placeholder;
  SqSummaryChart     *chart;
  GtkGrid            *summary_grid;
  GtkLabel           *winners_heading;
  GtkBox             *winners_box;

  SqGridBuilder      *grid_builder;

  SqWorkspace        *workspace;           /* (owned) (nullable) */
  SqProject          *project;             /* (owned) (nullable) */
  SqResultsModel     *results;             /* (owned) (nullable) */
  GtkFilterListModel *filter_model;        /* (owned) */
  GtkCustomFilter    *filter;              /* (owned) */
  GtkSortListModel   *sort_model;          /* (owned) */
  GtkSingleSelection *selection;           /* (owned) */
  GtkStringList      *model_choices;       /* (owned) */
  GtkStringList      *prompt_choices;      /* (owned) */
  GtkStringList      *image_choices;       /* (owned) */
  GCancellable       *cancellable;         /* (owned): the view's lifetime */
  GCancellable       *project_cancellable; /* (owned): the current project's */
  GArray             *undo;                /* (element-type UndoEntry) */
  GHashTable         *thumbnails;          /* gint64* → GdkTexture (or NULL: none) */
  GHashTable         *thumbnail_waiters;   /* gint64* → GPtrArray of GtkPicture */
  SqResultRow        *active_row;          /* (owned) (nullable) */
  char               *blind_key;           /* (owned) (nullable) */
  char               *search_folded;       /* (owned) (nullable) */

  SqCriterion         criterion;
  guint               summary_source;
  guint               summary_serial;
  guint               narrow_source;
  guint               focus_source;
  guint               blind : 1;
  guint               narrow : 1;
  guint               meta_loaded : 1;
  guint               loaded : 1;
};

G_DEFINE_FINAL_TYPE (SqCompareView, sq_compare_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_WORKSPACE,
  PROP_PROJECT,
  PROP_BLIND,
  PROP_LOADED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void sq_compare_view_schedule_summary (SqCompareView *self);
static void sq_compare_view_select (SqCompareView *self,
                                    guint          position);

/* ------------------------------------------------------------------ */
/* Helpers                                                            */

static char *
format_ms (gint64 ms)
{
  if (ms < 0)
    return g_strdup ("—");
  if (ms < 10000)
    /* Translators: a duration in seconds, e.g. "1.3 s" */
    return g_strdup_printf (_("%.1f s"), ms / 1000.0);
  /* Translators: a duration in seconds, e.g. "42 s" */
  return g_strdup_printf (_("%.0f s"), ms / 1000.0);
}

static const char *
criterion_title (SqCriterion criterion)
{
  return criterion == SQ_CRITERION_CORRECTNESS ? _("Correctness") : _("Relevance");
}

static gboolean
status_is_running (const char *status)
{
  return g_strcmp0 (status, "queued") == 0 ||
         g_strcmp0 (status, "starting") == 0 ||
         g_strcmp0 (status, "processing") == 0;
}

static gboolean
status_is_failed (const char *status)
{
  return g_strcmp0 (status, "failed") == 0 ||
         g_strcmp0 (status, "aborted") == 0 ||
         g_strcmp0 (status, "canceled") == 0;
}

static int
score_to_int (double score)
{
  return score > 0 ? (int) lround (score) : 0;
}

static GtkWindow *
get_window (SqCompareView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  return GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
}

static void
show_toast (SqCompareView *self,
            AdwToast      *toast)
{
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void
show_error (SqCompareView *self,
            const char    *what,
            const GError  *error)
{
  g_autofree char *text = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  text = g_strdup_printf ("%s: %s", what, error->message);
  show_toast (self, adw_toast_new (text));
}

static SqResultRow *
get_selected_row (SqCompareView *self)
{
  return gtk_single_selection_get_selected_item (self->selection);
}

/* ------------------------------------------------------------------ */
/* Thumbnails                                                         */

static void
texture_unref_nullable (gpointer texture)
{
  if (texture != NULL)
    g_object_unref (texture);
}

static void
decode_thumbnail_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  GBytes *bytes = task_data;
  g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes (bytes);
  g_autoptr(GError) error = NULL;
  GdkPixbuf *pixbuf;

  pixbuf = gdk_pixbuf_new_from_stream_at_scale (stream, 96, 96, TRUE, cancellable, &error);
  if (pixbuf == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, pixbuf, g_object_unref);
}

static void
thumbnail_ready (SqCompareView *self,
                 gint64         image_id,
                 GdkTexture    *texture)
{
  GPtrArray *waiters;

  g_hash_table_insert (self->thumbnails, g_memdup2 (&image_id, sizeof image_id),
                       texture != NULL ? g_object_ref (texture) : NULL);
  waiters = g_hash_table_lookup (self->thumbnail_waiters, &image_id);
  for (guint i = 0; waiters != NULL && i < waiters->len; i++)
    {
      GtkPicture *picture = g_ptr_array_index (waiters, i);

      if (texture != NULL)
        gtk_picture_set_paintable (picture, GDK_PAINTABLE (texture));
    }
  g_hash_table_remove (self->thumbnail_waiters, &image_id);
}

static void
decode_thumbnail_cb (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  SqCompareView *self = SQ_COMPARE_VIEW (object);
  gint64 image_id = GPOINTER_TO_SIZE (user_data);
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GError) error = NULL;

  pixbuf = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (pixbuf != NULL)
    texture = gdk_texture_new_for_pixbuf (pixbuf);
  thumbnail_ready (self, image_id, texture);
}

typedef struct
{
  SqCompareView *self;      /* (owned) */
  SqProject     *project;   /* (owned) */
  gint64         image_id;
} ThumbRequest;

static void
thumb_request_free (ThumbRequest *request)
{
  g_clear_object (&request->self);
  g_clear_object (&request->project);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ThumbRequest, thumb_request_free)

static void
get_thumbnail_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(ThumbRequest) request = user_data;
  SqCompareView *self = request->self;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;

  bytes = sq_project_get_thumbnail_finish (SQ_PROJECT (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      request->project != self->project)
    return;
  if (bytes == NULL)
    {
      thumbnail_ready (self, request->image_id, NULL);
      return;
    }

  task = g_task_new (self, self->project_cancellable, decode_thumbnail_cb,
                     GSIZE_TO_POINTER (request->image_id));
  g_task_set_source_tag (task, get_thumbnail_cb);
  g_task_set_task_data (task, g_bytes_ref (bytes), (GDestroyNotify) g_bytes_unref);
  g_task_run_in_thread (task, decode_thumbnail_thread);
}

static void
thumbnail_bind (SqCompareView *self,
                GtkPicture    *picture,
                gint64         image_id)
{
  GdkTexture *texture;
  GPtrArray *waiters;
  gpointer value;

  g_object_set_data (G_OBJECT (picture), "sq-image-id", GSIZE_TO_POINTER (image_id));
  if (g_hash_table_lookup_extended (self->thumbnails, &image_id, NULL, &value))
    {
      texture = value;
      gtk_picture_set_paintable (picture, texture != NULL ? GDK_PAINTABLE (texture) : NULL);
      return;
    }

  gtk_picture_set_paintable (picture, NULL);
  waiters = g_hash_table_lookup (self->thumbnail_waiters, &image_id);
  if (waiters == NULL)
    {
      ThumbRequest *request = g_new0 (ThumbRequest, 1);

      waiters = g_ptr_array_new ();
      g_hash_table_insert (self->thumbnail_waiters, g_memdup2 (&image_id, sizeof image_id), waiters);
      request->self = g_object_ref (self);
      request->project = g_object_ref (self->project);
      request->image_id = image_id;
      sq_project_get_thumbnail_async (self->project, image_id, self->project_cancellable,
                                      get_thumbnail_cb, request);
    }
  g_ptr_array_add (waiters, picture);
}

static void
thumbnail_unbind (SqCompareView *self,
                  GtkPicture    *picture)
{
  gint64 image_id = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (picture), "sq-image-id"));
  GPtrArray *waiters = g_hash_table_lookup (self->thumbnail_waiters, &image_id);

  if (waiters != NULL)
    g_ptr_array_remove_fast (waiters, picture);
  gtk_picture_set_paintable (picture, NULL);
}

/* ------------------------------------------------------------------ */
/* Ratings, notes, undo                                               */

static void
set_rating_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(SqCompareView) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_project_set_rating_finish (SQ_PROJECT (object), result, &error))
    show_error (self, _("Could not save the rating"), error);
}

static void
sq_compare_view_rate_row (SqCompareView *self,
                          SqResultRow   *row,
                          SqCriterion    criterion,
                          int            value,
                          gboolean       record_undo)
{
  UndoEntry entry;

  g_assert (SQ_IS_COMPARE_VIEW (self));
  g_assert (SQ_IS_RESULT_ROW (row));

  if (self->project == NULL)
    return;

  entry.result_id = sq_result_row_get_id (row);
  entry.criterion = criterion;
  entry.previous = score_to_int (sq_result_row_get_score (row, criterion));
  if (entry.previous == value)
    return;
  if (record_undo)
    g_array_append_val (self->undo, entry);

  sq_result_row_set_local_score (row, criterion, value);
  sq_project_set_rating_async (self->project, entry.result_id, criterion, value, NULL,
                               self->cancellable, set_rating_cb, g_object_ref (self));
}

static void
set_note_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(SqCompareView) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_project_set_note_finish (SQ_PROJECT (object), result, &error))
    show_error (self, _("Could not save the note"), error);
}

static void
note_dialog_response_cb (AdwMessageDialog *dialog,
                         const char       *response,
                         gpointer          user_data)
{
  SqCompareView *self = SQ_COMPARE_VIEW (user_data);
  GtkEditable *entry = g_object_get_data (G_OBJECT (dialog), "sq-entry");
  gint64 result_id = *(gint64 *) g_object_get_data (G_OBJECT (dialog), "sq-result-id");

  if (g_strcmp0 (response, "save") == 0 && self->project != NULL)
    sq_project_set_note_async (self->project, result_id, gtk_editable_get_text (entry), NULL,
                               self->cancellable, set_note_cb, g_object_ref (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->column_view));
}

static void
sq_compare_view_edit_note (SqCompareView *self,
                           SqResultRow   *row)
{
  GtkWidget *dialog;
  GtkWidget *entry;
  g_autofree char *body = NULL;
  gint64 result_id;

  g_assert (SQ_IS_COMPARE_VIEW (self));

  if (row == NULL || self->project == NULL)
    return;

  result_id = sq_result_row_get_id (row);
  body = g_strdup_printf (_("%s on “%s”"),
                          sq_result_row_get_model_name (row),
                          sq_result_get_prompt (sq_result_row_get_result (row)));
  dialog = adw_message_dialog_new (get_window (self), _("Note"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "save", _("_Save"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "save",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "save");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  entry = gtk_entry_new ();
  gtk_editable_set_text (GTK_EDITABLE (entry), sq_result_get_note (sq_result_row_get_result (row)));
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Note"),
                                  -1);
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), entry);

  g_object_set_data (G_OBJECT (dialog), "sq-entry", entry);
  g_object_set_data_full (G_OBJECT (dialog), "sq-result-id",
                          g_memdup2 (&result_id, sizeof result_id), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (note_dialog_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static guint
find_position (SqCompareView *self,
               gint64         result_id)
{
  GListModel *model = G_LIST_MODEL (self->selection);
  guint n = g_list_model_get_n_items (model);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SqResultRow) row = g_list_model_get_item (model, i);

      if (sq_result_row_get_id (row) == result_id)
        return i;
    }

  return GTK_INVALID_LIST_POSITION;
}

static void
sq_compare_view_set_criterion (SqCompareView *self,
                               SqCriterion    criterion)
{
  self->criterion = criterion;
  if (self->active_row != NULL)
    sq_result_row_set_active_criterion (self->active_row, criterion);
}

static gboolean
sq_compare_view_undo (SqCompareView *self)
{
  UndoEntry entry;
  SqResultRow *row;
  guint position;

  if (self->undo->len == 0 || self->results == NULL)
    return FALSE;

  entry = g_array_index (self->undo, UndoEntry, self->undo->len - 1);
  g_array_set_size (self->undo, self->undo->len - 1);

  row = sq_results_model_find (self->results, entry.result_id);
  if (row == NULL)
    return FALSE;

  sq_compare_view_rate_row (self, row, entry.criterion, entry.previous, FALSE);
  position = find_position (self, entry.result_id);
  if (position != GTK_INVALID_LIST_POSITION)
    sq_compare_view_select (self, position);
  sq_compare_view_set_criterion (self, entry.criterion);

  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Navigation                                                         */

static void
scroll_to (SqCompareView *self,
           guint          position)
{
  /* GtkColumnView has no scroll_to () before GTK 4.12: ask its list. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self->column_view));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (gtk_widget_activate_action (child, "list.scroll-to-item", "u", position))
        break;
    }
}

/* TRUE when the keyboard focus is in the table. */
static gboolean
focus_in_table (SqCompareView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;

  return focus != NULL && gtk_widget_is_ancestor (focus, GTK_WIDGET (self->column_view));
}

/* The row widget of the column view that shows @row, if it is bound:
 * cells are column view cells in row widgets in the column view's list. */
static GtkWidget *
find_row_widget (SqCompareView *self,
                 SqResultRow   *row)
{
  GtkWidget *cell = g_object_get_data (G_OBJECT (row), "sq-model-cell");
  GtkWidget *widget;

  for (widget = cell; widget != NULL; widget = gtk_widget_get_parent (widget))
    {
      GtkWidget *parent = gtk_widget_get_parent (widget);

      if (parent != NULL && gtk_widget_get_parent (parent) == GTK_WIDGET (self->column_view))
        return widget;
    }

  return NULL;
}

static gboolean
focus_selected_cb (gpointer user_data)
{
  SqCompareView *self = user_data;
  SqResultRow *row = gtk_single_selection_get_selected_item (self->selection);
  GtkWidget *widget;

  self->focus_source = 0;
  if (row != NULL && (widget = find_row_widget (self, row)) != NULL)
    gtk_widget_grab_focus (widget);

  return G_SOURCE_REMOVE;
}

static void
sq_compare_view_select (SqCompareView *self,
                        guint          position)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->selection));

  if (n == 0)
    return;

  position = MIN (position, n - 1);
  gtk_single_selection_set_selected (self->selection, position);
  scroll_to (self, position);

  /* Move the keyboard focus along once the row has its widgets */
  if (self->focus_source == 0 && focus_in_table (self))
    self->focus_source = g_idle_add (focus_selected_cb, self);
}

static guint
current_position (SqCompareView *self)
{
  return gtk_single_selection_get_selected (self->selection);
}

static void
sq_compare_view_move (SqCompareView *self,
                      int            delta)
{
  guint position = current_position (self);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->selection));

  if (n == 0)
    return;

  if (position == GTK_INVALID_LIST_POSITION)
    position = 0;
  else if (delta < 0)
    position = position > 0 ? position - 1 : 0;
  else
    position = MIN (position + 1, n - 1);

  sq_compare_view_select (self, position);
}

static gboolean
sq_compare_view_next_unrated (SqCompareView *self)
{
  GListModel *model = G_LIST_MODEL (self->selection);
  guint n = g_list_model_get_n_items (model);
  guint start = current_position (self);

  start = start == GTK_INVALID_LIST_POSITION ? 0 : start + 1;
  for (guint k = 0; k < n; k++)
    {
      guint i = (start + k) % n;
      g_autoptr(SqResultRow) row = g_list_model_get_item (model, i);

      if (sq_result_row_get_unrated (row) &&
          !status_is_running (sq_result_get_status (sq_result_row_get_result (row))))
        {
          sq_compare_view_select (self, i);
          for (guint c = 0; c < SQ_N_CRITERIA; c++)
            if (sq_result_row_get_score (row, c) < 0)
              {
                sq_compare_view_set_criterion (self, c);
                break;
              }
          return TRUE;
        }
    }

  return FALSE;
}

/* 1–5 on the keyboard: rate the criterion, then move on to the next
 * criterion of the row, and after the last one to the next row. */
static void
sq_compare_view_rate_current (SqCompareView *self,
                              int            value)
{
  SqResultRow *row = get_selected_row (self);

  if (row == NULL)
    {
      sq_compare_view_select (self, 0);
      row = get_selected_row (self);
      if (row == NULL)
        return;
    }

  sq_compare_view_rate_row (self, row, self->criterion, value, TRUE);
  if (value == 0)
    return;

  if (self->criterion + 1 < SQ_N_CRITERIA)
    sq_compare_view_set_criterion (self, self->criterion + 1);
  else
    {
      guint position = current_position (self);

      sq_compare_view_set_criterion (self, 0);
      sq_compare_view_select (self, position + 1);
    }
}

static gboolean
focus_is_editable (SqCompareView *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;

  return focus != NULL && (GTK_IS_EDITABLE (focus) || GTK_IS_TEXT_VIEW (focus));
}

static gboolean
key_pressed_cb (SqCompareView         *self,
                guint                  keyval,
                guint                  keycode,
                GdkModifierType        state,
                GtkEventControllerKey *controller)
{
  GdkModifierType mods = state & (GDK_CONTROL_MASK | GDK_ALT_MASK | GDK_SUPER_MASK);

  g_assert (SQ_IS_COMPARE_VIEW (self));

  if (focus_is_editable (self))
    return FALSE;

  if (mods == GDK_CONTROL_MASK && (keyval == GDK_KEY_z || keyval == GDK_KEY_Z))
    {
      sq_compare_view_undo (self);
      return TRUE;
    }

  if (mods != 0)
    return FALSE;

  switch (keyval)
    {
    case GDK_KEY_1: case GDK_KEY_2: case GDK_KEY_3: case GDK_KEY_4: case GDK_KEY_5:
      sq_compare_view_rate_current (self, keyval - GDK_KEY_0);
      return TRUE;
    case GDK_KEY_KP_1: case GDK_KEY_KP_2: case GDK_KEY_KP_3: case GDK_KEY_KP_4: case GDK_KEY_KP_5:
      sq_compare_view_rate_current (self, keyval - GDK_KEY_KP_0);
      return TRUE;
    case GDK_KEY_0: case GDK_KEY_KP_0: case GDK_KEY_BackSpace: case GDK_KEY_Delete:
      sq_compare_view_rate_current (self, 0);
      return TRUE;
    case GDK_KEY_Tab: case GDK_KEY_KP_Tab:
      sq_compare_view_set_criterion (self, (self->criterion + 1) % SQ_N_CRITERIA);
      return TRUE;
    case GDK_KEY_ISO_Left_Tab:
      sq_compare_view_set_criterion (self, (self->criterion + SQ_N_CRITERIA - 1) % SQ_N_CRITERIA);
      return TRUE;
    case GDK_KEY_j: case GDK_KEY_Down: case GDK_KEY_KP_Down:
      sq_compare_view_move (self, 1);
      return TRUE;
    case GDK_KEY_k: case GDK_KEY_Up: case GDK_KEY_KP_Up:
      sq_compare_view_move (self, -1);
      return TRUE;
    case GDK_KEY_n:
      sq_compare_view_next_unrated (self);
      return TRUE;
    case GDK_KEY_e:
      sq_compare_view_edit_note (self, get_selected_row (self));
      return TRUE;
    case GDK_KEY_Return: case GDK_KEY_KP_Enter:
      if (get_selected_row (self) != NULL)
        sq_result_row_set_expanded (get_selected_row (self),
                                    !sq_result_row_get_expanded (get_selected_row (self)));
      return TRUE;
    default:
      return FALSE;
    }
}

static void
selection_changed_cb (SqCompareView *self)
{
  SqResultRow *row = get_selected_row (self);

  if (row == self->active_row)
    return;

  if (self->active_row != NULL)
    sq_result_row_set_active_criterion (self->active_row, -1);
  g_set_object (&self->active_row, row);
  if (row != NULL)
    sq_result_row_set_active_criterion (row, self->criterion);
}

/* ------------------------------------------------------------------ */
/* Actions                                                            */

static void
rate_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  sq_compare_view_rate_current (SQ_COMPARE_VIEW (widget), g_variant_get_int32 (parameter));
}

static void
next_criterion_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  SqCompareView *self = SQ_COMPARE_VIEW (widget);

  sq_compare_view_set_criterion (self, (self->criterion + 1) % SQ_N_CRITERIA);
}

static void
move_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  sq_compare_view_move (SQ_COMPARE_VIEW (widget), g_variant_get_int32 (parameter));
}

static void
next_unrated_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  sq_compare_view_next_unrated (SQ_COMPARE_VIEW (widget));
}

static void
edit_note_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  SqCompareView *self = SQ_COMPARE_VIEW (widget);

  sq_compare_view_edit_note (self, get_selected_row (self));
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  sq_compare_view_undo (SQ_COMPARE_VIEW (widget));
}

static void
open_file_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  g_autoptr(GFile) file = g_file_new_for_uri (g_variant_get_string (parameter, NULL));

  sq_compat_launch_file (get_window (SQ_COMPARE_VIEW (widget)), file);
}

static void
search_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  gtk_widget_grab_focus (GTK_WIDGET (SQ_COMPARE_VIEW (widget)->search_entry));
}

static void
export_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  SqCompareView *self = SQ_COMPARE_VIEW (object);
  g_autoptr(GError) error = NULL;

  if (!sq_compare_view_export_finish (self, result, &error))
    show_error (self, _("Could not export the answers"), error);
}

typedef struct
{
  SqCompareView  *self;    /* (owned) */
  SqExportFormat  format;
} ExportRequest;

static void
export_chosen_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  ExportRequest *request = user_data;
  g_autoptr(SqCompareView) self = request->self;
  SqExportFormat format = request->format;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;

  g_free (request);
  file = sq_compat_save_file_finish (result, &error);
  if (file == NULL)
    {
      show_error (self, _("Could not export the answers"), error);
      return;
    }

  sq_compare_view_export_async (self, format, file, self->cancellable, export_cb, NULL);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  SqCompareView *self = SQ_COMPARE_VIEW (widget);
  g_autofree char *basename = NULL;
  g_autofree char *name = NULL;
  ExportRequest *request;
  SqExportFormat format;
  char *dot;

  if (self->project == NULL ||
      !sq_export_format_from_string (g_variant_get_string (parameter, NULL), &format))
    return;

  basename = g_path_get_basename (sq_project_get_path (self->project));
  dot = strrchr (basename, '.');
  if (dot != NULL && dot != basename)
    *dot = '\0';
  name = g_strdup_printf ("%s.%s", basename, sq_export_format_get_extension (format));

  request = g_new0 (ExportRequest, 1);
  request->self = g_object_ref (self);
  request->format = format;
  sq_compat_save_file_async (get_window (self), _("Export Answers"), name,
                             self->cancellable, export_chosen_cb, request);
}

/* ------------------------------------------------------------------ */
/* Filtering                                                          */

static const char *
dropdown_choice (GtkDropDown *dropdown)
{
  guint selected = gtk_drop_down_get_selected (dropdown);
  GListModel *model = gtk_drop_down_get_model (dropdown);

  if (selected == 0 || selected == GTK_INVALID_LIST_POSITION || model == NULL)
    return NULL;

  return gtk_string_list_get_string (GTK_STRING_LIST (model), selected);
}

static gboolean
filter_func (gpointer item,
             gpointer user_data)
{
  SqCompareView *self = user_data;
  SqResultRow *row = item;
  SqResult *result = sq_result_row_get_result (row);
  const char *choice;
  const char *status = sq_result_get_status (result);

  if (gtk_toggle_button_get_active (self->unrated_button) && !sq_result_row_get_unrated (row))
    return FALSE;

  if (!self->blind && (choice = dropdown_choice (self->model_filter)) != NULL &&
      g_strcmp0 (choice, sq_result_get_model_name (result)) != 0)
    return FALSE;
  if ((choice = dropdown_choice (self->prompt_filter)) != NULL &&
      g_strcmp0 (choice, sq_result_get_prompt (result)) != 0)
    return FALSE;
  if ((choice = dropdown_choice (self->image_filter)) != NULL &&
      g_strcmp0 (choice, sq_result_get_image_name (result)) != 0)
    return FALSE;

  switch ((StatusFilter) gtk_drop_down_get_selected (self->status_filter))
    {
    case STATUS_DONE:
      if (g_strcmp0 (status, "succeeded") != 0)
        return FALSE;
      break;
    case STATUS_RUNNING:
      if (!status_is_running (status))
        return FALSE;
      break;
    case STATUS_FAILED:
      if (!status_is_failed (status))
        return FALSE;
      break;
    case STATUS_ANY:
    default:
      break;
    }

  if (self->search_folded != NULL)
    {
      g_autofree char *folded = g_utf8_casefold (sq_result_get_response (result), -1);

      if (strstr (folded, self->search_folded) == NULL)
        return FALSE;
    }

  return TRUE;
}

static void
filters_changed_cb (SqCompareView *self)
{
  const char *text;

  g_assert (SQ_IS_COMPARE_VIEW (self));

  if (self->filter == NULL)
    return;

  text = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  g_clear_pointer (&self->search_folded, g_free);
  if (text != NULL && *text != '\0')
    self->search_folded = g_utf8_casefold (text, -1);

  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  sq_compare_view_schedule_summary (self);
}

static void
search_stop_cb (SqCompareView *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->search_entry), "");
  gtk_widget_grab_focus (GTK_WIDGET (self->column_view));
}

static void
choice_setup_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 32);
  gtk_list_item_set_child (item, label);
}

static void
choice_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                gpointer                  user_data)
{
  GtkStringObject *string = gtk_list_item_get_item (item);
  GtkWidget *label = gtk_list_item_get_child (item);

  gtk_label_set_label (GTK_LABEL (label), gtk_string_object_get_string (string));
  gtk_widget_set_tooltip_text (label, gtk_string_object_get_string (string));
}

static void
setup_choices (GtkDropDown   *dropdown,
               GtkStringList *choices)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (choice_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (choice_bind_cb), NULL);
  gtk_drop_down_set_factory (dropdown, factory);
  gtk_drop_down_set_model (dropdown, G_LIST_MODEL (choices));
}

/* Replaces the choices (after the "all" entry) keeping the selected one. */
static void
update_choices (GtkDropDown   *dropdown,
                GtkStringList *choices,
                GPtrArray     *values)
{
  g_autofree char *selected = g_strdup (dropdown_choice (dropdown));
  guint n = g_list_model_get_n_items (G_LIST_MODEL (choices));
  gboolean same = n == values->len + 1;

  for (guint i = 0; same && i < values->len; i++)
    same = g_strcmp0 (gtk_string_list_get_string (choices, i + 1), g_ptr_array_index (values, i)) == 0;
  if (same)
    return;

  g_ptr_array_add (values, NULL);
  gtk_string_list_splice (choices, 1, n - 1, (const char * const *) values->pdata);
  g_ptr_array_set_size (values, values->len - 1);

  gtk_drop_down_set_selected (dropdown, 0);
  for (guint i = 0; selected != NULL && i < values->len; i++)
    if (g_strcmp0 (selected, g_ptr_array_index (values, i)) == 0)
      gtk_drop_down_set_selected (dropdown, i + 1);
}

/* ------------------------------------------------------------------ */
/* Cells                                                              */

static void
rating_changed_cb (SqRatingWidget *rating,
                   GtkListItem    *item)
{
  SqCompareView *self = g_object_get_data (G_OBJECT (rating), "sq-view");
  SqResultRow *row = gtk_list_item_get_item (item);
  SqCriterion criterion = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (rating), "sq-criterion"));

  if (row == NULL)
    return;

  sq_compare_view_rate_row (self, row, criterion, sq_rating_widget_get_value (rating), TRUE);
  gtk_single_selection_set_selected (self->selection, gtk_list_item_get_position (item));
  sq_compare_view_set_criterion (self, criterion);
}

static void
expand_toggled_cb (GtkToggleButton *button,
                   GtkListItem     *item)
{
  SqResultRow *row = gtk_list_item_get_item (item);

  if (row != NULL)
    sq_result_row_set_expanded (row, gtk_toggle_button_get_active (button));
}

static void
note_clicked_cb (GtkButton   *button,
                 GtkListItem *item)
{
  SqCompareView *self = g_object_get_data (G_OBJECT (button), "sq-view");
  SqResultRow *row = gtk_list_item_get_item (item);

  if (row == NULL)
    return;

  gtk_single_selection_set_selected (self->selection, gtk_list_item_get_position (item));
  sq_compare_view_edit_note (self, row);
}

/* Tooltips are looked up when shown: setting them on every bind costs a
 * round trip to the display server each. */
static gboolean
cell_query_tooltip_cb (GtkWidget   *widget,
                       int          x,
                       int          y,
                       gboolean     keyboard,
                       GtkTooltip  *tooltip,
                       GtkListItem *item)
{
  ColumnKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (widget), "sq-kind"));
  SqResultRow *row = gtk_list_item_get_item (item);
  SqResult *result;
  const char *text = NULL;

  if (row == NULL)
    return FALSE;

  result = sq_result_row_get_result (row);
  switch (kind)
    {
    case COLUMN_THUMBNAIL:
      text = sq_result_get_image_name (result);
      break;
    case COLUMN_PROMPT:
      text = sq_result_get_prompt (result);
      break;
    case COLUMN_STATUS:
      if (status_is_failed (sq_result_get_status (result)))
        text = sq_result_get_error (result);
      break;
    case COLUMN_MODEL:
    case COLUMN_ANSWER:
    case COLUMN_CORRECTNESS:
    case COLUMN_RELEVANCE:
    case COLUMN_NOTE:
    case COLUMN_TTFT:
    case COLUMN_TOTAL:
    default:
      break;
    }

  if (text == NULL || *text == '\0')
    return FALSE;

  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static GtkWidget *
make_label (gboolean numeric)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), numeric ? 1 : 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (numeric)
    gtk_widget_add_css_class (label, "numeric");

  return label;
}

static void
cell_setup_cb (GtkSignalListItemFactory *factory,
               GtkListItem              *item,
               SqCompareView            *self)
{
  ColumnKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (factory), "sq-kind"));
  GtkWidget *child = NULL;

  switch (kind)
    {
    case COLUMN_THUMBNAIL:
      child = gtk_picture_new ();
      gtk_picture_set_can_shrink (GTK_PICTURE (child), TRUE);
      gtk_picture_set_content_fit (GTK_PICTURE (child), GTK_CONTENT_FIT_COVER);
      gtk_widget_set_size_request (child, 48, 48);
      gtk_widget_set_valign (child, GTK_ALIGN_START);
      gtk_widget_add_css_class (child, "thumbnail");
      break;

    case COLUMN_PROMPT:
    case COLUMN_MODEL:
      child = make_label (FALSE);
      gtk_widget_set_valign (child, GTK_ALIGN_START);
      gtk_label_set_single_line_mode (GTK_LABEL (child), TRUE);
      if (kind == COLUMN_MODEL)
        gtk_widget_add_css_class (child, "model-name");
      break;

    case COLUMN_ANSWER:
      {
        GtkWidget *label = make_label (FALSE);
        GtkWidget *button = gtk_toggle_button_new ();

        child = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
        gtk_label_set_wrap (GTK_LABEL (label), TRUE);
        gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
        gtk_label_set_lines (GTK_LABEL (label), 3);
        /* The natural width of a wrapped label is costly to find; the
         * column has a width anyway. */
        gtk_label_set_natural_wrap_mode (GTK_LABEL (label), GTK_NATURAL_WRAP_NONE);
        gtk_label_set_max_width_chars (GTK_LABEL (label), 80);
        gtk_label_set_yalign (GTK_LABEL (label), 0);
        gtk_widget_set_hexpand (label, TRUE);
        gtk_widget_add_css_class (label, "answer");
        gtk_box_append (GTK_BOX (child), label);

        gtk_button_set_icon_name (GTK_BUTTON (button), "pan-down-symbolic");
        gtk_widget_set_valign (button, GTK_ALIGN_START);
        gtk_widget_set_focus_on_click (button, FALSE);
        gtk_widget_add_css_class (button, "flat");
        gtk_widget_add_css_class (button, "circular");
        gtk_widget_set_tooltip_text (button, _("Show the Whole Answer"));
        gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                        GTK_ACCESSIBLE_PROPERTY_LABEL, _("Show the Whole Answer"),
                                        -1);
        g_signal_connect (button, "toggled", G_CALLBACK (expand_toggled_cb), item);
        gtk_box_append (GTK_BOX (child), button);

        g_object_set_data (G_OBJECT (child), "sq-label", label);
        g_object_set_data (G_OBJECT (child), "sq-button", button);
      }
      break;

    case COLUMN_STATUS:
      {
        GtkWidget *icon = gtk_image_new ();
        GtkWidget *label = make_label (FALSE);

        child = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
        gtk_widget_set_valign (child, GTK_ALIGN_START);
        gtk_box_append (GTK_BOX (child), icon);
        gtk_box_append (GTK_BOX (child), label);
        g_object_set_data (G_OBJECT (child), "sq-icon", icon);
        g_object_set_data (G_OBJECT (child), "sq-label", label);
        gtk_widget_add_css_class (child, "status");
      }
      break;

    case COLUMN_CORRECTNESS:
    case COLUMN_RELEVANCE:
      {
        SqCriterion criterion = kind == COLUMN_CORRECTNESS ? SQ_CRITERION_CORRECTNESS : SQ_CRITERION_RELEVANCE;

        child = sq_rating_widget_new (criterion_title (criterion));
        sq_rating_widget_set_show_label (SQ_RATING_WIDGET (child), FALSE);
        gtk_widget_set_valign (child, GTK_ALIGN_START);
        g_object_set_data (G_OBJECT (child), "sq-view", self);
        g_object_set_data (G_OBJECT (child), "sq-criterion", GINT_TO_POINTER (criterion));
        g_signal_connect (child, "changed", G_CALLBACK (rating_changed_cb), item);
      }
      break;

    case COLUMN_NOTE:
      {
        GtkWidget *label = make_label (FALSE);

        child = gtk_button_new ();
        gtk_button_set_child (GTK_BUTTON (child), label);
        gtk_widget_set_valign (child, GTK_ALIGN_START);
        gtk_widget_set_focus_on_click (child, FALSE);
        gtk_widget_add_css_class (child, "flat");
        gtk_widget_add_css_class (child, "note");
        gtk_widget_set_tooltip_text (child, _("Edit the Note (E)"));
        gtk_accessible_update_property (GTK_ACCESSIBLE (child),
                                        GTK_ACCESSIBLE_PROPERTY_LABEL, _("Edit Note"),
                                        -1);
        g_object_set_data (G_OBJECT (child), "sq-view", self);
        g_object_set_data (G_OBJECT (child), "sq-label", label);
        g_signal_connect (child, "clicked", G_CALLBACK (note_clicked_cb), item);
      }
      break;

    case COLUMN_TTFT:
    case COLUMN_TOTAL:
      child = make_label (TRUE);
      gtk_widget_set_valign (child, GTK_ALIGN_START);
      break;

    default:
      g_assert_not_reached ();
    }

  if (kind == COLUMN_THUMBNAIL || kind == COLUMN_PROMPT || kind == COLUMN_STATUS)
    {
      g_object_set_data (G_OBJECT (child), "sq-kind", GINT_TO_POINTER (kind));
      gtk_widget_set_has_tooltip (child, TRUE);
      g_signal_connect (child, "query-tooltip", G_CALLBACK (cell_query_tooltip_cb), item);
    }

  gtk_list_item_set_child (item, child);
}

static void
cell_update (SqCompareView *self,
             ColumnKind     kind,
             GtkListItem   *item)
{
  SqResultRow *row = gtk_list_item_get_item (item);
  GtkWidget *child = gtk_list_item_get_child (item);
  SqResult *result;

  if (row == NULL || child == NULL)
    return;

  result = sq_result_row_get_result (row);

  switch (kind)
    {
    case COLUMN_THUMBNAIL:
      gtk_accessible_update_property (GTK_ACCESSIBLE (child),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, sq_result_get_image_name (result),
                                      -1);
      break;

    case COLUMN_PROMPT:
      gtk_label_set_label (GTK_LABEL (child), sq_result_get_prompt (result));
      break;

    case COLUMN_MODEL:
      gtk_label_set_label (GTK_LABEL (child), sq_result_row_get_model_name (row));
      break;

    case COLUMN_ANSWER:
      {
        GtkLabel *label = g_object_get_data (G_OBJECT (child), "sq-label");
        GtkWidget *button = g_object_get_data (G_OBJECT (child), "sq-button");
        const char *status = sq_result_get_status (result);
        const char *text = sq_result_get_response (result);
        const char *error = sq_result_get_error (result);
        gboolean expanded = sq_result_row_get_expanded (row);
        gboolean long_text;
        guint n_lines = 0;

        for (const char *p = text; *p; p++)
          n_lines += *p == '\n';
        long_text = strlen (text) > 180 || n_lines >= 3;

        gtk_widget_remove_css_class (GTK_WIDGET (label), "error");
        gtk_widget_remove_css_class (GTK_WIDGET (label), "dim-label");
        if (*text == '\0' && status_is_failed (status) && error != NULL && *error != '\0')
          {
            gtk_label_set_label (label, error);
            gtk_widget_add_css_class (GTK_WIDGET (label), "error");
          }
        else if (*text == '\0' && status_is_running (status))
          {
            gtk_label_set_label (label, _("Waiting for the answer…"));
            gtk_widget_add_css_class (GTK_WIDGET (label), "dim-label");
          }
        else if (!expanded)
          {
            /* Three lines never show more: spare the text layout the
             * rest, and make one paragraph of it, as Pango limits the
             * lines of each paragraph. */
            gsize len = strlen (text);
            g_autofree char *shown = NULL;

            if (len > COLLAPSED_MAX_BYTES)
              len = g_utf8_find_prev_char (text, text + COLLAPSED_MAX_BYTES) - text;
            shown = g_strndup (text, len);
            g_strdelimit (shown, "\r\n", ' ');
            gtk_label_set_label (label, shown);
          }
        else
          gtk_label_set_label (label, text);

        gtk_label_set_lines (label, expanded ? -1 : 3);
        gtk_label_set_ellipsize (label, expanded ? PANGO_ELLIPSIZE_NONE : PANGO_ELLIPSIZE_END);
        gtk_widget_set_visible (button, long_text || expanded);
        g_signal_handlers_block_by_func (button, expand_toggled_cb, item);
        gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (button), expanded);
        g_signal_handlers_unblock_by_func (button, expand_toggled_cb, item);
        gtk_button_set_icon_name (GTK_BUTTON (button), expanded ? "pan-up-symbolic" : "pan-down-symbolic");
      }
      break;

    case COLUMN_STATUS:
      {
        GtkImage *icon = g_object_get_data (G_OBJECT (child), "sq-icon");
        GtkLabel *label = g_object_get_data (G_OBJECT (child), "sq-label");
        const char *status = sq_result_get_status (result);
        const char *icon_name;
        const char *text;
        const char *css = NULL;

        if (g_strcmp0 (status, "succeeded") == 0)
          icon_name = "emblem-ok-symbolic", text = _("Done"), css = "success";
        else if (g_strcmp0 (status, "queued") == 0)
          icon_name = "content-loading-symbolic", text = _("Queued"), css = "dim-label";
        else if (status_is_running (status))
          icon_name = "media-playback-start-symbolic", text = _("Running"), css = "accent";
        else if (g_strcmp0 (status, "canceled") == 0)
          icon_name = "process-stop-symbolic", text = _("Canceled"), css = "warning";
        else
          icon_name = "dialog-error-symbolic", text = _("Failed"), css = "error";

        gtk_image_set_from_icon_name (icon, icon_name);
        gtk_label_set_label (label, text);
        for (const char * const *c = (const char *[]) { "success", "dim-label", "accent", "warning", "error", NULL }; *c; c++)
          gtk_widget_remove_css_class (child, *c);
        gtk_widget_add_css_class (child, css);
      }
      break;

    case COLUMN_CORRECTNESS:
    case COLUMN_RELEVANCE:
      {
        SqCriterion criterion = kind == COLUMN_CORRECTNESS ? SQ_CRITERION_CORRECTNESS : SQ_CRITERION_RELEVANCE;

        g_signal_handlers_block_by_func (child, rating_changed_cb, item);
        sq_rating_widget_set_value (SQ_RATING_WIDGET (child),
                                    score_to_int (sq_result_row_get_score (row, criterion)));
        g_signal_handlers_unblock_by_func (child, rating_changed_cb, item);
        if (sq_result_row_get_active_criterion (row) == (int) criterion)
          gtk_widget_add_css_class (child, "active-criterion");
        else
          gtk_widget_remove_css_class (child, "active-criterion");
      }
      break;

    case COLUMN_NOTE:
      {
        GtkLabel *label = g_object_get_data (G_OBJECT (child), "sq-label");
        const char *note = sq_result_get_note (result);

        gtk_label_set_label (label, *note != '\0' ? note : _("Add note"));
        if (*note != '\0')
          gtk_widget_remove_css_class (GTK_WIDGET (label), "dim-label");
        else
          gtk_widget_add_css_class (GTK_WIDGET (label), "dim-label");
      }
      break;

    case COLUMN_TTFT:
    case COLUMN_TOTAL:
      {
        g_autofree char *text = format_ms (kind == COLUMN_TTFT ? sq_result_get_ttft_ms (result)
                                                               : sq_result_get_total_ms (result));

        gtk_label_set_label (GTK_LABEL (child), text);
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
row_notify_cb (SqResultRow *row,
               GParamSpec  *pspec,
               GtkListItem *item)
{
  GtkListItemFactory *factory = g_object_get_data (G_OBJECT (item), "sq-factory");
  SqCompareView *self = g_object_get_data (G_OBJECT (factory), "sq-view");
  ColumnKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (factory), "sq-kind"));

  cell_update (self, kind, item);
}

static void
cell_bind_cb (GtkSignalListItemFactory *factory,
              GtkListItem              *item,
              SqCompareView            *self)
{
  ColumnKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (factory), "sq-kind"));
  SqResultRow *row = gtk_list_item_get_item (item);

  g_object_set_data (G_OBJECT (item), "sq-factory", factory);
  if (kind == COLUMN_THUMBNAIL)
    thumbnail_bind (self, GTK_PICTURE (gtk_list_item_get_child (item)),
                    sq_result_get_image_id (sq_result_row_get_result (row)));
  else
    g_signal_connect (row, "notify", G_CALLBACK (row_notify_cb), item);
  if (kind == COLUMN_MODEL)
    g_object_set_data (G_OBJECT (row), "sq-model-cell", gtk_list_item_get_child (item));

  cell_update (self, kind, item);
}

static void
cell_unbind_cb (GtkSignalListItemFactory *factory,
                GtkListItem              *item,
                SqCompareView            *self)
{
  ColumnKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (factory), "sq-kind"));
  SqResultRow *row = gtk_list_item_get_item (item);

  if (kind == COLUMN_THUMBNAIL)
    thumbnail_unbind (self, GTK_PICTURE (gtk_list_item_get_child (item)));
  else if (row != NULL)
    g_signal_handlers_disconnect_by_func (row, row_notify_cb, item);
  if (kind == COLUMN_MODEL && row != NULL &&
      g_object_get_data (G_OBJECT (row), "sq-model-cell") == gtk_list_item_get_child (item))
    g_object_set_data (G_OBJECT (row), "sq-model-cell", NULL);
}

/* Long answers make collation keys of the whole text slow: compare the
 * cached keys of their beginnings. */
static int
compare_responses (gconstpointer a,
                   gconstpointer b,
                   gpointer      user_data)
{
  int cmp = strcmp (sq_result_row_get_response_key ((SqResultRow *) a),
                    sq_result_row_get_response_key ((SqResultRow *) b));

  return cmp < 0 ? GTK_ORDERING_SMALLER : cmp > 0 ? GTK_ORDERING_LARGER : GTK_ORDERING_EQUAL;
}

static void
add_column (SqCompareView *self,
            ColumnKind     kind,
            const char    *title,
            const char    *sort_property,
            GType          sort_type,
            int            fixed_width,
            gboolean       expand)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkColumnViewColumn) column = NULL;

  g_object_set_data (G_OBJECT (factory), "sq-kind", GINT_TO_POINTER (kind));
  g_object_set_data (G_OBJECT (factory), "sq-view", self);
  g_signal_connect (factory, "setup", G_CALLBACK (cell_setup_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (cell_bind_cb), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (cell_unbind_cb), self);

  column = gtk_column_view_column_new (title, g_object_ref (factory));
  gtk_column_view_column_set_resizable (column, kind != COLUMN_THUMBNAIL);
  gtk_column_view_column_set_expand (column, expand);
  if (fixed_width > 0)
    gtk_column_view_column_set_fixed_width (column, fixed_width);

  if (kind == COLUMN_ANSWER)
    {
      g_autoptr(GtkSorter) sorter = GTK_SORTER (gtk_custom_sorter_new (compare_responses, NULL, NULL));

      gtk_column_view_column_set_sorter (column, sorter);
    }
  else if (sort_property != NULL)
    {
      GtkExpression *expression = gtk_property_expression_new (SQ_TYPE_RESULT_ROW, NULL, sort_property);
      GtkSorter *sorter;

      if (sort_type == G_TYPE_STRING)
        sorter = GTK_SORTER (gtk_string_sorter_new (expression));
      else
        sorter = GTK_SORTER (gtk_numeric_sorter_new (expression));
      gtk_column_view_column_set_sorter (column, sorter);
      g_object_unref (sorter);
    }

  g_object_set_data (G_OBJECT (column), "sq-kind", GINT_TO_POINTER (kind));
  gtk_column_view_append_column (self->column_view, column);
}

/* ------------------------------------------------------------------ */
/* Summary                                                            */

typedef struct
{
  GPtrArray *results;  /* (element-type SqResult) */
  GPtrArray *entries;  /* out */
  GPtrArray *winners;  /* out */
} SummaryData;

static void
summary_data_free (SummaryData *data)
{
  g_clear_pointer (&data->results, g_ptr_array_unref);
  g_clear_pointer (&data->entries, g_ptr_array_unref);
  g_clear_pointer (&data->winners, g_ptr_array_unref);
  g_free (data);
}

static void
summary_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  SummaryData *data = task_data;
  g_autoptr(GArray) scores = sq_stats_scores_from_results (data->results);

  data->entries = sq_stats_compute ((const SqScore *) scores->data, scores->len, 0,
                                    SQ_STATS_DEFAULT_SEED);
  data->winners = sq_stats_winners ((const SqScore *) scores->data, scores->len);
  g_task_return_boolean (task, TRUE);
}

static void
clear_box (GtkWidget *box)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (box)) != NULL)
    {
      if (GTK_IS_BOX (box))
        gtk_box_remove (GTK_BOX (box), child);
      else
        gtk_grid_remove (GTK_GRID (box), child);
    }
}

static GtkWidget *
grid_label (const char *text,
            const char *css,
            float       xalign)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 24);
  if (css != NULL)
    gtk_widget_add_css_class (label, css);

  return label;
}

static void
summary_cb (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  SqCompareView *self = SQ_COMPARE_VIEW (object);
  SummaryData *data = g_task_get_task_data (G_TASK (result));
  guint serial = GPOINTER_TO_UINT (user_data);
  g_autoptr(GPtrArray) models = g_ptr_array_new ();
  int row = 1;

  if (!g_task_propagate_boolean (G_TASK (result), NULL) ||
      serial != self->summary_serial || self->blind)
    return;

  sq_summary_chart_set_entries (self->chart, data->entries);

  /* The same figures as a table: model, then mean [interval] (n) per criterion */
  clear_box (GTK_WIDGET (self->summary_grid));
  if (data->entries->len > 0)
    {
      gtk_grid_attach (self->summary_grid, grid_label (_("Model"), "caption-heading", 0), 0, 0, 1, 1);
      gtk_grid_attach (self->summary_grid, grid_label (_("Correctness"), "caption-heading", 1), 1, 0, 1, 1);
      gtk_grid_attach (self->summary_grid, grid_label (_("Relevance"), "caption-heading", 1), 2, 0, 1, 1);
    }
  for (guint i = 0; i < data->entries->len; i++)
    {
      const SqStatsEntry *entry = g_ptr_array_index (data->entries, i);

      if (!g_ptr_array_find_with_equal_func (models, entry->model, g_str_equal, NULL))
        g_ptr_array_add (models, entry->model);
    }
  for (guint m = 0; m < models->len; m++, row++)
    {
      const char *model = g_ptr_array_index (models, m);

      gtk_grid_attach (self->summary_grid, grid_label (model, NULL, 0), 0, row, 1, 1);
      for (guint c = 0; c < SQ_N_CRITERIA; c++)
        {
          g_autofree char *text = NULL;

          for (guint i = 0; i < data->entries->len; i++)
            {
              const SqStatsEntry *entry = g_ptr_array_index (data->entries, i);

              if (entry->criterion == c && g_strcmp0 (entry->model, model) == 0)
                /* Translators: a mean with its 95% interval and count: "4.2 (3.8–4.6) · 12" */
                text = g_strdup_printf (_("%.1f (%.1f–%.1f) · %u"),
                                        entry->mean, entry->ci_low, entry->ci_high, entry->n);
            }
          gtk_grid_attach (self->summary_grid,
                           grid_label (text != NULL ? text : "—", "numeric", 1),
                           c + 1, row, 1, 1);
        }
    }

  clear_box (GTK_WIDGET (self->winners_box));
  gtk_widget_set_visible (GTK_WIDGET (self->winners_heading), data->winners->len > 0);
  for (guint i = 0; i < data->winners->len && i < MAX_WINNERS; i++)
    {
      const SqStatsWinner *winner = g_ptr_array_index (data->winners, i);
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
      g_autofree char *text = NULL;
      GtkWidget *prompt = grid_label (winner->prompt, NULL, 0);

      gtk_widget_set_hexpand (prompt, TRUE);
      gtk_widget_set_tooltip_text (prompt, winner->prompt);
      gtk_box_append (GTK_BOX (box), prompt);
      if (winner->model != NULL)
        /* Translators: the winning model of a prompt and its mean score: "llava-13b · 4.5" */
        text = g_strdup_printf (_("%s · %.1f"), winner->model, winner->mean);
      else
        text = g_strdup (_("Tie"));
      gtk_box_append (GTK_BOX (box), grid_label (text, winner->model != NULL ? "heading" : "dim-label", 1));
      gtk_box_append (self->winners_box, box);
    }
  if (data->winners->len > MAX_WINNERS)
    {
      g_autofree char *more = g_strdup_printf (ngettext ("And %u more prompt",
                                                         "And %u more prompts",
                                                         data->winners->len - MAX_WINNERS),
                                               data->winners->len - MAX_WINNERS);

      gtk_box_append (self->winners_box, grid_label (more, "dim-label", 0));
    }

  if (data->entries->len == 0)
    {
      gtk_label_set_label (self->summary_placeholder,
                           _("Rate answers to see the mean scores of each model here."));
      gtk_widget_set_visible (GTK_WIDGET (self->summary_placeholder), TRUE);
    }
  else
    gtk_widget_set_visible (GTK_WIDGET (self->summary_placeholder), FALSE);
}

static void
update_counts (SqCompareView *self)
{
  GListModel *model = self->results != NULL ? G_LIST_MODEL (self->results) : NULL;
  guint n = model != NULL ? g_list_model_get_n_items (model) : 0;
  guint shown = g_list_model_get_n_items (G_LIST_MODEL (self->filter_model));
  guint rated = 0;
  guint running = 0;
  g_autofree char *text = NULL;
  g_autofree char *answers = NULL;
  g_autofree char *rated_text = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SqResultRow) row = g_list_model_get_item (model, i);

      if (!sq_result_row_get_unrated (row))
        rated++;
      if (status_is_running (sq_result_get_status (sq_result_row_get_result (row))))
        running++;
    }

  answers = g_strdup_printf (ngettext ("%u answer", "%u answers", n), n);
  /* Translators: how many answers have every criterion rated */
  rated_text = g_strdup_printf (_("%u rated"), rated);
  if (shown != n)
    /* Translators: "36 answers · 12 rated · 10 shown" */
    text = g_strdup_printf (_("%s · %s · %u shown"), answers, rated_text, shown);
  else
    text = g_strdup_printf ("%s · %s", answers, rated_text);
  if (running > 0)
    {
      g_autofree char *tmp = g_steal_pointer (&text);

      /* Translators: appended to the counts: "… · 3 running" */
      text = g_strdup_printf (_("%s · %u running"), tmp, running);
    }
  gtk_label_set_label (self->status_label, text);

  if (self->results == NULL || !self->loaded)
    gtk_stack_set_visible_child_name (self->table_stack, "loading");
  else if (n == 0)
    gtk_stack_set_visible_child_name (self->table_stack, "empty");
  else
    gtk_stack_set_visible_child_name (self->table_stack, "table");
}

static gboolean
sq_compare_view_update_summary (gpointer user_data)
{
  SqCompareView *self = user_data;
  g_autoptr(GPtrArray) models = g_ptr_array_new ();
  g_autoptr(GPtrArray) prompts = g_ptr_array_new ();
  g_autoptr(GPtrArray) images = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GTask) task = NULL;
  SummaryData *data;
  guint n;

  self->summary_source = 0;
  update_counts (self);

  if (self->results == NULL)
    return G_SOURCE_REMOVE;

  n = g_list_model_get_n_items (G_LIST_MODEL (self->results));
  data = g_new0 (SummaryData, 1);
  data->results = g_ptr_array_new_full (n, g_object_unref);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SqResultRow) row = g_list_model_get_item (G_LIST_MODEL (self->results), i);
      SqResult *result = sq_result_row_get_result (row);
      const char *values[] = {
        sq_result_get_model_name (result),
        sq_result_get_prompt (result),
        sq_result_get_image_name (result),
      };
      GPtrArray *lists[] = { models, prompts, images };

      g_ptr_array_add (data->results, g_object_ref (result));
      for (guint k = 0; k < G_N_ELEMENTS (values); k++)
        {
          g_autofree char *key = g_strdup_printf ("%u:%s", k, values[k] ? values[k] : "");

          if (values[k] != NULL && !g_hash_table_contains (seen, key))
            {
              g_hash_table_add (seen, g_steal_pointer (&key));
              g_ptr_array_add (lists[k], (gpointer) values[k]);
            }
        }
    }

  update_choices (self->model_filter, self->model_choices, models);
  update_choices (self->prompt_filter, self->prompt_choices, prompts);
  update_choices (self->image_filter, self->image_choices, images);

  if (self->blind)
    {
      summary_data_free (data);
      sq_summary_chart_set_entries (self->chart, NULL);
      clear_box (GTK_WIDGET (self->summary_grid));
      clear_box (GTK_WIDGET (self->winners_box));
      gtk_widget_set_visible (GTK_WIDGET (self->winners_heading), FALSE);
      gtk_label_set_label (self->summary_placeholder,
                           _("Scores per model are hidden in blind mode. Turn blind mode off to reveal the models."));
      gtk_widget_set_visible (GTK_WIDGET (self->summary_placeholder), TRUE);
      return G_SOURCE_REMOVE;
    }

  self->summary_serial++;
  task = g_task_new (self, self->cancellable, summary_cb, GUINT_TO_POINTER (self->summary_serial));
  g_task_set_source_tag (task, sq_compare_view_update_summary);
  g_task_set_task_data (task, data, (GDestroyNotify) summary_data_free);
  g_task_run_in_thread (task, summary_thread);

  return G_SOURCE_REMOVE;
}

static void
sq_compare_view_schedule_summary (SqCompareView *self)
{
  if (self->summary_source == 0)
    self->summary_source = g_timeout_add (SUMMARY_DELAY_MS, sq_compare_view_update_summary, self);
}

/* ------------------------------------------------------------------ */
/* Project, blind mode                                                */

typedef struct
{
  SqProject *project;
  char      *key;
  char      *mode;
} MetaData;

static void
meta_data_free (MetaData *data)
{
  g_clear_object (&data->project);
  g_free (data->key);
  g_free (data->mode);
  g_free (data);
}

static void
read_meta_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  MetaData *data = task_data;
  g_autoptr(GError) error = NULL;

  data->key = sq_project_get_meta (data->project, "blind-key", &error);
  if (error == NULL)
    data->mode = sq_project_get_meta (data->project, "blind-mode", &error);
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

static void
write_meta_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  MetaData *data = task_data;
  g_autoptr(GError) error = NULL;

  if ((data->key == NULL || sq_project_set_meta (data->project, "blind-key", data->key, &error)) &&
      sq_project_set_meta (data->project, "blind-mode", data->mode, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static void
write_meta_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  SqCompareView *self = SQ_COMPARE_VIEW (object);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    show_error (self, _("Could not save blind mode in the project"), error);
}

static void
sq_compare_view_update_loaded (SqCompareView *self)
{
  gboolean loaded = self->results != NULL && self->meta_loaded &&
                    sq_results_model_get_loaded (self->results);

  if (loaded != self->loaded)
    {
      self->loaded = loaded;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
    }
  sq_compare_view_schedule_summary (self);
  if (loaded)
    update_counts (self);
}

static void
apply_blind (SqCompareView *self)
{
  if (self->results != NULL)
    sq_results_model_set_blind_key (self->results, self->blind ? self->blind_key : NULL);
  /* A model picked in the filter would tell which model each row is */
  if (self->blind)
    gtk_drop_down_set_selected (self->model_filter, 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->model_filter), !self->blind);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  sq_compare_view_schedule_summary (self);
}

static void
read_meta_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  SqCompareView *self = SQ_COMPARE_VIEW (object);
  MetaData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      show_error (self, _("Could not read the project"), error);
    }

  if (data->project != self->project)
    return;

  g_free (self->blind_key);
  self->blind_key = g_strdup (data->key);
  self->meta_loaded = TRUE;
  if (g_strcmp0 (data->mode, "1") == 0 && self->blind_key != NULL)
    {
      self->blind = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BLIND]);
    }
  apply_blind (self);
  sq_compare_view_update_loaded (self);
}

static void
results_items_changed_cb (SqCompareView *self)
{
  sq_compare_view_schedule_summary (self);
}


/* Narrow: the summary takes the place of the table while it is shown */
static void
update_summary_layout (SqCompareView *self)
{
  gboolean revealed = gtk_revealer_get_reveal_child (self->summary_revealer);

  gtk_widget_set_visible (GTK_WIDGET (self->table_stack), !(self->narrow && revealed));
  gtk_widget_set_hexpand (GTK_WIDGET (self->summary_scroller), self->narrow && revealed);
}

static gboolean
apply_narrow_cb (gpointer user_data)
{
  SqCompareView *self = user_data;
  GListModel *columns = gtk_column_view_get_columns (self->column_view);

  self->narrow_source = 0;
  if (self->narrow)
    gtk_revealer_set_reveal_child (self->summary_revealer, FALSE);
  update_summary_layout (self);
  for (guint i = 0; i < g_list_model_get_n_items (columns); i++)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, i);
      ColumnKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (column), "sq-kind"));

      gtk_column_view_column_set_visible (column,
                                          !self->narrow ||
                                          kind == COLUMN_MODEL || kind == COLUMN_ANSWER ||
                                          kind == COLUMN_CORRECTNESS || kind == COLUMN_RELEVANCE);
      if (kind == COLUMN_ANSWER)
        gtk_column_view_column_set_fixed_width (column, self->narrow ? 150 : ANSWER_WIDTH);
      else if (kind == COLUMN_MODEL)
        gtk_column_view_column_set_fixed_width (column, self->narrow ? 86 : MODEL_WIDTH);
    }

  /* Rows change height with their columns: keep the current one in view */
  if (current_position (self) != GTK_INVALID_LIST_POSITION)
    scroll_to (self, current_position (self));

  return G_SOURCE_REMOVE;
}

static void
sq_compare_view_measure (GtkWidget      *widget,
                         GtkOrientation  orientation,
                         int             for_size,
                         int            *minimum,
                         int            *natural,
                         int            *minimum_baseline,
                         int            *natural_baseline)
{
  gtk_widget_measure (GTK_WIDGET (SQ_COMPARE_VIEW (widget)->toast_overlay), orientation, for_size,
                      minimum, natural, minimum_baseline, natural_baseline);
}

/* Like a GtkBinLayout, and tells when the view becomes narrow. */
static void
sq_compare_view_size_allocate (GtkWidget *widget,
                               int        width,
                               int        height,
                               int        baseline)
{
  SqCompareView *self = SQ_COMPARE_VIEW (widget);
  gboolean narrow = width < NARROW_WIDTH;

  gtk_widget_allocate (GTK_WIDGET (self->toast_overlay), width, height, baseline, NULL);

  /* Columns cannot change while the view is being allocated */
  if (narrow != self->narrow)
    {
      self->narrow = narrow;
      if (self->narrow_source == 0)
        self->narrow_source = g_idle_add (apply_narrow_cb, self);
    }
}

static void
workspace_project_changed_cb (SqCompareView *self)
{
  sq_compare_view_set_project (self, sq_workspace_get_project (self->workspace));
}

/* ------------------------------------------------------------------ */
/* GObject                                                            */

static void
sq_compare_view_dispose (GObject *object)
{
  SqCompareView *self = SQ_COMPARE_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->project_cancellable != NULL)
    g_cancellable_cancel (self->project_cancellable);
  g_clear_handle_id (&self->summary_source, g_source_remove);
  g_clear_handle_id (&self->narrow_source, g_source_remove);
  g_clear_handle_id (&self->focus_source, g_source_remove);

  if (self->results != NULL)
    g_signal_handlers_disconnect_by_data (self->results, self);
  if (self->workspace != NULL)
    g_signal_handlers_disconnect_by_data (self->workspace, self);
  if (self->selection != NULL)
    g_signal_handlers_disconnect_by_data (self->selection, self);

  gtk_widget_dispose_template (GTK_WIDGET (self), SQ_TYPE_COMPARE_VIEW);

  g_clear_object (&self->active_row);
  g_clear_object (&self->selection);
  g_clear_object (&self->sort_model);
  g_clear_object (&self->filter_model);
  g_clear_object (&self->filter);
  g_clear_object (&self->results);
  g_clear_object (&self->project);
  g_clear_object (&self->workspace);
  g_clear_object (&self->model_choices);
  g_clear_object (&self->prompt_choices);
  g_clear_object (&self->image_choices);

  G_OBJECT_CLASS (sq_compare_view_parent_class)->dispose (object);
}

static void
sq_compare_view_finalize (GObject *object)
{
  SqCompareView *self = SQ_COMPARE_VIEW (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->project_cancellable);
  g_clear_pointer (&self->undo, g_array_unref);
  g_clear_pointer (&self->thumbnails, g_hash_table_unref);
  g_clear_pointer (&self->thumbnail_waiters, g_hash_table_unref);
  g_clear_pointer (&self->blind_key, g_free);
  g_clear_pointer (&self->search_folded, g_free);

  G_OBJECT_CLASS (sq_compare_view_parent_class)->finalize (object);
}

static void
sq_compare_view_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SqCompareView *self = SQ_COMPARE_VIEW (object);

  switch (prop_id)
    {
    case PROP_WORKSPACE:
      g_value_set_object (value, self->workspace);
      break;
    case PROP_PROJECT:
      g_value_set_object (value, self->project);
      break;
    case PROP_BLIND:
      g_value_set_boolean (value, self->blind);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_compare_view_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  SqCompareView *self = SQ_COMPARE_VIEW (object);

  switch (prop_id)
    {
    case PROP_WORKSPACE:
      sq_compare_view_set_workspace (self, g_value_get_object (value));
      break;
    case PROP_PROJECT:
      sq_compare_view_set_project (self, g_value_get_object (value));
      break;
    case PROP_BLIND:
      sq_compare_view_set_blind (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_compare_view_class_init (SqCompareViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sq_compare_view_dispose;
  object_class->finalize = sq_compare_view_finalize;
  object_class->get_property = sq_compare_view_get_property;
  object_class->set_property = sq_compare_view_set_property;

  widget_class->measure = sq_compare_view_measure;
  widget_class->size_allocate = sq_compare_view_size_allocate;

  properties[PROP_WORKSPACE] =
    g_param_spec_object ("workspace", NULL, NULL, SQ_TYPE_WORKSPACE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, SQ_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BLIND] =
    g_param_spec_boolean ("blind", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SQ_TYPE_SUMMARY_CHART);
  g_type_ensure (SQ_TYPE_GRID_BUILDER);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-compare-view.ui");
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, builder_revealer);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, grid_button);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, search_entry);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, unrated_button);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, filter_button);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, model_filter);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, prompt_filter);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, image_filter);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, status_filter);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, blind_button);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, export_button);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, summary_button);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, summary_revealer);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, summary_scroller);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, table_stack);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, table_scroller);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, column_view);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, status_label);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, summary_placeholder);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, chart);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, summary_grid);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, winners_heading);
  gtk_widget_class_bind_template_child (widget_class, SqCompareView, winners_box);
  gtk_widget_class_bind_template_callback (widget_class, filters_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_stop_cb);

  gtk_widget_class_install_property_action (widget_class, "compare.blind", "blind");
  gtk_widget_class_install_action (widget_class, "compare.rate", "i", rate_action);
  gtk_widget_class_install_action (widget_class, "compare.next-criterion", NULL, next_criterion_action);
  gtk_widget_class_install_action (widget_class, "compare.move", "i", move_action);
  gtk_widget_class_install_action (widget_class, "compare.next-unrated", NULL, next_unrated_action);
  gtk_widget_class_install_action (widget_class, "compare.edit-note", NULL, edit_note_action);
  gtk_widget_class_install_action (widget_class, "compare.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "compare.export", "s", export_action);
  gtk_widget_class_install_action (widget_class, "compare.open-file", "s", open_file_action);
  gtk_widget_class_install_action (widget_class, "compare.search", NULL, search_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK,
                                       "compare.search", NULL);

  gtk_widget_class_set_css_name (widget_class, "sqcompareview");
}

static void
sq_compare_view_init (SqCompareView *self)
{
  GtkEventController *keys;
  GtkSorter *sorter;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->undo = g_array_new (FALSE, FALSE, sizeof (UndoEntry));
  self->thumbnails = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                            texture_unref_nullable);
  self->thumbnail_waiters = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                   (GDestroyNotify) g_ptr_array_unref);

  /* Filters */
  self->model_choices = gtk_string_list_new ((const char *[]) { _("Any Model"), NULL });
  self->prompt_choices = gtk_string_list_new ((const char *[]) { _("Any Prompt"), NULL });
  self->image_choices = gtk_string_list_new ((const char *[]) { _("Any Image"), NULL });
  setup_choices (self->model_filter, self->model_choices);
  setup_choices (self->prompt_filter, self->prompt_choices);
  setup_choices (self->image_filter, self->image_choices);

  /* The table: results → filter → sort → selection */
  self->filter = gtk_custom_filter_new (filter_func, self, NULL);
  self->filter_model = gtk_filter_list_model_new (NULL, GTK_FILTER (g_object_ref (self->filter)));
  self->sort_model = gtk_sort_list_model_new (G_LIST_MODEL (g_object_ref (self->filter_model)), NULL);
  sorter = gtk_column_view_get_sorter (self->column_view);
  gtk_sort_list_model_set_sorter (self->sort_model, sorter);
  self->selection = gtk_single_selection_new (G_LIST_MODEL (g_object_ref (self->sort_model)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  gtk_column_view_set_model (self->column_view, GTK_SELECTION_MODEL (self->selection));
  g_signal_connect_object (self->selection, "notify::selected-item",
                           G_CALLBACK (selection_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->filter_model, "items-changed",
                           G_CALLBACK (results_items_changed_cb), self, G_CONNECT_SWAPPED);

  /* The ratings next to the answer: that is where the eyes are */
  add_column (self, COLUMN_THUMBNAIL, _("Image"), "image-name", G_TYPE_STRING, 64, FALSE);
  add_column (self, COLUMN_PROMPT, _("Prompt"), "prompt", G_TYPE_STRING, 150, FALSE);
  add_column (self, COLUMN_MODEL, _("Model"), "model-name", G_TYPE_STRING, MODEL_WIDTH, FALSE);
  add_column (self, COLUMN_ANSWER, _("Answer"), "response", G_TYPE_STRING, ANSWER_WIDTH, TRUE);
  add_column (self, COLUMN_CORRECTNESS, _("Correctness"), "correctness", G_TYPE_DOUBLE, 136, FALSE);
  add_column (self, COLUMN_RELEVANCE, _("Relevance"), "relevance", G_TYPE_DOUBLE, 136, FALSE);
  add_column (self, COLUMN_STATUS, _("Status"), "status", G_TYPE_STRING, 100, FALSE);
  add_column (self, COLUMN_NOTE, _("Note"), "note", G_TYPE_STRING, 120, FALSE);
  add_column (self, COLUMN_TTFT, _("First Token"), "ttft-ms", G_TYPE_INT64, 90, FALSE);
  add_column (self, COLUMN_TOTAL, _("Total"), "total-ms", G_TYPE_INT64, 70, FALSE);

  g_signal_connect_object (self->summary_revealer, "notify::reveal-child",
                           G_CALLBACK (update_summary_layout), self, G_CONNECT_SWAPPED);

  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  gtk_event_controller_set_name (keys, "sq-labelling-keys");
  g_signal_connect_object (keys, "key-pressed", G_CALLBACK (key_pressed_cb), self, G_CONNECT_SWAPPED);
  gtk_widget_add_controller (GTK_WIDGET (self->column_view), keys);

  /* The grid builder */
  self->grid_builder = SQ_GRID_BUILDER (sq_grid_builder_new (NULL));
  gtk_revealer_set_child (self->builder_revealer, GTK_WIDGET (self->grid_builder));

  update_counts (self);
}

GtkWidget *
sq_compare_view_new (SqWorkspace *workspace)
{
  return g_object_new (SQ_TYPE_COMPARE_VIEW,
                       "workspace", workspace,
                       NULL);
}

SqWorkspace *
sq_compare_view_get_workspace (SqCompareView *self)
{
  g_return_val_if_fail (SQ_IS_COMPARE_VIEW (self), NULL);

  return self->workspace;
}

void
sq_compare_view_set_workspace (SqCompareView *self,
                               SqWorkspace   *workspace)
{
  g_return_if_fail (SQ_IS_COMPARE_VIEW (self));
  g_return_if_fail (workspace == NULL || SQ_IS_WORKSPACE (workspace));

  if (self->workspace == workspace)
    return;

  if (self->workspace != NULL)
    g_signal_handlers_disconnect_by_data (self->workspace, self);
  g_set_object (&self->workspace, workspace);
  sq_grid_builder_set_workspace (self->grid_builder, workspace);
  if (workspace != NULL)
    {
      g_signal_connect_object (workspace, "notify::project",
                               G_CALLBACK (workspace_project_changed_cb), self,
                               G_CONNECT_SWAPPED);
      sq_compare_view_set_project (self, sq_workspace_get_project (workspace));
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WORKSPACE]);
}

SqProject *
sq_compare_view_get_project (SqCompareView *self)
{
  g_return_val_if_fail (SQ_IS_COMPARE_VIEW (self), NULL);

  return self->project;
}

void
sq_compare_view_set_project (SqCompareView *self,
                             SqProject     *project)
{
  g_autoptr(GTask) task = NULL;
  MetaData *data;

  g_return_if_fail (SQ_IS_COMPARE_VIEW (self));
  g_return_if_fail (project == NULL || SQ_IS_PROJECT (project));

  if (self->project == project)
    return;

  if (self->project_cancellable != NULL)
    g_cancellable_cancel (self->project_cancellable);
  g_clear_object (&self->project_cancellable);
  if (self->results != NULL)
    g_signal_handlers_disconnect_by_data (self->results, self);
  gtk_filter_list_model_set_model (self->filter_model, NULL);
  g_clear_object (&self->results);
  g_clear_object (&self->active_row);
  g_hash_table_remove_all (self->thumbnails);
  g_hash_table_remove_all (self->thumbnail_waiters);
  g_array_set_size (self->undo, 0);
  g_clear_pointer (&self->blind_key, g_free);
  self->meta_loaded = FALSE;
  if (self->blind)
    {
      self->blind = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BLIND]);
    }

  g_set_object (&self->project, project);
  sq_grid_builder_set_project (self->grid_builder, project);

  if (project != NULL)
    {
      self->project_cancellable = g_cancellable_new ();
      self->results = sq_results_model_new (project);
      g_signal_connect_object (self->results, "notify::loaded",
                               G_CALLBACK (sq_compare_view_update_loaded), self,
                               G_CONNECT_SWAPPED);
      gtk_filter_list_model_set_model (self->filter_model, G_LIST_MODEL (self->results));

      data = g_new0 (MetaData, 1);
      data->project = g_object_ref (project);
      task = g_task_new (self, self->project_cancellable, read_meta_cb, NULL);
      g_task_set_source_tag (task, sq_compare_view_set_project);
      g_task_set_task_data (task, data, (GDestroyNotify) meta_data_free);
      g_task_run_in_thread (task, read_meta_thread);
    }

  sq_compare_view_update_loaded (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT]);
}

gboolean
sq_compare_view_get_loaded (SqCompareView *self)
{
  g_return_val_if_fail (SQ_IS_COMPARE_VIEW (self), FALSE);

  return self->loaded;
}

gboolean
sq_compare_view_get_blind (SqCompareView *self)
{
  g_return_val_if_fail (SQ_IS_COMPARE_VIEW (self), FALSE);

  return self->blind;
}

void
sq_compare_view_set_blind (SqCompareView *self,
                           gboolean       blind)
{
  g_autoptr(GTask) task = NULL;
  MetaData *data;

  g_return_if_fail (SQ_IS_COMPARE_VIEW (self));

  blind = !!blind;
  if (self->blind == blind)
    return;

  self->blind = blind;

  if (self->project != NULL)
    {
      data = g_new0 (MetaData, 1);
      data->project = g_object_ref (self->project);
      if (blind && self->blind_key == NULL)
        {
          guint32 words[4];

          for (guint i = 0; i < G_N_ELEMENTS (words); i++)
            words[i] = g_random_int ();
          self->blind_key = g_strdup_printf ("%08x%08x%08x%08x", words[0], words[1], words[2], words[3]);
          data->key = g_strdup (self->blind_key);
        }
      data->mode = g_strdup (blind ? "1" : "0");
      task = g_task_new (self, self->cancellable, write_meta_cb, NULL);
      g_task_set_source_tag (task, sq_compare_view_set_blind);
      g_task_set_task_data (task, data, (GDestroyNotify) meta_data_free);
      g_task_run_in_thread (task, write_meta_thread);
    }

  apply_blind (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BLIND]);
}

GtkSelectionModel *
sq_compare_view_get_selection (SqCompareView *self)
{
  g_return_val_if_fail (SQ_IS_COMPARE_VIEW (self), NULL);

  return GTK_SELECTION_MODEL (self->selection);
}

GtkWidget *
sq_compare_view_get_grid_builder (SqCompareView *self)
{
  g_return_val_if_fail (SQ_IS_COMPARE_VIEW (self), NULL);

  return GTK_WIDGET (self->grid_builder);
}

SqCriterion
sq_compare_view_get_criterion (SqCompareView *self)
{
  g_return_val_if_fail (SQ_IS_COMPARE_VIEW (self), 0);

  return self->criterion;
}

static void
export_write_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SqCompareView *self = g_task_get_source_object (task);
  GFile *file = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *basename = NULL;
  g_autofree char *title = NULL;
  g_autofree char *uri = NULL;
  AdwToast *toast;

  if (!sq_exporter_write_file_finish (result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  basename = g_file_get_basename (file);
  uri = g_file_get_uri (file);
  /* Translators: %s is a file name */
  title = g_strdup_printf (_("Exported to %s"), basename);
  toast = adw_toast_new (title);
  adw_toast_set_button_label (toast, _("_Open"));
  adw_toast_set_action_name (toast, "compare.open-file");
  adw_toast_set_action_target_value (toast, g_variant_new_string (uri));
  show_toast (self, toast);

  g_task_return_boolean (task, TRUE);
}

void
sq_compare_view_export_async (SqCompareView       *self,
                              SqExportFormat       format,
                              GFile               *file,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SQ_IS_COMPARE_VIEW (self));
  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_compare_view_export_async);
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);

  if (self->project == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                               _("There is no project to export"));
      return;
    }

  sq_exporter_write_file_async (self->project, format, file, cancellable,
                                export_write_cb, g_steal_pointer (&task));
}

gboolean
sq_compare_view_export_finish (SqCompareView  *self,
                               GAsyncResult   *result,
                               GError        **error)
{
  g_return_val_if_fail (SQ_IS_COMPARE_VIEW (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
