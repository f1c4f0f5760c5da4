/**
 * The import handler end to end on the real local parts: a CSV put into the local S3 server under inbound/<org>/,
 * the S3 notification it emits (AWS-shaped, key URL-encoded) wrapped in an SQS event, the handler invoked as the
 * Lambda is. Asserts records, runs, row errors, outcome file, archive and the ledger.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { S3EventRecord, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamoDbDocumentClient, s3Client } from '../../functions/adapters/aws-clients.ts';
import { putJob, putOrganization } from '../../functions/adapters/dynamodb-jobs.ts';
import { readBillingUsage } from '../../functions/adapters/dynamodb-organizations.ts';
import { dynamoDbRecords, type RecordStoreStats } from '../../functions/adapters/dynamodb-records.ts';
import { registerLocalQueue } from '../../functions/adapters/sqs-continuations.ts';
import { periodOf } from '../../functions/core/billing.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { recordPk } from '../../functions/core/transfer/records.ts';
import type { Run } from '../../functions/core/transfer/runs.ts';
import { acceptContinuations, LocalQueue, sqsRecord } from '../../lib/local/queue.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

let parts: LocalParts;
let db: DynamoDBDocumentClient;
let s3: S3Client;
let handler: Handler;
let createImportHandler: typeof import('../../functions/handlers/import-file.ts').createImportHandler;
let dependenciesFromEnv: typeof import('../../functions/handlers/import-file.ts').dependenciesFromEnv;
const events: S3EventRecord[] = [];

const HEADER =
  'Employee ID,First Name,Last Name,Nick Name,Email,Department,Job Title,Hire Date,Work Location,Manager Email,Country of Citizenship,Status';
const row = (id: string, email = `${id.toLowerCase()}@example.com`, first = 'Ana') =>
  `${id},${first},Silva,,${email},R&D,Engineer,2024-02-29,Berlin,boss@example.com,BR,Active`;
const csv = (...rows: string[]) => `${[HEADER, ...rows].join('\r\n')}\r\n`;

before(async () => {
  parts = await startLocalParts();
  Object.assign(process.env, parts.env, {
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
  });
  ({ createImportHandler, dependenciesFromEnv } = await import('../../functions/handlers/import-file.ts'));
  handler = (await import('../../functions/handlers/import-file.ts')).handler;
  db = dynamoDbDocumentClient(parts.config);
  s3 = s3Client(parts.config);
  parts.s3.onEvent((e) => events.push(...e.Records));
  await putOrganization(db, { id: 'acme', name: 'Acme', allowedRecords: 10_000 });
  await putJob(db, defaultImportJob('acme', 'fn_profile_import', 'job-profile'));
});
after(() => parts.stop());

/** Uploads an object and returns the SQS event that carries its S3 notification, as the import queue delivers it. */
async function upload(key: string, body: string, tags?: Record<string, string>): Promise<SQSEvent> {
  const before = events.length;
  await s3.send(new PutObjectCommand({ Bucket: parts.bucket, Key: key, Body: body }));
  if (tags) {
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: parts.bucket,
        Key: key,
        Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      }),
    );
  }
  for (let i = 0; i < 50 && events.length === before; i++) await new Promise((r) => setTimeout(r, 20));
  const record = events.slice(before).find((r) => r.eventName.startsWith('ObjectCreated:'));
  assert.ok(record, `an ObjectCreated event for ${key}`);
  return sqsEvent(JSON.stringify({ Records: [record] }));
}

function sqsEvent(...bodies: string[]): SQSEvent {
  return { Records: bodies.map((body) => sqsRecord(body)) };
}

async function runsOf(org: string): Promise<Run[]> {
  const out = await db.send(
    new QueryCommand({
      TableName: 'Runs',
      KeyConditionExpression: 'org = :o',
      ExpressionAttributeValues: { ':o': org },
    }),
  );
  return (out.Items ?? []) as Run[];
}

async function runFor(org: string, key: string): Promise<Run[]> {
  return (await runsOf(org)).filter((r) => r.file.key === key);
}

