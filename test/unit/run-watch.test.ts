import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContactDirectory, Mailer, MailMessage, RunLog, RunWatchStore } from '../../functions/core/ports.ts';
import {
  composeEmail,
  eventKey,
  type OutboxEntry,
  outboxDecision,
  recipients,
} from '../../functions/core/transfer/notifications.ts';
import { DEFAULT_RUN_WATCH, judgeRunningRun, type LifeSigns } from '../../functions/core/transfer/run-watch.ts';
import { emptyCounts, type Run } from '../../functions/core/transfer/runs.ts';
import {
  notifyOnce,
  runWatchCycle,
  type WatchDeps,
  withFailureNotices,
} from '../../functions/core/transfer/watch-cycle.ts';
import { MemoryOutbox } from '../fixtures/memory-outbox.ts';

const T0 = Date.parse('2026-11-24T07:00:00.000Z');
const MIN = 60_000;

function run(over: Partial<Run> = {}): Run {
  return {
    org: 'acme',
    runId: '20261124T070000000Z-aaaaaa',
    jobId: 'profile',
    jobName: 'Workday profiles',
    status: 'running',
    file: {
      key: 'inbound/acme/fn_profile_import_20261124.csv',
      name: 'fn_profile_import_20261124.csv',
      size: 1,
      etag: 'e',
    },
    startedAt: new Date(T0).toISOString(),
    counts: emptyCounts(),
    warnings: [],
    ...over,
  };
}

test('a run whose lease is renewed is left alone; one silent past the stall window is interrupted', () => {
  const alive: LifeSigns[] = [{ leaseUntil: T0 + 60 * MIN, updatedAt: T0 + 58 * MIN }];
  assert.equal(judgeRunningRun(run(), alive, new Date(T0 + 61 * MIN)).action, 'none');
  const lapsed: LifeSigns[] = [{ leaseUntil: T0 + 2 * MIN, updatedAt: T0 }];
  assert.equal(judgeRunningRun(run(), lapsed, new Date(T0 + 11 * MIN)).action, 'none', 'a redelivery may still come');
  const decision = judgeRunningRun(run(), lapsed, new Date(T0 + 13 * MIN));
  assert.equal(decision.action, 'interrupt');
  assert.equal(decision.action === 'interrupt' && decision.problem.code, 'run_stalled');
  // A paused run releases its lease (0) but its entry's update and checkpoint are signs of life.
  const paused = run({ checkpoint: { row: 500, at: new Date(T0 + 30 * MIN).toISOString() } });
  assert.equal(
    judgeRunningRun(paused, [{ leaseUntil: 0, updatedAt: T0 + 30 * MIN }], new Date(T0 + 35 * MIN)).action,
    'none',
  );
  // No ledger entry at all: the start is the only sign.
  assert.equal(judgeRunningRun(run(), [], new Date(T0 + 11 * MIN)).action, 'interrupt');
  assert.equal(judgeRunningRun(run({ status: 'completed' }), [], new Date(T0 + 99 * MIN)).action, 'none');
});

test('a live run still running 24 hours after its start is overdue', () => {
  const now = T0 + DEFAULT_RUN_WATCH.overdueMs + MIN;
  assert.equal(judgeRunningRun(run(), [{ leaseUntil: now + MIN }], new Date(now)).action, 'overdue');
  assert.equal(judgeRunningRun(run(), [{ leaseUntil: now + MIN }], new Date(now - 2 * MIN)).action, 'none');
});

test('event keys: one per run failure, one per overdue run, one per missed slot', () => {
  assert.equal(eventKey({ kind: 'run_failed', org: 'acme', run: run() }), 'run_failed#20261124T070000000Z-aaaaaa');
  assert.equal(eventKey({ kind: 'run_overdue', org: 'acme', run: run() }), 'run_overdue#20261124T070000000Z-aaaaaa');
  assert.equal(
    eventKey({ kind: 'schedule_missed', org: 'acme', jobId: 'nightly', expectedAt: '2026-11-24T10:00:00.000Z' }),
    'schedule_missed#nightly#2026-11-24T10:00:00.000Z',
  );
});

