/**
 * The push on DynamoDB Local: our writes to the CalendarEvents table travel its real stream, read by the twin's
 * poller (lib/local/calendar-stream.ts) into the push handler, which calls an in-memory provider that keeps the
 * port's rules (test/fixtures/memory-calendar-provider.ts). Exactly one external event whatever fails; a revoked
 * grant noticed once and the queue sent after re-authentication; quota pauses; refusals parked; restarts resume.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbCalendarStore, dynamoDbLapsedPauses } from '../../functions/adapters/dynamodb-calendar.ts';
import { dynamoDbOutbox } from '../../functions/adapters/dynamodb-outbox.ts';
import { emlMailer } from '../../functions/adapters/mailer.ts';
import type { CalendarConnection } from '../../functions/core/calendar/connections.ts';
import { type CalendarEventInput, nextEvent } from '../../functions/core/calendar/events.ts';
import { notifyReauthOnce } from '../../functions/core/calendar/notices.ts';
import { resumeLapsedPauses } from '../../functions/core/calendar/push-run.ts';
import type { CalendarStore } from '../../functions/core/calendar/store.ts';
import { handlerFor } from '../../functions/handlers/calendar-push.ts';
import { calendarStreamPoller, type StreamPoller } from '../../lib/local/calendar-stream.ts';
import { localDynamoDbClient } from '../../lib/local/dynamodb-local.ts';
import { type MemoryProvider, memoryCalendarProvider, memoryGrantVault } from '../fixtures/memory-calendar-provider.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
let store: CalendarStore;
let google: MemoryProvider;
let poller: StreamPoller;
let mailDir: string;
let checkpointFile: string;
const vault = memoryGrantVault();
const org = 'demo';
let clockNow = new Date('2026-12-01T12:00:00Z');
const clock = { now: () => clockNow };
/** The push's operator metrics (CalendarPushParked, ...), as the handler would publish them. */
const metrics = new Map<string, number>();

function newPoller() {
  const db = dynamoDbDocumentClient(parts.config);
  const outbox = dynamoDbOutbox(db, parts.env);
  const handler = handlerFor(() => ({
    store,
    providers: { google },
    clock,
    count: (metric, value) => metrics.set(metric, (metrics.get(metric) ?? 0) + value),
    notifyReauth: async (connection, manager) => {
      await notifyReauthOnce(
        { outbox, mailer: emlMailer(mailDir), from: 'integrator@localhost', messageDomain: 'test', clock },
        connection,
        manager,
      );
    },
  }));
  return calendarStreamPoller({
    dynamodb: localDynamoDbClient(parts.config.dynamodbEndpoint!),
    endpoint: parts.config.dynamodbEndpoint!,
    region: 'us-east-1',
    tableName: parts.env.TABLE_CALENDAR_EVENTS!,
    checkpointFile,
    handler,
  });
}

before(async () => {
  parts = await startLocalParts({ s3: false });
  Object.assign(process.env, parts.env);
  store = dynamoDbCalendarStore(dynamoDbDocumentClient(parts.config), parts.env);
  const dir = mkdtempSync(join(tmpdir(), 'calendar-push-'));
  mailDir = join(dir, 'mail');
  checkpointFile = join(dir, 'calendar-stream.json');
  google = memoryCalendarProvider('google', vault);
  poller = newPoller();
  await store.putSubscription({ org, status: 'active', subscribedAt: '2026-11-01T00:00:00Z', subscribedBy: 'admin' });
});
after(() => parts.stop());

let n = 0;
/** A case manager with an active Google connection (activated now), their grant in the vault. */
async function connectedManager(overrides: Partial<CalendarConnection> = {}): Promise<CalendarConnection> {
  const id = `cm-${++n}`;
  const connection: CalendarConnection = {
    org,
    connectionId: `conn-${n}`,
    caseManagerId: id,
    provider: 'google',
    status: 'active',
    stepReminders: false,
    calendarId: 'primary',
    calendarName: 'Calendar',
    account: { accountId: `g-${n}`, email: `${id}@demo.example.com` },
    createdAt: clockNow.toISOString(),
    lastAuthenticatedAt: clockNow.toISOString(),
    activatedAt: clockNow.toISOString(),
    ...overrides,
  };
  await store.putManager({
    org,
    userId: id,
    email: `${id}@demo.example.com`,
    connectionId: connection.connectionId,
    addedAt: '',
    addedBy: '',
  });
  await store.putConnection(connection);
  await vault.write(connection.connectionId, 'grant');
  return connection;
}

async function write(eventId: string, input: CalendarEventInput) {
  const previous = await store.getEvent(org, eventId);
  assert.ok(await store.putEvent(nextEvent(org, eventId, input, previous, clockNow), previous?.version ?? 0));
}

function externalOf(eventId: string) {
  return [...google.events.values()].filter((e) => e.body.integratorEventId === eventId);
}

beforeEach(() => {
  clockNow = new Date(clockNow.getTime() + 60_000);
});

