/* sq-cli-ask.c
 *
 * squint ask [-m MODEL]... -i IMAGE... [-p KEY=VALUE]... [--json] PROMPT
 *
 * Asks every model about every image, all at once. Every check that can
 * be made locally (options, images, models, parameters) is made before
 * the first request to Replicate. Ctrl+C cancels every prediction (on
 * Replicate too), prints what arrived so far and exits with 130; a
 * second Ctrl+C exits at once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-cli-ask"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include "sq-config.h"
#include "sq-error.h"
#include "sq-image.h"
#include "sq-model.h"
#include "sq-model-catalog.h"
#include "sq-prediction.h"
#include "sq-replicate-client.h"

#include "sq-cli-private.h"

#define DEFAULT_MODEL "llava-13b"

typedef enum
{
  PHASE_SETUP,
  PHASE_ANSWERS,
  PHASE_DONE,
} Phase;

typedef struct _Ask Ask;

typedef struct
{
  Ask          *ask;          /* unowned */
  guint         model_index;
  guint         image_index;
  SqPrediction *prediction;   /* nullable until started */
  GError       *error;        /* why it failed, NULL otherwise */
  gboolean      canceled;
  gboolean      done;
} Answer;

struct _Ask
{
  GMainLoop          *loop;
  Phase               phase;
  guint               pending;       /* answers in flight */
  int                 setup_status;  /* the exit status that ended the setup, or -1 */

  /* Options */
  char               *prompt;
  gboolean            json;
  char              **model_names;
  char              **image_args;
  GPtrArray          *param_keys;    /* (element-type utf8) in command-line order */
  GPtrArray          *param_values;  /* (element-type utf8) */

  SqCliSetup         *setup;         /* images, client, models, settings */
  GPtrArray          *answers;       /* (element-type Answer) */

  guint               n_finished;
  guint               n_failed;
  guint               n_canceled;    /* canceled without Ctrl+C, e.g. on Replicate's side */
  gboolean            auth_failed;
  gboolean            stream_single;
  gboolean            stdout_dirty;  /* stdout holds streamed text without its final newline */
  gboolean            printed_block;
  gboolean            stderr_tty;
  gboolean            status_visible;
};

static void ask_answers_done (Ask *ask);

static void
answer_free (Answer *answer)
{
  g_clear_object (&answer->prediction);
  g_clear_error (&answer->error);
  g_free (answer);
}

static void
ask_free (Ask *ask)
{
  g_clear_pointer (&ask->loop, g_main_loop_unref);
  g_clear_pointer (&ask->prompt, g_free);
  g_clear_pointer (&ask->model_names, g_strfreev);
  g_clear_pointer (&ask->image_args, g_strfreev);
  g_clear_pointer (&ask->param_keys, g_ptr_array_unref);
  g_clear_pointer (&ask->param_values, g_ptr_array_unref);
  g_clear_pointer (&ask->answers, g_ptr_array_unref);
  g_clear_pointer (&ask->setup, _sq_cli_setup_free);
  g_free (ask);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Ask, ask_free)

static SqModel *
ask_get_model (Ask   *ask,
               guint  index)
{
  return g_ptr_array_index (ask->setup->models, index);
}

static SqImage *
ask_get_image (Ask   *ask,
               guint  index)
{
  return g_ptr_array_index (ask->setup->images, index);
}

static const char *
answer_get_model_name (Answer *answer)
{
  SqModel *model = ask_get_model (answer->ask, answer->model_index);

  return sq_model_get_display_name (model);
}

static const char *
answer_get_image_name (Answer *answer)
{
  return sq_image_get_name (ask_get_image (answer->ask, answer->image_index));
}

/* The status line: on stderr, and only when stderr is a terminal. */

static void
ask_clear_status (Ask *ask)
{
  _sq_cli_status_clear (&ask->status_visible);
}

