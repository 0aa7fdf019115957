/* test-compare-view.c
 *
 * The Compare view end to end: runs a 2 prompts × 1 image × 2 models grid
 * against the in-process fake Replicate, labels every answer with key
 * presses only (through the view's own key controller), undoes, jumps to
 * the next unrated answer, hides model names in blind mode (and keeps
 * the blind key in the project), filters, sorts and exports CSV.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <adwaita.h>
#include <stdlib.h>
#include <string.h>

#include "sq-compare-view.h"
#include "sq-fake-replicate.h"
#include "sq-grid-builder.h"
#include "sq-image-tray.h"
#include "sq-model-picker.h"
#include "sq-rating.h"
#include "sq-results-model.h"
#include "sq-summary-chart.h"
#include "sq-workspace.h"

static char *tmpdir;

static void
store_result_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GAsyncResult **slot = user_data;

  *slot = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);

  return *slot;
}

static void
iterate_a_while (void)
{
  /* Lets idles, timeouts (the model flushes every ~120 ms) and the
   * project's worker thread catch up. */
  gint64 until = g_get_monotonic_time () + 400 * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < until)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (2000);
    }
}

static gpointer
template_child (gpointer    widget,
                GType       type,
                const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (child);

  return child;
}

static GtkEventController *
find_key_controller (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_KEY (controller) &&
          g_strcmp0 (gtk_event_controller_get_name (controller), "sq-labelling-keys") == 0)
        return controller;
    }

  g_assert_not_reached ();
}

/* Sends a key press through the column view's labelling controller, as
 * GTK does for a real key event. */
static void
press (SqCompareView   *view,
       guint            keyval,
       GdkModifierType  state)
{
  GtkWidget *column_view = template_child (view, SQ_TYPE_COMPARE_VIEW, "column_view");
  GtkEventController *controller = find_key_controller (column_view);
  gboolean handled = FALSE;

  g_signal_emit_by_name (controller, "key-pressed", keyval, 0, state, &handled);
  g_assert_true (handled);
}

static guint
n_rows (SqCompareView *view)
{
  return g_list_model_get_n_items (G_LIST_MODEL (sq_compare_view_get_selection (view)));
}

static SqResultRow *
row_at (SqCompareView *view,
        guint          position)
{
  SqResultRow *row = g_list_model_get_item (G_LIST_MODEL (sq_compare_view_get_selection (view)), position);

  g_assert_nonnull (row);
  g_object_unref (row);  /* the model keeps it */

  return row;
}

static guint
selected (SqCompareView *view)
{
  return gtk_single_selection_get_selected (GTK_SINGLE_SELECTION (sq_compare_view_get_selection (view)));
}

static void
wait_loaded (SqCompareView *view)
{
  while (!sq_compare_view_get_loaded (view))
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
all_succeeded (SqCompareView *view,
               guint          expected)
{
  if (n_rows (view) != expected)
    return FALSE;

  for (guint i = 0; i < expected; i++)
    if (g_strcmp0 (sq_result_get_status (sq_result_row_get_result (row_at (view, i))), "succeeded") != 0)
      return FALSE;

  return TRUE;
}

/* Waits until the project has @score for @criterion of @result_id. */
static void
wait_rating (SqProject   *project,
             gint64       result_id,
             SqCriterion  criterion,
             int          score)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      int stored = sq_project_get_rating (project, result_id, criterion, NULL, &error);

      g_assert_no_error (error);
      if (stored == score)
        return;
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
collect_labels (GtkWidget *widget,
                GPtrArray *labels)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget))
    g_ptr_array_add (labels, (gpointer) gtk_label_get_label (GTK_LABEL (widget)));

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_labels (child, labels);
}

static gboolean
has_label (GPtrArray  *labels,
           const char *text)
{
  return g_ptr_array_find_with_equal_func (labels, text, g_str_equal, NULL);
}

/* Waits until the view shows a label @present (if not NULL) and none
 * @absent (if not NULL); the cells update on the next frames. */
static void
wait_for_labels (GtkWidget  *view,
                 const char *present,
                 const char *absent)
{
  for (;;)
    {
      g_autoptr(GPtrArray) labels = g_ptr_array_new ();

      collect_labels (view, labels);
      if ((present == NULL || has_label (labels, present)) &&
          (absent == NULL || !has_label (labels, absent)))
        return;
      g_main_context_iteration (NULL, TRUE);
    }
}

static GtkWidget *
find_descendant (GtkWidget *widget,
                 GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_descendant (child, type);

      if (found != NULL)
        return found;
    }

  return NULL;
}

