import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { FileEntry, FileLedger, LaneEntry, LaneTurn } from '../core/ports.ts';
import { isConditionFailed } from './dynamodb-expressions.ts';

/**
 * Arrival lanes in the Files table, beside the entries (same partition: the organization). Per lane two kinds of item:
 * - `~lane#<lane>`: `last` (arrival numbers handed out so far), `turn` (the number whose file may import now) and
 *   `skipped` (a number set: turns passed while their file had not finished);
 * - `~lane#<lane>#<number>`: `fileId`, the entry that holds that number, so whoever finds the turn stuck can look at
 *   the holder's lease.
 * Entries' ids start with `inbound/`, so the `~lane#` ids never meet them. Part of dynamodb-files.ts's ledger.
 */
export type LaneMethods = Pick<FileLedger, 'enterLane' | 'laneTurn' | 'passTurn' | 'leaveLane'>;

const laneId = (lane: string) => `~lane#${lane}`;
const numberId = (lane: string, seq: number) => `~lane#${lane}#${String(seq).padStart(12, '0')}`;

export function dynamoDbLanes(db: DynamoDBDocumentClient, table: string): LaneMethods {
  const get = async (org: string, fileId: string) =>
    (await db.send(new GetCommand({ TableName: table, Key: { org, fileId }, ConsistentRead: true }))).Item;

  const lanes: LaneMethods = {
    async enterLane(entry, lane) {
      const { org, fileId } = entry;
      for (let attempt = 0; attempt < 50; attempt++) {
        const stored = (await get(org, fileId)) as FileEntry | undefined;
        if (stored?.seq !== undefined && stored.lane !== undefined) return stored as LaneEntry;
        const last = ((await get(org, laneId(lane)))?.last as number | undefined) ?? 0;
        const seq = last + 1;
        try {
          await db.send(
            new TransactWriteCommand({
              TransactItems: [
                {
                  Update: {
                    TableName: table,
                    Key: { org, fileId: laneId(lane) },
                    UpdateExpression: 'SET #last = :seq, #turn = if_not_exists(#turn, :one)',
                    ConditionExpression: last === 0 ? 'attribute_not_exists(#last)' : '#last = :last',
                    ExpressionAttributeNames: { '#last': 'last', '#turn': 'turn' },
                    ExpressionAttributeValues: { ':seq': seq, ':one': 1, ...(last === 0 ? {} : { ':last': last }) },
                  },
                },
                {
                  Put: {
                    TableName: table,
                    Item: { org, fileId: numberId(lane, seq), holder: fileId },
                    ConditionExpression: 'attribute_not_exists(fileId)',
                  },
                },
                {
                  Update: {
                    TableName: table,
                    Key: { org, fileId },
                    UpdateExpression: 'SET #lane = :lane, #seq = :seq',
                    ConditionExpression: 'attribute_exists(fileId) AND attribute_not_exists(#seq)',
                    ExpressionAttributeNames: { '#lane': 'lane', '#seq': 'seq' },
                    ExpressionAttributeValues: { ':lane': lane, ':seq': seq },
                  },
                },
              ],
            }),
          );
          return { ...(stored ?? entry), lane, seq };
        } catch (err) {
          // Another file took the number (or this entry got one meanwhile): read again and retry.
          if (!(err instanceof TransactionCanceledException)) throw err;
        }
      }
      throw new Error(`Files: could not enter ${fileId} in lane ${lane} (too much contention)`);
    },

    async laneTurn(org, lane): Promise<LaneTurn> {
      const item = await get(org, laneId(lane));
      const turn = (item?.turn as number | undefined) ?? 1;
      const skippedSet = item?.skipped as Set<number> | undefined;
      const skipped = skippedSet && skippedSet.size > 0 ? { skipped: [...skippedSet].sort((a, b) => a - b) } : {};
      if (turn > ((item?.last as number | undefined) ?? 0)) return { turn, ...skipped };
      const pointer = await get(org, numberId(lane, turn));
      const holder = pointer ? ((await get(org, String(pointer.holder))) as FileEntry | undefined) : undefined;
      return holder ? { turn, holder, ...skipped } : { turn, ...skipped };
    },

    async passTurn(org, lane, from, unsettled = false) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org, fileId: laneId(lane) },
            UpdateExpression: unsettled ? 'SET #turn = :next ADD #skipped :from_set' : 'SET #turn = :next',
            ConditionExpression: '#turn = :from',
            ExpressionAttributeNames: { '#turn': 'turn', ...(unsettled ? { '#skipped': 'skipped' } : {}) },
            ExpressionAttributeValues: {
              ':from': from,
              ':next': from + 1,
              ...(unsettled ? { ':from_set': new Set([from]) } : {}),
            },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    async leaveLane(org, lane, seq) {
      await db
        .send(
          new UpdateCommand({
            TableName: table,
            Key: { org, fileId: laneId(lane) },
            UpdateExpression: 'DELETE #skipped :seq_set',
            ConditionExpression: 'attribute_exists(#skipped)',
            ExpressionAttributeNames: { '#skipped': 'skipped' },
            ExpressionAttributeValues: { ':seq_set': new Set([seq]) },
          }),
        )
        .catch((err) => {
          if (!isConditionFailed(err)) throw err;
        });
      await lanes.passTurn(org, lane, seq);
    },
  };
  return lanes;
}
