import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient, s3Client } from '../../functions/adapters/aws-clients.ts';
import { diskSortScratch } from '../../functions/adapters/disk-sort.ts';
import { dynamoDbFileLedger } from '../../functions/adapters/dynamodb-files.ts';
import { dynamoDbJobs, putJob, putOrganization } from '../../functions/adapters/dynamodb-jobs.ts';
import { dynamoDbBilling, readBillingUsage } from '../../functions/adapters/dynamodb-organizations.ts';
import { dynamoDbRecords, type RecordStoreStats } from '../../functions/adapters/dynamodb-records.ts';
import { dynamoDbRunLog } from '../../functions/adapters/dynamodb-runs.ts';
import { s3FileStore } from '../../functions/adapters/s3-file-store.ts';
import { periodOf } from '../../functions/core/billing.ts';
import { ClaimLostError, type FileEntry, type RecordWrite, systemClock } from '../../functions/core/ports.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { importFile } from '../../functions/core/transfer/import-file.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { orgEntityShard, recordPk } from '../../functions/core/transfer/records.ts';
import { type RowError, startRun } from '../../functions/core/transfer/runs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let db: DynamoDBDocumentClient;
before(async () => {
  parts = await startLocalParts();
  db = dynamoDbDocumentClient(parts.config);
});
after(() => parts.stop());

function write(key: string, set: Record<string, string>, extra: Partial<RecordWrite> = {}): RecordWrite {
  return {
    org: 'acme',
    entity: 'foreignNational',
    recordKey: key,
    set,
    remove: [],
    hash: `h-${JSON.stringify(set)}`,
    condition: 'none',
    templateId: 'fn_profile_import',
    runId: 'run-1',
    row: 2,
    at: '2026-11-24T07:00:00.000Z',
    ...extra,
  };
}

test('records: upserts touch only the mapped fields; other attributes survive; preferences are conditions', async () => {
  const stats: RecordStoreStats = { batchGets: 0, updates: 0, conditionFailures: 0 };
  const records = dynamoDbRecords(db, { env: parts.env, stats });
  assert.deepEqual(await records.apply([write('E1', { firstName: 'Ana', preferredName: 'Annie' })]), [
    { effect: 'created', wrote: true },
  ]);
  // Another part of the system owns caseManager on the same item.
  await db.send(
    new UpdateCommand({
      TableName: 'Records',
      Key: { pk: recordPk('acme', 'foreignNational', 'E1') },
      UpdateExpression: 'SET caseManager = :m',
      ExpressionAttributeValues: { ':m': 'maria' },
    }),
  );
  await records.apply([
    write('E1', { firstName: 'Ann' }, { remove: ['preferredName'], at: '2026-11-25T07:00:00.000Z', exists: true }),
  ]);
  const item = (
    await db.send(new GetCommand({ TableName: 'Records', Key: { pk: recordPk('acme', 'foreignNational', 'E1') } }))
  ).Item!;
  assert.equal(item.firstName, 'Ann');
  assert.equal(item.caseManager, 'maria');
  assert.equal('preferredName' in item, false);
  assert.equal(item.createdAt, '2026-11-24T07:00:00.000Z');
  assert.equal(item.updatedAt, '2026-11-25T07:00:00.000Z');
  assert.equal(item.orgEntity, orgEntityShard('acme', 'foreignNational', 'E1'));
  assert.equal(item.recordKey, 'E1');

  const state = await records.current('acme', 'foreignNational', ['E1', 'nobody']);
  assert.deepEqual([...state.keys()], ['E1']);
  assert.equal(state.get('E1')?.hash, `h-${JSON.stringify({ firstName: 'Ann' })}`);

  const results = await records.apply([
    write('E1', { firstName: 'X' }, { condition: 'must_not_exist' }),
    write('E9', { firstName: 'Y' }, { condition: 'must_exist' }),
    write('E2', { firstName: 'Z' }, { condition: 'must_not_exist' }),
  ]);
  assert.deepEqual(results, [
    { effect: 'condition_failed', wrote: false },
    { effect: 'condition_failed', wrote: false },
    { effect: 'created', wrote: true },
  ]);
  assert.equal(stats.conditionFailures, 2);
});

