/* sq-grid-builder.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-grid-builder"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-compat.h"
#include "sq-grid-builder.h"
#include "sq-image-tray.h"
#include "sq-model-picker.h"
#include "sq-prompt-history.h"

/* A grid that ran at least this long is worth a notification. */
#define NOTIFY_AFTER_SECONDS 10
#define COUNT_DELAY_MS       300

struct _SqGridBuilder
{
  GtkWidget       parent_instance;

  /* Template widgets */
  GtkFlowBox     *cards;
  GtkLabel       *prompts_heading;
  GtkListBox     *prompts_list;
  GtkEntry       *prompt_entry;
  GtkMenuButton  *history_button;
  GtkListBox     *history_list;
  GtkPopover     *history_popover;
  GtkBox         *images_card;
  GtkLabel       *images_heading;
  GtkFlowBox     *images_box;
  GtkLabel       *images_hint;
  GtkButton      *tray_images_button;
  GtkLabel       *models_heading;
  GtkScrolledWindow *models_scroller;
  GtkLabel       *cells_label;
  GtkButton      *run_button;
  GtkToggleButton *pause_button;
  GtkButton      *cancel_button;
  GtkButton      *retry_button;
  GtkBox         *progress_box;
  GtkProgressBar *progress_bar;
  GtkLabel       *progress_label;

  SqModelPicker  *picker;

  SqWorkspace    *workspace;    /* (owned) (nullable) */
  SqProject      *project;      /* (owned) (nullable) */
  SqGridRun      *run;          /* (owned) (nullable) */
  GCancellable   *cancellable;  /* (owned) */
  GCancellable   *run_cancellable;  /* (owned) (nullable) */
  GPtrArray      *prompts;      /* (element-type utf8) */
  GPtrArray      *images;       /* (element-type SqImage) */
  char           *error_text;   /* (owned) (nullable) */
  gint64          run_started;  /* monotonic µs */
  guint           n_answered;
  guint           count_source;
  guint           count_serial;
  guint           n_loading;
};

G_DEFINE_FINAL_TYPE (SqGridBuilder, sq_grid_builder, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_WORKSPACE,
  PROP_PROJECT,
  PROP_RUN,
  PROP_N_CELLS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void sq_grid_builder_update (SqGridBuilder *self);
static void sq_grid_builder_schedule_count (SqGridBuilder *self);

static gboolean
is_running (SqGridBuilder *self)
{
  SqGridRunState state;

  if (self->run == NULL)
    return FALSE;

  state = sq_grid_run_get_state (self->run);
  return state == SQ_GRID_RUN_STATE_RUNNING ||
         state == SQ_GRID_RUN_STATE_PAUSED ||
         state == SQ_GRID_RUN_STATE_CANCELLING;
}

static void
set_error (SqGridBuilder *self,
           const char    *text)
{
  g_free (self->error_text);
  self->error_text = g_strdup (text);
  sq_grid_builder_update (self);
}

/* ------------------------------------------------------------------ */
/* Prompts                                                            */

static void rebuild_prompts (SqGridBuilder *self);

static void
prompt_move_cb (GtkButton     *button,
                SqGridBuilder *self)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (button), "sq-index"));
  int delta = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "sq-delta"));
  guint other = index + delta;
  gpointer tmp;

  if (delta == 0)
    {
      g_ptr_array_remove_index (self->prompts, index);
    }
  else
    {
      if (other >= self->prompts->len)
        return;
      tmp = self->prompts->pdata[index];
      self->prompts->pdata[index] = self->prompts->pdata[other];
      self->prompts->pdata[other] = tmp;
    }

  rebuild_prompts (self);
  sq_grid_builder_update (self);
  sq_grid_builder_schedule_count (self);
}

static void
prompt_edited_cb (GtkEditableLabel *label,
                  GParamSpec       *pspec,
                  SqGridBuilder    *self)
{
  guint index = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (label), "sq-index"));
  g_autofree char *text = NULL;

  if (gtk_editable_label_get_editing (label) || index >= self->prompts->len)
    return;

  text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (label))));
  if (*text == '\0')
    {
      gtk_editable_set_text (GTK_EDITABLE (label), g_ptr_array_index (self->prompts, index));
      return;
    }

  if (g_strcmp0 (text, g_ptr_array_index (self->prompts, index)) == 0)
    return;

  g_free (self->prompts->pdata[index]);
  self->prompts->pdata[index] = g_steal_pointer (&text);
  sq_grid_builder_schedule_count (self);
}

static GtkWidget *
icon_button (SqGridBuilder *self,
             const char    *icon,
             const char    *label,
             guint          index,
             int            delta,
             gboolean       sensitive)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon);

  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (button, label);
  gtk_widget_set_sensitive (button, sensitive);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                  -1);
  g_object_set_data (G_OBJECT (button), "sq-index", GUINT_TO_POINTER (index));
  g_object_set_data (G_OBJECT (button), "sq-delta", GINT_TO_POINTER (delta));
  g_signal_connect_object (button, "clicked", G_CALLBACK (prompt_move_cb), self, 0);

  return button;
}

