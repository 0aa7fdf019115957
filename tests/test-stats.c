/* test-stats.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>

#include "sq-stats.h"

#define C SQ_CRITERION_CORRECTNESS
#define R SQ_CRITERION_RELEVANCE

static const SqScore known[] = {
  { "llava", "p1", C, 1 }, { "llava", "p1", C, 2 }, { "llava", "p2", C, 3 },
  { "llava", "p2", C, 4 }, { "llava", "p2", C, 5 },
  { "llava", "p1", R, 4 }, { "llava", "p2", R, 4 },
  { "fuyu", "p1", R, 5 },
  { "fuyu", "p1", C, 0 },   /* unrated: ignored */
  { "fuyu", "p1", C, 6 },   /* out of range: ignored */
};

static SqStatsEntry *
find (GPtrArray   *entries,
      const char  *model,
      SqCriterion  criterion)
{
  for (guint i = 0; i < entries->len; i++)
    {
      SqStatsEntry *entry = g_ptr_array_index (entries, i);

      if (g_str_equal (entry->model, model) && entry->criterion == criterion)
        return entry;
    }
  return NULL;
}

static void
test_known_values (void)
{
  g_autoptr(GPtrArray) entries = sq_stats_compute (known, G_N_ELEMENTS (known), 0, SQ_STATS_DEFAULT_SEED);
  SqStatsEntry *entry;

  /* llava: correctness, relevance; fuyu: relevance only (n = 0 → no entry) */
  g_assert_cmpuint (entries->len, ==, 3);
  entry = g_ptr_array_index (entries, 0);
  g_assert_cmpstr (entry->model, ==, "llava");
  g_assert_cmpint (entry->criterion, ==, C);
  g_assert_cmpuint (entry->n, ==, 5);
  g_assert_cmpfloat_with_epsilon (entry->mean, 3.0, 1e-12);
  g_assert_cmpfloat (entry->ci_low, <, entry->mean);
  g_assert_cmpfloat (entry->ci_high, >, entry->mean);
  g_assert_cmpfloat (entry->ci_low, >=, 1);
  g_assert_cmpfloat (entry->ci_high, <=, 5);
  /* The bootstrap SE of a mean of {1..5} is sqrt(2/5) ≈ 0.63: the interval
   * is about ±1.2 wide; allow for resampling noise. */
  g_assert_cmpfloat (entry->ci_low, >, 1.4);
  g_assert_cmpfloat (entry->ci_low, <, 2.2);
  g_assert_cmpfloat (entry->ci_high, >, 3.8);
  g_assert_cmpfloat (entry->ci_high, <, 4.6);

  /* Identical scores: no spread at all. */
  entry = find (entries, "llava", R);
  g_assert_nonnull (entry);
  g_assert_cmpuint (entry->n, ==, 2);
  g_assert_cmpfloat (entry->mean, ==, 4);
  g_assert_cmpfloat (entry->ci_low, ==, 4);
  g_assert_cmpfloat (entry->ci_high, ==, 4);

  /* n = 1: the interval is the mean. */
  entry = find (entries, "fuyu", R);
  g_assert_nonnull (entry);
  g_assert_cmpuint (entry->n, ==, 1);
  g_assert_cmpfloat (entry->ci_low, ==, 5);
  g_assert_cmpfloat (entry->ci_high, ==, 5);
  g_assert_null (find (entries, "fuyu", C));
}

static void
test_empty (void)
{
  g_autoptr(GPtrArray) entries = sq_stats_compute (NULL, 0, 0, 1);
  g_autoptr(GPtrArray) winners = sq_stats_winners (NULL, 0);
  double mean, low, high;

  g_assert_cmpuint (entries->len, ==, 0);
  g_assert_cmpuint (winners->len, ==, 0);
  sq_stats_bootstrap (NULL, 0, 100, 1, &mean, &low, &high);
  g_assert_true (isnan (mean));
}

