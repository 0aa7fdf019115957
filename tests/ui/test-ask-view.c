/* test-ask-view.c
 *
 * The Ask view end to end against the in-process fake Replicate: drop
 * two PNGs and a text file on the tray (a real GdkFileList through the
 * drop target's ::drop), ask two models, check the streamed text, the
 * states, a failing prompt, Stop, and that ratings and notes reach the
 * project.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sq-answer-card.h"
#include "sq-ask-view.h"
#include "sq-fake-replicate.h"
#include "sq-image-tray.h"
#include "sq-model-picker.h"
#include "sq-prompt-box.h"
#include "sq-rating.h"
#include "sq-workspace.h"
#include "sq-test-util.h"

static char *tmpdir;

typedef struct
{
  SqFakeReplicate *fake;
  SqWorkspace     *workspace;
  GtkWidget       *window;
  SqAskView       *view;
  SqImageTray     *tray;
  SqPromptBox     *prompt_box;
  SqModelPicker   *picker;
  GPtrArray       *errors;    /* (element-type utf8) what the tray refused */
  GPtrArray       *toasts;    /* (element-type utf8) the toasts' titles */
} Fixture;

static gpointer
template_child (gpointer    widget,
                GType       type,
                const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (child);

  return child;
}

static GFile *
write_png (const char *name,
           guint32     rgba)
{
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 64, 48);
  g_autofree char *path = g_build_filename (tmpdir, name, NULL);
  g_autoptr(GError) error = NULL;

  gdk_pixbuf_fill (pixbuf, rgba);
  gdk_pixbuf_save (pixbuf, path, "png", &error, NULL);
  g_assert_no_error (error);

  return g_file_new_for_path (path);
}

static void
tray_error_cb (SqImageTray *tray,
               const char  *message,
               GPtrArray   *errors)
{
  g_ptr_array_add (errors, g_strdup (message));
}

static void
view_toast_cb (SqAskView *view,
               AdwToast  *toast,
               GPtrArray *toasts)
{
  g_ptr_array_add (toasts, g_strdup (adw_toast_get_title (toast)));
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettings) settings = g_settings_new ("io.github.squintapp.Squint");
  g_autofree char *project_path = g_build_filename (tmpdir, "test.squint", NULL);

  g_unlink (project_path);
  g_settings_reset (settings, "selected-models");
  g_settings_reset (settings, "model-settings");

  fixture->fake = sq_fake_replicate_new ();
  sq_test_setenv_fake (fixture->fake);

  fixture->workspace = sq_workspace_new ();
  sq_workspace_reload_client_async (fixture->workspace, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_workspace_reload_client_finish (fixture->workspace, sq_test_wait_result (&result), &error));
  g_assert_no_error (error);
  g_clear_object (&result);
  sq_workspace_open_project_async (fixture->workspace, project_path, NULL, sq_test_store_result_cb, &result);
  g_assert_true (sq_workspace_open_project_finish (fixture->workspace, sq_test_wait_result (&result), &error));
  g_assert_no_error (error);

  fixture->view = SQ_ASK_VIEW (sq_ask_view_new (fixture->workspace));
  fixture->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (fixture->window), 1100, 900);
  gtk_window_set_child (GTK_WINDOW (fixture->window), GTK_WIDGET (fixture->view));
  gtk_window_present (GTK_WINDOW (fixture->window));

  fixture->tray = template_child (fixture->view, SQ_TYPE_ASK_VIEW, "tray");
  fixture->prompt_box = template_child (fixture->view, SQ_TYPE_ASK_VIEW, "prompt_box");
  fixture->picker = template_child (fixture->view, SQ_TYPE_ASK_VIEW, "picker");
  fixture->errors = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (fixture->tray, "error", G_CALLBACK (tray_error_cb), fixture->errors);
  fixture->toasts = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (fixture->view, "toast", G_CALLBACK (view_toast_cb), fixture->toasts);

  while (!gtk_widget_get_mapped (GTK_WIDGET (fixture->view)))
    g_main_context_iteration (NULL, TRUE);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  if (fixture->window != NULL)
    {
      g_autoptr(GPtrArray) cards = sq_ask_view_get_cards (fixture->view);

      /* Let every answer end before the fake goes. */
      sq_ask_view_stop_all (fixture->view);
      for (guint i = 0; i < cards->len; i++)
        {
          while (sq_answer_card_is_running (g_ptr_array_index (cards, i)))
            g_main_context_iteration (NULL, TRUE);
        }

      g_signal_handlers_disconnect_by_data (fixture->tray, fixture->errors);
      g_signal_handlers_disconnect_by_data (fixture->view, fixture->toasts);
      gtk_window_destroy (GTK_WINDOW (fixture->window));
    }
  while (g_main_context_iteration (NULL, FALSE));
  g_clear_pointer (&fixture->errors, g_ptr_array_unref);
  g_clear_pointer (&fixture->toasts, g_ptr_array_unref);
  g_clear_object (&fixture->workspace);
  g_clear_object (&fixture->fake);
  g_unsetenv ("REPLICATE_BASE_URL");
  g_unsetenv ("REPLICATE_API_TOKEN");
}

