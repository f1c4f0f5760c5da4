/**
 * The import engine: one CSV file of one job, streamed row by row in constant memory.
 *
 *   header (resolve, stop on a missing required column) -> census (import-census.ts: first reading, duplicate keys)
 *   -> rows (import-rows.ts: second reading, per row: map (transforms), filters, validate, duplicate-key note)
 *   -> batches (import-batches.ts: compare with the stored records (unchanged rows cost no write) -> preference ->
 *   record limit -> conditional upserts of the mapped fields only -> row errors recorded) -> checkpoint -> finish.
 *
 * Each stage is a function of its inputs that returns what it produced; the run passes from stage to stage as a
 * value, never changed in place.
 *
 * Rules (documented in the README's import section):
 * - A mapped column that is required (or the sync key) missing from the header stops the run before any write:
 *   Interrupted, the message names the column. Unknown columns and missing optional ones are warnings.
 * - A row that fails is reported (row number, the customer's column heading, the value, masked when sensitive, and
 *   the rule in words) and not applied; the others proceed; the run is then Incomplete. A row whose cell count differs
 *   from the header's (an unquoted comma) cannot be masked by column, so when the template has sensitive fields
 *   every cell of it is masked. Values quoted in messages are cut (item-bounds.ts) so a message keeps its rule. A failed transform (a date
 *   no listed format reads, a value missing from a value map) is such a failure, named after the transform.
 * - Filters (filters.ts): a row they leave out is counted (`filtered`), not applied and not an error, and takes no
 *   part in the duplicate-key check. A row whose filtered field failed its transform cannot be judged: an error.
 *   A filtered field's column missing from the header stops the run like a required one.
 * - A sync key that appears twice in one file: the first occurrence is kept, every later occurrence is an error
 *   (`duplicate_key`, naming the first row) and is not applied, and the first row gets a note (`duplicate_key`, kept,
 *   naming the next occurrence) so both rows are reported. When the first occurrence itself failed, no row with that
 *   key is applied. Keys compare after transforms and normalization (e-mail keys ignore case). The rule does not
 *   depend on where a batch or an invocation ends: the census has read the whole file before the first write.
 * - Preferences: create only leaves existing records alone, update only never creates; such rows count as skipped.
 * - The organization's allowed record limit counts records written (created or updated); unchanged rows are free.
 *   Rows beyond the limit are not applied, are reported (`over_limit`) and make the run Incomplete; once the limit is
 *   raised, sending the file again applies exactly them (the others are unchanged).
 * - A write the store refuses for good (StoreRefusal: an item DynamoDB will never accept) stops the run like a file
 *   that turns unreadable: what was applied stays, the run ends naming the problem, and nothing is retried.
 * - Resumable: between batches the engine may pause (the invocation is running out of time). Every row up to the
 *   checkpoint is applied and its errors recorded; the next invocation takes the census again, skips the rows up to
 *   the checkpoint and continues after it. A checkpoint is also saved every `checkpointEveryMs` (and every
 *   `checkpointEvery` rows), so a crash redoes seconds of work, not minutes; redone rows find their records written
 *   and cost no write (unchanged). Before the run is finished (and its outcome file written) the engine asks whether
 *   there is time enough; if not it pauses there, and the next invocation only finishes.
 * - Held: before each batch, and every CENSUS_KEEP_EVERY rows of the census, `keepClaim` renews the file's lease when
 *   due (claim-lease.ts). When the claim was taken over (this invocation stalled past its lease) the run stops at once
 *   with ClaimLostError, writing nothing more: the new holder carries it on from the checkpoint.
 * - Ranges: a file of more than `rangeRows` rows is cut after its census into ranges applied in parallel by workers
 *   of their own (import-ranges.ts: the rules); `importRange` is one worker's reading of its range.
 */

