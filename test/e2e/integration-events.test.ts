/**
 * Integration events on the twin started as `npm start` starts it: uploads over OpenSSH's sftp and an export by
 * `npm run export` publish their events to the in-process bus, which writes each to <state>/events/. Each event
 * matches its schema, carries nothing from the files, and is there exactly once for its fact, although the upload
 * event of one file is delivered twice and the run watch (every half second here) publishes every failed run's
 * events again on each pass.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { type DetailType, detailProblems } from '../../functions/core/integration-event-catalog.ts';
import { type DeliveredEvent, readEventFiles } from '../../lib/local/event-bus.ts';
import { seedExportJobs } from '../../lib/local/exports.ts';
import { armFault } from '../../lib/local/faults.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { tableEnvName, tables } from '../../schemas/tables.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';

const ORG = 'acme';
const HEADER =
  'Employee ID,First Name,Last Name,Nick Name,Email,Department,Job Title,Hire Date,Work Location,Manager Email,Country of Citizenship,Status';
const GOOD = `${HEADER}\r\nE2001,Aiko,Tanaka,,aiko.tanaka@example.com,R&D,Engineer,2024-02-29,Berlin,boss@example.com,JP,Active\r\n`;
const GOOD_FILE = 'fn_profile_import_20261201.csv';
const BAD_FILE = 'fn_profile_import_20261202.csv';
const REFUSED_FILE = 'people.txt';

let stateDir: string;
let filesDir: string;
let twin: TwinProcess;

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'integrator-e2e-events-'));
  filesDir = join(stateDir, 'upload');
  mkdirSync(join(stateDir, 'keys'), { recursive: true });
  mkdirSync(filesDir);
  const pair = await generateKeyPair(join(stateDir, 'keys'), ORG);
  writeFileSync(
    join(stateDir, 'organizations.json'),
    JSON.stringify([{ id: ORG, name: 'Acme', sshPublicKeys: [pair.publicKey], allowedRecords: 1000 }]),
  );
  writeFileSync(join(filesDir, GOOD_FILE), GOOD);
  writeFileSync(join(filesDir, REFUSED_FILE), 'Passport Number\nX12345678\n');
  twin = await startTwinProcess(stateDir, { INTEGRATOR_RUN_WATCH_MS: '500' });
  // The export jobs the demo organization gets on a first start, for this organization (the twin's table names).
  for (const t of tables) process.env[tableEnvName(t.id)] = t.id;
  const db = dynamoDbDocumentClient({
    region: twin.info.dynamodb.region,
    dynamodbEndpoint: twin.info.dynamodb.endpoint,
  });
  await seedExportJobs(db, ORG, 'Europe/Berlin');
});

after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

function sftp(commands: string[]) {
  const user = twin.info.sftp.users.find((u) => u.org === ORG)!;
  return runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    knownHostsPath: twin.info.sftp.knownHostsPath,
    commands,
  });
}

type Run = { runId: string; status: string; file: { name: string; key: string }; exported?: { rows: number } };

async function finishedRuns(count: number): Promise<Run[]> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const res = await fetch(`${twin.info.api.url}/v1/runs`, {
      headers: { authorization: `Bearer ${twin.info.api.tokens[ORG]}` },
    });
    const runs = ((await res.json()) as { runs: Run[] }).runs.filter((r) => r.status !== 'running');
    if (runs.length >= count) return runs;
    if (Date.now() > deadline) assert.fail(`${runs.length} of ${count} runs finished:\n${twin.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `npm run export -- acme case-status`, against the running twin. */
