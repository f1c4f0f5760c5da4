import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withCustomFields } from '../../functions/core/transfer/custom-fields.ts';
import { chooseJob, defaultImportJob, jobProblems } from '../../functions/core/transfer/jobs.ts';
import {
  type CustomField,
  declarationsOf,
  headerProblems,
  type MappingEntry,
  type MappingFailure,
  mandatoryFields,
  mapRow,
  recordKeyOf,
  resolveHeader,
  suggestJobMapping,
} from '../../functions/core/transfer/mapping.ts';
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

test('a column may feed several fields (split), and several columns one field (join)', () => {
  const mapping: MappingEntry[] = [
    { column: 'Worker', field: 'employeeId' },
    { column: 'Name', field: 'lastName', transforms: [{ type: 'split', separator: ',', index: 0 }] },
    { column: 'Name', field: 'firstName', transforms: [{ type: 'split', separator: ',', index: 1 }] },
    {
      columns: ['Mail User', 'Mail Domain'],
      field: 'email',
      transforms: [
        { type: 'join', separator: '@' },
        { type: 'case', to: 'lower' },
      ],
    },
    { column: 'Status', field: 'status', default: 'Active' },
  ];
  const resolved = resolveHeader(['Worker', 'Name', 'Mail Domain', 'Status', 'Mail User'], mapping, t, 'employeeId');
  assert.deepEqual(resolved.unknown, []);
  assert.equal(resolved.columnOf.get('email'), 'Mail User + Mail Domain');
  assert.deepEqual(resolved.writes, ['email', 'employeeId', 'firstName', 'lastName', 'status']);
  assert.deepEqual(mapRow(['E1', 'Silva, Ana', 'Example.COM', '', 'ana'], resolved), {
    employeeId: 'E1',
    lastName: 'Silva',
    firstName: 'Ana',
    email: 'ana@example.com',
    status: 'Active',
  });
  const missing = resolveHeader(['Worker', 'Name', 'Mail User', 'Status'], mapping, t, 'employeeId');
  const stop = headerProblems(missing, t, 'f.csv').stop;
  assert.equal(
    stop?.message,
    'f.csv: the required column "Mail User" + "Mail Domain" is missing from the header, so nothing was imported',
  );
});

test('a failed transform leaves the field out and is reported with the column', () => {
  const mapping: MappingEntry[] = [
    { column: 'ID', field: 'employeeId' },
    { column: 'Hired', field: 'hireDate', transforms: [{ type: 'date', formats: ['MM/DD/YYYY'] }] },
  ];
  const resolved = resolveHeader(['ID', 'Hired'], mapping, t, 'employeeId');
  const failures: MappingFailure[] = [];
  assert.deepEqual(mapRow(['E1', '24.11.2026'], resolved, failures), { employeeId: 'E1' });
  assert.deepEqual(failures, [
    {
      field: 'hireDate',
      column: 'Hired',
      failure: { code: 'invalid_date', transform: 'date', value: '24.11.2026', rule: 'a date written MM/DD/YYYY' },
    },
  ]);
  assert.deepEqual(mapRow(['E1', '11/24/2026'], resolved), { employeeId: 'E1', hireDate: '2026-11-24' });
});

test('a filtered field whose column is missing stops the run like a required one', () => {
  const mapping: MappingEntry[] = [
    { column: 'ID', field: 'employeeId' },
    { column: 'Status', field: 'status' },
  ];
  const resolved = resolveHeader(['ID'], mapping, t, 'employeeId', { alsoRequired: ['status'] });
  assert.deepEqual(resolved.missingRequired, [{ column: 'Status', field: 'status' }]);
});

test('custom fields: with the composed template, they are fields like the others', () => {
  const custom = templates.byId('fn_custom_data_import')!;
  const customFields: CustomField[] = [
    { id: 'zoomId', title: 'Zoom ID', type: 'string', unique: true },
    { id: 'grade', title: 'Grade', type: 'enum', values: ['A', 'B'], required: true },
    { id: 'badge', title: 'Badge', type: 'string', sensitive: true },
  ];
  assert.deepEqual(declarationsOf(customFields)[0], { id: 'zoomId', title: 'Zoom ID', type: 'string' });
  const composed = withCustomFields(custom, declarationsOf(customFields));
  const resolved = resolveHeader(
    ['Zoom', 'Grade', 'Badge'],
    [
      { column: 'Zoom', field: 'zoomId' },
      { column: 'Grade', field: 'grade' },
      { column: 'Badge', field: 'badge' },
    ],
    composed,
    'zoomId',
  );
  assert.deepEqual(mapRow(['z-1', 'A', 'B-77'], resolved), { zoomId: 'z-1', grade: 'A', badge: 'B-77' });
  assert.equal(composed.field('badge')?.sensitive, true);
  assert.deepEqual(mandatoryFields(composed, 'zoomId'), ['zoomId', 'grade']);
  assert.equal(recordKeyOf(composed, 'zoomId', 'Z-1'), 'Z-1');
});

test('smart mapping for a job: suggestions with confidence, a ready mapping, and what is still unmapped', () => {
  const s = suggestJobMapping(t, ['Worker ID', 'Given Name', 'Surname', 'Start Date', 'Shoe Size'], {
    samples: [
      ['E1', 'Ana', 'Silva', '11/24/2026', '38'],
      ['E2', 'Bo', 'Li', '1/2/2025', '42'],
    ],
  });
  assert.deepEqual(
    s.columns.map((c) => [c.column, c.field]),
    [
      ['Worker ID', 'employeeId'],
      ['Given Name', 'firstName'],
      ['Surname', 'lastName'],
      ['Start Date', 'hireDate'],
      ['Shoe Size', undefined],
    ],
  );
  assert.ok(s.columns.every((c) => c.confidence >= 0 && c.confidence <= 1));
  assert.deepEqual(s.columns[3]!.transforms, [{ type: 'date', formats: ['M/D/YYYY'] }]);
  assert.deepEqual(s.mapping[3], {
    column: 'Start Date',
    field: 'hireDate',
    transforms: [{ type: 'date', formats: ['M/D/YYYY'] }],
  });
  assert.deepEqual(s.unmappedRequired, [{ field: 'email', title: 'Email' }]);
  assert.deepEqual(s.syncKeys, [
    { field: 'employeeId', title: 'Employee ID', mapped: true },
    { field: 'email', title: 'Email', mapped: false },
  ]);
  const ambiguous = suggestJobMapping(t, ['Hire Date'], { samples: [['03/04/2026']] });
  assert.equal(ambiguous.columns[0]!.transforms, undefined);
  assert.match(ambiguous.columns[0]!.note ?? '', /M\/D\/YYYY or D\/M\/YYYY: choose the format/);
  const composed = withCustomFields(templates.byId('fn_custom_data_import')!, [
    { id: 'zoomId', title: 'Zoom ID', type: 'string' },
  ]);
  const custom = suggestJobMapping(composed, ['Zoom ID', 'Worker ID'], { uniqueFields: ['zoomId'] });
  assert.deepEqual(
    custom.columns.map((c) => c.field),
    ['zoomId', 'employeeId'],
  );
  assert.deepEqual(custom.syncKeys, [
    { field: 'employeeId', title: 'Employee ID', mapped: true },
    { field: 'email', title: 'Email', mapped: false },
    { field: 'zoomId', title: 'Zoom ID', mapped: true },
  ]);
});
