/**
 * Exports on the twin, driven as users drive it: a firm admin creates and launches an export job over HTTP, runs it
 * now, and reads the file from the organization's `/outbound` over SFTP; the job's schedule fires (the scheduler's
 * clock taken over through the twin's test control) and writes the next file beside the first, never over it; a
 * case manager's token can neither create nor run an export job. The path is the AWS one: API -> job-runs queue ->
 * scheduled-run handler -> export-runs queue -> export handler -> S3 (the SFTP server reads the same bucket).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { dayIn } from '../../functions/core/transfer/export-file.ts';
import { scheduledRunId } from '../../functions/core/transfer/job-runs.ts';
import { nextRuns, type Schedule } from '../../functions/core/transfer/schedules.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { seedDemoRecords } from '../../lib/local/seed.ts';
import { tableEnvName, tables } from '../../schemas/tables.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';
import { storedRecords } from '../support/twin-records.ts';

const ORG = 'acme';
const JOB = 'hris-cases';
const SCHEDULE: Schedule = { kind: 'daily', at: '06:00', timeZone: 'America/New_York' };
const DEFINITION = {
  direction: 'export',
  name: 'Case status for the HRIS',
  templateId: 'case_status_export',
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
let stateDir: string;
let twin: TwinProcess;

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'integrator-e2e-exports-'));
  const keysDir = join(stateDir, 'keys');
  mkdirSync(keysDir, { recursive: true });
  const pair = await generateKeyPair(keysDir, ORG);
  writeFileSync(
    join(stateDir, 'organizations.json'),
    JSON.stringify([{ id: ORG, name: ORG, sshPublicKeys: [pair.publicKey], allowedRecords: 1000 }]),
  );
  twin = await startTwinProcess(stateDir, { INTEGRATOR_TWIN_CONTROL: '1', INTEGRATOR_EXPORT_SETTLE_MS: '200' });
  // The case-management system's records of the organization (a few foreign nationals with their cases).
  const db = dynamoDbDocumentClient({
    region: twin.info.dynamodb.region,
    dynamodbEndpoint: twin.info.dynamodb.endpoint,
  });
  const env = Object.fromEntries(tables.map((t) => [tableEnvName(t.id), t.id]));
  await seedDemoRecords(db, ORG, { people: 12, seed: 3, env });
});

after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read as a client reads them
type Json = Record<string, any>;

function tokenOf(role: string): string {
  const user = twin.info.api.users.find((u) => u.org === ORG && u.role === role);
  assert.ok(user, `a ${role} of ${ORG}`);
  return user.token;
}

async function api(method: string, path: string, body?: unknown, token = tokenOf('firm_admin')) {
  const res = await fetch(`${twin.info.api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function clock(action: 'jump' | 'advance', at: Date): Promise<void> {
  const res = await fetch(`${twin.info.control!.url}/scheduler/${action}`, {
    method: 'POST',
    body: JSON.stringify({ at }),
  });
  assert.equal(res.status, 200, await res.text());
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what} after ${ms / 1000} s:\n${twin.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const finished = (runId: string) =>
  until(`run ${runId} finished`, async () => {
    const { status, body } = await api('GET', `/v1/runs/${runId}`);
    return status === 200 && body.run.status !== 'running' ? (body.run as Json) : undefined;
  });

/** Runs sftp as the organization's user; the batch's output. */
async function sftp(commands: string[]): Promise<string> {
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

async function download(name: string): Promise<string> {
  const local = join(stateDir, `got-${name}`);
  await sftp([`get /outbound/${name} ${local}`]);
  return readFileSync(local, 'utf8');
}

/** What the file must hold: one row per stored case, the person's last name joined, in any order. */
async function expectedRows(): Promise<string[]> {
  const people = new Map((await storedRecords(twin.info, ORG, 'foreignNational')).map((p) => [p.recordKey, p]));
  const cases = await storedRecords(twin.info, ORG, 'case');
  assert.ok(cases.length >= 12);
  return cases
    .map((c) => [c.employeeId, c.recordKey, c.caseStatus, people.get(c.employeeId)?.lastName].map(String).join(','))
    .sort();
}

test('a firm admin creates, launches and runs an export job; the file is in /outbound; the schedule writes the next', async () => {
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
  await clock('advance', next!);
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
