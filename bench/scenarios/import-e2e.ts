/**
 * (c) and (d): one real import, end to end, on the local parts the parent (bench/run.ts) started: the S3 notification
 * of an upload to s3rver (passed in BENCH_EVENT, exactly as the server emitted it) wrapped in an SQS event, handed to
 * the import Lambda's handler, which claims the file, streams it from s3rver, imports it into DynamoDB Local, records
 * the run and archives the file. The handler is built as in AWS (dependenciesFromEnv) with one difference: its
 * DocumentClient carries a middleware that counts the requests sent, by kind, and the write units they would cost in
 * AWS (measure.ts countRequests; benchmark only, not production code).
 * Usage: BENCH_EVENT='<S3 event record JSON>' import-e2e.ts LABEL ORG
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { configFromEnv, dynamoDbDocumentClient, tableName } from '../../functions/adapters/aws-clients.ts';
import type { Run } from '../../functions/core/transfer/runs.ts';
import { createImportHandler, dependenciesFromEnv } from '../../functions/handlers/import-file.ts';
import { sqsRecord } from '../../lib/local/queue.ts';
import { countRequests, measure } from './measure.ts';

const [label, org] = process.argv.slice(2);
const record = process.env.BENCH_EVENT;
if (!label || !org || !record) throw new Error('usage: BENCH_EVENT=<record> import-e2e.ts LABEL ORG');
const size = (JSON.parse(record) as { s3: { object: { size: number } } }).s3.object.size;

const db = dynamoDbDocumentClient(configFromEnv());
const requests = countRequests(db);

const handler = createImportHandler({ dependencies: () => dependenciesFromEnv(process.env, { db }) });
const event: SQSEvent = { Records: [sqsRecord(JSON.stringify({ Records: [JSON.parse(record)] }))] };

await measure(label, size, async () => {
  const response = await handler(event);
  if (response.batchItemFailures.length > 0) throw new Error('the import failed (batch item failure)');
  // Taken before the run is read back below (that read is the benchmark's, not the import's).
  const { writeRequests, writeUnits, itemWrites } = requests;
  const detail = requests.detail();
  const runs = await db.send(
    new QueryCommand({
      TableName: tableName('Runs'),
      KeyConditionExpression: 'org = :o',
      ExpressionAttributeValues: { ':o': org },
    }),
  );
  const run = ((runs.Items ?? []) as Run[]).sort((a, b) => a.startedAt.localeCompare(b.startedAt)).at(-1);
  if (!run) throw new Error('no run was recorded');
  const c = run.counts;
  return {
    rows: c.rows,
    writeRequests,
    writeUnits,
    itemWrites,
    notes: `${run.status}: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.failed} failed; requests: ${detail}`,
  };
});
