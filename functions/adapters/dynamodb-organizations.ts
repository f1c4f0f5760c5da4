import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { OrganizationConfig } from '../core/organizations.ts';
import type { Billing } from '../core/ports.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed, updateParts } from './dynamodb-expressions.ts';

/**
 * Creates or updates an organization's item (name, allowed record limit). `usedRecords`, which imports count up, is
 * kept: raising the limit does not reset what was used.
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
      ...updateParts(
        { name: org.name, allowedRecords: org.allowedRecords, contacts: org.contacts },
        { ifNotExists: { usedRecords: 0 } },
      ),
    }),
  );
}

/**
 * The allowed record limit (Organizations: allowedRecords, usedRecords). Records created or updated by imports count;
 * unchanged rows are free. A reservation is a conditional ADD (`usedRecords <= allowed - granted`), so concurrent
 * imports of one organization can never exceed the limit together. An organization without an item or without
 * `allowedRecords` has no limit.
 */
export function dynamoDbBilling(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): Billing {
  const table = options.table ?? tableName('Organizations', options.env);
  return {
    async reserve(org, wanted) {
      if (wanted <= 0) return 0;
      for (let attempt = 0; attempt < 20; attempt++) {
        const out = await db.send(new GetCommand({ TableName: table, Key: { org }, ConsistentRead: true }));
        const allowed = out.Item?.allowedRecords;
        if (typeof allowed !== 'number') return wanted;
        const used = typeof out.Item?.usedRecords === 'number' ? out.Item.usedRecords : 0;
        const granted = Math.max(0, Math.min(wanted, allowed - used));
        if (granted === 0) return 0;
        try {
          await db.send(
            new UpdateCommand({
              TableName: table,
              Key: { org },
              UpdateExpression: 'ADD #used :granted',
              ConditionExpression: '(attribute_not_exists(#used) OR #used <= :max) AND #allowed = :allowed',
              ExpressionAttributeNames: { '#used': 'usedRecords', '#allowed': 'allowedRecords' },
              ExpressionAttributeValues: { ':granted': granted, ':max': allowed - granted, ':allowed': allowed },
            }),
          );
          return granted;
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
        }
      }
      throw new Error(`billing: could not reserve records for ${org} (too much contention)`);
    },

    async release(org, count) {
      if (count <= 0) return;
      await db
        .send(
          new UpdateCommand({
            TableName: table,
            Key: { org },
            UpdateExpression: 'ADD #used :minus',
            ConditionExpression: 'attribute_exists(#used)',
            ExpressionAttributeNames: { '#used': 'usedRecords' },
            ExpressionAttributeValues: { ':minus': -count },
          }),
        )
        .catch((err) => {
          if (!isConditionFailed(err)) throw err;
        });
    },
  };
}