/* Drops the files as Files would: a GdkFileList through ::drop. */
static gboolean
drop_files (Fixture *fixture,
            GFile  **files,
            guint    n_files)
{
  GtkDropTarget *target = sq_image_tray_get_drop_target (fixture->tray);
  g_auto(GValue) value = G_VALUE_INIT;
  gboolean accepted = FALSE;

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, gdk_file_list_new_from_array (files, n_files));
  g_signal_emit_by_name (target, "drop", &value, 20.0, 20.0, &accepted);

  while (sq_image_tray_get_n_loading (fixture->tray) > 0)
    g_main_context_iteration (NULL, TRUE);

  return accepted;
}

/* Drops two PNGs and three files that are not images: a text file, an
 * empty "PNG" and a PNG cut short. */
static void
add_two_images (Fixture *fixture)
{
  GFile *files[5];
  g_autofree char *text_path = g_build_filename (tmpdir, "notes.txt", NULL);
  g_autofree char *empty_path = g_build_filename (tmpdir, "empty.png", NULL);
  g_autofree char *cut_path = g_build_filename (tmpdir, "cut.png", NULL);
  g_autofree char *red_path = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_set_contents (text_path, "these are not pixels\n", -1, NULL));
  g_assert_true (g_file_set_contents (empty_path, "", 0, NULL));
  files[0] = write_png ("red.png", 0xdd2211ff);
  red_path = g_file_get_path (files[0]);
  g_assert_true (g_file_get_contents (red_path, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (cut_path, contents, length / 2, NULL));
  files[1] = g_file_new_for_path (text_path);
  files[2] = write_png ("green.png", 0x22aa44ff);
  files[3] = g_file_new_for_path (empty_path);
  files[4] = g_file_new_for_path (cut_path);

  g_assert_true (drop_files (fixture, files, G_N_ELEMENTS (files)));

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    g_object_unref (files[i]);
}

/* Every control below @widget that a person can reach has an accessible
 * name: buttons without a text label, check buttons, text views, entries,
 * switches, spin buttons and ratings. */
static guint
assert_controls_named (GtkWidget *widget)
{
  guint n_checked = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child) || !gtk_widget_get_child_visible (child))
        continue;

      if (GTK_IS_CHECK_BUTTON (child) || GTK_IS_TEXT_VIEW (child) || GTK_IS_ENTRY (child) ||
          GTK_IS_SWITCH (child) || GTK_IS_SPIN_BUTTON (child) || SQ_IS_RATING_WIDGET (child) ||
          GTK_IS_MENU_BUTTON (child) ||
          (GTK_IS_BUTTON (child) && gtk_button_get_label (GTK_BUTTON (child)) == NULL))
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

static gboolean
error_names (Fixture    *fixture,
             const char *name)
{
  for (guint i = 0; i < fixture->errors->len; i++)
    {
      if (strstr (g_ptr_array_index (fixture->errors, i), name) != NULL)
        return TRUE;
    }

  return FALSE;
}

static void
select_models (Fixture            *fixture,
               const char * const *names)
{
  const char *all[] = { "llava-13b", "fuyu-8b", "minigpt-4", "cogvlm" };

  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_assert_true (sq_model_picker_set_selected (fixture->picker, all[i],
                                                 g_strv_contains (names, all[i])));
}

typedef struct
{
  SqAnswerCard *card;
  GString      *statuses;
} Watch;

