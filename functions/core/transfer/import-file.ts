/**
 * The import engine: one CSV file of one job, streamed row by row in constant memory.
 *
 *   census (first reading: duplicate keys, duplicate-keys.ts) -> second reading: per row: map (transforms), filters,
 *   validate, duplicate-key note -> batches: compare with the stored records (unchanged rows cost no write) ->
 *   preference -> record limit -> conditional upserts of the mapped fields only -> row errors recorded -> checkpoint.
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
 */

import type {
  Billing,
  ByteSource,
  Clock,
  OpenCsv,
  RecordStore,
  RecordWrite,
  RunLog,
  SortScratch,
  WriteCondition,
} from '../ports.ts';
import { ClaimLostError } from '../ports.ts';
import type { Problem } from '../problems.ts';
import { FileProblem, StoreRefusal } from '../problems.ts';
import { ownValue } from '../reserved-names.ts';
import type { CsvRow, OpenedCsv } from './csv/types.ts';
import { type KeyNote, keyCensus, NoteCursor } from './duplicate-keys.ts';
import { compileFilters, filteredFields } from './filters.ts';
import { cutText, SHOWN_VALUE_BYTES } from './item-bounds.ts';
import type { ImportJob } from './jobs.ts';
import {
  headerProblems,
  type MappingFailure,
  mapRow,
  type ResolvedHeader,
  recordKeyOf,
  resolveHeader,
} from './mapping.ts';
import { contentHash } from './records.ts';
import { finishRun, interruptRun, type RowError, type Run } from './runs.ts';
import type { Template } from './template-types.ts';
import { transformProblem } from './transforms.ts';
import { type FieldViolation, maskValue, validateRow } from './validate.ts';

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
}

/** Rows of the census between two heartbeats of the claim (a census of millions of rows takes minutes). */
const CENSUS_KEEP_EVERY = 1_000;

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
}

interface Pending {
  row: number;
  recordKey: string;
  fields: Record<string, string>;
  values: string[];
  /** The note a kept row gets when its key appears again later in the file. */
  kept?: Problem;
}

/** A row after the pure steps: left out by a filter, or its fields, key and problems (duplicates aside). */
type Evaluated =
  | { filtered: true }
  | {
      filtered: false;
      problems: Problem[];
      fields?: Record<string, string>;
      /** The sync key's value as mapped, and normalized into the record key; absent when the row has none. */
      keyValue?: string;
      recordKey?: string;
    };

