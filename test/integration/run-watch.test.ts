/**
 * The run watch's adapters on DynamoDB Local: running runs found through the index, the ledger's signs of life, the
 * conditional interrupt, and the outbox's conditional claims (one e-mail per event, through the eml mailbox).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { putOrganization } from '../../functions/adapters/dynamodb-organizations.ts';
import { dynamoDbOutbox } from '../../functions/adapters/dynamodb-outbox.ts';
import { dynamoDbContacts, dynamoDbRunWatch } from '../../functions/adapters/dynamodb-run-watch.ts';
import { dynamoDbRunLog } from '../../functions/adapters/dynamodb-runs.ts';
import { emlMailer } from '../../functions/adapters/mailer.ts';
import { emptyCounts, type Run } from '../../functions/core/transfer/runs.ts';
import { notifyOnce, runWatchCycle, type WatchDeps } from '../../functions/core/transfer/watch-cycle.ts';
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
