/**
 * Exports on the twin, driven as users drive it: a firm admin creates and launches an export job over HTTP, runs it
 * now, and reads the file from the organization's `/outbound` over SFTP; the job's schedule fires (the scheduler's
 * clock taken over through the twin's test control) and writes the next file beside the first, never over it; a
 * case manager's token can neither create nor run an export job. Issue 12's export proofs: a full export equals a scan of
 * the records; values a spreadsheet would execute are neutralized in the file read as text; an incremental export holds
 * a record the case-management system changed while the previous export ran (written through the system of record's
 * own adapter during that export's settle window, which INTEGRATOR_EXPORT_SETTLE_MS lengthens). The path is the AWS one: API -> job-runs queue ->
 * scheduled-run handler -> export-runs queue -> export handler -> S3 (the SFTP server reads the same bucket).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbSystemOfRecord } from '../../functions/adapters/dynamodb-system-of-record.ts';
import { dayIn } from '../../functions/core/transfer/export-file.ts';
import { scheduledRunId } from '../../functions/core/transfer/job-runs.ts';
import { nextRuns, type Schedule } from '../../functions/core/transfer/schedules.ts';
import { seedDemoRecords } from '../../lib/local/seed.ts';
import { tableEnvName, tables } from '../../schemas/tables.ts';
import { type E2eTwin, type Json, schedulerClock, startE2eTwin, twinApi, until } from '../support/e2e.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { storedRecords } from '../support/twin-records.ts';

const ORG = 'acme';
const JOB = 'hris-cases';
const SCHEDULE: Schedule = { kind: 'daily', at: '06:00', timeZone: 'America/New_York' };
const DEFINITION = {
  direction: 'export',
  name: 'Case status for the HRIS',
  templateId: 'case_status_export',
  mode: 'full',
  mapping: [
    { column: 'Employee ID', field: 'employeeId' },
    { column: 'Case', field: 'caseId' },
    { column: 'Status', field: 'caseStatus' },
    { column: 'Last name', field: 'lastName' },
  ],
  csv: { bom: false, lineEnding: 'lf' },
  timeZone: 'UTC',
  schedule: SCHEDULE,
};
/** Long enough to write a record while an export waits after its mark, short enough for a test. */
const SETTLE_MS = 3000;
let e2e: E2eTwin;

/** The case-management system's writes: the system of record's adapter, as that system writes to DynamoDB. */
function systemOfRecord() {
  const db = dynamoDbDocumentClient({
    region: e2e.twin.info.dynamodb.region,
    dynamodbEndpoint: e2e.twin.info.dynamodb.endpoint,
  });
  const env = Object.fromEntries(tables.map((t) => [tableEnvName(t.id), t.id]));
  return { db, env, store: dynamoDbSystemOfRecord(db, { env }) };
}

async function changeCase(caseKey: string, caseStatus: string): Promise<void> {
  await systemOfRecord().store.put([
    { org: ORG, entity: 'case', key: caseKey, set: { caseStatus }, at: new Date().toISOString() },
  ]);
}

before(async () => {
  e2e = await startE2eTwin('exports', [{ id: ORG }], {
    INTEGRATOR_TWIN_CONTROL: '1',
    INTEGRATOR_EXPORT_SETTLE_MS: String(SETTLE_MS),
  });
  // The case-management system's records of the organization (a few foreign nationals with their cases).
  const { db, env } = systemOfRecord();
  await seedDemoRecords(db, ORG, { people: 12, seed: 3, env });
});

after(async () => {
  await e2e?.close();
});

function tokenOf(role: string): string {
  const user = e2e.twin.info.api.users.find((u) => u.org === ORG && u.role === role);
  assert.ok(user, `a ${role} of ${ORG}`);
  return user.token;
}

const api = (method: string, path: string, body?: unknown, token = tokenOf('firm_admin')) =>
  twinApi(e2e.twin, ORG, token)(method, path, body);

