/* sq-model-picker.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-model-picker"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "sq-config.h"
#include "sq-error.h"
#include "sq-model-catalog.h"
#include "sq-model-picker.h"

typedef struct
{
  SqModelPicker *picker;      /* (unowned) */
  char          *name;        /* alias or the reference it was added by */
  SqModel       *model;       /* (owned) (nullable): NULL while resolving or failed */
  GError        *error;       /* (owned) (nullable) */
  gboolean       custom;
  gboolean       selected;
  GtkWidget     *row;         /* (unowned) */
  GtkWidget     *check;       /* (unowned) */
  GtkWidget     *settings_button; /* (unowned) */
  GtkWidget     *spinner;     /* (unowned) */
} Entry;

struct _SqModelPicker
{
  GtkWidget     parent_instance;

  /* Template widgets */
  GtkBox       *box;
  GtkListBox   *list_box;
  GtkEntry     *add_entry;
  GtkStack     *add_stack;
  GtkButton    *add_button;
  GtkSpinner   *add_spinner;
  GtkLabel     *add_error;

  SqWorkspace  *workspace;    /* (owned) (nullable) */
  GSettings    *settings;     /* (owned) (nullable) */
  GCancellable *cancellable;  /* (owned) cancelled when the list is rebuilt */
  GPtrArray    *entries;      /* (owned) (element-type Entry) */
  guint         n_selected;
  gboolean      constructed;
};

G_DEFINE_FINAL_TYPE (SqModelPicker, sq_model_picker, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_WORKSPACE,
  PROP_SETTINGS,
  PROP_N_SELECTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void sq_model_picker_rebuild (SqModelPicker *self);

static void
entry_free (Entry *entry)
{
  g_clear_pointer (&entry->name, g_free);
  g_clear_object (&entry->model);
  g_clear_error (&entry->error);
  g_free (entry);
}

static Entry *
sq_model_picker_find (SqModelPicker *self,
                      const char    *name)
{
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (g_strcmp0 (entry->name, name) == 0)
        return entry;
    }

  return NULL;
}

static gboolean
sq_model_picker_has_key (SqModelPicker *self,
                         const char    *key)
{
  g_autoptr(GSettingsSchema) schema = NULL;

  if (self->settings == NULL)
    return FALSE;

  g_object_get (self->settings, "settings-schema", &schema, NULL);

  return schema != NULL && g_settings_schema_has_key (schema, key);
}

/* --- stored settings (model-settings a{sa{ss}}) ------------------- */

/* (transfer full) (element-type utf8 utf8) */
static GHashTable *
sq_model_picker_load_model_settings (SqModelPicker *self,
                                     const char    *name)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GVariant) all = NULL;
  g_autoptr(GVariant) params = NULL;
  GVariantIter iter;
  const char *key;
  const char *value;

  if (!sq_model_picker_has_key (self, "model-settings"))
    return table;

  all = g_settings_get_value (self->settings, "model-settings");
  params = g_variant_lookup_value (all, name, G_VARIANT_TYPE ("a{ss}"));
  if (params == NULL)
    return table;

  g_variant_iter_init (&iter, params);
  while (g_variant_iter_next (&iter, "{&s&s}", &key, &value))
    g_hash_table_insert (table, g_strdup (key), g_strdup (value));

  return table;
}

/* Replaces the settings of @name with @table (NULL or empty removes them). */
static void
sq_model_picker_store_model_settings (SqModelPicker *self,
                                      const char    *name,
                                      GHashTable    *table)
{
  g_autoptr(GVariant) all = NULL;
  GVariantBuilder builder;
  GVariantIter iter;
  const char *other;
  GVariant *params;

  if (!sq_model_picker_has_key (self, "model-settings"))
    return;

  all = g_settings_get_value (self->settings, "model-settings");
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sa{ss}}"));

  g_variant_iter_init (&iter, all);
  while (g_variant_iter_next (&iter, "{&s@a{ss}}", &other, &params))
    {
      if (g_strcmp0 (other, name) != 0)
        g_variant_builder_add (&builder, "{s@a{ss}}", other, params);
      g_variant_unref (params);
    }

  if (table != NULL && g_hash_table_size (table) > 0)
    {
      g_autofree gpointer *keys = NULL;
      GVariantBuilder inner;
      guint n_keys;

      keys = g_hash_table_get_keys_as_array (table, &n_keys);
      g_qsort_with_data (keys, n_keys, sizeof (gpointer),
                         (GCompareDataFunc) (void (*) (void)) g_strcmp0, NULL);
      g_variant_builder_init (&inner, G_VARIANT_TYPE ("a{ss}"));
      for (guint i = 0; i < n_keys; i++)
        g_variant_builder_add (&inner, "{ss}", (const char *) keys[i],
                               (const char *) g_hash_table_lookup (table, keys[i]));
      g_variant_builder_add (&builder, "{sa{ss}}", name, &inner);
    }

  g_settings_set_value (self->settings, "model-settings", g_variant_builder_end (&builder));
}

