import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type DiskSortStats, diskSortScratch } from '../../functions/adapters/disk-sort.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { type ImportDeps, importFile } from '../../functions/core/transfer/import-file.ts';
import { defaultImportJob, type ImportJob } from '../../functions/core/transfer/jobs.ts';
import { recordPk } from '../../functions/core/transfer/records.ts';
import { type Run, startRun } from '../../functions/core/transfer/runs.ts';
import type { Template } from '../../functions/core/transfer/template-types.ts';
import { createCatalog, templates } from '../../functions/core/transfer/templates.ts';
import fnProfileImport from '../../schemas/templates/fn_profile_import.json' with { type: 'json' };
import { bytes, fixedClock, MemoryBilling, MemoryRecords, MemoryRunLog } from '../fixtures/memory-ports.ts';
import { ACTIVE_ONLY, WORKDAY_HEADER, WORKDAY_MAPPING } from '../fixtures/workday-job.ts';

const template = templates.byId('fn_profile_import')!;
const HEADER =
  'Employee ID,First Name,Last Name,Nick Name,Email,Department,Job Title,Hire Date,Work Location,Manager Email,Country of Citizenship,Status';

function row(id: string, overrides: Partial<Record<string, string>> = {}): string {
  const v = {
    first: 'Ana',
    last: 'Silva',
    nick: '',
    email: `${id.toLowerCase()}@example.com`,
    dept: 'R&D',
    title: 'Engineer',
    hire: '2024-02-29',
    loc: 'Berlin',
    mgr: 'boss@example.com',
    cit: 'BR',
    status: 'Active',
    ...overrides,
  };
  return [id, v.first, v.last, v.nick, v.email, v.dept, v.title, v.hire, v.loc, v.mgr, v.cit, v.status].join(',');
}

function csv(...rows: string[]): string {
  return `${[HEADER, ...rows].join('\r\n')}\r\n`;
}

function setup(options: { job?: Partial<ImportJob>; billing?: MemoryBilling; t?: Template } = {}) {
  const t = options.t ?? template;
  const records = new MemoryRecords();
  const runLog = new MemoryRunLog();
  const clock = fixedClock();
  const job = { ...defaultImportJob('acme', 'fn_profile_import', 'job-1'), ...options.job };
  const deps: ImportDeps = {
    openCsv,
    scratch: diskSortScratch(),
    records,
    runLog,
    clock,
    batchSize: 3,
    ...(options.billing ? { billing: options.billing } : {}),
  };
  let n = 0;
  const run = async (text: string | Buffer, extra: Partial<ImportDeps> = {}, resumeFrom?: Run) => {
    const base =
      resumeFrom ??
      startRun({
        org: 'acme',
        runId: `run-${++n}`,
        now: clock.now(),
        file: { key: 'inbound/acme/f.csv', name: 'fn_profile_import_20261124.csv', size: text.length, etag: 'e' },
      });
    return importFile(
      { ...deps, ...extra },
      {
        run: base,
        job,
        template: t,
        source: () => bytes(text),
        fileName: 'fn_profile_import_20261124.csv',
      },
    );
  };
  return { records, runLog, run, job };
}

test('valid rows are created with only the mapped fields; the run completes with counts', async () => {
  const { records, run } = setup();
  const { run: done } = await run(csv(row('E1'), row('E2', { nick: 'Bee' }), row('E3')));
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.counts, { rows: 3, created: 3, updated: 0, unchanged: 0, skipped: 0, failed: 0, overLimit: 0 });
  const e2 = records.items.get(recordPk('acme', 'foreignNational', 'E2'))!;
  assert.equal(e2.preferredName, 'Bee');
  assert.equal(e2.firstName, 'Ana');
  assert.equal(records.items.get(recordPk('acme', 'foreignNational', 'E1'))!.preferredName, undefined);
  assert.equal(done.encoding, 'utf-8');
  assert.deepEqual(done.warnings, []);
});

