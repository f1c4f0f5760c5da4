/**
 * schemas/openapi.json against the app: every route the Hono app serves is documented and every documented operation
 * is served (both read from the app itself, `app.routes`), the document's schemas compile as JSON Schema 2020-12,
 * every reference resolves, and what the middlewares guarantee on every route (401, 403) is documented. The requests
 * and answers of the API tests are checked by test/support/openapi-contract.ts (wired into those tests); the last
 * tests here show that that check fails when an answer or a request breaks the document.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Hono } from 'hono';
import { createApi } from '../../functions/api/app.ts';
import { READ_METHODS } from '../../functions/api/auth-roles.ts';
import {
  contractChecked,
  contractOf,
  openApiPath,
  operationsOf,
  pendingOperations,
  readOpenApi,
} from '../support/openapi-contract.ts';

// biome-ignore lint/suspicious/noExplicitAny: the document is JSON
type Json = any;
const doc = readOpenApi();
const app = createApi({ storesFor: () => ({}) as never, authenticate: () => undefined });

const served = () =>
  new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${openApiPath(r.path)}`));
const documented = () => new Set(operationsOf(doc).map((o) => `${o.method} ${o.path}`));

test('every route the app serves is in the document', () => {
  const missing = [...served()].filter((r) => !documented().has(r));
  assert.deepEqual(missing, [], `add these to schemas/openapi.json: ${missing.join(', ')}`);
});

test('every operation the document lists is served by the app (but those of branches not merged yet)', () => {
  const pending = pendingOperations(doc);
  const absent = [...documented()].filter((r) => !served().has(r) && !pending.has(r));
  assert.deepEqual(absent, [], `documented but not served: ${absent.join(', ')}`);
});

test('x-pending-routes names documented operations the app does not serve yet', () => {
  const pending = [...pendingOperations(doc)];
  const unknown = pending.filter((r) => !documented().has(r));
  assert.deepEqual(unknown, [], 'x-pending-routes names operations the document does not have');
  const merged = pending.filter((r) => served().has(r));
  assert.deepEqual(merged, [], `served now: remove these from x-pending-routes in schemas/openapi.json`);
});

test('the document is OpenAPI 3.1 with JSON Schema 2020-12 schemas that compile strictly', () => {
  assert.equal(doc.openapi, '3.1.0');
  assert.ok(doc.info?.title && doc.info?.version);
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats.default(ajv);
  ajv.addKeyword('components'); // the document's own shape around its schemas, not a keyword of theirs
  ajv.addSchema({ $id: 'https://integrator.invalid/openapi.json', components: { schemas: doc.components.schemas } });
  for (const name of Object.keys(doc.components.schemas)) {
    assert.doesNotThrow(
      () => ajv.compile({ $ref: `https://integrator.invalid/openapi.json#/components/schemas/${name}` }),
      name,
    );
  }
});

test('every $ref resolves, and component schemas are reused rather than repeated', () => {
  const refs: string[] = [];
  const walk = (node: Json) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      if (typeof node.$ref === 'string') refs.push(node.$ref);
      Object.values(node).forEach(walk);
    }
  };
  walk(doc);
  for (const ref of refs) {
    assert.match(ref, /^#\/components\//, ref);
    const target = ref
      .slice(2)
      .split('/')
      .reduce((at: Json, key: string) => at?.[key], doc);
    assert.ok(target, `${ref} resolves`);
  }
  const used = new Set(refs.map((r) => r.split('/').at(-1)));
  const unused = Object.keys(doc.components.schemas).filter((s) => !used.has(s));
  assert.deepEqual(unused, [], 'every component schema is used');
});

test('operations: unique ids, path parameters declared, and the guards every /v1 route has documented', () => {
  const ids = new Set<string>();
  for (const { method, path, operation, parameters } of operationsOf(doc)) {
    const where = `${method} ${path}`;
    assert.ok(operation.operationId && !ids.has(operation.operationId), `${where}: a unique operationId`);
    ids.add(operation.operationId);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    const declared = parameters
      .filter((p: Json) => p.in === 'path')
      .map((p: Json) => p.name)
      .sort();
    assert.deepEqual(declared, templated, `${where}: path parameters`);
    if (!path.startsWith('/v1/')) continue;
    for (const status of ['401', '403', '500']) assert.ok(operation.responses[status], `${where} documents ${status}`);
    if (!READ_METHODS.has(method)) assert.ok(operation.responses['403'], `${where}: read-only roles get 403`);
    const lists = Object.entries<Json>(operation.responses).some(
      ([s, r]) => s === '200' && /Page"/.test(JSON.stringify(r)),
    );
    if (lists) {
      const names = parameters.map((p: Json) => p.name);
      assert.ok(names.includes('limit') && names.includes('cursor'), `${where}: a list is paginated`);
    }
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The check itself fails when the app and the document disagree.

const contract = contractOf(doc);
function fake(build: (app: Hono) => void) {
  const fakeApp = new Hono();
  build(fakeApp);
  return contractChecked(fakeApp, contract);
}
const auth = { headers: { authorization: 'Bearer t' } };

test('an answer with a field the document does not have fails the check', async () => {
  const checked = fake((a) => a.get('/v1/jobs', (c) => c.json({ jobs: [], next: null, total: 3 })));
  await assert.rejects(async () => checked.request('/v1/jobs', auth), /200 body: .*additional properties/);
});

test('an undocumented status fails the check', async () => {
  const checked = fake((a) => a.get('/v1/jobs/:jobId', (c) => c.json({ error: { code: 'x', message: 'y' } }, 418)));
  await assert.rejects(async () => checked.request('/v1/jobs/a', auth), /status 418 is not documented/);
});

test('an error answer not of the one error shape fails the check', async () => {
  const checked = fake((a) => a.get('/v1/jobs/:jobId', (c) => c.json({ message: 'no such job' }, 404)));
  await assert.rejects(async () => checked.request('/v1/jobs/a', auth), /404 body/);
});

test('an undocumented route that answers 200 fails the check; its 404 passes', async () => {
  const checked = fake((a) => {
    a.get('/v1/secret', (c) => c.json({ ok: true }));
    a.notFound((c) => c.json({ error: { code: 'not_found', message: 'no route' } }, 404));
  });
  await assert.rejects(async () => checked.request('/v1/secret', auth), /undocumented route answered 200/);
  assert.equal((await checked.request('/v1/elsewhere', auth)).status, 404);
});

test('accepting a request the document forbids fails the check (an unknown body field, an unknown parameter)', async () => {
  const checked = fake((a) => {
    a.put('/v1/jobs/:jobId', (c) => c.json({ error: { code: 'x', message: 'y' } }, 500));
    a.get('/v1/runs', (c) => c.json({ runs: [], next: null }));
  });
  const put = { method: 'PUT', headers: { ...auth.headers, 'content-type': 'application/json' } };
  await assert.rejects(
    async () =>
      checked.request('/v1/jobs/a', { ...put, body: JSON.stringify({ templateId: 't', mapping: [], colour: 'red' }) }),
    /answered 500 to a request the document does not allow .*request body/,
  );
  await assert.rejects(async () => checked.request('/v1/runs?sort=name', auth), /unknown query parameter sort/);
  await assert.rejects(async () => checked.request('/v1/runs'), /no bearer token/);
});