static void
rebuild_prompts (SqGridBuilder *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->prompts_list))) != NULL)
    gtk_list_box_remove (self->prompts_list, child);

  for (guint i = 0; i < self->prompts->len; i++)
    {
      const char *text = g_ptr_array_index (self->prompts, i);
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 2);
      GtkWidget *label = gtk_editable_label_new (text);
      g_autofree char *name = g_strdup_printf (_("Prompt %u"), i + 1);

      gtk_widget_set_hexpand (label, TRUE);
      gtk_widget_set_margin_start (box, 6);
      gtk_editable_set_width_chars (GTK_EDITABLE (label), 8);
      gtk_widget_set_tooltip_text (label, text);
      gtk_accessible_update_property (GTK_ACCESSIBLE (label),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, name,
                                      -1);
      g_object_set_data (G_OBJECT (label), "sq-index", GUINT_TO_POINTER (i));
      g_signal_connect_object (label, "notify::editing", G_CALLBACK (prompt_edited_cb), self, 0);
      gtk_box_append (GTK_BOX (box), label);
      gtk_box_append (GTK_BOX (box), icon_button (self, "go-up-symbolic", _("Move Up"), i, -1, i > 0));
      gtk_box_append (GTK_BOX (box), icon_button (self, "go-down-symbolic", _("Move Down"), i, 1,
                                                  i + 1 < self->prompts->len));
      gtk_box_append (GTK_BOX (box), icon_button (self, "list-remove-symbolic", _("Remove Prompt"), i, 0, TRUE));
      gtk_list_box_append (self->prompts_list, box);
    }

  gtk_widget_set_visible (GTK_WIDGET (self->prompts_list), self->prompts->len > 0);
}

void
sq_grid_builder_add_prompt (SqGridBuilder *self,
                            const char    *text)
{
  g_autofree char *stripped = NULL;

  g_return_if_fail (SQ_IS_GRID_BUILDER (self));

  if (text == NULL)
    return;

  stripped = g_strstrip (g_strdup (text));
  if (*stripped == '\0' ||
      g_ptr_array_find_with_equal_func (self->prompts, stripped, g_str_equal, NULL))
    return;

  g_ptr_array_add (self->prompts, g_steal_pointer (&stripped));
  g_clear_pointer (&self->error_text, g_free);
  rebuild_prompts (self);
  sq_grid_builder_update (self);
  sq_grid_builder_schedule_count (self);
}

static void
add_prompt_cb (SqGridBuilder *self)
{
  sq_grid_builder_add_prompt (self, gtk_editable_get_text (GTK_EDITABLE (self->prompt_entry)));
  gtk_editable_set_text (GTK_EDITABLE (self->prompt_entry), "");
}

/* Prompts used before: the Ask view's history (most recent first), then
 * the prompts of the project that are not in it. Both are read in worker
 * threads each time the list opens; the history file is only read here. */
typedef struct
{
  SqProject *project;   /* (owned) (nullable) */
  GPtrArray *prompts;   /* (owned) (element-type utf8) */
} HistoryData;

static void
history_data_free (HistoryData *data)
{
  g_clear_object (&data->project);
  g_clear_pointer (&data->prompts, g_ptr_array_unref);
  g_free (data);
}

static void
list_prompts_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  HistoryData *data = task_data;
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GError) error = NULL;

  if (data->project != NULL)
    {
      records = sq_project_list_prompts (data->project, &error);
      if (records == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }

      for (guint i = records->len; i > 0; i--)
        {
          const SqPromptRecord *record = g_ptr_array_index (records, i - 1);

          if (!g_ptr_array_find_with_equal_func (data->prompts, record->text, g_str_equal, NULL))
            g_ptr_array_add (data->prompts, g_strdup (record->text));
        }
    }

  g_task_return_boolean (task, TRUE);
}

static void
list_prompts_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SqGridBuilder *self = SQ_GRID_BUILDER (object);
  HistoryData *data = g_task_get_task_data (G_TASK (result));
  GtkWidget *child;

  if (!g_task_propagate_boolean (G_TASK (result), NULL))
    return;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->history_list))) != NULL)
    gtk_list_box_remove (self->history_list, child);

  for (guint i = 0; i < data->prompts->len; i++)
    {
      const char *text = g_ptr_array_index (data->prompts, i);
      GtkWidget *label = gtk_label_new (text);

      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
      gtk_label_set_max_width_chars (GTK_LABEL (label), 40);
      gtk_widget_set_margin_start (label, 6);
      gtk_widget_set_margin_end (label, 6);
      gtk_widget_set_margin_top (label, 6);
      gtk_widget_set_margin_bottom (label, 6);
      gtk_widget_set_tooltip_text (label, text);
      g_object_set_data_full (G_OBJECT (label), "sq-text", g_strdup (text), g_free);
      gtk_list_box_append (self->history_list, label);
    }

  if (data->prompts->len == 0)
    {
      GtkWidget *label = gtk_label_new (_("No prompts yet"));

      gtk_widget_add_css_class (label, "dim-label");
      gtk_widget_set_margin_top (label, 6);
      gtk_widget_set_margin_bottom (label, 6);
      gtk_list_box_append (self->history_list, label);
    }
}

