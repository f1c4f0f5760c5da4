/**
 * Loading a template: one JSON Schema (2020-12) document per template in schemas/templates, describing ONE ROW after
 * mapping (our field ids and their rules), with our metadata under `x-integrator`. The same document serves
 * validation, mapping, smart mapping, the generated reference (docs/templates.md) and the compatibility guard
 * (template-compat.ts against schemas/templates/released/).
 *
 * A template whose metadata is broken or contradicts its schema stops the load with the template's file name: it must
 * never half-work. Validators are compiled once per template (the catalog loads at cold start), not per file or row.
 */
import type { Ajv2020, ValidateFunction } from 'ajv/dist/2020.js';
import { isRecord, isStringList } from '../guards.ts';
import { normalizeHeading } from './headings.ts';
import { newAjv, SELF_EXPLAINED_FORMATS } from './template-ajv.ts';
import {
  BOOLEAN_VALUES,
  COUNTRY_PATTERN,
  type CrossFieldRule,
  CURRENCY_PATTERN,
  type Direction,
  type FieldKind,
  RESERVED_FIELD_IDS,
  SCHEMA_DIALECT,
  type Template,
  type TemplateField,
} from './template-types.ts';

/** What a field holds, from its schema. */
export function fieldKind(schema: Readonly<Record<string, unknown>>): FieldKind {
  if (Array.isArray(schema.enum)) {
    const values: unknown[] = schema.enum;
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
  const meta = isRecord(schema['x-integrator']) ? schema['x-integrator'] : undefined;
  return `template ${String(meta?.id ?? schema.$id ?? '?')}`;
}

/** The template's identity and texts, checked. */
interface TemplateHead {
  id: string;
  version: number;
  direction: Direction;
  entity: string;
  title: string;
  description: string;
  fileNamePattern: string;
}

/** A fully checked template document, before compiling: what loadTemplate and withCustomFields share. */
export interface ParsedTemplate {
  head: TemplateHead;
  fields: TemplateField[];
  rules: CrossFieldRule[];
  candidates: string[];
  customFields?: { max: number };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function parseTemplate(schema: Record<string, unknown>, where: string, file?: string): ParsedTemplate {
  const fail = (message: string): never => {
    throw new Error(`${where}: ${message}`);
  };
  const meta = schema['x-integrator'];
  if (!isRecord(meta)) return fail('missing x-integrator metadata');
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
  const version = meta.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    return fail('version must be a whole number >= 1');
  }
  const direction: Direction =
    meta.direction === 'import' || meta.direction === 'export'
      ? meta.direction
      : fail('direction must be import or export');
  const fileNamePattern = meta.fileNamePattern;
  if (typeof fileNamePattern !== 'string' || fileNamePattern.toLowerCase() !== `${id}_yyyymmdd.csv`) {
    return fail(`fileNamePattern must be ${id}_YYYYMMDD.csv (any letter case)`);
  }
  const entity = text(meta.entity) ?? fail('entity is required');
  const title = text(meta.title) ?? fail('title is required');
  const description = text(meta.description) ?? fail('description is required');
  if (!/^[a-z][A-Za-z0-9]*$/.test(entity)) fail('entity must be a camelCase name');
  if (schema.type !== 'object') fail('the row schema must be of type object');
  if (schema.additionalProperties !== false) {
    fail('additionalProperties must be false (a field the template does not define is an error, not stored)');
  }
  const properties = schema.properties;
  if (!isRecord(properties)) return fail('properties are required');
  if (schema.required !== undefined && !isStringList(schema.required)) fail('required must be a list of field ids');
  const required = new Set(isStringList(schema.required) ? schema.required : []);
  if (meta.sensitive !== undefined && !isStringList(meta.sensitive)) fail('sensitive must be a list of field ids');
  const sensitive = new Set(isStringList(meta.sensitive) ? meta.sensitive : []);
  const fieldMeta = meta.fields;
  if (!isRecord(fieldMeta)) return fail('x-integrator.fields is required');
  for (const fieldId of Object.keys(fieldMeta)) {
    if (!(fieldId in properties)) fail(`x-integrator.fields.${fieldId} has no schema property`);
  }
  const headings = new Map<string, string>();
  const claim = (label: string, fieldId: string, what: string) => {
    const key = normalizeHeading(label);
    const owner = headings.get(key);
    if (owner !== undefined && owner !== fieldId) {
      fail(`${what} "${label}" of field ${fieldId} is already a heading or alias of field ${owner}`);
    }
    headings.set(key, fieldId);
  };
  const fields: TemplateField[] = Object.keys(properties).map((fieldId) => {
    const m = fieldMeta[fieldId];
    if (!isRecord(m) || typeof m.title !== 'string' || m.title.trim() === '') {
      return fail(`field ${fieldId} needs x-integrator.fields.${fieldId}.title (its column heading)`);
    }
    const heading = m.title;
    for (const key of Object.keys(m))
      if (!FIELD_META_KEYS.has(key)) fail(`unknown key x-integrator.fields.${fieldId}.${key}`);
    if (RESERVED_FIELD_IDS.has(fieldId)) fail(`field id ${fieldId} is reserved`);
    if (!/^[a-z][A-Za-z0-9]*$/.test(fieldId)) fail(`field id ${fieldId} must be camelCase letters and digits`);
    const property = properties[fieldId];
    if (!isRecord(property)) return fail(`field ${fieldId}: its schema must be an object`);
    if (property.type !== 'string') fail(`field ${fieldId} must be of type string (CSV cells)`);
    const fieldDescription = property.description;
    if (typeof fieldDescription !== 'string' || fieldDescription.trim() === '') {
      return fail(`field ${fieldId} needs a description (the reference shows it)`);
    }
    claim(heading, fieldId, 'heading');
    if (m.aliases !== undefined && !isStringList(m.aliases))
      fail(`field ${fieldId}: aliases must be a list of strings`);
    const aliases = isStringList(m.aliases) ? m.aliases : [];
    for (const alias of aliases) {
      if (alias.trim() === '') fail(`field ${fieldId}: an alias is empty`);
      if (normalizeHeading(alias) === normalizeHeading(heading)) {
        fail(`field ${fieldId}: alias "${alias}" repeats its heading`);
      }
      claim(alias, fieldId, 'alias');
    }
    const rule = m.rule;
    if (rule !== undefined && (typeof rule !== 'string' || rule.trim() === '')) {
      fail(`field ${fieldId}: rule must be a sentence`);
    }
    const explained = typeof rule === 'string';
    if (property.pattern !== undefined && !explained) {
      fail(`field ${fieldId} has a pattern, so it needs a rule in words (x-integrator.fields.${fieldId}.rule)`);
    }
    if (typeof property.format === 'string' && !SELF_EXPLAINED_FORMATS.has(property.format) && !explained) {
      fail(`field ${fieldId} has format ${property.format}, so it needs a rule in words`);
    }
    if (m.keyCase !== undefined && m.keyCase !== 'lower') fail(`field ${fieldId}: keyCase can only be "lower"`);
    let values: string[] | undefined;
    if (Array.isArray(property.enum)) {
      const listed: unknown[] = property.enum;
      if (listed.length === 0 || !listed.every((v) => typeof v === 'string' && v.trim() === v && v !== '')) {
        fail(`field ${fieldId}: enum values must be non-empty trimmed strings`);
      }
      if (new Set(listed).size !== listed.length) fail(`field ${fieldId}: an enum value is listed twice`);
      values = listed as string[]; // every element checked to be a string just above
    }
    const isSensitive = sensitive.has(fieldId);
    const exportAs = m.exportAs === 'full' || m.exportAs === 'masked' ? m.exportAs : undefined;
    if (direction === 'export' && isSensitive && exportAs === undefined) {
      fail(`sensitive export field ${fieldId} must say exportAs "full" or "masked" (what the export file carries)`);
    }
    if (m.exportAs !== undefined && !(direction === 'export' && isSensitive)) {
      fail(`field ${fieldId}: exportAs is only for sensitive fields of export templates`);
    }
    return {
      id: fieldId,
      title: heading,
      aliases,
      required: required.has(fieldId),
      sensitive: isSensitive,
      ...(typeof rule === 'string' ? { rule } : {}),
      ...(m.keyCase === 'lower' ? { keyCase: 'lower' as const } : {}),
      ...(exportAs ? { exportAs } : {}),
      kind: fieldKind(property),
      ...(values ? { values } : {}),
      description: fieldDescription,
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
  const fieldOf = (v: unknown, what: string): string =>
    typeof v === 'string' && v in properties ? v : fail(`${what}: ${String(v)} is not a field`);
  const dateField = (v: unknown, what: string): string => {
    const fieldId = fieldOf(v, what);
    const property = properties[fieldId];
    if (!isRecord(property) || property.format !== 'date') fail(`${what}: ${fieldId} is not a date field`);
    return fieldId;
  };
  const entries = (v: unknown, what: string): Record<string, unknown>[] => {
    if (!Array.isArray(v)) return fail(`${what} must be a list`);
    return v.map((r: unknown) => (isRecord(r) ? r : {}));
  };
  if (schema.dateOrder !== undefined) {
    for (const r of entries(schema.dateOrder, 'dateOrder')) {
      const earlier = dateField(r.earlier, 'dateOrder');
      const later = dateField(r.later, 'dateOrder');
      if (earlier === later) fail('dateOrder compares a field with itself');
      rules.push({ kind: 'dateOrder', earlier, later, allowEqual: r.allowEqual === true });
    }
  }
  if (schema.requiredWith !== undefined) {
    for (const r of entries(schema.requiredWith, 'requiredWith')) {
      const field = fieldOf(r.field, 'requiredWith');
      const other = fieldOf(r.with, 'requiredWith');
      if (required.has(field)) fail(`requiredWith: ${field} is required anyway`);
      rules.push({ kind: 'requiredWith', field, with: other });
    }
  }
  let customFields: { max: number } | undefined;
  if (meta.customFields !== undefined) {
    const c = meta.customFields;
    if (direction !== 'import') fail('only import templates accept custom fields');
    if (!isRecord(c) || Object.keys(c).some((k) => k !== 'max')) return fail('customFields must be { "max": <count> }');
    const max = c.max;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 500) {
      return fail('customFields.max must be a whole number from 1 to 500');
    }
    customFields = { max };
  }
  const head = { id, version, direction, entity, title, description, fileNamePattern };
  return { head, fields, rules, candidates, ...(customFields ? { customFields } : {}) };
}

/** Compiles a parsed template into the Template every module uses. */
export function buildTemplate(
  schema: Record<string, unknown>,
  parsed: ParsedTemplate,
  where: string,
  ajv: Ajv2020,
  fastAjv: Ajv2020,
  file?: string,
): Template {
  const { head, fields, rules, candidates } = parsed;
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
    ...head,
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
  if (!isRecord(document)) throw new Error(`${file ?? 'template'}: expected a JSON object`);
  const where = whereOf(document, file);
  return buildTemplate(document, parseTemplate(document, where, file), where, ajv, fastAjv, file);
}
