/** The calendar's pure rules: validation per kind, the field mapping, the push decision and failure outcomes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type CalendarConnection,
  type CaseManager,
  chooseCalendar,
  completeConnection,
  nextPacificMidnight,
  orgOfState,
  pkceChallenge,
  stateParameter,
} from '../../functions/core/calendar/connections.ts';
import { type CalendarEvent, nextEvent, validateEventInput } from '../../functions/core/calendar/events.ts';
import { bodyFingerprint, toExternalBody } from '../../functions/core/calendar/mapping.ts';
import {
  type CalendarLink,
  caseManagersOf,
  decidePush,
  failureOutcome,
  MAX_PUSH_ATTEMPTS,
  sideOf,
} from '../../functions/core/calendar/push.ts';

const NOW = new Date('2026-12-01T12:00:00Z');

function event(overrides: Partial<CalendarEvent> = {}): CalendarEvent {
  return {
    org: 'demo',
    eventId: 'ev-1',
    caseManagerId: 'cm-1',
    kind: 'appointment',
    title: 'Intake with Ana Silva',
    when: { kind: 'timed', start: '2026-12-03T10:00:00', end: '2026-12-03T11:00:00', timeZone: 'America/New_York' },
    caseRef: 'IMM-2026-0042',
    version: 1,
    createdAt: '2026-12-01T12:00:00.000Z',
    updatedAt: '2026-12-01T12:00:00.000Z',
    ...overrides,
  };
}

function connection(overrides: Partial<CalendarConnection> = {}): CalendarConnection {
  return {
    org: 'demo',
    connectionId: 'conn-1',
    caseManagerId: 'cm-1',
    provider: 'google',
    status: 'active',
    stepReminders: false,
    calendarId: 'primary',
    calendarName: 'Ana',
    createdAt: '2026-11-30T00:00:00.000Z',
    activatedAt: '2026-12-01T00:00:00.000Z',
    ...overrides,
  };
}

const link = (overrides: Partial<CalendarLink> = {}): CalendarLink => ({
  org: 'demo',
  connectionId: 'conn-1',
  eventId: 'ev-1',
  externalId: 'x-1',
  version: 'etag-1',
  pushedVersion: 1,
  ...overrides,
});

test('validation: every kind with its own rules, problems naming column, value and rule', () => {
  const ok = validateEventInput({
    caseManagerId: 'cm-1',
    kind: 'court_date',
    title: 'Master calendar hearing',
    when: { kind: 'allDay', startDate: '2026-12-14', endDate: '2026-12-15' },
    caseRef: 'IMM-1',
    court: 'Immigration Court, New York',
  });
  assert.equal(ok.ok, true);

  const noCase = validateEventInput({
    caseManagerId: 'cm-1',
    kind: 'step_reminder',
    title: 'File I-765',
    when: { kind: 'allDay', startDate: '2026-12-14', endDate: '2026-12-15' },
  });
  assert.equal(noCase.ok, false);
  assert.deepEqual(!noCase.ok && noCase.problems.map((p) => [p.column, p.code]), [['caseRef', 'required']]);

  const allDayInterview = validateEventInput({
    caseManagerId: 'cm-1',
    kind: 'interview_date',
    title: 'Biometrics',
    caseRef: 'IMM-1',
    when: { kind: 'allDay', startDate: '2026-12-14', endDate: '2026-12-15' },
  });
  assert.equal(!allDayInterview.ok && allDayInterview.problems[0]?.column, 'when.kind');

  const bad = validateEventInput({
    caseManagerId: 'cm-1',
    kind: 'meeting',
    title: '',
    when: { kind: 'timed', start: '2026-02-30T10:00', end: '2026-12-03T09:00', timeZone: 'Mars/Olympus' },
  });
  assert.equal(bad.ok, false);
  const columns = !bad.ok ? bad.problems.map((p) => p.column) : [];
  assert.deepEqual(columns, ['kind', 'title', 'when.start', 'when.timeZone']);
  assert.equal(!bad.ok && bad.problems.find((p) => p.column === 'when.timeZone')?.value, 'Mars/Olympus');

  const backwards = validateEventInput({
    caseManagerId: 'cm-1',
    kind: 'appointment',
    title: 'x',
    when: { kind: 'allDay', startDate: '2026-12-14', endDate: '2026-12-14' },
  });
  assert.equal(!backwards.ok && backwards.problems[0]?.code, 'end_before_start');
});

test('a change keeps the creation time and raises the version', () => {
  const first = nextEvent('demo', 'ev-1', event(), undefined, NOW);
  const second = nextEvent('demo', 'ev-1', { ...event(), title: 'moved' }, first, new Date('2026-12-02T00:00:00Z'));
  assert.equal(first.version, 1);
  assert.equal(second.version, 2);
  assert.equal(second.createdAt, first.createdAt);
  assert.equal(second.updatedAt, '2026-12-02T00:00:00.000Z');
});

test('a stored event has one spelling of wall times, whoever built its input (Google refuses a start without seconds)', () => {
  const stored = nextEvent(
    'demo',
    'ev-2',
    event({
      when: { kind: 'timed', start: '2027-02-01T08:00', end: '2027-02-01T08:30', timeZone: 'America/New_York' },
    }),
    undefined,
    NOW,
  );
  assert.deepEqual(stored.when, {
    kind: 'timed',
    start: '2027-02-01T08:00:00',
    end: '2027-02-01T08:30:00',
    timeZone: 'America/New_York',
  });
  const allDay = { kind: 'allDay' as const, startDate: '2027-02-01', endDate: '2027-02-02' };
  assert.deepEqual(nextEvent('demo', 'ev-3', event({ when: allDay }), undefined, NOW).when, allDay);
});

test('mapping per kind: titles, location, case reference in the description, default reminders, all-day kept', () => {
  const court = toExternalBody(
    event({
      kind: 'court_date',
      title: 'Silva',
      hearingType: 'Master calendar',
      court: 'NYC Immigration Court',
      location: 'Room 12',
      when: { kind: 'allDay', startDate: '2026-12-14', endDate: '2026-12-15' },
    }),
  );
  assert.equal(court.title, 'Court date: Silva (Master calendar)');
  assert.equal(court.location, 'NYC Immigration Court, Room 12');
  assert.deepEqual(court.when, { kind: 'allDay', startDate: '2026-12-14', endDate: '2026-12-15' });
  assert.match(court.description, /Case: IMM-2026-0042/);
  assert.match(court.description, /Hearing: Master calendar/);
  assert.equal(court.reminderMinutesBefore, 1440);
  assert.equal(court.integratorEventId, 'ev-1');

  const interview = toExternalBody(event({ kind: 'interview_date', title: 'Green card', applicant: 'Ana Silva' }));
  assert.equal(interview.title, 'Interview: Green card (Ana Silva)');
  assert.equal(interview.reminderMinutesBefore, 60);
  assert.deepEqual(interview.when, event().when);

  const step = toExternalBody(event({ kind: 'step_reminder', title: 'File I-765', reminderMinutesBefore: 30 }));
  assert.equal(step.title, 'Step reminder: File I-765');
  assert.equal(step.reminderMinutesBefore, 30);
  assert.match(step.description, /Case step reminder from Integrator/);

  const appointment = toExternalBody(event({ notes: 'Bring passport copies' }));
  assert.equal(appointment.title, 'Intake with Ana Silva');
  assert.equal(appointment.reminderMinutesBefore, 15);
  assert.ok(appointment.description.startsWith('Bring passport copies\n\nCase: IMM-2026-0042'));
  assert.equal(appointment.location, undefined);
});

test('push: create, update, delete of a synced kind on an active connection', () => {
  const ctx = { subscribed: true, connection: connection(), now: NOW };
  const created = decidePush({ after: event(), changedAt: event().updatedAt }, ctx);
  assert.equal(created.action, 'create');

  const changed = event({ title: 'Intake (moved)', version: 2 });
  const updated = decidePush(
    { before: event(), after: changed, changedAt: changed.updatedAt },
    { ...ctx, link: link() },
  );
  assert.deepEqual(updated.action === 'update' && updated.externalId, 'x-1');

  const deleted = decidePush({ before: event(), changedAt: NOW.toISOString() }, { ...ctx, link: link() });
  assert.deepEqual(deleted, { action: 'delete', externalId: 'x-1' });
});

test('push: skips, each with its reason', () => {
  const ctx = { subscribed: true, connection: connection(), now: NOW };
  const change = { after: event(), changedAt: event().updatedAt };
  assert.deepEqual(decidePush(change, { ...ctx, subscribed: false }), { action: 'skip', reason: 'not_subscribed' });
  assert.deepEqual(decidePush(change, { ...ctx, connection: undefined }), { action: 'skip', reason: 'not_connected' });
  for (const status of ['authorizing', 'choose_calendar', 'held_wrong_account', 'consent_required'] as const) {
    assert.deepEqual(decidePush(change, { ...ctx, connection: connection({ status }) }), {
      action: 'skip',
      reason: 'connection_not_active',
    });
  }
  const step = event({ kind: 'step_reminder' });
  assert.deepEqual(decidePush({ after: step, changedAt: step.updatedAt }, ctx), {
    action: 'skip',
    reason: 'step_reminders_opted_out',
  });
  assert.equal(
    decidePush({ after: step, changedAt: step.updatedAt }, { ...ctx, connection: connection({ stepReminders: true }) })
      .action,
    'create',
  );
  const early = event({ updatedAt: '2026-11-30T23:59:59.000Z' });
  assert.deepEqual(decidePush({ after: early, changedAt: early.updatedAt }, ctx), {
    action: 'skip',
    reason: 'before_activation',
  });
  // An older event changed after activation is pushed then.
  const later = event({ createdAt: '2026-11-01T00:00:00.000Z', version: 4 });
  assert.equal(decidePush({ after: later, changedAt: later.updatedAt }, ctx).action, 'create');
  // A replay of a version already pushed, and a body equal to what we last wrote.
  assert.deepEqual(decidePush(change, { ...ctx, link: link() }), { action: 'skip', reason: 'already_pushed' });
  const same = event({ version: 2 });
  assert.deepEqual(
    decidePush(
      { after: same, changedAt: same.updatedAt },
      { ...ctx, link: link({ lastWritten: bodyFingerprint(toExternalBody(event())) }) },
    ),
    { action: 'skip', reason: 'unchanged' },
  );
  assert.deepEqual(decidePush({ before: event(), changedAt: NOW.toISOString() }, ctx), {
    action: 'skip',
    reason: 'never_pushed',
  });
});

test('push: opting out of step reminders removes a pushed one with its next change', () => {
  const step = event({ kind: 'step_reminder', version: 2 });
  const decision = decidePush(
    { before: event({ kind: 'step_reminder' }), after: step, changedAt: step.updatedAt },
    { subscribed: true, connection: connection({ stepReminders: false }), link: link(), now: NOW },
  );
  assert.deepEqual(decision, { action: 'delete', externalId: 'x-1' });
});

test("push: a link of an older connection is not this one's", () => {
  const decision = decidePush(
    { after: event({ version: 3 }), changedAt: event().updatedAt },
    { subscribed: true, connection: connection({ connectionId: 'conn-2' }), link: link(), now: NOW },
  );
  assert.equal(decision.action, 'create');
});

test('push: queued while re-authentication is needed or the quota paused the user; flushed as the event is then', () => {
  const change = { after: event(), changedAt: event().updatedAt };
  assert.deepEqual(
    decidePush(change, { subscribed: true, connection: connection({ status: 'needs_reauth' }), now: NOW }),
    {
      action: 'queue',
      reason: 'needs_reauth',
    },
  );
  const paused = connection({ pausedUntil: '2026-12-02T08:00:00.000Z' });
  assert.deepEqual(decidePush(change, { subscribed: true, connection: paused, now: NOW }), {
    action: 'queue',
    reason: 'paused',
  });
  // After the pause: pushed; a queued change of a version "already pushed" goes out when flushing.
  assert.equal(
    decidePush(change, { subscribed: true, connection: paused, now: new Date('2026-12-02T09:00:00Z') }).action,
    'create',
  );
  const flushed = decidePush(
    { after: event({ title: 'changed meanwhile', version: 2 }), changedAt: NOW.toISOString() },
    {
      subscribed: true,
      connection: connection(),
      link: link({ pending: true, pushedVersion: 2 }),
      now: NOW,
      flushing: true,
    },
  );
  assert.equal(flushed.action, 'update');
});

test('a moved event: deleted from the first case manager, created for the second', () => {
  const before = event();
  const after = event({ caseManagerId: 'cm-2', version: 2 });
  assert.deepEqual(caseManagersOf(before, after), ['cm-1', 'cm-2']);
  const ctx = { subscribed: true, now: NOW };
  const first = decidePush(sideOf('cm-1', before, after, after.updatedAt), {
    ...ctx,
    connection: connection(),
    link: link(),
  });
  assert.deepEqual(first, { action: 'delete', externalId: 'x-1' });
  const second = decidePush(sideOf('cm-2', before, after, after.updatedAt), {
    ...ctx,
    connection: connection({ connectionId: 'conn-2', caseManagerId: 'cm-2' }),
  });
  assert.equal(second.action, 'create');
});

test('failure outcomes: re-authentication, pause, retry until parked, park at once', () => {
  const reset = new Date('2026-12-02T08:00:00Z');
  assert.deepEqual(failureOutcome('reauth_required', 1, reset), { kind: 'needs_reauth' });
  assert.deepEqual(failureOutcome('quota_exceeded', 1, reset), { kind: 'pause', until: reset });
  assert.deepEqual(failureOutcome('throttled', MAX_PUSH_ATTEMPTS - 1, reset), { kind: 'retry' });
  assert.deepEqual(failureOutcome('transient', MAX_PUSH_ATTEMPTS, reset), {
    kind: 'park',
    reason: 'too_many_attempts',
  });
  assert.deepEqual(failureOutcome('not_organizer', 1, reset), { kind: 'park', reason: 'not_organizer' });
  assert.deepEqual(failureOutcome('rejected', 1, reset), { kind: 'park', reason: 'rejected' });
});

test('connections: the wrong account is held; the right one picks a calendar, then is active', () => {
  const manager: CaseManager = {
    org: 'demo',
    userId: 'cm-1',
    email: 'Manager@Demo.example.com',
    externalUserIds: ['oid-7'],
    addedAt: NOW.toISOString(),
    addedBy: 'admin',
  };
  const pending = connection({ status: 'authorizing', calendarId: undefined, activatedAt: undefined });
  const held = completeConnection(pending, manager, { accountId: 'oid-1', email: 'it-admin@demo.example.com' }, NOW);
  assert.equal(held.status, 'held_wrong_account');
  assert.equal(held.heldAccount?.email, 'it-admin@demo.example.com');
  const byEmail = completeConnection(pending, manager, { accountId: 'g-1', email: 'manager@demo.example.com' }, NOW);
  assert.equal(byEmail.status, 'choose_calendar');
  const byId = completeConnection(
    pending,
    manager,
    { accountId: 'oid-7', email: 'other@contoso.com', tenantId: 't' },
    NOW,
  );
  assert.equal(byId.status, 'choose_calendar');
  assert.equal(byId.lastAuthenticatedAt, NOW.toISOString());
  const active = chooseCalendar(byId, { id: 'cal-1', name: 'Work' }, NOW);
  assert.equal(active.status, 'active');
  assert.equal(active.activatedAt, NOW.toISOString());
  // Re-authentication of an active connection keeps its calendar and activation.
  const again = completeConnection(
    { ...active, status: 'needs_reauth', reauthRequiredAt: NOW.toISOString() },
    manager,
    byId.account!,
    new Date('2026-12-05T00:00:00Z'),
  );
  assert.equal(again.status, 'active');
  assert.equal(again.activatedAt, NOW.toISOString());
  assert.equal(again.reauthRequiredAt, undefined);
});

test('PKCE S256 (RFC 7636 appendix B), OAuth state routing, the quota reset', () => {
  assert.equal(
    pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  );
  assert.equal(orgOfState(stateParameter('demo', 'abc123')), 'demo');
  assert.equal(orgOfState('nodot'), undefined);
  assert.equal(orgOfState('../x.abc'), undefined);
  assert.equal(nextPacificMidnight(new Date('2026-12-01T12:00:00Z')).toISOString(), '2026-12-02T08:00:00.000Z');
  assert.equal(nextPacificMidnight(new Date('2026-07-01T12:00:00Z')).toISOString(), '2026-07-02T07:00:00.000Z');
});
