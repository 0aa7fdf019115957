/* sq-preferences-window.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <adwaita.h>

#include "sq-application.h"

G_BEGIN_DECLS

#define SQ_TYPE_PREFERENCES_WINDOW (sq_preferences_window_get_type ())

G_DECLARE_FINAL_TYPE (SqPreferencesWindow, sq_preferences_window, SQ, PREFERENCES_WINDOW, AdwPreferencesWindow)

SqPreferencesWindow *sq_preferences_window_new (SqApplication *application,
                                                GtkWindow     *parent);

G_END_DECLS
