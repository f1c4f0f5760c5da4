import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbChangeSequence } from '../../functions/adapters/dynamodb-change-sequence.ts';
import { dynamoDbRecords } from '../../functions/adapters/dynamodb-records.ts';
import { dynamoDbSystemOfRecord } from '../../functions/adapters/dynamodb-system-of-record.ts';
import type { EntityRecord, SystemOfRecord } from '../../functions/core/ports.ts';
import { demoRecords } from '../../lib/local/demo-data.ts';
import { seedDemoRecords } from '../../lib/local/seed.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
before(async () => {
  parts = await startLocalParts({ s3: false });
  db = dynamoDbDocumentClient(parts.config);
});
after(() => parts.stop());

async function all(store: SystemOfRecord, org: string, entity: string, changedAfter?: number): Promise<EntityRecord[]> {
  const out: EntityRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.page(org, entity, {
      limit: 7,
      ...(cursor ? { cursor } : {}),
      ...(changedAfter !== undefined ? { changedAfter } : {}),
    });
    out.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return out;
}

test('demo data: the same seed gives the same records; another seed other ones', () => {
  const a = [...demoRecords({ org: 'demo', people: 30, seed: 7 })].flat();
  const b = [...demoRecords({ org: 'demo', people: 30, seed: 7 })].flat();
  const c = [...demoRecords({ org: 'demo', people: 30, seed: 8 })].flat();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const entities = new Set(a.map((r) => r.entity));
  for (const e of ['foreignNational', 'case', 'passport', 'immigrationDocument']) assert.ok(entities.has(e), e);
  assert.ok(a.length > 30 * 4, `about 8 records per person, got ${a.length} for 30`);
});

test('change sequence: concurrent reservations get disjoint blocks, per organization', async () => {
  const sequence = dynamoDbChangeSequence(db, { env: parts.env });
  const firsts = await Promise.all(Array.from({ length: 20 }, () => sequence.reserve('seq-a', 10)));
  const numbers = firsts.flatMap((f) => Array.from({ length: 10 }, (_, i) => f + i)).sort((x, y) => x - y);
  assert.deepEqual(
    numbers,
    Array.from({ length: 200 }, (_, i) => i + 1),
  );
  assert.equal(await sequence.current('seq-a'), 200);
  assert.equal(await sequence.current('seq-b'), 0);
  assert.equal(await sequence.reserve('seq-b', 1), 1);
});

test('system of record: seeded once; every write (imports included) stamped above the mark; incremental pages', async () => {
  const org = 'sor';
  assert.equal(await seedDemoRecords(db, org, { people: 20, seed: 3, env: parts.env }), true);
  assert.equal(
    await seedDemoRecords(db, org, { people: 20, seed: 3, env: parts.env }),
    false,
    'a second start seeds nothing',
  );
  const store = dynamoDbSystemOfRecord(db, { env: parts.env });
  const sequence = dynamoDbChangeSequence(db, { env: parts.env });
  const people = await all(store, org, 'foreignNational');
  assert.equal(people.length, 20);
  assert.deepEqual(
    people.map((p) => p.key),
    people.map((p) => p.key).sort(),
    'a full read is in key order',
  );
  const seqs = new Set<number>();
  for (const e of ['foreignNational', 'case', 'passport'])
    for (const r of await all(store, org, e)) seqs.add(r.changeSeq);
  assert.ok([...seqs].every((s) => s > 0));
  const mark = await sequence.current(org);
  assert.equal(Math.max(...seqs) <= mark, true);

  // The case-management system changes one case; an import changes one foreign national.
  const someCase = (await all(store, org, 'case'))[0]!;
  await store.put([
    { org, entity: 'case', key: someCase.key, set: { caseStatus: 'Approved' }, at: '2026-12-02T00:00:00Z' },
  ]);
  await dynamoDbRecords(db, { env: parts.env }).apply([
    {
      org,
      entity: 'foreignNational',
      recordKey: 'E000002',
      set: { lastName: 'Nakamura' },
      remove: [],
      hash: 'h1',
      condition: 'none',
      templateId: 'fn_profile_import',
      runId: 'r1',
      row: 2,
      at: '2026-12-02T00:00:00Z',
    },
  ]);
  const changedCases = await all(store, org, 'case', mark);
  assert.deepEqual(
    changedCases.map((c) => [c.key, c.fields.caseStatus]),
    [[someCase.key, 'Approved']],
  );
  assert.equal(changedCases[0]!.fields.caseType, someCase.fields.caseType, 'the other fields stay');
  const changedPeople = await all(store, org, 'foreignNational', mark);
  assert.deepEqual(
    changedPeople.map((p) => [p.key, p.fields.lastName]),
    [['E000002', 'Nakamura']],
  );
  assert.ok(changedPeople[0]!.changeSeq > changedCases[0]!.changeSeq, 'later writes, higher numbers');
  assert.equal(changedPeople[0]!.fields.hash, undefined, 'bookkeeping is not a field');
  const got = await store.get(org, 'case', [someCase.key, 'C-missing']);
  assert.deepEqual([...got.keys()], [someCase.key]);
});
