/**
 * Filters (an import option): rules a row must meet to be imported, such as Status equals Active. Pure.
 *
 * - A rule names one of our fields the job maps; it sees the field's value after the entry's transforms (the value
 *   that would be stored), an empty cell being ''. Comparisons ignore case unless the rule says `caseSensitive`.
 * - Every rule must hold (AND). A row that fails one is not imported, is counted as `filtered` and is not an error.
 * - A row whose filtered field could not be transformed (a date no format reads) cannot be judged: it is an error,
 *   like any row with a failed transform. Other failures on a row that the filters leave out are not reported.
 * - A filtered field whose column is missing from a file stops the run (like a required column): a filter on an
 *   absent column would silently keep or drop every row.
 */
import { isRecord } from '../guards.ts';
import type { Problem } from '../problems.ts';
import { ownValue } from '../reserved-names.ts';

export type FilterOp = 'equals' | 'notEquals' | 'in' | 'notIn' | 'isEmpty' | 'isNotEmpty';

export const FILTER_OPS: readonly FilterOp[] = ['equals', 'notEquals', 'in', 'notIn', 'isEmpty', 'isNotEmpty'];

export interface FilterRule {
  /** Our field id (a template field or `custom.<id>`), mapped by the job. */
  field: string;
  op: FilterOp;
  /** For equals / notEquals. */
  value?: string;
  /** For in / notIn: at least one. */
  values?: string[];
  /** Compare exactly; by default case is ignored ("active" equals "Active"). */
  caseSensitive?: boolean;
}

export const MAX_FILTERS = 20;
const MAX_VALUES = 500;

/** A rule in words: `Status equals "Active"`, `Department is one of "R&D", "Sales"`. */
export function describeFilter(rule: FilterRule, title: (field: string) => string = (f) => f): string {
  const name = title(rule.field);
  const quoted = (vs: readonly string[]) => vs.map((v) => `"${v}"`).join(', ');
  switch (rule.op) {
    case 'equals':
      return `${name} equals "${rule.value}"`;
    case 'notEquals':
      return `${name} does not equal "${rule.value}"`;
    case 'in':
      return `${name} is one of ${quoted(rule.values ?? [])}`;
    case 'notIn':
      return `${name} is none of ${quoted(rule.values ?? [])}`;
    case 'isEmpty':
      return `${name} is empty`;
    default:
      return `${name} is not empty`;
  }
}

/**
 * What is wrong with a job's filters (empty when they can run). `mapped` says whether the job maps a field; `where`
 * prefixes messages (`job j1`). Robust to any JSON.
 */
export function filterProblems(
  filters: unknown,
  mapped: (field: string) => boolean,
  where: string,
  title: (field: string) => string = (f) => f,
): Problem[] {
  if (filters === undefined) return [];
  if (!Array.isArray(filters)) return [{ code: 'invalid_filter', message: `${where}: filters must be a list` }];
  const problems: Problem[] = [];
  const bad = (i: number, what: string) =>
    problems.push({ code: 'invalid_filter', message: `${where}: filter ${i + 1} ${what}` });
  if (filters.length > MAX_FILTERS) {
    problems.push({ code: 'invalid_filter', message: `${where}: at most ${MAX_FILTERS} filters` });
  }
  for (const [i, f] of (filters as unknown[]).entries()) {
    if (!isRecord(f)) {
      bad(i, 'must be an object: { field, op, value(s) }');
      continue;
    }
    if (typeof f.field !== 'string' || f.field === '') {
      bad(i, 'needs the field it tests');
      continue;
    }
    if (!FILTER_OPS.includes(f.op as FilterOp)) {
      bad(i, `op must be one of ${FILTER_OPS.join(', ')}`);
      continue;
    }
    if (f.caseSensitive !== undefined && typeof f.caseSensitive !== 'boolean') {
      bad(i, 'caseSensitive must be true or false');
    }
    const op = f.op as FilterOp;
    if (op === 'equals' || op === 'notEquals') {
      if (typeof f.value !== 'string' || f.value.trim() === '') {
        bad(i, `(${op}) needs a value; use isEmpty / isNotEmpty for empty cells`);
      }
      if (f.values !== undefined) bad(i, `(${op}) takes one value, not values`);
    } else if (op === 'in' || op === 'notIn') {
      if (
        !Array.isArray(f.values) ||
        f.values.length === 0 ||
        f.values.length > MAX_VALUES ||
        !f.values.every((v) => typeof v === 'string')
      ) {
        bad(i, `(${op}) needs values: a list of 1 to ${MAX_VALUES} texts`);
      }
      if (f.value !== undefined) bad(i, `(${op}) takes values, not value`);
    } else if (f.value !== undefined || f.values !== undefined) {
      bad(i, `(${op}) takes no value`);
    }
    if (!mapped(f.field)) {
      problems.push({
        code: 'filter_field_unmapped',
        message: `${where}: filter ${i + 1} tests ${title(f.field)}, which no column is mapped to`,
      });
    }
  }
  return problems;
}

/** Decides a mapped row: the first rule it fails, or undefined when the row is kept. */
export type RowFilter = (row: Readonly<Record<string, string>>) => FilterRule | undefined;

/** Compiles checked rules; no rules keep every row. */
export function compileFilters(rules: readonly FilterRule[] = []): RowFilter {
  if (rules.length === 0) return () => undefined;
  const tests = rules.map((rule) => {
    const fold = rule.caseSensitive === true ? (v: string) => v : (v: string) => v.toLowerCase();
    const field = rule.field;
    switch (rule.op) {
      case 'equals':
      case 'notEquals': {
        const wanted = fold((rule.value ?? '').trim());
        const eq = rule.op === 'equals';
        return (row: Readonly<Record<string, string>>) => (fold(ownValue(row, field) ?? '') === wanted) === eq;
      }
      case 'in':
      case 'notIn': {
        const set = new Set((rule.values ?? []).map((v) => fold(v.trim())));
        const inside = rule.op === 'in';
        return (row: Readonly<Record<string, string>>) => set.has(fold(ownValue(row, field) ?? '')) === inside;
      }
      case 'isEmpty':
        return (row: Readonly<Record<string, string>>) => (ownValue(row, field) ?? '') === '';
      default:
        return (row: Readonly<Record<string, string>>) => (ownValue(row, field) ?? '') !== '';
    }
  });
  return (row) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i]!(row)) return rules[i];
    return undefined;
  };
}

/** The fields the rules test (their columns must be in a file). */
export function filteredFields(rules: readonly FilterRule[] = []): string[] {
  return [...new Set(rules.map((r) => r.field))];
}
