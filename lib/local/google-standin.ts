/**
 * The Google stand-in (plain HTTP: the Google clients accept any rootUrl and endpoints): Google's OAuth 2.0 web
 * server flow (https://developers.google.com/identity/protocols/oauth2/web-server) and the Calendar API v3
 * endpoints Integrator uses (https://developers.google.com/calendar/api/v3/reference).
 *
 * OAuth:
 * - GET  /o/oauth2/v2/auth: the sign-in. No password page: the users are shown as links, and `standin_user=<e-mail>`
 *   signs one in at once (tests: `signIn`). Redirects with `code`, `state` and `scope`.
 * - POST /token: `authorization_code` (PKCE S256 verified) and `refresh_token`. A refresh token only with
 *   `access_type=offline`. An id_token (sub, email, aud, iss) with `openid`. A revoked grant, an unknown, used or
 *   expired code answer 400 `{ error: 'invalid_grant', error_description }`.
 * - POST /revoke?token=…: revokes the grant of a refresh or access token; 400 invalid_token when unknown.
 * Calendar:
 * - GET    /calendar/v3/users/me/calendarList             paged: maxResults, pageToken / nextPageToken
 * - POST   /calendar/v3/calendars/{calendarId}/events     a client-chosen `id` must be base32hex (a-v, 0-9), 5 to
 *          1024 characters; an id already used in the calendar (even by a deleted event) answers 409 duplicate
 * - GET, PATCH, DELETE /calendar/v3/calendars/{calendarId}/events/{eventId}   every write gives a new etag; PATCH
 *   merges (null removes); a PATCH by a user who does not organize the event answers 403
 *   forbiddenForNonOrganizer; a second DELETE answers 410 deleted; `sendUpdates` is kept on the event.
 * - errors as Google documents them: `{ error: { code, message, errors: [{ domain, reason, message }], status } }`.
 * Scopes are enforced: calendar list needs calendar(.readonly) or calendar.calendarlist(.readonly); writes need
 * calendar, calendar.events, or calendar.events.owned (only in calendars the user owns).
 * Fault injection (standin-faults.ts) applies to /calendar/v3. All state is in memory.
 */

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type { GoogleCalendarConfig } from '../../functions/adapters/google-calendar.ts';
import {
  type GoogleAccessRole,
  type GoogleEvent,
  GoogleStore,
  type GoogleUser,
  googleEtag,
} from './google-standin-store.ts';
import { controlRoute, type StandinControlOps, standinControl } from './standin-control.ts';
import { FaultSwitch, type StandinFault, type StandinRequest } from './standin-faults.ts';
import { type Answer, base64url, readRequest, type StandinRequestContext, send, withFaults } from './standin-http.ts';

export type { GoogleAccessRole, GoogleCalendar, GoogleEvent, GoogleUser } from './google-standin-store.ts';

export interface GoogleClientApp {
  clientId: string;
  clientSecret: string;
  redirectUris?: string[];
}

export interface GoogleStandinOptions {
  port?: number;
  /** Default: one client, `integrator-local.apps.googleusercontent.com` / `local-secret`. */
  clients?: GoogleClientApp[];
  /** The most entries a calendarList page holds whatever maxResults asks (Google's default page is 100). */
  maxPageSize?: number;
  accessTokenSeconds?: number;
}

export interface GoogleStandin {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** For `calendar({ rootUrl })`: with the trailing slash. */
  readonly rootUrl: string;
  /** For the OAuth2 client's `endpoints`. */
  readonly endpoints: {
    oauth2AuthBaseUrl: string;
    oauth2TokenUrl: string;
    oauth2RevokeUrl: string;
    tokenInfoUrl: string;
  };
  readonly store: GoogleStore;
  readonly faults: FaultSwitch;
  readonly requests: StandinRequest[];
  readonly clients: GoogleClientApp[];
  addUser(input: { email: string; name?: string; sub?: string }): GoogleUser;
  signIn(authorizationUrl: string, email: string): Promise<URL>;
  /** Revokes the user's grants (as the user removing the app's access): the next refresh answers invalid_grant. */
  revokeGrants(email: string): void;
  expireAccessTokens(): void;
  /** How many grants of the user are still valid (a disconnect that revoked leaves none). */
  activeGrants(email: string): number;
  stop(): Promise<void>;
}

