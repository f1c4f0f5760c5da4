import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import {
  type CustomFieldDeclaration,
  customFieldProblems,
  withCustomFields,
} from '../../functions/core/transfer/custom-fields.ts';
import { isRealDate } from '../../functions/core/transfer/file-names.ts';
import { defaultImportJob, jobProblems } from '../../functions/core/transfer/jobs.ts';
import { suggestMapping } from '../../functions/core/transfer/smart-mapping.ts';
import { loadTemplate } from '../../functions/core/transfer/template-loader.ts';
import { mappableFields, sensitiveFields } from '../../functions/core/transfer/template-views.ts';
import { createCatalog, TEMPLATE_SOURCES, templates } from '../../functions/core/transfer/templates.ts';
import { validateRow } from '../../functions/core/transfer/validate.ts';
import fnPassportImport from '../../schemas/templates/fn_passport_import.json' with { type: 'json' };
import fnProfileImport from '../../schemas/templates/fn_profile_import.json' with { type: 'json' };
import visaInformationExport from '../../schemas/templates/visa_information_export.json' with { type: 'json' };

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

// ---------------------------------------------------------------------------------------------------------------
// The catalog

test('every template file is in the catalog and loads, with its version, direction and entity', () => {
  const files = readdirSync(new URL('../../schemas/templates/', import.meta.url)).filter((f) => f.endsWith('.json'));
  assert.deepEqual(
    TEMPLATE_SOURCES.map((s) => s.file.replace('schemas/templates/', '')).sort(),
    files.sort(),
    'a template file is missing from TEMPLATE_SOURCES in templates.ts (or listed without its file)',
  );
  assert.deepEqual(
    templates.all.map((t) => [t.id, t.version, t.direction, t.entity]),
    [
      ['fn_profile_import', 1, 'import', 'foreignNational'],
      ['fn_custom_data_import', 1, 'import', 'foreignNationalCustomData'],
      ['fn_passport_import', 1, 'import', 'passport'],
      ['fn_employment_import', 1, 'import', 'employment'],
      ['case_status_export', 1, 'export', 'case'],
      ['visa_information_export', 1, 'export', 'visa'],
      ['immigration_document_expirations_export', 1, 'export', 'immigrationDocument'],
      ['passport_information_export', 1, 'export', 'passport'],
      ['petition_reference_table_export', 1, 'export', 'petition'],
    ],
  );
  for (const t of templates.all) {
    assert.equal(t.file, `schemas/templates/${t.id}.json`);
    assert.ok(t.syncKeyCandidates.length > 0, t.id);
    for (const f of t.fields) assert.ok(f.description.length > 0, `${t.id}.${f.id}`);
  }
});

test('aliases name the same concept: no alias is another field, and the profile has no cost center', () => {
  const profile = templates.byId('fn_profile_import')!;
  const all = profile.fields.flatMap((f) => f.aliases.map((a) => a.toLowerCase()));
  assert.ok(!all.includes('cost center'), 'a cost center is not a department');
  assert.ok(!all.includes('original hire date'), 'the original hire date differs from the hire date after a rehire');
  for (const t of templates.all) {
    const owner = new Map<string, string>();
    for (const f of t.fields) {
      for (const h of [f.title, ...f.aliases]) {
        const key = h.trim().toLowerCase();
        assert.equal(owner.get(key) ?? f.id, f.id, `${t.id}: "${h}" names both ${owner.get(key)} and ${f.id}`);
        owner.set(key, f.id);
      }
    }
  }
});

test('the custom-data file name matches in any letter case, as the product spells it', () => {
  const t = templates.byId('fn_custom_data_import')!;
  assert.equal(t.fileNamePattern, 'fn_Custom_Data_import_YYYYMMDD.csv');
  for (const name of [
    'fn_Custom_Data_import_20151201.csv',
    'FN_CUSTOM_DATA_IMPORT_20151201.CSV',
    'fn_custom_data_import_20151201.csv',
    'inbound/acme/fn_Custom_Data_Import_20151201.Csv',
  ]) {
    const m = templates.matchFileName(name);
    assert.ok(m.ok, name);
    assert.equal(m.template.id, 'fn_custom_data_import');
    assert.equal(m.date, '2015-12-01');
  }
  for (const [name, id] of [
    ['fn_passport_import_20260101.csv', 'fn_passport_import'],
    ['FN_Employment_Import_20260101.csv', 'fn_employment_import'],
  ] as const) {
    const m = templates.matchFileName(name);
    assert.equal(m.ok && m.template.id, id);
  }
  const bad = templates.matchFileName('fn_Custom_Data_import_20150231.csv');
  assert.equal(!bad.ok && bad.reason, 'bad_date');
});