static void
history_loaded_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(SqGridBuilder) self = user_data;
  SqPromptHistory *history = SQ_PROMPT_HISTORY (object);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  HistoryData *data;

  if (!sq_prompt_history_load_finish (history, result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  data = g_new0 (HistoryData, 1);
  data->project = self->project != NULL ? g_object_ref (self->project) : NULL;
  data->prompts = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < sq_prompt_history_get_n_prompts (history); i++)
    g_ptr_array_add (data->prompts, g_strdup (sq_prompt_history_get_prompt (history, i)));

  task = g_task_new (self, self->cancellable, list_prompts_cb, NULL);
  g_task_set_source_tag (task, history_loaded_cb);
  g_task_set_task_data (task, data, (GDestroyNotify) history_data_free);
  g_task_run_in_thread (task, list_prompts_thread);
}

static void
history_show_cb (SqGridBuilder *self)
{
  g_autoptr(SqPromptHistory) history = sq_prompt_history_new (NULL);

  sq_prompt_history_load_async (history, self->cancellable, history_loaded_cb, g_object_ref (self));
}

static void
history_row_activated_cb (SqGridBuilder *self,
                          GtkListBoxRow *row)
{
  const char *text = g_object_get_data (G_OBJECT (gtk_list_box_row_get_child (row)), "sq-text");

  if (text != NULL)
    sq_grid_builder_add_prompt (self, text);
  gtk_popover_popdown (self->history_popover);
}

GStrv
sq_grid_builder_dup_prompts (SqGridBuilder *self)
{
  GStrvBuilder *builder;
  GStrv strv;

  g_return_val_if_fail (SQ_IS_GRID_BUILDER (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->prompts->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->prompts, i));
  strv = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);

  return strv;
}

/* ------------------------------------------------------------------ */
/* Images                                                             */

static void rebuild_images (SqGridBuilder *self);

static void
image_remove_cb (GtkButton     *button,
                 SqGridBuilder *self)
{
  SqImage *image = g_object_get_data (G_OBJECT (button), "sq-image");

  g_ptr_array_remove (self->images, image);
  rebuild_images (self);
  sq_grid_builder_update (self);
  sq_grid_builder_schedule_count (self);
}

static void
rebuild_images (SqGridBuilder *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->images_box))) != NULL)
    gtk_flow_box_remove (self->images_box, child);

  for (guint i = 0; i < self->images->len; i++)
    {
      SqImage *image = g_ptr_array_index (self->images, i);
      GdkPixbuf *thumbnail = sq_image_get_thumbnail (image);
      GtkWidget *overlay = gtk_overlay_new ();
      GtkWidget *picture = gtk_picture_new ();
      GtkWidget *remove = gtk_button_new_from_icon_name ("window-close-symbolic");
      g_autofree char *remove_label = g_strdup_printf (_("Remove %s"), sq_image_get_name (image));

      if (thumbnail != NULL)
        {
          g_autoptr(GdkTexture) texture = gdk_texture_new_for_pixbuf (thumbnail);

          gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (texture));
        }
      gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_COVER);
      gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
      gtk_widget_set_size_request (picture, 64, 64);
      gtk_widget_add_css_class (picture, "thumbnail");
      gtk_widget_set_tooltip_text (picture, sq_image_get_name (image));
      gtk_accessible_update_property (GTK_ACCESSIBLE (picture),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, sq_image_get_name (image),
                                      -1);
      gtk_overlay_set_child (GTK_OVERLAY (overlay), picture);

      gtk_widget_set_halign (remove, GTK_ALIGN_END);
      gtk_widget_set_valign (remove, GTK_ALIGN_START);
      gtk_widget_add_css_class (remove, "osd");
      gtk_widget_add_css_class (remove, "circular");
      gtk_widget_add_css_class (remove, "image-remove");
      gtk_widget_set_tooltip_text (remove, remove_label);
      gtk_accessible_update_property (GTK_ACCESSIBLE (remove),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, remove_label,
                                      -1);
      g_object_set_data (G_OBJECT (remove), "sq-image", image);
      g_signal_connect_object (remove, "clicked", G_CALLBACK (image_remove_cb), self, 0);
      gtk_overlay_add_overlay (GTK_OVERLAY (overlay), remove);

      gtk_flow_box_append (self->images_box, overlay);
    }

  gtk_widget_set_visible (GTK_WIDGET (self->images_box), self->images->len > 0);
}