const SCOPE = 'https://www.googleapis.com/auth/';
const LIST_SCOPES = ['calendar', 'calendar.readonly', 'calendar.calendarlist', 'calendar.calendarlist.readonly'].map(
  (s) => SCOPE + s,
);
const WRITE_ANY = ['calendar', 'calendar.events'].map((s) => SCOPE + s);
const WRITE_OWNED = `${SCOPE}calendar.events.owned`;
const READ_EVENTS = [
  ...WRITE_ANY,
  WRITE_OWNED,
  ...['calendar.readonly', 'calendar.events.readonly', 'calendar.events.owned.readonly'].map((s) => SCOPE + s),
];

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  410: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

function googleError(
  status: number,
  reason: string,
  message: string,
  extra: { domain?: string; headers?: Record<string, string>; location?: string } = {},
): Answer {
  return {
    status,
    headers: extra.headers,
    body: {
      error: {
        code: status,
        message,
        errors: [
          {
            domain: extra.domain ?? 'global',
            reason,
            message,
            ...(extra.location ? { location: extra.location } : {}),
          },
        ],
        ...(STATUS_NAMES[status] ? { status: STATUS_NAMES[status] } : {}),
      },
    },
  };
}

const USAGE_LIMIT_REASONS = new Set([
  'rateLimitExceeded',
  'userRateLimitExceeded',
  'quotaExceeded',
  'dailyLimitExceeded',
]);

function faultAnswer(fault: Extract<StandinFault, { kind: 'status' }>): Answer {
  const reason =
    fault.reason ?? (fault.status === 429 ? 'rateLimitExceeded' : fault.status >= 500 ? 'backendError' : 'forbidden');
  const defaults: Record<string, string> = {
    rateLimitExceeded: 'Rate Limit Exceeded',
    userRateLimitExceeded: 'User Rate Limit Exceeded',
    quotaExceeded: 'Calendar usage limits exceeded.',
    backendError: 'Backend Error',
  };
  const headers =
    fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : undefined;
  return googleError(fault.status, reason, fault.message ?? defaults[reason] ?? 'Error', {
    domain: USAGE_LIMIT_REASONS.has(reason) ? 'usageLimits' : 'global',
    headers,
  });
}

function oauthError(status: number, error: string, description: string): Answer {
  return { status, body: { error, error_description: description } };
}

