/**
 * Calendar sync (issue 14): the organization's subscription, its case managers, our calendar's events (the
 * case-management system's writes), the case managers' connections to Microsoft 365 or Google Calendar, and the
 * pushes that kept failing (parked).
 *
 *   GET  /v1/calendar/subscription                 -> 200 { subscription } | 404 not_subscribed
 *   PUT  /v1/calendar/subscription                 -> 200 { subscription }                     (firm admin)
 *   GET  /v1/calendar/case-managers                -> 200 { caseManagers, next }
 *   GET  /v1/calendar/case-managers/:userId        -> 200 { caseManager, connection } | 404
 *   PUT  /v1/calendar/case-managers/:userId        { email, name?, externalUserIds? } -> 200 | 201 | 409 (firm admin)
 *   DELETE /v1/calendar/case-managers/:userId      -> 204 | 404 | 409 still connected           (firm admin)
 *   GET  /v1/calendar/events[?caseManager=]        -> 200 { events, next } (by start for one case manager)
 *   GET  /v1/calendar/events/:eventId              -> 200 { event } | 404
 *   PUT  /v1/calendar/events/:eventId              { caseManagerId, kind, title, when, ... } -> 201 | 200 | 400
 *   DELETE /v1/calendar/events/:eventId            -> 204 | 404
 *   GET  /v1/calendar/connections                  -> 200 { connections, next } (held ones say who signed in)
 *   GET  /v1/calendar/parked                       -> 200 { parked, next } pushes that kept failing
 *   POST /v1/calendar/parked/:connectionId/:eventId/retry -> 202                                (firm admin)
 *   GET  /v1/calendar/admin-consent-url?provider=microsoft -> 200 { url } for the firm's IT administrator
 *   GET  /v1/calendar/me                           -> 200 { caseManager, connection } | 403 not_a_case_manager
 *   POST /v1/calendar/me/connection                { provider, stepReminders? } -> 201 { connection, authorizationUrl }
 *   POST /v1/calendar/me/connection/reauthenticate -> 200 { connection, authorizationUrl }   ("modify")
 *   POST /v1/calendar/me/connection/backfill       { days? } -> 202 { backfill: { queued, skipped, from, until } }
 *   GET  /v1/calendar/me/calendars                 -> 200 { calendars }
 *   PUT  /v1/calendar/me/connection                { calendarId?, stepReminders? } -> 200 { connection }
 *   DELETE /v1/calendar/me/connection              -> 204 (stops the push; revokes the grant)
 *   GET  /oauth/calendar/callback?state&code       -> 200 { connection } (no token: the provider redirects here)
 *
 * The /v1/calendar/me routes are the caller's own (a case manager connects their own calendar): the role guard lets
 * case managers write there (auth-roles.ts), and the routes act only on the caller's `sub`. Another organization's
 * objects are 404 exactly like missing ones: every key starts with the caller's organization.
 *
 * PKCE: the verifier is kept server-side with the state (ten minutes, used once); the provider sees only its S256
 * challenge. A signed-in account that is not the case manager's is held: the grant is revoked and forgotten at once,
 * the connection shows who signed in, and nothing syncs.
 */

import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { BACKFILL_DEFAULT_DAYS, BACKFILL_MAX_DAYS, backfillConnection } from '../core/calendar/backfill.ts';
import {
  type AuthorizationState,
  type CalendarConnection,
  type CaseManager,
  chooseCalendar,
  completeConnection,
  orgOfState,
  PKCE_VERIFIER_LENGTH,
  PROVIDERS,
  pkceChallenge,
  STATE_TTL_SECONDS,
  stateParameter,
} from '../core/calendar/connections.ts';
import { EVENT_ID, nextEvent, USER_ID, validateEventInput } from '../core/calendar/events.ts';
import {
  type CalendarProvider,
  type CalendarProviderId,
  ProviderFailure,
  type SignedInAccount,
} from '../core/calendar/provider.ts';
import type { CalendarStore } from '../core/calendar/store.ts';
import { type Clock, type Random, systemClock } from '../core/ports.ts';
import { randomToken } from '../core/transfer/runs.ts';
import { ApiError, apiError } from './errors.ts';
import { pageSize } from './paging.ts';

