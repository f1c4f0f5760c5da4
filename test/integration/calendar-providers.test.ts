/**
 * The calendar provider adapters (functions/adapters/microsoft-calendar.ts, google-calendar.ts) driven through the
 * official clients (MSAL Node + the Graph client; @googleapis/calendar + its OAuth2 class) against the provider
 * stand-ins (lib/local/microsoft-standin.ts over HTTPS, lib/local/google-standin.ts), over real connections.
 * Retries wait through an injected sleep that records the waits, so nothing here really waits for Retry-After.
 *
 * The Microsoft half needs this process to trust the local certificate authority: `npm run test:integration` starts
 * Node with NODE_EXTRA_CA_CERTS set; to run this file alone:
 *   tsx lib/local/tls.ts && NODE_EXTRA_CA_CERTS=.local/tls/ca.pem node --import tsx --test test/integration/calendar-providers.test.ts
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type GoogleCalendarConfig, googleCalendarProvider } from '../../functions/adapters/google-calendar.ts';
import {
  type MicrosoftCalendarConfig,
  microsoftCalendarProvider,
} from '../../functions/adapters/microsoft-calendar.ts';
import { INTEGRATOR_EVENT_ID_PROPERTY } from '../../functions/adapters/microsoft-calendar-mapping.ts';
import {
  type CalendarProvider,
  type ExternalEventBody,
  ProviderFailure,
  type ProviderFailureCode,
} from '../../functions/core/calendar/provider.ts';
import { type GoogleStandin, googleAdapterConfig, startGoogleStandin } from '../../lib/local/google-standin.ts';
import {
  type MicrosoftStandin,
  microsoftAdapterConfig,
  startMicrosoftStandin,
} from '../../lib/local/microsoft-standin.ts';
import { MemoryGrantVault } from '../fixtures/memory-grant-vault.ts';

const REDIRECT = 'http://127.0.0.1:8787/v1/calendar/oauth/callback';

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function failsWith(code: ProviderFailureCode) {
  return (error: unknown) => {
    assert.ok(error instanceof ProviderFailure, `expected a ProviderFailure, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

const timed: ExternalEventBody = {
  title: 'Appointment: Ana Lima',
  when: { kind: 'timed', start: '2027-03-02T09:30:00', end: '2027-03-02T10:15:00', timeZone: 'America/New_York' },
  location: 'Office 3',
  description: 'Case IM-2027-0042',
  reminderMinutesBefore: 30,
  integratorEventId: 'evt-1',
};

const allDay: ExternalEventBody = {
  title: 'Court date: Ana Lima',
  when: { kind: 'allDay', startDate: '2027-04-12', endDate: '2027-04-13' },
  description: 'Case IM-2027-0042',
  integratorEventId: 'evt-2',
};

/** Connects `email` through the adapter's authorizer as a user's browser would. */
async function connect(
  provider: CalendarProvider,
  standin: { signIn(url: string, email: string): Promise<URL> },
  connectionId: string,
  email: string,
) {
  const { verifier, challenge } = pkce();
  const url = await provider.authorizer.authorizationUrl({
    state: `state-${connectionId}`,
    codeChallenge: challenge,
    redirectUri: REDIRECT,
    loginHint: email,
  });
  const back = await standin.signIn(url, email);
  assert.equal(back.searchParams.get('state'), `state-${connectionId}`);
  return provider.authorizer.completeAuthorization({
    connectionId,
    code: back.searchParams.get('code')!,
    codeVerifier: verifier,
    redirectUri: `${back.origin}${back.pathname}`,
  });
}

