/* sq-results-model.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-results-model"

#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "sq-results-model.h"

/* How long "results-changed" ids are gathered before they are read. */
#define FLUSH_DELAY_MS 120

/* ------------------------------------------------------------------ */
/* SqResultRow                                                        */

struct _SqResultRow
{
  GObject   parent_instance;

  SqResult *result;         /* (owned) */
  char     *blind_label;    /* (owned) (nullable) */
  char     *response_key;   /* (owned) (nullable): computed on demand */
  guint64   blind_rank;
  int       local_score[SQ_N_CRITERIA];  /* -1: none */
  int       active_criterion;
  guint     expanded : 1;
};

G_DEFINE_FINAL_TYPE (SqResultRow, sq_result_row, G_TYPE_OBJECT)

enum {
  ROW_PROP_0,
  ROW_PROP_RESULT,
  ROW_PROP_ID,
  ROW_PROP_PROMPT,
  ROW_PROP_IMAGE_ID,
  ROW_PROP_IMAGE_NAME,
  ROW_PROP_MODEL_NAME,
  ROW_PROP_REAL_MODEL_NAME,
  ROW_PROP_STATUS,
  ROW_PROP_RESPONSE,
  ROW_PROP_ERROR,
  ROW_PROP_CORRECTNESS,
  ROW_PROP_RELEVANCE,
  ROW_PROP_NOTE,
  ROW_PROP_TTFT_MS,
  ROW_PROP_TOTAL_MS,
  ROW_PROP_UNRATED,
  ROW_PROP_BLIND_ORDER,
  ROW_PROP_EXPANDED,
  ROW_PROP_ACTIVE_CRITERION,
  ROW_N_PROPS
};

static GParamSpec *row_properties[ROW_N_PROPS];

static SqResultRow *
sq_result_row_new (SqResult *result)
{
  SqResultRow *self = g_object_new (SQ_TYPE_RESULT_ROW, NULL);

  self->result = g_object_ref (result);

  return self;
}

static void
sq_result_row_finalize (GObject *object)
{
  SqResultRow *self = SQ_RESULT_ROW (object);

  g_clear_object (&self->result);
  g_clear_pointer (&self->blind_label, g_free);
  g_clear_pointer (&self->response_key, g_free);

  G_OBJECT_CLASS (sq_result_row_parent_class)->finalize (object);
}

double
sq_result_row_get_score (SqResultRow *self,
                         SqCriterion  criterion)
{
  g_return_val_if_fail (SQ_IS_RESULT_ROW (self), -1);
  g_return_val_if_fail (criterion < SQ_N_CRITERIA, -1);

  if (self->local_score[criterion] >= 0)
    return self->local_score[criterion] > 0 ? self->local_score[criterion] : -1;

  return sq_result_get_score (self->result, criterion);
}

gboolean
sq_result_row_get_unrated (SqResultRow *self)
{
  g_return_val_if_fail (SQ_IS_RESULT_ROW (self), FALSE);

  for (guint i = 0; i < SQ_N_CRITERIA; i++)
    if (sq_result_row_get_score (self, i) < 0)
      return TRUE;

  return FALSE;
}

const char *
sq_result_row_get_model_name (SqResultRow *self)
{
  g_return_val_if_fail (SQ_IS_RESULT_ROW (self), NULL);

  if (self->blind_label != NULL)
    return self->blind_label;

  return sq_result_get_model_name (self->result);
}