static GPtrArray *
ask (Fixture *fixture)
{
  g_autoptr(GPtrArray) cards = NULL;
  GPtrArray *watches = g_ptr_array_new ();

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->view), "ask.ask", NULL));

  cards = sq_ask_view_get_cards (fixture->view);
  for (guint i = 0; i < cards->len; i++)
    {
      SqAnswerCard *card = g_ptr_array_index (cards, i);
      Watch *watch;

      if (!sq_answer_card_is_running (card))
        continue;

      watch = g_new0 (Watch, 1);
      watch->card = card;
      /* A GString cannot carry data; keep the card on the run instead. */
      watch->statuses = g_string_new (sq_answer_card_get_status_label (card));
      g_object_set_data (G_OBJECT (sq_answer_card_get_run (card)), "statuses", watch->statuses);
      g_ptr_array_add (watches, watch);
    }

  return watches;
}

static void
status_changed_cb (SqAskRun     *run,
                   GParamSpec   *pspec,
                   SqAnswerCard *card)
{
  GString *statuses = g_object_get_data (G_OBJECT (run), "statuses");

  if (statuses != NULL)
    g_string_append_printf (statuses, " %s", sq_answer_card_get_status_label (card));
}

static void
watch_statuses (GPtrArray *watches)
{
  for (guint i = 0; i < watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (watches, i);

      g_signal_connect_after (sq_answer_card_get_run (watch->card), "notify::status",
                              G_CALLBACK (status_changed_cb), watch->card);
    }
}

static void
wait_all (GPtrArray *watches)
{
  for (guint i = 0; i < watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (watches, i);

      while (sq_answer_card_is_running (watch->card))
        g_main_context_iteration (NULL, TRUE);
    }
}

static void
watches_free (GPtrArray *watches)
{
  for (guint i = 0; i < watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (watches, i);

      g_string_free (watch->statuses, TRUE);
      g_free (watch);
    }
  g_ptr_array_unref (watches);
}

static char *
expected_answer (Fixture      *fixture,
                 SqAnswerCard *card)
{
  SqAskRun *run = sq_answer_card_get_run (card);
  SqModel *model = sq_ask_run_get_model (run);
  g_autofree char *model_name = g_strdup_printf ("%s/%s", sq_model_get_owner (model),
                                                 sq_model_get_name (model));

  return sq_fake_replicate_expected_answer (fixture->fake, model_name,
                                            sq_image_get_hash (sq_ask_run_get_image (run)),
                                            sq_ask_run_get_prompt (run));
}

static gboolean
press_key (GtkWidget *widget,
           guint      keyval)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);
  gboolean handled = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_EVENT_CONTROLLER_KEY (controller))
        {
          g_signal_emit_by_name (controller, "key-pressed", keyval, 0, 0, &handled);
          return handled;
        }
    }

  g_assert_not_reached ();
}