async function record(org: string, key: string) {
  return (await db.send(new GetCommand({ TableName: 'Records', Key: { pk: recordPk(org, 'foreignNational', key) } })))
    .Item;
}

async function exists(key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: parts.bucket, Key: key }));
    return true;
  } catch (err) {
    if ((err as { name?: string }).name === 'NotFound') return false;
    throw err;
  }
}

async function text(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: key }));
  return out.Body!.transformToString('utf-8');
}

async function runErrors(org: string, runId: string) {
  const out = await db.send(
    new QueryCommand({
      TableName: 'RunErrors',
      KeyConditionExpression: 'orgRun = :k',
      ExpressionAttributeValues: { ':k': `${org}#${runId}` },
    }),
  );
  return out.Items ?? [];
}

test('a good file is imported, its run recorded, the original archived and gone from inbound', async () => {
  const key = 'inbound/acme/fn_profile_import_20261124.csv';
  const event = await upload(key, csv(row('E1'), row('E2'), row('E3')));
  assert.deepEqual(await handler(event), { batchItemFailures: [] });
  const [run] = await runFor('acme', key);
  assert.ok(run);
  assert.equal(run.status, 'completed');
  assert.deepEqual(run.counts, { rows: 3, created: 3, updated: 0, unchanged: 0, skipped: 0, failed: 0, overLimit: 0 });
  assert.equal(run.jobId, 'job-profile');
  assert.match(run.runId, /^\d{8}T\d{9}Z-[a-z0-9]{6}$/);
  assert.ok(run.startedAt <= run.endedAt!);
  assert.equal((await record('acme', 'E2'))?.email, 'e2@example.com');
  assert.equal(await exists(key), false);
  assert.ok(run.archivedKey?.startsWith('archive/acme/'));
  assert.equal(await text(run.archivedKey!), csv(row('E1'), row('E2'), row('E3')));
  assert.equal(run.outcomeKey, undefined);

  // The same event again (at-least-once delivery): processed once.
  assert.deepEqual(await handler(event), { batchItemFailures: [] });
  assert.equal((await runFor('acme', key)).length, 1);

  // Day two, same fixed name, one row changed: one update, the rest unchanged.
  const day2 = await upload(key, csv(row('E1'), row('E2', 'e2@example.com', 'Anna'), row('E3')));
  await handler(day2);
  const runs = await runFor('acme', key);
  assert.equal(runs.length, 2);
  const second = runs.find((r) => r.runId !== run.runId)!;
  assert.equal(second.counts.updated, 1);
  assert.equal(second.counts.unchanged, 2);
  assert.equal((await record('acme', 'E2'))?.firstName, 'Anna');

  // The same content re-uploaded under a new name: a run of its own that changes nothing.
  const renamedKey = 'inbound/acme/fn_profile_import_20261123.csv';
  await handler(await upload(renamedKey, csv(row('E1'), row('E2', 'e2@example.com', 'Anna'), row('E3'))));
  const [renamed] = await runFor('acme', renamedKey);
  assert.equal(renamed?.status, 'completed');
  assert.deepEqual(renamed?.counts, {
    rows: 3,
    created: 0,
    updated: 0,
    unchanged: 3,
    skipped: 0,
    failed: 0,
    overLimit: 0,
  });
  assert.equal((await record('acme', 'E2'))?.firstName, 'Anna');
});

