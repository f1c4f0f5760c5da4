/**
 * The record store's batched partial writes (BatchExecuteStatement) on DynamoDB Local: requests of 25 statements that
 * change exactly the mapped fields, create and update chosen from the engine's read and resent in the other form when
 * a concurrent writer won the race, the preferences held under such races, and per-statement errors honoured: a
 * throttled statement (DynamoDB answers it inside a 200) is resent by the store, and a resend refused by its own
 * earlier write counts as that write. DynamoDB Local never throttles, so the throttle is put into the real answer by a
 * middleware on the client (the statement is either held back from the request, or sent and its answer replaced).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { diskSortScratch } from '../../functions/adapters/disk-sort.ts';
import { dynamoDbChangeSequence } from '../../functions/adapters/dynamodb-change-sequence.ts';
import { dynamoDbRecords, type RecordStoreStats } from '../../functions/adapters/dynamodb-records.ts';
import { dynamoDbRunLog } from '../../functions/adapters/dynamodb-runs.ts';
import { type ChangeSequence, type RecordStore, type RecordWrite, systemClock } from '../../functions/core/ports.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { importFile } from '../../functions/core/transfer/import-file.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { recordPk } from '../../functions/core/transfer/records.ts';
import { startRun } from '../../functions/core/transfer/runs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
before(async () => {
  parts = await startLocalParts({ s3: false });
  db = dynamoDbDocumentClient(parts.config);
});
after(() => parts.stop());

const ORG = 'stmts';
const newStats = (): RecordStoreStats => ({ batchGets: 0, updates: 0, conditionFailures: 0 });

function write(key: string, set: Record<string, string>, extra: Partial<RecordWrite> = {}): RecordWrite {
  return {
    org: ORG,
    entity: 'foreignNational',
    recordKey: key,
    set,
    remove: [],
    hash: `h-${JSON.stringify(set)}`,
    condition: 'none',
    templateId: 'fn_profile_import',
    runId: 'run-1',
    row: 2,
    at: '2026-12-02T07:00:00.000Z',
    ...extra,
  };
}

const item = async (key: string) =>
  (await db.send(new GetCommand({ TableName: 'Records', Key: { pk: recordPk(ORG, 'foreignNational', key) } }))).Item;

test('batched writes: 60 creates in 3 requests, then updates that change exactly the mapped fields', async () => {
  const stats = newStats();
  const records = dynamoDbRecords(db, { env: parts.env, stats });
  const keys = Array.from({ length: 60 }, (_, i) => `B${i}`);
  const created = await records.apply(
    keys.map((k) => write(k, { firstName: k, department: 'R&D' }, { exists: false })),
  );
  assert.ok(created.every((r) => r.effect === 'created' && r.wrote));
  assert.deepEqual([stats.batches, stats.updates], [3, 60]);
  // Attributes another part of the system owns on the same item.
  await db.send(
    new PutCommand({
      TableName: 'Records',
      Item: { ...(await item('B0')), caseManager: 'maria' },
    }),
  );
  const updated = await records.apply(
    keys.map((k) => write(k, { firstName: `${k}!` }, { exists: true, remove: ['department'], runId: 'run-2' })),
  );
  assert.ok(updated.every((r) => r.effect === 'updated' && r.wrote));
  assert.deepEqual([stats.batches, stats.conditionFailures], [6, 0]);
  const b0 = (await item('B0'))!;
  assert.equal(b0.firstName, 'B0!');
  assert.equal(b0.caseManager, 'maria');
  assert.equal('department' in b0, false);
  assert.equal(b0.createdRunId, 'run-1');
  assert.equal(b0.lastRunId, 'run-2');
  assert.equal(b0.createdAt, '2026-12-02T07:00:00.000Z');
  assert.equal(typeof b0.changeSeq, 'number');
  // The same content again: refused by the hash condition, nothing written.
  const again = await records.apply([write('B1', { firstName: 'B1!' }, { exists: true, runId: 'run-3' })]);
  assert.deepEqual(again, [{ effect: 'unchanged', wrote: false }]);
});

test('a row that lost a race is resent in the other form; the preferences hold under races', async () => {
  const records = dynamoDbRecords(db, { env: parts.env });
  // The engine read "missing", but another writer created the record meanwhile: an update, other fields kept.
  await db.send(
    new PutCommand({
      TableName: 'Records',
      Item: { pk: recordPk(ORG, 'foreignNational', 'R1'), caseManager: 'li', firstName: 'Old' },
    }),
  );
  assert.deepEqual(await records.apply([write('R1', { firstName: 'New' }, { exists: false })]), [
    { effect: 'updated', wrote: true },
  ]);
  assert.deepEqual([(await item('R1'))!.firstName, (await item('R1'))!.caseManager], ['New', 'li']);
  // The engine read "exists", but the record was deleted meanwhile: created.
  await records.apply([write('R2', { firstName: 'Was' }, { exists: false })]);
  await db.send(new DeleteCommand({ TableName: 'Records', Key: { pk: recordPk(ORG, 'foreignNational', 'R2') } }));
  assert.deepEqual(await records.apply([write('R2', { firstName: 'Back' }, { exists: true })]), [
    { effect: 'created', wrote: true },
  ]);
  // Create only, the record created by another run after the read: refused, the other run's content stays.
  await records.apply([write('R3', { firstName: 'Theirs' }, { runId: 'run-other' })]);
  assert.deepEqual(
    await records.apply([write('R3', { firstName: 'Mine' }, { condition: 'must_not_exist', exists: false })]),
    [{ effect: 'condition_failed', wrote: false }],
  );
  assert.equal((await item('R3'))!.firstName, 'Theirs');
  // Update only, the record deleted after the read: refused, nothing created.
  await records.apply([write('R4', { firstName: 'Gone' })]);
  await db.send(new DeleteCommand({ TableName: 'Records', Key: { pk: recordPk(ORG, 'foreignNational', 'R4') } }));
  assert.deepEqual(
    await records.apply([write('R4', { firstName: 'Mine' }, { condition: 'must_exist', exists: true })]),
    [{ effect: 'condition_failed', wrote: false }],
  );
  assert.equal(await item('R4'), undefined);
});

/** A client whose first BatchExecuteStatement answers its first statement "throttled". */
function throttlingClient(mode: 'held back' | 'applied anyway'): DynamoDBDocumentClient {
  const client = dynamoDbDocumentClient(parts.config);
  let armed = true;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!armed || context.commandName !== 'BatchExecuteStatementCommand') return next(args);
      armed = false;
      const input = args.input as { Statements: unknown[] };
      const throttled = { Error: { Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity' } };
      if (mode === 'held back') {
        const [, ...rest] = input.Statements;
        const out = await next({ ...args, input: { ...input, Statements: rest } });
        const body = out.output as { Responses: unknown[] };
        body.Responses = [throttled, ...body.Responses];
        return out;
      }
      const out = await next(args);
      (out.output as { Responses: unknown[] }).Responses[0] = throttled;
      return out;
    },
    { step: 'initialize', name: 'testThrottleFirstStatement' },
  );
  return client;
}