static void
ask_show_status (Ask *ask)
{
  g_autofree char *text = NULL;

  if (!ask->stderr_tty)
    return;

  switch (ask->phase)
    {
    case PHASE_SETUP:
      text = g_strdup (_sq_cli_setup_get_status_text (ask->setup));
      break;

    case PHASE_ANSWERS:
      if (ask->n_finished == ask->answers->len)
        text = NULL;
      else if (ask->setup->n_interrupts > 0)
        text = g_strdup (_("Canceling… (press Ctrl+C again to quit at once)"));
      else if (ask->stream_single && ask->stdout_dirty)
        text = NULL; /* the answer itself shows the progress */
      else if (ask->stream_single)
        text = g_strdup_printf (_("Waiting for %s…"),
                                answer_get_model_name (g_ptr_array_index (ask->answers, 0)));
      else
        text = g_strdup_printf (ngettext ("%u of %u answer done, %u failed",
                                          "%u of %u answers done, %u failed",
                                          ask->answers->len),
                                ask->n_finished, ask->answers->len, ask->n_failed);
      break;

    case PHASE_DONE:
    default:
      text = NULL;
      break;
    }

  ask_clear_status (ask);
  if (text == NULL)
    return;

  /* Streamed text still open on the same terminal: a status would garble it. */
  if (ask->stdout_dirty && isatty (STDOUT_FILENO))
    return;

  _sq_cli_status_show (&ask->status_visible, text);
}

/* Prints an error for one answer, or for the command. */
static void
ask_printerr (Ask        *ask,
              const char *message)
{
  ask_clear_status (ask);
  fflush (stdout);
  fprintf (stderr, "%s\n", message);
  fflush (stderr);
}

static void
ask_op_done (Ask *ask)
{
  g_assert (ask->pending > 0);

  if (--ask->pending == 0)
    ask_answers_done (ask);
}

/* Output */