test('the same file again costs no write; a changed row costs one; an emptied cell removes the field', async () => {
  const { records, run } = setup();
  const rows = Array.from({ length: 10 }, (_, i) => row(`E${i}`, { nick: `N${i}` }));
  await run(csv(...rows));
  assert.equal(records.writes, 10);
  const again = await run(csv(...rows));
  assert.equal(records.writes, 10);
  assert.equal(again.run.counts.unchanged, 10);
  rows[4] = row('E4', { nick: '' });
  const changed = await run(csv(...rows));
  assert.equal(records.writes, 11);
  assert.equal(changed.run.counts.updated, 1);
  assert.equal(changed.run.counts.unchanged, 9);
  assert.equal('preferredName' in records.items.get(recordPk('acme', 'foreignNational', 'E4'))!, false);
});

test('a bad row is reported with row, column, value and rule; the other rows proceed; the run is Incomplete', async () => {
  const { records, runLog, run } = setup();
  const { run: done } = await run(csv(row('E1'), row('E2', { email: 'not-an-email', hire: '2026-02-30' }), row('E3')));
  assert.equal(done.status, 'incomplete');
  assert.equal(done.counts.created, 2);
  assert.equal(done.counts.failed, 1);
  assert.equal(records.items.has(recordPk('acme', 'foreignNational', 'E2')), false);
  const [error] = runLog.errorList('acme', done.runId);
  assert.equal(error?.row, 3);
  assert.deepEqual(
    error?.problems.map((p) => [p.code, p.row, p.column, p.value]),
    [
      ['invalid_email', 3, 'Email', 'not-an-email'],
      ['invalid_date', 3, 'Hire Date', '2026-02-30'],
    ],
  );
  assert.match(
    error!.problems[0]!.message,
    /^fn_profile_import_20261124\.csv row 3: "Email" value "not-an-email" must be an e-mail address/,
  );
  assert.equal(error?.values?.[0], 'E2');
  assert.match(done.message!, /2 created.*1 failed/);
});

test('a missing required column stops the run before any write and names the column', async () => {
  const { records, run } = setup();
  const text = 'Employee ID,First Name,Email\r\nE1,Ana,a@example.com\r\n';
  const { run: done } = await run(text);
  assert.equal(done.status, 'interrupted');
  assert.equal(done.problem?.code, 'missing_required_column');
  assert.match(done.message!, /"Last Name"/);
  assert.equal(records.writes, 0);
});

test('unknown and missing optional columns are warnings; matching ignores case and spaces', async () => {
  const { records, run } = setup();
  const text = ' employee id ,FIRST NAME,last name,Email,Shoe Size\r\nE1,Ana,Silva,a@example.com,42\r\n';
  const { run: done } = await run(text);
  assert.equal(done.status, 'completed');
  assert.equal(done.counts.created, 1);
  const codes = done.warnings.map((w) => w.code);
  assert.equal(codes.filter((c) => c === 'missing_optional_column').length, 8);
  assert.deepEqual(
    done.warnings.filter((w) => w.code === 'unknown_column').map((w) => w.column),
    ['Shoe Size'],
  );
  assert.equal(records.items.get(recordPk('acme', 'foreignNational', 'E1'))!.firstName, 'Ana');
});

test('a key twice in one file: the later row is rejected, naming the first, which is noted; a third too', async () => {
  const { records, runLog, run } = setup();
  const { run: done } = await run(
    csv(row('E1'), row('E2'), row('E1', { first: 'Other' }), row('E3'), row('E1', { first: 'Third' })),
  );
  assert.equal(done.status, 'incomplete');
  assert.equal(done.counts.created, 3);
  assert.equal(done.counts.failed, 2);
  assert.equal(records.items.get(recordPk('acme', 'foreignNational', 'E1'))!.firstName, 'Ana');
  const errors = runLog.errorList('acme', done.runId);
  assert.deepEqual(
    errors.map((e) => [e.row, e.kept ?? false, e.problems[0]!.code]),
    [
      [2, true, 'duplicate_key'],
      [4, false, 'duplicate_key'],
      [6, false, 'duplicate_key'],
    ],
  );
  assert.match(errors[1]!.problems[0]!.message, /already appears on row 2/);
  assert.match(errors[0]!.problems[0]!.message, /appears again on row 4/);
});

