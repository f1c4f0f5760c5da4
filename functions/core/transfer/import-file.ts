/**
 * The import engine: one CSV file of one job, streamed row by row in constant memory.
 *
 *   open (decode + parse) -> header against the mapping -> per row: map (transforms), filters, validate, duplicate
 *   key check -> batches: compare with the stored records (unchanged rows cost no write) -> preference -> record
 *   limit -> conditional upserts of the mapped fields only -> row errors recorded -> checkpoint.
 *
 * Rules (documented in the README's import section):
 * - A mapped column that is required (or the sync key) missing from the header stops the run before any write:
 *   Interrupted, the message names the column. Unknown columns and missing optional ones are warnings.
 * - A row that fails is reported (row number, the customer's column heading, the value, masked when sensitive, and
 *   the rule in words) and not applied; the others proceed; the run is then Incomplete. A failed transform (a date
 *   no listed format reads, a value missing from a value map) is such a failure, named after the transform.
 * - Filters (filters.ts): a row they leave out is counted (`filtered`), not applied and not an error, and takes no
 *   part in the duplicate-key check. A row whose filtered field failed its transform cannot be judged: an error.
 *   A filtered field's column missing from the header stops the run like a required one.
 * - A sync key that appears twice in one file: the first occurrence is kept (streaming cannot know a later row
 *   exists), every later occurrence is an error (`duplicate_key`, naming the first row) and is not applied, and the
 *   first row gets a note (`duplicate_key`, kept) so both rows are reported. When the first occurrence itself failed,
 *   no row with that key is applied. Keys compare after transforms and normalization (e-mail keys ignore case).
 * - Preferences: create only leaves existing records alone, update only never creates; such rows count as skipped.
 * - The organization's allowed record limit counts records written (created or updated); unchanged rows are free.
 *   Rows beyond the limit are not applied, are reported (`over_limit`) and make the run Incomplete; once the limit is
 *   raised, sending the file again applies exactly them (the others are unchanged).
 * - Resumable: between batches the engine may pause (the invocation is running out of time). Every row up to the
 *   checkpoint is applied and its errors recorded; the next invocation reads the file again, replays the rows up to
 *   the checkpoint through the pure steps only (to rebuild the duplicate-key set, no writes) and continues after it.
 */

import type {
  Billing,
  ByteSource,
  Clock,
  OpenCsv,
  RecordStore,
  RecordWrite,
  RunLog,
  WriteCondition,
} from '../ports.ts';
import type { Problem } from '../problems.ts';
import { FileProblem } from '../problems.ts';
import { compileFilters, filteredFields } from './filters.ts';
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
import type { Template } from './templates.ts';
import { transformProblem } from './transforms.ts';
import { type FieldViolation, maskValue, validateRow } from './validate.ts';

export interface ImportDeps {
  openCsv: OpenCsv;
  records: RecordStore;
  runLog: RunLog;
  /** Absent: no record limit is enforced. */
  billing?: Billing;
  clock: Clock;
  /** Asked after each batch: true when this invocation should stop and leave the rest to the next one. */
  shouldPause?: () => boolean;
  /** Rows per store round trip (BatchGetItem takes 100 keys). */
  batchSize?: number;
  /** A checkpoint is saved at least every this many rows (crash recovery); pausing always saves one. */
  checkpointEvery?: number;
}

export interface ImportRequest {
  /** The run, `running`, already saved once. */
  run: Run;
  job: ImportJob;
  /** The job's template with its custom fields (chooseJob's, or `composeJobTemplate`). */
  template: Template;
  source: ByteSource;
  fileName: string;
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
}

/** The first row of each key: positive while that row may be applied, negative once it failed or was already noted. */
type SeenKeys = Map<string, number>;

