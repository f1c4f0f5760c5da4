import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { STSClient } from '@aws-sdk/client-sts';
import { tenantStores } from '../../functions/adapters/tenant-stores.ts';
import {
  MAX_SESSION_POLICY_LENGTH,
  TENANT_DATA,
  type TenantDataEntry,
  type TenantDataName,
  type TenantResources,
  tenantSessionPolicy,
} from '../../functions/core/tenant-policy.ts';
import { tables } from '../../schemas/tables.ts';

const table = (name: string) =>
  `arn:aws:dynamodb:eu-central-1:123456789012:table/Integrator-Storage${name}ABCD1234-ABCDEFGHIJKL`;
const resources: TenantResources = {
  jobs: table('Jobs'),
  runs: table('Runs'),
  runErrors: table('RunErrors'),
  runLists: `${table('Runs')}/index/byList`,
  organizations: table('Organizations'),
  calendarEvents: table('CalendarEvents'),
  calendarEventsByManager: `${table('CalendarEvents')}/index/byCaseManager`,
  calendarConnections: table('CalendarConnections'),
  calendarLinks: table('CalendarLinks'),
  calendarLinksParked: `${table('CalendarLinks')}/index/byParked`,
  calendarGrants: table('CalendarGrants'),
  dataKey: 'arn:aws:kms:eu-central-1:123456789012:key/12345678-1234-1234-1234-123456789012',
  calendarKey: 'arn:aws:kms:eu-central-1:123456789012:key/87654321-4321-4321-4321-210987654321',
};
const nameOf = new Map(Object.entries(resources).map(([name, arn]) => [arn, name]));

