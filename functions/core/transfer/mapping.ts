/**
 * Field mapping: which of the customer's columns feeds which of our fields, and how (transforms.ts), resolved once
 * against a file's header, then applied to every row.
 *
 * A mapping entry is `{ column, field }` (one column, as before), or `{ columns: [...], field, transforms: [{ type:
 * 'join', ... }] }` (several columns make one value); either may carry `transforms` and a `default` for an empty
 * result. One column may feed several fields (e.g. "Last, First" split into last and first name); a field is fed by
 * one entry.
 *
 * Fields are the template's. For a job with custom fields (templates that accept them, see templates.ts), the
 * template is the one templates.ts `withCustomFields` composes (through jobs.ts `composeJobTemplate`, which also
 * takes out the job-level `unique` flag): each custom field is then a field like any other, mapped, validated,
 * masked and stored by its id.
 *
 * Header matching ignores case, surrounding spaces and repeated inner spaces (`  employee   ID ` matches
 * `Employee ID`). Cell values are trimmed (unless the entry's trim transform says otherwise) and an empty value is an
 * absent field: the template decides whether that is allowed (required) and the record store removes a mapped field
 * the file now leaves empty.
 */
import type { Problem } from '../problems.ts';
import { MAX_COLUMN_NAME_CHARS, MAX_COLUMNS } from './csv/read-csv.ts';
import type { CustomFieldDeclaration } from './custom-fields.ts';
import { normalizeHeading } from './headings.ts';
import { type SuggestMappingOptions, suggestMapping } from './smart-mapping.ts';
import type { Template } from './template-types.ts';
import { mappableFields } from './template-views.ts';
import {
  compilePipeline,
  type Pipeline,
  suggestDateFormat,
  type Transform,
  type TransformFailure,
} from './transforms.ts';

export interface MappingEntry {
  /** The customer's column heading (one column). */
  column?: string;
  /** Several headings whose cells a `join` transform makes one value (instead of `column`). */
  columns?: string[];
  /** Our field id in the job's template (custom fields included). */
  field: string;
  transforms?: Transform[];
  /** The value when the cell (after the transforms) is empty. */
  default?: string;
}

/** The columns an entry reads, in order. */
export function entryColumns(entry: MappingEntry): string[] {
  if (typeof entry.column === 'string') return [entry.column];
  return Array.isArray(entry.columns) ? entry.columns : [];
}

/** How messages name an entry's column(s): `"Email"` or `"First Name" + "Last Name"`. */
export function entryLabel(entry: MappingEntry): string {
  return entryColumns(entry)
    .map((c) => `"${c}"`)
    .join(' + ');
}

/**
 * The longest column heading a job may name and smart mapping will read, and the most columns it reads at once: the
 * CSV reader's own limits, so a heading a job names can always arrive in a file. Real headings are a few words; the
 * bound keeps the work per request small whatever is sent.
 */
export const MAX_HEADING_LENGTH = MAX_COLUMN_NAME_CHARS;
export const MAX_SUGGESTION_COLUMNS = MAX_COLUMNS;

// ---------------------------------------------------------------------------------------------------------------
// Custom fields

/**
 * A custom field as a job declares it: the template's declaration (templates.ts) plus `unique`, a job-level flag
 * saying that the field identifies a record, so it may be the job's sync key.
 */
export interface CustomField extends CustomFieldDeclaration {
  unique?: boolean;
}

