import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Problem } from '../../functions/core/problems.ts';
import {
  boundCells,
  boundRowError,
  boundRun,
  cutText,
  itemBytes,
  MAX_ITEM_BYTES,
  MAX_ROW_PROBLEMS,
  MAX_RUN_WARNINGS,
  ROW_ERROR_WORST_BYTES,
  RUN_WORST_BYTES,
} from '../../functions/core/transfer/item-bounds.ts';
import { type RowError, startRun } from '../../functions/core/transfer/runs.ts';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

test('the budgets add up to less than DynamoDB item limit, whatever goes into them', () => {
  assert.ok(ROW_ERROR_WORST_BYTES < MAX_ITEM_BYTES - 30_000, String(ROW_ERROR_WORST_BYTES));
  // A run leaves room for what other parts add to it (a comment, an acknowledgement).
  assert.ok(RUN_WORST_BYTES < MAX_ITEM_BYTES - 100_000, String(RUN_WORST_BYTES));
});

test('a text is cut in UTF-8 bytes, never inside a character, with a marker saying how much was cut', () => {
  assert.equal(cutText('short', 10), 'short');
  const cjk = '漢'.repeat(250_000);
  const cut = cutText(cjk, 1_000);
  assert.ok(bytes(cut) <= 1_000);
  assert.match(cut, /^漢+…\[cut: 7\d\d,\d{3} more bytes\]$/);
  const kept = cut.slice(0, cut.indexOf('…'));
  assert.equal(Number(cut.match(/cut: ([\d,]+)/)![1]!.replace(/,/g, '')), bytes(cjk) - bytes(kept));
  // Emoji (surrogate pairs) are not split either.
  assert.doesNotMatch(cutText('😀'.repeat(1_000), 101), /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
});

test('cells are cut to one common length: the huge one is cut, its neighbours stay whole', () => {
  const cells = ['E1', 'Ana', '漢'.repeat(250_000), 'DE'];
  const bounded = boundCells(cells, 200_000, 1_000);
  assert.deepEqual([bounded[0], bounded[1], bounded[3]], ['E1', 'Ana', 'DE']);
  assert.match(bounded[2]!, /…\[cut: [\d,]+ more bytes\]$/);
  assert.ok(bytes(bounded.join('')) <= 200_000);
  const many = boundCells(
    Array.from({ length: 40_000 }, (_, i) => `c${i}`),
    200_000,
    1_000,
  );
  assert.equal(many.length, 1_000);
  assert.equal(many.at(-1), '…[cut: 39,001 more cells]');
});

// The reproductions of issue 11, as the engine hands them to the run log.
test('reproduction: a 100 KB employee id no longer makes a 500 KB row error', () => {
  const id = 'E'.repeat(100_000);
  const problem: Problem = {
    code: 'too_long',
    message: `f.csv row 2: "Employee ID" value "${id}" must be at most 64 characters`,
    file: 'f.csv',
    row: 2,
    column: 'Employee ID',
    value: id,
    rule: 'at most 64 characters',
  };
  const error: RowError = { row: 2, values: [id, 'Ana'], problems: [problem, problem, problem] };
  assert.ok(itemBytes(error) > 400_000, 'the reproduction is as large as reported');
  const bounded = boundRowError(error);
  assert.ok(itemBytes(bounded) < MAX_ITEM_BYTES);
  assert.match(bounded.problems[0]!.message, /…\[cut: /);
});

test('reproduction: a 250,000-character CJK cell in a row with a wrong cell count stays under the limit', () => {
  const cell = '漢'.repeat(250_000);
  const error: RowError = {
    row: 7,
    values: ['E1', cell, 'x', 'y'],
    problems: [{ code: 'wrong_cell_count', message: 'f.csv row 7: expected 3 cells, found 4', row: 7 }],
  };
  assert.ok(itemBytes(error) > 700_000);
  assert.ok(itemBytes(boundRowError(error)) < MAX_ITEM_BYTES);
});

test('a row with very many problems keeps the first ones and counts the rest', () => {
  const problems = Array.from({ length: 500 }, (_, i) => ({
    code: 'x',
    message: `p${i} ${'m'.repeat(5_000)}`,
    row: 3,
  }));
  const bounded = boundRowError({ row: 3, problems, values: ['a'] });
  assert.equal(bounded.problems.length, MAX_ROW_PROBLEMS);
  assert.equal(bounded.problems.at(-2)!.code, 'problems_cut');
  assert.match(
    bounded.problems.at(-2)!.message,
    /and 481 more problems on this row \(500 in all; the first 18 and the last are kept\)/,
  );
  assert.match(bounded.problems.at(-1)!.message, /^p499 /);
  assert.ok(itemBytes(bounded) < MAX_ITEM_BYTES);
});

test('reproduction: a run with 40,000 columns, a 5.5 MB message and thousands of warnings is stored bounded', () => {
  const header = Array.from({ length: 40_000 }, (_, i) => `Column number ${i}`);
  const run = {
    ...startRun({
      org: 'acme',
      runId: 'r1',
      now: new Date(0),
      file: { key: `inbound/acme/${'n'.repeat(900)}.csv`, name: 'f.csv', size: 1, etag: 'e' },
    }),
    header,
    warnings: [
      ...header.map((h) => ({ code: 'unknown_column', message: `column "${h}" is not mapped`, column: h })),
      { code: 'replaced_during_run', message: 'f.csv was uploaded again while this run handled it' },
    ],
    status: 'interrupted' as const,
    problem: { code: 'duplicate_column', message: 'x'.repeat(5_500_000) },
    message: 'x'.repeat(5_500_000),
  };
  assert.ok(itemBytes(run) > 5_000_000);
  const bounded = boundRun(run);
  assert.ok(itemBytes(bounded) < MAX_ITEM_BYTES, String(itemBytes(bounded)));
  assert.equal(bounded.warnings.length, MAX_RUN_WARNINGS);
  assert.equal(bounded.warnings.at(-2)!.code, 'warnings_cut');
  assert.equal(bounded.warnings.at(-1)!.code, 'replaced_during_run', 'the last warning is kept');
  assert.equal(bounded.headerCut, 39_001);
  assert.equal(bounded.header!.at(-1), '…[cut: 39,001 more cells]');
  assert.deepEqual(bounded.header!.slice(0, 3), header.slice(0, 3));
  // What fits is stored as it is.
  const small = { ...run, header: ['a', 'b'], warnings: [], problem: { code: 'c', message: 'm' }, message: 'm' };
  assert.deepEqual(boundRun(small), small);
});
