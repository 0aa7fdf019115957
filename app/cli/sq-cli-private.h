/* sq-cli-private.h
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "sq-cli.h"
#include "sq-model-catalog.h"
#include "sq-replicate-client.h"

G_BEGIN_DECLS

/* Exit status after an interruption (Ctrl+C / SIGTERM), as shells use. */
#define SQ_EXIT_INTERRUPTED 130

/* Each subcommand gets argv with argv[0] set to its own name. */
int             _sq_cli_ask_run            (int           argc,
                                            char        **argv);
GOptionContext *_sq_cli_ask_new_context    (void);
int             _sq_cli_models_run         (int           argc,
                                            char        **argv);
GOptionContext *_sq_cli_models_new_context (void);
int             _sq_cli_compare_run        (int           argc,
                                            char        **argv);
GOptionContext *_sq_cli_compare_new_context (void);
int             _sq_cli_export_run         (int           argc,
                                            char        **argv);
GOptionContext *_sq_cli_export_new_context (void);

/* Parses @argv with @context; on failure prints the error and a hint to
 * stderr and returns FALSE. */
gboolean        _sq_cli_parse_options      (GOptionContext *context,
                                            const char     *command,
                                            int            *argc,
                                            char         ***argv);
/* Prints "squint <command>: <message>" to stderr. */
void            _sq_cli_printerr           (const char     *command,
                                            const char     *format,
                                            ...) G_GNUC_PRINTF (2, 3);
/* The exit status an error calls for: SQ_EXIT_CONFIG for configuration
 * and authentication errors, SQ_EXIT_USAGE for bad references, images
 * and parameters, SQ_EXIT_SOME_FAILED for anything else. */
int             _sq_cli_exit_status_for_error (const GError *error);
/* A number the way JSON and people write it ("0.2", "1024"), locale-free. */
char           *_sq_cli_format_double      (double          value);
/* Adds the member @member: @value, or null when @value is NULL. */
void            _sq_cli_json_add_string_or_null (JsonBuilder *builder,
                                                 const char  *member,
                                                 const char  *value);
/* The status line: on stderr, only when stderr is a terminal, taken away
 * before anything else is printed. *@visible says whether it shows. */
void            _sq_cli_status_clear       (gboolean       *visible);
void            _sq_cli_status_show        (gboolean       *visible,
                                            const char     *text);

/* Shared by the commands that ask models (ask, compare). */

/* The models selected in the app, else the default model. (transfer full) */
char          **_sq_cli_default_model_names (const char   *fallback);
/* Each name must be an alias or owner/name[:version]; prints an error for
 * each one that is not. */
gboolean        _sq_cli_check_model_names   (const char   *command,
                                             char * const *names);
/* Splits each -p KEY=VALUE into @keys and @values (element-type utf8);
 * prints an error for each malformed one. */
gboolean        _sq_cli_parse_params        (const char   *command,
                                             char * const *params,
                                             GPtrArray    *keys,
                                             GPtrArray    *values);
gboolean        _sq_cli_is_web_url          (const char   *arg);
/* Loads an -i argument: a file, or an http(s) URL downloaded with
 * *@download_session (made on first use; it sends no credentials).
 * Finish with sq_image_load_finish(). */
void            _sq_cli_load_image_async    (const char          *arg,
                                             SoupSession        **download_session,
                                             GCancellable        *cancellable,
                                             GAsyncReadyCallback  callback,
                                             gpointer             user_data);
/* Prints why the image @arg or the model @name could not be had; returns
 * the exit status that calls for. */
int             _sq_cli_report_image_error  (const char   *command,
                                             const char   *arg,
                                             const GError *error);
int             _sq_cli_report_model_error  (const char   *command,
                                             const char   *name,
                                             const GError *error);
/* The settings of every model in @models (element-type SqModel), by
 * index: the saved defaults, then the -p values. Each -p key must be taken
 * by some model and valid for every model that takes it; prints an error
 * for each that is not. @out_settings gets one (element-type utf8 utf8)
 * GHashTable per model. */
gboolean        _sq_cli_build_settings      (const char   *command,
                                             GPtrArray    *models,
                                             char * const *model_names,
                                             GPtrArray    *keys,
                                             GPtrArray    *values,
                                             GPtrArray    *out_settings);