test('records: current() reads 250 keys in 100-key batches', async () => {
  const stats: RecordStoreStats = { batchGets: 0, updates: 0, conditionFailures: 0 };
  const records = dynamoDbRecords(db, { env: parts.env, stats });
  const keys = Array.from({ length: 250 }, (_, i) => `B${i}`);
  await records.apply(keys.map((k) => write(k, { firstName: k })));
  assert.equal(stats.updates, 250);
  const found = await records.current('acme', 'foreignNational', keys);
  assert.equal(found.size, 250);
  assert.equal(stats.batchGets, 3);
});

test('records: what a write did comes from its own result, whatever another run did since the read', async () => {
  const records = dynamoDbRecords(db, { env: parts.env });
  const a = write('W1', { firstName: 'Ana' }, { runId: 'run-a' });
  assert.deepEqual(await records.apply([a]), [{ effect: 'created', wrote: true }]);
  // Another run with the same content (its read said "missing", but run-a wrote meanwhile): unchanged, no write.
  assert.deepEqual(await records.apply([{ ...a, runId: 'run-b' }]), [{ effect: 'unchanged', wrote: false }]);
  // run-a resumed after a crash, redoing rows after its checkpoint: what it did then, not written again.
  assert.deepEqual(await records.apply([a]), [{ effect: 'created', wrote: false }]);
  const changed = write('W1', { firstName: 'Anna' }, { runId: 'run-c' });
  assert.deepEqual(await records.apply([changed]), [{ effect: 'updated', wrote: true }]);
  assert.deepEqual(await records.apply([changed]), [{ effect: 'updated', wrote: false }]);
  const state = (await records.current('acme', 'foreignNational', ['W1'])).get('W1');
  assert.deepEqual(state, { hash: changed.hash, lastRunId: 'run-c', createdRunId: 'run-a' });
});

test('records: a file that arrived earlier never overwrites what a later file of its lane wrote', async () => {
  const records = dynamoDbRecords(db, { env: parts.env });
  const lane = 'fn_profile_import';
  const newer = write('S1', { firstName: 'Corrected' }, { runId: 'run-2', arrival: { lane, seq: 2 } });
  assert.deepEqual(await records.apply([newer]), [{ effect: 'created', wrote: true }]);
  const older = write('S1', { firstName: 'Wrong' }, { runId: 'run-1', arrival: { lane, seq: 1 } });
  assert.deepEqual(await records.apply([older]), [{ effect: 'superseded', wrote: false }]);
  const item = async () =>
    (await db.send(new GetCommand({ TableName: 'Records', Key: { pk: recordPk('acme', 'foreignNational', 'S1') } })))
      .Item!;
  assert.equal((await item()).firstName, 'Corrected');
  // The same file again (a resumed run) and a later file do write; so does another lane (no order between lanes).
  const again = write('S1', { firstName: 'Again' }, { runId: 'run-2', arrival: { lane, seq: 2 } });
  assert.deepEqual(await records.apply([again]), [{ effect: 'updated', wrote: true }]);
  const later = write('S1', { firstName: 'Later' }, { runId: 'run-3', arrival: { lane, seq: 3 } });
  assert.deepEqual(await records.apply([later]), [{ effect: 'updated', wrote: true }]);
  const other = write('S1', { firstName: 'Other' }, { runId: 'run-9', arrival: { lane: 'other', seq: 1 } });
  assert.deepEqual(await records.apply([other]), [{ effect: 'updated', wrote: true }]);
  assert.equal((await item()).firstName, 'Other');
  // A write without a lane is not ordered either.
  assert.deepEqual(await records.apply([write('S1', { firstName: 'Free' })]), [{ effect: 'updated', wrote: true }]);

  // A touch records a newer number on a record holding the same content, so an older file's write is then refused;
  // a touch with other content, or an older number, changes nothing.
  const base = write('S2', { firstName: 'Same' }, { runId: 'run-1', arrival: { lane, seq: 1 } });
  await records.apply([base]);
  const touch = (seq: number, set = { firstName: 'Same' }) =>
    write('S2', set, { runId: `run-${seq}`, arrival: { lane, seq }, touch: true });
  assert.deepEqual(await records.apply([touch(5), touch(4), touch(9, { firstName: 'Other' })]), [
    { effect: 'unchanged', wrote: false },
    { effect: 'unchanged', wrote: false },
    { effect: 'unchanged', wrote: false },
  ]);
  const s2 = (
    await db.send(new GetCommand({ TableName: 'Records', Key: { pk: recordPk('acme', 'foreignNational', 'S2') } }))
  ).Item!;
  assert.deepEqual([s2.firstName, s2.importSeq, s2.lastRunId], ['Same', 5, 'run-1']);
  const late = write('S2', { firstName: 'Old' }, { runId: 'run-3', arrival: { lane, seq: 3 } });
  assert.deepEqual(await records.apply([late]), [{ effect: 'superseded', wrote: false }]);
});

