import type { Context } from 'hono';
import { Hono } from 'hono';
import type { RunReports } from '../adapters/dynamodb-reports.ts';
import { type ApiEnv, apiError, type JobsApiDependencies, jobRoutes } from './jobs-routes.ts';

/**
 * The HTTP API, one Hono app served by API Gateway + Lambda in AWS and by the twin's Node server locally.
 * Who the caller is comes from `authenticate`: in AWS the API Gateway JWT authorizer has already verified the token
 * and the handler reads its claims; the twin verifies its own local tokens. The organization always comes from the
 * credentials, never from the URL, so no request can name another organization.
 *
 *   GET  /health
 *   GET  /v1/runs, /v1/runs/:runId, /v1/runs/:runId/errors      run reports
 *   GET  /v1/jobs, /v1/jobs/:jobId; PUT /v1/jobs/:jobId;
 *   POST /v1/jobs/:jobId/launch, /v1/mapping-suggestions        import jobs (jobs-routes.ts)
 *
 * Errors: `{ error: { code, message, problems? } }` with 400 (bad request), 401, 404, 409 (state conflicts).
 */
export interface ApiDependencies extends JobsApiDependencies {
  reports: RunReports;
  authenticate(c: Context): Promise<string | undefined> | string | undefined;
}

const MAX_PAGE = 100;

function pageSize(raw: string | undefined): number {
  const n = Number(raw ?? 25);
  return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_PAGE) : 25;
}

function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { org: _org, orgRun: _orgRun, ...rest } = item;
  return rest;
}

export function createApi(deps: ApiDependencies): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.use('/v1/*', async (c, next) => {
    const org = await deps.authenticate(c);
    if (!org) return apiError(c, 401, 'unauthorized', 'a valid bearer token is required');
    c.set('org', org);
    await next();
  });

  app.get('/v1/runs', async (c) => {
    const page = await deps.reports.listRuns(c.get('org'), pageSize(c.req.query('limit')), c.req.query('cursor'));
    return c.json({ runs: page.items.map(withoutKeys), next: page.next ?? null });
  });

  app.get('/v1/runs/:runId', async (c) => {
    const run = await deps.reports.getRun(c.get('org'), c.req.param('runId'));
    if (!run) return apiError(c, 404, 'not_found', 'no such run');
    return c.json({ run: withoutKeys(run) });
  });

  app.get('/v1/runs/:runId/errors', async (c) => {
    const org = c.get('org');
    const runId = c.req.param('runId');
    if (!(await deps.reports.getRun(org, runId))) return apiError(c, 404, 'not_found', 'no such run');
    const page = await deps.reports.listRunErrors(org, runId, pageSize(c.req.query('limit')), c.req.query('cursor'));
    return c.json({ errors: page.items.map(withoutKeys), next: page.next ?? null });
  });

  app.route('/v1', jobRoutes(deps));

  app.notFound((c) => apiError(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));

  app.onError((err, c) => {
    if (err.message === 'invalid cursor') return apiError(c, 400, 'invalid_cursor', 'the cursor is not valid here');
    console.error(JSON.stringify({ level: 'ERROR', message: 'unhandled API error', error: err.message }));
    return apiError(c, 500, 'internal', 'internal error');
  });

  return app;
}
