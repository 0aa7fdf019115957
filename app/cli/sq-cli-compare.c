/* sq-cli-compare.c
 *
 * squint compare -m MODEL... -i IMAGE... -q PROMPT... --project FILE
 *                [-j N] [-p KEY=VALUE]... [--rerun]
 *
 * Runs every prompt on every image with every model (SqGridRun), into a
 * project. Run again on the same project, it picks up the predictions an
 * interrupted run left behind by their id and runs only the cells without
 * a succeeded answer; --rerun adds a new run of every cell instead.
 * Models, images and parameters are resolved and checked exactly as
 * `squint ask` does, before anything is sent. On a terminal a progress
 * line shows on standard error; otherwise one line per finished cell goes
 * to standard output. A summary ends the output. Ctrl+C cancels every
 * running prediction (on Replicate too) and exits with 130; a second
 * Ctrl+C exits at once.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-cli-compare"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sq-config.h"
#include "sq-error.h"
#include "sq-grid-run.h"
#include "sq-image.h"
#include "sq-model.h"
#include "sq-model-catalog.h"
#include "sq-project.h"
#include "sq-replicate-client.h"

#include "sq-cli-private.h"

#define DEFAULT_MODEL "llava-13b"
/* How much of a prompt a progress line shows. */
#define PROMPT_PREVIEW_CHARS 40

typedef enum
{
  PHASE_SETUP,
  PHASE_GRID,
  PHASE_DONE,
} Phase;

typedef struct
{
  GMainLoop          *loop;
  Phase               phase;
  int                 setup_status;  /* the exit status that ended the setup, or -1 */

  /* Options */
  char              **model_names;
  char              **image_args;
  char              **prompts;
  char               *project_path;
  int                 jobs;
  gboolean            rerun;
  GPtrArray          *param_keys;    /* (element-type utf8) */
  GPtrArray          *param_values;  /* (element-type utf8) */

  SqCliSetup         *setup;         /* images, client, models, settings */
  SqProject          *project;
  SqGridRun          *grid;

  gint64              start_us;
  guint               n_reported;
  gboolean            auth_failed;
  GError             *run_error;
  gboolean            stderr_tty;
  gboolean            status_visible;
} Compare;

static void
compare_free (Compare *self)
{
  if (self->grid != NULL)
    g_signal_handlers_disconnect_by_data (self->grid, self);
  g_clear_object (&self->grid);
  g_clear_pointer (&self->loop, g_main_loop_unref);
  g_clear_pointer (&self->model_names, g_strfreev);
  g_clear_pointer (&self->image_args, g_strfreev);
  g_clear_pointer (&self->prompts, g_strfreev);
  g_clear_pointer (&self->project_path, g_free);
  g_clear_pointer (&self->param_keys, g_ptr_array_unref);
  g_clear_pointer (&self->param_values, g_ptr_array_unref);
  g_clear_pointer (&self->setup, _sq_cli_setup_free);
  g_clear_object (&self->project);
  g_clear_error (&self->run_error);
  g_free (self);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Compare, compare_free)

/* Output */

static void
compare_clear_status (Compare *self)
{
  _sq_cli_status_clear (&self->status_visible);
}

