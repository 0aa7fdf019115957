/* sq-model.h
 *
 * A vision model on Replicate: its reference, and the parameters its
 * version's openapi_schema Input declares.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sq-types.h"

G_BEGIN_DECLS

typedef enum
{
  SQ_PARAM_STRING,
  SQ_PARAM_INTEGER,
  SQ_PARAM_NUMBER,
  SQ_PARAM_BOOLEAN,
  SQ_PARAM_ENUM,    /* a string (or number) from a fixed list */
  SQ_PARAM_URI,     /* format: uri, a file input */
  SQ_PARAM_ARRAY,
} SqParamType;

typedef struct
{
  char        *key;
  char        *title;        /* nullable */
  char        *description;  /* nullable */
  SqParamType  type;
  JsonNode    *default_value;/* nullable */
  gboolean     has_minimum;
  double       minimum;
  gboolean     has_maximum;
  double       maximum;
  char       **choices;      /* SQ_PARAM_ENUM: the values as strings; else NULL */
  int          order;        /* x-order, or G_MAXINT */
  gboolean     required;
  gboolean     secret;       /* x-cog-secret / format password */
  SqParamType  item_type;    /* SQ_PARAM_ARRAY: the items' type; SQ_PARAM_ENUM: the
                              * values' type (STRING, INTEGER or NUMBER) */
} SqModelParam;

#define SQ_TYPE_MODEL_PARAM (sq_model_param_get_type ())
GType          sq_model_param_get_type (void) G_GNUC_CONST;
SqModelParam  *sq_model_param_copy     (const SqModelParam *param);
void           sq_model_param_free     (SqModelParam       *param);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqModelParam, sq_model_param_free)

/* The notebook's generic settings, mapped onto each model's own keys. */
#define SQ_SETTING_MAX_NEW_TOKENS     "max_new_tokens"
#define SQ_SETTING_TEMPERATURE        "temperature"
#define SQ_SETTING_TOP_P              "top_p"
#define SQ_SETTING_NUM_BEAMS          "num_beams"
#define SQ_SETTING_REPETITION_PENALTY "repetition_penalty"

#define SQ_TYPE_MODEL (sq_model_get_type ())

G_DECLARE_FINAL_TYPE (SqModel, sq_model, SQ, MODEL, GObject)

/* Parses @schema (a version's openapi_schema object). Fails with
 * SQ_MODEL_ERROR_BAD_SCHEMA, _NO_IMAGE_INPUT or _NO_PROMPT_INPUT. */
SqModel      *sq_model_new_from_schema      (const char    *alias,
                                             const char    *owner,
                                             const char    *name,
                                             const char    *version,
                                             JsonObject    *schema,
                                             GError       **error);
const char   *sq_model_get_alias            (SqModel       *self); /* nullable */
const char   *sq_model_get_owner            (SqModel       *self);
const char   *sq_model_get_name             (SqModel       *self);
const char   *sq_model_get_version          (SqModel       *self); /* nullable: official model */
/* The alias if there is one, else "owner/name". */
const char   *sq_model_get_display_name     (SqModel       *self);
/* "owner/name:version", or "owner/name" for official models. */
const char   *sq_model_get_ref              (SqModel       *self);
const char   *sq_model_get_prompt_key       (SqModel       *self);
const char   *sq_model_get_image_key        (SqModel       *self);
/* TRUE when the image key takes an array of images. */
gboolean      sq_model_get_image_is_array   (SqModel       *self);
/* TRUE when the Output schema is a concatenate iterator (tokens stream). */
gboolean      sq_model_get_streams_text     (SqModel       *self);
JsonObject   *sq_model_get_schema           (SqModel       *self);
/* Parameters other than prompt and image, in x-order. (element-type SqModelParam) */
GPtrArray    *sq_model_get_params           (SqModel       *self);
const SqModelParam *sq_model_find_param     (SqModel       *self,
                                             const char    *key);
/* The model's own key for a generic setting (SQ_SETTING_*), or NULL when
 * the model has no such parameter. A key the model declares maps to itself. */
const char   *sq_model_map_setting          (SqModel       *self,
                                             const char    *setting);
/* Builds the prediction input. @settings maps keys (generic names or the
 * model's own) to values as strings ("0.2", "true", "512"); generic keys
 * the model lacks are dropped, model keys are checked against type and
 * range. Fails with SQ_MODEL_ERROR_BAD_PARAMETER and a clear message.
 * @image_uri may be NULL to leave the image out; for a model whose image
 * key takes an array it is sent as an array of one.
 * (element-type utf8 utf8) */
JsonObject   *sq_model_build_input          (SqModel       *self,
                                             const char    *prompt,
                                             const char    *image_uri,
                                             GHashTable    *settings,
                                             GError       **error);
/* Checks one KEY=VALUE for this model; FALSE with a message if it is invalid. */
gboolean      sq_model_check_setting        (SqModel       *self,
                                             const char    *key,
                                             const char    *value,
                                             GError       **error);

G_END_DECLS