test('export file names are not imports; they match as exports', () => {
  const upload = templates.matchFileName('case_status_export_20260101.csv');
  assert.equal(!upload.ok && upload.reason, 'no_template');
  assert.match(!upload.ok ? upload.message : '', /case_status_export is an export template/);
  assert.match(!upload.ok ? upload.message : '', /fn_Custom_Data_import_YYYYMMDD\.csv/);
  assert.doesNotMatch(!upload.ok ? upload.message : '', /case_status_export_YYYYMMDD/);
  const exp = templates.matchFileName('Passport_Information_Export_20260101.csv', 'export');
  assert.equal(exp.ok && exp.template.id, 'passport_information_export');
  const notExport = templates.matchFileName('fn_profile_import_20260101.csv', 'export');
  assert.equal(!notExport.ok && notExport.reason, 'no_template');
});

test('export templates: columns, row keys and what their sensitive fields carry', () => {
  const columns = (id: string) => templates.byId(id)!.fields.map((f) => f.title);
  assert.deepEqual(columns('passport_information_export'), [
    'Employee ID',
    'Email',
    'First Name',
    'Last Name',
    'Passport Record ID',
    'Passport Number',
    'Issuing Country',
    'Nationality',
    'Issue Date',
    'Expiry Date',
    'Place of Issue',
    'Primary Passport',
  ]);
  const exported = (id: string) =>
    templates
      .byId(id)!
      .fields.filter((f) => f.sensitive)
      .map((f) => [f.id, f.exportAs]);
  assert.deepEqual(exported('passport_information_export'), [['passportNumber', 'full']]);
  assert.deepEqual(exported('visa_information_export'), [['visaNumber', 'full']]);
  assert.deepEqual(exported('immigration_document_expirations_export'), [['documentNumber', 'masked']]);
  assert.deepEqual(templates.byId('case_status_export')!.syncKeyCandidates, ['caseId']);
  assert.deepEqual(templates.byId('petition_reference_table_export')!.syncKeyCandidates, ['petitionId']);
  for (const t of templates.all.filter((x) => x.direction === 'export')) {
    assert.equal(t.fileNamePattern, `${t.id}_YYYYMMDD.csv`);
    assert.ok(
      t.fields.some((f) => f.id === 'employeeId' && f.required),
      `${t.id} names the employee`,
    );
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Loading fails loudly, naming the file

// biome-ignore lint/suspicious/noExplicitAny: the tests edit JSON documents freely
type Doc = Record<string, any>;
const passportDoc = () => structuredClone(fnPassportImport) as Doc;
const visaDoc = () => structuredClone(visaInformationExport) as Doc;
const loadAs = (document: Doc, file = 'schemas/templates/fn_passport_import.json') =>
  createCatalog([{ file, document }]);

test('a broken template names its file and the fault', () => {
  const typo = passportDoc();
  typo['x-integrator'].fields.passportNumber.aliasses = ['Passport No'];
  assert.throws(
    () => loadAs(typo),
    /^Error: schemas\/templates\/fn_passport_import\.json: unknown key x-integrator\.fields\.passportNumber\.aliasses/,
  );
  assert.throws(
    () => loadAs(passportDoc(), 'schemas/templates/passport.json'),
    /must be named fn_passport_import\.json/,
  );
  const sensitiveKey = passportDoc();
  sensitiveKey['x-integrator'].syncKeyCandidates = ['employeeId', 'passportNumber'];
  assert.throws(() => loadAs(sensitiveKey), /fn_passport_import\.json: sync key candidate passportNumber is sensitive/);
  const collision = passportDoc();
  collision['x-integrator'].fields.issueDate.aliases.push('Expiration Date');
  assert.throws(
    () => loadAs(collision),
    /alias "Expiration Date" of field issueDate is already a heading or alias of field expiryDate|alias "Expiration Date" of field expiryDate is already a heading or alias of field issueDate/,
  );
  const noRule = passportDoc();
  delete noRule['x-integrator'].fields.passportNumber.rule;
  assert.throws(() => loadAs(noRule), /field passportNumber has a pattern, so it needs a rule in words/);
  const badOrder = passportDoc();
  badOrder.dateOrder = [{ earlier: 'placeOfIssue', later: 'expiryDate' }];
  assert.throws(() => loadAs(badOrder), /dateOrder: placeOfIssue is not a date field/);
  const rootTypo = passportDoc();
  rootTypo.dateOrdre = [];
  assert.throws(() => loadAs(rootTypo), /unknown top-level keyword "dateOrdre"/);
  const open = passportDoc();
  open.additionalProperties = true;
  assert.throws(() => loadAs(open), /additionalProperties must be false/);
  const noDescription = passportDoc();
  delete noDescription.properties.placeOfIssue.description;
  assert.throws(() => loadAs(noDescription), /field placeOfIssue needs a description/);
  const exportAs = visaDoc();
  delete exportAs['x-integrator'].fields.visaNumber.exportAs;
  assert.throws(
    () => loadAs(exportAs, 'schemas/templates/visa_information_export.json'),
    /visa_information_export\.json: sensitive export field visaNumber must say exportAs "full" or "masked"/,
  );
  const importExportAs = passportDoc();
  importExportAs['x-integrator'].fields.passportNumber.exportAs = 'full';
  assert.throws(() => loadAs(importExportAs), /exportAs is only for sensitive fields of export templates/);
  const badEnum = passportDoc();
  badEnum.properties.isPrimary.enum = ['Yes', 'Yes'];
  assert.throws(() => loadAs(badEnum), /an enum value is listed twice/);
  const twoImportsOneEntity = structuredClone(fnProfileImport) as Doc;
  twoImportsOneEntity['x-integrator'].entity = 'passport';
  assert.throws(() => createCatalog([fnPassportImport, twoImportsOneEntity]), /both import entity passport/);
});

// ---------------------------------------------------------------------------------------------------------------
// Passport: sensitivity and cross-field rules

test('passport: the number is sensitive and never a key; expiry must follow issue', () => {
  const t = templates.byId('fn_passport_import')!;
  assert.deepEqual(t.sensitiveFields, ['passportNumber']);
  assert.deepEqual(sensitiveFields(t), ['passportNumber']);
  assert.deepEqual(t.syncKeyCandidates, ['employeeId', 'passportRecordId']);
  assert.deepEqual(t.rules, [{ kind: 'dateOrder', earlier: 'issueDate', later: 'expiryDate', allowEqual: false }]);
  const valid = { employeeId: 'E1', passportNumber: 'K1234567', issuingCountry: 'IN', expiryDate: '2031-05-31' };
  assert.deepEqual(validateRow(t, valid), []);
  assert.deepEqual(validateRow(t, { ...valid, issueDate: '2021-06-01', isPrimary: 'Yes', nationality: 'IN' }), []);
  const order = validateRow(t, { ...valid, issueDate: '2031-05-31' });
  assert.deepEqual(order, [
    { field: 'expiryDate', code: 'date_order', rule: 'a date after the Issue Date (2031-05-31)' },
  ]);
  // An unreadable issue date is its own error; the order is not judged against it.
  assert.deepEqual(
    validateRow(t, { ...valid, issueDate: '05/31/2021' }).map((v) => [v.field, v.code]),
    [['issueDate', 'invalid_date']],
  );
  assert.deepEqual(
    validateRow(t, { ...valid, passportNumber: 'k 123', issuingCountry: 'IND', isPrimary: 'TRUE' }).map((v) => [
      v.field,
      v.code,
    ]),
    [
      ['passportNumber', 'invalid_format'],
      ['issuingCountry', 'invalid_format'],
      ['isPrimary', 'not_allowed'],
    ],
  );
});

test('employment: currency comes with a salary, amounts are plain digits, the end is not before the start', () => {
  const t = templates.byId('fn_employment_import')!;
  assert.deepEqual(t.sensitiveFields, ['annualSalary']);
  const base = { employeeId: 'E1', legalEntity: 'Acme Inc.' };
  assert.deepEqual(
    validateRow(t, { ...base, annualSalary: '85000.50', salaryCurrency: 'USD', socCode: '15-1252.00' }),
    [],
  );
  assert.deepEqual(validateRow(t, { ...base, startDate: '2026-01-01', endDate: '2026-01-01' }), []);
  assert.deepEqual(
    validateRow(t, { ...base, annualSalary: '85000' }).map((v) => [v.field, v.code]),
    [['salaryCurrency', 'required']],
  );
  assert.deepEqual(
    validateRow(t, {
      ...base,
      annualSalary: '85,000',
      salaryCurrency: 'usd',
      hoursPerWeek: '1.23457E+15',
      socCode: '151252',
      startDate: '2026-01-02',
      endDate: '2026-01-01',
    }).map((v) => [v.field, v.code]),
    [
      ['hoursPerWeek', 'invalid_format'],
      ['socCode', 'invalid_format'],
      ['annualSalary', 'invalid_format'],
      ['salaryCurrency', 'invalid_format'],
      ['endDate', 'date_order'],
    ],
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Custom fields

const declarations: CustomFieldDeclaration[] = [
  { id: 'costCenterCode', title: 'Cost Center Code', type: 'string', required: true, maxLength: 20 },
  { id: 'visaSponsor', title: 'Visa Sponsor', type: 'boolean', aliases: ['Sponsorship Required'] },
  { id: 'grade', title: 'Grade', type: 'enum', values: ['G1', 'G2', 'G3'] },
  { id: 'bonusTarget', title: 'Bonus Target', type: 'number', sensitive: true },
  { id: 'reviewDate', title: 'Next Review', type: 'date' },
];

test("custom data: the row schema is the template plus the job's declared fields", () => {
  const base = templates.byId('fn_custom_data_import')!;
  assert.deepEqual(base.acceptsCustomFields, { max: 100 });
  const t = templates.forJob({ templateId: 'fn_custom_data_import', customFields: declarations });
  assert.equal(t.id, 'fn_custom_data_import');
  assert.deepEqual(
    t.fields.map((f) => [f.id, f.kind, f.required, f.sensitive, f.custom ?? false]),
    [
      ['employeeId', 'text', false, false, false],
      ['email', 'email', false, false, false],
      ['costCenterCode', 'text', true, false, true],
      ['visaSponsor', 'boolean', false, false, true],
      ['grade', 'enum', false, false, true],
      ['bonusTarget', 'number', false, true, true],
      ['reviewDate', 'date', false, false, true],
    ],
  );
  assert.deepEqual(t.sensitiveFields, ['bonusTarget']);
  assert.deepEqual(validateRow(t, { employeeId: 'E1', costCenterCode: 'CC-100', visaSponsor: 'No', grade: 'G2' }), []);
  assert.deepEqual(
    validateRow(t, {
      employeeId: 'E1',
      visaSponsor: 'true',
      grade: 'G4',
      bonusTarget: '10%',
      reviewDate: '2026-13-01',
      other: 'x',
    }).map((v) => [v.field, v.code]),
    [
      ['costCenterCode', 'required'],
      ['visaSponsor', 'not_allowed'],
      ['grade', 'not_allowed'],
      ['bonusTarget', 'invalid_format'],
      ['reviewDate', 'invalid_date'],
      ['other', 'unknown_field'],
    ],
  );
  assert.deepEqual(validateRow(t, { employeeId: 'E1', costCenterCode: 'x'.repeat(21) })[0]?.code, 'too_long');
  // The same declarations compile once per process; the base template is untouched.
  assert.equal(withCustomFields(base, declarations), t);
  assert.equal(withCustomFields(base, []), base);
  assert.equal(base.fields.length, 2);
  assert.equal(base.validate({ employeeId: 'E1', grade: 'G1' }), false);
});

test('custom data: a job maps and launches with its custom fields like built-in ones', () => {
  const t = templates.forJob({ templateId: 'fn_custom_data_import', customFields: declarations });
  const job = defaultImportJob('acme', 'fn_custom_data_import', 'custom-1');
  assert.deepEqual(job.mapping, [
    { column: 'Employee ID', field: 'employeeId' },
    { column: 'Email', field: 'email' },
  ]);
  const unmapped = jobProblems(job, t);
  assert.deepEqual(
    unmapped.map((p) => p.code),
    ['mandatory_field_unmapped'],
    'the required custom field must be mapped before launch',
  );
  const mapped = { ...job, mapping: [...job.mapping, { column: 'CC Code', field: 'costCenterCode' }] };
  assert.deepEqual(jobProblems(mapped, t), []);
  const suggestions = suggestMapping(['Worker ID', 'Cost Center Code', 'Sponsorship Required'], mappableFields(t));
  assert.deepEqual(
    suggestions.map((s) => s.field),
    ['employeeId', 'costCenterCode', 'visaSponsor'],
  );
});

test('custom field declarations are checked, every problem said', () => {
  const base = templates.byId('fn_custom_data_import')!;
  const problems = customFieldProblems(base, [
    { id: 'Employee', title: 'X', type: 'string' },
    { id: 'email', title: 'Mail', type: 'string' },
    { id: 'hash', title: 'Hash', type: 'string' },
    { id: 'grade', title: 'Worker ID', type: 'enum', values: [] },
    { id: 'level', title: 'Level', type: 'number', values: ['1'] },
    { id: 'flag', title: 'Flag', type: 'bool' as 'boolean' },
    { id: 'note', title: 'Note', type: 'date', maxLength: 10 },
  ]);
  assert.deepEqual(problems, [
    'custom field Employee: the id must be camelCase letters and digits, at most 64, starting with a lower-case letter',
    'custom field email: the id email is already used',
    'custom field hash: hash is reserved',
    'custom field grade: the heading "Worker ID" is already used by employeeId',
    'custom field grade: an enum needs 1 to 200 allowed values',
    'custom field level: values are only for type enum',
    'custom field flag: the type must be one of string, number, date, boolean, enum',
    'custom field note: maxLength is only for type string',
  ]);
  assert.throws(
    () =>
      withCustomFields(base, [
        { id: 'a', title: 'A', type: 'string' },
        { id: 'a', title: 'B', type: 'string' },
      ]),
    /template fn_custom_data_import: custom field a: the id a is already used/,
  );
  const profile = templates.byId('fn_profile_import')!;
  assert.deepEqual(customFieldProblems(profile, [{ id: 'x', title: 'X', type: 'string' }]), [
    'template fn_profile_import does not accept custom fields',
  ]);
  const tooMany = Array.from({ length: 101 }, (_, i) => ({ id: `f${i}`, title: `F${i}`, type: 'string' as const }));
  assert.match(customFieldProblems(base, tooMany)[0]!, /at most 100 custom fields, not 101/);
});

// ---------------------------------------------------------------------------------------------------------------
// Smart mapping

test('mappableFields gives smart mapping each field with its aliases and type', () => {
  const t = templates.byId('fn_passport_import')!;
  const fields = mappableFields(t);
  assert.deepEqual(
    fields.map((f) => [f.id, f.type, f.required]),
    [
      ['employeeId', 'string', true],
      ['passportRecordId', 'string', false],
      ['passportNumber', 'string', true],
      ['issuingCountry', 'string', true],
      ['nationality', 'string', false],
      ['issueDate', 'date', false],
      ['expiryDate', 'date', true],
      ['placeOfIssue', 'string', false],
      ['isPrimary', 'enum', false],
    ],
  );
  assert.ok(fields[2]!.aliases!.includes('Passport No'));
  const headers = ['Worker ID', 'Passport No.', 'Country of Issue', 'Date of Issue', 'Date of Expiry', 'Is Primary'];
  assert.deepEqual(
    suggestMapping(headers, fields).map((s) => s.field),
    ['employeeId', 'passportNumber', 'issuingCountry', 'issueDate', 'expiryDate', 'isPrimary'],
  );
  const employment = mappableFields(templates.byId('fn_employment_import')!);
  assert.equal(employment.find((f) => f.id === 'annualSalary')?.type, 'number');
  assert.equal(employment.find((f) => f.id === 'timeType')?.type, 'enum');
});
