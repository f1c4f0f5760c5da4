/**
 * The OpenAPI document (schemas/openapi.json) as a check on the app: `contractChecked(app)` is the app with a
 * `request` that validates every request a test makes and every answer the app gives against the document, and
 * fails the test (an AssertionError naming the operation and what is wrong) when they disagree:
 *
 * - the answer's status must be one the operation documents, and its JSON body must match that response's schema;
 * - a request the document does not allow (a route it does not list, an unknown query parameter, a body that breaks
 *   the request schema, no token where one is required) must be refused with a 4xx: an app that accepts what the
 *   document forbids means the document is wrong, or the app too lax;
 * - requests the document allows may still get a 4xx (the server checks more than a schema can say).
 *
 * OpenAPI 3.1 schemas are JSON Schema 2020-12, so Ajv's 2020 build checks them as they are. `coverage()` says which
 * operation answered which status, for tests that want every operation exercised.
 */
import { AssertionError } from 'node:assert';
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { repoPath } from '../../lib/aws/paths.ts';

// biome-ignore lint/suspicious/noExplicitAny: the document is JSON read from disk, walked by key
type Json = any;

export const OPENAPI_PATH = 'schemas/openapi.json';
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
const SCHEMA_ID = 'https://integrator.invalid/openapi.json';

export function readOpenApi(): Json {
  return JSON.parse(readFileSync(repoPath(OPENAPI_PATH), 'utf8'));
}

export interface Operation {
  method: string;
  /** As the document spells it: `/v1/jobs/{jobId}`. */
  path: string;
  operation: Json;
  parameters: Json[];
}

/**
 * Operations (`METHOD /path`) documented from other branches before they are merged into this one (the document's
 * `x-pending-routes`): they may be absent from the app; once served they must leave the list (openapi.test.ts).
 */
export function pendingOperations(doc: Json): Set<string> {
  return new Set<string>(doc['x-pending-routes']?.operations ?? []);
}

/** Every operation of the document, its path-level parameters merged in. */
export function operationsOf(doc: Json): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const parameters = [...(item.parameters ?? []), ...(operation.parameters ?? [])].map((p) => deref(doc, p));
      out.push({ method: method.toUpperCase(), path, operation, parameters });
    }
  }
  return out;
}

