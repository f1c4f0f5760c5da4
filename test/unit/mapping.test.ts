import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseJob, defaultImportJob, jobProblems } from '../../functions/core/transfer/jobs.ts';
import { headerProblems, mapRow, recordKeyOf, resolveHeader } from '../../functions/core/transfer/mapping.ts';
import { templates } from '../../functions/core/transfer/templates.ts';

const t = templates.byId('fn_profile_import')!;

test('the default job maps every template heading 1:1 and is launched', () => {
  const job = defaultImportJob('acme', 'fn_profile_import', 'job-1');
  assert.equal(job.status, 'launched');
  assert.equal(job.syncKey, 'employeeId');
  assert.equal(job.preference, 'create_update');
  assert.equal(job.mapping.length, t.fields.length);
  assert.deepEqual(job.mapping[3], { column: 'Nick Name', field: 'preferredName' });
  assert.deepEqual(jobProblems(job, t), []);
  assert.throws(() => defaultImportJob('acme', 'nope', 'j'), /unknown template/);
});

test('a job without a mandatory field mapped cannot be launched', () => {
  const job = defaultImportJob('acme', 'fn_profile_import', 'job-1');
  const draft = { ...job, status: 'draft' as const, mapping: job.mapping.filter((m) => m.field !== 'lastName') };
  assert.deepEqual(
    jobProblems(draft, t).map((p) => p.code),
    ['mandatory_field_unmapped'],
  );
  const twice = { ...job, mapping: [...job.mapping, { column: 'Preferred Name', field: 'preferredName' }] };
  assert.deepEqual(
    jobProblems(twice, t).map((p) => p.code),
    ['field_mapped_twice'],
  );
});

test('header matching ignores case and surrounding spaces; unknown and missing columns are reported', () => {
  const mapping = [
    { column: 'Worker ID', field: 'employeeId' },
    { column: 'First Name', field: 'firstName' },
    { column: 'Last Name', field: 'lastName' },
    { column: 'Email', field: 'email' },
    { column: 'Preferred Name', field: 'preferredName' },
  ];
  const header = ['  worker   id ', 'FIRST NAME', 'Last Name', 'E-mail', 'Shoe Size'];
  const resolved = resolveHeader(header, mapping, t, 'employeeId');
  assert.deepEqual(
    resolved.bound.map((b) => [b.index, b.field]),
    [
      [0, 'employeeId'],
      [1, 'firstName'],
      [2, 'lastName'],
    ],
  );
  assert.deepEqual(resolved.missingRequired, [{ column: 'Email', field: 'email' }]);
  assert.deepEqual(resolved.missingOptional, [{ column: 'Preferred Name', field: 'preferredName' }]);
  assert.deepEqual(resolved.unknown, ['E-mail', 'Shoe Size']);
  const problems = headerProblems(resolved, t, 'f.csv');
  assert.equal(problems.stop?.code, 'missing_required_column');
  assert.match(problems.stop?.message ?? '', /"Email"/);
  assert.deepEqual(
    problems.warnings.map((w) => w.code),
    ['missing_optional_column', 'unknown_column', 'unknown_column'],
  );
  assert.equal(resolved.columnOf.get('employeeId'), '  worker   id ');
});

test('rows are mapped with trimmed values; empty cells are absent', () => {
  const job = defaultImportJob('acme', 'fn_profile_import', 'job-1');
  const resolved = resolveHeader(
    ['Employee ID', 'First Name', 'Last Name', 'Email', 'Nick Name'],
    job.mapping,
    t,
    'employeeId',
  );
  assert.deepEqual(mapRow([' E1 ', 'Ana', 'Silva', 'Ana@Example.com', '   '], resolved), {
    employeeId: 'E1',
    firstName: 'Ana',
    lastName: 'Silva',
    email: 'Ana@Example.com',
  });
  assert.deepEqual(resolved.writes, ['email', 'employeeId', 'firstName', 'lastName', 'preferredName']);
  assert.equal(recordKeyOf(t, 'email', 'Ana@Example.com'), 'ana@example.com');
  assert.equal(recordKeyOf(t, 'employeeId', 'E1'), 'E1');
});

test('the launched job of the template handles the file; none or two is a stop with a reason', () => {
  const job = defaultImportJob('acme', 'fn_profile_import', 'job-1');
  const choice = chooseJob([job], t, templates, 'f.csv');
  assert.equal(choice.ok, true);
  const none = chooseJob([{ ...job, status: 'draft' }], t, templates, 'f.csv');
  assert.equal(!none.ok && none.code, 'no_launched_job');
  const two = chooseJob([job, { ...job, jobId: 'job-2' }], t, templates, 'f.csv');
  assert.equal(!two.ok && two.code, 'several_jobs');
});
