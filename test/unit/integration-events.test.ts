/**
 * The events a fact states (core/integration-events.ts): ids derived from the fact, details that match the catalogue
 * and carry nothing from the file, and publishing once per fact however often it is asked, without losing one when
 * the bus fails.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detailProblems } from '../../functions/core/integration-event-catalog.ts';
import {
  calendarReauthenticationRequired,
  eventsOfEndedRun,
  type IntegrationEvent,
  InvalidIntegrationEvent,
} from '../../functions/core/integration-events.ts';
import { emptyCounts, type Run } from '../../functions/core/transfer/runs.ts';
import { memoryIntegrationEvents } from '../fixtures/memory-integration-events.ts';

const importRun = (over: Partial<Run> = {}): Run => ({
  org: 'demo',
  runId: '20261201T070102123Z-k3x9qa',
  jobId: 'workday-profiles',
  jobName: 'Workday profiles of Ana Silva',
  templateId: 'fn_profile_import',
  trigger: 'arrival',
  file: {
    key: 'inbound/demo/fn_profile_import_20261201.csv',
    name: 'fn_profile_import_20261201.csv',
    size: 10,
    etag: 'e',
  },
  status: 'completed',
  startedAt: '2026-12-01T07:01:02.123Z',
  endedAt: '2026-12-01T07:01:09.456Z',
  counts: { ...emptyCounts(), rows: 3, created: 3 },
  warnings: [{ code: 'x', message: 'row 2: "X12345678" is ...' }],
  header: ['Employee ID', 'Passport Number'],
  ...over,
});

const types = (events: IntegrationEvent[]) => events.map((e) => e.detailType);
const valid = (events: IntegrationEvent[]) => {
  for (const e of events) assert.deepEqual(detailProblems(e.detailType, e.detail), [], e.id);
};

test('a completed import states one fact: Run Finished, its id derived from the organization and run', () => {
  const events = eventsOfEndedRun(importRun());
  assert.deepEqual(types(events), ['Run Finished.v1']);
  assert.equal(events[0]!.id, 'run-finished:demo:20261201T070102123Z-k3x9qa');
  assert.equal(events[0]!.detail.eventId, events[0]!.id);
  assert.equal(events[0]!.time, '2026-12-01T07:01:09.456Z');
  assert.deepEqual(events[0]!.detail.counts, {
    rows: 3,
    created: 3,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    overLimit: 0,
  });
  valid(events);
  assert.deepEqual(eventsOfEndedRun(importRun()), events, 'the same fact builds the same events');
});

test('a running run states nothing', () => {
  assert.deepEqual(eventsOfEndedRun(importRun({ status: 'running' })), []);
});

test('an incomplete import also needs attention; nothing from the file rides along', () => {
  const run = importRun({
    status: 'incomplete',
    counts: { ...emptyCounts(), rows: 3, created: 1, failed: 1, overLimit: 1 },
  });
  const events = eventsOfEndedRun(run);
  assert.deepEqual(types(events), ['Run Finished.v1', 'Run Needs Attention.v1']);
  assert.equal(events[1]!.id, `run-needs-attention:demo:${run.runId}`);
  assert.equal(events[1]!.detail.failedRows, 2);
  assert.equal(events[1]!.detail.report, `/v1/runs/${run.runId}`);
  valid(events);
  const text = JSON.stringify(events);
  for (const leak of ['X12345678', 'Ana Silva', 'Passport Number']) assert.ok(!text.includes(leak), leak);
});

test('an upload refused before any row: finished, needs attention and refused; the message is left out', () => {
  const run = importRun({
    status: 'interrupted',
    jobId: undefined,
    templateId: undefined,
    file: { key: 'inbound/demo/passport of Ana.xlsx', name: 'passports.xlsx', size: 1, etag: 'e' },
    problem: { code: 'not_csv', message: 'passports.xlsx is not a .csv file; X12345678' },
  });
  const events = eventsOfEndedRun(run);
  assert.deepEqual(types(events), ['Run Finished.v1', 'Run Needs Attention.v1', 'Upload Refused.v1']);
  assert.deepEqual(
    { fileName: events[2]!.detail.fileName, reasonCode: events[2]!.detail.reasonCode },
    { fileName: 'passports.xlsx', reasonCode: 'not_csv' },
  );
  assert.equal(events[0]!.detail.problemCode, 'not_csv');
  assert.ok(!JSON.stringify(events).includes('X12345678'));
  valid(events);
});

test('an import interrupted by its contents (a missing column) is not a refused upload', () => {
  const run = importRun({ status: 'interrupted', problem: { code: 'missing_required_column', message: 'm' } });
  assert.deepEqual(types(eventsOfEndedRun(run)), ['Run Finished.v1', 'Run Needs Attention.v1']);
});

test('an export that wrote its file: finished and file ready, with the bucket key and rows', () => {
  const run = importRun({
    runId: '20261201T020000000Z-a1b2c3',
    direction: 'export',
    jobId: 'case-status',
    templateId: 'case_status_export',
    trigger: 'manual',
    file: {
      key: 'outbound/demo/case_status_export_20261201.csv',
      name: 'case_status_export_20261201.csv',
      size: 99,
      etag: 'e',
    },
    exported: { mode: 'full', mark: 7, records: 12, rows: 10, filtered: 2, failed: 0 },
  });
  const events = eventsOfEndedRun(run);
  assert.deepEqual(types(events), ['Run Finished.v1', 'Export File Ready.v1']);
  assert.deepEqual(events[0]!.detail.counts, { records: 12, rows: 10, filtered: 2, failed: 0 });
  assert.equal(events[1]!.detail.key, 'outbound/demo/case_status_export_20261201.csv');
  assert.equal(events[1]!.detail.rows, 10);
  assert.equal(events[1]!.detail.size, 99);
  valid(events);
  const interrupted = eventsOfEndedRun({
    ...run,
    status: 'interrupted',
    problem: { code: 'store_down', message: 'm' },
  });
  assert.deepEqual(types(interrupted), ['Run Finished.v1', 'Run Needs Attention.v1'], 'no file, no file ready');
});

test('a calendar connection that needs re-authentication: one event per lapse', () => {
  const fact = {
    org: 'demo',
    connectionId: 'conn-7f3a',
    provider: 'google' as const,
    userId: 'u-1842',
    since: '2026-12-01T08:15:00.000Z',
  };
  const e = calendarReauthenticationRequired(fact);
  assert.equal(e.id, 'calendar-reauthentication-required:demo:conn-7f3a:2026-12-01T08:15:00.000Z');
  valid([e]);
  assert.notEqual(calendarReauthenticationRequired({ ...fact, since: '2026-12-09T08:15:00.000Z' }).id, e.id);
});

const parts = () => memoryIntegrationEvents();

test('publishing the same fact again and again puts each event on the bus once', async () => {
  const p = parts();
  const run = importRun({ status: 'incomplete', counts: { ...emptyCounts(), rows: 1, failed: 1 } });
  for (let i = 0; i < 3; i++) await p.events.publish(eventsOfEndedRun(run));
  await p.events.publish([...eventsOfEndedRun(run), ...eventsOfEndedRun(run)]);
  assert.deepEqual(
    p.onBus.map((e) => e.id),
    [`run-finished:demo:${run.runId}`, `run-needs-attention:demo:${run.runId}`],
  );
  assert.equal([...p.published.entries.values()].filter((e) => e.status === 'sent').length, 2);
});

test('two publishers of one fact at the same moment: one puts it on the bus, the other waits for it', async () => {
  const p = parts();
  const facts = eventsOfEndedRun(importRun({ status: 'interrupted', problem: { code: 'not_csv', message: 'm' } }));
  await Promise.all([p.events.publish(facts), p.events.publish(facts), p.events.publish(facts)]);
  assert.deepEqual(
    p.onBus.map((e) => e.detailType),
    ['Run Finished.v1', 'Run Needs Attention.v1', 'Upload Refused.v1'],
  );
});

test('a bus that fails leaves the claim unpublished: the retry takes it over once its lease lapsed, and publishes once', async () => {
  const p = parts();
  p.failNext(1);
  await assert.rejects(p.events.publish(eventsOfEndedRun(importRun())), /bus down/);
  assert.equal([...p.published.entries.values()][0]?.status, 'sending', 'claimed, not published');
  await p.events.publish(eventsOfEndedRun(importRun()));
  await p.events.publish(eventsOfEndedRun(importRun()));
  assert.equal(p.onBus.length, 1);
});

test('an event that does not match its schema is never published', async () => {
  const p = parts();
  const [e] = eventsOfEndedRun(importRun());
  const leaking = { ...e!, detail: { ...e!.detail, firstName: 'Ana' } };
  await assert.rejects(p.events.publish([leaking]), InvalidIntegrationEvent);
  assert.equal(p.onBus.length, 0);
});