static void
json_add_ms_or_null (JsonBuilder *builder,
                     const char  *member,
                     gint64       value)
{
  json_builder_set_member_name (builder, member);
  if (value >= 0)
    json_builder_add_int_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static const char *
answer_get_status (Answer *answer)
{
  if (answer->canceled)
    return "canceled";

  if (answer->prediction != NULL)
    {
      SqPredictionStatus status = sq_prediction_get_status (answer->prediction);

      /* A run that ended with an error but no terminal status (e.g. a refused create). */
      if (answer->error != NULL && !sq_prediction_status_is_terminal (status))
        return "failed";

      return sq_prediction_status_to_string (status);
    }

  return answer->error != NULL ? "failed" : "queued";
}

static const char *
answer_get_text (Answer *answer)
{
  return answer->prediction != NULL ? sq_prediction_get_text (answer->prediction) : "";
}

static void
answer_print_json (Answer *answer)
{
  Ask *ask = answer->ask;
  SqModel *model = ask_get_model (ask, answer->model_index);
  SqPrediction *prediction = answer->prediction;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *line = NULL;

  json_builder_begin_object (builder);
  _sq_cli_json_add_string_or_null (builder, "model", sq_model_get_display_name (model));
  _sq_cli_json_add_string_or_null (builder, "model_ref", sq_model_get_ref (model));
  _sq_cli_json_add_string_or_null (builder, "prompt", ask->prompt);
  _sq_cli_json_add_string_or_null (builder, "image", answer_get_image_name (answer));
  _sq_cli_json_add_string_or_null (builder, "response", answer_get_text (answer));
  _sq_cli_json_add_string_or_null (builder, "status", answer_get_status (answer));
  _sq_cli_json_add_string_or_null (builder, "error", answer->error != NULL ? answer->error->message : NULL);
  /* Nobody rated these yet: unrated is null, never 0. */
  _sq_cli_json_add_string_or_null (builder, "correctness", NULL);
  _sq_cli_json_add_string_or_null (builder, "relevance", NULL);
  _sq_cli_json_add_string_or_null (builder, "notes", NULL);
  _sq_cli_json_add_string_or_null (builder, "prediction_id",
                                   prediction != NULL ? sq_prediction_get_id (prediction) : NULL);
  json_add_ms_or_null (builder, "ttft_ms", prediction != NULL ? sq_prediction_get_ttft_ms (prediction) : -1);
  json_add_ms_or_null (builder, "total_ms", prediction != NULL ? sq_prediction_get_total_ms (prediction) : -1);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, FALSE);
  line = json_generator_to_data (generator, NULL);

  ask_clear_status (ask);
  fputs (line, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

static void
answer_print (Answer *answer)
{
  Ask *ask = answer->ask;
  const char *text = answer_get_text (answer);

  if (ask->json)
    {
      answer_print_json (answer);
    }
  else if (ask->stream_single)
    {
      /* The text went out as it arrived; end its line. */
      if (ask->stdout_dirty || (answer->error == NULL && !answer->canceled))
        {
          ask_clear_status (ask);
          fputc ('\n', stdout);
          fflush (stdout);
          ask->stdout_dirty = FALSE;
        }
    }
  else if (*text != '\0' || (answer->error == NULL && !answer->canceled))
    {
      ask_clear_status (ask);
      fprintf (stdout, "%s== %s · %s ==\n%s\n",
               ask->printed_block ? "\n" : "",
               answer_get_model_name (answer),
               answer_get_image_name (answer),
               text);
      fflush (stdout);
      ask->printed_block = TRUE;
    }

  if (answer->error != NULL)
    {
      g_autofree char *message = NULL;

      /* Translators: "fuyu-8b on cat.png failed: <why>" */
      message = g_strdup_printf (_("%s on %s failed: %s"),
                                 answer_get_model_name (answer),
                                 answer_get_image_name (answer),
                                 answer->error->message);
      ask_printerr (ask, message);
    }
  else if (answer->canceled)
    {
      g_autofree char *message = NULL;

      /* Translators: "fuyu-8b on cat.png was canceled" */
      message = g_strdup_printf (_("%s on %s was canceled"),
                                 answer_get_model_name (answer),
                                 answer_get_image_name (answer));
      ask_printerr (ask, message);
    }
}

static void
answer_finish (Answer *answer,
               GError *error)
{
  Ask *ask = answer->ask;

  g_assert (!answer->done);

  answer->done = TRUE;
  ask->n_finished++;

  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      answer->canceled = TRUE;
      ask->n_canceled++;
      g_error_free (error);
    }
  else if (error != NULL)
    {
      answer->error = error;
      ask->n_failed++;
      if (_sq_cli_exit_status_for_error (error) == SQ_EXIT_CONFIG)
        ask->auth_failed = TRUE;
    }

  answer_print (answer);
  ask_show_status (ask);
}

/* Phase 4: prepare each image once, then run its predictions. */

static void
prediction_delta_cb (SqPrediction *prediction,
                     const char   *text,
                     gpointer      user_data)
{
  Answer *answer = user_data;
  Ask *ask = answer->ask;

  if (!ask->stream_single || ask->json || text == NULL || *text == '\0')
    return;

  if (!ask->stdout_dirty)
    ask_clear_status (ask);

  fputs (text, stdout);
  fflush (stdout);
  ask->stdout_dirty = TRUE;
}

/* Replicate's output stopped agreeing with what arrived (it should not
 * happen). Streamed text cannot be taken back: say so and print it whole. */
static void
prediction_text_reset_cb (SqPrediction *prediction,
                          const char   *text,
                          gpointer      user_data)
{
  Answer *answer = user_data;
  Ask *ask = answer->ask;

  if (!ask->stream_single || ask->json)
    return;

  if (ask->stdout_dirty)
    {
      fputc ('\n', stdout);
      ask->stdout_dirty = FALSE;
    }
  ask_printerr (ask, _("The answer was corrected by Replicate; here it is again from the start."));

  if (text != NULL && *text != '\0')
    {
      fputs (text, stdout);
      ask->stdout_dirty = TRUE;
    }
  fflush (stdout);
}

static void
prediction_run_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Answer *answer = user_data;
  Ask *ask = answer->ask;
  g_autoptr(GError) error = NULL;

  if (!sq_prediction_run_finish (SQ_PREDICTION (object), result, &error) && error == NULL)
    g_set_error_literal (&error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_FAILED,
                         _("The prediction did not succeed"));

  g_signal_handlers_disconnect_by_func (object, prediction_delta_cb, answer);
  g_signal_handlers_disconnect_by_func (object, prediction_text_reset_cb, answer);
  answer_finish (answer, g_steal_pointer (&error));
  ask_op_done (ask);
}

