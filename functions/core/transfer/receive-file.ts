/**
 * What happens when an object lands in an organization's inbound folder: decide whether it is ours to import, claim
 * it exactly once, import it with the organization's launched job, record the run and its outcome, and only then move
 * the original to the archive.
 *
 * Decisions (documented in the README's import section):
 * - Ignored without a trace: events other than ObjectCreated:*, keys outside inbound/<org>/, temporary upload names
 *   (`.filepart`, ...), objects already gone (an earlier delivery archived them).
 * - Claimed once per object version in the Files ledger (conditional put): a redelivered event finds the claim and
 *   stops. A `processing` claim whose lease ran out (the invocation crashed, or paused for lack of time) is retaken,
 *   and the run it belongs to resumes from its checkpoint.
 * - Files of one organization and template are imported in arrival order (lanes.ts): a file takes its arrival number
 *   when first claimed and waits (`waiting`: no run yet, claim released, the event delivered again later) until the
 *   previous file's run has ended. Each record write carries the number, and a record never takes an older file's
 *   data over a newer one's (RecordWrite.arrival).
 * - A file of a scheduled or paused job (jobs.ts `processing`, `paused`) is recorded `pending` and not imported: no
 *   run, no lane number, the claim released. A scheduled or requested run (job-runs.ts) takes the pending files that
 *   arrived before its cut-off, gives them their lane numbers oldest first, marks them released and sends an arrival
 *   for each: from there each file is imported exactly as an arriving one (claims, lanes, checkpoints, crash recovery),
 *   in a run of its own that names the taking run (`partOf`), and its end is recorded on that run (`firingRuns`).
 * - A run keeps the job it started with (stored on the ledger entry): a resumed run is not changed by an edit.
 * - A partial upload (tag `integrator-upload=partial`, or an Upload Failed event naming it) is never imported: one
 *   Interrupted run says so and the object
 *   stays where it is. So does a file that is not .csv (it may be something else the customer keeps there).
 * - Every other file ends in a run and is archived: a name that follows no template, no launched job, a missing
 *   required column and an empty file are Interrupted runs (nothing written), and the file moves to the archive so a
 *   fixed daily name works again the next day; the run says where it went.
 * - Order, so that no file is ever lost: row errors -> outcome file -> run record (final) -> copy to the archive ->
 *   delete that exact version from inbound -> ledger done. A crash in between is retried from the ledger: a finished
 *   run only repeats the archive step.
 */

import { eventsOfEndedRun } from '../integration-events.ts';
import type {
  FileEntry,
  FileLedger,
  FileStore,
  FiringRunLog,
  IntegrationEvents,
  JobStore,
  ObjectRef,
  OrganizationStore,
  Random,
  RangeState,
  RunLog,
  RunRanges,
} from '../ports.ts';
import { type Problem, StoreRefusal } from '../problems.ts';
import { claimKeeper, leaseKeeper } from './claim-lease.ts';
import { finish, type ImportDeps, importFile, importRange } from './import-file.ts';
import type { RangeTask } from './import-queue.ts';
import { mergeRanges } from './import-ranges.ts';
import { recordFileOutcome } from './job-runs.ts';
import { chooseJob, processingOf } from './jobs.ts';
import { awaitTurn } from './lanes.ts';
import { archiveKey, baseName, isTemporaryName, outcomeKey, parseObjectKey } from './layout.ts';
import { outcomeLines } from './outcome.ts';
import { interruptRun, newRunId, type Run, startRun } from './runs.ts';
import type { TemplateCatalog } from './templates.ts';

/** One object-created notification, its key already URL-decoded. */
export interface Arrival {
  eventName: string;
  key: string;
  versionId?: string;
  etag?: string;
  size?: number;
  /** Orders a key's events; identifies an event across redeliveries. */
  sequencer?: string;
  /** S3's request id of the upload (`x-amz-request-id`): a correlation id for logs. */
  requestId?: string;
  /** The SFTP server reported the upload as failed (Transfer Family's Upload Failed event): never imported. */
  partial?: boolean;
  /** When the upload ended (Transfer Family's `end-timestamp`): with the ETag, it picks the version an event means. */
  endedAt?: string;
  /** The ledger id, when the message comes from a run that took a pending file (job-runs.ts): no recomputing it. */
  fileId?: string;
}

