/* sq-image-tray.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-image-tray"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-compat.h"
#include "sq-image-tray-private.h"

#define TILE_SIZE 96

G_DEFINE_FINAL_TYPE (SqImageTray, sq_image_tray, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_N_IMAGES,
  PROP_N_SELECTED,
  PROP_N_LOADING,
  N_PROPS
};

enum {
  ERROR,
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
item_free (Item *item)
{
  g_clear_object (&item->image);
  g_free (item);
}

static void
sq_image_tray_changed (SqImageTray *self)
{
  gtk_widget_set_visible (self->hint, self->items->len == 0 && self->n_loading == 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_IMAGES]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_SELECTED]);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
sq_image_tray_set_loading (SqImageTray *self,
                           int          delta)
{
  self->n_loading += delta;
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), self->n_loading > 0);
  gtk_spinner_set_spinning (self->spinner, self->n_loading > 0);
  gtk_widget_set_visible (self->hint, self->items->len == 0 && self->n_loading == 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_LOADING]);
}

void
_sq_image_tray_error (SqImageTray *self,
                      const char  *message)
{
  g_signal_emit (self, signals[ERROR], 0, message);
}

static Item *
sq_image_tray_find (SqImageTray *self,
                    SqImage     *image)
{
  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);

      if (item->image == image ||
          g_strcmp0 (sq_image_get_hash (item->image), sq_image_get_hash (image)) == 0)
        return item;
    }

  return NULL;
}

static void
check_toggled_cb (GtkCheckButton *check,
                  Item           *item)
{
  gboolean active = gtk_check_button_get_active (check);

  if (item->selected == active)
    return;

  item->selected = active;
  if (active)
    gtk_widget_add_css_class (item->tile, "selected");
  else
    gtk_widget_remove_css_class (item->tile, "selected");
  sq_image_tray_changed (item->tray);
}

static void
remove_clicked_cb (GtkButton *button,
                   Item      *item)
{
  sq_image_tray_remove (item->tray, item->image);
}

static void
picture_pressed_cb (GtkGestureClick *gesture,
                    int              n_press,
                    double           x,
                    double           y,
                    Item            *item)
{
  gtk_check_button_set_active (GTK_CHECK_BUTTON (item->check), !item->selected);
}

static void
sq_image_tray_add_image (SqImageTray *self,
                         SqImage     *image,
                         guint64      order)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *use_label = NULL;
  g_autofree char *remove_label = NULL;
  g_autofree char *tooltip = NULL;
  GtkGesture *click;
  GtkWidget *overlay;
  GtkWidget *picture;
  GtkWidget *check;
  GtkWidget *remove;
  GdkPixbuf *thumbnail;
  guint position;
  Item *item;

  item = sq_image_tray_find (self, image);
  if (item != NULL)
    {
      /* The same picture again: just make sure it is used. */
      gtk_check_button_set_active (GTK_CHECK_BUTTON (item->check), TRUE);
      return;
    }

  item = g_new0 (Item, 1);
  item->tray = self;
  item->image = g_object_ref (image);
  item->selected = TRUE;
  item->order = order;

  overlay = gtk_overlay_new ();
  gtk_widget_add_css_class (overlay, "tile");
  gtk_widget_add_css_class (overlay, "selected");
  gtk_widget_set_size_request (overlay, TILE_SIZE, TILE_SIZE);
  gtk_widget_set_overflow (overlay, GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_valign (overlay, GTK_ALIGN_CENTER);
  /* Translators: an image's tooltip: its name, width × height and format */
  tooltip = g_strdup_printf (_("%s\n%d × %d, %s"), sq_image_get_name (image),
                             sq_image_get_width (image), sq_image_get_height (image),
                             sq_image_get_format (image));
  gtk_widget_set_tooltip_text (overlay, tooltip);

  thumbnail = sq_image_get_thumbnail (image);
  texture = thumbnail != NULL ? gdk_texture_new_for_pixbuf (thumbnail) : NULL;
  picture = gtk_picture_new_for_paintable (GDK_PAINTABLE (texture));
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_picture_set_content_fit (GTK_PICTURE (picture), GTK_CONTENT_FIT_COVER);
  gtk_widget_set_size_request (picture, TILE_SIZE, TILE_SIZE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (picture),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, sq_image_get_name (image),
                                  -1);
  click = gtk_gesture_click_new ();
  g_signal_connect (click, "pressed", G_CALLBACK (picture_pressed_cb), item);
  gtk_widget_add_controller (picture, GTK_EVENT_CONTROLLER (click));
  gtk_overlay_set_child (GTK_OVERLAY (overlay), picture);

  /* Translators: %s is an image name; the check button says whether the next question uses it */
  use_label = g_strdup_printf (_("Ask about %s"), sq_image_get_name (image));
  check = gtk_check_button_new ();
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), TRUE);
  gtk_widget_set_halign (check, GTK_ALIGN_START);
  gtk_widget_set_valign (check, GTK_ALIGN_START);
  gtk_widget_add_css_class (check, "osd");
  gtk_widget_set_tooltip_text (check, use_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (check),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, use_label,
                                  -1);
  g_signal_connect (check, "toggled", G_CALLBACK (check_toggled_cb), item);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), check);

  /* Translators: %s is an image name */
  remove_label = g_strdup_printf (_("Remove %s"), sq_image_get_name (image));
  remove = gtk_button_new_from_icon_name ("window-close-symbolic");
  gtk_widget_set_halign (remove, GTK_ALIGN_END);
  gtk_widget_set_valign (remove, GTK_ALIGN_START);
  gtk_widget_add_css_class (remove, "osd");
  gtk_widget_add_css_class (remove, "circular");
  gtk_widget_add_css_class (remove, "remove");
  gtk_widget_set_tooltip_text (remove, remove_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (remove),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, remove_label,
                                  -1);
  g_signal_connect (remove, "clicked", G_CALLBACK (remove_clicked_cb), item);
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), remove);

  item->tile = overlay;
  item->check = check;

  /* Images that load faster do not jump ahead of those asked for first. */
  for (position = 0; position < self->items->len; position++)
    {
      if (((Item *) g_ptr_array_index (self->items, position))->order > order)
        break;
    }
  g_ptr_array_insert (self->items, position, item);
  gtk_box_insert_child_after (self->tiles, overlay,
                              position > 0
                                ? ((Item *) g_ptr_array_index (self->items, position - 1))->tile
                                : self->hint);

  sq_image_tray_changed (self);
}

