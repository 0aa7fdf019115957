/* sq-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-application"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-application.h"
#include "sq-compat.h"
#include "sq-preferences-window.h"
#include "sq-window.h"

struct _SqApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;        /* (owned) (nullable) */
  GCancellable   *cancellable;     /* (owned) */
  SqWorkspace    *workspace;       /* (owned) the project, client and catalog */
  SqTokenSource   token_source;
  guint           token_checked : 1;
};

G_DEFINE_FINAL_TYPE (SqApplication, sq_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_TOKEN_SOURCE,
  PROP_TOKEN_CHECKED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const GOptionEntry main_entries[] = {
  { "version", 0, G_OPTION_FLAG_NONE, G_OPTION_ARG_NONE, NULL,
    N_("Show the version and exit"), NULL },
  { NULL }
};

static void
reload_client_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(SqApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  SqTokenSource source;

  g_assert (SQ_IS_APPLICATION (self));

  if (!sq_workspace_reload_client_finish (SQ_WORKSPACE (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* No token is the first-run state, not a problem to report. */
      if (sq_workspace_get_token_source (self->workspace) != SQ_TOKEN_SOURCE_NONE)
        g_message ("%s", error->message);
    }

  /* The workspace keeps the client; here only where the token came from. */
  source = sq_workspace_get_token_source (self->workspace);
  if (self->token_source != source)
    {
      self->token_source = source;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN_SOURCE]);
    }

  if (!self->token_checked)
    {
      self->token_checked = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN_CHECKED]);
    }
}

void
sq_application_reload_token (SqApplication *self)
{
  g_return_if_fail (SQ_IS_APPLICATION (self));

  sq_workspace_reload_client_async (self->workspace, self->cancellable,
                                    reload_client_cb, g_object_ref (self));
}

static void
open_project_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SqApplication) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_workspace_open_project_finish (SQ_WORKSPACE (object), result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
      g_autofree char *message = NULL;

      /* Translators: %s says why the project could not be opened */
      message = g_strdup_printf (_("Could not open the project: %s"), error->message);
      g_warning ("%s", message);
      if (SQ_IS_WINDOW (window))
        sq_window_add_toast (SQ_WINDOW (window), adw_toast_new (message));
    }
}

static GtkWindow *
sq_application_get_main_window (SqApplication *self)
{
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
    {
      if (SQ_IS_WINDOW (l->data))
        return l->data;
    }

  return NULL;
}

static void
sq_application_quit_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  SqApplication *self = user_data;
  g_autoptr(GList) windows = NULL;

  g_assert (SQ_IS_APPLICATION (self));

  /* Close the windows so they save their state. */
  windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));
  for (GList *l = windows; l; l = l->next)
    gtk_window_close (l->data);

  g_application_quit (G_APPLICATION (self));
}

static void
sq_application_preferences_action (GSimpleAction *action,
                                   GVariant      *parameter,
                                   gpointer       user_data)
{
  SqApplication *self = user_data;
  GtkWindow *parent;

  g_assert (SQ_IS_APPLICATION (self));

  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l; l = l->next)
    {
      if (SQ_IS_PREFERENCES_WINDOW (l->data))
        {
          gtk_window_present (l->data);
          return;
        }
    }

  parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (parent == NULL)
    parent = sq_application_get_main_window (self);

  gtk_window_present (GTK_WINDOW (sq_preferences_window_new (self, parent)));
}

static void
sq_application_shortcuts_action (GSimpleAction *action,
                                 GVariant      *parameter,
                                 gpointer       user_data)
{
  SqApplication *self = user_data;
  g_autoptr(GtkBuilder) builder = NULL;
  GtkWindow *shortcuts;
  GtkWindow *parent;

  g_assert (SQ_IS_APPLICATION (self));

  builder = gtk_builder_new_from_resource (RESOURCE_BASE "/ui/sq-shortcuts-window.ui");
  shortcuts = GTK_WINDOW (gtk_builder_get_object (builder, "shortcuts_window"));
  parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  if (parent != NULL)
    gtk_window_set_transient_for (shortcuts, parent);
  gtk_window_set_application (shortcuts, GTK_APPLICATION (self));
  gtk_window_present (shortcuts);
}

static void
sq_application_about_action (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  SqApplication *self = user_data;
  GtkWindow *parent;

  g_assert (SQ_IS_APPLICATION (self));

  parent = sq_application_get_main_window (self);
  if (parent == NULL)
    parent = gtk_application_get_active_window (GTK_APPLICATION (self));

  sq_compat_show_about (parent);
}

static const GActionEntry app_entries[] = {
  { "quit", sq_application_quit_action },
  { "preferences", sq_application_preferences_action },
  { "shortcuts", sq_application_shortcuts_action },
  { "about", sq_application_about_action },
};

static const struct {
  const char *action;
  const char *accels[3];
} app_accels[] = {
  { "app.quit", { "<Control>q", NULL } },
  { "app.preferences", { "<Control>comma", NULL } },
  { "app.shortcuts", { "<Control>question", NULL } },
  { "window.close", { "<Control>w", NULL } },
};

