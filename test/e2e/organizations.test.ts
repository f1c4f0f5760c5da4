/**
 * Organizations as data on the twin, driven as the operator and the firm admin drive them: `npm run org` creates an
 * organization that logs in over SFTP at once and imports; keys added and removed through /v1/sftp-keys take effect
 * at the next login; a suspended organization can neither log in nor be imported for, and keeps its data; no
 * organization's token reaches the operator route.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CopyObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { dynamoDbDocumentClient, s3Client } from '../../functions/adapters/aws-clients.ts';
import { putJob } from '../../functions/adapters/dynamodb-jobs.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { localIssuer } from '../../lib/local/local-auth.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';
import { storedRecords } from '../support/twin-records.ts';

let stateDir: string;
let keysDir: string;
let twin: TwinProcess;
let newcoToken: string;
let viewerToken: string;

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'integrator-e2e-orgs-'));
  keysDir = join(stateDir, 'keys');
  mkdirSync(keysDir, { recursive: true });
  const acme = await generateKeyPair(keysDir, 'acme');
  writeFileSync(
    join(stateDir, 'organizations.json'),
    JSON.stringify([{ id: 'acme', name: 'Acme', sshPublicKeys: [acme.publicKey], allowedRecords: 1000 }]),
  );
  twin = await startTwinProcess(stateDir);
  const issuer = localIssuer(readFileSync(join(stateDir, 'api-secret'), 'utf8').trim());
  newcoToken = issuer.issue('newco');
  viewerToken = issuer.issueFor({ org: 'newco', email: 'viewer@newco.example.com', name: 'v', role: 'viewer' });
});

after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

/** `npm run org -- <args>` against this twin. */
function org(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/org.ts', ...args, '--state-dir', stateDir],
      { timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function sftp(username: string, privateKeyPath: string, commands: string[]) {
  return runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username,
    privateKeyPath,
    knownHostsPath: twin.info.sftp.knownHostsPath,
    commands,
  });
}

