/**
 * Pages of a list (runs, run errors, jobs) and the cursors that resume them. A cursor is the last key of a page,
 * given back by the client: it is an offset and nothing more, so it must be exactly a key of the table it came from
 * (its key attributes as text, nothing else, not too long) and lie in the caller's own partition. Anything else is
 * an `InvalidCursor`, which the API answers with 400, never a store error or a 500.
 */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** A cursor the API refuses: not one of ours, of another partition, or of another list. */
export class InvalidCursor extends Error {
  readonly code = 'invalid_cursor';
  constructor(reason: string) {
    super(`invalid cursor: ${reason}`);
    this.name = 'InvalidCursor';
  }
}

/** Longer than any key of ours (partition and sort key are each at most 1 KB in DynamoDB, ours far less). */
export const MAX_CURSOR_LENGTH = 1024;

export function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/**
 * The key object a cursor carries, with exactly the attribute names `names` (any order), or undefined for no cursor
 * (the first page). Throws InvalidCursor for anything else: too long, not base64url JSON, not an object, other names.
 */
export function cursorKey(cursor: string | undefined, names: readonly string[]): Record<string, unknown> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (cursor.length > MAX_CURSOR_LENGTH) throw new InvalidCursor('too long');
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursor('not a cursor of this API');
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw new InvalidCursor('not a key');
  const record = key as Record<string, unknown>;
  const present = Object.keys(record).sort();
  const wanted = [...names].sort();
  if (present.length !== wanted.length || present.some((n, i) => n !== wanted[i])) {
    throw new InvalidCursor('not a key of this list');
  }
  return record;
}

/**
 * The key a cursor stands for, checked: an object with exactly the attributes `partition` and `sort` name, both
 * text, the partition equal to `partitionValue`. Undefined when there is no cursor (the first page).
 */
export function decodeCursor(
  cursor: string | undefined,
  expected: {
    partition: string;
    partitionValue: string;
    sort: string;
    /** An index's page also carries the table's key: attributes that must hold exactly these values. */
    fixed?: Readonly<Record<string, string>>;
  },
): Record<string, string> | undefined {
  const record = cursorKey(cursor, [expected.partition, expected.sort, ...Object.keys(expected.fixed ?? {})]);
  if (record === undefined) return undefined;
  for (const [name, value] of Object.entries(expected.fixed ?? {})) {
    if (record[name] !== value) throw new InvalidCursor('of another list');
  }
  if (typeof record[expected.sort] !== 'string' || record[expected.sort] === '') {
    throw new InvalidCursor('not a key of this list');
  }
  // A cursor must not be a way into another organization's partition.
  if (record[expected.partition] !== expected.partitionValue) throw new InvalidCursor('of another list');
  return record as Record<string, string>;
}