static gint
sq_application_handle_local_options (GApplication *app,
                                     GVariantDict *options)
{
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }

  return G_APPLICATION_CLASS (sq_application_parent_class)->handle_local_options (app, options);
}

static void
sq_application_startup (GApplication *app)
{
  SqApplication *self = SQ_APPLICATION (app);

  g_application_set_resource_base_path (app, RESOURCE_BASE);

  G_APPLICATION_CLASS (sq_application_parent_class)->startup (app);

  gtk_window_set_default_icon_name (APP_ID);

  g_action_map_add_action_entries (G_ACTION_MAP (self),
                                   app_entries, G_N_ELEMENTS (app_entries),
                                   self);
  for (guint i = 0; i < G_N_ELEMENTS (app_accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self),
                                           app_accels[i].action,
                                           app_accels[i].accels);

  self->settings = sq_config_new_settings ();
  if (self->settings == NULL)
    g_warning ("The settings schema %s is not installed; window size and preferences will not be kept",
               SQ_SETTINGS_SCHEMA_ID);

  /* A new base URL means a new client. */
  if (self->settings != NULL)
    g_signal_connect_object (self->settings, "changed::base-url",
                             G_CALLBACK (sq_application_reload_token), self,
                             G_CONNECT_SWAPPED);

  sq_application_reload_token (self);
  sq_workspace_open_project_async (self->workspace, NULL, self->cancellable,
                                   open_project_cb, g_object_ref (self));
}

static void
sq_application_activate (GApplication *app)
{
  SqApplication *self = SQ_APPLICATION (app);
  GtkWindow *window;

  window = sq_application_get_main_window (self);
  if (window == NULL)
    window = GTK_WINDOW (sq_window_new (self));

  gtk_window_present (window);
}

static void
sq_application_shutdown (GApplication *app)
{
  SqApplication *self = SQ_APPLICATION (app);

  g_cancellable_cancel (self->cancellable);

  G_APPLICATION_CLASS (sq_application_parent_class)->shutdown (app);
}

static void
sq_application_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  SqApplication *self = SQ_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_TOKEN_SOURCE:
      g_value_set_uint (value, self->token_source);
      break;

    case PROP_TOKEN_CHECKED:
      g_value_set_boolean (value, self->token_checked);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_application_finalize (GObject *object)
{
  SqApplication *self = SQ_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->workspace);

  G_OBJECT_CLASS (sq_application_parent_class)->finalize (object);
}

static void
sq_application_class_init (SqApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->get_property = sq_application_get_property;
  object_class->finalize = sq_application_finalize;

  app_class->handle_local_options = sq_application_handle_local_options;
  app_class->startup = sq_application_startup;
  app_class->activate = sq_application_activate;
  app_class->shutdown = sq_application_shutdown;

  /* An SqTokenSource. */
  properties[PROP_TOKEN_SOURCE] =
    g_param_spec_uint ("token-source", NULL, NULL,
                       SQ_TOKEN_SOURCE_NONE, SQ_TOKEN_SOURCE_KEYRING, SQ_TOKEN_SOURCE_NONE,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  properties[PROP_TOKEN_CHECKED] =
    g_param_spec_boolean ("token-checked", NULL, NULL,
                          FALSE,
                          (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sq_application_init (SqApplication *self)
{
  self->cancellable = g_cancellable_new ();
  self->workspace = sq_workspace_new ();
  self->token_source = SQ_TOKEN_SOURCE_NONE;

  g_application_add_main_option_entries (G_APPLICATION (self), main_entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self),
                                                     _("[COMMAND …]"));
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("Ask vision language models on Replicate about images and compare their answers.\n"
                                              "\n"
                                              "Without a command, opens the window. Commands run without a display:\n"
                                              "  ask       Ask models about images\n"
                                              "  compare   Run every prompt on every image with every model\n"
                                              "  export    Export a project’s answers and ratings\n"
                                              "  models    List the known models\n"
                                              "\n"
                                              "Run “squint COMMAND --help” for a command’s options."));
}

GSettings *
sq_application_get_settings (SqApplication *self)
{
  g_return_val_if_fail (SQ_IS_APPLICATION (self), NULL);

  return self->settings;
}

SqWorkspace *
sq_application_get_workspace (SqApplication *self)
{
  g_return_val_if_fail (SQ_IS_APPLICATION (self), NULL);

  return self->workspace;
}

SqTokenSource
sq_application_get_token_source (SqApplication *self)
{
  g_return_val_if_fail (SQ_IS_APPLICATION (self), SQ_TOKEN_SOURCE_NONE);

  return self->token_source;
}

gboolean
sq_application_get_token_checked (SqApplication *self)
{
  g_return_val_if_fail (SQ_IS_APPLICATION (self), FALSE);

  return self->token_checked;
}

SqApplication *
sq_application_new (void)
{
  return g_object_new (SQ_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
}
