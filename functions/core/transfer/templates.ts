/**
 * The pre-defined templates: one JSON Schema (2020-12) per template in schemas/templates, describing ONE ROW after
 * mapping (our field ids and their rules), with our metadata under `x-integrator`. The same file serves validation,
 * mapping, smart mapping, the generated reference (docs/templates.md) and the compatibility guard
 * (template-compat.ts against schemas/templates/released/).
 *
 * The JSON files are imported statically so esbuild bundles them into the Lambda; validators are compiled once per
 * process (cold start), not per file or row. A template whose metadata is broken or contradicts its schema stops the
 * load with the template's file name: it must never half-work.
 *
 * Beyond standard JSON Schema, a template may use (all values are strings: CSV cells):
 * - formats `date`, `email` (ajv-formats), `decimal` (signed number) and `amount` (non-negative, at most 2 decimals);
 * - `dateOrder` at the root: `[{ earlier, later, allowEqual? }]`, a date that must not precede another one of the row
 *   (expiry after issue); checked only when both are real dates, reported on the later field (code `date_order`);
 * - `requiredWith` at the root: `[{ field, with }]`, a field required when another one is given (currency with an
 *   amount); reported as `required` on the missing field.
 *
 * Custom fields (fn_custom_data_import): a template with `x-integrator.customFields` accepts fields the organization
 * declares on its job; `withCustomFields` composes the row schema from the template and those declarations.
 */
import type { ErrorObject, FuncKeywordDefinition } from 'ajv';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import caseStatusExport from '../../../schemas/templates/case_status_export.json' with { type: 'json' };
import fnCustomDataImport from '../../../schemas/templates/fn_custom_data_import.json' with { type: 'json' };
import fnEmploymentImport from '../../../schemas/templates/fn_employment_import.json' with { type: 'json' };
import fnPassportImport from '../../../schemas/templates/fn_passport_import.json' with { type: 'json' };
import fnProfileImport from '../../../schemas/templates/fn_profile_import.json' with { type: 'json' };
import immigrationDocumentExpirationsExport from '../../../schemas/templates/immigration_document_expirations_export.json' with {
  type: 'json',
};
import passportInformationExport from '../../../schemas/templates/passport_information_export.json' with {
  type: 'json',
};
import petitionReferenceTableExport from '../../../schemas/templates/petition_reference_table_export.json' with {
  type: 'json',
};
import visaInformationExport from '../../../schemas/templates/visa_information_export.json' with { type: 'json' };
import type { MappableField } from './smart-mapping.ts';

export type Direction = 'import' | 'export';

/** What a field holds, derived from its schema (never declared twice). */
export type FieldKind = 'text' | 'email' | 'date' | 'number' | 'boolean' | 'enum' | 'country' | 'currency';

/** A sensitive field in an export file: written in full (the customer's system needs it) or masked. */
export type ExportAs = 'full' | 'masked';

/** One of our fields as a template defines it. */
export interface TemplateField {
  /** Our field id, the property name in the schema and the attribute name on a stored record. */
  id: string;
  /** The column heading in our pre-defined template, e.g. `Employee ID`. */
  title: string;
  /** Other headings customers' systems use for the same concept (smart mapping starts from these). */
  aliases: string[];
  required: boolean;
  /** Values are masked in run errors, outcome files and logs (passport numbers and the like). */
  sensitive: boolean;
  /** The rule in words, used in row errors instead of the schema's pattern or format. */
  rule?: string;
  /** How a sync-key value is normalized into a record key (`lower`: e-mail addresses). */
  keyCase?: 'lower';
  /** Export templates, sensitive fields: whether the export file carries the value in full or masked. */
  exportAs?: ExportAs;
  /** What the field holds, derived from the schema. */
  kind: FieldKind;
  /** The allowed values of an enum (or boolean: Yes, No) field. */
  values?: readonly string[];
  /** The schema's description of the field. */
  description: string;
  /** Declared by the organization on its job (custom data), not by the template. */
  custom?: boolean;
  /** The field's JSON Schema. */
  schema: Readonly<Record<string, unknown>>;
}

/** A rule between two fields of a row, from the schema's `dateOrder` and `requiredWith`. */
export type CrossFieldRule =
  | { kind: 'dateOrder'; earlier: string; later: string; allowEqual: boolean }
  | { kind: 'requiredWith'; field: string; with: string };

