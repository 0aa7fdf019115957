/* sq-config.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-config"

#include "config.h"

#include "sq-config.h"