import type {
  Billing,
  ByteSource,
  Clock,
  OpenCsv,
  RangeBounds,
  RangeNotes,
  RangeState,
  RecordStore,
  RunLog,
  SortScratch,
} from '../ports.ts';
import type { Problem } from '../problems.ts';
import { FileProblem } from '../problems.ts';
import type { OpenedCsv } from './csv/types.ts';
import { type KeyNote, keyCensus, NoteCursor } from './duplicate-keys.ts';
import { filteredFields } from './filters.ts';
import { type Arrival, type BatchContext, claimHolder } from './import-batches.ts';
import { takeCensus } from './import-census.ts';
import { notesByRange, rangeBounds } from './import-ranges.ts';
import { type RowJudge, type RowsOutcome, readRows, rowJudge } from './import-rows.ts';
import type { ImportJob } from './jobs.ts';
import { headerProblems, type ResolvedHeader, resolveHeader } from './mapping.ts';
import { finishRun, interruptRun, type Run } from './runs.ts';
import type { Template } from './template-types.ts';

export interface ImportDeps {
  openCsv: OpenCsv;
  records: RecordStore;
  runLog: RunLog;
  /** Where the duplicate-key census sorts the file's keys (memory up to a budget, then local disk). */
  scratch: SortScratch;
  /** Absent: no record limit is enforced. */
  billing?: Billing;
  clock: Clock;
  /** Asked after each batch: true when this invocation should stop and leave the rest to the next one. */
  shouldPause?: () => boolean;
  /**
   * Asked once every row is applied, before the run is finished and its outcome file written: false when too little
   * time is left for that, and the run pauses instead. Absent: always enough.
   */
  hasTimeToFinish?: () => boolean;
  /** The claim's heartbeat (claim-lease.ts): false once another delivery took the file over. Absent: always held. */
  keepClaim?: () => Promise<boolean>;
  /** Rows per store round trip (BatchGetItem takes 100 keys). */
  batchSize?: number;
  /** A checkpoint is saved at least every this many rows (crash recovery); pausing always saves one. */
  checkpointEvery?: number;
  /** ... and at least this often (ms, by `clock`), whatever the rows: slow rows redo little after a crash. */
  checkpointEveryMs?: number;
  /** A file of more rows than this is cut into ranges of as many rows (import-ranges.ts); needs `split`. */
  rangeRows?: number;
  /** Stores the ranges and dispatches them; the run as it then stands (still running, its rows left to the ranges). */
  split?: (run: Run, bounds: RangeBounds[], notes: RangeNotes) => Promise<Run>;
}

export interface ImportRequest {
  /** The run, `running`, already saved once. */
  run: Run;
  job: ImportJob;
  /** The job's template with its custom fields (chooseJob's, or `composeJobTemplate`). */
  template: Template;
  /** Reads the file from its first byte; called twice (census, then import), each time the same bytes. */
  source: () => ByteSource | Promise<ByteSource>;
  fileName: string;
  /** The file's arrival lane and number (receive-file.ts): stored on each record it writes, older files lose to it. */
  arrival?: Arrival;
}

export interface ImportResult {
  /** Finished (completed, incomplete, interrupted), or still running with a checkpoint when paused. */
  run: Run;
  paused: boolean;
  /** Cut into ranges (`split`): still running, the ranges apply its rows and the last of them finishes it. */
  ranged?: boolean;
}

