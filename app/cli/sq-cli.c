/* sq-cli.c
 *
 * The headless subcommands: dispatch, usage and the helpers they share.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "sq-config.h"
#include "sq-error.h"
#include "sq-image.h"
#include "sq-model.h"
#include "sq-model-catalog.h"

#include "sq-cli-private.h"

typedef struct
{
  const char      *name;
  int            (*run)         (int    argc,
                                 char **argv);
  GOptionContext *(*new_context) (void);
} SqCliCommand;

static const SqCliCommand commands[] = {
  { "ask", _sq_cli_ask_run, _sq_cli_ask_new_context },
  { "compare", _sq_cli_compare_run, _sq_cli_compare_new_context },
  { "export", _sq_cli_export_run, _sq_cli_export_new_context },
  { "models", _sq_cli_models_run, _sq_cli_models_new_context },
};

static const SqCliCommand *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (g_strcmp0 (commands[i].name, name) == 0)
        return &commands[i];
    }

  return NULL;
}

gboolean
sq_cli_is_subcommand (int    argc,
                      char **argv)
{
  if (argc < 2 || argv[1] == NULL)
    return FALSE;

  return g_strcmp0 (argv[1], "help") == 0 || find_command (argv[1]) != NULL;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "%s\n", _("Usage:"));
  fprintf (out, "  squint [FILE.squint]\n");
  fprintf (out, "  squint ask [-m MODEL]... -i IMAGE... [-p KEY=VALUE]... [--json] PROMPT\n");
  fprintf (out, "  squint compare -m MODEL... -i IMAGE... -q PROMPT... --project FILE [-j N]\n"
                "                 [-p KEY=VALUE]... [--rerun]\n");
  fprintf (out, "  squint export FILE.squint [-f csv|json|jsonl|md|html|ratings-csv|ratings-json] [-o OUT]\n");
  fprintf (out, "  squint models [--json]\n");
  fprintf (out, "  squint help [COMMAND]\n");
  fprintf (out, "\n%s\n", _("Commands:"));
  fprintf (out, "  ask      %s\n", _("Ask one or more models a question about one or more images"));
  fprintf (out, "  compare  %s\n", _("Run every prompt on every image with every model, into a project"));
  fprintf (out, "  export   %s\n", _("Write the results of a project as CSV, JSON, Markdown or HTML"));
  fprintf (out, "  models   %s\n", _("List the known models and their parameters"));
  fprintf (out, "  help     %s\n", _("Show this help, or the help of a command"));
  fprintf (out, "\n%s\n", _("Without a command, Squint opens its window."));
  fprintf (out, "\n%s\n", _("Environment:"));
  fprintf (out, "  REPLICATE_API_TOKEN  %s\n", _("The Replicate API token (else the one stored in the keyring)"));
  fprintf (out, "  REPLICATE_BASE_URL   %s\n", _("The API origin, scheme://host[:port] (default https://api.replicate.com)"));
  fprintf (out, "\n%s\n", _("Exit status:"));
  fprintf (out, "  0    %s\n", _("every answer succeeded"));
  fprintf (out, "  1    %s\n", _("some answers failed"));
  fprintf (out, "  2    %s\n", _("usage error: bad option, unknown model, bad parameter or image"));
  fprintf (out, "  3    %s\n", _("configuration or authentication error"));
  fprintf (out, "  130  %s\n", _("interrupted (Ctrl+C); the answers so far are printed"));
}

static int
run_help (int    argc,
          char **argv)
{
  const SqCliCommand *command;
  g_autoptr(GOptionContext) context = NULL;
  g_autofree char *help = NULL;

  if (argc < 3)
    {
      print_usage (stdout);
      return SQ_EXIT_OK;
    }

  command = find_command (argv[2]);
  if (command == NULL)
    {
      _sq_cli_printerr ("help", _("Unknown command “%s”."), argv[2]);
      print_usage (stderr);
      return SQ_EXIT_USAGE;
    }

  context = command->new_context ();
  help = g_option_context_get_help (context, TRUE, NULL);
  fputs (help, stdout);

  return SQ_EXIT_OK;
}

int
sq_cli_run (int    argc,
            char **argv)
{
  const SqCliCommand *command;
  g_autofree char *prgname = NULL;

  g_return_val_if_fail (argc >= 2, SQ_EXIT_USAGE);

  /* Standard output is for answers; log messages (G_MESSAGES_DEBUG) go to stderr. */
  g_log_writer_default_set_use_stderr (TRUE);

  if (g_strcmp0 (argv[1], "help") == 0)
    {
      if (argc > 2 && find_command (argv[2]) != NULL)
        prgname = g_strdup_printf ("squint %s", argv[2]);
      g_set_prgname (prgname != NULL ? prgname : "squint");
      return run_help (argc, argv);
    }

  command = find_command (argv[1]);
  if (command == NULL)
    {
      print_usage (stderr);
      return SQ_EXIT_USAGE;
    }

  /* So that --help reads "squint ask [OPTION…] PROMPT". */
  prgname = g_strdup_printf ("squint %s", command->name);
  g_set_prgname (prgname);

  return command->run (argc - 1, argv + 1);
}

