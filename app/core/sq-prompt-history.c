/* sq-prompt-history.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-prompt-history"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sq-json.h"
#include "sq-prompt-history.h"

struct _SqPromptHistory
{
  GObject    parent_instance;

  GFile     *file;        /* (owned) */
  GPtrArray *prompts;     /* (owned) (element-type utf8), most recent first */
  GMutex     save_lock;   /* saves write one after another */
  guint      first_run : 1;
};

G_DEFINE_FINAL_TYPE (SqPromptHistory, sq_prompt_history, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Not translated: they are sent to the models as they are, and these
 * models answer best in English. */
static const char * const suggestions[] = {
  "what is shown in this image?",
  "how many people are shown in the image?",
  "is there anything unusual in the image?",
  NULL
};

static char *
normalize (const char *prompt)
{
  if (prompt == NULL)
    return NULL;

  return g_strstrip (g_strdup (prompt));
}

static void
sq_prompt_history_insert (SqPromptHistory *self,
                          const char      *prompt,
                          gboolean         at_end)
{
  g_autofree char *text = normalize (prompt);

  if (text == NULL || *text == '\0' || !g_utf8_validate (text, -1, NULL))
    return;

  for (guint i = 0; i < self->prompts->len; i++)
    {
      if (g_strcmp0 (g_ptr_array_index (self->prompts, i), text) == 0)
        {
          if (at_end)
            return;
          g_ptr_array_remove_index (self->prompts, i);
          break;
        }
    }

  if (at_end)
    {
      if (self->prompts->len < SQ_PROMPT_HISTORY_MAX)
        g_ptr_array_add (self->prompts, g_steal_pointer (&text));
    }
  else
    {
      g_ptr_array_insert (self->prompts, 0, g_steal_pointer (&text));
      if (self->prompts->len > SQ_PROMPT_HISTORY_MAX)
        g_ptr_array_set_size (self->prompts, SQ_PROMPT_HISTORY_MAX);
    }
}

/* --- load ---------------------------------------------------------- */

typedef struct
{
  GPtrArray *prompts;   /* (element-type utf8) */
  gboolean   missing;
} LoadResult;

static void
load_result_free (LoadResult *result)
{
  g_clear_pointer (&result->prompts, g_ptr_array_unref);
  g_free (result);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GFile *file = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *path = g_file_get_path (file);
  LoadResult *result;
  gsize length;
  JsonNode *root;
  JsonArray *array;

  result = g_new0 (LoadResult, 1);
  result->prompts = g_ptr_array_new_with_free_func (g_free);

  if (!g_file_load_contents (file, cancellable, &contents, &length, NULL, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          result->missing = TRUE;
          g_task_return_pointer (task, result, (GDestroyNotify) load_result_free);
          return;
        }
      load_result_free (result);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  parser = json_parser_new ();
  if (!sq_json_parser_load (parser, contents, length, NULL) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_ARRAY (root))
    {
      load_result_free (result);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               _("The prompt history %s is damaged: it is not a JSON list of prompts"),
                               path);
      return;
    }

  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
        g_ptr_array_add (result->prompts, g_strdup (json_node_get_string (node)));
    }

  g_task_return_pointer (task, result, (GDestroyNotify) load_result_free);
}

void
sq_prompt_history_load_async (SqPromptHistory     *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SQ_IS_PROMPT_HISTORY (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_prompt_history_load_async);
  g_task_set_task_data (task, g_object_ref (self->file), g_object_unref);
  g_task_run_in_thread (task, load_thread);
}