test('file ledger lanes: numbers in arrival order, once per entry, also concurrently; the turn moves conditionally', async () => {
  const ledger = dynamoDbFileLedger(db, { env: parts.env });
  const entry = (name: string): FileEntry => ({
    org: 'lanes',
    fileId: `inbound/lanes/${name}#v1`,
    key: `inbound/lanes/${name}`,
    etag: '"e"',
    size: 1,
    status: 'processing',
    leaseUntil: 5_000,
    receivedAt: 't0',
    updatedAt: 't0',
    claims: 1,
  });
  const names = Array.from({ length: 6 }, (_, i) => `f${i}.csv`);
  for (const n of names) await ledger.claim(entry(n), 0);
  assert.deepEqual(await ledger.laneTurn('lanes', 'tpl'), { turn: 1 });
  const entered = await Promise.all(names.map((n) => ledger.enterLane(entry(n), 'tpl')));
  assert.deepEqual(
    entered.map((e) => e.seq).sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6],
  );
  // Entering again keeps the number; the entry stores it.
  const first = entered.find((e) => e.seq === 1)!;
  assert.equal((await ledger.enterLane(entry(first.key.split('/').pop()!), 'tpl')).seq, 1);
  const turn = await ledger.laneTurn('lanes', 'tpl');
  assert.equal(turn.turn, 1);
  assert.equal(turn.holder?.fileId, first.fileId);
  assert.equal(turn.holder?.seq, 1);
  // Only one of two concurrent passes from 1 wins; a pass from a turn that moved on changes nothing.
  const passes = await Promise.all([ledger.passTurn('lanes', 'tpl', 1), ledger.passTurn('lanes', 'tpl', 1)]);
  assert.deepEqual(passes.sort(), [false, true]);
  assert.equal(await ledger.passTurn('lanes', 'tpl', 1), false);
  assert.equal((await ledger.laneTurn('lanes', 'tpl')).holder?.seq, 2);
  // A turn passed over an unfinished file remembers it until that file leaves the lane.
  assert.equal(await ledger.passTurn('lanes', 'tpl', 2, true), true);
  assert.deepEqual((await ledger.laneTurn('lanes', 'tpl')).skipped, [2]);
  await ledger.leaveLane('lanes', 'tpl', 3);
  assert.deepEqual(await ledger.laneTurn('lanes', 'tpl').then((t) => [t.turn, t.skipped]), [4, [2]]);
  await ledger.leaveLane('lanes', 'tpl', 2);
  assert.deepEqual(await ledger.laneTurn('lanes', 'tpl').then((t) => [t.turn, t.skipped]), [4, undefined]);
  // Lanes are per organization and lane name.
  assert.deepEqual(await ledger.laneTurn('lanes', 'other'), { turn: 1 });
  assert.deepEqual(await ledger.laneTurn('acme', 'tpl'), { turn: 1 });
});

