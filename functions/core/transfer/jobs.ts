/**
 * Import jobs: which template an organization's files follow, how its columns map to our fields, and the options
 * (sync key, preference, delimiter). A job stays a draft until every mandatory field is mapped; only launched jobs
 * run.
 */
import type { Problem } from '../problems.ts';
import { assertOrgId } from './layout.ts';
import { type MappingEntry, mandatoryFields, normalizeHeading } from './mapping.ts';
import { type Template, type TemplateCatalog, templates } from './templates.ts';

/** Create & Update, Create only, Update only (the integration preferences customers know). */
export type Preference = 'create_update' | 'create_only' | 'update_only';
export type JobStatus = 'draft' | 'launched';

export interface ImportJob {
  org: string;
  jobId: string;
  name: string;
  direction: 'import';
  templateId: string;
  status: JobStatus;
  mapping: MappingEntry[];
  /** The field whose value identifies a record (one of the template's sync-key candidates). */
  syncKey: string;
  preference: Preference;
  /** One character; a comma unless the customer's system writes another. */
  delimiter: string;
  createdAt?: string;
  updatedAt?: string;
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
  return launchJob(job, template);
}

/** What keeps a job from running, each problem naming the mapping entry or option at fault. Empty when launchable. */
export function jobProblems(job: ImportJob, template: Template): Problem[] {
  const problems: Problem[] = [];
  const where = `job ${job.jobId}`;
  if (job.templateId !== template.id) {
    problems.push({ code: 'wrong_template', message: `${where} uses template ${job.templateId}, not ${template.id}` });
  }
  if (!template.syncKeyCandidates.includes(job.syncKey)) {
    problems.push({
      code: 'invalid_sync_key',
      message: `${where}: the sync key must be one of ${template.syncKeyCandidates.join(', ')}, not ${job.syncKey}`,
    });
  }
  if (!PREFERENCES.includes(job.preference)) {
    problems.push({ code: 'invalid_preference', message: `${where}: unknown preference ${String(job.preference)}` });
  }
  if (typeof job.delimiter !== 'string' || [...job.delimiter].length !== 1 || /["\r\n]/.test(job.delimiter)) {
    problems.push({
      code: 'invalid_delimiter',
      message: `${where}: the delimiter must be one character (not a quote)`,
    });
  }
  const fields = new Set<string>();
  const columns = new Set<string>();
  for (const entry of job.mapping) {
    if (!template.field(entry.field)) {
      problems.push({
        code: 'unknown_field',
        message: `${where}: column "${entry.column}" is mapped to ${entry.field}, which template ${template.id} does not have`,
        column: entry.column,
      });
    }
    if (fields.has(entry.field)) {
      problems.push({
        code: 'field_mapped_twice',
        message: `${where}: ${template.field(entry.field)?.title ?? entry.field} is mapped from two columns`,
        column: entry.column,
      });
    }
    const heading = normalizeHeading(entry.column);
    if (heading === '' || columns.has(heading)) {
      problems.push({
        code: heading === '' ? 'empty_column' : 'column_mapped_twice',
        message: `${where}: column "${entry.column}" is ${heading === '' ? 'empty' : 'mapped twice'}`,
        column: entry.column,
      });
    }
    fields.add(entry.field);
    columns.add(heading);
  }
  for (const id of mandatoryFields(template, job.syncKey)) {
    if (!fields.has(id)) {
      problems.push({
        code: 'mandatory_field_unmapped',
        message: `${where}: ${template.field(id)?.title ?? id} is mandatory and no column is mapped to it`,
      });
    }
  }
  return problems;
}

/** Launches a draft whose mapping is complete; throws with every problem otherwise. */
export function launchJob(job: ImportJob, template: Template): ImportJob {
  const problems = jobProblems(job, template);
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('; '));
  return { ...job, status: 'launched' };
}

export type JobChoice =
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
  return { ok: true, job, template: jobTemplate };
}
