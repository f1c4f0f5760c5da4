import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyTransforms,
  compilePipeline,
  dateFormatsReading,
  isFailure,
  parseDateFormat,
  suggestDateFormat,
  type Transform,
  type TransformFailure,
  titleCase,
  transformProblem,
  transformProblems,
} from '../../functions/core/transfer/transforms.ts';

function ok(transforms: Transform[], cells: string | string[]): string {
  const r = applyTransforms(transforms, cells);
  assert.equal(typeof r, 'string', `expected a value, got ${JSON.stringify(r)}`);
  return r as string;
}

function fails(transforms: Transform[], cells: string | string[]): TransformFailure {
  const r = applyTransforms(transforms, cells);
  assert.ok(isFailure(r), `expected a failure, got ${JSON.stringify(r)}`);
  return r;
}

const place = { fileName: 'f.csv', row: 7, column: 'Hire Date' };

describe('trim', () => {
  it('is on by default: cells and the result lose surrounding spaces', () => {
    assert.equal(ok([], '  Ana  '), 'Ana');
    assert.equal(ok([], ' \t '), '');
  });
  it('collapse also squeezes inner whitespace; none keeps every space', () => {
    assert.equal(ok([{ type: 'trim', mode: 'collapse' }], '  Ana   Maria\tSilva '), 'Ana Maria Silva');
    assert.equal(ok([{ type: 'trim', mode: 'none' }], '  Ana  '), '  Ana  ');
  });
  it('must come first and have a known mode', () => {
    assert.deepEqual(transformProblems([{ type: 'trim', mode: 'sides' }], 1), [
      'transform 1 (trim): mode must be one of ends, collapse, none',
    ]);
    assert.deepEqual(transformProblems([{ type: 'case', to: 'upper' }, { type: 'trim' }], 1), [
      'transform 2 (trim) must come first: it says how every cell is trimmed',
    ]);
  });
});

describe('case', () => {
  it('upper, lower and title', () => {
    assert.equal(ok([{ type: 'case', to: 'upper' }], 'de'), 'DE');
    assert.equal(ok([{ type: 'case', to: 'lower' }], 'Ana@Example.COM'), 'ana@example.com');
    assert.equal(ok([{ type: 'case', to: 'title' }], "ANA MARIA o'neil-SMITH"), "Ana Maria O'Neil-Smith");
    assert.equal(titleCase("don't stop"), "Don't Stop");
    assert.equal(titleCase('émile zola'), 'Émile Zola');
  });
  it('refuses an unknown case', () => {
    assert.deepEqual(transformProblems([{ type: 'case', to: 'camel' }], 1), [
      'transform 1 (case): to must be one of upper, lower, title',
    ]);
  });
});