export interface Template {
  id: string;
  version: number;
  direction: Direction;
  /** The kind of record the rows become, part of every record key. */
  entity: string;
  title: string;
  description: string;
  /** `fn_profile_import_YYYYMMDD.csv`; matched case-insensitively (`fn_Custom_Data_import_YYYYMMDD.csv`). */
  fileNamePattern: string;
  syncKeyCandidates: string[];
  /** Fields in template (column) order. */
  fields: TemplateField[];
  field(id: string): TemplateField | undefined;
  /** Ids of the fields whose values are masked wherever a value is shown. */
  sensitiveFields: readonly string[];
  rules: readonly CrossFieldRule[];
  /** Set when the template accepts custom fields declared on the job; `max` is how many. */
  acceptsCustomFields?: { max: number };
  /** The file the template was loaded from (schemas/templates/<id>.json), for messages. */
  file?: string;
  /** The whole row schema. */
  schema: Readonly<Record<string, unknown>>;
  /** Compiled once; validates a mapped row (our field ids -> strings), collecting every error. */
  validate: ValidateFunction;
  /** The same rules compiled to stop at the first error: the fast path for the (usual) valid row. */
  check: ValidateFunction;
}

/** Attribute names the record store owns; a template field may not use them. */
export const RESERVED_FIELD_IDS: ReadonlySet<string> = new Set([
  'pk',
  'org',
  'entity',
  'orgEntity',
  'recordKey',
  'hash',
  'createdAt',
  'updatedAt',
  'lastRunId',
  'lastRow',
  'templateId',
]);

