/* sq-compat.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-compat"

#include "config.h"

#include <glib/gi18n.h>

#include "sq-compat.h"

#define SQUINT_WEBSITE   "https://github.com/squintapp/squint"
#define SQUINT_ISSUE_URL "https://github.com/squintapp/squint/issues"

void
sq_compat_show_about (GtkWindow *parent)
{
  static const char *developers[] = {
    "The Squint developers https://github.com/squintapp/squint",
    NULL
  };
#if ADW_CHECK_VERSION (1, 5, 0)
  AdwDialog *about;

  about = adw_about_dialog_new ();
  adw_about_dialog_set_application_name (ADW_ABOUT_DIALOG (about), _("Squint"));
  adw_about_dialog_set_application_icon (ADW_ABOUT_DIALOG (about), APP_ID);
  adw_about_dialog_set_developer_name (ADW_ABOUT_DIALOG (about), _("The Squint developers"));
  adw_about_dialog_set_version (ADW_ABOUT_DIALOG (about), PACKAGE_VERSION);
  adw_about_dialog_set_comments (ADW_ABOUT_DIALOG (about),
                                 _("Ask vision models about images and compare their answers"));
  adw_about_dialog_set_website (ADW_ABOUT_DIALOG (about), SQUINT_WEBSITE);
  adw_about_dialog_set_issue_url (ADW_ABOUT_DIALOG (about), SQUINT_ISSUE_URL);
  adw_about_dialog_set_developers (ADW_ABOUT_DIALOG (about), developers);
  adw_about_dialog_set_copyright (ADW_ABOUT_DIALOG (about), _("© 2026 The Squint developers"));
  adw_about_dialog_set_license_type (ADW_ABOUT_DIALOG (about), GTK_LICENSE_GPL_3_0);
  /* Translators: Replace "translator-credits" with your name and email, one per line */
  adw_about_dialog_set_translator_credits (ADW_ABOUT_DIALOG (about), _("translator-credits"));
  adw_dialog_present (about, parent != NULL ? GTK_WIDGET (parent) : NULL);
#else
  GtkWidget *about;

  about = adw_about_window_new ();
  adw_about_window_set_application_name (ADW_ABOUT_WINDOW (about), _("Squint"));
  adw_about_window_set_application_icon (ADW_ABOUT_WINDOW (about), APP_ID);
  adw_about_window_set_developer_name (ADW_ABOUT_WINDOW (about), _("The Squint developers"));
  adw_about_window_set_version (ADW_ABOUT_WINDOW (about), PACKAGE_VERSION);
  adw_about_window_set_comments (ADW_ABOUT_WINDOW (about),
                                 _("Ask vision models about images and compare their answers"));
  adw_about_window_set_website (ADW_ABOUT_WINDOW (about), SQUINT_WEBSITE);
  adw_about_window_set_issue_url (ADW_ABOUT_WINDOW (about), SQUINT_ISSUE_URL);
  adw_about_window_set_developers (ADW_ABOUT_WINDOW (about), developers);
  adw_about_window_set_copyright (ADW_ABOUT_WINDOW (about), _("© 2026 The Squint developers"));
  adw_about_window_set_license_type (ADW_ABOUT_WINDOW (about), GTK_LICENSE_GPL_3_0);
  /* Translators: Replace "translator-credits" with your name and email, one per line */
  adw_about_window_set_translator_credits (ADW_ABOUT_WINDOW (about), _("translator-credits"));
  if (parent != NULL)
    {
      gtk_window_set_transient_for (GTK_WINDOW (about), parent);
      gtk_window_set_modal (GTK_WINDOW (about), TRUE);
    }
  gtk_window_present (GTK_WINDOW (about));
#endif
}