static void
sq_model_picker_store_setting (SqModelPicker *self,
                               const char    *name,
                               const char    *key,
                               const char    *value)
{
  g_autoptr(GHashTable) table = sq_model_picker_load_model_settings (self, name);

  if (value != NULL)
    g_hash_table_insert (table, g_strdup (key), g_strdup (value));
  else
    g_hash_table_remove (table, key);

  sq_model_picker_store_model_settings (self, name, table);
}

static void
sq_model_picker_save_selection (SqModelPicker *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) names = NULL;

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->selected)
        g_strv_builder_add (builder, entry->name);
    }

  names = g_strv_builder_end (builder);
  if (sq_model_picker_has_key (self, "selected-models"))
    g_settings_set_strv (self->settings, "selected-models", (const char * const *) names);
}

static void
sq_model_picker_update_n_selected (SqModelPicker *self)
{
  guint n = 0;

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->selected && entry->model != NULL)
        n++;
    }

  if (n != self->n_selected)
    {
      self->n_selected = n;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_SELECTED]);
    }
}

/* --- the settings popover ------------------------------------------ */

static char *
format_number (double value,
               guint  digits)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  double scale = pow (10, digits);

  value = round (value * scale) / scale;
  return g_strdup (g_ascii_dtostr (buf, sizeof buf, value));
}

/* The value the schema gives as default, as a string (or NULL). */
static char *
param_default_string (const SqModelParam *param)
{
  JsonNode *node = param->default_value;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    case G_TYPE_DOUBLE:
      return format_number (json_node_get_double (node), 6);
    case G_TYPE_STRING:
      return g_strdup (json_node_get_string (node));
    default:
      return NULL;
    }
}

static void
control_changed (GtkWidget  *control,
                 const char *value)
{
  Entry *entry = g_object_get_data (G_OBJECT (control), "sq-entry");
  const char *key = g_object_get_data (G_OBJECT (control), "sq-key");
  g_autoptr(GError) error = NULL;

  if (entry == NULL || entry->model == NULL)
    return;

  if (!sq_model_check_setting (entry->model, key, value, &error))
    {
      gtk_widget_add_css_class (control, "error");
      gtk_widget_set_tooltip_text (control, error->message);
      return;
    }

  gtk_widget_remove_css_class (control, "error");
  gtk_widget_set_tooltip_text (control, NULL);
  sq_model_picker_store_setting (entry->picker, entry->name, key, value);
}

static void
spin_value_changed_cb (GtkSpinButton *spin)
{
  g_autofree char *value = format_number (gtk_spin_button_get_value (spin),
                                          gtk_spin_button_get_digits (spin));

  control_changed (GTK_WIDGET (spin), value);
}

static void
switch_active_cb (GtkSwitch  *toggle,
                  GParamSpec *pspec)
{
  control_changed (GTK_WIDGET (toggle), gtk_switch_get_active (toggle) ? "true" : "false");
}

static void
dropdown_selected_cb (GtkDropDown *dropdown,
                      GParamSpec  *pspec)
{
  GtkStringObject *item = gtk_drop_down_get_selected_item (dropdown);

  if (item != NULL)
    control_changed (GTK_WIDGET (dropdown), gtk_string_object_get_string (item));
}

static void
text_changed_cb (GtkEditable *editable)
{
  const char *text = gtk_editable_get_text (editable);

  control_changed (GTK_WIDGET (editable), text);
}

