/**
 * Export jobs: which export template an organization receives, how our fields map to the customer's columns (with
 * outward transforms), which records (filters; full or incremental), how the CSV is written, and which sensitive
 * fields it may carry. Pure. The schedule, pause and contacts follow the jobs' general rules (jobs.ts, schedules.ts):
 * an export job has no processing mode; with a `schedule` it runs by it (while launched and not paused), and any
 * launched export job can be run now.
 *
 * Rules:
 * - Mapping: one entry per column of the file, in file order: `{ column, field }` or `{ column, fields, transforms:
 *   [{ type: 'join', separator }] }`, with outward transforms (export-transforms.ts) and a `default` for an empty
 *   value. Column headings are unique (ignoring case); every field is one of the template's.
 * - Sensitive fields (the template's `sensitive`, e.g. passport and visa numbers) are exported only by a job that
 *   names them in `sensitiveFields`; a mapping entry reading one the job does not name is a problem, never a silent
 *   blank. A field the template marks `exportAs: masked` is written masked (****89) even when named.
 * - Filters (filters.ts) test our stored values (before outward transforms) of the template's fields; every rule
 *   must hold.
 * - Mode: `full` (every record) or `incremental` (every record whose change sequence is above the mark taken at the
 *   start of the job's last successful export: a record changed while that export ran is in the next one).
 * - CSV: delimiter, BOM, line ending and the formula-injection switch (csv/write-csv.ts; on by default; turn it off
 *   only for a machine consumer).
 * - Time zone: the IANA zone whose date names the file (`<template>_YYYYMMDD.csv`).
 * - Launch: one launched export job per template (as for imports: the Jobs store's guard), so each export template
 *   has one series of files in `/outbound`.
 */
import { isRecord } from '../guards.ts';
import type { Problem } from '../problems.ts';
import { isReservedName } from '../reserved-names.ts';
import { type CsvWriteOptions, csvWriteOptions, csvWriteProblems } from './csv/write-csv.ts';
import { type ExportTransform, exportTransformProblems } from './export-transforms.ts';
import { type FilterRule, filterProblems } from './filters.ts';
import { readContacts } from './jobs.ts';
import { assertOrgId } from './layout.ts';
import { readSchedule, type Schedule } from './schedules.ts';
import type { Template } from './template-types.ts';
import type { TemplateCatalog } from './templates.ts';

export type ExportMode = 'full' | 'incremental';
export const EXPORT_MODES: readonly ExportMode[] = ['full', 'incremental'];

export interface ExportMappingEntry {
  /** The customer's column heading. */
  column: string;
  /** Our field (a template field id)... */
  field?: string;
  /** ...or several, joined by a `join` transform. */
  fields?: string[];
  transforms?: ExportTransform[];
  /** Written when the value (after transforms) is empty. */
  default?: string;
}

/** Where the last successful export stopped: its start mark on the organization's change sequence. */
export interface ExportProgress {
  mark: number;
  runId: string;
  at: string;
}

export interface ExportJob {
  org: string;
  jobId: string;
  name: string;
  direction: 'export';
  templateId: string;
  status: 'draft' | 'launched';
  mapping: ExportMappingEntry[];
  filters?: FilterRule[];
  mode: ExportMode;
  csv: CsvWriteOptions;
  /** The template's sensitive fields this job exports. */
  sensitiveFields?: string[];
  /** IANA time zone of the date in the file name. */
  timeZone: string;
  /** When it runs by itself (absent: only on request). */
  schedule?: Schedule;
  /** A paused job starts no scheduled run; run now still works. */
  paused?: boolean;
  /** The integration contacts (e-mail addresses, lower-cased, no duplicates). */
  contacts?: string[];
  /** Kept by the export engine, never by a save. */
  lastExport?: ExportProgress;
  revision?: number;
  createdAt?: string;
  updatedAt?: string;
}

export function entryFields(entry: ExportMappingEntry): string[] {
  return entry.fields ?? (entry.field !== undefined ? [entry.field] : []);
}

