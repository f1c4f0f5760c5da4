/**
 * The run watch's decisions: no run stays Running forever.
 *
 * A running import keeps a lease on its file in the arrival ledger and renews it as it works (claim-lease.ts); a run
 * that crashed or timed out is normally resumed from its checkpoint by the next delivery of its message within
 * minutes. A run whose last sign of life (its ledger lease, the entry's last update, its checkpoint, its start) is
 * older than `stallMs` was not resumed (its message went to the dead-letter queue, or was lost): it ends Interrupted,
 * so it shows in Need Attention and its contacts hear of it. Should its message still come back, the import finds the
 * run ended and only settles it (archive, ledger), so the outcome stays the one reported.
 *
 * Separately, a run still running `overdueMs` (24 hours) after its start raises its own notification, once.
 * Pure: the handler passes the time and what the ledger knows.
 */
import type { Problem } from '../problems.ts';
import type { Run } from './runs.ts';

export interface RunWatchSettings {
  /** Silence after which a running run is taken for dead (default 10 minutes: past a lease and a redelivery). */
  stallMs: number;
  /** A run not completed this long after its start is overdue (24 hours). */
  overdueMs: number;
}

export const DEFAULT_RUN_WATCH: RunWatchSettings = { stallMs: 10 * 60_000, overdueMs: 24 * 3600_000 };

/** What the ledger knows of a run's file: its entries' lease ends and last updates (epoch ms), for this run only. */
export interface LifeSigns {
  leaseUntil?: number;
  updatedAt?: number;
}

export type WatchDecision =
  | { action: 'interrupt'; problem: Problem; silentForMs: number }
  | { action: 'overdue'; runningForMs: number }
  | { action: 'none' };

/** The newest of every sign of life the run and its ledger entries give. */
export function lastSignOfLife(run: Run, signs: readonly LifeSigns[]): number {
  const times = [
    Date.parse(run.startedAt),
    run.checkpoint ? Date.parse(run.checkpoint.at) : Number.NaN,
    ...signs.flatMap((s) => [s.leaseUntil ?? Number.NaN, s.updatedAt ?? Number.NaN]),
  ].filter((t) => Number.isFinite(t) && t > 0);
  return Math.max(...times);
}

export function judgeRunningRun(
  run: Run,
  signs: readonly LifeSigns[],
  now: Date,
  settings: RunWatchSettings = DEFAULT_RUN_WATCH,
): WatchDecision {
  if (run.status !== 'running') return { action: 'none' };
  const silentForMs = now.getTime() - lastSignOfLife(run, signs);
  if (silentForMs > settings.stallMs) {
    const minutes = Math.round(silentForMs / 60_000);
    const file = run.file?.name;
    return {
      action: 'interrupt',
      silentForMs,
      problem: {
        code: 'run_stalled',
        message: `${file ? `${file}: ` : ''}the run stopped without finishing (its function crashed or timed out and was not resumed; no sign of life for ${minutes} minutes); rows applied before it stopped stay applied, send the file again to import the rest`,
        ...(file ? { file } : {}),
      },
    };
  }
  const runningForMs = now.getTime() - Date.parse(run.startedAt);
  if (runningForMs > settings.overdueMs) return { action: 'overdue', runningForMs };
  return { action: 'none' };
}

/** The run as the watch ends it: Interrupted with the stall problem, now. */
export function stalledRun(run: Run, problem: Problem, now: Date): Run {
  const { checkpoint: _c, ...rest } = run;
  return { ...rest, status: 'interrupted', problem, message: problem.message, endedAt: now.toISOString() };
}
