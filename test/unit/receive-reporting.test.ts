/**
 * Issue 12 item 1: a file that cannot be imported is still reported as a run. An empty file, a header-only file, a
 * name that matches no template (or no real date) and a file whose template has no launched job each end as one
 * Interrupted run with the problem's code and a message naming the file, recorded in the run log, the file archived
 * (so a fixed daily name works again) and the ledger entry done; never dropped, never "completed", and a second
 * delivery of the same event adds no second run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { receiveFile } from '../../functions/core/transfer/receive-file.ts';
import { memoryReceive } from '../fixtures/memory-ports.ts';

const PROFILE = 'Employee ID,First Name,Last Name,Email';

const CASES: { what: string; name: string; body: string; code: string; says: RegExp }[] = [
  { what: 'a 0-byte file', name: 'fn_profile_import_20261124.csv', body: '', code: 'empty_file', says: /empty/ },
  {
    what: 'a file of blank lines',
    name: 'fn_profile_import_20261125.csv',
    body: '\r\n \r\n\r\n',
    code: 'empty_file',
    says: /empty/,
  },
  {
    what: 'a header-only file',
    name: 'fn_profile_import_20261126.csv',
    body: `${PROFILE}\r\n`,
    code: 'empty_file',
    says: /has a header but no data rows; nothing was imported/,
  },
  {
    what: 'a name that matches no template',
    name: 'people_20261124.csv',
    body: `${PROFILE}\r\nE1,Ana,Silva,ana@example.com\r\n`,
    code: 'no_template',
    says: /people_20261124\.csv does not follow the name of an import template .*fn_profile_import_YYYYMMDD\.csv/,
  },
  {
    what: 'the name of an export template',
    name: 'case_status_export_20261124.csv',
    body: `${PROFILE}\r\nE1,Ana,Silva,ana@example.com\r\n`,
    code: 'no_template',
    says: /case_status_export is an export template/,
  },
  {
    what: 'a name whose date is not real',
    name: 'fn_profile_import_20260230.csv',
    body: `${PROFILE}\r\nE1,Ana,Silva,ana@example.com\r\n`,
    code: 'bad_date',
    says: /20260230 is not a real date/,
  },
  {
    what: 'a template with no launched job',
    name: 'fn_passport_import_20261124.csv',
    body: 'Employee ID,Passport Number\r\nE1,X1234567\r\n',
    code: 'no_launched_job',
    says: /follows template fn_passport_import, but the organization has no launched import job for it/,
  },
];

for (const c of CASES) {
  test(`${c.what} is reported as an Interrupted run (${c.code}), archived, once`, async () => {
    const { deps, files, runLog, ledger } = memoryReceive();
    const key = `inbound/acme/${c.name}`;
    files.put(key, c.body);
    const event = { eventName: 'ObjectCreated:Put', key };
    const received = await receiveFile(deps, event);
    assert.equal(received.outcome, 'finished');
    const run = received.outcome === 'finished' ? received.run : undefined;
    assert.equal(run?.status, 'interrupted');
    assert.equal(run?.problem?.code, c.code);
    assert.match(run?.problem?.message ?? '', c.says);
    assert.match(run?.message ?? '', new RegExp(c.name.replace(/\./g, '\\.')));
    assert.equal(run?.file.name, c.name);
    assert.deepEqual(
      { created: run?.counts.created, updated: run?.counts.updated },
      { created: 0, updated: 0 },
      'nothing written',
    );
    // Recorded where the reports read it, final.
    const stored = await runLog.get('acme', run!.runId);
    assert.equal(stored?.status, 'interrupted');
    assert.ok(stored?.endedAt);
    // Archived (the run says where), gone from inbound; the ledger entry is done.
    assert.equal(files.objects.has(key), false);
    assert.ok(run?.archivedKey && files.objects.has(run.archivedKey));
    assert.deepEqual(
      [...ledger.entries.values()].map((e) => e.status),
      ['done'],
    );
    // The same event again: no second run.
    const again = await receiveFile(deps, event);
    assert.equal(again.outcome, 'ignored');
    assert.equal(runLog.runs.size, 1);
  });
}

test('a draft (not launched) job does not take the file: reported as no launched job', async () => {
  const draft = { ...defaultImportJob('acme', 'fn_profile_import', 'job-1'), status: 'draft' as const };
  const { deps, files, jobs } = memoryReceive();
  jobs.jobs = [draft];
  files.put('inbound/acme/fn_profile_import_20261124.csv', `${PROFILE}\r\nE1,Ana,Silva,ana@example.com\r\n`);
  const received = await receiveFile(deps, {
    eventName: 'ObjectCreated:Put',
    key: 'inbound/acme/fn_profile_import_20261124.csv',
  });
  assert.equal(received.outcome === 'finished' && received.run.status, 'interrupted');
  assert.equal(received.outcome === 'finished' && received.run.problem?.code, 'no_launched_job');
});