/** The declarations as templates.ts takes them (without the job-level `unique`). */
export function declarationsOf(customFields: readonly CustomField[] = []): CustomFieldDeclaration[] {
  return customFields.map((f) => {
    if (typeof f !== 'object' || f === null || !('unique' in f)) return f;
    const { unique: _unique, ...declaration } = f;
    return declaration;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Resolving a header

/** A mapping entry whose columns are all in the file. */
export interface BoundColumn {
  /** Position of the (first) column in the file. */
  index: number;
  /** The heading(s) as the file spells them (for messages and outcome files); several joined by " + ". */
  column: string;
  field: string;
  /** Every column's position, for an entry of several columns. */
  indexes?: number[];
  /** The entry's transforms and default, compiled; absent for a plain 1:1 entry (the fast path). */
  pipeline?: Pipeline;
}

export interface ResolvedHeader {
  /** Mapped entries whose columns are all in the file, in file order of their (first) column. */
  bound: BoundColumn[];
  /** The field ids this file writes: a mapped field whose column is absent is left untouched, never removed. */
  writes: string[];
  /** Entries whose field is required (or is the sync key, or is filtered on) but whose column the file lacks. */
  missingRequired: MappingEntry[];
  /** Mapped optional columns the file lacks: a warning; those fields are left as they are. */
  missingOptional: MappingEntry[];
  /** Columns of the file that the mapping does not use: a warning. */
  unknown: string[];
  /** Field id -> the customer's heading for it, for row errors. */
  columnOf: ReadonlyMap<string, string>;
}

export interface ResolveOptions {
  /** Fields whose columns must be in the file besides the required ones and the sync key (filtered fields). */
  alsoRequired?: readonly string[];
}

/**
 * Resolves a job's mapping against a file's header. `syncKey` counts as required whatever the template says: a row
 * without its key cannot be stored. An entry of several columns is bound only when every one of them is present.
 */
export function resolveHeader(
  header: readonly string[],
  mapping: readonly MappingEntry[],
  template: Template,
  syncKey: string,
  options: ResolveOptions = {},
): ResolvedHeader {
  const alsoRequired = new Set(options.alsoRequired ?? []);
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
    const columns = entryColumns(entry);
    const indexes = columns.map((c) => positions.get(normalizeHeading(c)));
    if (columns.length === 0 || indexes.some((i) => i === undefined)) {
      if (template.field(entry.field)?.required || entry.field === syncKey || alsoRequired.has(entry.field)) {
        missingRequired.push(entry);
      } else missingOptional.push(entry);
      columnOf.set(entry.field, columns.join(' + '));
      continue;
    }
    const present = indexes as number[];
    for (const i of present) used.add(i);
    const column = present.map((i, k) => header[i] ?? columns[k]!).join(' + ');
    const plain = (entry.transforms === undefined || entry.transforms.length === 0) && entry.default === undefined;
    bound.push({
      index: present[0]!,
      column,
      field: entry.field,
      ...(present.length > 1 ? { indexes: present } : {}),
      ...(plain && present.length === 1 ? {} : { pipeline: compilePipeline(entry.transforms, entry.default) }),
    });
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

/**
 * Fields that must be mapped before a job can run: the template's required ones (required custom fields too, with a
 * composed template) and the sync key.
 */
export function mandatoryFields(template: Template, syncKey: string): string[] {
  return template.fields.filter((f) => f.required || f.id === syncKey).map((f) => f.id);
}

/** A field that could not be transformed on a row. */
export interface MappingFailure {
  field: string;
  /** The heading(s) the value came from. */
  column: string;
  failure: TransformFailure;
}

/**
 * A row's values by our field ids: transformed, trimmed, empty values left out. A field whose transform fails is left
 * out too and, when `failures` is given, reported there.
 */
export function mapRow(
  values: readonly string[],
  header: ResolvedHeader,
  failures?: MappingFailure[],
): Record<string, string> {
  const row: Record<string, string> = {};
  for (const b of header.bound) {
    if (b.pipeline) {
      const result = b.pipeline.run(b.indexes ? b.indexes.map((i) => values[i] ?? '') : [values[b.index] ?? '']);
      if (typeof result === 'string') {
        if (result !== '') row[b.field] = result;
      } else failures?.push({ field: b.field, column: b.column, failure: result });
      continue;
    }
    let value = values[b.index];
    if (!value) continue;
    // trim() only when needed: most cells have no surrounding spaces, and this runs for every cell of every row.
    if (value.charCodeAt(0) <= 32 || value.charCodeAt(value.length - 1) <= 32) value = value.trim();
    if (value) row[b.field] = value;
  }
  return row;
}

/** The record key a sync-key value becomes (e-mail keys compare case-insensitively, others as written). */
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
  const title = (id: string) => template.field(id)?.title ?? id;
  const warnings: Problem[] = [
    ...header.missingOptional.map((m) => ({
      code: 'missing_optional_column',
      message: `${fileName}: the mapped column ${entryLabel(m)} (${title(m.field)}) is not in the file; that field was left unchanged`,
      file: fileName,
      column: entryColumns(m).join(' + '),
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
  const names = header.missingRequired.map(entryLabel).join(', ');
  return {
    stop: {
      code: 'missing_required_column',
      message:
        header.missingRequired.length === 1
          ? `${fileName}: the required column ${names} is missing from the header, so nothing was imported`
          : `${fileName}: the required columns ${names} are missing from the header, so nothing was imported`,
      file: fileName,
      column: entryColumns(first).join(' + '),
      rule: 'required column',
    },
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Smart mapping for a job

export interface ColumnMappingSuggestion {
  column: string;
  /** The suggested field; absent when none is confident enough. */
  field?: string;
  title?: string;
  /** 0..1. */
  confidence: number;
  reason: string;
  /** Transforms the samples call for (a date format when exactly one reads every sample date). */
  transforms?: Transform[];
  /** For people: what the samples leave open (`dates read as M/D/YYYY or D/M/YYYY: choose the format`). */
  note?: string;
}

export interface JobMappingSuggestions {
  columns: ColumnMappingSuggestion[];
  /** The suggested entries, ready for a job definition. */
  mapping: MappingEntry[];
  /** Required fields no column was suggested for. */
  unmappedRequired: { field: string; title: string }[];
  /** The sync-key candidates (and unique custom fields), and whether a column was suggested for each. */
  syncKeys: { field: string; title: string; mapped: boolean }[];
}

/**
 * Smart mapping for a job: suggestMapping over the template's mappable fields (with a composed template, the job's
 * custom fields too), with the date transforms the samples call for, as entries a job can take as they are.
 * `uniqueFields` are custom fields the job declares unique (sync-key candidates besides the template's).
 */
export function suggestJobMapping(
  template: Template,
  header: readonly string[],
  options: { samples?: string[][]; uniqueFields?: readonly string[]; threshold?: number } = {},
): JobMappingSuggestions {
  const fields = mappableFields(template);
  const byId = new Map(fields.map((f) => [f.id, f]));
  const suggestOptions: SuggestMappingOptions = {
    ...(options.samples && options.samples.length > 0 ? { samples: options.samples } : {}),
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
  };
  const suggestions = suggestMapping([...header], fields, suggestOptions);
  const columns: ColumnMappingSuggestion[] = suggestions.map((s, i) => {
    const field = s.field === undefined ? undefined : byId.get(s.field);
    const out: ColumnMappingSuggestion = {
      column: s.column,
      ...(field ? { field: field.id, title: field.title } : {}),
      confidence: s.confidence,
      reason: s.reason,
    };
    if (field?.type === 'date' && options.samples) {
      const dates = suggestDateFormat(options.samples.map((row) => row[i] ?? ''));
      if (dates.format) out.transforms = [{ type: 'date', formats: [dates.format] }];
      else if (dates.ambiguous) {
        out.note = `the sample dates read as ${dates.ambiguous.join(' or ')}: choose the format (a date transform)`;
      }
    }
    return out;
  });
  const mapping: MappingEntry[] = columns
    .filter((c) => c.field !== undefined)
    .map((c) => ({ column: c.column, field: c.field!, ...(c.transforms ? { transforms: c.transforms } : {}) }));
  const mapped = new Set(mapping.map((m) => m.field));
  const title = (id: string) => byId.get(id)?.title ?? id;
  const required = template.fields.filter((f) => f.required).map((f) => f.id);
  const keys = [...template.syncKeyCandidates, ...(options.uniqueFields ?? [])];
  return {
    columns,
    mapping,
    unmappedRequired: required.filter((id) => !mapped.has(id)).map((id) => ({ field: id, title: title(id) })),
    syncKeys: keys.map((id) => ({ field: id, title: title(id), mapped: mapped.has(id) })),
  };
}
