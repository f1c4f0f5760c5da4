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
 * - A partial upload (tag `integrator-upload=partial`, or an Upload Failed event naming it) is never imported: one Interrupted run says so and the object
 *   stays where it is. So does a file that is not .csv (it may be something else the customer keeps there).
 * - Every other file ends in a run and is archived: a name that follows no template, no launched job, a missing
 *   required column and an empty file are Interrupted runs (nothing written), and the file moves to the archive so a
 *   fixed daily name works again the next day; the run says where it went.
 * - Order, so that no file is ever lost: row errors -> outcome file -> run record (final) -> copy to the archive ->
 *   delete that exact version from inbound -> ledger done. A crash in between is retried from the ledger: a finished
 *   run only repeats the archive step.
 */

import type { FileEntry, FileLedger, FileStore, JobStore, ObjectRef, Random } from '../ports.ts';
import type { Problem } from '../problems.ts';
import { claimKeeper } from './claim-lease.ts';
import { type ImportDeps, importFile } from './import-file.ts';
import { chooseJob } from './jobs.ts';
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
}

export interface ReceiveDeps extends ImportDeps {
  files: FileStore;
  jobs: JobStore;
  ledger: FileLedger;
  random: Random;
  catalog: TemplateCatalog;
  /** The claim's lease (minutes): renewed while the run makes progress (claim-lease.ts), retaken soon after a crash. */
  leaseMs: number;
}

export type IgnoredReason =
  | 'not_object_created'
  | 'outside_inbound'
  | 'temporary_name'
  | 'gone'
  | 'already_processed'
  | 'in_progress';

export type Received =
  | { outcome: 'ignored'; reason: IgnoredReason; key: string }
  | { outcome: 'finished'; run: Run }
  /**
   * The invocation ran out of time: the run is checkpointed and its claim released; deliver the same event again
   * (the import handler sends it as a continuation) and it resumes the run after the checkpoint.
   */
  | { outcome: 'paused'; run: Run };

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

const unquoted = (etag: string) => etag.replace(/^"|"$/g, '');

export async function receiveFile(deps: ReceiveDeps, arrival: Arrival): Promise<Received> {
  const { key } = arrival;
  const ignored = (reason: IgnoredReason): Received => ({ outcome: 'ignored', reason, key });
  if (!arrival.eventName.startsWith('ObjectCreated:')) return ignored('not_object_created');
  const parsed = parseObjectKey(key);
  if (parsed?.area !== 'inbound') return ignored('outside_inbound');
  if (isTemporaryName(parsed.path)) return ignored('temporary_name');
  const info = await deps.files.head(key, arrival.versionId);
  if (!info) return ignored('gone');
  // A failed upload's event names no version: when the key now holds other bytes, a later upload replaced it (and is
  // imported on its own event), so the failure must not mark that one partial.
  if (arrival.partial && arrival.etag && unquoted(arrival.etag) !== unquoted(info.etag)) return ignored('gone');

  const now = deps.clock.now();
  const claim = await deps.ledger.claim(
    {
      org: parsed.org,
      fileId: fileIdOf(key, info, arrival.sequencer),
      key,
      ...(info.versionId ? { versionId: info.versionId } : {}),
      etag: info.etag,
      size: info.size,
      status: 'processing',
      leaseUntil: now.getTime() + deps.leaseMs,
      receivedAt: now.toISOString(),
      updatedAt: now.toISOString(),
      claims: 1,
    },
    now.getTime(),
  );
  if (!claim.claimed) return ignored(claim.current.status === 'processing' ? 'in_progress' : 'already_processed');
  let entry: FileEntry = claim.entry;
  const keeper = claimKeeper({ ledger: deps.ledger, entry, clock: deps.clock, leaseMs: deps.leaseMs });

  const ref: ObjectRef = { key, etag: info.etag, ...(info.versionId ? { versionId: info.versionId } : {}) };
  const fileName = baseName(parsed.path);
  try {
    let run: Run | undefined;
    if (claim.previous?.runId) run = await deps.runLog.get(parsed.org, claim.previous.runId);
    if (run && run.status !== 'running') return { outcome: 'finished', run: await settle(deps, run, ref, entry) };
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
      return { outcome: 'finished', run: await stop(problem) };
    }
    const match = deps.catalog.matchFileName(fileName);
    if (!match.ok) {
      const problem = { code: match.reason, message: match.message, file: fileName };
      return { outcome: 'finished', run: await stop(problem) };
    }
    const choice = chooseJob(await deps.jobs.importJobs(parsed.org), match.template, deps.catalog, fileName);
    if (!choice.ok) {
      return { outcome: 'finished', run: await stop({ code: choice.code, message: choice.message, file: fileName }) };
    }
    run = { ...run, jobId: choice.job.jobId, jobName: choice.job.name, templateId: choice.template.id };
    await deps.runLog.save(run);

    const result = await importFile(
      { ...deps, keepClaim: keeper.keep },
      {
        run,
        job: choice.job,
        template: choice.template,
        source: () => deps.files.read(ref),
        fileName,
      },
    );
    if (result.paused) {
      // Released before returning, so the continuation the caller sends next cannot find the claim still held (it
      // would be ignored as in progress and the run left unfinished): the next delivery of this event recomputes the
      // same fileId (key and version, or etag, time and the event's sequencer), retakes the claim at once, finds the
      // run through the entry's runId and continues after its checkpoint.
      await deps.ledger.update({ ...entry, leaseUntil: 0, updatedAt: deps.clock.now().toISOString() });
      return { outcome: 'paused', run: result.run };
    }
    return { outcome: 'finished', run: await settle(deps, result.run, ref, entry) };
  } catch (err) {
    // Let a retry of this event take over at once (it resumes the run from its last checkpoint).
    await deps.ledger.update({ ...entry, leaseUntil: 0, updatedAt: deps.clock.now().toISOString() }).catch(() => {});
    throw err;
  }
}

/**
 * Records a finished run and its outcome, then moves the original: outcome file, run, archive copy, delete, ledger.
 * Safe to repeat: a retry after a crash redoes only what is missing.
 */
/** Runs whose file stays in inbound: not ours to move (a partial upload, a file that is not CSV). */
const LEFT_IN_PLACE = new Set(['partial_upload', 'not_csv']);

async function settle(deps: ReceiveDeps, finished: Run, ref: ObjectRef, entry: FileEntry): Promise<Run> {
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
            message: `${run.file.name} was uploaded again while this run handled it; the new upload was left in inbound and is imported on its own`,
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
  return run;
}
