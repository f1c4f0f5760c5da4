/**
 * Calendar sync's API on DynamoDB Local, with an in-memory provider that keeps the port's rules
 * (test/fixtures/memory-calendar-provider.ts) and the real grant vault (local key): subscription, case managers,
 * events, connecting with PKCE, the wrong account held, consent required, disconnect; tenant isolation; every
 * request and answer checked against schemas/openapi.json.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { dynamoDbGrantVault, localDataKeys } from '../../functions/adapters/calendar-grant-vault.ts';
import { dynamoDbCalendarStore } from '../../functions/adapters/dynamodb-calendar.ts';
import { createApi } from '../../functions/api/app.ts';
import { pkceChallenge } from '../../functions/core/calendar/connections.ts';
import type { CalendarStore } from '../../functions/core/calendar/store.ts';
import { localAuthenticate, localIssuer } from '../../lib/local/local-auth.ts';
import { type MemoryProvider, memoryCalendarProvider } from '../fixtures/memory-calendar-provider.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';
import { contractChecked } from '../support/openapi-contract.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Json = Record<string, any>;

let parts: LocalParts;
let db: DynamoDBDocumentClient;
let store: CalendarStore;
let app: ReturnType<typeof createApi>;
const providers = new Map<string, { google: MemoryProvider; microsoft: MemoryProvider }>();
const issuer = localIssuer('calendar-secret');
const masterKey = randomBytes(32);

before(async () => {
  parts = await startLocalParts({ s3: false });
  db = dynamoDbDocumentClient(parts.config);
  store = dynamoDbCalendarStore(db, parts.env);
  const calendarFor = (org: string) => {
    if (!providers.has(org)) {
      const vault = dynamoDbGrantVault(db, org, localDataKeys(masterKey), parts.env);
      providers.set(org, {
        google: memoryCalendarProvider('google', vault),
        microsoft: memoryCalendarProvider('microsoft', vault),
      });
    }
    return { store, providers: providers.get(org)! };
  };
  app = contractChecked(
    createApi({
      storesFor: () => ({}) as never,
      authenticate: localAuthenticate(issuer),
      calendarFor,
      calendarRedirectUri: 'http://127.0.0.1:3000/oauth/calendar/callback',
    }),
  );
});
after(() => parts.stop());

const admin = (org: string) =>
  issuer.issueFor({ org, email: `admin@${org}.example.com`, name: 'Admin', role: 'firm_admin' });
const manager = (org: string, email = `manager@${org}.example.com`) =>
  issuer.issueFor({ org, email, name: 'Manager', role: 'case_manager' });
function subjectOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub;
}

async function call(method: string, path: string, token: string | undefined, body?: unknown) {
  const res = await app.request(path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json };
}

const appointment = (caseManagerId: string, day = 3) => ({
  caseManagerId,
  kind: 'appointment',
  title: 'Intake',
  caseRef: 'IMM-1',
  when: {
    kind: 'timed',
    start: `2026-12-${String(day).padStart(2, '0')}T10:00`,
    end: `2026-12-${String(day).padStart(2, '0')}T11:00`,
    timeZone: 'America/New_York',
  },
});

test('events: add, change, list by case manager with pages, delete; another organization sees a 404', async () => {
  const created = await call('PUT', '/v1/calendar/events/ev-a', admin('demo'), appointment('cm-1'));
  assert.equal(created.status, 201);
  assert.equal(created.body.event.version, 1);
  assert.equal(created.body.event.when.start, '2026-12-03T10:00:00');
  const changed = await call('PUT', '/v1/calendar/events/ev-a', admin('demo'), {
    ...appointment('cm-1'),
    title: 'Intake (moved)',
  });
  assert.equal(changed.status, 200);
  assert.equal(changed.body.event.version, 2);
  assert.equal(changed.body.event.createdAt, created.body.event.createdAt);

  const bad = await call('PUT', '/v1/calendar/events/ev-b', admin('demo'), {
    ...appointment('cm-1'),
    when: { kind: 'allDay', startDate: '2026-12-14', endDate: '2026-12-14' },
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.problems[0].column, 'when.endDate');

  for (const day of [5, 4, 6])
    assert.equal(
      (await call('PUT', `/v1/calendar/events/ev-${day}`, admin('demo'), appointment('cm-1', day))).status,
      201,
    );
  const first = await call('GET', '/v1/calendar/events?caseManager=cm-1&limit=2', admin('demo'));
  assert.deepEqual(
    first.body.events.map((e: Json) => e.eventId),
    ['ev-a', 'ev-4'],
  );
  const second = await call(
    'GET',
    `/v1/calendar/events?caseManager=cm-1&limit=2&cursor=${first.body.next}`,
    admin('demo'),
  );
  assert.deepEqual(
    second.body.events.map((e: Json) => e.eventId),
    ['ev-5', 'ev-6'],
  );
  const foreignCursor = await call(
    'GET',
    `/v1/calendar/events?caseManager=cm-2&cursor=${first.body.next}`,
    admin('demo'),
  );
  assert.equal(foreignCursor.status, 400);

  assert.equal((await call('GET', '/v1/calendar/events/ev-a', admin('acme'))).status, 404);
  assert.equal((await call('DELETE', '/v1/calendar/events/ev-a', admin('acme'))).status, 404);
  assert.equal((await call('DELETE', '/v1/calendar/events/ev-a', admin('demo'))).status, 204);
  assert.equal((await call('GET', '/v1/calendar/events/ev-a', admin('demo'))).status, 404);
  // A case manager only reads our calendar (the case-management system writes it).
  assert.equal((await call('PUT', '/v1/calendar/events/ev-x', manager('demo'), appointment('cm-1'))).status, 403);
});

test('connecting: subscription first, PKCE S256 with the verifier kept server-side, a calendar picked, then active', async () => {
  const org = 'demo';
  const me = manager(org);
  const userId = subjectOf(me);
  assert.equal(
    (await call('PUT', `/v1/calendar/case-managers/${userId}`, admin(org), { email: `manager@${org}.example.com` }))
      .status,
    409,
  );
  assert.equal((await call('PUT', '/v1/calendar/subscription', admin(org))).status, 200);
  assert.equal((await call('PUT', `/v1/calendar/case-managers/${userId}`, me, { email: 'x@y.z' })).status, 403);
  const added = await call('PUT', `/v1/calendar/case-managers/${userId}`, admin(org), {
    email: `Manager@${org}.example.com`,
    name: 'Maria',
  });
  assert.equal(added.status, 201);

  const start = await call('POST', '/v1/calendar/me/connection', me, { provider: 'google', stepReminders: true });
  assert.equal(start.status, 201);
  const google = providers.get(org)!.google;
  const url = new URL(start.body.authorizationUrl);
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  const state = google.lastAuthorization!.state;
  assert.equal(google.lastAuthorization!.loginHint, `Manager@${org}.example.com`);

  google.codes.set('code-1', { accountId: 'g-sub-1', email: `manager@${org}.example.com` });
  const done = await call('GET', `/oauth/calendar/callback?state=${encodeURIComponent(state)}&code=code-1`, undefined);
  assert.equal(done.status, 200);
  assert.equal(done.body.connection.status, 'choose_calendar');
  assert.equal(pkceChallenge(google.exchanges.at(-1)!.codeVerifier), google.lastAuthorization!.codeChallenge);
  // A state is used once.
  assert.equal(
    (await call('GET', `/oauth/calendar/callback?state=${encodeURIComponent(state)}&code=code-1`, undefined)).status,
    400,
  );

  // The grant is in the vault, encrypted: the stored item holds no token text.
  const connectionId = done.body.connection.connectionId;
  const item = await db.send(
    new GetCommand({ TableName: parts.env.TABLE_CALENDAR_GRANTS!, Key: { grantKey: `${org}#${connectionId}` } }),
  );
  assert.ok(item.Item);
  assert.ok(!JSON.stringify(item.Item).includes('rt-code-1'));

  const calendars = await call('GET', '/v1/calendar/me/calendars', me);
  assert.equal(calendars.body.calendars.length, 2);
  assert.equal((await call('PUT', '/v1/calendar/me/connection', me, { calendarId: 'holidays' })).status, 400);
  const picked = await call('PUT', '/v1/calendar/me/connection', me, { calendarId: 'primary' });
  assert.equal(picked.body.connection.status, 'active');
  assert.equal(picked.body.connection.account.email, `manager@${org}.example.com`);
  assert.equal(picked.body.connection.calendar.name, 'Calendar');
  assert.ok(picked.body.connection.lastAuthenticatedAt);
  assert.equal((await call('POST', '/v1/calendar/me/connection', me, { provider: 'microsoft' })).status, 409);

  const listed = await call('GET', '/v1/calendar/connections', admin(org));
  assert.equal(listed.body.connections.length, 1);
  assert.equal((await call('GET', '/v1/calendar/connections', admin('acme'))).body.connections.length, 0);

  // Modify = re-authenticate; then disconnect: revoked, forgotten.
  const again = await call('POST', '/v1/calendar/me/connection/reauthenticate', me);
  assert.equal(again.status, 200);
  assert.equal((await call('DELETE', '/v1/calendar/me/connection', me)).status, 204);
  assert.ok(google.revoked.has(connectionId));
  const gone = await db.send(
    new GetCommand({ TableName: parts.env.TABLE_CALENDAR_GRANTS!, Key: { grantKey: `${org}#${connectionId}` } }),
  );
  assert.equal(gone.Item, undefined);
  assert.equal((await call('GET', '/v1/calendar/me', me)).body.connection, null);
});

test('an IT administrator who signs in instead is held and reported; nothing of theirs is kept', async () => {
  const org = 'held';
  const me = manager(org);
  await call('PUT', '/v1/calendar/subscription', admin(org));
  await call('PUT', `/v1/calendar/case-managers/${subjectOf(me)}`, admin(org), { email: `manager@${org}.example.com` });
  await call('POST', '/v1/calendar/me/connection', me, { provider: 'microsoft' });
  const microsoft = providers.get(org)!.microsoft;
  microsoft.codes.set('admin-code', { accountId: 'oid-admin', email: 'it-admin@contoso.com', tenantId: 't-1' });
  const held = await call(
    'GET',
    `/oauth/calendar/callback?state=${encodeURIComponent(microsoft.lastAuthorization!.state)}&code=admin-code`,
    undefined,
  );
  assert.equal(held.body.connection.status, 'held_wrong_account');
  assert.equal(held.body.connection.heldAccount.email, 'it-admin@contoso.com');
  assert.match(held.body.connection.message, /not as the case manager/);
  assert.ok(microsoft.revoked.has(held.body.connection.connectionId));
  const seen = await call('GET', '/v1/calendar/connections', admin(org));
  assert.equal(seen.body.connections[0].status, 'held_wrong_account');

  // Consent required (AADSTS65001) is reported as such; the admin-consent URL is there for the IT administrator.
  await call('POST', '/v1/calendar/me/connection', me, { provider: 'microsoft' });
  const consent = await call(
    'GET',
    `/oauth/calendar/callback?state=${encodeURIComponent(microsoft.lastAuthorization!.state)}&error=consent_required&error_description=AADSTS65001%3A+The+user+or+administrator+has+not+consented`,
    undefined,
  );
  assert.equal(consent.status, 409);
  assert.equal(consent.body.error.code, 'consent_required');
  assert.equal(consent.body.connection.status, 'consent_required');
  const url = await call(
    'GET',
    '/v1/calendar/admin-consent-url?provider=microsoft&tenant=contoso.onmicrosoft.com',
    admin(org),
  );
  assert.match(url.body.url, /adminconsent/);
});