test('add, change and delete of each kind reach the external calendar; all-day stays all-day; step reminders only opted in', async () => {
  const c = await connectedManager();
  clockNow = new Date(clockNow.getTime() + 1000);
  const cm = c.caseManagerId;
  await write('p-appt', {
    caseManagerId: cm,
    kind: 'appointment',
    title: 'Intake',
    caseRef: 'IMM-1',
    when: { kind: 'timed', start: '2026-12-03T10:00:00', end: '2026-12-03T11:00:00', timeZone: 'America/New_York' },
  });
  await write('p-court', {
    caseManagerId: cm,
    kind: 'court_date',
    title: 'Silva',
    caseRef: 'IMM-1',
    court: 'NYC',
    when: { kind: 'allDay', startDate: '2026-12-14', endDate: '2026-12-15' },
  });
  await write('p-int', {
    caseManagerId: cm,
    kind: 'interview_date',
    title: 'Green card',
    caseRef: 'IMM-1',
    when: { kind: 'timed', start: '2026-12-04T09:00:00', end: '2026-12-04T10:00:00', timeZone: 'America/Chicago' },
  });
  await write('p-step', {
    caseManagerId: cm,
    kind: 'step_reminder',
    title: 'File I-765',
    caseRef: 'IMM-1',
    when: { kind: 'allDay', startDate: '2026-12-05', endDate: '2026-12-06' },
  });
  await poller.drain();
  assert.equal(externalOf('p-appt').length, 1);
  assert.deepEqual(externalOf('p-court')[0]?.body.when, {
    kind: 'allDay',
    startDate: '2026-12-14',
    endDate: '2026-12-15',
  });
  assert.equal(externalOf('p-court')[0]?.body.title, 'Court date: Silva');
  assert.equal(externalOf('p-int')[0]?.body.when.kind, 'timed');
  assert.equal(externalOf('p-step').length, 0, 'step reminders are opt-in');
  const link = await store.getLink(org, c.connectionId, 'p-appt');
  assert.equal(link?.externalId, externalOf('p-appt')[0]?.externalId);
  assert.equal(link?.version, externalOf('p-appt')[0]?.version);

  await write('p-appt', {
    caseManagerId: cm,
    kind: 'appointment',
    title: 'Intake (moved)',
    caseRef: 'IMM-1',
    when: { kind: 'timed', start: '2026-12-03T14:00:00', end: '2026-12-03T15:00:00', timeZone: 'America/New_York' },
  });
  await store.deleteEvent(org, 'p-int');
  await poller.drain();
  assert.equal(externalOf('p-appt')[0]?.body.title, 'Intake (moved)');
  assert.equal(externalOf('p-appt').length, 1);
  assert.equal(externalOf('p-int').length, 0);
  assert.equal(await store.getLink(org, c.connectionId, 'p-int'), undefined);

  // A restarted poller resumes after its checkpoint: nothing is replayed.
  const calls = google.calls.length;
  await poller.stop();
  poller = newPoller();
  await poller.drain();
  assert.equal(google.calls.length, calls);
});

test('a lost answer and throttling end with exactly one external event; refusals are parked and listed', async () => {
  const c = await connectedManager();
  clockNow = new Date(clockNow.getTime() + 1000);
  google.loseNextCreateAnswer();
  await write('lost', {
    caseManagerId: c.caseManagerId,
    kind: 'appointment',
    title: 'Lost answer',
    when: { kind: 'allDay', startDate: '2026-12-08', endDate: '2026-12-09' },
  });
  await poller.drain();
  google.failNext('throttled', 2);
  await poller.drain();
  await poller.drain();
  await poller.drain();
  assert.equal(externalOf('lost').length, 1);
  assert.equal((await store.getLink(org, c.connectionId, 'lost'))?.attempts, 0);

  const parkedBefore = metrics.get('CalendarPushParked') ?? 0;
  google.failNext('rejected');
  await write('refused', {
    caseManagerId: c.caseManagerId,
    kind: 'appointment',
    title: 'Refused',
    when: { kind: 'allDay', startDate: '2026-12-08', endDate: '2026-12-09' },
  });
  await poller.drain();
  const parked = await store.listParked(org, { limit: 10 });
  assert.deepEqual(
    parked.items.map((l) => [l.eventId, l.parked?.reason]),
    [['refused', 'rejected']],
  );
  assert.equal(externalOf('refused').length, 0);
  assert.equal(metrics.get('CalendarPushParked'), parkedBefore + 1, 'one parked push, counted once for the alarm');
});

