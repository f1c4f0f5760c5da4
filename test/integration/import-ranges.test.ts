/**
 * One file across many workers (core/transfer/import-ranges.ts) on the real local parts: the import handler cut a
 * file into ranges, sends one message per range to the twin's LocalQueue, which delivers them concurrently; the last
 * range finishes the run. Compared with the same file read by one worker (ranges off) in another organization: the
 * same records, counts, row errors (duplicate keys across ranges among them) and outcome file.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { S3EventRecord } from 'aws-lambda';
import { dynamoDbDocumentClient, s3Client } from '../../functions/adapters/aws-clients.ts';
import { putJob, putOrganization } from '../../functions/adapters/dynamodb-jobs.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { recordPk } from '../../functions/core/transfer/records.ts';
import type { Run } from '../../functions/core/transfer/runs.ts';
import { acceptContinuations, LocalQueue } from '../../lib/local/queue.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
let s3: S3Client;
let handlerModule: typeof import('../../functions/handlers/import-file.ts');
const events: S3EventRecord[] = [];

const HEADER =
  'Employee ID,First Name,Last Name,Nick Name,Email,Department,Job Title,Hire Date,Work Location,Manager Email,Country of Citizenship,Status';
const line = (id: string, email = `${id.toLowerCase()}@example.com`) =>
  `${id},Ana,Silva,,${email},R&D,Engineer,2024-02-29,Berlin,boss@example.com,BR,Active`;

/** 300 rows: keys repeating across range borders (file lines 11 and 151, 61 and 291; the header is line 1), one invalid row, a quoted cell. */
function file(): string {
  const rows: string[] = [];
  for (let i = 1; i <= 300; i++) rows.push(line(`E${i}`));
  rows[149] = line('E10');
  rows[289] = line('E60');
  rows[199] = line('E200', 'not-an-email');
  rows[99] = `E100,"Ana, Maria",Silva,,e100@example.com,R&D,Engineer,2024-02-29,Berlin,boss@example.com,BR,Active`;
  return `${[HEADER, ...rows].join('\r\n')}\r\n`;
}

before(async () => {
  parts = await startLocalParts();
  Object.assign(process.env, parts.env, {
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
  });
  handlerModule = await import('../../functions/handlers/import-file.ts');
  db = dynamoDbDocumentClient(parts.config);
  s3 = s3Client(parts.config);
  parts.s3.onEvent((e) => events.push(...e.Records));
  for (const [org, allowedRecords] of [
    ['one', 10_000],
    ['many', 10_000],
    ['capped', 100],
    ['killed', 10_000],
  ] as const) {
    await putOrganization(db, { id: org, name: org, allowedRecords });
    await putJob(db, defaultImportJob(org, 'fn_profile_import', 'job-profile'));
  }
});
after(() => parts.stop());

/** Uploads the file for `org` and imports it through the handler and a LocalQueue; `rangeRows` 0: one worker. */
async function importThrough(
  org: string,
  rangeRows: number,
  crash?: { atWrite: number },
): Promise<{ run: Run; messages: number }> {
  const key = `inbound/${org}/fn_profile_import_20261202.csv`;
  const seen = events.length;
  await s3.send(new PutObjectCommand({ Bucket: parts.bucket, Key: key, Body: file() }));
  for (let i = 0; i < 50 && events.length === seen; i++) await new Promise((r) => setTimeout(r, 20));
  const record = events.slice(seen).find((r) => r.eventName.startsWith('ObjectCreated:'));
  assert.ok(record);
  let messages = 0;
  let handler: ReturnType<typeof handlerModule.createImportHandler> | undefined;
  const queue = new LocalQueue({
    name: `ranges-${org}`,
    delayMs: 0,
    visibilityTimeoutMs: 60_000,
    maxReceiveCount: 5,
    handler: (event) => {
      messages++;
      return handler!(event);
    },
  });
  handler = handlerModule.createImportHandler({
    dependencies: () =>
      handlerModule.dependenciesFromEnv(
        { ...process.env, IMPORT_QUEUE_URL: queue.url, INTEGRATOR_IMPORT_RANGE_ROWS: String(rangeRows) },
        crash ? { db: crashingClient(crash.atWrite) } : {},
      ),
    // A crashed range is retried after a second (not 30 s); its checkpoint is saved after every batch.
    ...(crash ? { retrySeconds: 1, checkpointEveryMs: 0 } : {}),
    // Several batches per range, so the ranges interleave.
  });
  const unregister = acceptContinuations(queue);
  try {
    queue.send(JSON.stringify({ Records: [record] }));
    await queue.drained();
    assert.deepEqual(queue.deadLetters, []);
  } finally {
    unregister();
    await queue.close();
  }
  const out = await db.send(
    new QueryCommand({
      TableName: 'Runs',
      KeyConditionExpression: 'org = :o',
      ExpressionAttributeValues: { ':o': org },
    }),
  );
  const runs = (out.Items ?? []).filter((r) => !String(r.runId).includes('#range#')) as Run[];
  assert.equal(runs.length, 1, 'one run');
  return { run: runs[0]!, messages };
}

