import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defaultExportJob,
  type ExportJob,
  exportJobProblems,
  readExportJobDefinition,
  saveExportJob,
} from '../../functions/core/transfer/export-jobs.ts';
import { compileExportPipeline, dateFormatter } from '../../functions/core/transfer/export-transforms.ts';
import { templates } from '../../functions/core/transfer/templates.ts';

const passports = templates.byId('passport_information_export')!;
const cases = templates.byId('case_status_export')!;

test('the default export job maps every non-sensitive field and has no problems', () => {
  const job = defaultExportJob('acme', passports, 'passports');
  assert.deepEqual(exportJobProblems(job, passports), []);
  assert.ok(!job.mapping.some((e) => e.field === 'passportNumber'), 'the passport number is not exported unasked');
  const named = defaultExportJob('acme', passports, 'passports', { sensitiveFields: ['passportNumber'] });
  assert.ok(named.mapping.some((e) => e.field === 'passportNumber'));
});

test('a sensitive field is exported only by a job that names it; problems name the field', () => {
  const job: ExportJob = {
    ...defaultExportJob('acme', passports, 'p'),
    mapping: [
      { column: 'Passport', field: 'passportNumber' },
      { column: 'ID', field: 'employeeId' },
    ],
  };
  const problems = exportJobProblems(job, passports);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.code, 'sensitive_field_not_named');
  assert.equal(problems[0]!.field, 'passportNumber');
  assert.match(problems[0]!.message, /Passport Number \(passportNumber\) is sensitive/);
  assert.deepEqual(exportJobProblems({ ...job, sensitiveFields: ['passportNumber'] }, passports), []);
  const wrong = exportJobProblems({ ...job, sensitiveFields: ['passportNumber', 'employeeId', 'nope'] }, passports);
  assert.deepEqual(
    wrong.map((p) => [p.code, p.field]),
    [
      ['not_sensitive', 'employeeId'],
      ['unknown_field', 'nope'],
    ],
  );
});

test('mapping, transform, option and filter problems each name what is wrong', () => {
  const job: ExportJob = {
    ...defaultExportJob('acme', cases, 'c'),
    mapping: [
      { column: 'Case', field: 'caseId' },
      { column: 'case', field: 'caseType' },
      { column: 'Opened', field: 'openedDate', transforms: [{ type: 'formatDate', format: 'MM/DD/YYYY' }] },
      { column: 'Status', field: 'caseStatus', transforms: [{ type: 'formatDate', format: 'MM/DD/YYYY' }] },
      { column: 'Who', fields: ['firstName', 'lastName'] },
      { column: 'X', field: 'salary' },
    ],
    timeZone: 'Mars/Olympus',
    csv: { delimiter: 'ab', bom: true, lineEnding: 'lf', neutralizeFormulas: true },
    filters: [
      { field: 'caseStatus', op: 'in', values: ['Open'] },
      { field: 'nope', op: 'isEmpty' },
    ],
  };
  const codes = exportJobProblems(job, cases).map((p) => `${p.code}:${p.field ?? ''}`);
  assert.deepEqual(codes, [
    'invalid_time_zone:',
    'invalid_csv_option:',
    'duplicate_column:',
    'invalid_transform:caseStatus',
    'invalid_transform:firstName',
    'unknown_field:salary',
    'filter_field_unmapped:',
  ]);
});

test('outward transforms: formatDate, value maps, defaults, join', () => {
  assert.equal(dateFormatter('MM/DD/YYYY')('2026-03-04'), '03/04/2026');
  assert.equal(dateFormatter('D MMM YY')('2026-03-04'), '4 Mar 26');
  assert.equal(dateFormatter('DD.MM.YYYY')(''), '');
  assert.equal((dateFormatter('DD.MM.YYYY')('2026-02-30') as { code: string }).code, 'invalid_date');
  const status = compileExportPipeline([{ type: 'map', values: { Approved: 'APPR', Open: 'OPEN' }, unmapped: 'keep' }]);
  assert.equal(status.run(['Approved']), 'APPR');
  assert.equal(status.run(['Filed']), 'Filed');
  assert.equal(compileExportPipeline([], 'n/a').run(['']), 'n/a');
  assert.equal(compileExportPipeline([{ type: 'join', separator: ' ' }]).run(['Ana', '', 'Silva']), 'Ana Silva');
  assert.equal(
    compileExportPipeline([
      { type: 'formatDate', format: 'YYYYMMDD' },
      { type: 'default', value: '-' },
    ]).run(['']),
    '-',
  );
});

test('saving: shape problems name the property; a save keeps the export progress', () => {
  const bad = readExportJobDefinition({
    direction: 'export',
    templateId: 'case_status_export',
    mode: 'weekly',
    csv: { bom: 1 },
    extra: 1,
  });
  assert.equal(bad.ok, false);
  if (!bad.ok) {
    assert.deepEqual(
      bad.problems.map((p) => p.message),
      ['unknown property extra', 'mode must be one of full, incremental', 'csv.bom must be true or false'],
    );
  }
  const read = readExportJobDefinition({ direction: 'export', templateId: 'case_status_export', mode: 'incremental' });
  assert.ok(read.ok);
  if (!read.ok) return;
  const now = new Date('2026-12-02T00:00:00Z');
  const first = saveExportJob({ org: 'acme', jobId: 'cases', definition: read.definition, catalog: templates, now });
  assert.ok(first.ok);
  if (!first.ok) return;
  assert.deepEqual(first.problems, []);
  assert.equal(first.job.status, 'draft');
  const existing = {
    ...first.job,
    status: 'launched' as const,
    lastExport: { mark: 42, runId: 'r', at: now.toISOString() },
  };
  const again = saveExportJob({
    org: 'acme',
    jobId: 'cases',
    existing,
    definition: { ...read.definition, revision: 1 },
    catalog: templates,
    now,
  });
  assert.ok(again.ok && again.job.lastExport?.mark === 42 && again.job.status === 'launched');
  const importTemplate = saveExportJob({
    org: 'acme',
    jobId: 'x',
    definition: { direction: 'export', templateId: 'fn_profile_import' },
    catalog: templates,
    now,
  });
  assert.ok(!importTemplate.ok && importTemplate.code === 'not_an_export_template');
});
