/**
 * The pre-defined templates: one JSON Schema (2020-12) per template in schemas/templates, describing ONE ROW after
 * mapping (our field ids and their rules), with our metadata under `x-integrator`. The same file serves validation,
 * mapping, smart mapping and the generated reference.
 *
 * The JSON files are imported statically so esbuild bundles them into the Lambda; validators are compiled once per
 * process (cold start), not per file or row.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fnProfileImport from '../../../schemas/templates/fn_profile_import.json' with { type: 'json' };

export type Direction = 'import' | 'export';

/** One of our fields as a template defines it. */
export interface TemplateField {
  /** Our field id, the property name in the schema and the attribute name on a stored record. */
  id: string;
  /** The column heading in our pre-defined template, e.g. `Employee ID`. */
  title: string;
  /** Other headings customers' systems use for it (smart mapping starts from these). */
  aliases: string[];
  required: boolean;
  /** Values are masked in run errors, outcome files and logs (passport numbers and the like). */
  sensitive: boolean;
  /** The rule in words, used in row errors instead of the schema's pattern or format. */
  rule?: string;
  /** How a sync-key value is normalized into a record key (`lower`: e-mail addresses). */
  keyCase?: 'lower';
  /** The field's JSON Schema. */
  schema: Readonly<Record<string, unknown>>;
}