static char *
format_duration (double seconds)
{
  int s = (int) (seconds + 0.5);

  if (s >= 3600)
    return g_strdup_printf ("%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);

  return g_strdup_printf ("%d:%02d", s / 60, s % 60);
}

static void
compare_show_status (Compare *self)
{
  g_autofree char *text = NULL;

  if (!self->stderr_tty)
    return;

  switch (self->phase)
    {
    case PHASE_SETUP:
      text = g_strdup (_sq_cli_setup_get_status_text (self->setup));
      break;

    case PHASE_GRID:
      if (self->setup->n_interrupts > 0)
        {
          text = g_strdup (_("Canceling… (press Ctrl+C again to quit at once)"));
        }
      else if (self->grid != NULL)
        {
          SqGridRun *grid = self->grid;
          guint n_cells = sq_grid_run_get_n_cells (grid);
          guint n_ended = sq_grid_run_get_n_done (grid) + sq_grid_run_get_n_failed (grid) +
                          sq_grid_run_get_n_canceled (grid);
          int eta = sq_grid_run_get_eta_seconds (grid);
          g_autofree char *eta_text = eta >= 0 ? format_duration (eta) : NULL;

          if (n_cells == 0)
            text = g_strdup (_("Preparing the grid…"));
          else if (eta_text != NULL)
            /* Translators: "12/36 cells · 1 failed · 4 running · 0:12 left" */
            text = g_strdup_printf (_("%u/%u cells · %u failed · %u running · %s left"),
                                    n_ended, n_cells, sq_grid_run_get_n_failed (grid),
                                    sq_grid_run_get_n_running (grid), eta_text);
          else
            text = g_strdup_printf (_("%u/%u cells · %u failed · %u running"),
                                    n_ended, n_cells, sq_grid_run_get_n_failed (grid),
                                    sq_grid_run_get_n_running (grid));
        }
      break;

    case PHASE_DONE:
    default:
      break;
    }

  compare_clear_status (self);
  if (text == NULL)
    return;

  _sq_cli_status_show (&self->status_visible, text);
}

/* Text from the project or from Replicate for a one-line report: control
 * characters (newlines, terminal escape sequences) become spaces, and it
 * is cut after @max_chars (0: never). */
static char *
sanitize (const char *text,
          guint       max_chars)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  const char *p = valid;
  guint n = 0;

  while (*p != '\0' && (max_chars == 0 || n < max_chars))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029)
        g_string_append_c (out, ' ');
      else
        g_string_append_unichar (out, c);
      p = g_utf8_next_char (p);
      n++;
    }
  if (*p != '\0')
    g_string_append (out, "…");

  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
