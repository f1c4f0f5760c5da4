/**
 * The rows stage of the import engine (import-file.ts): what one row becomes. `rowJudge` holds the pure steps both
 * readings share (map with transforms, filters, validate, the sync key), so the census judges a row exactly as the
 * import does; `readRows` is the second reading: per row the judgement plus the census's duplicate-key note, rows
 * gathered into batches (import-batches.ts), checkpoints between batches, a pause when the invocation must stop.
 *
 * Masking (the rule in import-file.ts): by column position while a row's cells line up with the header; a row of
 * another cell count (an unquoted comma in a name) may carry a passport number in any column, so when the template has
 * sensitive fields every cell of such a row is masked. A value quoted in a message is masked when sensitive and cut
 * when long (item-bounds.ts), so the message keeps its rule.
 */
import type { Clock, RunLog } from '../ports.ts';
import type { Problem } from '../problems.ts';
import { FileProblem, StoreRefusal } from '../problems.ts';
import { ownValue } from '../reserved-names.ts';
import type { CsvRow } from './csv/types.ts';
import type { KeyNote, NoteCursor } from './duplicate-keys.ts';
import { compileFilters, type FilterRule, filteredFields } from './filters.ts';
import {
  type BatchContext,
  type BatchDeps,
  type BatchState,
  type Pending,
  readStored,
  writeBatch,
} from './import-batches.ts';
import { cutText, SHOWN_VALUE_BYTES } from './item-bounds.ts';
import type { ImportJob } from './jobs.ts';
import { type MappingFailure, mapRow, type ResolvedHeader, recordKeyOf } from './mapping.ts';
import type { RowError, Run, RunCounts } from './runs.ts';
import type { Template } from './template-types.ts';
import { transformProblem } from './transforms.ts';
import { type FieldViolation, maskValue, validateRow } from './validate.ts';

/** A row after the pure steps: left out by a filter, or its fields, key and problems (duplicates aside). */
export type Evaluated =
  | { filtered: true }
  | {
      filtered: false;
      problems: Problem[];
      fields?: Record<string, string>;
      /** The sync key's value as mapped, and normalized into the record key; absent when the row has none. */
      keyValue?: string;
      recordKey?: string;
    };

export interface RowJudge {
  /** The pure steps, identical in both readings. */
  evaluate(row: CsvRow): Evaluated;
  /** The `duplicate_key` problem (a repeat) or note (the kept first occurrence) of a row. */
  duplicateProblem(row: number, keyValue: string, note: KeyNote): Problem;
  /** A row's cells as errors and outcome files show them. */
  masked(values: readonly string[]): string[];
}

export interface RowContext {
  template: Template;
  job: ImportJob;
  header: ResolvedHeader;
  fileName: string;
  /** Cells in the file's header. */
  columns: number;
  filters: readonly FilterRule[];
}

