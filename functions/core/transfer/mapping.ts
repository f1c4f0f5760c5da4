/**
 * Field mapping: which of the customer's columns feeds which of our fields, resolved once against a file's header,
 * then applied to every row.
 *
 * Header matching ignores case, surrounding spaces and repeated inner spaces (`  employee   ID ` matches
 * `Employee ID`). Cell values are trimmed and an empty cell is an absent field: the template decides whether that is
 * allowed (required) and the record store removes a mapped field the file now leaves empty.
 */
import type { Problem } from '../problems.ts';
import type { Template } from './templates.ts';

export interface MappingEntry {
  /** The customer's column heading. */
  column: string;
  /** Our field id in the job's template. */
  field: string;
}

export function normalizeHeading(heading: string): string {
  return heading.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** A mapped column found in the file. */
export interface BoundColumn {
  /** Position of the column in the file. */
  index: number;
  /** The heading as the file spells it (for messages and outcome files). */
  column: string;
  field: string;
}

export interface ResolvedHeader {
  /** Mapped columns present in the file, in file order. */
  bound: BoundColumn[];
  /** The field ids this file writes: a mapped field whose column is absent is left untouched, never removed. */
  writes: string[];
  /** Mapped columns whose field is required (or is the sync key) but that the file lacks: the run stops. */
  missingRequired: MappingEntry[];
  /** Mapped optional columns the file lacks: a warning; those fields are left as they are. */
  missingOptional: MappingEntry[];
  /** Columns of the file that the mapping does not use: a warning. */
  unknown: string[];
  /** Field id -> the customer's heading for it, for row errors. */
  columnOf: ReadonlyMap<string, string>;
}

/**
 * Resolves a job's mapping against a file's header. `syncKey` counts as required whatever the template says: a row
 * without its key cannot be stored.
 */
export function resolveHeader(
  header: readonly string[],
  mapping: readonly MappingEntry[],
  template: Template,
  syncKey: string,
): ResolvedHeader {
  const positions = new Map<string, number>();
  header.forEach((h, i) => {
    const k = normalizeHeading(h);
    if (!positions.has(k)) positions.set(k, i);
  });
  const bound: BoundColumn[] = [];
  const missingRequired: MappingEntry[] = [];
  const missingOptional: MappingEntry[] = [];
  const used = new Set<number>();
  const columnOf = new Map<string, string>();
  for (const entry of mapping) {
    const index = positions.get(normalizeHeading(entry.column));
    const field = template.field(entry.field);
    if (index === undefined) {
      if (field?.required || entry.field === syncKey) missingRequired.push(entry);
      else missingOptional.push(entry);
      columnOf.set(entry.field, entry.column);
      continue;
    }
    used.add(index);
    const column = header[index] ?? entry.column;
    bound.push({ index, column, field: entry.field });
    columnOf.set(entry.field, column);
  }
  bound.sort((a, b) => a.index - b.index);
  return {
    bound,
    writes: bound.map((b) => b.field).sort(),
    missingRequired,
    missingOptional,
    unknown: header.filter((h, i) => !used.has(i) && h.trim() !== ''),
    columnOf,
  };
}

/** Template fields that must be mapped before a job can run: the required ones and the sync key. */
export function mandatoryFields(template: Template, syncKey: string): string[] {
  return template.fields.filter((f) => f.required || f.id === syncKey).map((f) => f.id);
}

/** A row's values by our field ids: trimmed, empty cells left out. */
export function mapRow(values: readonly string[], header: ResolvedHeader): Record<string, string> {
  const row: Record<string, string> = {};
  for (const b of header.bound) {
    let value = values[b.index];
    if (!value) continue;
    // trim() only when needed: most cells have no surrounding spaces, and this runs for every cell of every row.
    if (value.charCodeAt(0) <= 32 || value.charCodeAt(value.length - 1) <= 32) value = value.trim();
    if (value) row[b.field] = value;
  }
  return row;
}

/** The record key a sync-key value becomes (e-mail keys compare case-insensitively). */
export function recordKeyOf(template: Template, syncKey: string, value: string): string {
  return template.field(syncKey)?.keyCase === 'lower' ? value.toLowerCase() : value;
}

/** Header problems as the run reports them: the stopping ones first. */
export function headerProblems(
  header: ResolvedHeader,
  template: Template,
  fileName: string,
): {
  stop?: Problem;
  warnings: Problem[];
} {
  const warnings: Problem[] = [
    ...header.missingOptional.map((m) => ({
      code: 'missing_optional_column',
      message: `${fileName}: the mapped column "${m.column}" (${template.field(m.field)?.title ?? m.field}) is not in the file; that field was left unchanged`,
      file: fileName,
      column: m.column,
    })),
    ...header.unknown.map((column) => ({
      code: 'unknown_column',
      message: `${fileName}: column "${column}" is not mapped to any field and was ignored`,
      file: fileName,
      column,
    })),
  ];
  const first = header.missingRequired[0];
  if (!first) return { warnings };
  const names = header.missingRequired.map((m) => `"${m.column}"`).join(', ');
  return {
    stop: {
      code: 'missing_required_column',
      message:
        header.missingRequired.length === 1
          ? `${fileName}: the required column ${names} is missing from the header, so nothing was imported`
          : `${fileName}: the required columns ${names} are missing from the header, so nothing was imported`,
      file: fileName,
      column: first.column,
      rule: 'required column',
    },
    warnings,
  };
}
