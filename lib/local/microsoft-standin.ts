/**
 * The Microsoft stand-in: the identity platform's OAuth endpoints (microsoft-standin-oauth.ts) and the Graph
 * calendar endpoints Integrator uses, over HTTPS (lib/local/tls.ts: the Graph client and MSAL require it), for the
 * local twin and the tests. Graph, as documented (https://learn.microsoft.com/graph/api/resources/event):
 * - GET    /v1.0/me/calendars                      paged: `$top`, `@odata.nextLink` carrying `$skiptoken`
 * - POST   /v1.0/me/events, /v1.0/me/calendars/{id}/events   201; a `transactionId` already used in the mailbox
 *          answers the event created with it (no second event), as Graph de-duplicates client retries
 * - GET, PATCH, DELETE /v1.0/me/events/{id} (also under /v1.0/me/calendars/{cid}/events/{id})
 *   every write gives a new `changeKey` (also in `@odata.etag`); PATCH of an event the user does not organize
 *   answers 403 ErrorAccessDenied (the stand-in's rule: a mirrored event is never one we do not organize)
 * - errors as Graph documents them: `{ error: { code, message, innerError } }`; 401 InvalidAuthenticationToken;
 *   403 ErrorAccessDenied without Calendars.ReadWrite (Calendars.Read for reads); 404 ErrorItemNotFound
 * - more than `concurrencyPerMailbox` (4) requests in flight for one mailbox answer 429 ApplicationThrottled
 *   ("MailboxConcurrency"), as Outlook does; the highest concurrency seen per mailbox is kept for tests.
 * Fault injection (standin-faults.ts) applies to the /v1.0 endpoints. All state is in memory.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { MicrosoftCalendarConfig } from '../../functions/adapters/microsoft-calendar.ts';
import { MicrosoftOAuth, type MsClientApp } from './microsoft-standin-oauth.ts';
import {
  changeKey,
  graphId,
  MicrosoftStore,
  type MsEvent,
  type MsUser,
  type MicrosoftStore as Store,
} from './microsoft-standin-store.ts';
import { controlRoute, type StandinControlOps, standinControl } from './standin-control.ts';
import { FaultSwitch, type StandinFault, type StandinRequest } from './standin-faults.ts';
import { type Answer, readRequest, type StandinRequestContext, send, withFaults } from './standin-http.ts';
import {
  DEFAULT_TLS_DIR,
  ensureLocalCa,
  issueServerCertificate,
  processTrustsLocalCa,
  untrustedCaMessage,
} from './tls.ts';

export type { MsClientApp } from './microsoft-standin-oauth.ts';
export type { MsCalendar, MsEvent, MsUser } from './microsoft-standin-store.ts';

export interface MicrosoftStandinOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** The applications registered in the stand-in's directory. Default: one, `integrator-local` / `local-secret`. */
  clients?: MsClientApp[];
  /** The most items one page of /me/calendars holds whatever `$top` asks (servers may serve fewer: clients follow
   * `@odata.nextLink`). Unlimited by default; `$top` defaults to 10 as in Graph. */
  maxPageSize?: number;
  accessTokenSeconds?: number;
  concurrencyPerMailbox?: number;
  /** Where the local certificate authority lives (lib/local/tls.ts). */
  tlsDir?: string;
  /** Start even if this process does not trust the authority (a process that only serves, never calls). */
  allowUntrusted?: boolean;
}

export interface MicrosoftStandin {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  /** For the Graph client: `baseUrl` and `customHosts`. */
  readonly graphBaseUrl: string;
  readonly customHosts: Set<string>;
  readonly store: Store;
  readonly faults: FaultSwitch;
  /** Every Graph request in order (OAuth requests are not listed). */
  readonly requests: StandinRequest[];
  readonly clients: MsClientApp[];
  /** MSAL's `authority` for a tenant (`organizations` by default) and its `authorityMetadata` (a JSON string). */
  authority(tenant?: string): string;
  authorityMetadata(tenant?: string): string;
  /** MSAL's `knownAuthorities`. */
  readonly knownAuthorities: string[];
  addUser(input: { email: string; name?: string; tenantId?: string; oid?: string }): MsUser;
  /** Follows an authorization (or admin-consent) URL as `email` signing in; returns the redirect with its query. */
  signIn(authorizationUrl: string, email: string): Promise<URL>;
  /** Revokes the user's grants: the next refresh answers invalid_grant AADSTS700082. */
  revokeGrants(email: string): void;
  expireAccessTokens(): void;
  /** The highest number of Graph requests seen in flight at once for the mailbox. */
  maxInFlight(email: string): number;
  stop(): Promise<void>;
}

