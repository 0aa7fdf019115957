/* sq-model.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-model"

#include "config.h"

#include "sq-model.h"