interface Statement {
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

function statements(org: string): Statement[] {
  return (JSON.parse(tenantSessionPolicy(org, resources)) as { Statement: Statement[] }).Statement;
}

const matches = (pattern: string, key: string) => new RegExp(`^${pattern.replace(/\*/g, '.*')}$`).test(key);

/**
 * A tiny evaluator of what a session of `org` may do: the session policy (its LeadingKeys conditions) and the tenant
 * role's policy (per table its actions and key shape, TENANT_DATA, with the session tag `org`) must both allow it.
 */
function allows(org: string, action: string, arn: string, key: string | undefined): boolean {
  const session = statements(org).some((s) => {
    const listed = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
    if (!listed.some((r) => matches(r, arn)) || !s.Action.includes(action)) return false;
    const c = s.Condition ?? {};
    if (c.Null?.['dynamodb:LeadingKeys'] === 'false' && key === undefined) return false;
    const like = c['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined;
    return key !== undefined && !!like?.some((p) => matches(p, key));
  });
  const entry = TENANT_DATA[nameOf.get(arn) as TenantDataName] as TenantDataEntry | undefined;
  const role =
    !!entry &&
    entry.actions.includes(action as never) &&
    key !== undefined &&
    (entry.key === 'exact' ? key === org : matches(`${org}#*`, key));
  return session && role;
}

test('the session policy lets an organization touch only its own partitions', () => {
  assert.ok(allows('acme', 'dynamodb:GetItem', resources.jobs, 'acme'));
  assert.ok(allows('acme', 'dynamodb:Query', resources.runs, 'acme'));
  assert.ok(allows('acme', 'dynamodb:Query', resources.runErrors, 'acme#20261124T070100000Z-abcdef'));
  for (const other of ['globex', 'acme-corp', 'acm', 'acme#x']) {
    assert.ok(!allows('acme', 'dynamodb:GetItem', resources.jobs, other), `jobs of ${other}`);
    assert.ok(!allows('acme', 'dynamodb:Query', resources.runs, other), `runs of ${other}`);
  }
  assert.ok(!allows('acme', 'dynamodb:Query', resources.runErrors, 'acme-corp#r1'), 'a name sharing the prefix');
  assert.ok(!allows('acme', 'dynamodb:Query', resources.runErrors, 'acme'), 'run errors are keyed <org>#<run>');
  assert.ok(!allows('acme', 'dynamodb:GetItem', resources.jobs, undefined), 'a request without a leading key');
  // The reports' lists: `<org>#needs-attention`, never the run watch's `running` list of every organization.
  assert.ok(allows('acme', 'dynamodb:Query', resources.runLists, 'acme#needs-attention'));
  assert.ok(!allows('acme', 'dynamodb:Query', resources.runLists, 'running'));
  assert.ok(!allows('acme', 'dynamodb:Query', resources.runLists, 'globex#completed'));
  assert.ok(!allows('acme', 'dynamodb:Query', resources.runLists, 'acme-corp#completed'));
  // The Billing report and the SFTP keys (/v1/sftp-keys): the organization's own item only.
  assert.ok(allows('acme', 'dynamodb:GetItem', resources.organizations, 'acme'));
  assert.ok(!allows('acme', 'dynamodb:GetItem', resources.organizations, 'globex'));
  assert.ok(allows('acme', 'dynamodb:UpdateItem', resources.organizations, 'acme'));
  assert.ok(!allows('acme', 'dynamodb:UpdateItem', resources.organizations, 'acme-corp'));
  assert.ok(!allows('acme', 'dynamodb:PutItem', resources.organizations, 'acme'));
});

test('only what the API calls: no Scan, no batch writes, runs only updated (notes), never put', () => {
  const actions = statements('acme').flatMap((s) => s.Action);
  for (const forbidden of ['dynamodb:Scan', 'dynamodb:BatchWriteItem', 'dynamodb:BatchGetItem', 'dynamodb:*']) {
    assert.ok(!actions.includes(forbidden), forbidden);
  }
  assert.ok(!allows('acme', 'dynamodb:PutItem', resources.runs, 'acme'));
  assert.ok(!allows('acme', 'dynamodb:UpdateItem', resources.runErrors, 'acme#r'));
  assert.deepEqual(TENANT_DATA.runs.actions, ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
  assert.ok(!allows('acme', 'dynamodb:UpdateItem', resources.runLists, 'acme#completed'));
  const key = statements('acme').find((s) => s.Resource === resources.dataKey);
  assert.deepEqual(key?.Action.sort(), ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']);
  // No table beyond those listed (Records, Files...): the session's DynamoDB statement names exactly these.
  for (const other of ['Records', 'Files', 'Notifications']) {
    assert.ok(!allows('acme', 'dynamodb:GetItem', table(other), 'acme'), other);
    assert.ok(
      !statements('acme').some((s) => [s.Resource].flat().some((r) => matches(r, table(other)))),
      `${other} is not in the session policy`,
    );
  }
});

test('calendar sync: events, settings, links and grants of the organization only; the grant key with its own context', () => {
  // Our events (keyed by org) and a case manager's events (byCaseManager, `<org>#<manager>`).
  assert.ok(allows('acme', 'dynamodb:PutItem', resources.calendarEvents, 'acme'));
  assert.ok(allows('acme', 'dynamodb:DeleteItem', resources.calendarEvents, 'acme'));
  assert.ok(!allows('acme', 'dynamodb:PutItem', resources.calendarEvents, 'globex'));
  assert.ok(
    !allows('acme', 'dynamodb:PutItem', resources.calendarEvents, 'acme#x'),
    'the events table is keyed by org',
  );
  assert.ok(allows('acme', 'dynamodb:Query', resources.calendarEventsByManager, 'acme#u-1'));
  assert.ok(!allows('acme', 'dynamodb:Query', resources.calendarEventsByManager, 'acme-corp#u-1'));
  assert.ok(!allows('acme', 'dynamodb:PutItem', resources.calendarEventsByManager, 'acme#u-1'));
  // The settings partition (subscription, managers, connections, OAuth states); never the pause list of all.
  assert.ok(allows('acme', 'dynamodb:GetItem', resources.calendarConnections, 'acme'));
  assert.ok(!allows('acme', 'dynamodb:GetItem', resources.calendarConnections, 'globex'));
  // Links and grants: `<org>#<connection>`.
  assert.ok(allows('acme', 'dynamodb:Query', resources.calendarLinks, 'acme#c-1'));
  assert.ok(!allows('acme', 'dynamodb:Query', resources.calendarLinks, 'acme-corp#c-1'));
  assert.ok(allows('acme', 'dynamodb:Query', resources.calendarLinksParked, 'acme#parked'));
  assert.ok(!allows('acme', 'dynamodb:Query', resources.calendarLinksParked, 'globex#parked'));
  assert.ok(allows('acme', 'dynamodb:GetItem', resources.calendarGrants, 'acme#c-1'));
  assert.ok(!allows('acme', 'dynamodb:GetItem', resources.calendarGrants, 'globex#c-1'));
  assert.ok(!allows('acme', 'dynamodb:Query', resources.calendarGrants, 'acme#c-1'), 'grants are read by key only');
  assert.ok(!allows('acme', 'dynamodb:GetItem', resources.calendarGrants, 'acme'), 'grants are keyed <org>#<id>');
  // The grant key: data keys only, and only with this organization as encryption context.
  const key = statements('acme').find((s) => s.Resource === resources.calendarKey);
  assert.deepEqual(key?.Action.sort(), ['kms:Decrypt', 'kms:GenerateDataKey']);
  assert.deepEqual(key?.Condition, { StringEquals: { 'kms:EncryptionContext:org': 'acme' } });
});

test('every index the API queries exists on its table (schemas/tables.ts)', () => {
  for (const entry of Object.values(TENANT_DATA) as TenantDataEntry[]) {
    const definition = tables.find((t) => t.id === entry.table);
    assert.ok(definition, entry.table);
    if (entry.index) {
      assert.ok(
        definition.globalIndexes?.some((i) => i.indexName === entry.index),
        `${entry.table} has ${entry.index}`,
      );
    }
  }
});

test('the policy fits STS (2,048 characters) with the longest organization id; other ids are refused', () => {
  assert.ok(tenantSessionPolicy('a'.repeat(63), resources).length <= MAX_SESSION_POLICY_LENGTH);
  for (const bad of ['', 'ACME', 'acme#x', 'a*', 'a'.repeat(64)])
    assert.throws(() => tenantSessionPolicy(bad, resources));
});

test('scoped stores: one AssumeRole per organization, cached until shortly before the credentials expire', async () => {
  let now = Date.parse('2026-12-01T10:00:00Z');
  const calls: { RoleArn?: string; Policy?: string; Tags?: { Key?: string; Value?: string }[] }[] = [];
  const sts = {
    send: async (command: { input: (typeof calls)[number] }) => {
      calls.push(command.input);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return {
        Credentials: {
          AccessKeyId: `AK${calls.length}`,
          SecretAccessKey: 's',
          SessionToken: 't',
          Expiration: new Date(now + 900_000),
        },
      };
    },
  } as unknown as STSClient;
  const storesFor = tenantStores({
    sts,
    roleArn: 'arn:aws:iam::123456789012:role/tenant',
    resources,
    region: 'eu-central-1',
    clock: { now: () => new Date(now) },
    build: (_db, org) => ({ org, built: calls.length }),
  });
  const [a1, a2, g] = await Promise.all([storesFor('acme'), storesFor('acme'), storesFor('globex')]);
  assert.equal(calls.length, 2, 'concurrent first requests of one organization share one AssumeRole');
  assert.equal(a1, a2);
  assert.equal(g.org, 'globex');
  const acmeCall = calls.find((c) => c.Tags?.[0]?.Value === 'acme')!;
  assert.equal(acmeCall.RoleArn, 'arn:aws:iam::123456789012:role/tenant');
  assert.equal(acmeCall.Policy, tenantSessionPolicy('acme', resources));
  assert.deepEqual(acmeCall.Tags, [{ Key: 'org', Value: 'acme' }]);

  now += 800_000;
  assert.equal(await storesFor('acme'), a1, 'still valid');
  assert.equal(calls.length, 2);
  now += 50_000; // less than a minute left
  const renewed = await storesFor('acme');
  assert.notEqual(renewed, a1);
  assert.equal(calls.length, 3);
});