export function rowJudge(ctx: RowContext): RowJudge {
  const { template, job, header, fileName, columns, filters } = ctx;
  const sensitiveColumns = new Set(
    header.bound.filter((b) => template.field(b.field)?.sensitive).flatMap((b) => b.indexes ?? [b.index]),
  );
  const anySensitive = template.fields.some((f) => f.sensitive);
  const masked = (values: readonly string[]) => {
    if (anySensitive && values.length !== columns) return values.map((v) => (v ? maskValue(v) : v));
    return sensitiveColumns.size === 0
      ? [...values]
      : values.map((v, i) => (sensitiveColumns.has(i) && v ? maskValue(v) : v));
  };
  const shown = (field: string, value: string) =>
    template.field(field)?.sensitive ? maskValue(value) : cutText(value, SHOWN_VALUE_BYTES);
  const columnOf = (field: string) => header.columnOf.get(field) ?? template.field(field)?.title ?? field;
  const filterOut = compileFilters([...filters]);
  const filterFields = new Set(filteredFields([...filters]));
  // Scratch of mapRow, reused row after row (cleared before each): no allocation per valid row.
  const failures: MappingFailure[] = [];

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

  return { evaluate, duplicateProblem, masked };
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

// ---------------------------------------------------------------------------------------------------------------
// The second reading

export interface RowsDeps extends BatchDeps {
  runLog: RunLog;
  clock: Clock;
  shouldPause?: () => boolean;
}

export interface RowsInput {
  rows: AsyncIterable<CsvRow>;
  judge: RowJudge;
  /** The census's notes, met in row order. */
  notes: NoteCursor;
  batch: BatchContext;
  /** Rows up to this one were applied by an earlier invocation (the checkpoint), or belong to an earlier range: skipped. */
  resumeAfter: number;
  /** The last row of this reading (a range, import-ranges.ts); absent: to the end of the file. */
  upTo?: number;
  batchSize: number;
  checkpointEvery: number;
  checkpointEveryMs: number;
}

export interface RowsOutcome {
  run: Run;
  /** The last row read. */
  lastRow: number;
  /** The invocation stops here: the run is checkpointed at `lastRow` and saved. */
  paused: boolean;
  /** Why reading ended before the file did (a FileProblem, a StoreRefusal); absent when the file was read to its end. */
  stoppedBy?: Problem;
  /**
   * With `stoppedBy`, when the file was read in ranges (import-ranges.ts) and reading stopped in one that is not the
   * last: the rows not imported end at this row, the ranges after it were read by their own workers.
   */
  notImportedUpTo?: number;
}

/** Rows counted since the last batch, folded into the run's counts at each batch (no copy of the run per row). */
interface Tally {
  rows: number;
  failed: number;
  filtered: number;
}

function foldTally(run: Run, t: Tally): Run {
  if (t.rows === 0 && t.failed === 0 && t.filtered === 0) return run;
  const c = run.counts;
  const counts: RunCounts = { ...c, rows: c.rows + t.rows, failed: c.failed + t.failed };
  if (t.filtered > 0 || c.filtered !== undefined) counts.filtered = (c.filtered ?? 0) + t.filtered;
  return { ...run, counts };
}

/** The second reading: every row after the checkpoint judged, batched and written; the run as it stands after. */
export async function readRows(deps: RowsDeps, input: RowsInput, started: Run): Promise<RowsOutcome> {
  const { judge, notes, batch: context, resumeAfter } = input;
  const fileName = context.fileName;
  let state: BatchState = { run: started, limitReached: false };
  let pending: Pending[] = [];
  let errors: RowError[] = [];
  // Counted since the last batch; folded into the run by each write (not before: a failed write keeps them here).
  let tally: Tally = { rows: 0, failed: 0, filtered: 0 };
  let lastRow = resumeAfter;
  let rowsSinceCheckpoint = 0;
  let lastCheckpointAt = deps.clock.now().getTime();

  // The batch being written while the next one is read from the file and its stored records fetched (a pipeline of
  // depth one): its rows, errors and tally come back to this reader if its write fails, as if it had not been sent.
  let inFlight:
    | { done: Promise<BatchState>; lastRow: number; rows: Pending[]; errors: RowError[]; tally: Tally }
    | undefined;
  /** Waits for the batch in flight; checkpoints after it when due. Returns the checkpoint row when pausing. */
  const land = async (): Promise<number | undefined> => {
    if (!inFlight) return undefined;
    const landing = inFlight;
    inFlight = undefined;
    try {
      state = await landing.done;
    } catch (err) {
      // Not written: its rows are applied with the last write below, its errors recorded there, its rows counted.
      pending = [...landing.rows, ...pending];
      errors = [...landing.errors, ...errors];
      tally = {
        rows: tally.rows + landing.tally.rows,
        failed: tally.failed + landing.tally.failed,
        filtered: tally.filtered + landing.tally.filtered,
      };
      throw err;
    }
    const pause = deps.shouldPause?.() ?? false;
    const now = deps.clock.now();
    if (
      pause ||
      rowsSinceCheckpoint >= input.checkpointEvery ||
      now.getTime() - lastCheckpointAt >= input.checkpointEveryMs
    ) {
      rowsSinceCheckpoint = 0;
      lastCheckpointAt = now.getTime();
      state = { ...state, run: { ...state.run, checkpoint: { row: landing.lastRow, at: now.toISOString() } } };
      await deps.runLog.save(state.run);
      if (pause) return landing.lastRow;
    }
    return undefined;
  };

  let stoppedBy: Problem | undefined;
  try {
    const upTo = input.upTo ?? Number.POSITIVE_INFINITY;
    for await (const row of input.rows) {
      if (row.rowNumber <= resumeAfter) continue;
      if (row.rowNumber > upTo) break;
      const evaluated = judge.evaluate(row);
      lastRow = row.rowNumber;
      rowsSinceCheckpoint++;
      tally.rows++;
      if (evaluated.filtered) {
        tally.filtered++;
        continue;
      }
      const { problems, fields, keyValue, recordKey } = evaluated;
      let note: KeyNote | undefined;
      if (recordKey !== undefined && keyValue !== undefined) {
        const found = notes.at(row.rowNumber);
        note = found instanceof Promise ? await found : found;
        if (note?.kind === 'repeat') problems.push(judge.duplicateProblem(row.rowNumber, keyValue, note));
      }
      if (problems.length > 0) {
        tally.failed++;
        errors.push({ row: row.rowNumber, values: judge.masked(row.values), problems });
      } else if (recordKey !== undefined && keyValue !== undefined && fields) {
        pending.push({
          row: row.rowNumber,
          recordKey,
          fields,
          values: row.values,
          ...(note?.kind === 'first' ? { kept: judge.duplicateProblem(row.rowNumber, keyValue, note) } : {}),
        });
      }
      if (pending.length >= input.batchSize || errors.length >= input.batchSize) {
        // This batch's stored records are read while the previous batch's writes are still under way.
        const stored = readStored(deps, state.run.org, context, pending);
        const pausedAt = await land();
        // Paused: this batch lies after the checkpoint, so the next invocation reads it again.
        if (pausedAt !== undefined) return { run: state.run, lastRow: pausedAt, paused: true };
        // Taken off before writing: a batch whose write failed is not written again by the last write below.
        const run = foldTally(state.run, tally);
        inFlight = {
          done: writeBatch(deps, context, { ...state, run }, pending, errors, stored),
          lastRow,
          rows: pending,
          errors,
          tally,
        };
        inFlight.done.catch(() => {}); // awaited by land()
        pending = [];
        errors = [];
        tally = { rows: 0, failed: 0, filtered: 0 };
      }
    }
    const pausedAt = await land();
    if (pausedAt !== undefined) return { run: state.run, lastRow: pausedAt, paused: true };
  } catch (err) {
    // The file turned unreadable part-way (broken quoting, a line too long): what was read is applied, the rest is
    // not. So when the store refused a write for good: retrying the run could only fail the same way.
    stoppedBy = stopProblem(err, fileName);
    try {
      await land();
    } catch (failed) {
      stoppedBy ??= stopProblem(failed, fileName);
    }
  }
  try {
    state = await writeBatch(deps, context, { ...state, run: foldTally(state.run, tally) }, pending, errors);
    tally = { rows: 0, failed: 0, filtered: 0 };
  } catch (err) {
    stoppedBy ??= stopProblem(err, fileName);
  }
  // Whatever the writes did, every row read is counted.
  return { run: foldTally(state.run, tally), lastRow, paused: false, ...(stoppedBy ? { stoppedBy } : {}) };
}

/** Why reading ends early: a FileProblem, or a StoreRefusal (adapters/store-refusals.ts); any other error is thrown. */
export function stopProblem(err: unknown, fileName: string): Problem {
  if (err instanceof StoreRefusal)
    return { ...err.problem, message: `${fileName}: ${err.problem.message}.`, file: fileName };
  if (err instanceof FileProblem) return err.problem;
  throw err;
}
