/* sq-preferences-window.c
 *
 * The API token typed here goes straight to the keyring (libsecret) and is
 * dropped from the entry once stored. It is never written to GSettings,
 * never logged and never displayed again.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-preferences-window"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "sq-preferences-window.h"

struct _SqPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  SqApplication        *application;   /* (owned) */
  GCancellable         *cancellable;   /* (owned) */
  char                 *keyring_error; /* (owned) (nullable) */
  guint                 has_stored_token : 1;
  guint                 busy : 1;

  /* Template widgets */
  AdwPasswordEntryRow  *token_row;
  AdwActionRow         *token_status_row;
  GtkButton            *remove_token_button;
  AdwEntryRow          *base_url_row;
  GtkSpinButton        *concurrency_spin;
  AdwExpanderRow       *max_new_tokens_row;
  GtkSpinButton        *max_new_tokens_spin;
  AdwExpanderRow       *temperature_row;
  GtkSpinButton        *temperature_spin;
  AdwExpanderRow       *top_p_row;
  GtkSpinButton        *top_p_spin;
  AdwExpanderRow       *num_beams_row;
  GtkSpinButton        *num_beams_spin;
  AdwExpanderRow       *repetition_penalty_row;
  GtkSpinButton        *repetition_penalty_spin;
};

G_DEFINE_FINAL_TYPE (SqPreferencesWindow, sq_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
sq_preferences_window_toast (SqPreferencesWindow *self,
                             const char          *title)
{
  AdwToast *toast = adw_toast_new (title);

  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), toast);
}

static void
sq_preferences_window_update_token_state (SqPreferencesWindow *self)
{
  gboolean from_env;

  g_assert (SQ_IS_PREFERENCES_WINDOW (self));

  from_env = sq_config_get_env_token () != NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->token_row), !from_env && !self->busy);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "prefs.remove-token",
                                 self->has_stored_token && !self->busy);
  gtk_widget_set_visible (GTK_WIDGET (self->remove_token_button), self->has_stored_token);

  if (from_env && self->has_stored_token)
    adw_action_row_set_subtitle (self->token_status_row,
                                 _("The REPLICATE_API_TOKEN environment variable is used instead of the token saved in the keyring"));
  else if (from_env)
    adw_action_row_set_subtitle (self->token_status_row,
                                 _("The REPLICATE_API_TOKEN environment variable is used"));
  else if (self->has_stored_token)
    adw_action_row_set_subtitle (self->token_status_row,
                                 _("Saved in the keyring"));
  else if (self->keyring_error != NULL)
    adw_action_row_set_subtitle (self->token_status_row, self->keyring_error);
  else
    adw_action_row_set_subtitle (self->token_status_row,
                                 _("No token yet: paste one above and press the apply button"));
}

static void
token_lookup_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SqPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;

  token = sq_token_store_lookup_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  g_clear_pointer (&self->keyring_error, g_free);
  if (error != NULL)
    self->keyring_error = g_strdup (error->message);

  self->has_stored_token = token != NULL;
  if (token != NULL)
    memset (token, 0, strlen (token));

  sq_preferences_window_update_token_state (self);
}

static void
token_save_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(SqPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_token_store_save_finish (result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      self->busy = FALSE;
      sq_preferences_window_update_token_state (self);
      sq_preferences_window_toast (self, error->message);
      return;
    }

  self->busy = FALSE;
  self->has_stored_token = TRUE;
  g_clear_pointer (&self->keyring_error, g_free);

  /* The token is in the keyring now; do not keep it in the entry. */
  gtk_editable_set_text (GTK_EDITABLE (self->token_row), "");

  sq_preferences_window_update_token_state (self);
  sq_preferences_window_toast (self, _("API token saved in the keyring"));
  sq_application_reload_token (self->application);
}

static void
token_row_apply_cb (SqPreferencesWindow *self,
                    AdwEntryRow         *row)
{
  g_autofree char *token = NULL;

  g_assert (SQ_IS_PREFERENCES_WINDOW (self));

  token = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));
  if (token[0] == '\0')
    return;

  self->busy = TRUE;
  sq_preferences_window_update_token_state (self);

  sq_token_store_save_async (token, self->cancellable, token_save_cb, g_object_ref (self));
  memset (token, 0, strlen (token));
}

