import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FileStore } from '../../functions/core/ports.ts';
import { csvLine, errorColumnHeading, outcomeLines, safeCell } from '../../functions/core/transfer/outcome.ts';
import { receiveFile } from '../../functions/core/transfer/receive-file.ts';
import { parseNotification } from '../../functions/core/transfer/s3-events.ts';
import { memoryReceive } from '../fixtures/memory-ports.ts';

const HEADER = 'Employee ID,First Name,Last Name,Email';
const KEY = 'inbound/acme/fn_profile_import_20261124.csv';

const setup = () => memoryReceive();

const created = { eventName: 'ObjectCreated:Put', key: KEY };

test('ignored without a run: other events, other areas, temporary names, objects already gone', async () => {
  const { deps, files, runLog } = setup();
  files.put('inbound/acme/x.csv.filepart', 'a');
  assert.equal((await receiveFile(deps, { eventName: 'ObjectRemoved:Delete', key: KEY })).outcome, 'ignored');
  const outside = await receiveFile(deps, { ...created, key: 'archive/acme/x.csv' });
  assert.equal(outside.outcome === 'ignored' && outside.reason, 'outside_inbound');
  const temp = await receiveFile(deps, { ...created, key: 'inbound/acme/x.csv.filepart' });
  assert.equal(temp.outcome === 'ignored' && temp.reason, 'temporary_name');
  const gone = await receiveFile(deps, created);
  assert.equal(gone.outcome === 'ignored' && gone.reason, 'gone');
  assert.equal(runLog.runs.size, 0);
});

test('a file is claimed once; a second delivery is ignored', async () => {
  const { deps, files, runLog } = setup();
  files.put(KEY, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`);
  const first = await receiveFile(deps, created);
  assert.equal(first.outcome, 'finished');
  files.put(KEY, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`); // the archive moved it; a new upload arrives
  const again = await receiveFile(deps, created);
  assert.equal(again.outcome, 'finished');
  // Redelivery of the second event while the object is still there (as if the archive step were pending):
  const { deps: d2, files: f2 } = setup();
  f2.put(KEY, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`);
  await d2.ledger.claim(
    {
      org: 'acme',
      fileId: `${KEY}#"etag-1"@${(await f2.head(KEY))!.lastModified.toISOString()}`,
      key: KEY,
      etag: '"etag-1"',
      size: 1,
      status: 'processing',
      leaseUntil: Number.MAX_SAFE_INTEGER,
      receivedAt: '',
      updatedAt: '',
      claims: 1,
    },
    0,
  );
  const busy = await receiveFile(d2, created);
  assert.equal(busy.outcome === 'ignored' && busy.reason, 'in_progress');
  assert.equal(runLog.runs.size, 2);
});

