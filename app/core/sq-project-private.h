/* sq-project-private.h
 *
 * For tests only.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include "sq-project.h"

G_BEGIN_DECLS

/* PRAGMA max_page_count on the project's connection: writes that would
 * grow the file past it fail with SQLITE_FULL, as on a full disk. 0 puts
 * the limit at the current size. */
void _sq_project_limit_size (SqProject *self,
                             gint64     max_pages);

G_END_DECLS
