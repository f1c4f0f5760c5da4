import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  CHANGE_SEQUENCE_LEASE_MS,
  type ChangeSequence,
  type EntityRecord,
  type EntityWrite,
  type SystemOfRecord,
} from '../core/ports.ts';
import { orgEntity, recordPk } from '../core/transfer/records.ts';
import { RESERVED_FIELD_IDS } from '../core/transfer/template-types.ts';
import { tableName } from './aws-clients.ts';
import { dynamoDbChangeSequence, sequenceBlock } from './dynamodb-change-sequence.ts';
import { backoff, chunks, MAX_BATCH_ATTEMPTS, mapConcurrent, updateParts } from './dynamodb-expressions.ts';

/** Attributes the store keeps on a record beside its fields (template-types.ts): never exported as fields. */
const BOOKKEEPING = RESERVED_FIELD_IDS;

/**
 * The system of record in the Records table, the table imports write: a foreign national an HR file imported is the
 * very record an export joins to its cases, under one key design (pk org#entity#key), one change sequence and one
 * grant. Entities the case-management system owns (case, visa, passport, immigrationDocument, petition) sit beside
 * the imported ones under their own entity names.
 *
 * Writes are UpdateItem of the given fields only (other attributes, such as what an import owns, stay), each stamped
 * with the next change sequence number of a block reserved per `put` call. A write removes the import's content hash,
 * so a later import of a row that equals its previous file is written again rather than taken as unchanged.
 * Reads page through the byOrgEntity index (full: key order) or byOrgEntityChange (incremental: `changeSeq` above
 * the mark, in sequence order); both project every attribute, so a page is one Query.
 */
export function dynamoDbSystemOfRecord(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string; sequence?: ChangeSequence; concurrency?: number } = {},
): SystemOfRecord {
  const table = options.table ?? tableName('Records', options.env);
  const sequence = options.sequence ?? dynamoDbChangeSequence(db, { table });
  const concurrency = options.concurrency ?? 16;
  return {
    async put(writes) {
      const blocks = new Map<string, () => Promise<number>>();
      await mapConcurrent(writes, concurrency, async (w) => {
        let block = blocks.get(w.org);
        if (!block) {
          const count = writes.filter((x) => x.org === w.org).length;
          block = sequenceBlock(sequence, w.org, count, CHANGE_SEQUENCE_LEASE_MS);
          blocks.set(w.org, block);
        }
        for (const name of [...Object.keys(w.set), ...(w.remove ?? [])]) {
          if (BOOKKEEPING.has(name)) throw new Error(`${name} is kept by the record store, not a field`);
        }
        const changeSeq = await block();
        const parts = updateParts(
          {
            ...w.set,
            org: w.org,
            entity: w.entity,
            orgEntity: orgEntity(w.org, w.entity),
            recordKey: w.key,
            changeSeq,
            updatedAt: w.at,
            writtenBy: 'case-management',
          },
          { remove: [...(w.remove ?? []), 'hash'], ifNotExists: { createdAt: w.at } },
        );
        await db.send(new UpdateCommand({ TableName: table, Key: { pk: recordPk(w.org, w.entity, w.key) }, ...parts }));
      });
    },

    async get(org, entity, keys) {
      const found = new Map<string, EntityRecord>();
      // The chunks of 100 keys go concurrently: an export page's people are one round trip, not five.
      await mapConcurrent(chunks([...new Set(keys)], 100), 8, async (part) => {
        let pending: Record<string, unknown>[] = part.map((k) => ({ pk: recordPk(org, entity, k) }));
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`Records: ${pending.length} keys stayed unprocessed`);
          if (attempt > 0) await backoff(attempt);
          const out = await db.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending } } }));
          for (const item of out.Responses?.[table] ?? []) {
            const record = entityRecord(item);
            found.set(record.key, record);
          }
          pending = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
        }
      });
      return found;
    },

    async page(org, entity, { limit, cursor, changedAfter }) {
      const incremental = changedAfter !== undefined;
      const out = await db.send(
        new QueryCommand({
          TableName: table,
          IndexName: incremental ? 'byOrgEntityChange' : 'byOrgEntity',
          KeyConditionExpression: incremental ? '#oe = :oe AND #seq > :after' : '#oe = :oe',
          ExpressionAttributeNames: { '#oe': 'orgEntity', ...(incremental ? { '#seq': 'changeSeq' } : {}) },
          ExpressionAttributeValues: {
            ':oe': orgEntity(org, entity),
            ...(incremental ? { ':after': changedAfter } : {}),
          },
          Limit: limit,
          ...(cursor ? { ExclusiveStartKey: JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) } : {}),
        }),
      );
      const next = out.LastEvaluatedKey
        ? Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString('base64url')
        : undefined;
      return { items: (out.Items ?? []).map(entityRecord), ...(next ? { next } : {}) };
    },
  };
}

function entityRecord(item: Record<string, unknown>): EntityRecord {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(item)) {
    if (BOOKKEEPING.has(name)) continue;
    if (typeof value === 'string') fields[name] = value;
    else if (typeof value === 'number') fields[name] = String(value);
  }
  return {
    entity: String(item.entity),
    key: String(item.recordKey),
    changeSeq: Number(item.changeSeq ?? 0),
    fields,
  };
}

/**
 * Bulk load of whole records into an organization that has none of them yet (the demo seed, the bench): BatchWriteItem
 * of 25 PutRequests per call, many calls in flight, numbered from one reserved block of the change sequence. A put
 * replaces the whole item, which is why this is for empty organizations only; the case-management system writes
 * through `put` (UpdateItem of its fields).
 */
export async function loadEntities(
  db: DynamoDBDocumentClient,
  writes: readonly EntityWrite[],
  options: { env?: NodeJS.ProcessEnv; table?: string; sequence?: ChangeSequence; concurrency?: number } = {},
): Promise<void> {
  if (writes.length === 0) return;
  const table = options.table ?? tableName('Records', options.env);
  const sequence = options.sequence ?? dynamoDbChangeSequence(db, { table });
  const org = writes[0]!.org;
  if (writes.some((w) => w.org !== org)) throw new Error('one organization per load');
  const first = await sequence.reserve(org, writes.length);
  const items = writes.map((w, i) => ({
    ...w.set,
    pk: recordPk(org, w.entity, w.key),
    org,
    entity: w.entity,
    orgEntity: orgEntity(org, w.entity),
    recordKey: w.key,
    changeSeq: first + i,
    createdAt: w.at,
    updatedAt: w.at,
    writtenBy: 'case-management',
  }));
  await mapConcurrent(chunks(items, 25), options.concurrency ?? 8, async (part) => {
    let pending: Record<string, unknown>[] = part.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`Records: ${pending.length} writes stayed unprocessed`);
      if (attempt > 0) await backoff(attempt);
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
      pending = (out.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined) ?? [];
    }
  });
}
