/**
 * What the twin stored, read as an operator would: the records of one organization and entity, through the
 * organization's index (byOrgEntity), every shard and page.
 */
import { paginateQuery } from '@aws-sdk/lib-dynamodb';
import { dynamoDbDocumentClient } from '../../functions/adapters/aws-clients.ts';
import { orgEntityKeys } from '../../functions/core/transfer/records.ts';
import type { StackInfo } from '../../lib/local/twin.ts';

export async function storedRecords(
  info: StackInfo,
  org: string,
  entity = 'foreignNational',
): Promise<Record<string, unknown>[]> {
  const client = dynamoDbDocumentClient({ region: info.dynamodb.region, dynamodbEndpoint: info.dynamodb.endpoint });
  const items: Record<string, unknown>[] = [];
  // The index key is sharded (schemas/tables.ts RECORDS_INDEX_SHARDS): every shard, every page.
  for (const key of orgEntityKeys(org, entity)) {
    const pages = paginateQuery(
      { client },
      {
        TableName: 'Records',
        IndexName: 'byOrgEntity',
        KeyConditionExpression: 'orgEntity = :k',
        ExpressionAttributeValues: { ':k': key },
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
  }
  return items;
}