/** A local `$ref` (`#/components/...`) followed; anything else as it is. */
export function deref(doc: Json, node: Json): Json {
  let current = node;
  while (current && typeof current.$ref === 'string' && current.$ref.startsWith('#/')) {
    current = current.$ref
      .slice(2)
      .split('/')
      .reduce((at: Json, key: string) => at?.[key.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
  }
  return current;
}

/** Hono's `/v1/jobs/:jobId` as OpenAPI spells it, `/v1/jobs/{jobId}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}

export interface ContractChecker {
  doc: Json;
  validator(schema: Json): ValidateFunction;
  match(method: string, pathname: string): { op: Operation; params: Record<string, string> } | undefined;
}

export function contractOf(doc: Json = readOpenApi()): ContractChecker {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // Refs in the document are `#/components/schemas/...`: the components, under the document's own shape.
  ajv.addSchema({ $id: SCHEMA_ID, components: { schemas: doc.components?.schemas ?? {} } });
  const cache = new Map<string, ValidateFunction>();
  const operations = operationsOf(doc).map((op) => ({
    op,
    pattern: new RegExp(`^${op.path.replace(/\{([^}]+)\}/g, '(?<$1>[^/]+)')}$`),
  }));
  return {
    doc,
    validator(schema) {
      const key = JSON.stringify(schema);
      let fn = cache.get(key);
      if (!fn) {
        fn = ajv.compile(rebase(schema));
        cache.set(key, fn);
      }
      return fn;
    },
    match(method, pathname) {
      for (const { op, pattern } of operations) {
        if (op.method !== method) continue;
        const m = pattern.exec(pathname);
        if (m) {
          const params = Object.fromEntries(Object.entries(m.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
          return { op, params };
        }
      }
      return undefined;
    },
  };
}

/** `#/components/...` refs inside a schema compiled on its own point at the registered document. */
function rebase(schema: Json): Json {
  return JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', `"$ref":"${SCHEMA_ID}#/`));
}

type Requestable = { request(input: string | Request | URL, init?: RequestInit): Response | Promise<Response> };

export interface Exercised {
  method: string;
  path: string;
  status: number;
}

const exercised: Exercised[] = [];

/** Which documented operation answered which status, across every checked app of this test process. */
export function coverage(): readonly Exercised[] {
  return exercised;
}

/**
 * The app, with `request` checked against the document. Other members are the app's own (routes, fetch, ...).
 */
export function contractChecked<T extends Requestable>(app: T, contract: ContractChecker = defaultContract()): T {
  const request = async (input: string | Request | URL, init?: RequestInit) => {
    const req = new Request(
      typeof input === 'string' && input.startsWith('/') ? `http://localhost${input}` : input,
      init,
    );
    const refusals = await requestRefusals(contract, req.clone());
    const res = await app.request(input, init);
    const problems = await answerProblems(contract, req, res.clone(), refusals);
    if (problems.length > 0) {
      throw new AssertionError({
        message: `${req.method} ${new URL(req.url).pathname} disagrees with ${OPENAPI_PATH}:\n- ${problems.join('\n- ')}`,
      });
    }
    return res;
  };
  return new Proxy(app, {
    get: (target, key, receiver) => (key === 'request' ? request : Reflect.get(target, key, receiver)),
  });
}

let shared: ContractChecker | undefined;
function defaultContract(): ContractChecker {
  shared ??= contractOf();
  return shared;
}

const ajvErrors = (fn: ValidateFunction) =>
  (fn.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');

/** Why the document does not allow this request (empty: it does). */
async function requestRefusals(contract: ContractChecker, req: Request): Promise<string[]> {
  const url = new URL(req.url);
  const found = contract.match(req.method, url.pathname);
  if (!found) return [`no operation ${req.method} ${url.pathname} in the document`];
  const { op, params } = found;
  const out: string[] = [];
  const security = op.operation.security ?? [{ bearer: [] }];
  if (security.length > 0 && !req.headers.get('authorization')) out.push('no bearer token');
  for (const p of op.parameters.filter((p) => p.in === 'path')) {
    const fn = contract.validator(p.schema ?? {});
    if (!fn(params[p.name])) out.push(`path parameter ${p.name}: ${ajvErrors(fn)}`);
  }
  const query = op.parameters.filter((p) => p.in === 'query');
  for (const [name, value] of url.searchParams) {
    const p = query.find((q) => q.name === name);
    if (!p) out.push(`unknown query parameter ${name}`);
    else {
      const fn = contract.validator(p.schema ?? {});
      if (!fn(value)) out.push(`query parameter ${name}: ${ajvErrors(fn)}`);
    }
  }
  for (const p of query.filter((q) => q.required)) {
    if (!url.searchParams.has(p.name)) out.push(`missing query parameter ${p.name}`);
  }
  const body = op.operation.requestBody;
  if (body) {
    const text = await req.text();
    const type = (req.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const media = body.content?.[type];
    if (text === '' && body.required) out.push('no request body');
    else if (text !== '' && !media) out.push(`request content type ${type || '(none)'} is not documented`);
    else if (text !== '' && type === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        out.push('the request body is not JSON');
      }
      if (parsed !== undefined) {
        const fn = contract.validator(media.schema ?? {});
        if (!fn(parsed)) out.push(`request body: ${ajvErrors(fn)}`);
      }
    }
  }
  return out;
}

/** What is wrong with this answer to this request (empty: nothing). */
async function answerProblems(
  contract: ContractChecker,
  req: Request,
  res: Response,
  refusals: string[],
): Promise<string[]> {
  const url = new URL(req.url);
  const found = contract.match(req.method, url.pathname);
  const out: string[] = [];
  if (refusals.length > 0 && (res.status < 400 || res.status >= 500)) {
    out.push(`answered ${res.status} to a request the document does not allow (${refusals.join('; ')})`);
  }
  const text = await res.text();
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  let schema: Json;
  if (!found) {
    // A route the document does not list: only the app's refusals (no route, no credentials, no role) may answer.
    schema = { $ref: '#/components/schemas/Error' };
    if (![401, 403, 404].includes(res.status)) out.push(`undocumented route answered ${res.status}`);
  } else {
    const { op } = found;
    const documented = op.operation.responses?.[String(res.status)] ?? op.operation.responses?.default;
    if (!documented) {
      out.push(`status ${res.status} is not documented for ${op.method} ${op.path}`);
      return out;
    }
    exercised.push({ method: op.method, path: op.path, status: res.status });
    const response = deref(contract.doc, documented);
    const media = response.content?.[type];
    if (!response.content) {
      if (text !== '') out.push(`${res.status} documents no body, but one came`);
      return out;
    }
    if (!media) {
      out.push(
        `${res.status} answered ${type || '(no content type)'}, not ${Object.keys(response.content).join(', ')}`,
      );
      return out;
    }
    schema = media.schema ?? {};
  }
  if (type !== 'application/json') {
    out.push(`answered ${type || '(no content type)'}, not application/json`);
    return out;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    out.push('the answer is not JSON');
    return out;
  }
  const fn = contract.validator(schema);
  if (!fn(body)) out.push(`${res.status} body: ${ajvErrors(fn)}`);
  return out;
}
