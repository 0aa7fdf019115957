/* sq-compat.h
 *
 * Everything that differs between libadwaita 1.2 / GTK 4.8 (Debian 12)
 * and newer runtimes (GNOME 47: libadwaita 1.6, GTK 4.16). Every
 * GTK_CHECK_VERSION / ADW_CHECK_VERSION branch of Squint lives in
 * sq-compat.c.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* Shows the About window (AdwAboutWindow on 1.2–1.4, AdwAboutDialog from 1.5). */
void sq_compat_show_about (GtkWindow *parent);

G_END_DECLS