void
_sq_cli_printerr (const char *command,
                  const char *format,
                  ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  fflush (stdout);
  if (command != NULL)
    fprintf (stderr, "squint %s: %s\n", command, message);
  else
    fprintf (stderr, "squint: %s\n", message);
}

gboolean
_sq_cli_parse_options (GOptionContext   *context,
                       const char       *command,
                       int              *argc,
                       char           ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      _sq_cli_printerr (command, "%s", error->message);
      fprintf (stderr, _("Run “squint %s --help” to see the options."), command);
      fputc ('\n', stderr);
      return FALSE;
    }

  return TRUE;
}

int
_sq_cli_exit_status_for_error (const GError *error)
{
  g_return_val_if_fail (error != NULL, SQ_EXIT_SOME_FAILED);

  if (error->domain == SQ_REPLICATE_ERROR)
    {
      switch ((SqReplicateError) error->code)
        {
        case SQ_REPLICATE_ERROR_CONFIG:
        case SQ_REPLICATE_ERROR_INSECURE:
        case SQ_REPLICATE_ERROR_UNAUTHORIZED:
          return SQ_EXIT_CONFIG;

        case SQ_REPLICATE_ERROR_FAILED:
        case SQ_REPLICATE_ERROR_BILLING:
        case SQ_REPLICATE_ERROR_FORBIDDEN:
        case SQ_REPLICATE_ERROR_NOT_FOUND:
        case SQ_REPLICATE_ERROR_TOO_LARGE:
        case SQ_REPLICATE_ERROR_INVALID:
        case SQ_REPLICATE_ERROR_RATE_LIMITED:
        case SQ_REPLICATE_ERROR_SERVER:
        case SQ_REPLICATE_ERROR_PROTOCOL:
        case SQ_REPLICATE_ERROR_PREDICTION_FAILED:
        case SQ_REPLICATE_ERROR_PREDICTION_ABORTED:
        default:
          return SQ_EXIT_SOME_FAILED;
        }
    }

  if (error->domain == SQ_MODEL_ERROR || error->domain == SQ_IMAGE_ERROR)
    return SQ_EXIT_USAGE;

  return SQ_EXIT_SOME_FAILED;
}

char *
_sq_cli_format_double (double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.15g", value));
}

void
_sq_cli_json_add_string_or_null (JsonBuilder *builder,
                                 const char  *member,
                                 const char  *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

void
_sq_cli_status_clear (gboolean *visible)
{
  if (!*visible)
    return;

  fputs ("\r\033[K", stderr);
  fflush (stderr);
  *visible = FALSE;
}

void
_sq_cli_status_show (gboolean   *visible,
                     const char *text)
{
  _sq_cli_status_clear (visible);
  fputs (text, stderr);
  fflush (stderr);
  *visible = TRUE;
}

/* Shared by ask and compare */

char **
_sq_cli_default_model_names (const char *fallback)
{
  g_autoptr(GSettings) settings = sq_config_new_settings ();
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) names = NULL;

  if (settings != NULL)
    {
      g_object_get (settings, "settings-schema", &schema, NULL);
      if (g_settings_schema_has_key (schema, "selected-models"))
        names = g_settings_get_strv (settings, "selected-models");
    }

  if (names == NULL || names[0] == NULL)
    {
      g_clear_pointer (&names, g_strfreev);
      names = g_new0 (char *, 2);
      names[0] = g_strdup (fallback);
    }

  return g_steal_pointer (&names);
}

gboolean
_sq_cli_check_model_names (const char   *command,
                           char * const *names)
{
  gboolean ok = TRUE;

  for (guint m = 0; names != NULL && names[m] != NULL; m++)
    {
      const char *name = names[m];
      g_autofree char *owner = NULL;
      g_autofree char *model_name = NULL;
      g_autofree char *version = NULL;

      if (sq_model_alias_lookup (name) == NULL &&
          !sq_model_ref_parse (name, &owner, &model_name, &version))
        {
          g_autoptr(GString) aliases = g_string_new (NULL);
          const SqModelAlias *known;
          guint n_known = 0;

          known = sq_model_aliases (&n_known);
          for (guint k = 0; k < n_known; k++)
            g_string_append_printf (aliases, "%s%s", k > 0 ? ", " : "", known[k].alias);

          _sq_cli_printerr (command, _("Unknown model “%s”: give one of %s, or owner/name[:version]."),
                            name, aliases->str);
          ok = FALSE;
        }
    }

  return ok;
}

