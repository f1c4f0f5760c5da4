import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReservedName, ownValue } from '../../functions/core/reserved-names.ts';
import {
  composeJobTemplate,
  defaultImportJob,
  type ImportJob,
  type JobDefinition,
  jobProblems,
  launchJob,
  readJobDefinition,
  saveJob,
} from '../../functions/core/transfer/jobs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';

const t = templates.byId('fn_profile_import')!;
const now = new Date('2026-11-24T07:00:00.000Z');

const custom = templates.byId('fn_custom_data_import')!;

function draft(overrides: Partial<ImportJob> = {}): ImportJob {
  return { ...defaultImportJob('acme', 'fn_profile_import', 'j1'), status: 'draft', ...overrides };
}

describe('jobProblems', () => {
  it('names every unmapped mandatory field, one problem each', () => {
    const problems = jobProblems(draft({ mapping: [{ column: 'Department', field: 'department' }] }), t);
    assert.deepEqual(
      problems.map((p) => p.message),
      [
        'job j1: Employee ID (employeeId) is mandatory (the sync key) and no column is mapped to it',
        'job j1: First Name (firstName) is mandatory and no column is mapped to it',
        'job j1: Last Name (lastName) is mandatory and no column is mapped to it',
        'job j1: Email (email) is mandatory and no column is mapped to it',
      ],
    );
    assert.ok(problems.every((p) => p.code === 'mandatory_field_unmapped'));
  });

  it('the sync key is mandatory even when the template does not require the field', () => {
    const job = defaultImportJob('acme', 'fn_profile_import', 'j1');
    const byName = { ...job, syncKey: 'email', mapping: job.mapping.filter((m) => m.field !== 'email') };
    assert.deepEqual(
      jobProblems(byName, t).map((p) => p.message),
      ['job j1: Email (email) is mandatory (the sync key) and no column is mapped to it'],
    );
  });

  it('names bad entries, transforms, filters and options', () => {
    const job = draft({
      syncKey: 'department',
      preference: 'sometimes' as ImportJob['preference'],
      mapping: [
        ...defaultImportJob('acme', 'fn_profile_import', 'j1').mapping.filter((m) => m.field !== 'hireDate'),
        { column: 'Hired', field: 'hireDate', transforms: [{ type: 'date', formats: ['MDYYYY'] }] },
        { column: 'Shoe', field: 'shoeSize' },
        { columns: ['A'], field: 'jobTitle' },
      ],
      filters: [{ field: 'custom.x', op: 'equals', value: 'y' }],
    });
    const messages = jobProblems(job, t).map((p) => `${p.code}: ${p.message}`);
    assert.deepEqual(messages, [
      'invalid_sync_key: job j1: the sync key must be one of employeeId, email (or a custom field declared unique), not department',
      'invalid_preference: job j1: unknown preference sometimes (one of create_update, create_only, update_only)',
      'invalid_transform: job j1: Hire Date (hireDate) from "Hired": transform 1 (date): date format "MDYYYY": M and D (one or two digits) need a separator from the number next to them; write MM or DD for a fixed width',
      'unknown_field: job j1: column "Shoe" is mapped to shoeSize, which template fn_profile_import does not have',
      'invalid_mapping_entry: job j1: the entry for jobTitle lists 1 column in columns; use column for one',
      'field_mapped_twice: job j1: Job Title (jobTitle) is mapped from two columns',
      'filter_field_unmapped: job j1: filter 1 tests custom.x, which no column is mapped to',
    ]);
  });

  it('custom fields: only on templates that accept them; a unique one may be the sync key', () => {
    const onProfile = draft({ customFields: [{ id: 'zoomId', title: 'Zoom ID', type: 'string' }] });
    assert.deepEqual(
      jobProblems(onProfile, t).map((p) => p.message),
      ['job j1: template fn_profile_import does not accept custom fields'],
    );
    const job: ImportJob = {
      ...draft(),
      templateId: custom.id,
      syncKey: 'zoomId',
      customFields: [
        { id: 'zoomId', title: 'Zoom ID', type: 'string', unique: true },
        { id: 'grade', title: 'Grade', type: 'enum', values: ['A', 'B'], required: true },
      ],
      mapping: [
        { column: 'Zoom ID', field: 'zoomId' },
        { column: 'Grade', field: 'grade' },
      ],
    };
    assert.deepEqual(jobProblems(job, custom), []);
    const notUnique = { ...job, customFields: [{ ...job.customFields![0]!, unique: false }, job.customFields![1]!] };
    assert.deepEqual(
      jobProblems(notUnique, custom).map((p) => p.message),
      ['job j1: the sync key must be one of employeeId, email (or a custom field declared unique), not zoomId'],
    );
    const unmapped = { ...job, mapping: [job.mapping[0]!, { column: 'Level', field: 'level' }] };
    assert.deepEqual(
      jobProblems(unmapped, custom).map((p) => p.message),
      [
        'job j1: column "Level" is mapped to level, which template fn_custom_data_import does not have (nor the custom fields the job declares)',
        'job j1: Grade (grade) is mandatory and no column is mapped to it',
      ],
    );
    const bad = {
      ...job,
      customFields: [
        { id: 'Zoom_ID', title: 'Zoom', type: 'color', unique: 'yes' },
      ] as unknown as ImportJob['customFields'],
    };
    assert.deepEqual(
      jobProblems(bad, custom)
        .filter((p) => p.code === 'invalid_custom_field')
        .map((p) => p.message),
      [
        'job j1: custom field Zoom_ID: the id must be camelCase letters and digits, at most 64, starting with a lower-case letter',
        'job j1: custom field Zoom_ID: the type must be one of string, number, date, boolean, enum',
        'job j1: custom field Zoom_ID: unique must be true or false',
      ],
    );
  });
});

