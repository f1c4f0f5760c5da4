/**
 * A crash mid-file, as an operator sees one: `npm start`'s entry point in a child process, a file uploaded over SFTP,
 * every process of the stack (the twin and DynamoDB Local's Java process) killed at once with SIGKILL while the run
 * works, then the stack started again on the same state folder. The run must resume by itself from its checkpoint and
 * end with every row stored exactly once.
 *
 * The lease, visibility and checkpoint cadence are set short through the environment so the test takes seconds; in
 * production they are 2 minutes, 3 minutes and 30 seconds (functions/handlers/import-file.ts), so a crash is
 * recovered within about three minutes.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import type { Run } from '../../functions/core/transfer/runs.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';
import { storedRecords } from '../support/twin-records.ts';

const ROWS = 1_200;
const FILE = 'fn_profile_import_20261201.csv';
const KEY = `inbound/acme/${FILE}`;
const FAST_RECOVERY = {
  INTEGRATOR_IMPORT_LEASE_MS: '2000',
  INTEGRATOR_IMPORT_VISIBILITY_SECONDS: '4',
  INTEGRATOR_IMPORT_CHECKPOINT_MS: '300',
};

/** "Within minutes": a bound on waiting, not a measure of speed (the machine running the tests may be busy). */
const DEADLINE_MS = 180_000;

const stateDir = mkdtempSync(join(tmpdir(), 'integrator-crash-'));
let twin: TwinProcess | undefined;

after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

const HEADER =
  'Employee ID,First Name,Last Name,Nick Name,Email,Department,Job Title,Hire Date,Work Location,Manager Email,Country of Citizenship,Status';
const id = (i: number) => `C${String(i).padStart(5, '0')}`;
const line = (i: number) =>
  `${id(i)},Name${i},Silva,,${id(i).toLowerCase()}@example.com,R&D,Engineer,2024-02-29,Berlin,boss@example.com,BR,Active`;

function documents(info: TwinProcess['info']): DynamoDBDocumentClient {
  return dynamoDbDocumentClient({ region: info.dynamodb.region, dynamodbEndpoint: info.dynamodb.endpoint });
}

async function runOf(db: DynamoDBDocumentClient): Promise<Run[]> {
  const out = await db.send(
    new QueryCommand({
      TableName: 'Runs',
      KeyConditionExpression: 'org = :o',
      ExpressionAttributeValues: { ':o': 'acme' },
      ConsistentRead: true,
    }),
  );
  return ((out.Items ?? []) as Run[]).filter((r) => r.file.key === KEY);
}