test('a bad row: Incomplete, the error names row, column, value and rule; outcome file next to the archive', async () => {
  const key = 'inbound/acme/fn_profile_import_20261125.csv';
  await handler(await upload(key, csv(row('F1'), row('F2', '=HYPERLINK("x")'), row('F3'))));
  const [run] = await runFor('acme', key);
  assert.equal(run?.status, 'incomplete');
  assert.equal(run.counts.created, 2);
  assert.equal(run.counts.failed, 1);
  const [error] = await runErrors('acme', run.runId);
  assert.equal(error?.row, 3);
  assert.equal(error?.seq, '0000000003');
  assert.equal(error?.column, 'Email');
  assert.equal(error?.value, '=HYPERLINK("x")');
  assert.equal(error?.code, 'invalid_email');
  assert.match(String(error?.rule), /e-mail address/);
  assert.equal((error?.values as string[] | undefined)?.[0], 'F2');
  assert.equal(await record('acme', 'F2'), undefined);
  assert.equal(run.outcomeKey, run.archivedKey!.replace(/\.csv$/, '.errors.csv'));
  const outcome = await text(run.outcomeKey!);
  const lines = outcome.replace(/^\uFEFF/, '').split('\r\n');
  assert.equal(lines[0], `${HEADER},Error`);
  assert.match(lines[1]!, /^F2,Ana,Silva,,"'=HYPERLINK\(""x""\)",/);
  assert.match(lines[1]!, /fn_profile_import_20261125\.csv row 3: ""Email"" value/);
  assert.equal(lines.length, 3);
  assert.equal(await exists(key), false);
});

test('a missing required column: Interrupted before any write, the message names the column', async () => {
  const key = 'inbound/acme/fn_profile_import_20261126.csv';
  await handler(await upload(key, 'Employee ID,First Name,Email\r\nG1,Ana,g1@example.com\r\n'));
  const [run] = await runFor('acme', key);
  assert.equal(run?.status, 'interrupted');
  assert.equal(run.problem?.code, 'missing_required_column');
  assert.match(run.message!, /"Last Name"/);
  assert.equal(await record('acme', 'G1'), undefined);
  assert.equal(await exists(key), false);
  assert.ok(await exists(run.archivedKey!));
});

test('a partial upload is never imported: one Interrupted run, the object stays', async () => {
  const key = 'inbound/acme/fn_profile_import_20261127.csv';
  const event = await upload(key, csv(row('H1')), { 'integrator-upload': 'partial' });
  await handler(event);
  await handler(event);
  const runs = await runFor('acme', key);
  assert.equal(runs.length, 1);
  assert.equal(runs[0]?.status, 'interrupted');
  assert.equal(runs[0]?.problem?.code, 'partial_upload');
  assert.match(runs[0]!.message!, /partial upload/);
  assert.equal(await record('acme', 'H1'), undefined);
  assert.equal(await exists(key), true);
});

test('keys with spaces and parentheses work (URL-encoded in the event)', async () => {
  const key = 'inbound/acme/HR exports (EU)/fn_profile_import_20261128.csv';
  const event = await upload(key, csv(row('I1')));
  assert.match(event.Records[0]!.body, /HR\+exports\+%28EU%29/);
  await handler(event);
  const [run] = await runFor('acme', key);
  assert.equal(run?.status, 'completed');
  assert.ok(await record('acme', 'I1'));
  assert.equal(await exists(key), false);

  const odd = 'inbound/acme/Payroll Q1 (1).csv';
  await handler(await upload(odd, csv(row('I2'))));
  const [refused] = await runFor('acme', odd);
  assert.equal(refused?.status, 'interrupted');
  assert.equal(refused.problem?.code, 'no_template');
  assert.equal(await exists(odd), false);
  assert.ok(await exists(refused.archivedKey!));
});

test('no launched job: Interrupted with the reason, file archived; temporary names and test events are ignored', async () => {
  const key = 'inbound/beta/fn_profile_import_20261124.csv';
  await handler(await upload(key, csv(row('J1'))));
  const [run] = await runFor('beta', key);
  assert.equal(run?.status, 'interrupted');
  assert.equal(run.problem?.code, 'no_launched_job');
  assert.equal(await exists(key), false);

  const temp = 'inbound/acme/fn_profile_import_20261124.csv.filepart';
  assert.deepEqual(await handler(await upload(temp, csv(row('J2')))), { batchItemFailures: [] });
  assert.equal((await runFor('acme', temp)).length, 0);
  assert.equal(await exists(temp), true);
  assert.deepEqual(await handler(sqsEvent(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }))), {
    batchItemFailures: [],
  });
});

