/**
 * Calendar sync on the twin, as a case manager and the case-management system drive it: the demo case manager
 * connects Google Calendar through the API (OAuth with PKCE against the Google stand-in, through the official
 * client), picks a calendar, and every add, change and delete of our events made after that reaches the stand-in's
 * store; an all-day court date stays all-day; injected 503s and 429s end with exactly one external event; after
 * "disconnect" nothing more is pushed. Then the same case manager connects Microsoft 365 (the HTTPS Graph stand-in,
 * MSAL and the Graph client) and a change reaches it. Back on Google: a back-fill sends the upcoming events made
 * before the connection once; every kind is added, changed and deleted through a 403 rateLimitExceeded.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { localSubject } from '../../lib/local/local-auth.ts';
import { standinControl } from '../../lib/local/standin-control.ts';
import { type E2eTwin, type Json, mailbox, startE2eTwin, twinApi, until } from '../support/e2e.ts';

const ORG = 'demo';
let e2e: E2eTwin;
let admin: ReturnType<typeof twinApi>;
let me: ReturnType<typeof twinApi>;
let manager: { email: string; userId: string };

before(async () => {
  e2e = await startE2eTwin('calendar', [{ id: ORG }]);
  const cm = e2e.twin.info.api.users.find((u) => u.org === ORG && u.role === 'case_manager');
  assert.ok(cm, 'the demo organization has a case manager token');
  manager = { email: cm.email, userId: localSubject(cm.email) };
  admin = twinApi(e2e.twin, ORG);
  me = twinApi(e2e.twin, ORG, cm.token);
});

after(async () => {
  await e2e?.close();
});

/** Connects the case manager to `provider` through the API and the stand-in's sign-in; returns the connection. */
async function connect(provider: 'google' | 'microsoft', standinUrl: string): Promise<Json> {
  const started = await me('POST', '/v1/calendar/me/connection', { provider });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const redirect = await standinControl(standinUrl).signIn(started.body.authorizationUrl, manager.email);
  // The browser follows the provider's redirect to our callback, which completes the connection.
  const callback = await fetch(redirect, { redirect: 'manual' });
  assert.ok(callback.status < 400, `callback answered ${callback.status}: ${await callback.text()}`);
  const calendars = await me('GET', '/v1/calendar/me/calendars');
  assert.equal(calendars.status, 200, JSON.stringify(calendars.body));
  const primary = (calendars.body.calendars as Json[]).find((c) => c.primary) ?? calendars.body.calendars[0];
  const picked = await me('PUT', '/v1/calendar/me/connection', { calendarId: primary.id });
  assert.equal(picked.status, 200, JSON.stringify(picked.body));
  assert.equal(picked.body.connection.status, 'active');
  return picked.body.connection;
}

const courtDate = (title: string) => ({
  caseManagerId: manager.userId,
  kind: 'court_date',
  title,
  caseRef: 'IMM-2026-0042',
  location: 'Immigration Court, 26 Federal Plaza',
  when: { kind: 'allDay', startDate: '2027-01-12', endDate: '2027-01-13' },
});

const appointment = (title: string) => ({
  caseManagerId: manager.userId,
  kind: 'appointment',
  title,
  caseRef: 'IMM-2026-0042',
  when: { kind: 'timed', start: '2027-01-14T10:00', end: '2027-01-14T11:00', timeZone: 'America/New_York' },
});

const googleEvents = async (): Promise<Json[]> =>
  (await standinControl(e2e.twin.info.calendar.google).events<Json[]>(manager.email)).filter(
    (e) => e.status !== 'cancelled',
  );