test('file ledger: one claim per object version; a lapsed processing claim is retaken', async () => {
  const ledger = dynamoDbFileLedger(db, { env: parts.env });
  const entry: FileEntry = {
    org: 'acme',
    fileId: 'inbound/acme/a.csv#v1',
    key: 'inbound/acme/a.csv',
    etag: '"e"',
    size: 10,
    status: 'processing',
    leaseUntil: 1_000,
    receivedAt: 't0',
    updatedAt: 't0',
    claims: 1,
  };
  const results = await Promise.all([ledger.claim(entry, 500), ledger.claim(entry, 500), ledger.claim(entry, 500)]);
  assert.equal(results.filter((r) => r.claimed).length, 1);
  const lost = results.find((r) => !r.claimed);
  assert.equal(lost && !lost.claimed && lost.current.status, 'processing');
  // Within the lease: refused. After it: retaken, with what the previous holder recorded.
  await ledger.update({ ...entry, runId: 'run-7' });
  assert.equal((await ledger.claim({ ...entry, leaseUntil: 9_000 }, 900)).claimed, false);
  const retaken = await ledger.claim({ ...entry, leaseUntil: 9_000, updatedAt: 't1' }, 1_001);
  assert.ok(retaken.claimed);
  assert.equal(retaken.previous?.runId, 'run-7');
  assert.equal(retaken.entry.claims, 2);
  assert.equal(retaken.entry.runId, 'run-7');
  await ledger.update({ ...retaken.entry, status: 'done', leaseUntil: 0 });
  assert.equal((await ledger.claim({ ...entry, leaseUntil: 99_000 }, 50_000)).claimed, false);
});

test('file ledger heartbeat: the holder renews its lease; after a takeover neither its renewal nor its update lands', async () => {
  const ledger = dynamoDbFileLedger(db, { env: parts.env });
  const entry: FileEntry = {
    org: 'acme',
    fileId: 'inbound/acme/heartbeat.csv#v1',
    key: 'inbound/acme/heartbeat.csv',
    etag: '"e"',
    size: 10,
    status: 'processing',
    leaseUntil: 1_000,
    receivedAt: 't0',
    updatedAt: 't0',
    claims: 1,
  };
  const first = await ledger.claim(entry, 0);
  assert.ok(first.claimed);
  assert.equal(await ledger.renew(first.entry, 2_000), true);
  // Renewed: still held at 1,500, where the first lease had lapsed.
  assert.equal((await ledger.claim({ ...entry, leaseUntil: 9_000 }, 1_500)).claimed, false);
  // Lapsed (the holder stalled): another delivery takes it over.
  const second = await ledger.claim({ ...entry, leaseUntil: 9_000 }, 2_001);
  assert.ok(second.claimed);
  assert.equal(await ledger.renew(first.entry, 20_000), false);
  await assert.rejects(ledger.update({ ...first.entry, leaseUntil: 0, status: 'done' }), ClaimLostError);
  const stored = await db.send(
    new GetCommand({ TableName: 'Files', Key: { org: 'acme', fileId: entry.fileId }, ConsistentRead: true }),
  );
  assert.equal(stored.Item?.leaseUntil, 9_000);
  assert.equal(stored.Item?.status, 'processing');
  assert.equal(stored.Item?.claims, 2);
  // The new holder renews and finishes; a finished entry is renewed by nobody.
  assert.equal(await ledger.renew(second.entry, 10_000), true);
  await ledger.update({ ...second.entry, status: 'done', leaseUntil: 0 });
  assert.equal(await ledger.renew(second.entry, 30_000), false);
});