test('without a continuation queue a paused run is retried by SQS redelivery: nothing lost, nothing twice', async () => {
  const stats: RecordStoreStats = { batchGets: 0, updates: 0, conditionFailures: 0 };
  const paused = pausingHandler(undefined, stats);
  const key = 'inbound/acme/fn_profile_import_20261201.csv';
  const event = await upload(key, bigFile('K'));
  let deliveries = 0;
  for (;;) {
    deliveries++;
    const response = await paused(event);
    if (response.batchItemFailures.length === 0) break;
    assert.equal(response.batchItemFailures[0]?.itemIdentifier, event.Records[0]!.messageId);
    assert.ok(deliveries < 20);
  }
  assert.ok(deliveries >= 4, `took ${deliveries} deliveries`);
  await assertBigFileImportedOnce(key, 'K', stats, deliveries);
});

/**
 * A handler whose invocations pause every `pauseEveryBatches` batches (standing in for a Lambda running out of time),
 * wired exactly as in AWS except that IMPORT_QUEUE_URL names an in-process queue (or none: SQS redelivery resumes);
 * its record writes are counted.
 */
function pausingHandler(queueUrl: string | undefined, stats: RecordStoreStats) {
  return createImportHandler({
    pauseEveryBatches: 2,
    dependencies: () => {
      const env = { ...process.env, ...(queueUrl ? { IMPORT_QUEUE_URL: queueUrl } : {}) };
      return { ...dependenciesFromEnv(env), records: dynamoDbRecords(db, { env, stats }) };
    },
  });
}

/** 950 rows, one of them repeating row 5's key far past the first checkpoint. */
function bigFile(prefix: string): string {
  const rows = Array.from({ length: 950 }, (_, i) => row(`${prefix}${i}`));
  rows[700] = row(`${prefix}3`);
  return csv(...rows);
}

async function assertBigFileImportedOnce(key: string, prefix: string, stats: RecordStoreStats, invocations: number) {
  const runs = await runFor('acme', key);
  assert.equal(runs.length, 1);
  const [run] = runs;
  assert.equal(run?.status, 'incomplete');
  assert.equal(run.invocations, invocations);
  assert.deepEqual(run.counts, {
    rows: 950,
    created: 949,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 1,
    overLimit: 0,
  });
  // Every applied row was written exactly once: no row replayed into a second write, none skipped.
  assert.equal(stats.updates, 949);
  assert.equal(stats.conditionFailures, 0);
  for (const i of [0, 199, 200, 201, 699, 701, 949]) {
    const stored = await record('acme', `${prefix}${i}`);
    assert.equal(stored?.lastRunId, run.runId, `${prefix}${i}`);
    assert.equal(stored?.lastRow, i + 2);
  }
  assert.deepEqual(
    (await runErrors('acme', run.runId)).map((e) => [e.row, e.code, e.kept ?? false]),
    [
      [5, 'duplicate_key', true],
      [702, 'duplicate_key', false],
    ],
  );
  assert.equal(await exists(key), false);
  assert.ok(await exists(run.archivedKey!));
}

test('a file too big for one invocation continues through continuation messages: no failures, nothing lost or twice', async () => {
  const sent: string[] = [];
  const url = 'local:continuations-direct';
  const unregister = registerLocalQueue(url, { send: (body) => void sent.push(body), changeVisibility: () => {} });
  try {
    const stats: RecordStoreStats = { batchGets: 0, updates: 0, conditionFailures: 0 };
    const paused = pausingHandler(url, stats);
    const key = 'inbound/acme/fn_profile_import_20261202.csv';
    let event = await upload(key, bigFile('M'));
    const original = event.Records[0]!.body;
    let invocations = 0;
    for (;;) {
      invocations++;
      assert.deepEqual(await paused(event), { batchItemFailures: [] }, `invocation ${invocations}`);
      const next = sent.shift();
      if (next === undefined) break;
      // The continuation is the S3 notification itself: the checkpoint lives in the run, found through the ledger.
      assert.equal(next, original);
      event = sqsEvent(next);
      assert.ok(invocations < 20);
    }
    assert.equal(invocations, 5, '950 rows, a pause every 200');
    await assertBigFileImportedOnce(key, 'M', stats, invocations);
  } finally {
    unregister();
  }
});