test('recipients: job contacts then the organization’s, each once, malformed ones left out', () => {
  assert.deepEqual(recipients(['HR@acme.test', { email: 'it@acme.test' }, 'nope'], ['hr@acme.test', 'ops@acme.test']), [
    'HR@acme.test',
    'it@acme.test',
    'ops@acme.test',
  ]);
});

test('the e-mail names the job, the run, what happened and where to look, and quotes nothing from the file', () => {
  const failed = run({
    status: 'interrupted',
    endedAt: new Date(T0 + MIN).toISOString(),
    problem: { code: 'missing_required_column', message: 'value "Jane Doe P1234567" is wrong', value: 'P1234567' },
    message: 'value "Jane Doe P1234567" is wrong',
  });
  const mail = composeEmail({ kind: 'run_failed', org: 'acme', run: failed }, new Date(T0 + 2 * MIN), {
    orgName: 'Acme',
    reportsUrl: 'https://api.example.test/',
  });
  assert.match(mail.subject, /Workday profiles.*interrupted/);
  assert.match(mail.text, /20261124T070000000Z-aaaaaa/);
  assert.match(mail.text, /missing_required_column/);
  assert.match(mail.text, /https:\/\/api\.example\.test\/v1\/runs\/20261124T070000000Z-aaaaaa/);
  assert.doesNotMatch(mail.text, /Jane|P1234567/);
  const missed = composeEmail(
    { kind: 'schedule_missed', org: 'acme', jobId: 'nightly', jobName: 'Nightly', expectedAt: '2026-11-24T10:00:00Z' },
    new Date(T0),
  );
  assert.match(missed.subject, /Nightly.*did not start/);
  assert.match(missed.text, /2026-11-24T10:00:00Z/);
});

test('outbox decisions: claim when new, never after sent, retry a lapsed claim with the next attempt', () => {
  const entry: OutboxEntry = { org: 'a', eventKey: 'k', status: 'sending', attempt: 1, leaseUntil: 1000 };
  assert.deepEqual(outboxDecision(undefined, 0), { action: 'claim', attempt: 1 });
  assert.deepEqual(outboxDecision({ ...entry, status: 'pending', attempt: 0, leaseUntil: 0 }, 0), {
    action: 'claim',
    attempt: 1,
  });
  assert.deepEqual(outboxDecision(entry, 999), { action: 'skip', reason: 'in_flight' });
  assert.deepEqual(outboxDecision(entry, 1001), { action: 'claim', attempt: 2 });
  assert.deepEqual(outboxDecision({ ...entry, status: 'sent' }, 99_999), { action: 'skip', reason: 'sent' });
});

// ---------------------------------------------------------------------------------------------------------------
// The cycle over in-memory ports with the adapters' conditional rules.

function setup(runs: Run[], signs: LifeSigns[] = []) {
  let now = T0 + 30 * MIN;
  const sent: MailMessage[] = [];
  let failNext = 0;
  const mailer: Mailer = {
    async send(m) {
      if (failNext > 0) {
        failNext--;
        throw new Error('SES refused');
      }
      sent.push(m);
      return {};
    },
  };
  const stored = new Map(runs.map((r) => [r.runId, structuredClone(r)]));
  const store: RunWatchStore = {
    async *runningRuns() {
      for (const r of stored.values()) if (r.status === 'running') yield structuredClone(r);
    },
    lifeSigns: async () => signs,
    async interrupt(read, ended) {
      const current = stored.get(read.runId);
      if (current?.status !== 'running' || current.invocations !== read.invocations) return false;
      stored.set(read.runId, ended);
      return true;
    },
    organizations: async () => ['acme'],
    async *failedSince() {
      for (const r of stored.values()) if (r.status === 'interrupted' || r.status === 'incomplete') yield r;
    },
  };
  const contacts: ContactDirectory = {
    contactsFor: async () => ({ jobContacts: ['hr@acme.test'], orgContacts: ['it@acme.test'], orgName: 'Acme' }),
  };
  const outbox = new MemoryOutbox();
  const deps: WatchDeps = {
    store,
    outbox,
    mailer,
    contacts,
    clock: { now: () => new Date(now) },
    from: 'integrator@example.test',
    messageDomain: 'example.test',
  };
  return {
    deps,
    sent,
    stored,
    outbox,
    advance: (ms: number) => {
      now += ms;
    },
    failSends: (n: number) => {
      failNext = n;
    },
  };
}