/** What calendar sync needs for one organization. */
export interface CalendarServices {
  store: CalendarStore;
  /** The providers wired here (functions/adapters/google-calendar*.ts, microsoft-calendar*.ts). */
  providers: Partial<Record<CalendarProviderId, CalendarProvider>>;
}

export interface CalendarApiDependencies {
  /** Calendar sync for an organization; without it the calendar routes answer 404 (not part of this API). */
  calendarFor?(org: string): Promise<CalendarServices> | CalendarServices;
  /** The OAuth redirect URI registered with both providers: this API's GET /oauth/calendar/callback. */
  calendarRedirectUri?: string;
  clock?: Clock;
  random?: Random;
}

type CalendarEnv = { Variables: { org: string } };

const systemRandom: Random = { token: (n) => randomToken(n, randomBytes) };

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body must be a JSON object');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'invalid_json', 'the body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/** A body that may be left out (no content: `{}`). */
async function optionalJsonBody(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.raw.clone().text();
  return text.trim() === '' ? {} : jsonBody(c);
}

/** A connection as people see it: provider, account, calendar, last authentication; no inbound bookkeeping. */
export function connectionView(connection: CalendarConnection): Record<string, unknown> {
  return {
    connectionId: connection.connectionId,
    caseManagerId: connection.caseManagerId,
    provider: connection.provider,
    status: connection.status,
    stepReminders: connection.stepReminders,
    account: connection.account ? { email: connection.account.email, accountId: connection.account.accountId } : null,
    calendar: connection.calendarId ? { id: connection.calendarId, name: connection.calendarName ?? null } : null,
    lastAuthenticatedAt: connection.lastAuthenticatedAt ?? null,
    activatedAt: connection.activatedAt ?? null,
    ...(connection.heldAccount ? { heldAccount: { email: connection.heldAccount.email } } : {}),
    ...(connection.reauthRequiredAt ? { reauthRequiredAt: connection.reauthRequiredAt } : {}),
    ...(connection.pausedUntil ? { pausedUntil: connection.pausedUntil, pauseReason: connection.pauseReason } : {}),
    ...(connection.disconnectedAt ? { disconnectedAt: connection.disconnectedAt } : {}),
    ...(connection.message ? { message: connection.message } : {}),
    createdAt: connection.createdAt,
  };
}

function providerParam(raw: unknown): CalendarProviderId {
  if (typeof raw === 'string' && (PROVIDERS as readonly string[]).includes(raw)) return raw as CalendarProviderId;
  throw new ApiError(400, 'invalid_provider', `provider: expected one of ${PROVIDERS.join(', ')}`, [
    { code: 'invalid_value', message: `provider must be one of ${PROVIDERS.join(', ')}`, column: 'provider' },
  ]);
}

function booleanParam(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') {
    throw new ApiError(400, 'invalid_value', `${name}: expected true or false`, [
      { code: 'invalid_value', message: `${name} must be true or false`, column: name },
    ]);
  }
  return value;
}