export async function importFile(deps: ImportDeps, request: ImportRequest): Promise<ImportResult> {
  const { job, template, fileName } = request;
  const batchSize = deps.batchSize ?? 100;
  const checkpointEvery = deps.checkpointEvery ?? 10_000;
  let run: Run = { ...request.run, counts: { ...request.run.counts }, warnings: [...request.run.warnings] };
  const resumeAfter = run.checkpoint?.row ?? 0;
  const resuming = run.checkpoint !== undefined;

  let opened: Awaited<ReturnType<OpenCsv>>;
  try {
    opened = await deps.openCsv(request.source, { fileName, delimiter: job.delimiter });
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
  run = { ...run, header: opened.header, encoding: opened.encoding };
  if (filters.length > 0) run.counts.filtered ??= 0;
  // The encoding is final only once the rows are read (a Windows-1252 file whose first 64 KB are ASCII reads as
  // UTF-8 until its first other byte): read it again whenever the run is saved or returned.
  const withEncoding = (r: Run): Run => (r.encoding === opened.encoding ? r : { ...r, encoding: opened.encoding });

  const sensitiveColumns = new Set(
    header.bound.filter((b) => template.field(b.field)?.sensitive).flatMap((b) => b.indexes ?? [b.index]),
  );
  const masked = (values: readonly string[]) =>
    sensitiveColumns.size === 0 ? [...values] : values.map((v, i) => (sensitiveColumns.has(i) && v ? maskValue(v) : v));
  const shown = (field: string, value: string) => (template.field(field)?.sensitive ? maskValue(value) : value);
  const columnOf = (field: string) => header.columnOf.get(field) ?? template.field(field)?.title ?? field;
  const filterOut = compileFilters(filters);
  const filterFields = new Set(filteredFields(filters));
  const failures: MappingFailure[] = [];

  const seen: SeenKeys = new Map();
  let pending: Pending[] = [];
  let errors: RowError[] = [];
  let lastRow = resumeAfter;
  let rowsSinceCheckpoint = 0;
  let limitReached = false;

  const flush = async () => {
    if (pending.length > 0) {
      const batch = pending;
      pending = [];
      const outcome = await applyBatch(deps, run, job, template, header, batch, limitReached);
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
          overLimit: c.overLimit + outcome.overLimit.length,
        },
      };
      for (const p of outcome.overLimit) {
        errors.push({
          row: p.row,
          values: masked(p.values),
          problems: [
            {
              code: 'over_limit',
              message: `${fileName} row ${p.row}: not applied because the organization's allowed record limit is reached; raise the limit and send the file again`,
              file: fileName,
              row: p.row,
              rule: 'allowed record limit',
            },
          ],
        });
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
    for await (const row of opened.rows) {
      const replay = row.rowNumber <= resumeAfter;
      const rowProblems: Problem[] = [];
      let candidate: Pending | undefined;
      if (row.problem) {
        rowProblems.push({ ...row.problem, row: row.rowNumber, file: row.problem.file ?? fileName });
      } else {
        failures.length = 0;
        const fields = mapRow(row.values, header, failures);
        if (filterFields.size > 0 && !failures.some((f) => filterFields.has(f.field)) && filterOut(fields)) {
          if (replay) continue;
          lastRow = row.rowNumber;
          rowsSinceCheckpoint++;
          run.counts.rows++;
          run.counts.filtered = (run.counts.filtered ?? 0) + 1;
          continue;
        }
        // Fields whose transform failed are absent from `fields`: their "required" violations would say it twice.
        let failed: Set<string> | undefined;
        if (failures.length > 0) {
          failed = new Set(failures.map((f) => f.field));
          for (const f of failures) {
            rowProblems.push(
              transformProblem(f.failure, { fileName, row: row.rowNumber, column: f.column }, (v) => shown(f.field, v)),
            );
          }
        }
        const violations = failed
          ? validateRow(template, fields).filter((v) => !failed.has(v.field))
          : validateRow(template, fields);
        for (const v of violations)
          rowProblems.push(violationProblem(fileName, v, row.rowNumber, columnOf(v.field), fields, shown));
        const keyValue = fields[job.syncKey];
        if (keyValue !== undefined) {
          const recordKey = recordKeyOf(template, job.syncKey, keyValue);
          const first = seen.get(recordKey);
          if (first === undefined) {
            seen.set(recordKey, rowProblems.length === 0 ? row.rowNumber : -row.rowNumber);
          } else {
            const firstRow = Math.abs(first);
            const column = columnOf(job.syncKey);
            const value = shown(job.syncKey, keyValue);
            rowProblems.push({
              code: 'duplicate_key',
              message: `${fileName} row ${row.rowNumber}: "${column}" value "${value}" already appears on row ${firstRow}; a key may appear once per file, so this row was not applied${first > 0 ? ` (row ${firstRow} was)` : ''}`,
              file: fileName,
              row: row.rowNumber,
              column,
              value,
              rule: 'unique in the file',
            });
            if (first > 0) {
              seen.set(recordKey, -firstRow);
              if (!replay) {
                errors.push({
                  row: firstRow,
                  kept: true,
                  problems: [
                    {
                      code: 'duplicate_key',
                      message: `${fileName} row ${firstRow}: "${column}" value "${value}" appears again on row ${row.rowNumber}; this row was kept and row ${row.rowNumber} was not applied`,
                      file: fileName,
                      row: firstRow,
                      column,
                      value,
                      rule: 'unique in the file',
                    },
                  ],
                });
              }
            }
          }
          if (rowProblems.length === 0) candidate = { row: row.rowNumber, recordKey, fields, values: row.values };
        } else if (!violations.some((v) => v.field === job.syncKey) && !failed?.has(job.syncKey)) {
          const column = columnOf(job.syncKey);
          rowProblems.push({
            code: 'required',
            message: `${fileName} row ${row.rowNumber}: "${column}" is empty, but it is the sync key`,
            file: fileName,
            row: row.rowNumber,
            column,
            value: '',
            rule: 'required: the sync key identifies the record',
          });
        }
      }
      if (replay) continue;
      lastRow = row.rowNumber;
      rowsSinceCheckpoint++;
      run.counts.rows++;
      if (rowProblems.length > 0) {
        run.counts.failed++;
        errors.push({ row: row.rowNumber, values: masked(row.values), problems: rowProblems });
      } else if (candidate) {
        pending.push(candidate);
      }
      if (pending.length >= batchSize || errors.length >= batchSize) {
        await flush();
        const pause = deps.shouldPause?.() ?? false;
        if (pause || rowsSinceCheckpoint >= checkpointEvery) {
          rowsSinceCheckpoint = 0;
          run = withEncoding({ ...run, checkpoint: { row: lastRow, at: deps.clock.now().toISOString() } });
          await deps.runLog.save(run);
          if (pause) return { run, paused: true };
        }
      }
    }
  } catch (err) {
    // The file turned unreadable part-way (broken quoting, mixed encodings): what was read is applied, the rest is not.
    if (!(err instanceof FileProblem)) throw err;
    stoppedBy = err.problem;
  }
  await flush();
  run = withEncoding(run);
  if (stoppedBy) {
    const problem: Problem = {
      ...stoppedBy,
      message: `${stoppedBy.message} Reading stopped there: rows after row ${lastRow} were not imported.`,
    };
    if (run.counts.rows === 0 && !resuming) return { run: interruptRun(run, problem, deps.clock.now()), paused: false };
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

function violationProblem(
  fileName: string,
  v: FieldViolation,
  row: number,
  column: string,
  fields: Readonly<Record<string, string>>,
  shown: (field: string, value: string) => string,
): Problem {
  const raw = fields[v.field];
  const value = raw === undefined ? '' : shown(v.field, raw);
  const message =
    v.code === 'required'
      ? `${fileName} row ${row}: "${column}" is empty, but it is required`
      : `${fileName} row ${row}: "${column}" value "${value}" must be ${v.rule}`;
  return { code: v.code, message, file: fileName, row, column, value, rule: v.rule };
}

interface BatchOutcome {
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
  overLimit: Pending[];
  limitReached: boolean;
}

async function applyBatch(
  deps: ImportDeps,
  run: Run,
  job: ImportJob,
  template: Template,
  header: ResolvedHeader,
  batch: readonly Pending[],
  limitAlreadyReached: boolean,
): Promise<BatchOutcome> {
  const outcome: BatchOutcome = {
    created: 0,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    overLimit: [],
    limitReached: limitAlreadyReached,
  };
  const stored = await deps.records.current(
    run.org,
    template.entity,
    batch.map((p) => p.recordKey),
  );
  const at = deps.clock.now().toISOString();
  const toWrite: { pending: Pending; write: RecordWrite; exists: boolean }[] = [];
  for (const p of batch) {
    const hash = contentHash(template.id, header.writes, p.fields);
    const existing = stored.get(p.recordKey);
    const exists = existing !== undefined;
    if (exists && existing.hash === hash) {
      outcome.unchanged++;
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
      exists,
      write: {
        org: run.org,
        entity: template.entity,
        recordKey: p.recordKey,
        set: p.fields,
        remove: header.writes.filter((f) => p.fields[f] === undefined),
        hash,
        condition,
        templateId: template.id,
        runId: run.runId,
        row: p.row,
        at,
      },
    });
  }
  let granted = toWrite.length;
  if (deps.billing && toWrite.length > 0) {
    granted = outcome.limitReached ? 0 : await deps.billing.reserve(run.org, toWrite.length);
    if (granted < toWrite.length) outcome.limitReached = true;
  }
  const applying = toWrite.slice(0, granted);
  outcome.overLimit = toWrite.slice(granted).map((w) => w.pending);
  const results = applying.length > 0 ? await deps.records.apply(applying.map((w) => w.write)) : [];
  let notWritten = 0;
  results.forEach((result, i) => {
    if (result === 'condition_failed') {
      outcome.skipped++;
      notWritten++;
    } else if (applying[i]!.exists) outcome.updated++;
    else outcome.created++;
  });
  if (deps.billing && notWritten > 0) await deps.billing.release(run.org, notWritten);
  return outcome;
}