export async function importFile(deps: ImportDeps, request: ImportRequest): Promise<ImportResult> {
  const { job, template, fileName } = request;
  const batchSize = deps.batchSize ?? 100;
  const checkpointEvery = deps.checkpointEvery ?? 10_000;
  const checkpointEveryMs = deps.checkpointEveryMs ?? 30_000;
  /** Throws ClaimLostError when the claim was taken over: nothing more may be written for this run. */
  const holdClaim = async () => {
    if (deps.keepClaim && !(await deps.keepClaim())) throw new ClaimLostError(run.file.key);
  };
  let run: Run = { ...request.run, counts: { ...request.run.counts }, warnings: [...request.run.warnings] };
  const resumeAfter = run.checkpoint?.row ?? 0;
  const resuming = run.checkpoint !== undefined;
  const read = async () => deps.openCsv(await request.source(), { fileName, delimiter: job.delimiter });

  let opened: OpenedCsv;
  try {
    opened = await read();
  } catch (err) {
    if (err instanceof FileProblem) return { run: interruptRun(run, err.problem, deps.clock.now()), paused: false };
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
    return {
      run: interruptRun({ ...run, header: opened.header, encoding: opened.encoding }, checked.stop, deps.clock.now()),
      paused: false,
    };
  }
  if (!resuming) run = { ...run, warnings: [...run.warnings, ...checked.warnings] };
  run = { ...run, header: opened.header };
  if (filters.length > 0) run.counts.filtered ??= 0;

  const sensitiveColumns = new Set(
    header.bound.filter((b) => template.field(b.field)?.sensitive).flatMap((b) => b.indexes ?? [b.index]),
  );
  const anySensitive = template.fields.some((f) => f.sensitive);
  const columns = opened.header.length;
  /**
   * A row's cells as errors and outcome files show them. Masking goes by column position, which only holds while the
   * row's cells line up with the header: in a row of another cell count (an unquoted comma in a name) a passport
   * number may sit in any column, so when the template has sensitive fields every cell of such a row is masked.
   */
  const masked = (values: readonly string[]) => {
    if (anySensitive && values.length !== columns) return values.map((v) => (v ? maskValue(v) : v));
    return sensitiveColumns.size === 0
      ? [...values]
      : values.map((v, i) => (sensitiveColumns.has(i) && v ? maskValue(v) : v));
  };
  /** A value quoted in a message: masked when sensitive, cut when long (the message must keep its rule). */
  const shown = (field: string, value: string) =>
    template.field(field)?.sensitive ? maskValue(value) : cutText(value, SHOWN_VALUE_BYTES);
  const columnOf = (field: string) => header.columnOf.get(field) ?? template.field(field)?.title ?? field;
  const filterOut = compileFilters(filters);
  const filterFields = new Set(filteredFields(filters));
  const failures: MappingFailure[] = [];

  /** The pure steps, identical in both readings (the census must judge a row's validity as the import will). */
  const evaluate = (row: CsvRow): Evaluated => {
    if (row.problem) {
      return {
        filtered: false,
        problems: [{ ...row.problem, row: row.rowNumber, file: row.problem.file ?? fileName }],
      };
    }
    failures.length = 0;
    const fields = mapRow(row.values, header, failures);
    if (filterFields.size > 0 && !failures.some((f) => filterFields.has(f.field)) && filterOut(fields)) {
      return { filtered: true };
    }
    const problems: Problem[] = [];
    // Fields whose transform failed are absent from `fields`: their "required" violations would say it twice.
    let failed: Set<string> | undefined;
    if (failures.length > 0) {
      failed = new Set(failures.map((f) => f.field));
      for (const f of failures) {
        problems.push(
          transformProblem(f.failure, { fileName, row: row.rowNumber, column: f.column }, (v) => shown(f.field, v)),
        );
      }
    }
    const violations = failed
      ? validateRow(template, fields).filter((v) => !failed.has(v.field))
      : validateRow(template, fields);
    for (const v of violations)
      problems.push(violationProblem(fileName, v, row.rowNumber, columnOf(v.field), fields, shown));
    const keyValue = ownValue(fields, job.syncKey);
    if (keyValue !== undefined) {
      return { filtered: false, problems, fields, keyValue, recordKey: recordKeyOf(template, job.syncKey, keyValue) };
    }
    if (!violations.some((v) => v.field === job.syncKey) && !failed?.has(job.syncKey)) {
      const column = columnOf(job.syncKey);
      problems.push({
        code: 'required',
        message: `${fileName} row ${row.rowNumber}: "${column}" is empty, but it is the sync key`,
        file: fileName,
        row: row.rowNumber,
        column,
        value: '',
        rule: 'required: the sync key identifies the record',
      });
    }
    return { filtered: false, problems, fields };
  };

  const duplicateProblem = (row: number, keyValue: string, note: KeyNote): Problem => {
    const column = columnOf(job.syncKey);
    const value = shown(job.syncKey, keyValue);
    if (note.kind === 'first') {
      const others =
        note.repeats === 1
          ? `appears again on row ${note.nextRow}; this row was kept and row ${note.nextRow} was not applied`
          : `appears again on row ${note.nextRow} and ${note.repeats - 1} more row${note.repeats > 2 ? 's' : ''}; this row was kept and those rows were not applied`;
      return {
        code: 'duplicate_key',
        message: `${fileName} row ${row}: "${column}" value "${value}" ${others}`,
        file: fileName,
        row,
        column,
        value,
        rule: 'unique in the file',
      };
    }
    return {
      code: 'duplicate_key',
      message: `${fileName} row ${row}: "${column}" value "${value}" already appears on row ${note.firstRow}; a key may appear once per file, so this row was not applied${note.firstValid ? ` (row ${note.firstRow} was kept)` : ''}`,
      file: fileName,
      row,
      column,
      value,
      rule: 'unique in the file',
    };
  };

  // First reading: the census. A file that turns unreadable part-way is read as far as it goes; the second reading
  // stops at the same place and reports it.
  const census = keyCensus(deps.scratch);
  let cursor: NoteCursor | undefined;
  try {
    try {
      let censused = 0;
      for await (const row of opened.rows) {
        if (++censused % CENSUS_KEEP_EVERY === 0) await holdClaim();
        const evaluated = evaluate(row);
        if (evaluated.filtered || evaluated.recordKey === undefined) continue;
        const adding = census.add(evaluated.recordKey, row.rowNumber, evaluated.problems.length === 0);
        if (adding) await adding;
      }
    } catch (err) {
      if (!(err instanceof FileProblem)) throw err;
    }
    // Final only now: a Windows-1252 file whose first 64 KB are ASCII reads as UTF-8 until its first other byte.
    run = { ...run, encoding: opened.encoding };
    cursor = await NoteCursor.open(census.notes());
    return await importRows(await read(), cursor);
  } finally {
    await cursor?.close();
    await census.discard();
  }

  async function importRows(reading: OpenedCsv, notes: NoteCursor): Promise<ImportResult> {
    let pending: Pending[] = [];
    let errors: RowError[] = [];
    let lastRow = resumeAfter;
    let rowsSinceCheckpoint = 0;
    let lastCheckpointAt = deps.clock.now().getTime();
    let limitReached = false;

    const flush = async () => {
      if (pending.length > 0 || errors.length > 0) await holdClaim();
      if (pending.length > 0) {
        const batch = pending;
        pending = [];
        const outcome = await applyBatch(deps, run, job, template, header, batch, limitReached, request.arrival);
        limitReached = outcome.limitReached;
        const c = run.counts;
        run = {
          ...run,
          counts: {
            ...c,
            created: c.created + outcome.created,
            updated: c.updated + outcome.updated,
            unchanged: c.unchanged + outcome.unchanged,
            skipped: c.skipped + outcome.skipped,
            overLimit: c.overLimit + outcome.overLimit.size,
            ...(outcome.superseded > 0 || c.superseded ? { superseded: (c.superseded ?? 0) + outcome.superseded } : {}),
          },
        };
        if (outcome.superseded > 0 && !run.warnings.some((w) => w.code === 'superseded')) {
          run.warnings.push({
            code: 'superseded',
            message: `${fileName}: some rows were not applied because a file uploaded after this one had already updated those records with newer data (see the run's superseded count)`,
            file: fileName,
          });
        }
        for (const p of batch) {
          // A kept row beyond the limit gets both entries; the run log stores them as one (onePerRow).
          if (p.kept) errors.push({ row: p.row, kept: true, problems: [p.kept] });
          if (outcome.overLimit.has(p)) {
            const overLimit: Problem = {
              code: 'over_limit',
              message: `${fileName} row ${p.row}: not applied because the organization's allowed record limit is reached; raise the limit and send the file again`,
              file: fileName,
              row: p.row,
              rule: 'allowed record limit',
            };
            errors.push({ row: p.row, values: masked(p.values), problems: [overLimit] });
          }
        }
      }
      if (errors.length > 0) {
        const batch = errors;
        errors = [];
        await deps.runLog.addErrors(run.org, run.runId, batch);
      }
    };

    let stoppedBy: Problem | undefined;
    try {
      for await (const row of reading.rows) {
        if (row.rowNumber <= resumeAfter) continue;
        const evaluated = evaluate(row);
        lastRow = row.rowNumber;
        rowsSinceCheckpoint++;
        run.counts.rows++;
        if (evaluated.filtered) {
          run.counts.filtered = (run.counts.filtered ?? 0) + 1;
          continue;
        }
        const { problems, fields, keyValue, recordKey } = evaluated;
        let note: KeyNote | undefined;
        if (recordKey !== undefined && keyValue !== undefined) {
          const found = notes.at(row.rowNumber);
          note = found instanceof Promise ? await found : found;
          if (note?.kind === 'repeat') problems.push(duplicateProblem(row.rowNumber, keyValue, note));
        }
        if (problems.length > 0) {
          run.counts.failed++;
          errors.push({ row: row.rowNumber, values: masked(row.values), problems });
        } else if (recordKey !== undefined && keyValue !== undefined && fields) {
          pending.push({
            row: row.rowNumber,
            recordKey,
            fields,
            values: row.values,
            ...(note?.kind === 'first' ? { kept: duplicateProblem(row.rowNumber, keyValue, note) } : {}),
          });
        }
        if (pending.length >= batchSize || errors.length >= batchSize) {
          await flush();
          const pause = deps.shouldPause?.() ?? false;
          const now = deps.clock.now();
          if (
            pause ||
            rowsSinceCheckpoint >= checkpointEvery ||
            now.getTime() - lastCheckpointAt >= checkpointEveryMs
          ) {
            rowsSinceCheckpoint = 0;
            lastCheckpointAt = now.getTime();
            run = { ...run, checkpoint: { row: lastRow, at: now.toISOString() } };
            await deps.runLog.save(run);
            if (pause) return { run, paused: true };
          }
        }
      }
    } catch (err) {
      // The file turned unreadable part-way (broken quoting, a line too long): what was read is applied, the rest is
      // not. So when the store refused a write for good: retrying the run could only fail the same way.
      stoppedBy = stopProblem(err, fileName);
    }
    try {
      await flush();
    } catch (err) {
      stoppedBy ??= stopProblem(err, fileName);
    }
    // Finishing writes the outcome file (one line per failed row) and archives the file: not started short of time.
    const finishing = !(run.counts.rows === 0 && !resuming);
    if (finishing && deps.hasTimeToFinish && !deps.hasTimeToFinish()) {
      run = { ...run, checkpoint: { row: lastRow, at: deps.clock.now().toISOString() } };
      await deps.runLog.save(run);
      return { run, paused: true };
    }
    if (stoppedBy) {
      const problem: Problem = {
        ...stoppedBy,
        message: `${stoppedBy.message} Reading stopped there: rows after row ${lastRow} were not imported.`,
      };
      if (run.counts.rows === 0 && !resuming)
        return { run: interruptRun(run, problem, deps.clock.now()), paused: false };
      const finished = finishRun(run, deps.clock.now());
      return {
        run: { ...finished, status: 'incomplete', problem, message: `${finished.message}; ${problem.message}` },
        paused: false,
      };
    }
    if (run.counts.rows === 0 && !resuming) {
      return {
        run: interruptRun(
          run,
          {
            code: 'empty_file',
            message: `${fileName} has a header but no data rows; nothing was imported`,
            file: fileName,
          },
          deps.clock.now(),
        ),
        paused: false,
      };
    }
    return { run: finishRun(run, deps.clock.now()), paused: false };
  }
}

