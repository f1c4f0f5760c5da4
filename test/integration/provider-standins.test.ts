/**
 * The provider stand-ins on their own, over raw HTTP: the shapes the providers document (OAuth error bodies, Graph
 * `{ error: { code, message } }`, Google `error.errors[].reason`), the rules the adapters rely on (PKCE, Graph
 * transactionId, Google base32hex ids, 409 duplicate, 410 after delete) and the control API that e2e tests use from
 * another process (lib/local/standin-control.ts). Needs NODE_EXTRA_CA_CERTS like calendar-providers.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type GoogleStandin, startGoogleStandin } from '../../lib/local/google-standin.ts';
import { type MicrosoftStandin, startMicrosoftStandin } from '../../lib/local/microsoft-standin.ts';
import { standinControl } from '../../lib/local/standin-control.ts';

const REDIRECT = 'http://127.0.0.1:8787/cb';

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function form(url: string, fields: Record<string, string>) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function json(url: string, init: RequestInit & { token?: string } = {}) {
  const res = await fetch(url, {
    ...init,
    headers: {
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: raw provider JSON, asserted field by field below
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as any };
}

describe('Microsoft stand-in', () => {
  let ms: MicrosoftStandin;
  let token: string;
  const tokenUrl = () => `${ms.url}/organizations/oauth2/v2.0/token`;
  const client = { client_id: 'integrator-local', client_secret: 'local-secret' };

  async function code(email: string, challenge: string) {
    const url = new URL(`${ms.url}/organizations/oauth2/v2.0/authorize`);
    for (const [k, v] of Object.entries({
      client_id: 'integrator-local',
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope: 'openid profile offline_access Calendars.ReadWrite',
      state: 'xyz',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(k, v);
    return (await ms.signIn(url.toString(), email)).searchParams.get('code')!;
  }

  before(async () => {
    ms = await startMicrosoftStandin();
  });
  after(() => ms.stop());

  test('the control API adds users and calendars; the token endpoint verifies PKCE and answers as documented', async () => {
    const control = standinControl(ms.url);
    await control.addUser({ email: 'dee@firm.example', tenantId: 'a1b2c3d4-0000-4000-8000-00000000000a' });
    await control.addCalendar({ email: 'dee@firm.example', name: 'Work' });
    const { verifier, challenge } = pkce();

    const wrong = await form(tokenUrl(), {
      ...client,
      grant_type: 'authorization_code',
      code: await code('dee@firm.example', challenge),
      redirect_uri: REDIRECT,
      code_verifier: pkce().verifier,
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');
    assert.deepEqual(wrong.body.error_codes, [50148]);
    assert.match(String(wrong.body.error_description), /^AADSTS50148:/);

    const ok = await form(tokenUrl(), {
      ...client,
      grant_type: 'authorization_code',
      code: await code('dee@firm.example', challenge),
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.token_type, 'Bearer');
    assert.equal(typeof ok.body.refresh_token, 'string');
    const claims = JSON.parse(Buffer.from(String(ok.body.id_token).split('.')[1]!, 'base64url').toString());
    assert.equal(claims.preferred_username, 'dee@firm.example');
    assert.equal(claims.tid, 'a1b2c3d4-0000-4000-8000-00000000000a');
    token = String(ok.body.access_token);

    await control.revokeGrants('dee@firm.example');
    const revoked = await form(tokenUrl(), {
      ...client,
      grant_type: 'refresh_token',
      refresh_token: String(ok.body.refresh_token),
    });
    assert.equal(revoked.body.error, 'invalid_grant');
    assert.deepEqual(revoked.body.error_codes, [700082]);
    const again = await form(tokenUrl(), {
      ...client,
      grant_type: 'authorization_code',
      code: await code('dee@firm.example', challenge),
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    token = String(again.body.access_token);
  });

  test('Graph errors: 401 without a token, 404 ErrorItemNotFound, injected 429 with Retry-After', async () => {
    const none = await json(`${ms.url}/v1.0/me/calendars`);
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'InvalidAuthenticationToken');
    const missing = await json(`${ms.url}/v1.0/me/events/AAMkNope`, { token });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'ErrorItemNotFound');

    const control = standinControl(ms.url);
    await control.injectFault({
      fault: { kind: 'status', status: 429, retryAfterSeconds: 9 },
      match: { method: 'GET', path: '^/v1\\.0/me/calendars$' },
    });
    assert.equal(await control.pendingFaults(), 1);
    const throttled = await json(`${ms.url}/v1.0/me/calendars`, { token });
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get('retry-after'), '9');
    assert.equal(throttled.body.error.code, 'TooManyRequests');
    assert.equal((await json(`${ms.url}/v1.0/me/calendars`, { token })).status, 200);
    const log = await control.requests();
    assert.deepEqual(
      log.slice(-2).map((r) => [r.status, r.account]),
      [
        [429, 'dee@firm.example'],
        [200, 'dee@firm.example'],
      ],
    );
  });

  test('a POST with a transactionId already used answers the same event; changeKey changes on PATCH', async () => {
    const calendars = (await json(`${ms.url}/v1.0/me/calendars`, { token })).body.value;
    const event = {
      subject: 'Interview',
      start: { dateTime: '2027-05-03T14:00:00', timeZone: 'Europe/Lisbon' },
      end: { dateTime: '2027-05-03T15:00:00', timeZone: 'Europe/Lisbon' },
      transactionId: 'tx-1',
    };
    const url = `${ms.url}/v1.0/me/calendars/${encodeURIComponent(calendars[1].id)}/events`;
    const first = await json(url, { method: 'POST', token, body: JSON.stringify(event) });
    const second = await json(url, { method: 'POST', token, body: JSON.stringify(event) });
    assert.equal(first.status, 201);
    assert.equal(second.body.id, first.body.id);
    assert.equal((await standinControl(ms.url).events<unknown[]>('dee@firm.example')).length, 1);
    const patched = await json(`${ms.url}/v1.0/me/events/${encodeURIComponent(first.body.id)}`, {
      method: 'PATCH',
      token,
      body: JSON.stringify({ subject: 'Interview (moved)' }),
    });
    assert.notEqual(patched.body.changeKey, first.body.changeKey);
    assert.equal(patched.body['@odata.etag'], `W/"${patched.body.changeKey}"`);
    const badAllDay = await json(url, {
      method: 'POST',
      token,
      body: JSON.stringify({ ...event, transactionId: 'tx-2', isAllDay: true }),
    });
    assert.equal(badAllDay.status, 400, 'an all-day event must run midnight to midnight');
  });
});

describe('Google stand-in', () => {
  let google: GoogleStandin;
  let token: string;
  const client = { client_id: 'integrator-local.apps.googleusercontent.com', client_secret: 'local-secret' };

  before(async () => {
    google = await startGoogleStandin({ maxPageSize: 1 });
  });
  after(() => google.stop());

  test('OAuth: code with PKCE and offline access; invalid_grant after revoke', async () => {
    const control = standinControl(google.url);
    await control.addUser({ email: 'eva@gmail.example' });
    await control.addCalendar({ email: 'eva@gmail.example', summary: 'Work' });
    const { verifier, challenge } = pkce();
    const url = new URL(google.endpoints.oauth2AuthBaseUrl);
    for (const [k, v] of Object.entries({
      client_id: client.client_id,
      response_type: 'code',
      redirect_uri: REDIRECT,
      scope:
        'openid email https://www.googleapis.com/auth/calendar.calendarlist.readonly https://www.googleapis.com/auth/calendar.events.owned',
      access_type: 'offline',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }))
      url.searchParams.set(k, v);
    const code = (await control.signIn(url.toString(), 'eva@gmail.example')).searchParams.get('code')!;
    const ok = await form(google.endpoints.oauth2TokenUrl, {
      ...client,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    assert.equal(ok.status, 200);
    token = String(ok.body.access_token);
    const reused = await form(google.endpoints.oauth2TokenUrl, {
      ...client,
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
    });
    assert.deepEqual(reused, {
      status: 400,
      body: { error: 'invalid_grant', error_description: 'Malformed auth code.' },
    });
    const revoke = await fetch(`${google.endpoints.oauth2RevokeUrl}?token=${ok.body.refresh_token}`, {
      method: 'POST',
    });
    assert.equal(revoke.status, 200);
    const refresh = await form(google.endpoints.oauth2TokenUrl, {
      ...client,
      grant_type: 'refresh_token',
      refresh_token: String(ok.body.refresh_token),
    });
    assert.equal(refresh.body.error, 'invalid_grant');
    const denied = await json(`${google.rootUrl}calendar/v3/users/me/calendarList`, { token });
    assert.equal(denied.status, 401, 'revoking the grant revoked its access token');
    assert.equal(denied.body.error.errors[0].reason, 'authError');

    const fresh = (await control.signIn(url.toString(), 'eva@gmail.example')).searchParams.get('code')!;
    token = String(
      (
        await form(google.endpoints.oauth2TokenUrl, {
          ...client,
          grant_type: 'authorization_code',
          code: fresh,
          redirect_uri: REDIRECT,
          code_verifier: verifier,
        })
      ).body.access_token,
    );
  });

  test('calendarList pages with nextPageToken', async () => {
    const first = await json(`${google.rootUrl}calendar/v3/users/me/calendarList`, { token });
    assert.equal(first.body.items.length, 1);
    assert.ok(first.body.nextPageToken);
    const second = await json(
      `${google.rootUrl}calendar/v3/users/me/calendarList?pageToken=${first.body.nextPageToken}`,
      { token },
    );
    assert.equal(second.body.items[0].summary, 'Work');
    assert.equal(second.body.nextPageToken, undefined);
    assert.ok(second.body.nextSyncToken);
  });

  test('client-chosen ids: base32hex only, 409 duplicate, 410 after delete; usage-limit faults in Google error shape', async () => {
    const events = `${google.rootUrl}calendar/v3/calendars/${encodeURIComponent('eva@gmail.example')}/events`;
    const body = { summary: 'Court date', start: { date: '2027-06-01' }, end: { date: '2027-06-02' } };
    const invalid = await json(events, {
      method: 'POST',
      token,
      body: JSON.stringify({ ...body, id: 'NOT-base32hex' }),
    });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.error.errors[0].reason, 'invalid');
    const made = await json(`${events}?sendUpdates=none`, {
      method: 'POST',
      token,
      body: JSON.stringify({ ...body, id: 'abcdv01234' }),
    });
    assert.equal(made.status, 200);
    assert.match(made.body.etag, /^"\d+"$/);
    const duplicate = await json(events, {
      method: 'POST',
      token,
      body: JSON.stringify({ ...body, id: 'abcdv01234' }),
    });
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.error.errors[0].reason, 'duplicate');
    assert.equal(
      (await fetch(`${events}/abcdv01234`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status,
      204,
    );
    const gone = await json(`${events}/abcdv01234`, { method: 'DELETE', token });
    assert.equal(gone.status, 410);
    const reused = await json(events, { method: 'POST', token, body: JSON.stringify({ ...body, id: 'abcdv01234' }) });
    assert.equal(reused.status, 409, 'a deleted event keeps its id');

    const control = standinControl(google.url);
    await control.injectFault({ fault: { kind: 'status', status: 403, reason: 'userRateLimitExceeded' } });
    const limited = await json(events, { method: 'POST', token, body: JSON.stringify(body) });
    assert.equal(limited.status, 403);
    assert.deepEqual(limited.body.error.errors[0], {
      domain: 'usageLimits',
      reason: 'userRateLimitExceeded',
      message: 'User Rate Limit Exceeded',
    });
    const stored = await control.events<{ id: string; lastSendUpdates?: string }[]>('eva@gmail.example');
    assert.deepEqual(
      stored.map((e) => e.id),
      [],
      'the refused insert stored nothing; the deleted one is cancelled',
    );
    const all = await control.call<{ status: string }[]>('GET', 'events?email=eva%40gmail.example&includeCancelled=1');
    assert.deepEqual(
      all.map((e) => e.status),
      ['cancelled'],
    );
  });

  test('the control API refuses what it does not know, with the reason', async () => {
    await assert.rejects(
      standinControl(google.url).call('POST', 'faults', { fault: { kind: 'explode' } }),
      /fault.kind must be/,
    );
    await assert.rejects(
      standinControl(google.url).addCalendar({ email: 'nobody@gmail.example', summary: 'x' }),
      /no user nobody@gmail.example/,
    );
  });
});