describe('date', () => {
  const us: Transform[] = [{ type: 'date', formats: ['MM/DD/YYYY'] }];
  it('reads the listed formats and writes ISO', () => {
    assert.equal(ok(us, '11/24/2026'), '2026-11-24');
    assert.equal(ok([{ type: 'date', formats: ['DD.MM.YYYY'] }], '24.11.2026'), '2026-11-24');
    assert.equal(ok([{ type: 'date', formats: ['YYYYMMDD'] }], '20240229'), '2024-02-29');
    assert.equal(ok([{ type: 'date', formats: ['M/D/YYYY'] }], '2/3/2026'), '2026-02-03');
    assert.equal(ok([{ type: 'date', formats: ['M/D/YYYY'] }], '12/31/2026'), '2026-12-31');
    assert.equal(ok([{ type: 'date', formats: ['DD-MMM-YYYY'] }], '24-nov-2026'), '2026-11-24');
    assert.equal(ok([{ type: 'date', formats: ['MMMM D, YYYY'] }], 'November 24, 2026'), '2026-11-24');
  });
  it('reads two-digit years with the documented pivot (default 50), or the one given', () => {
    const short: Transform[] = [{ type: 'date', formats: ['M/D/YY'] }];
    assert.equal(ok(short, '1/2/49'), '2049-01-02');
    assert.equal(ok(short, '1/2/50'), '1950-01-02');
    assert.equal(ok(short, '11/24/26'), '2026-11-24');
    assert.equal(ok([{ type: 'date', formats: ['M/D/YY'], pivot: 30 }], '1/2/35'), '1935-01-02');
    assert.equal(ok([{ type: 'date', formats: ['M/D/YY'], pivot: 100 }], '1/2/99'), '2099-01-02');
  });
  it('an empty cell stays empty', () => {
    assert.equal(ok(us, ''), '');
  });
  it('a value no format reads is an error naming the formats', () => {
    const f = fails(us, '2026-11-24');
    assert.deepEqual(f, {
      code: 'invalid_date',
      transform: 'date',
      value: '2026-11-24',
      rule: 'a date written MM/DD/YYYY',
    });
    assert.equal(
      transformProblem(f, place).message,
      'f.csv row 7: "Hire Date" value "2026-11-24" must be a date written MM/DD/YYYY (date transform)',
    );
    const two = fails([{ type: 'date', formats: ['MM/DD/YYYY', 'DD.MM.YYYY'] }], '2026-11-24');
    assert.equal(two.rule, 'a date written as one of MM/DD/YYYY, DD.MM.YYYY');
  });
  it('a date that does not exist is an error, not rolled over', () => {
    const f = fails(us, '02/30/2026');
    assert.equal(f.code, 'invalid_date');
    assert.equal(f.rule, 'a real date written MM/DD/YYYY');
    assert.equal(
      transformProblem(f, place).message,
      'f.csv row 7: "Hire Date" value "02/30/2026" is not a real date (written MM/DD/YYYY) (date transform)',
    );
    assert.equal(fails(us, '13/01/2026').code, 'invalid_date');
    assert.equal(fails([{ type: 'date', formats: ['YYYYMMDD'] }], '20230229').code, 'invalid_date');
  });
  it('never guesses: a value two formats read as different dates is an error', () => {
    const both: Transform[] = [{ type: 'date', formats: ['MM/DD/YYYY', 'DD/MM/YYYY'] }];
    const f = fails(both, '03/04/2026');
    assert.equal(f.code, 'ambiguous_date');
    assert.equal(
      transformProblem(f, place).message,
      'f.csv row 7: "Hire Date" value "03/04/2026" could be 2026-03-04 (MM/DD/YYYY) or 2026-04-03 (DD/MM/YYYY); it was not guessed (date transform)',
    );
    // Only one reading: not a guess.
    assert.equal(ok(both, '11/24/2026'), '2026-11-24');
    assert.equal(ok(both, '24/11/2026'), '2026-11-24');
    // Both read the same date: no ambiguity.
    assert.equal(ok(both, '04/04/2026'), '2026-04-04');
  });
  it('a masked value hides what the dates could be', () => {
    const f = fails([{ type: 'date', formats: ['MM/DD/YYYY', 'DD/MM/YYYY'] }], '03/04/2026');
    const p = transformProblem(f, place, () => '****26');
    assert.equal(p.value, '****26');
    assert.doesNotMatch(p.message, /2026-03-04/);
    assert.match(p.message, /must be a date written as one of MM\/DD\/YYYY, DD\/MM\/YYYY, read by only one of them/);
  });
  it('refuses formats that cannot be read without guessing', () => {
    assert.equal(typeof parseDateFormat('MM/DD/YYYY'), 'object');
    assert.match(parseDateFormat('MDYYYY') as string, /M and D \(one or two digits\) need a separator/);
    assert.match(parseDateFormat('MM/DD') as string, /exactly one year/);
    assert.match(parseDateFormat('MM/DD/YYYY hh') as string, /"h" is not a date part/);
    assert.deepEqual(transformProblems([{ type: 'date', formats: [] }], 1), [
      'transform 1 (date): formats must list at least one input format, e.g. ["MM/DD/YYYY"]',
    ]);
    assert.deepEqual(transformProblems([{ type: 'date', formats: ['MM/DD/YYYY'], pivot: 150 }], 1), [
      'transform 1 (date): pivot must be a whole number from 0 to 100',
    ]);
  });
  it('sample dates suggest a format only when exactly one reading exists', () => {
    assert.deepEqual(suggestDateFormat(['11/24/2026', '1/2/2026']), { format: 'M/D/YYYY' });
    assert.deepEqual(suggestDateFormat(['24.11.2026']), { format: 'D.M.YYYY' });
    assert.deepEqual(suggestDateFormat(['2026-11-24']), {});
    assert.deepEqual(suggestDateFormat(['03/04/2026', '05/06/2026']), { ambiguous: ['M/D/YYYY', 'D/M/YYYY'] });
    assert.deepEqual(suggestDateFormat(['yes']), {});
    assert.deepEqual(dateFormatsReading(['20261124'], ['YYYYMMDD', 'MM/DD/YYYY']), ['YYYYMMDD']);
  });
});

describe('map', () => {
  const status: Transform = { type: 'map', values: { Active: 'A', Terminated: 'T' } };
  it('maps values exactly by default, ignoring case when asked', () => {
    assert.equal(ok([status], 'Active'), 'A');
    assert.equal(fails([status], 'ACTIVE').code, 'unmapped_value');
    assert.equal(ok([{ ...status, caseInsensitive: true }], 'ACTIVE'), 'A');
  });
  it('an unmapped value is an error by default, or kept, or blanked', () => {
    const f = fails([status], 'Retired');
    assert.equal(f.rule, 'one of Active, Terminated (value map)');
    assert.equal(
      transformProblem(f, { ...place, column: 'Status' }).message,
      'f.csv row 7: "Status" value "Retired" is not in the value map: it must be one of Active, Terminated (value map) (map transform)',
    );
    assert.equal(ok([{ ...status, unmapped: 'keep' }], 'Retired'), 'Retired');
    assert.equal(ok([{ ...status, unmapped: 'blank' }], 'Retired'), '');
  });
  it('an empty cell is not looked up', () => {
    assert.equal(ok([status], ''), '');
  });
  it('checks its configuration', () => {
    assert.deepEqual(transformProblems([{ type: 'map', values: {} }], 1), [
      'transform 1 (map): values must map at least one customer value to ours, e.g. {"Active": "A"}',
    ]);
    assert.deepEqual(transformProblems([{ type: 'map', values: { a: 'X', A: 'Y' }, caseInsensitive: true }], 1), [
      'transform 1 (map): "A" maps to two values when case is ignored',
    ]);
    assert.deepEqual(transformProblems([{ type: 'map', values: { a: 'X' }, unmapped: 'drop' }], 1), [
      'transform 1 (map): unmapped must be one of error, keep, blank',
    ]);
  });
});