describe('Microsoft Graph adapter against the Microsoft stand-in', () => {
  let ms: MicrosoftStandin;
  let vault: MemoryGrantVault;
  let waits: number[];
  let provider: CalendarProvider;
  let config: MicrosoftCalendarConfig;

  before(async () => {
    ms = await startMicrosoftStandin({ maxPageSize: 2 });
    vault = new MemoryGrantVault();
    waits = [];
    config = microsoftAdapterConfig(ms);
    provider = microsoftCalendarProvider(config, { vault, retry: { sleep: async (ms) => void waits.push(ms) } });
  });
  after(() => ms.stop());

  test('connect: authorization URL with PKCE, code, token, and the account that signed in', async () => {
    const ana = ms.addUser({ email: 'ana@firm.example', name: 'Ana Lima' });
    const url = new URL(
      await provider.authorizer.authorizationUrl({
        state: 's',
        codeChallenge: pkce().challenge,
        redirectUri: REDIRECT,
      }),
    );
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.deepEqual(url.searchParams.get('scope')!.split(' ').sort(), [
      'Calendars.ReadWrite',
      'offline_access',
      'openid',
      'profile',
    ]);
    const account = await connect(provider, ms, 'ms-ana', ana.email);
    assert.deepEqual(account, { accountId: ana.oid, email: ana.email, tenantId: ana.tenantId });
    assert.ok(vault.grants.get('ms-ana'), 'the MSAL cache is in the vault');
    assert.doesNotMatch(JSON.stringify(account), /ms-rt\.|ms-at\./, 'no token crosses the port');
  });

  test('a wrong PKCE verifier is refused', async () => {
    ms.addUser({ email: 'pkce@firm.example' });
    const { challenge } = pkce();
    const url = await provider.authorizer.authorizationUrl({
      state: 's',
      codeChallenge: challenge,
      redirectUri: REDIRECT,
    });
    const back = await ms.signIn(url, 'pkce@firm.example');
    await assert.rejects(
      provider.authorizer.completeAuthorization({
        connectionId: 'ms-pkce',
        code: back.searchParams.get('code')!,
        codeVerifier: pkce().verifier,
        redirectUri: REDIRECT,
      }),
      failsWith('reauth_required'),
    );
    assert.equal(vault.grants.has('ms-pkce'), false);
  });

  test('calendars are listed across pages of @odata.nextLink', async () => {
    for (const name of ['Work', 'Court', 'Interviews', 'Reminders']) ms.store.addCalendar('ana@firm.example', { name });
    const calendars = await provider.client('ms-ana').listCalendars();
    assert.deepEqual(
      calendars.map((c) => c.name),
      ['Calendar', 'Work', 'Court', 'Interviews', 'Reminders'],
    );
    assert.deepEqual(
      calendars.map((c) => c.primary),
      [true, false, false, false, false],
    );
    assert.equal(ms.requests.filter((r) => r.path === '/v1.0/me/calendars' && r.status === 200).length, 3);
  });

  test('create, update and delete an event; all-day stays all-day', async () => {
    const client = provider.client('ms-ana');
    const calendarId = ms.store.calendarsOf('ana@firm.example')[1]!.id;
    const made = await client.createEvent(calendarId, timed, 'evt-1:1');
    const [stored] = ms.store.events('ana@firm.example', calendarId);
    assert.ok(stored);
    assert.equal(stored.id, made.externalId);
    assert.equal(stored.changeKey, made.version);
    assert.equal(stored.subject, timed.title);
    assert.deepEqual(stored.start, { dateTime: '2027-03-02T09:30:00', timeZone: 'America/New_York' });
    assert.equal(stored.isAllDay, false);
    assert.equal(stored.location?.displayName, 'Office 3');
    assert.equal(stored.reminderMinutesBeforeStart, 30);
    assert.equal(stored.transactionId, 'evt-1:1');
    assert.deepEqual(stored.singleValueExtendedProperties, [{ id: INTEGRATOR_EVENT_ID_PROPERTY, value: 'evt-1' }]);

    const changed = await client.updateEvent(calendarId, made.externalId, { ...allDay, integratorEventId: 'evt-1' });
    assert.notEqual(changed.version, made.version, 'a write gives a new changeKey');
    const after = ms.store.events('ana@firm.example', calendarId)[0]!;
    assert.equal(after.isAllDay, true);
    assert.deepEqual([after.start.dateTime, after.end.dateTime], ['2027-04-12T00:00:00', '2027-04-13T00:00:00']);
    assert.equal(after.location?.displayName, '', 'a removed location is cleared');
    assert.equal(after.isReminderOn, false);

    assert.equal(await client.deleteEvent(calendarId, made.externalId), 'deleted');
    assert.equal(ms.store.events('ana@firm.example', calendarId).length, 0);
    assert.equal(await client.deleteEvent(calendarId, made.externalId), 'already_gone');
  });

  test('a create whose answer was lost, then 429s and 503s, ends with exactly one event; Retry-After is honoured', async () => {
    const client = provider.client('ms-ana');
    const calendarId = ms.store.calendarsOf('ana@firm.example')[2]!.id;
    waits.length = 0;
    ms.faults.inject({ kind: 'lose-answer' }, { match: { method: 'POST' } });
    ms.faults.inject({ kind: 'status', status: 429, retryAfterSeconds: 7 }, { match: { method: 'POST' } });
    ms.faults.inject({ kind: 'status', status: 503 }, { match: { method: 'POST' } });
    ms.faults.inject({ kind: 'status', status: 504, retryAfterSeconds: 2 }, { match: { method: 'POST' } });
    const made = await client.createEvent(calendarId, allDay, 'evt-2:1');
    assert.equal(ms.faults.pending(), 0);
    const events = ms.store.events('ana@firm.example', calendarId);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.id, made.externalId);
    assert.equal(waits[1], 7000, 'the 429 was retried after its Retry-After');
    assert.equal(waits[3], 2000);
  });

  test('a PATCH is retried on 429 too; throttling that outlasts the retries is surfaced with when to retry', async () => {
    const client = provider.client('ms-ana');
    const calendarId = ms.store.calendarsOf('ana@firm.example')[2]!.id;
    const [event] = ms.store.events('ana@firm.example', calendarId);
    ms.faults.inject({ kind: 'status', status: 429, retryAfterSeconds: 1 }, { times: 2, match: { method: 'PATCH' } });
    await client.updateEvent(calendarId, event!.id, { ...allDay, title: 'Court date moved' });
    assert.equal(ms.store.events('ana@firm.example', calendarId)[0]!.subject, 'Court date moved');

    ms.faults.inject({ kind: 'status', status: 503, retryAfterSeconds: 3 }, { times: 5, match: { method: 'PATCH' } });
    await assert.rejects(client.updateEvent(calendarId, event!.id, allDay), (e: unknown) => {
      failsWith('throttled')(e);
      assert.equal((e as ProviderFailure).details.retryAfterMs, 3000);
      return true;
    });
    assert.equal(ms.faults.pending(), 0, 'five attempts in all');
  });

  test('at most 4 requests in flight per mailbox', async () => {
    const client = provider.client('ms-ana');
    const calendarId = ms.store.calendarsOf('ana@firm.example')[3]!.id;
    ms.faults.inject({ kind: 'delay', ms: 40 }, { times: 12 });
    const before = ms.requests.length;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client.createEvent(calendarId, { ...timed, integratorEventId: `c-${i}` }, `c-${i}`),
      ),
    );
    assert.equal(ms.store.events('ana@firm.example', calendarId).length, 12);
    const max = ms.maxInFlight('ana@firm.example');
    assert.ok(max <= 4, `${max} requests were in flight at once`);
    assert.ok(max >= 2, 'the requests did run in parallel');
    assert.equal(ms.requests.slice(before).filter((r) => r.status === 429).length, 0, 'never over MailboxConcurrency');
  });

  test('an event the user does not organize is surfaced as not_organizer, not deleted', async () => {
    const client = provider.client('ms-ana');
    const calendarId = ms.store.calendarsOf('ana@firm.example')[3]!.id;
    const event = ms.store.events('ana@firm.example', calendarId)[0]!;
    event.isOrganizer = false;
    await assert.rejects(client.updateEvent(calendarId, event.id, timed), failsWith('not_organizer'));
    assert.ok(ms.store.events('ana@firm.example', calendarId).some((e) => e.id === event.id));
  });

  test('an expired access token is refreshed through the vault; a revoked grant is reauth_required', async () => {
    const client = provider.client('ms-ana');
    const writes = vault.writes;
    ms.expireAccessTokens();
    assert.equal((await client.listCalendars()).length, 5);
    assert.ok(vault.writes > writes, 'the refreshed cache went back to the vault');

    ms.revokeGrants('ana@firm.example');
    await assert.rejects(provider.client('ms-ana').listCalendars(), (e: unknown) => {
      failsWith('reauth_required')(e);
      assert.equal((e as ProviderFailure).details.providerCode, 'AADSTS700082');
      return true;
    });
  });

  test('a tenant without admin consent is consent_required; the admin-consent URL fixes it', async () => {
    const tenantId = '6f1f3f0e-0000-4000-8000-000000000001';
    const bob = ms.addUser({ email: 'bob@other.example', tenantId });
    const admin = ms.addUser({ email: 'it@other.example', tenantId });
    ms.store.requireAdminConsent(tenantId);
    await assert.rejects(connect(provider, ms, 'ms-bob', bob.email), (e: unknown) => {
      failsWith('consent_required')(e);
      assert.equal((e as ProviderFailure).details.providerCode, 'AADSTS65001');
      return true;
    });

    const consentUrl = provider.authorizer.adminConsentUrl!({ redirectUri: REDIRECT, state: 'admin-1' });
    const url = new URL(consentUrl);
    assert.equal(url.pathname, '/organizations/v2.0/adminconsent');
    assert.equal(url.searchParams.get('scope'), 'https://graph.microsoft.com/Calendars.ReadWrite');
    const back = await ms.signIn(consentUrl, admin.email);
    assert.equal(back.searchParams.get('admin_consent'), 'True');
    assert.equal(back.searchParams.get('tenant'), tenantId);
    assert.equal(back.searchParams.get('state'), 'admin-1');

    const account = await connect(provider, ms, 'ms-bob', bob.email);
    assert.equal(account.tenantId, tenantId);
  });

  test('disconnect forgets the grant; the client then needs re-authentication', async () => {
    await provider.authorizer.disconnect('ms-bob');
    assert.equal(vault.grants.has('ms-bob'), false);
    await assert.rejects(provider.client('ms-bob').listCalendars(), failsWith('reauth_required'));
  });
});