export interface ReceiveDeps extends ImportDeps {
  files: FileStore;
  jobs: JobStore;
  ledger: FileLedger;
  random: Random;
  catalog: TemplateCatalog;
  /** The claim's lease (minutes): renewed while the run makes progress (claim-lease.ts), retaken soon after a crash. */
  leaseMs: number;
  /** A file waiting for its turn comes back after this long (default 30 s). */
  waitRetrySeconds?: number;
  /** How long a quiet holder of a lane's turn keeps it after its lease (lanes.ts; default 5 minutes). */
  turnGraceMs?: number;
  /** Where a taken pending file's end is recorded (its scheduled or requested run). */
  firingRuns?: FiringRunLog;
  /** Where the run's end is told (integration-events.ts): before the archive step, so a retry publishes it. */
  events?: IntegrationEvents;
  /** The organization's status: a suspended organization's file is refused and left in place (organizations.ts). */
  organizations?: Pick<OrganizationStore, 'get'>;
  /** Where a file cut into ranges keeps them (import-ranges.ts); absent: every file is read by one worker. */
  ranges?: RunRanges;
}

export const DEFAULT_WAIT_RETRY_SECONDS = 30;
export const DEFAULT_TURN_GRACE_MS = 5 * 60_000;

export type IgnoredReason =
  | 'not_object_created'
  | 'outside_inbound'
  | 'temporary_name'
  | 'gone'
  | 'already_processed'
  | 'in_progress';

export type Received =
  | { outcome: 'ignored'; reason: IgnoredReason; key: string }
  /** The file's job is scheduled or paused: recorded pending in the ledger, for a run of the job to take. */
  | { outcome: 'pending'; key: string; jobId: string }
  /**
   * `wake`: the file whose turn came when this run ended, waiting in its lane: deliver an arrival for it now (the import
   * handler sends `arrivalMessage(wake)` with no delay) rather than leave it to its next delayed look.
   */
  | { outcome: 'finished'; run: Run; wake?: ObjectRef }
  /**
   * The invocation ran out of time: the run is checkpointed and its claim released; deliver the same event again
   * (the import handler sends it as a continuation) and it resumes the run after the checkpoint.
   */
  | { outcome: 'paused'; run: Run }
  /**
   * The file was cut into ranges (import-ranges.ts): send one message per task (the import handler does); the last
   * range to end finishes the run. Sent again when the file's event comes back: a range done or held ignores it.
   */
  | { outcome: 'ranged'; run: Run; tasks: RangeTask[] }
  /** A range of a run was applied; other ranges are still at work, the last of them finishes the run. */
  | { outcome: 'range_done'; run: Run; index: number }
  /**
   * An earlier file of the same organization and template is still being imported (lanes.ts): this one was not
   * started and its claim is released; deliver the same event again after `retryAfterSeconds` (the import handler
   * sends it as a delayed continuation) and it looks again.
   */
  | { outcome: 'waiting'; key: string; lane: string; seq: number; turn: number; retryAfterSeconds: number };

/** The tag the SFTP front (Transfer Family workflow, the twin's server) puts on an upload that did not complete. */
export const UPLOAD_TAG = 'integrator-upload';

/**
 * The ledger id of one object version: `key#versionId` in a versioned bucket (AWS). Without versions (the twin's S3
 * server) `key#etag@lastModified`, plus the event's sequencer when known: LastModified has one-second resolution, so
 * the same bytes uploaded twice within a second would otherwise look like one upload and the second be dropped.
 * A redelivered event carries the same sequencer, so it still finds its claim.
 */
export function fileIdOf(
  key: string,
  info: { versionId?: string; etag: string; lastModified: Date },
  sequencer?: string,
): string {
  if (info.versionId) return `${key}#${info.versionId}`;
  return `${key}#${info.etag}@${info.lastModified.toISOString()}${sequencer ? `@${sequencer}` : ''}`;
}

