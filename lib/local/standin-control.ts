/**
 * The provider stand-ins' control API, for tests that run the stand-ins in another process (the twin, in the e2e
 * tests): their stores and fault switches over HTTP, under `/_standin/` on each stand-in's own port. It is the
 * stand-ins' test interface, not part of any provider's API. JSON in, JSON out:
 *
 *   GET    /_standin/state                     the whole store (users, calendars, events)
 *   GET    /_standin/events?email=E[&calendarId=C]   the user's events (Google: cancelled ones with &includeCancelled=1)
 *   GET    /_standin/requests                  every API request seen: { method, path, query, status, account }
 *   POST   /_standin/users       { email, name?, tenantId?, oid? | sub? }   -> the user (with a default calendar)
 *   POST   /_standin/calendars   { email, name, canEdit? }  (Microsoft) | { email, summary, accessRole? } (Google)
 *   POST   /_standin/faults      { fault: StandinFault, times?, match?: { method?, path?: "regex source" } }
 *   DELETE /_standin/faults                    disarms all;  GET /_standin/faults -> { pending }
 *   POST   /_standin/revoke      { email }     revokes the user's grants (next refresh: invalid_grant)
 *   POST   /_standin/expire-tokens             every access token expires (next call: 401, then a refresh)
 *   POST   /_standin/<action>    provider-specific actions, listed in each stand-in (e.g. require-admin-consent)
 *
 * `standinControl(url)` is the typed client of it. Signing in needs no control call: an authorization URL with
 * `standin_user=<e-mail>` added redirects at once (`signIn` below).
 */
import type { FaultMatch, FaultSwitch, StandinFault, StandinRequest } from './standin-faults.ts';
import type { Answer, StandinRequestContext } from './standin-http.ts';

export interface StandinControlOps {
  faults: FaultSwitch;
  requests: StandinRequest[];
  state(): unknown;
  events(query: URLSearchParams): unknown;
  addUser(body: Record<string, unknown>): unknown;
  addCalendar(body: Record<string, unknown>): unknown;
  revokeGrants(email: string): void;
  expireAccessTokens(): void;
  /** Provider-specific POST actions by name. */
  actions?: Record<string, (body: Record<string, unknown>) => unknown>;
}

export const CONTROL_PREFIX = '/_standin/';

/** The answer to a control request, or undefined when the path is not one. Mistakes answer 400 with the reason. */
export function controlRoute(ctx: StandinRequestContext, ops: StandinControlOps): Answer | undefined {
  if (!ctx.url.pathname.startsWith(CONTROL_PREFIX)) return undefined;
  const name = ctx.url.pathname.slice(CONTROL_PREFIX.length);
  const body = (ctx.json && typeof ctx.json === 'object' ? ctx.json : {}) as Record<string, unknown>;
  try {
    const key = `${ctx.method} ${name}`;
    switch (key) {
      case 'GET state':
        return { status: 200, body: ops.state() };
      case 'GET events':
        return { status: 200, body: ops.events(ctx.url.searchParams) };
      case 'GET requests':
        return { status: 200, body: ops.requests };
      case 'POST users':
        return { status: 201, body: ops.addUser(body) };
      case 'POST calendars':
        return { status: 201, body: ops.addCalendar(body) };
      case 'GET faults':
        return { status: 200, body: { pending: ops.faults.pending() } };
      case 'DELETE faults':
        ops.faults.clear();
        return { status: 204 };
      case 'POST faults': {
        const fault = body.fault as StandinFault | undefined;
        if (!fault || !['status', 'delay', 'lose-answer'].includes(fault.kind)) {
          return { status: 400, body: { error: 'fault.kind must be status, delay or lose-answer' } };
        }
        const m = (body.match ?? {}) as { method?: string; path?: string };
        const match: FaultMatch = {
          ...(m.method ? { method: m.method } : {}),
          ...(m.path ? { path: new RegExp(m.path) } : {}),
        };
        ops.faults.inject(fault, { times: typeof body.times === 'number' ? body.times : 1, match });
        return { status: 204 };
      }
      case 'POST revoke':
        ops.revokeGrants(String(body.email ?? ''));
        return { status: 204 };
      case 'POST expire-tokens':
        ops.expireAccessTokens();
        return { status: 204 };
      default: {
        const action = ctx.method === 'POST' ? ops.actions?.[name] : undefined;
        if (!action) return { status: 404, body: { error: `No control endpoint ${key}` } };
        const result = action(body);
        return result === undefined ? { status: 204 } : { status: 200, body: result };
      }
    }
  } catch (error) {
    return { status: 400, body: { error: error instanceof Error ? error.message : String(error) } };
  }
}

export interface FaultRequest {
  fault: StandinFault;
  times?: number;
  match?: { method?: string; path?: string };
}

/** The typed client of a stand-in's control API (`url`: the stand-in's base URL). */
export function standinControl(url: string) {
  async function call<T = unknown>(method: string, name: string, body?: unknown): Promise<T> {
    const res = await fetch(`${url}${CONTROL_PREFIX}${name}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`Stand-in control ${method} ${name} failed (${res.status}): ${await res.text()}`);
    return (res.status === 204 ? undefined : await res.json()) as T;
  }
  return {
    call,
    state: <T = unknown>() => call<T>('GET', 'state'),
    events: <T = unknown[]>(email: string, calendarId?: string) =>
      call<T>('GET', `events?${new URLSearchParams({ email, ...(calendarId ? { calendarId } : {}) })}`),
    requests: () => call<StandinRequest[]>('GET', 'requests'),
    addUser: <T = unknown>(user: Record<string, unknown>) => call<T>('POST', 'users', user),
    addCalendar: <T = unknown>(calendar: Record<string, unknown>) => call<T>('POST', 'calendars', calendar),
    injectFault: (request: FaultRequest) => call<void>('POST', 'faults', request),
    clearFaults: () => call<void>('DELETE', 'faults'),
    pendingFaults: async () => (await call<{ pending: number }>('GET', 'faults')).pending,
    revokeGrants: (email: string) => call<void>('POST', 'revoke', { email }),
    expireAccessTokens: () => call<void>('POST', 'expire-tokens'),
    /** Follows an authorization (or admin-consent) URL as `email` signing in: the redirect with code and state. */
    async signIn(authorizationUrl: string, email: string): Promise<URL> {
      const target = new URL(authorizationUrl);
      target.searchParams.set('standin_user', email);
      const res = await fetch(target, { redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) throw new Error(`Sign-in failed (${res.status}): ${await res.text()}`);
      return new URL(location);
    },
  };
}
