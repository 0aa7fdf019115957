/* sq-prediction.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-prediction"

#include "config.h"

#include "sq-prediction.h"
