/* sq-json.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Like json_parser_load_from_data(), for JSON that comes from outside
 * (the network, files): fails with JSON_PARSER_ERROR_INVALID_DATA when
 * @data holds more than one top-level value. json-glib before 1.10
 * accepts "{…}{…}" and leaks every top-level value but the last
 * (json-glib#74, fixed by ef85e95 in 1.10.0). @length -1: NUL-terminated. */
gboolean sq_json_parser_load (JsonParser  *parser,
                              const char  *data,
                              gssize       length,
                              GError     **error);

/* Like json_from_string(), with the same check. (transfer full) */
JsonNode *sq_json_from_string (const char  *text,
                               GError     **error);

G_END_DECLS