test('a stalled run ends Interrupted and its contacts get one e-mail, however often the watch runs', async () => {
  const w = setup([run(), run({ runId: '20261124T070500000Z-bbbbbb', status: 'incomplete' })]);
  const first = await runWatchCycle(w.deps);
  assert.deepEqual(first.interrupted, ['acme/20261124T070000000Z-aaaaaa']);
  assert.equal(w.stored.get('20261124T070000000Z-aaaaaa')?.status, 'interrupted');
  for (let i = 0; i < 5; i++) {
    w.advance(5 * MIN);
    await runWatchCycle(w.deps);
  }
  assert.equal(w.sent.length, 2, 'one for the interrupted run, one for the incomplete run');
  assert.deepEqual(w.sent[0]!.to, ['hr@acme.test', 'it@acme.test']);
  assert.deepEqual(new Set(w.sent.map((m) => m.messageId)).size, 2);
});

test('a refused send is retried by a later pass once its claim lapses, and then sent once', async () => {
  const w = setup([run({ status: 'interrupted' })]);
  w.failSends(1);
  const first = await runWatchCycle(w.deps);
  assert.equal(first.failures.length, 1);
  assert.equal(w.sent.length, 0);
  await runWatchCycle(w.deps);
  assert.equal(w.sent.length, 0, 'still within the first claim');
  w.advance(6 * MIN);
  await runWatchCycle(w.deps);
  w.advance(6 * MIN);
  await runWatchCycle(w.deps);
  assert.equal(w.sent.length, 1);
  assert.equal(w.outbox.items.get('acme#run_failed#20261124T070000000Z-aaaaaa')?.attempt, 2);
});

test('concurrent senders of one event: exactly one sends', async () => {
  const w = setup([]);
  const event = { kind: 'schedule_missed' as const, org: 'acme', jobId: 'nightly', expectedAt: '2026-11-24T10:00:00Z' };
  const outcomes = await Promise.all([1, 2, 3, 4].map(() => notifyOnce(w.deps, event)));
  assert.equal(outcomes.filter((o) => o === 'sent').length, 1);
  assert.equal(w.sent.length, 1);
  assert.equal(await notifyOnce(w.deps, event), 'already_sent');
});

test('an overdue run is notified once and left running', async () => {
  const w = setup([run()], [{ leaseUntil: T0 + 25 * 3600_000 }]);
  w.advance(24 * 3600_000);
  await runWatchCycle(w.deps);
  w.advance(MIN);
  await runWatchCycle(w.deps);
  assert.equal(w.sent.length, 1);
  assert.match(w.sent[0]!.subject, /not completed after 24 hours/);
  assert.equal(w.stored.get('20261124T070000000Z-aaaaaa')?.status, 'running');
});

/** The run log of an import or export function, in memory, with the notifications wired as the handlers wire them. */
function endingFunction(w: ReturnType<typeof setup>) {
  const errors: unknown[] = [];
  const inner: RunLog = {
    async save(r) {
      w.stored.set(r.runId, structuredClone(r));
    },
    get: async (_org, runId) => w.stored.get(runId),
    addErrors: async () => {},
    async *errors() {},
  };
  const log = withFailureNotices(
    inner,
    (event) => notifyOnce(w.deps, event),
    (err) => errors.push(err),
  );
  return { log, errors };
}