void
sq_grid_builder_add_image (SqGridBuilder *self,
                           SqImage       *image)
{
  g_return_if_fail (SQ_IS_GRID_BUILDER (self));
  g_return_if_fail (SQ_IS_IMAGE (image));

  for (guint i = 0; i < self->images->len; i++)
    if (g_strcmp0 (sq_image_get_hash (g_ptr_array_index (self->images, i)),
                   sq_image_get_hash (image)) == 0)
      return;

  g_ptr_array_add (self->images, g_object_ref (image));
  g_clear_pointer (&self->error_text, g_free);
  rebuild_images (self);
  sq_grid_builder_update (self);
  sq_grid_builder_schedule_count (self);
}

static void
image_loaded_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SqGridBuilder) self = user_data;
  g_autoptr(SqImage) image = NULL;
  g_autoptr(GError) error = NULL;

  self->n_loading--;
  image = sq_image_load_finish (result, &error);
  if (image == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_error (self, error->message);
      else
        sq_grid_builder_update (self);
      return;
    }

  sq_grid_builder_add_image (self, image);
}

static void
load_file (SqGridBuilder *self,
           GFile         *file)
{
  self->n_loading++;
  sq_image_load_file_async (file, self->cancellable, image_loaded_cb, g_object_ref (self));
}

static void
open_images_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(SqGridBuilder) self = user_data;
  g_autoptr(GListModel) files = NULL;
  g_autoptr(GError) error = NULL;

  files = sq_compat_open_images_finish (result, &error);
  if (files == NULL)
    return;

  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(GFile) file = g_list_model_get_item (files, i);

      load_file (self, file);
    }
}

static void
add_images_cb (SqGridBuilder *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  sq_compat_open_images_async (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                               _("Add Images"), self->cancellable,
                               open_images_cb, g_object_ref (self));
}

static SqImageTray *
find_tray (GtkWidget *widget)
{
  if (SQ_IS_IMAGE_TRAY (widget))
    return SQ_IMAGE_TRAY (widget);

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      SqImageTray *tray = find_tray (child);

      if (tray != NULL)
        return tray;
    }

  return NULL;
}

/* The images already in the Ask view's tray, wherever the window has it. */
static void
tray_images_cb (SqGridBuilder *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  SqImageTray *tray = root != NULL ? find_tray (GTK_WIDGET (root)) : NULL;
  g_autoptr(GPtrArray) images = NULL;

  if (tray == NULL || sq_image_tray_get_n_images (tray) == 0)
    {
      set_error (self, _("The Ask view has no images yet"));
      return;
    }

  g_clear_pointer (&self->error_text, g_free);
  images = sq_image_tray_dup_images (tray);
  for (guint i = 0; i < images->len; i++)
    sq_grid_builder_add_image (self, g_ptr_array_index (images, i));
  sq_grid_builder_update (self);
}

static gboolean
drop_cb (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         SqGridBuilder *self)
{
  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      for (GSList *l = g_value_get_boxed (value); l != NULL; l = l->next)
        load_file (self, l->data);
      return TRUE;
    }

  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE))
    {
      g_autoptr(GBytes) png = gdk_texture_save_to_png_bytes (g_value_get_object (value));

      self->n_loading++;
      sq_image_load_bytes_async (png, _("Dropped image"), self->cancellable,
                                 image_loaded_cb, g_object_ref (self));
      return TRUE;
    }

  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Counts: cells, and those already answered in the project            */

typedef struct
{
  SqProject  *project;
  GHashTable *keys;   /* "prompt\x1fsha\x1fref" */
  guint       n_answered;
} CountData;

static void
count_data_free (CountData *data)
{
  g_clear_object (&data->project);
  g_clear_pointer (&data->keys, g_hash_table_unref);
  g_free (data);
}

static char *
cell_key (const char *prompt,
          const char *sha256,
          const char *ref)
{
  return g_strdup_printf ("%s\x1f%s\x1f%s", prompt, sha256, ref);
}

static void
count_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  CountData *data = task_data;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GHashTable) answered = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GError) error = NULL;

  results = sq_project_list_results (data->project, &error);
  if (results == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  for (guint i = 0; i < results->len; i++)
    {
      SqResult *result = g_ptr_array_index (results, i);
      g_autofree char *key = NULL;

      if (g_strcmp0 (sq_result_get_status (result), "succeeded") != 0)
        continue;
      key = cell_key (sq_result_get_prompt (result), sq_result_get_image_sha256 (result),
                      sq_result_get_model_ref (result));
      if (g_hash_table_contains (data->keys, key))
        g_hash_table_add (answered, g_steal_pointer (&key));
    }

  data->n_answered = g_hash_table_size (answered);
  g_task_return_boolean (task, TRUE);
}

