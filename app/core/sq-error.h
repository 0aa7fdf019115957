/* sq-error.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SQ_REPLICATE_ERROR (sq_replicate_error_quark ())
#define SQ_IMAGE_ERROR     (sq_image_error_quark ())
#define SQ_MODEL_ERROR     (sq_model_error_quark ())

/* Errors talking to Replicate. The message is always meant for a person. */
typedef enum
{
  SQ_REPLICATE_ERROR_FAILED,            /* anything else */
  SQ_REPLICATE_ERROR_CONFIG,            /* no token, bad base URL */
  SQ_REPLICATE_ERROR_INSECURE,          /* would send the token over plain HTTP off loopback */
  SQ_REPLICATE_ERROR_UNAUTHORIZED,      /* 401 */
  SQ_REPLICATE_ERROR_BILLING,           /* 402 */
  SQ_REPLICATE_ERROR_FORBIDDEN,         /* 403 */
  SQ_REPLICATE_ERROR_NOT_FOUND,         /* 404 */
  SQ_REPLICATE_ERROR_TOO_LARGE,         /* 413 */
  SQ_REPLICATE_ERROR_INVALID,           /* 422 and other 4xx */
  SQ_REPLICATE_ERROR_RATE_LIMITED,      /* 429 after the retries ran out */
  SQ_REPLICATE_ERROR_SERVER,            /* 5xx after the retries ran out */
  SQ_REPLICATE_ERROR_PROTOCOL,          /* malformed JSON, wrong content type, missing fields */
  SQ_REPLICATE_ERROR_PREDICTION_FAILED, /* the prediction ended with status failed */
  SQ_REPLICATE_ERROR_PREDICTION_ABORTED,/* the prediction ended with status aborted */
} SqReplicateError;

typedef enum
{
  SQ_IMAGE_ERROR_FAILED,
  SQ_IMAGE_ERROR_EMPTY,                 /* zero bytes */
  SQ_IMAGE_ERROR_NOT_IMAGE,             /* not a format gdk-pixbuf decodes */
  SQ_IMAGE_ERROR_TRUNCATED,             /* starts like an image but is cut short or corrupt */
  SQ_IMAGE_ERROR_TOO_LARGE,             /* too many bytes or too many pixels */
  SQ_IMAGE_ERROR_DOWNLOAD,              /* a URL that did not answer with an image */
} SqImageError;

typedef enum
{
  SQ_MODEL_ERROR_FAILED,
  SQ_MODEL_ERROR_BAD_REFERENCE,         /* not an alias nor owner/name[:version] */
  SQ_MODEL_ERROR_NO_IMAGE_INPUT,        /* the model's schema takes no image */
  SQ_MODEL_ERROR_NO_PROMPT_INPUT,       /* the model's schema takes no text prompt */
  SQ_MODEL_ERROR_BAD_SCHEMA,            /* no usable openapi_schema */
  SQ_MODEL_ERROR_BAD_PARAMETER,         /* unknown key, wrong type, out of range */
} SqModelError;

GQuark sq_replicate_error_quark (void);
GQuark sq_image_error_quark     (void);
GQuark sq_model_error_quark     (void);

G_END_DECLS