test('a revoked grant: marked, noticed once, changes queued and sent once after re-authentication', async () => {
  const c = await connectedManager();
  clockNow = new Date(clockNow.getTime() + 1000);
  google.revoke(c.connectionId);
  for (const id of ['r-1', 'r-2']) {
    await write(id, {
      caseManagerId: c.caseManagerId,
      kind: 'appointment',
      title: id,
      when: { kind: 'allDay', startDate: '2026-12-10', endDate: '2026-12-11' },
    });
  }
  await write('r-1', {
    caseManagerId: c.caseManagerId,
    kind: 'appointment',
    title: 'r-1 changed',
    when: { kind: 'allDay', startDate: '2026-12-10', endDate: '2026-12-11' },
  });
  await poller.drain();
  const marked = await store.getConnection(org, c.connectionId);
  assert.equal(marked?.status, 'needs_reauth');
  const mails = readdirSync(mailDir).filter((f) => f.endsWith('.eml'));
  assert.equal(mails.length, 1, 'one notice');
  assert.equal((await store.pendingLinks(org, c.connectionId)).length, 2);
  assert.equal(externalOf('r-1').length, 0);

  // Re-authenticated (the callback does this: active again, a flush requested).
  google.revoked.delete(c.connectionId);
  clockNow = new Date(clockNow.getTime() + 1000);
  await store.putConnection({ ...marked!, status: 'active', lastAuthenticatedAt: clockNow.toISOString() });
  await store.requestFlush(org, c.connectionId, clockNow);
  const creates = google.calls.filter((x) => x.method === 'create' && x.connectionId === c.connectionId).length;
  await poller.drain();
  assert.equal(externalOf('r-1').length, 1);
  assert.equal(externalOf('r-1')[0]?.body.title, 'r-1 changed');
  assert.equal(externalOf('r-2').length, 1);
  assert.equal(
    google.calls.filter((x) => x.method === 'create' && x.connectionId === c.connectionId).length - creates,
    2,
  );
  assert.equal((await store.pendingLinks(org, c.connectionId)).length, 0);
  assert.equal(readdirSync(mailDir).filter((f) => f.endsWith('.eml')).length, 1, 'still one notice');
});

test('quota exceeded pauses the user; disconnected and before-activation changes are not pushed', async () => {
  const c = await connectedManager();
  clockNow = new Date(clockNow.getTime() + 1000);
  google.failNext('quota_exceeded');
  await write('q-1', {
    caseManagerId: c.caseManagerId,
    kind: 'appointment',
    title: 'q',
    when: { kind: 'allDay', startDate: '2026-12-10', endDate: '2026-12-11' },
  });
  await poller.drain();
  const paused = await store.getConnection(org, c.connectionId);
  assert.ok(paused?.pausedUntil);
  assert.equal((await store.pendingLinks(org, c.connectionId)).length, 1);

  const d = await connectedManager();
  await store.putConnection({ ...d, status: 'disconnected' });
  clockNow = new Date(clockNow.getTime() + 1000);
  await write('d-1', {
    caseManagerId: d.caseManagerId,
    kind: 'appointment',
    title: 'd',
    when: { kind: 'allDay', startDate: '2026-12-10', endDate: '2026-12-11' },
  });
  const early = await connectedManager({ activatedAt: new Date(clockNow.getTime() + 3_600_000).toISOString() });
  await write('e-1', {
    caseManagerId: early.caseManagerId,
    kind: 'appointment',
    title: 'e',
    when: { kind: 'allDay', startDate: '2026-12-10', endDate: '2026-12-11' },
  });
  await poller.drain();
  assert.equal(externalOf('d-1').length, 0);
  assert.equal(externalOf('e-1').length, 0);
});

test('a lapsed quota pause is lifted by the resume check and the queued change goes out once, with no new change', async () => {
  const c = await connectedManager();
  clockNow = new Date(clockNow.getTime() + 1000);
  google.failNext('quota_exceeded');
  await write('resume-1', {
    caseManagerId: c.caseManagerId,
    kind: 'interview_date',
    title: 'Consular interview',
    when: { kind: 'timed', start: '2026-12-15T09:00:00', end: '2026-12-15T10:00:00', timeZone: 'Europe/Berlin' },
  });
  await poller.drain();
  const paused = await store.getConnection(org, c.connectionId);
  assert.ok(paused?.pausedUntil, 'paused by quotaExceeded');
  const resume = { store, pauses: dynamoDbLapsedPauses(dynamoDbDocumentClient(parts.config), parts.env), clock };

  // Before the quota resets the check leaves the pause alone.
  await resumeLapsedPauses(resume);
  await poller.drain();
  assert.equal((await store.getConnection(org, c.connectionId))?.pausedUntil, paused.pausedUntil);
  assert.equal(externalOf('resume-1').length, 0);

  // After it: lifted, the queued change flushed through the stream, exactly once; a second check finds nothing.
  clockNow = new Date(Date.parse(paused.pausedUntil) + 60_000);
  assert.ok((await resumeLapsedPauses(resume)) >= 1);
  await poller.drain();
  assert.equal((await store.getConnection(org, c.connectionId))?.pausedUntil, undefined);
  assert.equal(externalOf('resume-1').length, 1);
  assert.equal(externalOf('resume-1')[0]?.body.title, 'Interview: Consular interview');
  assert.equal(await resumeLapsedPauses(resume), 0);
  await poller.drain();
  assert.equal(externalOf('resume-1').length, 1);
  assert.equal((await store.pendingLinks(org, c.connectionId)).length, 0);
});