gboolean
sq_prompt_history_load_finish (SqPromptHistory  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  LoadResult *loaded;

  g_return_val_if_fail (SQ_IS_PROMPT_HISTORY (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  loaded = g_task_propagate_pointer (G_TASK (result), error);
  if (loaded == NULL)
    return FALSE;

  /* Prompts added while loading stay the most recent. */
  for (guint i = 0; i < loaded->prompts->len; i++)
    sq_prompt_history_insert (self, g_ptr_array_index (loaded->prompts, i), TRUE);
  self->first_run = loaded->missing;
  load_result_free (loaded);

  g_signal_emit (self, signals[CHANGED], 0);

  return TRUE;
}

/* --- save ---------------------------------------------------------- */

static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SqPromptHistory *self = source_object;
  const char *json = task_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) parent = g_file_get_parent (self->file);
  g_autofree char *path = g_file_get_path (self->file);

  g_mutex_lock (&self->save_lock);

  if (parent != NULL &&
      !g_file_make_directory_with_parents (parent, cancellable, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    {
      g_mutex_unlock (&self->save_lock);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_clear_error (&error);

  if (!g_file_set_contents_full (path, json, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                 0600, &error))
    {
      g_mutex_unlock (&self->save_lock);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  g_mutex_unlock (&self->save_lock);
  g_task_return_boolean (task, TRUE);
}

void
sq_prompt_history_save_async (SqPromptHistory     *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_if_fail (SQ_IS_PROMPT_HISTORY (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  json_builder_begin_array (builder);
  for (guint i = 0; i < self->prompts->len; i++)
    json_builder_add_string_value (builder, g_ptr_array_index (self->prompts, i));
  json_builder_end_array (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_prompt_history_save_async);
  g_task_set_task_data (task, json_generator_to_data (generator, NULL), g_free);
  g_task_run_in_thread (task, save_thread);
}

gboolean
sq_prompt_history_save_finish (SqPromptHistory  *self,
                               GAsyncResult     *result,
                               GError          **error)
{
  g_return_val_if_fail (SQ_IS_PROMPT_HISTORY (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* --- the rest ------------------------------------------------------ */

static void
sq_prompt_history_finalize (GObject *object)
{
  SqPromptHistory *self = SQ_PROMPT_HISTORY (object);

  g_clear_object (&self->file);
  g_clear_pointer (&self->prompts, g_ptr_array_unref);
  g_mutex_clear (&self->save_lock);

  G_OBJECT_CLASS (sq_prompt_history_parent_class)->finalize (object);
}

static void
sq_prompt_history_class_init (SqPromptHistoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sq_prompt_history_finalize;

  signals[CHANGED] =
    g_signal_new ("changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
sq_prompt_history_init (SqPromptHistory *self)
{
  self->prompts = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&self->save_lock);
}

SqPromptHistory *
sq_prompt_history_new (GFile *file)
{
  SqPromptHistory *self;

  g_return_val_if_fail (!file || G_IS_FILE (file), NULL);

  self = g_object_new (SQ_TYPE_PROMPT_HISTORY, NULL);
  if (file != NULL)
    self->file = g_object_ref (file);
  else
    self->file = g_file_new_build_filename (g_get_user_data_dir (), "squint",
                                            "prompt-history.json", NULL);

  return self;
}

GFile *
sq_prompt_history_get_file (SqPromptHistory *self)
{
  g_return_val_if_fail (SQ_IS_PROMPT_HISTORY (self), NULL);

  return self->file;
}

gboolean
sq_prompt_history_is_first_run (SqPromptHistory *self)
{
  g_return_val_if_fail (SQ_IS_PROMPT_HISTORY (self), FALSE);

  return self->first_run;
}

void
sq_prompt_history_add (SqPromptHistory *self,
                       const char      *prompt)
{
  g_autofree char *text = normalize (prompt);

  g_return_if_fail (SQ_IS_PROMPT_HISTORY (self));

  if (text == NULL || *text == '\0')
    return;

  if (self->prompts->len > 0 && g_strcmp0 (g_ptr_array_index (self->prompts, 0), text) == 0)
    return;

  sq_prompt_history_insert (self, text, FALSE);
  g_signal_emit (self, signals[CHANGED], 0);
}

void
sq_prompt_history_clear (SqPromptHistory *self)
{
  g_return_if_fail (SQ_IS_PROMPT_HISTORY (self));

  g_ptr_array_set_size (self->prompts, 0);
  g_signal_emit (self, signals[CHANGED], 0);
}

guint
sq_prompt_history_get_n_prompts (SqPromptHistory *self)
{
  g_return_val_if_fail (SQ_IS_PROMPT_HISTORY (self), 0);

  return self->prompts->len;
}

const char *
sq_prompt_history_get_prompt (SqPromptHistory *self,
                              guint            index)
{
  g_return_val_if_fail (SQ_IS_PROMPT_HISTORY (self), NULL);

  if (index >= self->prompts->len)
    return NULL;

  return g_ptr_array_index (self->prompts, index);
}

GPtrArray *
sq_prompt_history_search (SqPromptHistory *self,
                          const char      *query)
{
  g_auto(GStrv) words = NULL;
  g_autofree char *folded = NULL;
  GPtrArray *found;

  g_return_val_if_fail (SQ_IS_PROMPT_HISTORY (self), NULL);

  found = g_ptr_array_new_with_free_func (g_free);
  if (query != NULL)
    {
      folded = g_utf8_casefold (query, -1);
      words = g_strsplit_set (folded, " \t\n", -1);
    }

  for (guint i = 0; i < self->prompts->len; i++)
    {
      const char *prompt = g_ptr_array_index (self->prompts, i);
      g_autofree char *haystack = g_utf8_casefold (prompt, -1);
      gboolean match = TRUE;

      for (guint w = 0; words != NULL && words[w] != NULL; w++)
        {
          if (*words[w] != '\0' && strstr (haystack, words[w]) == NULL)
            {
              match = FALSE;
              break;
            }
        }

      if (match)
        g_ptr_array_add (found, g_strdup (prompt));
    }

  return found;
}

const char * const *
sq_prompt_history_get_suggestions (void)
{
  return suggestions;
}