export async function receiveFile(deps: ReceiveDeps, arrival: Arrival): Promise<Received> {
  const { key } = arrival;
  const ignored = (reason: IgnoredReason): Received => ({ outcome: 'ignored', reason, key });
  if (!arrival.eventName.startsWith('ObjectCreated:')) return ignored('not_object_created');
  const parsed = parseObjectKey(key);
  if (parsed?.area !== 'inbound') return ignored('outside_inbound');
  if (isTemporaryName(parsed.path)) return ignored('temporary_name');
  // Transfer Family's upload events name no version: the one they mean is found by its ETag and end time, so a second
  // upload of the name seconds later neither takes the first one's place nor is marked partial by its failure.
  const info =
    arrival.versionId === undefined && arrival.etag
      ? await deps.files.versionOf(key, arrival.etag, arrival.endedAt ? new Date(arrival.endedAt) : undefined)
      : await deps.files.head(key, arrival.versionId);
  if (!info) return ignored('gone');

  const now = deps.clock.now();
  const claim = await deps.ledger.claim(
    {
      org: parsed.org,
      // A taken pending file's message names its entry (under this very key: never another organization's).
      fileId: arrival.fileId?.startsWith(`${key}#`) ? arrival.fileId : fileIdOf(key, info, arrival.sequencer),
      key,
      ...(info.versionId ? { versionId: info.versionId } : {}),
      etag: info.etag,
      size: info.size,
      status: 'processing',
      leaseUntil: now.getTime() + deps.leaseMs,
      receivedAt: now.toISOString(),
      uploadedAt: info.lastModified.toISOString(),
      updatedAt: now.toISOString(),
      claims: 1,
    },
    now.getTime(),
  );
  if (!claim.claimed) return ignored(claim.current.status === 'processing' ? 'in_progress' : 'already_processed');
  let entry: FileEntry = claim.entry;
  let guardUnchanged = false;
  const keeper = claimKeeper({ ledger: deps.ledger, entry, clock: deps.clock, leaseMs: deps.leaseMs });

  const ref: ObjectRef = { key, etag: info.etag, ...(info.versionId ? { versionId: info.versionId } : {}) };
  const fileName = baseName(parsed.path);
  let run: Run | undefined;
  try {
    if (claim.previous?.runId) run = await deps.runLog.get(parsed.org, claim.previous.runId);
    if (run && run.status !== 'running') return await settle(deps, run, ref, entry);
    // Cut into ranges already: they carry on under this claim (their lease renewals follow the plan's entry).
    const plan = run && (await deps.ranges?.planOf(run.org, run.runId));
    if (run && plan && deps.ranges) {
      await deps.ranges.retarget(run.org, run.runId, { ...plan.entry, claims: entry.claims });
      await releaseClaim(deps, entry);
      return { outcome: 'ranged', run, tasks: tasksOf(run, plan.ranges) };
    }

    // Files of one organization and template apply in arrival order: take a number, wait for its turn.
    const match = deps.catalog.matchFileName(fileName);
    if (match.ok && !run && !entry.release && entry.seq === undefined) {
      // A scheduled or paused job's file waits for a run of the job (a later delivery of its event decides again).
      const choice = chooseJob(await deps.jobs.importJobs(parsed.org), match.template, deps.catalog, fileName);
      if (choice.ok && (processingOf(choice.job) === 'scheduled' || choice.job.paused)) {
        await deps.ledger.update({
          ...entry,
          status: 'pending',
          pendingJob: choice.job.jobId,
          leaseUntil: 0,
          updatedAt: deps.clock.now().toISOString(),
        });
        return { outcome: 'pending', key, jobId: choice.job.jobId };
      }
    }
    if (match.ok) {
      const place = await deps.ledger.enterLane(entry, match.template.id);
      entry = { ...entry, lane: place.lane, seq: place.seq, ...(place.job ? { job: place.job } : {}) };
      const turn = await awaitTurn(deps.ledger, place, now.getTime(), deps.turnGraceMs ?? DEFAULT_TURN_GRACE_MS);
      if (turn.go) guardUnchanged = turn.guardUnchanged;
      else {
        await deps.ledger.update({ ...entry, leaseUntil: 0, updatedAt: deps.clock.now().toISOString() });
        return {
          outcome: 'waiting',
          key,
          lane: place.lane,
          seq: place.seq,
          turn: turn.turn,
          retryAfterSeconds: deps.waitRetrySeconds ?? DEFAULT_WAIT_RETRY_SECONDS,
        };
      }
    }

    if (run) {
      run = { ...run, invocations: (run.invocations ?? 1) + 1 };
    } else {
      run = startRun({
        org: parsed.org,
        runId: newRunId(now, deps.random),
        now,
        file: {
          key,
          name: fileName,
          size: info.size,
          etag: info.etag,
          ...(info.versionId ? { versionId: info.versionId } : {}),
        },
      });
      run = entry.release
        ? { ...run, trigger: entry.release.trigger, partOf: entry.release.runId }
        : { ...run, trigger: 'arrival' };
    }
    entry = { ...entry, runId: run.runId };
    await deps.ledger.update(entry);

    const stop = (problem: Problem) => settle(deps, interruptRun(run!, problem, deps.clock.now()), ref, entry);

    const tags = await deps.files.tags(ref);
    if (arrival.partial || tags[UPLOAD_TAG] === 'partial') {
      const problem = {
        code: 'partial_upload',
        message: `${fileName}: the upload did not complete (partial upload), so it was not imported; send the file again`,
        file: fileName,
      };
      return await stop(problem);
    }
    // Before anything that would move the file: a suspended organization's file stays where it is.
    if ((await deps.organizations?.get(parsed.org))?.status === 'suspended') {
      return await stop({
        code: 'organization_suspended',
        message: `${fileName}: organization ${parsed.org} is suspended, so the file was not imported; it stays in inbound (upload it again once the organization is resumed)`,
        file: fileName,
      });
    }
    if (!match.ok) {
      const problem = { code: match.reason, message: match.message, file: fileName };
      return await stop(problem);
    }
    // A resumed run keeps the job it started with (kept on the entry), whatever was edited between invocations.
    const jobs = entry.job ? [entry.job] : await deps.jobs.importJobs(parsed.org);
    const choice = chooseJob(jobs, match.template, deps.catalog, fileName);
    if (!choice.ok) {
      return await stop({ code: choice.code, message: choice.message, file: fileName });
    }
    if (!entry.job) {
      entry = { ...entry, job: choice.job };
      await deps.ledger.update(entry);
    }
    run = { ...run, jobId: choice.job.jobId, jobName: choice.job.name, templateId: choice.template.id };
    await deps.runLog.save(run);

    const arrivalPlace =
      entry.lane && entry.seq !== undefined
        ? { arrival: { lane: entry.lane, seq: entry.seq, ...(guardUnchanged ? { guardUnchanged } : {}) } }
        : {};
    const ranges = deps.ranges;
    const job = choice.job;
    const split = ranges
      ? {
          split: async (
            started: Run,
            bounds: Parameters<RunRanges['plan']>[3],
            notes: Parameters<RunRanges['plan']>[4],
          ) => {
            await deps.runLog.save(started);
            const planned = { ranges: bounds.length, entry, job, ref, fileName, ...arrivalPlace };
            await ranges.plan(started.org, started.runId, planned, bounds, notes);
            return started;
          },
        }
      : {};
    const result = await importFile(
      { ...deps, ...split, keepClaim: keeper.keep },
      {
        run,
        job: choice.job,
        template: choice.template,
        source: () => deps.files.read(ref),
        fileName,
        ...arrivalPlace,
      },
    );
    if (result.ranged) {
      // Released as for a pause: should sending the tasks fail, the retried message retakes the claim and sends them
      // again; the ranges renew the lease from their first batch on.
      await releaseClaim(deps, entry);
      return {
        outcome: 'ranged',
        run: result.run,
        tasks: tasksOf(result.run, (await ranges!.planOf(result.run.org, result.run.runId))!.ranges),
      };
    }
    if (result.paused) {
      // Released before returning, so the continuation the caller sends next cannot find the claim still held (it
      // would be ignored as in progress and the run left unfinished): the next delivery of this event recomputes the
      // same fileId (key and version, or etag, time and the event's sequencer), retakes the claim at once, finds the
      // run through the entry's runId and continues after its checkpoint.
      await deps.ledger.update({ ...entry, leaseUntil: 0, updatedAt: deps.clock.now().toISOString() });
      return { outcome: 'paused', run: result.run };
    }
    return await settle(deps, result.run, ref, entry);
  } catch (err) {
    // A write the store refuses for good (adapters/store-refusals.ts) would fail every retry the same way: end the run.
    if (err instanceof StoreRefusal && run) {
      const problem = { ...err.problem, file: fileName, message: `${fileName}: ${err.problem.message}` };
      return await settle(deps, interruptRun(run, problem, deps.clock.now()), ref, entry);
    }
    // Let a retry of this event take over at once (it resumes the run from its last checkpoint).
    await deps.ledger.update({ ...entry, leaseUntil: 0, updatedAt: deps.clock.now().toISOString() }).catch(() => {});
    throw err;
  }
}