export async function importFile(deps: ImportDeps, request: ImportRequest): Promise<ImportResult> {
  const { job, fileName } = request;
  const resuming = request.run.checkpoint !== undefined;
  const read = async () => deps.openCsv(await request.source(), { fileName, delimiter: job.delimiter });

  const opening = await openFile(deps, request, read);
  if (!opening.ok) return { run: opening.run, paused: false };
  const { opened, header } = opening;
  const judge = judgeOf(request, opening);
  const holdClaim = claimHolder(deps.keepClaim, request.run.file.key);

  const census = keyCensus(deps.scratch);
  let notes: NoteCursor | undefined;
  try {
    const lastRow = await takeCensus(opened.rows, judge, census, holdClaim);
    // Final only now: a Windows-1252 file whose first 64 KB are ASCII reads as UTF-8 until its first other byte.
    const run: Run = { ...opening.run, encoding: opened.encoding };
    if (deps.split && deps.rangeRows && !resuming && lastRow > deps.rangeRows) {
      const bounds = rangeBounds(lastRow, deps.rangeRows);
      return { run: await deps.split(run, bounds, notesByRange(census.notes(), bounds)), paused: false, ranged: true };
    }
    notes = await NoteCursor.open(census.notes());
    const reading = await readRows(
      deps,
      {
        rows: (await read()).rows,
        judge,
        notes,
        batch: batchContext(request, header, judge, holdClaim),
        resumeAfter: run.checkpoint?.row ?? 0,
        batchSize: deps.batchSize ?? 100,
        checkpointEvery: deps.checkpointEvery ?? 10_000,
        checkpointEveryMs: deps.checkpointEveryMs ?? 30_000,
      },
      run,
    );
    if (reading.paused) return { run: reading.run, paused: true };
    return await finish(deps, reading, fileName, resuming);
  } finally {
    await notes?.close();
    await census.discard();
  }
}

export interface RangeRequest extends ImportRequest {
  range: RangeState;
  /** The range's duplicate-key notes (RunRanges.notes), in row order. */
  notes: AsyncIterable<KeyNote>;
}

/**
 * One range of a file cut across workers (import-ranges.ts): its rows after its checkpoint (or its start) read,
 * judged with the census's notes and written as `importFile` writes them; `request.run` carries the range's counts.
 * Rows before the range are parsed and skipped unjudged. `deps.runLog.save` receives the range's checkpoints.
 */
export async function importRange(deps: ImportDeps, request: RangeRequest): Promise<RowsOutcome> {
  const { job, fileName, range } = request;
  const read = async () => deps.openCsv(await request.source(), { fileName, delimiter: job.delimiter });
  const resumeAfter = Math.max(range.after, range.checkpoint ?? 0);
  // Always read as a resumed run: the header's warnings are the coordinator's, said once.
  const started: Run = { ...request.run, checkpoint: { row: resumeAfter, at: deps.clock.now().toISOString() } };
  const opening = await openFile(deps, { ...request, run: started }, read);
  if (!opening.ok) {
    return { run: started, lastRow: resumeAfter, paused: false, stoppedBy: opening.run.problem! };
  }
  const { opened, header } = opening;
  const judge = judgeOf(request, opening);
  const holdClaim = claimHolder(deps.keepClaim, rangeLabel(request));
  const notes = await NoteCursor.open(request.notes);
  try {
    return await readRows(
      deps,
      {
        rows: opened.rows,
        judge,
        notes,
        batch: batchContext(request, header, judge, holdClaim),
        resumeAfter,
        ...(range.upTo !== undefined ? { upTo: range.upTo } : {}),
        batchSize: deps.batchSize ?? 100,
        checkpointEvery: deps.checkpointEvery ?? 10_000,
        checkpointEveryMs: deps.checkpointEveryMs ?? 30_000,
      },
      opening.run,
    );
  } finally {
    await notes.close();
  }
}

const rangeLabel = (request: RangeRequest) =>
  `${request.run.file.key} (rows ${request.range.after + 1}-${request.range.upTo ?? 'end'})`;

/** The row judge of a file as opened: both readings (and every range) judge a row alike. */
const judgeOf = (request: ImportRequest, opening: Extract<Opening, { ok: true }>): RowJudge =>
  rowJudge({
    template: request.template,
    job: request.job,
    header: opening.header,
    fileName: request.fileName,
    columns: opening.opened.header.length,
    filters: request.job.filters ?? [],
  });

type Opening =
  | { ok: true; opened: OpenedCsv; header: ResolvedHeader; run: Run }
  /** The run ended before a row was read: the file cannot be opened, or its header lacks a required column. */
  | { ok: false; run: Run };