function graphError(status: number, code: string, message: string, headers?: Record<string, string>): Answer {
  return {
    status,
    headers,
    body: {
      error: {
        code,
        message,
        innerError: { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() },
      },
    },
  };
}

const DEFAULT_FAULT_CODES: Record<number, [string, string]> = {
  429: ['TooManyRequests', 'Please retry again later.'],
  500: ['generalException', 'An unexpected error occurred.'],
  503: ['ServiceUnavailable', 'The service is temporarily unavailable. Please retry later.'],
  504: ['GatewayTimeout', 'The gateway did not receive a timely response.'],
};

function faultAnswer(fault: Extract<StandinFault, { kind: 'status' }>): Answer {
  const [code, message] = DEFAULT_FAULT_CODES[fault.status] ?? ['BadRequest', 'The request failed.'];
  const headers =
    fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : undefined;
  return graphError(fault.status, fault.reason ?? code, fault.message ?? message, headers);
}

const WALL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?$/;

function isMidnight(dateTime: string): boolean {
  return /T00:00(:00(\.0+)?)?$/.test(dateTime);
}

interface EventInput {
  subject?: unknown;
  body?: unknown;
  start?: unknown;
  end?: unknown;
  isAllDay?: unknown;
  location?: unknown;
  isReminderOn?: unknown;
  reminderMinutesBeforeStart?: unknown;
  transactionId?: unknown;
  responseRequested?: unknown;
  singleValueExtendedProperties?: unknown;
}

function asDateTimeZone(value: unknown): { dateTime: string; timeZone: string } | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as { dateTime?: unknown; timeZone?: unknown };
  if (typeof v.dateTime !== 'string' || !WALL_TIME.test(v.dateTime)) return undefined;
  return { dateTime: v.dateTime, timeZone: typeof v.timeZone === 'string' && v.timeZone ? v.timeZone : 'UTC' };
}

/** Applies the input over `base` (create: an empty event) and checks what Graph checks. */
function applyEventInput(base: MsEvent, input: EventInput): MsEvent | Answer {
  const next: MsEvent = { ...base };
  if (input.subject !== undefined) next.subject = String(input.subject);
  if (input.body !== undefined) {
    const b = input.body as { contentType?: unknown; content?: unknown };
    next.body = { contentType: String(b?.contentType ?? 'text'), content: String(b?.content ?? '') };
  }
  if (input.start !== undefined) {
    const start = asDateTimeZone(input.start);
    if (!start) return graphError(400, 'ErrorInvalidRequest', 'The start property is invalid.');
    next.start = start;
  }
  if (input.end !== undefined) {
    const end = asDateTimeZone(input.end);
    if (!end) return graphError(400, 'ErrorInvalidRequest', 'The end property is invalid.');
    next.end = end;
  }
  if (input.isAllDay !== undefined) next.isAllDay = input.isAllDay === true;
  if (input.location !== undefined) {
    const l = input.location as { displayName?: unknown } | null;
    next.location = l && typeof l.displayName === 'string' ? { displayName: l.displayName } : undefined;
  }
  if (input.isReminderOn !== undefined) next.isReminderOn = input.isReminderOn === true;
  if (input.reminderMinutesBeforeStart !== undefined)
    next.reminderMinutesBeforeStart = Number(input.reminderMinutesBeforeStart);
  if (input.responseRequested !== undefined) next.responseRequested = input.responseRequested === true;
  if (Array.isArray(input.singleValueExtendedProperties)) {
    const props = new Map((next.singleValueExtendedProperties ?? []).map((p) => [p.id, p.value]));
    for (const p of input.singleValueExtendedProperties as { id?: unknown; value?: unknown }[]) {
      if (typeof p?.id === 'string') props.set(p.id, String(p.value ?? ''));
    }
    next.singleValueExtendedProperties = [...props].map(([id, value]) => ({ id, value }));
  }
  if (!next.start?.dateTime || !next.end?.dateTime) {
    return graphError(400, 'ErrorInvalidRequest', 'Your request must include start and end.');
  }
  if (next.isAllDay) {
    if (
      !isMidnight(next.start.dateTime) ||
      !isMidnight(next.end.dateTime) ||
      next.start.dateTime === next.end.dateTime ||
      // The event resource: an all-day event's start and end are at midnight and in the same time zone.
      next.start.timeZone !== next.end.timeZone
    ) {
      return graphError(
        400,
        'ErrorPropertyValidationFailure',
        'An all-day event must start and end at midnight in the same time zone, and last at least one day.',
      );
    }
  }
  if (next.end.dateTime < next.start.dateTime && next.end.timeZone === next.start.timeZone) {
    return graphError(400, 'ErrorInvalidRequest', 'The end of the event is before its start.');
  }
  return next;
}

