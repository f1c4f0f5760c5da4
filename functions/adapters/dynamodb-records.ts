import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RecordStore, RecordWrite, StoredRecordState, WriteResult } from '../core/ports.ts';
import { orgEntity, recordPk } from '../core/transfer/records.ts';
import { tableName } from './aws-clients.ts';
import {
  backoff,
  chunks,
  isConditionFailed,
  MAX_BATCH_ATTEMPTS,
  mapConcurrent,
  updateParts,
} from './dynamodb-expressions.ts';
import { asStoreRefusal } from './store-refusals.ts';

/** Request counts, for tests and benchmarks ("unchanged rows cost no write"). */
export interface RecordStoreStats {
  batchGets: number;
  updates: number;
  conditionFailures: number;
}

export interface DynamoDbRecordsOptions {
  env?: NodeJS.ProcessEnv;
  table?: string;
  /** UpdateItem calls in flight per batch. */
  concurrency?: number;
  stats?: RecordStoreStats;
}

/**
 * Imported records in the Records table (pk = org#entity#key; index byOrgEntity lists an organization's records).
 *
 * Reads: BatchGetItem of the hash only (100 keys per call, unprocessed keys retried with backoff).
 * Writes: one UpdateItem per changed row, never PutItem, which would wipe the attributes other parts of the system
 * own: only the mapped fields (set, or removed when the file left them empty) and the bookkeeping attributes change.
 * The preference becomes the condition: create only = attribute_not_exists(pk), update only = attribute_exists(pk).
 */
export function dynamoDbRecords(db: DynamoDBDocumentClient, options: DynamoDbRecordsOptions = {}): RecordStore {
  const table = options.table ?? tableName('Records', options.env);
  const concurrency = options.concurrency ?? 16;
  const stats = options.stats;
  return {
    async current(org, entity, recordKeys) {
      const found = new Map<string, StoredRecordState>();
      const prefix = `${org}#${entity}#`;
      for (const part of chunks([...new Set(recordKeys)], 100)) {
        let keys: Record<string, unknown>[] = part.map((k) => ({ pk: recordPk(org, entity, k) }));
        for (let attempt = 0; keys.length > 0; attempt++) {
          if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`Records: ${keys.length} keys stayed unprocessed`);
          if (attempt > 0) await backoff(attempt);
          if (stats) stats.batchGets++;
          const out = await db.send(
            new BatchGetCommand({
              RequestItems: {
                [table]: {
                  Keys: keys,
                  ProjectionExpression: '#pk, #hash',
                  ExpressionAttributeNames: { '#pk': 'pk', '#hash': 'hash' },
                },
              },
            }),
          );
          for (const item of out.Responses?.[table] ?? []) {
            const pk = String(item.pk);
            found.set(pk.slice(prefix.length), typeof item.hash === 'string' ? { hash: item.hash } : {});
          }
          keys = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
        }
      }
      return found;
    },

    apply(writes) {
      return mapConcurrent(writes, concurrency, (w) => write(db, table, w, stats));
    },
  };
}

async function write(
  db: DynamoDBDocumentClient,
  table: string,
  w: RecordWrite,
  stats: RecordStoreStats | undefined,
): Promise<WriteResult> {
  const parts = updateParts(
    {
      ...w.set,
      org: w.org,
      entity: w.entity,
      orgEntity: orgEntity(w.org, w.entity),
      recordKey: w.recordKey,
      hash: w.hash,
      templateId: w.templateId,
      lastRunId: w.runId,
      lastRow: w.row,
      updatedAt: w.at,
    },
    { remove: w.remove, ifNotExists: { createdAt: w.at } },
  );
  const condition =
    w.condition === 'must_exist'
      ? 'attribute_exists(#pk)'
      : w.condition === 'must_not_exist'
        ? 'attribute_not_exists(#pk)'
        : undefined;
  if (stats) stats.updates++;
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: recordPk(w.org, w.entity, w.recordKey) },
        ...parts,
        ...(condition
          ? {
              ConditionExpression: condition,
              ExpressionAttributeNames: { ...parts.ExpressionAttributeNames, '#pk': 'pk' },
            }
          : {}),
      }),
    );
    return 'written';
  } catch (err) {
    if (!isConditionFailed(err)) throw asStoreRefusal(err, `the record of row ${w.row}`);
    if (stats) stats.conditionFailures++;
    return 'condition_failed';
  }
}
