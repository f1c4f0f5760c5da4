/**
 * How imported rows become records: the key they are stored under and the content hash that tells an unchanged row
 * (no write) from a changed one.
 */
import { hash } from 'node:crypto';
import { RECORDS_INDEX_SHARDS } from '../../../schemas/tables.ts';
import type { RecordWrite, StoredRecordState, WriteResult } from '../ports.ts';
import { ownValue } from '../reserved-names.ts';

/** The entity of the people other records belong to, and the field by which a record names its person. */
export const PERSON_ENTITY = 'foreignNational';
export const PERSON_KEY = 'employeeId';

/**
 * The byPerson index key of a record of `entity` (a case, a passport...) that belongs to person `personId`: what an
 * incremental export queries to find the records whose person changed (schemas/tables.ts, Records byPerson).
 */
export function personOfKey(org: string, entity: string, personId: string): string {
  return `${org}#${entity}#${personId}`;
}

/**
 * What a write of `set`/`remove` does to the record's byPerson key: the key to set (the write names the person),
 * null to remove it (the write empties the person field), or undefined to leave it (the write does not touch the
 * person field; a person record has none). Sparse: only records of other entities that name a person are listed.
 */
export function personOfChange(
  org: string,
  entity: string,
  set: Readonly<Record<string, string | undefined>>,
  remove: readonly string[] = [],
): string | null | undefined {
  if (entity === PERSON_ENTITY) return undefined;
  const person = set[PERSON_KEY];
  if (person !== undefined && person !== '') return personOfKey(org, entity, person);
  if (remove.includes(PERSON_KEY) || person === '') return null;
  return undefined;
}

/** Records table partition key: spreads an organization over many partitions. */
export function recordPk(org: string, entity: string, recordKey: string): string {
  return `${org}#${entity}#${recordKey}`;
}

export function orgEntity(org: string, entity: string): string {
  return `${org}#${entity}`;
}

/** The index key of one shard of an organization's records of an entity (schemas/tables.ts RECORDS_INDEX_SHARDS). */
export function orgEntityKey(org: string, entity: string, shard: number): string {
  return `${org}#${entity}#${shard}`;
}

/** Every shard's index key, in shard order: what a reader of the index queries. */
export function orgEntityKeys(org: string, entity: string): string[] {
  return Array.from({ length: RECORDS_INDEX_SHARDS }, (_, n) => orgEntityKey(org, entity, n));
}

/**
 * The index key a record is listed under: its shard from FNV-1a (32 bits) of the record key, so a record always lands
 * in the same shard and one organization's records spread evenly over them.
 */
export function orgEntityShard(org: string, entity: string, recordKey: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < recordKey.length; i++) {
    h ^= recordKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return orgEntityKey(org, entity, (h >>> 0) % RECORDS_INDEX_SHARDS);
}

/**
 * Hash of what an import writes: the written fields in sorted order with their values (an absent field counts as
 * null, so emptying a cell is a change). A row with the same hash as the stored record costs no write.
 */
export function contentHash(
  templateId: string,
  writes: readonly string[],
  row: Readonly<Record<string, string>>,
): string {
  // `writes` comes sorted from resolveHeader; one flat JSON array keeps this cheap (it runs for every row).
  const values: (string | null)[] = [templateId, writes.join(',')];
  for (const f of writes) values.push(ownValue(row, f) ?? null);
  return hash('sha256', JSON.stringify(values), 'base64url').slice(0, 22);
}

/**
 * Why a conditional record write was refused, judged from the record as it was when the write was refused (undefined:
 * there was none, so only "must exist" can have failed). The record store asks this (and the in-memory one in tests).
 */
export function refusedWrite(
  w: RecordWrite,
  old: (StoredRecordState & { lane?: string; seq?: number }) | undefined,
): WriteResult {
  if (!old) return { effect: 'condition_failed', wrote: false };
  if (old.hash === w.hash) {
    // This content is stored already: by this very run before it was interrupted (it counts as what the run did then,
    // billed then), or by another run (nothing to do).
    if (old.lastRunId === w.runId)
      return { effect: old.createdRunId === w.runId ? 'created' : 'updated', wrote: false };
    return { effect: 'unchanged', wrote: false };
  }
  if (w.arrival && old.lane === w.arrival.lane && old.seq !== undefined && old.seq > w.arrival.seq) {
    return { effect: 'superseded', wrote: false };
  }
  return { effect: 'condition_failed', wrote: false };
}