describe('launch', () => {
  it('a draft stays a draft until its mandatory fields are mapped; launching it is refused with the problems', () => {
    const incomplete = draft({ mapping: [{ column: 'Employee ID', field: 'employeeId' }] });
    const refused = launchJob(incomplete, t);
    assert.equal(refused.ok, false);
    assert.deepEqual(!refused.ok && refused.problems.map((p) => p.code), [
      'mandatory_field_unmapped',
      'mandatory_field_unmapped',
      'mandatory_field_unmapped',
    ]);
    const complete = launchJob(draft(), t);
    assert.equal(complete.ok && complete.job.status, 'launched');
  });

  it('only one launched job per template', () => {
    const other = { ...defaultImportJob('acme', 'fn_profile_import', 'j0'), name: 'Old profile job' };
    const refused = launchJob(draft(), t, [other]);
    assert.deepEqual(!refused.ok && refused.problems.map((p) => p.message), [
      'job j1: job j0 (Old profile job) is already launched for template fn_profile_import; a file must have exactly one job, so put that one back to draft first',
    ]);
    assert.equal(launchJob(draft(), t, [{ ...other, status: 'draft' }]).ok, true);
  });
});

describe('readJobDefinition', () => {
  it('accepts a minimal definition', () => {
    assert.deepEqual(readJobDefinition({ templateId: 'fn_profile_import' }), {
      ok: true,
      definition: { templateId: 'fn_profile_import', mapping: [] },
    });
  });
  it('names every shape problem', () => {
    const read = readJobDefinition({
      templateId: 3,
      mapping: [{ field: 'x' }, { column: 'A', field: 'a', transform: [] }, 'B'],
      status: 'launched',
      preference: 'always',
      filter: [],
    });
    assert.equal(read.ok, false);
    assert.deepEqual(!read.ok && read.problems.map((p) => p.message), [
      'unknown property filter',
      'templateId is required',
      'preference must be one of create_update, create_only, update_only',
      'status cannot be set to launched here: launch the job with POST /v1/jobs/{jobId}/launch',
      'mapping entry 1: column (or columns) is required',
      'mapping entry 2: unknown property transform',
      'mapping entry 3 must be an object: { column, field }',
    ]);
    assert.equal(readJobDefinition([]).ok, false);
  });
});

describe('saveJob', () => {
  const base = (definition: Partial<JobDefinition> = {}, existing?: ImportJob) =>
    saveJob({
      org: 'acme',
      jobId: 'j1',
      definition: { templateId: 'fn_profile_import', mapping: [], ...definition },
      catalog: templates,
      now,
      ...(existing ? { existing } : {}),
    });

  it('a new job is a draft with defaults, saved whatever its problems', () => {
    const saved = base({ mapping: [{ column: 'Worker ID', field: 'employeeId' }] });
    assert.equal(saved.ok, true);
    if (!saved.ok) return;
    assert.equal(saved.created, true);
    assert.deepEqual(
      { ...saved.job, mapping: undefined },
      {
        org: 'acme',
        jobId: 'j1',
        name: 'Foreign national profile',
        direction: 'import',
        templateId: 'fn_profile_import',
        status: 'draft',
        mapping: undefined,
        syncKey: 'employeeId',
        preference: 'create_update',
        delimiter: ',',
        revision: 1,
        createdAt: now.toISOString(),
        updatedAt: now.toISOString(),
      },
    );
    assert.equal(saved.problems.length, 3);
  });

  it('unknown and export templates are refused', () => {
    const unknown = base({ templateId: 'nope' });
    assert.equal(!unknown.ok && unknown.code, 'unknown_template');
  });

  it('a launched job stays launched when its new definition is launchable', () => {
    const launched = { ...defaultImportJob('acme', 'fn_profile_import', 'j1'), revision: 4 };
    const saved = base({ mapping: launched.mapping, preference: 'update_only', revision: 4 }, launched);
    assert.equal(saved.ok && saved.job.status, 'launched');
    assert.equal(saved.ok && saved.job.revision, 5);
    assert.equal(saved.ok && saved.job.preference, 'update_only');
  });

  it('a launched job is never silently put back to draft: an incomplete save is refused', () => {
    const launched = defaultImportJob('acme', 'fn_profile_import', 'j1');
    const refused = base({ mapping: launched.mapping.filter((m) => m.field !== 'email') }, launched);
    assert.equal(!refused.ok && refused.code, 'job_not_launchable');
    assert.deepEqual(!refused.ok && refused.problems?.map((p) => p.code), ['mandatory_field_unmapped']);
    const asDraft = base({ mapping: launched.mapping.filter((m) => m.field !== 'email'), status: 'draft' }, launched);
    assert.equal(asDraft.ok && asDraft.job.status, 'draft');
  });

  it('changing the template or sync key of a launched job needs a draft first', () => {
    const launched = defaultImportJob('acme', 'fn_profile_import', 'j1');
    const refused = base({ mapping: launched.mapping, syncKey: 'email' }, launched);
    assert.equal(!refused.ok && refused.code, 'launched_job_identity_change');
    assert.match(!refused.ok ? refused.message : '', /the sync key \(employeeId -> email\)/);
    const asDraft = base({ mapping: launched.mapping, syncKey: 'email', status: 'draft' }, launched);
    assert.equal(asDraft.ok && asDraft.job.status, 'draft');
  });

  it('a save naming another revision is an edit conflict', () => {
    const stored = { ...draft(), revision: 3 };
    const stale = base({ revision: 2 }, stored);
    assert.equal(!stale.ok && stale.code, 'edit_conflict');
    assert.equal(base({ revision: 3 }, stored).ok, true);
    const gone = base({ revision: 3 });
    assert.equal(!gone.ok && gone.code, 'edit_conflict');
  });
});

