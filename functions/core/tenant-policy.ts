/**
 * What the API may touch on behalf of one organization, as an IAM session policy: the API's DynamoDB calls run with
 * credentials of the tenant-data role assumed with this policy (functions/adapters/tenant-stores.ts), so a bug in a
 * route cannot read or write another organization's items, whatever key it builds.
 *
 * `dynamodb:LeadingKeys` is the partition key of every item a request touches: exactly the organization id for the
 * tables keyed by `org`, and `<org>#...` for the tables whose partition key starts with it (RunErrors' orgRun).
 * Organization ids are `a-z 0-9 -` without `#`, so `acme#*` never matches an item of `acme-corp`. Only item and query
 * actions are allowed: a Scan has no leading key, and `ForAllValues` over no keys would be true, so the `Null`
 * condition also requires that the request names one. Pure: the adapter passes the ARNs it was configured with.
 */
import { assertOrgId } from './transfer/layout.ts';

/** The tables the API reads and writes, by ARN, and the key that encrypts them. */
export interface TenantResources {
  jobs: string;
  runs: string;
  runErrors: string;
  /** The Runs index of the reports' lists (`byList`, keyed `<org>#needs-attention` and `<org>#completed`). */
  runLists: string;
  /** The Organizations table: the Billing report reads the organization's own item. */
  organizations: string;
  /** The customer-managed key of the tables: DynamoDB uses it with the caller's own credentials. */
  dataKey: string;
}

/** What the API calls on each table (TransactWriteItems is authorized per action inside it). */
export const TENANT_TABLE_ACTIONS = {
  jobs: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  // UpdateItem: comments and acknowledgements (conditional updates of an existing run).
  runs: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  runErrors: ['dynamodb:Query'],
  runLists: ['dynamodb:Query'],
  // GetItem: the Billing report (limit and per-period counters on the organization's item); UpdateItem: its SFTP
  // keys (/v1/sftp-keys), the only attributes the API writes there (ssh-keys-routes.ts).
  organizations: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
} as const satisfies Record<string, readonly string[]>;

/** How each table's partition key starts with the organization: the whole key, or `<org>#` then more. */
export const TENANT_KEY_SHAPE = {
  jobs: 'exact',
  runs: 'exact',
  runErrors: 'prefix',
  runLists: 'prefix',
  organizations: 'exact',
} as const;

export const TENANT_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'] as const;

/** STS refuses a session policy longer than this (packed, without spaces). */
export const MAX_SESSION_POLICY_LENGTH = 2048;

interface Statement {
  Effect: 'Allow';
  Action: string[];
  Resource: string;
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** The session policy for `org`, as the JSON text STS takes. Throws on an id that is not an organization id. */
export function tenantSessionPolicy(org: string, resources: TenantResources): string {
  assertOrgId(org);
  const statements: Statement[] = (Object.keys(TENANT_TABLE_ACTIONS) as (keyof typeof TENANT_TABLE_ACTIONS)[]).map(
    (table) => {
      const exact = TENANT_KEY_SHAPE[table] === 'exact';
      return {
        Effect: 'Allow',
        Action: [...TENANT_TABLE_ACTIONS[table]],
        Resource: resources[table],
        Condition: {
          [exact ? 'ForAllValues:StringEquals' : 'ForAllValues:StringLike']: {
            'dynamodb:LeadingKeys': [exact ? org : `${org}#*`],
          },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      };
    },
  );
  statements.push({ Effect: 'Allow', Action: [...TENANT_KEY_ACTIONS], Resource: resources.dataKey });
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: statements });
  if (policy.length > MAX_SESSION_POLICY_LENGTH) {
    throw new Error(
      `the session policy has ${policy.length} characters; STS takes at most ${MAX_SESSION_POLICY_LENGTH}`,
    );
  }
  return policy;
}

/** The environment through which the API function learns the tenant role and the resources (set by lib/aws/api.ts). */
export const TENANT_ENV = {
  roleArn: 'TENANT_ROLE_ARN',
  jobs: 'TENANT_JOBS_TABLE_ARN',
  runs: 'TENANT_RUNS_TABLE_ARN',
  runErrors: 'TENANT_RUN_ERRORS_TABLE_ARN',
  runLists: 'TENANT_RUN_LISTS_INDEX_ARN',
  organizations: 'TENANT_ORGANIZATIONS_TABLE_ARN',
  dataKey: 'TENANT_DATA_KEY_ARN',
} as const;
