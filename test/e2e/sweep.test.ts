/**
 * The sweep on the twin (`npm start`'s entry point in a child process, the sweep on its timer), driven as users drive
 * it: OpenSSH's sftp uploads, runs read over HTTP. The twin's fault switches (lib/local/faults.ts) lose or double
 * the SFTP server's upload event: a file whose event was dropped is found by the sweep and imported once; a doubled
 * event imports once; later sweeps change nothing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { armFault } from '../../lib/local/faults.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';
import { storedRecords } from '../support/twin-records.ts';

const SWEEP_INTERVAL_MS = 1000;
const SETTLE_MS = 1500;
let stateDir: string;
let filesDir: string;
let twin: TwinProcess;

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'integrator-e2e-sweep-'));
  filesDir = join(stateDir, 'upload');
  mkdirSync(join(stateDir, 'keys'), { recursive: true });
  mkdirSync(filesDir);
  const pair = await generateKeyPair(join(stateDir, 'keys'), 'acme');
  writeFileSync(
    join(stateDir, 'organizations.json'),
    JSON.stringify([{ id: 'acme', name: 'acme', sshPublicKeys: [pair.publicKey], allowedRecords: 1000 }]),
  );
  twin = await startTwinProcess(stateDir, {
    INTEGRATOR_SWEEP_INTERVAL_MS: String(SWEEP_INTERVAL_MS),
    INTEGRATOR_SWEEP_SETTLE_MS: String(SETTLE_MS),
  });
});

after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function upload(name: string, rows: string[]) {
  const path = join(filesDir, name);
  writeFileSync(path, `Employee ID,First Name,Last Name,Email\r\n${rows.join('\r\n')}\r\n`);
  const user = twin.info.sftp.users[0]!;
  const done = await runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    knownHostsPath: twin.info.sftp.knownHostsPath,
    commands: [`put ${path} /inbound/${name}`],
  });
  assert.equal(done.code, 0, done.stderr);
}

type Run = { runId: string; status: string; file: { name: string }; counts: Record<string, number> };

async function runsOf(name: string): Promise<Run[]> {
  const res = await fetch(`${twin.info.api.url}/v1/runs`, {
    headers: { authorization: `Bearer ${twin.info.api.tokens.acme}` },
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { runs: Run[] }).runs.filter((r) => r.file.name === name);
}

async function finishedRunsOf(name: string, withinMs: number): Promise<Run[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const runs = await runsOf(name);
    if (runs.length > 0 && runs.every((r) => r.status !== 'running')) return runs;
    if (Date.now() > deadline)
      assert.fail(`no finished run of ${name} within ${withinMs} ms:\n${twin.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Long enough for several sweeps to pass over everything that settled. */
const severalSweeps = () => new Promise((r) => setTimeout(r, SETTLE_MS + 4 * SWEEP_INTERVAL_MS));

test('an upload whose event was dropped is found by the sweep and imported once', async () => {
  armFault(stateDir, 'drop-next-upload-event');
  await upload('fn_profile_import_20261124.csv', ['E1,Ana,Silva,ana@example.com', 'E2,Bo,Chen,bo@example.com']);
  const [run] = await finishedRunsOf('fn_profile_import_20261124.csv', 30_000);
  assert.match(twin.output(), /fault switch: upload event dropped/);
  assert.match(twin.output(), /the sweep found files whose upload event was lost/);
  assert.equal(run?.status, 'completed');
  assert.equal(run?.counts.created, 2);
  await severalSweeps();
  assert.equal((await runsOf('fn_profile_import_20261124.csv')).length, 1, 'later sweeps import nothing again');
  const records = await storedRecords(twin.info, 'acme');
  assert.deepEqual(records.map((r) => r.recordKey).sort(), ['E1', 'E2']);
});

test('a doubled upload event imports once', async () => {
  armFault(stateDir, 'double-next-upload-event');
  await upload('fn_profile_import_20261125.csv', ['E3,Cy,Diaz,cy@example.com']);
  const runs = await finishedRunsOf('fn_profile_import_20261125.csv', 30_000);
  assert.match(twin.output(), /fault switch: upload event doubled/);
  // The second delivery found the ledger's claim (still held, or the file done).
  assert.match(twin.output(), /"message":"object ignored"[^\n]*"reason":"(already_processed|in_progress|gone)"/);
  await severalSweeps();
  const after = await runsOf('fn_profile_import_20261125.csv');
  assert.equal(runs.length, 1);
  assert.equal(after.length, 1);
  assert.equal(after[0]?.status, 'completed');
  assert.equal(after[0]?.counts.created, 1);
});
