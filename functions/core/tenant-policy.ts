/**
 * What the API may touch on behalf of one organization. Two layers, both keyed by the organization:
 * - the tenant-data role's own policy (lib/aws/api.ts): per table and index exactly the actions of TENANT_DATA,
 *   and `dynamodb:LeadingKeys` of the shape of its key: the session tag `org` exactly (tables keyed by `org`), or
 *   `<org>#...` (RunErrors' orgRun, the calendar links' connKey...);
 * - the session policy of each assumed session (functions/adapters/tenant-stores.ts, built here), naming the
 *   organization itself, so a bug in a route cannot reach another organization's items, whatever key it builds.
 * A session may do only what both allow. The session policy is therefore one DynamoDB statement over the listed
 * tables and indexes whose leading key is the organization or starts with `<org>#` (the per-table action sets and key
 * shapes stay in the role's policy): STS refuses a session policy of more than 2,048 characters, and one statement per
 * table no longer fits; each table is named once, with its indexes (`<table ARN>*`). Organization ids are `a-z 0-9 -` without `#`, so neither `acme` nor `acme#*` matches an item
 * of `acme-corp`. Only item and query actions are allowed: a Scan has no leading key, and `ForAllValues` over no keys
 * would be true, so the `Null` condition also requires that the request names one.
 * The calendar grant key (KMS) is usable only with the organization as encryption context (calendar-grant-vault.ts).
 * Pure: the adapter passes the ARNs it was configured with.
 */
import type { TableId } from '../../schemas/tables.ts';
import { assertOrgId } from './transfer/layout.ts';

type Action =
  | 'dynamodb:GetItem'
  | 'dynamodb:Query'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem';

export interface TenantDataEntry {
  /** The environment variable through which the API learns the ARN (set by lib/aws/api.ts). */
  env: string;
  table: TableId;
  /** An index of the table (its ARN is the table's plus `/index/<name>`). */
  index?: string;
  /** The partition key is the organization id (`exact`) or starts with `<org>#` (`prefix`). */
  key: 'exact' | 'prefix';
  /** What the API calls on it (TransactWriteItems is authorized per action inside it). */
  actions: readonly Action[];
}

const ITEM: readonly Action[] = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:DeleteItem'];

/** Every table and index the API touches for an organization: one list for the role, the session and the env. */
export const TENANT_DATA = {
  jobs: {
    env: 'TENANT_JOBS_TABLE_ARN',
    table: 'Jobs',
    key: 'exact',
    actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  },
  // UpdateItem: comments and acknowledgements (conditional updates of an existing run).
  runs: {
    env: 'TENANT_RUNS_TABLE_ARN',
    table: 'Runs',
    key: 'exact',
    actions: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  },
  runErrors: { env: 'TENANT_RUN_ERRORS_TABLE_ARN', table: 'RunErrors', key: 'prefix', actions: ['dynamodb:Query'] },
  // The reports' lists: the Runs index keyed `<org>#needs-attention` / `<org>#completed`.
  runLists: {
    env: 'TENANT_RUN_LISTS_INDEX_ARN',
    table: 'Runs',
    index: 'byList',
    key: 'prefix',
    actions: ['dynamodb:Query'],
  },
  // GetItem: the Billing report (limit and per-period counters on the organization's item); UpdateItem: its SFTP
  // keys (/v1/sftp-keys), the only attributes the API writes there (ssh-keys-routes.ts).
  organizations: {
    env: 'TENANT_ORGANIZATIONS_TABLE_ARN',
    table: 'Organizations',
    key: 'exact',
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  },
  // Calendar sync (functions/adapters/dynamodb-calendar.ts, calendar-grant-vault.ts): our events, the settings
  // partition (subscription, case managers, connections, OAuth states), the links and the grants.
  calendarEvents: { env: 'TENANT_CALENDAR_EVENTS_TABLE_ARN', table: 'CalendarEvents', key: 'exact', actions: ITEM },
  calendarEventsByManager: {
    env: 'TENANT_CALENDAR_EVENTS_BY_MANAGER_INDEX_ARN',
    table: 'CalendarEvents',
    index: 'byCaseManager',
    key: 'prefix',
    actions: ['dynamodb:Query'],
  },
  calendarConnections: {
    env: 'TENANT_CALENDAR_CONNECTIONS_TABLE_ARN',
    table: 'CalendarConnections',
    key: 'exact',
    actions: ITEM,
  },
  calendarLinks: { env: 'TENANT_CALENDAR_LINKS_TABLE_ARN', table: 'CalendarLinks', key: 'prefix', actions: ITEM },
  calendarLinksParked: {
    env: 'TENANT_CALENDAR_PARKED_INDEX_ARN',
    table: 'CalendarLinks',
    index: 'byParked',
    key: 'prefix',
    actions: ['dynamodb:Query'],
  },
  calendarGrants: {
    env: 'TENANT_CALENDAR_GRANTS_TABLE_ARN',
    table: 'CalendarGrants',
    key: 'prefix',
    actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
  },
} as const satisfies Record<string, TenantDataEntry>;

export type TenantDataName = keyof typeof TENANT_DATA;

/** The ARNs of the tables and indexes, and of the keys. */
export type TenantResources = Record<TenantDataName, string> & {
  /** The customer-managed key of the tables: DynamoDB uses it with the caller's own credentials. */
  dataKey: string;
  /** The calendar grants' key: data keys generated and decrypted with the organization as encryption context. */
  calendarKey: string;
};

export const TENANT_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'] as const;
export const TENANT_CALENDAR_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'] as const;

/** STS refuses a session policy longer than this (packed, without spaces). */
export const MAX_SESSION_POLICY_LENGTH = 2048;

interface Statement {
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** The session policy for `org`, as the JSON text STS takes. Throws on an id that is not an organization id. */
export function tenantSessionPolicy(org: string, resources: TenantResources): string {
  assertOrgId(org);
  const names = Object.keys(TENANT_DATA) as TenantDataName[];
  const actions = [...new Set(names.flatMap((n) => TENANT_DATA[n].actions))].sort();
  const statements: Statement[] = [
    {
      Effect: 'Allow',
      Action: actions,
      // Each table with its indexes (`<table ARN>*`: the ARN ends in a random suffix, so it matches no other table):
      // seven resources rather than eleven keeps the policy within STS's limit.
      Resource: [...new Set(names.map((n) => `${resources[n].replace(/\/index\/[^/]+$/, '')}*`))],
      Condition: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [org, `${org}#*`] },
        Null: { 'dynamodb:LeadingKeys': 'false' },
      },
    },
    { Effect: 'Allow', Action: [...TENANT_KEY_ACTIONS], Resource: resources.dataKey },
    {
      Effect: 'Allow',
      Action: [...TENANT_CALENDAR_KEY_ACTIONS],
      Resource: resources.calendarKey,
      Condition: { StringEquals: { 'kms:EncryptionContext:org': org } },
    },
  ];
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
  dataKey: 'TENANT_DATA_KEY_ARN',
  calendarKey: 'TENANT_CALENDAR_KEY_ARN',
  ...(Object.fromEntries(Object.entries(TENANT_DATA).map(([name, entry]) => [name, entry.env])) as Record<
    TenantDataName,
    string
  >),
} as const;