/* The row of the column view that @widget is in. */
static GtkWidget *
row_widget_of (GtkWidget *view,
               GtkWidget *widget)
{
  GtkWidget *column_view = template_child (view, SQ_TYPE_COMPARE_VIEW, "column_view");

  for (; widget != NULL; widget = gtk_widget_get_parent (widget))
    {
      GtkWidget *parent = gtk_widget_get_parent (widget);

      if (parent != NULL && gtk_widget_get_parent (parent) == column_view)
        return widget;
    }

  return NULL;
}

static AdwMessageDialog *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();  /* (transfer none) */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return ADW_MESSAGE_DIALOG (window);
    }

  return NULL;
}

/* Every visible control without a text of its own has an accessible
 * name (as the window's smoke test checks for the rest of the app). */
static guint
assert_controls_named (GtkWidget *widget)
{
  guint n_checked = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child; child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child) || !gtk_widget_get_child_visible (child))
        continue;

      /* An entry is named as a whole, not its text part */
      if (GTK_IS_SEARCH_ENTRY (child) || GTK_IS_ENTRY (child) || GTK_IS_EDITABLE_LABEL (child) ||
          GTK_IS_TEXT (child) || GTK_IS_DROP_DOWN (child) || SQ_IS_RATING_WIDGET (child) ||
          (GTK_IS_MENU_BUTTON (child) && gtk_menu_button_get_label (GTK_MENU_BUTTON (child)) == NULL) ||
          (GTK_IS_BUTTON (child) && gtk_button_get_label (GTK_BUTTON (child)) == NULL &&
           gtk_button_get_child (GTK_BUTTON (child)) == NULL &&
           !GTK_IS_MENU_BUTTON (gtk_widget_get_parent (child))))
        {
          gboolean named = gtk_test_accessible_has_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL) ||
                           gtk_test_accessible_has_relation (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_RELATION_LABELLED_BY);

          if (!named)
            g_test_message ("unnamed %s inside %s", G_OBJECT_TYPE_NAME (child),
                            G_OBJECT_TYPE_NAME (gtk_widget_get_parent (child)));
          g_assert_true (named);
          n_checked++;
          continue;
        }

      n_checked += assert_controls_named (child);
    }

  return n_checked;
}

static GBytes *
make_png (void)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 40, 30);
  g_autoptr(GError) error = NULL;
  char *buffer = NULL;
  gsize size = 0;

  gdk_pixbuf_fill (pixbuf, 0x3584e4ff);
  g_assert_true (gdk_pixbuf_save_to_buffer (pixbuf, &buffer, &size, "png", &error, NULL));
  g_assert_no_error (error);

  return g_bytes_new_take (buffer, size);
}

/* A minimal RFC 4180 reader: rows of fields. */
static GPtrArray *
parse_csv (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  GPtrArray *row = g_ptr_array_new_with_free_func (g_free);
  GString *field = g_string_new (NULL);
  gboolean quoted = FALSE;

  for (const char *p = text; *p; p++)
    {
      if (quoted)
        {
          if (*p == '"' && p[1] == '"')
            g_string_append_c (field, '"'), p++;
          else if (*p == '"')
            quoted = FALSE;
          else
            g_string_append_c (field, *p);
        }
      else if (*p == '"')
        quoted = TRUE;
      else if (*p == ',')
        g_ptr_array_add (row, g_string_free (g_steal_pointer (&field), FALSE)), field = g_string_new (NULL);
      else if (*p == '\r')
        continue;
      else if (*p == '\n')
        {
          g_ptr_array_add (row, g_string_free (g_steal_pointer (&field), FALSE));
          field = g_string_new (NULL);
          g_ptr_array_add (rows, row);
          row = g_ptr_array_new_with_free_func (g_free);
        }
      else
        g_string_append_c (field, *p);
    }

  if (field->len > 0 || row->len > 0)
    {
      g_ptr_array_add (row, g_string_free (field, FALSE));
      g_ptr_array_add (rows, row);
    }
  else
    {
      g_string_free (field, TRUE);
      g_ptr_array_unref (row);
    }

  return rows;
}

static int
column_index (GPtrArray  *header,
              const char *name)
{
  for (guint i = 0; i < header->len; i++)
    if (g_strcmp0 (g_ptr_array_index (header, i), name) == 0)
      return i;

  g_assert_not_reached ();
}