gboolean
_sq_cli_parse_params (const char   *command,
                      char * const *params,
                      GPtrArray    *keys,
                      GPtrArray    *values)
{
  gboolean ok = TRUE;

  for (guint i = 0; params != NULL && params[i] != NULL; i++)
    {
      const char *eq = strchr (params[i], '=');
      g_autofree char *key = NULL;

      if (eq != NULL)
        key = g_strstrip (g_strndup (params[i], eq - params[i]));

      if (key == NULL || *key == '\0')
        {
          _sq_cli_printerr (command, _("Bad parameter “%s”: write it as KEY=VALUE, e.g. temperature=0.2."),
                            params[i]);
          ok = FALSE;
          continue;
        }

      g_ptr_array_add (keys, g_steal_pointer (&key));
      g_ptr_array_add (values, g_strdup (eq + 1));
    }

  return ok;
}

gboolean
_sq_cli_is_web_url (const char *arg)
{
  return g_ascii_strncasecmp (arg, "http://", 7) == 0 ||
         g_ascii_strncasecmp (arg, "https://", 8) == 0;
}

void
_sq_cli_load_image_async (const char           *arg,
                          SoupSession         **download_session,
                          GCancellable         *cancellable,
                          GAsyncReadyCallback   callback,
                          gpointer              user_data)
{
  if (_sq_cli_is_web_url (arg))
    {
      /* Downloading an image sends no credentials; it is not a Replicate request. */
      if (*download_session == NULL)
        *download_session = soup_session_new_with_options ("user-agent", PACKAGE_NAME "/" PACKAGE_VERSION,
                                                           NULL);
      sq_image_load_uri_async (*download_session, arg, cancellable, callback, user_data);
    }
  else
    {
      g_autoptr(GFile) file = g_file_new_for_commandline_arg (arg);

      sq_image_load_file_async (file, cancellable, callback, user_data);
    }
}

int
_sq_cli_report_image_error (const char   *command,
                            const char   *arg,
                            const GError *error)
{
  if (error->domain == SQ_IMAGE_ERROR)
    _sq_cli_printerr (command, "%s", error->message);
  else
    /* Translators: "Cannot read the image “cat.png”: No such file or directory" */
    _sq_cli_printerr (command, _("Cannot read the image “%s”: %s"), arg, error->message);

  return SQ_EXIT_USAGE;
}

int
_sq_cli_report_model_error (const char   *command,
                            const char   *name,
                            const GError *error)
{
  int status = _sq_cli_exit_status_for_error (error);

  if (g_error_matches (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_NOT_FOUND) ||
      g_error_matches (error, SQ_REPLICATE_ERROR, SQ_REPLICATE_ERROR_FORBIDDEN))
    status = SQ_EXIT_USAGE;

  if (status == SQ_EXIT_USAGE)
    _sq_cli_printerr (command, _("Unknown model “%s”: %s"), name, error->message);
  else
    _sq_cli_printerr (command, _("Could not look up the model “%s”: %s"), name, error->message);

  return status;
}

static void
settings_add_default (GHashTable *settings,
                      SqModel    *model,
                      const char *key,
                      const char *value)
{
  const char *model_key = sq_model_map_setting (model, key);
  g_autoptr(GError) error = NULL;

  if (model_key == NULL ||
      g_strcmp0 (model_key, sq_model_get_prompt_key (model)) == 0 ||
      g_strcmp0 (model_key, sq_model_get_image_key (model)) == 0)
    return;

  /* A saved default this model cannot take is left out, not an error. */
  if (!sq_model_check_setting (model, model_key, value, &error))
    {
      g_debug ("Not applying %s=%s to %s: %s", key, value,
               sq_model_get_display_name (model), error->message);
      return;
    }

  g_hash_table_insert (settings, g_strdup (model_key), g_strdup (value));
}

/* The default generation settings: a value is used when its override-*
 * key is on. */