static GtkWidget *
create_control (Entry              *entry,
                const SqModelParam *param,
                const char         *current)
{
  GtkWidget *control = NULL;
  const char *title = param->title != NULL ? param->title : param->key;

  switch (param->type)
    {
    case SQ_PARAM_INTEGER:
    case SQ_PARAM_NUMBER:
      {
        gboolean integer = param->type == SQ_PARAM_INTEGER;
        double min = param->has_minimum ? param->minimum : (integer ? -1000000 : -1000000.0);
        double max = param->has_maximum ? param->maximum : (integer ? 1000000 : 1000000.0);
        double step = integer ? 1 : (max - min <= 2.0 ? 0.01 : 0.1);
        guint digits = integer ? 0 : 2;

        control = gtk_spin_button_new_with_range (min, max, step);
        gtk_spin_button_set_digits (GTK_SPIN_BUTTON (control), digits);
        gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (control), TRUE);
        if (current != NULL)
          gtk_spin_button_set_value (GTK_SPIN_BUTTON (control), g_ascii_strtod (current, NULL));
        g_signal_connect (control, "value-changed", G_CALLBACK (spin_value_changed_cb), NULL);
        break;
      }

    case SQ_PARAM_BOOLEAN:
      control = gtk_switch_new ();
      gtk_widget_set_halign (control, GTK_ALIGN_END);
      gtk_switch_set_active (GTK_SWITCH (control), g_strcmp0 (current, "true") == 0);
      g_signal_connect (control, "notify::active", G_CALLBACK (switch_active_cb), NULL);
      break;

    case SQ_PARAM_ENUM:
      {
        guint selected = 0;

        control = gtk_drop_down_new_from_strings ((const char * const *) param->choices);
        for (guint i = 0; param->choices != NULL && param->choices[i] != NULL; i++)
          {
            if (g_strcmp0 (param->choices[i], current) == 0)
              selected = i;
          }
        gtk_drop_down_set_selected (GTK_DROP_DOWN (control), selected);
        g_signal_connect (control, "notify::selected", G_CALLBACK (dropdown_selected_cb), NULL);
        break;
      }

    case SQ_PARAM_STRING:
      control = gtk_entry_new ();
      gtk_editable_set_text (GTK_EDITABLE (control), current != NULL ? current : "");
      gtk_editable_set_width_chars (GTK_EDITABLE (control), 12);
      g_signal_connect (control, "changed", G_CALLBACK (text_changed_cb), NULL);
      break;

    case SQ_PARAM_URI:
    case SQ_PARAM_ARRAY:
    default:
      return NULL;
    }

  gtk_widget_set_valign (control, GTK_ALIGN_CENTER);
  gtk_accessible_update_property (GTK_ACCESSIBLE (control),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                  -1);
  if (param->description != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (control),
                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, param->description,
                                    -1);
  /* Set last, so that setting the initial value stores nothing. */
  g_object_set_data (G_OBJECT (control), "sq-entry", entry);
  g_object_set_data_full (G_OBJECT (control), "sq-key", g_strdup (param->key), g_free);

  return control;
}

static void fill_settings_popover (Entry      *entry,
                                   GtkPopover *popover);

static void
reset_clicked_cb (GtkButton *button,
                  gpointer   user_data)
{
  Entry *entry = user_data;
  GtkWidget *popover = gtk_widget_get_ancestor (GTK_WIDGET (button), GTK_TYPE_POPOVER);

  sq_model_picker_store_model_settings (entry->picker, entry->name, NULL);
  if (popover != NULL)
    fill_settings_popover (entry, GTK_POPOVER (popover));
}

static void
fill_settings_popover (Entry      *entry,
                       GtkPopover *popover)
{
  g_autoptr(GHashTable) stored = NULL;
  g_autofree char *heading_text = NULL;
  GtkWidget *scrolled;
  GtkWidget *outer;
  GtkWidget *heading;
  GtkWidget *grid;
  GtkWidget *reset;
  GPtrArray *params;
  int row = 0;

  stored = sq_model_picker_load_model_settings (entry->picker, entry->name);
  params = sq_model_get_params (entry->model);

  outer = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_margin_top (outer, 6);
  gtk_widget_set_margin_bottom (outer, 6);
  gtk_widget_set_margin_start (outer, 6);
  gtk_widget_set_margin_end (outer, 6);

  /* Translators: the heading of a model's settings popover */
  heading_text = g_strdup_printf (_("%s Settings"), sq_model_get_display_name (entry->model));
  heading = gtk_label_new (heading_text);
  gtk_widget_add_css_class (heading, "heading");
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_box_append (GTK_BOX (outer), heading);

  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 6);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);

  for (guint i = 0; i < params->len; i++)
    {
      const SqModelParam *param = g_ptr_array_index (params, i);
      g_autofree char *fallback = NULL;
      const char *current;
      GtkWidget *control;
      GtkWidget *label;

      if (param->secret)
        continue;

      current = g_hash_table_lookup (stored, param->key);
      if (current == NULL)
        current = fallback = param_default_string (param);

      control = create_control (entry, param, current);
      if (control == NULL)
        continue;

      label = gtk_label_new (param->title != NULL ? param->title : param->key);
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_widget_set_hexpand (label, TRUE);
      if (param->description != NULL)
        {
          gtk_widget_set_tooltip_text (label, param->description);
          gtk_widget_set_tooltip_text (control, param->description);
        }
      gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
      gtk_grid_attach (GTK_GRID (grid), control, 1, row, 1, 1);
      row++;
    }

  if (row == 0)
    {
      GtkWidget *none = gtk_label_new (_("This model has no settings."));

      gtk_widget_add_css_class (none, "dim-label");
      gtk_grid_attach (GTK_GRID (grid), none, 0, 0, 2, 1);
    }

  scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled),
                                  GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scrolled), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scrolled), 420);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), grid);
  gtk_box_append (GTK_BOX (outer), scrolled);

  reset = gtk_button_new_with_mnemonic (_("_Reset to Defaults"));
  gtk_widget_set_halign (reset, GTK_ALIGN_END);
  gtk_widget_set_sensitive (reset, row > 0);
  g_signal_connect (reset, "clicked", G_CALLBACK (reset_clicked_cb), entry);
  gtk_box_append (GTK_BOX (outer), reset);

  gtk_popover_set_child (popover, outer);
}

