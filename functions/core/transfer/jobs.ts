/**
 * Import jobs: which template an organization's files follow, how its columns map to our fields (with transforms
 * and custom fields), and the import options (sync key, preference, filters, delimiter).
 *
 * Life of a job (what the API exposes):
 * - A job is saved as a **draft**, complete or not: `jobProblems` names what keeps it from running, every unmapped
 *   mandatory field among them (the template's required fields, required custom fields and the sync key).
 * - **Launch** is explicit and refused, with those problems, while any remain; and refused while another launched
 *   import job uses the same template (a file must have exactly one job). Only launched jobs run.
 * - Saving a **launched** job keeps it launched, and is refused (`job_not_launchable`, the job unchanged) when the
 *   new definition has problems, and (`launched_job_identity_change`) when it changes the template or the sync key:
 *   records are stored by their sync key, so such a change is deliberate — save with `status: "draft"` first (the job
 *   stops taking files), then launch again. A launched job is never silently turned back into a draft.
 * - Every save bumps `revision`; a save that names another revision than the stored one is an `edit_conflict`.
 *   Pausing and resuming are saves too (same revision rule); a PUT keeps the job's paused state.
 *
 * When files are processed (`processing`):
 * - `on_arrival` (the default, and what a job saved before schedules existed means): each file is imported when it
 *   arrives.
 * - `scheduled`: a file that arrives is recorded in the ledger as pending; each run of the job's `schedule`
 *   (schedules.ts) imports the pending files that arrived before its cut-off, oldest first. The cut-off is the run's
 *   scheduled time, so a file after it waits for the next run. A new scheduled job without a schedule gets the seed's
 *   rule (DEFAULT_SCHEDULE): daily at 02:00 America/Los_Angeles, "uploaded before 2 AM Pacific, imported that night".
 * - `paused`: a paused job starts no scheduled run and imports no arriving file (the files wait in the ledger); run
 *   now still works (an explicit request). Resuming imports what waited at the next run (or, on arrival, with a run
 *   now).
 * - `contacts`: the integration contacts' e-mail addresses (notifications.ts writes to them), at most MAX_CONTACTS.
 *
 * Import options:
 * - Sync key: the field whose value identifies a record: one of the template's sync-key candidates, or a custom
 *   field declared `unique`. It is mandatory in every row.
 * - Preference: create & update (default), create only (existing records are left alone), update only (unknown keys
 *   are not created); rows a preference leaves alone count as skipped.
 * - Filters (filters.ts): rules on mapped fields, all of which a row must meet to be imported; the others are counted
 *   as filtered, not as errors.
 * - A key that appears twice in one file: the first row with it is applied, every later row with it is an error
 *   (`duplicate_key`, naming the first row) and is not applied, and the first row gets a note, so both rows are
 *   reported. Keys compare after transforms and the key's normalization (e-mail keys ignore case). Rows the filters
 *   leave out take no part. When the first row itself failed, no row with that key is applied. (import-file.ts)
 */
import { isRecord } from '../guards.ts';
import type { Problem } from '../problems.ts';
import { isReservedName } from '../reserved-names.ts';
import { customFieldProblems, withCustomFields } from './custom-fields.ts';
import { type FilterRule, filterProblems } from './filters.ts';
import { normalizeHeading } from './headings.ts';
import { assertOrgId } from './layout.ts';
import {
  type CustomField,
  declarationsOf,
  entryColumns,
  MAX_HEADING_LENGTH,
  type MappingEntry,
  mandatoryFields,
} from './mapping.ts';
import { DEFAULT_SCHEDULE, readSchedule, type Schedule } from './schedules.ts';
import type { Template } from './template-types.ts';
import { type TemplateCatalog, templates } from './templates.ts';
import { transformProblems } from './transforms.ts';

/** Create & Update, Create only, Update only (the integration preferences customers know). */
export type Preference = 'create_update' | 'create_only' | 'update_only';
export type JobStatus = 'draft' | 'launched';
/** When a job's files are imported: as each arrives, or by the job's schedule. */
export type ProcessingMode = 'on_arrival' | 'scheduled';
export const PROCESSING_MODES: readonly ProcessingMode[] = ['on_arrival', 'scheduled'];
export const MAX_CONTACTS = 20;

