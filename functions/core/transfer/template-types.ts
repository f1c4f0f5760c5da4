/**
 * What a loaded template is (template-loader.ts builds it from its JSON Schema document in schemas/templates): its
 * fields, their kinds and rules, the cross-field rules, and the compiled validators. The constants here are the
 * vocabulary the template documents are written in.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';

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
  'createdRunId',
  'lastRow',
  'templateId',
  'importLane',
  'importSeq',
  // The system of record's (dynamodb-system-of-record.ts): the change sequence exports read, and who wrote last.
  'changeSeq',
  'writtenBy',
  // The byPerson index key (records.ts personOfKey): the records of a person, for incremental exports.
  'personOf',
]);

export const SCHEMA_DIALECT = 'https://json-schema.org/draft/2020-12/schema';
/** The two values of a yes/no field. Not true/false: Excel rewrites those as TRUE/FALSE when it saves a CSV. */
export const BOOLEAN_VALUES: readonly string[] = ['Yes', 'No'];
export const COUNTRY_PATTERN = '^[A-Z]{2}$';
export const CURRENCY_PATTERN = '^[A-Z]{3}$';
