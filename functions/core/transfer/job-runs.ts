/**
 * Runs a job starts by itself or on request (not on a file's arrival): a firing of its schedule, or "run now". This
 * is the one place where a job's direction decides what runs: `dispatchJobRun` calls the import runner for an import
 * job and the export runner for an export job (functions/handlers/scheduled-run.ts: it hands the run to the export
 * function's queue, with the request's run id, so one firing is one export run).
 *
 * Rules:
 * - A request names the organization, the job, the trigger and the cut-off: a scheduled run reads the files that
 *   arrived before its scheduled time (EventBridge Scheduler's `<aws.scheduler.scheduled-time>`, the twin's timer),
 *   run now those that arrived before the request.
 * - Firings are at least once (EventBridge Scheduler, SQS, the twin all may deliver twice): the run id of a scheduled
 *   run is derived from the job and the scheduled time (`scheduledRunId`), so a second delivery finds the run and
 *   does nothing. A run-now request carries the id it was given when requested.
 * - A firing that no longer stands for the job's schedule is dropped, not run: the job was deleted, put back to draft,
 *   paused, made `on_arrival`, or its schedule changed so that this time is no run of it (a schedule deleted or updated
 *   late may still fire once). Run now needs a launched job, paused or not.
 */
import type { Clock, Continuations, FileEntry, FileLedger, FiringRunLog } from '../ports.ts';
import type { Problem } from '../problems.ts';
import { activeSchedule, type ImportJob, type JobStatus } from './jobs.ts';
import { baseName } from './layout.ts';
import { emptyCounts, type FiringRun, type Run, summarize } from './runs.ts';
import { arrivalMessage } from './s3-events.ts';
import { isRunOf, type Schedule } from './schedules.ts';

export type { RunTrigger } from './runs.ts';

export interface JobRunRequest {
  org: string;
  jobId: string;
  trigger: 'schedule' | 'manual';
  /** ISO instant: files that arrived before it are read (the scheduled time, or the time of the request). */
  cutoff: string;
  /** The run's id: `scheduledRunId` for a firing, given at request time for run now. */
  runId: string;
}

/** A job of either direction, as far as dispatching cares (export-jobs.ts ExportJob is one). */
export type DispatchableJob =
  | ImportJob
  | { direction: 'export'; org: string; jobId: string; status: JobStatus; schedule?: Schedule; paused?: boolean };

export interface JobRunners<R> {
  import(job: ImportJob, request: JobRunRequest): Promise<R>;
  /** Absent (no export queue configured): an export job's request is refused (`no_runner`). */
  export?(job: Extract<DispatchableJob, { direction: 'export' }>, request: JobRunRequest): Promise<R>;
}

export type JobRunDecision<R> =
  | { ran: true; result: R }
  | { ran: false; reason: 'no_job' | 'not_launched' | 'not_scheduled' | 'not_a_run_of_schedule' | 'no_runner' };

/**
 * The run id of the firing of `jobId`'s schedule at `scheduledTime`: the same for every delivery of one firing, and of
 * the form run ids have (`<timestamp>-<suffix>`, sorting by time).
 */
export function scheduledRunId(jobId: string, scheduledTime: Date): string {
  return `${scheduledTime.toISOString().replace(/[-:.]/g, '')}-s-${jobId}`;
}

const ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Reads a request from a message body (the schedule's input, a run-now message); a problem says what is wrong. */
export function readJobRunRequest(
  body: unknown,
): { ok: true; request: JobRunRequest } | { ok: false; problem: Problem } {
  const bad = (message: string) => ({ ok: false as const, problem: { code: 'invalid_run_request', message } });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('the request must be an object');
  const b = body as Record<string, unknown>;
  if (typeof b.org !== 'string' || !ID.test(b.org)) return bad('org is required');
  if (typeof b.jobId !== 'string' || !ID.test(b.jobId)) return bad('jobId is required');
  if (b.trigger !== 'schedule' && b.trigger !== 'manual') return bad('trigger must be schedule or manual');
  // A firing carries its scheduled time (the schedule's input template); its run id follows from it.
  const time = typeof b.scheduledTime === 'string' ? b.scheduledTime : b.cutoff;
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time)))
    return bad('cutoff (or scheduledTime) must be an ISO time');
  const cutoff = new Date(time);
  const runId = b.trigger === 'schedule' ? scheduledRunId(b.jobId, cutoff) : b.runId;
  if (typeof runId !== 'string' || !ID.test(runId)) return bad('runId is required for run now');
  return { ok: true, request: { org: b.org, jobId: b.jobId, trigger: b.trigger, cutoff: cutoff.toISOString(), runId } };
}

/** Runs the request's job with the runner of its direction, or says why it does not (see the rules at the top). */
export async function dispatchJobRun<R>(
  job: DispatchableJob | undefined,
  request: JobRunRequest,
  runners: JobRunners<R>,
): Promise<JobRunDecision<R>> {
  if (!job || job.org !== request.org || job.jobId !== request.jobId) return { ran: false, reason: 'no_job' };
  if (job.status !== 'launched') return { ran: false, reason: 'not_launched' };
  if (request.trigger === 'schedule') {
    // An export job runs only by its schedule (or on request): it has no processing mode (jobs.ts keptSchedule).
    const schedule = activeSchedule(job);
    if (!schedule) return { ran: false, reason: 'not_scheduled' };
    if (!isRunOf(schedule, new Date(request.cutoff))) return { ran: false, reason: 'not_a_run_of_schedule' };
  }
  if (job.direction === 'export') {
    if (!runners.export) return { ran: false, reason: 'no_runner' };
    return { ran: true, result: await runners.export(job, request) };
  }
  return { ran: true, result: await runners.import(job, request) };
}