static void
sq_result_row_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  SqResultRow *self = SQ_RESULT_ROW (object);

  switch (prop_id)
    {
    case ROW_PROP_RESULT: g_value_set_object (value, self->result); break;
    case ROW_PROP_ID: g_value_set_int64 (value, sq_result_get_id (self->result)); break;
    case ROW_PROP_PROMPT: g_value_set_string (value, sq_result_get_prompt (self->result)); break;
    case ROW_PROP_IMAGE_ID: g_value_set_int64 (value, sq_result_get_image_id (self->result)); break;
    case ROW_PROP_IMAGE_NAME: g_value_set_string (value, sq_result_get_image_name (self->result)); break;
    case ROW_PROP_MODEL_NAME: g_value_set_string (value, sq_result_row_get_model_name (self)); break;
    case ROW_PROP_REAL_MODEL_NAME: g_value_set_string (value, sq_result_get_model_name (self->result)); break;
    case ROW_PROP_STATUS: g_value_set_string (value, sq_result_get_status (self->result)); break;
    case ROW_PROP_RESPONSE: g_value_set_string (value, sq_result_get_response (self->result)); break;
    case ROW_PROP_ERROR: g_value_set_string (value, sq_result_get_error (self->result)); break;
    case ROW_PROP_CORRECTNESS: g_value_set_double (value, sq_result_row_get_score (self, SQ_CRITERION_CORRECTNESS)); break;
    case ROW_PROP_RELEVANCE: g_value_set_double (value, sq_result_row_get_score (self, SQ_CRITERION_RELEVANCE)); break;
    case ROW_PROP_NOTE: g_value_set_string (value, sq_result_get_note (self->result)); break;
    case ROW_PROP_TTFT_MS: g_value_set_int64 (value, sq_result_get_ttft_ms (self->result)); break;
    case ROW_PROP_TOTAL_MS: g_value_set_int64 (value, sq_result_get_total_ms (self->result)); break;
    case ROW_PROP_UNRATED: g_value_set_boolean (value, sq_result_row_get_unrated (self)); break;
    case ROW_PROP_BLIND_ORDER: g_value_set_uint64 (value, self->blind_rank); break;
    case ROW_PROP_EXPANDED: g_value_set_boolean (value, self->expanded); break;
    case ROW_PROP_ACTIVE_CRITERION: g_value_set_int (value, self->active_criterion); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_result_row_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  SqResultRow *self = SQ_RESULT_ROW (object);

  switch (prop_id)
    {
    case ROW_PROP_EXPANDED:
      sq_result_row_set_expanded (self, g_value_get_boolean (value));
      break;
    case ROW_PROP_ACTIVE_CRITERION:
      sq_result_row_set_active_criterion (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_result_row_class_init (SqResultRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = sq_result_row_finalize;
  object_class->get_property = sq_result_row_get_property;
  object_class->set_property = sq_result_row_set_property;

  row_properties[ROW_PROP_RESULT] = g_param_spec_object ("result", NULL, NULL, SQ_TYPE_RESULT, ro);
  row_properties[ROW_PROP_ID] = g_param_spec_int64 ("id", NULL, NULL, 0, G_MAXINT64, 0, ro);
  row_properties[ROW_PROP_PROMPT] = g_param_spec_string ("prompt", NULL, NULL, NULL, ro);
  row_properties[ROW_PROP_IMAGE_ID] = g_param_spec_int64 ("image-id", NULL, NULL, 0, G_MAXINT64, 0, ro);
  row_properties[ROW_PROP_IMAGE_NAME] = g_param_spec_string ("image-name", NULL, NULL, NULL, ro);
  row_properties[ROW_PROP_MODEL_NAME] = g_param_spec_string ("model-name", NULL, NULL, NULL, ro);
  row_properties[ROW_PROP_REAL_MODEL_NAME] = g_param_spec_string ("real-model-name", NULL, NULL, NULL, ro);
  row_properties[ROW_PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, ro);
  row_properties[ROW_PROP_RESPONSE] = g_param_spec_string ("response", NULL, NULL, NULL, ro);
  row_properties[ROW_PROP_ERROR] = g_param_spec_string ("error", NULL, NULL, NULL, ro);
  row_properties[ROW_PROP_CORRECTNESS] = g_param_spec_double ("correctness", NULL, NULL, -1, 5, -1, ro);
  row_properties[ROW_PROP_RELEVANCE] = g_param_spec_double ("relevance", NULL, NULL, -1, 5, -1, ro);
  row_properties[ROW_PROP_NOTE] = g_param_spec_string ("note", NULL, NULL, NULL, ro);
  row_properties[ROW_PROP_TTFT_MS] = g_param_spec_int64 ("ttft-ms", NULL, NULL, -1, G_MAXINT64, -1, ro);
  row_properties[ROW_PROP_TOTAL_MS] = g_param_spec_int64 ("total-ms", NULL, NULL, -1, G_MAXINT64, -1, ro);
  row_properties[ROW_PROP_UNRATED] = g_param_spec_boolean ("unrated", NULL, NULL, TRUE, ro);
  row_properties[ROW_PROP_BLIND_ORDER] = g_param_spec_uint64 ("blind-order", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  row_properties[ROW_PROP_EXPANDED] = g_param_spec_boolean ("expanded", NULL, NULL, FALSE, rw);
  row_properties[ROW_PROP_ACTIVE_CRITERION] = g_param_spec_int ("active-criterion", NULL, NULL, -1, SQ_N_CRITERIA - 1, -1, rw);

  g_object_class_install_properties (object_class, ROW_N_PROPS, row_properties);
}

static void
sq_result_row_init (SqResultRow *self)
{
  self->active_criterion = -1;
  for (guint i = 0; i < SQ_N_CRITERIA; i++)
    self->local_score[i] = -1;
}

SqResult *
sq_result_row_get_result (SqResultRow *self)
{
  g_return_val_if_fail (SQ_IS_RESULT_ROW (self), NULL);

  return self->result;
}

gint64
sq_result_row_get_id (SqResultRow *self)
{
  g_return_val_if_fail (SQ_IS_RESULT_ROW (self), 0);

  return sq_result_get_id (self->result);
}

void
sq_result_row_set_local_score (SqResultRow *self,
                               SqCriterion  criterion,
                               int          score)
{
  g_return_if_fail (SQ_IS_RESULT_ROW (self));
  g_return_if_fail (criterion < SQ_N_CRITERIA);
  g_return_if_fail (score >= 0 && score <= 5);

  self->local_score[criterion] = score;
  g_object_notify_by_pspec (G_OBJECT (self),
                            row_properties[criterion == SQ_CRITERION_CORRECTNESS
                                           ? ROW_PROP_CORRECTNESS : ROW_PROP_RELEVANCE]);
  g_object_notify_by_pspec (G_OBJECT (self), row_properties[ROW_PROP_UNRATED]);
}

/* Enough of the answer to order answers the way people read them. */
#define RESPONSE_KEY_CHARS 64

const char *
sq_result_row_get_response_key (SqResultRow *self)
{
  g_return_val_if_fail (SQ_IS_RESULT_ROW (self), NULL);

  if (self->response_key == NULL)
    {
      const char *response = sq_result_get_response (self->result);
      const char *end = response;
      g_autofree char *folded = NULL;

      for (guint i = 0; i < RESPONSE_KEY_CHARS && *end != '\0'; i++)
        end = g_utf8_next_char (end);
      folded = g_utf8_casefold (response, end - response);
      self->response_key = g_utf8_collate_key (folded, -1);
    }

  return self->response_key;
}

gboolean
sq_result_row_get_expanded (SqResultRow *self)
{
  g_return_val_if_fail (SQ_IS_RESULT_ROW (self), FALSE);

  return self->expanded;
}

void
sq_result_row_set_expanded (SqResultRow *self,
                            gboolean     expanded)
{
  g_return_if_fail (SQ_IS_RESULT_ROW (self));

  expanded = !!expanded;
  if (self->expanded == expanded)
    return;

  self->expanded = expanded;
  g_object_notify_by_pspec (G_OBJECT (self), row_properties[ROW_PROP_EXPANDED]);
}

int
sq_result_row_get_active_criterion (SqResultRow *self)
{
  g_return_val_if_fail (SQ_IS_RESULT_ROW (self), -1);

  return self->active_criterion;
}

void
sq_result_row_set_active_criterion (SqResultRow *self,
                                    int          criterion)
{
  g_return_if_fail (SQ_IS_RESULT_ROW (self));
  g_return_if_fail (criterion >= -1 && criterion < SQ_N_CRITERIA);

  if (self->active_criterion == criterion)
    return;

  self->active_criterion = criterion;
  g_object_notify_by_pspec (G_OBJECT (self), row_properties[ROW_PROP_ACTIVE_CRITERION]);
}

static gboolean
str_changed (const char *a,
             const char *b)
{
  return g_strcmp0 (a, b) != 0;
}

/* Takes a new snapshot; returns TRUE when anything shown changed. */
static gboolean
sq_result_row_update (SqResultRow *self,
                      SqResult    *result)
{
  g_autoptr(SqResult) old = NULL;
  GObject *object = G_OBJECT (self);
  gboolean changed = FALSE;
  gboolean had_local = FALSE;

  g_assert (SQ_IS_RESULT_ROW (self));
  g_assert (SQ_IS_RESULT (result));

  if (result == self->result)
    return FALSE;

  old = g_steal_pointer (&self->result);
  self->result = g_object_ref (result);
  g_clear_pointer (&self->response_key, g_free);
  for (guint i = 0; i < SQ_N_CRITERIA; i++)
    {
      had_local |= self->local_score[i] >= 0;
      self->local_score[i] = -1;
    }

  g_object_freeze_notify (object);

#define NOTIFY_IF(cond, prop) \
  G_STMT_START { if (cond) { g_object_notify_by_pspec (object, row_properties[prop]); changed = TRUE; } } G_STMT_END

  NOTIFY_IF (TRUE, ROW_PROP_RESULT);
  NOTIFY_IF (str_changed (sq_result_get_status (old), sq_result_get_status (result)), ROW_PROP_STATUS);
  NOTIFY_IF (str_changed (sq_result_get_response (old), sq_result_get_response (result)), ROW_PROP_RESPONSE);
  NOTIFY_IF (str_changed (sq_result_get_error (old), sq_result_get_error (result)), ROW_PROP_ERROR);
  NOTIFY_IF (str_changed (sq_result_get_note (old), sq_result_get_note (result)), ROW_PROP_NOTE);
  NOTIFY_IF (had_local || sq_result_get_correctness (old) != sq_result_get_correctness (result), ROW_PROP_CORRECTNESS);
  NOTIFY_IF (had_local || sq_result_get_relevance (old) != sq_result_get_relevance (result), ROW_PROP_RELEVANCE);
  NOTIFY_IF (TRUE, ROW_PROP_UNRATED);
  NOTIFY_IF (sq_result_get_ttft_ms (old) != sq_result_get_ttft_ms (result), ROW_PROP_TTFT_MS);
  NOTIFY_IF (sq_result_get_total_ms (old) != sq_result_get_total_ms (result), ROW_PROP_TOTAL_MS);
  NOTIFY_IF (str_changed (sq_result_get_model_name (old), sq_result_get_model_name (result)), ROW_PROP_REAL_MODEL_NAME);

#undef NOTIFY_IF

  g_object_thaw_notify (object);

  return changed;
}

static void
sq_result_row_set_blind (SqResultRow *self,
                         const char  *label,
                         guint64      rank)
{
  g_assert (SQ_IS_RESULT_ROW (self));

  self->blind_rank = rank;
  if (g_strcmp0 (label, self->blind_label) != 0)
    {
      g_free (self->blind_label);
      self->blind_label = g_strdup (label);
      g_object_notify_by_pspec (G_OBJECT (self), row_properties[ROW_PROP_MODEL_NAME]);
    }
}

/* ------------------------------------------------------------------ */
/* SqResultsModel                                                     */

struct _SqResultsModel
{
  GObject       parent_instance;

  SqProject    *project;       /* (owned) */
  GCancellable *cancellable;   /* (owned) */
  GPtrArray    *rows;          /* (owned) (element-type SqResultRow) */
  GHashTable   *by_id;         /* gint64* → SqResultRow (borrowed) */
  GHashTable   *pending;       /* ids to read again (gint64*) */
  char         *blind_key;     /* (owned) (nullable) */
  guint         flush_source;
  guint         reload_pending : 1;
  guint         reloading : 1;
  guint         loaded : 1;
};

static void sq_results_model_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SqResultsModel, sq_results_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      sq_results_model_list_model_init))

enum {
  PROP_0,
  PROP_PROJECT,
  PROP_LOADED,
  PROP_BLIND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GType
sq_results_model_get_item_type (GListModel *model)
{
  return SQ_TYPE_RESULT_ROW;
}

static guint
sq_results_model_get_n_items (GListModel *model)
{
  return SQ_RESULTS_MODEL (model)->rows->len;
}

static gpointer
sq_results_model_get_item (GListModel *model,
                           guint       position)
{
  SqResultsModel *self = SQ_RESULTS_MODEL (model);

  if (position >= self->rows->len)
    return NULL;

  return g_object_ref (g_ptr_array_index (self->rows, position));
}

static void
sq_results_model_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = sq_results_model_get_item_type;
  iface->get_n_items = sq_results_model_get_n_items;
  iface->get_item = sq_results_model_get_item;
}

static guint64
blind_rank (const char *key,
            SqResult   *result)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *text = NULL;
  guint8 digest[32];
  gsize len = sizeof digest;
  guint64 rank = 0;

  text = g_strdup_printf ("%s:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT,
                          key,
                          sq_result_get_prompt_id (result),
                          sq_result_get_image_id (result),
                          sq_result_get_model_id (result));
  g_checksum_update (checksum, (const guchar *) text, -1);
  g_checksum_get_digest (checksum, digest, &len);
  for (guint i = 0; i < 8; i++)
    rank = (rank << 8) | digest[i];

  return rank;
}

static int
compare_rows (gconstpointer a,
              gconstpointer b,
              gpointer      user_data)
{
  SqResultsModel *self = user_data;
  SqResultRow *ra = *(SqResultRow * const *) a;
  SqResultRow *rb = *(SqResultRow * const *) b;
  SqResult *x = ra->result;
  SqResult *y = rb->result;

#define CMP(u, v) G_STMT_START { if ((u) != (v)) return (u) < (v) ? -1 : 1; } G_STMT_END
  CMP (sq_result_get_prompt_id (x), sq_result_get_prompt_id (y));
  CMP (sq_result_get_image_id (x), sq_result_get_image_id (y));
  if (self->blind_key != NULL)
    CMP (ra->blind_rank, rb->blind_rank);
  CMP (sq_result_get_model_id (x), sq_result_get_model_id (y));
  CMP (sq_result_get_run (x), sq_result_get_run (y));
  CMP (sq_result_get_id (x), sq_result_get_id (y));
#undef CMP

  return 0;
}

static char *
blind_label (guint index)
{
  if (index < 26)
    /* Translators: a model whose name is hidden in blind mode: "Model A" */
    return g_strdup_printf (_("Model %c"), 'A' + index);

  /* Translators: a model whose name is hidden in blind mode, past "Model Z" */
  return g_strdup_printf (_("Model %u"), index + 1);
}

/* Recomputes the blind labels and the order of the rows, then tells the
 * views that every row may have changed. */
static void
sq_results_model_relabel (SqResultsModel *self,
                          guint           n_old)
{
  guint n = self->rows->len;

  g_assert (SQ_IS_RESULTS_MODEL (self));

  for (guint i = 0; i < n; i++)
    {
      SqResultRow *row = g_ptr_array_index (self->rows, i);

      if (self->blind_key != NULL)
        row->blind_rank = blind_rank (self->blind_key, row->result);
      else
        row->blind_rank = 0;
    }

  g_ptr_array_sort_with_data (self->rows, compare_rows, self);

  /* Label the distinct models of each prompt × image A, B, C… */
  for (guint i = 0; i < n;)
    {
      SqResultRow *first = g_ptr_array_index (self->rows, i);
      gint64 prompt_id = sq_result_get_prompt_id (first->result);
      gint64 image_id = sq_result_get_image_id (first->result);
      gint64 last_model = -1;
      int letter = -1;
      guint j;

      for (j = i; j < n; j++)
        {
          SqResultRow *row = g_ptr_array_index (self->rows, j);
          g_autofree char *label = NULL;

          if (sq_result_get_prompt_id (row->result) != prompt_id ||
              sq_result_get_image_id (row->result) != image_id)
            break;

          if (sq_result_get_model_id (row->result) != last_model)
            {
              last_model = sq_result_get_model_id (row->result);
              letter++;
            }

          if (self->blind_key != NULL)
            label = blind_label (letter);
          sq_result_row_set_blind (row, label, row->blind_rank);
        }
      i = j;
    }

  if (n > 0 || n_old > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, n_old, n);
}

static void
sq_results_model_insert (SqResultsModel *self,
                         SqResult       *result,
                         gboolean        emit)
{
  SqResultRow *row = sq_result_row_new (result);
  guint position = self->rows->len;

  g_assert (SQ_IS_RESULTS_MODEL (self));

  /* A whole list comes in project order; a single new result (a grid
   * creates its cells as they start) goes where the project has it. */
  if (emit)
    {
      guint low = 0;
      guint high = self->rows->len;

      while (low < high)
        {
          guint mid = low + (high - low) / 2;

          if (compare_rows (&self->rows->pdata[mid], &row, self) <= 0)
            low = mid + 1;
          else
            high = mid;
        }
      position = low;
    }

  g_ptr_array_insert (self->rows, position, row);
  g_hash_table_insert (self->by_id, g_memdup2 (&(gint64) { sq_result_get_id (result) }, sizeof (gint64)), row);

  if (emit)
    g_list_model_items_changed (G_LIST_MODEL (self), position, 0, 1);
}

static void
sq_results_model_update (SqResultsModel *self,
                         SqResult       *result)
{
  SqResultRow *row;
  guint position;

  g_assert (SQ_IS_RESULTS_MODEL (self));

  row = sq_results_model_find (self, sq_result_get_id (result));
  if (row == NULL)
    {
      sq_results_model_insert (self, result, self->blind_key == NULL);
      if (self->blind_key != NULL)
        sq_results_model_relabel (self, self->rows->len - 1);
      return;
    }

  if (sq_result_row_update (row, result) &&
      g_ptr_array_find (self->rows, row, &position))
    g_list_model_items_changed (G_LIST_MODEL (self), position, 1, 1);
}

static void sq_results_model_schedule (SqResultsModel *self);

static void
list_results_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(SqResultsModel) self = user_data;
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) old_rows = NULL;
  guint old_len;

  results = sq_project_list_results_finish (SQ_PROJECT (object), result, &error);
  self->reloading = FALSE;
  if (results == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Could not read the results of the project: %s", error->message);
      return;
    }

  old_len = self->rows->len;
  if (old_len == 0)
    {
      for (guint i = 0; i < results->len; i++)
        sq_results_model_insert (self, g_ptr_array_index (results, i), FALSE);
      if (self->blind_key != NULL)
        sq_results_model_relabel (self, 0);
      else if (results->len > 0)
        g_list_model_items_changed (G_LIST_MODEL (self), 0, 0, results->len);
    }
  else
    {
      /* Keep the rows that are still there (so selections and expanded
       * answers survive), drop the others, add the new ones. */
      g_autoptr(GHashTable) old_by_id = g_steal_pointer (&self->by_id);

      old_rows = g_steal_pointer (&self->rows);
      self->rows = g_ptr_array_new_with_free_func (g_object_unref);
      self->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

      for (guint i = 0; i < results->len; i++)
        {
          SqResult *r = g_ptr_array_index (results, i);
          gint64 id = sq_result_get_id (r);
          SqResultRow *row = g_hash_table_lookup (old_by_id, &id);

          if (row != NULL)
            {
              sq_result_row_update (row, r);
              g_ptr_array_add (self->rows, g_object_ref (row));
              g_hash_table_insert (self->by_id, g_memdup2 (&id, sizeof id), row);
            }
          else
            sq_results_model_insert (self, r, FALSE);
        }

      if (self->blind_key != NULL)
        sq_results_model_relabel (self, old_len);
      else
        g_list_model_items_changed (G_LIST_MODEL (self), 0, old_len, self->rows->len);
    }

  if (!self->loaded)
    {
      self->loaded = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
    }

  if (self->reload_pending || g_hash_table_size (self->pending) > 0)
    sq_results_model_schedule (self);
}

