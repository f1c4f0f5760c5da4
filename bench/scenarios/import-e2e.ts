/**
 * (c) and (d): one real import, end to end, on the local parts the parent (bench/run.ts) started: the S3 notification
 * of an upload to s3rver (passed in BENCH_EVENT, exactly as the server emitted it) wrapped in an SQS event, handed to
 * the import Lambda's handler, which claims the file, streams it from s3rver, imports it into DynamoDB Local, records
 * the run and archives the file. The handler is built as in AWS (dependenciesFromEnv) with one difference: its
 * DocumentClient carries a middleware that counts the requests sent, by kind, and the write units they would cost in
 * AWS (measure.ts countRequests; benchmark only, not production code).
 *
 * (c2), (c4): the same import by W parallel workers (BENCH_WORKERS=W, BENCH_RANGE_ROWS=R): the handler cuts the file
 * into ranges of R rows (import-ranges.ts) and sends one message per range to a LocalQueue whose maximum concurrency is
 * W (as the event source's in AWS); the same handler takes the range messages, W at once. The timing ends when the
 * queue is drained: the last range has finished the run. All workers share this one process (one core): what the
 * figure shows is the gain from W writers in flight at once, not from W vCPUs.
 * Usage: BENCH_EVENT='<S3 event record JSON>' [BENCH_WORKERS=W BENCH_RANGE_ROWS=R] import-e2e.ts LABEL ORG
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { configFromEnv, dynamoDbDocumentClient, tableName } from '../../functions/adapters/aws-clients.ts';
import type { Run } from '../../functions/core/transfer/runs.ts';
import { createImportHandler, dependenciesFromEnv } from '../../functions/handlers/import-file.ts';
import { acceptContinuations, LocalQueue, sqsRecord } from '../../lib/local/queue.ts';
import { countRequests, measure } from './measure.ts';

const [label, org] = process.argv.slice(2);
const record = process.env.BENCH_EVENT;
if (!label || !org || !record) throw new Error('usage: BENCH_EVENT=<record> import-e2e.ts LABEL ORG');
const size = (JSON.parse(record) as { s3: { object: { size: number } } }).s3.object.size;

const db = dynamoDbDocumentClient(configFromEnv());
const requests = countRequests(db);

const workers = Number(process.env.BENCH_WORKERS ?? 1);
const body = JSON.stringify({ Records: [JSON.parse(record)] });

/** One worker: the handler called once with the upload's message, as the event source would. */
async function importByOne(): Promise<void> {
  const handler = createImportHandler({ dependencies: () => dependenciesFromEnv(process.env, { db }) });
  const event: SQSEvent = { Records: [sqsRecord(body)] };
  const response = await handler(event);
  if (response.batchItemFailures.length > 0) throw new Error('the import failed (batch item failure)');
}

/** W workers: the file's message and its range messages through a queue of maximum concurrency W. */
async function importByMany(): Promise<void> {
  const rangeRows = process.env.BENCH_RANGE_ROWS;
  if (!rangeRows) throw new Error('BENCH_RANGE_ROWS is required with BENCH_WORKERS > 1');
  let handler: ReturnType<typeof createImportHandler> | undefined;
  const queue = new LocalQueue({
    name: 'bench-import',
    delayMs: 0,
    visibilityTimeoutMs: 15 * 60_000,
    maxReceiveCount: 5,
    maxConcurrency: workers,
    handler: (event) => handler!(event),
  });
  const env = { ...process.env, IMPORT_QUEUE_URL: queue.url, INTEGRATOR_IMPORT_RANGE_ROWS: rangeRows };
  handler = createImportHandler({ dependencies: () => dependenciesFromEnv(env, { db }) });
  const unregister = acceptContinuations(queue);
  try {
    queue.send(body);
    await queue.drained();
    if (queue.deadLetters.length > 0) throw new Error(`${queue.deadLetters.length} message(s) dead-lettered`);
  } finally {
    unregister();
    await queue.close();
  }
}

await measure(label, size, async () => {
  await (workers > 1 ? importByMany() : importByOne());
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
  // A run's ranges are items of the Runs table too (`<runId>#range#nnnn`): the run is the item without that suffix.
  const run = ((runs.Items ?? []) as Run[])
    .filter((r) => !r.runId.includes('#range#'))
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
    .at(-1);
  if (!run) throw new Error('no run was recorded');
  const c = run.counts;
  return {
    rows: c.rows,
    writeRequests,
    writeUnits,
    itemWrites,
    notes: `${workers > 1 ? `${workers} workers: ` : ''}${run.status}: ${c.created} created, ${c.updated} updated, ${c.unchanged} unchanged, ${c.failed} failed; requests: ${detail}`,
  };
});