static void
token_clear_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(SqPreferencesWindow) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!sq_token_store_clear_finish (result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;

      self->busy = FALSE;
      sq_preferences_window_update_token_state (self);
      sq_preferences_window_toast (self, error->message);
      return;
    }

  self->busy = FALSE;
  self->has_stored_token = FALSE;
  sq_preferences_window_update_token_state (self);
  sq_preferences_window_toast (self, _("API token removed from the keyring"));
  sq_application_reload_token (self->application);
}

static void
sq_preferences_window_remove_token_action (GtkWidget  *widget,
                                           const char *action_name,
                                           GVariant   *parameter)
{
  SqPreferencesWindow *self = SQ_PREFERENCES_WINDOW (widget);

  self->busy = TRUE;
  sq_preferences_window_update_token_state (self);

  sq_token_store_clear_async (self->cancellable, token_clear_cb, g_object_ref (self));
}

static void
base_url_row_changed_cb (SqPreferencesWindow *self,
                         AdwEntryRow         *row)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert (SQ_IS_PREFERENCES_WINDOW (self));

  text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (row))));

  if (sq_config_check_base_url (text, &error))
    {
      gtk_widget_remove_css_class (GTK_WIDGET (row), "error");
      gtk_widget_set_tooltip_text (GTK_WIDGET (row), NULL);
      gtk_accessible_reset_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
      gtk_accessible_reset_state (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_STATE_INVALID);
    }
  else
    {
      gtk_widget_add_css_class (GTK_WIDGET (row), "error");
      gtk_widget_set_tooltip_text (GTK_WIDGET (row), error->message);
      gtk_accessible_update_property (GTK_ACCESSIBLE (row),
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, error->message,
                                      -1);
      gtk_accessible_update_state (GTK_ACCESSIBLE (row),
                                   GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE,
                                   -1);
    }
}

static gboolean
base_url_get_mapping (GValue   *value,
                      GVariant *variant,
                      gpointer  user_data)
{
  g_value_set_string (value, g_variant_get_string (variant, NULL));

  return TRUE;
}

/* Only URLs that may carry the token are written to the settings; the
 * entry shows the error style for the others. */
static GVariant *
base_url_set_mapping (const GValue       *value,
                      const GVariantType *expected_type,
                      gpointer            user_data)
{
  g_autofree char *text = g_strstrip (g_value_dup_string (value));

  if (!sq_config_check_base_url (text, NULL))
    return NULL;

  return g_variant_new_string (text);
}

static void
sq_preferences_window_bind_settings (SqPreferencesWindow *self,
                                     GSettings           *settings)
{
  static const struct {
    const char *override_key;
    const char *value_key;
    gsize       row_offset;
    gsize       spin_offset;
  } generation[] = {
    { "override-max-new-tokens", "max-new-tokens",
      G_STRUCT_OFFSET (SqPreferencesWindow, max_new_tokens_row),
      G_STRUCT_OFFSET (SqPreferencesWindow, max_new_tokens_spin) },
    { "override-temperature", "temperature",
      G_STRUCT_OFFSET (SqPreferencesWindow, temperature_row),
      G_STRUCT_OFFSET (SqPreferencesWindow, temperature_spin) },
    { "override-top-p", "top-p",
      G_STRUCT_OFFSET (SqPreferencesWindow, top_p_row),
      G_STRUCT_OFFSET (SqPreferencesWindow, top_p_spin) },
    { "override-num-beams", "num-beams",
      G_STRUCT_OFFSET (SqPreferencesWindow, num_beams_row),
      G_STRUCT_OFFSET (SqPreferencesWindow, num_beams_spin) },
    { "override-repetition-penalty", "repetition-penalty",
      G_STRUCT_OFFSET (SqPreferencesWindow, repetition_penalty_row),
      G_STRUCT_OFFSET (SqPreferencesWindow, repetition_penalty_spin) },
  };

  g_settings_bind_with_mapping (settings, "base-url",
                                self->base_url_row, "text",
                                G_SETTINGS_BIND_DEFAULT,
                                base_url_get_mapping,
                                base_url_set_mapping,
                                NULL, NULL);
  g_settings_bind (settings, "concurrency",
                   self->concurrency_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);

  for (guint i = 0; i < G_N_ELEMENTS (generation); i++)
    {
      GObject *row = G_STRUCT_MEMBER (GObject *, self, generation[i].row_offset);
      GObject *spin = G_STRUCT_MEMBER (GObject *, self, generation[i].spin_offset);

      g_settings_bind (settings, generation[i].override_key, row, "enable-expansion",
                       G_SETTINGS_BIND_DEFAULT);
      g_settings_bind (settings, generation[i].value_key, spin, "value",
                       G_SETTINGS_BIND_DEFAULT);
    }
}