static void
settings_add_overrides (GHashTable *settings,
                        SqModel    *model,
                        GSettings  *gsettings)
{
  static const char * const generic[] = {
    SQ_SETTING_MAX_NEW_TOKENS,
    SQ_SETTING_TEMPERATURE,
    SQ_SETTING_TOP_P,
    SQ_SETTING_NUM_BEAMS,
    SQ_SETTING_REPETITION_PENALTY,
  };
  g_autoptr(GSettingsSchema) schema = NULL;

  g_object_get (gsettings, "settings-schema", &schema, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (generic); i++)
    {
      g_autofree char *key = g_strdelimit (g_strdup (generic[i]), "_", '-');
      g_autofree char *override_key = g_strconcat ("override-", key, NULL);
      g_autoptr(GVariant) value = NULL;
      g_autofree char *text = NULL;

      if (!g_settings_schema_has_key (schema, override_key) ||
          !g_settings_schema_has_key (schema, key) ||
          !g_settings_get_boolean (gsettings, override_key))
        continue;

      value = g_settings_get_value (gsettings, key);
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
        text = g_strdup_printf ("%d", g_variant_get_int32 (value));
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
        text = _sq_cli_format_double (g_variant_get_double (value));
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        text = g_variant_dup_string (value, NULL);
      else
        continue;

      settings_add_default (settings, model, generic[i], text);
    }
}

/* The per-model settings saved by the window ("model-settings"), by
 * reference or alias. */
static void
settings_add_model_settings (GHashTable *settings,
                             SqModel    *model,
                             const char *name,
                             GSettings  *gsettings)
{
  const char *names[] = { sq_model_get_ref (model), sq_model_get_alias (model), name };
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GVariant) all = NULL;

  g_object_get (gsettings, "settings-schema", &schema, NULL);
  if (!g_settings_schema_has_key (schema, "model-settings"))
    return;

  all = g_settings_get_value (gsettings, "model-settings");
  if (!g_variant_is_of_type (all, G_VARIANT_TYPE ("a{sa{ss}}")))
    return;

  for (guint n = 0; n < G_N_ELEMENTS (names); n++)
    {
      g_autoptr(GVariant) params = NULL;
      GVariantIter iter;
      const char *key;
      const char *value;

      if (names[n] == NULL)
        continue;

      params = g_variant_lookup_value (all, names[n], G_VARIANT_TYPE ("a{ss}"));
      if (params == NULL)
        continue;

      g_variant_iter_init (&iter, params);
      while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
        settings_add_default (settings, model, key, value);

      break;
    }
}

gboolean
_sq_cli_build_settings (const char   *command,
                        GPtrArray    *models,
                        char * const *model_names,
                        GPtrArray    *keys,
                        GPtrArray    *values,
                        GPtrArray    *out_settings)
{
  g_autoptr(GSettings) gsettings = sq_config_new_settings ();
  gboolean ok = TRUE;

  for (guint m = 0; m < models->len; m++)
    {
      GHashTable *settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      SqModel *model = g_ptr_array_index (models, m);

      if (gsettings != NULL)
        {
          settings_add_overrides (settings, model, gsettings);
          settings_add_model_settings (settings, model, model_names[m], gsettings);
        }

      g_ptr_array_add (out_settings, settings);
    }

  for (guint p = 0; p < keys->len; p++)
    {
      const char *key = g_ptr_array_index (keys, p);
      const char *value = g_ptr_array_index (values, p);
      gboolean taken = FALSE;

      for (guint m = 0; m < models->len; m++)
        {
          SqModel *model = g_ptr_array_index (models, m);
          GHashTable *settings = g_ptr_array_index (out_settings, m);
          const char *model_key = sq_model_map_setting (model, key);
          g_autoptr(GError) error = NULL;

          /* The prompt or the image key: let the model say why not. */
          if (g_strcmp0 (key, sq_model_get_prompt_key (model)) == 0 ||
              g_strcmp0 (key, sq_model_get_image_key (model)) == 0)
            {
              if (!sq_model_check_setting (model, key, value, &error))
                _sq_cli_printerr (command, "%s", error->message);
              ok = FALSE;
              taken = TRUE;
              break;
            }

          if (model_key == NULL)
            continue;

          taken = TRUE;

          if (!sq_model_check_setting (model, model_key, value, &error))
            {
              /* The message names the model. */
              _sq_cli_printerr (command, "%s", error->message);
              ok = FALSE;
              continue;
            }

          g_hash_table_insert (settings, g_strdup (model_key), g_strdup (value));
        }

      if (!taken)
        {
          g_autoptr(GString) names = g_string_new (NULL);

          for (guint m = 0; m < models->len; m++)
            g_string_append_printf (names, "%s%s", m > 0 ? ", " : "",
                                    sq_model_get_display_name (g_ptr_array_index (models, m)));

          _sq_cli_printerr (command, _("No selected model takes the parameter “%s” (models: %s). "
                                       "Run “squint models” to see their parameters."),
                            key, names->str);
          ok = FALSE;
        }
    }

  return ok;
}
