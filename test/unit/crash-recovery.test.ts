/**
 * Crash recovery in the core: the claim's heartbeat lease (claim-lease.ts), a run that lost its claim stopping before
 * it writes anything more, checkpoints by time as well as by rows, the time check before finishing a run, and a failed
 * upload (Transfer Family's Upload Failed event) recorded as partial and never imported.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClaimLostError, type FileEntry, type FileLedger } from '../../functions/core/ports.ts';
import { claimKeeper } from '../../functions/core/transfer/claim-lease.ts';
import { receiveFile } from '../../functions/core/transfer/receive-file.ts';
import { parseNotification } from '../../functions/core/transfer/s3-events.ts';
import { fixedClock, MemoryLedger, memoryReceive } from '../fixtures/memory-ports.ts';

const HEADER = 'Employee ID,First Name,Last Name,Email';
const KEY = 'inbound/acme/fn_profile_import_20261124.csv';
const created = { eventName: 'ObjectCreated:Put', key: KEY };
const rows = (n: number) =>
  `${HEADER}\r\n${Array.from({ length: n }, (_, i) => `E${i + 1},Ana${i + 1},Silva,e${i + 1}@example.com`).join('\r\n')}\r\n`;

const setup = (leaseMs = 60_000) => memoryReceive({ leaseMs });

const entry = (claims: number, leaseUntil: number): FileEntry => ({
  org: 'acme',
  fileId: `${KEY}#v1`,
  key: KEY,
  etag: 'e',
  size: 1,
  status: 'processing',
  leaseUntil,
  receivedAt: '',
  updatedAt: '',
  claims,
});

test('the lease is renewed once a third of it has passed, and a renewal after a takeover says the claim is lost', async () => {
  const ledger = new MemoryLedger();
  const clock = fixedClock(0, 0);
  const claim = await ledger.claim(entry(1, 90), 0);
  assert.ok(claim.claimed);
  let renewals = 0;
  const counting: Pick<FileLedger, 'renew'> = {
    renew: async (e, until) => {
      renewals++;
      return ledger.renew(e, until);
    },
  };
  const keeper = claimKeeper({ ledger: counting, entry: claim.entry, clock, leaseMs: 90 });
  clock.at = 20;
  assert.equal(await keeper.keep(), true);
  assert.equal(renewals, 0, 'not yet due: no write');
  clock.at = 31;
  assert.equal(await keeper.keep(), true);
  assert.equal(renewals, 1);
  assert.equal([...ledger.entries.values()][0]?.leaseUntil, 121);
  // The holder stalls past its lease; another delivery retakes the file.
  clock.at = 200;
  const taken = await ledger.claim(entry(1, 290), 200);
  assert.ok(taken.claimed);
  assert.equal(await keeper.keep(), false);
  assert.equal(await keeper.keep(), false, 'stays lost');
  assert.equal([...ledger.entries.values()][0]?.leaseUntil, 290, "the new holder's lease is untouched");
  // Nor can the old holder update the entry any more.
  await assert.rejects(ledger.update({ ...claim.entry, status: 'done' }), ClaimLostError);
});

test('a run whose claim was taken over stops at its next batch: nothing more written, the new holder untouched', async () => {
  const { deps, files, ledger, runLog, records, clock } = setup(60_000);
  files.put(KEY, rows(450));
  let batches = 0;
  let takenOver: FileEntry | undefined;
  const result = receiveFile(
    {
      ...deps,
      shouldPause: () => {
        batches++;
        if (batches === 2) {
          // This invocation stalls past its lease; meanwhile the message came back and another delivery claimed it.
          clock.at += 120_000;
          const [current] = [...ledger.entries.values()];
          takenOver = { ...current!, claims: current!.claims + 1, leaseUntil: clock.at + 60_000 };
          ledger.entries.set(`acme#${current!.fileId}`, takenOver);
        }
        return false;
      },
    },
    created,
  );
  await assert.rejects(result, ClaimLostError);
  assert.equal(records.items.size, 200, 'the two batches before the takeover, none after');
  const [run] = [...runLog.runs.values()];
  assert.equal(run?.status, 'running');
  assert.deepEqual([...ledger.entries.values()][0], takenOver, "the new holder's entry is as it left it");
  assert.ok(files.objects.has(KEY));
});

test('a checkpoint is saved by time as well as by rows, so a crash redoes little', async () => {
  const { deps, files, runLog } = setup();
  files.put(KEY, rows(350));
  const checkpoints: (number | undefined)[] = [];
  const received = await receiveFile(
    {
      ...deps,
      // Slow rows: every reading of the clock is 10 s later (10,000 rows would take hours).
      clock: fixedClock(Date.UTC(2026, 10, 24), 10_000),
      checkpointEvery: 10_000,
      checkpointEveryMs: 15_000,
      shouldPause: () => {
        checkpoints.push([...runLog.runs.values()][0]?.checkpoint?.row);
        return false;
      },
    },
    created,
  );
  assert.equal(received.outcome, 'finished');
  // Asked after each batch, before that batch's checkpoint is saved: each batch left one.
  assert.deepEqual(checkpoints, [undefined, 101, 201]);
});

test('short of time before finishing: the run pauses with every row applied, and the next invocation only finishes', async () => {
  const { deps, files, runLog, records, clock } = setup();
  files.put(KEY, rows(250));
  const first = await receiveFile({ ...deps, hasTimeToFinish: () => false }, created);
  assert.equal(first.outcome, 'paused');
  assert.equal(first.run.checkpoint?.row, 251);
  assert.equal(first.run.outcomeKey, undefined);
  assert.equal(records.items.size, 250);
  assert.ok(files.objects.has(KEY), 'not archived yet');
  clock.at += 1_000;
  const writesBefore = records.writes;
  const second = await receiveFile({ ...deps, hasTimeToFinish: () => true }, created);
  assert.equal(second.outcome, 'finished');
  assert.equal(second.outcome === 'finished' && second.run.status, 'completed');
  assert.equal(second.outcome === 'finished' && second.run.counts.rows, 250);
  assert.equal(second.outcome === 'finished' && second.run.counts.created, 250);
  assert.equal(records.writes, writesBefore, 'no row applied twice');
  assert.equal(runLog.runs.size, 1);
  assert.equal(files.objects.has(KEY), false);
});

test("Transfer Family's Upload Failed event: the version is recorded partial and never imported, whatever the tags", async () => {
  const { deps, files, ledger, records } = setup();
  files.put(KEY, rows(3));
  const failedEvent = {
    version: '0',
    id: 'e1',
    'detail-type': 'SFTP Server File Upload Failed',
    source: 'aws.transfer',
    detail: {
      'status-code': 'FAILED',
      'failure-code': 'PARTIAL_UPLOAD',
      'file-path': `/integrator-bucket/${KEY}`,
      bytes: 10,
      'server-id': 's-1',
      username: 'org-acme',
      'session-id': 'sess-1',
    },
  };
  const parsed = parseNotification(JSON.stringify(failedEvent));
  assert.equal(parsed.kind, 'arrivals');
  const [arrival] = parsed.kind === 'arrivals' ? parsed.arrivals : [];
  assert.ok(arrival);
  const received = await receiveFile(deps, arrival);
  assert.equal(received.outcome === 'finished' && received.run.problem?.code, 'partial_upload');
  assert.equal([...ledger.entries.values()][0]?.status, 'partial');
  assert.equal(records.items.size, 0);
  // A completed event (or a copy notification) for the same version later finds it recorded: still not imported.
  const again = await receiveFile(deps, { ...arrival, partial: false, eventName: 'ObjectCreated:SftpUploadCompleted' });
  assert.equal(again.outcome === 'ignored' && again.reason, 'already_processed');
  assert.equal(records.items.size, 0);
  assert.ok(files.objects.has(KEY), 'left where it is');
});

test('a failed upload whose key now holds other bytes (a later upload) does not mark that one partial', async () => {
  const { deps, files, records } = setup();
  files.put(KEY, rows(2));
  const etag = (await files.head(KEY))!.etag;
  const received = await receiveFile(deps, {
    eventName: 'ObjectCreated:SftpUploadFailed',
    key: KEY,
    etag: `${etag}-older`,
    partial: true,
  });
  assert.equal(received.outcome === 'ignored' && received.reason, 'gone');
  const completed = await receiveFile(deps, { eventName: 'ObjectCreated:SftpUploadCompleted', key: KEY, etag });
  assert.equal(completed.outcome === 'finished' && completed.run.status, 'completed');
  assert.equal(records.items.size, 2);
});

test('the handler: a run that lost its claim is reported failed without touching the visibility of its message', async () => {
  const { createImportHandler } = await import('../../functions/handlers/import-file.ts');
  const { sqsRecord } = await import('../../lib/local/queue.ts');
  const { deps, files, ledger, records, clock } = setup();
  files.put(KEY, rows(450));
  const changes: [string, number][] = [];
  let applies = 0;
  const handler = createImportHandler({
    leaseMs: 60_000,
    dependencies: () => ({
      ...deps,
      records: {
        current: (org, entity, keys) => records.current(org, entity, keys),
        apply: async (writes) => {
          if (++applies === 2) {
            // The invocation stalls past its lease; the message came back and another delivery took the file.
            clock.at += 120_000;
            const [current] = [...ledger.entries.values()];
            ledger.entries.set(`acme#${current!.fileId}`, { ...current!, claims: current!.claims + 1 });
          }
          return records.apply(writes);
        },
      },
      visibility: { change: async (handle, seconds) => void changes.push([handle, seconds]) },
    }),
  });
  const message = sqsRecord(
    JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { object: { key: KEY } } }] }),
  );
  assert.deepEqual(await handler({ Records: [message] }), {
    batchItemFailures: [{ itemIdentifier: message.messageId }],
  });
  // The lease and a minute: 120 s.
  assert.deepEqual(changes, [[message.receiptHandle, 120]], 'set down once at the start; no backoff afterwards');
  assert.equal(records.items.size, 200);
});