const releaseClaim = (deps: ReceiveDeps, entry: FileEntry) =>
  deps.ledger.update({ ...entry, leaseUntil: 0, updatedAt: deps.clock.now().toISOString() });

const tasksOf = (run: Run, ranges: number): RangeTask[] =>
  Array.from({ length: ranges }, (_, index) => ({ org: run.org, runId: run.runId, index }));

/**
 * One range of a run cut across workers (import-ranges.ts): claim it, apply its rows from its checkpoint, record it
 * done; the caller whose range completes the set merges the ranges into the run and finishes it as `receiveFile`
 * would (outcome file, archive, notices, events, the lane's next file), once.
 */
export async function receiveRange(deps: ReceiveDeps, task: RangeTask): Promise<Received> {
  const ranges = deps.ranges;
  if (!ranges) throw new Error('a range message reached an import without ranges (RunRanges)');
  const plan = await ranges.planOf(task.org, task.runId);
  if (!plan) return { outcome: 'ignored', reason: 'gone', key: task.runId };
  const { ref, fileName, entry } = plan;
  const now = deps.clock.now().getTime();
  let range = await ranges.claim(task.org, task.runId, task.index, now, now + deps.leaseMs);
  if (!range) return { outcome: 'ignored', reason: 'in_progress', key: ref.key };
  let run = await deps.runLog.get(task.org, task.runId);
  if (!run) return { outcome: 'ignored', reason: 'gone', key: ref.key };
  if (range.status === 'open' && run.status === 'running') {
    const applied = await applyRange(deps, ranges, run, range);
    if (applied.paused) return { outcome: 'paused', run };
    range = applied.range;
  }
  if (!(await ranges.complete(range))) return { outcome: 'range_done', run, index: task.index };
  if (run.status === 'running') {
    const merged = mergeRanges(run, await ranges.list(run.org, run.runId, plan.ranges));
    const ended = await finish(deps, merged, fileName, true);
    // Short of time: this range's next delivery finishes (it is told again that it completes the set).
    if (ended.paused) return { outcome: 'paused', run: ended.run };
    run = ended.run;
  }
  return await settle(deps, run, ref, entry);
}

