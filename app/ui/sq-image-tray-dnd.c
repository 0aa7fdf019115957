/* sq-image-tray-dnd.c
 *
 * Drops and pastes for SqImageTray: files (GdkFileList, so the Flatpak
 * file-transfer portal works), textures from other apps, and links as
 * text/uri-list or plain text.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-image-tray"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-image-tray-private.h"

/* Adds the links in @text, one a line. FALSE if there is none. */
static gboolean
sq_image_tray_add_text (SqImageTray *self,
                        const char  *text)
{
  g_auto(GStrv) lines = NULL;
  gboolean any = FALSE;

  if (text == NULL)
    return FALSE;

  lines = g_strsplit_set (text, "\r\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);

      if (*line == '\0' || *line == '#')
        continue;

      if (g_str_has_prefix (line, "http://") || g_str_has_prefix (line, "https://") ||
          g_str_has_prefix (line, "file://"))
        {
          sq_image_tray_add_uri (self, line);
          any = TRUE;
        }
    }

  return any;
}

gboolean
sq_image_tray_add_value (SqImageTray  *self,
                         const GValue *value)
{
  g_return_val_if_fail (SQ_IS_IMAGE_TRAY (self), FALSE);
  g_return_val_if_fail (value != NULL, FALSE);

  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = gdk_file_list_get_files (g_value_get_boxed (value));

      for (GSList *l = files; l != NULL; l = l->next)
        sq_image_tray_add_file (self, l->data);
      g_slist_free (files);

      return TRUE;
    }

  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE))
    {
      sq_image_tray_add_texture (self, g_value_get_object (value), _("Dropped image"));
      return TRUE;
    }

  if (G_VALUE_HOLDS (value, G_TYPE_STRING))
    {
      const char *text = g_value_get_string (value);

      if (sq_image_tray_add_text (self, text))
        return TRUE;

      _sq_image_tray_error (self, _("The dropped text is not a link to an image"));
      return FALSE;
    }

  return FALSE;
}

static gboolean
drop_cb (SqImageTray   *self,
         const GValue  *value,
         double         x,
         double         y,
         GtkDropTarget *target)
{
  g_assert (SQ_IS_IMAGE_TRAY (self));

  return sq_image_tray_add_value (self, value);
}

/* --- clipboard ----------------------------------------------------- */

static void
paste_value_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(SqImageTray) self = user_data;
  g_autoptr(GError) error = NULL;
  const GValue *value;

  value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (object), result, &error);
  if (value == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        _sq_image_tray_error (self, error->message);
      return;
    }

  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE))
    sq_image_tray_add_texture (self, g_value_get_object (value), _("Pasted image"));
  else if (G_VALUE_HOLDS (value, G_TYPE_STRING))
    {
      if (!sq_image_tray_add_text (self, g_value_get_string (value)))
        _sq_image_tray_error (self, _("The clipboard holds no image, image file or link to an image"));
    }
  else
    sq_image_tray_add_value (self, value);
}

void
sq_image_tray_paste (SqImageTray  *self,
                     GdkClipboard *clipboard)
{
  GdkContentFormats *formats;
  GType type = G_TYPE_INVALID;

  g_return_if_fail (SQ_IS_IMAGE_TRAY (self));
  g_return_if_fail (GDK_IS_CLIPBOARD (clipboard));

  formats = gdk_clipboard_get_formats (clipboard);
  if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST))
    type = GDK_TYPE_FILE_LIST;
  else if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_TEXTURE))
    type = GDK_TYPE_TEXTURE;
  else if (gdk_content_formats_contain_gtype (formats, G_TYPE_STRING))
    type = G_TYPE_STRING;

  if (type == G_TYPE_INVALID)
    {
      _sq_image_tray_error (self, _("The clipboard holds no image, image file or link to an image"));
      return;
    }

  gdk_clipboard_read_value_async (clipboard, type, G_PRIORITY_DEFAULT, self->cancellable,
                                  paste_value_cb, g_object_ref (self));
}

void
_sq_image_tray_init_dnd (SqImageTray *self)
{
  GType types[] = { GDK_TYPE_FILE_LIST, GDK_TYPE_TEXTURE, G_TYPE_STRING };

  self->drop_target = g_object_ref_sink (gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY));
  gtk_drop_target_set_gtypes (self->drop_target, types, G_N_ELEMENTS (types));
  gtk_event_controller_set_name (GTK_EVENT_CONTROLLER (self->drop_target), "sq-image-drop");
  g_signal_connect_object (self->drop_target, "drop", G_CALLBACK (drop_cb), self, G_CONNECT_SWAPPED);
}