static void
test_compare_view (void)
{
  g_autoptr(SqFakeReplicate) fake = sq_fake_replicate_new ();
  g_autoptr(SqWorkspace) workspace = sq_workspace_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) png = make_png ();
  g_autoptr(SqImage) image = NULL;
  g_autoptr(GPtrArray) labels = NULL;
  g_autoptr(GPtrArray) names_before = NULL;
  g_autofree char *path = g_build_filename (tmpdir, "grid.squint", NULL);
  g_autofree char *csv_path = g_build_filename (tmpdir, "grid.csv", NULL);
  g_autofree char *csv = NULL;
  g_autofree char *blind_key = NULL;
  g_autoptr(GFile) csv_file = NULL;
  g_autoptr(GPtrArray) csv_rows = NULL;
  const int scores[4][2] = { { 4, 5 }, { 2, 3 }, { 5, 5 }, { 1, 2 } };
  gint64 ids[4];
  SqGridBuilder *builder;
  SqProject *project;
  GtkWidget *window;
  GtkWidget *view;
  GtkWidget *tray;
  GtkColumnView *column_view;
  GListModel *columns;

  g_setenv ("REPLICATE_BASE_URL", sq_fake_replicate_get_origin (fake), TRUE);
  g_setenv ("REPLICATE_API_TOKEN", SQ_FAKE_REPLICATE_TOKEN, TRUE);

  sq_workspace_reload_client_async (workspace, NULL, store_result_cb, &result);
  g_assert_true (sq_workspace_reload_client_finish (workspace, wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_nonnull (sq_workspace_get_client (workspace));

  sq_workspace_open_project_async (workspace, path, NULL, store_result_cb, &result);
  g_assert_true (sq_workspace_open_project_finish (workspace, wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  project = sq_workspace_get_project (workspace);

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 760);
  view = sq_compare_view_new (workspace);
  gtk_widget_set_vexpand (view, TRUE);
  /* The Ask view's tray, whose images the grid builder can take */
  tray = sq_image_tray_new ();
  gtk_widget_set_visible (tray, FALSE);
  {
    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

    gtk_box_append (GTK_BOX (box), view);
    gtk_box_append (GTK_BOX (box), tray);
    gtk_window_set_child (GTK_WINDOW (window), box);
  }
  gtk_window_present (GTK_WINDOW (window));
  wait_loaded (SQ_COMPARE_VIEW (view));
  g_assert_cmpuint (n_rows (SQ_COMPARE_VIEW (view)), ==, 0);

  /* The grid: 2 prompts × 1 image × 2 models */
  builder = SQ_GRID_BUILDER (sq_compare_view_get_grid_builder (SQ_COMPARE_VIEW (view)));
  sq_grid_builder_add_prompt (builder, "What is shown?");
  sq_grid_builder_add_prompt (builder, "Count the people");
  sq_grid_builder_add_prompt (builder, "Count the people");  /* a duplicate is ignored */
  sq_image_load_bytes_async (png, "blue.png", NULL, store_result_cb, &result);
  image = sq_image_load_finish (wait_result (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  sq_grid_builder_add_image (builder, image);
  {
    SqModelPicker *picker = SQ_MODEL_PICKER (sq_grid_builder_get_model_picker (builder));

    g_assert_true (sq_model_picker_set_selected (picker, "llava-13b", TRUE));
    g_assert_true (sq_model_picker_set_selected (picker, "fuyu-8b", TRUE));
    g_assert_true (sq_model_picker_set_selected (picker, "minigpt-4", FALSE));
    g_assert_true (sq_model_picker_set_selected (picker, "cogvlm", FALSE));
  }
  g_assert_cmpuint (sq_grid_builder_get_n_cells (builder), ==, 4);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (builder), "grid.run", NULL));
  g_assert_nonnull (sq_grid_builder_get_run (builder));
  while (sq_grid_run_get_state (sq_grid_builder_get_run (builder)) != SQ_GRID_RUN_STATE_FINISHED)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (sq_grid_run_get_n_done (sq_grid_builder_get_run (builder)), ==, 4);
  while (!all_succeeded (SQ_COMPARE_VIEW (view), 4))
    g_main_context_iteration (NULL, TRUE);
  iterate_a_while ();

  /* Label everything with key presses only: 1–5 rate and move on */
  press (SQ_COMPARE_VIEW (view), GDK_KEY_j, 0);
  g_assert_cmpuint (selected (SQ_COMPARE_VIEW (view)), ==, 0);
  for (guint i = 0; i < 4; i++)
    {
      ids[i] = sq_result_row_get_id (row_at (SQ_COMPARE_VIEW (view), i));
      g_assert_cmpuint (selected (SQ_COMPARE_VIEW (view)), ==, i);
      g_assert_cmpint (sq_compare_view_get_criterion (SQ_COMPARE_VIEW (view)), ==, SQ_CRITERION_CORRECTNESS);
      press (SQ_COMPARE_VIEW (view), GDK_KEY_0 + scores[i][0], 0);
      g_assert_cmpint (sq_compare_view_get_criterion (SQ_COMPARE_VIEW (view)), ==, SQ_CRITERION_RELEVANCE);
      press (SQ_COMPARE_VIEW (view), GDK_KEY_0 + scores[i][1], 0);
    }
  for (guint i = 0; i < 4; i++)
    {
      wait_rating (project, ids[i], SQ_CRITERION_CORRECTNESS, scores[i][0]);
      wait_rating (project, ids[i], SQ_CRITERION_RELEVANCE, scores[i][1]);
    }

  /* The keyboard focus follows the current answer */
  gtk_widget_grab_focus (template_child (view, SQ_TYPE_COMPARE_VIEW, "column_view"));
  press (SQ_COMPARE_VIEW (view), GDK_KEY_k, 0);
  g_assert_cmpuint (selected (SQ_COMPARE_VIEW (view)), ==, 2);
  for (;;)
    {
      GtkWidget *cell = g_object_get_data (G_OBJECT (row_at (SQ_COMPARE_VIEW (view), 2)), "sq-model-cell");
      GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (window));

      if (cell != NULL && focus != NULL && row_widget_of (view, cell) == row_widget_of (view, focus))
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  press (SQ_COMPARE_VIEW (view), GDK_KEY_j, 0);
  g_assert_cmpuint (selected (SQ_COMPARE_VIEW (view)), ==, 3);

  /* Ctrl+Z undoes the last rating: row 3's relevance */
  press (SQ_COMPARE_VIEW (view), GDK_KEY_z, GDK_CONTROL_MASK);
  wait_rating (project, ids[3], SQ_CRITERION_RELEVANCE, 0);
  g_assert_cmpint (sq_project_get_rating (project, ids[3], SQ_CRITERION_CORRECTNESS, NULL, NULL), ==, 1);
  g_assert_cmpuint (selected (SQ_COMPARE_VIEW (view)), ==, 3);
  g_assert_cmpint (sq_compare_view_get_criterion (SQ_COMPARE_VIEW (view)), ==, SQ_CRITERION_RELEVANCE);

  /* K/Up move up, Tab switches the criterion, N jumps to the unrated one */
  press (SQ_COMPARE_VIEW (view), GDK_KEY_k, 0);
  press (SQ_COMPARE_VIEW (view), GDK_KEY_Up, 0);
  press (SQ_COMPARE_VIEW (view), GDK_KEY_k, 0);
  g_assert_cmpuint (selected (SQ_COMPARE_VIEW (view)), ==, 0);
  press (SQ_COMPARE_VIEW (view), GDK_KEY_Tab, 0);
  g_assert_cmpint (sq_compare_view_get_criterion (SQ_COMPARE_VIEW (view)), ==, SQ_CRITERION_CORRECTNESS);
  press (SQ_COMPARE_VIEW (view), GDK_KEY_n, 0);
  g_assert_cmpuint (selected (SQ_COMPARE_VIEW (view)), ==, 3);
  g_assert_cmpint (sq_compare_view_get_criterion (SQ_COMPARE_VIEW (view)), ==, SQ_CRITERION_RELEVANCE);
  press (SQ_COMPARE_VIEW (view), GDK_KEY_2, 0);
  wait_rating (project, ids[3], SQ_CRITERION_RELEVANCE, 2);
  iterate_a_while ();

  /* Every control is named, the ratings as "Correctness: 4 of 5" */
  g_assert_cmpuint (assert_controls_named (view), >=, 10);
  {
    GtkWidget *rating = find_descendant (template_child (view, SQ_TYPE_COMPARE_VIEW, "column_view"),
                                         SQ_TYPE_RATING_WIDGET);

    g_assert_nonnull (rating);
    gtk_test_accessible_assert_property (rating, GTK_ACCESSIBLE_PROPERTY_LABEL, "Correctness");
  }

  /* E edits the note of the current answer */
  press (SQ_COMPARE_VIEW (view), GDK_KEY_k, 0);
  g_assert_cmpuint (selected (SQ_COMPARE_VIEW (view)), ==, 2);
  press (SQ_COMPARE_VIEW (view), GDK_KEY_e, 0);
  {
    AdwMessageDialog *dialog = find_message_dialog ();
    GtkWidget *entry;

    g_assert_nonnull (dialog);
    entry = find_descendant (GTK_WIDGET (dialog), GTK_TYPE_ENTRY);
    g_assert_nonnull (entry);
    gtk_editable_set_text (GTK_EDITABLE (entry), "mentions the sun");
    adw_message_dialog_response (dialog, "save");  /* it closes itself */
  }
  for (;;)
    {
      g_autofree char *note = sq_project_get_note (project, ids[2], NULL, NULL);

      if (g_strcmp0 (note, "mentions the sun") == 0)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  while (g_strcmp0 (sq_result_get_note (sq_result_row_get_result (row_at (SQ_COMPARE_VIEW (view), 2))),
                    "mentions the sun") != 0)
    g_main_context_iteration (NULL, TRUE);

  /* Filter by model and by status */
  {
    GtkDropDown *model_filter = template_child (view, SQ_TYPE_COMPARE_VIEW, "model_filter");
    GtkDropDown *status_filter = template_child (view, SQ_TYPE_COMPARE_VIEW, "status_filter");
    GListModel *choices = gtk_drop_down_get_model (model_filter);
    guint fuyu = GTK_INVALID_LIST_POSITION;

    /* any, llava-13b, fuyu-8b: filled in with the summary */
    while (g_list_model_get_n_items (choices) != 3)
      g_main_context_iteration (NULL, TRUE);
    for (guint i = 0; i < 3; i++)
      if (g_strcmp0 (gtk_string_list_get_string (GTK_STRING_LIST (choices), i), "fuyu-8b") == 0)
        fuyu = i;
    g_assert_cmpuint (fuyu, !=, GTK_INVALID_LIST_POSITION);
    gtk_drop_down_set_selected (model_filter, fuyu);
    g_assert_cmpuint (n_rows (SQ_COMPARE_VIEW (view)), ==, 2);
    gtk_drop_down_set_selected (model_filter, 0);
    g_assert_cmpuint (n_rows (SQ_COMPARE_VIEW (view)), ==, 4);

    gtk_drop_down_set_selected (status_filter, 3);  /* failed or canceled */
    g_assert_cmpuint (n_rows (SQ_COMPARE_VIEW (view)), ==, 0);
    gtk_drop_down_set_selected (status_filter, 1);  /* done */
    g_assert_cmpuint (n_rows (SQ_COMPARE_VIEW (view)), ==, 4);
    gtk_drop_down_set_selected (status_filter, 0);
  }

  /* Filter: unrated only leaves nothing; then clear one rating */
  gtk_toggle_button_set_active (template_child (view, SQ_TYPE_COMPARE_VIEW, "unrated_button"), TRUE);
  g_assert_cmpuint (n_rows (SQ_COMPARE_VIEW (view)), ==, 0);
  gtk_toggle_button_set_active (template_child (view, SQ_TYPE_COMPARE_VIEW, "unrated_button"), FALSE);
  g_assert_cmpuint (n_rows (SQ_COMPARE_VIEW (view)), ==, 4);

  /* Search the answers: the fake's answers name their model */
  gtk_editable_set_text (template_child (view, SQ_TYPE_COMPARE_VIEW, "search_entry"), "FUYU-8B SEES");
  while (n_rows (SQ_COMPARE_VIEW (view)) != 2)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpstr (sq_result_get_model_name (sq_result_row_get_result (row_at (SQ_COMPARE_VIEW (view), i))), ==, "fuyu-8b");
  gtk_editable_set_text (template_child (view, SQ_TYPE_COMPARE_VIEW, "search_entry"), "");
  while (n_rows (SQ_COMPARE_VIEW (view)) != 4)
    g_main_context_iteration (NULL, TRUE);

  /* Sort by correctness, highest first */
  column_view = template_child (view, SQ_TYPE_COMPARE_VIEW, "column_view");
  columns = gtk_column_view_get_columns (column_view);
  for (guint i = 0; i < g_list_model_get_n_items (columns); i++)
    {
      g_autoptr(GtkColumnViewColumn) column = g_list_model_get_item (columns, i);

      if (g_strcmp0 (gtk_column_view_column_get_title (column), "Correctness") == 0)
        gtk_column_view_sort_by_column (column_view, column, GTK_SORT_DESCENDING);
    }
  g_assert_cmpfloat (sq_result_row_get_score (row_at (SQ_COMPARE_VIEW (view), 0), SQ_CRITERION_CORRECTNESS), ==, 5);
  g_assert_cmpfloat (sq_result_row_get_score (row_at (SQ_COMPARE_VIEW (view), 3), SQ_CRITERION_CORRECTNESS), ==, 1);
  gtk_column_view_sort_by_column (column_view, NULL, GTK_SORT_ASCENDING);
  g_assert_cmpint (sq_result_row_get_id (row_at (SQ_COMPARE_VIEW (view), 0)), ==, ids[0]);

  /* Blind mode hides the model names in the table */
  wait_for_labels (view, "llava-13b", NULL);
  g_assert_true (gtk_widget_activate_action (view, "compare.blind", NULL));
  g_assert_true (sq_compare_view_get_blind (SQ_COMPARE_VIEW (view)));
  wait_for_labels (view, "Model A", "llava-13b");
  labels = g_ptr_array_new ();
  collect_labels (view, labels);
  g_assert_false (has_label (labels, "llava-13b"));
  g_assert_false (has_label (labels, "fuyu-8b"));
  g_assert_true (has_label (labels, "Model A"));
  g_assert_true (has_label (labels, "Model B"));

  names_before = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < 4; i++)
    {
      SqResultRow *row = row_at (SQ_COMPARE_VIEW (view), i);

      g_ptr_array_add (names_before, g_strdup_printf ("%s=%s", sq_result_row_get_model_name (row),
                                                      sq_result_get_model_name (sq_result_row_get_result (row))));
    }

  /* The key is in the project, and a new view of the reopened project is
   * blind with the same order */
  while ((blind_key = sq_project_get_meta (project, "blind-key", NULL)) == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (strlen (blind_key), ==, 32);

  {
    g_autoptr(SqProject) reopened = sq_project_open (path, &error);
    GtkWidget *window2 = gtk_window_new ();
    GtkWidget *view2 = sq_compare_view_new (NULL);

    g_assert_no_error (error);
    while (TRUE)
      {
        g_autofree char *mode = sq_project_get_meta (reopened, "blind-mode", NULL);

        if (g_strcmp0 (mode, "1") == 0)
          break;
        g_main_context_iteration (NULL, TRUE);
      }
    sq_compare_view_set_project (SQ_COMPARE_VIEW (view2), reopened);
    gtk_window_set_child (GTK_WINDOW (window2), view2);
    gtk_window_present (GTK_WINDOW (window2));
    wait_loaded (SQ_COMPARE_VIEW (view2));
    g_assert_true (sq_compare_view_get_blind (SQ_COMPARE_VIEW (view2)));
    g_assert_cmpuint (n_rows (SQ_COMPARE_VIEW (view2)), ==, 4);
    for (guint i = 0; i < 4; i++)
      {
        SqResultRow *row = row_at (SQ_COMPARE_VIEW (view2), i);
        g_autofree char *name = g_strdup_printf ("%s=%s", sq_result_row_get_model_name (row),
                                                 sq_result_get_model_name (sq_result_row_get_result (row)));

        g_assert_cmpstr (name, ==, g_ptr_array_index (names_before, i));
      }
    gtk_window_destroy (GTK_WINDOW (window2));
    iterate_a_while ();
  }

  /* Reveal */
  sq_compare_view_set_blind (SQ_COMPARE_VIEW (view), FALSE);
  wait_for_labels (view, "llava-13b", "Model A");

  /* The summary: a bar per model and criterion, and the same as text */
  {
    SqSummaryChart *chart = template_child (view, SQ_TYPE_COMPARE_VIEW, "chart");
    GtkWidget *grid = template_child (view, SQ_TYPE_COMPARE_VIEW, "summary_grid");
    gboolean found = FALSE;

    while (sq_summary_chart_get_n_models (chart) != 2)
      g_main_context_iteration (NULL, TRUE);
    while (!found)
      {
        g_autoptr(GPtrArray) texts = g_ptr_array_new ();

        collect_labels (grid, texts);
        for (guint i = 0; i < texts->len; i++)
          {
            const char *text = g_ptr_array_index (texts, i);

            /* llava-13b's correctness: 4 and 5 */
            if (g_str_has_prefix (text, "4.5 (") && g_str_has_suffix (text, " · 2"))
              found = TRUE;
          }
        if (!found)
          g_main_context_iteration (NULL, TRUE);
      }
    gtk_test_accessible_assert_property (chart, GTK_ACCESSIBLE_PROPERTY_LABEL, "Mean scores per model");
  }

  /* Export CSV and read it back */
  csv_file = g_file_new_for_path (csv_path);
  sq_compare_view_export_async (SQ_COMPARE_VIEW (view), SQ_EXPORT_FORMAT_CSV, csv_file, NULL,
                                store_result_cb, &result);
  g_assert_true (sq_compare_view_export_finish (SQ_COMPARE_VIEW (view), wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, &error));
  g_assert_no_error (error);
  csv_rows = parse_csv (csv);
  g_assert_cmpuint (csv_rows->len, ==, 5);
  {
    GPtrArray *header = g_ptr_array_index (csv_rows, 0);
    int id_col = column_index (header, "result_id");
    int c_col = column_index (header, "correctness");
    int r_col = column_index (header, "relevance");

    for (guint i = 1; i < csv_rows->len; i++)
      {
        GPtrArray *row = g_ptr_array_index (csv_rows, i);
        gint64 id = g_ascii_strtoll (g_ptr_array_index (row, id_col), NULL, 10);
        guint k;

        for (k = 0; k < 4 && ids[k] != id; k++)
          ;
        g_assert_cmpuint (k, <, 4);
        g_assert_cmpfloat (g_ascii_strtod (g_ptr_array_index (row, c_col), NULL), ==, scores[k][0]);
        g_assert_cmpfloat (g_ascii_strtod (g_ptr_array_index (row, r_col), NULL), ==,
                           k == 3 ? 2 : scores[k][1]);
      }
  }

  /* Pick a prompt from those used before */
  g_assert_cmpint (sq_project_add_prompt (project, "Which season is it?", &error), >, 0);
  g_assert_no_error (error);
  {
    GtkMenuButton *history_button = template_child (builder, SQ_TYPE_GRID_BUILDER, "history_button");
    GtkListBox *history_list = template_child (builder, SQ_TYPE_GRID_BUILDER, "history_list");
    GtkListBoxRow *found = NULL;
    g_auto(GStrv) prompts = NULL;

    gtk_menu_button_popup (history_button);
    while (found == NULL)
      {
        for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (history_list));
             row != NULL;
             row = gtk_widget_get_next_sibling (row))
          {
            GtkWidget *label = gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (row));

            if (GTK_IS_LABEL (label) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (label)), "Which season is it?") == 0)
              found = GTK_LIST_BOX_ROW (row);
          }
        if (found == NULL)
          g_main_context_iteration (NULL, TRUE);
      }
    g_signal_emit_by_name (history_list, "row-activated", found);
    prompts = sq_grid_builder_dup_prompts (builder);
    g_assert_cmpuint (g_strv_length (prompts), ==, 3);
    g_assert_cmpstr (prompts[2], ==, "Which season is it?");
    g_assert_cmpuint (sq_grid_builder_get_n_cells (builder), ==, 6);
  }

  /* Take the images of the Ask view's tray */
  {
    g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 24, 24);
    g_autoptr(GdkTexture) texture = NULL;

    gdk_pixbuf_fill (pixbuf, 0xe01b24ff);
    texture = gdk_texture_new_for_pixbuf (pixbuf);
    sq_image_tray_add_texture (SQ_IMAGE_TRAY (tray), texture, "red.png");
    while (sq_image_tray_get_n_images (SQ_IMAGE_TRAY (tray)) != 1 ||
           sq_image_tray_get_n_loading (SQ_IMAGE_TRAY (tray)) != 0)
      g_main_context_iteration (NULL, TRUE);
    g_signal_emit_by_name (template_child (builder, SQ_TYPE_GRID_BUILDER, "tray_images_button"), "clicked");
    g_assert_cmpuint (sq_grid_builder_get_n_cells (builder), ==, 12);
  }

  gtk_window_destroy (GTK_WINDOW (window));
  iterate_a_while ();

  g_unsetenv ("REPLICATE_BASE_URL");
  g_unsetenv ("REPLICATE_API_TOKEN");
}