/** The header stage: open the file, resolve its header against the job's mapping, stop before any write if unusable. */
async function openFile(
  deps: Pick<ImportDeps, 'clock'>,
  request: ImportRequest,
  read: () => Promise<OpenedCsv>,
): Promise<Opening> {
  const { job, template, fileName } = request;
  const run: Run = { ...request.run, counts: { ...request.run.counts }, warnings: [...request.run.warnings] };
  let opened: OpenedCsv;
  try {
    opened = await read();
  } catch (err) {
    if (err instanceof FileProblem) return { ok: false, run: interruptRun(run, err.problem, deps.clock.now()) };
    throw err;
  }
  const filters = job.filters ?? [];
  const header = resolveHeader(opened.header, job.mapping, template, job.syncKey, {
    alsoRequired: filteredFields(filters),
  });
  const checked = headerProblems(header, template, fileName);
  if (checked.stop) {
    // Nothing will be read: release the source now (the reader closes it only when its rows are read or returned).
    await opened.rows[Symbol.asyncIterator]().return?.();
    const stopped = { ...run, header: opened.header, encoding: opened.encoding };
    return { ok: false, run: interruptRun(stopped, checked.stop, deps.clock.now()) };
  }
  const resuming = run.checkpoint !== undefined;
  return {
    ok: true,
    opened,
    header,
    run: {
      ...run,
      ...(resuming ? {} : { warnings: [...run.warnings, ...checked.warnings] }),
      header: opened.header,
      ...(filters.length > 0 ? { counts: { ...run.counts, filtered: run.counts.filtered ?? 0 } } : {}),
    },
  };
}

function batchContext(
  request: ImportRequest,
  header: ResolvedHeader,
  judge: RowJudge,
  holdClaim: () => Promise<void>,
): BatchContext {
  return {
    job: request.job,
    template: request.template,
    header,
    fileName: request.fileName,
    ...(request.arrival ? { arrival: request.arrival } : {}),
    masked: judge.masked,
    holdClaim,
  };
}

/** The finish: pause when short of time, else the run's end (completed, incomplete, interrupted) from what was read. */
export async function finish(
  deps: Pick<ImportDeps, 'clock' | 'runLog' | 'hasTimeToFinish'>,
  reading: RowsOutcome,
  fileName: string,
  resuming: boolean,
): Promise<ImportResult> {
  const { run, lastRow, stoppedBy } = reading;
  const nothingRead = run.counts.rows === 0 && !resuming;
  // Finishing writes the outcome file (one line per failed row) and archives the file: not started short of time.
  if (!nothingRead && deps.hasTimeToFinish && !deps.hasTimeToFinish()) {
    const paused = { ...run, checkpoint: { row: lastRow, at: deps.clock.now().toISOString() } };
    await deps.runLog.save(paused);
    return { run: paused, paused: true };
  }
  if (stoppedBy) {
    const problem: Problem = {
      ...stoppedBy,
      message:
        reading.notImportedUpTo === undefined
          ? `${stoppedBy.message} Reading stopped there: rows after row ${lastRow} were not imported.`
          : `${stoppedBy.message} Reading stopped there: rows ${lastRow + 1} to ${reading.notImportedUpTo} were not imported; the rows after them were.`,
    };
    if (nothingRead) return { run: interruptRun(run, problem, deps.clock.now()), paused: false };
    const finished = finishRun(run, deps.clock.now());
    return {
      run: { ...finished, status: 'incomplete', problem, message: `${finished.message}; ${problem.message}` },
      paused: false,
    };
  }
  if (nothingRead) {
    const problem: Problem = {
      code: 'empty_file',
      message: `${fileName} has a header but no data rows; nothing was imported`,
      file: fileName,
    };
    return { run: interruptRun(run, problem, deps.clock.now()), paused: false };
  }
  return { run: finishRun(run, deps.clock.now()), paused: false };
}
