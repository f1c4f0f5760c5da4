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
 * Incremental reads (`changedAfter`) select the records of the template's own entity whose change sequence is above
 * the mark; a change to the person alone (a new last name) does not re-export the person's cases.
 */
import type { EntityRecord, SystemOfRecord } from '../ports.ts';
import type { Template } from './template-types.ts';

export const PERSON_ENTITY = 'foreignNational';
export const PERSON_KEY = 'employeeId';

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
  const fetch = (cursor?: string) =>
    records.page(org, template.entity, {
      limit,
      ...(cursor ? { cursor } : {}),
      ...(options.changedAfter !== undefined ? { changedAfter: options.changedAfter } : {}),
    });
  let ordinal = 0;
  let pending = fetch();
  for (;;) {
    const page = await pending;
    // The next page is on its way while this one is joined and written.
    if (page.next) pending = fetch(page.next);
    const people = joinsPerson ? await peopleOf(records, org, page.items) : new Map<string, EntityRecord>();
    for (const record of page.items) {
      const values: Record<string, string> = {};
      const personId = record.fields[PERSON_KEY];
      const person = personId !== undefined ? people.get(personId) : undefined;
      for (const id of fieldIds) {
        values[id] = id === keyField ? record.key : (record.fields[id] ?? person?.fields[id] ?? '');
      }
      ordinal++;
      yield {
        ordinal,
        key: record.key,
        changeSeq: record.changeSeq,
        values,
        ...(joinsPerson && !person ? { personMissing: personId ?? '' } : {}),
      };
    }
    if (!page.next) return;
  }
}

async function peopleOf(records: SystemOfRecord, org: string, items: readonly EntityRecord[]) {
  const ids = [...new Set(items.map((r) => r.fields[PERSON_KEY]).filter((v): v is string => !!v))];
  return ids.length > 0 ? records.get(org, PERSON_ENTITY, ids) : new Map<string, EntityRecord>();
}