/**
 * A DocumentClient whose `atWrite`-th record write (BatchExecuteStatement) throws once: the invocation handling that
 * range dies there, as a Lambda killed mid-batch would, with the batch's other statements possibly applied.
 */
function crashingClient(atWrite: number): DynamoDBDocumentClient {
  const client = dynamoDbDocumentClient(parts.config);
  let writes = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchExecuteStatementCommand' && ++writes === atWrite) {
        throw new Error('the worker died mid-batch');
      }
      return next(args);
    },
    { step: 'initialize', name: 'crashOnce' },
  );
  return client;
}

async function errorsOf(run: Run) {
  const out = await db.send(
    new QueryCommand({
      TableName: 'RunErrors',
      KeyConditionExpression: 'orgRun = :k',
      ExpressionAttributeValues: { ':k': `${run.org}#${run.runId}` },
    }),
  );
  return (out.Items ?? []).map((e) => ({ row: e.row, code: e.code, message: e.message, kept: e.kept ?? false }));
}

async function outcomeOf(run: Run): Promise<string> {
  assert.ok(run.outcomeKey);
  const out = await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: run.outcomeKey }));
  return out.Body!.transformToString('utf-8');
}

test('a file applied by several workers: no row lost or doubled, the same run report as one worker gives', async () => {
  const one = await importThrough('one', 0);
  const many = await importThrough('many', 70);
  assert.equal(one.messages, 1, 'one worker: one message');
  assert.equal(many.messages, 1 + 5, 'the file message, then one message per range of 70 rows');
  for (const run of [one.run, many.run]) assert.equal(run.status, 'incomplete');
  assert.deepEqual(many.run.counts, one.run.counts);
  assert.deepEqual(many.run.counts, {
    rows: 300,
    created: 297,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 3,
    overLimit: 0,
  });
  assert.equal(many.run.message, one.run.message);
  // Duplicate keys across ranges (lines 11/151 in ranges 1 and 3, 61/291 in ranges 1 and 5) are reported as one
  // worker reports them: the repeat failed, the first row kept with its note.
  const errors = await errorsOf(many.run);
  assert.deepEqual(errors, await errorsOf(one.run));
  assert.deepEqual(
    errors.map((e) => [e.row, e.code, e.kept]),
    [
      [11, 'duplicate_key', true],
      [61, 'duplicate_key', true],
      [151, 'duplicate_key', false],
      [201, 'invalid_email', false],
      [291, 'duplicate_key', false],
    ],
  );
  assert.equal(await outcomeOf(many.run), await outcomeOf(one.run));
  for (const id of ['E1', 'E70', 'E71', 'E100', 'E299', 'E300']) {
    const stored = await db.send(
      new GetCommand({ TableName: 'Records', Key: { pk: recordPk('many', 'foreignNational', id) } }),
    );
    assert.ok(stored.Item, `${id} stored`);
  }
  assert.ok(many.run.archivedKey, 'archived once, by the last range');
});

test('the record limit holds under parallel ranges: exactly the allowed records written, the rest over the limit', async () => {
  const { run } = await importThrough('capped', 70);
  assert.equal(run.status, 'incomplete');
  assert.equal(run.counts.created, 100);
  assert.equal(run.counts.overLimit, 197);
  assert.equal(run.counts.created + run.counts.overLimit, 297, 'every valid row written or reported over the limit');
});

test('a range whose worker dies mid-batch is resumed from its checkpoint by the redelivery: no row lost or doubled', async () => {
  // Two ranges of 150 rows, batches of 100 (4 statements each): the first 8 writes are the two ranges' first batches,
  // so the 9th is a second batch. Resumed from the checkpoint after the first batch, at most that batch's 50 rows are
  // redone (found written: unchanged); restarted from the range's start, at least 100 would be.
  const { run, messages } = await importThrough('killed', 150, { atWrite: 9 });
  assert.ok(messages > 1 + 2, 'the crashed range was delivered again');
  assert.equal(run.status, 'incomplete');
  assert.equal(run.counts.rows, 300);
  assert.equal(run.counts.failed, 3);
  assert.equal(run.counts.created + run.counts.unchanged, 297, 'every valid row applied once');
  assert.ok(run.counts.unchanged <= 50, `redone rows: ${run.counts.unchanged}`);
  const errors = await errorsOf(run);
  assert.deepEqual(
    errors.map((e) => [e.row, e.code]),
    [
      [11, 'duplicate_key'],
      [61, 'duplicate_key'],
      [151, 'duplicate_key'],
      [201, 'invalid_email'],
      [291, 'duplicate_key'],
    ],
  );
  for (const id of ['E1', 'E149', 'E151', 'E300']) {
    const stored = await db.send(
      new GetCommand({ TableName: 'Records', Key: { pk: recordPk('killed', 'foreignNational', id) } }),
    );
    assert.ok(stored.Item, `${id} stored`);
  }
});