export interface Template {
  id: string;
  version: number;
  direction: Direction;
  /** The kind of record the rows become, part of every record key. */
  entity: string;
  title: string;
  description: string;
  /** For people: `fn_profile_import_YYYYMMDD.csv`. */
  fileNamePattern: string;
  syncKeyCandidates: string[];
  /** Fields in template (column) order. */
  fields: TemplateField[];
  field(id: string): TemplateField | undefined;
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

const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

function newAjv(allErrors = true): Ajv2020 {
  const ajv = new Ajv2020({ allErrors, strict: true });
  addFormats(ajv);
  ajv.addVocabulary(['x-integrator']);
  return ajv;
}

interface RawFieldMeta {
  title?: unknown;
  aliases?: unknown;
  rule?: unknown;
  keyCase?: unknown;
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/**
 * Builds a template from its schema document, checking the metadata against the schema so a template that could
 * mislead mapping or validation never loads.
 */
export function loadTemplate(document: unknown, ajv: Ajv2020 = newAjv(), fastAjv: Ajv2020 = newAjv(false)): Template {
  if (typeof document !== 'object' || document === null) throw new Error('template: expected a JSON object');
  const schema = document as Record<string, unknown>;
  const meta = schema['x-integrator'] as Record<string, unknown> | undefined;
  const where = `template ${String(meta?.id ?? schema.$id ?? '?')}`;
  if (!meta || typeof meta !== 'object') throw new Error(`${where}: missing x-integrator metadata`);
  if (schema.$schema !== 'https://json-schema.org/draft/2020-12/schema') {
    throw new Error(`${where}: $schema must be JSON Schema 2020-12`);
  }
  const id = meta.id;
  if (typeof id !== 'string' || !/^[a-z][a-z0-9_]*[a-z0-9]$/i.test(id)) throw new Error(`${where}: bad id`);
  if (typeof meta.version !== 'number' || !Number.isInteger(meta.version) || meta.version < 1) {
    throw new Error(`${where}: version must be a whole number >= 1`);
  }
  if (meta.direction !== 'import' && meta.direction !== 'export') {
    throw new Error(`${where}: direction must be import or export`);
  }
  if (meta.fileNamePattern !== `${id}_YYYYMMDD.csv`) {
    throw new Error(`${where}: fileNamePattern must be ${id}_YYYYMMDD.csv`);
  }
  for (const key of ['entity', 'title', 'description'] as const) {
    if (typeof meta[key] !== 'string' || meta[key] === '') throw new Error(`${where}: ${key} is required`);
  }
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set(isStringList(schema.required) ? schema.required : []);
  const sensitive = new Set(isStringList(meta.sensitive) ? meta.sensitive : []);
  const fieldMeta = (meta.fields ?? {}) as Record<string, RawFieldMeta>;
  const propertyIds = Object.keys(properties);
  for (const fieldId of Object.keys(fieldMeta)) {
    if (!(fieldId in properties)) throw new Error(`${where}: x-integrator.fields.${fieldId} has no schema property`);
  }
  const titles = new Set<string>();
  const fields: TemplateField[] = propertyIds.map((fieldId) => {
    const m = fieldMeta[fieldId];
    if (!m || typeof m.title !== 'string' || m.title.trim() === '') {
      throw new Error(`${where}: field ${fieldId} needs x-integrator.fields.${fieldId}.title (its column heading)`);
    }
    if (RESERVED_FIELD_IDS.has(fieldId)) throw new Error(`${where}: field id ${fieldId} is reserved`);
    const heading = m.title.trim().toLowerCase();
    if (titles.has(heading)) throw new Error(`${where}: two fields have the column heading "${m.title}"`);
    titles.add(heading);
    const property = properties[fieldId] as Record<string, unknown>;
    if (property.type !== 'string') throw new Error(`${where}: field ${fieldId} must be of type string (CSV cells)`);
    return {
      id: fieldId,
      title: m.title,
      aliases: isStringList(m.aliases) ? m.aliases : [],
      required: required.has(fieldId),
      sensitive: sensitive.has(fieldId),
      ...(typeof m.rule === 'string' ? { rule: m.rule } : {}),
      ...(m.keyCase === 'lower' ? { keyCase: 'lower' as const } : {}),
      schema: property,
    };
  });
  for (const r of required) if (!(r in properties)) throw new Error(`${where}: required field ${r} is not defined`);
  for (const s of sensitive) if (!(s in properties)) throw new Error(`${where}: sensitive field ${s} is not defined`);
  const candidates = isStringList(meta.syncKeyCandidates) ? meta.syncKeyCandidates : [];
  if (meta.direction === 'import' && candidates.length === 0) throw new Error(`${where}: syncKeyCandidates is empty`);
  for (const c of candidates)
    if (!(c in properties)) throw new Error(`${where}: sync key candidate ${c} is not defined`);
  const byId = new Map(fields.map((f) => [f.id, f]));
  return {
    id,
    version: meta.version,
    direction: meta.direction,
    entity: meta.entity as string,
    title: meta.title as string,
    description: meta.description as string,
    fileNamePattern: meta.fileNamePattern,
    syncKeyCandidates: candidates,
    fields,
    field: (fieldId) => byId.get(fieldId),
    schema,
    validate: ajv.compile(schema),
    check: fastAjv.compile(schema),
  };
}

export interface TemplateCatalog {
  all: readonly Template[];
  byId(id: string): Template | undefined;
  /** The template a file name follows (`<templateId>_YYYYMMDD.csv`), or why it follows none. */
  matchFileName(fileName: string): FileNameMatch;
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

export function createCatalog(documents: readonly unknown[]): TemplateCatalog {
  const ajv = newAjv();
  const fastAjv = newAjv(false);
  const all = documents.map((d) => loadTemplate(d, ajv, fastAjv));
  const byLowerId = new Map<string, Template>();
  for (const t of all) {
    if (byLowerId.has(t.id.toLowerCase())) throw new Error(`template ${t.id} is defined twice`);
    byLowerId.set(t.id.toLowerCase(), t);
  }
  return {
    all,
    byId: (id) => all.find((t) => t.id === id),
    matchFileName(fileName) {
      const name = fileName.slice(fileName.lastIndexOf('/') + 1);
      if (!/\.csv$/i.test(name)) {
        return { ok: false, reason: 'not_csv', message: `${name} is not a .csv file; only CSV files are imported` };
      }
      const m = FILE_NAME.exec(name);
      const template = m ? byLowerId.get(m[1]!.toLowerCase()) : undefined;
      if (!m || !template) {
        const expected = all
          .filter((t) => t.direction === 'import')
          .map((t) => t.fileNamePattern)
          .join(', ');
        return {
          ok: false,
          reason: 'no_template',
          message: `${name} does not follow the name of an import template (<template>_YYYYMMDD.csv: ${expected})`,
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
  };
}

/** Every template in schemas/templates. Add a template: add its JSON file and list it here. */
export const templates: TemplateCatalog = createCatalog([fnProfileImport]);
