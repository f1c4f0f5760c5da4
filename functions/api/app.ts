import type { Context } from 'hono';
import { Hono } from 'hono';
import type { RunReports } from '../adapters/dynamodb-reports.ts';

/**
 * The HTTP API, one Hono app served by API Gateway + Lambda in AWS and by the twin's Node server locally.
 * Who the caller is comes from `authenticate`: in AWS the API Gateway JWT authorizer has already verified the token
 * and the handler reads its claims; the twin verifies its own local tokens. The organization always comes from the
 * credentials, never from the URL, so no request can name another organization.
 */
export interface ApiDependencies {
  reports: RunReports;
  authenticate(c: Context): Promise<string | undefined> | string | undefined;
}

type Env = { Variables: { org: string } };

const MAX_PAGE = 100;

function pageSize(raw: string | undefined): number {
  const n = Number(raw ?? 25);
  return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_PAGE) : 25;
}

function withoutKeys(item: Record<string, unknown>): Record<string, unknown> {
  const { org: _org, orgRun: _orgRun, ...rest } = item;
  return rest;
}

export function createApi(deps: ApiDependencies): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/health', (c) => c.json({ status: 'ok' }));

  app.use('/v1/*', async (c, next) => {
    const org = await deps.authenticate(c);
    if (!org) return c.json({ error: { code: 'unauthorized', message: 'a valid bearer token is required' } }, 401);
    c.set('org', org);
    await next();
  });

  app.get('/v1/runs', async (c) => {
    const page = await deps.reports.listRuns(c.get('org'), pageSize(c.req.query('limit')), c.req.query('cursor'));
    return c.json({ runs: page.items.map(withoutKeys), next: page.next ?? null });
  });

  app.get('/v1/runs/:runId', async (c) => {
    const run = await deps.reports.getRun(c.get('org'), c.req.param('runId'));
    if (!run) return c.json({ error: { code: 'not_found', message: 'no such run' } }, 404);
    return c.json({ run: withoutKeys(run) });
  });

  app.get('/v1/runs/:runId/errors', async (c) => {
    const org = c.get('org');
    const runId = c.req.param('runId');
    if (!(await deps.reports.getRun(org, runId))) {
      return c.json({ error: { code: 'not_found', message: 'no such run' } }, 404);
    }
    const page = await deps.reports.listRunErrors(org, runId, pageSize(c.req.query('limit')), c.req.query('cursor'));
    return c.json({ errors: page.items.map(withoutKeys), next: page.next ?? null });
  });

  app.onError((err, c) => {
    if (err.message === 'invalid cursor') {
      return c.json({ error: { code: 'invalid_cursor', message: 'the cursor is not valid here' } }, 400);
    }
    console.error(JSON.stringify({ level: 'ERROR', message: 'unhandled API error', error: err.message }));
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });

  return app;
}