static void
test_drop_and_ask (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *prompt = "what is shown in this image?";
  g_autoptr(GPtrArray) cards = NULL;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *note = NULL;
  SqProject *project = sq_workspace_get_project (fixture->workspace);
  GPtrArray *watches;
  SqRatingWidget *correctness;
  SqRatingWidget *relevance;
  GtkEditable *note_entry;
  SqAnswerCard *first;
  gint64 result_id;

  sq_fake_replicate_set_answer_tokens (fixture->fake, 40);
  sq_fake_replicate_set_token_delay_ms (fixture->fake, 5);

  /* Nothing to ask about yet. */
  gtk_widget_activate_action (GTK_WIDGET (fixture->view), "ask.ask", NULL);
  cards = sq_ask_view_get_cards (fixture->view);
  g_assert_cmpuint (cards->len, ==, 0);

  add_two_images (fixture);
  g_assert_cmpuint (sq_image_tray_get_n_images (fixture->tray), ==, 2);
  g_assert_cmpuint (sq_image_tray_get_n_selected (fixture->tray), ==, 2);
  /* Each refused file is named in its own message. */
  g_assert_cmpuint (fixture->errors->len, ==, 3);
  for (guint i = 0; i < fixture->errors->len; i++)
    g_test_message ("%s", (char *) g_ptr_array_index (fixture->errors, i));
  g_assert_true (error_names (fixture, "notes.txt"));
  g_assert_true (error_names (fixture, "empty.png"));
  g_assert_true (error_names (fixture, "cut.png"));
  /* …and shown as a toast. */
  g_assert_cmpuint (fixture->toasts->len, ==, 3);
  for (guint i = 0; i < fixture->toasts->len; i++)
    g_assert_cmpstr (g_ptr_array_index (fixture->toasts, i), ==, g_ptr_array_index (fixture->errors, i));

  sq_prompt_box_set_text (fixture->prompt_box, prompt);
  select_models (fixture, (const char * const[]) { "llava-13b", "fuyu-8b", NULL });

  watches = ask (fixture);
  g_assert_cmpuint (watches->len, ==, 4);
  watch_statuses (watches);
  wait_all (watches);

  for (guint i = 0; i < watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (watches, i);
      g_autofree char *expected = expected_answer (fixture, watch->card);
      g_autofree char *shown = sq_answer_card_dup_text (watch->card);

      g_test_message ("%s: %s", sq_model_get_display_name (sq_ask_run_get_model (sq_answer_card_get_run (watch->card))),
                      watch->statuses->str);
      g_assert_cmpstr (shown, ==, expected);
      g_assert_true (g_str_has_prefix (watch->statuses->str, "Queued"));
      g_assert_nonnull (strstr (watch->statuses->str, "Streaming"));
      g_assert_true (g_str_has_suffix (watch->statuses->str, "Done"));
    }

  /* Every control of the view, cards included, has a name. */
  g_assert_cmpuint (assert_controls_named (GTK_WIDGET (fixture->view)), >=, 30);

  /* Every answer is in the project, finished. */
  results = sq_project_list_results (project, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 4);
  for (guint i = 0; i < results->len; i++)
    g_assert_cmpstr (sq_result_get_status (g_ptr_array_index (results, i)), ==, "succeeded");

  /* Ratings and notes on a card go to the project at once. */
  first = ((Watch *) g_ptr_array_index (watches, 0))->card;
  result_id = sq_ask_run_get_result_id (sq_answer_card_get_run (first));
  correctness = template_child (first, SQ_TYPE_ANSWER_CARD, "correctness");
  relevance = template_child (first, SQ_TYPE_ANSWER_CARD, "relevance");
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (correctness)));
  g_assert_true (press_key (GTK_WIDGET (correctness), GDK_KEY_4));
  g_assert_true (press_key (GTK_WIDGET (relevance), GDK_KEY_2));
  while (sq_project_get_rating (project, result_id, SQ_CRITERION_CORRECTNESS, NULL, NULL) != 4 ||
         sq_project_get_rating (project, result_id, SQ_CRITERION_RELEVANCE, NULL, NULL) != 2)
    g_main_context_iteration (NULL, TRUE);

  g_assert_true (press_key (GTK_WIDGET (relevance), GDK_KEY_Delete));
  while (sq_project_get_rating (project, result_id, SQ_CRITERION_RELEVANCE, NULL, NULL) != 0)
    g_main_context_iteration (NULL, TRUE);

  note_entry = template_child (first, SQ_TYPE_ANSWER_CARD, "note_entry");
  gtk_editable_set_text (note_entry, "misses the trophy");
  g_signal_emit_by_name (note_entry, "activate");
  while (note == NULL)
    {
      g_main_context_iteration (NULL, TRUE);
      note = sq_project_get_note (project, result_id, NULL, NULL);
    }
  g_assert_cmpstr (note, ==, "misses the trophy");

  /* The question is in the history, and Up recalls it in an empty box. */
  sq_prompt_box_set_text (fixture->prompt_box, "");
  g_assert_true (press_key (GTK_WIDGET (sq_prompt_box_get_text_view (fixture->prompt_box)), GDK_KEY_Up));
  {
    g_autofree char *recalled = sq_prompt_box_dup_text (fixture->prompt_box);

    g_assert_cmpstr (recalled, ==, prompt);
  }

  watches_free (watches);
}

