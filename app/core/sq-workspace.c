/* sq-workspace.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-workspace"

#include "config.h"

#include "sq-error.h"
#include "sq-workspace.h"

struct _SqWorkspace
{
  GObject            parent_instance;

  SqProject         *project;       /* (owned) (nullable) */
  SqReplicateClient *client;        /* (owned) (nullable) */
  SqModelCatalog    *catalog;       /* (owned) */
  GError            *client_error;  /* (owned) (nullable) */
  SqTokenSource      token_source;
};

G_DEFINE_FINAL_TYPE (SqWorkspace, sq_workspace, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PROJECT,
  PROP_CLIENT,
  PROP_CATALOG,
  PROP_TOKEN_SOURCE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/*
 * Auxiliary methods
 */

static void
set_client (SqWorkspace       *self,
            SqReplicateClient *client,
            SqTokenSource      source,
            GError            *error)
{
  g_clear_error (&self->client_error);
  self->client_error = error;

  if (self->token_source != source)
    {
      self->token_source = source;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOKEN_SOURCE]);
    }

  if (self->client == client && self->catalog != NULL)
    return;

  g_set_object (&self->client, client);
  g_clear_object (&self->catalog);
  self->catalog = sq_model_catalog_new (client, NULL);

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CATALOG]);
}

/*
 * Signal callbacks
 */

static void
reload_client_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SqWorkspace *self = g_task_get_source_object (task);
  g_autoptr(SqReplicateClient) client = NULL;
  g_autoptr(GError) error = NULL;
  SqTokenSource source = SQ_TOKEN_SOURCE_NONE;

  g_assert (SQ_IS_WORKSPACE (self));

  client = sq_config_create_client_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (client != NULL)
    source = sq_config_get_env_token () != NULL ? SQ_TOKEN_SOURCE_ENVIRONMENT
                                                : SQ_TOKEN_SOURCE_KEYRING;

  if (error != NULL)
    {
      GError *copy = g_error_copy (error);

      set_client (self, NULL, source, copy);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  set_client (self, client, source, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
open_project_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  SqWorkspace *self = g_task_get_source_object (task);
  g_autoptr(SqProject) project = NULL;
  g_autoptr(GError) error = NULL;

  g_assert (SQ_IS_WORKSPACE (self));

  project = sq_project_open_finish (result, &error);
  if (project == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (g_set_object (&self->project, project))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROJECT]);

  g_task_return_boolean (task, TRUE);
}

/*
 * GObject overrides
 */

static void
sq_workspace_dispose (GObject *object)
{
  SqWorkspace *self = (SqWorkspace *)object;

  g_clear_object (&self->project);
  g_clear_object (&self->client);
  g_clear_object (&self->catalog);

  G_OBJECT_CLASS (sq_workspace_parent_class)->dispose (object);
}

static void
sq_workspace_finalize (GObject *object)
{
  SqWorkspace *self = (SqWorkspace *)object;

  g_clear_error (&self->client_error);

  G_OBJECT_CLASS (sq_workspace_parent_class)->finalize (object);
}

static void
sq_workspace_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  SqWorkspace *self = SQ_WORKSPACE (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      g_value_set_object (value, self->project);
      break;

    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;

    case PROP_CATALOG:
      g_value_set_object (value, self->catalog);
      break;

    case PROP_TOKEN_SOURCE:
      g_value_set_int (value, self->token_source);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_workspace_class_init (SqWorkspaceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sq_workspace_dispose;
  object_class->finalize = sq_workspace_finalize;
  object_class->get_property = sq_workspace_get_property;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL,
                         SQ_TYPE_PROJECT,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL,
                         SQ_TYPE_REPLICATE_CLIENT,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_CATALOG] =
    g_param_spec_object ("catalog", NULL, NULL,
                         SQ_TYPE_MODEL_CATALOG,
                         (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));
  properties[PROP_TOKEN_SOURCE] =
    g_param_spec_int ("token-source", NULL, NULL,
                      SQ_TOKEN_SOURCE_NONE, SQ_TOKEN_SOURCE_KEYRING, SQ_TOKEN_SOURCE_NONE,
                      (G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS));

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sq_workspace_init (SqWorkspace *self)
{
  self->catalog = sq_model_catalog_new (NULL, NULL);
}

/*
 * Public API
 */

SqWorkspace *
sq_workspace_new (void)
{
  return g_object_new (SQ_TYPE_WORKSPACE, NULL);
}

SqProject *
sq_workspace_get_project (SqWorkspace *self)
{
  g_return_val_if_fail (SQ_IS_WORKSPACE (self), NULL);

  return self->project;
}

void
sq_workspace_open_project_async (SqWorkspace         *self,
                                 const char          *path,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *default_path = NULL;

  g_return_if_fail (SQ_IS_WORKSPACE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_workspace_open_project_async);

  if (path == NULL)
    path = default_path = sq_project_get_default_path ();

  sq_project_open_async (path, cancellable, open_project_cb, g_steal_pointer (&task));
}

gboolean
sq_workspace_open_project_finish (SqWorkspace   *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (SQ_IS_WORKSPACE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

SqReplicateClient *
sq_workspace_get_client (SqWorkspace *self)
{
  g_return_val_if_fail (SQ_IS_WORKSPACE (self), NULL);

  return self->client;
}

const GError *
sq_workspace_get_client_error (SqWorkspace *self)
{
  g_return_val_if_fail (SQ_IS_WORKSPACE (self), NULL);

  return self->client_error;
}

SqTokenSource
sq_workspace_get_token_source (SqWorkspace *self)
{
  g_return_val_if_fail (SQ_IS_WORKSPACE (self), SQ_TOKEN_SOURCE_NONE);

  return self->token_source;
}

SqModelCatalog *
sq_workspace_get_catalog (SqWorkspace *self)
{
  g_return_val_if_fail (SQ_IS_WORKSPACE (self), NULL);

  return self->catalog;
}

void
sq_workspace_reload_client_async (SqWorkspace         *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SQ_IS_WORKSPACE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, sq_workspace_reload_client_async);

  sq_config_create_client_async (cancellable, reload_client_cb, g_steal_pointer (&task));
}

gboolean
sq_workspace_reload_client_finish (SqWorkspace   *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (SQ_IS_WORKSPACE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