test('a throttled statement is resent by the store; the batch reports every row written', async () => {
  const stats = newStats();
  const records = dynamoDbRecords(throttlingClient('held back'), { env: parts.env, stats });
  const results = await records.apply(
    Array.from({ length: 5 }, (_, i) => write(`T${i}`, { firstName: `T${i}` }, { exists: false })),
  );
  assert.ok(results.every((r) => r.effect === 'created' && r.wrote));
  assert.equal(stats.throttled, 1);
  assert.equal(stats.updates, 6);
  assert.equal((await item('T0'))?.firstName, 'T0');
});

test('a resend refused by its own earlier write (the throttle came after it was applied) counts as written', async () => {
  const stats = newStats();
  const records = dynamoDbRecords(throttlingClient('applied anyway'), { env: parts.env, stats });
  const results = await records.apply([
    write('A0', { firstName: 'A0' }, { exists: false }),
    write('A1', { firstName: 'A1' }, { exists: false }),
  ]);
  assert.deepEqual(results, [
    { effect: 'created', wrote: true },
    { effect: 'created', wrote: true },
  ]);
  // The resent INSERT met the record (DuplicateItem), the UPDATE it became met this write's hash.
  assert.deepEqual([stats.throttled, stats.conditionFailures], [1, 2]);
  // Same for an update: the resent UPDATE is refused by the hash its first send stored.
  const update = dynamoDbRecords(throttlingClient('applied anyway'), { env: parts.env });
  assert.deepEqual(await update.apply([write('A0', { firstName: 'A0b' }, { exists: true, runId: 'run-2' })]), [
    { effect: 'updated', wrote: true },
  ]);
  // While a row this run wrote in an earlier invocation (a resumed run) is not written, nor billed, again.
  assert.deepEqual(await records.apply([write('A1', { firstName: 'A1' }, { exists: true })]), [
    { effect: 'created', wrote: false },
  ]);
});

