/**
 * Custom fields (fn_custom_data_import): a template with `x-integrator.customFields` accepts fields the organization
 * declares on its job; `withCustomFields` composes the row schema from the template and those declarations, so a
 * custom field is a real field (mapping, validation, masking and records need nothing else).
 */
import { isRecord, isStringList } from '../guards.ts';
import { normalizeHeading } from './headings.ts';
import { CUSTOM_FORMATS, newAjv } from './template-ajv.ts';
import { buildTemplate, parseTemplate } from './template-loader.ts';
import { BOOLEAN_VALUES, RESERVED_FIELD_IDS, type Template } from './template-types.ts';

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
  for (const f of template.fields) for (const h of [f.title, ...f.aliases]) headings.set(normalizeHeading(h), f.id);
  declarations.forEach((d, i) => {
    const where = `custom field ${typeof d?.id === 'string' && d.id ? d.id : `#${i + 1}`}`;
    if (!isRecord(d)) {
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
        const owner = headings.get(normalizeHeading(h));
        if (owner !== undefined && owner !== d.id)
          problems.push(`${where}: the heading "${h}" is already used by ${owner}`);
        else headings.set(normalizeHeading(h), d.id);
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
  // The template loaded, so these parts are known to be objects and lists; a missing one is simply empty.
  const base = template.schema;
  const meta = isRecord(base['x-integrator']) ? base['x-integrator'] : {};
  const properties: Record<string, unknown> = { ...(isRecord(base.properties) ? base.properties : {}) };
  const fields: Record<string, unknown> = { ...(isRecord(meta.fields) ? meta.fields : {}) };
  const required = [...(isStringList(base.required) ? base.required : [])];
  const sensitive = [...(isStringList(meta.sensitive) ? meta.sensitive : [])];
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
  const result = buildTemplate(schema, parsed, where, composed.ajv, composed.fastAjv, template.file);
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
