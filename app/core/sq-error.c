/* sq-error.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include "sq-error.h"

G_DEFINE_QUARK (sq-replicate-error-quark, sq_replicate_error)
G_DEFINE_QUARK (sq-image-error-quark, sq_image_error)
G_DEFINE_QUARK (sq-model-error-quark, sq_model_error)
