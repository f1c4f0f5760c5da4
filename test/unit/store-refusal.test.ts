/**
 * A write the store refuses for good (StoreRefusal, from adapters/store-refusals.ts) ends the run, wherever it
 * happens, instead of failing the invocation (which would retry the message for hours and leave the run `running`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asStoreRefusal, isStoreRefusal } from '../../functions/adapters/store-refusals.ts';
import { StoreRefusal } from '../../functions/core/problems.ts';
import { receiveFile } from '../../functions/core/transfer/receive-file.ts';
import type { Run } from '../../functions/core/transfer/runs.ts';
import { memoryReceive } from '../fixtures/memory-ports.ts';

const KEY = 'inbound/acme/fn_profile_import_20261124.csv';
const FILE = 'Employee ID,First Name,Last Name,Email\r\nE1,Ana,Silva,a@example.com\r\nE2,Bo,Berg,b@example.com\r\n';
const refusal = () =>
  new StoreRefusal({
    code: 'store_refused',
    message: 'the store refused to record the run: Item size has exceeded the maximum allowed size',
  });

function setup() {
  const receive = memoryReceive();
  receive.files.put(KEY, FILE);
  return receive;
}

test('refused before the import starts: the run ends Interrupted naming the problem, the file is archived', async () => {
  const { deps, runLog, ledger, files } = setup();
  const save = runLog.save.bind(runLog);
  let saves = 0;
  runLog.save = async (run: Run) => {
    // The first save is the run with its job, before the import: refused once, as a too-large item would be.
    if (++saves === 1) throw refusal();
    return save(run);
  };
  const received = await receiveFile(deps, { eventName: 'ObjectCreated:Put', key: KEY });
  assert.equal(received.outcome, 'finished');
  const run = received.outcome === 'finished' ? received.run : undefined;
  assert.equal(run?.status, 'interrupted');
  assert.equal(run?.problem?.code, 'store_refused');
  assert.match(run!.message!, /^fn_profile_import_20261124\.csv: the store refused to record the run/);
  assert.ok(run?.archivedKey);
  assert.equal(files.text(KEY), undefined, 'moved out of inbound');
  assert.deepEqual(
    [...ledger.entries.values()].map((e) => e.status),
    ['done'],
  );
});

test('refused while writing records: the run ends with what was applied, naming the problem', async () => {
  const { deps, records } = setup();
  records.apply = async () => {
    throw refusal();
  };
  const received = await receiveFile(deps, { eventName: 'ObjectCreated:Put', key: KEY });
  assert.equal(received.outcome, 'finished');
  const run = received.outcome === 'finished' ? received.run : undefined;
  assert.notEqual(run?.status, 'running');
  assert.equal(run?.problem?.code, 'store_refused');
  assert.ok(run?.archivedKey);
});

test('which SDK errors are refusals: ValidationException and a transaction cancelled for a ValidationError only', () => {
  const error = (name: string, extra: object = {}) => Object.assign(new Error(name), { name, ...extra });
  assert.equal(isStoreRefusal(error('ValidationException')), true);
  assert.equal(
    isStoreRefusal(
      error('TransactionCanceledException', {
        CancellationReasons: [{ Code: 'None' }, { Code: 'ValidationError', Message: 'Item size has exceeded' }],
      }),
    ),
    true,
  );
  assert.equal(
    isStoreRefusal(
      error('TransactionCanceledException', { CancellationReasons: [{ Code: 'ConditionalCheckFailed' }] }),
    ),
    false,
  );
  for (const name of [
    'ProvisionedThroughputExceededException',
    'ThrottlingException',
    'InternalServerError',
    'ConditionalCheckFailedException',
  ]) {
    assert.equal(isStoreRefusal(error(name)), false, name);
  }
  const cancelled = asStoreRefusal(
    error('TransactionCanceledException', {
      CancellationReasons: [{ Code: 'ValidationError', Message: 'Item size has exceeded the maximum allowed size' }],
    }),
    'records',
  );
  assert.ok(cancelled instanceof StoreRefusal);
  assert.match(cancelled.problem.message, /the store refused to record records: Item size has exceeded/);
});
