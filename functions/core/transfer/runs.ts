/**
 * Runs: one per file an import handles (or refuses), as the Need Attention and Completed Runs reports show them.
 * A run starts `running` and ends `completed` (every row applied or unchanged), `incomplete` (some rows failed or were
 * not applied; the others were) or `interrupted` (nothing was written: the file as a whole could not be used).
 */

import type { Random } from '../ports.ts';
import type { Problem } from '../problems.ts';

export type RunStatus = 'running' | 'completed' | 'incomplete' | 'interrupted';

export interface RunCounts {
  /** Data rows read (the header is not a row). */
  rows: number;
  created: number;
  updated: number;
  /** Rows identical to the stored record: no write. */
  unchanged: number;
  /** Rows the job's preference left alone (create only: record exists; update only: record missing). */
  skipped: number;
  /** Rows with an error (validation, duplicate key, unreadable row): not applied. */
  failed: number;
  /** Valid rows not applied because the organization's allowed record limit was reached. */
  overLimit: number;
  /** Rows the job's filters left out (not errors); present when the job has filters. */
  filtered?: number;
  /**
   * Valid rows not applied because a file of the same template that arrived later had already written the record
   * (its data is newer); not the customer's error. Present once it happened.
   */
  superseded?: number;
}

export interface RunFile {
  key: string;
  /** The name the customer gave it. */
  name: string;
  size: number;
  etag: string;
  versionId?: string;
}

/** Where a paused run continues: every row up to and including `row` is fully applied and its errors recorded. */
export interface Checkpoint {
  row: number;
  /** When it was taken (ISO). */
  at: string;
}

/** What started a run: a file's arrival, a firing of the job's schedule, or a request (run now). */
export type RunTrigger = 'arrival' | 'schedule' | 'manual';

/**
 * One file a scheduled or requested run reads (engineer S, job-runs.ts): each is imported by the per-file machinery
 * in a run of its own (`runId`: its counts, its errors at /v1/runs/{runId}/errors, its archive and outcome file),
 * which names this run as `partOf`.
 */
export interface RunFileResult {
  fileId: string;
  key: string;
  name: string;
  /** `pending` until the file's own run ends. */
  status: 'pending' | RunStatus;
  runId?: string;
  counts?: RunCounts;
  message?: string;
}

/**
 * A scheduled or requested run (job-runs.ts): one per firing or request, reading the files that arrived before its
 * cut-off, oldest first, each imported in a run of its own (RunFileResult); it ends when the last of them has. It has
 * no `file` of its own; its counts are the sum of its files'.
 */
export type FiringRun = Omit<Run, 'file'> & {
  trigger: 'schedule' | 'manual';
  cutoff: string;
  files: RunFileResult[];
};

export interface Run {
  org: string;
  runId: string;
  jobId?: string;
  jobName?: string;
  templateId?: string;
  /** Absent on runs recorded before triggers existed: `arrival`. */
  trigger?: RunTrigger;
  /** A run of one file that a scheduled or requested run (this id) took: see RunFileResult. */
  partOf?: string;
  file: RunFile;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  counts: RunCounts;
  warnings: Problem[];
  /** One sentence for the reports. */
  message?: string;
  /** Why the run was interrupted. */
  problem?: Problem;
  /** The file's header as received (the outcome file repeats it); as stored, bounded (item-bounds.ts). */
  header?: string[];
  /** Header cells left out of the stored header (a header past MAX_HEADER_CELLS); absent when none were. */
  headerCut?: number;
  encoding?: string;
  /** Where the original went once the run was recorded. */
  archivedKey?: string;
  /** The failed rows with their errors, for the customer, next to the archived original. */
  outcomeKey?: string;
  checkpoint?: Checkpoint;
  /** How many invocations worked on it (> 1 when it was resumed). */
  invocations?: number;
  /** Notes from the reports (runs-routes.ts): kept by the run log apart from the run's own saves. */
  comments?: RunComment[];
  acknowledged?: Acknowledgement;
  /** `export` for an export run (its `file` is the file it wrote); absent for imports. */
  direction?: 'import' | 'export';
  /** What an export run read and wrote. */
  exported?: ExportCounts;
}

/** An export run's figures: the records it read, the rows it wrote to its file, and from where on it read. */
export interface ExportCounts {
  mode: 'full' | 'incremental';
  /** Incremental: records whose change sequence is above this mark (the previous successful export's start). */
  changedAfter?: number;
  /** The organization's change sequence when this run started: the next incremental export starts above it. */
  mark: number;
  /** Records read through the system of record. */
  records: number;
  /** Data rows in the file (the header is not a row). */
  rows: number;
  filtered: number;
  failed: number;
}

/** One failed (or noted) row of a run: enough to show it and to retry it. */
export interface RowError {
  row: number;
  problems: Problem[];
  /** The row's cells as received, sensitive ones masked; absent for a note on a row that was kept. */
  values?: string[];
  /** True for a note on a row that was applied (the first of two rows with one key). */
  kept?: boolean;
}

/**
 * One entry per row, in first-seen order: entries of the same row are merged (their problems in order; the cells of
 * whichever has them; `kept` only while every entry is a note on a kept row). The run log stores one item per row.
 */
export function onePerRow(errors: readonly RowError[]): RowError[] {
  const byRow = new Map<number, RowError>();
  for (const e of errors) {
    const earlier = byRow.get(e.row);
    if (!earlier) {
      byRow.set(e.row, e);
      continue;
    }
    const values = earlier.values ?? e.values;
    byRow.set(e.row, {
      row: e.row,
      problems: [...earlier.problems, ...e.problems],
      ...(values ? { values } : {}),
      ...(earlier.kept && e.kept ? { kept: true } : {}),
    });
  }
  return [...byRow.values()];
}

