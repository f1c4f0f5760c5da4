import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvLine, safeCell } from '../../functions/core/transfer/outcome.ts';

test('a cell that a spreadsheet would run as a formula is written as text', () => {
  for (const cell of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', '\nx']) {
    assert.ok(safeCell(cell).replace(/^"/, '').startsWith("'"), JSON.stringify(cell));
  }
});

test('spaces or tabs before a formula trigger, and the full-width triggers, are caught too', () => {
  for (const cell of [' =1+1', '  +1', ' \t-1', '\t @x', '＝1+1', '＋1', '－1', '＠SUM(A1)', ' ＝1']) {
    assert.ok(safeCell(cell).replace(/^"/, '').startsWith("'"), JSON.stringify(cell));
  }
  assert.equal(safeCell(' =1'), "' =1");
  assert.equal(csvLine(['＝HYPERLINK("x")']), `"'＝HYPERLINK(""x"")"\r\n`);
});

test('ordinary cells are left as they are', () => {
  for (const cell of ['Ana', 'a=b', '1-2', 'x@example.com', ' Ana', '１２', 'E-1']) {
    assert.ok(!safeCell(cell).replace(/^"/, '').startsWith("'"), JSON.stringify(cell));
  }
});