async function until<T>(
  what: string,
  deadlineMs: number,
  probe: () => Promise<T | undefined>,
  db?: DynamoDBDocumentClient,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      const [run] = db ? await runOf(db) : [];
      assert.fail(`${what} within ${deadlineMs / 1000} s; run: ${JSON.stringify(run)}\n${twin?.output().slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the whole stack killed with SIGKILL mid-file and started again: the run resumes, every row stored once', async () => {
  const keysDir = join(stateDir, 'keys');
  mkdirSync(keysDir, { recursive: true });
  const pair = await generateKeyPair(keysDir, 'acme');
  writeFileSync(
    join(stateDir, 'organizations.json'),
    JSON.stringify([{ id: 'acme', name: 'Acme', sshPublicKeys: [pair.publicKey], allowedRecords: 10_000 }]),
  );
  const csvPath = join(stateDir, FILE);
  writeFileSync(csvPath, `${[HEADER, ...Array.from({ length: ROWS }, (_, i) => line(i + 1))].join('\r\n')}\r\n`);

  twin = await startTwinProcess(stateDir, FAST_RECOVERY);
  const user = twin.info.sftp.users[0]!;
  const upload = await runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    commands: [`put ${csvPath} /inbound/${FILE}`],
  });
  assert.equal(upload.code, 0, upload.stderr);

  // Mid-file: a checkpoint saved, rows applied beyond it, the run still running.
  const before = documents(twin.info);
  const checkpointed = await until(
    'a checkpoint of the running run',
    DEADLINE_MS,
    async () => {
      const [run] = await runOf(before);
      return run?.status === 'running' && (run.checkpoint?.row ?? 0) > 1 ? run : undefined;
    },
    before,
  );
  await twin.crash();
  before.destroy();
  assert.ok(checkpointed.checkpoint!.row < ROWS + 1, 'killed before the last row');

  twin = await startTwinProcess(stateDir, FAST_RECOVERY);
  const db = documents(twin.info);
  const [run] = await until(
    'the resumed run finished',
    DEADLINE_MS,
    async () => {
      const runs = await runOf(db);
      return runs.some((r) => r.status !== 'running') ? runs : undefined;
    },
    db,
  );
  assert.ok(run);
  assert.equal(run.status, 'completed', JSON.stringify(run));
  assert.equal((await runOf(db)).length, 1, 'one run for the file');
  assert.ok((run.invocations ?? 1) >= 2, 'resumed by a later invocation');
  // Counted once: the checkpoint's counts carried on, the rows redone after it found their records written.
  assert.equal(run.counts.rows, ROWS);
  assert.equal(run.counts.failed, 0);
  assert.equal(run.counts.created + run.counts.updated + run.counts.unchanged, ROWS);
  assert.ok(run.counts.created >= checkpointed.counts.created, 'the counts before the checkpoint were kept');

  const records = await storedRecords(twin.info, 'acme');
  assert.equal(records.length, ROWS);
  const byKey = new Map(records.map((r) => [r.recordKey as string, r]));
  for (let i = 1; i <= ROWS; i++) {
    assert.equal(byKey.get(id(i))?.firstName, `Name${i}`, id(i));
  }

  // The message is gone from the queue (deleted, not dead-lettered), the ledger says done, the file is archived.
  const queue = await until('the queue emptied', 10_000, async () => {
    const state = JSON.parse(readFileSync(join(stateDir, 'queues', 'import-queue.json'), 'utf8')) as {
      messages: unknown[];
      deadLetters: unknown[];
    };
    return state.messages.length === 0 ? state : undefined;
  });
  assert.deepEqual(queue.deadLetters, []);
  const entries = await db.send(
    new QueryCommand({
      TableName: 'Files',
      KeyConditionExpression: 'org = :o',
      ExpressionAttributeValues: { ':o': 'acme' },
    }),
  );
  const entry = entries.Items?.find((e) => e.key === KEY);
  assert.equal(entry?.status, 'done');
  assert.ok(run.archivedKey);
  const archived = await db.send(new GetCommand({ TableName: 'Files', Key: { org: 'acme', fileId: entry?.fileId } }));
  assert.equal(archived.Item?.runId, run.runId);
  db.destroy();
});

test('a twin killed alone leaves DynamoDB Local running: the next start on the same state ends it and works', async () => {
  assert.ok(twin, 'started by the test above');
  const [child] = JSON.parse(readFileSync(join(stateDir, 'children.json'), 'utf8')) as { pid: number }[];
  assert.ok(child);
  const commandLine = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  };
  await twin.crashAlone();
  assert.match(commandLine(child.pid), /DynamoDBLocal\.jar/, 'orphaned, still running');
  let leftover = true;
  try {
    twin = await startTwinProcess(stateDir, FAST_RECOVERY);
    leftover = commandLine(child.pid).includes('DynamoDBLocal.jar');
  } finally {
    // Never leave the orphan behind, whatever happened above.
    if (commandLine(child.pid).includes('DynamoDBLocal.jar')) process.kill(child.pid, 'SIGKILL');
  }
  assert.equal(leftover, false, 'the leftover was ended by the new start');
  const db = documents(twin.info);
  const [run] = await runOf(db);
  assert.equal(run?.status, 'completed', 'the data is all there');
  assert.equal((await storedRecords(twin.info, 'acme')).length, ROWS);
  db.destroy();
});