static void
get_result_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(SqResultsModel) self = user_data;
  g_autoptr(SqResult) r = NULL;
  g_autoptr(GError) error = NULL;

  r = sq_project_get_result_finish (SQ_PROJECT (object), result, &error);
  if (r == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_error_matches (error, SQ_PROJECT_ERROR, SQ_PROJECT_ERROR_NOT_FOUND))
        g_warning ("Could not read a result of the project: %s", error->message);
      return;
    }

  /* A full reload still running will bring this one too. */
  if (self->reloading)
    return;

  sq_results_model_update (self, r);
}

static gboolean
sq_results_model_flush (gpointer user_data)
{
  SqResultsModel *self = user_data;
  GHashTableIter iter;
  gpointer key;

  g_assert (SQ_IS_RESULTS_MODEL (self));

  self->flush_source = 0;

  if (self->reloading)
    return G_SOURCE_REMOVE;  /* list_results_cb schedules again */

  if (self->reload_pending)
    {
      self->reload_pending = FALSE;
      self->reloading = TRUE;
      g_hash_table_remove_all (self->pending);
      sq_project_list_results_async (self->project, self->cancellable,
                                     list_results_cb, g_object_ref (self));
      return G_SOURCE_REMOVE;
    }

  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    sq_project_get_result_async (self->project, *(gint64 *) key, self->cancellable,
                                 get_result_cb, g_object_ref (self));
  g_hash_table_remove_all (self->pending);

  return G_SOURCE_REMOVE;
}

