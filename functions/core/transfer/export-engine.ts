/**
 * The export engine: one run of an export job, from the system of record to a CSV file in the organization's
 * outbound area. Pure apart from its ports (records, sequence, files, runs, jobs, clock, randomness, waiting).
 *
 * A run:
 * 1. takes its mark: the organization's change sequence now (ChangeSequence.current). An incremental job reads the
 *    records above the mark of its last successful export (`lastExport.mark`; none yet: everything), so a record
 *    written while that export ran, which got a higher number than its mark, is in this one; a person changed in that
 *    window brings back their records of the template's entity (export-rows.ts, its second pass).
 * 2. waits `settleMs` (default CHANGE_SEQUENCE_LEASE_MS plus a margin for the index): a writer holds a reserved number
 *    for at most the lease before writing, so after the wait every record numbered at or below the mark is written
 *    and visible, and this run cannot read past one that arrives late.
 * 3. names the file (export-file.ts) and records the run as Running with that file;
 * 4. streams: pages of records (export-rows.ts) -> filters on our values -> the mapping's outward transforms ->
 *    sensitive fields masked where the template says `masked` -> CSV (csv/write-csv.ts, the job's options and its
 *    formula switch) -> FileStore.write, a multipart upload to the final key. The object is visible only once the
 *    upload completes (S3 makes it appear atomically at CompleteMultipartUpload, or at the single PutObject of a
 *    small file); a failed run aborts the upload and leaves no file, so no copy from a staging key is needed (a copy
 *    would write every byte twice, and copying more than 5 GB is itself a multipart job).
 * Once per request: a run asked for with an id (a schedule's firing, run now) is created only if no run of that id
 *    exists, so a request delivered twice exports once; the second delivery answers with the run as stored.
 * 5. ends Completed (every record read is a row), Incomplete (some records could not be written as a row: a missing
 *    person, a value a transform cannot write; each is a run error naming the record) or Interrupted (no file).
 *    A run that wrote its file (Completed or Incomplete) is successful: its mark becomes the job's `lastExport`.
 */
import {
  CHANGE_SEQUENCE_LEASE_MS,
  type ChangeSequence,
  type ClaimingRunLog,
  type Clock,
  type ExportJobStore,
  type FileStore,
  type Random,
  type SystemOfRecord,
} from '../ports.ts';
import type { Problem } from '../problems.ts';
import { writeCsv } from './csv/write-csv.ts';
import { dayIn, freeExportKey } from './export-file.ts';
import { type ExportJob, entryFields, exportJobProblems } from './export-jobs.ts';
import { exportRows, type SourceRow } from './export-rows.ts';
import { compileExportPipeline } from './export-transforms.ts';
import { compileFilters } from './filters.ts';
import { type ExportCounts, newRunId, type RowError, type Run, type RunTrigger, startRun } from './runs.ts';
import type { Template } from './template-types.ts';
import { maskValue } from './validate.ts';

export interface ExportPorts {
  records: SystemOfRecord;
  sequence: ChangeSequence;
  files: FileStore;
  runs: ClaimingRunLog;
  jobs: ExportJobStore;
  clock: Clock;
  random: Random;
  /** Resolves after `ms` (the handler: a timer; tests: a timer too, with a short settle). */
  wait(ms: number): Promise<void>;
}

export interface ExportOptions {
  settleMs?: number;
  pageSize?: number;
  /** Run errors are stored in batches of this many (bounded memory). */
  errorBatch?: number;
  /** The run's id, given by the request (a firing's, run now's): created once. Absent: a fresh id. */
  runId?: string;
  /** Who asked (`schedule`, `manual`), recorded on the run. */
  trigger?: RunTrigger;
}

/** The lease plus a margin for the index to show a write (GSIs are eventually consistent, usually within a second). */
export const DEFAULT_SETTLE_MS = CHANGE_SEQUENCE_LEASE_MS + 5_000;

/** One compiled column: reads our values, writes the customer's cell. */
interface Column {
  heading: string;
  fields: string[];
  run(values: Record<string, string>): { ok: true; cell: string } | { ok: false; problem: string };
}

export function compileColumns(job: ExportJob, template: Template): Column[] {
  return job.mapping.map((entry) => {
    const fields = entryFields(entry);
    const pipeline = compileExportPipeline(entry.transforms ?? [], entry.default);
    const masked = fields.map((id) => template.field(id)?.exportAs === 'masked');
    const title = (id: string) => template.field(id)?.title ?? id;
    return {
      heading: entry.column.trim(),
      fields,
      run(values) {
        const inputs = fields.map((id, i) => {
          const v = values[id] ?? '';
          return masked[i] && v !== '' ? maskValue(v) : v;
        });
        const out = pipeline.run(inputs);
        if (typeof out === 'string') return { ok: true, cell: out };
        const shown = fields.some((id) => template.field(id)?.sensitive) ? maskValue(out.value) : out.value;
        return {
          ok: false,
          problem: `"${entry.column}" (${fields.map(title).join(', ')}): value "${shown}" must be ${out.rule} (${out.transform} transform)`,
        };
      },
    };
  });
}