static void
settings_popup_cb (GtkMenuButton *button,
                   gpointer       user_data)
{
  Entry *entry = user_data;
  GtkWidget *popover;

  if (entry->model == NULL)
    return;

  popover = gtk_popover_new ();
  fill_settings_popover (entry, GTK_POPOVER (popover));
  gtk_menu_button_set_popover (button, popover);
}

/* --- rows ---------------------------------------------------------- */

static void
check_toggled_cb (GtkCheckButton *check,
                  gpointer        user_data)
{
  Entry *entry = user_data;
  gboolean active = gtk_check_button_get_active (check);

  if (entry->selected == active)
    return;

  entry->selected = active;
  sq_model_picker_save_selection (entry->picker);
  sq_model_picker_update_n_selected (entry->picker);
}

static void
remove_clicked_cb (GtkButton *button,
                   gpointer   user_data)
{
  Entry *entry = user_data;
  SqModelPicker *self = entry->picker;
  g_autofree char *name = g_strdup (entry->name);

  if (sq_model_picker_has_key (self, "custom-models"))
    {
      g_auto(GStrv) customs = g_settings_get_strv (self->settings, "custom-models");
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) kept = NULL;

      for (guint i = 0; customs[i] != NULL; i++)
        {
          if (g_strcmp0 (customs[i], name) != 0)
            g_strv_builder_add (builder, customs[i]);
        }
      kept = g_strv_builder_end (builder);
      g_settings_set_strv (self->settings, "custom-models", (const char * const *) kept);
    }

  gtk_list_box_remove (self->list_box, entry->row);
  g_ptr_array_remove (self->entries, entry);
  sq_model_picker_save_selection (self);
  sq_model_picker_store_model_settings (self, name, NULL);
  sq_model_picker_update_n_selected (self);
}

static void
entry_update_row (Entry *entry)
{
  AdwActionRow *row = ADW_ACTION_ROW (entry->row);
  g_autofree char *subtitle = NULL;

  if (entry->model != NULL)
    {
      if (sq_model_get_alias (entry->model) != NULL)
        subtitle = g_strdup_printf ("%s/%s", sq_model_get_owner (entry->model),
                                    sq_model_get_name (entry->model));
      else
        subtitle = g_strdup (sq_model_get_ref (entry->model));
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                     sq_model_get_display_name (entry->model));
    }
  else if (entry->error != NULL)
    subtitle = g_strdup (entry->error->message);
  else
    subtitle = g_strdup (_("Looking up…"));

  adw_action_row_set_subtitle (row, subtitle);
  gtk_widget_set_sensitive (entry->check, entry->model != NULL);
  gtk_widget_set_sensitive (entry->settings_button, entry->model != NULL);
  gtk_widget_set_visible (entry->spinner, entry->model == NULL && entry->error == NULL);
  gtk_spinner_set_spinning (GTK_SPINNER (entry->spinner),
                            entry->model == NULL && entry->error == NULL);
  if (entry->error != NULL)
    gtk_widget_add_css_class (entry->row, "error");
  else
    gtk_widget_remove_css_class (entry->row, "error");
}

