/**
 * Stored items bounded by construction. DynamoDB refuses an item over 400 KB, counted in UTF-8 bytes of attribute
 * names and values; a refused write is not something a retry can fix. Whatever a file holds (a 100 KB cell, a header
 * of 40,000 columns, a message quoting either), the run and each row error that the run log stores stay under that
 * limit: texts are cut with a visible marker (`…[cut: 123,456 more bytes]`), lists are capped with a count of the rest.
 * The budgets below add up (see the sums at RUN_ and ROW_ERROR_WORST_BYTES) to well under the limit, leaving room
 * for the attributes other parts add to a run (a comment, an acknowledgement).
 *
 * The run log adapter applies boundRun and boundRowError to every item it writes; the engine cuts the cells it quotes
 * in messages (cutText, SHOWN_VALUE_BYTES) so that a message keeps its rule, not only the start of a long value.
 * The Files ledger needs nothing here: its entries hold an S3 key (at most 1,024 bytes) and fields of fixed size.
 */
import type { Problem } from '../problems.ts';
import type { RowError, Run } from './runs.ts';

/** DynamoDB's item size limit (bytes of UTF-8, attribute names included). */
export const MAX_ITEM_BYTES = 400 * 1024;

/** A cell quoted in a message or a problem's `value`. */
export const SHOWN_VALUE_BYTES = 256;
/** Fields of a stored problem. */
export const PROBLEM_BYTES = { code: 64, message: 2_048, file: 1_100, column: 512, value: 512, rule: 512 } as const;
/** Problems kept per row error; the rest are counted in a last one (`problems_cut`). */
export const MAX_ROW_PROBLEMS = 20;
/** The cells of a row error, all together (the outcome file shows them; the archived original has them in full). */
export const ROW_VALUES_BYTES = 200_000;
/** Cells kept per row error; a row with more gets a last cell counting the rest. */
export const MAX_ROW_CELLS = 1_000;
/** Warnings kept on a run; the rest are counted in a last one (`warnings_cut`). */
export const MAX_RUN_WARNINGS = 30;
/** The stored header, all cells together (the CSV reader refuses a header past its own, smaller limit). */
export const RUN_HEADER_BYTES = 80_000;
/** Cells kept in the stored header. */
export const MAX_HEADER_CELLS = 1_000;
/** The run's one-sentence message; names and keys of the file. */
export const RUN_MESSAGE_BYTES = 4_096;
export const RUN_NAME_BYTES = 1_100;

/** Bytes a stored problem can take at most, attribute names and DynamoDB's per-attribute overhead included. */
const PROBLEM_WORST_BYTES = Object.values(PROBLEM_BYTES).reduce((a, b) => a + b, 0) + 2 * 21 + 200;
/** What the budgets allow, at most: checked against MAX_ITEM_BYTES by the unit tests. */
export const ROW_ERROR_WORST_BYTES =
  (MAX_ROW_PROBLEMS + 1) * PROBLEM_WORST_BYTES + // the problems, plus the first one's fields at the top
  ROW_VALUES_BYTES +
  (MAX_ROW_CELLS + 1) * 4 + // a list element's overhead
  4 * 1_100 + // org, runId, orgRun, seq
  500;
export const RUN_WORST_BYTES =
  (MAX_RUN_WARNINGS + 1) * PROBLEM_WORST_BYTES +
  PROBLEM_WORST_BYTES + // problem
  RUN_HEADER_BYTES +
  (MAX_HEADER_CELLS + 1) * 4 +
  RUN_MESSAGE_BYTES +
  6 * RUN_NAME_BYTES + // file key, name, etag, versionId; archivedKey, outcomeKey
  6 * 1_100 + // org, runId, jobId, jobName, templateId, encoding
  2_000; // counts, dates, checkpoint, attribute names

const MARKER_RESERVE = 40;

/** UTF-8 bytes of `text` (what DynamoDB counts). */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

const encoder = new TextEncoder();

/**
 * `text` if it fits in `maxBytes` of UTF-8, else its start followed by `…[cut: N more bytes]`, the whole at most
 * `maxBytes`. Never splits a character.
 */
export function cutText(text: string, maxBytes: number): string {
  // A UTF-16 code unit never takes more than 3 bytes of UTF-8: most texts are decided without counting.
  if (text.length * 3 <= maxBytes) return text;
  const total = utf8Bytes(text);
  if (total <= maxBytes) return text;
  const room = Math.max(0, maxBytes - MARKER_RESERVE);
  const { read, written } = encoder.encodeInto(text, new Uint8Array(room));
  return `${text.slice(0, read)}${cutMarker(total - (written ?? 0))}`;
}

function cutMarker(bytes: number): string {
  return `…[cut: ${bytes.toLocaleString('en-US')} more bytes]`;
}