typedef struct
{
  SqImageTray *tray;   /* (owned) */
  guint64      order;
} Load;

static Load *
load_new (SqImageTray *self)
{
  Load *load = g_new0 (Load, 1);

  load->tray = g_object_ref (self);
  load->order = self->next_order++;

  return load;
}

static void
load_free (Load *load)
{
  g_clear_object (&load->tray);
  g_free (load);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Load, load_free)

static void
load_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(Load) load = user_data;
  SqImageTray *self = load->tray;
  g_autoptr(SqImage) image = NULL;
  g_autoptr(GError) error = NULL;

  image = sq_image_load_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  sq_image_tray_set_loading (self, -1);

  if (image == NULL)
    {
      _sq_image_tray_error (self, error->message);
      return;
    }

  sq_image_tray_add_image (self, image, load->order);
}

void
sq_image_tray_add_file (SqImageTray *self,
                        GFile       *file)
{
  g_return_if_fail (SQ_IS_IMAGE_TRAY (self));
  g_return_if_fail (G_IS_FILE (file));

  if (g_file_has_uri_scheme (file, "http") || g_file_has_uri_scheme (file, "https"))
    {
      g_autofree char *uri = g_file_get_uri (file);

      sq_image_tray_add_uri (self, uri);
      return;
    }

  sq_image_tray_set_loading (self, 1);
  sq_image_load_file_async (file, self->cancellable, load_cb, load_new (self));
}

