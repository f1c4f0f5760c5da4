/**
 * Roles from the token: a firm admin may do everything; a case manager and a viewer only read. The write routes are
 * enumerated from the app itself (`app.routes`), so a route added later is covered without this file changing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApi, type TenantStores } from '../../functions/api/app.ts';
import { callerFromClaims, groupsOf, userOf } from '../../functions/api/auth.ts';
import { READ_METHODS, type Role, roleFromGroups, SELF_SERVICE_PREFIXES } from '../../functions/api/auth-roles.ts';
import { localAuthenticate, localIssuer, localSubject } from '../../lib/local/local-auth.ts';
import { MemoryRunReports } from '../fixtures/memory-reports.ts';
import { contractChecked } from '../support/openapi-contract.ts';

const issuer = localIssuer('roles-secret');
let storeCalls = 0;
// Stores that count being handed out: a refused write must be refused before any store is reached.
const emptyStores: TenantStores = {
  reports: new MemoryRunReports(),
  jobs: {
    importJobs: async () => [],
    all: async () => [],
    list: async () => ({ items: [] }),
    get: async () => undefined,
    save: async () => 'saved' as const,
    markExported: async () => {},
  },
};
// The answers are checked against schemas/openapi.json too (403 documented on every route, in the one error shape).
const app = contractChecked(
  createApi({
    storesFor: () => {
      storeCalls++;
      return emptyStores;
    },
    authenticate: localAuthenticate(issuer),
  }),
);

const tokenOf = (role: Role | undefined, org = 'acme') =>
  issuer.issueFor({ org, email: `${role ?? 'nobody'}@${org}.example.com`, name: 'Someone', ...(role ? { role } : {}) });
const request = (method: string, path: string, token: string) =>
  app.request(path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(READ_METHODS.has(method) ? {} : { body: '{}' }),
  });
/** A concrete path for a route pattern: each `:param` becomes a plausible id. */
const concrete = (path: string) => path.replace(/:([A-Za-z]+)/g, 'x1');

const selfService = (path: string) => SELF_SERVICE_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));

/** Write routes, but the self-service ones (a case manager's own calendar connection: any role may write there). */
function writeRoutes(options: { selfService?: boolean } = {}): { method: string; path: string }[] {
  const routes = app.routes.filter(
    (r) =>
      r.method !== 'ALL' &&
      !READ_METHODS.has(r.method) &&
      r.path.startsWith('/v1/') &&
      selfService(r.path) === (options.selfService ?? false),
  );
  return routes.map((r) => ({ method: r.method, path: concrete(r.path) }));
}

test('self-service routes (a case manager connects their own calendar) pass the role guard for every role', async () => {
  assert.ok(writeRoutes({ selfService: true }).length >= 3);
  for (const role of ['case_manager', 'viewer'] as const) {
    for (const { method, path } of writeRoutes({ selfService: true })) {
      const res = await request(method, path, tokenOf(role));
      assert.ok(![401, 403].includes(res.status), `${role} ${method} ${path}: ${res.status}`);
    }
  }
});

test('the app has write routes to guard (enumerated from app.routes)', () => {
  assert.ok(writeRoutes().length >= 3, JSON.stringify(writeRoutes()));
});

for (const role of ['case_manager', 'viewer'] as const) {
  test(`a ${role}'s token is refused on every write route with a typed 403, before any store is reached`, async () => {
    for (const { method, path } of writeRoutes()) {
      const before = storeCalls;
      const res = await request(method, path, tokenOf(role));
      assert.equal(res.status, 403, `${method} ${path}`);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'read_only_role', `${method} ${path}`);
      assert.match(body.error.message, /may only read/);
      assert.equal(storeCalls, before, `${method} ${path} reached the stores`);
    }
  });

  test(`a ${role} reads every GET route`, async () => {
    for (const r of app.routes.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/'))) {
      const res = await request('GET', concrete(r.path), tokenOf(role));
      assert.notEqual(res.status, 403, r.path);
      assert.notEqual(res.status, 401, r.path);
    }
  });
}

test("a firm admin's writes pass the role guard", async () => {
  for (const { method, path } of writeRoutes()) {
    const res = await request(method, path, tokenOf('firm_admin'));
    assert.ok(![401, 403].includes(res.status), `${method} ${path}: ${res.status}`);
  }
});

test('a route added after the app was built is guarded too', async () => {
  const later = createApi({ storesFor: () => emptyStores, authenticate: localAuthenticate(issuer) });
  later.delete('/v1/later/:id', (c) => c.json({ deleted: c.req.param('id') }));
  const as = (role: Role) => ({ method: 'DELETE', headers: { authorization: `Bearer ${tokenOf(role)}` } });
  assert.equal((await later.request('/v1/later/x', as('viewer'))).status, 403);
  assert.equal((await later.request('/v1/later/x', as('case_manager'))).status, 403);
  assert.equal((await later.request('/v1/later/x', as('firm_admin'))).status, 200);
});

test('a user in no role group is refused everything, reads included', async () => {
  const res = await request('GET', '/v1/runs', tokenOf(undefined));
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'no_role');
});

test('a write without a token is a 401, not a 403', async () => {
  assert.equal((await app.request('/v1/jobs/x1', { method: 'PUT', body: '{}' })).status, 401);
});

test("Cognito's claims as API Gateway hands them over: every claim a string, groups as `[a b]`", () => {
  const claims = { sub: 'u-1', 'custom:org': 'acme', 'cognito:groups': '[viewer firm_admin]', email: 'a@acme.test' };
  assert.deepEqual(callerFromClaims(claims), { org: 'acme', subject: 'u-1', role: 'firm_admin', email: 'a@acme.test' });
  assert.deepEqual(groupsOf('[case_manager]'), ['case_manager']);
  assert.deepEqual(groupsOf(['viewer', 3]), ['viewer']);
  assert.deepEqual(groupsOf(undefined), []);
  assert.equal(roleFromGroups(['admins', 'case_manager', 'viewer']), 'case_manager', 'the strongest role wins');
  assert.equal(roleFromGroups(['admins']), undefined, 'a group that is no role grants nothing');
  assert.equal(callerFromClaims({ sub: 'u-1', 'cognito:groups': '[firm_admin]' }), undefined, 'no organization');
  assert.equal(callerFromClaims({ 'custom:org': 'acme' }), undefined, 'no user');
});

test('routes know their caller from the token: organization, user, role (for comments and acknowledgements)', async () => {
  const later = createApi({ storesFor: () => emptyStores, authenticate: localAuthenticate(issuer) });
  later.get('/v1/whoami', (c) => c.json(c.get('caller')));
  const res = await later.request('/v1/whoami', {
    headers: { authorization: `Bearer ${tokenOf('viewer', 'globex')}` },
  });
  assert.deepEqual(await res.json(), {
    org: 'globex',
    subject: localSubject('viewer@globex.example.com'),
    role: 'viewer',
    email: 'viewer@globex.example.com',
    name: 'Someone',
  });
  assert.equal(userOf({ org: 'a', subject: 's-1', role: 'viewer', email: 'v@a.test' }), 'v@a.test');
  assert.equal(userOf({ org: 'a', subject: 's-1', role: 'viewer' }), 's-1');
  const admin = callerFromClaims(await issuer.verify(issuer.issue('acme')));
  assert.deepEqual(admin, { org: 'acme', subject: 'local-admin@acme', role: 'firm_admin' });
});