static void
count_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  SqGridBuilder *self = SQ_GRID_BUILDER (object);
  CountData *data = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), NULL) ||
      GPOINTER_TO_UINT (user_data) != self->count_serial)
    return;

  self->n_answered = data->n_answered;
  sq_grid_builder_update (self);
}

static gboolean
count_timeout_cb (gpointer user_data)
{
  SqGridBuilder *self = user_data;
  g_autoptr(GTask) task = NULL;
  g_autoptr(GPtrArray) models = NULL;
  CountData *data;

  self->count_source = 0;
  if (self->project == NULL)
    return G_SOURCE_REMOVE;

  /* No grid, nothing answered: spare a big project a full read on every
   * rating. */
  if (sq_grid_builder_get_n_cells (self) == 0)
    {
      self->count_serial++;
      self->n_answered = 0;
      sq_grid_builder_update (self);
      return G_SOURCE_REMOVE;
    }

  data = g_new0 (CountData, 1);
  data->project = g_object_ref (self->project);
  data->keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  models = sq_model_picker_dup_selected (self->picker);
  for (guint p = 0; p < self->prompts->len; p++)
    for (guint i = 0; i < self->images->len; i++)
      for (guint m = 0; m < models->len; m++)
        g_hash_table_add (data->keys,
                          cell_key (g_ptr_array_index (self->prompts, p),
                                    sq_image_get_hash (g_ptr_array_index (self->images, i)),
                                    sq_model_get_ref (g_ptr_array_index (models, m))));

  self->count_serial++;
  task = g_task_new (self, self->cancellable, count_cb, GUINT_TO_POINTER (self->count_serial));
  g_task_set_source_tag (task, count_timeout_cb);
  g_task_set_task_data (task, data, (GDestroyNotify) count_data_free);
  g_task_run_in_thread (task, count_thread);

  return G_SOURCE_REMOVE;
}

static void
sq_grid_builder_schedule_count (SqGridBuilder *self)
{
  if (self->count_source == 0)
    self->count_source = g_timeout_add (COUNT_DELAY_MS, count_timeout_cb, self);
}

guint
sq_grid_builder_get_n_cells (SqGridBuilder *self)
{
  g_return_val_if_fail (SQ_IS_GRID_BUILDER (self), 0);

  return self->prompts->len * self->images->len * sq_model_picker_get_n_selected (self->picker);
}

/* ------------------------------------------------------------------ */
/* Run                                                                */

static char *
format_eta (int seconds)
{
  if (seconds >= 3600)
    return g_strdup_printf ("%d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60);
  return g_strdup_printf ("%d:%02d", seconds / 60, seconds % 60);
}

static void
sq_grid_builder_update (SqGridBuilder *self)
{
  guint n_prompts = self->prompts->len;
  guint n_images = self->images->len;
  guint n_models = sq_model_picker_get_n_selected (self->picker);
  guint n_cells = n_prompts * n_images * n_models;
  gboolean running = is_running (self);
  gboolean has_client = self->workspace != NULL && sq_workspace_get_client (self->workspace) != NULL;
  g_autofree char *text = NULL;
  g_autofree char *heading = NULL;

  heading = g_strdup_printf (_("Prompts (%u)"), n_prompts);
  gtk_label_set_label (self->prompts_heading, heading);
  g_free (heading);
  heading = g_strdup_printf (_("Images (%u)"), n_images);
  gtk_label_set_label (self->images_heading, heading);
  g_free (heading);
  heading = g_strdup_printf (_("Models (%u)"), n_models);
  gtk_label_set_label (self->models_heading, heading);

  if (self->error_text != NULL)
    {
      gtk_label_set_label (self->cells_label, self->error_text);
      gtk_widget_add_css_class (GTK_WIDGET (self->cells_label), "error");
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->cells_label), "error");
      if (!has_client)
        text = g_strdup (_("Add your Replicate API token in Preferences to run a grid"));
      else if (n_cells == 0)
        text = g_strdup (_("Add prompts, images and models to build a grid"));
      else if (self->n_answered > 0)
        /* Translators: "36 cells · 30 already answered" */
        text = g_strdup_printf (ngettext ("%u cell · %u already answered",
                                          "%u cells · %u already answered", n_cells),
                                n_cells, MIN (self->n_answered, n_cells));
      else
        text = g_strdup_printf (ngettext ("%u cell", "%u cells", n_cells), n_cells);
      if (self->n_loading > 0)
        {
          g_autofree char *tmp = g_steal_pointer (&text);

          text = g_strdup_printf (_("%s · loading images…"), tmp);
        }
      gtk_label_set_label (self->cells_label, text);
    }

  gtk_widget_set_sensitive (GTK_WIDGET (self->run_button),
                            !running && n_cells > 0 && has_client && self->project != NULL);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->run_button),
                               has_client ? _("Ask every model about every image with every prompt")
                                          : _("Add your Replicate API token in Preferences to run a grid"));
  gtk_widget_set_sensitive (GTK_WIDGET (self->pause_button), running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->retry_button),
                            self->run != NULL && has_client &&
                            (sq_grid_run_get_n_failed (self->run) + sq_grid_run_get_n_canceled (self->run)) > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->pause_button), TRUE);

  if (self->run != NULL)
    {
      guint total = sq_grid_run_get_n_cells (self->run);
      guint done = sq_grid_run_get_n_done (self->run);
      guint failed = sq_grid_run_get_n_failed (self->run);
      guint canceled = sq_grid_run_get_n_canceled (self->run);
      int eta = sq_grid_run_get_eta_seconds (self->run);
      g_autoptr(GString) progress = g_string_new (NULL);

      gtk_widget_set_visible (GTK_WIDGET (self->progress_box), TRUE);
      gtk_progress_bar_set_fraction (self->progress_bar,
                                     total > 0 ? (double) (done + failed + canceled) / total : 0);
      /* Translators: grid progress, "12 of 36" */
      g_string_printf (progress, _("%u of %u"), done, total);
      if (failed > 0)
        /* Translators: appended to the grid progress */
        g_string_append_printf (progress, _(" · %u failed"), failed);
      if (canceled > 0)
        g_string_append_printf (progress, _(" · %u canceled"), canceled);
      if (sq_grid_run_get_state (self->run) == SQ_GRID_RUN_STATE_PAUSED)
        g_string_append (progress, _(" · paused"));
      else if (running && eta >= 0)
        {
          g_autofree char *eta_text = format_eta (eta);

          /* Translators: appended to the grid progress: " · about 0:40 left" */
          g_string_append_printf (progress, _(" · about %s left"), eta_text);
        }
      gtk_label_set_label (self->progress_label, progress->str);
    }
  else
    gtk_widget_set_visible (GTK_WIDGET (self->progress_box), FALSE);
}