static void
sq_results_model_schedule (SqResultsModel *self)
{
  g_assert (SQ_IS_RESULTS_MODEL (self));

  if (self->flush_source == 0)
    self->flush_source = g_timeout_add (FLUSH_DELAY_MS, sq_results_model_flush, self);
}

static void
project_results_changed_cb (SqResultsModel *self,
                            gint64          result_id)
{
  g_assert (SQ_IS_RESULTS_MODEL (self));

  if (result_id == 0)
    self->reload_pending = TRUE;
  else
    g_hash_table_add (self->pending, g_memdup2 (&result_id, sizeof result_id));

  sq_results_model_schedule (self);
}

static void
sq_results_model_constructed (GObject *object)
{
  SqResultsModel *self = SQ_RESULTS_MODEL (object);

  G_OBJECT_CLASS (sq_results_model_parent_class)->constructed (object);

  g_signal_connect_object (self->project, "results-changed",
                           G_CALLBACK (project_results_changed_cb), self,
                           G_CONNECT_SWAPPED);

  self->reloading = TRUE;
  sq_project_list_results_async (self->project, self->cancellable,
                                 list_results_cb, g_object_ref (self));
}

static void
sq_results_model_dispose (GObject *object)
{
  SqResultsModel *self = SQ_RESULTS_MODEL (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->flush_source, g_source_remove);

  G_OBJECT_CLASS (sq_results_model_parent_class)->dispose (object);
}

