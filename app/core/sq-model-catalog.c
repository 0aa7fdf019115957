/* sq-model-catalog.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-model-catalog"

#include "config.h"

#include "sq-model-catalog.h"