static void
sq_model_picker_add_row (SqModelPicker *self,
                         Entry         *entry)
{
  g_autofree char *settings_label = NULL;
  GtkWidget *row;
  GtkWidget *check;
  GtkWidget *button;
  GtkWidget *spinner;

  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), entry->name);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);

  check = gtk_check_button_new ();
  gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), entry->selected);
  gtk_accessible_update_property (GTK_ACCESSIBLE (check),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, entry->name,
                                  -1);
  g_signal_connect (check, "toggled", G_CALLBACK (check_toggled_cb), entry);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);

  spinner = gtk_spinner_new ();
  gtk_widget_set_valign (spinner, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spinner);

  /* Translators: %s is a model, e.g. "Settings for llava-13b" */
  settings_label = g_strdup_printf (_("Settings for %s"), entry->name);
  button = gtk_menu_button_new ();
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "emblem-system-symbolic");
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_set_tooltip_text (button, settings_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, settings_label,
                                  -1);
  gtk_menu_button_set_create_popup_func (GTK_MENU_BUTTON (button), settings_popup_cb, entry, NULL);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);

  if (entry->custom)
    {
      g_autofree char *remove_label = NULL;
      GtkWidget *remove;

      /* Translators: %s is a model reference, e.g. "Remove yorickvp/llava-v1.6" */
      remove_label = g_strdup_printf (_("Remove %s"), entry->name);
      remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
      gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (remove, "flat");
      gtk_widget_set_tooltip_text (remove, remove_label);
      gtk_accessible_update_property (GTK_ACCESSIBLE (remove),
                                      GTK_ACCESSIBLE_PROPERTY_LABEL, remove_label,
                                      -1);
      g_signal_connect (remove, "clicked", G_CALLBACK (remove_clicked_cb), entry);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
    }

  entry->row = row;
  entry->check = check;
  entry->settings_button = button;
  entry->spinner = spinner;
  entry_update_row (entry);

  gtk_list_box_append (self->list_box, row);
}

typedef struct
{
  SqModelPicker *picker;  /* (owned) */
  char          *name;
} ResolveData;

static void
resolve_data_free (ResolveData *data)
{
  g_clear_object (&data->picker);
  g_free (data->name);
  g_free (data);
}

static void
resolve_custom_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ResolveData *data = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  Entry *entry;

  model = sq_model_catalog_resolve_finish (SQ_MODEL_CATALOG (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      resolve_data_free (data);
      return;
    }

  entry = sq_model_picker_find (data->picker, data->name);
  if (entry != NULL)
    {
      g_set_object (&entry->model, model);
      g_clear_error (&entry->error);
      entry->error = g_steal_pointer (&error);
      entry_update_row (entry);
      sq_model_picker_update_n_selected (data->picker);
    }

  resolve_data_free (data);
}

static void
sq_model_picker_rebuild (SqModelPicker *self)
{
  g_autoptr(GPtrArray) builtin = NULL;
  g_auto(GStrv) selected = NULL;
  g_auto(GStrv) customs = NULL;
  SqModelCatalog *catalog;
  GtkWidget *child;

  g_assert (SQ_IS_MODEL_PICKER (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list_box))) != NULL)
    gtk_list_box_remove (self->list_box, child);
  g_ptr_array_set_size (self->entries, 0);

  if (self->workspace == NULL)
    {
      sq_model_picker_update_n_selected (self);
      return;
    }

  if (sq_model_picker_has_key (self, "selected-models"))
    selected = g_settings_get_strv (self->settings, "selected-models");
  else
    selected = g_strdupv ((char *[]) { (char *) "llava-13b", NULL });
  if (sq_model_picker_has_key (self, "custom-models"))
    customs = g_settings_get_strv (self->settings, "custom-models");

  catalog = sq_workspace_get_catalog (self->workspace);
  builtin = sq_model_catalog_list_builtin (catalog);
  for (guint i = 0; i < builtin->len; i++)
    {
      SqModel *model = g_ptr_array_index (builtin, i);
      Entry *entry = g_new0 (Entry, 1);

      entry->picker = self;
      entry->name = g_strdup (sq_model_get_alias (model));
      entry->model = g_object_ref (model);
      entry->selected = g_strv_contains ((const char * const *) selected, entry->name);
      g_ptr_array_add (self->entries, entry);
      sq_model_picker_add_row (self, entry);
    }

  for (guint i = 0; customs != NULL && customs[i] != NULL; i++)
    {
      ResolveData *data;
      Entry *entry;

      if (sq_model_picker_find (self, customs[i]) != NULL)
        continue;

      entry = g_new0 (Entry, 1);
      entry->picker = self;
      entry->name = g_strdup (customs[i]);
      entry->custom = TRUE;
      entry->selected = g_strv_contains ((const char * const *) selected, entry->name);
      g_ptr_array_add (self->entries, entry);
      sq_model_picker_add_row (self, entry);

      data = g_new0 (ResolveData, 1);
      data->picker = g_object_ref (self);
      data->name = g_strdup (customs[i]);
      sq_model_catalog_resolve_async (catalog, customs[i], self->cancellable,
                                      resolve_custom_cb, data);
    }

  sq_model_picker_update_n_selected (self);
}

