/**
 * The catalogue of integration events, as data: one JSON Schema (2020-12) per versioned detail type in
 * schemas/events/<name>.v<version>.json, each with its examples. This module loads them once and checks an event's
 * detail against its schema, so what is published is exactly what the catalogue documents (every schema forbids
 * properties it does not name: nothing from a file can ride along unnoticed).
 *
 * Versioning: the version is part of the detail type (`Run Finished.v1`), so an EventBridge rule matches one version;
 * a change a consumer could trip over is a new file and a new detail type, published beside the old one for as long
 * as consumers need it. Adding an optional property is not such a change.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import calendarReauthenticationRequired from '../../schemas/events/calendar-reauthentication-required.v1.json' with {
  type: 'json',
};
import exportFileReady from '../../schemas/events/export-file-ready.v1.json' with { type: 'json' };
import runFinished from '../../schemas/events/run-finished.v1.json' with { type: 'json' };
import runNeedsAttention from '../../schemas/events/run-needs-attention.v1.json' with { type: 'json' };
import uploadRefused from '../../schemas/events/upload-refused.v1.json' with { type: 'json' };

/** EventBridge's `source` of every event Integrator publishes. */
export const EVENT_SOURCE = 'integrator';

/** The detail types, each with its schema file's name (schemas/events/<file>.json). */
export const DETAIL_TYPES = {
  'Run Finished.v1': 'run-finished.v1',
  'Run Needs Attention.v1': 'run-needs-attention.v1',
  'Export File Ready.v1': 'export-file-ready.v1',
  'Upload Refused.v1': 'upload-refused.v1',
  'Calendar Reauthentication Required.v1': 'calendar-reauthentication-required.v1',
} as const;

export type DetailType = keyof typeof DETAIL_TYPES;

export interface EventSchema {
  title: string;
  examples: Record<string, unknown>[];
  [keyword: string]: unknown;
}

/** The schema documents by detail type. */
export const EVENT_SCHEMAS: Readonly<Record<DetailType, EventSchema>> = {
  'Run Finished.v1': runFinished as EventSchema,
  'Run Needs Attention.v1': runNeedsAttention as EventSchema,
  'Export File Ready.v1': exportFileReady as EventSchema,
  'Upload Refused.v1': uploadRefused as EventSchema,
  'Calendar Reauthentication Required.v1': calendarReauthenticationRequired as EventSchema,
};

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (
  ajv: Ajv2020,
) => Ajv2020;

let compiled: Map<DetailType, ValidateFunction> | undefined;

function validators(): Map<DetailType, ValidateFunction> {
  if (compiled) return compiled;
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: true }));
  compiled = new Map(
    (Object.keys(EVENT_SCHEMAS) as DetailType[]).map((type) => [type, ajv.compile(EVENT_SCHEMAS[type])]),
  );
  return compiled;
}

/** The detail's departures from its schema, as `<path>: <rule>` lines; empty when it conforms. */
export function detailProblems(detailType: DetailType, detail: unknown): string[] {
  const validate = validators().get(detailType);
  if (!validate) return [`unknown detail type ${detailType}`];
  if (validate(detail)) return [];
  return (validate.errors ?? []).map(describe);
}

function describe(e: ErrorObject): string {
  const where = e.instancePath || '(detail)';
  if (e.keyword === 'additionalProperties') {
    return `${where}: property ${(e.params as { additionalProperty: string }).additionalProperty} is not in the schema`;
  }
  return `${where}: ${e.message ?? e.keyword}`;
}