static void
test_deterministic (void)
{
  g_autoptr(GPtrArray) a = sq_stats_compute (known, G_N_ELEMENTS (known), 2000, 7);
  g_autoptr(GPtrArray) b = sq_stats_compute (known, G_N_ELEMENTS (known), 2000, 7);

  g_autoptr(GPtrArray) alone = sq_stats_compute (known, 5, 2000, 7);
  SqStatsEntry *ea = g_ptr_array_index (a, 0);
  SqStatsEntry *eb = g_ptr_array_index (b, 0);
  static const double spread[] = { 1, 1.5, 2, 2.25, 3, 3.5, 4, 4.75, 5, 1.25, 2.5, 3.75 };
  double low7, high7, low8, high8;
  SqStatsEntry *e_alone = g_ptr_array_index (alone, 0);

  g_assert_cmpfloat (ea->ci_low, ==, eb->ci_low);
  g_assert_cmpfloat (ea->ci_high, ==, eb->ci_high);
  /* Another seed gives (slightly) different intervals. */
  sq_stats_bootstrap (spread, G_N_ELEMENTS (spread), 2000, 7, NULL, &low7, &high7);
  sq_stats_bootstrap (spread, G_N_ELEMENTS (spread), 2000, 8, NULL, &low8, &high8);
  g_assert_true (low7 != low8 || high7 != high8);
  sq_stats_bootstrap (spread, G_N_ELEMENTS (spread), 2000, 7, NULL, &low8, &high8);
  g_assert_cmpfloat (low7, ==, low8);
  g_assert_cmpfloat (high7, ==, high8);
  /* An entry does not depend on the other models in the data. */
  g_assert_cmpfloat (ea->ci_low, ==, e_alone->ci_low);
  g_assert_cmpfloat (ea->ci_high, ==, e_alone->ci_high);
}

static void
test_coverage (void)
{
  /* Scores drawn around a known mean: the interval shrinks with n and
   * still holds the sample mean. */
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  double small_width = 0, large_width = 0;

  for (guint size = 10; size <= 1000; size *= 100)
    {
      g_autofree double *values = g_new (double, size);
      double mean, low, high;

      for (guint i = 0; i < size; i++)
        values[i] = g_rand_int_range (rand, 1, 6);
      sq_stats_bootstrap (values, size, 2000, 11, &mean, &low, &high);
      g_assert_cmpfloat (low, <=, mean);
      g_assert_cmpfloat (high, >=, mean);
      if (size == 10)
        small_width = high - low;
      else
        large_width = high - low;
    }
  g_assert_cmpfloat (large_width, <, small_width / 5);
}

static void
test_winners (void)
{
  static const SqScore scores[] = {
    { "a", "p1", C, 5 }, { "a", "p1", R, 4 },
    { "b", "p1", C, 3 }, { "b", "p1", R, 3 },
    { "a", "p2", C, 4 }, { "b", "p2", R, 4 },
    { "c", NULL, C, 5 },
  };
  g_autoptr(GPtrArray) winners = sq_stats_winners (scores, G_N_ELEMENTS (scores));
  SqStatsWinner *w;

  g_assert_cmpuint (winners->len, ==, 2);
  w = g_ptr_array_index (winners, 0);
  g_assert_cmpstr (w->prompt, ==, "p1");
  g_assert_cmpstr (w->model, ==, "a");
  g_assert_cmpfloat (w->mean, ==, 4.5);
  g_assert_cmpuint (w->n_models, ==, 2);
  w = g_ptr_array_index (winners, 1);
  g_assert_cmpstr (w->prompt, ==, "p2");
  g_assert_null (w->model);   /* a tie */
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/stats/known-values", test_known_values);
  g_test_add_func ("/stats/empty", test_empty);
  g_test_add_func ("/stats/deterministic", test_deterministic);
  g_test_add_func ("/stats/coverage", test_coverage);
  g_test_add_func ("/stats/winners", test_winners);

  return g_test_run ();
}
