/* sq-grid-run.h
 *
 * Runs prompts × images × models (× runs) against Replicate with a
 * concurrency limit and keeps every cell in a SqProject as it goes: the
 * result row exists before the cell starts, the prediction id is stored
 * the moment Replicate hands it out, streamed text is written in batches
 * (about every 250 ms, one transaction for every cell that changed), and
 * the final answer, status, error and timings when the cell ends.
 *
 * Running the same grid on the same project again runs only the cells
 * without a succeeded answer, and first picks up predictions that were
 * still running when an earlier process died (rows left "starting" or
 * "processing" with a prediction id): they are polled to completion by
 * id, not created (and paid for) again. A failing cell never stops the
 * others.
 *
 * Properties (read-only unless said, all notified on change, in the main
 * context the run was started from): state, n-cells, n-queued,
 * n-running, n-done (succeeded), n-failed (failed or aborted), n-canceled,
 * eta-seconds, concurrency (read-write, also while running), n-runs,
 * rerun and poll-interval-ms (read-write, before a run).
 * n-cells = n-queued + n-running + n-done + n-failed + n-canceled.
 *
 * Signals, with the result row id of the cell:
 *   ::cell-started (gint64 result_id)
 *   ::cell-delta (gint64 result_id, const char *text): text to append
 *     (a whole new text after ::cell-reset)
 *   ::cell-reset (gint64 result_id, const char *text): replace the text
 *   ::cell-finished (gint64 result_id, const char *status): emitted once
 *     the final row is written, so a cell reported finished is on disk.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gio/gio.h>

#include "sq-types.h"

G_BEGIN_DECLS

typedef enum
{
  SQ_GRID_RUN_STATE_IDLE,        /* never run */
  SQ_GRID_RUN_STATE_RUNNING,
  SQ_GRID_RUN_STATE_PAUSED,      /* no new cell starts; running ones go on */
  SQ_GRID_RUN_STATE_CANCELLING,  /* running predictions are being canceled */
  SQ_GRID_RUN_STATE_FINISHED,    /* the last run ended (it may run again) */
} SqGridRunState;

#define SQ_TYPE_GRID_RUN_STATE (sq_grid_run_state_get_type ())
GType           sq_grid_run_state_get_type        (void) G_GNUC_CONST;

#define SQ_TYPE_GRID_RUN (sq_grid_run_get_type ())

G_DECLARE_FINAL_TYPE (SqGridRun, sq_grid_run, SQ, GRID_RUN, GObject)

/* @catalog (nullable) resolves models given by project id; without one
 * only models added as SqModel can run. */
SqGridRun      *sq_grid_run_new                   (SqProject          *project,
                                                   SqReplicateClient  *client,
                                                   SqModelCatalog     *catalog);
SqProject      *sq_grid_run_get_project           (SqGridRun          *self);

/* The grid. Add before a run; each list keeps the order it was given in,
 * duplicates are ignored. Prompts, images and models given as values are
 * stored in the project when the run starts. */
void            sq_grid_run_add_prompt            (SqGridRun          *self,
                                                   const char         *text);
void            sq_grid_run_add_prompt_id         (SqGridRun          *self,
                                                   gint64              prompt_id);
void            sq_grid_run_add_image             (SqGridRun          *self,
                                                   SqImage            *image);
void            sq_grid_run_add_image_id          (SqGridRun          *self,
                                                   gint64              image_id);
/* @settings (nullable, element-type utf8 utf8) as sq_model_build_input()
 * takes them; they are checked here (SQ_MODEL_ERROR_BAD_PARAMETER) and
 * stored with the model row as its params_json, keys sorted. */
gboolean        sq_grid_run_add_model             (SqGridRun          *self,
                                                   SqModel            *model,
                                                   GHashTable         *settings,
                                                   GError            **error);
/* A model row of the project: its ref is resolved with the catalog and
 * its params_json sent as stored. */
void            sq_grid_run_add_model_id          (SqGridRun          *self,
                                                   gint64              model_id);
/* Forgets the prompts, images and models (not while running). */
void            sq_grid_run_clear                 (SqGridRun          *self);

