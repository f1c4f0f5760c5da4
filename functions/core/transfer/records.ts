/**
 * How imported rows become records: the key they are stored under and the content hash that tells an unchanged row
 * (no write) from a changed one.
 */
import { hash } from 'node:crypto';
import { ownValue } from '../reserved-names.ts';

/** Records table partition key: spreads an organization over many partitions. */
export function recordPk(org: string, entity: string, recordKey: string): string {
  return `${org}#${entity}#${recordKey}`;
}

export function orgEntity(org: string, entity: string): string {
  return `${org}#${entity}`;
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
