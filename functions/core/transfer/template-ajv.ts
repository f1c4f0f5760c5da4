/**
 * The ajv every template is compiled with: JSON Schema 2020-12, strict, `x-integrator` as an annotation, and what
 * templates use beyond the standard (all values are strings: CSV cells):
 * - formats `date`, `email` (ajv-formats), `decimal` (signed number) and `amount` (non-negative, at most 2 decimals);
 * - `dateOrder` at the root: `[{ earlier, later, allowEqual? }]`, a date that must not precede another one of the row
 *   (expiry after issue); checked only when both are real dates, reported on the later field (code `date_order`);
 * - `requiredWith` at the root: `[{ field, with }]`, a field required when another one is given (currency with an
 *   amount); reported as `required` on the missing field.
 */
import type { ErrorObject, FuncKeywordDefinition } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { isRealDate } from './file-names.ts';

const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const AMOUNT = /^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$/;
/** Formats ajv-formats does not know, with the rule a row error states when no field `rule` says more. */
export const CUSTOM_FORMATS: Readonly<Record<string, { test: RegExp; rule: string }>> = {
  decimal: { test: DECIMAL, rule: 'a number written with digits and an optional decimal point, e.g. -12 or 1234.5' },
  amount: { test: AMOUNT, rule: 'an amount written with digits and at most 2 decimals, e.g. 85000 or 85000.50' },
};
/** Formats a row error explains in words by itself (validate.ts); any other format or a pattern needs a `rule`. */
export const SELF_EXPLAINED_FORMATS = new Set(['date', 'email']);

const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function fieldTitle(root: unknown, id: string): string {
  const meta = (root as { 'x-integrator'?: { fields?: Record<string, { title?: unknown }> } })?.['x-integrator'];
  const title = meta?.fields?.[id]?.title;
  return typeof title === 'string' ? title : id;
}

interface DateOrderRule {
  earlier: string;
  later: string;
  allowEqual?: boolean;
}
interface RequiredWithRule {
  field: string;
  with: string;
}

function validateDateOrder(rules: DateOrderRule[], data: unknown, root: unknown): boolean {
  const row = data as Record<string, unknown>;
  const errors: Partial<ErrorObject>[] = [];
  for (const r of rules) {
    const a = row[r.earlier];
    const b = row[r.later];
    if (typeof a !== 'string' || typeof b !== 'string' || !isIsoDate(a) || !isIsoDate(b)) continue;
    if (b > a || (r.allowEqual && a === b)) continue;
    const title = fieldTitle(root, r.earlier);
    errors.push({
      keyword: 'date_order',
      instancePath: `/${r.later}`,
      params: { earlier: r.earlier, limit: a, allowEqual: Boolean(r.allowEqual) },
      message: `a date ${r.allowEqual ? 'on or after' : 'after'} the ${title} (${a})`,
    });
  }
  (validateDateOrder as unknown as { errors: unknown }).errors = errors;
  return errors.length === 0;
}

function validateRequiredWith(rules: RequiredWithRule[], data: unknown, root: unknown): boolean {
  const row = data as Record<string, unknown>;
  const errors: Partial<ErrorObject>[] = [];
  for (const r of rules) {
    if (row[r.with] === undefined || row[r.field] !== undefined) continue;
    errors.push({
      keyword: 'required',
      instancePath: '',
      params: { missingProperty: r.field, with: r.with },
      message: `required when ${fieldTitle(root, r.with)} is given`,
    });
  }
  (validateRequiredWith as unknown as { errors: unknown }).errors = errors;
  return errors.length === 0;
}

function isIsoDate(value: string): boolean {
  if (!ISO_DATE.test(value)) return false;
  return isRealDate(Number(value.slice(0, 4)), Number(value.slice(5, 7)), Number(value.slice(8, 10)));
}

/** An ajv for template schemas: 2020-12, strict, our formats and keywords, `x-integrator` as annotation. */
export function newAjv(allErrors = true): Ajv2020 {
  const ajv = new Ajv2020({ allErrors, strict: true });
  addFormats(ajv);
  for (const [name, format] of Object.entries(CUSTOM_FORMATS)) ajv.addFormat(name, format.test);
  ajv.addVocabulary(['x-integrator']);
  ajv.addKeyword(
    ruleListKeyword(
      'dateOrder',
      { earlier: { type: 'string' }, later: { type: 'string' }, allowEqual: { type: 'boolean' } },
      ['earlier', 'later'],
      validateDateOrder,
    ),
  );
  ajv.addKeyword(
    ruleListKeyword(
      'requiredWith',
      { field: { type: 'string' }, with: { type: 'string' } },
      ['field', 'with'],
      validateRequiredWith,
    ),
  );
  return ajv;
}

/** A keyword on the record whose value is a list of rules, each an object of exactly the given properties. */
function ruleListKeyword<Rule>(
  keyword: string,
  properties: Record<string, { type: string }>,
  required: (keyof Rule & string)[],
  validate: (rules: Rule[], data: unknown, schema: unknown) => boolean,
): FuncKeywordDefinition {
  return {
    keyword,
    type: 'object',
    schemaType: 'array',
    errors: true,
    metaSchema: { type: 'array', items: { type: 'object', required, properties, additionalProperties: false } },
    // ajv calls it with (the rules, the record, the template's schema): the cast only widens the declared types.
    validate: validate as FuncKeywordDefinition['validate'],
  };
}
