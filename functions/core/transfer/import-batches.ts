/**
 * The batches stage of the import engine (import-file.ts): a batch of valid rows compared with the stored records
 * (unchanged rows cost no write), the job's preference applied, the record limit reserved, the conditional upserts
 * written, and the batch's row errors recorded. `writeBatch` takes the run as it stands and gives back the run with
 * the batch counted; nothing here holds on to a run between batches.
 */
import type { Billing, Clock, RecordStore, RecordWrite, RunLog, StoredRecordState, WriteCondition } from '../ports.ts';
import { ClaimLostError } from '../ports.ts';
import type { Problem } from '../problems.ts';
import { ownValue } from '../reserved-names.ts';
import type { ImportJob } from './jobs.ts';
import type { ResolvedHeader } from './mapping.ts';
import { contentHash } from './records.ts';
import type { RowError, Run } from './runs.ts';
import type { Template } from './template-types.ts';

/** A valid row waiting for its batch. */
export interface Pending {
  row: number;
  recordKey: string;
  fields: Record<string, string>;
  values: string[];
  /** The note a kept row gets when its key appears again later in the file. */
  kept?: Problem;
}

/** `guardUnchanged`: unchanged rows record the number as well (lanes.ts: an older file may still resume). */
export type Arrival = { lane: string; seq: number; guardUnchanged?: boolean };

export interface BatchDeps {
  records: RecordStore;
  runLog: RunLog;
  clock: Clock;
  /** Absent: no record limit is enforced. */
  billing?: Billing;
}

/** What every batch of one run shares. */
export interface BatchContext {
  job: ImportJob;
  template: Template;
  header: ResolvedHeader;
  fileName: string;
  arrival?: Arrival;
  /** A row's cells as errors show them (import-rows.ts `rowJudge`). */
  masked(values: readonly string[]): string[];
  /** Throws ClaimLostError when the file's claim was taken over: nothing more may be written for this run. */
  holdClaim(): Promise<void>;
}

/** The run as the batches leave it, and whether the record limit was met (no further reservation is asked). */
export interface BatchState {
  run: Run;
  limitReached: boolean;
}

/** The claim check of a run: `keepClaim` absent means always held. */
export function claimHolder(keepClaim: (() => Promise<boolean>) | undefined, key: string): () => Promise<void> {
  return async () => {
    if (keepClaim && !(await keepClaim())) throw new ClaimLostError(key);
  };
}

/**
 * Writes one batch (`pending`, possibly empty) and records the row errors gathered with it (`errors`, plus the
 * duplicate-key notes and over-limit errors of the batch): the run with the batch counted.
 */
export async function writeBatch(
  deps: BatchDeps,
  ctx: BatchContext,
  state: BatchState,
  pending: readonly Pending[],
  errors: readonly RowError[],
  /** The batch's stored records, read ahead (readStored) while the previous batch was written. */
  stored?: Promise<Map<string, StoredRecordState>>,
): Promise<BatchState> {
  if (pending.length > 0 || errors.length > 0) await ctx.holdClaim();
  let next = state;
  let recorded = errors;
  if (pending.length > 0) {
    const outcome = await applyBatch(deps, next.run, ctx, pending, next.limitReached, stored);
    next = { run: counted(next.run, outcome, ctx.fileName), limitReached: outcome.limitReached };
    recorded = [...errors, ...batchErrors(pending, outcome, ctx)];
  }
  if (recorded.length > 0) await deps.runLog.addErrors(next.run.org, next.run.runId, [...recorded]);
  return next;
}

/**
 * Starts reading a batch's stored records (what `writeBatch` compares the rows with), so that the read overlaps the
 * previous batch's writes. The rows of one file have distinct keys after the census, so the read cannot miss a write
 * of the previous batch to the same record; and what each write did is taken from its own answer anyway.
 */
export function readStored(
  deps: BatchDeps,
  org: string,
  ctx: BatchContext,
  pending: readonly Pending[],
): Promise<Map<string, StoredRecordState>> | undefined {
  if (pending.length === 0) return undefined;
  const reading = deps.records.current(
    org,
    ctx.template.entity,
    pending.map((p) => p.recordKey),
  );
  // Awaited by writeBatch; a batch dropped by a pause or a failure must not leave an unhandled rejection behind.
  reading.catch(() => {});
  return reading;
}

/** The run with a batch's outcome added to its counts (and the superseded warning, once). */
function counted(run: Run, outcome: BatchOutcome, fileName: string): Run {
  const c = run.counts;
  const counts = {
    ...c,
    created: c.created + outcome.created,
    updated: c.updated + outcome.updated,
    unchanged: c.unchanged + outcome.unchanged,
    skipped: c.skipped + outcome.skipped,
    overLimit: c.overLimit + outcome.overLimit.size,
    ...(outcome.superseded > 0 || c.superseded ? { superseded: (c.superseded ?? 0) + outcome.superseded } : {}),
  };
  if (outcome.superseded === 0 || run.warnings.some((w) => w.code === 'superseded')) return { ...run, counts };
  const warning: Problem = {
    code: 'superseded',
    message: `${fileName}: some rows were not applied because a file uploaded after this one had already updated those records with newer data (see the run's superseded count)`,
    file: fileName,
  };
  return { ...run, counts, warnings: [...run.warnings, warning] };
}

