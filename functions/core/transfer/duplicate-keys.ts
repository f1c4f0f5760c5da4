/**
 * Which rows of a file share a sync key, found without holding the file's keys in memory.
 *
 * An import reads its file twice. The first reading, the census, evaluates every row with the same pure steps as the
 * import (map, filter, validate) and adds (key, row, valid) to a sort whose memory is bounded (SortScratch: past its
 * budget it writes sorted runs to local disk). Sorted, the rows of one key are neighbours; every key seen on two or
 * more rows becomes notes, themselves sorted by row, which the second reading meets in order (NoteCursor):
 * - the first row of such a key, when valid, is kept and told which row repeats it (`first`);
 * - every later row is a duplicate, not applied (`repeat`), and knows whether the first row was valid.
 * Memory is the sort's budget whatever the file's size and however many keys repeat; a file whose keys are unique
 * produces no notes at all.
 *
 * Keys are compared by the first 128 bits of their SHA-256. Two different keys of an n-row file share them with a
 * probability of about n^2 / 2^129 (1e-21 for a billion rows), a risk far below that of the hardware misreading a byte.
 */
import { hash } from 'node:crypto';
import type { RecordSort, SortScratch } from '../ports.ts';

export type KeyNote =
  /** The first row of a key that appears again: kept; `nextRow` is the first repeat, `repeats` how many there are. */
  | { kind: 'first'; row: number; nextRow: number; repeats: number }
  /** A later row of a key: not applied. `firstValid`: whether the first row passed its checks (and was applied). */
  | { kind: 'repeat'; row: number; firstRow: number; firstValid: boolean };

const HASH_BYTES = 16;
/** Census record: key hash (16) | row (u32 BE) | valid (u8). Sorted: by key, then by row. */
const ENTRY_BYTES = HASH_BYTES + 5;
/** Note record: row (u32 BE) | kind (u8) | other row (u32 BE) | repeats or first-valid (u32 BE). Sorted: by row. */
const NOTE_BYTES = 13;
const FIRST = 0;
const REPEAT = 1;

export interface KeyCensus {
  /** One row that has a key, in any order; `valid`: the row passed every check but the duplicate one. */
  add(recordKey: string, row: number, valid: boolean): Promise<void> | undefined;
  /** The notes in row order. Call once, after the last `add`. */
  notes(): AsyncIterable<KeyNote>;
  /** Releases scratch space (a run that stopped before reading the notes). */
  discard(): Promise<void>;
}

export function keyCensus(scratch: SortScratch): KeyCensus {
  const entries = scratch.start(ENTRY_BYTES);
  const entry = Buffer.alloc(ENTRY_BYTES);
  let notes: RecordSort | undefined;
  return {
    add(recordKey, row, valid) {
      hash('sha256', recordKey, 'buffer').copy(entry, 0, 0, HASH_BYTES);
      entry.writeUInt32BE(row, HASH_BYTES);
      entry[HASH_BYTES + 4] = valid ? 1 : 0;
      return entries.add(entry);
    },
    async *notes() {
      notes = scratch.start(NOTE_BYTES);
      await collectNotes(entries.sorted(), notes);
      for await (const record of notes.sorted()) yield decodeNote(record);
    },
    async discard() {
      await Promise.all([entries.discard(), notes?.discard()]);
    },
  };
}

/** Walks the census in key order and adds a note for every row of a key that appears more than once. */
async function collectNotes(sorted: AsyncIterable<Uint8Array>, notes: RecordSort): Promise<void> {
  const groupKey = Buffer.alloc(HASH_BYTES);
  const note = Buffer.alloc(NOTE_BYTES);
  let firstRow = 0;
  let firstValid = false;
  let nextRow = 0;
  let rows = 0;
  const closeGroup = async () => {
    if (rows > 1 && firstValid) await notes.add(encodeNote(note, FIRST, firstRow, nextRow, rows - 1));
  };
  for await (const record of sorted) {
    const view = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
    const row = view.readUInt32BE(HASH_BYTES);
    if (rows > 0 && view.compare(groupKey, 0, HASH_BYTES, 0, HASH_BYTES) === 0) {
      if (++rows === 2) nextRow = row;
      await notes.add(encodeNote(note, REPEAT, row, firstRow, firstValid ? 1 : 0));
      continue;
    }
    await closeGroup();
    view.copy(groupKey, 0, 0, HASH_BYTES);
    firstRow = row;
    firstValid = view[HASH_BYTES + 4] === 1;
    rows = 1;
  }
  await closeGroup();
}

function encodeNote(into: Buffer, kind: number, row: number, other: number, extra: number): Buffer {
  into.writeUInt32BE(row, 0);
  into[4] = kind;
  into.writeUInt32BE(other, 5);
  into.writeUInt32BE(extra, 9);
  return into;
}

function decodeNote(record: Uint8Array): KeyNote {
  const view = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
  const row = view.readUInt32BE(0);
  const other = view.readUInt32BE(5);
  const extra = view.readUInt32BE(9);
  return view[4] === FIRST
    ? { kind: 'first', row, nextRow: other, repeats: extra }
    : { kind: 'repeat', row, firstRow: other, firstValid: extra === 1 };
}

/** Reads notes alongside the rows: ask for each row in increasing order. */
export class NoteCursor {
  private readonly iterator: AsyncIterator<KeyNote>;
  private head: KeyNote | undefined;
  private ended = false;

  private constructor(notes: AsyncIterable<KeyNote>) {
    this.iterator = notes[Symbol.asyncIterator]();
  }

  static async open(notes: AsyncIterable<KeyNote>): Promise<NoteCursor> {
    const cursor = new NoteCursor(notes);
    await cursor.advance();
    return cursor;
  }

  /**
   * The note of `row`, if any; notes of earlier rows (rows a resumed run skips) are passed over. Synchronous unless
   * the cursor must read on, which happens once per note.
   */
  at(row: number): KeyNote | undefined | Promise<KeyNote | undefined> {
    if (this.head === undefined || this.head.row > row) return undefined;
    return this.seek(row);
  }

  private async seek(row: number): Promise<KeyNote | undefined> {
    while (this.head !== undefined && this.head.row < row) await this.advance();
    if (this.head === undefined || this.head.row !== row) return undefined;
    const found = this.head;
    await this.advance();
    return found;
  }

  private async advance(): Promise<void> {
    if (this.ended) return;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      this.head = undefined;
    } else this.head = next.value;
  }

  /** Stops reading (releases the sort's scratch space). */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.iterator.return?.();
    }
  }
}
