/**
 * The operator's interface to organizations: a route family of its own, outside /v1, that no organization's token
 * can reach. In AWS API Gateway authorizes `/operator/*` with IAM (SigV4; lib/aws/api.ts) and sends it to the operator
 * function only, whose `authenticate` also requires the IAM caller API Gateway verified (functions/handlers/
 * operator-api.ts); the twin guards it with an operator credential of its own (.local/stack.json `operator`).
 *
 *   GET    /operator/v1/organizations                 -> 200 { organizations }
 *   GET    /operator/v1/organizations/:org            -> 200 organization | 404
 *   POST   /operator/v1/organizations                 -> 201 organization | 400 | 409 exists
 *   PUT    /operator/v1/organizations/:org            -> 200|201 { organization, created }  create or converge (sync)
 *   PATCH  /operator/v1/organizations/:org            -> 200 organization | 400 | 404
 *   POST   /operator/v1/organizations/:org/suspend    -> 200 organization | 404 | 409 (being deleted)
 *   POST   /operator/v1/organizations/:org/resume     -> 200 organization | 404 | 409
 *   DELETE /operator/v1/organizations/:org[?force=true] -> 200 { org, steps } | 404 | 409 has_data
 *
 * Errors have the /v1 shape `{ error: { code, message, problems? } }`.
 */
import { type Context, Hono } from 'hono';
import {
  type AdminResult,
  createOrganization,
  deleteOrganization,
  type OrganizationAdminDeps,
  resumeOrganization,
  suspendOrganization,
  syncOrganization,
  updateOrganization,
} from '../core/organization-admin.ts';
import { checkNewOrganization, checkOrganizationChange } from '../core/organizations.ts';
import { isValidOrgId } from '../core/transfer/layout.ts';
import { ApiError, apiError, type ErrorStatus } from './errors.ts';

/** Who the operator is (an IAM principal's ARN in AWS, `local-operator` on the twin), or undefined (401). */
export type OperatorAuthenticate = (c: Context) => Promise<string | undefined> | string | undefined;

export interface OperatorApiDependencies {
  admin: OrganizationAdminDeps;
  authenticate: OperatorAuthenticate;
  log?: (entry: Record<string, unknown>) => void;
}

const STATUS_OF: Record<Exclude<AdminResult<unknown>, { ok: true }>['code'], ErrorStatus> = {
  not_found: 404,
  exists: 409,
  full: 409,
  has_data: 409,
  conflict: 409,
  invalid: 400,
};

function answer<T>(c: Context, result: AdminResult<T>, ok: 200 | 201 = 200): Response {
  if (result.ok) return c.json(result.value as object, ok);
  return apiError(c, STATUS_OF[result.code], result.code, result.message, result.problems);
}

async function body(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new ApiError(400, 'invalid_json', 'the body must be JSON');
  }
}

function orgParam(c: Context): string {
  const org = c.req.param('org') ?? '';
  // Not a valid id: no such organization (and never a key built from it).
  if (!isValidOrgId(org)) throw new ApiError(404, 'not_found', `there is no organization ${org.slice(0, 63)}`);
  return org;
}

export function createOperatorApi(deps: OperatorApiDependencies): Hono {
  const app = new Hono();
  const { admin } = deps;
  const log = deps.log ?? ((entry) => console.log(JSON.stringify(entry)));

  app.use('/operator/*', async (c, next) => {
    const operator = await deps.authenticate(c);
    if (!operator) return apiError(c, 401, 'unauthorized', 'operator credentials are required');
    await next();
    // Who changed which organization: the audit trail of every operator write.
    if (c.req.method !== 'GET') {
      log({
        level: 'INFO',
        message: 'operator request',
        operator,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
      });
    }
  });

  const base = '/operator/v1/organizations';
  app.get(base, async (c) => c.json({ organizations: await admin.organizations.list() }, 200));
  app.get(`${base}/:org`, async (c) => {
    const org = orgParam(c);
    const found = await admin.organizations.get(org);
    return found ? c.json(found, 200) : apiError(c, 404, 'not_found', `there is no organization ${org}`);
  });
  app.post(base, async (c) => {
    const checked = checkNewOrganization(await body(c));
    if (!checked.ok) return apiError(c, 400, 'invalid_organization', checked.problems[0]!.message, checked.problems);
    return answer(c, await createOrganization(admin, checked.value), 201);
  });
  app.put(`${base}/:org`, async (c) => {
    const org = orgParam(c);
    const raw = await body(c);
    const checked = checkNewOrganization({ ...(typeof raw === 'object' && raw ? raw : {}), id: org });
    if (!checked.ok) return apiError(c, 400, 'invalid_organization', checked.problems[0]!.message, checked.problems);
    const result = await syncOrganization(admin, checked.value);
    return answer(c, result, result.ok && result.value.created ? 201 : 200);
  });
  app.patch(`${base}/:org`, async (c) => {
    const org = orgParam(c);
    const checked = checkOrganizationChange(await body(c));
    if (!checked.ok) return apiError(c, 400, 'invalid_organization', checked.problems[0]!.message, checked.problems);
    return answer(c, await updateOrganization(admin, org, checked.value));
  });
  app.post(`${base}/:org/suspend`, async (c) => answer(c, await suspendOrganization(admin, orgParam(c))));
  app.post(`${base}/:org/resume`, async (c) => answer(c, await resumeOrganization(admin, orgParam(c))));
  app.delete(`${base}/:org`, async (c) => {
    const force = c.req.query('force') === 'true';
    return answer(c, await deleteOrganization(admin, orgParam(c), { force }));
  });

  app.notFound((c) => apiError(c, 404, 'not_found', `no route ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    if (err instanceof ApiError) return apiError(c, err.status, err.code, err.message, err.problems);
    log({ level: 'ERROR', message: 'unhandled operator API error', error: err.message });
    return apiError(c, 500, 'internal', 'internal error');
  });
  return app;
}
