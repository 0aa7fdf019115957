/* sq-stats.c
 *
 * The bootstrap resamples with replacement from the observed scores and
 * takes the 2.5th and 97.5th percentiles (linear interpolation between
 * order statistics) of the resampled means. The random numbers come from
 * splitmix64, so the figures are the same on every machine for a seed.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "sq-stats"

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sq-stats.h"

SqStatsEntry *
sq_stats_entry_copy (const SqStatsEntry *entry)
{
  SqStatsEntry *copy = g_new0 (SqStatsEntry, 1);

  *copy = *entry;
  copy->model = g_strdup (entry->model);
  return copy;
}

void
sq_stats_entry_free (SqStatsEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->model);
  g_free (entry);
}

SqStatsWinner *
sq_stats_winner_copy (const SqStatsWinner *winner)
{
  SqStatsWinner *copy = g_new0 (SqStatsWinner, 1);

  *copy = *winner;
  copy->prompt = g_strdup (winner->prompt);
  copy->model = g_strdup (winner->model);
  return copy;
}

void
sq_stats_winner_free (SqStatsWinner *winner)
{
  if (winner == NULL)
    return;
  g_free (winner->prompt);
  g_free (winner->model);
  g_free (winner);
}

G_DEFINE_BOXED_TYPE (SqStatsEntry, sq_stats_entry, sq_stats_entry_copy, sq_stats_entry_free)
G_DEFINE_BOXED_TYPE (SqStatsWinner, sq_stats_winner, sq_stats_winner_copy, sq_stats_winner_free)

static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static guint64
fnv1a64 (const char *s)
{
  guint64 hash = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  for (; s != NULL && *s != '\0'; s++)
    {
      hash ^= (guchar) *s;
      hash *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return hash;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
quantile (const double *sorted,
          gsize         n,
          double        p)
{
  double h = (n - 1) * p;
  gsize lo = (gsize) floor (h);

  if (lo + 1 >= n)
    return sorted[n - 1];
  return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

void
sq_stats_bootstrap (const double *values,
                    gsize         n_values,
                    guint         n_resamples,
                    guint64       seed,
                    double       *out_mean,
                    double       *out_low,
                    double       *out_high)
{
  g_autofree double *means = NULL;
  guint64 state = seed;
  double sum = 0;
  double mean;

  g_return_if_fail (values != NULL || n_values == 0);

  if (n_values == 0)
    {
      if (out_mean) *out_mean = NAN;
      if (out_low) *out_low = NAN;
      if (out_high) *out_high = NAN;
      return;
    }

  for (gsize i = 0; i < n_values; i++)
    sum += values[i];
  mean = sum / n_values;

  if (out_mean)
    *out_mean = mean;

  if (n_values == 1 || n_resamples == 0)
    {
      if (out_low) *out_low = mean;
      if (out_high) *out_high = mean;
      return;
    }

  means = g_new (double, n_resamples);
  for (guint b = 0; b < n_resamples; b++)
    {
      double s = 0;

      for (gsize i = 0; i < n_values; i++)
        s += values[splitmix64 (&state) % n_values];
      means[b] = s / n_values;
    }
  qsort (means, n_resamples, sizeof (double), compare_doubles);

  if (out_low)
    *out_low = quantile (means, n_resamples, 0.025);
  if (out_high)
    *out_high = quantile (means, n_resamples, 0.975);
}

static gboolean
score_is_valid (const SqScore *score)
{
  return score->model != NULL && (guint) score->criterion < SQ_N_CRITERIA &&
         score->score >= 1 && score->score <= 5;
}

GPtrArray *
sq_stats_compute (const SqScore *scores,
                  gsize          n_scores,
                  guint          n_resamples,
                  guint64        seed)
{
  g_autoptr(GPtrArray) models = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_stats_entry_free);

  g_return_val_if_fail (scores != NULL || n_scores == 0, entries);

  if (n_resamples == 0)
    n_resamples = SQ_STATS_DEFAULT_RESAMPLES;

  for (gsize i = 0; i < n_scores; i++)
    {
      if (score_is_valid (&scores[i]) && g_hash_table_add (seen, (gpointer) scores[i].model))
        g_ptr_array_add (models, (gpointer) scores[i].model);
    }

  for (guint m = 0; m < models->len; m++)
    {
      const char *model = g_ptr_array_index (models, m);

      for (guint c = 0; c < SQ_N_CRITERIA; c++)
        {
          SqStatsEntry *entry;

          g_array_set_size (values, 0);
          for (gsize i = 0; i < n_scores; i++)
            {
              if (score_is_valid (&scores[i]) && scores[i].criterion == c &&
                  strcmp (scores[i].model, model) == 0)
                g_array_append_val (values, scores[i].score);
            }
          if (values->len == 0)
            continue;

          entry = g_new0 (SqStatsEntry, 1);
          entry->model = g_strdup (model);
          entry->criterion = (SqCriterion) c;
          entry->n = values->len;
          sq_stats_bootstrap ((const double *) (gpointer) values->data, values->len, n_resamples,
                              seed ^ fnv1a64 (model) ^ ((guint64) (c + 1) * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)),
                              &entry->mean, &entry->ci_low, &entry->ci_high);
          g_ptr_array_add (entries, entry);
        }
    }

  return entries;
}

GPtrArray *
sq_stats_winners (const SqScore *scores,
                  gsize          n_scores)
{
  g_autoptr(GPtrArray) prompts = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *winners = g_ptr_array_new_with_free_func ((GDestroyNotify) sq_stats_winner_free);

  g_return_val_if_fail (scores != NULL || n_scores == 0, winners);

  for (gsize i = 0; i < n_scores; i++)
    {
      if (score_is_valid (&scores[i]) && scores[i].prompt != NULL &&
          g_hash_table_add (seen, (gpointer) scores[i].prompt))
        g_ptr_array_add (prompts, (gpointer) scores[i].prompt);
    }

  for (guint p = 0; p < prompts->len; p++)
    {
      const char *prompt = g_ptr_array_index (prompts, p);
      g_autoptr(GPtrArray) models = g_ptr_array_new ();
      g_autoptr(GHashTable) sums = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
      SqStatsWinner *winner = g_new0 (SqStatsWinner, 1);
      gboolean tie = FALSE;
      const char *best = NULL;
      double best_mean = -1;

      for (gsize i = 0; i < n_scores; i++)
        {
          double *acc;

          if (!score_is_valid (&scores[i]) || g_strcmp0 (scores[i].prompt, prompt) != 0)
            continue;
          acc = g_hash_table_lookup (sums, scores[i].model);
          if (acc == NULL)
            {
              acc = g_new0 (double, 2);
              g_hash_table_insert (sums, (gpointer) scores[i].model, acc);
              g_ptr_array_add (models, (gpointer) scores[i].model);
            }
          acc[0] += scores[i].score;
          acc[1] += 1;
        }

      for (guint m = 0; m < models->len; m++)
        {
          const char *model = g_ptr_array_index (models, m);
          double *acc = g_hash_table_lookup (sums, model);
          double mean = acc[0] / acc[1];

          if (best == NULL || mean > best_mean + 1e-9)
            {
              best = model;
              best_mean = mean;
              tie = FALSE;
            }
          else if (fabs (mean - best_mean) <= 1e-9)
            tie = TRUE;
        }

      winner->prompt = g_strdup (prompt);
      winner->model = tie ? NULL : g_strdup (best);
      winner->mean = best_mean;
      winner->n_models = models->len;
      g_ptr_array_add (winners, winner);
    }

  return winners;
}

GArray *
sq_stats_scores_from_results (GPtrArray *results)
{
  GArray *scores = g_array_new (FALSE, FALSE, sizeof (SqScore));

  g_return_val_if_fail (results != NULL, scores);

  for (guint i = 0; i < results->len; i++)
    {
      SqResult *result = g_ptr_array_index (results, i);

      for (guint c = 0; c < SQ_N_CRITERIA; c++)
        {
          double value = sq_result_get_score (result, (SqCriterion) c);
          SqScore score = {
            .model = sq_result_get_model_name (result),
            .prompt = sq_result_get_prompt (result),
            .criterion = (SqCriterion) c,
            .score = value,
          };

          if (value >= 1)
            g_array_append_val (scores, score);
        }
    }
  return scores;
}