test('Google: connected through OAuth; add, change, delete reach the calendar; all-day stays all-day; faults make no duplicate; disconnect stops the push', async () => {
  const google = standinControl(e2e.twin.info.calendar.google);
  await connect('google', e2e.twin.info.calendar.google);
  const seededBefore = (await googleEvents()).length;
  assert.equal(seededBefore, 0, 'events made before the connection was activated are not pushed');

  assert.equal((await admin('PUT', '/v1/calendar/events/e2e-court', courtDate('E2E hearing'))).status, 201);
  const created = await until(
    'the court date in the Google stand-in',
    async () => (await googleEvents()).find((e) => e.summary?.includes('E2E hearing')),
    { twin: e2e.twin },
  );
  assert.deepEqual(created.start, { date: '2027-01-12' }, 'all-day stays all-day');
  assert.deepEqual(created.end, { date: '2027-01-13' });
  assert.match(String(created.description), /IMM-2026-0042/);

  assert.equal((await admin('PUT', '/v1/calendar/events/e2e-court', courtDate('E2E hearing (moved)'))).status, 200);
  await until(
    'the change in the Google stand-in',
    async () => (await googleEvents()).find((e) => e.summary?.includes('E2E hearing (moved)')),
    { twin: e2e.twin },
  );

  // Throttled and failing: two 503s and a 429 before the insert goes through, and one answer lost after it did.
  await google.injectFault({ fault: { kind: 'status', status: 503 }, times: 2, match: { method: 'POST' } });
  await google.injectFault({
    fault: { kind: 'status', status: 429, reason: 'rateLimitExceeded', retryAfterSeconds: 1 },
    times: 1,
    match: { method: 'POST' },
  });
  await google.injectFault({ fault: { kind: 'lose-answer' }, times: 1, match: { method: 'POST' } });
  assert.equal((await admin('PUT', '/v1/calendar/events/e2e-appt', appointment('E2E document review'))).status, 201);
  await until('the appointment in the Google stand-in', async () =>
    (await googleEvents()).find((e) => e.summary?.includes('E2E document review')),
  );
  await until('every injected fault used', async () => ((await google.pendingFaults()) === 0 ? true : undefined), {
    twin: e2e.twin,
  });
  // Settled: exactly one external event for our one appointment.
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await googleEvents()).filter((e) => e.summary?.includes('E2E document review')).length, 1);

  assert.equal((await admin('DELETE', '/v1/calendar/events/e2e-court')).status, 204);
  await until('the court date gone from the Google stand-in', async () =>
    (await googleEvents()).some((e) => e.summary?.includes('E2E hearing (moved)')) ? undefined : true,
  );

  assert.equal((await me('DELETE', '/v1/calendar/me/connection')).status, 204);
  assert.equal((await admin('PUT', '/v1/calendar/events/e2e-after', appointment('After disconnect'))).status, 201);
  await new Promise((r) => setTimeout(r, 3000));
  assert.ok(
    !(await googleEvents()).some((e) => e.summary?.includes('After disconnect')),
    'nothing pushed after disconnect',
  );
});

