import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { InvalidCursor } from '../core/pages.ts';
import type { JobRepository, RunReports } from '../core/ports.ts';
import { sftpPathOf } from '../core/transfer/layout.ts';
import { type Authenticate, authentication } from './auth.ts';
import { roleGuard } from './auth-roles.ts';
import { ApiError, apiError } from './errors.ts';
import { type ApiEnv, type JobsApiDependencies, jobRoutes } from './jobs-routes.ts';
import { pageSize } from './paging.ts';

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
 *   GET  /v1/runs, /v1/runs/:runId, /v1/runs/:runId/errors      run reports
 *   GET  /v1/jobs, /v1/jobs/:jobId; PUT /v1/jobs/:jobId;
 *   POST /v1/jobs/:jobId/launch, /v1/mapping-suggestions        import jobs (jobs-routes.ts)
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
}

export interface ApiDependencies extends JobsApiDependencies {
  storesFor(org: string): Promise<TenantStores> | TenantStores;
  /** The caller of a request (organization, user, role), or undefined (401). */
  authenticate: Authenticate;
}

/** Sets `stores` to the caller organization's (after `authentication`, which sets `org`). */
function tenantStores(storesFor: ApiDependencies['storesFor']): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    c.set('stores', await storesFor(c.get('org')));
    await next();
  };
}

/** Run ids are `<timestamp>-<suffix>`; anything longer or otherwise spelled names no run (and is never a key). */
const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * A run as the reports show it: beside each bucket key (for operators) the path the organization's SFTP user sees
 * (`/archive/2026-11-24/<runId>_<name>.csv`), which is what a customer looks for.
 */
function runView(org: string, item: Record<string, unknown>): Record<string, unknown> {
  const run = withoutKeys(item);
  const path = (key: unknown) => (typeof key === 'string' ? sftpPathOf(org, key) : undefined);
  const file = run.file as Record<string, unknown> | undefined;
  const filePath = path(file?.key);
  const archivedPath = path(run.archivedKey);
  const outcomePath = path(run.outcomeKey);
  return {
    ...run,
    ...(file ? { file: { ...file, ...(filePath ? { path: filePath } : {}) } } : {}),
    ...(archivedPath ? { archivedPath } : {}),
    ...(outcomePath ? { outcomePath } : {}),
  };
}

function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { org: _org, orgRun: _orgRun, ...rest } = item;
  return rest;
}

export function createApi(deps: ApiDependencies): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.use('/v1/*', authentication(deps.authenticate), roleGuard(), tenantStores(deps.storesFor));

  app.get('/v1/runs', async (c) => {
    const page = await c
      .get('stores')
      .reports.listRuns(c.get('org'), pageSize(c.req.query('limit')), c.req.query('cursor'));
    return c.json({ runs: page.items.map((r) => runView(c.get('org'), r)), next: page.next ?? null });
  });

  const runOf = async (c: Context<ApiEnv>) => {
    const runId = c.req.param('runId') ?? '';
    return RUN_ID.test(runId) ? c.get('stores').reports.getRun(c.get('org'), runId) : undefined;
  };

  app.get('/v1/runs/:runId', async (c) => {
    const run = await runOf(c);
    if (!run) return apiError(c, 404, 'not_found', 'no such run');
    return c.json({ run: runView(c.get('org'), run) });
  });

  app.get('/v1/runs/:runId/errors', async (c) => {
    if (!(await runOf(c))) return apiError(c, 404, 'not_found', 'no such run');
    const page = await c
      .get('stores')
      .reports.listRunErrors(c.get('org'), c.req.param('runId'), pageSize(c.req.query('limit')), c.req.query('cursor'));
    return c.json({ errors: page.items.map(withoutKeys), next: page.next ?? null });
  });

  app.route('/v1', jobRoutes(deps));

  app.notFound((c) => apiError(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));

  app.onError((err, c) => {
    if (err instanceof ApiError) return apiError(c, err.status, err.code, err.message, err.problems);
    if (err instanceof InvalidCursor) return apiError(c, 400, err.code, 'the cursor is not valid here');
    console.error(JSON.stringify({ level: 'ERROR', message: 'unhandled API error', error: err.message }));
    return apiError(c, 500, 'internal', 'internal error');
  });

  return app;
}
