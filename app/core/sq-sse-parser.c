/* sq-sse-parser.c
 *
 * An incremental parser for the WHATWG "event stream" format
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 *
 * Lines are cut out of the input as it arrives. A line that lies whole
 * inside one fed chunk is interpreted in place; only the unfinished tail
 * of a chunk is copied into a buffer, so the work is linear in the input
 * and there is no per-byte allocation.
 *
 * Strings handed out are always valid UTF-8: bytes that are not (and NUL
 * bytes, which a C string cannot hold) become U+FFFD.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-sse-parser"

#include "config.h"

#include <string.h>

#include "sq-sse-parser.h"

struct _SqSseParser
{
  GObject  parent_instance;

  GString *line;          /* the unfinished line carried over between feeds */
  GString *data;          /* the data buffer: each data line plus '\n' */
  GString *event_type;    /* the event type buffer */
  char    *id_buffer;     /* the last event id buffer (owned), NULL when empty */
  char    *last_id;       /* committed at each blank line (owned), or NULL */
  GQueue   events;        /* (element-type SqSseEvent) complete events */
  gint64   retry_ms;

  guint    at_start : 1;  /* no line seen yet in this stream: strip a BOM */
  guint    after_cr : 1;  /* the last byte fed was "\r": skip a following "\n" */
};

G_DEFINE_FINAL_TYPE (SqSseParser, sq_sse_parser, G_TYPE_OBJECT)

G_DEFINE_BOXED_TYPE (SqSseEvent, sq_sse_event, sq_sse_event_copy, sq_sse_event_free)

SqSseEvent *
sq_sse_event_copy (const SqSseEvent *event)
{
  SqSseEvent *copy;

  g_return_val_if_fail (event != NULL, NULL);

  copy = g_new0 (SqSseEvent, 1);
  copy->event = g_strdup (event->event);
  copy->data = g_strdup (event->data);
  copy->id = g_strdup (event->id);

  return copy;
}

void
sq_sse_event_free (SqSseEvent *event)
{
  if (event == NULL)
    return;

  g_free (event->event);
  g_free (event->data);
  g_free (event->id);
  g_free (event);
}

/* A NUL-terminated, valid UTF-8 copy of @len bytes at @str. */
static char *
dup_utf8 (const char *str,
          gsize       len)
{
  if (g_utf8_validate_len (str, len, NULL))
    return g_strndup (str, len);

  return g_utf8_make_valid (str, len);
}

static void
sq_sse_parser_finalize (GObject *object)
{
  SqSseParser *self = (SqSseParser *)object;

  g_string_free (self->line, TRUE);
  g_string_free (self->data, TRUE);
  g_string_free (self->event_type, TRUE);
  g_clear_pointer (&self->id_buffer, g_free);
  g_clear_pointer (&self->last_id, g_free);
  g_queue_clear_full (&self->events, (GDestroyNotify) sq_sse_event_free);

  G_OBJECT_CLASS (sq_sse_parser_parent_class)->finalize (object);
}

static void
sq_sse_parser_class_init (SqSseParserClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sq_sse_parser_finalize;
}

static void
sq_sse_parser_init (SqSseParser *self)
{
  self->line = g_string_sized_new (256);
  self->data = g_string_sized_new (256);
  self->event_type = g_string_sized_new (16);
  g_queue_init (&self->events);
  self->retry_ms = -1;
  self->at_start = TRUE;
}

SqSseParser *
sq_sse_parser_new (void)
{
  return g_object_new (SQ_TYPE_SSE_PARSER, NULL);
}

static void
dispatch (SqSseParser *self)
{
  SqSseEvent *event;
  gsize data_len;

  /* The id is committed at every blank line, even one that dispatches
   * nothing; the buffer itself is not reset. */
  if (g_strcmp0 (self->last_id, self->id_buffer) != 0)
    {
      g_free (self->last_id);
      self->last_id = g_strdup (self->id_buffer);
    }

  if (self->data->len == 0 && self->event_type->len == 0)
    return;

  data_len = self->data->len;
  if (data_len > 0 && self->data->str[data_len - 1] == '\n')
    data_len--;

  event = g_new0 (SqSseEvent, 1);
  if (self->event_type->len > 0)
    event->event = dup_utf8 (self->event_type->str, self->event_type->len);
  else
    event->event = g_strdup ("message");
  event->data = dup_utf8 (self->data->str, data_len);
  event->id = g_strdup (self->last_id);

  g_queue_push_tail (&self->events, event);

  g_string_truncate (self->data, 0);
  g_string_truncate (self->event_type, 0);
}

static gboolean
field_is (const char *field,
          gsize       field_len,
          const char *name)
{
  gsize name_len = strlen (name);

  return field_len == name_len && memcmp (field, name, name_len) == 0;
}

