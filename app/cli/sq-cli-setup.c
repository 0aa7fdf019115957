/* sq-cli-setup.c
 *
 * What `squint ask` and `squint compare` do before they send anything:
 * images, client, models and parameters, each checked locally first
 * (see SqCliSetup in sq-cli-private.h).
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-cli-setup"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "sq-config.h"
#include "sq-error.h"
#include "sq-image.h"
#include "sq-model.h"
#include "sq-model-catalog.h"

#include "sq-cli-private.h"

static void setup_next_phase (SqCliSetup *self);

/* For arrays with holes (what failed to load or resolve). */
static void
object_unref_nullable (gpointer object)
{
  g_clear_object (&object);
}

SqCliSetup *
_sq_cli_setup_new (const char                *command,
                   char * const              *model_names,
                   char * const              *image_args,
                   GPtrArray                 *param_keys,
                   GPtrArray                 *param_values,
                   const SqCliSetupCallbacks *callbacks,
                   gpointer                   user_data)
{
  SqCliSetup *self = g_new0 (SqCliSetup, 1);

  self->command = command;
  self->model_names = model_names;
  self->image_args = image_args;
  self->param_keys = param_keys;
  self->param_values = param_values;
  self->callbacks = callbacks;
  self->user_data = user_data;
  self->status = -1;
  self->phase = SQ_CLI_SETUP_IMAGES;
  self->cancellable = g_cancellable_new ();
  self->models = g_ptr_array_new_with_free_func (object_unref_nullable);
  self->images = g_ptr_array_new_with_free_func (object_unref_nullable);
  self->settings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);

  return self;
}

void
_sq_cli_setup_free (SqCliSetup *self)
{
  _sq_cli_setup_stop_signals (self);
  g_clear_pointer (&self->settings, g_ptr_array_unref);
  g_clear_pointer (&self->models, g_ptr_array_unref);
  g_clear_pointer (&self->images, g_ptr_array_unref);
  g_clear_object (&self->catalog);
  g_clear_object (&self->offline_catalog);
  g_clear_object (&self->client);
  g_clear_object (&self->download_session);
  g_clear_object (&self->cancellable);
  g_free (self);
}

const char *
_sq_cli_setup_get_status_text (SqCliSetup *self)
{
  switch (self->phase)
    {
    case SQ_CLI_SETUP_IMAGES:
      return _("Loading images…");

    case SQ_CLI_SETUP_MODELS:
      return _("Looking up models…");

    case SQ_CLI_SETUP_CLIENT:
    case SQ_CLI_SETUP_DONE:
    default:
      return NULL;
    }
}

static void
setup_show_status (SqCliSetup *self)
{
  self->callbacks->show_status (self->user_data);
}

static void
setup_clear_status (SqCliSetup *self)
{
  self->callbacks->clear_status (self->user_data);
}

static void
setup_set_status (SqCliSetup *self,
                  int         status)
{
  self->status = MAX (self->status, status);
}

static void
setup_op_done (SqCliSetup *self)
{
  g_assert (self->pending > 0);

  if (--self->pending == 0)
    setup_next_phase (self);
}

/* Signals */

static gboolean
setup_signal_cb (gpointer user_data)
{
  SqCliSetup *self = user_data;

  if (self->n_interrupts++ > 0)
    {
      /* The second one: leave now, with whatever was printed (and saved). */
      fflush (stdout);
      fflush (stderr);
      _exit (SQ_EXIT_INTERRUPTED);
    }

  g_debug ("Interrupted: canceling everything");
  g_cancellable_cancel (self->cancellable);
  setup_show_status (self);

  return G_SOURCE_CONTINUE;
}

void
_sq_cli_setup_stop_signals (SqCliSetup *self)
{
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_handle_id (&self->sigterm_id, g_source_remove);
}

/* The models */

typedef struct
{
  SqCliSetup *self;
  guint       index;
} IndexData;

static void
resolve_model_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autofree IndexData *data = user_data;
  SqCliSetup *self = data->self;
  g_autoptr(SqModel) model = NULL;
  g_autoptr(GError) error = NULL;

  model = sq_model_catalog_resolve_finish (SQ_MODEL_CATALOG (object), result, &error);
  if (model != NULL)
    {
      g_ptr_array_index (self->models, data->index) = g_steal_pointer (&model);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      setup_set_status (self, SQ_EXIT_INTERRUPTED);
    }
  else
    {
      setup_clear_status (self);
      setup_set_status (self, _sq_cli_report_model_error (self->command, self->model_names[data->index],
                                                          error));
    }

  setup_op_done (self);
}

/* Resolves the models that are still missing: with @online FALSE only the
 * aliases, from their built-in schemas (or the cache) without the network;
 * with @online TRUE the rest, through the client. */
static void
setup_resolve_models (SqCliSetup *self,
                      gboolean    online)
{
  SqModelCatalog *catalog;

  if (online)
    {
      g_assert (self->client != NULL);
      self->catalog = sq_model_catalog_new (self->client, NULL);
      catalog = self->catalog;
    }
  else
    {
      self->offline_catalog = sq_model_catalog_new (NULL, NULL);
      catalog = self->offline_catalog;
    }

  for (guint m = 0; self->model_names[m] != NULL; m++)
    {
      IndexData *data;

      if (m >= self->models->len)
        g_ptr_array_add (self->models, NULL);

      if (g_ptr_array_index (self->models, m) != NULL)
        continue;
      if (!online && sq_model_alias_lookup (self->model_names[m]) == NULL)
        continue;

      data = g_new0 (IndexData, 1);
      data->self = self;
      data->index = m;
      self->pending++;
      sq_model_catalog_resolve_async (catalog, self->model_names[m], self->cancellable,
                                      resolve_model_cb, data);
    }
}

