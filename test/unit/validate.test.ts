import assert from 'node:assert/strict';
import { test } from 'node:test';
import { templates } from '../../functions/core/transfer/templates.ts';
import { maskValue, validateRow } from '../../functions/core/transfer/validate.ts';

const t = templates.byId('fn_profile_import')!;
const valid = { employeeId: 'E1', firstName: 'Ana', lastName: 'Silva', email: 'ana@example.com' };

test('a complete row is valid', () => {
  assert.deepEqual(
    validateRow(t, {
      ...valid,
      preferredName: 'Annie',
      department: 'R&D',
      jobTitle: 'Engineer',
      hireDate: '2024-02-29',
      workLocation: 'Berlin',
      managerEmail: 'boss@example.com',
      citizenship: 'BR',
      status: 'Active',
    }),
    [],
  );
  assert.deepEqual(validateRow(t, valid), []);
});

test('every broken rule is named in words, per field, in template order', () => {
  const violations = validateRow(t, {
    employeeId: '1.23457E+15',
    lastName: 'x'.repeat(101),
    email: 'not-an-email',
    hireDate: '11/24/2026',
    citizenship: 'br',
    status: 'active',
  });
  assert.deepEqual(
    violations.map((v) => [v.field, v.code]),
    [
      ['employeeId', 'invalid_format'],
      ['firstName', 'required'],
      ['lastName', 'too_long'],
      ['email', 'invalid_email'],
      ['hireDate', 'invalid_date'],
      ['citizenship', 'invalid_format'],
      ['status', 'not_allowed'],
    ],
  );
  const rule = (field: string) => violations.find((v) => v.field === field)?.rule;
  assert.match(rule('employeeId')!, /scientific notation/);
  assert.equal(rule('lastName'), 'at most 100 characters');
  assert.match(rule('hireDate')!, /YYYY-MM-DD/);
  assert.match(rule('citizenship')!, /ISO 3166-1/);
  assert.match(rule('status')!, /one of Active, Inactive, Terminated, Leave/);
  assert.match(rule('firstName')!, /required/);
});

test('an impossible date is rejected, not guessed', () => {
  assert.equal(validateRow(t, { ...valid, hireDate: '2026-02-30' })[0]?.code, 'invalid_date');
  assert.equal(validateRow(t, { ...valid, hireDate: '2026-2-3' })[0]?.code, 'invalid_date');
});

test('masked values hide all but the last two characters', () => {
  assert.equal(maskValue('X1234567'), '****67');
  assert.equal(maskValue('ab'), '****');
});

test('a country field accepts only assigned ISO 3166-1 alpha-2 codes, from the one shipped list', async () => {
  const { ASSIGNED_COUNTRY_CODES } = await import('../../functions/core/transfer/countries.ts');
  assert.equal(ASSIGNED_COUNTRY_CODES, 249);
  for (const code of ['XX', 'UK', 'EU', 'XK', 'AA', 'ZZ']) {
    const violations = validateRow(t, { ...valid, citizenship: code });
    assert.deepEqual(
      violations.map((v) => [v.field, v.code]),
      [['citizenship', 'invalid_country']],
      code,
    );
    assert.match(violations[0]!.rule, new RegExp(`${code} is not an assigned country code`));
  }
  for (const code of ['GB', 'DE', 'IN', 'US', 'SS', 'CW', 'AX'])
    assert.deepEqual(validateRow(t, { ...valid, citizenship: code }), [], code);
  // Another shape is the pattern's error alone, named once.
  assert.deepEqual(
    validateRow(t, { ...valid, citizenship: 'gb' }).map((v) => v.code),
    ['invalid_format'],
  );
  const passport = templates.byId('fn_passport_import')!;
  const row = { employeeId: 'E1', passportNumber: 'X1234567', issuingCountry: 'XX', expiryDate: '2030-01-01' };
  assert.deepEqual(
    validateRow(passport, row).map((v) => [v.field, v.code]),
    [['issuingCountry', 'invalid_country']],
  );
});