/** The notes of the batch's kept rows and the errors of its rows beyond the record limit. */
function batchErrors(batch: readonly Pending[], outcome: BatchOutcome, ctx: BatchContext): RowError[] {
  const errors: RowError[] = [];
  for (const p of batch) {
    // A kept row beyond the limit gets both entries; the run log stores them as one (onePerRow).
    if (p.kept) errors.push({ row: p.row, kept: true, problems: [p.kept] });
    if (outcome.overLimit.has(p)) {
      const overLimit: Problem = {
        code: 'over_limit',
        message: `${ctx.fileName} row ${p.row}: not applied because the organization's allowed record limit is reached; raise the limit and send the file again`,
        file: ctx.fileName,
        row: p.row,
        rule: 'allowed record limit',
      };
      errors.push({ row: p.row, values: ctx.masked(p.values), problems: [overLimit] });
    }
  }
  return errors;
}

interface BatchOutcome {
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  superseded: number;
  overLimit: Set<Pending>;
  limitReached: boolean;
}

/**
 * One batch: compare with the stored records, reserve the record limit, write, count. The earlier read only decides
 * which rows need a write; what each write did (created, updated, unchanged, refused) is taken from its own result, so
 * the counts stay true when another run writes the same records meanwhile, and the reservation of every row that was
 * not written after all is given back.
 */
async function applyBatch(
  deps: BatchDeps,
  run: Run,
  ctx: BatchContext,
  batch: readonly Pending[],
  limitAlreadyReached: boolean,
  readAhead: Promise<Map<string, StoredRecordState>> | undefined,
): Promise<BatchOutcome> {
  const { job, template, header, arrival } = ctx;
  const outcome: BatchOutcome = {
    created: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    superseded: 0,
    overLimit: new Set(),
    limitReached: limitAlreadyReached,
  };
  const stored = await (readAhead ??
    deps.records.current(
      run.org,
      template.entity,
      batch.map((p) => p.recordKey),
    ));
  const now = deps.clock.now();
  const at = now.toISOString();
  const use = { jobId: job.jobId, at: now };
  const toWrite: { pending: Pending; write: RecordWrite }[] = [];
  const touches: RecordWrite[] = [];
  const place = arrival ? { arrival: { lane: arrival.lane, seq: arrival.seq } } : {};
  for (const p of batch) {
    const hash = contentHash(template.id, header.writes, p.fields);
    const existing = stored.get(p.recordKey);
    const exists = existing !== undefined;
    if (exists && existing.hash === hash) {
      // Stored by this very run before an interruption (rows after its checkpoint are read again): count what it did.
      if (existing.lastRunId === run.runId) {
        if (existing.createdRunId === run.runId) outcome.created++;
        else outcome.updated++;
      } else {
        outcome.unchanged++;
        if (arrival?.guardUnchanged) touches.push(touchOf(run, template, p, hash, place.arrival!));
      }
      continue;
    }
    if ((exists && job.preference === 'create_only') || (!exists && job.preference === 'update_only')) {
      outcome.skipped++;
      continue;
    }
    const condition: WriteCondition =
      job.preference === 'create_only' ? 'must_not_exist' : job.preference === 'update_only' ? 'must_exist' : 'none';
    toWrite.push({
      pending: p,
      write: {
        org: run.org,
        entity: template.entity,
        recordKey: p.recordKey,
        set: p.fields,
        remove: header.writes.filter((f) => ownValue(p.fields, f) === undefined),
        hash,
        condition,
        exists,
        templateId: template.id,
        runId: run.runId,
        row: p.row,
        at,
        ...place,
      },
    });
  }
  // Touches are never billed and count as unchanged whatever their result (the content was this row's when read).
  if (touches.length > 0) await deps.records.apply(touches);
  let granted = toWrite.length;
  if (deps.billing && toWrite.length > 0) {
    granted = outcome.limitReached ? 0 : await deps.billing.reserve(run.org, toWrite.length, use);
    if (granted < toWrite.length) outcome.limitReached = true;
  }
  const applying = toWrite.slice(0, granted);
  outcome.overLimit = new Set(toWrite.slice(granted).map((w) => w.pending));
  const results = applying.length > 0 ? await deps.records.apply(applying.map((w) => w.write)) : [];
  let notWritten = 0;
  for (const result of results) {
    if (!result.wrote) notWritten++;
    if (result.effect === 'condition_failed') outcome.skipped++;
    else outcome[result.effect]++;
  }
  if (deps.billing && notWritten > 0) await deps.billing.release(run.org, notWritten, use);
  return outcome;
}

/** A write that only records the file's arrival number on a record that holds this row's content (RecordWrite.touch). */
function touchOf(
  run: Run,
  template: Template,
  p: Pending,
  hash: string,
  arrival: { lane: string; seq: number },
): RecordWrite {
  return {
    org: run.org,
    entity: template.entity,
    recordKey: p.recordKey,
    set: {},
    remove: [],
    hash,
    condition: 'must_exist',
    templateId: template.id,
    runId: run.runId,
    row: p.row,
    at: '',
    arrival,
    touch: true,
  };
}