/** True for an IANA zone name the runtime knows (`America/Los_Angeles`, `UTC`). */
export function isTimeZone(zone: unknown): zone is string {
  if (typeof zone !== 'string' || zone === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The job a new organization gets for an export template: every field that is not sensitive mapped to its title, in
 * template order; full; spreadsheet CSV (comma, BOM, CRLF, formulas neutralized); launched.
 */
export function defaultExportJob(
  org: string,
  template: Template,
  jobId: string,
  options: { timeZone?: string; sensitiveFields?: string[] } = {},
): ExportJob {
  if (template.direction !== 'export') throw new Error(`template ${template.id} is not an export template`);
  const named = new Set(options.sensitiveFields ?? []);
  const job: ExportJob = {
    org: assertOrgId(org),
    jobId,
    name: template.title,
    direction: 'export',
    templateId: template.id,
    status: 'launched',
    mapping: template.fields
      .filter((f) => !f.sensitive || named.has(f.id))
      .map((f) => ({ column: f.title, field: f.id })),
    mode: 'full',
    csv: csvWriteOptions(),
    ...(named.size > 0 ? { sensitiveFields: [...named] } : {}),
    timeZone: options.timeZone ?? 'UTC',
  };
  const problems = exportJobProblems(job, template);
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('; '));
  return job;
}

/** What keeps an export job from running, each problem naming the entry, field or option at fault. */
export function exportJobProblems(job: ExportJob, template: Template): Problem[] {
  const problems: Problem[] = [];
  const where = `job ${job.jobId}`;
  const add = (code: string, message: string, field?: string) =>
    problems.push({ code, message: `${where}: ${message}`, ...(field ? { field } : {}) });
  if (template.direction !== 'export')
    add('not_an_export_template', `template ${template.id} is not an export template`);
  if (job.templateId !== template.id) add('wrong_template', `uses template ${job.templateId}, not ${template.id}`);
  if (!EXPORT_MODES.includes(job.mode)) add('invalid_mode', `mode must be one of ${EXPORT_MODES.join(', ')}`);
  if (!isTimeZone(job.timeZone)) {
    add('invalid_time_zone', `timeZone "${String(job.timeZone)}" is not an IANA time zone (e.g. America/Los_Angeles)`);
  }
  for (const message of csvWriteProblems(job.csv)) add('invalid_csv_option', message);

  const named = new Set(job.sensitiveFields ?? []);
  for (const id of named) {
    const field = template.field(id);
    if (!field) add('unknown_field', `sensitiveFields names ${id}, which template ${template.id} does not have`, id);
    else if (!field.sensitive)
      add('not_sensitive', `sensitiveFields names ${id} (${field.title}), which is not sensitive`, id);
  }

  if (!Array.isArray(job.mapping) || job.mapping.length === 0) {
    add('empty_mapping', 'the mapping must have at least one column');
  }
  const columns = new Map<string, number>();
  (job.mapping ?? []).forEach((entry, i) => {
    const at = `mapping entry ${i + 1}`;
    const heading = typeof entry.column === 'string' ? entry.column.trim() : '';
    if (heading === '') add('missing_column', `${at}: column (the heading in the file) is required`);
    else {
      const earlier = columns.get(heading.toLowerCase());
      if (earlier !== undefined) add('duplicate_column', `${at}: column "${heading}" is also entry ${earlier + 1}'s`);
      else columns.set(heading.toLowerCase(), i);
    }
    if (entry.field !== undefined && entry.fields !== undefined)
      add('invalid_mapping', `${at}: field or fields, not both`);
    const fields = entryFields(entry);
    if (fields.length === 0) add('missing_field', `${at} (${heading}): field is required`);
    for (const id of fields) {
      const field = template.field(id);
      if (!field) {
        add('unknown_field', `${at} (${heading}): ${id} is not a field of template ${template.id}`, id);
        continue;
      }
      if (field.sensitive && !named.has(id)) {
        add(
          'sensitive_field_not_named',
          `${at} (${heading}): ${field.title} (${id}) is sensitive; name it in sensitiveFields to export it`,
          id,
        );
      }
    }
    const isDate = fields.length === 1 && template.field(fields[0]!)?.kind === 'date';
    for (const message of exportTransformProblems(entry.transforms, fields.length, isDate)) {
      add('invalid_transform', `${at} (${heading}): ${message}`, fields[0]);
    }
    if (entry.default !== undefined && typeof entry.default !== 'string')
      add('invalid_default', `${at}: default must be text`);
  });

  problems.push(
    ...filterProblems(
      job.filters,
      (f) => template.field(f) !== undefined,
      where,
      (f) => template.field(f)?.title ?? f,
    ),
  );
  return problems;
}

// ---------------------------------------------------------------------------------------------------------------
// Saving an export job definition (the API's PUT with direction "export")

export interface ExportJobDefinition {
  direction: 'export';
  name?: string;
  templateId: string;
  mapping?: ExportMappingEntry[];
  filters?: FilterRule[];
  mode?: ExportMode;
  csv?: Partial<CsvWriteOptions>;
  sensitiveFields?: string[];
  timeZone?: string;
  schedule?: Schedule;
  contacts?: string[];
  status?: 'draft';
  revision?: number;
}

const DEFINITION_KEYS = new Set([
  'direction',
  'name',
  'templateId',
  'mapping',
  'filters',
  'mode',
  'csv',
  'sensitiveFields',
  'timeZone',
  'schedule',
  'contacts',
  'status',
  'revision',
]);
const ENTRY_KEYS = new Set(['column', 'field', 'fields', 'transforms', 'default']);

/** Checks the JSON shape of an export job definition (types, known keys), naming each property at fault. */
export function readExportJobDefinition(
  body: unknown,
): { ok: true; definition: ExportJobDefinition } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const bad = (message: string) => problems.push({ code: 'invalid_job', message });
  if (!isRecord(body))
    return { ok: false, problems: [{ code: 'invalid_job', message: 'the body must be a JSON object' }] };
  for (const key of Object.keys(body)) if (!DEFINITION_KEYS.has(key)) bad(`unknown property ${key}`);
  if (body.direction !== 'export') bad('direction must be "export"');
  if (typeof body.templateId !== 'string' || body.templateId === '') bad('templateId is required');
  if (body.name !== undefined && (typeof body.name !== 'string' || body.name.trim() === '' || body.name.length > 200)) {
    bad('name must be a text of 1 to 200 characters');
  }
  if (body.mode !== undefined && !EXPORT_MODES.includes(body.mode as ExportMode)) {
    bad(`mode must be one of ${EXPORT_MODES.join(', ')}`);
  }
  if (body.timeZone !== undefined && !isTimeZone(body.timeZone)) {
    bad(`timeZone must be an IANA time zone such as America/Los_Angeles`);
  }
  for (const message of csvWriteProblems(body.csv)) bad(message);
  if (
    body.sensitiveFields !== undefined &&
    !(Array.isArray(body.sensitiveFields) && body.sensitiveFields.every((f) => typeof f === 'string'))
  ) {
    bad('sensitiveFields must be a list of field ids');
  }
  if (body.filters !== undefined && !(Array.isArray(body.filters) && body.filters.every(isRecord))) {
    bad('filters must be a list of objects');
  }
  if (body.status !== undefined && body.status !== 'draft') bad('status may only be draft; launch is its own action');
  if (body.revision !== undefined && !(Number.isInteger(body.revision) && (body.revision as number) >= 0)) {
    bad('revision must be a whole number');
  }
  let schedule: Schedule | undefined;
  if (body.schedule !== undefined) {
    const read = readSchedule(body.schedule, 'schedule');
    if (read.ok) schedule = read.schedule;
    else problems.push(...read.problems);
  }
  const contacts = readContacts(body.contacts, bad);
  const mapping = body.mapping;
  if (mapping !== undefined && !Array.isArray(mapping)) bad('mapping must be a list of entries');
  for (const [i, e] of (Array.isArray(mapping) ? mapping : []).entries()) {
    const at = `mapping entry ${i + 1}`;
    if (!isRecord(e)) {
      bad(`${at} must be an object: { column, field }`);
      continue;
    }
    for (const key of Object.keys(e)) if (!ENTRY_KEYS.has(key)) bad(`${at}: unknown property ${key}`);
    if (typeof e.column !== 'string') bad(`${at}: column must be text`);
    if (e.field !== undefined && typeof e.field !== 'string') bad(`${at}: field must be text`);
    if (e.fields !== undefined && !(Array.isArray(e.fields) && e.fields.every((f) => typeof f === 'string'))) {
      bad(`${at}: fields must be a list of field ids`);
    }
    for (const f of [e.field, ...(Array.isArray(e.fields) ? e.fields : [])]) {
      if (typeof f === 'string' && isReservedName(f)) bad(`${at}: ${f} is a reserved name`);
    }
    if (e.transforms !== undefined && !(Array.isArray(e.transforms) && e.transforms.every(isRecord))) {
      bad(`${at}: transforms must be a list of objects`);
    }
    if (e.default !== undefined && typeof e.default !== 'string') bad(`${at}: default must be text`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const definition = { ...body } as unknown as ExportJobDefinition;
  if (schedule) definition.schedule = schedule;
  if (contacts) definition.contacts = contacts;
  return { ok: true, definition };
}

export type ExportJobSave =
  | { ok: true; job: ExportJob; created: boolean; problems: Problem[] }
  | {
      ok: false;
      code: 'unknown_template' | 'not_an_export_template' | 'edit_conflict' | 'job_not_launchable';
      message: string;
      problems?: Problem[];
    };

/**
 * The job a save makes of a definition (PUT semantics: an omitted option takes its default; the mapping defaults to
 * the template's non-sensitive fields), or why it is refused. A launched job stays launched only while it has no
 * problems; `status: "draft"` takes it back to draft. `lastExport` is kept: a save never resets the increment.
 */
export function saveExportJob(input: {
  org: string;
  jobId: string;
  existing?: ExportJob;
  definition: ExportJobDefinition;
  catalog: TemplateCatalog;
  now: Date;
}): ExportJobSave {
  const { existing, definition: d } = input;
  const template = input.catalog.byId(d.templateId);
  if (!template) return { ok: false, code: 'unknown_template', message: `there is no template ${d.templateId}` };
  if (template.direction !== 'export') {
    return { ok: false, code: 'not_an_export_template', message: `template ${template.id} is not an export template` };
  }
  const revision = existing?.revision ?? 0;
  if (d.revision !== undefined && (existing ? d.revision !== revision : d.revision !== 0)) {
    return {
      ok: false,
      code: 'edit_conflict',
      message: `job ${input.jobId} was changed meanwhile (revision ${revision}, you edited ${d.revision}); reload it and apply your change again`,
    };
  }
  const at = input.now.toISOString();
  const keepLaunched = existing?.status === 'launched' && d.status !== 'draft';
  const job: ExportJob = {
    org: assertOrgId(input.org),
    jobId: input.jobId,
    name: d.name?.trim() ?? existing?.name ?? template.title,
    direction: 'export',
    templateId: template.id,
    status: keepLaunched ? 'launched' : 'draft',
    mapping: d.mapping ?? template.fields.filter((f) => !f.sensitive).map((f) => ({ column: f.title, field: f.id })),
    ...(d.filters && d.filters.length > 0 ? { filters: d.filters } : {}),
    mode: d.mode ?? 'full',
    csv: csvWriteOptions(d.csv),
    ...(d.sensitiveFields && d.sensitiveFields.length > 0 ? { sensitiveFields: d.sensitiveFields } : {}),
    timeZone: d.timeZone ?? existing?.timeZone ?? 'UTC',
    ...(d.schedule ? { schedule: d.schedule } : {}),
    ...(existing?.paused ? { paused: true } : {}),
    ...(d.contacts && d.contacts.length > 0 ? { contacts: d.contacts } : {}),
    ...(existing?.lastExport && existing.templateId === template.id ? { lastExport: existing.lastExport } : {}),
    revision: revision + 1,
    createdAt: existing?.createdAt ?? at,
    updatedAt: at,
  };
  const problems = exportJobProblems(job, template);
  if (keepLaunched && problems.length > 0) {
    return {
      ok: false,
      code: 'job_not_launchable',
      message: `job ${job.jobId} is launched and would no longer be launchable; it was not changed (save with status "draft" to keep working on it)`,
      problems,
    };
  }
  return { ok: true, job, created: existing === undefined, problems };
}

/**
 * Launching: refused, with the problems, while any remain. The store refuses a second launched export job of one
 * template (JobRepository.save: `template_taken`).
 */
export function launchExportJob(
  job: ExportJob,
  template: Template,
): { ok: true; job: ExportJob } | { ok: false; problems: Problem[] } {
  const problems = exportJobProblems(job, template);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, job: { ...job, status: 'launched' } };
}
