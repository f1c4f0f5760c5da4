import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApi } from '../../functions/api/app.ts';
import { createOperatorApi } from '../../functions/api/organizations-routes.ts';
import type { OrganizationAdminDeps } from '../../functions/core/organization-admin.ts';
import {
  checkNewOrganization,
  checkOrganizationChange,
  ERASE_STEPS,
  isTimeZone,
  type Organization,
} from '../../functions/core/organizations.ts';
import type { OrganizationStore } from '../../functions/core/ports.ts';
import { MAX_SSH_KEYS_PER_USER } from '../../functions/core/ssh-keys.ts';
import { localAuthenticate, localIssuer, localOperatorAuthenticate } from '../../lib/local/local-auth.ts';
import { MemoryJobRepository } from '../fixtures/memory-job-repository.ts';
import { MemoryRunReports } from '../fixtures/memory-reports.ts';
import { contractChecked } from '../support/openapi-contract.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+NtynIufFPrWfWK1RD9ncB3sS29RFcFnqrH6XHUkSx test';

/** The store's rules (conditional writes, the key limit) kept in memory. */
function memoryOrganizations(): OrganizationStore {
  const items = new Map<string, Organization>();
  const copy = (o: Organization | undefined) => (o ? structuredClone(o) : undefined);
  return {
    get: async (org) => copy(items.get(org)),
    list: async () => [...items.values()].map((o) => structuredClone(o)),
    async create(org) {
      if (items.has(org.id)) return false;
      items.set(org.id, structuredClone(org));
      return true;
    },
    async update(org, change, at) {
      const o = items.get(org);
      if (!o) return undefined;
      Object.assign(o, change, { updatedAt: at.toISOString() });
      return copy(o);
    },
    async setStatus(org, status) {
      const o = items.get(org);
      if (!o) return undefined;
      o.status = status;
      return copy(o);
    },
    async addKey(org, key) {
      const o = items.get(org);
      if (!o) return 'not_found';
      if (o.sshKeys.some((k) => k.fingerprint === key.fingerprint)) return 'exists';
      if (o.sshKeys.length >= MAX_SSH_KEYS_PER_USER) return 'full';
      o.sshKeys.push({ ...key });
      return 'added';
    },
    async setProviderKeyId(org, fingerprint, id) {
      const k = items.get(org)?.sshKeys.find((x) => x.fingerprint === fingerprint);
      if (!k) return;
      if (id) k.providerKeyId = id;
      else delete k.providerKeyId;
    },
    async removeKey(org, fingerprint) {
      const o = items.get(org);
      const k = o?.sshKeys.find((x) => x.fingerprint === fingerprint);
      if (!o || !k) return undefined;
      o.sshKeys = o.sshKeys.filter((x) => x !== k);
      return k;
    },
    remove: async (org) => void items.delete(org),
  };
}