test('when the first row of a key fails, no row of that key is applied', async () => {
  const { records, run } = setup();
  const { run: done } = await run(csv(row('E1', { email: 'bad' }), row('E1')));
  assert.equal(done.counts.failed, 2);
  assert.equal(records.items.size, 0);
});

test('e-mail as the sync key compares case-insensitively', async () => {
  const { records, run } = setup({ job: { syncKey: 'email' } });
  const { run: done } = await run(
    csv(row('E1', { email: 'Ana@Example.com' }), row('E2', { email: 'ana@example.COM' })),
  );
  assert.equal(done.counts.created, 1);
  assert.equal(done.counts.failed, 1);
  assert.ok(records.items.has(recordPk('acme', 'foreignNational', 'ana@example.com')));
});

test('create only leaves existing records alone; update only never creates', async () => {
  const createOnly = setup({ job: { preference: 'create_only' } });
  await createOnly.run(csv(row('E1')));
  const second = await createOnly.run(csv(row('E1', { first: 'Changed' }), row('E2')));
  assert.equal(second.run.counts.skipped, 1);
  assert.equal(second.run.counts.created, 1);
  assert.equal(createOnly.records.items.get(recordPk('acme', 'foreignNational', 'E1'))!.firstName, 'Ana');

  const updateOnly = setup({ job: { preference: 'update_only' } });
  const first = await updateOnly.run(csv(row('E1')));
  assert.equal(first.run.counts.skipped, 1);
  assert.equal(updateOnly.records.items.size, 0);
  assert.equal(first.run.status, 'completed');
});

test('rows beyond the allowed record limit are not applied and reported; after raising it, a re-run applies them', async () => {
  const billing = new MemoryBilling(4);
  const { records, runLog, run } = setup({ billing });
  const rows = Array.from({ length: 7 }, (_, i) => row(`E${i}`));
  const first = await run(csv(...rows));
  assert.equal(first.run.status, 'incomplete');
  assert.equal(first.run.counts.created, 4);
  assert.equal(first.run.counts.overLimit, 3);
  assert.equal(records.items.size, 4);
  assert.deepEqual(
    runLog.errorList('acme', first.run.runId).map((e) => [e.row, e.problems[0]!.code]),
    [
      [6, 'over_limit'],
      [7, 'over_limit'],
      [8, 'over_limit'],
    ],
  );
  billing.allowed = 10;
  const second = await run(csv(...rows));
  assert.equal(second.run.status, 'completed');
  assert.equal(second.run.counts.created, 3);
  assert.equal(second.run.counts.unchanged, 4);
  assert.equal(billing.used, 7);
});

test('a paused run resumes from its checkpoint: no row lost, none applied twice, duplicates still caught', async () => {
  const rows = Array.from({ length: 20 }, (_, i) => row(`E${i}`, { nick: `N${i}` }));
  rows[15] = row('E3', { nick: 'dup' });
  rows[7] = row('E7', { email: 'bad' });
  const text = csv(...rows);

  const straight = setup();
  const reference = await straight.run(text);

  const paused = setup();
  let pauses = 0;
  let result = await paused.run(text, { shouldPause: () => true });
  const saved: Run[] = [];
  while (result.paused) {
    pauses++;
    assert.ok(result.run.checkpoint);
    assert.equal(result.run.status, 'running');
    const stored = (await paused.runLog.get('acme', result.run.runId))!;
    saved.push(stored);
    result = await paused.run(text, { shouldPause: () => true }, stored);
  }
  assert.ok(pauses >= 5, `paused ${pauses} times`);
  assert.deepEqual(result.run.counts, reference.run.counts);
  assert.equal(paused.records.writes, straight.records.writes);
  assert.deepEqual(
    paused.runLog.errorList('acme', result.run.runId).map((e) => [e.row, e.problems[0]!.code, e.kept ?? false]),
    straight.runLog.errorList('acme', reference.run.runId).map((e) => [e.row, e.problems[0]!.code, e.kept ?? false]),
  );
  assert.equal(result.run.status, 'incomplete');
  assert.equal(result.run.checkpoint, undefined);
  assert.deepEqual(result.run.warnings, reference.run.warnings);
});

