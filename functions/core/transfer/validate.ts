/**
 * Row validation: a mapped row (our field ids -> trimmed strings) against its template's compiled schema, with every
 * broken rule said in words a customer understands. Which column and value the rule concerns is added by the
 * caller, which knows the customer's headings (mapping) and which fields are sensitive (masking).
 */
import type { ErrorObject } from 'ajv';
import { isAssignedCountryCode } from './countries.ts';
import { COUNTRY_PATTERN, type Template } from './template-types.ts';

export interface FieldViolation {
  /** Our field id. */
  field: string;
  /** Stable code: `required`, `invalid_email`, `invalid_date`, `too_long`, `not_allowed`, `invalid_format`. */
  code: string;
  /** The rule in words: `required`, `at most 64 characters`, `one of Active, Inactive, Terminated, Leave`. */
  rule: string;
}

const FORMAT_CODES: Record<string, { code: string; rule: string }> = {
  email: { code: 'invalid_email', rule: 'an e-mail address such as name@example.com' },
  date: { code: 'invalid_date', rule: 'a real date written YYYY-MM-DD, e.g. 2026-11-24' },
};

function fieldOf(error: ErrorObject): string {
  if (error.keyword === 'required') return String((error.params as { missingProperty: string }).missingProperty);
  if (error.keyword === 'additionalProperties') {
    return String((error.params as { additionalProperty: string }).additionalProperty);
  }
  return error.instancePath.replace(/^\//, '').split('/')[0] ?? '';
}

export function describeError(template: Template, error: ErrorObject): FieldViolation {
  const field = fieldOf(error);
  const own = template.field(field)?.rule;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field, code: 'required', rule: 'required: the cell may not be empty' };
    case 'maxLength':
      return { field, code: 'too_long', rule: `at most ${String(params.limit)} characters` };
    case 'minLength':
      return { field, code: 'too_short', rule: `at least ${String(params.limit)} characters` };
    case 'enum':
      return {
        field,
        code: 'not_allowed',
        rule: `one of ${(params.allowedValues as unknown[]).map(String).join(', ')} (exactly as written)`,
      };
    case 'format': {
      const known = FORMAT_CODES[String(params.format)];
      return {
        field,
        code: known?.code ?? 'invalid_format',
        rule: own ?? known?.rule ?? `format ${String(params.format)}`,
      };
    }
    case 'pattern':
      return { field, code: 'invalid_format', rule: own ?? `matching ${String(params.pattern)}` };
    case 'additionalProperties':
      return { field, code: 'unknown_field', rule: `a field of template ${template.id}` };
    case 'type':
      return { field, code: 'invalid_type', rule: `of type ${String(params.type)}` };
    default:
      return { field, code: error.keyword, rule: own ?? error.message ?? error.keyword };
  }
}

const TWO_CAPITALS = new RegExp(COUNTRY_PATTERN);

/**
 * Country fields whose value has the pattern's shape (two capitals) but is no assigned ISO 3166-1 code. A value of
 * another shape is left to the schema's own pattern error, so a cell is named once.
 */
function countryViolations(template: Template, row: Readonly<Record<string, string>>): FieldViolation[] {
  const violations: FieldViolation[] = [];
  for (const f of template.fields) {
    if (f.kind !== 'country') continue;
    const value = row[f.id];
    if (value === undefined || !TWO_CAPITALS.test(value) || isAssignedCountryCode(value)) continue;
    violations.push({
      field: f.id,
      code: 'invalid_country',
      rule: `${f.rule ?? 'a two-letter ISO 3166-1 country code'}; ${value} is not an assigned country code`,
    });
  }
  return violations;
}

/** The rules a mapped row breaks, at most one per field and rule, in template field order. Empty when valid. */
export function validateRow(template: Template, row: Readonly<Record<string, string>>): FieldViolation[] {
  const countries = countryViolations(template, row);
  if (template.check(row) || template.validate(row)) return countries;
  const seen = new Set<string>();
  const violations: FieldViolation[] = [...countries];
  for (const error of template.validate.errors ?? []) {
    const v = describeError(template, error);
    const id = `${v.field}\u0000${v.code}`;
    if (seen.has(id)) continue;
    seen.add(id);
    violations.push(v);
  }
  const order = new Map(template.fields.map((f, i) => [f.id, i]));
  return violations.sort((a, b) => (order.get(a.field) ?? 1e9) - (order.get(b.field) ?? 1e9));
}

/** What a sensitive value looks like in errors, outcome files and logs: its length hidden, its last 2 characters kept. */
export function maskValue(value: string): string {
  if (value.length <= 4) return '****';
  return `****${value.slice(-2)}`;
}