/* AdwEntryRow 1.2 does not give its text field an accessible name. */
static void
label_entry_row (AdwEntryRow *row)
{
  GtkEditable *text = gtk_editable_get_delegate (GTK_EDITABLE (row));

  if (text != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (text),
                                    GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)),
                                    -1);
}

static void
sq_preferences_window_load (SqPreferencesWindow *self)
{
  GSettings *settings;
  const char *env_base_url;

  g_assert (SQ_IS_PREFERENCES_WINDOW (self));

  label_entry_row (ADW_ENTRY_ROW (self->token_row));
  label_entry_row (self->base_url_row);

  settings = sq_application_get_settings (self->application);
  if (settings != NULL)
    sq_preferences_window_bind_settings (self, settings);
  else
    gtk_widget_set_sensitive (GTK_WIDGET (self->base_url_row), FALSE);

  env_base_url = g_getenv ("REPLICATE_BASE_URL");
  if (env_base_url != NULL && env_base_url[0] != '\0')
    {
      gtk_widget_set_sensitive (GTK_WIDGET (self->base_url_row), FALSE);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->base_url_row),
                                   _("The REPLICATE_BASE_URL environment variable is used"));
    }
  base_url_row_changed_cb (self, self->base_url_row);

  sq_preferences_window_update_token_state (self);
  sq_token_store_lookup_async (self->cancellable, token_lookup_cb, g_object_ref (self));
}

static void
sq_preferences_window_dispose (GObject *object)
{
  SqPreferencesWindow *self = SQ_PREFERENCES_WINDOW (object);

  g_cancellable_cancel (self->cancellable);

  gtk_widget_dispose_template (GTK_WIDGET (self), SQ_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (sq_preferences_window_parent_class)->dispose (object);
}

static void
sq_preferences_window_finalize (GObject *object)
{
  SqPreferencesWindow *self = SQ_PREFERENCES_WINDOW (object);

  g_clear_object (&self->application);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->keyring_error, g_free);

  G_OBJECT_CLASS (sq_preferences_window_parent_class)->finalize (object);
}

static void
sq_preferences_window_class_init (SqPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sq_preferences_window_dispose;
  object_class->finalize = sq_preferences_window_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, token_row);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, token_status_row);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, remove_token_button);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, base_url_row);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, concurrency_spin);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, max_new_tokens_row);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, max_new_tokens_spin);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, temperature_row);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, temperature_spin);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, top_p_row);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, top_p_spin);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, num_beams_row);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, num_beams_spin);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, repetition_penalty_row);
  gtk_widget_class_bind_template_child (widget_class, SqPreferencesWindow, repetition_penalty_spin);
  gtk_widget_class_bind_template_callback (widget_class, token_row_apply_cb);
  gtk_widget_class_bind_template_callback (widget_class, base_url_row_changed_cb);

  gtk_widget_class_install_action (widget_class, "prefs.remove-token", NULL,
                                   sq_preferences_window_remove_token_action);
}

static void
sq_preferences_window_init (SqPreferencesWindow *self)
{
  self->cancellable = g_cancellable_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
}

SqPreferencesWindow *
sq_preferences_window_new (SqApplication *application,
                           GtkWindow     *parent)
{
  SqPreferencesWindow *self;

  g_return_val_if_fail (SQ_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  self = g_object_new (SQ_TYPE_PREFERENCES_WINDOW,
                       "application", application,
                       "transient-for", parent,
                       NULL);
  self->application = g_object_ref (application);
  sq_preferences_window_load (self);

  return self;
}