/* A failing cell: counted, shown as failed, retried with Retry Failed */
static void
test_grid_failures (void)
{
  g_autoptr(SqFakeReplicate) fake = sq_fake_replicate_new ();
  g_autoptr(SqWorkspace) workspace = sq_workspace_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) png = make_png ();
  g_autoptr(SqImage) image = NULL;
  g_autofree char *path = g_build_filename (tmpdir, "failures.squint", NULL);
  SqGridBuilder *builder;
  SqModelPicker *picker;
  GtkWidget *window;
  GtkWidget *view;
  SqGridRun *first_run;

  g_setenv ("REPLICATE_BASE_URL", sq_fake_replicate_get_origin (fake), TRUE);
  g_setenv ("REPLICATE_API_TOKEN", SQ_FAKE_REPLICATE_TOKEN, TRUE);
  sq_workspace_reload_client_async (workspace, NULL, store_result_cb, &result);
  g_assert_true (sq_workspace_reload_client_finish (workspace, wait_result (&result), &error));
  g_clear_object (&result);
  sq_workspace_open_project_async (workspace, path, NULL, store_result_cb, &result);
  g_assert_true (sq_workspace_open_project_finish (workspace, wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  window = gtk_window_new ();
  view = sq_compare_view_new (workspace);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  wait_loaded (SQ_COMPARE_VIEW (view));

  builder = SQ_GRID_BUILDER (sq_compare_view_get_grid_builder (SQ_COMPARE_VIEW (view)));
  sq_grid_builder_add_prompt (builder, "[[fail]] What is shown?");
  sq_image_load_bytes_async (png, "blue.png", NULL, store_result_cb, &result);
  image = sq_image_load_finish (wait_result (&result), &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  sq_grid_builder_add_image (builder, image);
  picker = SQ_MODEL_PICKER (sq_grid_builder_get_model_picker (builder));
  g_assert_true (sq_model_picker_set_selected (picker, "llava-13b", TRUE));
  g_assert_true (sq_model_picker_set_selected (picker, "fuyu-8b", FALSE));
  g_assert_true (sq_model_picker_set_selected (picker, "minigpt-4", FALSE));
  g_assert_true (sq_model_picker_set_selected (picker, "cogvlm", FALSE));
  g_assert_cmpuint (sq_grid_builder_get_n_cells (builder), ==, 1);
  g_assert_false (gtk_widget_get_sensitive (template_child (builder, SQ_TYPE_GRID_BUILDER, "retry_button")));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (builder), "grid.run", NULL));
  first_run = sq_grid_builder_get_run (builder);
  while (sq_grid_run_get_state (first_run) != SQ_GRID_RUN_STATE_FINISHED)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (sq_grid_run_get_n_failed (first_run), ==, 1);
  g_assert_true (gtk_widget_get_sensitive (template_child (builder, SQ_TYPE_GRID_BUILDER, "retry_button")));
  g_assert_true (g_str_has_prefix (gtk_label_get_label (template_child (builder, SQ_TYPE_GRID_BUILDER, "progress_label")),
                                   "0 of 1 · 1 failed"));

  /* The table shows it failed, with the error */
  gtk_drop_down_set_selected (template_child (view, SQ_TYPE_COMPARE_VIEW, "status_filter"), 3);
  while (n_rows (SQ_COMPARE_VIEW (view)) != 1)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (sq_result_get_status (sq_result_row_get_result (row_at (SQ_COMPARE_VIEW (view), 0))), ==, "failed");

  /* Retry Failed runs it again (and the fake fails it again) */
  g_signal_emit_by_name (template_child (builder, SQ_TYPE_GRID_BUILDER, "retry_button"), "clicked");
  g_assert_true (sq_grid_builder_get_run (builder) != first_run);
  while (sq_grid_run_get_state (sq_grid_builder_get_run (builder)) != SQ_GRID_RUN_STATE_FINISHED)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (sq_grid_run_get_n_failed (sq_grid_builder_get_run (builder)), ==, 1);
  g_assert_cmpuint (sq_fake_replicate_count_requests (fake, "POST", "/v1/predictions"), ==, 2);

  gtk_window_destroy (GTK_WINDOW (window));
  iterate_a_while ();

  g_unsetenv ("REPLICATE_BASE_URL");
  g_unsetenv ("REPLICATE_API_TOKEN");
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *command = NULL;
  int ret;

  tmpdir = g_dir_make_tmp ("squint-test-compare-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  g_setenv ("XDG_DATA_HOME", tmpdir, TRUE);
  g_setenv ("XDG_CACHE_HOME", tmpdir, TRUE);
  g_unsetenv ("REPLICATE_API_TOKEN");
  g_unsetenv ("REPLICATE_BASE_URL");

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/compare-view/grid-label-blind-export", test_compare_view);
  g_test_add_func ("/compare-view/grid-failures", test_grid_failures);

  ret = g_test_run ();

  command = g_strdup_printf ("rm -rf '%s'", tmpdir);
  if (system (command) != 0)
    g_warning ("Could not remove %s", tmpdir);
  g_free (tmpdir);

  return ret;
}