describe('composeJobTemplate', () => {
  it('adds the custom fields once, whether given the base template or an already composed one', () => {
    const customFields: ImportJob['customFields'] = [{ id: 'zoomId', title: 'Zoom ID', type: 'string', unique: true }];
    const job: ImportJob = { ...draft(), templateId: custom.id, customFields };
    const fromBase = composeJobTemplate(job, custom);
    assert.deepEqual(fromBase.problems, []);
    assert.equal(fromBase.template.field('zoomId')?.custom, true);
    const again = composeJobTemplate(job, fromBase.template);
    assert.deepEqual(again.problems, []);
    assert.equal(again.template, fromBase.template);
  });
});

describe('reserved names (properties every JavaScript object has)', () => {
  const customJob = (id: string) => ({
    templateId: custom.id,
    customFields: [{ id, title: 'Key', type: 'string', unique: true }],
    syncKey: id,
    mapping: [{ column: 'Key', field: id }],
  });

  it('a definition naming one as a field id, sync key, filter field or value-map key is refused, each named', () => {
    for (const name of ['constructor', 'prototype', 'toString', 'hasOwnProperty']) {
      const read = readJobDefinition(customJob(name));
      assert.equal(read.ok, false, name);
      const messages = !read.ok ? read.problems.map((p) => p.message) : [];
      assert.ok(
        messages.some((m) => m.startsWith(`custom field 1 (${name}) is a reserved name`)),
        messages.join('\n'),
      );
      assert.ok(messages.some((m) => m.startsWith(`syncKey ${name} is a reserved name`)));
      assert.ok(messages.some((m) => m.startsWith(`mapping entry 1: field ${name} is a reserved name`)));
    }
    const valueMap = JSON.parse(
      '{"templateId":"fn_profile_import","filters":[{"field":"__proto__","op":"isEmpty"}],' +
        '"mapping":[{"column":"Status","field":"status","transforms":[{"type":"map","values":' +
        '{"__proto__":"Active","constructor":"Active","toString":"Inactive","ACT":"Active"}}]}]}',
    );
    const read = readJobDefinition(valueMap);
    assert.equal(read.ok, false);
    const messages = !read.ok ? read.problems.map((p) => p.message) : [];
    for (const key of ['__proto__', 'constructor', 'toString']) {
      assert.ok(
        messages.some((m) => m.startsWith(`mapping entry 1, transform 1: value map key "${key}" is a reserved`)),
      );
    }
    assert.ok(messages.some((m) => m.startsWith('filter 1 (__proto__) is a reserved name')));
    assert.equal(messages.length, 4, 'ACT is an ordinary key');
  });

  it('a stored job declaring one (saved before the rule) has a problem, so it never runs', () => {
    const job: ImportJob = { ...draft(), ...(customJob('constructor') as Partial<ImportJob>), status: 'launched' };
    const problems = composeJobTemplate(job, custom).problems;
    assert.ok(
      problems.some((p) => p.code === 'invalid_custom_field' && /constructor is a reserved name/.test(p.message)),
    );
    assert.ok(jobProblems(job, custom).length > 0);
  });

  it('ownValue sees only what was stored under the key itself', () => {
    const row: Record<string, string> = { employeeId: 'E1' };
    assert.equal(ownValue(row, 'employeeId'), 'E1');
    for (const name of ['constructor', '__proto__', 'toString', 'valueOf'])
      assert.equal(ownValue(row, name), undefined);
    assert.ok(isReservedName('__proto__') && isReservedName('prototype') && !isReservedName('employeeId'));
  });
});
