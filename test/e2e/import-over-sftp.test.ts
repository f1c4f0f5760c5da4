/**
 * The twin driven as users drive it: `npm start`'s entry point in a child process, a customer uploading with
 * OpenSSH's sftp, a firm admin reading runs over HTTP. Two organizations share the stack; neither sees the other.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';
import { storedRecords } from '../support/twin-records.ts';

const FILE = 'fn_profile_import_20261124.csv';
let stateDir: string;
let twin: TwinProcess;

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'integrator-e2e-'));
  const keysDir = join(stateDir, 'keys');
  mkdirSync(keysDir, { recursive: true });
  const orgs = [];
  for (const id of ['acme', 'globex', 'initech']) {
    const pair = await generateKeyPair(keysDir, id);
    orgs.push({ id, name: id, sshPublicKeys: [pair.publicKey], allowedRecords: 1000 });
  }
  writeFileSync(join(stateDir, 'organizations.json'), JSON.stringify(orgs));
  twin = await startTwinProcess(stateDir);
});

after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

function sftpAs(org: string, commands: string[]) {
  const user = twin.info.sftp.users.find((u) => u.org === org);
  assert.ok(user, `stack.json lists an SFTP user for ${org}`);
  return runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    // The host key is checked, as the README's commands do, against the known_hosts file the twin writes.
    knownHostsPath: twin.info.sftp.knownHostsPath,
    commands,
  });
}

async function api(org: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${twin.info.api.url}${path}`, {
    headers: { authorization: `Bearer ${twin.info.api.tokens[org]}` },
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

type Run = Record<string, unknown> & { runId: string; status: string };

async function finishedRuns(org: string, count: number): Promise<Run[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { body } = await api(org, '/v1/runs');
    const runs = (body.runs as Run[]).filter((r) => r.status !== 'running');
    if (runs.length >= count) return runs;
    if (Date.now() > deadline) assert.fail(`no finished run for ${org} after 30 s:\n${twin.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a CSV uploaded with OpenSSH sftp is imported, reported, and archived with its failed rows', async () => {
  const upload = await sftpAs('acme', [`put examples/fn_profile_import.csv /inbound/${FILE}`]);
  assert.equal(upload.code, 0, upload.stderr);

  const [run] = await finishedRuns('acme', 1);
  assert.ok(run);
  assert.equal(run.status, 'incomplete');
  assert.deepEqual(
    { created: (run.counts as Record<string, number>).created, failed: (run.counts as Record<string, number>).failed },
    { created: 3, failed: 2 },
  );

  const { body } = await api('acme', `/v1/runs/${run.runId}/errors`);
  const errors = body.errors as { row: number; problems: { column?: string; value?: string; message: string }[] }[];
  assert.deepEqual(
    errors.map((e) => [e.row, e.problems[0]?.column, e.problems[0]?.value]),
    [
      [5, 'Email', 'not-an-email'],
      [6, 'Hire Date', '15/02/2021'],
    ],
  );
  assert.match(errors[0]?.problems[0]?.message ?? '', /fn_profile_import_20261124\.csv/);

  const records = { Items: await storedRecords(twin.info, 'acme') };
  assert.deepEqual(records.Items?.map((r) => r.recordKey).sort(), ['E1001', 'E1002', 'E1003']);
  const jose = records.Items?.find((r) => r.recordKey === 'E1002');
  assert.equal(jose?.firstName, 'José');
  assert.equal(jose?.lastName, 'Müller');

  // The customer finds the original and its failed rows in their archive folder; nothing is left in inbound.
  // The run names the SFTP paths beside the bucket keys: the customer needs no bucket layout to find them.
  const day = new Date(String(run.startedAt)).toISOString().slice(0, 10);
  const archiveDay = `/archive/${day}`;
  assert.equal(run.archivedPath, `${archiveDay}/${run.runId}_fn_profile_import_20261124.csv`);
  assert.equal(run.outcomePath, `${archiveDay}/${run.runId}_fn_profile_import_20261124.errors.csv`);
  assert.equal((run.file as { path?: string }).path, '/inbound/fn_profile_import_20261124.csv');
  assert.match(String(run.archivedKey), new RegExp(`^archive/acme/${day}/`));
  const inbound = await sftpAs('acme', ['ls -1 /inbound']);
  assert.equal(inbound.code, 0, inbound.stderr);
  assert.deepEqual(output(inbound.stdout), []);
  const archive = await sftpAs('acme', [`ls -1 ${archiveDay}`]);
  assert.equal(archive.code, 0, archive.stderr);
  const names = output(archive.stdout).map((line) => line.slice(line.lastIndexOf('/') + 1));
  assert.deepEqual(names.sort(), [
    `${run.runId}_fn_profile_import_20261124.csv`,
    `${run.runId}_fn_profile_import_20261124.errors.csv`,
  ]);
});

test('another organization sees none of it, over HTTP or SFTP', async () => {
  const { body } = await api('globex', '/v1/runs');
  assert.deepEqual(body.runs, []);
  const [acmeRun] = await finishedRuns('acme', 1);
  assert.equal((await api('globex', `/v1/runs/${acmeRun?.runId}`)).status, 404);

  const probe = await sftpAs('globex', [
    '-ls -1R /archive',
    '-get /../../archive/acme/x /dev/null',
    `-put examples/fn_profile_import.csv /inbound/../../inbound/acme/${FILE}`,
  ]);
  assert.deepEqual(
    output(probe.stdout).filter((line) => line.includes('fn_profile_import')),
    [],
    'globex lists nothing of acme',
  );
  const acmeInbound = await sftpAs('acme', ['ls -1 /inbound']);
  assert.deepEqual(output(acmeInbound.stdout), [], "nothing was written into acme's inbound");
});

// Seen as a customer: the same file name put twice within two seconds imported the second content twice and dropped the
// first. Each closed upload is its own version (the bucket is versioned, in the twin too), imported once, in order.
test('the same name put twice in one session: each upload imported once with its own bytes, in order', async () => {
  const header = 'Employee ID,First Name,Last Name,Email';
  const rows = (first: string, ids: string[]) =>
    `${header}\r\n${ids.map((id) => `${id},${first},Silva,${id.toLowerCase()}@example.com`).join('\r\n')}\r\n`;
  const first = join(stateDir, 'first.csv');
  const second = join(stateDir, 'second.csv');
  writeFileSync(first, rows('First', ['I1', 'I2', 'I3']));
  writeFileSync(second, rows('Second', ['I1', 'I2', 'I3', 'I4']));
  const put = await sftpAs('initech', [`put ${first} /inbound/${FILE}`, `put ${second} /inbound/${FILE}`]);
  assert.equal(put.code, 0, put.stderr);

  // The second may wait for the first one's turn (it comes back after 30 s).
  const deadline = Date.now() + 90_000;
  let runs = await finishedRuns('initech', 0);
  while (runs.length < 2) {
    if (Date.now() > deadline) assert.fail(`two runs expected:\n${twin.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 500));
    runs = await finishedRuns('initech', 0);
  }
  const [older, newer] = runs.sort((a, b) => a.runId.localeCompare(b.runId)) as [Run, Run];
  const counts = (r: Run) => r.counts as Record<string, number>;
  assert.deepEqual([counts(older).created, counts(older).updated], [3, 0]);
  assert.deepEqual([counts(newer).created, counts(newer).updated], [1, 3]);
  const records = { Items: await storedRecords(twin.info, 'initech') };
  assert.deepEqual(records.Items?.map((r) => `${r.recordKey}:${r.firstName}`).sort(), [
    'I1:Second',
    'I2:Second',
    'I3:Second',
    'I4:Second',
  ]);
  const inbound = await sftpAs('initech', ['ls -1 /inbound']);
  assert.deepEqual(output(inbound.stdout), [], 'nothing is left in inbound');
});

test('state persists across a restart, and Ctrl-C stops every process', async () => {
  const ports = [twin.info.sftp.port, new URL(twin.info.dynamodb.endpoint).port, new URL(twin.info.s3.endpoint).port];
  assert.equal(await twin.stop(), 0);
  for (const port of ports) assert.equal(await isListening(Number(port)), false, `port ${port} is closed`);

  twin = await startTwinProcess(stateDir);
  const runs = await finishedRuns('acme', 1);
  assert.equal(runs.length, 1);
});

/** What the sftp client printed, without its echo of the batch commands (`sftp> …`). */
function output(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('sftp>'));
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