test('Microsoft 365: connected through MSAL against the HTTPS Graph stand-in; a change reaches it; all-day stays all-day', async () => {
  const url = e2e.twin.info.calendar.microsoft;
  assert.ok(url, 'the twin trusts its local CA (NODE_EXTRA_CA_CERTS, set by npm run test:e2e)');
  await connect('microsoft', url);
  assert.equal((await admin('PUT', '/v1/calendar/events/e2e-ms', appointment('Visa interview prep'))).status, 201);
  const msEvents = async () => standinControl(url).events<Json[]>(manager.email);
  const created = await until(
    'the appointment in the Microsoft stand-in',
    async () => (await msEvents()).find((e) => e.subject?.includes('Visa interview prep')),
    { twin: e2e.twin },
  );
  assert.equal(created.isAllDay, false);
  assert.equal((await admin('PUT', '/v1/calendar/events/e2e-ms', appointment('Visa interview prep (2)'))).status, 200);
  await until('the change in the Microsoft stand-in', async () =>
    (await msEvents()).find((e) => e.subject?.includes('Visa interview prep (2)')),
  );
  assert.equal((await msEvents()).filter((e) => String(e.subject).startsWith('Visa interview prep')).length, 1);

  // The grant is revoked at Microsoft: the next push finds out, the connection asks for re-authentication, the case
  // manager is e-mailed once, the case-management system hears of it once, and the change waits.
  const control = standinControl(url);
  await control.revokeGrants(manager.email);
  await control.expireAccessTokens();
  assert.equal((await admin('PUT', '/v1/calendar/events/e2e-ms', appointment('Visa interview prep (3)'))).status, 200);
  await until(
    'the connection needing re-authentication',
    async () => ((await me('GET', '/v1/calendar/me')).body.connection?.status === 'needs_reauth' ? true : undefined),
    { twin: e2e.twin },
  );
  assert.equal((await admin('PUT', '/v1/calendar/events/e2e-ms', appointment('Visa interview prep (4)'))).status, 200);
  const mail = mailbox(e2e.stateDir);
  await until('the re-authentication e-mail', async () =>
    mail.matching('sign in to Microsoft 365 again').length ? true : undefined,
  );
  const reauthEvents = () =>
    (existsSync(join(e2e.stateDir, 'events')) ? readdirSync(join(e2e.stateDir, 'events')) : [])
      .map((f) => JSON.parse(readFileSync(join(e2e.stateDir, 'events', f), 'utf8')) as Json)
      .filter((e) => e['detail-type'] === 'Calendar Reauthentication Required.v1');
  await until('the integration event', async () => (reauthEvents().length > 0 ? true : undefined));
  assert.ok(!(await msEvents()).some((e) => String(e.subject).includes('(4)')), 'nothing goes out meanwhile');

  // "Modify": signing in again sends the queued change once, as it is now.
  const again = await me('POST', '/v1/calendar/me/connection/reauthenticate');
  assert.equal(again.status, 200, JSON.stringify(again.body));
  const redirect = await control.signIn(again.body.authorizationUrl, manager.email);
  assert.ok((await fetch(redirect, { redirect: 'manual' })).status < 400);
  await until('the queued change in the Microsoft stand-in', async () =>
    (await msEvents()).find((e) => e.subject?.includes('Visa interview prep (4)')),
  );
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await msEvents()).filter((e) => String(e.subject).startsWith('Visa interview prep')).length, 1);
  assert.equal(mail.matching('sign in to Microsoft 365 again').length, 1, 'one e-mail for the lapse');
  assert.equal(reauthEvents().length, 1, 'one integration event for the lapse');

  // An all-day court date stays all-day on Microsoft too: isAllDay, midnight to midnight in one zone (Graph refuses
  // anything else, and so does its stand-in), whatever the case manager's own zone.
  assert.equal((await admin('PUT', '/v1/calendar/events/e2e-ms-court', courtDate('MS hearing'))).status, 201);
  const hearing = await until('the court date in the Microsoft stand-in', async () =>
    (await msEvents()).find((e) => e.subject?.includes('MS hearing')),
  );
  assert.equal(hearing.isAllDay, true);
  assert.match(String(hearing.start.dateTime), /^2027-01-12T00:00:00/);
  assert.match(String(hearing.end.dateTime), /^2027-01-13T00:00:00/);
  assert.equal(hearing.start.timeZone, hearing.end.timeZone);
});