function npmRunExport(jobId: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/run-export.ts', ORG, jobId], {
      env: { ...process.env, INTEGRATOR_STATE_DIR: stateDir, INTEGRATOR_EXPORT_SETTLE_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const eventsDir = () => join(stateDir, 'events');
const ofType = (events: DeliveredEvent[], type: DetailType) => events.filter((e) => e['detail-type'] === type);

test('uploads and an export publish each fact once, matching its schema, with nothing from the files', async () => {
  // The good file's upload event is delivered twice (EventBridge may); the bad and the refused ones once.
  armFault(stateDir, 'double-next-upload-event');
  const upload = await sftp([
    `put ${join(filesDir, GOOD_FILE)} /inbound/${GOOD_FILE}`,
    `put examples/fn_profile_import.csv /inbound/${BAD_FILE}`,
    `put ${join(filesDir, REFUSED_FILE)} /inbound/${REFUSED_FILE}`,
  ]);
  assert.equal(upload.code, 0, upload.stderr);
  const imports = await finishedRuns(3);
  const run = (name: string) => imports.find((r) => r.file.name === name)!;
  assert.equal(run(GOOD_FILE).status, 'completed');
  assert.equal(run(BAD_FILE).status, 'incomplete');
  assert.equal(run(REFUSED_FILE).status, 'interrupted');

  const exported = await npmRunExport('case-status');
  assert.equal(exported.code, 0, `${exported.stdout}\n${exported.stderr}`);
  const result = JSON.parse(exported.stdout.trim().split('\n').at(-1)!) as { runId: string; key: string; rows: number };

  // Several run watch passes (each publishes the failed runs' events again) and the second delivery have gone by.
  await new Promise((r) => setTimeout(r, 3000));
  const events = readEventFiles(eventsDir());

  for (const e of events) {
    assert.equal(e.source, 'integrator');
    assert.deepEqual(detailProblems(e['detail-type'] as DetailType, e.detail), [], JSON.stringify(e));
  }
  const ids = events.map((e) => e.detail.eventId);
  assert.deepEqual(
    ids.filter((id, i) => ids.indexOf(id) !== i),
    [],
    'no fact published twice',
  );

  const finished = ofType(events, 'Run Finished.v1');
  assert.deepEqual(
    finished.map((e) => e.detail.runId).sort(),
    [run(GOOD_FILE).runId, run(BAD_FILE).runId, run(REFUSED_FILE).runId, result.runId].sort(),
  );
  const good = finished.find((e) => e.detail.runId === run(GOOD_FILE).runId)!;
  assert.equal(good.detail.eventId, `run-finished:${ORG}:${run(GOOD_FILE).runId}`);
  assert.equal(good.detail.status, 'completed');
  assert.equal(good.detail.direction, 'import');
  assert.equal(good.detail.templateId, 'fn_profile_import');
  assert.equal(good.detail.trigger, 'arrival');
  assert.deepEqual((good.detail.counts as Record<string, number>).created, 1);

  const attention = ofType(events, 'Run Needs Attention.v1');
  assert.deepEqual(attention.map((e) => e.detail.runId).sort(), [run(BAD_FILE).runId, run(REFUSED_FILE).runId].sort());
  const bad = attention.find((e) => e.detail.runId === run(BAD_FILE).runId)!;
  assert.equal(bad.detail.status, 'incomplete');
  assert.equal(bad.detail.failedRows, 2);

  const refused = ofType(events, 'Upload Refused.v1');
  assert.equal(refused.length, 1);
  assert.deepEqual(
    [refused[0]!.detail.runId, refused[0]!.detail.fileName, refused[0]!.detail.reasonCode],
    [run(REFUSED_FILE).runId, REFUSED_FILE, 'not_csv'],
  );

  const ready = ofType(events, 'Export File Ready.v1');
  assert.equal(ready.length, 1);
  assert.deepEqual(
    [ready[0]!.detail.runId, ready[0]!.detail.key, ready[0]!.detail.rows, ready[0]!.detail.templateId],
    [result.runId, result.key, result.rows, 'case_status_export'],
  );
  assert.match(String(ready[0]!.detail.key), /^outbound\/acme\/case_status_export_\d{8}\.csv$/);

  // Nothing from the files: no cell of the good, bad or refused file appears in any event.
  const written = events.map((e) => JSON.stringify(e)).join('\n');
  for (const cell of ['aiko.tanaka@example.com', 'Tanaka', 'Raman', 'not-an-email', 'X12345678']) {
    assert.ok(!written.includes(cell), cell);
  }
});
