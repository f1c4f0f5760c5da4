/**
 * The rows an export template reads, from the system of record through its port, in constant memory.
 *
 * A template's row is one record of its entity (a case, a visa, a passport, an immigration document, a petition),
 * joined with the foreign national it belongs to (by `employeeId`, the foreign national's record key under the
 * profile import's default sync key): a field the record itself holds comes from the record; the person's fields
 * (names, e-mail) come from the foreign national. The row key field (the template's sync-key candidate: caseId,
 * passportId...) is the record key.
 *
 * Paging: one page of records at a time (`pageSize`), the next page fetched while this one is written, and the page's
 * foreign nationals read in one batch: memory holds at most two pages and their people, however many records.
 * Incremental reads (`changedAfter`, up to the run's mark `changedUpTo`) are two passes:
 * 1. the records of the template's own entity whose change sequence is in (changedAfter, changedUpTo], in sequence
 *    order: a record changed while this export runs gets a number above the mark and is in the next export, never
 *    twice in this one;
 * 2. for a template that joins the person: the people changed in that window, each with their records of the
 *    template's entity (the byPerson index), so a new last name re-exports the person's cases. A record already in
 *    pass 1 (its own number above changedAfter) is skipped: one row per record.
 */
import type { EntityRecord, SystemOfRecord } from '../ports.ts';
import { PERSON_ENTITY, PERSON_KEY } from './records.ts';
import type { Template } from './template-types.ts';

export interface SourceRow {
  /** Place in read order, from 1 (errors name it with the record key). */
  ordinal: number;
  key: string;
  changeSeq: number;
  /** Template field ids -> stored values ('' when absent). */
  values: Record<string, string>;
  /** The person the row joins was not found (its person fields are empty). */
  personMissing?: string;
}

export interface ReadOptions {
  changedAfter?: number;
  /** With `changedAfter`: the run's mark, the last change sequence number this export covers. */
  changedUpTo?: number;
  pageSize?: number;
}

export async function* exportRows(
  records: SystemOfRecord,
  org: string,
  template: Template,
  options: ReadOptions = {},
): AsyncIterable<SourceRow> {
  const limit = options.pageSize ?? 500;
  const keyField = template.syncKeyCandidates[0]!;
  const fieldIds = template.fields.map((f) => f.id);
  const joinsPerson = template.entity !== PERSON_ENTITY && fieldIds.includes(PERSON_KEY);
  const { changedAfter, changedUpTo } = options;
  const window =
    changedAfter !== undefined ? { changedAfter, ...(changedUpTo !== undefined ? { changedUpTo } : {}) } : {};
  let ordinal = 0;
  const row = (record: EntityRecord, person: EntityRecord | undefined): SourceRow => {
    const values: Record<string, string> = {};
    for (const id of fieldIds) {
      values[id] = id === keyField ? record.key : (record.fields[id] ?? person?.fields[id] ?? '');
    }
    ordinal++;
    return {
      ordinal,
      key: record.key,
      changeSeq: record.changeSeq,
      values,
      ...(joinsPerson && !person ? { personMissing: record.fields[PERSON_KEY] ?? '' } : {}),
    };
  };

  for await (const items of pages(records, org, template.entity, limit, window)) {
    const people = joinsPerson ? await peopleOf(records, org, items) : new Map<string, EntityRecord>();
    for (const record of items) {
      const personId = record.fields[PERSON_KEY];
      yield row(record, personId !== undefined ? people.get(personId) : undefined);
    }
  }
  if (changedAfter === undefined || !joinsPerson) return;
  // Pass 2: the people changed in the window, with their records the first pass did not hold.
  for await (const changedPeople of pages(records, org, PERSON_ENTITY, limit, window)) {
    const people = new Map(changedPeople.map((p) => [p.key, p]));
    for (const record of await records.ofPeople(org, template.entity, [...people.keys()])) {
      if (record.changeSeq > changedAfter) continue;
      yield row(record, people.get(record.fields[PERSON_KEY] ?? ''));
    }
  }
}

/** The pages of one read, the next page fetched while the caller works on this one: at most two pages in memory. */
async function* pages(
  records: SystemOfRecord,
  org: string,
  entity: string,
  limit: number,
  window: { changedAfter?: number; changedUpTo?: number },
): AsyncIterable<readonly EntityRecord[]> {
  const fetch = (cursor?: string) => records.page(org, entity, { limit, ...(cursor ? { cursor } : {}), ...window });
  let pending = fetch();
  for (;;) {
    const page = await pending;
    if (page.next) pending = fetch(page.next);
    yield page.items;
    if (!page.next) return;
  }
}

async function peopleOf(records: SystemOfRecord, org: string, items: readonly EntityRecord[]) {
  const ids = [...new Set(items.map((r) => r.fields[PERSON_KEY]).filter((v): v is string => !!v))];
  return ids.length > 0 ? records.get(org, PERSON_ENTITY, ids) : new Map<string, EntityRecord>();
}