describe('default', () => {
  it('fills an empty value, as a step or as the entry default', () => {
    assert.equal(ok([{ type: 'default', value: 'Active' }], '  '), 'Active');
    assert.equal(ok([{ type: 'default', value: 'Active' }], 'Leave'), 'Leave');
    assert.equal(compilePipeline([], 'US').run(['']), 'US');
    assert.equal(compilePipeline([{ type: 'map', values: { x: 'y' }, unmapped: 'blank' }], 'US').run(['z']), 'US');
  });
  it('as a step, before a value map', () => {
    const t: Transform[] = [
      { type: 'default', value: 'Active' },
      { type: 'map', values: { Active: 'A' } },
    ];
    assert.equal(ok(t, ''), 'A');
  });
});

describe('split', () => {
  it('takes one part of "Last, First", trimmed', () => {
    assert.equal(ok([{ type: 'split', separator: ',', index: 0 }], 'Silva, Ana'), 'Silva');
    assert.equal(ok([{ type: 'split', separator: ',', index: 1 }], 'Silva, Ana'), 'Ana');
    assert.equal(ok([{ type: 'split', separator: ' ', index: -1 }], 'Ana Maria Silva'), 'Silva');
  });
  it('a value with too few parts is an error unless blank is asked for', () => {
    const f = fails([{ type: 'split', separator: ',', index: 1 }], 'Madonna');
    assert.equal(f.code, 'missing_part');
    assert.equal(
      transformProblem(f, { ...place, column: 'Name' }).message,
      'f.csv row 7: "Name" value "Madonna" has no part 2 when split at "," (it must be a value with at least 2 parts separated by ",") (split transform)',
    );
    assert.equal(ok([{ type: 'split', separator: ',', index: 1, missing: 'blank' }], 'Madonna'), '');
  });
  it('checks its configuration', () => {
    assert.deepEqual(transformProblems([{ type: 'split', separator: '', index: 0.5 }], 1), [
      'transform 1 (split): separator must be at least one character',
      'transform 1 (split): index must be a whole number (0 for the first part, -1 for the last)',
    ]);
  });
});

describe('join', () => {
  const join: Transform = { type: 'join', separator: ' ' };
  it('makes one value of several columns, leaving empty cells out', () => {
    assert.equal(ok([join], [' Ana ', '', 'Silva']), 'Ana Silva');
    assert.equal(ok([{ ...join, skipEmpty: false }], ['Ana', '', 'Silva']), 'Ana  Silva');
    assert.equal(ok([join, { type: 'case', to: 'upper' }], ['Ana', 'Silva']), 'ANA SILVA');
    assert.equal(ok([join], ['', '']), '');
  });
  it('needs several columns, and several columns need it, first (after trim)', () => {
    assert.deepEqual(transformProblems([], 2), ['several columns need a join transform to make one value']);
    assert.deepEqual(transformProblems([join], 1), ['join needs several columns (columns: [...])']);
    assert.deepEqual(transformProblems([{ type: 'trim' }, join], 2), []);
    assert.deepEqual(transformProblems([{ type: 'case', to: 'upper' }, join], 2), [
      'transform 2 (join) must come first (after trim): it makes one value of the columns',
    ]);
  });
});

describe('transform lists', () => {
  it('run in order', () => {
    const t: Transform[] = [
      { type: 'split', separator: '|', index: 1 },
      { type: 'date', formats: ['DD.MM.YYYY'] },
    ];
    assert.equal(ok(t, 'x | 24.11.2026'), '2026-11-24');
  });
  it('are checked whatever JSON they are', () => {
    assert.deepEqual(transformProblems('trim', 1), ['transforms must be a list']);
    assert.deepEqual(transformProblems([42], 1), [
      'transform 1 must be an object with a type (trim, case, date, map, default, split, join)',
    ]);
    assert.deepEqual(transformProblems([{ type: 'reverse' }], 1), [
      'transform 1: unknown type "reverse" (one of trim, case, date, map, default, split, join)',
    ]);
    assert.deepEqual(transformProblems(undefined, 1), []);
  });
});