const finished = (runId: string) =>
  until(
    `run ${runId} finished`,
    async () => {
      const { status, body } = await api('GET', `/v1/runs/${runId}`);
      return status === 200 && body.run.status !== 'running' ? (body.run as Json) : undefined;
    },
    { ms: 60_000, twin: e2e.twin },
  );

/** Asks for a run now; the finished run. */
async function runNow(job: string): Promise<Json> {
  const requested = await api('POST', `/v1/jobs/${job}/run`);
  assert.equal(requested.status, 202, JSON.stringify(requested.body));
  return finished(requested.body.request.runId);
}

/** Runs sftp as the organization's user; the batch's output. */
async function sftp(commands: string[]): Promise<string> {
  const twin = e2e.twin;
  const user = twin.info.sftp.users.find((u) => u.org === ORG)!;
  const out = await runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    knownHostsPath: twin.info.sftp.knownHostsPath,
    commands,
  });
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

/** The export file downloaded over SFTP from /outbound, read as text. */
async function download(name: string): Promise<string> {
  const local = join(e2e.stateDir, `got-${name}`);
  await sftp([`get /outbound/${name} ${local}`]);
  return readFileSync(local, 'utf8');
}

const dataRows = (text: string) => text.replace(/\n$/, '').split('\n').slice(1);

/** What the file must hold: one row per stored case, the person's last name joined, in any order. */
async function expectedRows(): Promise<string[]> {
  const people = new Map((await storedRecords(e2e.twin.info, ORG, 'foreignNational')).map((p) => [p.recordKey, p]));
  const cases = await storedRecords(e2e.twin.info, ORG, 'case');
  assert.ok(cases.length >= 12);
  return cases
    .map((c) => [c.employeeId, c.recordKey, c.caseStatus, people.get(c.employeeId)?.lastName].map(String).join(','))
    .sort();
}

test('a firm admin creates, launches and runs a full export job; the file in /outbound equals a scan of the records; the schedule writes the next', async () => {
  const created = await api('PUT', `/v1/jobs/${JOB}`, DEFINITION);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.job.launchable, true);
  const launched = await api('POST', `/v1/jobs/${JOB}/launch`);
  assert.equal(launched.status, 200, JSON.stringify(launched.body));

  const requested = await api('POST', `/v1/jobs/${JOB}/run`);
  assert.equal(requested.status, 202);
  const run = await finished(requested.body.request.runId);
  assert.equal(run.status, 'completed', JSON.stringify(run));
  assert.equal(run.direction, 'export');
  assert.equal(run.trigger, 'manual');
  const day = dayIn(new Date(run.startedAt), 'UTC');
  const first = `case_status_export_${day}.csv`;
  assert.equal(run.file.name, first);

  const listing = await sftp(['ls -1 /outbound']);
  assert.match(listing, new RegExp(first.replace('.', '\\.')));
  const text = await download(first);
  const [header, ...rows] = text.replace(/\n$/, '').split('\n');
  assert.equal(header, 'Employee ID,Case,Status,Last name');
  const expected = await expectedRows();
  assert.deepEqual([...rows].sort(), expected);

  // The schedule's next firing (06:00 New York), driven through the scheduler's clock: a second file that day.
  const [next] = nextRuns(SCHEDULE, new Date(), 1);
  await schedulerClock(e2e.twin, 'advance', next!);
  const nightly = await finished(scheduledRunId(JOB, next!));
  assert.equal(nightly.status, 'completed', JSON.stringify(nightly));
  assert.equal(nightly.trigger, 'schedule');
  const second = nightly.file.name as string;
  assert.notEqual(second, first);
  assert.match(second, /^case_status_export_\d{8}(_\d+)?\.csv$/);
  const names = (await sftp(['ls -1 /outbound'])).split('\n').filter((l) => l.endsWith('.csv'));
  assert.ok(names.some((n) => n.endsWith(first)) && names.some((n) => n.endsWith(second)), names.join(' '));
  // The first file is untouched; the second holds the same records.
  assert.equal(await download(first), text);
  assert.deepEqual((await download(second)).replace(/\n$/, '').split('\n').slice(1).sort(), expected);
  // One run per request and per firing.
  const runs = (await api('GET', '/v1/runs?limit=100')).body.runs.filter((r: Json) => r.jobId === JOB);
  assert.equal(runs.length, 2);
});