const EMAIL = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[^\s@<>(),;:"[\]]+$/;

export function calendarRoutes(deps: CalendarApiDependencies): Hono<CalendarEnv> {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? systemRandom;
  const app = new Hono<CalendarEnv>();

  const services = async (c: Context<CalendarEnv>): Promise<CalendarServices> => {
    if (!deps.calendarFor) throw new ApiError(404, 'not_found', 'calendar sync is not part of this API');
    return deps.calendarFor(c.get('org'));
  };
  const redirectUri = () => {
    if (!deps.calendarRedirectUri) throw new Error('the API was built without the calendar redirect URI');
    return deps.calendarRedirectUri;
  };
  const providerOf = (svc: CalendarServices, id: CalendarProviderId): CalendarProvider => {
    const provider = svc.providers[id];
    if (!provider) throw new ApiError(409, 'provider_not_configured', `${id} calendars cannot be connected here yet`);
    return provider;
  };
  const requireSubscription = async (svc: CalendarServices, org: string) => {
    const subscription = await svc.store.getSubscription(org);
    if (!subscription) {
      throw new ApiError(
        409,
        'not_subscribed',
        'the organization has not subscribed to calendar sync; a firm admin can',
      );
    }
    return subscription;
  };
  const me = async (c: Context<CalendarEnv>, svc: CalendarServices): Promise<CaseManager> => {
    const manager = await svc.store.getManager(c.get('org'), c.get('caller').subject);
    if (!manager) {
      throw new ApiError(
        403,
        'not_a_case_manager',
        'you are not a case manager of calendar sync; a firm admin can add you',
      );
    }
    return manager;
  };
  const myConnection = async (svc: CalendarServices, manager: CaseManager) => {
    const connection = manager.connectionId
      ? await svc.store.getConnection(manager.org, manager.connectionId)
      : undefined;
    return connection && connection.status !== 'disconnected' ? connection : undefined;
  };

  /** A fresh state and PKCE verifier for this connection, kept server-side; the provider's authorization URL. */
  const authorize = async (svc: CalendarServices, manager: CaseManager, connection: CalendarConnection) => {
    const verifier = random.token(PKCE_VERIFIER_LENGTH);
    const state: AuthorizationState = {
      org: manager.org,
      state: stateParameter(manager.org, random.token(32)),
      connectionId: connection.connectionId,
      caseManagerId: manager.userId,
      provider: connection.provider,
      codeVerifier: verifier,
      redirectUri: redirectUri(),
      expiresAt: Math.floor(clock.now().getTime() / 1000) + STATE_TTL_SECONDS,
    };
    await svc.store.putState(state);
    return providerOf(svc, connection.provider).authorizer.authorizationUrl({
      state: state.state,
      codeChallenge: pkceChallenge(verifier),
      redirectUri: state.redirectUri,
      loginHint: manager.email,
    });
  };

  app.get('/calendar/subscription', async (c) => {
    const subscription = await (await services(c)).store.getSubscription(c.get('org'));
    if (!subscription)
      return apiError(c, 404, 'not_subscribed', 'the organization has not subscribed to calendar sync');
    return c.json({ subscription });
  });

  app.put('/calendar/subscription', async (c) => {
    const svc = await services(c);
    const org = c.get('org');
    const existing = await svc.store.getSubscription(org);
    if (existing) return c.json({ subscription: existing });
    const subscription = {
      org,
      status: 'active' as const,
      subscribedAt: clock.now().toISOString(),
      subscribedBy: c.get('caller').email ?? c.get('caller').subject,
    };
    await svc.store.putSubscription(subscription);
    return c.json({ subscription });
  });

  app.get('/calendar/case-managers', async (c) => {
    const page = await (await services(c)).store.listManagers(c.get('org'), {
      limit: pageSize(c.req.query('limit')),
      cursor: c.req.query('cursor'),
    });
    return c.json({ caseManagers: page.items, next: page.next ?? null });
  });

  app.get('/calendar/case-managers/:userId', async (c) => {
    const svc = await services(c);
    const userId = c.req.param('userId');
    const manager = USER_ID.test(userId) ? await svc.store.getManager(c.get('org'), userId) : undefined;
    if (!manager) return apiError(c, 404, 'not_found', 'no such case manager');
    const connection = await myConnection(svc, manager);
    return c.json({ caseManager: manager, connection: connection ? connectionView(connection) : null });
  });

  app.put('/calendar/case-managers/:userId', async (c) => {
    const svc = await services(c);
    const org = c.get('org');
    await requireSubscription(svc, org);
    const userId = c.req.param('userId');
    if (!USER_ID.test(userId))
      throw new ApiError(400, 'invalid_user_id', 'userId: expected a user id of this organization');
    const body = await jsonBody(c);
    const email = body.email;
    if (typeof email !== 'string' || !EMAIL.test(email)) {
      throw new ApiError(400, 'invalid_email', "email: expected the case manager's e-mail address", [
        {
          code: 'invalid_value',
          message: 'email must be an e-mail address',
          column: 'email',
          value: String(email).slice(0, 80),
        },
      ]);
    }
    const ids = body.externalUserIds;
    if (
      ids !== undefined &&
      (!Array.isArray(ids) || ids.length > 5 || ids.some((i) => typeof i !== 'string' || i === '' || i.length > 128))
    ) {
      throw new ApiError(
        400,
        'invalid_value',
        'externalUserIds: expected at most 5 ids (Microsoft object id, Google subject)',
      );
    }
    const name = typeof body.name === 'string' && body.name !== '' ? body.name.slice(0, 200) : undefined;
    const existing = await svc.store.getManager(org, userId);
    const manager: CaseManager = {
      ...(existing ?? {}),
      org,
      userId,
      email,
      ...(name ? { name } : {}),
      ...(ids ? { externalUserIds: ids as string[] } : {}),
      addedAt: existing?.addedAt ?? clock.now().toISOString(),
      addedBy: existing?.addedBy ?? c.get('caller').email ?? c.get('caller').subject,
    };
    await svc.store.putManager(manager);
    return c.json({ caseManager: manager }, existing ? 200 : 201);
  });

  app.delete('/calendar/case-managers/:userId', async (c) => {
    const svc = await services(c);
    const userId = c.req.param('userId');
    const manager = USER_ID.test(userId) ? await svc.store.getManager(c.get('org'), userId) : undefined;
    if (!manager) return apiError(c, 404, 'not_found', 'no such case manager');
    if (await myConnection(svc, manager)) {
      return apiError(c, 409, 'still_connected', 'the case manager is connected: disconnect their calendar first');
    }
    await svc.store.deleteManager(c.get('org'), userId);
    return c.body(null, 204);
  });

  app.get('/calendar/events', async (c) => {
    const caseManagerId = c.req.query('caseManager');
    if (caseManagerId !== undefined && !USER_ID.test(caseManagerId)) {
      throw new ApiError(400, 'invalid_value', 'caseManager: expected a user id');
    }
    const page = await (await services(c)).store.listEvents(c.get('org'), {
      limit: pageSize(c.req.query('limit')),
      cursor: c.req.query('cursor'),
      ...(caseManagerId ? { caseManagerId } : {}),
    });
    return c.json({ events: page.items, next: page.next ?? null });
  });

  app.get('/calendar/events/:eventId', async (c) => {
    const eventId = c.req.param('eventId');
    const event = EVENT_ID.test(eventId) ? await (await services(c)).store.getEvent(c.get('org'), eventId) : undefined;
    if (!event) return apiError(c, 404, 'not_found', 'no such event');
    return c.json({ event });
  });

  app.put('/calendar/events/:eventId', async (c) => {
    const eventId = c.req.param('eventId');
    if (!EVENT_ID.test(eventId)) {
      throw new ApiError(400, 'invalid_event_id', 'eventId: 1 to 64 characters of A-Z a-z 0-9 _ -');
    }
    const input = validateEventInput(await jsonBody(c));
    if (!input.ok) {
      return apiError(c, 400, 'invalid_event', `the event has ${input.problems.length} problem(s)`, input.problems);
    }
    const svc = await services(c);
    const org = c.get('org');
    // Two writers of one event: the loser reads again and writes on top (a write is the whole event).
    for (let attempt = 0; attempt < 3; attempt++) {
      const previous = await svc.store.getEvent(org, eventId);
      const event = nextEvent(org, eventId, input.value, previous, clock.now());
      if (await svc.store.putEvent(event, previous?.version ?? 0)) return c.json({ event }, previous ? 200 : 201);
    }
    return apiError(c, 409, 'conflict', 'the event is being changed by someone else; try again');
  });

  app.delete('/calendar/events/:eventId', async (c) => {
    const eventId = c.req.param('eventId');
    const deleted = EVENT_ID.test(eventId)
      ? await (await services(c)).store.deleteEvent(c.get('org'), eventId)
      : undefined;
    if (!deleted) return apiError(c, 404, 'not_found', 'no such event');
    return c.body(null, 204);
  });

  app.get('/calendar/connections', async (c) => {
    const page = await (await services(c)).store.listConnections(c.get('org'), {
      limit: pageSize(c.req.query('limit')),
      cursor: c.req.query('cursor'),
    });
    return c.json({ connections: page.items.map(connectionView), next: page.next ?? null });
  });

  app.get('/calendar/parked', async (c) => {
    const page = await (await services(c)).store.listParked(c.get('org'), {
      limit: pageSize(c.req.query('limit')),
      cursor: c.req.query('cursor'),
    });
    const parked = page.items.map((l) => ({
      connectionId: l.connectionId,
      eventId: l.eventId,
      externalId: l.externalId ?? null,
      attempts: l.attempts ?? 0,
      reason: l.parked?.reason,
      message: l.parked?.message,
      parkedAt: l.parked?.at,
    }));
    return c.json({ parked, next: page.next ?? null });
  });

  app.post('/calendar/parked/:connectionId/:eventId/retry', async (c) => {
    const svc = await services(c);
    const org = c.get('org');
    const { connectionId, eventId } = c.req.param();
    const link =
      USER_ID.test(connectionId) && EVENT_ID.test(eventId)
        ? await svc.store.getLink(org, connectionId, eventId)
        : undefined;
    if (!link?.parked) return apiError(c, 404, 'not_found', 'no such parked push');
    const { parked: _p, lastError: _e, ...rest } = link;
    const now = clock.now();
    await svc.store.putLink({ ...rest, attempts: 0, pending: true, pendingSince: now.toISOString() });
    await svc.store.requestFlush(org, connectionId, now);
    return c.json({ retrying: { connectionId, eventId } }, 202);
  });

  app.get('/calendar/admin-consent-url', async (c) => {
    const svc = await services(c);
    const provider = providerOf(svc, providerParam(c.req.query('provider') ?? 'microsoft'));
    if (!provider.authorizer.adminConsentUrl) {
      return apiError(c, 400, 'no_admin_consent', `${provider.id} has no tenant-wide admin consent`);
    }
    const tenant = c.req.query('tenant');
    const url = provider.authorizer.adminConsentUrl({
      redirectUri: redirectUri(),
      state: stateParameter(c.get('org'), random.token(32)),
      ...(tenant && /^[A-Za-z0-9.-]{1,128}$/.test(tenant) ? { tenant } : {}),
    });
    return c.json({ url });
  });

  app.get('/calendar/me', async (c) => {
    const svc = await services(c);
    const manager = await me(c, svc);
    const connection = await myConnection(svc, manager);
    return c.json({ caseManager: manager, connection: connection ? connectionView(connection) : null });
  });

  app.post('/calendar/me/connection', async (c) => {
    const svc = await services(c);
    const org = c.get('org');
    await requireSubscription(svc, org);
    const manager = await me(c, svc);
    const body = await jsonBody(c);
    const provider = providerParam(body.provider);
    providerOf(svc, provider);
    const stepReminders = booleanParam(body, 'stepReminders') ?? false;
    const current = await myConnection(svc, manager);
    if (
      current &&
      (current.status === 'active' || current.status === 'needs_reauth' || current.status === 'choose_calendar')
    ) {
      return apiError(
        c,
        409,
        'already_connected',
        'your calendar is connected: re-authenticate, or disconnect first to connect another',
      );
    }
    const connection: CalendarConnection = {
      org,
      connectionId: random.token(20),
      caseManagerId: manager.userId,
      provider,
      status: 'authorizing',
      stepReminders,
      createdAt: clock.now().toISOString(),
    };
    // An unfinished attempt (authorizing, held, consent required) is replaced by this one.
    if (current)
      await svc.store.putConnection({ ...current, status: 'disconnected', disconnectedAt: connection.createdAt });
    await svc.store.putConnection(connection);
    await svc.store.putManager({ ...manager, connectionId: connection.connectionId });
    const authorizationUrl = await authorize(svc, manager, connection);
    return c.json({ connection: connectionView(connection), authorizationUrl }, 201);
  });

  app.post('/calendar/me/connection/reauthenticate', async (c) => {
    const svc = await services(c);
    const manager = await me(c, svc);
    const connection = await myConnection(svc, manager);
    if (!connection) return apiError(c, 404, 'not_connected', 'you have no calendar connection; connect one first');
    const authorizationUrl = await authorize(svc, manager, connection);
    return c.json({ connection: connectionView(connection), authorizationUrl });
  });

  app.post('/calendar/me/connection/backfill', async (c) => {
    const svc = await services(c);
    const manager = await me(c, svc);
    const connection = await myConnection(svc, manager);
    if (!connection) return apiError(c, 404, 'not_connected', 'you have no calendar connection; connect one first');
    if (connection.status !== 'active') {
      return apiError(
        c,
        409,
        'connection_not_active',
        'only an active connection is back-filled: choose your calendar (or re-authenticate) first',
      );
    }
    const body = await optionalJsonBody(c);
    const days = body.days ?? BACKFILL_DEFAULT_DAYS;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > BACKFILL_MAX_DAYS) {
      throw new ApiError(400, 'invalid_value', `days: expected a whole number from 1 to ${BACKFILL_MAX_DAYS}`, [
        {
          code: 'invalid_value',
          message: `days must be a whole number from 1 to ${BACKFILL_MAX_DAYS}`,
          column: 'days',
        },
      ]);
    }
    const result = await backfillConnection(svc.store, connection, clock.now(), days);
    return c.json({ backfill: result }, 202);
  });

  app.get('/calendar/me/calendars', async (c) => {
    const svc = await services(c);
    const manager = await me(c, svc);
    const connection = await myConnection(svc, manager);
    if (!connection || (connection.status !== 'choose_calendar' && connection.status !== 'active')) {
      return apiError(c, 409, 'not_authorized_yet', 'complete the sign-in with your provider first');
    }
    const calendars = await providerOf(svc, connection.provider).client(connection.connectionId).listCalendars();
    return c.json({ calendars });
  });

  app.put('/calendar/me/connection', async (c) => {
    const svc = await services(c);
    const manager = await me(c, svc);
    let connection = await myConnection(svc, manager);
    if (!connection) return apiError(c, 404, 'not_connected', 'you have no calendar connection; connect one first');
    const body = await jsonBody(c);
    const stepReminders = booleanParam(body, 'stepReminders');
    if (stepReminders !== undefined) connection = { ...connection, stepReminders };
    if (body.calendarId !== undefined) {
      if (typeof body.calendarId !== 'string' || body.calendarId === '' || body.calendarId.length > 1024) {
        throw new ApiError(
          400,
          'invalid_value',
          "calendarId: expected one of your calendars' ids (GET /v1/calendar/me/calendars)",
        );
      }
      if (connection.status === 'active' && connection.calendarId !== body.calendarId) {
        return apiError(
          c,
          409,
          'calendar_fixed',
          'the calendar of an active connection stays; disconnect and connect again to change it',
        );
      }
      if (connection.status !== 'choose_calendar' && connection.status !== 'active') {
        return apiError(c, 409, 'not_authorized_yet', 'complete the sign-in with your provider first');
      }
      const calendars = await providerOf(svc, connection.provider).client(connection.connectionId).listCalendars();
      const calendar = calendars.find((cal) => cal.id === body.calendarId);
      if (!calendar) return apiError(c, 400, 'unknown_calendar', 'calendarId: not one of your calendars');
      if (!calendar.canEdit)
        return apiError(c, 400, 'read_only_calendar', `you cannot add events to "${calendar.name}"`);
      connection = chooseCalendar(connection, calendar, clock.now());
    }
    await svc.store.putConnection(connection);
    return c.json({ connection: connectionView(connection) });
  });

  app.delete('/calendar/me/connection', async (c) => {
    const svc = await services(c);
    const manager = await me(c, svc);
    const connection = await myConnection(svc, manager);
    if (!connection) return apiError(c, 404, 'not_connected', 'you have no calendar connection');
    // Stopped first, so a push racing the revocation finds the connection gone rather than a dead grant.
    const stopped = { ...connection, status: 'disconnected' as const, disconnectedAt: clock.now().toISOString() };
    await svc.store.putConnection(stopped);
    const { connectionId: _c, ...rest } = manager;
    await svc.store.putManager(rest);
    await svc.providers[connection.provider]?.authorizer.disconnect(connection.connectionId);
    return c.body(null, 204);
  });

  return app;
}

