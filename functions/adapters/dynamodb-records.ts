import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  CHANGE_SEQUENCE_LEASE_MS,
  type ChangeSequence,
  type RecordStore,
  type RecordWrite,
  type StoredRecordState,
  type WriteResult,
} from '../core/ports.ts';
import { orgEntity, recordPk, refusedWrite } from '../core/transfer/records.ts';
import { tableName } from './aws-clients.ts';
import { dynamoDbChangeSequence, sequenceBlock } from './dynamodb-change-sequence.ts';
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
  /** The organization's change sequence (default: the counter in this table). */
  sequence?: ChangeSequence;
}

/**
 * Imported records in the Records table (pk = org#entity#key; index byOrgEntity lists an organization's records).
 *
 * Reads: BatchGetItem of the hash only (100 keys per call, unprocessed keys retried with backoff).
 * Writes: one UpdateItem per changed row, never PutItem, which would wipe the attributes other parts of the system
 * own: only the mapped fields (set, or removed when the file left them empty) and the bookkeeping attributes change.
 * Every write is conditional, and what it did is read from its own result, never from the earlier BatchGetItem alone
 * (a concurrent run may have written the record in between):
 * - the preference: create only = attribute_not_exists(pk), update only = attribute_exists(pk);
 * - the content: the record must not already hold this hash (then nothing is written: `unchanged`);
 * - the arrival order: a record written from a file of the same lane that arrived later (a higher `importSeq`) is not
 *   overwritten (`superseded`).
 * Every write stamps `changeSeq`, the organization's next change sequence number (one block reserved per `apply`
 * call: one atomic ADD per batch, not per row), which the export's incremental reads compare with their mark.
 * On success UPDATED_OLD tells created (no earlier item) from updated; on a refusal ALL_OLD
 * (ReturnValuesOnConditionCheckFailure) tells which condition failed. Neither costs capacity, only bytes on the wire.
 */
export function dynamoDbRecords(db: DynamoDBDocumentClient, options: DynamoDbRecordsOptions = {}): RecordStore {
  const table = options.table ?? tableName('Records', options.env);
  const concurrency = options.concurrency ?? 16;
  const stats = options.stats;
  const sequence = options.sequence ?? dynamoDbChangeSequence(db, { table });
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
                  ProjectionExpression: '#pk, #hash, #last, #created',
                  ExpressionAttributeNames: {
                    '#pk': 'pk',
                    '#hash': 'hash',
                    '#last': 'lastRunId',
                    '#created': 'createdRunId',
                  },
                },
              },
            }),
          );
          for (const item of out.Responses?.[table] ?? []) {
            const pk = String(item.pk);
            found.set(pk.slice(prefix.length), storedState(item));
          }
          keys = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
        }
      }
      return found;
    },

    apply(writes) {
      const blocks = new Map<string, () => Promise<number>>();
      const nextSeq = (org: string) => {
        let block = blocks.get(org);
        if (!block) {
          const count = writes.filter((w) => w.org === org && !w.touch).length;
          block = sequenceBlock(sequence, org, count, CHANGE_SEQUENCE_LEASE_MS);
          blocks.set(org, block);
        }
        return block();
      };
      return mapConcurrent(writes, concurrency, (w) => write(db, table, w, stats, nextSeq));
    },
  };
}

/** The attributes the import keeps for ordering and counting, next to the mapped fields. */
const HASH = 'hash';
const LANE = 'importLane';
const SEQ = 'importSeq';
const LAST_RUN = 'lastRunId';
const CREATED_RUN = 'createdRunId';

function storedState(item: Record<string, unknown>): StoredRecordState {
  return {
    ...(typeof item[HASH] === 'string' ? { hash: item[HASH] } : {}),
    ...(typeof item[LAST_RUN] === 'string' ? { lastRunId: item[LAST_RUN] } : {}),
    ...(typeof item[CREATED_RUN] === 'string' ? { createdRunId: item[CREATED_RUN] } : {}),
  };
}

