/**
 * The pure rules of one file across many workers (functions/core/transfer/import-ranges.ts): how a file is cut, how
 * the census's notes reach the range holding their row, and how the ranges' outcomes make the one run a single
 * worker would have made (counts, warnings once, where and why reading stopped).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RangeState } from '../../functions/core/ports.ts';
import type { KeyNote } from '../../functions/core/transfer/duplicate-keys.ts';
import { mergeRanges, notesByRange, rangeBounds } from '../../functions/core/transfer/import-ranges.ts';
import { emptyCounts, startRun } from '../../functions/core/transfer/runs.ts';

test('a file is cut into ranges of the given rows; the last reads to the end, a short file is one range', () => {
  assert.deepEqual(rangeBounds(10, 4), [{ after: 0, upTo: 4 }, { after: 4, upTo: 8 }, { after: 8 }]);
  assert.deepEqual(rangeBounds(8, 4), [{ after: 0, upTo: 4 }, { after: 4 }]);
  assert.deepEqual(rangeBounds(3, 50_000), [{ after: 0 }]);
  assert.deepEqual(rangeBounds(0, 4), [{ after: 0 }]);
});

test("each range reads exactly the census's notes of its own rows, in row order", async () => {
  const notes: KeyNote[] = [
    { kind: 'first', row: 2, nextRow: 9, repeats: 1 },
    { kind: 'repeat', row: 4, firstRow: 3, firstValid: true },
    { kind: 'repeat', row: 9, firstRow: 2, firstValid: true },
    { kind: 'first', row: 3, nextRow: 4, repeats: 1 },
  ].sort((a, b) => a.row - b.row) as KeyNote[];
  async function* stream() {
    yield* notes;
  }
  const bounds = rangeBounds(10, 4);
  const forRange = notesByRange(stream(), bounds);
  const rows = async (i: number) => {
    const out: number[] = [];
    for await (const n of forRange(i)) out.push(n.row);
    return out;
  };
  assert.deepEqual(await rows(0), [2, 3, 4]);
  assert.deepEqual(await rows(1), []);
  assert.deepEqual(await rows(2), [9]);
});

function range(index: number, bounds: { after: number; upTo?: number }, extra: Partial<RangeState>): RangeState {
  return {
    org: 'acme',
    runId: 'r1',
    index,
    ...bounds,
    status: 'done',
    claims: 1,
    leaseUntil: 0,
    counts: emptyCounts(),
    warnings: [],
    ...extra,
  };
}

test("the ranges' counts add up, a warning appears once, and the run reads to the last range's end", () => {
  const run = startRun({
    org: 'acme',
    runId: 'r1',
    file: { key: 'k', name: 'f.csv', size: 1, etag: 'e' },
    now: new Date('2026-12-02T00:00:00Z'),
  });
  const warning = { code: 'unknown_column', message: 'Column "X" is not mapped' };
  const merged = mergeRanges(run, [
    range(
      0,
      { after: 0, upTo: 4 },
      { counts: { ...emptyCounts(), rows: 4, created: 3, failed: 1 }, warnings: [warning] },
    ),
    range(
      1,
      { after: 4 },
      { counts: { ...emptyCounts(), rows: 3, updated: 2, unchanged: 1 }, warnings: [warning], lastRow: 7 },
    ),
  ]);
  assert.deepEqual(
    { rows: merged.run.counts.rows, created: merged.run.counts.created, updated: merged.run.counts.updated },
    { rows: 7, created: 3, updated: 2 },
  );
  assert.equal(merged.run.counts.failed, 1);
  assert.equal(merged.run.counts.unchanged, 1);
  assert.deepEqual(merged.run.warnings, [warning]);
  assert.equal(merged.lastRow, 7);
  assert.equal(merged.stoppedBy, undefined);
});

test("a middle range that stopped: its problem is the run's, with the rows it did not import bounded by its end", () => {
  const run = startRun({
    org: 'acme',
    runId: 'r1',
    file: { key: 'k', name: 'f.csv', size: 1, etag: 'e' },
    now: new Date('2026-12-02T00:00:00Z'),
  });
  const refusal = { code: 'store_refused', message: 'The store refused row 6.' };
  const merged = mergeRanges(run, [
    range(0, { after: 0, upTo: 4 }, { counts: { ...emptyCounts(), rows: 4, created: 4 } }),
    range(
      1,
      { after: 4, upTo: 8 },
      { counts: { ...emptyCounts(), rows: 1, created: 1 }, stoppedBy: refusal, lastRow: 5 },
    ),
    range(2, { after: 8 }, { counts: { ...emptyCounts(), rows: 2, created: 2 }, lastRow: 10 }),
  ]);
  assert.deepEqual(merged.stoppedBy, refusal);
  assert.equal(merged.lastRow, 5);
  assert.equal(merged.notImportedUpTo, 8);
  assert.equal(merged.run.counts.created, 7);
});
