import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type BillingUsage, billingUsage, periodOf } from '../core/billing.ts';
import type { OrganizationConfig } from '../core/organizations.ts';
import type { Billing, BillingReports } from '../core/ports.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed, updateParts } from './dynamodb-expressions.ts';

/**
 * Creates or updates an organization's item (name, allowed record limit, contacts). The per-period counters imports
 * add to are kept: raising the limit does not reset what was used.
 */
export async function putOrganization(
  db: DynamoDBDocumentClient,
  org: Pick<OrganizationConfig, 'id' | 'name' | 'allowedRecords' | 'contacts'>,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): Promise<void> {
  const table = options.table ?? tableName('Organizations', options.env);
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { org: org.id },
      ...updateParts({ name: org.name, allowedRecords: org.allowedRecords, contacts: org.contacts }),
    }),
  );
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
 * never exceed the limit together. An organization without an item has no limit and no counters; one without
 * `allowedRecords` has no limit but is counted.
 */
export function dynamoDbBilling(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): Billing {
  const table = options.table ?? tableName('Organizations', options.env);
  return {
    async reserve(org, wanted, use) {
      if (wanted <= 0) return 0;
      const period = periodOf(use.at);
      const counters = { '#used': usedAttribute(period), '#job': `${jobPrefix(period)}${use.jobId}` };
      for (let attempt = 0; attempt < 20; attempt++) {
        const out = await db.send(new GetCommand({ TableName: table, Key: { org }, ConsistentRead: true }));
        if (!out.Item) return wanted;
        const allowed = out.Item.allowedRecords;
        const usedNow = out.Item[counters['#used']];
        const used = typeof usedNow === 'number' ? usedNow : 0;
        const limited = typeof allowed === 'number';
        const granted = limited ? Math.max(0, Math.min(wanted, allowed - used)) : wanted;
        if (granted === 0) return 0;
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
          return granted;
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
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