export async function startMicrosoftStandin(options: MicrosoftStandinOptions = {}): Promise<MicrosoftStandin> {
  const tlsDir = options.tlsDir ?? DEFAULT_TLS_DIR;
  const ca = await ensureLocalCa(tlsDir);
  if (!options.allowUntrusted && !processTrustsLocalCa(ca)) throw new Error(untrustedCaMessage(ca));
  const certificate = await issueServerCertificate(tlsDir);
  const store = new MicrosoftStore();
  const faults = new FaultSwitch();
  const requests: StandinRequest[] = [];
  const clients = options.clients ?? [{ clientId: 'integrator-local', clientSecret: 'local-secret' }];
  const maxPageSize = options.maxPageSize ?? Number.POSITIVE_INFINITY;
  const concurrency = options.concurrencyPerMailbox ?? 4;
  const inFlight = new Map<string, number>();
  const maxSeen = new Map<string, number>();

  const server: Server = createServer({ key: certificate.key, cert: certificate.cert });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const oauth = new MicrosoftOAuth(store, origin, clients, options.accessTokenSeconds ?? 3600, Date.now);
  await oauth.init();

  function eventJson(user: MsUser, event: MsEvent, expand: boolean): Record<string, unknown> {
    const { calendarId: _calendarId, singleValueExtendedProperties, ...rest } = event;
    return {
      '@odata.context': `${origin}/v1.0/$metadata#users('${user.oid}')/events/$entity`,
      '@odata.etag': `W/"${event.changeKey}"`,
      ...rest,
      bodyPreview: event.body.content.slice(0, 255),
      type: 'singleInstance',
      showAs: 'busy',
      attendees: [],
      organizer: { emailAddress: { name: user.name, address: user.email } },
      webLink: `${origin}/owa/?itemid=${encodeURIComponent(event.id)}`,
      ...(expand && singleValueExtendedProperties ? { singleValueExtendedProperties } : {}),
    };
  }

  function authenticate(ctx: StandinRequestContext): { user: MsUser; scopes: string[] } | Answer {
    const header = String(ctx.headers.authorization ?? '');
    if (!header.startsWith('Bearer ')) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const token = oauth.accessTokens.get(header.slice(7));
    if (!token) return graphError(401, 'InvalidAuthenticationToken', 'IDX14100: JWT is not well formed.');
    if (token.expiresAt <= Date.now()) {
      return graphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.');
    }
    const user = store.users.get(token.oid);
    if (!user) return graphError(401, 'InvalidAuthenticationToken', 'The user of the token does not exist.');
    return { user, scopes: token.scopes };
  }

  function graph(ctx: StandinRequestContext, user: MsUser, scopes: string[]): Answer {
    const path = ctx.url.pathname;
    const canRead = scopes.some((s) => /(^|\/)Calendars\.(Read|ReadWrite)$/.test(s));
    const canWrite = scopes.some((s) => /(^|\/)Calendars\.ReadWrite$/.test(s));
    const denied = graphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
    const calendars = store.calendars.get(user.oid)!;
    const events = store.eventsByOid.get(user.oid)!;
    const expand = (ctx.url.searchParams.get('$expand') ?? '').includes('singleValueExtendedProperties');

    if (path === '/v1.0/me/calendars' && ctx.method === 'GET') {
      if (!canRead) return denied;
      const top = Math.min(Number(ctx.url.searchParams.get('$top') ?? 10) || 10, maxPageSize);
      const skipToken = ctx.url.searchParams.get('$skiptoken');
      const offset = skipToken ? Number(Buffer.from(skipToken, 'base64url').toString('utf8')) || 0 : 0;
      const page = calendars.slice(offset, offset + top);
      const body: Record<string, unknown> = {
        '@odata.context': `${origin}/v1.0/$metadata#users('${user.oid}')/calendars`,
        value: page.map((c) => ({
          id: c.id,
          name: c.name,
          color: 'auto',
          hexColor: '',
          isDefaultCalendar: c.isDefaultCalendar,
          changeKey: c.changeKey,
          canShare: c.canEdit,
          canViewPrivateItems: true,
          canEdit: c.canEdit,
          isRemovable: !c.isDefaultCalendar,
          owner: { name: user.name, address: user.email },
        })),
      };
      if (offset + top < calendars.length) {
        const token = Buffer.from(String(offset + top)).toString('base64url');
        body['@odata.nextLink'] = `${origin}/v1.0/me/calendars?$top=${top}&$skiptoken=${token}`;
      }
      return { status: 200, body };
    }

    const create = /^\/v1\.0\/me(?:\/calendars\/([^/]+))?\/events$/.exec(path);
    if (create && ctx.method === 'POST') {
      if (!canWrite) return denied;
      const calendarId = create[1] ? decodeURIComponent(create[1]) : calendars.find((c) => c.isDefaultCalendar)!.id;
      const calendar = calendars.find((c) => c.id === calendarId);
      if (!calendar) return graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      if (!calendar.canEdit) return denied;
      const input = (ctx.json ?? {}) as EventInput;
      const transactionId = typeof input.transactionId === 'string' ? input.transactionId : undefined;
      const existing = transactionId ? events.find((e) => e.transactionId === transactionId) : undefined;
      if (existing) return { status: 201, body: eventJson(user, existing, expand) };
      const now = new Date().toISOString();
      const blank: MsEvent = {
        id: graphId(),
        calendarId,
        changeKey: changeKey(),
        transactionId,
        subject: '',
        body: { contentType: 'text', content: '' },
        start: undefined as unknown as MsEvent['start'],
        end: undefined as unknown as MsEvent['end'],
        isAllDay: false,
        isReminderOn: true,
        reminderMinutesBeforeStart: 15,
        isOrganizer: true,
        responseRequested: true,
        createdDateTime: now,
        lastModifiedDateTime: now,
      };
      const made = applyEventInput(blank, input);
      if ('status' in made) return made;
      events.push(made);
      return { status: 201, body: eventJson(user, made, expand) };
    }

    const one = /^\/v1\.0\/me(?:\/calendars\/([^/]+))?\/events\/([^/]+)$/.exec(path);
    if (one) {
      const id = decodeURIComponent(one[2]!);
      const calendarId = one[1] ? decodeURIComponent(one[1]) : undefined;
      const index = events.findIndex((e) => e.id === id && (!calendarId || e.calendarId === calendarId));
      const notFound = graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
      if (ctx.method === 'GET') {
        if (!canRead) return denied;
        return index < 0 ? notFound : { status: 200, body: eventJson(user, events[index]!, expand) };
      }
      if (!canWrite) return denied;
      if (index < 0) return notFound;
      const event = events[index]!;
      if (ctx.method === 'DELETE') {
        events.splice(index, 1);
        return { status: 204 };
      }
      if (ctx.method === 'PATCH') {
        if (!event.isOrganizer) {
          return graphError(403, 'ErrorAccessDenied', 'Access is denied: only the organizer can change this event.');
        }
        const { transactionId: _ignored, ...input } = (ctx.json ?? {}) as EventInput;
        const next = applyEventInput(event, input);
        if ('status' in next) return next;
        next.changeKey = changeKey();
        next.lastModifiedDateTime = new Date().toISOString();
        events[index] = next;
        return { status: 200, body: eventJson(user, next, expand) };
      }
    }
    return graphError(400, 'BadRequest', `Resource not found for the segment '${path}'.`);
  }

  const controlOps: StandinControlOps = {
    faults,
    requests,
    state: () => ({
      users: [...store.users.values()].map((u) => ({
        ...u,
        calendars: store.calendars.get(u.oid) ?? [],
        events: store.eventsByOid.get(u.oid) ?? [],
      })),
      adminConsentRequired: [...store.adminConsentRequired],
      consents: Object.fromEntries([...store.consents].map(([tenant, apps]) => [tenant, [...apps]])),
    }),
    events: (q) => store.events(q.get('email') ?? '', q.get('calendarId') ?? undefined),
    addUser: (b) =>
      store.addUser({
        email: String(b.email),
        ...(typeof b.name === 'string' ? { name: b.name } : {}),
        ...(typeof b.tenantId === 'string' ? { tenantId: b.tenantId } : {}),
        ...(typeof b.oid === 'string' ? { oid: b.oid } : {}),
      }),
    addCalendar: (b) => store.addCalendar(String(b.email), { name: String(b.name), canEdit: b.canEdit !== false }),
    revokeGrants: (email) => oauth.revokeUser(store.user(email).oid),
    expireAccessTokens: () => oauth.expireAccessTokens(),
    actions: {
      /** { tenantId }: users of the tenant get AADSTS65001 until its administrator consents. */
      'require-admin-consent': (b) => void store.requireAdminConsent(String(b.tenantId)),
      /** { email, eventId, isOrganizer }: turns an event into someone else's invitation (PATCH answers 403). */
      'set-organizer': (b) => {
        const event = store.events(String(b.email)).find((e) => e.id === b.eventId);
        if (!event) throw new Error(`No event ${String(b.eventId)}`);
        event.isOrganizer = b.isOrganizer === true;
      },
      /** { email } -> { max }: the highest number of Graph requests seen in flight for the mailbox. */
      'max-in-flight': (b) => ({ max: maxSeen.get(store.user(String(b.email)).oid) ?? 0 }),
    },
  };

  server.on('request', (req, res) => {
    void (async () => {
      const ctx = await readRequest(req, origin);
      const control = controlRoute(ctx, controlOps);
      if (control) return send(res, control);
      if (!ctx.url.pathname.startsWith('/v1.0/')) {
        const answer = await oauth.route(ctx);
        send(res, answer ?? { status: 404, body: { error: 'not_found' } });
        return;
      }
      const who = authenticate(ctx);
      if ('status' in who) {
        requests.push({ method: ctx.method, path: ctx.url.pathname, query: ctx.url.search, status: who.status });
        send(res, who);
        return;
      }
      ctx.account = who.user.email;
      const now = (inFlight.get(who.user.oid) ?? 0) + 1;
      inFlight.set(who.user.oid, now);
      maxSeen.set(who.user.oid, Math.max(maxSeen.get(who.user.oid) ?? 0, now));
      try {
        if (now > concurrency) {
          requests.push({
            method: ctx.method,
            path: ctx.url.pathname,
            query: ctx.url.search,
            status: 429,
            account: who.user.email,
          });
          send(
            res,
            graphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', {
              'retry-after': '1',
            }),
          );
          return;
        }
        await withFaults(faults, requests, ctx, res, faultAnswer, async () => graph(ctx, who.user, who.scopes));
      } finally {
        inFlight.set(who.user.oid, (inFlight.get(who.user.oid) ?? 1) - 1);
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, graphError(500, 'generalException', String(error)));
    });
  });

  const host = new URL(origin).host;
  return {
    url: origin,
    graphBaseUrl: origin,
    customHosts: new Set(['127.0.0.1']),
    store,
    faults,
    requests,
    clients,
    knownAuthorities: [host],
    authority: (tenant = 'organizations') => `${origin}/${tenant}`,
    authorityMetadata: (tenant = 'organizations') => JSON.stringify(oauth.metadata(tenant)),
    addUser: (input) => store.addUser(input),
    signIn: (authorizationUrl, email) => standinControl(origin).signIn(authorizationUrl, email),
    revokeGrants: (email) => oauth.revokeUser(store.user(email).oid),
    expireAccessTokens: () => oauth.expireAccessTokens(),
    maxInFlight: (email) => maxSeen.get(store.user(email).oid) ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The Microsoft adapter's configuration for this stand-in (what the twin and the tests pass to it). */
export function microsoftAdapterConfig(
  standin: MicrosoftStandin,
  client = standin.clients[0]!,
): MicrosoftCalendarConfig {
  return {
    clientId: client.clientId,
    clientSecret: client.clientSecret ?? '',
    authority: standin.authority(),
    knownAuthorities: standin.knownAuthorities,
    authorityMetadata: standin.authorityMetadata(),
    graphBaseUrl: standin.graphBaseUrl,
    customHosts: standin.customHosts,
  };
}