test("the same through the twin's LocalQueue: continuations arrive at once, nothing retried or dead-lettered", async () => {
  const stats: RecordStoreStats = { batchGets: 0, updates: 0, conditionFailures: 0 };
  const responses: SQSBatchResponse[] = [];
  let paused: Handler | undefined;
  // The queue's own delay stands for the 30 s DeliveryDelay: continuations must not wait for it.
  const queue = new LocalQueue({
    name: 'import-queue-continuations',
    delayMs: 0,
    visibilityTimeoutMs: 60_000,
    maxReceiveCount: 5,
    handler: async (event) => {
      const response = await paused!(event);
      responses.push(response);
      return response;
    },
  });
  paused = pausingHandler(queue.url, stats);
  // The twin's wiring (lib/local/twin.ts): IMPORT_QUEUE_URL = queue.url, continuations accepted by the queue.
  const unregister = acceptContinuations(queue);
  try {
    const key = 'inbound/acme/fn_profile_import_20261203.csv';
    const event = await upload(key, bigFile('N'));
    const started = Date.now();
    queue.send(event.Records[0]!.body);
    await queue.drained();
    assert.ok(Date.now() - started < 60_000, 'no message waited for a retry');
    assert.equal(responses.length, 5);
    assert.ok(responses.every((r) => r.batchItemFailures.length === 0));
    assert.deepEqual(queue.deadLetters, []);
    await assertBigFileImportedOnce(key, 'N', stats, 5);
  } finally {
    unregister();
    await queue.close();
  }
});

test('when the continuation cannot be sent, the paused message is reported failed so SQS redelivers it', async () => {
  const url = 'local:continuations-broken';
  const unregister = registerLocalQueue(url, {
    send: () => {
      throw new Error('SendMessage refused');
    },
    changeVisibility: () => {},
  });
  try {
    const stats: RecordStoreStats = { batchGets: 0, updates: 0, conditionFailures: 0 };
    const paused = pausingHandler(url, stats);
    const key = 'inbound/acme/fn_profile_import_20261204.csv';
    const event = await upload(key, bigFile('P'));
    assert.deepEqual(await paused(event), {
      batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }],
    });
    const [run] = await runFor('acme', key);
    assert.equal(run?.status, 'running');
    assert.equal(run.checkpoint?.row, 201);
    // The redelivery resumes where the run stopped.
    unregister();
    registerLocalQueue(url, { send: () => {}, changeVisibility: () => {} });
    assert.deepEqual(await paused(event), { batchItemFailures: [] });
    assert.equal((await runFor('acme', key))[0]?.checkpoint?.row, 401);
  } finally {
    unregister();
  }
});

test('the allowed record limit: rows beyond it are not applied and reported; after raising it, a re-upload applies them', async () => {
  await putOrganization(db, { id: 'lim', name: 'Limited', allowedRecords: 3 });
  await putJob(db, defaultImportJob('lim', 'fn_profile_import', 'job-profile'));
  const body = csv(row('L1'), row('L2'), row('L3'), row('L4'), row('L5'));
  const key = 'inbound/lim/fn_profile_import_20261124.csv';
  await handler(await upload(key, body));
  const [first] = await runFor('lim', key);
  assert.equal(first?.status, 'incomplete');
  assert.equal(first.counts.created, 3);
  assert.equal(first.counts.overLimit, 2);
  assert.match(first.message!, /2 not applied \(record limit reached\)/);
  assert.deepEqual(
    (await runErrors('lim', first.runId)).map((e) => [e.row, e.code]),
    [
      [5, 'over_limit'],
      [6, 'over_limit'],
    ],
  );
  assert.equal((await text(first.outcomeKey!)).split('\r\n').length, 4);
  assert.equal(await record('lim', 'L4'), undefined);

  await putOrganization(db, { id: 'lim', name: 'Limited', allowedRecords: 10 });
  await handler(await upload(key, body));
  const second = (await runFor('lim', key)).find((r) => r.runId !== first.runId)!;
  assert.equal(second.status, 'completed');
  assert.equal(second.counts.created, 2);
  assert.equal(second.counts.unchanged, 3);
  assert.ok(await record('lim', 'L5'));
  assert.equal((await readBillingUsage(db, 'lim', periodOf(new Date()))).used, 5);
});