/* The client (token and base URL) */

static void
create_client_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SqCliSetup *self = user_data;
  g_autoptr(GError) error = NULL;

  self->client = sq_config_create_client_finish (result, &error);
  if (self->client == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          setup_set_status (self, SQ_EXIT_INTERRUPTED);
        }
      else
        {
          setup_clear_status (self);
          _sq_cli_printerr (self->command, "%s", error->message);
          setup_set_status (self, SQ_EXIT_CONFIG);
        }
    }

  setup_op_done (self);
}

/* The images, each decoded before anything is sent */

static void
load_image_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autofree IndexData *data = user_data;
  SqCliSetup *self = data->self;
  g_autoptr(SqImage) image = NULL;
  g_autoptr(GError) error = NULL;

  image = sq_image_load_finish (result, &error);
  if (image != NULL)
    {
      g_ptr_array_index (self->images, data->index) = g_steal_pointer (&image);
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      setup_set_status (self, SQ_EXIT_INTERRUPTED);
    }
  else
    {
      setup_clear_status (self);
      setup_set_status (self, _sq_cli_report_image_error (self->command, self->image_args[data->index],
                                                          error));
    }

  setup_op_done (self);
}

static void
setup_finish (SqCliSetup *self)
{
  self->phase = SQ_CLI_SETUP_DONE;
  self->callbacks->finished (self->status, self->user_data);
}

static void
setup_next_phase (SqCliSetup *self)
{
  setup_clear_status (self);

  if (g_cancellable_is_cancelled (self->cancellable))
    setup_set_status (self, SQ_EXIT_INTERRUPTED);

  if (self->status >= 0)
    {
      setup_finish (self);
      return;
    }

  switch (self->phase)
    {
    case SQ_CLI_SETUP_IMAGES:
      self->phase = SQ_CLI_SETUP_CLIENT;
      setup_show_status (self);
      self->pending++;
      sq_config_create_client_async (self->cancellable, create_client_cb, self);
      break;

    case SQ_CLI_SETUP_CLIENT:
      self->phase = SQ_CLI_SETUP_MODELS;
      setup_show_status (self);
      setup_resolve_models (self, TRUE);
      if (self->pending == 0)
        setup_next_phase (self);
      break;

    case SQ_CLI_SETUP_MODELS:
      /* The parameters, checked against every model before anything is sent. */
      if (!_sq_cli_build_settings (self->command, self->models, self->model_names,
                                   self->param_keys, self->param_values, self->settings))
        setup_set_status (self, SQ_EXIT_USAGE);
      setup_finish (self);
      break;

    case SQ_CLI_SETUP_DONE:
    default:
      g_assert_not_reached ();
    }
}

/* Options */

gboolean
_sq_cli_setup_check_images (const char   *command,
                            char * const *image_args)
{
  gboolean ok = TRUE;

  if (image_args == NULL || image_args[0] == NULL)
    {
      _sq_cli_printerr (command, _("No image: give at least one with -i FILE or -i URL."));
      ok = FALSE;
    }

  for (guint i = 0; image_args != NULL && image_args[i] != NULL; i++)
    {
      if (image_args[i][0] == '\0')
        {
          _sq_cli_printerr (command, _("An empty image name was given with -i."));
          ok = FALSE;
        }
    }

  return ok;
}

gboolean
_sq_cli_setup_check_models (const char    *command,
                            const char    *fallback,
                            char        ***model_names,
                            char * const  *params,
                            GPtrArray     *keys,
                            GPtrArray     *values)
{
  gboolean ok = TRUE;

  if (!_sq_cli_parse_params (command, params, keys, values))
    ok = FALSE;

  if (*model_names == NULL || (*model_names)[0] == NULL)
    {
      g_clear_pointer (model_names, g_strfreev);
      *model_names = _sq_cli_default_model_names (fallback);
    }

  if (!_sq_cli_check_model_names (command, *model_names))
    ok = FALSE;

  return ok;
}

int
_sq_cli_setup_exit_status (SqCliSetup *self,
                           int         setup_status,
                           gboolean    auth_failed,
                           gboolean    some_failed)
{
  int status;

  if (self->n_interrupts > 0)
    status = SQ_EXIT_INTERRUPTED;
  else if (setup_status >= 0)
    status = setup_status;
  else if (auth_failed)
    status = SQ_EXIT_CONFIG;
  else if (some_failed)
    status = SQ_EXIT_SOME_FAILED;
  else
    status = SQ_EXIT_OK;

  if (fflush (stdout) != 0 && status == SQ_EXIT_OK)
    status = SQ_EXIT_SOME_FAILED;

  return status;
}

/* Running */

void
_sq_cli_setup_start (SqCliSetup *self)
{
  g_assert (self->phase == SQ_CLI_SETUP_IMAGES && self->pending == 0);

  self->sigint_id = g_unix_signal_add (SIGINT, setup_signal_cb, self);
  self->sigterm_id = g_unix_signal_add (SIGTERM, setup_signal_cb, self);

  setup_show_status (self);
  setup_resolve_models (self, FALSE);

  for (guint i = 0; self->image_args[i] != NULL; i++)
    {
      IndexData *data = g_new0 (IndexData, 1);

      g_ptr_array_add (self->images, NULL);
      data->self = self;
      data->index = i;
      self->pending++;
      _sq_cli_load_image_async (self->image_args[i], &self->download_session, self->cancellable,
                                load_image_cb, data);
    }
}
