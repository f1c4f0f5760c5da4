/**
 * The twin's stand-in for the DynamoDB Streams event source of the calendar push: polls DynamoDB Local's stream of
 * the CalendarEvents table with @aws-sdk/client-dynamodb-streams and invokes the very handler the Lambda runs, with
 * records in the Lambda event's shape, in order, per shard. Like the event source mapping it honours partial batch
 * responses: the records before the first reported failure are checkpointed, the failed one is delivered again
 * (after a pause) with everything after it. The checkpoint (per shard, the last sequence number handled) is a file
 * written whole then renamed, so a restart resumes after the last handled record: nothing lost, nothing replayed.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

export interface StreamPollerOptions {
  dynamodb: DynamoDBClient;
  endpoint: string;
  region: string;
  tableName: string;
  checkpointFile: string;
  handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined>;
  /** Between polls when the stream is quiet. */
  idleMs?: number;
  /** Before a failed record is delivered again. */
  retryDelayMs?: number;
  batchSize?: number;
  log?: (entry: Record<string, unknown>) => void;
}

interface Checkpoint {
  streamArn?: string;
  shards: Record<string, { after?: string; closed?: boolean }>;
}

function readCheckpoint(file: string): Checkpoint {
  if (!existsSync(file)) return { shards: {} };
  return JSON.parse(readFileSync(file, 'utf8')) as Checkpoint;
}

function writeCheckpoint(file: string, checkpoint: Checkpoint): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(checkpoint));
  renameSync(tmp, file);
}

/** A Streams API record in the Lambda event's shape (creation time as epoch seconds, as Lambda passes it). */
export function lambdaRecordOf(record: _Record, streamArn: string): DynamoDBRecord {
  const d = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName as DynamoDBRecord['eventName'],
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      ...(d.Keys ? { Keys: d.Keys as never } : {}),
      ...(d.NewImage ? { NewImage: d.NewImage as never } : {}),
      ...(d.OldImage ? { OldImage: d.OldImage as never } : {}),
      ...(d.SequenceNumber ? { SequenceNumber: d.SequenceNumber } : {}),
      ...(d.SizeBytes ? { SizeBytes: d.SizeBytes } : {}),
      ...(d.StreamViewType ? { StreamViewType: d.StreamViewType as never } : {}),
      ...(d.ApproximateCreationDateTime
        ? { ApproximateCreationDateTime: Math.floor(new Date(d.ApproximateCreationDateTime).getTime() / 1000) }
        : {}),
    },
  };
}

export interface StreamPoller {
  /** One pass over every shard until each has nothing new (tests drive the push with it). */
  drain(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

export function calendarStreamPoller(options: StreamPollerOptions): StreamPoller {
  const streams = new DynamoDBStreamsClient({
    endpoint: options.endpoint,
    region: options.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const log = options.log ?? (() => {});
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  let running = false;
  let loop: Promise<void> | undefined;
  let busy: Promise<number> | undefined;

  const pass = async (): Promise<number> => {
    const table = await options.dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
    const streamArn = table.Table?.LatestStreamArn;
    if (!streamArn) throw new Error(`${options.tableName} has no stream`);
    let checkpoint = readCheckpoint(options.checkpointFile);
    // A table created anew (the twin's state wiped) has a new stream: the old checkpoint means nothing there.
    if (checkpoint.streamArn !== streamArn) checkpoint = { streamArn, shards: {} };
    const described = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    let delivered = 0;
    for (const shard of described.StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId!;
      const state = checkpoint.shards[shardId] ?? {};
      if (state.closed) continue;
      let iterator = (
        await streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shardId,
            ...(state.after
              ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: state.after }
              : { ShardIteratorType: 'TRIM_HORIZON' }),
          }),
        )
      ).ShardIterator;
      while (iterator) {
        const out = await streams.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: options.batchSize ?? 100 }),
        );
        const records = out.Records ?? [];
        if (records.length === 0) {
          if (!out.NextShardIterator) checkpoint.shards[shardId] = { ...checkpoint.shards[shardId], closed: true };
          break;
        }
        const event = { Records: records.map((r) => lambdaRecordOf(r, streamArn)) };
        const answer = await options.handler(event);
        const failed = answer?.batchItemFailures?.[0]?.itemIdentifier;
        const failedAt = failed ? records.findIndex((r) => r.dynamodb?.SequenceNumber === failed) : -1;
        const handled = failedAt === -1 ? records : records.slice(0, failedAt);
        if (handled.length > 0) {
          checkpoint.shards[shardId] = { after: handled.at(-1)!.dynamodb!.SequenceNumber! };
          writeCheckpoint(options.checkpointFile, checkpoint);
          delivered += handled.length;
        }
        if (failedAt !== -1) {
          log({ level: 'WARN', message: 'calendar push: record to be delivered again', sequence: failed });
          // The next pass starts at the failed record (after the last handled one), as the event source would.
          return delivered;
        }
        iterator = out.NextShardIterator;
      }
    }
    writeCheckpoint(options.checkpointFile, checkpoint);
    return delivered;
  };

  const once = () => {
    busy ??= pass().finally(() => {
      busy = undefined;
    });
    return busy;
  };

  return {
    async drain() {
      let total = 0;
      for (;;) {
        const n = await once();
        total += n;
        if (n === 0) return total;
      }
    },
    start() {
      if (running) return;
      running = true;
      loop = (async () => {
        while (running) {
          try {
            const n = await once();
            if (n === 0) await sleep(options.idleMs ?? 500);
          } catch (err) {
            log({ level: 'ERROR', message: 'calendar stream poll failed', error: String(err) });
            await sleep(options.retryDelayMs ?? 2000);
          }
        }
      })();
    },
    async stop() {
      running = false;
      await loop;
      await busy;
    },
  };
}