static void
process_field (SqSseParser *self,
               const char  *field,
               gsize        field_len,
               const char  *value,
               gsize        value_len)
{
  if (field_is (field, field_len, "data"))
    {
      g_string_append_len (self->data, value, value_len);
      g_string_append_c (self->data, '\n');
    }
  else if (field_is (field, field_len, "event"))
    {
      g_string_truncate (self->event_type, 0);
      g_string_append_len (self->event_type, value, value_len);
    }
  else if (field_is (field, field_len, "id"))
    {
      if (memchr (value, '\0', value_len) == NULL)
        {
          g_free (self->id_buffer);
          /* An empty id resets the last event id. */
          self->id_buffer = value_len > 0 ? dup_utf8 (value, value_len) : NULL;
        }
    }
  else if (field_is (field, field_len, "retry"))
    {
      guint64 ms = 0;
      gsize i;

      if (value_len == 0)
        return;

      for (i = 0; i < value_len; i++)
        {
          guint digit;

          if (!g_ascii_isdigit (value[i]))
            return;

          digit = value[i] - '0';
          if (ms > ((guint64) G_MAXINT64 - digit) / 10)
            return;   /* does not fit: ignore the field */
          ms = ms * 10 + digit;
        }

      self->retry_ms = (gint64) ms;
    }
  /* Anything else is ignored. */
}

static void
process_line (SqSseParser *self,
              const char  *line,
              gsize        len)
{
  const char *colon;

  if (self->at_start)
    {
      self->at_start = FALSE;
      if (len >= 3 && memcmp (line, "\xEF\xBB\xBF", 3) == 0)
        {
          line += 3;
          len -= 3;
        }
    }

  if (len == 0)
    {
      dispatch (self);
      return;
    }

  if (line[0] == ':')
    return;   /* a comment */

  colon = memchr (line, ':', len);
  if (colon != NULL)
    {
      const char *value = colon + 1;
      gsize value_len = len - (value - line);

      if (value_len > 0 && value[0] == ' ')
        {
          value++;
          value_len--;
        }

      process_field (self, line, colon - line, value, value_len);
    }
  else
    {
      process_field (self, line, len, "", 0);
    }
}

void
sq_sse_parser_feed (SqSseParser *self,
                    const char  *data,
                    gsize        length)
{
  const char *p = data;
  const char *end = data + length;

  g_return_if_fail (SQ_IS_SSE_PARSER (self));
  g_return_if_fail (data != NULL || length == 0);

  if (length == 0)
    return;

  /* The "\n" of a "\r\n" that was split between two feeds. */
  if (self->after_cr)
    {
      self->after_cr = FALSE;
      if (*p == '\n')
        p++;
    }

  while (p < end)
    {
      const char *eol = p;

      while (eol < end && *eol != '\n' && *eol != '\r')
        eol++;

      if (eol == end)
        {
          /* No line end in the rest of this chunk: keep it for later. */
          g_string_append_len (self->line, p, end - p);
          break;
        }

      if (self->line->len > 0)
        {
          g_string_append_len (self->line, p, eol - p);
          process_line (self, self->line->str, self->line->len);
          g_string_truncate (self->line, 0);
        }
      else
        {
          process_line (self, p, eol - p);
        }

      if (*eol == '\r')
        {
          if (eol + 1 == end)
            self->after_cr = TRUE;
          else if (eol[1] == '\n')
            eol++;
        }

      p = eol + 1;
    }
}

SqSseEvent *
sq_sse_parser_pop (SqSseParser *self)
{
  g_return_val_if_fail (SQ_IS_SSE_PARSER (self), NULL);

  return g_queue_pop_head (&self->events);
}

void
sq_sse_parser_finish (SqSseParser *self)
{
  g_return_if_fail (SQ_IS_SSE_PARSER (self));

  /* Whatever was not ended by a blank line is discarded; what was
   * dispatched stays to be popped, and the last event id and retry
   * delay stay for a reconnection. A new stream may follow. */
  g_string_truncate (self->line, 0);
  g_string_truncate (self->data, 0);
  g_string_truncate (self->event_type, 0);
  g_free (self->id_buffer);
  self->id_buffer = g_strdup (self->last_id);
  self->after_cr = FALSE;
  self->at_start = TRUE;
}

const char *
sq_sse_parser_get_last_id (SqSseParser *self)
{
  g_return_val_if_fail (SQ_IS_SSE_PARSER (self), NULL);

  return self->last_id;
}

gint64
sq_sse_parser_get_retry_ms (SqSseParser *self)
{
  g_return_val_if_fail (SQ_IS_SSE_PARSER (self), -1);

  return self->retry_ms;
}

void
sq_sse_parser_reset (SqSseParser *self)
{
  g_return_if_fail (SQ_IS_SSE_PARSER (self));

  sq_sse_parser_finish (self);
  g_queue_clear_full (&self->events, (GDestroyNotify) sq_sse_event_free);
  g_clear_pointer (&self->id_buffer, g_free);
  g_clear_pointer (&self->last_id, g_free);
  self->retry_ms = -1;
}
