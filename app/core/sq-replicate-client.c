/* sq-replicate-client.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-replicate-client"

#include "config.h"

#include "sq-replicate-client.h"