test('crash after the run was recorded: the retaken claim only finishes the archive step', async () => {
  const { deps, files, runLog, ledger, clock } = setup();
  files.put(KEY, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`);
  // The first attempt dies right after recording the run (the copy to the archive fails).
  const failing: FileStore = {
    ...files,
    head: files.head.bind(files),
    versionOf: files.versionOf.bind(files),
    tags: files.tags.bind(files),
    read: files.read.bind(files),
    write: files.write.bind(files),
    remove: files.remove.bind(files),
    copy: async () => {
      throw new Error('network');
    },
  };
  await assert.rejects(receiveFile({ ...deps, files: failing }, created), /network/);
  const [entry] = [...ledger.entries.values()];
  assert.equal(entry?.status, 'processing');
  assert.equal(entry?.leaseUntil, 0);
  const [run] = [...runLog.runs.values()];
  assert.equal(run?.status, 'completed');
  assert.ok(files.objects.has(KEY));
  clock.at += 1000;
  const retry = await receiveFile(deps, created);
  assert.equal(retry.outcome, 'finished');
  assert.equal(retry.outcome === 'finished' && retry.run.runId, run.runId);
  assert.equal(runLog.runs.size, 1);
  assert.equal(files.objects.has(KEY), false);
  assert.ok(files.objects.has(run.archivedKey!));
  assert.equal([...ledger.entries.values()][0]?.status, 'done');
});

test('a partial upload stays in inbound, also when a crash made the claim be retaken', async () => {
  const { deps, files, runLog, ledger } = setup();
  files.put(KEY, `${HEADER}\r\nE1,Ana,Silva,a@example.com\r\n`, { 'integrator-upload': 'partial' });
  const result = await receiveFile(deps, created);
  assert.equal(result.outcome === 'finished' && result.run.problem?.code, 'partial_upload');
  assert.ok(files.objects.has(KEY));
  const [entry] = [...ledger.entries.values()];
  assert.equal(entry?.status, 'partial');
  // Simulate the ledger update having been lost: the retry must still leave the file in place.
  await ledger.update({ ...entry!, status: 'processing', leaseUntil: 0 });
  await receiveFile(deps, created);
  assert.ok(files.objects.has(KEY));
  assert.equal(runLog.runs.size, 1);
});

test('a file that is not CSV gets an Interrupted run and stays; an unknown name is archived', async () => {
  const { deps, files } = setup();
  files.put('inbound/acme/fn_profile_import_20261124.xlsx', 'PK..');
  const xlsx = await receiveFile(deps, { ...created, key: 'inbound/acme/fn_profile_import_20261124.xlsx' });
  assert.equal(xlsx.outcome === 'finished' && xlsx.run.problem?.code, 'not_csv');
  assert.ok(files.objects.has('inbound/acme/fn_profile_import_20261124.xlsx'));
  files.put('inbound/acme/people.csv', 'a\r\n1\r\n');
  const unknown = await receiveFile(deps, { ...created, key: 'inbound/acme/people.csv' });
  assert.equal(unknown.outcome === 'finished' && unknown.run.status, 'interrupted');
  assert.equal(files.objects.has('inbound/acme/people.csv'), false);
});

test('S3 notifications: keys decoded, test events recognized, junk reported', () => {
  const parsed = parseNotification(
    JSON.stringify({
      Records: [
        {
          eventName: 'ObjectCreated:CompleteMultipartUpload',
          s3: {
            object: { key: 'inbound/acme/Payroll+Q1+%281%29+%E2%82%AC.csv', size: 3, eTag: 'abc', versionId: 'v1' },
          },
        },
      ],
    }),
  );
  assert.deepEqual(parsed, {
    kind: 'arrivals',
    arrivals: [
      {
        eventName: 'ObjectCreated:CompleteMultipartUpload',
        key: 'inbound/acme/Payroll Q1 (1) €.csv',
        versionId: 'v1',
        etag: 'abc',
        size: 3,
      },
    ],
  });
  assert.equal(parseNotification(JSON.stringify({ Event: 's3:TestEvent' })).kind, 'test_event');
  assert.equal(parseNotification('nope').kind, 'unreadable');
  assert.equal(
    parseNotification(
      JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { object: { key: '%E0%A4%A' } } }] }),
    ).kind,
    'unreadable',
  );
  const sns = parseNotification(
    JSON.stringify({ Type: 'Notification', Message: JSON.stringify({ Event: 's3:TestEvent' }) }),
  );
  assert.equal(sns.kind, 'test_event');
});

test('outcome cells are CSV-injection safe and correctly quoted', async () => {
  assert.equal(safeCell('=1+2'), "'=1+2");
  assert.equal(safeCell('+49 30 123'), "'+49 30 123");
  assert.equal(safeCell('-5'), "'-5");
  assert.equal(safeCell('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(safeCell('\tx'), "'\tx");
  assert.equal(safeCell('\nx'), `"'\nx"`);
  assert.equal(safeCell('a,b'), '"a,b"');
  assert.equal(safeCell('say "hi"'), '"say ""hi"""');
  assert.equal(safeCell('plain'), 'plain');
  assert.equal(csvLine(['a', 'b']), 'a,b\r\n');
  assert.equal(errorColumnHeading(['Error', 'x']), 'Integrator Error');
  let out = '';
  for await (const line of outcomeLines(
    ['A', 'B'],
    (async function* () {
      yield { row: 2, values: ['1'], problems: [{ code: 'x', message: 'bad' }] };
      yield { row: 3, kept: true, problems: [{ code: 'duplicate_key', message: 'note' }] };
    })(),
  )) {
    out += line;
  }
  assert.equal(out, '\uFEFFA,B,Error\r\n1,,bad\r\n');
});