test('sensitive values are masked in row errors', async () => {
  // biome-ignore lint/suspicious/noExplicitAny: the test edits a JSON document freely
  const schema = structuredClone(fnProfileImport) as Record<string, any>;
  schema['x-integrator'].sensitive = ['citizenship'];
  const t = createCatalog([schema]).byId('fn_profile_import')!;
  const { runLog, run } = setup({ t });
  const { run: done } = await run(csv(row('E1', { cit: 'brazil' })));
  const [error] = runLog.errorList('acme', done.runId);
  assert.equal(error?.problems[0]?.value, '****il');
  assert.equal(error?.values?.[10], '****il');
  assert.doesNotMatch(JSON.stringify(error), /brazil/);
});

test('a header-only file is reported, not silently accepted', async () => {
  const { run } = setup();
  const { run: done } = await run(`${HEADER}\r\n`);
  assert.equal(done.status, 'interrupted');
  assert.equal(done.problem?.code, 'empty_file');
});

test('an unreadable file (duplicate header) stops before any write', async () => {
  const { records, run } = setup();
  const { run: done } = await run('Employee ID,employee id,First Name\r\nE1,E1,Ana\r\n');
  assert.equal(done.status, 'interrupted');
  assert.equal(done.problem?.code, 'duplicate_column');
  assert.equal(records.writes, 0);
});

test('a row with a wrong cell count fails on its own', async () => {
  const { runLog, run } = setup();
  const { run: done } = await run(csv(row('E1'), 'E2,Ana', row('E3')));
  assert.equal(done.counts.created, 2);
  assert.equal(done.counts.failed, 1);
  assert.equal(runLog.errorList('acme', done.runId)[0]?.problems[0]?.code, 'wrong_cell_count');
});

// ---------------------------------------------------------------------------------------------------------------
// Transforms, filters

const workdayJob: Partial<ImportJob> = { mapping: WORKDAY_MAPPING, filters: ACTIVE_ONLY };
const workdayFile = [
  WORKDAY_HEADER,
  'W1,"Silva, Ana",ANA@X.COM,11/24/2024,ACT',
  'W2,"Li, Bo",bo@x.com,02/29/2024,TRM',
  'W3,"Kim, Jo",jo@x.com,24.11.2024,act',
  'W4,"Ng, Al",al@x.com,01/02/2025,LOA',
  'W5,"Wu, Di",di@x.com,13/45/2024,TRM',
  'W2,"Li, Bo",bo@x.com,03/01/2024,ACT',
  '',
].join('\r\n');