/** RFC 7386 merge: objects merge recursively, null removes, anything else replaces. */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (
      typeof value === 'object' &&
      !Array.isArray(value) &&
      typeof out[key] === 'object' &&
      out[key] !== null &&
      !Array.isArray(out[key])
    ) {
      out[key] = mergePatch(out[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else out[key] = value;
  }
  return out;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/** The checks Google makes on start/end: a date, or a dateTime with an offset or a timeZone; end after start. */
function checkTimes(event: GoogleEvent): Answer | undefined {
  for (const [name, t] of [
    ['start', event.start],
    ['end', event.end],
  ] as const) {
    if (!t || typeof t !== 'object') return googleError(400, 'required', `Missing ${name} time.`);
    if (t.date !== undefined && t.dateTime !== undefined)
      return googleError(400, 'invalid', `Invalid ${name} time: date and dateTime.`);
    if (t.date !== undefined) {
      if (!DATE.test(t.date)) return googleError(400, 'invalid', `Invalid ${name} date.`);
    } else if (typeof t.dateTime === 'string' && DATE_TIME.test(t.dateTime)) {
      if (!/(Z|[+-]\d{2}:\d{2})$/.test(t.dateTime) && !t.timeZone) {
        return googleError(400, 'timeRangeEmpty', 'Missing time zone definition for start time.');
      }
    } else return googleError(400, 'required', `Missing ${name} time.`);
  }
  if ((event.start.date === undefined) !== (event.end.date === undefined)) {
    return googleError(400, 'invalid', 'Start and end must both be dates or both be date-times.');
  }
  if (event.start.date && event.end.date && event.end.date <= event.start.date) {
    return googleError(400, 'timeRangeEmpty', 'The specified time range is empty.');
  }
  return undefined;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface Code {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  offline: boolean;
  codeChallenge?: string;
  sub: string;
  expiresAt: number;
  used: boolean;
  nonce?: string;
}

interface Grant {
  id: string;
  sub: string;
  clientId: string;
  scopes: string[];
  revoked: boolean;
}

export async function startGoogleStandin(options: GoogleStandinOptions = {}): Promise<GoogleStandin> {
  const store = new GoogleStore();
  const faults = new FaultSwitch();
  const requests: StandinRequest[] = [];
  const clients = options.clients ?? [
    { clientId: 'integrator-local.apps.googleusercontent.com', clientSecret: 'local-secret' },
  ];
  const maxPageSize = options.maxPageSize ?? 250;
  const accessTokenSeconds = options.accessTokenSeconds ?? 3599;
  const codes = new Map<string, Code>();
  const grants = new Map<string, Grant>();
  const refreshTokens = new Map<string, string>();
  const accessTokens = new Map<string, { grantId: string; expiresAt: number }>();
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'standin-1', use: 'sig', alg: 'RS256' };

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const clientOf = (id: string | null) => clients.find((c) => c.clientId === id);

  function pickUser(ctx: StandinRequestContext): GoogleUser | Answer {
    const chosen = ctx.url.searchParams.get('standin_user');
    if (chosen) {
      const user = store.userByEmail(chosen);
      return user ?? oauthError(400, 'invalid_request', `No account ${chosen}.`);
    }
    const links = [...store.users.values()]
      .map((u) => {
        const url = new URL(ctx.url);
        url.searchParams.set('standin_user', u.email);
        return `<li><a href="${escapeHtml(url.pathname + url.search)}">${escapeHtml(u.name)} &lt;${escapeHtml(u.email)}&gt;</a></li>`;
      })
      .join('');
    return {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<!doctype html><title>Google stand-in: choose an account</title><h1>Choose an account (Google stand-in)</h1><ul>${links}</ul>`,
    };
  }

  function authorize(ctx: StandinRequestContext): Answer {
    const q = ctx.url.searchParams;
    const client = clientOf(q.get('client_id'));
    if (!client) return oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!redirectUri || (client.redirectUris && !client.redirectUris.includes(redirectUri))) {
      return oauthError(
        400,
        'redirect_uri_mismatch',
        `The redirect URI in the request, ${redirectUri}, does not match the ones authorized for the OAuth client.`,
      );
    }
    if (q.get('response_type') !== 'code')
      return oauthError(400, 'unsupported_response_type', 'response_type must be code.');
    const challenge = q.get('code_challenge') ?? undefined;
    if (challenge && q.get('code_challenge_method') !== 'S256') {
      return oauthError(400, 'invalid_request', 'The stand-in accepts only code_challenge_method S256.');
    }
    const scopes = (q.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (!scopes.length) return oauthError(400, 'invalid_scope', 'Missing required parameter: scope');
    const picked = pickUser(ctx);
    if (!('sub' in picked)) return picked;
    const code = `4/${base64url(randomBytes(30))}`;
    codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      scopes,
      offline: q.get('access_type') === 'offline',
      codeChallenge: challenge,
      sub: picked.sub,
      expiresAt: Date.now() + 10 * 60_000,
      used: false,
      nonce: q.get('nonce') ?? undefined,
    });
    const target = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) target.searchParams.set('state', state);
    target.searchParams.set('code', code);
    target.searchParams.set('scope', scopes.join(' '));
    return { status: 302, headers: { location: target.toString() } };
  }

  async function issue(grant: Grant, withRefresh: boolean, nonce?: string): Promise<Answer> {
    const user = store.users.get(grant.sub)!;
    const accessToken = `ya29.${base64url(randomBytes(32))}`;
    accessTokens.set(accessToken, { grantId: grant.id, expiresAt: Date.now() + accessTokenSeconds * 1000 });
    const body: Record<string, unknown> = {
      access_token: accessToken,
      expires_in: accessTokenSeconds,
      scope: grant.scopes.join(' '),
      token_type: 'Bearer',
    };
    if (withRefresh) {
      const refreshToken = `1//${base64url(randomBytes(40))}`;
      refreshTokens.set(refreshToken, grant.id);
      body.refresh_token = refreshToken;
    }
    if (grant.scopes.includes('openid')) {
      const seconds = Math.floor(Date.now() / 1000);
      const withEmail = grant.scopes.includes('email') || grant.scopes.includes(`${SCOPE}userinfo.email`);
      body.id_token = await new SignJWT({
        azp: grant.clientId,
        at_hash: createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url'),
        ...(withEmail ? { email: user.email, email_verified: true } : {}),
        ...(nonce ? { nonce } : {}),
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'standin-1', typ: 'JWT' })
        .setIssuer(origin)
        .setSubject(user.sub)
        .setAudience(grant.clientId)
        .setIssuedAt(seconds)
        .setExpirationTime(seconds + 3600)
        .sign(privateKey);
    }
    return { status: 200, body, headers: { 'cache-control': 'no-store' } };
  }

  async function token(ctx: StandinRequestContext): Promise<Answer> {
    const f = ctx.form;
    const client = clientOf(f.get('client_id'));
    if (!client || f.get('client_secret') !== client.clientSecret)
      return oauthError(401, 'invalid_client', 'Unauthorized');
    if (f.get('grant_type') === 'authorization_code') {
      const code = codes.get(f.get('code') ?? '');
      if (!code || code.used || code.expiresAt < Date.now() || code.clientId !== client.clientId) {
        return oauthError(400, 'invalid_grant', 'Malformed auth code.');
      }
      if (f.get('redirect_uri') !== code.redirectUri) return oauthError(400, 'redirect_uri_mismatch', 'Bad Request');
      if (code.codeChallenge) {
        const computed = createHash('sha256')
          .update(f.get('code_verifier') ?? '')
          .digest('base64url');
        if (computed !== code.codeChallenge) return oauthError(400, 'invalid_grant', 'Invalid code verifier.');
      }
      code.used = true;
      const grant: Grant = {
        id: randomUUID(),
        sub: code.sub,
        clientId: client.clientId,
        scopes: code.scopes,
        revoked: false,
      };
      grants.set(grant.id, grant);
      return issue(grant, code.offline, code.nonce);
    }
    if (f.get('grant_type') === 'refresh_token') {
      const grant = grants.get(refreshTokens.get(f.get('refresh_token') ?? '') ?? '');
      if (!grant || grant.revoked || grant.clientId !== client.clientId) {
        return oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
      }
      return issue(grant, false);
    }
    return oauthError(400, 'unsupported_grant_type', `Invalid grant_type: ${f.get('grant_type')}`);
  }

  function revoke(ctx: StandinRequestContext): Answer {
    const t = ctx.url.searchParams.get('token') ?? ctx.form.get('token') ?? '';
    const grantId = refreshTokens.get(t) ?? accessTokens.get(t)?.grantId;
    const grant = grantId ? grants.get(grantId) : undefined;
    if (!grant || grant.revoked) return oauthError(400, 'invalid_token', 'Token expired or revoked');
    revokeGrant(grant);
    return { status: 200, body: {} };
  }

  function revokeGrant(grant: Grant): void {
    grant.revoked = true;
    for (const [token, at] of accessTokens) if (at.grantId === grant.id) accessTokens.delete(token);
  }

  function authenticate(ctx: StandinRequestContext): { user: GoogleUser; scopes: string[] } | Answer {
    const header = String(ctx.headers.authorization ?? '');
    const at = header.startsWith('Bearer ') ? accessTokens.get(header.slice(7)) : undefined;
    const grant = at ? grants.get(at.grantId) : undefined;
    if (!at || !grant || grant.revoked || at.expiresAt <= Date.now()) {
      return {
        ...googleError(
          401,
          'authError',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
          {
            location: 'Authorization',
          },
        ),
        headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      };
    }
    return { user: store.users.get(grant.sub)!, scopes: grant.scopes };
  }

  function eventJson(event: GoogleEvent, self: GoogleUser): Record<string, unknown> {
    const { lastSendUpdates: _l, ...rest } = event;
    return {
      kind: 'calendar#event',
      ...rest,
      htmlLink: `${origin}/calendar/event?eid=${encodeURIComponent(event.id)}`,
      iCalUID: `${event.id}@google.com`,
      creator: { email: event.organizer.email, ...(event.organizer.email === self.email ? { self: true } : {}) },
      organizer: { email: event.organizer.email, ...(event.organizer.email === self.email ? { self: true } : {}) },
      eventType: 'default',
    };
  }

  function calendarApi(ctx: StandinRequestContext, user: GoogleUser, scopes: string[]): Answer {
    const path = ctx.url.pathname;
    const insufficient = googleError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.');
    const calendars = store.calendars.get(user.sub)!;

    if (path === '/calendar/v3/users/me/calendarList' && ctx.method === 'GET') {
      if (!scopes.some((s) => LIST_SCOPES.includes(s))) return insufficient;
      const asked = Number(ctx.url.searchParams.get('maxResults') ?? 100) || 100;
      const size = Math.min(asked, 250, maxPageSize);
      const pageToken = ctx.url.searchParams.get('pageToken');
      const offset = pageToken ? Number(Buffer.from(pageToken, 'base64url').toString('utf8')) : 0;
      if (!Number.isInteger(offset) || offset < 0) return googleError(400, 'invalid', 'Invalid page token value.');
      const page = calendars.slice(offset, offset + size);
      const body: Record<string, unknown> = {
        kind: 'calendar#calendarList',
        etag: googleEtag(),
        items: page.map((c) => ({
          kind: 'calendar#calendarListEntry',
          etag: c.etag,
          id: c.id,
          summary: c.summary,
          timeZone: c.timeZone,
          accessRole: c.accessRole,
          selected: true,
          ...(c.primary ? { primary: true } : {}),
          defaultReminders: [],
        })),
      };
      if (offset + size < calendars.length)
        body.nextPageToken = Buffer.from(String(offset + size)).toString('base64url');
      else body.nextSyncToken = base64url(randomBytes(12));
      return { status: 200, body };
    }

    const m = /^\/calendar\/v3\/calendars\/([^/]+)\/events(?:\/([^/]+))?$/.exec(path);
    if (!m) return googleError(404, 'notFound', 'Not Found');
    const calendarId = decodeURIComponent(m[1]!);
    const calendar =
      calendars.find((c) => c.id === calendarId) ??
      (calendarId === 'primary' ? calendars.find((c) => c.primary) : undefined);
    if (!calendar) return googleError(404, 'notFound', 'Not Found');
    const events = store.eventMap(user.sub, calendar.id);
    const isWrite = ctx.method !== 'GET';
    if (isWrite) {
      const mayWrite =
        scopes.some((s) => WRITE_ANY.includes(s)) || (scopes.includes(WRITE_OWNED) && calendar.accessRole === 'owner');
      if (!mayWrite) return insufficient;
      if (calendar.accessRole !== 'owner' && calendar.accessRole !== 'writer') {
        return googleError(403, 'requiredAccessLevel', 'You need to have writer access to this calendar.');
      }
    } else if (!scopes.some((s) => READ_EVENTS.includes(s))) return insufficient;
    const sendUpdates = ctx.url.searchParams.get('sendUpdates') ?? undefined;

    if (!m[2]) {
      if (ctx.method !== 'POST') return googleError(405, 'methodNotAllowed', 'Method Not Allowed');
      const input = (ctx.json ?? {}) as Record<string, unknown>;
      let id = typeof input.id === 'string' ? input.id : undefined;
      if (id !== undefined && !/^[a-v0-9]{5,1024}$/.test(id))
        return googleError(400, 'invalid', 'Invalid resource id value.');
      if (id !== undefined && events.has(id))
        return googleError(409, 'duplicate', 'The requested identifier already exists.');
      id ??= randomBytes(13).toString('hex').replace(/[w-z]/g, 'a');
      const now = new Date().toISOString();
      const { id: _id, etag: _etag, organizer: _org, status: _status, ...fields } = input;
      const event = {
        ...mergePatch({}, fields), // nulls on insert mean "not set"

        id,
        etag: googleEtag(),
        status: 'confirmed',
        organizer: { email: user.email },
        created: now,
        updated: now,
        sequence: 0,
        lastSendUpdates: sendUpdates,
      } as GoogleEvent;
      const invalid = checkTimes(event);
      if (invalid) return invalid;
      events.set(id, event);
      return { status: 200, body: eventJson(event, user) };
    }

    const eventId = decodeURIComponent(m[2]);
    const event = events.get(eventId);
    if (!event) return googleError(404, 'notFound', 'Not Found');
    if (ctx.method === 'GET') return { status: 200, body: eventJson(event, user) };
    if (ctx.method === 'DELETE') {
      if (event.status === 'cancelled') return googleError(410, 'deleted', 'Resource has been deleted');
      event.status = 'cancelled';
      event.etag = googleEtag();
      event.updated = new Date().toISOString();
      event.lastSendUpdates = sendUpdates;
      return { status: 204 };
    }
    if (ctx.method === 'PATCH' || ctx.method === 'PUT') {
      if (event.organizer.email !== user.email) {
        return googleError(
          403,
          'forbiddenForNonOrganizer',
          'The operation can only be performed by the event organizer.',
        );
      }
      const input = (ctx.json ?? {}) as Record<string, unknown>;
      const { id: _id, etag: _etag, organizer: _org, created: _c, ...fields } = input;
      const merged = (
        ctx.method === 'PATCH'
          ? mergePatch(event, fields)
          : { ...fields, id: event.id, organizer: event.organizer, created: event.created, status: 'confirmed' }
      ) as GoogleEvent;
      const invalid = checkTimes(merged);
      if (invalid) return invalid;
      merged.etag = googleEtag();
      merged.updated = new Date().toISOString();
      merged.sequence = event.sequence + 1;
      merged.lastSendUpdates = sendUpdates;
      events.set(eventId, merged);
      return { status: 200, body: eventJson(merged, user) };
    }
    return googleError(405, 'methodNotAllowed', 'Method Not Allowed');
  }

  const controlOps: StandinControlOps = {
    faults,
    requests,
    state: () => ({
      users: [...store.users.values()].map((u) => ({
        ...u,
        calendars: (store.calendars.get(u.sub) ?? []).map((c) => ({
          ...c,
          events: [...store.eventMap(u.sub, c.id).values()],
        })),
      })),
    }),
    events: (q) =>
      store.eventsOf(q.get('email') ?? '', q.get('calendarId') ?? undefined, {
        includeCancelled: q.get('includeCancelled') === '1',
      }),
    addUser: (b) =>
      store.addUser({
        email: String(b.email),
        ...(typeof b.name === 'string' ? { name: b.name } : {}),
        ...(typeof b.sub === 'string' ? { sub: b.sub } : {}),
      }),
    addCalendar: (b) =>
      store.addCalendar(String(b.email), {
        summary: String(b.summary ?? b.name),
        ...(typeof b.accessRole === 'string' ? { accessRole: b.accessRole as GoogleAccessRole } : {}),
      }),
    revokeGrants: (email) => revokeUserGrants(email),
    expireAccessTokens: () => expireAll(),
    actions: {
      /** { email, calendarId, event: { id, ... }, organizer }: another organizer's event (PATCH answers 403). */
      'foreign-event': (b) =>
        store.addForeignEvent(
          String(b.email),
          String(b.calendarId ?? b.email),
          b.event as Partial<GoogleEvent> & { id: string },
          String(b.organizer),
        ),
      /** { email } -> { count }: the user's grants not revoked (a disconnect that revoked leaves none). */
      'active-grants': (b) => ({ count: activeGrantCount(String(b.email)) }),
    },
  };

  function revokeUserGrants(email: string): void {
    const sub = store.user(email).sub;
    for (const grant of grants.values()) if (grant.sub === sub) revokeGrant(grant);
  }

  function expireAll(): void {
    for (const at of accessTokens.values()) at.expiresAt = 0;
  }

  function activeGrantCount(email: string): number {
    const sub = store.user(email).sub;
    return [...grants.values()].filter((g) => g.sub === sub && !g.revoked).length;
  }

  server.on('request', (req, res) => {
    void (async () => {
      const ctx = await readRequest(req, origin);
      const control = controlRoute(ctx, controlOps);
      if (control) return send(res, control);
      const path = ctx.url.pathname;
      if (path === '/o/oauth2/v2/auth') return send(res, authorize(ctx));
      if (path === '/token' && ctx.method === 'POST') return send(res, await token(ctx));
      if (path === '/revoke' && ctx.method === 'POST') return send(res, revoke(ctx));
      if (path === '/oauth2/v3/certs') return send(res, { status: 200, body: { keys: [jwk] } });
      if (!path.startsWith('/calendar/v3/')) return send(res, { status: 404, body: 'Not Found' });
      const who = authenticate(ctx);
      if ('status' in who) {
        requests.push({ method: ctx.method, path, query: ctx.url.search, status: who.status });
        return send(res, who);
      }
      ctx.account = who.user.email;
      await withFaults(faults, requests, ctx, res, faultAnswer, async () => calendarApi(ctx, who.user, who.scopes));
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, googleError(500, 'backendError', String(error)));
    });
  });

  return {
    url: origin,
    rootUrl: `${origin}/`,
    endpoints: {
      oauth2AuthBaseUrl: `${origin}/o/oauth2/v2/auth`,
      oauth2TokenUrl: `${origin}/token`,
      oauth2RevokeUrl: `${origin}/revoke`,
      tokenInfoUrl: `${origin}/tokeninfo`,
    },
    store,
    faults,
    requests,
    clients,
    addUser: (input) => store.addUser(input),
    signIn: (authorizationUrl, email) => standinControl(origin).signIn(authorizationUrl, email),
    revokeGrants: revokeUserGrants,
    expireAccessTokens: expireAll,
    activeGrants: activeGrantCount,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The Google adapter's configuration for this stand-in (what the twin and the tests pass to it). */
export function googleAdapterConfig(standin: GoogleStandin, client = standin.clients[0]!): GoogleCalendarConfig {
  return {
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    endpoints: standin.endpoints,
    rootUrl: standin.rootUrl,
  };
}