void
sq_image_tray_add_uri (SqImageTray *self,
                       const char  *uri)
{
  const char *scheme;

  g_return_if_fail (SQ_IS_IMAGE_TRAY (self));
  g_return_if_fail (uri != NULL);

  scheme = g_uri_peek_scheme (uri);
  if (g_strcmp0 (scheme, "http") == 0 || g_strcmp0 (scheme, "https") == 0)
    {
      sq_image_tray_set_loading (self, 1);
      sq_image_load_uri_async (NULL, uri, self->cancellable, load_cb, load_new (self));
    }
  else if (scheme != NULL)
    {
      g_autoptr(GFile) file = g_file_new_for_uri (uri);

      sq_image_tray_add_file (self, file);
    }
  else
    {
      g_autofree char *message = NULL;

      /* Translators: %s is what was dropped or pasted */
      message = g_strdup_printf (_("“%s” is not a link to an image"), uri);
      _sq_image_tray_error (self, message);
    }
}

void
sq_image_tray_add_texture (SqImageTray *self,
                           GdkTexture  *texture,
                           const char  *name)
{
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (SQ_IS_IMAGE_TRAY (self));
  g_return_if_fail (GDK_IS_TEXTURE (texture));

  bytes = gdk_texture_save_to_png_bytes (texture);
  sq_image_tray_set_loading (self, 1);
  sq_image_load_bytes_async (bytes, name != NULL ? name : _("Pasted image"),
                             self->cancellable, load_cb, load_new (self));
}

static void
open_cb (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(SqImageTray) self = user_data;
  g_autoptr(GListModel) files = NULL;
  g_autoptr(GError) error = NULL;

  files = sq_compat_open_images_finish (result, &error);
  if (files == NULL)
    return;

  for (guint i = 0; i < g_list_model_get_n_items (files); i++)
    {
      g_autoptr(GFile) file = g_list_model_get_item (files, i);

      sq_image_tray_add_file (self, file);
    }
}

void
sq_image_tray_open (SqImageTray *self)
{
  GtkRoot *root;

  g_return_if_fail (SQ_IS_IMAGE_TRAY (self));

  root = gtk_widget_get_root (GTK_WIDGET (self));
  sq_compat_open_images_async (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                               _("Open Images"), self->cancellable,
                               open_cb, g_object_ref (self));
}

/* --- GObject ------------------------------------------------------- */

static void
sq_image_tray_dispose (GObject *object)
{
  SqImageTray *self = SQ_IMAGE_TRAY (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (object), SQ_TYPE_IMAGE_TRAY);
  if (self->items != NULL)
    g_ptr_array_set_size (self->items, 0);

  G_OBJECT_CLASS (sq_image_tray_parent_class)->dispose (object);
}

static void
sq_image_tray_finalize (GObject *object)
{
  SqImageTray *self = SQ_IMAGE_TRAY (object);

  g_clear_pointer (&self->items, g_ptr_array_unref);
  g_clear_object (&self->drop_target);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (sq_image_tray_parent_class)->finalize (object);
}

static void
sq_image_tray_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  SqImageTray *self = SQ_IMAGE_TRAY (object);

  switch (prop_id)
    {
    case PROP_N_IMAGES:
      g_value_set_uint (value, sq_image_tray_get_n_images (self));
      break;

    case PROP_N_SELECTED:
      g_value_set_uint (value, sq_image_tray_get_n_selected (self));
      break;

    case PROP_N_LOADING:
      g_value_set_uint (value, self->n_loading);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_image_tray_realize (GtkWidget *widget)
{
  SqImageTray *self = SQ_IMAGE_TRAY (widget);

  GTK_WIDGET_CLASS (sq_image_tray_parent_class)->realize (widget);

  /* Unless someone gave it a larger area, drops go on the tray. */
  if (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (self->drop_target)) == NULL)
    gtk_widget_add_controller (widget, g_object_ref (GTK_EVENT_CONTROLLER (self->drop_target)));
}