test('a job with transforms and a filter: mapped values stored, filtered rows counted, not errors', async () => {
  const { records, runLog, run } = setup({ job: workdayJob });
  const { run: done } = await run(workdayFile);
  assert.deepEqual(done.counts, {
    rows: 6,
    created: 2,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 2,
    overLimit: 0,
    filtered: 2,
  });
  assert.equal(done.status, 'incomplete');
  assert.equal(done.message, '6 rows: 2 created, 0 updated, 0 unchanged, 2 filtered out, 2 failed');
  const w1 = records.items.get(recordPk('acme', 'foreignNational', 'W1'))!;
  assert.deepEqual(
    [w1.lastName, w1.firstName, w1.email, w1.hireDate, w1.status],
    ['Silva', 'Ana', 'ana@x.com', '2024-11-24', 'Active'],
  );
  // W2 was filtered out on row 3, so its key on row 7 is no duplicate.
  assert.equal(records.items.get(recordPk('acme', 'foreignNational', 'W2'))!.hireDate, '2024-03-01');
  const errors = runLog.errorList('acme', done.runId);
  assert.deepEqual(
    errors.map((e) => [e.row, e.problems.map((p) => [p.code, p.column, p.value, p.rule])]),
    [
      [4, [['invalid_date', 'Hire Date', '24.11.2024', 'a date written as one of MM/DD/YYYY, M/D/YY']]],
      [5, [['unmapped_value', 'Worker Status', 'LOA', 'one of ACT, TRM, LEA (value map, any case)']]],
    ],
  );
  assert.equal(
    errors[0]!.problems[0]!.message,
    'fn_profile_import_20261124.csv row 4: "Hire Date" value "24.11.2024" must be a date written as one of MM/DD/YYYY, M/D/YY (date transform)',
  );
  // Row 6 (W5) has a date no format reads, but the filter leaves it out: no error for it.
  assert.equal(
    errors.some((e) => e.row === 6),
    false,
  );

  const again = await run(workdayFile);
  assert.equal(again.run.counts.unchanged, 2);
  assert.equal(again.run.counts.filtered, 2);
  assert.equal(records.writes, 2);
});

test('a paused run with filters resumes with the same counts', async () => {
  const rows = Array.from(
    { length: 12 },
    (_, i) => `W${i},"Silva, Ana",a${i}@x.com,11/24/2024,${i % 3 ? 'ACT' : 'TRM'}`,
  );
  const text = `${[WORKDAY_HEADER, ...rows].join('\r\n')}\r\n`;
  const straight = setup({ job: workdayJob });
  const reference = await straight.run(text);
  const paused = setup({ job: workdayJob });
  let result = await paused.run(text, { shouldPause: () => true });
  while (result.paused) {
    result = await paused.run(text, { shouldPause: () => true }, (await paused.runLog.get('acme', result.run.runId))!);
  }
  assert.deepEqual(result.run.counts, reference.run.counts);
  assert.equal(reference.run.counts.filtered, 4);
  assert.equal(paused.records.writes, 8);
});

test("a filtered field's column missing from the file stops the run", async () => {
  const { records, run } = setup({ job: workdayJob });
  const { run: done } = await run(
    'Worker ID,Legal Name,Work Email,Hire Date\r\nW1,"Silva, Ana",a@x.com,11/24/2024\r\n',
  );
  assert.equal(done.status, 'interrupted');
  assert.equal(done.problem?.code, 'missing_required_column');
  assert.match(done.message!, /"Worker Status"/);
  assert.equal(records.writes, 0);
});

// ---------------------------------------------------------------------------------------------------------------
// The CSV reader's author's two reports

