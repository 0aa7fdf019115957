/* sq-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-application"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "sq-application.h"
#include "sq-compat.h"
#include "sq-preferences-window.h"
#include "sq-window.h"

struct _SqApplication
{
  AdwApplication  parent_instance;

  GSettings      *settings;        /* (owned) (nullable) */
  GCancellable   *cancellable;     /* (owned) */
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
lookup_token_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SqApplication) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  SqTokenSource source = SQ_TOKEN_SOURCE_NONE;

  g_assert (SQ_IS_APPLICATION (self));

  token = sq_config_lookup_token_finish (result, &source, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error != NULL)
    g_message ("%s", error->message);

  /* Only whether there is a token matters here; drop it right away. */
  if (token != NULL)
    memset (token, 0, strlen (token));

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

  sq_config_lookup_token_async (self->cancellable, lookup_token_cb, g_object_ref (self));
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

  sq_application_reload_token (self);
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