static void
run_notify_cb (SqGridBuilder *self)
{
  sq_grid_builder_update (self);
}

static void
notify_finished (SqGridBuilder *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GApplication *app = g_application_get_default ();
  g_autoptr(GNotification) notification = NULL;
  g_autofree char *body = NULL;
  guint done = sq_grid_run_get_n_done (self->run);
  guint failed = sq_grid_run_get_n_failed (self->run);

  if (app == NULL || (GTK_IS_WINDOW (root) && gtk_window_is_active (GTK_WINDOW (root))) ||
      g_get_monotonic_time () - self->run_started < NOTIFY_AFTER_SECONDS * G_USEC_PER_SEC)
    return;

  if (failed > 0)
    body = g_strdup_printf (ngettext ("%u answer, %u failed", "%u answers, %u failed", done), done, failed);
  else
    body = g_strdup_printf (ngettext ("%u answer", "%u answers", done), done);

  notification = g_notification_new (_("Grid Finished"));
  g_notification_set_body (notification, body);
  /* Without a default action, clicking it activates (raises) Squint */
  g_application_send_notification (app, "grid-finished", notification);
}

static void
run_cb (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(SqGridBuilder) self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (GPOINTER_TO_INT (g_object_get_data (G_OBJECT (result), "sq-retry")))
    ok = sq_grid_run_retry_failed_finish (SQ_GRID_RUN (object), result, &error);
  else
    ok = sq_grid_run_run_finish (SQ_GRID_RUN (object), result, &error);

  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
    set_error (self, error->message);

  g_signal_handlers_block_by_func (self->pause_button, NULL, NULL);
  gtk_toggle_button_set_active (self->pause_button, FALSE);
  g_signal_handlers_unblock_by_func (self->pause_button, NULL, NULL);

  if (ok && SQ_GRID_RUN (object) == self->run)
    notify_finished (self);
  sq_grid_builder_update (self);
  sq_grid_builder_schedule_count (self);
}

static void
retry_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_object_set_data (G_OBJECT (result), "sq-retry", GINT_TO_POINTER (TRUE));
  run_cb (object, result, user_data);
}

/* Builds a new SqGridRun for the grid as it is now. */
static SqGridRun *
make_run (SqGridBuilder  *self,
          GError        **error)
{
  g_autoptr(SqGridRun) run = NULL;
  g_autoptr(GPtrArray) models = NULL;

  run = sq_grid_run_new (self->project,
                         sq_workspace_get_client (self->workspace),
                         sq_workspace_get_catalog (self->workspace));
  for (guint i = 0; i < self->prompts->len; i++)
    sq_grid_run_add_prompt (run, g_ptr_array_index (self->prompts, i));
  for (guint i = 0; i < self->images->len; i++)
    sq_grid_run_add_image (run, g_ptr_array_index (self->images, i));
  models = sq_model_picker_dup_selected (self->picker);
  for (guint i = 0; i < models->len; i++)
    {
      SqModel *model = g_ptr_array_index (models, i);
      g_autoptr(GHashTable) settings = sq_model_picker_dup_settings (self->picker, model);

      if (!sq_grid_run_add_model (run, model, settings, error))
        return NULL;
    }

  return g_steal_pointer (&run);
}

