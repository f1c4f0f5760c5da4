/**
 * Scheduled imports on the twin, driven as users drive it (sftp, HTTP) with the scheduler's clock taken over through
 * the twin's test control: the cut-off of a run, and a 02:00 job on a spring-forward and a fall-back night.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { scheduledRunId } from '../../functions/core/transfer/job-runs.ts';
import { DEFAULT_SCHEDULE, nextRuns } from '../../functions/core/transfer/schedules.ts';
import { generateKeyPair } from '../../lib/local/keys.ts';
import { runSftpBatch } from '../support/sftp-client.ts';
import { startTwinProcess, type TwinProcess } from '../support/twin-process.ts';

const JOB = 'profile-import';
let stateDir: string;
let twin: TwinProcess;

before(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'integrator-e2e-schedules-'));
  const keysDir = join(stateDir, 'keys');
  mkdirSync(keysDir, { recursive: true });
  const pair = await generateKeyPair(keysDir, 'acme');
  writeFileSync(
    join(stateDir, 'organizations.json'),
    JSON.stringify([{ id: 'acme', name: 'acme', sshPublicKeys: [pair.publicKey], allowedRecords: 1000 }]),
  );
  twin = await startTwinProcess(stateDir, { INTEGRATOR_TWIN_CONTROL: '1' });
});

after(async () => {
  await twin?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read as a client reads them
type Json = Record<string, any>;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${twin.info.api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${twin.info.api.tokens.acme}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function clock(action: 'jump' | 'advance', at: Date): Promise<void> {
  const url = twin.info.control?.url;
  assert.ok(url, 'the twin exposes its test control');
  const res = await fetch(`${url}/scheduler/${action}`, { method: 'POST', body: JSON.stringify({ at }) });
  assert.equal(res.status, 200, await res.text());
}

async function upload(name: string, rows: string): Promise<void> {
  const file = join(stateDir, name);
  writeFileSync(file, `Employee ID,First Name,Last Name,Email\r\n${rows}`);
  const user = twin.info.sftp.users.find((u) => u.org === 'acme')!;
  const out = await runSftpBatch({
    host: twin.info.sftp.host,
    port: twin.info.sftp.port,
    username: user.username,
    privateKeyPath: user.privateKeyPath,
    knownHostsPath: twin.info.sftp.knownHostsPath,
    commands: [`put ${file} /inbound/${name}`],
  });
  assert.equal(out.code, 0, out.stderr);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what} after ${ms / 1000} s:\n${twin.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function allRuns(): Promise<Json[]> {
  const runs: Json[] = [];
  let cursor: string | null = null;
  do {
    const page = await api('GET', `/v1/runs?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    runs.push(...page.body.runs);
    cursor = page.body.next;
  } while (cursor);
  return runs;
}

const finished = (runId: string) =>
  until(`run ${runId} finished`, async () => {
    const { status, body } = await api('GET', `/v1/runs/${runId}`);
    return status === 200 && body.run.status !== 'running' ? (body.run as Json) : undefined;
  });

test('the cut-off: a file before it is imported by the run, one after it waits for the next run', async () => {
  const job = (await api('GET', `/v1/jobs/${JOB}`)).body.job;
  const saved = await api('PUT', `/v1/jobs/${JOB}`, {
    templateId: job.templateId,
    mapping: job.mapping,
    syncKey: job.syncKey,
    revision: job.revision,
    processing: 'scheduled',
    contacts: ['ops@acme.example'],
  });
  assert.equal(saved.status, 200, JSON.stringify(saved.body));
  assert.deepEqual(saved.body.job.schedule, DEFAULT_SCHEDULE);

  await upload('fn_profile_import_20261201.csv', 'E1,Ana,Silva,ana@example.com\r\n');
  // Pending: no run for it, however long we look (its arrival was handled: give the queue a moment).
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(await allRuns(), []);

  const requested = await api('POST', `/v1/jobs/${JOB}/run`);
  assert.equal(requested.status, 202);
  // Uploaded after the cut-off (the request's time): S3's LastModified has one-second resolution, so wait past it.
  await new Promise((r) => setTimeout(r, 1100));
  await upload('fn_profile_import_20261202.csv', 'E2,Bo,Chen,bo@example.com\r\n');

  const run = await finished(requested.body.request.runId);
  assert.equal(run.trigger, 'manual');
  assert.equal(run.status, 'completed');
  assert.deepEqual(
    run.files.map((f: Json) => [f.name, f.status]),
    [['fn_profile_import_20261201.csv', 'completed']],
  );
  const fileRun = (await api('GET', `/v1/runs/${run.files[0].runId}`)).body.run;
  assert.equal(fileRun.partOf, run.runId);
  assert.equal(fileRun.counts.created, 1);
  // The later file has no run yet: it waits.
  assert.equal((await allRuns()).filter((r) => r.file?.name === 'fn_profile_import_20261202.csv').length, 0);

  // The next firing of the schedule (02:00 Los Angeles) takes it, once its arrival is recorded (a file whose event is
  // handled only after the firing waits for the run after: see the README).
  await new Promise((r) => setTimeout(r, 2000));
  const [next] = nextRuns(DEFAULT_SCHEDULE, new Date(), 1);
  await clock('advance', next!);
  const nightly = await finished(scheduledRunId(JOB, next!));
  assert.equal(nightly.trigger, 'schedule');
  assert.deepEqual(
    nightly.files.map((f: Json) => [f.name, f.status]),
    [['fn_profile_import_20261202.csv', 'completed']],
  );
});

test('a 02:00 job runs once on the spring-forward night and once on the fall-back night', async () => {
  const nights = [
    // 8 March 2026: 02:00 does not exist in Los Angeles (01:59 PST -> 03:00 PDT); it runs at 03:00 PDT = 10:00Z.
    { from: '2026-03-08T08:00:00Z', to: '2026-03-09T08:00:00Z', run: '2026-03-08T10:00:00.000Z' },
    // 1 November 2026: 01:00-01:59 happens twice; 02:00 (PST) once = 10:00Z.
    { from: '2026-11-01T07:00:00Z', to: '2026-11-02T08:00:00Z', run: '2026-11-01T10:00:00.000Z' },
  ];
  for (const night of nights) {
    await clock('jump', new Date(night.from));
    await clock('advance', new Date(night.to));
    const runId = scheduledRunId(JOB, new Date(night.run));
    const run = await finished(runId);
    assert.equal(run.trigger, 'schedule');
    assert.equal(run.cutoff, night.run);
    // Nothing arrived before that cut-off (every file here was uploaded in 2026-12): recorded, with no file.
    assert.deepEqual(run.files, []);
    const day = night.run.slice(0, 10).replaceAll('-', '');
    const scheduled = (await allRuns()).filter((r) => r.trigger === 'schedule' && r.runId.startsWith(day));
    assert.deepEqual(
      scheduled.map((r) => r.runId),
      [runId],
    );
  }
});