/* --- adding -------------------------------------------------------- */

static void
add_model_resolve_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SqModelPicker *self = g_task_get_source_object (task);
  const char *ref = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SqModel) model = NULL;
  Entry *entry;

  model = sq_model_catalog_resolve_finish (SQ_MODEL_CATALOG (object), result, &error);
  if (model == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  entry = sq_model_picker_find (self, ref);
  if (entry == NULL)
    {
      entry = g_new0 (Entry, 1);
      entry->picker = self;
      entry->name = g_strdup (ref);
      entry->custom = TRUE;
      g_ptr_array_add (self->entries, entry);
      sq_model_picker_add_row (self, entry);

      if (sq_model_picker_has_key (self, "custom-models"))
        {
          g_auto(GStrv) customs = g_settings_get_strv (self->settings, "custom-models");
          g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
          g_auto(GStrv) added = NULL;

          g_strv_builder_addv (builder, (const char **) customs);
          g_strv_builder_add (builder, ref);
          added = g_strv_builder_end (builder);
          g_settings_set_strv (self->settings, "custom-models", (const char * const *) added);
        }
    }

  g_set_object (&entry->model, model);
  g_clear_error (&entry->error);
  entry_update_row (entry);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (entry->check), TRUE);
  sq_model_picker_update_n_selected (self);

  g_task_return_boolean (task, TRUE);
}

void
sq_model_picker_add_model_async (SqModelPicker       *self,
                                 const char          *ref,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *owner = NULL;
  g_autofree char *name = NULL;
  g_autofree char *version = NULL;
  g_autofree char *trimmed = NULL;
  Entry *entry;

  g_return_if_fail (SQ_IS_MODEL_PICKER (self));
  g_return_if_fail (ref != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_model_picker_add_model_async);

  trimmed = g_strstrip (g_strdup (ref));
  if (!sq_model_ref_parse (trimmed, &owner, &name, &version))
    {
      g_task_return_new_error (task, SQ_MODEL_ERROR, SQ_MODEL_ERROR_BAD_REFERENCE,
                               _("“%s” is not a model reference: write it as owner/name or owner/name:version"),
                               trimmed);
      return;
    }

  if (self->workspace == NULL)
    {
      g_task_return_new_error (task, SQ_MODEL_ERROR, SQ_MODEL_ERROR_FAILED,
                               _("Cannot add %s: no models are loaded yet"), trimmed);
      return;
    }

  entry = sq_model_picker_find (self, trimmed);
  if (entry != NULL && entry->model != NULL)
    {
      gtk_check_button_set_active (GTK_CHECK_BUTTON (entry->check), TRUE);
      g_task_return_boolean (task, TRUE);
      return;
    }

  g_task_set_task_data (task, g_strdup (trimmed), g_free);
  sq_model_catalog_resolve_async (sq_workspace_get_catalog (self->workspace), trimmed,
                                  cancellable, add_model_resolve_cb, g_steal_pointer (&task));
}