test('back-fill: the upcoming events made before the connection go out once on request; asked again, nothing twice', async () => {
  // Off Microsoft, onto Google again: a new connection, activated now.
  assert.equal((await me('DELETE', '/v1/calendar/me/connection')).status, 204);
  await connect('google', e2e.twin.info.calendar.google);
  const connected = (await me('GET', '/v1/calendar/me')).body.connection as Json;
  const google = standinControl(e2e.twin.info.calendar.google);
  const mine = async () =>
    (await google.events<Json[]>(manager.email)).filter(
      (e) => e.status !== 'cancelled' && e.extendedProperties?.private?.integratorEventId,
    );
  const before = new Set((await mine()).map((e) => e.id));

  // What the push would send: this case manager's events of a synced kind (no step reminders: not opted in) that
  // start from yesterday to 60 days ahead, as the case-management system's API lists them.
  const events: Json[] = [];
  let cursor: string | undefined;
  do {
    const page = await admin(
      'GET',
      `/v1/calendar/events?caseManager=${encodeURIComponent(manager.userId)}&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    assert.equal(page.status, 200, JSON.stringify(page.body));
    events.push(...(page.body.events as Json[]));
    cursor = page.body.next;
  } while (cursor);
  const startOf = (e: Json) => (e.when.kind === 'timed' ? e.when.start : `${e.when.startDate}T00:00`);
  const now = Date.now();
  const from = new Date(now - 24 * 3600_000).toISOString().slice(0, 16);
  const until60 = new Date(now + 60 * 24 * 3600_000).toISOString().slice(0, 16);
  const expected = events
    .filter((e) => e.kind !== 'step_reminder' && startOf(e) >= from && startOf(e).slice(0, 16) <= until60)
    .map((e) => e.eventId as string)
    .sort();
  assert.ok(expected.length >= 3, `the demo seed gives this case manager upcoming events (${expected.length})`);
  assert.ok(
    events.some((e) => e.kind === 'step_reminder'),
    'the seed has step reminders, which this connection does not sync',
  );

  assert.equal((await me('POST', '/v1/calendar/me/connection/backfill', { days: 0 })).status, 400);
  const asked = await me('POST', '/v1/calendar/me/connection/backfill', { days: 60 });
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  assert.equal(asked.body.backfill.queued, expected.length);
  const pushedIds = async () =>
    (await mine())
      .filter((e) => !before.has(e.id))
      .map((e) => e.extendedProperties.private.integratorEventId as string)
      .sort();
  await until(
    'every back-filled event in the Google stand-in',
    async () => ((await pushedIds()).length >= expected.length ? true : undefined),
    { twin: e2e.twin, ms: 60_000 },
  );
  assert.deepEqual(await pushedIds(), expected, 'exactly the upcoming events of synced kinds, once each');

  // Asked again: everything is pushed already, nothing is queued or sent twice.
  const again = await me('POST', '/v1/calendar/me/connection/backfill');
  assert.equal(again.status, 202);
  assert.equal(again.body.backfill.queued, 0);
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(await pushedIds(), expected);
  assert.equal(connected.status, 'active');
});

test('every kind added, changed and deleted reaches Google; a 403 rateLimitExceeded on the insert still ends with one event', async () => {
  // Step reminders are synced once the case manager opts in.
  const opted = await me('PUT', '/v1/calendar/me/connection', { stepReminders: true });
  assert.equal(opted.status, 200, JSON.stringify(opted.body));
  const google = standinControl(e2e.twin.info.calendar.google);
  const byId = async (eventId: string) =>
    (await googleEvents()).filter((e) => e.extendedProperties?.private?.integratorEventId === eventId);
  const kinds: [string, Json][] = [
    ['appointment', appointment('Kind appointment')],
    ['court_date', courtDate('Kind hearing')],
    [
      'interview_date',
      {
        caseManagerId: manager.userId,
        kind: 'interview_date',
        title: 'Kind interview',
        caseRef: 'IMM-2026-0042',
        location: 'USCIS Field Office',
        when: { kind: 'timed', start: '2027-01-20T09:00:00', end: '2027-01-20T10:00:00', timeZone: 'America/Chicago' },
      },
    ],
    [
      'step_reminder',
      {
        caseManagerId: manager.userId,
        kind: 'step_reminder',
        title: 'Kind reminder: file I-129',
        caseRef: 'IMM-2026-0042',
        when: { kind: 'allDay', startDate: '2027-01-22', endDate: '2027-01-23' },
      },
    ],
  ];
  // Google answers the first insert with 403 rateLimitExceeded: retried with backoff, never doubled.
  await google.injectFault({
    fault: { kind: 'status', status: 403, reason: 'rateLimitExceeded' },
    times: 1,
    match: { method: 'POST' },
  });
  for (const [kind, body] of kinds) {
    const id = `kind-${kind}`;
    assert.equal((await admin('PUT', `/v1/calendar/events/${id}`, body)).status, 201, kind);
    const [created] = await until(
      `the ${kind} in the Google stand-in`,
      async () => {
        const found = await byId(id);
        return found.length > 0 ? found : undefined;
      },
      { twin: e2e.twin },
    );
    assert.ok(String(created!.summary).includes(body.title as string), kind);
    assert.equal(
      (await admin('PUT', `/v1/calendar/events/${id}`, { ...body, title: `${body.title} (changed)` })).status,
      200,
    );
    await until(`the ${kind} changed`, async () =>
      (await byId(id)).find((e) => String(e.summary).includes('(changed)')),
    );
    assert.equal((await byId(id)).length, 1, `one external event for the ${kind}`);
    assert.equal((await admin('DELETE', `/v1/calendar/events/${id}`)).status, 204);
    await until(`the ${kind} deleted`, async () => ((await byId(id)).length === 0 ? true : undefined));
  }
  assert.equal(await google.pendingFaults(), 0, 'the 403 was answered');
});