static gboolean
start (SqGridBuilder *self,
       gboolean       retry)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SqGridRun) run = NULL;

  if (self->project == NULL || self->workspace == NULL ||
      sq_workspace_get_client (self->workspace) == NULL || is_running (self))
    return FALSE;

  g_clear_pointer (&self->error_text, g_free);
  run = make_run (self, &error);
  if (run == NULL)
    {
      set_error (self, error->message);
      return FALSE;
    }

  if (self->run != NULL)
    g_signal_handlers_disconnect_by_data (self->run, self);
  g_set_object (&self->run, run);
  g_signal_connect_object (run, "notify", G_CALLBACK (run_notify_cb), self, G_CONNECT_SWAPPED);

  g_clear_object (&self->run_cancellable);
  self->run_cancellable = g_cancellable_new ();
  self->run_started = g_get_monotonic_time ();
  if (retry)
    sq_grid_run_retry_failed_async (run, self->run_cancellable, retry_cb, g_object_ref (self));
  else
    sq_grid_run_run_async (run, self->run_cancellable, run_cb, g_object_ref (self));

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUN]);
  sq_grid_builder_update (self);

  return TRUE;
}

static void
run_clicked_cb (SqGridBuilder *self)
{
  start (self, FALSE);
}

static void
retry_clicked_cb (SqGridBuilder *self)
{
  if (is_running (self))
    sq_grid_run_retry_failed_async (self->run, self->run_cancellable, retry_cb, g_object_ref (self));
  else
    start (self, TRUE);
}

static void
cancel_clicked_cb (SqGridBuilder *self)
{
  if (self->run != NULL)
    sq_grid_run_cancel (self->run);
}

static void
pause_toggled_cb (SqGridBuilder *self)
{
  if (self->run == NULL)
    return;

  if (gtk_toggle_button_get_active (self->pause_button))
    sq_grid_run_pause (self->run);
  else
    sq_grid_run_resume (self->run);
}

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *parameter)
{
  start (SQ_GRID_BUILDER (widget), FALSE);
}

/* ------------------------------------------------------------------ */
/* GObject                                                            */

static void
picker_changed_cb (SqGridBuilder *self)
{
  sq_grid_builder_update (self);
  sq_grid_builder_schedule_count (self);
}

static void
project_results_changed_cb (SqGridBuilder *self)
{
  if (!is_running (self))
    sq_grid_builder_schedule_count (self);
}

static void
sq_grid_builder_dispose (GObject *object)
{
  SqGridBuilder *self = SQ_GRID_BUILDER (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
  g_clear_handle_id (&self->count_source, g_source_remove);
  if (self->run != NULL)
    g_signal_handlers_disconnect_by_data (self->run, self);
  if (self->project != NULL)
    g_signal_handlers_disconnect_by_data (self->project, self);
  if (self->workspace != NULL)
    g_signal_handlers_disconnect_by_data (self->workspace, self);

  gtk_widget_dispose_template (GTK_WIDGET (self), SQ_TYPE_GRID_BUILDER);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  g_clear_object (&self->run);
  g_clear_object (&self->project);
  g_clear_object (&self->workspace);

  G_OBJECT_CLASS (sq_grid_builder_parent_class)->dispose (object);
}

static void
sq_grid_builder_finalize (GObject *object)
{
  SqGridBuilder *self = SQ_GRID_BUILDER (object);

  g_clear_object (&self->cancellable);
  g_clear_object (&self->run_cancellable);
  g_clear_pointer (&self->prompts, g_ptr_array_unref);
  g_clear_pointer (&self->images, g_ptr_array_unref);
  g_clear_pointer (&self->error_text, g_free);

  G_OBJECT_CLASS (sq_grid_builder_parent_class)->finalize (object);
}

static void
sq_grid_builder_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SqGridBuilder *self = SQ_GRID_BUILDER (object);

  switch (prop_id)
    {
    case PROP_WORKSPACE:
      g_value_set_object (value, self->workspace);
      break;
    case PROP_PROJECT:
      g_value_set_object (value, self->project);
      break;
    case PROP_RUN:
      g_value_set_object (value, self->run);
      break;
    case PROP_N_CELLS:
      g_value_set_uint (value, sq_grid_builder_get_n_cells (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_grid_builder_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  SqGridBuilder *self = SQ_GRID_BUILDER (object);

  switch (prop_id)
    {
    case PROP_WORKSPACE:
      sq_grid_builder_set_workspace (self, g_value_get_object (value));
      break;
    case PROP_PROJECT:
      sq_grid_builder_set_project (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_grid_builder_class_init (SqGridBuilderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sq_grid_builder_dispose;
  object_class->finalize = sq_grid_builder_finalize;
  object_class->get_property = sq_grid_builder_get_property;
  object_class->set_property = sq_grid_builder_set_property;

  properties[PROP_WORKSPACE] =
    g_param_spec_object ("workspace", NULL, NULL, SQ_TYPE_WORKSPACE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, SQ_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUN] =
    g_param_spec_object ("run", NULL, NULL, SQ_TYPE_GRID_RUN,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_CELLS] =
    g_param_spec_uint ("n-cells", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-grid-builder.ui");
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, cards);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, prompts_heading);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, prompts_list);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, prompt_entry);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, history_button);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, history_list);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, history_popover);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, images_card);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, images_heading);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, images_box);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, images_hint);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, tray_images_button);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, models_heading);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, models_scroller);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, cells_label);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, run_button);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, pause_button);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, retry_button);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, progress_box);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, SqGridBuilder, progress_label);
  gtk_widget_class_bind_template_callback (widget_class, add_prompt_cb);
  gtk_widget_class_bind_template_callback (widget_class, history_show_cb);
  gtk_widget_class_bind_template_callback (widget_class, history_row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_images_cb);
  gtk_widget_class_bind_template_callback (widget_class, tray_images_cb);
  gtk_widget_class_bind_template_callback (widget_class, run_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, retry_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, cancel_clicked_cb);
  gtk_widget_class_bind_template_callback (widget_class, pause_toggled_cb);

  gtk_widget_class_install_action (widget_class, "grid.run", NULL, run_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sqgridbuilder");
}