/* Runs 0..n_runs-1 of every cell (default 1). */
void            sq_grid_run_set_n_runs            (SqGridRun          *self,
                                                   guint               n_runs);
guint           sq_grid_run_get_n_runs            (SqGridRun          *self);
/* When TRUE, the next run adds a new run for every cell (one above the
 * highest run any cell of the grid has) instead of completing the
 * missing ones. */
void            sq_grid_run_set_rerun             (SqGridRun          *self,
                                                   gboolean            rerun);
gboolean        sq_grid_run_get_rerun             (SqGridRun          *self);
/* How many cells run at once (≥ 1); default sq_config_get_concurrency().
 * Raising it while running starts more cells at once; lowering it lets
 * running cells finish. */
void            sq_grid_run_set_concurrency       (SqGridRun          *self,
                                                   guint               concurrency);
guint           sq_grid_run_get_concurrency       (SqGridRun          *self);
/* How often predictions without a stream are polled (default 500 ms). */
void            sq_grid_run_set_poll_interval_ms  (SqGridRun          *self,
                                                   guint               interval_ms);

/* Resumes the unfinished predictions of the grid's cells by id, then runs
 * every cell without a succeeded result. Completes when every cell has
 * ended: TRUE even if cells failed (see n-failed); FALSE with
 * G_IO_ERROR_CANCELLED when cancelled (through @cancellable or
 * sq_grid_run_cancel()), G_IO_ERROR_PENDING when already running,
 * SQ_PROJECT_ERROR when the project cannot be written. */
void            sq_grid_run_run_async             (SqGridRun          *self,
                                                   GCancellable       *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer            user_data);
gboolean        sq_grid_run_run_finish            (SqGridRun          *self,
                                                   GAsyncResult       *result,
                                                   GError            **error);
/* Runs again only the grid's cells whose last attempt failed, was
 * aborted or canceled. While a run is going on, its failed cells are
 * queued again instead, and this completes at once. */
void            sq_grid_run_retry_failed_async    (SqGridRun          *self,
                                                   GCancellable       *cancellable,
                                                   GAsyncReadyCallback callback,
                                                   gpointer            user_data);
gboolean        sq_grid_run_retry_failed_finish   (SqGridRun          *self,
                                                   GAsyncResult       *result,
                                                   GError            **error);

/* No new cell starts until sq_grid_run_resume(); running cells finish. */
void            sq_grid_run_pause                 (SqGridRun          *self);
void            sq_grid_run_resume                (SqGridRun          *self);
/* Cancels every running prediction (on Replicate too) and marks those
 * rows canceled; queued cells stay queued for a later run. */
void            sq_grid_run_cancel                (SqGridRun          *self);

SqGridRunState  sq_grid_run_get_state             (SqGridRun          *self);
guint           sq_grid_run_get_n_cells           (SqGridRun          *self);
guint           sq_grid_run_get_n_queued          (SqGridRun          *self);
guint           sq_grid_run_get_n_running         (SqGridRun          *self);
guint           sq_grid_run_get_n_done            (SqGridRun          *self);
guint           sq_grid_run_get_n_failed          (SqGridRun          *self);
guint           sq_grid_run_get_n_canceled        (SqGridRun          *self);
/* Cells picked up by prediction id in the last run. */
guint           sq_grid_run_get_n_resumed         (SqGridRun          *self);
/* Seconds left, from the mean duration of the cells finished so far and
 * the concurrency; -1 while unknown. */
int             sq_grid_run_get_eta_seconds       (SqGridRun          *self);
/* The error message of a cell of the current or last run, or NULL. */
const char     *sq_grid_run_get_cell_error        (SqGridRun          *self,
                                                   gint64              result_id);
/* Whether the last attempt of a cell failed with that error (e.g.
 * SQ_REPLICATE_ERROR_UNAUTHORIZED). */
gboolean        sq_grid_run_cell_error_matches    (SqGridRun          *self,
                                                   gint64              result_id,
                                                   GQuark              domain,
                                                   int                 code);
/* The text a running cell has so far ("" if unknown). */
const char     *sq_grid_run_get_cell_text         (SqGridRun          *self,
                                                   gint64              result_id);

G_END_DECLS