static void
sq_image_tray_class_init (SqImageTrayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sq_image_tray_dispose;
  object_class->finalize = sq_image_tray_finalize;
  object_class->get_property = sq_image_tray_get_property;

  widget_class->realize = sq_image_tray_realize;

  properties[PROP_N_IMAGES] =
    g_param_spec_uint ("n-images", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_N_SELECTED] =
    g_param_spec_uint ("n-selected", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  properties[PROP_N_LOADING] =
    g_param_spec_uint ("n-loading", NULL, NULL, 0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[ERROR] =
    g_signal_new ("error",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[CHANGED] =
    g_signal_new ("changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-image-tray.ui");
  gtk_widget_class_bind_template_child (widget_class, SqImageTray, box);
  gtk_widget_class_bind_template_child (widget_class, SqImageTray, scroller);
  gtk_widget_class_bind_template_child (widget_class, SqImageTray, tiles);
  gtk_widget_class_bind_template_child (widget_class, SqImageTray, hint);
  gtk_widget_class_bind_template_child (widget_class, SqImageTray, spinner);
  gtk_widget_class_bind_template_child (widget_class, SqImageTray, open_button);
  gtk_widget_class_bind_template_child (widget_class, SqImageTray, paste_button);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sqimagetray");
}

static void
sq_image_tray_init (SqImageTray *self)
{
  self->items = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  self->cancellable = g_cancellable_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  _sq_image_tray_init_dnd (self);
}

GtkWidget *
sq_image_tray_new (void)
{
  return g_object_new (SQ_TYPE_IMAGE_TRAY, NULL);
}

GtkDropTarget *
sq_image_tray_get_drop_target (SqImageTray *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE_TRAY (self), NULL);

  return self->drop_target;
}

guint
sq_image_tray_get_n_images (SqImageTray *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE_TRAY (self), 0);

  return self->items->len;
}

guint
sq_image_tray_get_n_selected (SqImageTray *self)
{
  guint n = 0;

  g_return_val_if_fail (SQ_IS_IMAGE_TRAY (self), 0);

  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);

      if (item->selected)
        n++;
    }

  return n;
}

guint
sq_image_tray_get_n_loading (SqImageTray *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE_TRAY (self), 0);

  return self->n_loading;
}

static GPtrArray *
sq_image_tray_dup (SqImageTray *self,
                   gboolean     selected_only)
{
  GPtrArray *images = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < self->items->len; i++)
    {
      Item *item = g_ptr_array_index (self->items, i);

      if (!selected_only || item->selected)
        g_ptr_array_add (images, g_object_ref (item->image));
    }

  return images;
}

GPtrArray *
sq_image_tray_dup_images (SqImageTray *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE_TRAY (self), NULL);

  return sq_image_tray_dup (self, FALSE);
}

GPtrArray *
sq_image_tray_dup_selected (SqImageTray *self)
{
  g_return_val_if_fail (SQ_IS_IMAGE_TRAY (self), NULL);

  return sq_image_tray_dup (self, TRUE);
}

void
sq_image_tray_set_selected (SqImageTray *self,
                            SqImage     *image,
                            gboolean     selected)
{
  Item *item;

  g_return_if_fail (SQ_IS_IMAGE_TRAY (self));
  g_return_if_fail (SQ_IS_IMAGE (image));

  item = sq_image_tray_find (self, image);
  if (item != NULL)
    gtk_check_button_set_active (GTK_CHECK_BUTTON (item->check), selected);
}

void
sq_image_tray_remove (SqImageTray *self,
                      SqImage     *image)
{
  Item *item;

  g_return_if_fail (SQ_IS_IMAGE_TRAY (self));
  g_return_if_fail (SQ_IS_IMAGE (image));

  item = sq_image_tray_find (self, image);
  if (item == NULL)
    return;

  gtk_box_remove (self->tiles, item->tile);
  g_ptr_array_remove (self->items, item);
  sq_image_tray_changed (self);
}
