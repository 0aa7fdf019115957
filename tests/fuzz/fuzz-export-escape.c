/* fuzz-export-escape.c
 *
 * libFuzzer harness for the exporter's escaping. The CSV field must parse
 * back (RFC 4180) to the input, made valid UTF-8 and with a quote in
 * front of a formula character; the Markdown cell must hold no raw
 * newline, '<', '>' or unescaped '|'; the HTML text no '<', '>' or quote.
 *
 * Built with -fsanitize=fuzzer,address when meson's "fuzzing" option is
 * on; fuzz-driver.c also runs it over the seed corpus in every build.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sq-exporter.h"

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

#define CHECK(cond) G_STMT_START { if (!(cond)) { g_printerr ("fuzz-export-escape: check failed: %s\n", #cond); abort (); } } G_STMT_END

static gboolean
is_formula_start (char c)
{
  return c != '\0' && strchr ("=+-@\t\r", c) != NULL;
}

/* Parses one RFC 4180 field that must span the whole string. */
static char *
parse_csv_field (const char *field)
{
  GString *out = g_string_new (NULL);
  const char *p = field;

  if (*p != '"')
    {
      CHECK (strpbrk (p, "\",\r\n") == NULL);
      g_string_append (out, p);
      return g_string_free (out, FALSE);
    }

  for (p++; ; p++)
    {
      CHECK (*p != '\0');
      if (*p == '"')
        {
          if (p[1] == '"')
            {
              g_string_append_c (out, '"');
              p++;
              continue;
            }
          CHECK (p[1] == '\0');
          break;
        }
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *input = g_strndup ((const char *) data, size);
  g_autofree char *valid = g_utf8_make_valid (input, -1);
  g_autofree char *csv = sq_exporter_csv_field (input);
  g_autofree char *md = sq_exporter_markdown_cell (input);
  g_autofree char *html = sq_exporter_html_escape (input);
  g_autofree char *decoded = NULL;
  g_autofree char *expected = NULL;

  CHECK (g_utf8_validate (csv, -1, NULL));
  CHECK (g_utf8_validate (md, -1, NULL));
  CHECK (g_utf8_validate (html, -1, NULL));

  decoded = parse_csv_field (csv);
  expected = is_formula_start (valid[0]) ? g_strconcat ("'", valid, NULL) : g_strdup (valid);
  CHECK (strcmp (decoded, expected) == 0);
  CHECK (!is_formula_start (decoded[0]));

  for (const char *p = md; *p != '\0'; p++)
    {
      CHECK (*p != '\n' && *p != '\r' && *p != '|');
      if (*p == '<')
        CHECK (g_str_has_prefix (p, "<br>"));
      if (*p == '>')
        CHECK (p >= md + 3 && g_str_has_prefix (p - 3, "<br>"));
      if (*p == '\\')
        {
          p++;
          CHECK (*p != '\0');
        }
    }

  CHECK (strpbrk (html, "<>\"'") == NULL);

  return 0;
}
