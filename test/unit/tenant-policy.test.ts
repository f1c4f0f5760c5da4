import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { STSClient } from '@aws-sdk/client-sts';
import { tenantStores } from '../../functions/adapters/tenant-stores.ts';
import {
  MAX_SESSION_POLICY_LENGTH,
  TENANT_TABLE_ACTIONS,
  type TenantResources,
  tenantSessionPolicy,
} from '../../functions/core/tenant-policy.ts';

const resources: TenantResources = {
  jobs: 'arn:aws:dynamodb:eu-central-1:123456789012:table/Integrator-StorageJobs1234567-ABCDEFGHIJKL',
  runs: 'arn:aws:dynamodb:eu-central-1:123456789012:table/Integrator-StorageRuns1234567-ABCDEFGHIJKL',
  runErrors: 'arn:aws:dynamodb:eu-central-1:123456789012:table/Integrator-StorageRunErrors123-ABCDEFGHIJKL',
  runLists: 'arn:aws:dynamodb:eu-central-1:123456789012:table/Integrator-StorageRuns1234567-ABCDEFGHIJKL/index/byList',
  organizations: 'arn:aws:dynamodb:eu-central-1:123456789012:table/Integrator-StorageOrganizations-ABCDEFGHIJKL',
  dataKey: 'arn:aws:kms:eu-central-1:123456789012:key/12345678-1234-1234-1234-123456789012',
};

interface Statement {
  Action: string[];
  Resource: string;
  Condition?: Record<string, Record<string, string | string[]>>;
}

function statements(org: string): Statement[] {
  return (JSON.parse(tenantSessionPolicy(org, resources)) as { Statement: Statement[] }).Statement;
}

/** A tiny evaluator of the policy's LeadingKeys conditions: may `action` on `table` touch partition `key`? */
function allows(org: string, action: string, table: string, key: string | undefined): boolean {
  return statements(org).some((s) => {
    if (s.Resource !== table || !s.Action.includes(action)) return false;
    const c = s.Condition ?? {};
    if (c.Null?.['dynamodb:LeadingKeys'] === 'false' && key === undefined) return false;
    const exact = c['ForAllValues:StringEquals']?.['dynamodb:LeadingKeys'] as string[] | undefined;
    const like = c['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[] | undefined;
    if (exact) return key !== undefined && exact.includes(key);
    if (like) return key !== undefined && like.some((p) => new RegExp(`^${p.replace(/\*/g, '.*')}$`).test(key));
    return false;
  });
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
  assert.deepEqual(TENANT_TABLE_ACTIONS.runs, ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
  assert.ok(!allows('acme', 'dynamodb:UpdateItem', resources.runLists, 'acme#completed'));
  const key = statements('acme').find((s) => s.Resource === resources.dataKey);
  assert.deepEqual(key?.Action.sort(), ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']);
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