/** A range's rows applied under its own lease and the file's: the range as it ended, or paused at a checkpoint. */
async function applyRange(
  deps: ReceiveDeps,
  ranges: RunRanges,
  run: Run,
  claimed: RangeState,
): Promise<{ paused: true } | { paused: false; range: RangeState }> {
  const plan = (await ranges.planOf(run.org, run.runId))!;
  const match = deps.catalog.matchFileName(plan.fileName);
  if (!match.ok) throw new Error(`${plan.fileName}: no template matches any more (${match.message})`);
  const choice = chooseJob([plan.job], match.template, deps.catalog, plan.fileName);
  if (!choice.ok) throw new Error(`${plan.fileName}: ${choice.message}`);
  let range = claimed;
  const own = leaseKeeper({
    renew: (until) => ranges.renew(range, until),
    leaseUntil: range.leaseUntil,
    clock: deps.clock,
    leaseMs: deps.leaseMs,
  });
  const file = claimKeeper({ ledger: deps.ledger, entry: plan.entry, clock: deps.clock, leaseMs: deps.leaseMs });
  // The range's checkpoints go to the range; its row errors to the run's one error log.
  const runLog: RunLog = {
    save: async (saved) => {
      range = { ...range, counts: saved.counts, warnings: saved.warnings, checkpoint: saved.checkpoint?.row ?? 0 };
      await ranges.save(range);
    },
    get: (org, runId) => deps.runLog.get(org, runId),
    addErrors: (org, runId, errors) => deps.runLog.addErrors(org, runId, errors),
    errors: (org, runId) => deps.runLog.errors(org, runId),
  };
  try {
    const reading = await importRange(
      { ...deps, runLog, keepClaim: async () => (await own.keep()) && (await file.keep()) },
      {
        run: { ...run, counts: range.counts, warnings: range.warnings },
        job: plan.job,
        template: choice.template,
        source: () => deps.files.read(plan.ref),
        fileName: plan.fileName,
        ...(plan.arrival ? { arrival: plan.arrival } : {}),
        range,
        notes: ranges.notes(run.org, run.runId, range.index),
      },
    );
    if (reading.paused) {
      await ranges.release(range);
      return { paused: true };
    }
    const { stoppedBy } = reading;
    range = {
      ...range,
      counts: reading.run.counts,
      warnings: reading.run.warnings,
      checkpoint: reading.lastRow,
      lastRow: reading.lastRow,
      ...(stoppedBy ? { stoppedBy } : {}),
    };
    return { paused: false, range };
  } catch (err) {
    // A retry takes the range over at once and resumes it from its last checkpoint.
    if (!(err instanceof Error && err.name === 'ClaimLostError')) await ranges.release(range).catch(() => {});
    throw err;
  }
}

