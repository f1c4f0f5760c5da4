import type { MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { InvalidCursor } from '../core/pages.ts';
import type { BillingReports, JobRepository, OrganizationStore, RunReports } from '../core/ports.ts';
import { type Authenticate, authentication } from './auth.ts';
import { roleGuard } from './auth-roles.ts';
import { type BillingApiDependencies, type BillingEnv, billingRoutes } from './billing-routes.ts';
import { type CalendarApiDependencies, calendarCallbackRoutes, calendarRoutes } from './calendar-routes.ts';
import { ApiError, apiError } from './errors.ts';
import { type ApiEnv, type JobsApiDependencies, jobRoutes } from './jobs-routes.ts';
import { type RunsApiDependencies, type RunsEnv, runRoutes } from './runs-routes.ts';
import { type SshKeysApiDependencies, sshKeyRoutes } from './ssh-keys-routes.ts';

/**
 * The HTTP API, one Hono app served by API Gateway + Lambda in AWS and by the twin's Node server locally.
 * Who the caller is comes from `authenticate`: in AWS the API Gateway JWT authorizer has already verified the token
 * and the handler reads its claims; the twin verifies its own local tokens (both through `callerFromClaims`,
 * auth.ts). The organization always comes from the credentials, never from the URL, so no request can name another
 * organization.
 *
 * Every /v1 request passes three middlewares, one concern each, before any route: `authentication` (401 without a
 * caller), `roleGuard` (403: a case manager's or viewer's write, any method but GET/HEAD, on any route; auth-roles.ts)
 * and `tenantStores` (the caller organization's stores).
 *
 *   GET  /health
 *   GET  /v1/runs[?view=], /v1/runs/:runId, /v1/runs/:runId/errors;
 *   POST /v1/runs/:runId/comments, /v1/runs/:runId/acknowledge   run reports (runs-routes.ts)
 *   GET  /v1/jobs, /v1/jobs/:jobId; PUT /v1/jobs/:jobId;
 *   POST /v1/jobs/:jobId/launch, /v1/mapping-suggestions        import jobs (jobs-routes.ts)
 *   GET  /v1/billing[?period=YYYY-MM]                            the Billing report (billing-routes.ts)
 *   /v1/calendar/...; GET /oauth/calendar/callback (no token)    calendar sync (calendar-routes.ts)
 *   GET, POST /v1/sftp-keys; DELETE /v1/sftp-keys/:keyId         the SFTP user's public keys (ssh-keys-routes.ts)
 *
 * Errors: `{ error: { code, message, problems? } }` with 400 (bad request), 401, 403, 404, 409 (state conflicts); the
 * status comes from the error's type (ApiError, InvalidCursor), never from its message.
 *
 * The stores are the caller's organization's: `storesFor(org)` gives them per request. In AWS they run on credentials
 * scoped to that organization's items (functions/adapters/tenant-stores.ts), so a route that built a wrong key still
 * could not reach another organization; the twin, which has no STS, passes plain clients.
 */
export interface TenantStores {
  reports: RunReports;
  jobs: JobRepository;
  /** The Billing report (GET /v1/billing answers 500 without it). */
  billing?: BillingReports;
  /** The organization's own item: its SFTP keys (the /v1/sftp-keys routes answer 500 without it). */
  organizations?: OrganizationStore;
}

export interface ApiDependencies
  extends JobsApiDependencies,
    RunsApiDependencies,
    BillingApiDependencies,
    CalendarApiDependencies,
    SshKeysApiDependencies {
  storesFor(org: string): Promise<TenantStores> | TenantStores;
  /** The caller of a request (organization, user, role), or undefined (401). */
  authenticate: Authenticate;
}

/** Sets `stores` to the caller organization's (after `authentication`, which sets `org`). */
function tenantStores(storesFor: ApiDependencies['storesFor']): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('stores', await storesFor(c.get('org')));
    await next();
  };
}

/** The /v1 variables of every route family (jobs-routes.ts, runs-routes.ts). */
type AppEnv = { Variables: ApiEnv['Variables'] & RunsEnv['Variables'] & BillingEnv['Variables'] };

export function createApi(deps: ApiDependencies): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/health', (c) => c.json({ status: 'ok' }));
  // The OAuth provider's redirect carries no bearer token: the state kept server-side says whose it is.
  app.route('/', calendarCallbackRoutes(deps));

  app.use('/v1/*', authentication(deps.authenticate), roleGuard(), tenantStores(deps.storesFor));

  app.route('/v1', runRoutes(deps));
  app.route('/v1', jobRoutes(deps));
  app.route('/v1', billingRoutes(deps));
  app.route('/v1', calendarRoutes(deps));
  app.route('/v1', sshKeyRoutes(deps));

  app.notFound((c) => apiError(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));

  app.onError((err, c) => {
    if (err instanceof ApiError) return apiError(c, err.status, err.code, err.message, err.problems);
    if (err instanceof InvalidCursor) return apiError(c, 400, err.code, 'the cursor is not valid here');
    console.error(JSON.stringify({ level: 'ERROR', message: 'unhandled API error', error: err.message }));
    return apiError(c, 500, 'internal', 'internal error');
  });

  return app;
}