describe('Google Calendar adapter against the Google stand-in', () => {
  let google: GoogleStandin;
  let vault: MemoryGrantVault;
  let waits: number[];
  let provider: CalendarProvider;
  let config: GoogleCalendarConfig;
  const email = 'carla@gmail.example';

  before(async () => {
    google = await startGoogleStandin({ maxPageSize: 2 });
    vault = new MemoryGrantVault();
    waits = [];
    config = googleAdapterConfig(google);
    provider = googleCalendarProvider(config, { vault, retry: { sleep: async (ms) => void waits.push(ms) } });
  });
  after(() => google.stop());

  test('connect: offline access with PKCE and the fewest scopes; the account that signed in', async () => {
    const carla = google.addUser({ email, name: 'Carla Souza' });
    const url = new URL(
      await provider.authorizer.authorizationUrl({
        state: 's',
        codeChallenge: pkce().challenge,
        redirectUri: REDIRECT,
      }),
    );
    assert.equal(url.searchParams.get('access_type'), 'offline');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.deepEqual(url.searchParams.get('scope')!.split(' '), [
      'openid',
      'email',
      'https://www.googleapis.com/auth/calendar.calendarlist.readonly',
      'https://www.googleapis.com/auth/calendar.events.owned',
    ]);
    const account = await connect(provider, google, 'g-carla', email);
    assert.deepEqual(account, { accountId: carla.sub, email });
    assert.ok(JSON.parse(vault.grants.get('g-carla')!).refreshToken);
  });

  test('calendars are listed across pages of nextPageToken; only owned ones are editable', async () => {
    google.store.addCalendar(email, { summary: 'Work' });
    google.store.addCalendar(email, { summary: 'Court' });
    google.store.addCalendar(email, { summary: 'Team (shared)', accessRole: 'writer' });
    const calendars = await provider.client('g-carla').listCalendars();
    assert.deepEqual(
      calendars.map((c) => [c.name, c.primary, c.canEdit]),
      [
        [email, true, true],
        ['Work', false, true],
        ['Court', false, true],
        ['Team (shared)', false, false],
      ],
    );
    assert.equal(google.requests.filter((r) => r.path === '/calendar/v3/users/me/calendarList').length, 2);
  });

  test('create, update and delete an event without invitations; all-day stays all-day', async () => {
    const client = provider.client('g-carla');
    const made = await client.createEvent(email, timed, 'evt-1:1');
    assert.match(made.externalId, /^[a-v0-9]{52}$/);
    const [stored] = google.store.eventsOf(email);
    assert.ok(stored);
    assert.equal(stored.id, made.externalId);
    assert.equal(stored.etag, made.version);
    assert.equal(stored.summary, timed.title);
    assert.deepEqual(stored.start, { dateTime: '2027-03-02T09:30:00', timeZone: 'America/New_York' });
    assert.deepEqual(stored.reminders, { useDefault: false, overrides: [{ method: 'popup', minutes: 30 }] });
    assert.deepEqual(stored.extendedProperties, { private: { integratorEventId: 'evt-1' } });
    assert.equal(stored.lastSendUpdates, 'none');

    const changed = await client.updateEvent(email, made.externalId, { ...allDay, integratorEventId: 'evt-1' });
    assert.notEqual(changed.version, made.version);
    const after = google.store.eventsOf(email)[0]!;
    assert.deepEqual(after.start, { date: '2027-04-12' }, 'all-day: a date, no time, no zone');
    assert.deepEqual(after.end, { date: '2027-04-13' });
    assert.equal(after.location, undefined, 'a removed location is cleared');
    assert.equal(after.lastSendUpdates, 'none');

    assert.equal(await client.deleteEvent(email, made.externalId), 'deleted');
    assert.equal(google.store.eventsOf(email).length, 0);
    assert.equal(google.store.eventsOf(email, undefined, { includeCancelled: true })[0]?.lastSendUpdates, 'none');
    assert.equal(await client.deleteEvent(email, made.externalId), 'already_gone');
  });

  test('a create whose answer was lost, then 429, 403 rateLimitExceeded, 403 userRateLimitExceeded and 503, ends with exactly one event', async () => {
    const client = provider.client('g-carla');
    const calendarId = google.store.calendarsOf(email)[1]!.id;
    waits.length = 0;
    const post = { match: { method: 'POST' } };
    google.faults.inject({ kind: 'lose-answer' }, post);
    google.faults.inject({ kind: 'status', status: 429, retryAfterSeconds: 4 }, post);
    google.faults.inject({ kind: 'status', status: 403, reason: 'rateLimitExceeded' }, post);
    google.faults.inject({ kind: 'status', status: 403, reason: 'userRateLimitExceeded' }, post);
    const made = await client.createEvent(calendarId, allDay, 'evt-2:1');
    google.faults.inject({ kind: 'status', status: 503 }, post);
    const again = await client.createEvent(calendarId, allDay, 'evt-2:1');
    assert.equal(google.faults.pending(), 0);
    const events = google.store.eventsOf(email, calendarId);
    assert.equal(events.length, 1, 'one event, whatever failed');
    assert.deepEqual(
      again,
      { externalId: made.externalId, version: events[0]!.etag },
      'the 409 for our own id was read back',
    );
    assert.equal(waits[1], 4000, 'the 429 was retried after its Retry-After');
  });

  test('a PATCH is retried on 403 rateLimitExceeded; quotaExceeded is surfaced at once', async () => {
    const client = provider.client('g-carla');
    const calendarId = google.store.calendarsOf(email)[1]!.id;
    const [event] = google.store.eventsOf(email, calendarId);
    google.faults.inject(
      { kind: 'status', status: 403, reason: 'rateLimitExceeded' },
      { times: 2, match: { method: 'PATCH' } },
    );
    await client.updateEvent(calendarId, event!.id, { ...allDay, title: 'Court date moved' });
    assert.equal(google.store.eventsOf(email, calendarId)[0]!.summary, 'Court date moved');

    const before = google.requests.length;
    google.faults.inject({ kind: 'status', status: 403, reason: 'quotaExceeded' }, { match: { method: 'PATCH' } });
    await assert.rejects(client.updateEvent(calendarId, event!.id, allDay), failsWith('quota_exceeded'));
    assert.equal(google.requests.length - before, 1, 'not retried');
  });

  test('an event the user does not organize is surfaced as not_organizer, not deleted', async () => {
    const client = provider.client('g-carla');
    const foreign = google.store.addForeignEvent(
      email,
      email,
      { id: 'invitation00001', summary: 'Their meeting' },
      'someone@else.example',
    );
    await assert.rejects(client.updateEvent(email, foreign.id, timed), failsWith('not_organizer'));
    assert.equal(google.store.eventsOf(email).find((e) => e.id === foreign.id)?.status, 'confirmed');
  });

  test('an expired access token is refreshed; a revoked grant is reauth_required', async () => {
    google.expireAccessTokens();
    assert.equal((await provider.client('g-carla').listCalendars()).length, 4);
    google.revokeGrants(email);
    await assert.rejects(provider.client('g-carla').listCalendars(), failsWith('reauth_required'));
  });

  test('disconnect revokes the grant at Google and forgets it, even when already revoked', async () => {
    await connect(provider, google, 'g-carla-2', email);
    assert.equal(google.activeGrants(email), 1);
    await provider.authorizer.disconnect('g-carla-2');
    assert.equal(google.activeGrants(email), 0);
    assert.equal(vault.grants.has('g-carla-2'), false);
    await provider.authorizer.disconnect('g-carla'); // revoked before: no error
    assert.equal(vault.grants.has('g-carla'), false);
  });
});
