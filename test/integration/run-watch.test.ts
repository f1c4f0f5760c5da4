/**
 * The run watch's adapters on DynamoDB Local: running runs found through the index, the ledger's signs of life, the
 * conditional interrupt, and the outbox's conditional claims (one e-mail per event, through the eml mailbox).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { putOrganization } from '../../functions/adapters/dynamodb-organizations.ts';
import { dynamoDbOutbox } from '../../functions/adapters/dynamodb-outbox.ts';
import { dynamoDbRunReports } from '../../functions/adapters/dynamodb-reports.ts';
import { dynamoDbContacts, dynamoDbRunWatch } from '../../functions/adapters/dynamodb-run-watch.ts';
import { dynamoDbRunLog } from '../../functions/adapters/dynamodb-runs.ts';
import { emlMailer } from '../../functions/adapters/mailer.ts';
import { emptyCounts, type Run } from '../../functions/core/transfer/runs.ts';
import {
  notifyOnce,
  runWatchCycle,
  type WatchDeps,
  withFailureNotices,
} from '../../functions/core/transfer/watch-cycle.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
let deps: WatchDeps;
let now = Date.parse('2026-11-24T08:00:00.000Z');
const mailDir = mkdtempSync(join(tmpdir(), 'integrator-mail-'));

const run = (runId: string, over: Partial<Run> = {}): Run => ({
  org: 'acme',
  runId,
  jobId: 'profile',
  status: 'running',
  file: { key: `inbound/acme/${runId}.csv`, name: `${runId}.csv`, size: 1, etag: 'e' },
  startedAt: '2026-11-24T07:00:00.000Z',
  counts: emptyCounts(),
  warnings: [],
  invocations: 1,
  ...over,
});

before(async () => {
  parts = await startLocalParts({ s3: false });
  db = dynamoDbDocumentClient(parts.config);
  await putOrganization(
    db,
    { id: 'acme', name: 'Acme', allowedRecords: 10, contacts: ['it@acme.test'] },
    { env: parts.env },
  );
  await db.send(
    new PutCommand({
      TableName: 'Jobs',
      Item: { org: 'acme', jobId: 'profile', name: 'Profiles', contacts: ['hr@acme.test'] },
    }),
  );
  deps = {
    store: dynamoDbRunWatch(db, parts.env),
    outbox: dynamoDbOutbox(db, parts.env),
    contacts: dynamoDbContacts(db, parts.env),
    mailer: emlMailer(mailDir),
    clock: { now: () => new Date(now) },
    from: 'integrator@firm.test',
    messageDomain: 'firm.test',
  };
});
after(async () => {
  await parts.stop();
  rmSync(mailDir, { recursive: true, force: true });
});

test('a silent run is interrupted, a live one is not; the failure is e-mailed once over repeated passes', async () => {
  const log = dynamoDbRunLog(db, { env: parts.env });
  await log.save(run('20261124T070000000Z-silent'));
  await log.save(run('20261124T070000000Z-alive00'));
  // The live run's file: a lease renewed a minute ago, held by this run.
  await db.send(
    new PutCommand({
      TableName: 'Files',
      Item: {
        org: 'acme',
        fileId: 'inbound/acme/20261124T070000000Z-alive00.csv#v1',
        runId: '20261124T070000000Z-alive00',
        status: 'processing',
        leaseUntil: now + 60_000,
        updatedAt: new Date(now - 60_000).toISOString(),
      },
    }),
  );
  for (let i = 0; i < 3; i++) {
    await runWatchCycle(deps);
    now += 60_000;
  }
  assert.equal((await log.get('acme', '20261124T070000000Z-silent'))?.status, 'interrupted');
  assert.equal((await log.get('acme', '20261124T070000000Z-alive00'))?.status, 'running');
  const files = readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
  assert.equal(files.length, 1, files.join());
});

test('the interrupt is conditional: a run that resumed after the watch read it is left alone', async () => {
  const log = dynamoDbRunLog(db, { env: parts.env });
  const read = run('20261124T070000000Z-resume0');
  await log.save(read);
  await log.save({ ...read, invocations: 2 });
  assert.equal(
    await deps.store.interrupt(read, {
      ...read,
      status: 'interrupted',
      endedAt: 'x',
      message: 'm',
      problem: { code: 'run_stalled', message: 'm' },
    }),
    false,
  );
  assert.equal((await log.get('acme', read.runId))?.status, 'running');
});

test('outbox: concurrent senders of one event send one e-mail; a lapsed claim is taken over once', async () => {
  const before = readdirSync(mailDir).length;
  const event = { kind: 'schedule_missed' as const, org: 'acme', jobId: 'profile', expectedAt: '2026-11-24T10:00:00Z' };
  const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => notifyOnce(deps, event)));
  assert.equal(outcomes.filter((o) => o === 'sent').length, 1);
  assert.equal(readdirSync(mailDir).length, before + 1);
  // A crash after the claim (attempt 1 never marked): two senders after the lease, one takes over.
  const key = 'schedule_missed#profile#2026-11-24T11:00:00Z';
  assert.equal(
    await deps.outbox.claim({ org: 'acme', eventKey: key, status: 'sending', attempt: 1, leaseUntil: now }),
    true,
  );
  assert.equal(
    await deps.outbox.claim({ org: 'acme', eventKey: key, status: 'sending', attempt: 1, leaseUntil: now }),
    false,
  );
  now += 10 * 60_000;
  const retry = { ...event, expectedAt: '2026-11-24T11:00:00Z' };
  const again = await Promise.all([notifyOnce(deps, retry), notifyOnce(deps, retry)]);
  assert.equal(again.filter((o) => o === 'sent').length, 1);
  assert.equal((await deps.outbox.get('acme', key))?.status, 'sent');
  assert.equal((await deps.outbox.get('acme', key))?.attempt, 2);
  assert.equal(await notifyOnce(deps, retry), 'already_sent');
});

test('a run ended failed by its function is e-mailed at once; acknowledged before a refused send, the watch still sends it once', async () => {
  const runLog = dynamoDbRunLog(db, { env: parts.env });
  const reports = dynamoDbRunReports(db, parts.env);
  let refuse = true;
  const refusing: WatchDeps = {
    ...deps,
    mailer: {
      send: async (m) => {
        if (refuse) throw new Error('SES refused');
        return emlMailer(mailDir).send(m);
      },
    },
  };
  const errors: unknown[] = [];
  const ending = withFailureNotices(
    runLog,
    (e) => notifyOnce(refusing, e),
    (err) => errors.push(err),
  );
  const failed = run('20261124T073000000Z-ackack', {
    status: 'interrupted',
    problem: { code: 'header_missing', message: 'x' },
  });
  await ending.save(failed);
  assert.equal(errors.length, 1, 'the refused send is reported, the run saved');
  assert.equal((await runLog.get('acme', failed.runId))?.status, 'interrupted');
  const unsent = [];
  for await (const e of deps.outbox.unsent('acme')) unsent.push(e.eventKey);
  assert.ok(unsent.includes(`run_failed#${failed.runId}`), 'found through the sparse unsent index');
  assert.equal(
    (await reports.acknowledge('acme', failed.runId, { by: 'admin@acme.test', at: new Date(now).toISOString() }))
      .result,
    'acknowledged',
  );
  refuse = false;
  now += 6 * 60_000;
  for (let i = 0; i < 3; i++) {
    await runWatchCycle(deps);
    now += 6 * 60_000;
  }
  // Earlier tests' events may be sent by these passes too: count this run's e-mails.
  const mine = readdirSync(mailDir).filter((f) => readFileSync(join(mailDir, f), 'utf8').includes(failed.runId));
  assert.equal(mine.length, 1, 'one e-mail, after the acknowledgement');
  const left = [];
  for await (const e of deps.outbox.unsent('acme')) left.push(e.eventKey);
  assert.ok(!left.includes(`run_failed#${failed.runId}`), 'sent entries leave the index');
});
