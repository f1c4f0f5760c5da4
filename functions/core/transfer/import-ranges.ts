/**
 * One large file across many workers. After the census (import-census.ts) the rows of a file are independent: the
 * duplicate-key rule has been decided for the whole file, and each key's first row is the only one applied. So a file
 * of more rows than `rangeRows` is cut into ranges of that many rows, each applied by a worker of its own, in parallel
 * (receive-file.ts `receiveRange`; in AWS one SQS message and invocation per range, handlers/import-file.ts).
 *
 * Rules:
 * - The file's claim stays with the run while its ranges work: every range worker renews the file's lease as well as
 *   its range's own, so the lane's turn (lanes.ts) is held, and the next file of the lane waits, until the run ends.
 * - Each range has its own lease and checkpoint (ports.ts RunRanges): a crashed range resumes from its checkpoint on the
 *   next delivery of its message; redone rows find their records written by this run and count as before.
 * - Row errors go to the run's one error log (keyed by row: ranges never collide); counts and warnings are kept per
 *   range and merged when the last range is done. That range, and only it (RunRanges.complete decides atomically),
 *   finishes the run exactly as one worker would: one outcome file, one archive, one notice, one set of events.
 * - The census's duplicate-key notes are stored per range, so a range meets exactly the notes of its own rows.
 * - The record limit is reserved batch by batch with one conditional counter (Billing.reserve), whoever asks: parallel
 *   ranges never overshoot it. Which rows end up over the limit may differ from one worker's choice (the first rows
 *   to reserve win, not the first in the file); how many does not.
 * - A range reads the file from its start and skips the rows before its own unjudged (parsing only: see the README's
 *   note on import throughput for what that costs), so the CSV reader's encodings and quoted multi-line cells hold
 *   exactly as for one worker.
 */
import type { RangeBounds, RangeState } from '../ports.ts';
import type { KeyNote } from './duplicate-keys.ts';
import type { RowsOutcome } from './import-rows.ts';
import type { Run, RunCounts } from './runs.ts';

/** The default of INTEGRATOR_IMPORT_RANGE_ROWS: below it a file is read by one worker (a split costs a few writes). */
export const DEFAULT_RANGE_ROWS = 50_000;

/** Ranges of `rangeRows` rows over rows 1..`lastRow`; the last one reads to the end (and meets any unreadable part). */
export function rangeBounds(lastRow: number, rangeRows: number): RangeBounds[] {
  const size = Math.max(1, Math.floor(rangeRows));
  const bounds: RangeBounds[] = [];
  for (let after = 0; after < lastRow; after += size) {
    bounds.push(after + size >= lastRow ? { after } : { after, upTo: after + size });
  }
  return bounds.length > 0 ? bounds : [{ after: 0 }];
}

/**
 * The notes of one sorted stream (KeyCensus.notes, row order) handed out per range: range `i`'s iterable yields the
 * notes of its rows. Read the ranges in order, each to its end (RunRanges.plan does).
 */
export function notesByRange(
  notes: AsyncIterable<KeyNote>,
  bounds: readonly RangeBounds[],
): (index: number) => AsyncIterable<KeyNote> {
  const iterator = notes[Symbol.asyncIterator]();
  let head: KeyNote | undefined;
  let ended = false;
  return (index) => ({
    async *[Symbol.asyncIterator]() {
      const upTo = bounds[index]?.upTo ?? Number.POSITIVE_INFINITY;
      for (;;) {
        if (!head && !ended) {
          const next = await iterator.next();
          if (next.done) ended = true;
          else head = next.value;
        }
        if (!head || head.row > upTo) return;
        yield head;
        head = undefined;
      }
    },
  });
}

/**
 * The run as one worker would have read it, from its ranges: counts added, warnings once per code, and where reading
 * stopped early (the first range in row order that stopped).
 */
export function mergeRanges(run: Run, ranges: readonly RangeState[]): RowsOutcome {
  const counts: RunCounts = { ...run.counts };
  const warnings = [...run.warnings];
  let stopped: RangeState | undefined;
  for (const range of ranges) {
    for (const [name, value] of Object.entries(range.counts) as [keyof RunCounts, number | undefined][]) {
      if (typeof value === 'number') counts[name] = (counts[name] ?? 0) + value;
    }
    for (const w of range.warnings) if (!warnings.some((k) => k.code === w.code)) warnings.push(w);
    if (range.stoppedBy && !stopped) stopped = range;
  }
  const last = ranges.at(-1);
  return {
    run: { ...run, counts, warnings },
    lastRow: stopped?.lastRow ?? last?.lastRow ?? last?.upTo ?? 0,
    paused: false,
    ...(stopped?.stoppedBy ? { stoppedBy: stopped.stoppedBy } : {}),
    ...(stopped?.stoppedBy && stopped.upTo !== undefined ? { notImportedUpTo: stopped.upTo } : {}),
  };
}
