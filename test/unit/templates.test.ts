import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCatalog, isRealDate, loadTemplate, templates } from '../../functions/core/transfer/templates.ts';
import fnProfileImport from '../../schemas/templates/fn_profile_import.json' with { type: 'json' };

test('the foreign-national profile template loads with its fields, headings and sync keys', () => {
  const t = templates.byId('fn_profile_import');
  assert.ok(t);
  assert.equal(t.entity, 'foreignNational');
  assert.equal(t.direction, 'import');
  assert.deepEqual(t.syncKeyCandidates, ['employeeId', 'email']);
  assert.deepEqual(
    t.fields.map((f) => f.title),
    [
      'Employee ID',
      'First Name',
      'Last Name',
      'Nick Name',
      'Email',
      'Department',
      'Job Title',
      'Hire Date',
      'Work Location',
      'Manager Email',
      'Country of Citizenship',
      'Status',
    ],
  );
  assert.deepEqual(
    t.fields.filter((f) => f.required).map((f) => f.id),
    ['employeeId', 'firstName', 'lastName', 'email'],
  );
  assert.equal(t.field('email')?.keyCase, 'lower');
});

test('a file name matches its template case-insensitively, with a real upload date', () => {
  const ok = templates.matchFileName('fn_profile_import_20261124.csv');
  assert.ok(ok.ok);
  assert.equal(ok.template.id, 'fn_profile_import');
  assert.equal(ok.date, '2026-11-24');
  assert.equal(templates.matchFileName('FN_Profile_Import_20240229.CSV').ok, true);
  assert.equal(templates.matchFileName('sub/dir/fn_profile_import_20261124.Csv').ok, true);
  const badDate = templates.matchFileName('fn_profile_import_20260230.csv');
  assert.equal(badDate.ok, false);
  assert.equal(!badDate.ok && badDate.reason, 'bad_date');
  assert.equal(!badDate.ok && badDate.reason, 'bad_date');
  const month13 = templates.matchFileName('fn_profile_import_20261301.csv');
  assert.equal(!month13.ok && month13.reason, 'bad_date');
  const unknown = templates.matchFileName('payroll_20261124.csv');
  assert.equal(!unknown.ok && unknown.reason, 'no_template');
  assert.match(!unknown.ok ? unknown.message : '', /fn_profile_import_YYYYMMDD\.csv/);
  const short = templates.matchFileName('fn_profile_import_2026112.csv');
  assert.equal(!short.ok && short.reason, 'no_template');
  const xlsx = templates.matchFileName('fn_profile_import_20261124.xlsx');
  assert.equal(!xlsx.ok && xlsx.reason, 'not_csv');
});

test('real dates only', () => {
  assert.equal(isRealDate(2024, 2, 29), true);
  assert.equal(isRealDate(2025, 2, 29), false);
  assert.equal(isRealDate(2026, 0, 1), false);
  assert.equal(isRealDate(2026, 12, 31), true);
});

test('a template whose metadata contradicts its schema does not load', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the test edits a JSON document freely
  const copy = () => structuredClone(fnProfileImport) as Record<string, any>;
  const noTitle = copy();
  delete noTitle['x-integrator'].fields.status;
  assert.throws(() => loadTemplate(noTitle), /field status needs x-integrator\.fields\.status\.title/);
  const badKey = copy();
  badKey['x-integrator'].syncKeyCandidates = ['passport'];
  assert.throws(() => loadTemplate(badKey), /sync key candidate passport/);
  const reserved = copy();
  reserved.properties.hash = { type: 'string' };
  reserved['x-integrator'].fields.hash = { title: 'Hash' };
  assert.throws(() => loadTemplate(reserved), /reserved/);
  const badPattern = copy();
  badPattern['x-integrator'].fileNamePattern = 'profile.csv';
  assert.throws(() => loadTemplate(badPattern), /fileNamePattern/);
  const unknownKeyword = copy();
  unknownKeyword.properties.status.enumm = ['A'];
  assert.throws(() => loadTemplate(unknownKeyword), /strict mode|unknown keyword/);
  assert.throws(() => createCatalog([fnProfileImport, fnProfileImport]), /defined twice/);
});