test('billing: reservations never exceed the limit, also concurrently; releases give back', async () => {
  await putOrganization(db, { id: 'acme', name: 'Acme', allowedRecords: 100 }, { env: parts.env });
  const billing = dynamoDbBilling(db, { env: parts.env });
  const use = { jobId: 'job-1', at: new Date('2026-11-24T07:00:00Z') };
  const granted = await Promise.all(Array.from({ length: 8 }, () => billing.reserve('acme', 30, use)));
  assert.equal(
    granted.reduce((a, b) => a + b, 0),
    100,
  );
  assert.equal(await billing.reserve('acme', 1, use), 0);
  await billing.release('acme', 5, use);
  assert.equal(await billing.reserve('acme', 10, use), 5);
  await putOrganization(db, { id: 'acme', name: 'Acme', allowedRecords: 120 }, { env: parts.env });
  assert.equal(await billing.reserve('acme', 50, use), 20);
  assert.equal(await billing.reserve('no-item-org', 50, use), 50);
});

test('billing: a reservation under a known limit is one request; a changed limit is read again', async () => {
  await putOrganization(db, { id: 'lean', name: 'Lean', allowedRecords: 50 }, { env: parts.env });
  const client = dynamoDbDocumentClient(parts.config);
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'build', name: 'countBillingRequests' },
  );
  const billing = dynamoDbBilling(client, { env: parts.env });
  const use = { jobId: 'job-1', at: new Date('2026-11-24T07:00:00Z') };
  assert.equal(await billing.reserve('lean', 20, use), 20); // the limit is read once
  sent.length = 0;
  assert.equal(await billing.reserve('lean', 20, use), 20);
  assert.deepEqual(sent, ['UpdateItemCommand']);
  // 10 left: the optimistic grant of 20 is refused, the item read, 10 granted.
  assert.equal(await billing.reserve('lean', 20, use), 10);
  assert.equal(await billing.reserve('lean', 1, use), 0);
  // The limit lowered below what was used: nothing more, though the cached limit said otherwise.
  await putOrganization(db, { id: 'lean', name: 'Lean', allowedRecords: 40 }, { env: parts.env });
  await billing.release('lean', 5, use);
  assert.equal(await billing.reserve('lean', 5, use), 0);
  const usage = await readBillingUsage(db, 'lean', '2026-11', { env: parts.env });
  assert.equal(usage.used, 45);
});

test('run log: saves keep attributes added by others; errors list in row order, paged', async () => {
  const log = dynamoDbRunLog(db, { env: parts.env });
  const run = startRun({
    org: 'acme',
    runId: '20261124T070102123Z-abcdef',
    now: new Date('2026-11-24T07:01:02.123Z'),
    file: { key: 'inbound/acme/f.csv', name: 'f.csv', size: 1, etag: '"e"' },
  });
  await log.save({ ...run, checkpoint: { row: 100, at: 'x' } });
  await db.send(
    new UpdateCommand({
      TableName: 'Runs',
      Key: { org: 'acme', runId: run.runId },
      UpdateExpression: 'SET #c = :c',
      ExpressionAttributeNames: { '#c': 'comment' },
      ExpressionAttributeValues: { ':c': 'looked at it' },
    }),
  );
  await log.save({ ...run, status: 'completed' });
  const stored = (await db.send(new GetCommand({ TableName: 'Runs', Key: { org: 'acme', runId: run.runId } }))).Item!;
  assert.equal(stored.comment, 'looked at it');
  assert.equal(stored.status, 'completed');
  assert.equal('checkpoint' in stored, false);
  assert.deepEqual((await log.get('acme', run.runId))?.counts, run.counts);

  const errors = Array.from({ length: 1203 }, (_, i) => ({
    row: 1204 - i,
    problems: [{ code: 'required', message: `row ${1204 - i}` }],
    values: ['a', 'b'],
  }));
  await log.addErrors('acme', run.runId, errors);
  const rows: number[] = [];
  for await (const e of log.errors('acme', run.runId)) rows.push(e.row);
  assert.equal(rows.length, 1203);
  assert.deepEqual(rows.slice(0, 3), [2, 3, 4]);
  assert.equal(rows.at(-1), 1204);

  // Two entries for one row in one call (a kept row that was also over the limit): one item, nothing dropped.
  await log.addErrors('acme', 'run-2', [
    { row: 7, kept: true, problems: [{ code: 'duplicate_key', message: 'kept' }] },
    { row: 7, values: ['x'], problems: [{ code: 'over_limit', message: 'over' }] },
  ]);
  const merged: RowError[] = [];
  for await (const e of log.errors('acme', 'run-2')) merged.push(e);
  assert.deepEqual(merged, [
    {
      row: 7,
      values: ['x'],
      problems: [
        { code: 'duplicate_key', message: 'kept' },
        { code: 'over_limit', message: 'over' },
      ],
    },
  ]);
});

