import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  paginateScan,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ClaimLostError, type ClaimResult, type FileEntry, type FileLedger } from '../core/ports.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed, updateParts } from './dynamodb-expressions.ts';
import { dynamoDbLanes } from './dynamodb-lanes.ts';

/**
 * The sparse index of pending entries (schemas/tables.ts Files): only an entry whose status is `pending` (waiting for
 * its job's scheduled run) carries `pendingOf` (its organization), so a run reads the few pending entries, not the
 * organization's whole ledger. Every write of a status sets or removes it.
 */
export const FILES_PENDING_INDEX = 'byPending';
export const PENDING_OF = 'pendingOf';

/** The sparse key for a status: set while pending, removed otherwise. */
const pendingKey = (org: string, status: string | undefined) => (status === 'pending' ? org : undefined);

const withoutIndexKey = (item: Record<string, unknown>): FileEntry => {
  const { [PENDING_OF]: _p, ...entry } = item;
  return entry as unknown as FileEntry;
};

/**
 * The arrival ledger (Files table: org, fileId = key#version). A claim is one conditional UpdateItem: it succeeds for
 * a new object version, or for a `processing` entry whose lease ran out (crash recovery, a paused run); every other
 * delivery of the same event fails the condition and is dropped. No idempotency library needed.
 *
 * The lease is a heartbeat: short (minutes), renewed by the holder while its run makes progress (`renew`), so a crashed
 * holder's file is retaken within minutes. The holder is identified by `claims` (each claim adds one), so renewals and
 * updates are conditional on it: a holder whose lease lapsed and was retaken can no longer write the entry.
 */
export function dynamoDbFileLedger(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): FileLedger {
  const table = options.table ?? tableName('Files', options.env);
  return {
    // Arrival lanes (files of one organization and template in order): dynamodb-lanes.ts.
    ...dynamoDbLanes(db, table),

    async claim(entry, now): Promise<ClaimResult> {
      const { org, fileId, leaseUntil, updatedAt, status, claims: _claims, ...first } = entry;
      const parts = updateParts(
        { status, leaseUntil, updatedAt, [PENDING_OF]: pendingKey(org, status) },
        { ifNotExists: first, add: { claims: 1 }, remove: [PENDING_OF] },
      );
      try {
        const out = await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org, fileId },
            ...parts,
            ConditionExpression:
              'attribute_not_exists(#fileId) OR (#st = :processing AND #lease < :now) OR #st = :pending',
            ExpressionAttributeNames: {
              ...parts.ExpressionAttributeNames,
              '#fileId': 'fileId',
              '#st': 'status',
              '#lease': 'leaseUntil',
            },
            ExpressionAttributeValues: {
              ...parts.ExpressionAttributeValues,
              ':processing': 'processing',
              ':pending': 'pending',
              ':now': now,
            },
            ReturnValues: 'ALL_OLD',
          }),
        );
        const previous = out.Attributes ? withoutIndexKey(out.Attributes) : undefined;
        const claimed: FileEntry = previous
          ? { ...previous, status, leaseUntil, updatedAt, claims: (previous.claims ?? 0) + 1 }
          : { ...entry, claims: 1 };
        return previous ? { claimed: true, entry: claimed, previous } : { claimed: true, entry: claimed };
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        const out = await db.send(new GetCommand({ TableName: table, Key: { org, fileId }, ConsistentRead: true }));
        return { claimed: false, current: (out.Item as FileEntry | undefined) ?? entry };
      }
    },

    async update(entry) {
      const { org, fileId, ...attributes } = entry;
      const parts = updateParts(
        { ...attributes, [PENDING_OF]: pendingKey(org, attributes.status) },
        { remove: [PENDING_OF] },
      );
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org, fileId },
            ...parts,
            ConditionExpression: '#claimsHeld = :claimsHeld',
            ExpressionAttributeNames: { ...parts.ExpressionAttributeNames, '#claimsHeld': 'claims' },
            ExpressionAttributeValues: { ...parts.ExpressionAttributeValues, ':claimsHeld': entry.claims },
          }),
        );
      } catch (err) {
        if (isConditionFailed(err)) throw new ClaimLostError(fileId);
        throw err;
      }
    },

    // The sparse index holds only pending entries. Its reads are eventually consistent: an entry that turned pending
    // a moment ago may be left to the next run, and one just taken is refused by the take's own condition.
    async pending(org) {
      const entries: FileEntry[] = [];
      const pages = paginateQuery(
        { client: db },
        {
          TableName: table,
          IndexName: FILES_PENDING_INDEX,
          KeyConditionExpression: '#p = :org AND begins_with(fileId, :inbound)',
          FilterExpression: '#st = :pending',
          ExpressionAttributeNames: { '#p': PENDING_OF, '#st': 'status' },
          ExpressionAttributeValues: { ':org': org, ':inbound': 'inbound/', ':pending': 'pending' },
        },
      );
      for await (const page of pages) for (const item of page.Items ?? []) entries.push(withoutIndexKey(item));
      return entries;
    },

    async release(entry, release) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org: entry.org, fileId: entry.fileId },
            UpdateExpression: 'SET #release = :release',
            ConditionExpression: '#st = :pending AND (attribute_not_exists(#release) OR #release.runId = :runId)',
            ExpressionAttributeNames: { '#release': 'release', '#st': 'status' },
            ExpressionAttributeValues: { ':release': release, ':pending': 'pending', ':runId': release.runId },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    async renew(entry, leaseUntil) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org: entry.org, fileId: entry.fileId },
            UpdateExpression: 'SET #lease = :lease',
            ConditionExpression: '#claims = :claims AND #st = :processing',
            ExpressionAttributeNames: { '#lease': 'leaseUntil', '#claims': 'claims', '#st': 'status' },
            ExpressionAttributeValues: { ':lease': leaseUntil, ':claims': entry.claims, ':processing': 'processing' },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },
  };
}

/**
 * Puts the entries written pending before the index existed into it (sets `pendingOf`), conditional on each still
 * being pending. Idempotent and resumable (it only touches entries without the key): the twin runs it on start; in
 * AWS `npm run stamp-pending-files` once after the deployment that adds the index. Returns how many it stamped.
 */
export async function stampPendingEntries(db: DynamoDBDocumentClient, table: string): Promise<number> {
  let stamped = 0;
  const pages = paginateScan(
    { client: db },
    {
      TableName: table,
      FilterExpression: '#st = :pending AND attribute_not_exists(#p)',
      ProjectionExpression: 'org, fileId',
      ExpressionAttributeNames: { '#st': 'status', '#p': PENDING_OF },
      ExpressionAttributeValues: { ':pending': 'pending' },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org: item.org, fileId: item.fileId },
            UpdateExpression: 'SET #p = :org',
            ConditionExpression: '#st = :pending',
            ExpressionAttributeNames: { '#st': 'status', '#p': PENDING_OF },
            ExpressionAttributeValues: { ':pending': 'pending', ':org': item.org },
          }),
        );
        stamped++;
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
    }
  }
  return stamped;
}
