import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Page } from '../core/pages.ts';
import {
  CHANGE_SEQUENCE_LEASE_MS,
  type ChangeSequence,
  type EntityRecord,
  type EntityWrite,
  type SystemOfRecord,
} from '../core/ports.ts';
import { orgEntityKeys, orgEntityShard, personOfChange, personOfKey, recordPk } from '../core/transfer/records.ts';
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
 * the mark, in sequence order), both under the sharded key org#entity#<shard>: every shard queried and merged
 * (mergedPage); both project every attribute.
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
        const person = personOfChange(w.org, w.entity, w.set, w.remove);
        const parts = updateParts(
          {
            ...w.set,
            ...personOfItem(person),
            org: w.org,
            entity: w.entity,
            orgEntity: orgEntityShard(w.org, w.entity, w.key),
            recordKey: w.key,
            changeSeq,
            updatedAt: w.at,
            writtenBy: 'case-management',
          },
          {
            remove: [...(w.remove ?? []), 'hash', ...(person === null ? ['personOf'] : [])],
            ifNotExists: { createdAt: w.at },
          },
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

    page(org, entity, { limit, cursor, changedAfter, changedUpTo }) {
      const changed = changedAfter !== undefined ? { after: changedAfter, upTo: changedUpTo } : undefined;
      return mergedPage(db, table, org, entity, limit, cursor, changed);
    },

    async ofPeople(org, entity, people) {
      // One Query per person (each has few records), several side by side; results in person order.
      const perPerson = await mapConcurrent([...new Set(people)], 8, async (person) => {
        const items: EntityRecord[] = [];
        const pages = paginateQuery(
          { client: db, pageSize: 100 },
          {
            TableName: table,
            IndexName: 'byPerson',
            KeyConditionExpression: '#p = :p',
            ExpressionAttributeNames: { '#p': 'personOf' },
            ExpressionAttributeValues: { ':p': personOfKey(org, entity, person) },
          },
        );
        for await (const page of pages) for (const item of page.Items ?? []) items.push(entityRecord(item));
        return items;
      });
      return perPerson.flat();
    },
  };
}

/** Where a shard's reading stands: not started, after an item's key (ExclusiveStartKey), or read to its end. */
type ShardPosition = Record<string, unknown> | 'start' | 'end';

/**
 * One page of an organization's records of an entity from the sharded index (schemas/tables.ts RECORDS_INDEX_SHARDS):
 * a k-way merge of the shards, each queried in small pages (about 2 x limit / shards items) and queried again when
 * its buffer runs dry, so memory holds at most shards x that, however many records. Order: record key (byOrgEntity,
 * a full read) or change sequence (byOrgEntityChange, `changedAfter`). The cursor holds each shard's position (the key
 * of the last record this reader took from it), so the next page starts where this one stopped in every shard: no
 * record is returned twice or skipped.
 */
async function mergedPage(
  db: DynamoDBDocumentClient,
  table: string,
  org: string,
  entity: string,
  limit: number,
  cursor: string | undefined,
  changed: { after: number; upTo: number | undefined } | undefined,
): Promise<Page<EntityRecord>> {
  const incremental = changed !== undefined;
  const bounded = changed?.upTo !== undefined;
  // Nothing lies above `after` and at or below `upTo` (DynamoDB refuses a BETWEEN whose bounds are reversed).
  if (bounded && changed.after >= changed.upTo!) return { items: [] };
  const shardKeys = orgEntityKeys(org, entity);
  const positions: ShardPosition[] = cursor
    ? (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as ShardPosition[])
    : shardKeys.map(() => 'start');
  if (positions.length !== shardKeys.length) throw new Error('this cursor belongs to another index layout');
  const fetchSize = Math.max(10, Math.ceil((2 * limit) / shardKeys.length));
  const shards = shardKeys.map((key, n) => ({
    key,
    position: positions[n]!,
    buffer: [] as Record<string, unknown>[],
    next: positions[n] === 'end' ? undefined : positions[n] === 'start' ? null : (positions[n] as object),
  }));
  /** Refills a shard whose buffer ran dry and which has more; `next` undefined: read to its end. */
  const refill = async (shard: (typeof shards)[number]) => {
    if (shard.buffer.length > 0 || shard.next === undefined) return;
    const out = await db.send(
      new QueryCommand({
        TableName: table,
        IndexName: incremental ? 'byOrgEntityChange' : 'byOrgEntity',
        // Change sequence numbers are integers: above `after` and at most `upTo` is BETWEEN after + 1 AND upTo.
        KeyConditionExpression: !incremental
          ? '#oe = :oe'
          : bounded
            ? '#oe = :oe AND #seq BETWEEN :from AND :upTo'
            : '#oe = :oe AND #seq > :after',
        ExpressionAttributeNames: { '#oe': 'orgEntity', ...(incremental ? { '#seq': 'changeSeq' } : {}) },
        ExpressionAttributeValues: {
          ':oe': shard.key,
          ...(!incremental
            ? {}
            : bounded
              ? { ':from': changed.after + 1, ':upTo': changed.upTo }
              : { ':after': changed.after }),
        },
        Limit: fetchSize,
        ...(shard.next ? { ExclusiveStartKey: shard.next } : {}),
      }),
    );
    shard.buffer = out.Items ?? [];
    shard.next = out.LastEvaluatedKey;
  };
  const order = incremental
    ? (a: Record<string, unknown>, b: Record<string, unknown>) => Number(a.changeSeq) - Number(b.changeSeq)
    : // DynamoDB orders string keys by their UTF-8 bytes.
      (a: Record<string, unknown>, b: Record<string, unknown>) =>
        Buffer.compare(Buffer.from(String(a.recordKey)), Buffer.from(String(b.recordKey)));
  const items: EntityRecord[] = [];
  while (items.length < limit) {
    await Promise.all(shards.map(refill));
    let best: (typeof shards)[number] | undefined;
    for (const shard of shards) {
      if (shard.buffer.length > 0 && (!best || order(shard.buffer[0]!, best.buffer[0]!) < 0)) best = shard;
    }
    if (!best) break;
    const item = best.buffer.shift()!;
    best.position = {
      pk: item.pk,
      orgEntity: item.orgEntity,
      ...(incremental ? { changeSeq: item.changeSeq } : { recordKey: item.recordKey }),
    };
    items.push(entityRecord(item));
  }
  await Promise.all(shards.map(refill));
  const after = shards.map((s): ShardPosition => (s.buffer.length === 0 && s.next === undefined ? 'end' : s.position));
  const next = after.every((p) => p === 'end') ? undefined : Buffer.from(JSON.stringify(after)).toString('base64url');
  return { items, ...(next ? { next } : {}) };
}

/** The byPerson attribute of a whole record being put (none for a person, or a record that names none). */
const personOfItem = (personOf: string | null | undefined) => (personOf ? { personOf } : {});

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
    orgEntity: orgEntityShard(org, w.entity, w.key),
    recordKey: w.key,
    changeSeq: first + i,
    ...personOfItem(personOfChange(org, w.entity, w.set)),
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