test('the import reads the next batch while the current batch is written; every row lands once', async () => {
  const store = dynamoDbRecords(db, { env: parts.env });
  const events: string[] = [];
  let reads = 0;
  let writes = 0;
  const records: RecordStore = {
    async current(org, entity, keys) {
      const n = ++reads;
      events.push(`read ${n} start`);
      const found = await store.current(org, entity, keys);
      events.push(`read ${n} end`);
      return found;
    },
    async apply(w) {
      const n = ++writes;
      events.push(`write ${n} start`);
      const out = await store.apply(w);
      events.push(`write ${n} end`);
      return out;
    },
  };
  const text = `Employee ID,First Name,Last Name,Email\r\n${Array.from({ length: 500 }, (_, i) => `P${i},Ana,Silva,p${i}@example.com`).join('\r\n')}\r\n`;
  const { run } = await importFile(
    {
      openCsv,
      scratch: diskSortScratch(),
      records,
      runLog: dynamoDbRunLog(db, { env: parts.env }),
      clock: systemClock,
    },
    {
      run: startRun({
        org: ORG,
        runId: 'run-pipe',
        now: new Date(),
        file: { key: `inbound/${ORG}/f.csv`, name: 'f.csv', size: text.length, etag: '"e"' },
      }),
      job: defaultImportJob(ORG, 'fn_profile_import', 'job-1'),
      template: templates.byId('fn_profile_import')!,
      source: async function* () {
        yield Buffer.from(text);
      },
      fileName: 'fn_profile_import_20261202.csv',
    },
  );
  assert.equal(run.counts.created, 500);
  assert.equal(reads, 5);
  // Batch 2's read starts before batch 1's write has ended, and so on down the file.
  for (let k = 1; k < 5; k++) {
    assert.ok(
      events.indexOf(`read ${k + 1} start`) < events.indexOf(`write ${k} end`),
      `read ${k + 1} overlaps write ${k}: ${events.join(', ')}`,
    );
  }
  const found = await store.current(
    ORG,
    'foreignNational',
    Array.from({ length: 500 }, (_, i) => `P${i}`),
  );
  assert.equal(found.size, 500);
});

test('change sequence numbers: one block serves many batches and grows; every write gets its own number', async () => {
  const reservations: number[] = [];
  const counter = dynamoDbChangeSequence(db, { env: parts.env });
  const sequence: ChangeSequence = {
    reserve: (org, count) => {
      reservations.push(count);
      return counter.reserve(org, count);
    },
    current: (org) => counter.current(org),
  };
  const records = dynamoDbRecords(db, { env: parts.env, sequence });
  for (let batch = 0; batch < 6; batch++) {
    const keys = Array.from({ length: 10 }, (_, i) => `S${batch}-${i}`);
    await records.apply(keys.map((k) => write(k, { firstName: k }, { exists: false })));
  }
  // Blocks of 10, 20, 40: three reservations for 60 writes (one per batch before), each number used once.
  assert.deepEqual(reservations, [10, 20, 40]);
  const numbers = new Set<number>();
  for (let batch = 0; batch < 6; batch++) {
    for (let i = 0; i < 10; i++) numbers.add(Number((await item(`S${batch}-${i}`))!.changeSeq));
  }
  assert.equal(numbers.size, 60);
  assert.ok(Math.max(...numbers) <= (await counter.current(ORG)));
});

test('statements of rows with different fields each set their own fields (texts reused per shape)', async () => {
  const records = dynamoDbRecords(db, { env: parts.env });
  const rows = Array.from({ length: 40 }, (_, i) =>
    i % 2 === 0
      ? write(`Shape${i}`, { firstName: `F${i}`, department: `D${i}` }, { exists: false })
      : write(`Shape${i}`, { lastName: `L${i}` }, { exists: false }),
  );
  assert.ok((await records.apply(rows)).every((r) => r.effect === 'created'));
  const updates = rows.map(
    (w, i): RecordWrite =>
      i % 2 === 0
        ? { ...w, set: { firstName: `F${i}!` }, remove: ['department'], hash: `u${i}`, exists: true }
        : { ...w, set: { lastName: `L${i}!`, email: `p${i}@example.com` }, hash: `u${i}`, exists: true },
  );
  assert.ok((await records.apply(updates)).every((r) => r.effect === 'updated'));
  const even = (await item('Shape4'))!;
  const odd = (await item('Shape5'))!;
  assert.deepEqual([even.firstName, 'department' in even, even.hash], ['F4!', false, 'u4']);
  assert.deepEqual([odd.lastName, odd.email, 'firstName' in odd, odd.hash], ['L5!', 'p5@example.com', false, 'u5']);
});