/** Delivers the events as SQS would (again after a reported failure) until none is reported; returns the deliveries. */
async function deliverUntilDone(h: Handler, ...events: SQSEvent[]): Promise<number> {
  let pending = events;
  let deliveries = 0;
  while (pending.length > 0) {
    assert.ok(deliveries < 60, 'the events settle');
    const next: SQSEvent[] = [];
    for (const event of pending) {
      deliveries++;
      if ((await h(event)).batchItemFailures.length > 0) next.push(event);
    }
    pending = next;
  }
  return deliveries;
}

// Seen as a customer: the same name put twice within two seconds imported the second content twice and dropped the
// first. The bucket is versioned (in the twin too): each version is its own file, imported once with its own bytes.
test('the same name uploaded twice: each version imported once with its own bytes, in order', async () => {
  await putOrganization(db, { id: 'twice', name: 'Twice', allowedRecords: 1_000 });
  await putJob(db, defaultImportJob('twice', 'fn_profile_import', 'job-profile'));
  const key = 'inbound/twice/fn_profile_import_20261201.csv';
  const first = csv(...['A1', 'A2', 'A3'].map((id) => row(id, undefined, 'First')));
  const second = csv(...['A1', 'A2', 'A3', 'A4'].map((id) => row(id, undefined, 'Second')));
  const e1 = await upload(key, first);
  const e2 = await upload(key, second);
  await deliverUntilDone(handler, e1, e2);
  const runs = (await runFor('twice', key)).sort((a, b) => a.runId.localeCompare(b.runId));
  assert.equal(runs.length, 2);
  const [r1, r2] = runs as [Run, Run];
  assert.deepEqual([r1.counts.created, r1.counts.updated], [3, 0]);
  assert.deepEqual([r2.counts.created, r2.counts.updated], [1, 3]);
  assert.notEqual(r1.file.versionId, r2.file.versionId);
  assert.equal(await text(r1.archivedKey!), first);
  assert.equal(await text(r2.archivedKey!), second);
  assert.ok(![...r1.warnings, ...r2.warnings].some((w) => w.code === 'replaced_during_run'));
  assert.equal((await record('twice', 'A1'))?.firstName, 'Second');
  assert.equal(await exists(key), false);
  assert.equal((await readBillingUsage(db, 'twice', periodOf(new Date()))).used, 7);
});

// Seen in review: every file was imported on its own and concurrently, so a corrected file uploaded seconds after a
// wrong one could lose to it row by row. Files of one organization and template now apply in arrival order.
test('a corrected file waits until the wrong one before it has finished, and wins every row', async () => {
  await putOrganization(db, { id: 'order', name: 'Order', allowedRecords: 10_000 });
  await putJob(db, defaultImportJob('order', 'fn_profile_import', 'job-profile'));
  const ids = Array.from({ length: 250 }, (_, i) => `O${i}`);
  const wrongKey = 'inbound/order/fn_profile_import_20261201.csv';
  const rightKey = 'inbound/order/fn_profile_import_20261202.csv';
  const wrong = await upload(wrongKey, csv(...ids.map((id) => row(id, undefined, 'Wrong'))));
  const right = await upload(rightKey, csv(...ids.map((id) => row(id, undefined, 'Right'))));
  // Each invocation stops after one batch of 100 rows (a Lambda short of time); no continuation queue: SQS redelivers.
  const slow = createImportHandler({ pauseEveryBatches: 1 });
  assert.equal((await slow(wrong)).batchItemFailures.length, 1, 'the wrong file paused after 100 rows');
  // The corrected file arrives while the wrong one is unfinished: it waits, nothing of it is written yet.
  assert.equal((await slow(right)).batchItemFailures.length, 1, 'the corrected file waits for its turn');
  assert.deepEqual(await runFor('order', rightKey), []);
  assert.equal((await record('order', 'O0'))?.firstName, 'Wrong');
  assert.equal(await record('order', 'O249'), undefined);
  await deliverUntilDone(slow, right, wrong);
  for (const id of ids) assert.equal((await record('order', id))?.firstName, 'Right', id);
  const [w] = await runFor('order', wrongKey);
  const [r] = await runFor('order', rightKey);
  assert.equal(w?.counts.created, 250);
  assert.equal(r?.counts.updated, 250);
  assert.ok(w!.endedAt! <= r!.startedAt, 'the corrected file started after the wrong one ended');
});

