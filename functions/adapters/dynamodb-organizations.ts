import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type BillingUsage, billingUsage, periodOf } from '../core/billing.ts';
import {
  DEFAULT_TIME_ZONE,
  type Organization,
  type OrganizationConfig,
  type OrganizationStatus,
  type StoredSshKey,
} from '../core/organizations.ts';
import type { Billing, BillingReports, OrganizationStore } from '../core/ports.ts';
import { MAX_SSH_KEYS_PER_USER } from '../core/ssh-keys.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed, updateParts } from './dynamodb-expressions.ts';

/**
 * Creates or updates an organization's item (name, allowed record limit, contacts). The per-period counters imports
 * add to are kept: raising the limit does not reset what was used.
 */
export async function putOrganization(
  db: DynamoDBDocumentClient,
  org: Pick<OrganizationConfig, 'id' | 'name' | 'allowedRecords' | 'contacts' | 'timeZone'>,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): Promise<void> {
  const table = options.table ?? tableName('Organizations', options.env);
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { org: org.id },
      ...updateParts(
        { name: org.name, allowedRecords: org.allowedRecords, contacts: org.contacts, timeZone: org.timeZone },
        { ifNotExists: { status: 'active', sshKeys: {} } },
      ),
    }),
  );
}

/** The item's attributes this store owns; billing counters (`used#…`, `job#…`) are left to dynamoDbBilling. */
function organizationOf(item: Record<string, unknown>): Organization {
  const keys = (item.sshKeys ?? {}) as Record<string, StoredSshKey>;
  const text = (v: unknown, fallback: string) => (typeof v === 'string' && v !== '' ? v : fallback);
  return {
    id: item.org as string,
    name: text(item.name, item.org as string),
    allowedRecords: typeof item.allowedRecords === 'number' ? item.allowedRecords : 0,
    contacts: Array.isArray(item.contacts) ? (item.contacts as string[]) : [],
    timeZone: text(item.timeZone, DEFAULT_TIME_ZONE),
    // Items written before statuses existed (the twin's seed, a first deploy's context) are active.
    status: text(item.status, 'active') as OrganizationStatus,
    createdAt: text(item.createdAt, ''),
    updatedAt: text(item.updatedAt, ''),
    sshKeys: Object.values(keys).sort((a, b) => a.addedAt.localeCompare(b.addedAt)),
  };
}

/**
 * The organizations' items (OrganizationStore). Keys live in a map by fingerprint (`sshKeys`) beside a counter
 * (`sshKeyCount`), so adding one is a single conditional write that can neither double a key nor pass the limit.
 */