test('a header that does not fit the job releases the source without reading the rows', async () => {
  let closed = false;
  let chunks = 0;
  const body = Buffer.from(`Employee ID,First Name\r\n${'E1,Ana\r\n'.repeat(200_000)}`);
  async function* source() {
    try {
      for (let i = 0; i < body.length; i += 1024) {
        chunks++;
        yield body.subarray(i, i + 1024);
      }
    } finally {
      closed = true;
    }
  }
  const clock = fixedClock();
  const { run: done } = await importFile(
    { openCsv, scratch: diskSortScratch(), records: new MemoryRecords(), runLog: new MemoryRunLog(), clock },
    {
      run: startRun({
        org: 'acme',
        runId: 'r1',
        now: clock.now(),
        file: { key: 'k', name: 'fn_profile_import_20261124.csv', size: body.length, etag: 'e' },
      }),
      job: defaultImportJob('acme', 'fn_profile_import', 'job-1'),
      template,
      source,
      fileName: 'fn_profile_import_20261124.csv',
    },
  );
  assert.equal(done.status, 'interrupted');
  for (let i = 0; i < 100 && !closed; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(closed, true, 'the source was closed');
  assert.ok(chunks < body.length / 1024 / 2, `read ${chunks} chunks of ${Math.ceil(body.length / 1024)}`);
});

test('a Windows-1252 file whose first 64 KB are ASCII is recorded as Windows-1252', async () => {
  const { run } = setup();
  const ascii = Array.from({ length: 1000 }, (_, i) => row(`E${i}`));
  const text = csv(...ascii, row('E1000', { first: 'Jos\xe9' }));
  assert.ok(text.indexOf('\xe9') > 64 * 1024);
  const { run: done } = await run(Buffer.from(text, 'latin1'));
  assert.equal(done.status, 'completed');
  assert.equal(done.encoding, 'windows-1252');
});

test('a key on three rows: the kept row names the next and counts the rest; each later row names the first', async () => {
  const { runLog, run } = setup();
  const { run: done } = await run(csv(row('E1'), row('E1', { nick: 'b' }), row('E2'), row('E1', { nick: 'c' })));
  const errors = runLog.errorList('acme', done.runId);
  assert.deepEqual(
    errors.map((e) => e.problems[0]!.message),
    [
      'fn_profile_import_20261124.csv row 2: "Employee ID" value "E1" appears again on row 3 and 1 more row; this row was kept and those rows were not applied',
      'fn_profile_import_20261124.csv row 3: "Employee ID" value "E1" already appears on row 2; a key may appear once per file, so this row was not applied (row 2 was kept)',
      'fn_profile_import_20261124.csv row 5: "Employee ID" value "E1" already appears on row 2; a key may appear once per file, so this row was not applied (row 2 was kept)',
    ],
  );
  assert.deepEqual(errors[0]!.values, undefined, 'a kept row is a note, not a failed row');
});

test('a kept row beyond the record limit is reported once, with its note and why it was not applied', async () => {
  const { runLog, run } = setup({ billing: new MemoryBilling(1) });
  const { run: done } = await run(csv(row('E1'), row('E2'), row('E2', { nick: 'x' })));
  assert.equal(done.counts.created, 1);
  assert.equal(done.counts.overLimit, 1);
  assert.deepEqual(
    runLog.errorList('acme', done.runId).map((e) => [e.row, e.kept ?? false, e.problems.map((p) => p.code)]),
    [
      [3, false, ['duplicate_key', 'over_limit']],
      [4, false, ['duplicate_key']],
    ],
  );
});

test('duplicate keys far apart in a big file are caught the same when the census spills to disk', async () => {
  const rows = Array.from({ length: 3000 }, (_, i) => row(`E${i}`));
  rows[2900] = row('E10', { nick: 'late' });
  rows[1500] = row('E1499', { nick: 'next door' });
  const text = csv(...rows);
  const inMemory = setup();
  const reference = await inMemory.run(text);
  const dir = mkdtempSync(join(tmpdir(), 'import-census-'));
  try {
    const spilling = setup();
    const stats: DiskSortStats = { runsWritten: 0, bytesSpilled: 0 };
    const { run: done } = await spilling.run(text, { scratch: diskSortScratch({ dir, memoryBytes: 2048, stats }) });
    assert.ok(stats.runsWritten > 10, `${stats.runsWritten} runs spilled`);
    assert.deepEqual(done.counts, reference.run.counts);
    assert.equal(done.counts.failed, 2);
    const summary = (log: MemoryRunLog, runId: string) =>
      log.errorList('acme', runId).map((e) => [e.row, e.kept ?? false, e.problems[0]!.message]);
    assert.deepEqual(summary(spilling.runLog, done.runId), summary(inMemory.runLog, reference.run.runId));
    assert.deepEqual(
      summary(spilling.runLog, done.runId).map(([r, kept]) => [r, kept]),
      [
        [12, true],
        [1501, true],
        [1502, false],
        [2902, false],
      ],
    );
    assert.deepEqual(readdirSync(dir), [], 'scratch space released');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Hardening: passport numbers in rows that do not line up, long values, refused writes

const passportTemplate = templates.byId('fn_passport_import')!;
const PASSPORT_HEADER = 'Employee ID,First Name,Passport Number,Issuing Country,Expiry Date';
const passportJob: Partial<ImportJob> = defaultImportJob('acme', 'fn_passport_import', 'job-p');

test('a row whose cells do not line up with the header has every cell masked when the template has sensitive fields', async () => {
  const { runLog, run } = setup({ t: passportTemplate, job: passportJob });
  const file = `${[
    PASSPORT_HEADER,
    'E1,Ana,P1234567,DE,2030-01-01',
    // An unquoted comma in the name shifts the passport number into Issuing Country (by position, not masked).
    'E2,Silva, Ana,X9876543,DE,2030-01-01',
    // One cell missing: the number lands under First Name.
    'E3,Y5555555,DE,2030-01-01',
  ].join('\r\n')}\r\n`;
  const { run: done } = await run(file);
  assert.equal(done.counts.failed, 2);
  const errors = runLog.errorList('acme', done.runId);
  assert.deepEqual(
    errors.map((e) => e.problems[0]?.code),
    ['wrong_cell_count', 'wrong_cell_count'],
  );
  const stored = JSON.stringify(errors);
  for (const number of ['X9876543', 'Y5555555', '987654', '555555']) assert.ok(!stored.includes(number), number);
  assert.deepEqual(errors[0]!.values, ['****', '****va', '****', '****43', '****', '****01']);
  assert.doesNotMatch(JSON.stringify(done), /X9876543|Y5555555/);
});

test('a row that lines up keeps masking by column, and its other cells readable', async () => {
  const { runLog, run } = setup({ t: passportTemplate, job: passportJob });
  const { run: done } = await run(`${PASSPORT_HEADER}\r\nE1,Ana,P1234567,XX,2030-01-01\r\n`);
  const [error] = runLog.errorList('acme', done.runId);
  assert.equal(error?.problems[0]?.code, 'invalid_country');
  assert.deepEqual(error?.values, ['E1', 'Ana', '****67', 'XX', '2030-01-01']);
});

test('a long value quoted in a message is cut with a marker, so the message keeps its rule', async () => {
  const { runLog, run } = setup();
  const longId = 'E'.repeat(20_000);
  const { run: done } = await run(csv(row('E1', { hire: `2024-13-01${'x'.repeat(20_000)}` }), row(longId)));
  const errors = runLog.errorList('acme', done.runId);
  const hire = errors[0]!.problems[0]!;
  assert.equal(hire.code, 'invalid_date');
  assert.match(hire.value!, /…\[cut: [\d,]+ more bytes\]$/);
  assert.ok(Buffer.byteLength(hire.value!) <= 256);
  assert.match(hire.message, /\[cut: [\d,]+ more bytes\]" must be a date/);
  assert.ok(Buffer.byteLength(hire.message) < 1_000);
});

test('a write the store refuses for good ends the run, naming the problem, instead of failing the invocation', async () => {
  const { StoreRefusal } = await import('../../functions/core/problems.ts');
  const { runLog, run } = setup();
  const refusing = Object.assign(Object.create(Object.getPrototypeOf(runLog)), runLog) as MemoryRunLog;
  refusing.addErrors = async () => {
    throw new StoreRefusal({
      code: 'store_refused',
      message: 'the store refused to record row errors: Item size has exceeded the maximum allowed size',
    });
  };
  const { run: done, paused } = await run(csv(row('E1'), row('E2', { hire: 'never' }), row('E3'), row('E4')), {
    runLog: refusing,
  });
  assert.equal(paused, false);
  assert.equal(done.status, 'incomplete');
  assert.equal(done.problem?.code, 'store_refused');
  assert.match(
    done.problem!.message,
    /^fn_profile_import_20261124\.csv: the store refused to record row errors: Item size has exceeded/,
  );
  assert.notEqual(done.status, 'running');
});
