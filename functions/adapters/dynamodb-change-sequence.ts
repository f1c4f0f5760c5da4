import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ChangeSequence } from '../core/ports.ts';
import { tableName } from './aws-clients.ts';

/** The counter's item in the Records table: no `orgEntity`, so no index lists it beside the records. */
export function changeSequencePk(org: string): string {
  return `${org}#~changeSequence`;
}

/**
 * The organization's change sequence as one counter item in the Records table (beside the records it numbers, so the
 * functions that write records need no other grant). `reserve` is a single UpdateItem `ADD last :count` returning the
 * new value: atomic, so two concurrent reservations never share a number; one call per batch of writes (not per
 * record) keeps the item far below DynamoDB's per-item write rate even under many parallel imports.
 */
export function dynamoDbChangeSequence(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): ChangeSequence {
  const table = options.table ?? tableName('Records', options.env);
  return {
    async reserve(org, count) {
      if (!Number.isInteger(count) || count < 1) throw new Error(`cannot reserve ${count} sequence numbers`);
      const out = await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: changeSequencePk(org) },
          UpdateExpression: 'ADD #last :count',
          ExpressionAttributeNames: { '#last': 'last' },
          ExpressionAttributeValues: { ':count': count },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const last = Number(out.Attributes?.last);
      return last - count + 1;
    },
    async current(org) {
      const out = await db.send(
        new GetCommand({ TableName: table, Key: { pk: changeSequencePk(org) }, ConsistentRead: true }),
      );
      return Number(out.Item?.last ?? 0);
    },
  };
}

/**
 * Hands out the numbers of one reservation one by one, reserving anew when the block is used up or older than its
 * lease (CHANGE_SEQUENCE_LEASE_MS): a writer delayed between reserving and writing never writes a number an export
 * could already have read past. With `maxSize`, each new reservation doubles the last one's size up to it: a writer
 * that keeps one block open across many batches (the import's record store) asks the counter once every few thousand
 * writes, not once per batch; the numbers a lapsed block leaves unused are gaps, which the sequence allows.
 */
export function sequenceBlock(
  sequence: ChangeSequence,
  org: string,
  size: number,
  leaseMs: number,
  now: () => number = Date.now,
  maxSize = size,
): () => Promise<number> {
  let next = 0;
  let end = 0;
  let reservedAt = 0;
  let nextSize = Math.max(1, size);
  let pending: Promise<void> | undefined;
  const refill = async (count: number) => {
    const first = await sequence.reserve(org, count);
    next = first;
    end = first + count;
    reservedAt = now();
  };
  return async () => {
    for (;;) {
      if (pending) await pending;
      if (next < end && now() - reservedAt <= leaseMs) return next++;
      if (!pending) {
        // A block past its lease is dropped whole: its unused numbers become gaps.
        const count = nextSize;
        nextSize = Math.min(Math.max(nextSize, maxSize), nextSize * 2);
        pending = refill(count).finally(() => {
          pending = undefined;
        });
      }
    }
  };
}