/** Why reading ends early: a FileProblem, or a StoreRefusal (adapters/store-refusals.ts); any other error is thrown. */
function stopProblem(err: unknown, fileName: string): Problem {
  if (err instanceof StoreRefusal)
    return { ...err.problem, message: `${fileName}: ${err.problem.message}.`, file: fileName };
  if (err instanceof FileProblem) return err.problem;
  throw err;
}

function violationProblem(
  fileName: string,
  v: FieldViolation,
  row: number,
  column: string,
  fields: Readonly<Record<string, string>>,
  shown: (field: string, value: string) => string,
): Problem {
  const raw = ownValue(fields, v.field);
  const value = raw === undefined ? '' : shown(v.field, raw);
  const message =
    v.code === 'required'
      ? `${fileName} row ${row}: "${column}" is empty, but it is required`
      : `${fileName} row ${row}: "${column}" value "${value}" must be ${v.rule}`;
  return { code: v.code, message, file: fileName, row, column, value, rule: v.rule };
}

/** `guardUnchanged`: unchanged rows record the number as well (lanes.ts: an older file may still resume). */
type Arrival = { lane: string; seq: number; guardUnchanged?: boolean };

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
  deps: ImportDeps,
  run: Run,
  job: ImportJob,
  template: Template,
  header: ResolvedHeader,
  batch: readonly Pending[],
  limitAlreadyReached: boolean,
  arrival: Arrival | undefined,
): Promise<BatchOutcome> {
  const outcome: BatchOutcome = {
    created: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    superseded: 0,
    overLimit: new Set(),
    limitReached: limitAlreadyReached,
  };
  const stored = await deps.records.current(
    run.org,
    template.entity,
    batch.map((p) => p.recordKey),
  );
  const at = deps.clock.now().toISOString();
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
    granted = outcome.limitReached ? 0 : await deps.billing.reserve(run.org, toWrite.length);
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
  if (deps.billing && notWritten > 0) await deps.billing.release(run.org, notWritten);
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
