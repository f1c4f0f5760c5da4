/**
 * The ranges of a run cut across workers (ports.ts RunRanges, core/transfer/import-ranges.ts), in the Runs table
 * beside the run they belong to:
 * - the plan on the run item itself (`rangePlan`), with the set of ranges done (`rangesDone`, a number set: adding a
 *   range twice is harmless) and the one range that finishes the run (`rangeFinisher`);
 * - one item per range, runId `<runId>#range#<nnnn>`: bounds, lease (claims, leaseUntil, as a file's claim in the Files
 *   ledger), checkpoint, counts, warnings;
 * - its duplicate-key notes in chunk items `<runId>#range#<nnnn>#notes#<c>` (16 bytes a note, NOTES_PER_CHUNK a chunk,
 *   so an item stays far below 400 KB however many keys repeat).
 * Neither kind of item has the lists' index attribute (listedIn): no report or run watch ever sees one.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ClaimLostError, type RangePlan, type RangeState, type RunRanges } from '../core/ports.ts';
import type { KeyNote } from '../core/transfer/duplicate-keys.ts';
import { tableName } from './aws-clients.ts';
import { isConditionFailed, mapConcurrent } from './dynamodb-expressions.ts';

/** Attributes of a run item that belong to its ranges, not to the Run (dynamodb-runs.ts leaves them out of a Run). */
export const RANGE_ATTRIBUTES = ['rangePlan', 'rangesDone', 'rangeFinisher'] as const;

const NOTE_BYTES = 16;
const NOTES_PER_CHUNK = 16_000;

export const rangeItemId = (runId: string, index: number) => `${runId}#range#${String(index).padStart(4, '0')}`;
const notesItemId = (runId: string, index: number, chunk: number) => `${rangeItemId(runId, index)}#notes#${chunk}`;

