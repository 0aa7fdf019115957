/* sq-sse-parser.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-sse-parser"

#include "config.h"

#include "sq-sse-parser.h"