static void
test_fail (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GPtrArray) images = NULL;
  GPtrArray *watches;
  SqAnswerCard *card;
  GtkLabel *error_label;

  add_two_images (fixture);
  images = sq_image_tray_dup_images (fixture->tray);
  sq_image_tray_set_selected (fixture->tray, g_ptr_array_index (images, 1), FALSE);
  g_assert_cmpuint (sq_image_tray_get_n_selected (fixture->tray), ==, 1);

  sq_prompt_box_set_text (fixture->prompt_box, "[[fail]] is there anything unusual?");
  select_models (fixture, (const char * const[]) { "llava-13b", NULL });

  watches = ask (fixture);
  g_assert_cmpuint (watches->len, ==, 1);
  watch_statuses (watches);
  wait_all (watches);

  card = ((Watch *) g_ptr_array_index (watches, 0))->card;
  g_assert_cmpstr (sq_answer_card_get_status_label (card), ==, "Failed");
  g_assert_cmpint (sq_ask_run_get_status (sq_answer_card_get_run (card)), ==, SQ_PREDICTION_FAILED);
  error_label = template_child (card, SQ_TYPE_ANSWER_CARD, "error_label");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (error_label)));
  g_assert_cmpstr (gtk_label_get_label (error_label), ==,
                   sq_ask_run_get_error_message (sq_answer_card_get_run (card)));

  watches_free (watches);
}

static void
test_stop (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(SqResult) row = NULL;
  g_auto(GStrv) canceled = NULL;
  GPtrArray *watches;
  SqAnswerCard *card;
  SqAskRun *run;

  sq_fake_replicate_set_answer_tokens (fixture->fake, 400);
  sq_fake_replicate_set_token_delay_ms (fixture->fake, 30);

  add_two_images (fixture);
  sq_prompt_box_set_text (fixture->prompt_box, "describe it at length");
  select_models (fixture, (const char * const[]) { "llava-13b", NULL });

  watches = ask (fixture);
  g_assert_cmpuint (watches->len, ==, 2);
  watch_statuses (watches);
  card = ((Watch *) g_ptr_array_index (watches, 0))->card;
  run = sq_answer_card_get_run (card);
  while (*sq_ask_run_get_text (run) == '\0')
    g_main_context_iteration (NULL, TRUE);

  /* Escape stops them all. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->view), "ask.stop-all", NULL));
  wait_all (watches);

  for (guint i = 0; i < watches->len; i++)
    {
      Watch *watch = g_ptr_array_index (watches, i);

      g_assert_cmpstr (sq_answer_card_get_status_label (watch->card), ==, "Canceled");
    }

  row = sq_project_get_result (sq_workspace_get_project (fixture->workspace),
                               sq_ask_run_get_result_id (run), NULL);
  g_assert_cmpstr (sq_result_get_status (row), ==, "canceled");
  canceled = sq_fake_replicate_dup_canceled_ids (fixture->fake);
  g_assert_true (g_strv_contains ((const char * const *) canceled, sq_result_get_prediction_id (row)));

  watches_free (watches);
}

static GtkWidget *
find_button (GtkWidget  *widget,
             const char *css_class)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_BUTTON (child) && gtk_widget_has_css_class (child, css_class))
        return child;
      if ((found = find_button (child, css_class)) != NULL)
        return found;
    }

  return NULL;
}

/* A texture dragged from another app, and links as text: one that is
 * not an image (an API answer) and text that holds no link at all. */
static void
test_drop_texture_and_links (Fixture       *fixture,
                             gconstpointer  data)
{
  GtkDropTarget *target = sq_image_tray_get_drop_target (fixture->tray);
  g_autoptr(GdkPixbuf) pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 40, 30);
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *link = NULL;
  g_auto(GValue) value = G_VALUE_INIT;
  gboolean accepted = FALSE;
  g_autoptr(GPtrArray) cards = NULL;
  GtkWidget *remove;

  gdk_pixbuf_fill (pixbuf, 0x8040c0ff);
  texture = gdk_texture_new_for_pixbuf (pixbuf);
  g_value_init (&value, GDK_TYPE_TEXTURE);
  g_value_set_object (&value, texture);
  g_signal_emit_by_name (target, "drop", &value, 5.0, 5.0, &accepted);
  g_assert_true (accepted);
  while (sq_image_tray_get_n_images (fixture->tray) < 1)
    g_main_context_iteration (NULL, TRUE);
  g_value_unset (&value);

  link = g_strdup_printf ("%s/v1/models/acme/text-only", sq_fake_replicate_get_origin (fixture->fake));
  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, link);
  g_signal_emit_by_name (target, "drop", &value, 5.0, 5.0, &accepted);
  g_assert_true (accepted);
  while (fixture->errors->len < 1)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("%s", (char *) g_ptr_array_index (fixture->errors, 0));
  g_assert_nonnull (strstr (g_ptr_array_index (fixture->errors, 0), "text-only"));
  g_value_unset (&value);

  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, "just some words");
  g_signal_emit_by_name (target, "drop", &value, 5.0, 5.0, &accepted);
  g_assert_false (accepted);
  g_assert_cmpuint (fixture->errors->len, ==, 2);

  /* Nothing but the texture was added. */
  while (sq_image_tray_get_n_loading (fixture->tray) > 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (sq_image_tray_get_n_images (fixture->tray), ==, 1);

  /* Its remove button takes it away again. */
  remove = find_button (GTK_WIDGET (fixture->tray), "remove");
  g_assert_nonnull (remove);
  g_signal_emit_by_name (remove, "clicked");
  g_assert_cmpuint (sq_image_tray_get_n_images (fixture->tray), ==, 0);

  /* With no image left there is nothing to ask about. */
  sq_prompt_box_set_text (fixture->prompt_box, "anything?");
  gtk_widget_activate_action (GTK_WIDGET (fixture->view), "ask.ask", NULL);
  cards = sq_ask_view_get_cards (fixture->view);
  g_assert_cmpuint (cards->len, ==, 0);
}

