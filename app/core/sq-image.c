/* sq-image.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-image"

#include "config.h"

#include "sq-image.h"