static void
sq_results_model_finalize (GObject *object)
{
  SqResultsModel *self = SQ_RESULTS_MODEL (object);

  g_clear_object (&self->project);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_pointer (&self->blind_key, g_free);

  G_OBJECT_CLASS (sq_results_model_parent_class)->finalize (object);
}

static void
sq_results_model_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  SqResultsModel *self = SQ_RESULTS_MODEL (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      g_value_set_object (value, self->project);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    case PROP_BLIND:
      g_value_set_boolean (value, self->blind_key != NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_results_model_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  SqResultsModel *self = SQ_RESULTS_MODEL (object);

  switch (prop_id)
    {
    case PROP_PROJECT:
      self->project = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
sq_results_model_class_init (SqResultsModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = sq_results_model_constructed;
  object_class->dispose = sq_results_model_dispose;
  object_class->finalize = sq_results_model_finalize;
  object_class->get_property = sq_results_model_get_property;
  object_class->set_property = sq_results_model_set_property;

  properties[PROP_PROJECT] =
    g_param_spec_object ("project", NULL, NULL, SQ_TYPE_PROJECT,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BLIND] =
    g_param_spec_boolean ("blind", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
sq_results_model_init (SqResultsModel *self)
{
  self->cancellable = g_cancellable_new ();
  self->rows = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

SqResultsModel *
sq_results_model_new (SqProject *project)
{
  g_return_val_if_fail (SQ_IS_PROJECT (project), NULL);

  return g_object_new (SQ_TYPE_RESULTS_MODEL,
                       "project", project,
                       NULL);
}

SqProject *
sq_results_model_get_project (SqResultsModel *self)
{
  g_return_val_if_fail (SQ_IS_RESULTS_MODEL (self), NULL);

  return self->project;
}

gboolean
sq_results_model_get_loaded (SqResultsModel *self)
{
  g_return_val_if_fail (SQ_IS_RESULTS_MODEL (self), FALSE);

  return self->loaded;
}

SqResultRow *
sq_results_model_find (SqResultsModel *self,
                       gint64          result_id)
{
  g_return_val_if_fail (SQ_IS_RESULTS_MODEL (self), NULL);

  return g_hash_table_lookup (self->by_id, &result_id);
}

void
sq_results_model_set_blind_key (SqResultsModel *self,
                                const char     *key)
{
  g_return_if_fail (SQ_IS_RESULTS_MODEL (self));

  if (key != NULL && *key == '\0')
    key = NULL;
  if (g_strcmp0 (key, self->blind_key) == 0)
    return;

  g_free (self->blind_key);
  self->blind_key = g_strdup (key);
  sq_results_model_relabel (self, self->rows->len);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BLIND]);
}

gboolean
sq_results_model_get_blind (SqResultsModel *self)
{
  g_return_val_if_fail (SQ_IS_RESULTS_MODEL (self), FALSE);

  return self->blind_key != NULL;
}

void
sq_results_model_reload (SqResultsModel *self)
{
  g_return_if_fail (SQ_IS_RESULTS_MODEL (self));

  project_results_changed_cb (self, 0);
}
