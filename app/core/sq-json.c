/* sq-json.c
 *
 * Parsing JSON from outside with json-glib 1.6 (Debian 12), which takes
 * several top-level values one after the other and leaks all but the
 * last: such input is refused before it reaches the parser.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-json"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "sq-json.h"

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Where the first top-level value of @data ends, or @len when it does
 * not end (json-glib then reports what is wrong with it). */
static gsize
first_value_end (const char *data,
                 gsize       len)
{
  gsize i = 0;
  int depth = 0;
  gboolean in_string = FALSE;

  /* A byte order mark, then space */
  if (len >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    i = 3;
  while (i < len && is_space (data[i]))
    i++;

  if (i < len && data[i] != '{' && data[i] != '[' && data[i] != '"')
    {
      /* A number, true, false or null */
      while (i < len && !is_space (data[i]) && data[i] != '{' && data[i] != '[' &&
             data[i] != '"' && data[i] != '}' && data[i] != ']')
        i++;
      return i;
    }

  for (; i < len; i++)
    {
      char c = data[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            {
              in_string = FALSE;
              if (depth == 0)
                return i + 1;
            }
          continue;
        }

      if (c == '"')
        in_string = TRUE;
      else if (c == '{' || c == '[')
        depth++;
      else if (c == '}' || c == ']')
        {
          if (--depth <= 0)
            return i + 1;
        }
    }

  return len;
}

gboolean
sq_json_parser_load (JsonParser  *parser,
                     const char  *data,
                     gssize       length,
                     GError     **error)
{
  gsize len;
  gsize end;

  g_return_val_if_fail (JSON_IS_PARSER (parser), FALSE);
  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  len = length < 0 ? strlen (data) : (gsize) length;
  end = first_value_end (data, len);
  while (end < len && is_space (data[end]))
    end++;

  if (end < len)
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   _("Unexpected data after the JSON value, at byte %zu"), (size_t) end);
      return FALSE;
    }

  return json_parser_load_from_data (parser, data, len, error);
}

JsonNode *
sq_json_from_string (const char  *text,
                     GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  JsonNode *root;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  parser = json_parser_new_immutable ();
  if (!sq_json_parser_load (parser, text, -1, error))
    return NULL;

  root = json_parser_steal_root (parser);
  if (root == NULL)
    g_set_error_literal (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                         _("The JSON data is empty"));

  return root;
}