export function dynamoDbOrganizations(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): OrganizationStore {
  const table = options.table ?? tableName('Organizations', options.env);
  const get = async (org: string) => {
    const out = await db.send(new GetCommand({ TableName: table, Key: { org }, ConsistentRead: true }));
    return out.Item ? organizationOf(out.Item) : undefined;
  };
  const conditional = async (command: UpdateCommand): Promise<Organization | undefined> => {
    try {
      const out = await db.send(command);
      return out.Attributes ? organizationOf(out.Attributes) : undefined;
    } catch (err) {
      if (isConditionFailed(err)) return undefined;
      throw err;
    }
  };
  return {
    get,
    async list() {
      const out: Organization[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db.send(
          new ScanCommand({ TableName: table, ExclusiveStartKey: start, ConsistentRead: true }),
        );
        for (const item of page.Items ?? []) out.push(organizationOf(item));
        start = page.LastEvaluatedKey;
      } while (start);
      return out.sort((a, b) => a.id.localeCompare(b.id));
    },
    async create(org) {
      const { id, sshKeys, ...fields } = org;
      // An update, not a put: an item an older release wrote (the seed's: name, limit, billing counters, no
      // createdAt) is adopted with its counters; one this store created is never overwritten.
      const parts = updateParts({
        ...fields,
        sshKeys: Object.fromEntries(sshKeys.map((k) => [k.fingerprint, k])),
        sshKeyCount: sshKeys.length,
      });
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org: id },
            ...parts,
            ConditionExpression: 'attribute_not_exists(#created)',
            ExpressionAttributeNames: { ...parts.ExpressionAttributeNames, '#created': 'createdAt' },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },
    update(org, change, at) {
      const parts = updateParts({ ...change, updatedAt: at.toISOString() });
      return conditional(
        new UpdateCommand({
          TableName: table,
          Key: { org },
          ...parts,
          ConditionExpression: 'attribute_exists(org)',
          ReturnValues: 'ALL_NEW',
        }),
      );
    },
    setStatus(org, status, at) {
      return conditional(
        new UpdateCommand({
          TableName: table,
          Key: { org },
          ...updateParts({ status, updatedAt: at.toISOString() }),
          ConditionExpression: 'attribute_exists(org)',
          ReturnValues: 'ALL_NEW',
        }),
      );
    },
    async addKey(org, key) {
      // Items from before keys were data have no map yet: a nested SET needs its parent.
      const ready = await conditional(
        new UpdateCommand({
          TableName: table,
          Key: { org },
          UpdateExpression: 'SET sshKeys = if_not_exists(sshKeys, :empty)',
          ConditionExpression: 'attribute_exists(org)',
          ExpressionAttributeValues: { ':empty': {} },
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (!ready) return 'not_found';
      if (ready.sshKeys.some((k) => k.fingerprint === key.fingerprint)) return 'exists';
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org },
            UpdateExpression: 'SET sshKeys.#fp = :key ADD sshKeyCount :one',
            ConditionExpression:
              'attribute_exists(org) AND attribute_not_exists(sshKeys.#fp) AND (attribute_not_exists(sshKeyCount) OR sshKeyCount < :max)',
            ExpressionAttributeNames: { '#fp': key.fingerprint },
            ExpressionAttributeValues: { ':key': key, ':one': 1, ':max': MAX_SSH_KEYS_PER_USER },
          }),
        );
        return 'added';
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        const now = await get(org);
        if (!now) return 'not_found';
        return now.sshKeys.some((k) => k.fingerprint === key.fingerprint) ? 'exists' : 'full';
      }
    },
    async setProviderKeyId(org, fingerprint, providerKeyId) {
      await conditional(
        new UpdateCommand({
          TableName: table,
          Key: { org },
          UpdateExpression: providerKeyId ? 'SET sshKeys.#fp.providerKeyId = :id' : 'REMOVE sshKeys.#fp.providerKeyId',
          ConditionExpression: 'attribute_exists(sshKeys.#fp)',
          ExpressionAttributeNames: { '#fp': fingerprint },
          ...(providerKeyId ? { ExpressionAttributeValues: { ':id': providerKeyId } } : {}),
        }),
      );
    },
    async removeKey(org, fingerprint) {
      const before = await conditional(
        new UpdateCommand({
          TableName: table,
          Key: { org },
          UpdateExpression: 'REMOVE sshKeys.#fp ADD sshKeyCount :minus',
          ConditionExpression: 'attribute_exists(sshKeys.#fp)',
          ExpressionAttributeNames: { '#fp': fingerprint },
          ExpressionAttributeValues: { ':minus': -1 },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return before?.sshKeys.find((k) => k.fingerprint === fingerprint);
    },
    async remove(org) {
      await db.send(new DeleteCommand({ TableName: table, Key: { org } }));
    },
  };
}

/**
 * The counters of a period on the organization's item: `used#YYYY-MM` (records of every job) and
 * `job#YYYY-MM#<jobId>` (one job's). A new month's attributes do not exist yet, so it starts at zero without a reset.
 * An item grows by 1 + (jobs that ran) small attributes a month: at 10 jobs, about 700 bytes a month of the 400 KB.
 */
const usedAttribute = (period: string) => `used#${period}`;
const jobPrefix = (period: string) => `job#${period}#`;

/**
 * The allowed record limit per period (Organizations: allowedRecords, used#YYYY-MM, job#YYYY-MM#jobId). Records
 * created or updated by imports count; unchanged rows are free. A reservation is one conditional ADD per batch
 * (`used <= allowed - granted`) of the period's and the job's counters, so concurrent imports of one organization can
 * never exceed the limit together. The limit read last is kept (per organization, in this instance) and the ADD is
 * sent straight away with it in its condition (`allowedRecords = :allowed`): one request per batch. Only when that
 * condition fails (the limit changed, too few records are left, no item) is the item read strongly consistently and
 * the grant computed from it. An organization without an item has no limit and no counters; one without
 * `allowedRecords` has no limit but is counted.
 */
export function dynamoDbBilling(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): Billing {
  const table = options.table ?? tableName('Organizations', options.env);
  /** The limit each organization had when last read: `null` for none (counted, unlimited). */
  const limits = new Map<string, number | null>();
  /** Adds `granted` to the counters if `allowed` is still the limit (and leaves room for it); false otherwise. */
  const add = async (org: string, counters: Record<string, string>, granted: number, allowed: number | null) => {
    const limited = allowed !== null;
    try {
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { org },
          UpdateExpression: 'ADD #used :granted, #job :granted',
          ConditionExpression: limited
            ? '(attribute_not_exists(#used) OR #used <= :max) AND #allowed = :allowed'
            : 'attribute_exists(#org) AND attribute_not_exists(#allowed)',
          ExpressionAttributeNames: limited
            ? { ...counters, '#allowed': 'allowedRecords' }
            : { ...counters, '#org': 'org', '#allowed': 'allowedRecords' },
          ExpressionAttributeValues: limited
            ? { ':granted': granted, ':max': allowed - granted, ':allowed': allowed }
            : { ':granted': granted },
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      return false;
    }
  };
  return {
    async reserve(org, wanted, use) {
      if (wanted <= 0) return 0;
      const period = periodOf(use.at);
      const counters = { '#used': usedAttribute(period), '#job': `${jobPrefix(period)}${use.jobId}` };
      const known = limits.get(org);
      if (known !== undefined && (known === null || known >= wanted) && (await add(org, counters, wanted, known))) {
        return wanted;
      }
      for (let attempt = 0; attempt < 20; attempt++) {
        const out = await db.send(new GetCommand({ TableName: table, Key: { org }, ConsistentRead: true }));
        if (!out.Item) {
          limits.delete(org);
          return wanted;
        }
        const allowed = typeof out.Item.allowedRecords === 'number' ? out.Item.allowedRecords : null;
        limits.set(org, allowed);
        const usedNow = out.Item[counters['#used']];
        const used = typeof usedNow === 'number' ? usedNow : 0;
        const granted = allowed !== null ? Math.max(0, Math.min(wanted, allowed - used)) : wanted;
        if (granted === 0) return 0;
        if (await add(org, counters, granted, allowed)) return granted;
      }
      throw new Error(`billing: could not reserve records for ${org} (too much contention)`);
    },

    async release(org, count, use) {
      if (count <= 0) return;
      const period = periodOf(use.at);
      await db
        .send(
          new UpdateCommand({
            TableName: table,
            Key: { org },
            UpdateExpression: 'ADD #used :minus, #job :minus',
            ConditionExpression: 'attribute_exists(#used)',
            ExpressionAttributeNames: { '#used': usedAttribute(period), '#job': `${jobPrefix(period)}${use.jobId}` },
            ExpressionAttributeValues: { ':minus': -count },
          }),
        )
        .catch((err) => {
          if (!isConditionFailed(err)) throw err;
        });
    },
  };
}

/** One period's usage of an organization (the Billing report), read from its item in one strongly consistent get. */
export async function readBillingUsage(
  db: DynamoDBDocumentClient,
  org: string,
  period: string,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): Promise<BillingUsage> {
  const table = options.table ?? tableName('Organizations', options.env);
  const item = (await db.send(new GetCommand({ TableName: table, Key: { org }, ConsistentRead: true }))).Item ?? {};
  const prefix = jobPrefix(period);
  const perJob = new Map<string, number>();
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(prefix) && typeof value === 'number') perJob.set(name.slice(prefix.length), value);
  }
  const used = item[usedAttribute(period)];
  const limit = item.allowedRecords;
  return billingUsage(
    period,
    typeof limit === 'number' ? limit : undefined,
    typeof used === 'number' ? used : 0,
    perJob,
  );
}

/** The Billing report's port on the Organizations table (the API runs it on the caller organization's credentials). */
export function dynamoDbBillingReports(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): BillingReports {
  return { usage: (org, period) => readBillingUsage(db, org, period, options) };
}