/** Runs one export of `job` (launched or not: a run now of a valid draft is allowed); returns the run as stored. */
export async function runExport(
  job: ExportJob,
  template: Template,
  ports: ExportPorts,
  options: ExportOptions = {},
): Promise<Run> {
  const { org } = job;
  const startedAt = ports.clock.now();
  const runId = options.runId ?? newRunId(startedAt, ports.random);
  // A request delivered again finds its run: nothing is exported twice.
  if (options.runId !== undefined) {
    const earlier = await ports.runs.get(org, runId);
    if (earlier) return earlier;
  }
  const problems = exportJobProblems(job, template);
  const changedAfter = job.mode === 'incremental' ? job.lastExport?.mark : undefined;
  const base = { org, runId, now: startedAt, jobId: job.jobId, jobName: job.name, templateId: template.id };
  const trigger = options.trigger ? { trigger: options.trigger } : {};
  /** The run's first write: created once (a concurrent second delivery loses and answers with the stored run). */
  const claim = async (run: Run): Promise<Run | undefined> => {
    if (await ports.runs.create(run)) return undefined;
    return (await ports.runs.get(org, runId)) ?? run;
  };
  if (problems.length > 0) {
    const run = interrupted(
      { ...startRun({ ...base, file: { key: '', name: '', size: 0, etag: '' } }), direction: 'export', ...trigger },
      { code: 'job_invalid', message: `job ${job.jobId} cannot export: ${problems.map((p) => p.message).join('; ')}` },
      ports.clock.now(),
    );
    return (await claim(run)) ?? run;
  }

  const mark = await ports.sequence.current(org);
  const day = dayIn(startedAt, job.timeZone);
  const target = await freeExportKey(async (key) => (await ports.files.head(key)) !== undefined, org, template.id, day);
  const exported: ExportCounts = {
    mode: job.mode,
    ...(changedAfter !== undefined ? { changedAfter } : {}),
    mark,
    records: 0,
    rows: 0,
    filtered: 0,
    failed: 0,
  };
  let run: Run = {
    ...startRun({ ...base, file: { key: target.key, name: target.name, size: 0, etag: '' } }),
    direction: 'export',
    ...trigger,
    exported,
  };
  const taken = await claim(run);
  if (taken) return taken;

  try {
    await ports.wait(options.settleMs ?? DEFAULT_SETTLE_MS);
    const columns = compileColumns(job, template);
    const keep = compileFilters(job.filters ?? []);
    const required = template.fields.filter((f) => f.required).map((f) => f.id);
    const errors: RowError[] = [];
    const errorBatch = options.errorBatch ?? 100;
    const flush = async () => {
      if (errors.length === 0) return;
      await ports.runs.addErrors(org, runId, errors.splice(0));
    };
    const fail = async (row: SourceRow, message: string) => {
      exported.failed++;
      errors.push({
        row: row.ordinal,
        problems: [{ code: 'export_row_failed', message: `${template.entity} ${row.key}: ${message}` }],
      });
      if (errors.length >= errorBatch) await flush();
    };
    const source = exportRows(ports.records, org, template, {
      ...(changedAfter !== undefined ? { changedAfter, changedUpTo: mark } : {}),
      ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    });
    const rows = async function* (): AsyncIterable<string[]> {
      for await (const row of source) {
        exported.records++;
        if (keep(row.values)) {
          exported.filtered++;
          continue;
        }
        const missing = required.filter((id) => row.values[id] === '');
        if (missing.length > 0) {
          const why = row.personMissing !== undefined ? ` (no foreign national ${row.personMissing || 'named'})` : '';
          await fail(
            row,
            `${missing.map((id) => template.field(id)?.title ?? id).join(', ')} empty${why}; the template requires them`,
          );
          continue;
        }
        const cells: string[] = [];
        let problem: string | undefined;
        for (const column of columns) {
          const out = column.run(row.values);
          if (!out.ok) {
            problem = out.problem;
            break;
          }
          cells.push(out.cell);
        }
        if (problem !== undefined) {
          await fail(row, problem);
          continue;
        }
        exported.rows++;
        yield cells;
      }
    };
    const body = writeCsv(
      columns.map((c) => c.heading),
      rows(),
      job.csv,
    );
    await ports.files.write(target.key, body, 'text/csv; charset=utf-8', { ifAbsent: true });
    await flush();
    const info = await ports.files.head(target.key);
    run = {
      ...run,
      file: {
        ...run.file,
        size: info?.size ?? 0,
        etag: info?.etag ?? '',
        ...(info?.versionId ? { versionId: info.versionId } : {}),
      },
      counts: {
        ...run.counts,
        rows: exported.records,
        failed: exported.failed,
        ...(exported.filtered ? { filtered: exported.filtered } : {}),
      },
      exported,
      status: exported.failed > 0 ? 'incomplete' : 'completed',
      message: summarizeExport(exported, target.name),
      endedAt: ports.clock.now().toISOString(),
    };
    await ports.runs.save(run);
    await ports.jobs.markExported(org, job.jobId, { mark, runId, at: startedAt.toISOString() });
    return run;
  } catch (err) {
    const code = (err as { code?: unknown }).code === 'object_exists' ? 'export_name_taken' : 'export_failed';
    const message =
      code === 'export_name_taken'
        ? `${target.name} was written by another export at the same moment; nothing was overwritten, run the export again`
        : `the export stopped before its file was complete; no file was written (${(err as Error).message})`;
    run = interrupted({ ...run, exported }, { code, message }, ports.clock.now());
    await ports.runs.save(run);
    return run;
  }
}

function interrupted(run: Run, problem: Problem, now: Date): Run {
  return { ...run, status: 'interrupted', problem, message: problem.message, endedAt: now.toISOString() };
}

export function summarizeExport(c: ExportCounts, name: string): string {
  const from = c.mode === 'incremental' && c.changedAfter !== undefined ? ` changed since #${c.changedAfter}` : '';
  const parts = [
    `${c.rows} ${c.rows === 1 ? 'row' : 'rows'} written to /outbound/${name}`,
    `${c.records} records read${from}`,
    ...(c.filtered ? [`${c.filtered} filtered out`] : []),
    ...(c.failed ? [`${c.failed} failed`] : []),
  ];
  return parts.join(', ');
}