/* The setup that ask and compare share: the images load (and the model
 * aliases resolve offline, from their built-in schemas or the cache)
 * while nothing is sent; then the client is made (token and base URL);
 * then the other models resolve through the API; then the -p parameters
 * are checked against every model. Errors are reported as they come, with
 * the exit status each calls for. SIGINT and SIGTERM cancel everything;
 * a second one exits at once with SQ_EXIT_INTERRUPTED. */

typedef enum
{
  SQ_CLI_SETUP_IMAGES,
  SQ_CLI_SETUP_CLIENT,
  SQ_CLI_SETUP_MODELS,
  SQ_CLI_SETUP_DONE,
} SqCliSetupPhase;

typedef struct
{
  /* The phase changed, or an interruption came: show it (see
   * _sq_cli_setup_get_status_text()). */
  void (*show_status)  (gpointer user_data);
  /* An error is about to go to stderr: take any status line away. */
  void (*clear_status) (gpointer user_data);
  /* The setup ended: @status is -1 when everything is ready, else the
   * exit status the failure calls for. */
  void (*finished)     (int      status,
                        gpointer user_data);
} SqCliSetupCallbacks;

typedef struct
{
  /* For the command to read. */
  SqCliSetupPhase            phase;
  GCancellable              *cancellable;
  guint                      n_interrupts;
  SqReplicateClient         *client;
  SqModelCatalog            *catalog;       /* the online one, with client */
  GPtrArray                 *models;        /* (element-type SqModel) by model_names index */
  GPtrArray                 *images;        /* (element-type SqImage) by image_args index */
  GPtrArray                 *settings;      /* (element-type GHashTable) model key → value, by model index */

  /* Private. */
  const char                *command;
  char * const              *model_names;   /* unowned */
  char * const              *image_args;    /* unowned */
  GPtrArray                 *param_keys;    /* unowned */
  GPtrArray                 *param_values;  /* unowned */
  const SqCliSetupCallbacks *callbacks;
  gpointer                   user_data;
  guint                      pending;
  int                        status;
  SoupSession               *download_session;
  SqModelCatalog            *offline_catalog;
  guint                      sigint_id;
  guint                      sigterm_id;
} SqCliSetup;

SqCliSetup     *_sq_cli_setup_new             (const char                *command,
                                               char * const              *model_names,
                                               char * const              *image_args,
                                               GPtrArray                 *param_keys,
                                               GPtrArray                 *param_values,
                                               const SqCliSetupCallbacks *callbacks,
                                               gpointer                   user_data);
void            _sq_cli_setup_free            (SqCliSetup                *setup);
/* Starts watching SIGINT and SIGTERM and starts the setup; the callbacks
 * run from the main loop. */
void            _sq_cli_setup_start           (SqCliSetup                *setup);
/* Stops watching SIGINT and SIGTERM. */
void            _sq_cli_setup_stop_signals    (SqCliSetup                *setup);
/* Checks the -i arguments: at least one, none empty. Prints an error for
 * each problem. */
gboolean        _sq_cli_setup_check_images    (const char                *command,
                                               char * const              *image_args);
/* Splits the -p arguments into @keys and @values, replaces no -m with the
 * models selected in the app (else @fallback) and checks the model names.
 * Prints an error for each problem. */
gboolean        _sq_cli_setup_check_models    (const char                *command,
                                               const char                *fallback,
                                               char                    ***model_names,
                                               char * const              *params,
                                               GPtrArray                 *keys,
                                               GPtrArray                 *values);
/* The exit status once the command is over: SQ_EXIT_INTERRUPTED after
 * Ctrl+C, else @setup_status if the setup failed (or ≥ 0), else
 * SQ_EXIT_CONFIG if authentication failed, else SQ_EXIT_SOME_FAILED if
 * @some_failed or standard output cannot be written, else SQ_EXIT_OK. */
int             _sq_cli_setup_exit_status     (SqCliSetup                *setup,
                                               int                        setup_status,
                                               gboolean                   auth_failed,
                                               gboolean                   some_failed);
/* What the status line says while the setup runs, or NULL. */
const char     *_sq_cli_setup_get_status_text (SqCliSetup                *setup);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqCliSetup, _sq_cli_setup_free)

G_END_DECLS