/**
 * Records a finished run and its outcome, then moves the original: outcome file, run, archive copy, delete, ledger.
 * Safe to repeat: a retry after a crash redoes only what is missing.
 */
/** Runs whose file stays in inbound: not ours to move (a partial upload, a file that is not CSV). */
const LEFT_IN_PLACE = new Set(['partial_upload', 'not_csv', 'organization_suspended']);

async function settle(
  deps: ReceiveDeps,
  finished: Run,
  ref: ObjectRef,
  entry: FileEntry,
): Promise<Extract<Received, { outcome: 'finished' }>> {
  let run = finished;
  // Derived from the run, not passed along: a retry that finds this run recorded must decide the same way.
  const leaveInPlace = LEFT_IN_PLACE.has(run.problem?.code ?? '');
  if (!leaveInPlace) {
    const archived = run.archivedKey ?? archiveKey(run.org, run.runId, run.file.name, new Date(run.startedAt));
    run = { ...run, archivedKey: archived };
    if ((run.counts.failed > 0 || run.counts.overLimit > 0) && run.header) {
      const key = outcomeKey(archived);
      await deps.files.write(
        key,
        outcomeLines(run.header, deps.runLog.errors(run.org, run.runId)),
        'text/csv; charset=utf-8',
      );
      run = { ...run, outcomeKey: key };
    }
  }
  await deps.runLog.save(run);
  // Before the original moves: a retry finds it still in inbound, settles again, and so publishes what was not.
  await deps.events?.publish(eventsOfEndedRun(run));
  if (run.archivedKey) {
    const copied = await deps.files.copy(ref, run.archivedKey);
    const removed = copied && (await deps.files.remove(ref));
    // Not copied: an earlier attempt archived it already, or a newer upload replaced it (unversioned bucket).
    const replaced = copied ? !removed : !(await deps.files.head(run.archivedKey));
    if (replaced) {
      run = {
        ...run,
        warnings: [
          ...run.warnings,
          {
            code: 'replaced_during_run',
            message: `${run.file.name} was replaced by a newer upload of the same name while this run handled it, so this version could not be archived (the bucket keeps no versions); the newer upload is imported on its own`,
            file: run.file.name,
          },
        ],
      };
      await deps.runLog.save(run);
    }
  }
  const status = run.problem?.code === 'partial_upload' ? 'partial' : leaveInPlace ? 'refused' : 'done';
  await deps.ledger.update({
    ...entry,
    runId: run.runId,
    status,
    leaseUntil: 0,
    updatedAt: deps.clock.now().toISOString(),
  });
  // The run that took this file (a scheduled or requested one) learns how it went; the last file ends it.
  if (entry.release && deps.firingRuns) {
    await recordFileOutcome(deps.firingRuns, entry.org, entry.release.runId, entry.fileId, run, deps.clock.now());
  }
  // The next file of the lane may start (a no-op when the turn moved on while this one was down).
  if (!entry.lane || entry.seq === undefined) return { outcome: 'finished', run };
  await deps.ledger.leaveLane(entry.org, entry.lane, entry.seq);
  const next = (await deps.ledger.laneTurn(entry.org, entry.lane)).holder;
  if (!next || next.fileId === entry.fileId || next.status !== 'processing') return { outcome: 'finished', run };
  const wake: ObjectRef = { key: next.key, etag: next.etag, ...(next.versionId ? { versionId: next.versionId } : {}) };
  return { outcome: 'finished', run, wake };
}