test('jobs: put and list launched import jobs', async () => {
  const job = defaultImportJob('acme', 'fn_profile_import', 'job-1');
  await putJob(db, job, { env: parts.env });
  await db.send(new PutCommand({ TableName: 'Jobs', Item: { org: 'acme', jobId: 'exp-1', direction: 'export' } }));
  const jobs = await dynamoDbJobs(db, { env: parts.env }).importJobs('acme');
  assert.deepEqual(
    jobs.map((j) => [j.jobId, j.status, j.mapping.length]),
    [['job-1', 'launched', 12]],
  );
});

test('file store: exact-version reads, streamed writes, guarded copies and deletes, keys with spaces', async () => {
  const s3 = s3Client(parts.config);
  const files = s3FileStore(s3, { env: parts.env });
  const key = 'inbound/acme/Payroll Q1 (1).csv';
  await s3.send(new PutObjectCommand({ Bucket: parts.bucket, Key: key, Body: 'a,b\r\n1,2\r\n' }));
  // s3rver ignores the x-amz-tagging header of PutObject; PutObjectTagging works in both.
  await s3.send(
    new PutObjectTaggingCommand({
      Bucket: parts.bucket,
      Key: key,
      Tagging: { TagSet: [{ Key: 'integrator-upload', Value: 'partial' }] },
    }),
  );
  const info = await files.head(key);
  assert.ok(info);
  assert.equal(info.size, 10);
  assert.deepEqual(await files.tags(info), { 'integrator-upload': 'partial' });
  let text = '';
  for await (const chunk of await files.read(info)) text += Buffer.from(chunk).toString('utf8');
  assert.equal(text, 'a,b\r\n1,2\r\n');
  assert.equal(await files.copy(info, 'archive/acme/2026-11-24/r_Payroll Q1 (1).csv'), true);
  assert.ok(await files.head('archive/acme/2026-11-24/r_Payroll Q1 (1).csv'));
  // A newer upload under the same key: the old version's copy and delete refuse, the new upload stays.
  await s3.send(new PutObjectCommand({ Bucket: parts.bucket, Key: key, Body: 'a,b\r\n3,4\r\n' }));
  assert.equal(await files.copy(info, 'archive/acme/x.csv'), false);
  assert.equal(await files.remove(info), false);
  assert.ok(await files.head(key));
  const current = (await files.head(key))!;
  assert.equal(await files.remove(current), true);
  assert.equal(await files.head(key), undefined);
  await files.write(
    'archive/acme/out.errors.csv',
    (async function* () {
      yield 'x,y\r\n';
      yield 'ü,1\r\n';
    })(),
    'text/csv; charset=utf-8',
  );
  let out = '';
  for await (const chunk of await files.read({ key: 'archive/acme/out.errors.csv' }))
    out += Buffer.from(chunk).toString();
  assert.equal(out, 'x,y\r\nü,1\r\n');
});