static void
sq_grid_builder_init (SqGridBuilder *self)
{
  GtkDropTarget *target;

  gtk_widget_init_template (GTK_WIDGET (self));

  self->cancellable = g_cancellable_new ();
  self->prompts = g_ptr_array_new_with_free_func (g_free);
  self->images = g_ptr_array_new_with_free_func (g_object_unref);

  self->picker = SQ_MODEL_PICKER (sq_model_picker_new (NULL, NULL));
  gtk_scrolled_window_set_child (self->models_scroller, GTK_WIDGET (self->picker));
  g_signal_connect_object (self->picker, "notify::n-selected",
                           G_CALLBACK (picker_changed_cb), self, G_CONNECT_SWAPPED);

  target = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (target, (GType[]) { GDK_TYPE_FILE_LIST, GDK_TYPE_TEXTURE }, 2);
  g_signal_connect_object (target, "drop", G_CALLBACK (drop_cb), self, 0);
  gtk_widget_add_controller (GTK_WIDGET (self->images_card), GTK_EVENT_CONTROLLER (target));

  rebuild_prompts (self);
  rebuild_images (self);
  sq_grid_builder_update (self);
}

GtkWidget *
sq_grid_builder_new (SqWorkspace *workspace)
{
  return g_object_new (SQ_TYPE_GRID_BUILDER,
                       "workspace", workspace,
                       NULL);
}

void
sq_grid_builder_set_workspace (SqGridBuilder *self,
                               SqWorkspace   *workspace)
{
  g_return_if_fail (SQ_IS_GRID_BUILDER (self));
  g_return_if_fail (workspace == NULL || SQ_IS_WORKSPACE (workspace));

  if (self->workspace == workspace)
    return;

  if (self->workspace != NULL)
    g_signal_handlers_disconnect_by_data (self->workspace, self);
  g_set_object (&self->workspace, workspace);
  sq_model_picker_set_workspace (self->picker, workspace);
  if (workspace != NULL)
    g_signal_connect_object (workspace, "notify::client",
                             G_CALLBACK (sq_grid_builder_update), self, G_CONNECT_SWAPPED);
  sq_grid_builder_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WORKSPACE]);
}

void
sq_grid_builder_set_project (SqGridBuilder *self,
                             SqProject     *project)
{
  g_return_if_fail (SQ_IS_GRID_BUILDER (self));
  g_return_if_fail (project == NULL || SQ_IS_PROJECT (project));

  if (self->project == project)
    return;

  if (self->project != NULL)
    g_signal_handlers_disconnect_by_data (self->project, self);
  if (self->run != NULL && !is_running (self))
    {
      g_signal_handlers_disconnect_by_data (self->run, self);
      g_clear_object (&self->run);
    }
  g_set_object (&self->project, project);
  if (project != NULL)
    g_signal_connect_object (project, "results-changed",
                             G_CALLBACK (project_results_changed_cb), self, G_CONNECT_SWAPPED);
  self->n_answered = 0;
  sq_grid_builder_schedule_count (self);
  sq_grid_builder_update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT]);
}

SqGridRun *
sq_grid_builder_get_run (SqGridBuilder *self)
{
  g_return_val_if_fail (SQ_IS_GRID_BUILDER (self), NULL);

  return self->run;
}

GtkWidget *
sq_grid_builder_get_model_picker (SqGridBuilder *self)
{
  g_return_val_if_fail (SQ_IS_GRID_BUILDER (self), NULL);

  return GTK_WIDGET (self->picker);
}
