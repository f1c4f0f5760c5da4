/**
 * The sharded organization-and-entity index (schemas/tables.ts RECORDS_INDEX_SHARDS) on DynamoDB Local: writers spread
 * one organization's records over the shards; a reader merging the shards sees every record exactly once, in key
 * order (full) or change-sequence order (incremental), page after page; the resumable migration moves records written
 * before the shards onto them and numbers the records written before the change sequence, so incremental reads see
 * them too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BatchWriteCommand, type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbRecords } from '../../functions/adapters/dynamodb-records.ts';
import { MIGRATION_PK, migrateRecordsIndex } from '../../functions/adapters/dynamodb-records-migration.ts';
import { dynamoDbSystemOfRecord } from '../../functions/adapters/dynamodb-system-of-record.ts';
import type { EntityRecord, RecordWrite, SystemOfRecord } from '../../functions/core/ports.ts';
import { orgEntityShard, recordPk } from '../../functions/core/transfer/records.ts';
import { RECORDS_INDEX_SHARDS } from '../../schemas/tables.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
before(async () => {
  parts = await startLocalParts({ s3: false });
  db = dynamoDbDocumentClient(parts.config);
});
after(() => parts.stop());

async function all(store: SystemOfRecord, org: string, changedAfter?: number, limit = 13): Promise<EntityRecord[]> {
  const out: EntityRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.page(org, 'foreignNational', {
      limit,
      ...(cursor ? { cursor } : {}),
      ...(changedAfter !== undefined ? { changedAfter } : {}),
    });
    assert.ok(page.items.length <= limit);
    out.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return out;
}

const importWrite = (org: string, key: string): RecordWrite => ({
  org,
  entity: 'foreignNational',
  recordKey: key,
  set: { firstName: key },
  remove: [],
  hash: `h-${key}`,
  condition: 'none',
  exists: false,
  templateId: 'fn_profile_import',
  runId: 'run-1',
  row: 2,
  at: '2026-12-02T07:00:00.000Z',
});

test('a reader of the sharded index sees every record once, in key order or change order, across pages', async () => {
  const org = 'shards';
  const keys = Array.from({ length: 300 }, (_, i) => `K${String(i).padStart(4, '0')}`);
  await dynamoDbRecords(db, { env: parts.env }).apply(keys.slice(0, 200).map((k) => importWrite(org, k)));
  const store = dynamoDbSystemOfRecord(db, { env: parts.env });
  await store.put(
    keys.slice(200).map((key) => ({ org, entity: 'foreignNational', key, set: { firstName: key }, at: 't' })),
  );
  // Spread over every shard.
  const used = new Set(keys.map((k) => orgEntityShard(org, 'foreignNational', k)));
  assert.equal(used.size, RECORDS_INDEX_SHARDS);
  for (const limit of [1, 13, 500]) {
    const full = await all(store, org, undefined, limit);
    assert.deepEqual(
      full.map((r) => r.key),
      keys,
      `full read, pages of ${limit}`,
    );
  }
  const everything = await all(store, org, 0);
  const seqs = everything.map((r) => r.changeSeq);
  assert.equal(new Set(everything.map((r) => r.key)).size, 300);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
  );
  const mark = seqs[149]!;
  const later = await all(store, org, mark);
  assert.deepEqual(
    later.map((r) => r.key),
    everything.slice(150).map((r) => r.key),
  );
  // Another organization's records are not in this one's shards.
  await store.put([{ org: 'other', entity: 'foreignNational', key: 'K0000', set: { firstName: 'x' }, at: 't' }]);
  assert.equal((await all(store, org)).length, 300);
});

test('the migration re-keys and numbers records written before the shards, resumably; then each is read once', async () => {
  const org = 'legacy';
  // As written before this change: the unsharded key, and no change sequence.
  const legacy = Array.from({ length: 120 }, (_, i) => `L${String(i).padStart(4, '0')}`);
  for (let i = 0; i < legacy.length; i += 25) {
    await db.send(
      new BatchWriteCommand({
        RequestItems: {
          Records: legacy.slice(i, i + 25).map((key) => ({
            PutRequest: {
              Item: {
                pk: recordPk(org, 'foreignNational', key),
                org,
                entity: 'foreignNational',
                orgEntity: `${org}#foreignNational`,
                recordKey: key,
                firstName: key,
              },
            },
          })),
        },
      }),
    );
  }
  const store = dynamoDbSystemOfRecord(db, { env: parts.env });
  assert.equal((await all(store, org)).length, 0, 'the unsharded records are not under any shard yet');
  // Interrupted after two pages, then resumed: the position was kept.
  const first = await migrateRecordsIndex(db, { env: parts.env, pageSize: 20, maxPages: 2 });
  assert.deepEqual([first.scanned, first.done], [40, false]);
  const saved = (await db.send(new GetCommand({ TableName: 'Records', Key: { pk: MIGRATION_PK } }))).Item!;
  assert.equal(saved.done, false);
  assert.ok(saved.lastKey);
  const rest = await migrateRecordsIndex(db, { env: parts.env, pageSize: 20 });
  assert.equal(rest.done, true);
  assert.ok(rest.scanned < 400, 'the second call did not start over');
  // Nothing migrated twice; once done, a call returns at once.
  assert.equal(first.changed + rest.changed, 120);
  assert.deepEqual(await migrateRecordsIndex(db, { env: parts.env }), { scanned: 0, changed: 0, done: true });

  const full = await all(store, org);
  assert.deepEqual(
    full.map((r) => r.key),
    legacy,
  );
  // Numbered: an incremental read from the start sees every one of them, each once.
  const incremental = await all(store, org, 0);
  assert.equal(incremental.length, 120);
  assert.equal(new Set(incremental.map((r) => r.changeSeq)).size, 120);
  assert.ok(incremental.every((r) => r.changeSeq > 0));
});

test('a record naming its person is listed under that person by every writer and by the migration', async () => {
  const org = 'people';
  const under = async (entity: string, person: string) =>
    (await dynamoDbSystemOfRecord(db, { env: parts.env }).ofPeople(org, entity, [person])).map((r) => r.key).sort();
  // The import engine's statements (create, then update to another person).
  const records = dynamoDbRecords(db, { env: parts.env });
  const passport = (person: string, exists: boolean): RecordWrite => ({
    ...importWrite(org, 'PP-1'),
    entity: 'passport',
    set: { employeeId: person, passportNumber: 'X1' },
    hash: `h-${person}`,
    exists,
    templateId: 'fn_passport_import',
  });
  await records.apply([passport('P1', false)]);
  assert.deepEqual(await under('passport', 'P1'), ['PP-1']);
  await records.apply([passport('P2', true)]);
  assert.deepEqual(await under('passport', 'P1'), []);
  assert.deepEqual(await under('passport', 'P2'), ['PP-1']);

  // The case-management system's writes: a case moved to another person, then to none.
  const store = dynamoDbSystemOfRecord(db, { env: parts.env });
  await store.put([{ org, entity: 'case', key: 'C-1', set: { employeeId: 'P1', caseStatus: 'Open' }, at: 't' }]);
  await store.put([{ org, entity: 'case', key: 'C-2', set: { employeeId: 'P1' }, at: 't' }]);
  assert.deepEqual(await under('case', 'P1'), ['C-1', 'C-2']);
  await store.put([{ org, entity: 'case', key: 'C-1', set: { caseStatus: 'Closed' }, at: 't' }]);
  assert.deepEqual(await under('case', 'P1'), ['C-1', 'C-2'], 'a write that leaves the person keeps the listing');
  await store.put([{ org, entity: 'case', key: 'C-2', set: {}, remove: ['employeeId'], at: 't' }]);
  assert.deepEqual(await under('case', 'P1'), ['C-1']);
  // A person is not listed under itself, and another organization's cases are not under this one's person.
  await store.put([{ org, entity: 'foreignNational', key: 'P1', set: { employeeId: 'P1', lastName: 'A' }, at: 't' }]);
  await store.put([{ org: 'elsewhere', entity: 'case', key: 'C-9', set: { employeeId: 'P1' }, at: 't' }]);
  assert.deepEqual(await under('case', 'P1'), ['C-1']);

  // Written before the index: listed once the migration ran, even on a table migrated by the earlier version.
  await db.send(
    new BatchWriteCommand({
      RequestItems: {
        Records: [
          {
            PutRequest: {
              Item: {
                pk: recordPk(org, 'visa', 'V-1'),
                org,
                entity: 'visa',
                orgEntity: orgEntityShard(org, 'visa', 'V-1'),
                recordKey: 'V-1',
                changeSeq: 1,
                employeeId: 'P3',
              },
            },
          },
          { PutRequest: { Item: { pk: MIGRATION_PK, done: true } } },
        ],
      },
    }),
  );
  assert.deepEqual(await under('visa', 'P3'), []);
  const report = await migrateRecordsIndex(db, { env: parts.env });
  assert.equal(report.done, true);
  assert.ok(report.changed >= 1);
  assert.deepEqual(await under('visa', 'P3'), ['V-1']);
  assert.deepEqual(await migrateRecordsIndex(db, { env: parts.env }), { scanned: 0, changed: 0, done: true });
});