/* Closing the window stops the answers still streaming, on Replicate
 * too, and keeps them in the project as canceled. */
static void
test_close_stops (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(SqAskRun) run = NULL;
  g_autoptr(SqResult) row = NULL;
  g_auto(GStrv) canceled = NULL;
  g_autoptr(GPtrArray) cards = NULL;
  GFile *files[1];

  sq_fake_replicate_set_answer_tokens (fixture->fake, 400);
  sq_fake_replicate_set_token_delay_ms (fixture->fake, 30);

  files[0] = write_png ("blue.png", 0x2244ddff);
  g_assert_true (drop_files (fixture, files, 1));
  g_object_unref (files[0]);
  sq_prompt_box_set_text (fixture->prompt_box, "keep talking");
  select_models (fixture, (const char * const[]) { "llava-13b", NULL });
  g_assert_true (sq_ask_view_ask (fixture->view));

  cards = sq_ask_view_get_cards (fixture->view);
  g_assert_cmpuint (cards->len, ==, 1);
  run = g_object_ref (sq_answer_card_get_run (g_ptr_array_index (cards, 0)));
  g_clear_pointer (&cards, g_ptr_array_unref);
  while (*sq_ask_run_get_text (run) == '\0')
    g_main_context_iteration (NULL, TRUE);

  gtk_window_destroy (GTK_WINDOW (fixture->window));
  fixture->window = NULL;
  while (!sq_prediction_status_is_terminal (sq_ask_run_get_status (run)))
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpint (sq_ask_run_get_status (run), ==, SQ_PREDICTION_CANCELED);
  row = sq_project_get_result (sq_workspace_get_project (fixture->workspace),
                               sq_ask_run_get_result_id (run), NULL);
  g_assert_cmpstr (sq_result_get_status (row), ==, "canceled");
  g_assert_cmpstr (sq_result_get_response (row), ==, sq_ask_run_get_text (run));
  canceled = sq_fake_replicate_dup_canceled_ids (fixture->fake);
  g_assert_true (g_strv_contains ((const char * const *) canceled, sq_result_get_prediction_id (row)));
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  tmpdir = sq_test_make_xdg_tmpdir ("squint-ask-view-XXXXXX");

  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add ("/ask-view/drop-and-ask", Fixture, NULL, fixture_set_up, test_drop_and_ask, fixture_tear_down);
  g_test_add ("/ask-view/drop-texture-and-links", Fixture, NULL, fixture_set_up, test_drop_texture_and_links, fixture_tear_down);
  g_test_add ("/ask-view/fail", Fixture, NULL, fixture_set_up, test_fail, fixture_tear_down);
  g_test_add ("/ask-view/stop", Fixture, NULL, fixture_set_up, test_stop, fixture_tear_down);
  g_test_add ("/ask-view/close-stops", Fixture, NULL, fixture_set_up, test_close_stops, fixture_tear_down);

  ret = g_test_run ();

  g_free (tmpdir);

  return ret;
}
