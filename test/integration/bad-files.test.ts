/**
 * Bad files on the real local parts (DynamoDB Local, s3rver), through the import handler as the Lambda runs it: every
 * stored item stays under DynamoDB's 400 KB (which DynamoDB Local enforces as AWS does), a write the store refuses is
 * a StoreRefusal that ends the run instead of a retry, and no passport number planted in a malformed row reaches a
 * stored row error or the outcome file.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { S3EventRecord, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamoDbDocumentClient, s3Client } from '../../functions/adapters/aws-clients.ts';
import { putJob, putOrganization } from '../../functions/adapters/dynamodb-jobs.ts';
import { dynamoDbRunLog } from '../../functions/adapters/dynamodb-runs.ts';
import { asStoreRefusal, isStoreRefusal, refusable } from '../../functions/adapters/store-refusals.ts';
import { StoreRefusal } from '../../functions/core/problems.ts';
import { itemBytes, MAX_ITEM_BYTES } from '../../functions/core/transfer/item-bounds.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { type Run, startRun } from '../../functions/core/transfer/runs.ts';
import { sqsRecord } from '../../lib/local/queue.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
let s3: S3Client;
let handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
const events: S3EventRecord[] = [];

before(async () => {
  parts = await startLocalParts();
  Object.assign(process.env, parts.env, {
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'SILENT',
  });
  handler = (await import('../../functions/handlers/import-file.ts')).handler;
  db = dynamoDbDocumentClient(parts.config);
  s3 = s3Client(parts.config);
  parts.s3.onEvent((e) => events.push(...e.Records));
  await putOrganization(db, { id: 'acme', name: 'Acme', allowedRecords: 10_000 });
  await putJob(db, defaultImportJob('acme', 'fn_profile_import', 'job-profile'));
  await putJob(db, defaultImportJob('acme', 'fn_passport_import', 'job-passport'));
});
after(() => parts.stop());

async function importObject(key: string, body: string | Uint8Array): Promise<Run> {
  const before = events.length;
  await s3.send(new PutObjectCommand({ Bucket: parts.bucket, Key: key, Body: body }));
  for (let i = 0; i < 100 && events.length === before; i++) await new Promise((r) => setTimeout(r, 20));
  const record = events.slice(before).find((r) => r.eventName.startsWith('ObjectCreated:'));
  assert.ok(record);
  assert.deepEqual(await handler({ Records: [sqsRecord(JSON.stringify({ Records: [record] }))] }), {
    batchItemFailures: [],
  });
  const out = await db.send(
    new QueryCommand({
      TableName: 'Runs',
      KeyConditionExpression: 'org = :o',
      ExpressionAttributeValues: { ':o': 'acme' },
    }),
  );
  const run = (out.Items as Run[]).find((r) => r.file.key === key);
  assert.ok(run, `a run for ${key}`);
  return run;
}

async function errorItems(runId: string) {
  const out = await db.send(
    new QueryCommand({
      TableName: 'RunErrors',
      KeyConditionExpression: 'orgRun = :k',
      ExpressionAttributeValues: { ':k': `acme#${runId}` },
    }),
  );
  return out.Items ?? [];
}

async function text(key: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: key }));
  return out.Body!.transformToString('utf-8');
}

const PROFILE_HEADER =
  'Employee ID,First Name,Last Name,Nick Name,Email,Department,Job Title,Hire Date,Work Location,Manager Email,Country of Citizenship,Status';
const profileRow = (id: string, first = 'Ana') =>
  `${id},${first},Silva,,${id.toLowerCase().slice(0, 20)}@example.com,R&D,Engineer,2024-02-29,Berlin,boss@example.com,BR,Active`;

test('DynamoDB refuses an item over 400 KB with a ValidationException, which is classified as permanent', async () => {
  let refused: unknown;
  try {
    await refusable('a test item', () =>
      db.send(new PutCommand({ TableName: 'RunErrors', Item: { orgRun: 'x#y', seq: '1', big: 'x'.repeat(410_000) } })),
    );
  } catch (err) {
    refused = err;
  }
  assert.ok(refused instanceof StoreRefusal, String(refused));
  assert.equal(refused.problem.code, 'store_refused');
  assert.match(refused.problem.message, /the store refused to record a test item: Item size/);
  // Transient failures are not refusals: they pass through unchanged, to be retried.
  const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });
  assert.equal(isStoreRefusal(throttled), false);
  assert.equal(asStoreRefusal(throttled, 'x'), throttled);
});

test('the run log stores the reproductions of issue 11 bounded, where DynamoDB refused them before', async () => {
  const log = dynamoDbRunLog(db);
  const id = 'E'.repeat(100_000);
  const problem = {
    code: 'too_long',
    message: `f.csv row 2: "Employee ID" value "${id}" must be at most 64 characters`,
    column: 'Employee ID',
    value: id,
    rule: 'at most 64 characters',
  };
  const cjk = '漢'.repeat(250_000);
  await log.addErrors('acme', 'r-bounds', [
    { row: 2, values: [id, 'Ana'], problems: [problem, problem] },
    { row: 3, values: ['E3', cjk, 'x'], problems: [{ code: 'wrong_cell_count', message: 'row 3: expected 2 cells' }] },
  ]);
  const stored = await errorItems('r-bounds');
  assert.equal(stored.length, 2);
  for (const item of stored) assert.ok(itemBytes(item) < MAX_ITEM_BYTES);
  assert.equal((stored[0]!.values as string[])[0], id, 'a cell that fits is kept whole');
  assert.match(String(stored[0]!.message), /…\[cut: [\d,]+ more bytes\]$/);
  assert.match((stored[1]!.values as string[])[1]!, /^漢+…\[cut: [\d,]+ more bytes\]$/);

  const header = Array.from({ length: 40_000 }, (_, i) => `Column number ${i}`);
  const run: Run = {
    ...startRun({
      org: 'acme',
      runId: 'r-bounds',
      now: new Date(),
      file: { key: 'k', name: 'f.csv', size: 1, etag: 'e' },
    }),
    header,
    warnings: header.map((h) => ({ code: 'unknown_column', message: `"${h}" is not mapped`, column: h })),
  };
  await log.save(run);
  const back = await log.get('acme', 'r-bounds');
  assert.equal(back?.headerCut, 39_001);
  assert.equal(back?.warnings.at(-2)?.code, 'warnings_cut');
});

test('a 100 KB employee id: the row is an error naming row and column, the run Incomplete, the outcome file written', async () => {
  const key = 'inbound/acme/fn_profile_import_20261201.csv';
  const run = await importObject(
    key,
    `${[PROFILE_HEADER, profileRow('E1'), profileRow('E'.repeat(100_000)), profileRow('E3')].join('\r\n')}\r\n`,
  );
  assert.equal(run.status, 'incomplete');
  assert.equal(run.counts.created, 2);
  assert.equal(run.counts.failed, 1);
  const [item] = await errorItems(run.runId);
  assert.equal(item?.code, 'cell_too_long');
  assert.equal(item?.row, 3);
  assert.equal(item?.column, 'Employee ID');
  assert.ok(itemBytes(item) < MAX_ITEM_BYTES);
  assert.ok(run.outcomeKey);
  const outcome = await text(run.outcomeKey);
  assert.ok(
    outcome.includes('row 3, column 1 (A) ""Employee ID"": the cell holds 100,000 bytes'),
    'the outcome names it',
  );
});

test('40,000 columns: an Interrupted run that says why, archived', async () => {
  const key = 'inbound/acme/fn_profile_import_20261202.csv';
  const header = `${PROFILE_HEADER},${Array.from({ length: 40_000 }, (_, i) => `Extra ${i}`).join(',')}`;
  const run = await importObject(key, `${header}\r\n${profileRow('E1')}\r\n`);
  assert.equal(run.status, 'interrupted');
  assert.equal(run.problem?.code, 'too_many_columns');
  assert.match(run.message ?? '', /the header has 40,012 columns; a file may have at most 1,000/);
  assert.ok(run.archivedKey);
  assert.ok(itemBytes(run) < 20_000);
});

test('passport numbers planted in malformed rows reach neither the stored row errors nor the outcome file', async () => {
  const key = 'inbound/acme/fn_passport_import_20261201.csv';
  const header =
    'Employee ID,Passport Record ID,Passport Number,Issuing Country,Nationality,Issue Date,Expiry Date,Place of Issue,Primary Passport';
  const planted = ['X12345678', 'Y87654321', 'Z11223344', 'W99887766'];
  const file = [
    header,
    `E1,R1,P0000001,DE,DE,2020-01-01,2030-01-01,Berlin,Yes`,
    // An unquoted comma in the place of issue: the cells after it shift right.
    `E2,R2,${planted[0]},DE,DE,2020-01-01,2030-01-01,Frankfurt, am Main,Yes`,
    // An unquoted comma before the passport number: it shifts into Issuing Country.
    `E3,R3,x,${planted[1]},DE,DE,2020-01-01,2030-01-01,Bonn,Yes`,
    // A cell missing before it: it shifts left, into Passport Record ID.
    `E4,${planted[2]},DE,DE,2020-01-01,2030-01-01,Bonn,Yes`,
    // A row that lines up but fails: masked by its column as before.
    `E5,R5,${planted[3]},XX,DE,2020-01-01,2030-01-01,Bonn,Yes`,
  ].join('\r\n');
  const run = await importObject(key, `${file}\r\n`);
  assert.equal(run.status, 'incomplete');
  assert.equal(run.counts.failed, 4);
  const items = await errorItems(run.runId);
  assert.equal(items.length, 4);
  const outcome = await text(run.outcomeKey!);
  const stored = JSON.stringify({ items, run });
  for (const number of planted) {
    for (const part of [number, number.slice(1), number.slice(0, -2)]) {
      assert.ok(!stored.includes(part), `${part} in the stored row errors or run`);
      assert.ok(!outcome.includes(part), `${part} in the outcome file`);
    }
  }
  assert.match(outcome, /\*\*\*\*78/, 'the outcome file shows masked cells');
});