test("a case manager's token can neither create nor run an export job", async () => {
  const manager = tokenOf('case_manager');
  const put = await api('PUT', '/v1/jobs/theirs', { ...DEFINITION, templateId: 'visa_information_export' }, manager);
  assert.equal(put.status, 403);
  assert.equal((await api('GET', '/v1/jobs/theirs')).status, 404);
  const run = await api('POST', `/v1/jobs/${JOB}/run`, undefined, manager);
  assert.equal(run.status, 403);
  // Reading is allowed.
  assert.equal((await api('GET', `/v1/jobs/${JOB}`, undefined, manager)).status, 200);
});

test('values a spreadsheet would execute are neutralized in the export file read as text', async () => {
  const cases = await storedRecords(e2e.twin.info, ORG, 'case');
  const planted = ['=1+2', '+49 30 1234', '-5', '@SUM(A1)', '\tTAB', ' =HYPERLINK(x)'];
  const byCase = new Map(planted.map((value, i) => [String(cases[i]!.recordKey), value]));
  for (const [key, value] of byCase) await changeCase(key, value);

  const run = await runNow(JOB);
  assert.equal(run.status, 'completed', JSON.stringify(run));
  const rows = dataRows(await download(run.file.name));
  for (const [key, value] of byCase) {
    const row = rows.find((r) => r.split(',')[1] === key);
    assert.ok(row, `case ${key} in the file`);
    const status = row.split(',')[2]!.replace(/^"(.*)"$/, '$1');
    assert.equal(status, `'${value}`, `case ${key}: ${JSON.stringify(row)}`);
  }
  // No cell of the file starts as a formula.
  for (const row of rows)
    for (const cell of row.split(','))
      assert.doesNotMatch(cell.replace(/^"/, ''), /^[=+\-@\t\r]|^ +[=+\-@]/, JSON.stringify(row));
});

test('an incremental export holds the record changed while the previous export ran, and nothing unchanged', async () => {
  // The same job made incremental (one series of files per template): it reads above its last successful mark.
  const job = JOB;
  const changedJob = await api('PUT', `/v1/jobs/${job}`, { ...DEFINITION, mode: 'incremental' });
  assert.equal(changedJob.status, 200, JSON.stringify(changedJob.body));

  // An incremental export. While it waits after its mark (Running), the case-management system changes a case.
  const requested = await api('POST', `/v1/jobs/${job}/run`);
  assert.equal(requested.status, 202, JSON.stringify(requested.body));
  const runId = requested.body.request.runId as string;
  await until(
    `run ${runId} Running`,
    async () => {
      const { status, body } = await api('GET', `/v1/runs/${runId}`);
      return status === 200 && body.run.status === 'running' ? true : undefined;
    },
    { twin: e2e.twin, everyMs: 50 },
  );
  const [changed] = await storedRecords(e2e.twin.info, ORG, 'case');
  const key = String(changed!.recordKey);
  await changeCase(key, 'Changed during the export');
  const first = await finished(runId);
  assert.equal(first.status, 'completed', JSON.stringify(first));

  // The next export reads above the first one's mark: the change made while it ran is there, alone.
  const second = await runNow(job);
  assert.equal(second.status, 'completed', JSON.stringify(second));
  const rows = dataRows(await download(second.file.name));
  assert.deepEqual(
    rows.map((r) => r.split(',').slice(1, 3).join(',')),
    [`${key},Changed during the export`],
  );
});