export function dynamoDbRunRanges(
  db: DynamoDBDocumentClient,
  options: { env?: NodeJS.ProcessEnv; table?: string } = {},
): RunRanges {
  const table = options.table ?? tableName('Runs', options.env);
  const get = async (org: string, runId: string, index: number): Promise<RangeState | undefined> => {
    const out = await db.send(
      new GetCommand({ TableName: table, Key: { org, runId: rangeItemId(runId, index) }, ConsistentRead: true }),
    );
    return out.Item ? stateOf(out.Item) : undefined;
  };
  /** The range's progress, written only while its `claims` is the caller's. */
  const write = async (range: RangeState, extra: Record<string, unknown> = {}) => {
    const values: Record<string, unknown> = {
      ':counts': range.counts,
      ':warnings': range.warnings,
      ':claims': range.claims,
      ...extra,
    };
    const names: Record<string, string> = { '#counts': 'counts', '#warnings': 'warnings', '#claims': 'claims' };
    const sets = ['#counts = :counts', '#warnings = :warnings'];
    const removes: string[] = [];
    for (const [name, value] of [
      ['checkpoint', range.checkpoint],
      ['stoppedBy', range.stoppedBy],
      ['lastRow', range.lastRow],
    ] as const) {
      names[`#${name}`] = name;
      if (value === undefined) removes.push(`#${name}`);
      else {
        sets.push(`#${name} = :${name}`);
        values[`:${name}`] = value;
      }
    }
    if (':status' in extra) {
      sets.push('#st = :status');
      names['#st'] = 'status';
    }
    try {
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { org: range.org, runId: rangeItemId(range.runId, range.index) },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: '#claims = :claims',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (err) {
      if (isConditionFailed(err)) throw new ClaimLostError(rangeItemId(range.runId, range.index));
      throw err;
    }
  };

  return {
    async plan(org, runId, plan, ranges, notes) {
      const stored = await this.planOf(org, runId);
      if (stored) return stored;
      // Ranges and notes first, the plan last: a plan that exists has everything it names. In row order: the notes
      // come from one sorted stream.
      for (const [index, bounds] of ranges.entries()) {
        let chunk = 0;
        let buffer = Buffer.alloc(NOTES_PER_CHUNK * NOTE_BYTES);
        let filled = 0;
        const flush = async () => {
          await db.send(
            new PutCommand({
              TableName: table,
              Item: { org, runId: notesItemId(runId, index, chunk++), notes: buffer.subarray(0, filled * NOTE_BYTES) },
            }),
          );
          buffer = Buffer.alloc(NOTES_PER_CHUNK * NOTE_BYTES);
          filled = 0;
        };
        for await (const note of notes(index)) {
          encodeNote(buffer, filled++ * NOTE_BYTES, note);
          if (filled === NOTES_PER_CHUNK) await flush();
        }
        if (filled > 0) await flush();
        await db.send(
          new PutCommand({
            TableName: table,
            Item: {
              org,
              runId: rangeItemId(runId, index),
              after: bounds.after,
              ...(bounds.upTo !== undefined ? { upTo: bounds.upTo } : {}),
              noteChunks: chunk,
              status: 'open',
              claims: 0,
              leaseUntil: 0,
              counts: { rows: 0, created: 0, updated: 0, unchanged: 0, skipped: 0, failed: 0, overLimit: 0 },
              warnings: [],
            },
          }),
        );
      }
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org, runId },
            UpdateExpression: 'SET rangePlan = :plan',
            ConditionExpression: 'attribute_not_exists(rangePlan)',
            ExpressionAttributeValues: { ':plan': plan },
          }),
        );
        return plan;
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        return (await this.planOf(org, runId))!;
      }
    },

    async planOf(org, runId) {
      const out = await db.send(
        new GetCommand({
          TableName: table,
          Key: { org, runId },
          ProjectionExpression: 'rangePlan',
          ConsistentRead: true,
        }),
      );
      return out.Item?.rangePlan as RangePlan | undefined;
    },

    async retarget(org, runId, entry) {
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { org, runId },
          UpdateExpression: 'SET rangePlan.#entry = :entry',
          ConditionExpression: 'attribute_exists(rangePlan)',
          ExpressionAttributeNames: { '#entry': 'entry' },
          ExpressionAttributeValues: { ':entry': entry },
        }),
      );
    },

    async claim(org, runId, index, now, leaseUntil) {
      try {
        const out = await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org, runId: rangeItemId(runId, index) },
            UpdateExpression: 'SET leaseUntil = :lease ADD claims :one',
            ConditionExpression: 'attribute_exists(runId) AND ((#st = :open AND leaseUntil < :now) OR #st = :done)',
            ExpressionAttributeNames: { '#st': 'status' },
            ExpressionAttributeValues: {
              ':lease': leaseUntil,
              ':one': 1,
              ':now': now,
              ':open': 'open',
              ':done': 'done',
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return stateOf(out.Attributes!);
      } catch (err) {
        if (isConditionFailed(err)) return undefined;
        throw err;
      }
    },

    async renew(range, leaseUntil) {
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org: range.org, runId: rangeItemId(range.runId, range.index) },
            UpdateExpression: 'SET leaseUntil = :lease',
            ConditionExpression: 'claims = :claims AND #st = :open',
            ExpressionAttributeNames: { '#st': 'status' },
            ExpressionAttributeValues: { ':lease': leaseUntil, ':claims': range.claims, ':open': 'open' },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    save: (range) => write(range),

    async release(range) {
      await write(range);
      await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { org: range.org, runId: rangeItemId(range.runId, range.index) },
          UpdateExpression: 'SET leaseUntil = :zero',
          ConditionExpression: 'claims = :claims',
          ExpressionAttributeValues: { ':zero': 0, ':claims': range.claims },
        }),
      );
    },

    async complete(range) {
      // A redelivered range already done (it crashed after this point) writes nothing and asks again.
      if (range.status !== 'done') await write(range, { ':status': 'done' });
      const out = await db.send(
        new UpdateCommand({
          TableName: table,
          Key: { org: range.org, runId: range.runId },
          UpdateExpression: 'ADD rangesDone :index',
          ExpressionAttributeValues: { ':index': new Set([range.index]) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const plan = out.Attributes?.rangePlan as RangePlan | undefined;
      const done = (out.Attributes?.rangesDone as Set<number> | undefined)?.size ?? 0;
      if (!plan || done < plan.ranges) return false;
      // Every range is done: the first to say so finishes (and only it, again, on a redelivery of its message).
      try {
        await db.send(
          new UpdateCommand({
            TableName: table,
            Key: { org: range.org, runId: range.runId },
            UpdateExpression: 'SET rangeFinisher = :index',
            ConditionExpression: 'attribute_not_exists(rangeFinisher) OR rangeFinisher = :index',
            ExpressionAttributeValues: { ':index': range.index },
          }),
        );
        return true;
      } catch (err) {
        if (isConditionFailed(err)) return false;
        throw err;
      }
    },

    async list(org, runId, ranges) {
      const all = await mapConcurrent([...Array(ranges).keys()], 8, (index) => get(org, runId, index));
      return all.map((range, index) => {
        if (!range) throw new Error(`run ${runId}: range ${index} is missing`);
        return range;
      });
    },

    async *notes(org, runId, index) {
      for (let chunk = 0; ; chunk++) {
        const out = await db.send(
          new GetCommand({
            TableName: table,
            Key: { org, runId: notesItemId(runId, index, chunk) },
            ConsistentRead: true,
          }),
        );
        if (!out.Item) return;
        const bytes = out.Item.notes as Uint8Array;
        const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        for (let at = 0; at < view.length; at += NOTE_BYTES) yield decodeNote(view, at);
      }
    },
  };
}

function stateOf(item: Record<string, unknown>): RangeState {
  const runId = String(item.runId);
  const cut = runId.lastIndexOf('#range#');
  return {
    org: item.org as string,
    runId: runId.slice(0, cut),
    index: Number(runId.slice(cut + '#range#'.length)),
    after: item.after as number,
    ...(item.upTo !== undefined ? { upTo: item.upTo as number } : {}),
    status: item.status as RangeState['status'],
    claims: item.claims as number,
    leaseUntil: item.leaseUntil as number,
    ...(item.checkpoint !== undefined ? { checkpoint: item.checkpoint as number } : {}),
    counts: item.counts as RangeState['counts'],
    warnings: (item.warnings as RangeState['warnings']) ?? [],
    ...(item.stoppedBy ? { stoppedBy: item.stoppedBy as RangeState['stoppedBy'] } : {}),
    ...(item.lastRow !== undefined ? { lastRow: item.lastRow as number } : {}),
  };
}

/** row (u32) | kind (u8: 0 first, 1 repeat) | pad | other row (u32) | repeats or first-valid (u32). */
function encodeNote(into: Buffer, at: number, note: KeyNote): void {
  into.writeUInt32BE(note.row, at);
  into[at + 4] = note.kind === 'first' ? 0 : 1;
  into.writeUInt32BE(note.kind === 'first' ? note.nextRow : note.firstRow, at + 8);
  into.writeUInt32BE(note.kind === 'first' ? note.repeats : note.firstValid ? 1 : 0, at + 12);
}

function decodeNote(view: Buffer, at: number): KeyNote {
  const row = view.readUInt32BE(at);
  const other = view.readUInt32BE(at + 8);
  const extra = view.readUInt32BE(at + 12);
  return view[at + 4] === 0
    ? { kind: 'first', row, nextRow: other, repeats: extra }
    : { kind: 'repeat', row, firstRow: other, firstValid: extra === 1 };
}