static void
answer_start (Answer     *answer,
              const char *image_input)
{
  Ask *ask = answer->ask;
  SqModel *model = ask_get_model (ask, answer->model_index);
  GHashTable *settings = g_ptr_array_index (ask->setup->settings, answer->model_index);
  g_autoptr(JsonObject) input = NULL;
  g_autoptr(GError) error = NULL;

  input = sq_model_build_input (model, ask->prompt, image_input, settings, &error);
  if (input == NULL)
    {
      answer_finish (answer, g_steal_pointer (&error));
      return;
    }

  answer->prediction = sq_prediction_new (ask->setup->client, sq_model_get_ref (model), input);
  g_signal_connect (answer->prediction, "delta", G_CALLBACK (prediction_delta_cb), answer);
  g_signal_connect (answer->prediction, "text-reset", G_CALLBACK (prediction_text_reset_cb), answer);

  ask->pending++;
  sq_prediction_run_async (answer->prediction, ask->setup->cancellable, prediction_run_cb, answer);
}

typedef struct
{
  Ask   *ask;
  guint  image_index;
} PrepareData;

static void
prepare_input_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autofree PrepareData *data = user_data;
  Ask *ask = data->ask;
  g_autoptr(GError) error = NULL;
  g_autofree char *image_input = NULL;

  image_input = sq_image_prepare_input_finish (SQ_IMAGE (object), result, &error);

  for (guint i = 0; i < ask->answers->len; i++)
    {
      Answer *answer = g_ptr_array_index (ask->answers, i);

      if (answer->image_index != data->image_index)
        continue;

      if (image_input != NULL && !g_cancellable_is_cancelled (ask->setup->cancellable))
        answer_start (answer, image_input);
      else if (image_input != NULL)
        answer_finish (answer, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Canceled"));
      else
        answer_finish (answer, g_error_copy (error));
    }

  ask_op_done (ask);
}

static void
ask_start_answers (Ask *ask)
{
  for (guint m = 0; m < ask->setup->models->len; m++)
    {
      for (guint i = 0; i < ask->setup->images->len; i++)
        {
          Answer *answer = g_new0 (Answer, 1);

          answer->ask = ask;
          answer->model_index = m;
          answer->image_index = i;
          g_ptr_array_add (ask->answers, answer);
        }
    }

  ask->stream_single = ask->answers->len == 1 && !ask->json;
  ask->phase = PHASE_ANSWERS;
  ask_show_status (ask);

  for (guint i = 0; i < ask->setup->images->len; i++)
    {
      PrepareData *data = g_new0 (PrepareData, 1);

      data->ask = ask;
      data->image_index = i;
      ask->pending++;
      sq_image_prepare_input_async (ask_get_image (ask, i), ask->setup->client, ask->setup->cancellable,
                                    prepare_input_cb, data);
    }
}

/* The setup: images, client, models and parameters (SqCliSetup). */

static void
setup_show_status_cb (gpointer user_data)
{
  ask_show_status (user_data);
}

static void
setup_clear_status_cb (gpointer user_data)
{
  ask_clear_status (user_data);
}

static void
setup_finished_cb (int      status,
                   gpointer user_data)
{
  Ask *ask = user_data;

  if (status >= 0)
    {
      ask->setup_status = status;
      ask->phase = PHASE_DONE;
      g_main_loop_quit (ask->loop);
      return;
    }

  ask_start_answers (ask);
}

static const SqCliSetupCallbacks setup_callbacks = {
  setup_show_status_cb,
  setup_clear_status_cb,
  setup_finished_cb,
};

/* Every answer has ended. */
static void
ask_answers_done (Ask *ask)
{
  ask_clear_status (ask);
  ask->phase = PHASE_DONE;
  g_main_loop_quit (ask->loop);
}

/* Options */