export interface ImportJob {
  org: string;
  jobId: string;
  name: string;
  direction: 'import';
  templateId: string;
  status: JobStatus;
  mapping: MappingEntry[];
  /** The field whose value identifies a record (a sync-key candidate of the template, or a unique custom field). */
  syncKey: string;
  preference: Preference;
  /** One character; a comma unless the customer's system writes another. */
  delimiter: string;
  /** Rules a row must meet to be imported (all of them). */
  filters?: FilterRule[];
  /**
   * Fields the organization adds, for templates that accept them (templates.ts `CustomFieldDeclaration`, plus
   * `unique`); mapped, validated and stored by their ids like the template's own fields.
   */
  customFields?: CustomField[];
  /** Absent: `on_arrival` (jobs saved before schedules existed). */
  processing?: ProcessingMode;
  /** Present exactly when `processing` is `scheduled`. */
  schedule?: Schedule;
  /** A paused job starts no run by itself (see the rules at the top). */
  paused?: boolean;
  /** The integration contacts (e-mail addresses, lower-cased, no duplicates). */
  contacts?: string[];
  /** Bumped by every save through the API (optimistic locking); absent on a job never saved so. */
  revision?: number;
  createdAt?: string;
  updatedAt?: string;
}

/** The processing mode a job has (absent means on arrival). */
export function processingOf(job: Pick<ImportJob, 'processing'>): ProcessingMode {
  return job.processing ?? 'on_arrival';
}

/** What the schedule rules read of a job of either direction (an export job has no processing mode). */
export type SchedulableJob = Pick<ImportJob, 'status' | 'processing' | 'schedule' | 'paused'> & { direction?: string };

/**
 * The schedule a launched job keeps, enabled or (while paused) disabled: a scheduled import job's, or an export job's
 * (an export runs only by its schedule or on request, so having a schedule is what makes it scheduled); otherwise none.
 */
export function keptSchedule(job: SchedulableJob): Schedule | undefined {
  if (job.status !== 'launched') return undefined;
  return job.direction === 'export' || processingOf(job) === 'scheduled' ? job.schedule : undefined;
}

/** The schedule a job runs by, when it is launched, scheduled and not paused; otherwise none. */
export function activeSchedule(job: SchedulableJob): Schedule | undefined {
  return job.paused ? undefined : keptSchedule(job);
}

/**
 * An e-mail address as contacts need it: one mailbox, `local@domain`, no spaces, no display name, a domain with a dot
 * (what SES accepts as a destination). Not every RFC 5321 form, deliberately: quoted local parts and IP literals are
 * refused rather than half-supported.
 */
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function isEmailAddress(value: string): boolean {
  if (value.length > 254 || !EMAIL.test(value)) return false;
  const [local] = value.split('@') as [string];
  return local.length <= 64 && !local.startsWith('.') && !local.endsWith('.') && !local.includes('..');
}

export const PREFERENCES: readonly Preference[] = ['create_update', 'create_only', 'update_only'];

/**
 * The job a new organization starts with: every column of the pre-defined template mapped 1:1 by its heading, the
 * first sync-key candidate, create & update, comma-delimited, launched.
 */
export function defaultImportJob(
  org: string,
  templateId: string,
  jobId: string,
  catalog: TemplateCatalog = templates,
): ImportJob {
  const template = catalog.byId(templateId);
  if (!template) throw new Error(`unknown template ${templateId}`);
  if (template.direction !== 'import') throw new Error(`template ${template.id} is not an import template`);
  const job: ImportJob = {
    org: assertOrgId(org),
    jobId,
    name: template.title,
    direction: 'import',
    templateId: template.id,
    status: 'draft',
    mapping: template.fields.map((f) => ({ column: f.title, field: f.id })),
    syncKey: template.syncKeyCandidates[0]!,
    preference: 'create_update',
    delimiter: ',',
  };
  const launched = launchJob(job, template);
  if (!launched.ok) throw new Error(launched.problems.map((p) => p.message).join('; '));
  return launched.job;
}

/**
 * What keeps a job from running, each problem naming the mapping entry or option at fault; every unmapped mandatory
 * field is named (`mandatory_field_unmapped`, one problem each). Empty when launchable.
 */
