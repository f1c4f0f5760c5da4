/**
 * Small helpers shared by the DynamoDB adapters: update expressions that set only the attributes given (so parts of
 * the system that own other attributes of an item keep them), bounded concurrency, and retries of the unprocessed
 * part of batch calls.
 */

export interface UpdateParts {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

/**
 * `SET #a0 = :a0, ...` for every defined value and `REMOVE #r0, ...` for the names listed in `remove`.
 * `ifNotExists` names are set only when the item lacks them (creation time). Names and values are always
 * placeholders, so any field id is safe (reserved words, dots, dashes).
 */
export function updateParts(
  set: Readonly<Record<string, unknown>>,
  options: {
    remove?: readonly string[];
    ifNotExists?: Readonly<Record<string, unknown>>;
    add?: Readonly<Record<string, number>>;
  } = {},
): UpdateParts {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  let i = 0;
  for (const [name, value] of Object.entries(set)) {
    if (value === undefined) continue;
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    sets.push(`#a${i} = :a${i}`);
    i++;
  }
  for (const [name, value] of Object.entries(options.ifNotExists ?? {})) {
    if (value === undefined) continue;
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    sets.push(`#a${i} = if_not_exists(#a${i}, :a${i})`);
    i++;
  }
  const removes: string[] = [];
  for (const name of options.remove ?? []) {
    if (name in set && set[name] !== undefined) continue;
    names[`#r${removes.length}`] = name;
    removes.push(`#r${removes.length}`);
  }
  const adds: string[] = [];
  for (const [name, value] of Object.entries(options.add ?? {})) {
    names[`#d${adds.length}`] = name;
    values[`:d${adds.length}`] = value;
    adds.push(`#d${adds.length} :d${adds.length}`);
  }
  const clauses = [
    sets.length ? `SET ${sets.join(', ')}` : '',
    removes.length ? `REMOVE ${removes.join(', ')}` : '',
    adds.length ? `ADD ${adds.join(', ')}` : '',
  ].filter(Boolean);
  return { UpdateExpression: clauses.join(' '), ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Exponential backoff with full jitter for unprocessed batch items (throttling): 50 ms, 100 ms, ... up to 5 s. */
export function backoff(attempt: number): Promise<void> {
  const cap = Math.min(5000, 50 * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
}

export const MAX_BATCH_ATTEMPTS = 10;

export function isConditionFailed(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}