static GOptionContext *
ask_context_new (char     ***models,
                 char     ***images,
                 char     ***params,
                 gboolean   *json,
                 char     ***rest)
{
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING_ARRAY, models,
      N_("A model to ask: an alias (see “squint models”) or owner/name[:version]; repeat for "
         "several. Default: the models selected in the app, else " DEFAULT_MODEL),
      N_("MODEL") },
    { "image", 'i', 0, G_OPTION_ARG_FILENAME_ARRAY, images,
      N_("An image file or http(s) URL; repeat for several"), N_("IMAGE") },
    { "param", 'p', 0, G_OPTION_ARG_STRING_ARRAY, params,
      N_("A model parameter, e.g. max_new_tokens=100 or temperature=0.2, applied to every "
         "model that takes it; repeat for several"),
      N_("KEY=VALUE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, json,
      N_("Print one JSON object per answer and line (JSON Lines) as each answer ends"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, rest, NULL, N_("PROMPT") },
    { NULL }
  };
  GOptionContext *context = g_option_context_new (NULL);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _("Asks every model about every image, in parallel. With one answer, the\n"
                                  "text streams to standard output as it is generated; with several, each\n"
                                  "answer is printed when it ends, headed “== model · image ==”. The words\n"
                                  "after the options make up the prompt."));
  g_option_context_set_description (context,
                                    _("The API token comes from REPLICATE_API_TOKEN or the keyring, the API\n"
                                      "origin from REPLICATE_BASE_URL or the settings.\n"
                                      "\n"
                                      "Exit status: 0 every answer succeeded, 1 some failed, 2 usage error\n"
                                      "(unknown model, bad parameter, unreadable image), 3 configuration or\n"
                                      "authentication error, 130 interrupted (Ctrl+C cancels the predictions,\n"
                                      "on Replicate too, and prints what arrived; a second Ctrl+C quits at once)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  return context;
}

GOptionContext *
_sq_cli_ask_new_context (void)
{
  static char **unused_models, **unused_images, **unused_params, **unused_rest;
  static gboolean unused_json;

  return ask_context_new (&unused_models, &unused_images, &unused_params, &unused_json, &unused_rest);
}

/* Checks what can be checked without looking anything up. */
static gboolean
ask_check_options (Ask   *ask,
                   char **params,
                   char **rest)
{
  gboolean ok = TRUE;

  if (rest != NULL && rest[0] != NULL)
    ask->prompt = g_strjoinv (" ", rest);

  if (ask->prompt == NULL || *g_strstrip (ask->prompt) == '\0')
    {
      _sq_cli_printerr ("ask", _("No prompt: give the question as the last argument."));
      ok = FALSE;
    }

  if (!_sq_cli_setup_check_images ("ask", ask->image_args))
    ok = FALSE;

  if (!_sq_cli_setup_check_models ("ask", DEFAULT_MODEL, &ask->model_names, params,
                                   ask->param_keys, ask->param_values))
    ok = FALSE;

  return ok;
}

int
_sq_cli_ask_run (int    argc,
                 char **argv)
{
  g_autoptr(Ask) ask = g_new0 (Ask, 1);
  g_autoptr(GOptionContext) context = NULL;
  g_auto(GStrv) params = NULL;
  g_auto(GStrv) rest = NULL;

  ask->setup_status = -1;
  ask->param_keys = g_ptr_array_new_with_free_func (g_free);
  ask->param_values = g_ptr_array_new_with_free_func (g_free);
  ask->answers = g_ptr_array_new_with_free_func ((GDestroyNotify) answer_free);

  context = ask_context_new (&ask->model_names, &ask->image_args, &params, &ask->json, &rest);
  if (!_sq_cli_parse_options (context, "ask", &argc, &argv))
    return SQ_EXIT_USAGE;

  if (!ask_check_options (ask, params, rest))
    {
      fprintf (stderr, "%s\n", _("Run “squint ask --help” to see the options."));
      return SQ_EXIT_USAGE;
    }

  ask->stderr_tty = isatty (STDERR_FILENO);
  ask->loop = g_main_loop_new (NULL, FALSE);
  ask->setup = _sq_cli_setup_new ("ask", ask->model_names, ask->image_args,
                                  ask->param_keys, ask->param_values, &setup_callbacks, ask);
  ask->phase = PHASE_SETUP;

  _sq_cli_setup_start (ask->setup);
  g_main_loop_run (ask->loop);

  _sq_cli_setup_stop_signals (ask->setup);
  ask_clear_status (ask);

  return _sq_cli_setup_exit_status (ask->setup, ask->setup_status, ask->auth_failed,
                                    ask->n_failed > 0 || ask->n_canceled > 0);
}