export const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';
/** The two values of a yes/no field. Not true/false: Excel rewrites those as TRUE/FALSE when it saves a CSV. */
export const BOOLEAN_VALUES: readonly string[] = ['Yes', 'No'];
export const COUNTRY_PATTERN = '^[A-Z]{2}$';
export const CURRENCY_PATTERN = '^[A-Z]{3}$';
const DECIMAL = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/;
const AMOUNT = /^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$/;
/** Formats ajv-formats does not know, with the rule a row error states when no field `rule` says more. */
export const CUSTOM_FORMATS: Readonly<Record<string, { test: RegExp; rule: string }>> = {
  decimal: { test: DECIMAL, rule: 'a number written with digits and an optional decimal point, e.g. -12 or 1234.5' },
  amount: { test: AMOUNT, rule: 'an amount written with digits and at most 2 decimals, e.g. 85000 or 85000.50' },
};
/** Formats a row error explains in words by itself (validate.ts); any other format or a pattern needs a `rule`. */
const SELF_EXPLAINED_FORMATS = new Set(['date', 'email']);

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

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How headings compare: case, surrounding and repeated inner spaces ignored (as mapping.ts matches headers). */
export function headingKey(heading: string): string {
  return heading.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** What a field holds, from its schema. */
export function fieldKind(schema: Readonly<Record<string, unknown>>): FieldKind {
  if (Array.isArray(schema.enum)) {
    const values = schema.enum as unknown[];
    const isBoolean = values.length === 2 && BOOLEAN_VALUES.every((v) => values.includes(v));
    return isBoolean ? 'boolean' : 'enum';
  }
  if (schema.format === 'email') return 'email';
  if (schema.format === 'date') return 'date';
  if (schema.format === 'decimal' || schema.format === 'amount') return 'number';
  if (schema.pattern === COUNTRY_PATTERN) return 'country';
  if (schema.pattern === CURRENCY_PATTERN) return 'currency';
  return 'text';
}

const META_KEYS = new Set([
  'id',
  'version',
  'direction',
  'entity',
  'title',
  'description',
  'fileNamePattern',
  'syncKeyCandidates',
  'sensitive',
  'fields',
  'customFields',
]);
const FIELD_META_KEYS = new Set(['title', 'aliases', 'rule', 'keyCase', 'exportAs']);
const ROOT_KEYS = new Set([
  '$schema',
  '$id',
  'title',
  'description',
  'type',
  'additionalProperties',
  'required',
  'properties',
  'dateOrder',
  'requiredWith',
  'x-integrator',
]);

/** Where a template came from, for messages: its file when known. */
function whereOf(schema: Record<string, unknown>, file?: string): string {
  if (file) return file;
  const meta = schema['x-integrator'] as Record<string, unknown> | undefined;
  return `template ${String(meta?.id ?? schema.$id ?? '?')}`;
}

/** A fully checked template document, before compiling: what loadTemplate and withCustomFields share. */
interface Parsed {
  meta: Record<string, unknown>;
  fields: TemplateField[];
  rules: CrossFieldRule[];
  candidates: string[];
  customFields?: { max: number };
}

function parseTemplate(schema: Record<string, unknown>, where: string, file?: string): Parsed {
  const fail = (message: string): never => {
    throw new Error(`${where}: ${message}`);
  };
  const meta = schema['x-integrator'];
  if (!isObject(meta)) return fail('missing x-integrator metadata');
  if (schema.$schema !== SCHEMA_DIALECT) fail('$schema must be JSON Schema 2020-12');
  for (const key of Object.keys(schema)) {
    if (!ROOT_KEYS.has(key)) fail(`unknown top-level keyword "${key}" (allowed: ${[...ROOT_KEYS].join(', ')})`);
  }
  for (const key of Object.keys(meta)) if (!META_KEYS.has(key)) fail(`unknown key x-integrator.${key}`);
  const id = meta.id;
  if (typeof id !== 'string' || !/^[a-z][a-z0-9_]*[a-z0-9]$/.test(id)) {
    return fail('bad id (lower case letters, digits and underscores)');
  }
  if (file !== undefined && !file.endsWith(`/${id}.json`) && file !== `${id}.json`) {
    fail(`the file of template ${id} must be named ${id}.json`);
  }
  if (typeof meta.version !== 'number' || !Number.isInteger(meta.version) || meta.version < 1) {
    fail('version must be a whole number >= 1');
  }
  if (meta.direction !== 'import' && meta.direction !== 'export') fail('direction must be import or export');
  if (typeof meta.fileNamePattern !== 'string' || meta.fileNamePattern.toLowerCase() !== `${id}_yyyymmdd.csv`) {
    fail(`fileNamePattern must be ${id}_YYYYMMDD.csv (any letter case)`);
  }
  for (const key of ['entity', 'title', 'description'] as const) {
    if (typeof meta[key] !== 'string' || meta[key] === '') fail(`${key} is required`);
  }
  if (!/^[a-z][A-Za-z0-9]*$/.test(meta.entity as string)) fail('entity must be a camelCase name');
  if (schema.type !== 'object') fail('the row schema must be of type object');
  if (schema.additionalProperties !== false) {
    fail('additionalProperties must be false (a field the template does not define is an error, not stored)');
  }
  if (!isObject(schema.properties)) return fail('properties are required');
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  if (schema.required !== undefined && !isStringList(schema.required)) fail('required must be a list of field ids');
  const required = new Set(isStringList(schema.required) ? schema.required : []);
  if (meta.sensitive !== undefined && !isStringList(meta.sensitive)) fail('sensitive must be a list of field ids');
  const sensitive = new Set(isStringList(meta.sensitive) ? meta.sensitive : []);
  if (!isObject(meta.fields)) return fail('x-integrator.fields is required');
  const fieldMeta = meta.fields as Record<string, Record<string, unknown>>;
  for (const fieldId of Object.keys(fieldMeta)) {
    if (!(fieldId in properties)) fail(`x-integrator.fields.${fieldId} has no schema property`);
  }
  const headings = new Map<string, string>();
  const claim = (label: string, fieldId: string, what: string) => {
    const key = headingKey(label);
    const owner = headings.get(key);
    if (owner !== undefined && owner !== fieldId) {
      fail(`${what} "${label}" of field ${fieldId} is already a heading or alias of field ${owner}`);
    }
    headings.set(key, fieldId);
  };
  const fields: TemplateField[] = Object.keys(properties).map((fieldId) => {
    const m = fieldMeta[fieldId];
    if (!m || typeof m.title !== 'string' || m.title.trim() === '') {
      return fail(`field ${fieldId} needs x-integrator.fields.${fieldId}.title (its column heading)`);
    }
    for (const key of Object.keys(m))
      if (!FIELD_META_KEYS.has(key)) fail(`unknown key x-integrator.fields.${fieldId}.${key}`);
    if (RESERVED_FIELD_IDS.has(fieldId)) fail(`field id ${fieldId} is reserved`);
    if (!/^[a-z][A-Za-z0-9]*$/.test(fieldId)) fail(`field id ${fieldId} must be camelCase letters and digits`);
    const property = properties[fieldId]!;
    if (!isObject(property)) return fail(`field ${fieldId}: its schema must be an object`);
    if (property.type !== 'string') fail(`field ${fieldId} must be of type string (CSV cells)`);
    if (typeof property.description !== 'string' || property.description.trim() === '') {
      fail(`field ${fieldId} needs a description (the reference shows it)`);
    }
    claim(m.title, fieldId, 'heading');
    if (m.aliases !== undefined && !isStringList(m.aliases))
      fail(`field ${fieldId}: aliases must be a list of strings`);
    const aliases = isStringList(m.aliases) ? m.aliases : [];
    for (const alias of aliases) {
      if (alias.trim() === '') fail(`field ${fieldId}: an alias is empty`);
      if (headingKey(alias) === headingKey(m.title)) fail(`field ${fieldId}: alias "${alias}" repeats its heading`);
      claim(alias, fieldId, 'alias');
    }
    if (m.rule !== undefined && (typeof m.rule !== 'string' || m.rule.trim() === '')) {
      fail(`field ${fieldId}: rule must be a sentence`);
    }
    const explained = typeof m.rule === 'string';
    if (property.pattern !== undefined && !explained) {
      fail(`field ${fieldId} has a pattern, so it needs a rule in words (x-integrator.fields.${fieldId}.rule)`);
    }
    if (typeof property.format === 'string' && !SELF_EXPLAINED_FORMATS.has(property.format) && !explained) {
      fail(`field ${fieldId} has format ${property.format}, so it needs a rule in words`);
    }
    if (m.keyCase !== undefined && m.keyCase !== 'lower') fail(`field ${fieldId}: keyCase can only be "lower"`);
    if (Array.isArray(property.enum)) {
      const values = property.enum as unknown[];
      if (values.length === 0 || !values.every((v) => typeof v === 'string' && v.trim() === v && v !== '')) {
        fail(`field ${fieldId}: enum values must be non-empty trimmed strings`);
      }
      if (new Set(values).size !== values.length) fail(`field ${fieldId}: an enum value is listed twice`);
    }
    const isSensitive = sensitive.has(fieldId);
    if (meta.direction === 'export' && isSensitive && m.exportAs !== 'full' && m.exportAs !== 'masked') {
      fail(`sensitive export field ${fieldId} must say exportAs "full" or "masked" (what the export file carries)`);
    }
    if (m.exportAs !== undefined && !(meta.direction === 'export' && isSensitive)) {
      fail(`field ${fieldId}: exportAs is only for sensitive fields of export templates`);
    }
    const kind = fieldKind(property);
    return {
      id: fieldId,
      title: m.title,
      aliases,
      required: required.has(fieldId),
      sensitive: isSensitive,
      ...(explained ? { rule: m.rule as string } : {}),
      ...(m.keyCase === 'lower' ? { keyCase: 'lower' as const } : {}),
      ...(m.exportAs === 'full' || m.exportAs === 'masked' ? { exportAs: m.exportAs } : {}),
      kind,
      ...(Array.isArray(property.enum) ? { values: property.enum as string[] } : {}),
      description: property.description as string,
      schema: property,
    };
  });
  for (const r of required) if (!(r in properties)) fail(`required field ${r} is not defined`);
  for (const s of sensitive) if (!(s in properties)) fail(`sensitive field ${s} is not defined`);
  if (meta.syncKeyCandidates !== undefined && !isStringList(meta.syncKeyCandidates)) {
    fail('syncKeyCandidates must be a list of field ids');
  }
  const candidates = isStringList(meta.syncKeyCandidates) ? meta.syncKeyCandidates : [];
  if (candidates.length === 0) fail('syncKeyCandidates is empty (the fields that can identify a record or row)');
  if (new Set(candidates).size !== candidates.length) fail('a sync key candidate is listed twice');
  for (const c of candidates) {
    if (!(c in properties)) fail(`sync key candidate ${c} is not defined`);
    if (sensitive.has(c)) {
      fail(
        `sync key candidate ${c} is sensitive: record keys appear in logs and messages, so a key is never sensitive`,
      );
    }
  }
  const rules: CrossFieldRule[] = [];
  const dateField = (id: unknown, what: string) => {
    if (typeof id !== 'string' || !(id in properties)) fail(`${what}: ${String(id)} is not a field`);
    else if (properties[id]!.format !== 'date') fail(`${what}: ${id} is not a date field`);
  };
  if (schema.dateOrder !== undefined) {
    if (!Array.isArray(schema.dateOrder)) fail('dateOrder must be a list');
    for (const r of schema.dateOrder as Record<string, unknown>[]) {
      dateField(r?.earlier, 'dateOrder');
      dateField(r?.later, 'dateOrder');
      if (r.earlier === r.later) fail('dateOrder compares a field with itself');
      rules.push({
        kind: 'dateOrder',
        earlier: r.earlier as string,
        later: r.later as string,
        allowEqual: r.allowEqual === true,
      });
    }
  }
  if (schema.requiredWith !== undefined) {
    if (!Array.isArray(schema.requiredWith)) fail('requiredWith must be a list');
    for (const r of schema.requiredWith as Record<string, unknown>[]) {
      for (const id of [r?.field, r?.with]) {
        if (typeof id !== 'string' || !(id in properties)) fail(`requiredWith: ${String(id)} is not a field`);
      }
      if (required.has(r.field as string)) fail(`requiredWith: ${String(r.field)} is required anyway`);
      rules.push({ kind: 'requiredWith', field: r.field as string, with: r.with as string });
    }
  }
  let customFields: { max: number } | undefined;
  if (meta.customFields !== undefined) {
    const c = meta.customFields as Record<string, unknown>;
    if (meta.direction !== 'import') fail('only import templates accept custom fields');
    if (!isObject(c) || Object.keys(c).some((k) => k !== 'max')) fail('customFields must be { "max": <count> }');
    if (typeof c.max !== 'number' || !Number.isInteger(c.max) || c.max < 1 || c.max > 500) {
      fail('customFields.max must be a whole number from 1 to 500');
    }
    customFields = { max: c.max as number };
  }
  return { meta, fields, rules, candidates, ...(customFields ? { customFields } : {}) };
}

function build(
  schema: Record<string, unknown>,
  parsed: Parsed,
  where: string,
  ajv: Ajv2020,
  fastAjv: Ajv2020,
  file?: string,
): Template {
  const { meta, fields, rules, candidates } = parsed;
  let validate: ValidateFunction;
  let check: ValidateFunction;
  try {
    validate = ajv.compile(schema);
    check = fastAjv.compile(schema);
  } catch (err) {
    throw new Error(`${where}: the schema does not compile: ${(err as Error).message}`);
  }
  const byId = new Map(fields.map((f) => [f.id, f]));
  return {
    id: meta.id as string,
    version: meta.version as number,
    direction: meta.direction as Direction,
    entity: meta.entity as string,
    title: meta.title as string,
    description: meta.description as string,
    fileNamePattern: meta.fileNamePattern as string,
    syncKeyCandidates: candidates,
    fields,
    field: (fieldId) => byId.get(fieldId),
    sensitiveFields: fields.filter((f) => f.sensitive).map((f) => f.id),
    rules,
    ...(parsed.customFields ? { acceptsCustomFields: parsed.customFields } : {}),
    ...(file ? { file } : {}),
    schema,
    validate,
    check,
  };
}

/**
 * Builds a template from its schema document, checking the metadata against the schema so a template that could
 * mislead mapping or validation never loads. `file` (schemas/templates/<id>.json) names it in errors.
 */
export function loadTemplate(
  document: unknown,
  ajv: Ajv2020 = newAjv(),
  fastAjv: Ajv2020 = newAjv(false),
  file?: string,
): Template {
  if (!isObject(document)) throw new Error(`${file ?? 'template'}: expected a JSON object`);
  const where = whereOf(document, file);
  return build(document, parseTemplate(document, where, file), where, ajv, fastAjv, file);
}

// ---------------------------------------------------------------------------------------------------------------
// Custom fields

export type CustomFieldType = 'string' | 'number' | 'date' | 'boolean' | 'enum';
export const CUSTOM_FIELD_TYPES: readonly CustomFieldType[] = ['string', 'number', 'date', 'boolean', 'enum'];

/** A field an organization adds to a template that accepts custom fields, declared on its import job. */
export interface CustomFieldDeclaration {
  /** The field id (camelCase, at most 64 characters): the attribute name on the stored record. */
  id: string;
  /** The column heading in the organization's file. */
  title: string;
  type: CustomFieldType;
  /** enum: the allowed values, written exactly so. */
  values?: string[];
  required?: boolean;
  /** Masked in errors, outcome files and logs. */
  sensitive?: boolean;
  /** string: at most this many characters (default 255, at most 4000). */
  maxLength?: number;
  description?: string;
  /** Other headings the organization's systems use (smart mapping). */
  aliases?: string[];
  /** The value identifies a record, so the job may use this field as its sync key (checked by jobs.ts). */
  unique?: boolean;
}

const CUSTOM_ID = /^[a-z][A-Za-z0-9]{0,63}$/;
const CUSTOM_KEYS = new Set([
  'id',
  'title',
  'type',
  'values',
  'required',
  'sensitive',
  'maxLength',
  'description',
  'aliases',
  'unique',
]);

/** What is wrong with a job's custom field declarations for a template, one sentence each. Empty when fine. */
export function customFieldProblems(template: Template, declarations: readonly CustomFieldDeclaration[]): string[] {
  const problems: string[] = [];
  if (!template.acceptsCustomFields) {
    if (declarations.length > 0) problems.push(`template ${template.id} does not accept custom fields`);
    return problems;
  }
  if (declarations.length > template.acceptsCustomFields.max) {
    problems.push(`at most ${template.acceptsCustomFields.max} custom fields, not ${declarations.length}`);
  }
  const ids = new Set(template.fields.map((f) => f.id.toLowerCase()));
  const headings = new Map<string, string>();
  for (const f of template.fields) for (const h of [f.title, ...f.aliases]) headings.set(headingKey(h), f.id);
  declarations.forEach((d, i) => {
    const where = `custom field ${typeof d?.id === 'string' && d.id ? d.id : `#${i + 1}`}`;
    if (!isObject(d)) {
      problems.push(`${where}: expected an object`);
      return;
    }
    for (const key of Object.keys(d)) if (!CUSTOM_KEYS.has(key)) problems.push(`${where}: unknown property ${key}`);
    if (typeof d.id !== 'string' || !CUSTOM_ID.test(d.id)) {
      problems.push(
        `${where}: the id must be camelCase letters and digits, at most 64, starting with a lower-case letter`,
      );
    } else if (RESERVED_FIELD_IDS.has(d.id)) {
      problems.push(`${where}: ${d.id} is reserved`);
    } else if (ids.has(d.id.toLowerCase())) {
      problems.push(`${where}: the id ${d.id} is already used`);
    } else {
      ids.add(d.id.toLowerCase());
    }
    if (typeof d.title !== 'string' || d.title.trim() === '' || d.title.length > 100) {
      problems.push(`${where}: the title (column heading) must be 1 to 100 characters`);
    } else {
      for (const h of [d.title, ...(isStringList(d.aliases) ? d.aliases : [])]) {
        const owner = headings.get(headingKey(h));
        if (owner !== undefined && owner !== d.id)
          problems.push(`${where}: the heading "${h}" is already used by ${owner}`);
        else headings.set(headingKey(h), d.id);
      }
    }
    if (d.aliases !== undefined && (!isStringList(d.aliases) || d.aliases.some((a) => a.trim() === ''))) {
      problems.push(`${where}: aliases must be non-empty headings`);
    }
    if (!CUSTOM_FIELD_TYPES.includes(d.type)) {
      problems.push(`${where}: the type must be one of ${CUSTOM_FIELD_TYPES.join(', ')}`);
    }
    if (d.type === 'enum') {
      const values = d.values;
      if (!isStringList(values) || values.length === 0 || values.length > 200) {
        problems.push(`${where}: an enum needs 1 to 200 allowed values`);
      } else if (values.some((v) => v.trim() !== v || v === '' || v.length > 100)) {
        problems.push(`${where}: allowed values must be 1 to 100 characters without surrounding spaces`);
      } else if (new Set(values).size !== values.length) {
        problems.push(`${where}: an allowed value is listed twice`);
      }
    } else if (d.values !== undefined) {
      problems.push(`${where}: values are only for type enum`);
    }
    if (d.maxLength !== undefined) {
      if (d.type !== 'string') problems.push(`${where}: maxLength is only for type string`);
      else if (!Number.isInteger(d.maxLength) || d.maxLength < 1 || d.maxLength > 4000) {
        problems.push(`${where}: maxLength must be a whole number from 1 to 4000`);
      }
    }
    for (const key of ['required', 'sensitive'] as const) {
      if (d[key] !== undefined && typeof d[key] !== 'boolean') problems.push(`${where}: ${key} must be true or false`);
    }
    if (d.description !== undefined && (typeof d.description !== 'string' || d.description.length > 500)) {
      problems.push(`${where}: the description must be text of at most 500 characters`);
    }
  });
  return problems;
}

function customFieldSchema(d: CustomFieldDeclaration): { schema: Record<string, unknown>; rule?: string } {
  const description = d.description?.trim() || `${d.title} (custom field of the organization).`;
  switch (d.type) {
    case 'number':
      return {
        schema: { description, type: 'string', format: 'decimal' },
        rule: `${CUSTOM_FORMATS.decimal!.rule} (no thousands separators)`,
      };
    case 'date':
      return { schema: { description, type: 'string', format: 'date' } };
    case 'boolean':
      return { schema: { description, type: 'string', enum: [...BOOLEAN_VALUES] } };
    case 'enum':
      return { schema: { description, type: 'string', enum: [...(d.values ?? [])] } };
    default:
      return { schema: { description, type: 'string', maxLength: d.maxLength ?? 255 } };
  }
}

/** The template's schema document with the custom fields added as properties (what withCustomFields compiles). */
export function composeCustomSchema(
  template: Template,
  declarations: readonly CustomFieldDeclaration[],
): Record<string, unknown> {
  const problems = customFieldProblems(template, declarations);
  if (problems.length > 0) throw new Error(`template ${template.id}: ${problems.join('; ')}`);
  const base = template.schema as Record<string, unknown>;
  const meta = base['x-integrator'] as Record<string, unknown>;
  const properties: Record<string, unknown> = { ...(base.properties as Record<string, unknown>) };
  const fields: Record<string, unknown> = { ...(meta.fields as Record<string, unknown>) };
  const required = [...((base.required as string[] | undefined) ?? [])];
  const sensitive = [...((meta.sensitive as string[] | undefined) ?? [])];
  for (const d of declarations) {
    const { schema, rule } = customFieldSchema(d);
    properties[d.id] = schema;
    fields[d.id] = { title: d.title.trim(), aliases: [...(d.aliases ?? [])], ...(rule ? { rule } : {}) };
    if (d.required) required.push(d.id);
    if (d.sensitive) sensitive.push(d.id);
  }
  // No $id: the composed schema is not the published template, and ajv refuses two schemas with one $id.
  const { $id: _omitted, ...rest } = base;
  return {
    ...rest,
    required,
    properties,
    'x-integrator': { ...meta, sensitive, fields },
  };
}

/**
 * The template a job with custom fields validates against: the template's fields plus the declared ones, each a
 * real field (mapping, validation, masking and records need nothing else). Throws with every problem of the
 * declarations. Composed templates are cached per template version and declarations (a warm Lambda compiles once).
 */
export function withCustomFields(template: Template, declarations: readonly CustomFieldDeclaration[]): Template {
  if (declarations.length === 0) return template;
  const key = `${template.id}@${template.version}\u0000${JSON.stringify(declarations)}`;
  const cached = composed.cache.get(key);
  if (cached && cached.base === template) return cached.template;
  const schema = composeCustomSchema(template, declarations);
  const where = `template ${template.id} with the job's custom fields`;
  const parsed = parseTemplate(schema, where);
  const customIds = new Set(declarations.map((d) => d.id));
  parsed.fields = parsed.fields.map((f) => (customIds.has(f.id) ? { ...f, custom: true } : f));
  if (composed.cache.size >= COMPOSED_CACHE_LIMIT) resetComposed();
  const result = build(schema, parsed, where, composed.ajv, composed.fastAjv, template.file);
  composed.cache.set(key, { base: template, template: result });
  return result;
}

const COMPOSED_CACHE_LIMIT = 200;
const composed = {
  cache: new Map<string, { base: Template; template: Template }>(),
  ajv: newAjv(),
  fastAjv: newAjv(false),
};
/** ajv keeps every schema it compiled: past the limit, drop the cache and the ajv instances together. */
function resetComposed(): void {
  composed.cache.clear();
  composed.ajv = newAjv();
  composed.fastAjv = newAjv(false);
}

// ---------------------------------------------------------------------------------------------------------------
// Views for other modules

/** The template's fields as smart mapping scores them. */
export function mappableFields(template: Template): MappableField[] {
  return template.fields.map((f) => ({
    id: f.id,
    title: f.title,
    aliases: [...f.aliases],
    required: f.required,
    type: mappableType(f.kind),
  }));
}

function mappableType(kind: FieldKind): NonNullable<MappableField['type']> {
  switch (kind) {
    case 'email':
    case 'date':
    case 'number':
      return kind;
    case 'enum':
    case 'boolean':
      return 'enum';
    default:
      return 'string';
  }
}

/** Ids of the fields whose values are masked in errors, outcome files and logs. */
export function sensitiveFields(template: Template): readonly string[] {
  return template.sensitiveFields;
}

// ---------------------------------------------------------------------------------------------------------------
// Catalog and file names

export interface TemplateSource {
  /** Path from the repository root, e.g. schemas/templates/fn_profile_import.json. */
  file: string;
  document: unknown;
}

export interface TemplateCatalog {
  all: readonly Template[];
  byId(id: string): Template | undefined;
  /**
   * The template a file name follows (`<template>_YYYYMMDD.csv`, any letter case), or why it follows none. Only
   * templates of the given direction match (default import: files customers upload).
   */
  matchFileName(fileName: string, direction?: Direction): FileNameMatch;
  /** The template a job validates against: its template with the job's custom fields, if any. Throws when invalid. */
  forJob(job: { templateId: string; customFields?: readonly CustomFieldDeclaration[] }): Template;
}

export type FileNameMatch =
  | { ok: true; template: Template /** YYYY-MM-DD */; date: string }
  | { ok: false; reason: 'not_csv' | 'no_template' | 'bad_date'; message: string };

const FILE_NAME = /^(.+)_(\d{4})(\d{2})(\d{2})\.csv$/i;

/** True for a real calendar date (rejects 20260230 and month 13). */
export function isRealDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

function isSource(entry: unknown): entry is TemplateSource {
  return isObject(entry) && typeof entry.file === 'string' && 'document' in entry && !('x-integrator' in entry);
}

/** A catalog of templates from their documents (or `{ file, document }` entries, so errors name the file). */
export function createCatalog(entries: readonly unknown[]): TemplateCatalog {
  const ajv = newAjv();
  const fastAjv = newAjv(false);
  const all = entries.map((entry) =>
    isSource(entry) ? loadTemplate(entry.document, ajv, fastAjv, entry.file) : loadTemplate(entry, ajv, fastAjv),
  );
  const byLowerId = new Map<string, Template>();
  const byEntity = new Map<string, Template>();
  for (const t of all) {
    if (byLowerId.has(t.id.toLowerCase())) throw new Error(`template ${t.id} is defined twice`);
    byLowerId.set(t.id.toLowerCase(), t);
    // Two import templates writing one entity would overwrite each other's content hash and fields.
    const owner = t.direction === 'import' ? byEntity.get(t.entity) : undefined;
    if (owner) throw new Error(`templates ${owner.id} and ${t.id} both import entity ${t.entity}`);
    if (t.direction === 'import') byEntity.set(t.entity, t);
  }
  const byId = (id: string) => all.find((t) => t.id === id);
  return {
    all,
    byId,
    matchFileName(fileName, direction = 'import') {
      const name = fileName.slice(fileName.lastIndexOf('/') + 1);
      if (!/\.csv$/i.test(name)) {
        return { ok: false, reason: 'not_csv', message: `${name} is not a .csv file; only CSV files are imported` };
      }
      const m = FILE_NAME.exec(name);
      const named = m ? byLowerId.get(m[1]!.toLowerCase()) : undefined;
      const template = named?.direction === direction ? named : undefined;
      if (!m || !template) {
        const expected = all
          .filter((t) => t.direction === direction)
          .map((t) => t.fileNamePattern)
          .join(', ');
        const other = named ? `; ${named.id} is an ${named.direction} template` : '';
        return {
          ok: false,
          reason: 'no_template',
          message: `${name} does not follow the name of an ${direction} template (<template>_YYYYMMDD.csv: ${expected})${other}`,
        };
      }
      const [year, month, day] = [Number(m[2]), Number(m[3]), Number(m[4])];
      if (!isRealDate(year, month, day)) {
        return {
          ok: false,
          reason: 'bad_date',
          message: `${name}: ${m[2]}${m[3]}${m[4]} is not a real date (the name must end with the upload date, YYYYMMDD)`,
        };
      }
      return { ok: true, template, date: `${m[2]}-${m[3]}-${m[4]}` };
    },
    forJob(job) {
      const template = byId(job.templateId);
      if (!template) throw new Error(`unknown template ${job.templateId}`);
      return withCustomFields(template, job.customFields ?? []);
    },
  };
}

const dir = 'schemas/templates';
/** Every template in schemas/templates. Add a template: add its JSON file and list it here (a test checks both). */
export const TEMPLATE_SOURCES: readonly TemplateSource[] = [
  { file: `${dir}/fn_profile_import.json`, document: fnProfileImport },
  { file: `${dir}/fn_custom_data_import.json`, document: fnCustomDataImport },
  { file: `${dir}/fn_passport_import.json`, document: fnPassportImport },
  { file: `${dir}/fn_employment_import.json`, document: fnEmploymentImport },
  { file: `${dir}/case_status_export.json`, document: caseStatusExport },
  { file: `${dir}/visa_information_export.json`, document: visaInformationExport },
  { file: `${dir}/immigration_document_expirations_export.json`, document: immigrationDocumentExpirationsExport },
  { file: `${dir}/passport_information_export.json`, document: passportInformationExport },
  { file: `${dir}/petition_reference_table_export.json`, document: petitionReferenceTableExport },
];

export const templates: TemplateCatalog = createCatalog(TEMPLATE_SOURCES);
