/* sq-application.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-application"

#include "config.h"

#include "sq-application.h"

struct _SqApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (SqApplication, sq_application, ADW_TYPE_APPLICATION)

static void
sq_application_class_init (SqApplicationClass *klass)
{
}

static void
sq_application_init (SqApplication *self)
{
}

SqApplication *
sq_application_new (void)
{
  return g_object_new (SQ_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       NULL);
}