// ---------------------------------------------------------------------------------------------------------------
// The import runner: a scheduled or requested run of an import job

/** Files one run takes at most (its record stays far below DynamoDB's 400 KB); the rest wait for the next run. */
export const MAX_FILES_PER_RUN = 500;

export interface ImportRunDeps {
  ledger: FileLedger;
  firingRuns: FiringRunLog;
  /** The import queue: each taken file is sent there as an arrival (s3-events.ts `arrivalMessage`). */
  continuations: Continuations;
  clock: Clock;
}

/** When a file arrived: its upload's end (the object's LastModified), else when the ledger received it. */
const arrivedAt = (e: FileEntry) => Date.parse(e.uploadedAt ?? e.receivedAt);

/** The pending files of `job` that arrived before `cutoff`, oldest first (arrival order: the lanes' order). */
export function filesBefore(pending: readonly FileEntry[], jobId: string, cutoff: string): FileEntry[] {
  const byName = (a: FileEntry, b: FileEntry) => (a.fileId < b.fileId ? -1 : a.fileId > b.fileId ? 1 : 0);
  return pending
    .filter((e) => e.pendingJob === jobId && arrivedAt(e) < Date.parse(cutoff))
    .sort((a, b) => arrivedAt(a) - arrivedAt(b) || byName(a, b));
}

/**
 * Runs an import job for a request: records one run (FiringRun) for the files that arrived before the cut-off, gives
 * them their lane numbers in arrival order, marks them taken and sends each to the import queue, where the per-file
 * machinery imports it (receive-file.ts). With no file, the run is recorded completed at once ("nothing arrived").
 * Safe to repeat (a firing delivered twice): the run exists, and only its files not yet taken are taken.
 */
export async function runImportJob(deps: ImportRunDeps, job: ImportJob, request: JobRunRequest): Promise<FiringRun> {
  const now = deps.clock.now();
  const pending = await deps.ledger.pending(request.org);
  let run = await deps.firingRuns.get(request.org, request.runId);
  if (!run) {
    const files = filesBefore(pending, job.jobId, request.cutoff).slice(0, MAX_FILES_PER_RUN);
    const fresh: FiringRun = {
      org: request.org,
      runId: request.runId,
      jobId: job.jobId,
      jobName: job.name,
      templateId: job.templateId,
      trigger: request.trigger,
      cutoff: request.cutoff,
      status: files.length === 0 ? 'completed' : 'running',
      startedAt: now.toISOString(),
      ...(files.length === 0
        ? { endedAt: now.toISOString(), message: 'no file had arrived before the cut-off' }
        : { message: `${files.length} ${files.length === 1 ? 'file' : 'files'} to import` }),
      counts: emptyCounts(),
      warnings: [],
      files: files.map((e) => ({ fileId: e.fileId, key: e.key, name: baseName(e.key), status: 'pending' as const })),
    };
    run = (await deps.firingRuns.create(fresh))
      ? fresh
      : ((await deps.firingRuns.get(request.org, request.runId)) ?? fresh);
  }
  const release = { runId: run.runId, trigger: run.trigger };
  const byId = new Map(pending.map((e) => [e.fileId, e]));
  for (const file of run.files) {
    const entry = byId.get(file.fileId);
    // Gone from pending: taken already (a repeated delivery), or imported meanwhile by its own event.
    if (!entry || (entry.release && entry.release.runId !== run.runId)) continue;
    if (!(await deps.ledger.release(entry, release))) continue;
    // Numbers in arrival order, before any is sent: the lane then imports them oldest first.
    await deps.ledger.enterLane(entry, run.templateId ?? job.templateId);
  }
  for (const file of run.files) {
    const entry = byId.get(file.fileId);
    if (!entry || (entry.release && entry.release.runId !== run.runId)) continue;
    await deps.continuations.continueLater(
      arrivalMessage({
        key: entry.key,
        etag: entry.etag,
        fileId: entry.fileId,
        ...(entry.versionId ? { versionId: entry.versionId } : {}),
      }),
    );
  }
  return run;
}

/**
 * Records the end of one file's run on the run that took it; when no file is left pending, that run ends:
 * `interrupted` when every file's run was, `incomplete` when any file's was interrupted or incomplete, else
 * `completed`. Counts are the files' sums. Files of one run share a lane, so they end one after another.
 */
export async function recordFileOutcome(
  log: FiringRunLog,
  org: string,
  runId: string,
  fileId: string,
  fileRun: Run,
  now: Date,
): Promise<void> {
  const run = await log.get(org, runId);
  if (!run) return;
  const files = run.files.map((f) =>
    f.fileId === fileId
      ? {
          ...f,
          status: fileRun.status,
          runId: fileRun.runId,
          counts: fileRun.counts,
          ...(fileRun.message ? { message: fileRun.message } : {}),
        }
      : f,
  );
  const counts = emptyCounts();
  for (const f of files) {
    for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = (counts[k] ?? 0) + (f.counts?.[k] ?? 0);
  }
  const open = files.filter((f) => f.status === 'pending' || f.status === 'running').length;
  let next: FiringRun = { ...run, files, counts };
  if (open === 0 && run.status === 'running') {
    const statuses = files.map((f) => f.status);
    const status = statuses.every((s) => s === 'interrupted')
      ? 'interrupted'
      : statuses.some((s) => s === 'interrupted' || s === 'incomplete')
        ? 'incomplete'
        : 'completed';
    next = {
      ...next,
      status,
      endedAt: now.toISOString(),
      message: `${files.length} ${files.length === 1 ? 'file' : 'files'}: ${summarize(counts)}`,
    };
  }
  await log.save(next);
}