/** The provider's redirect back to us: no bearer token, so the kept state (organization, verifier) says whose it is. */
export function calendarCallbackRoutes(deps: CalendarApiDependencies): Hono {
  const clock = deps.clock ?? systemClock;
  const app = new Hono();
  app.get('/oauth/calendar/callback', async (c) => {
    const stateParam = c.req.query('state') ?? '';
    const org = stateParam.length <= 200 ? orgOfState(stateParam) : undefined;
    if (!org || !deps.calendarFor)
      return apiError(c, 400, 'invalid_state', 'this sign-in is unknown or expired: connect again');
    const svc = await deps.calendarFor(org);
    const kept = await svc.store.takeState(org, stateParam, clock.now());
    if (!kept) return apiError(c, 400, 'invalid_state', 'this sign-in is unknown or expired: connect again');
    const connection = await svc.store.getConnection(org, kept.connectionId);
    const manager = await svc.store.getManager(org, kept.caseManagerId);
    if (
      !connection ||
      connection.status === 'disconnected' ||
      !manager ||
      manager.connectionId !== connection.connectionId
    ) {
      return apiError(c, 409, 'connection_gone', 'this connection was disconnected meanwhile: connect again');
    }
    const provider = svc.providers[connection.provider];
    if (!provider) return apiError(c, 409, 'provider_not_configured', `${connection.provider} is not configured here`);

    const consentRequired = async (message: string) => {
      const held = { ...connection, status: 'consent_required' as const, message };
      await svc.store.putConnection(held);
      return c.json({ error: { code: 'consent_required', message }, connection: connectionView(held) }, 409);
    };
    const error = c.req.query('error');
    if (error) {
      const description = (c.req.query('error_description') ?? '').slice(0, 300);
      if (error === 'consent_required' || description.includes('AADSTS65001')) {
        return consentRequired(
          'your IT administrator must consent to Integrator first (AADSTS65001); share the admin-consent URL with them, then sign in again',
        );
      }
      return apiError(c, 400, 'authorization_failed', `the provider refused the sign-in: ${error}`);
    }
    const code = c.req.query('code');
    if (!code) return apiError(c, 400, 'authorization_failed', 'the provider sent no authorization code');

    let account: SignedInAccount;
    try {
      account = await provider.authorizer.completeAuthorization({
        connectionId: connection.connectionId,
        code,
        codeVerifier: kept.codeVerifier,
        redirectUri: kept.redirectUri,
      });
    } catch (err) {
      if (err instanceof ProviderFailure && err.code === 'consent_required') {
        return consentRequired(
          'your IT administrator must consent to Integrator first (AADSTS65001); share the admin-consent URL with them, then sign in again',
        );
      }
      if (err instanceof ProviderFailure) {
        return apiError(c, 400, 'authorization_failed', `the sign-in could not be completed (${err.code})`);
      }
      throw err;
    }
    const completed = completeConnection(connection, manager, account, clock.now());
    if (completed.status === 'held_wrong_account') {
      // Nothing of someone else's calendar may sync: the grant just stored is revoked and forgotten.
      await provider.authorizer.disconnect(connection.connectionId);
    }
    await svc.store.putConnection(completed);
    // Re-authenticated: what was queued meanwhile goes out once, through the push.
    if (connection.status === 'needs_reauth' && completed.status === 'active') {
      await svc.store.requestFlush(org, connection.connectionId, clock.now());
    }
    return c.json({ connection: connectionView(completed) });
  });
  return app;
}