/** Every text field of a problem within its budget. */
export function boundProblem(problem: Problem): Problem {
  const out: Problem = {
    ...problem,
    code: cutText(problem.code, PROBLEM_BYTES.code),
    message: cutText(problem.message, PROBLEM_BYTES.message),
  };
  if (problem.file !== undefined) out.file = cutText(problem.file, PROBLEM_BYTES.file);
  if (problem.column !== undefined) out.column = cutText(problem.column, PROBLEM_BYTES.column);
  if (problem.value !== undefined) out.value = cutText(problem.value, PROBLEM_BYTES.value);
  if (problem.rule !== undefined) out.rule = cutText(problem.rule, PROBLEM_BYTES.rule);
  return out;
}

/**
 * At most `max` problems, each bounded. Past it, the first ones, then one saying how many more there were, then the
 * last one: what is added last (a note from the end of the run, such as `replaced_during_run`) is never the one lost.
 */
export function boundProblems(problems: readonly Problem[], max: number, code: string, what: string): Problem[] {
  if (problems.length <= max) return problems.map(boundProblem);
  const kept = problems.slice(0, max - 2).map(boundProblem);
  const last = boundProblem(problems[problems.length - 1]!);
  const rest = problems.length - kept.length - 1;
  const first = problems[0];
  return [
    ...kept,
    {
      code,
      message: `…and ${rest.toLocaleString('en-US')} more ${what} (${problems.length.toLocaleString('en-US')} in all; the first ${kept.length} and the last are kept)`,
      ...(first?.file !== undefined ? { file: cutText(first.file, PROBLEM_BYTES.file) } : {}),
      ...(first?.row !== undefined && problems.every((p) => p.row === first.row) ? { row: first.row } : {}),
    },
    last,
  ];
}

/**
 * At most `maxCells` cells of at most `budget` bytes together: when they do not fit, the longest are cut to one
 * common length (the shorter ones are kept whole), so one huge cell is cut and its neighbours stay readable. A row
 * with more cells than `maxCells` ends with a cell counting the rest.
 */
export function boundCells(cells: readonly string[], budget: number, maxCells: number): string[] {
  let kept = cells.length > maxCells ? cells.slice(0, maxCells - 1) : [...cells];
  const rest = cells.length - kept.length;
  const restCell = rest > 0 ? [`…[cut: ${rest.toLocaleString('en-US')} more cells]`] : [];
  const room = budget - restCell.reduce((sum, c) => sum + utf8Bytes(c), 0);
  const sizes = kept.map(utf8Bytes);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > room) {
    const cap = commonCap(sizes, room);
    kept = kept.map((c, i) => (sizes[i]! > cap ? cutText(c, cap) : c));
  }
  return [...kept, ...restCell];
}

/** The largest length c such that the cells, each cut to c, fit in `room` (a cut cell takes c bytes). */
function commonCap(sizes: readonly number[], room: number): number {
  const sorted = [...sizes].sort((a, b) => a - b);
  let left = room;
  for (let i = 0; i < sorted.length; i++) {
    const share = Math.floor(left / (sorted.length - i));
    if (sorted[i]! > share) return Math.max(MARKER_RESERVE + 8, share);
    left -= sorted[i]!;
  }
  return room;
}

/** A row error as it may be stored. */
export function boundRowError(error: RowError): RowError {
  return {
    ...error,
    problems: boundProblems(error.problems, MAX_ROW_PROBLEMS, 'problems_cut', 'problems on this row'),
    ...(error.values ? { values: boundCells(error.values, ROW_VALUES_BYTES, MAX_ROW_CELLS) } : {}),
  };
}

/** A run as it may be stored. `headerCut` says how many header cells were left out of the stored header. */
export function boundRun(run: Run): Run {
  const out: Run = {
    ...run,
    file: {
      ...run.file,
      key: cutText(run.file.key, RUN_NAME_BYTES),
      name: cutText(run.file.name, RUN_NAME_BYTES),
      etag: cutText(run.file.etag, RUN_NAME_BYTES),
      ...(run.file.versionId !== undefined ? { versionId: cutText(run.file.versionId, RUN_NAME_BYTES) } : {}),
    },
    warnings: boundProblems(run.warnings, MAX_RUN_WARNINGS, 'warnings_cut', 'warnings'),
  };
  if (run.message !== undefined) out.message = cutText(run.message, RUN_MESSAGE_BYTES);
  if (run.problem !== undefined) out.problem = boundProblem(run.problem);
  if (run.jobName !== undefined) out.jobName = cutText(run.jobName, RUN_NAME_BYTES);
  if (run.header !== undefined) {
    out.header = boundCells(run.header, RUN_HEADER_BYTES, MAX_HEADER_CELLS);
    if (run.header.length > MAX_HEADER_CELLS) out.headerCut = run.header.length - (MAX_HEADER_CELLS - 1);
  }
  return out;
}

/**
 * The size DynamoDB gives an item, rounded up (its documented rules: names and strings in UTF-8 bytes, numbers up to
 * 21 bytes, 3 bytes per list or map plus 1 per element). For tests and a last check before a write.
 */
export function itemBytes(value: unknown): number {
  if (value === undefined) return 0;
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'number') return 21;
  if (typeof value === 'string') return utf8Bytes(value);
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + itemBytes(v), 0);
  if (typeof value === 'object') {
    let sum = 3;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      sum += 1 + utf8Bytes(k) + itemBytes(v);
    }
    return sum;
  }
  return 0;
}