test('a waiting file is sent back with a delay through the continuation queue, not retried at once', async () => {
  await putOrganization(db, { id: 'delay', name: 'Delay', allowedRecords: 10_000 });
  await putJob(db, defaultImportJob('delay', 'fn_profile_import', 'job-profile'));
  const sent: { body: string; delaySeconds: number }[] = [];
  const url = 'local:continuations-delay';
  const unregister = registerLocalQueue(url, {
    send: (body, delaySeconds) => void sent.push({ body, delaySeconds }),
    changeVisibility: () => {},
  });
  try {
    const h = createImportHandler({
      pauseEveryBatches: 1,
      dependencies: () => dependenciesFromEnv({ ...process.env, IMPORT_QUEUE_URL: url }),
    });
    const ids = Array.from({ length: 150 }, (_, i) => `D${i}`);
    const a = await upload('inbound/delay/fn_profile_import_20261201.csv', csv(...ids.map((id) => row(id))));
    const b = await upload('inbound/delay/fn_profile_import_20261202.csv', csv(row('D0', undefined, 'Later')));
    assert.deepEqual(await h(a), { batchItemFailures: [] });
    assert.deepEqual(await h(b), { batchItemFailures: [] });
    assert.deepEqual(
      sent.map((s) => s.delaySeconds),
      [0, 30],
    );
    assert.equal(sent[1]?.body, b.Records[0]!.body);
  } finally {
    unregister();
  }
});

test('the message is kept invisible for minutes, not the queue timeout; a failure comes back after a short backoff', async () => {
  const url = 'local:visibility-recorder';
  const changes: [string, number][] = [];
  const unregister = registerLocalQueue(url, {
    send: () => {},
    changeVisibility: (handle, seconds) => void changes.push([handle, seconds]),
  });
  try {
    let failNext = true;
    const failing = createImportHandler({
      leaseMs: 120_000,
      dependencies: () => {
        const env = { ...process.env, IMPORT_QUEUE_URL: url };
        const records = dynamoDbRecords(db, { env });
        return {
          ...dependenciesFromEnv(env),
          records: {
            current: records.current,
            apply: async (writes) => {
              if (failNext) throw new Error('ProvisionedThroughputExceeded');
              return records.apply(writes);
            },
          },
        };
      },
    });
    // An organization of its own: a file of acme's lane left unfinished by another test would make this one wait.
    await putOrganization(db, { id: 'visible', name: 'Visible', allowedRecords: 1_000 });
    await putJob(db, defaultImportJob('visible', 'fn_profile_import', 'job-profile'));
    const key = 'inbound/visible/fn_profile_import_20261205.csv';
    const event = await upload(key, csv(row('V1'), row('V2')));
    const third = {
      Records: [
        { ...event.Records[0]!, attributes: { ...event.Records[0]!.attributes, ApproximateReceiveCount: '3' } },
      ],
    };
    const handle = event.Records[0]!.receiptHandle;
    assert.deepEqual(await failing(event), { batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] });
    // Down to the lease and a minute at once, then 30 s of backoff before the retry (not the queue's 15 minutes).
    assert.deepEqual(changes, [
      [handle, 180],
      [handle, 30],
    ]);
    changes.length = 0;
    assert.deepEqual(await failing(third), { batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] });
    assert.deepEqual(changes.at(-1), [handle, 120], 'doubling with each receive');
    failNext = false;
    assert.deepEqual(await failing(event), { batchItemFailures: [] });
    const [run] = await runFor('visible', key);
    assert.equal(run?.status, 'completed');
    assert.equal(run.counts.created, 2);
  } finally {
    unregister();
  }
});