function operatorApp() {
  const calls: string[] = [];
  const held = new Set<string>();
  const admin: OrganizationAdminDeps = {
    organizations: memoryOrganizations(),
    sftpUsers: {
      ensureUser: async (org) => void calls.push(`ensureUser ${org}`),
      deleteUser: async (org) => void calls.push(`deleteUser ${org}`),
      importKey: async (org) => {
        calls.push(`importKey ${org}`);
        return `key-${calls.length}`;
      },
      deleteKey: async (org, id) => void calls.push(`deleteKey ${org} ${id}`),
    },
    data: {
      createFolders: async (org) => void calls.push(`createFolders ${org}`),
      holdings: async (org) => (held.has(org) ? ['records'] : []),
      jobIds: async () => ['j1'],
      erase: async (org, step) => void calls.push(`erase ${org} ${step}`),
    },
    scheduler: { remove: async (org, jobId) => void calls.push(`unschedule ${org} ${jobId}`) },
    now: () => new Date('2026-12-01T10:00:00Z'),
  };
  const app = createOperatorApi({ admin, authenticate: localOperatorAuthenticate('operator-secret'), log: () => {} });
  const send = (method: string, path: string, body?: unknown, token = 'operator-secret') =>
    app.request(`/operator/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  return { send, calls, held };
}

test('rules: id, name, limit, contacts, IANA time zone; only changeable fields change', () => {
  assert.ok(isTimeZone('Europe/Berlin') && isTimeZone('UTC') && isTimeZone('America/Argentina/Buenos_Aires'));
  assert.ok(!isTimeZone('Mars/Olympus') && !isTimeZone('') && !isTimeZone('GMT+25'));
  const ok = checkNewOrganization({ id: 'acme', name: 'Acme', sshPublicKeys: [KEY] });
  assert.ok(ok.ok);
  assert.deepEqual(ok.value, {
    id: 'acme',
    name: 'Acme',
    allowedRecords: 100_000,
    contacts: [],
    timeZone: 'UTC',
    sshPublicKeys: [KEY],
  });
  const bad = checkNewOrganization({
    id: 'Acme Corp',
    allowedRecords: -1,
    contacts: ['nope'],
    timeZone: 'Europe/Nowhere',
    sshPublicKeys: ['ssh-dss AAAA'],
  });
  assert.ok(!bad.ok);
  assert.deepEqual(
    bad.problems.map((p) => p.field ?? p.code),
    ['id', 'allowedRecords', 'contacts', 'timeZone', 'ssh_key_dsa'],
  );
  assert.match(bad.problems[3]!.message, /"Europe\/Nowhere" is not an IANA time zone/);
  const change = checkOrganizationChange({ status: 'active', name: 'X' });
  assert.ok(!change.ok);
  assert.match(change.problems[0]!.message, /status: cannot be changed here/);
  assert.ok(!checkOrganizationChange({}).ok);
});

test("the operator route refuses an organization's token and no credentials; the operator's works", async () => {
  const { send } = operatorApp();
  const orgToken = localIssuer('api-secret').issue('acme');
  assert.equal((await send('GET', '/organizations', undefined, orgToken)).status, 401);
  assert.equal((await send('GET', '/organizations', undefined, '')).status, 401);
  assert.equal((await send('GET', '/organizations', undefined, 'operator-secreT')).status, 401);
  assert.equal((await send('GET', '/organizations')).status, 200);
});

test('create makes the item, the user, its keys and folders; a second create is a conflict', async () => {
  const { send, calls } = operatorApp();
  const created = await send('POST', '/organizations', { id: 'acme', name: 'Acme', sshPublicKeys: [KEY] });
  assert.equal(created.status, 201);
  const org = (await created.json()) as Organization;
  assert.equal(org.status, 'active');
  assert.equal(org.sshKeys[0]!.providerKeyId, 'key-2');
  assert.deepEqual(calls, ['ensureUser acme', 'importKey acme', 'createFolders acme']);
  const again = await send('POST', '/organizations', { id: 'acme', name: 'Acme' });
  assert.equal(again.status, 409);
  const invalid = await send('POST', '/organizations', { id: 'acme', timeZone: 'Nowhere/Land' });
  assert.equal(invalid.status, 400);
  assert.match(JSON.stringify(await invalid.json()), /not an IANA time zone/);
});

test('suspend takes the keys out of the provider and keeps them; resume puts them back', async () => {
  const { send, calls } = operatorApp();
  await send('POST', '/organizations', { id: 'acme', sshPublicKeys: [KEY] });
  calls.length = 0;
  const suspended = (await (await send('POST', '/organizations/acme/suspend')).json()) as Organization;
  assert.equal(suspended.status, 'suspended');
  assert.equal(suspended.sshKeys.length, 1);
  assert.equal(suspended.sshKeys[0]!.providerKeyId, undefined);
  assert.deepEqual(calls, ['deleteKey acme key-2']);
  const resumed = (await (await send('POST', '/organizations/acme/resume')).json()) as Organization;
  assert.equal(resumed.status, 'active');
  assert.ok(resumed.sshKeys[0]!.providerKeyId);
});

test('delete is refused while data exists; forced, it erases in order, the item last, and can be run again', async () => {
  const { send, calls, held } = operatorApp();
  await send('POST', '/organizations', { id: 'acme' });
  held.add('acme');
  const refused = await send('DELETE', '/organizations/acme');
  assert.equal(refused.status, 409);
  assert.match(JSON.stringify(await refused.json()), /still holds records/);
  calls.length = 0;
  const done = await send('DELETE', '/organizations/acme?force=true');
  assert.equal(done.status, 200);
  assert.deepEqual(((await done.json()) as { steps: string[] }).steps, [...ERASE_STEPS, 'organization']);
  assert.deepEqual(calls.slice(0, 2), ['deleteUser acme', 'unschedule acme j1']);
  assert.equal((await send('GET', '/organizations/acme')).status, 404);
  assert.equal((await send('DELETE', '/organizations/acme?force=true')).status, 404);
});

test('/v1/sftp-keys: the firm admin adds and removes keys of their own organization, by the documented contract', async () => {
  const organizations = memoryOrganizations();
  const imported: string[] = [];
  const deleted: string[] = [];
  const issuer = localIssuer('api-secret');
  const app = contractChecked(
    createApi({
      storesFor: () => ({ reports: new MemoryRunReports(), jobs: new MemoryJobRepository([]), organizations }),
      authenticate: localAuthenticate(issuer),
      sftpUsers: {
        ensureUser: async () => {},
        deleteUser: async () => {},
        importKey: async (org, body) => {
          imported.push(`${org} ${body.split(' ')[0]}`);
          return `key-${imported.length}`;
        },
        deleteKey: async (org, id) => void deleted.push(`${org} ${id}`),
      },
    }),
  );
  const at = new Date('2026-12-01T10:00:00Z');
  await organizations.create({
    id: 'acme',
    name: 'Acme',
    allowedRecords: 10,
    contacts: [],
    timeZone: 'UTC',
    status: 'active',
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    sshKeys: [],
  });
  const admin = { authorization: `Bearer ${issuer.issue('acme')}`, 'content-type': 'application/json' };
  const viewer = {
    authorization: `Bearer ${issuer.issueFor({ org: 'acme', email: 'v@acme.example.com', name: 'v', role: 'viewer' })}`,
    'content-type': 'application/json',
  };
  const post = (headers: Record<string, string>, publicKey: unknown) =>
    app.request('/v1/sftp-keys', { method: 'POST', headers, body: JSON.stringify({ publicKey }) });

  assert.equal((await post(viewer, KEY)).status, 403);
  const short = await post(admin, 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7');
  assert.equal(short.status, 400);
  const added = await post(admin, KEY);
  assert.equal(added.status, 201);
  const key = (await added.json()) as { id: string };
  assert.equal((await post(admin, KEY)).status, 409);
  assert.deepEqual(imported, ['acme ssh-ed25519']);
  const listed = (await (await app.request('/v1/sftp-keys', { headers: viewer })).json()) as {
    keys: unknown[];
    limit: number;
  };
  assert.equal(listed.keys.length, 1);
  assert.equal(listed.limit, 50);
  const path = `/v1/sftp-keys/${encodeURIComponent(key.id)}`;
  assert.equal((await app.request(path, { method: 'DELETE', headers: viewer })).status, 403);
  assert.equal((await app.request(path, { method: 'DELETE', headers: admin })).status, 200);
  assert.deepEqual(deleted, ['acme key-1']);
  assert.equal((await app.request(path, { method: 'DELETE', headers: admin })).status, 404);
  // Another organization's firm admin sees none of acme's keys (its own item has none: 404 as if missing).
  const globex = { authorization: `Bearer ${issuer.issue('globex')}` };
  assert.equal((await app.request('/v1/sftp-keys', { headers: globex })).status, 404);
});