export function emptyCounts(): RunCounts {
  return { rows: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0, overLimit: 0 };
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** `20261124T070102123Z-k3x9qa`: sorts by start time; the suffix separates runs started in the same millisecond. */
export function newRunId(now: Date, random: Random): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  const suffix = random.token(6);
  if (!/^[a-z0-9]{6}$/.test(suffix)) throw new Error('random token must be 6 of [a-z0-9]');
  return `${stamp}-${suffix}`;
}

export function randomToken(length: number, bytes: (n: number) => Uint8Array): string {
  return [...bytes(length)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
}

export function startRun(input: {
  org: string;
  runId: string;
  file: RunFile;
  now: Date;
  jobId?: string;
  jobName?: string;
  templateId?: string;
}): Run {
  return {
    org: input.org,
    runId: input.runId,
    ...(input.jobId ? { jobId: input.jobId } : {}),
    ...(input.jobName ? { jobName: input.jobName } : {}),
    ...(input.templateId ? { templateId: input.templateId } : {}),
    file: input.file,
    status: 'running',
    startedAt: input.now.toISOString(),
    counts: emptyCounts(),
    warnings: [],
    invocations: 1,
  };
}

export function interruptRun(run: Run, problem: Problem, now: Date): Run {
  return { ...run, status: 'interrupted', problem, message: problem.message, endedAt: now.toISOString() };
}

/** Ends a run that read its file: incomplete when any row was not applied for a reason the customer must see. */
export function finishRun(run: Run, now: Date): Run {
  const c = run.counts;
  const status: RunStatus = c.failed > 0 || c.overLimit > 0 ? 'incomplete' : 'completed';
  const { checkpoint: _done, ...rest } = run;
  return { ...rest, status, message: summarize(c), endedAt: now.toISOString() };
}

export function summarize(c: RunCounts): string {
  const parts = [
    `${c.created} created`,
    `${c.updated} updated`,
    `${c.unchanged} unchanged`,
    ...(c.skipped ? [`${c.skipped} skipped`] : []),
    ...(c.filtered ? [`${c.filtered} filtered out`] : []),
    ...(c.superseded ? [`${c.superseded} superseded by a newer file`] : []),
    `${c.failed} failed`,
    ...(c.overLimit ? [`${c.overLimit} not applied (record limit reached)`] : []),
  ];
  return `${c.rows} ${c.rows === 1 ? 'row' : 'rows'}: ${parts.join(', ')}`;
}

/** RunErrors sort key: the row number, zero-padded so rows list in file order. */
export function errorSeq(row: number): string {
  return String(row).padStart(10, '0');
}

// ---------------------------------------------------------------------------------------------------------------
// The reports' side of a run: comments, acknowledgement, and which report lists it.

/** A note on a run (Need Attention: "Add Comment"); author and time come from the caller's verified token. */
export interface RunComment {
  /** Unique within the run: `<at>-<suffix>`, so comments sort by time. */
  commentId: string;
  author: string;
  at: string;
  text: string;
}

/** Who took a run off the Need Attention report, and when. */
export interface Acknowledgement {
  by: string;
  at: string;
}

/** The reports' lists: Need Attention (failed runs nobody acknowledged) and Completed Runs. */
export type RunView = 'needs-attention' | 'completed';
export const RUN_VIEWS: readonly RunView[] = ['needs-attention', 'completed'];

/** A run as far as comments and acknowledgement go (attributes the run's own saves never write). */
export interface RunNotes {
  comments?: RunComment[];
  acknowledged?: Acknowledgement;
}

/** Longest comment kept, in characters (a sentence or a paragraph, not a file). */
export const MAX_COMMENT_LENGTH = 1000;
/** Comments a run may hold: it stays one bounded item. */
export const MAX_COMMENTS = 50;

/**
 * The list a run belongs to: running runs are in neither (the run watch looks at them), a completed run is in
 * Completed Runs, an interrupted or incomplete one in Need Attention until it is acknowledged, then in neither.
 */
export function viewOf(run: Pick<Run, 'status'> & RunNotes): RunView | 'running' | undefined {
  if (run.status === 'running') return 'running';
  if (run.status === 'completed') return 'completed';
  return run.acknowledged ? undefined : 'needs-attention';
}

/** Only a run that failed can be acknowledged: the acknowledgement says someone looked at the failure. */
export function canAcknowledge(run: Pick<Run, 'status'>): boolean {
  return run.status === 'interrupted' || run.status === 'incomplete';
}

/** The comment text as stored (trimmed), or a problem naming the field. */
export function commentText(raw: unknown): { ok: true; text: string } | { ok: false; problem: Problem } {
  if (typeof raw !== 'string' || raw.trim() === '') {
    return {
      ok: false,
      problem: { code: 'invalid_comment', message: 'text: a comment needs some text', column: 'text' },
    };
  }
  const text = raw.trim();
  if (text.length > MAX_COMMENT_LENGTH) {
    return {
      ok: false,
      problem: {
        code: 'invalid_comment',
        message: `text: a comment holds at most ${MAX_COMMENT_LENGTH} characters (this one has ${text.length})`,
        column: 'text',
      },
    };
  }
  return { ok: true, text };
}

export function newComment(input: { author: string; text: string; now: Date; random: Random }): RunComment {
  const at = input.now.toISOString();
  return {
    commentId: `${at.replace(/[-:.]/g, '')}-${input.random.token(6)}`,
    author: input.author,
    at,
    text: input.text,
  };
}
