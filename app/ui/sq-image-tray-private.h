/* sq-image-tray-private.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sq-image-tray.h"

G_BEGIN_DECLS

typedef struct
{
  SqImageTray *tray;     /* (unowned) */
  SqImage     *image;    /* (owned) */
  GtkWidget   *tile;     /* (unowned) */
  GtkWidget   *check;    /* (unowned) */
  guint64      order;    /* when it was asked for: tiles keep this order */
  gboolean     selected;
} Item;

struct _SqImageTray
{
  GtkWidget      parent_instance;

  /* Template widgets */
  GtkBox        *box;
  GtkScrolledWindow *scroller;
  GtkBox        *tiles;
  GtkWidget     *hint;
  GtkSpinner    *spinner;
  GtkButton     *open_button;
  GtkButton     *paste_button;

  GtkDropTarget *drop_target;   /* (owned) */
  GCancellable  *cancellable;   /* (owned) */
  GPtrArray     *items;         /* (owned) (element-type Item) */
  guint          n_loading;
  guint64        next_order;
};

void _sq_image_tray_init_dnd (SqImageTray *self);
void _sq_image_tray_error    (SqImageTray *self,
                              const char  *message);

G_END_DECLS