grid_cell_finished_cb (SqGridRun  *grid,
                       gint64      result_id,
                       const char *status,
                       Compare    *self)
{
  g_autoptr(SqResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *prompt = NULL;
  g_autofree char *model_name = NULL;
  g_autofree char *image_name = NULL;
  g_autofree char *cell_error = NULL;
  guint n_cells = sq_grid_run_get_n_cells (grid);

  self->n_reported++;

  if (sq_grid_run_cell_error_matches (grid, result_id, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_UNAUTHORIZED))
    self->auth_failed = TRUE;

  /* The cell's row is written by now. */
  result = sq_project_get_result (self->project, result_id, &error);
  if (result != NULL)
    {
      model_name = sanitize (sq_result_get_model_name (result), 0);
      image_name = sanitize (sq_result_get_image_name (result), 0);
      prompt = sanitize (sq_result_get_prompt (result), PROMPT_PREVIEW_CHARS);
    }
  else
    {
      g_debug ("Cannot read result %" G_GINT64_FORMAT ": %s", result_id, error->message);
      model_name = g_strdup ("?");
      image_name = g_strdup ("?");
      prompt = g_strdup ("?");
    }
  if (sq_grid_run_get_cell_error (grid, result_id) != NULL)
    cell_error = sanitize (sq_grid_run_get_cell_error (grid, result_id), 0);

  if (!self->stderr_tty)
    {
      g_autofree char *seconds = NULL;

      if (result != NULL && sq_result_get_total_ms (result) >= 0)
        seconds = g_strdup_printf (" (%.1f s)", sq_result_get_total_ms (result) / 1000.0);

      /* Translators: "[3/36] succeeded · llava-13b · cat.png · What is shown? (1.2 s)" */
      fprintf (stdout, _("[%u/%u] %s · %s · %s · %s%s\n"),
               self->n_reported, n_cells, status, model_name, image_name, prompt,
               seconds != NULL ? seconds : "");
      fflush (stdout);
    }

  if (cell_error != NULL && !g_str_equal (status, "succeeded"))
    {
      compare_clear_status (self);
      fflush (stdout);
      /* Translators: "fuyu-8b on cat.png (“What is shown?”) failed: <why>" */
      fprintf (stderr, _("%s on %s (“%s”) failed: %s\n"), model_name, image_name, prompt, cell_error);
      fflush (stderr);
    }

  compare_show_status (self);
}

static void
grid_progress_cb (SqGridRun  *grid,
                  GParamSpec *pspec,
                  Compare    *self)
{
  compare_show_status (self);
}

static void
compare_print_summary (Compare *self)
{
  SqGridRun *grid = self->grid;
  double wall = (g_get_monotonic_time () - self->start_us) / (double) G_USEC_PER_SEC;
  guint n_resumed = sq_grid_run_get_n_resumed (grid);

  compare_clear_status (self);

  if (sq_grid_run_get_n_cells (grid) == 0 && self->setup->n_interrupts > 0)
    {
      fprintf (stdout, "%s\n", _("Canceled before any cell started."));
      fflush (stdout);
      return;
    }

  if (sq_grid_run_get_n_cells (grid) == 0)
    {
      fprintf (stdout, _("Nothing to run: every cell of this grid already has an answer in %s. "
                         "Use --rerun to run them all again.\n"),
               self->project_path);
      fflush (stdout);
      return;
    }

  /* Translators: "36 cells: 35 succeeded, 1 failed, 0 canceled, in 12.3 s." */
  fprintf (stdout, _("%u cells: %u succeeded, %u failed, %u canceled, in %.1f s."),
           sq_grid_run_get_n_cells (grid), sq_grid_run_get_n_done (grid),
           sq_grid_run_get_n_failed (grid), sq_grid_run_get_n_canceled (grid), wall);
  if (n_resumed > 0)
    {
      fputc (' ', stdout);
      fprintf (stdout, ngettext ("%u prediction of an earlier run was resumed.",
                                 "%u predictions of an earlier run were resumed.", n_resumed),
               n_resumed);
    }
  fputc ('\n', stdout);
  fprintf (stdout, _("Saved in %s\n"), self->project_path);
  fflush (stdout);
}

/* Phase 4: the grid */

static void
grid_run_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Compare *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_grid_run_run_finish (SQ_GRID_RUN (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      compare_clear_status (self);
      _sq_cli_printerr ("compare", "%s", error->message);
      self->run_error = g_steal_pointer (&error);
    }

  compare_print_summary (self);
  self->phase = PHASE_DONE;
  g_main_loop_quit (self->loop);
}

static void
compare_start_grid (Compare *self)
{
  self->grid = sq_grid_run_new (self->project, self->setup->client, self->setup->catalog);

  for (guint p = 0; self->prompts[p] != NULL; p++)
    sq_grid_run_add_prompt (self->grid, self->prompts[p]);
  for (guint i = 0; i < self->setup->images->len; i++)
    sq_grid_run_add_image (self->grid, g_ptr_array_index (self->setup->images, i));
  for (guint m = 0; m < self->setup->models->len; m++)
    {
      g_autoptr(GError) error = NULL;

      if (!sq_grid_run_add_model (self->grid, g_ptr_array_index (self->setup->models, m),
                                  g_ptr_array_index (self->setup->settings, m), &error))
        {
          _sq_cli_printerr ("compare", "%s", error->message);
          self->setup_status = SQ_EXIT_USAGE;
          self->phase = PHASE_DONE;
          g_main_loop_quit (self->loop);
          return;
        }
    }

  if (self->jobs > 0)
    sq_grid_run_set_concurrency (self->grid, self->jobs);
  sq_grid_run_set_rerun (self->grid, self->rerun);

  g_signal_connect (self->grid, "cell-finished", G_CALLBACK (grid_cell_finished_cb), self);
  g_signal_connect (self->grid, "notify::n-running", G_CALLBACK (grid_progress_cb), self);
  g_signal_connect (self->grid, "notify::n-cells", G_CALLBACK (grid_progress_cb), self);
  g_signal_connect (self->grid, "notify::eta-seconds", G_CALLBACK (grid_progress_cb), self);

  self->phase = PHASE_GRID;
  self->start_us = g_get_monotonic_time ();
  compare_show_status (self);

  sq_grid_run_run_async (self->grid, self->setup->cancellable, grid_run_cb, self);
}

/* The setup: images, client, models and parameters, as ask does (SqCliSetup). */

static void
setup_show_status_cb (gpointer user_data)
{
  compare_show_status (user_data);
}

static void
setup_clear_status_cb (gpointer user_data)
{
  compare_clear_status (user_data);
}

static void
setup_finished_cb (int      status,
                   gpointer user_data)
{
  Compare *self = user_data;

  if (status >= 0)
    {
      self->setup_status = status;
      self->phase = PHASE_DONE;
      g_main_loop_quit (self->loop);
      return;
    }

  compare_start_grid (self);
}

static const SqCliSetupCallbacks setup_callbacks = {
  setup_show_status_cb,
  setup_clear_status_cb,
  setup_finished_cb,
};

/* Options */

static GOptionContext *
compare_context_new (char     ***models,
                     char     ***images,
                     char     ***prompts,
                     char      **project,
                     int        *jobs,
                     char     ***params,
                     gboolean   *rerun,
                     char     ***rest)
{
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING_ARRAY, models,
      N_("A model: an alias (see “squint models”) or owner/name[:version]; repeat for several. "
         "Default: the models selected in the app, else " DEFAULT_MODEL),
      N_("MODEL") },
    { "image", 'i', 0, G_OPTION_ARG_FILENAME_ARRAY, images,
      N_("An image file or http(s) URL; repeat for several"), N_("IMAGE") },
    { "prompt", 'q', 0, G_OPTION_ARG_STRING_ARRAY, prompts,
      N_("A prompt (question); repeat for several"), N_("PROMPT") },
    { "project", 0, 0, G_OPTION_ARG_FILENAME, project,
      N_("The project file to run the grid into (created if missing)"), N_("FILE") },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, jobs,
      N_("How many predictions run at once (default: the concurrency setting, 4)"), N_("N") },
    { "param", 'p', 0, G_OPTION_ARG_STRING_ARRAY, params,
      N_("A model parameter, e.g. max_new_tokens=100 or temperature=0.2, applied to every "
         "model that takes it; repeat for several"),
      N_("KEY=VALUE") },
    { "rerun", 0, 0, G_OPTION_ARG_NONE, rerun,
      N_("Run every cell again, as a new run, even those that already have an answer"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, rest, NULL, NULL },
    { NULL }
  };
  GOptionContext *context = g_option_context_new (NULL);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
                                _("Asks every model about every image with every prompt, several at once,\n"
                                  "and saves each answer in the project as it streams in. Running the same\n"
                                  "grid on the same project again resumes it: predictions still running\n"
                                  "are picked up by their id, and only cells without an answer run."));
  g_option_context_set_description (context,
                                    _("The API token comes from REPLICATE_API_TOKEN or the keyring, the API\n"
                                      "origin from REPLICATE_BASE_URL or the settings. See the results with\n"
                                      "“squint export FILE”.\n"
                                      "\n"
                                      "Exit status: 0 every cell succeeded, 1 some failed, 2 usage error\n"
                                      "(unknown model, bad parameter, unreadable image, no project), 3\n"
                                      "configuration or authentication error, or a damaged project, 130\n"
                                      "interrupted (Ctrl+C cancels the running predictions, on Replicate too)."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  return context;
}

GOptionContext *
_sq_cli_compare_new_context (void)
{
  static char **unused_models, **unused_images, **unused_prompts, **unused_params, **unused_rest;
  static char *unused_project;
  static int unused_jobs;
  static gboolean unused_rerun;

  return compare_context_new (&unused_models, &unused_images, &unused_prompts, &unused_project,
                              &unused_jobs, &unused_params, &unused_rerun, &unused_rest);
}

static gboolean
compare_check_options (Compare  *self,
                       char    **params,
                       char    **rest)
{
  gboolean ok = TRUE;

  if (rest != NULL && rest[0] != NULL)
    {
      _sq_cli_printerr ("compare", _("Unexpected argument “%s”: give prompts with -q PROMPT."), rest[0]);
      ok = FALSE;
    }

  if (self->prompts == NULL || self->prompts[0] == NULL)
    {
      _sq_cli_printerr ("compare", _("No prompt: give at least one with -q PROMPT."));
      ok = FALSE;
    }
  for (guint p = 0; self->prompts != NULL && self->prompts[p] != NULL; p++)
    {
      g_autofree char *stripped = g_strstrip (g_strdup (self->prompts[p]));

      if (*stripped == '\0')
        {
          _sq_cli_printerr ("compare", _("An empty prompt was given with -q."));
          ok = FALSE;
        }
    }

  if (!_sq_cli_setup_check_images ("compare", self->image_args))
    ok = FALSE;

  if (self->project_path == NULL || self->project_path[0] == '\0')
    {
      _sq_cli_printerr ("compare", _("No project: give the file to save the grid in with --project FILE."));
      ok = FALSE;
    }

  if (self->jobs != -1 && (self->jobs < 1 || self->jobs > 256))
    {
      _sq_cli_printerr ("compare", _("Bad -j %d: give a number of predictions from 1 to 256."), self->jobs);
      ok = FALSE;
    }

  if (!_sq_cli_setup_check_models ("compare", DEFAULT_MODEL, &self->model_names, params,
                                   self->param_keys, self->param_values))
    ok = FALSE;

  return ok;
}

static int
compare_open_project (Compare *self)
{
  g_autoptr(GError) error = NULL;

  if (g_file_test (self->project_path, G_FILE_TEST_IS_DIR))
    {
      _sq_cli_printerr ("compare", _("“%s” is a folder, not a project file."), self->project_path);
      return SQ_EXIT_USAGE;
    }

  self->project = sq_project_open (self->project_path, &error);
  if (self->project == NULL)
    {
      _sq_cli_printerr ("compare", "%s", error->message);
      if (g_error_matches (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_CORRUPT) ||
          g_error_matches (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_TOO_NEW) ||
          g_error_matches (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_READ_ONLY))
        return SQ_EXIT_CONFIG;
      return SQ_EXIT_SOME_FAILED;
    }

  if (sq_project_is_read_only (self->project))
    {
      _sq_cli_printerr ("compare", _("The project “%s” cannot be written: its answers could not be saved."),
                        self->project_path);
      return SQ_EXIT_CONFIG;
    }

  return SQ_EXIT_OK;
}

int
_sq_cli_compare_run (int    argc,
                     char **argv)
{
  g_autoptr(Compare) self = g_new0 (Compare, 1);
  g_autoptr(GOptionContext) context = NULL;
  g_auto(GStrv) params = NULL;
  g_auto(GStrv) rest = NULL;
  int status;

  self->setup_status = -1;
  self->jobs = -1;  /* not given */
  self->param_keys = g_ptr_array_new_with_free_func (g_free);
  self->param_values = g_ptr_array_new_with_free_func (g_free);

  context = compare_context_new (&self->model_names, &self->image_args, &self->prompts,
                                 &self->project_path, &self->jobs, &params, &self->rerun, &rest);
  if (!_sq_cli_parse_options (context, "compare", &argc, &argv))
    return SQ_EXIT_USAGE;

  if (!compare_check_options (self, params, rest))
    {
      fprintf (stderr, "%s\n", _("Run “squint compare --help” to see the options."));
      return SQ_EXIT_USAGE;
    }

  status = compare_open_project (self);
  if (status != SQ_EXIT_OK)
    return status;

  self->stderr_tty = isatty (STDERR_FILENO);
  self->loop = g_main_loop_new (NULL, FALSE);
  self->setup = _sq_cli_setup_new ("compare", self->model_names, self->image_args,
                                   self->param_keys, self->param_values, &setup_callbacks, self);
  self->phase = PHASE_SETUP;

  _sq_cli_setup_start (self->setup);
  g_main_loop_run (self->loop);

  _sq_cli_setup_stop_signals (self->setup);
  compare_clear_status (self);

  return _sq_cli_setup_exit_status (self->setup, self->setup_status, self->auth_failed,
                                    self->run_error != NULL ||
                                    (self->grid != NULL && (sq_grid_run_get_n_failed (self->grid) > 0 ||
                                                            sq_grid_run_get_n_canceled (self->grid) > 0)));
}