test('a run saved Interrupted or Incomplete is e-mailed at once; watch passes after it send nothing more', async () => {
  const w = setup([]);
  const { log } = endingFunction(w);
  await log.save(run({ status: 'running' }));
  assert.equal(w.sent.length, 0, 'a running run is no news');
  await log.save(run({ status: 'incomplete', endedAt: new Date(T0 + MIN).toISOString() }));
  assert.equal(w.sent.length, 1, 'sent by the function that ended the run, before any watch pass');
  assert.match(w.sent[0]!.subject, /incomplete/);
  await log.save(run({ status: 'incomplete', endedAt: new Date(T0 + MIN).toISOString() }));
  await log.save(run({ runId: '20261124T071000000Z-cccccc', status: 'completed' }));
  for (let i = 0; i < 3; i++) {
    w.advance(10 * MIN);
    await runWatchCycle(w.deps);
  }
  assert.equal(w.sent.length, 1);
});

test('a refused send at the end of a run is retried by the watch even after the run was acknowledged', async () => {
  const w = setup([]);
  const { log, errors } = endingFunction(w);
  w.failSends(1);
  const failed = run({ status: 'interrupted', problem: { code: 'header_missing', message: 'quoted =cell' } });
  await log.save(failed);
  assert.equal(errors.length, 1, 'the save stands; the failure is reported');
  assert.equal(w.stored.get(failed.runId)?.status, 'interrupted');
  assert.equal(w.sent.length, 0);
  // Acknowledged: the run leaves Need Attention (failedSince no longer lists it), the outbox entry stays.
  w.stored.set(failed.runId, { ...failed, acknowledged: { by: 'a', at: new Date(T0).toISOString() } } as Run);
  w.deps.store.failedSince = async function* () {};
  await runWatchCycle(w.deps);
  assert.equal(w.sent.length, 0, 'the first claim still holds');
  w.advance(6 * MIN);
  await runWatchCycle(w.deps);
  assert.equal(w.sent.length, 1);
  assert.match(w.sent[0]!.text, /header_missing/);
  assert.doesNotMatch(w.sent[0]!.text, /quoted/, 'the outbox keeps the code, not the message');
  w.advance(6 * MIN);
  await runWatchCycle(w.deps);
  assert.equal(w.sent.length, 1);
});

test('a missed firing is e-mailed once, however often the watch checks, and the dead letter of it adds nothing', async () => {
  const w = setup([]);
  const job = {
    org: 'acme',
    jobId: 'nightly',
    name: 'Nightly profiles',
    schedule: { kind: 'daily' as const, at: '02:00', timeZone: 'UTC' },
    since: new Date(T0 - 48 * 3600_000).toISOString(),
  };
  w.deps.missedFirings = {
    jobs: { scheduledJobs: async () => [job] },
    firings: { has: async () => false },
    // The schedules' own clock (the twin's scheduler): a day later than the watch's.
    clock: { now: () => new Date(T0 + 24 * 3600_000) },
  };
  const first = await runWatchCycle(w.deps);
  // The look-back (26 h) reaches the 25th's firing only.
  assert.deepEqual(first.missed, ['acme/nightly@2026-11-25T02:00:00.000Z']);
  for (let i = 0; i < 3; i++) {
    w.advance(5 * MIN);
    assert.deepEqual((await runWatchCycle(w.deps)).missed, []);
  }
  const again = await notifyOnce(w.deps, {
    kind: 'schedule_missed',
    org: 'acme',
    jobId: 'nightly',
    expectedAt: '2026-11-25T02:00:00.000Z',
  });
  assert.equal(again, 'already_sent');
  assert.equal(w.sent.length, 1);
  assert.match(w.sent[0]!.subject, /scheduled run of "Nightly profiles" did not start/);
});