export function jobProblems(job: ImportJob, template: Template): Problem[] {
  const problems: Problem[] = [];
  const where = `job ${job.jobId}`;
  if (job.templateId !== template.id) {
    problems.push({ code: 'wrong_template', message: `${where} uses template ${job.templateId}, not ${template.id}` });
  }
  const composed = composeJobTemplate(job, template);
  problems.push(...composed.problems);
  const jobTemplate = composed.template;
  const customFields = composed.problems.length === 0 ? (job.customFields ?? []) : [];
  const title = (id: string) => {
    const f = jobTemplate.field(id);
    return f ? `${f.title} (${id})` : id;
  };

  if (
    !template.syncKeyCandidates.includes(job.syncKey) &&
    !customFields.some((f) => f.id === job.syncKey && f.unique)
  ) {
    const unique = customFields.filter((f) => f.unique).map((f) => f.id);
    problems.push({
      code: 'invalid_sync_key',
      message: `${where}: the sync key must be one of ${[...template.syncKeyCandidates, ...unique].join(', ')}${unique.length === 0 ? ' (or a custom field declared unique)' : ''}, not ${job.syncKey}`,
    });
  }
  if (!PREFERENCES.includes(job.preference)) {
    problems.push({
      code: 'invalid_preference',
      message: `${where}: unknown preference ${String(job.preference)} (one of ${PREFERENCES.join(', ')})`,
    });
  }
  if (typeof job.delimiter !== 'string' || [...job.delimiter].length !== 1 || /["\r\n]/.test(job.delimiter)) {
    problems.push({
      code: 'invalid_delimiter',
      message: `${where}: the delimiter must be one character (not a quote)`,
    });
  }

  const fields = new Set<string>();
  for (const entry of job.mapping) {
    const columns = entryColumns(entry);
    const label = columns.map((c) => `"${c}"`).join(' + ') || '(no column)';
    const column = columns.join(' + ');
    if ((entry.column !== undefined) === (entry.columns !== undefined)) {
      problems.push({
        code: 'invalid_mapping_entry',
        message: `${where}: the entry for ${entry.field} needs either column or columns (several, joined), not ${entry.column === undefined ? 'neither' : 'both'}`,
        column,
      });
    } else if (entry.columns !== undefined && entry.columns.length < 2) {
      problems.push({
        code: 'invalid_mapping_entry',
        message: `${where}: the entry for ${entry.field} lists ${entry.columns.length} column in columns; use column for one`,
        column,
      });
    }
    if (columns.some((c) => normalizeHeading(c) === '')) {
      problems.push({ code: 'empty_column', message: `${where}: column ${label} is empty`, column });
    }
    if (!jobTemplate.field(entry.field)) {
      problems.push({
        code: 'unknown_field',
        message: `${where}: column ${label} is mapped to ${entry.field}, which template ${template.id} does not have${template.acceptsCustomFields ? ' (nor the custom fields the job declares)' : ''}`,
        column,
      });
    }
    if (fields.has(entry.field)) {
      problems.push({
        code: 'field_mapped_twice',
        message: `${where}: ${title(entry.field)} is mapped from two columns`,
        column,
      });
    }
    fields.add(entry.field);
    for (const message of transformProblems(entry.transforms, columns.length)) {
      problems.push({
        code: 'invalid_transform',
        message: `${where}: ${title(entry.field)} from ${label}: ${message}`,
        column,
      });
    }
    if (entry.default !== undefined && typeof entry.default !== 'string') {
      problems.push({
        code: 'invalid_transform',
        message: `${where}: ${title(entry.field)}: default must be text`,
        column,
      });
    }
  }
  problems.push(...filterProblems(job.filters, (f) => fields.has(f), where, title));
  for (const id of mandatoryFields(jobTemplate, job.syncKey)) {
    if (!fields.has(id)) {
      problems.push({
        code: 'mandatory_field_unmapped',
        message: `${where}: ${title(id)} is mandatory${id === job.syncKey ? ' (the sync key)' : ''} and no column is mapped to it`,
      });
    }
  }
  return problems;
}

/**
 * The template a job's rows are mapped and validated against: `template` (the job's own) with the job's custom
 * fields added (templates.ts `withCustomFields`), or `template` itself with the problems of the declarations.
 */
export function composeJobTemplate(job: ImportJob, template: Template): { template: Template; problems: Problem[] } {
  const where = `job ${job.jobId}`;
  const declared: unknown = job.customFields;
  if (declared === undefined || (Array.isArray(declared) && declared.length === 0)) return { template, problems: [] };
  const problem = (message: string): Problem => ({ code: 'invalid_custom_field', message: `${where}: ${message}` });
  if (!Array.isArray(declared) || !declared.every((d) => typeof d === 'object' && d !== null && !Array.isArray(d))) {
    return { template, problems: [problem('customFields must be a list of objects')] };
  }
  const customFields = declared as CustomField[];
  // Already composed (catalog.forJob): its custom fields are there; only the job-level flag is left to check.
  const composed = template.fields.some((f) => f.custom);
  const problems = composed ? [] : customFieldProblems(template, declarationsOf(customFields)).map(problem);
  customFields.forEach((f, i) => {
    if (typeof f.id === 'string' && isReservedName(f.id))
      problems.push(problem(reservedMessage(`custom field ${f.id}`)));
    if (f.unique !== undefined && typeof f.unique !== 'boolean') {
      problems.push(
        problem(`custom field ${typeof f.id === 'string' && f.id ? f.id : `#${i + 1}`}: unique must be true or false`),
      );
    }
  });
  if (problems.length > 0 || composed) return { template, problems };
  return { template: withCustomFields(template, declarationsOf(customFields)), problems: [] };
}

export type JobLaunch = { ok: true; job: ImportJob } | { ok: false; problems: Problem[] };

/**
 * Launches a job whose definition has no problems; otherwise says why not, with every problem. `others` are the
 * organization's other jobs: a second launched import job of the same template is refused.
 */
export function launchJob(job: ImportJob, template: Template, others: readonly ImportJob[] = []): JobLaunch {
  const problems = jobProblems(job, template);
  const rival = others.find(
    (j) =>
      j.jobId !== job.jobId && j.direction === 'import' && j.status === 'launched' && j.templateId === job.templateId,
  );
  if (rival) {
    problems.push({
      code: 'template_already_launched',
      message: `job ${job.jobId}: job ${rival.jobId} (${rival.name}) is already launched for template ${job.templateId}; a file must have exactly one job, so put that one back to draft first`,
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, job: { ...job, status: 'launched' } };
}

// ---------------------------------------------------------------------------------------------------------------
// Saving a job definition (the API's PUT)

/** What a user sends to create or replace a job (PUT semantics: an omitted option takes its default). */
export interface JobDefinition {
  name?: string;
  templateId: string;
  mapping: MappingEntry[];
  syncKey?: string;
  preference?: Preference;
  delimiter?: string;
  filters?: FilterRule[];
  customFields?: CustomField[];
  processing?: ProcessingMode;
  schedule?: Schedule;
  contacts?: string[];
  /** `draft` takes a launched job back to draft. Launching is its own action. */
  status?: 'draft';
  /** The revision the user edited; a different stored revision is an edit conflict. */
  revision?: number;
}

export const MAX_MAPPING_ENTRIES = 500;
const DEFINITION_KEYS = new Set([
  'name',
  'templateId',
  'mapping',
  'syncKey',
  'preference',
  'delimiter',
  'filters',
  'customFields',
  'processing',
  'schedule',
  'contacts',
  'status',
  'revision',
]);
const ENTRY_KEYS = new Set(['column', 'columns', 'field', 'transforms', 'default']);

function reservedMessage(what: string): string {
  return `${what} is a reserved name (a property every JavaScript object has, such as constructor or __proto__): choose another`;
}

/**
 * A definition's `contacts` (absent: undefined): trimmed, lower-cased, without duplicates; each address that is not
 * one, and a list that is too long, reported through `bad`. Shared by both directions' definitions.
 */
export function readContacts(value: unknown, bad: (message: string) => void): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    bad('contacts must be a list of e-mail addresses');
    return undefined;
  }
  if (value.length > MAX_CONTACTS) {
    bad(`contacts may list at most ${MAX_CONTACTS} addresses`);
    return undefined;
  }
  const contacts: string[] = [];
  value.forEach((c: unknown, i) => {
    const address = typeof c === 'string' ? c.trim() : undefined;
    if (address === undefined || !isEmailAddress(address)) {
      bad(`contacts[${i}]: ${JSON.stringify(c)} is not an e-mail address (name@example.com)`);
    } else if (!contacts.includes(address.toLowerCase())) contacts.push(address.toLowerCase());
  });
  return contacts;
}

/**
 * Checks the shape of a job definition from outside (JSON types, known keys), so that everything after can rely on
 * it. What the definition means (fields, transforms, filters, sync key) is `jobProblems`' business: a draft may be
 * saved with such problems.
 */
export function readJobDefinition(
  body: unknown,
): { ok: true; definition: JobDefinition } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const bad = (message: string) => problems.push({ code: 'invalid_job', message });
  if (!isRecord(body))
    return { ok: false, problems: [{ code: 'invalid_job', message: 'the body must be a JSON object' }] };
  for (const key of Object.keys(body)) if (!DEFINITION_KEYS.has(key)) bad(`unknown property ${key}`);
  if (typeof body.templateId !== 'string' || body.templateId === '') bad('templateId is required');
  if (body.name !== undefined && (typeof body.name !== 'string' || body.name.trim() === '' || body.name.length > 200)) {
    bad('name must be a text of 1 to 200 characters');
  }
  for (const key of ['syncKey', 'preference', 'delimiter'] as const) {
    if (body[key] !== undefined && typeof body[key] !== 'string') bad(`${key} must be text`);
  }
  if (body.preference !== undefined && !PREFERENCES.includes(body.preference as Preference)) {
    bad(`preference must be one of ${PREFERENCES.join(', ')}`);
  }
  if (body.status !== undefined && body.status !== 'draft') {
    bad(
      body.status === 'launched'
        ? 'status cannot be set to launched here: launch the job with POST /v1/jobs/{jobId}/launch'
        : 'status may only be draft (to take a launched job back to draft)',
    );
  }
  if (body.revision !== undefined && !(Number.isInteger(body.revision) && (body.revision as number) >= 0)) {
    bad('revision must be a whole number');
  }
  if (body.processing !== undefined && !PROCESSING_MODES.includes(body.processing as ProcessingMode)) {
    bad(`processing must be one of ${PROCESSING_MODES.join(', ')}, not ${JSON.stringify(body.processing)}`);
  }
  let schedule: Schedule | undefined;
  if (body.schedule !== undefined) {
    if (body.processing !== 'scheduled') {
      bad('schedule: only a job with processing "scheduled" has a schedule');
    } else {
      const read = readSchedule(body.schedule, 'schedule');
      if (read.ok) schedule = read.schedule;
      else problems.push(...read.problems);
    }
  }
  const contacts = readContacts(body.contacts, bad);
  for (const key of ['filters', 'customFields'] as const) {
    const list = body[key];
    if (list !== undefined && !(Array.isArray(list) && list.every(isRecord))) bad(`${key} must be a list of objects`);
  }
  const reserved = (what: string, name: unknown) => {
    if (typeof name === 'string' && isReservedName(name)) bad(reservedMessage(what));
  };
  reserved(`syncKey ${String(body.syncKey)}`, body.syncKey);
  if (Array.isArray(body.customFields)) {
    body.customFields.forEach((f: unknown, i) => {
      if (isRecord(f)) reserved(`custom field ${i + 1} (${String(f.id)})`, f.id);
    });
  }
  if (Array.isArray(body.filters)) {
    body.filters.forEach((f: unknown, i) => {
      if (isRecord(f)) reserved(`filter ${i + 1} (${String(f.field)})`, f.field);
    });
  }
  const mapping = body.mapping ?? [];
  if (!Array.isArray(mapping)) bad('mapping must be a list of entries');
  else {
    if (mapping.length > MAX_MAPPING_ENTRIES) bad(`mapping has more than ${MAX_MAPPING_ENTRIES} entries`);
    for (const [i, e] of (mapping as unknown[]).entries()) {
      const at = `mapping entry ${i + 1}`;
      if (!isRecord(e)) {
        bad(`${at} must be an object: { column, field }`);
        continue;
      }
      for (const key of Object.keys(e)) if (!ENTRY_KEYS.has(key)) bad(`${at}: unknown property ${key}`);
      if (typeof e.field !== 'string' || e.field === '') bad(`${at}: field is required`);
      reserved(`${at}: field ${String(e.field)}`, e.field);
      if (e.column !== undefined && typeof e.column !== 'string') bad(`${at}: column must be text`);
      if (e.columns !== undefined && !(Array.isArray(e.columns) && e.columns.every((c) => typeof c === 'string'))) {
        bad(`${at}: columns must be a list of texts`);
      }
      if (e.column === undefined && e.columns === undefined) bad(`${at}: column (or columns) is required`);
      const headings = [e.column, ...(Array.isArray(e.columns) ? e.columns : [])];
      if (headings.some((h) => typeof h === 'string' && h.length > MAX_HEADING_LENGTH)) {
        bad(`${at}: a column heading may have at most ${MAX_HEADING_LENGTH} characters`);
      }
      if (e.transforms !== undefined && !(Array.isArray(e.transforms) && e.transforms.every(isRecord))) {
        bad(`${at}: transforms must be a list of objects`);
      } else {
        for (const [k, t] of ((e.transforms ?? []) as Record<string, unknown>[]).entries()) {
          // A value map's keys become the keys of a stored object: `__proto__` there would not survive the trip.
          if (t.type !== 'map' || !isRecord(t.values)) continue;
          for (const from of Object.keys(t.values))
            reserved(`${at}, transform ${k + 1}: value map key "${from}"`, from);
        }
      }
      if (e.default !== undefined && typeof e.default !== 'string') bad(`${at}: default must be text`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const b = body as Record<string, unknown>;
  const definition: JobDefinition = {
    templateId: b.templateId as string,
    mapping: mapping as MappingEntry[],
    ...(b.name !== undefined ? { name: (b.name as string).trim() } : {}),
    ...(b.syncKey !== undefined ? { syncKey: b.syncKey as string } : {}),
    ...(b.preference !== undefined ? { preference: b.preference as Preference } : {}),
    ...(b.delimiter !== undefined ? { delimiter: b.delimiter as string } : {}),
    ...(b.filters !== undefined ? { filters: b.filters as FilterRule[] } : {}),
    ...(b.customFields !== undefined ? { customFields: b.customFields as CustomField[] } : {}),
    ...(b.processing !== undefined ? { processing: b.processing as ProcessingMode } : {}),
    ...(schedule ? { schedule } : {}),
    ...(contacts ? { contacts } : {}),
    ...(b.status !== undefined ? { status: 'draft' as const } : {}),
    ...(b.revision !== undefined ? { revision: b.revision as number } : {}),
  };
  return { ok: true, definition };
}

export type JobSave =
  | { ok: true; job: ImportJob; created: boolean; problems: Problem[] }
  | {
      ok: false;
      code:
        | 'unknown_template'
        | 'not_an_import_template'
        | 'edit_conflict'
        | 'launched_job_identity_change'
        | 'job_not_launchable';
      message: string;
      problems?: Problem[];
    };

/**
 * The job a save makes of `definition` (see the rules at the top), or why it is refused. Pure: the caller stores the
 * result, conditional on the revision it read.
 */
export function saveJob(input: {
  org: string;
  jobId: string;
  existing?: ImportJob;
  definition: JobDefinition;
  catalog: TemplateCatalog;
  now: Date;
}): JobSave {
  const { existing, definition: d } = input;
  const template = input.catalog.byId(d.templateId);
  if (!template) {
    return { ok: false, code: 'unknown_template', message: `there is no template ${d.templateId}` };
  }
  if (template.direction !== 'import') {
    return { ok: false, code: 'not_an_import_template', message: `template ${template.id} is not an import template` };
  }
  const revision = existing?.revision ?? 0;
  if (d.revision !== undefined && (existing ? d.revision !== revision : d.revision !== 0)) {
    return {
      ok: false,
      code: 'edit_conflict',
      message: existing
        ? `job ${input.jobId} was changed meanwhile (revision ${revision}, you edited ${d.revision}); reload it and apply your change again`
        : `job ${input.jobId} does not exist (any more); save it without a revision to create it`,
    };
  }
  const keepLaunched = existing?.status === 'launched' && d.status !== 'draft';
  const at = input.now.toISOString();
  const job: ImportJob = {
    org: assertOrgId(input.org),
    jobId: input.jobId,
    name: d.name ?? existing?.name ?? template.title,
    direction: 'import',
    templateId: template.id,
    status: keepLaunched ? 'launched' : 'draft',
    mapping: d.mapping,
    syncKey: d.syncKey ?? template.syncKeyCandidates[0]!,
    preference: d.preference ?? 'create_update',
    delimiter: d.delimiter ?? ',',
    ...(d.filters && d.filters.length > 0 ? { filters: d.filters } : {}),
    ...(d.customFields && d.customFields.length > 0 ? { customFields: d.customFields } : {}),
    ...(d.processing === 'scheduled'
      ? { processing: 'scheduled' as const, schedule: d.schedule ?? DEFAULT_SCHEDULE }
      : {}),
    ...(existing?.paused ? { paused: true } : {}),
    ...(d.contacts && d.contacts.length > 0 ? { contacts: d.contacts } : {}),
    revision: revision + 1,
    createdAt: existing?.createdAt ?? at,
    updatedAt: at,
  };
  const problems = jobProblems(job, template);
  if (keepLaunched && existing) {
    const changed = [
      ...(existing.templateId !== job.templateId ? [`the template (${existing.templateId} -> ${job.templateId})`] : []),
      ...(existing.syncKey !== job.syncKey ? [`the sync key (${existing.syncKey} -> ${job.syncKey})`] : []),
    ];
    if (changed.length > 0) {
      return {
        ok: false,
        code: 'launched_job_identity_change',
        message: `job ${job.jobId} is launched: changing ${changed.join(' and ')} changes which records its files update; save it with status "draft" first, then launch it again`,
      };
    }
    if (problems.length > 0) {
      return {
        ok: false,
        code: 'job_not_launchable',
        message: `job ${job.jobId} is launched and would no longer be launchable; it was not changed (save with status "draft" to keep working on it as a draft)`,
        problems,
      };
    }
  }
  return { ok: true, job, created: existing === undefined, problems };
}

export type JobChoice =
  /** `template`: the job's template with its custom fields, what importFile takes. */
  | { ok: true; job: ImportJob; template: Template }
  | { ok: false; code: 'no_launched_job' | 'several_jobs' | 'job_invalid'; message: string };

/**
 * The launched import job that handles a file of the given template. None, or more than one (which would make the
 * result depend on an arbitrary choice), is a reason to stop and say so.
 */
export function chooseJob(
  jobs: readonly ImportJob[],
  template: Template,
  catalog: TemplateCatalog,
  fileName: string,
): JobChoice {
  const matching = jobs.filter(
    (j) => j.direction === 'import' && j.status === 'launched' && j.templateId === template.id,
  );
  if (matching.length === 0) {
    return {
      ok: false,
      code: 'no_launched_job',
      message: `${fileName} follows template ${template.id}, but the organization has no launched import job for it`,
    };
  }
  if (matching.length > 1) {
    return {
      ok: false,
      code: 'several_jobs',
      message: `${fileName}: several launched import jobs use template ${template.id} (${matching.map((j) => j.name).join(', ')}); keep one launched`,
    };
  }
  const job = matching[0]!;
  const jobTemplate = catalog.byId(job.templateId) ?? template;
  const problems = jobProblems(job, jobTemplate);
  if (problems.length > 0) {
    return { ok: false, code: 'job_invalid', message: problems.map((p) => p.message).join('; ') };
  }
  // With custom fields, the template the rows are validated against is the composed one.
  return { ok: true, job, template: composeJobTemplate(job, jobTemplate).template };
}

export type JobPause<J = ImportJob> = { ok: true; job: J; changed: boolean };

/**
 * The job paused or resumed (a save: revision bumped, `updatedAt` now). `changed` is false, and the job returned as it
 * is, when it already was in that state: pausing twice is not an error.
 */
export function setPaused<J extends { paused?: boolean; revision?: number; updatedAt?: string }>(
  job: J,
  paused: boolean,
  now: Date,
): JobPause<J> {
  if ((job.paused ?? false) === paused) return { ok: true, job, changed: false };
  const { paused: _was, ...rest } = job;
  return {
    ok: true,
    changed: true,
    job: {
      ...rest,
      ...(paused ? { paused: true } : {}),
      revision: (job.revision ?? 0) + 1,
      updatedAt: now.toISOString(),
    } as J,
  };
}