async function api(path: string, init: RequestInit = {}, token = newcoToken) {
  const res = await fetch(`${twin.info.api.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

type Run = { runId: string; status: string; problem?: { code: string }; counts?: Record<string, number> };
async function finishedRuns(count: number): Promise<Run[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const runs = ((await api('/v1/runs')).body.runs as Run[]).filter((r) => r.status !== 'running');
    if (runs.length >= count) return runs;
    if (Date.now() > deadline) assert.fail(`no ${count} finished runs after 30 s:\n${twin.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('an organization created with npm run org logs in over SFTP with its key at once and imports a file', async () => {
  const key = await generateKeyPair(keysDir, 'newco');
  const created = await org(
    'create',
    'newco',
    '--name',
    'NewCo',
    '--time-zone',
    'Europe/Berlin',
    '--key-file',
    `${key.privateKeyPath}.pub`,
  );
  assert.equal(created.code, 0, created.stdout + created.stderr);
  assert.equal(JSON.parse(created.stdout).status, 'active');
  const again = await org('create', 'newco', '--name', 'NewCo');
  assert.equal(again.code, 1);
  assert.match(again.stdout, /exists already/);

  // Its firm admin's first job (the API's PUT /v1/jobs in real use): the profile template mapped 1:1.
  const db = dynamoDbDocumentClient({
    region: twin.info.dynamodb.region,
    dynamodbEndpoint: twin.info.dynamodb.endpoint,
  });
  await putJob(db, defaultImportJob('newco', 'fn_profile_import', 'profile-import'), { table: 'Jobs' });

  const listed = await sftp('org-newco', key.privateKeyPath, ['ls -1 /']);
  assert.equal(listed.code, 0, listed.stderr);
  const upload = await sftp('org-newco', key.privateKeyPath, [
    'put examples/fn_profile_import.csv /inbound/fn_profile_import_20261201.csv',
  ]);
  assert.equal(upload.code, 0, upload.stderr);
  const [run] = await finishedRuns(1);
  assert.equal(run?.counts?.created, 3);
  assert.equal((await storedRecords(twin.info, 'newco')).length, 3);
});

test('a key the firm admin adds works at once; a removed one is refused', async () => {
  const second = await generateKeyPair(keysDir, 'newco-2');
  const refusedBefore = await sftp('org-newco', second.privateKeyPath, ['ls -1 /']);
  assert.notEqual(refusedBefore.code, 0);

  assert.equal(
    (await api('/v1/sftp-keys', { method: 'POST', body: JSON.stringify({ publicKey: second.publicKey }) }, viewerToken))
      .status,
    403,
  );
  const bad = await api('/v1/sftp-keys', {
    method: 'POST',
    body: JSON.stringify({ publicKey: 'ssh-dss AAAAB3NzaC1kc3M=' }),
  });
  assert.equal(bad.status, 400);
  assert.equal((bad.body.error as { code: string }).code, 'ssh_key_dsa');

  const added = await api('/v1/sftp-keys', { method: 'POST', body: JSON.stringify({ publicKey: second.publicKey }) });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const works = await sftp('org-newco', second.privateKeyPath, ['ls -1 /']);
  assert.equal(works.code, 0, works.stderr);
  const keys = (await api('/v1/sftp-keys')).body.keys as { id: string }[];
  assert.equal(keys.length, 2);

  const removed = await api(`/v1/sftp-keys/${encodeURIComponent(String(added.body.id))}`, { method: 'DELETE' });
  assert.equal(removed.status, 200);
  const refused = await sftp('org-newco', second.privateKeyPath, ['ls -1 /']);
  assert.notEqual(refused.code, 0, 'the removed key no longer logs in');
  const first = await sftp('org-newco', join(keysDir, 'newco'), ['ls -1 /']);
  assert.equal(first.code, 0, first.stderr);
});

test('a suspended organization can neither log in nor be imported for; resumed, its data is intact', async () => {
  const suspended = await org('suspend', 'newco');
  assert.equal(suspended.code, 0, suspended.stderr);
  assert.equal(JSON.parse(suspended.stdout).status, 'suspended');
  const login = await sftp('org-newco', join(keysDir, 'newco'), ['ls -1 /']);
  assert.notEqual(login.code, 0, 'a suspended organization cannot log in');

  // A file arriving anyway (an S3 copy into inbound, which the import queue receives as a rename) is refused, kept.
  const s3 = s3Client({ region: twin.info.dynamodb.region, s3Endpoint: twin.info.s3.endpoint });
  const Bucket = twin.info.s3.bucket;
  await s3.send(
    new PutObjectCommand({
      Bucket,
      Key: 'inbound/newco/staging.tmp',
      Body: readFileSync('examples/fn_profile_import.csv'),
    }),
  );
  await s3.send(
    new CopyObjectCommand({
      Bucket,
      Key: 'inbound/newco/fn_profile_import_20261202.csv',
      CopySource: `${Bucket}/inbound/newco/staging.tmp`,
    }),
  );
  const runs = await finishedRuns(2);
  const refused = runs.find((r) => r.problem?.code === 'organization_suspended');
  assert.ok(refused, JSON.stringify(runs));
  await s3.send(new HeadObjectCommand({ Bucket, Key: 'inbound/newco/fn_profile_import_20261202.csv' }));

  const resumed = await org('resume', 'newco');
  assert.equal(resumed.code, 0, resumed.stderr);
  const back = await sftp('org-newco', join(keysDir, 'newco'), ['ls -1 /inbound']);
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, /fn_profile_import_20261202\.csv/);
  assert.equal((await storedRecords(twin.info, 'newco')).length, 3);
  assert.equal(((await api('/v1/sftp-keys')).body.keys as unknown[]).length, 1);
});

test("an organization's token cannot reach the operator route", async () => {
  const operatorUrl = twin.info.operator.url;
  for (const token of [newcoToken, twin.info.api.tokens.acme!]) {
    const res = await fetch(`${operatorUrl}/organizations`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
  }
  assert.equal((await fetch(`${operatorUrl}/organizations`)).status, 401);
  const listed = await org('list');
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual(
    (JSON.parse(listed.stdout).organizations as { id: string }[]).map((o) => o.id),
    ['acme', 'newco'],
  );
  // Data held: a plain delete is refused.
  const refused = await org('delete', 'newco');
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, /still holds/);
});
