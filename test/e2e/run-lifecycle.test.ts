/**
 * A run that is killed and never resumed, as an operator meets one: the whole stack SIGKILLed mid-file, the file's
 * message lost (as if it had gone to the dead-letter queue), the stack started again. The run watch must end the run
 * Interrupted within its window, Need Attention must list it, and the contacts must get exactly one e-mail however
 * many times the watch runs (the twin's mailbox: .eml files under the state folder's mail/).
 *
 * The stall window and the watch's period are set short through the environment; in production the watch runs every
 * 5 minutes with a 10-minute stall window (functions/core/transfer/run-watch.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import type { Run } from '../../functions/core/transfer/runs.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';

const ROWS = 1_500;
const FILE = 'fn_profile_import_20261202.csv';
const KEY = `inbound/acme/${FILE}`;
const ENV = {
  INTEGRATOR_IMPORT_LEASE_MS: '2000',
  INTEGRATOR_IMPORT_VISIBILITY_SECONDS: '4',
  INTEGRATOR_IMPORT_CHECKPOINT_MS: '300',
  INTEGRATOR_RUN_STALL_MS: '8000',
  INTEGRATOR_RUN_WATCH_MS: '500',
};
const DEADLINE_MS = 180_000;

const stateDir = mkdtempSync(join(tmpdir(), 'integrator-lifecycle-'));
let twin: TwinProcess | undefined;

after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

const HEADER =
  'Employee ID,First Name,Last Name,Nick Name,Email,Department,Job Title,Hire Date,Work Location,Manager Email,Country of Citizenship,Status';
const line = (i: number) =>
  `K${String(i).padStart(5, '0')},Secretname${i},Silva,,k${i}@people.example,R&D,Engineer,2024-02-29,Berlin,boss@people.example,BR,Active`;

async function runOf(db: DynamoDBDocumentClient): Promise<Run | undefined> {
  const out = await db.send(
    new QueryCommand({
      TableName: 'Runs',
      KeyConditionExpression: 'org = :o',
      ExpressionAttributeValues: { ':o': 'acme' },
      ConsistentRead: true,
    }),
  );
  return ((out.Items ?? []) as Run[]).find((r) => r.file.key === KEY);
}

async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) assert.fail(`${what} within ${deadlineMs / 1000} s\n${twin?.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const mailDir = join(stateDir, 'mail');
const mails = () => (existsSync(mailDir) ? readdirSync(mailDir).filter((f) => f.endsWith('.eml')) : []);

test('a killed run that is not resumed ends Interrupted within the watch window, and its contacts get one e-mail', async () => {
  const keysDir = join(stateDir, 'keys');
  mkdirSync(keysDir, { recursive: true });
  const pair = await generateKeyPair(keysDir, 'acme');
  writeFileSync(
    join(stateDir, 'organizations.json'),
    JSON.stringify([
      { id: 'acme', name: 'Acme', sshPublicKeys: [pair.publicKey], allowedRecords: 10_000, contacts: ['it@acme.test'] },
    ]),
  );
  const csvPath = join(stateDir, FILE);
  writeFileSync(csvPath, `${[HEADER, ...Array.from({ length: ROWS }, (_, i) => line(i + 1))].join('\r\n')}\r\n`);

  twin = await startTwinProcess(stateDir, ENV);
  const user = twin.info.sftp.users[0]!;
  const upload = await runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    commands: [`put ${csvPath} /inbound/${FILE}`],
  });
  assert.equal(upload.code, 0, upload.stderr);
  const before = dynamoDbDocumentClient({
    region: twin.info.dynamodb.region,
    dynamodbEndpoint: twin.info.dynamodb.endpoint,
  });
  await until('a checkpoint of the running run', DEADLINE_MS, async () => {
    const run = await runOf(before);
    return run?.status === 'running' && (run.checkpoint?.row ?? 0) > 1 ? run : undefined;
  });
  await twin.crash();
  before.destroy();
  // The file's message is lost: nothing will resume the run.
  const queueFile = join(stateDir, 'queues', 'import-queue.json');
  const queue = JSON.parse(readFileSync(queueFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(queueFile, JSON.stringify({ ...queue, messages: [] }));

  twin = await startTwinProcess(stateDir, ENV);
  const killedAt = Date.now();
  const db = dynamoDbDocumentClient({
    region: twin.info.dynamodb.region,
    dynamodbEndpoint: twin.info.dynamodb.endpoint,
  });
  const run = await until('the watch ended the run', DEADLINE_MS, async () => {
    const r = await runOf(db);
    return r && r.status !== 'running' ? r : undefined;
  });
  assert.equal(run.status, 'interrupted');
  assert.equal(run.problem?.code, 'run_stalled');
  assert.ok(run.endedAt);
  assert.ok(Date.now() - killedAt < DEADLINE_MS);

  const token = twin.info.api.tokens.acme!;
  const listed = (await (
    await fetch(`${twin.info.api.url}/v1/runs?view=needs-attention`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as { runs: { runId: string }[] };
  assert.deepEqual(
    listed.runs.map((r) => r.runId),
    [run.runId],
  );

  await until('the e-mail', DEADLINE_MS, async () => (mails().length > 0 ? true : undefined));
  // Many more passes of the watch (every 500 ms): still one e-mail for the event.
  await new Promise((r) => setTimeout(r, 4000));
  const files = mails();
  assert.equal(files.length, 1, files.join(', '));
  // RFC 5322 as nodemailer writes it: headers, a blank line, the body quoted-printable (soft breaks, =XX).
  const raw = readFileSync(join(mailDir, files[0]!), 'utf8');
  const split = raw.indexOf('\n\n');
  const headers = raw.slice(0, split);
  const eml = raw
    .slice(split + 2)
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  assert.match(headers, /^To: it@acme\.test$/m);
  assert.match(headers, /^Subject: [\s\S]*interrupted/m, 'the subject (RFC 2047 encoded, folded) says what happened');
  assert.match(headers, /^Message-ID: <acme\.run\.failed\.[^>]+@integrator\.local>$/m);
  assert.ok(eml.includes(run.runId), 'names the run');
  assert.ok(eml.includes('run_stalled'), 'says what happened');
  assert.ok(eml.includes(`/v1/runs/${run.runId}`), 'says where to look');
  assert.doesNotMatch(raw, /Secretname|people\.example/, 'no data from the file');
  db.destroy();
});