async function write(
  db: DynamoDBDocumentClient,
  table: string,
  w: RecordWrite,
  stats: RecordStoreStats | undefined,
  nextSeq: (org: string) => Promise<number>,
): Promise<WriteResult> {
  if (w.touch && w.arrival) return touch(db, table, w, w.arrival, stats);
  const changeSeq = await nextSeq(w.org);
  const parts = updateParts(
    {
      ...w.set,
      org: w.org,
      entity: w.entity,
      orgEntity: orgEntity(w.org, w.entity),
      recordKey: w.recordKey,
      [HASH]: w.hash,
      templateId: w.templateId,
      [LAST_RUN]: w.runId,
      lastRow: w.row,
      updatedAt: w.at,
      changeSeq,
      ...(w.arrival ? { [LANE]: w.arrival.lane, [SEQ]: w.arrival.seq } : {}),
    },
    { remove: w.remove, ifNotExists: { createdAt: w.at, [CREATED_RUN]: w.runId } },
  );
  const names: Record<string, string> = { ...parts.ExpressionAttributeNames, '#hash': HASH };
  const values: Record<string, unknown> = { ...parts.ExpressionAttributeValues, ':hash': w.hash };
  const conditions = ['(attribute_not_exists(#hash) OR #hash <> :hash)'];
  if (w.condition !== 'none') names['#pk'] = 'pk';
  if (w.condition === 'must_exist') conditions.push('attribute_exists(#pk)');
  if (w.condition === 'must_not_exist') conditions.push('attribute_not_exists(#pk)');
  if (w.arrival) {
    Object.assign(names, { '#lane': LANE, '#seq': SEQ });
    Object.assign(values, { ':lane': w.arrival.lane, ':seq': w.arrival.seq });
    conditions.push('(attribute_not_exists(#seq) OR #lane <> :lane OR #seq <= :seq)');
  }
  if (stats) stats.updates++;
  try {
    const out = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: recordPk(w.org, w.entity, w.recordKey) },
        UpdateExpression: parts.UpdateExpression,
        ConditionExpression: conditions.join(' AND '),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        // Old values of the attributes this write sets: none when the item did not exist.
        ReturnValues: 'UPDATED_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const existed = out.Attributes !== undefined && Object.keys(out.Attributes).length > 0;
    return { effect: existed ? 'updated' : 'created', wrote: true };
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    if (stats) stats.conditionFailures++;
    const old = plainAttributes((err as { Item?: Record<string, unknown> }).Item);
    return refusedWrite(
      w,
      old && {
        ...storedState(old),
        ...(typeof old[LANE] === 'string' && typeof old[SEQ] === 'number' ? { lane: old[LANE], seq: old[SEQ] } : {}),
      },
    );
  }
}

/**
 * Records the arrival number on a record that holds exactly this content under an older number of the lane; nothing
 * else changes. Refused (the content changed, or a newer number is stored): nothing to do either way.
 */
async function touch(
  db: DynamoDBDocumentClient,
  table: string,
  w: RecordWrite,
  arrival: { lane: string; seq: number },
  stats: RecordStoreStats | undefined,
): Promise<WriteResult> {
  if (stats) stats.updates++;
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: recordPk(w.org, w.entity, w.recordKey) },
        UpdateExpression: 'SET #lane = :lane, #seq = :seq',
        ConditionExpression: '#hash = :hash AND (attribute_not_exists(#seq) OR #lane <> :lane OR #seq < :seq)',
        ExpressionAttributeNames: { '#hash': HASH, '#lane': LANE, '#seq': SEQ },
        ExpressionAttributeValues: { ':hash': w.hash, ':lane': arrival.lane, ':seq': arrival.seq },
      }),
    );
  } catch (err) {
    if (!isConditionFailed(err)) throw asStoreRefusal(err, `the record of row ${w.row}`);
    if (stats) stats.conditionFailures++;
  }
  return { effect: 'unchanged', wrote: false };
}

/**
 * The refused item's string and number attributes as plain values: the DocumentClient does not unmarshall the item an
 * exception carries, and only such attributes decide a refusal.
 */
function plainAttributes(item: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!item) return undefined;
  const plain: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    const v = value as { S?: string; N?: string } | null;
    if (typeof v?.S === 'string') plain[name] = v.S;
    else if (typeof v?.N === 'string') plain[name] = Number(v.N);
  }
  return plain;
}