test('engine on DynamoDB Local: a daily snapshot with 1% of rows changed costs 1% of the writes', async () => {
  const stats: RecordStoreStats = { batchGets: 0, updates: 0, conditionFailures: 0 };
  const deps = {
    openCsv,
    scratch: diskSortScratch(),
    records: dynamoDbRecords(db, { env: parts.env, stats }),
    runLog: dynamoDbRunLog(db, { env: parts.env }),
    clock: systemClock,
  };
  const job = defaultImportJob('snap', 'fn_profile_import', 'job-1');
  const template = templates.byId('fn_profile_import')!;
  const header = 'Employee ID,First Name,Last Name,Email,Department';
  const file = (changed: Set<number>) =>
    `${header}\r\n${Array.from({ length: 2000 }, (_, i) => `S${i},Ana,Silva,s${i}@example.com,${changed.has(i) ? 'Legal' : 'R&D'}`).join('\r\n')}\r\n`;
  const once = async (text: string, runId: string) =>
    (
      await importFile(deps, {
        run: startRun({
          org: 'snap',
          runId,
          now: new Date(),
          file: { key: 'inbound/snap/f.csv', name: 'f.csv', size: text.length, etag: '"e"' },
        }),
        job,
        template,
        source: async function* () {
          yield Buffer.from(text);
        },
        fileName: 'fn_profile_import_20261124.csv',
      })
    ).run;
  const first = await once(file(new Set()), 'r1');
  assert.equal(first.counts.created, 2000);
  assert.equal(stats.updates, 2000);
  stats.updates = 0;
  stats.batchGets = 0;
  const changed = new Set(Array.from({ length: 20 }, (_, i) => i * 97));
  const second = await once(file(changed), 'r2');
  assert.equal(second.counts.updated, 20);
  assert.equal(second.counts.unchanged, 1980);
  assert.equal(stats.updates, 20);
  assert.equal(stats.batchGets, 20);
});

// Seen as a customer: the same 300 rows in two files at once were counted 300 + 282 created and the organization's
// used records rose by 582. Each write now says what it did; billing gives back what was not written.
test('engine on DynamoDB Local: two runs of the same rows at once count each record once, and bill it once', async () => {
  await putOrganization(db, { id: 'twin-runs', name: 'Twin runs', allowedRecords: 10_000 }, { env: parts.env });
  const deps = {
    openCsv,
    scratch: diskSortScratch(),
    records: dynamoDbRecords(db, { env: parts.env, concurrency: 4 }),
    runLog: dynamoDbRunLog(db, { env: parts.env }),
    billing: dynamoDbBilling(db, { env: parts.env }),
    clock: systemClock,
    batchSize: 25,
  };
  const job = defaultImportJob('twin-runs', 'fn_profile_import', 'job-1');
  const template = templates.byId('fn_profile_import')!;
  const text = `Employee ID,First Name,Last Name,Email\r\n${Array.from({ length: 300 }, (_, i) => `T${i},Ana,Silva,t${i}@example.com`).join('\r\n')}\r\n`;
  const once = async (runId: string) =>
    (
      await importFile(deps, {
        run: startRun({
          org: 'twin-runs',
          runId,
          now: new Date(),
          file: { key: `inbound/twin-runs/${runId}.csv`, name: 'f.csv', size: text.length, etag: '"e"' },
        }),
        job,
        template,
        source: async function* () {
          for (let i = 0; i < text.length; i += 512) yield Buffer.from(text.slice(i, i + 512));
        },
        fileName: 'fn_profile_import_20261124.csv',
      })
    ).run;
  const [a, b] = await Promise.all([once('ra'), once('rb')]);
  assert.equal(a.counts.created + b.counts.created, 300);
  assert.equal(a.counts.updated + b.counts.updated, 0);
  assert.equal(a.counts.unchanged + b.counts.unchanged, 300);
  const usage = await readBillingUsage(db, 'twin-runs', periodOf(new Date()), { env: parts.env });
  assert.equal(usage.used, 300);
  assert.deepEqual(usage.jobs, [{ jobId: 'job-1', records: 300 }]);
});
