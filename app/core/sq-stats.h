/* sq-stats.h
 *
 * Summary statistics of ratings: per model and criterion the count, the
 * mean and a 95% percentile-bootstrap confidence interval, and per prompt
 * the winning model. Pure functions over arrays, deterministic for a
 * given seed, so reports are reproducible and the code is unit-testable.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <glib-object.h>

#include "sq-project.h"

G_BEGIN_DECLS

/* One observation. The exporter and the UI pass one per result and
 * criterion, with the mean over raters as the score, so the unit of
 * analysis is an answer, not a rater. */
typedef struct
{
  const char  *model;      /* display name (or any key) */
  const char  *prompt;     /* may be NULL when no winners are wanted */
  SqCriterion  criterion;
  double       score;      /* 1..5 */
} SqScore;

typedef struct
{
  char        *model;
  SqCriterion  criterion;
  guint        n;
  double       mean;
  double       ci_low;     /* 95% percentile bootstrap; equal to mean when n == 1 */
  double       ci_high;
} SqStatsEntry;

typedef struct
{
  char   *prompt;
  char   *model;       /* NULL when two or more models tie */
  double  mean;        /* the winner's mean over both criteria */
  guint   n_models;    /* how many models were rated on this prompt */
} SqStatsWinner;

#define SQ_STATS_DEFAULT_RESAMPLES 2000
#define SQ_STATS_DEFAULT_SEED      G_GUINT64_CONSTANT (0x5371756e74537461)

#define SQ_TYPE_STATS_ENTRY  (sq_stats_entry_get_type ())
#define SQ_TYPE_STATS_WINNER (sq_stats_winner_get_type ())

GType          sq_stats_entry_get_type   (void) G_GNUC_CONST;
SqStatsEntry  *sq_stats_entry_copy       (const SqStatsEntry  *entry);
void           sq_stats_entry_free       (SqStatsEntry        *entry);
GType          sq_stats_winner_get_type  (void) G_GNUC_CONST;
SqStatsWinner *sq_stats_winner_copy      (const SqStatsWinner *winner);
void           sq_stats_winner_free      (SqStatsWinner       *winner);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqStatsEntry, sq_stats_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SqStatsWinner, sq_stats_winner_free)

/* Per model (in order of first appearance) × criterion (in enum order):
 * one entry for each pair with at least one score. Scores outside 1..5
 * are ignored. The bootstrap of each entry is seeded from @seed, the
 * model name and the criterion, so an entry does not depend on the other
 * models in the array. @n_resamples 0 means SQ_STATS_DEFAULT_RESAMPLES.
 * (transfer full) (element-type SqStatsEntry) */
GPtrArray     *sq_stats_compute          (const SqScore       *scores,
                                          gsize                n_scores,
                                          guint                n_resamples,
                                          guint64              seed);
/* Per prompt (in order of first appearance): the model with the highest
 * mean over both criteria. Scores without a prompt are ignored.
 * (transfer full) (element-type SqStatsWinner) */
GPtrArray     *sq_stats_winners          (const SqScore       *scores,
                                          gsize                n_scores);
/* The scores of @results (one per result and rated criterion, the mean
 * over raters). The strings point into @results. (transfer container) */
GArray        *sq_stats_scores_from_results (GPtrArray        *results);

/* The mean and the percentile-bootstrap interval of @values. */
void           sq_stats_bootstrap        (const double        *values,
                                          gsize                n_values,
                                          guint                n_resamples,
                                          guint64              seed,
                                          double              *out_mean,
                                          double              *out_low,
                                          double              *out_high);

G_END_DECLS