gboolean
sq_model_picker_add_model_finish (SqModelPicker  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (SQ_IS_MODEL_PICKER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
add_entry_add_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  SqModelPicker *self = SQ_MODEL_PICKER (object);
  g_autoptr(GError) error = NULL;

  gtk_spinner_stop (self->add_spinner);
  gtk_stack_set_visible_child_name (self->add_stack, "button");
  gtk_widget_set_sensitive (GTK_WIDGET (self->add_entry), TRUE);

  if (!sq_model_picker_add_model_finish (self, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      gtk_label_set_label (self->add_error, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->add_error), TRUE);
      gtk_widget_add_css_class (GTK_WIDGET (self->add_entry), "error");
      gtk_accessible_update_property (GTK_ACCESSIBLE (self->add_entry),
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, error->message,
                                      -1);
      gtk_widget_grab_focus (GTK_WIDGET (self->add_entry));
      return;
    }

  gtk_editable_set_text (GTK_EDITABLE (self->add_entry), "");
}

static void
add_entry_activate_cb (SqModelPicker *self)
{
  const char *text;

  g_assert (SQ_IS_MODEL_PICKER (self));

  text = gtk_editable_get_text (GTK_EDITABLE (self->add_entry));
  if (text == NULL || *text == '\0')
    return;

  gtk_widget_set_visible (GTK_WIDGET (self->add_error), FALSE);
  gtk_stack_set_visible_child_name (self->add_stack, "busy");
  gtk_spinner_start (self->add_spinner);
  gtk_widget_set_sensitive (GTK_WIDGET (self->add_entry), FALSE);

  sq_model_picker_add_model_async (self, text, self->cancellable, add_entry_add_cb, NULL);
}

static void
add_entry_changed_cb (SqModelPicker *self)
{
  const char *text;

  g_assert (SQ_IS_MODEL_PICKER (self));

  text = gtk_editable_get_text (GTK_EDITABLE (self->add_entry));
  gtk_widget_set_sensitive (GTK_WIDGET (self->add_button), text != NULL && *text != '\0');
  gtk_widget_remove_css_class (GTK_WIDGET (self->add_entry), "error");
  gtk_widget_set_visible (GTK_WIDGET (self->add_error), FALSE);
  gtk_accessible_reset_property (GTK_ACCESSIBLE (self->add_entry),
                                 GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
}

/* --- GObject ------------------------------------------------------- */

static void
sq_model_picker_dispose (GObject *object)
{
  SqModelPicker *self = SQ_MODEL_PICKER (object);

  g_cancellable_cancel (self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (object), SQ_TYPE_MODEL_PICKER);
  if (self->entries != NULL)
    g_ptr_array_set_size (self->entries, 0);
  if (self->workspace != NULL)
    g_signal_handlers_disconnect_by_data (self->workspace, self);
  g_clear_object (&self->workspace);

  G_OBJECT_CLASS (sq_model_picker_parent_class)->dispose (object);
}

static void
sq_model_picker_finalize (GObject *object)
{
  SqModelPicker *self = SQ_MODEL_PICKER (object);

  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (sq_model_picker_parent_class)->finalize (object);
}

static void
sq_model_picker_constructed (GObject *object)
{
  SqModelPicker *self = SQ_MODEL_PICKER (object);

  G_OBJECT_CLASS (sq_model_picker_parent_class)->constructed (object);

  if (self->settings == NULL)
    self->settings = sq_config_new_settings ();

  self->constructed = TRUE;
  sq_model_picker_rebuild (self);
}

static void
sq_model_picker_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SqModelPicker *self = SQ_MODEL_PICKER (object);

  switch (prop_id)
    {
    case PROP_WORKSPACE:
      g_value_set_object (value, self->workspace);
      break;

    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    case PROP_N_SELECTED:
      g_value_set_uint (value, self->n_selected);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_model_picker_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  SqModelPicker *self = SQ_MODEL_PICKER (object);

  switch (prop_id)
    {
    case PROP_WORKSPACE:
      sq_model_picker_set_workspace (self, g_value_get_object (value));
      break;

    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_model_picker_class_init (SqModelPickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sq_model_picker_dispose;
  object_class->finalize = sq_model_picker_finalize;
  object_class->constructed = sq_model_picker_constructed;
  object_class->get_property = sq_model_picker_get_property;
  object_class->set_property = sq_model_picker_set_property;

  properties[PROP_WORKSPACE] =
    g_param_spec_object ("workspace", NULL, NULL,
                         SQ_TYPE_WORKSPACE,
                         (G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         (G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));

  properties[PROP_N_SELECTED] =
    g_param_spec_uint ("n-selected", NULL, NULL,
                       0, G_MAXUINT, 0,
                       (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, RESOURCE_BASE "/ui/sq-model-picker.ui");
  gtk_widget_class_bind_template_child (widget_class, SqModelPicker, box);
  gtk_widget_class_bind_template_child (widget_class, SqModelPicker, list_box);
  gtk_widget_class_bind_template_child (widget_class, SqModelPicker, add_entry);
  gtk_widget_class_bind_template_child (widget_class, SqModelPicker, add_stack);
  gtk_widget_class_bind_template_child (widget_class, SqModelPicker, add_button);
  gtk_widget_class_bind_template_child (widget_class, SqModelPicker, add_spinner);
  gtk_widget_class_bind_template_child (widget_class, SqModelPicker, add_error);
  gtk_widget_class_bind_template_callback (widget_class, add_entry_activate_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_entry_changed_cb);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "sqmodelpicker");
}

static void
sq_model_picker_init (SqModelPicker *self)
{
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  self->cancellable = g_cancellable_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
sq_model_picker_new (SqWorkspace *workspace,
                     GSettings   *settings)
{
  g_return_val_if_fail (!workspace || SQ_IS_WORKSPACE (workspace), NULL);
  g_return_val_if_fail (!settings || G_IS_SETTINGS (settings), NULL);

  return g_object_new (SQ_TYPE_MODEL_PICKER,
                       "workspace", workspace,
                       "settings", settings,
                       NULL);
}

SqWorkspace *
sq_model_picker_get_workspace (SqModelPicker *self)
{
  g_return_val_if_fail (SQ_IS_MODEL_PICKER (self), NULL);

  return self->workspace;
}

void
sq_model_picker_set_workspace (SqModelPicker *self,
                               SqWorkspace   *workspace)
{
  g_return_if_fail (SQ_IS_MODEL_PICKER (self));
  g_return_if_fail (!workspace || SQ_IS_WORKSPACE (workspace));

  if (self->workspace == workspace)
    return;

  if (self->workspace != NULL)
    g_signal_handlers_disconnect_by_data (self->workspace, self);
  g_set_object (&self->workspace, workspace);
  if (workspace != NULL)
    g_signal_connect_object (workspace, "notify::catalog",
                             G_CALLBACK (sq_model_picker_rebuild), self,
                             G_CONNECT_SWAPPED);

  /* Before construction ends, constructed() builds the list. */
  if (self->constructed)
    sq_model_picker_rebuild (self);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WORKSPACE]);
}

guint
sq_model_picker_get_n_selected (SqModelPicker *self)
{
  g_return_val_if_fail (SQ_IS_MODEL_PICKER (self), 0);

  return self->n_selected;
}

GPtrArray *
sq_model_picker_dup_selected (SqModelPicker *self)
{
  GPtrArray *models;

  g_return_val_if_fail (SQ_IS_MODEL_PICKER (self), NULL);

  models = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (self->entries, i);

      if (entry->selected && entry->model != NULL)
        g_ptr_array_add (models, g_object_ref (entry->model));
    }

  return models;
}

static const struct {
  const char *setting;
  const char *override_key;
  const char *key;
} generic_overrides[] = {
  { SQ_SETTING_MAX_NEW_TOKENS, "override-max-new-tokens", "max-new-tokens" },
  { SQ_SETTING_TEMPERATURE, "override-temperature", "temperature" },
  { SQ_SETTING_TOP_P, "override-top-p", "top-p" },
  { SQ_SETTING_NUM_BEAMS, "override-num-beams", "num-beams" },
  { SQ_SETTING_REPETITION_PENALTY, "override-repetition-penalty", "repetition-penalty" },
};

GHashTable *
sq_model_picker_dup_settings (SqModelPicker *self,
                              SqModel       *model)
{
  GHashTable *settings;
  GHashTableIter iter;
  gpointer key;
  gpointer value;
  Entry *entry = NULL;

  g_return_val_if_fail (SQ_IS_MODEL_PICKER (self), NULL);
  g_return_val_if_fail (SQ_IS_MODEL (model), NULL);

  settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; i < G_N_ELEMENTS (generic_overrides); i++)
    {
      const char *own_key;
      g_autoptr(GVariant) variant = NULL;
      char *text;

      if (!sq_model_picker_has_key (self, generic_overrides[i].override_key) ||
          !g_settings_get_boolean (self->settings, generic_overrides[i].override_key))
        continue;

      own_key = sq_model_map_setting (model, generic_overrides[i].setting);
      if (own_key == NULL)
        continue;

      variant = g_settings_get_value (self->settings, generic_overrides[i].key);
      if (g_variant_is_of_type (variant, G_VARIANT_TYPE_INT32))
        text = g_strdup_printf ("%d", g_variant_get_int32 (variant));
      else if (g_variant_is_of_type (variant, G_VARIANT_TYPE_DOUBLE))
        text = format_number (g_variant_get_double (variant), 6);
      else
        continue;

      g_hash_table_insert (settings, g_strdup (own_key), text);
    }

  for (guint i = 0; i < self->entries->len; i++)
    {
      Entry *candidate = g_ptr_array_index (self->entries, i);

      if (candidate->model == model)
        {
          entry = candidate;
          break;
        }
    }

  if (entry != NULL)
    {
      g_autoptr(GHashTable) stored = sq_model_picker_load_model_settings (self, entry->name);

      g_hash_table_iter_init (&iter, stored);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          /* Skip values an older schema allowed and this one does not. */
          if (!sq_model_check_setting (model, key, value, NULL))
            continue;
          g_hash_table_insert (settings, g_strdup (key), g_strdup (value));
        }
    }

  return settings;
}

gboolean
sq_model_picker_set_selected (SqModelPicker *self,
                              const char    *name,
                              gboolean       selected)
{
  Entry *entry;

  g_return_val_if_fail (SQ_IS_MODEL_PICKER (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  entry = sq_model_picker_find (self, name);
  if (entry == NULL)
    return FALSE;

  gtk_check_button_set_active (GTK_CHECK_BUTTON (entry->check), selected);

  return TRUE;
}
