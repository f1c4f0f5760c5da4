/**
 * Jobs of both directions over HTTP: list, read, save a draft (PUT), launch, pause, resume, run now, upcoming runs,
 * and smart-mapping suggestions (imports) for a header or a sample file. The organization is the caller's (set by
 * the app's authentication middleware), never the URL's. A PUT whose body says `direction: "export"` is an export
 * job (export-jobs.ts `readExportJobDefinition`), any other an import job; a job keeps its direction for life.
 *
 *   GET  /v1/jobs                     -> 200 { jobs: [job], next } (`?limit=`, `?cursor=`, in job id order)
 *   GET  /v1/jobs/:jobId              -> 200 { job } | 404
 *   PUT  /v1/jobs/:jobId              -> 201 (created) | 200 { job } | 400 | 409
 *   POST /v1/jobs/:jobId/launch       -> 200 { job } | 404 | 409 { error: { code: job_not_launchable, problems } }
 *   POST /v1/jobs/:jobId/pause        -> 200 { job } | 404 | 409 (edit_conflict)
 *   POST /v1/jobs/:jobId/resume       -> 200 { job } | 404 | 409 (edit_conflict)
 *   POST /v1/jobs/:jobId/run          -> 202 { request: { runId, trigger: manual, cutoff } } | 404 | 409 job_not_launched
 *   GET  /v1/jobs/:jobId/upcoming-runs -> 200 { jobId, runs: [{ at }] } (`?count=` 1-50, default 5) | 404
 *   GET  /v1/upcoming-runs            -> 200 { runs: [{ jobId, jobName, direction, at }], next } (the next `count` of
 *                                        each launched scheduled job that is not paused, in time order; paged)
 *   POST /v1/mapping-suggestions      -> 200 { templateId, columns, mapping, unmappedRequired, syncKeys } | 400 | 404
 *
 * A job in a response is the stored definition (without the organization) plus `problems` (what keeps it from
 * running) and `launchable`. Errors are `{ error: { code, message, problems? } }`. The rules of drafts, launches and
 * saves of launched jobs are in functions/core/transfer/jobs.ts.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import { InvalidCursor } from '../core/pages.ts';
import type {
  Clock,
  Job,
  JobRepository,
  JobRunRequests,
  JobScheduler,
  OpenCsv,
  Random,
  RunReports,
} from '../core/ports.ts';
import { systemClock } from '../core/ports.ts';
import { FileProblem, type Problem } from '../core/problems.ts';
import { openCsv as projectOpenCsv } from '../core/transfer/csv/read-csv.ts';
import {
  type ExportJob,
  exportJobProblems,
  launchExportJob,
  readExportJobDefinition,
  saveExportJob,
} from '../core/transfer/export-jobs.ts';
import type { JobRunRequest } from '../core/transfer/job-runs.ts';
import {
  activeSchedule,
  composeJobTemplate,
  jobProblems,
  launchJob,
  readJobDefinition,
  saveJob,
  setPaused,
} from '../core/transfer/jobs.ts';
import { MAX_HEADING_LENGTH, MAX_SUGGESTION_COLUMNS, suggestJobMapping } from '../core/transfer/mapping.ts';
import { newRunId } from '../core/transfer/runs.ts';
import { describeSchedule, nextRuns } from '../core/transfer/schedules.ts';
import type { Template } from '../core/transfer/template-types.ts';
import { type TemplateCatalog, templates } from '../core/transfer/templates.ts';
import { ApiError, apiError } from './errors.ts';
import { pageSize } from './paging.ts';

export { apiError, type ErrorStatus } from './errors.ts';

/** Hono environment of the /v1 routes: the caller's organization and its stores. */
export type ApiEnv = { Variables: { org: string; stores: { jobs: JobRepository; reports: RunReports } } };

export interface JobsApiDependencies {
  /** Default: the project's templates. */
  catalog?: TemplateCatalog;
  clock?: Clock;
  /** Default: the project's CSV reader (functions/core/transfer/csv/read-csv.ts). */
  openCsv?: OpenCsv;
  /**
   * Keeps each job's schedule as the job says (EventBridge Scheduler, the twin's scheduler): told after every save.
   * Absent (unit tests of other routes): schedules are not kept anywhere.
   */
  scheduler?: JobScheduler;
  /** Where run now sends its request; absent: run now answers 409 run_now_unavailable. */
  runRequests?: JobRunRequests;
  /** Run ids of run-now requests. */
  random?: Random;
}

/** Upcoming runs asked for per job (`?count=`). */
export const DEFAULT_UPCOMING = 5;
export const MAX_UPCOMING = 50;

function upcomingCount(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_UPCOMING;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_UPCOMING) {
    throw new ApiError(400, 'invalid_count', `count must be a whole number from 1 to ${MAX_UPCOMING}`);
  }
  return n;
}

/** The cursor of the upcoming-runs list: the last run of a page, (at, jobId). */
function upcomingCursor(raw: string | undefined): { at: string; jobId: string } | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    const c = v as { at?: unknown; jobId?: unknown };
    if (
      raw.length <= 300 &&
      typeof v === 'object' &&
      v !== null &&
      Object.keys(v).length === 2 &&
      typeof c.at === 'string' &&
      !Number.isNaN(Date.parse(c.at)) &&
      typeof c.jobId === 'string'
    ) {
      return { at: c.at, jobId: c.jobId };
    }
  } catch {
    // not ours
  }
  throw new InvalidCursor('not a cursor of the upcoming runs');
}

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A job is one DynamoDB item (400 KB at most); value maps are where size could come from. */
const MAX_JOB_BYTES = 300_000;
/** Request bodies (a job, a sample file). */
const MAX_BODY_BYTES = 1_000_000;
/** Sample rows smart mapping looks at. */
const SAMPLE_ROWS = 50;

export function jobView(job: Job, catalog: TemplateCatalog): Record<string, unknown> {
  if (job.direction === 'export') return exportJobView(job, catalog);
  const { org: _org, ...rest } = job;
  const template = catalog.byId(job.templateId);
  const problems: Problem[] = template
    ? jobProblems(job, template)
    : [{ code: 'unknown_template', message: `job ${job.jobId}: template ${job.templateId} no longer exists` }];
  return {
    ...rest,
    processing: job.processing ?? 'on_arrival',
    ...(job.schedule ? { scheduleDescription: describeSchedule(job.schedule) } : {}),
    paused: job.paused ?? false,
    contacts: job.contacts ?? [],
    problems,
    launchable: problems.length === 0,
  };
}

function exportJobView(job: ExportJob, catalog: TemplateCatalog): Record<string, unknown> {
  const { org: _org, ...rest } = job;
  const template = catalog.byId(job.templateId);
  const problems: Problem[] = template
    ? exportJobProblems(job, template)
    : [{ code: 'unknown_template', message: `job ${job.jobId}: template ${job.templateId} no longer exists` }];
  return {
    ...rest,
    ...(job.schedule ? { scheduleDescription: describeSchedule(job.schedule) } : {}),
    paused: job.paused ?? false,
    contacts: job.contacts ?? [],
    problems,
    launchable: problems.length === 0,
  };
}

function problemsMessage(jobId: string, problems: readonly Problem[]): string {
  return `job ${jobId} cannot be launched: ${problems.length} ${problems.length === 1 ? 'problem' : 'problems'} to solve first`;
}

async function readBody(c: Context): Promise<{ ok: true; text: string } | { ok: false; response: Response }> {
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) {
    return { ok: false, response: apiError(c, 400, 'too_large', `the body may have at most ${MAX_BODY_BYTES} bytes`) };
  }
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) {
    return { ok: false, response: apiError(c, 400, 'too_large', `the body may have at most ${MAX_BODY_BYTES} bytes`) };
  }
  return { ok: true, text: new TextDecoder().decode(bytes) };
}

async function readJson(c: Context): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> {
  const read = await readBody(c);
  if (!read.ok) return read;
  try {
    return { ok: true, body: JSON.parse(read.text) };
  } catch {
    return { ok: false, response: apiError(c, 400, 'invalid_json', 'the body must be JSON') };
  }
}

export function jobRoutes(deps: JobsApiDependencies): Hono<ApiEnv> {
  const catalog = deps.catalog ?? templates;
  const clock = deps.clock ?? systemClock;
  const openCsv = deps.openCsv ?? projectOpenCsv;
  const random = deps.random ?? { token: (n: number) => crypto.randomUUID().replace(/-/g, '').slice(0, n) };
  const app = new Hono<ApiEnv>();
  /** After a save: the job's schedule follows (idempotent; a failed sync is repaired by the next save of the job). */
  const syncSchedule = async (job: Job) => {
    if (deps.scheduler) await deps.scheduler.sync(job);
  };

  const jobIdOf = (c: Context<ApiEnv>) => {
    const jobId = c.req.param('jobId') ?? '';
    return JOB_ID.test(jobId) ? jobId : undefined;
  };
  const badJobId = (c: Context<ApiEnv>) =>
    apiError(c, 400, 'invalid_job_id', 'a job id is 1 to 64 letters, digits, - or _, starting with a letter or digit');
  const notFound = (c: Context<ApiEnv>) => apiError(c, 404, 'not_found', 'no such job');

  app.get('/jobs', async (c) => {
    const page = await c.get('stores').jobs.list(c.get('org'), pageSize(c.req.query('limit')), c.req.query('cursor'));
    return c.json({ jobs: page.items.map((j) => jobView(j, catalog)), next: page.next ?? null });
  });

  app.get('/jobs/:jobId', async (c) => {
    const jobId = jobIdOf(c);
    if (!jobId) return badJobId(c);
    const job = await c.get('stores').jobs.get(c.get('org'), jobId);
    return job ? c.json({ job: jobView(job, catalog) }) : notFound(c);
  });

  app.put('/jobs/:jobId', async (c) => {
    const org = c.get('org');
    const jobId = jobIdOf(c);
    if (!jobId) return badJobId(c);
    const read = await readJson(c);
    if (!read.ok) return read.response;
    const direction = (read.body as { direction?: unknown } | null)?.direction === 'export' ? 'export' : 'import';
    const jobs = c.get('stores').jobs;
    const existing = await jobs.get(org, jobId);
    if (existing && existing.direction !== direction) {
      return apiError(
        c,
        409,
        'direction_change',
        `job ${jobId} is an ${existing.direction} job; a job keeps its direction (create another job instead)`,
      );
    }
    let saved:
      | { ok: true; job: Job; created: boolean }
      | { ok: false; code: string; message: string; problems?: Problem[] };
    if (direction === 'export') {
      const parsed = readExportJobDefinition(read.body);
      if (!parsed.ok) return apiError(c, 400, 'invalid_job', 'the job definition is not valid', parsed.problems);
      if (JSON.stringify(parsed.definition).length > MAX_JOB_BYTES) return jobTooLarge(c);
      saved = saveExportJob({
        org,
        jobId,
        definition: parsed.definition,
        catalog,
        now: clock.now(),
        ...(existing?.direction === 'export' ? { existing } : {}),
      });
    } else {
      // `direction: "import"` may be said; the import definition itself does not carry it.
      const { direction: _said, ...body } = (read.body ?? {}) as Record<string, unknown>;
      const parsed = readJobDefinition(
        typeof read.body === 'object' && read.body !== null && !Array.isArray(read.body) ? body : read.body,
      );
      if (!parsed.ok) return apiError(c, 400, 'invalid_job', 'the job definition is not valid', parsed.problems);
      if (JSON.stringify(parsed.definition).length > MAX_JOB_BYTES) return jobTooLarge(c);
      saved = saveJob({
        org,
        jobId,
        definition: parsed.definition,
        catalog,
        now: clock.now(),
        ...(existing?.direction === 'import' ? { existing } : {}),
      });
    }
    if (!saved.ok) {
      const status = ['unknown_template', 'not_an_import_template', 'not_an_export_template'].includes(saved.code)
        ? 400
        : 409;
      return apiError(c, status as 400 | 409, saved.code, saved.message, saved.problems);
    }
    const result = await jobs.save(saved.job, existing ? (existing.revision ?? 0) : undefined, {
      releasesTemplate: existing?.status === 'launched' && saved.job.status !== 'launched',
    });
    if (result === 'template_taken') return templateTaken(c, saved.job);
    if (result === 'conflict') {
      return apiError(
        c,
        409,
        'edit_conflict',
        `job ${jobId} was changed meanwhile; reload it and apply your change again`,
      );
    }
    await syncSchedule(saved.job);
    return c.json({ job: jobView(saved.job, catalog) }, saved.created ? 201 : 200);
  });

  app.post('/jobs/:jobId/launch', async (c) => {
    const org = c.get('org');
    const jobId = jobIdOf(c);
    if (!jobId) return badJobId(c);
    const jobs = c.get('stores').jobs;
    const job = await jobs.get(org, jobId);
    if (!job) return notFound(c);
    const template = catalog.byId(job.templateId);
    if (!template) {
      return apiError(c, 409, 'job_not_launchable', `job ${jobId} cannot be launched`, [
        { code: 'unknown_template', message: `job ${jobId}: template ${job.templateId} no longer exists` },
      ]);
    }
    // The read of the other jobs gives a helpful message; the store's conditional write is what decides.
    const launched =
      job.direction === 'export'
        ? launchExportJob(job, template)
        : launchJob(job, template, await jobs.importJobs(org));
    if (!launched.ok) {
      return apiError(c, 409, 'job_not_launchable', problemsMessage(jobId, launched.problems), launched.problems);
    }
    if (job.status === 'launched') {
      await syncSchedule(job);
      return c.json({ job: jobView(job, catalog) });
    }
    const next: Job = {
      ...launched.job,
      revision: (job.revision ?? 0) + 1,
      updatedAt: clock.now().toISOString(),
    };
    const result = await jobs.save(next, job.revision ?? 0);
    if (result === 'template_taken') return templateTaken(c, next);
    if (result === 'conflict') {
      return apiError(c, 409, 'edit_conflict', `job ${jobId} was changed meanwhile; reload it and launch it again`);
    }
    await syncSchedule(next);
    return c.json({ job: jobView(next, catalog) });
  });

  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(`/jobs/:jobId/${action}`, async (c) => {
      const jobId = jobIdOf(c);
      if (!jobId) return badJobId(c);
      const jobs = c.get('stores').jobs;
      const job = await jobs.get(c.get('org'), jobId);
      if (!job) return notFound(c);
      const next = setPaused(job, paused, clock.now());
      if (next.changed) {
        const result = await jobs.save(next.job, job.revision ?? 0);
        if (result !== 'saved') {
          return apiError(
            c,
            409,
            'edit_conflict',
            `job ${jobId} was changed meanwhile; reload it and ${action} it again`,
          );
        }
      }
      await syncSchedule(next.job);
      return c.json({ job: jobView(next.job, catalog) });
    });
  }

  app.post('/jobs/:jobId/run', async (c) => {
    const jobId = jobIdOf(c);
    if (!jobId) return badJobId(c);
    const org = c.get('org');
    const job = await c.get('stores').jobs.get(org, jobId);
    if (!job) return notFound(c);
    if (job.status !== 'launched') {
      return apiError(c, 409, 'job_not_launched', `job ${jobId} is a draft: launch it before running it`);
    }
    if (!deps.runRequests) return apiError(c, 409, 'run_now_unavailable', 'this stack cannot run jobs on request');
    const now = clock.now();
    const request: JobRunRequest = {
      org,
      jobId,
      trigger: 'manual',
      cutoff: now.toISOString(),
      runId: newRunId(now, random),
    };
    await deps.runRequests.request(request);
    const { org: _org, ...view } = request;
    return c.json({ request: view }, 202);
  });

  app.get('/jobs/:jobId/upcoming-runs', async (c) => {
    const jobId = jobIdOf(c);
    if (!jobId) return badJobId(c);
    const count = upcomingCount(c.req.query('count'));
    const job = await c.get('stores').jobs.get(c.get('org'), jobId);
    if (!job) return notFound(c);
    const schedule = activeSchedule(job);
    const runs = schedule ? nextRuns(schedule, clock.now(), count).map((at) => ({ at: at.toISOString() })) : [];
    return c.json({
      jobId,
      // An export job has no processing mode: it runs by its schedule, if it has one.
      ...(job.direction === 'import' ? { processing: job.processing ?? 'on_arrival' } : {}),
      paused: job.paused ?? false,
      ...(job.schedule ? { schedule: job.schedule, scheduleDescription: describeSchedule(job.schedule) } : {}),
      runs,
    });
  });

  app.get('/upcoming-runs', async (c) => {
    const count = upcomingCount(c.req.query('count'));
    const limit = pageSize(c.req.query('limit'));
    const after = upcomingCursor(c.req.query('cursor'));
    const now = clock.now();
    // An organization has few jobs (tens): all of them, each with its next `count` runs, merged in time order.
    const all: { jobId: string; jobName: string; direction: string; at: string }[] = [];
    for (const job of await c.get('stores').jobs.all(c.get('org'))) {
      const schedule = activeSchedule(job);
      if (!schedule) continue;
      for (const at of nextRuns(schedule, now, count)) {
        all.push({ jobId: job.jobId, jobName: job.name, direction: job.direction, at: at.toISOString() });
      }
    }
    const order = (a: { at: string; jobId: string }, b: { at: string; jobId: string }) =>
      a.at < b.at ? -1 : a.at > b.at ? 1 : a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0;
    all.sort(order);
    const rest = after ? all.filter((r) => order(r, after) > 0) : all;
    const page = rest.slice(0, limit);
    const last = page[page.length - 1];
    const next =
      rest.length > limit && last
        ? Buffer.from(JSON.stringify({ at: last.at, jobId: last.jobId })).toString('base64url')
        : null;
    return c.json({ runs: page, next });
  });

  app.post('/mapping-suggestions', async (c) => {
    const org = c.get('org');
    const contentType = (c.req.header('content-type') ?? '').toLowerCase();
    // A sample file may come as it is (text/csv, any encoding: decoded as imports decode it) or as text in JSON.
    let request: Record<string, unknown>;
    let sampleBytes: Uint8Array | undefined;
    if (contentType.startsWith('text/csv') || contentType.startsWith('application/octet-stream')) {
      const declared = Number(c.req.header('content-length') ?? 0);
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      if (declared > MAX_BODY_BYTES || bytes.length > MAX_BODY_BYTES) {
        return apiError(c, 400, 'too_large', `a sample may have at most ${MAX_BODY_BYTES} bytes: send its first lines`);
      }
      sampleBytes = bytes;
      request = Object.fromEntries(['templateId', 'jobId', 'delimiter'].map((k) => [k, c.req.query(k)]));
    } else {
      const read = await readJson(c);
      if (!read.ok) return read.response;
      if (typeof read.body !== 'object' || read.body === null || Array.isArray(read.body)) {
        return apiError(c, 400, 'invalid_request', 'the body must be a JSON object: { templateId, header | sample }');
      }
      request = read.body as Record<string, unknown>;
      if (request.sample !== undefined) {
        if (typeof request.sample !== 'string') return apiError(c, 400, 'invalid_request', 'sample must be CSV text');
        sampleBytes = new TextEncoder().encode(request.sample);
      }
    }
    const { templateId, jobId, header, delimiter } = request;
    if (typeof templateId !== 'string' || templateId === '') {
      return apiError(c, 400, 'invalid_request', 'templateId is required');
    }
    const base = catalog.byId(templateId);
    if (base?.direction !== 'import') {
      return apiError(c, 400, 'unknown_template', `there is no import template ${templateId}`);
    }
    let template: Template = base;
    let uniqueFields: string[] = [];
    if (delimiter !== undefined && (typeof delimiter !== 'string' || [...delimiter].length !== 1)) {
      return apiError(c, 400, 'invalid_request', 'delimiter must be one character');
    }
    let jobDelimiter: string | undefined;
    if (jobId !== undefined) {
      // The job's custom fields are suggested too (when the job follows this template and declares them well).
      if (typeof jobId !== 'string' || !JOB_ID.test(jobId)) return badJobId(c);
      const job = await c.get('stores').jobs.get(org, jobId);
      if (job?.direction !== 'import') return notFound(c);
      if (job.templateId === base.id) {
        template = composeJobTemplate(job, base).template;
        uniqueFields = (job.customFields ?? []).filter((f) => f.unique && template.field(f.id)).map((f) => f.id);
      }
      jobDelimiter = job.delimiter;
    }
    let columns: string[];
    let samples: string[][] = [];
    let encoding: string | undefined;
    if (sampleBytes !== undefined) {
      if (header !== undefined) return apiError(c, 400, 'invalid_request', 'send header or sample, not both');
      const sample = await readSample(openCsv, sampleBytes, (delimiter as string | undefined) ?? jobDelimiter ?? ',');
      if (!sample.ok) return apiError(c, 400, 'invalid_sample', sample.problem.message, [sample.problem]);
      ({ header: columns, rows: samples, encoding } = sample);
    } else if (Array.isArray(header) && header.length > 0 && header.every((h) => typeof h === 'string')) {
      columns = header.map((h) => h.trim());
    } else {
      return apiError(c, 400, 'invalid_request', 'send header (a list of column headings) or sample (CSV text)');
    }
    checkHeadings(columns);
    const suggestions = suggestJobMapping(template, columns, { samples, uniqueFields });
    return c.json({
      templateId: template.id,
      ...(encoding ? { encoding } : {}),
      ...(sampleBytes !== undefined ? { sampleRows: samples.length } : {}),
      ...suggestions,
    });
  });

  return app;
}

function templateTaken(c: Context<ApiEnv>, job: Job): Response {
  const why =
    job.direction === 'export'
      ? 'an export template has one series of files in /outbound'
      : 'a file must have exactly one job';
  return apiError(c, 409, 'job_not_launchable', `job ${job.jobId} cannot be launched`, [
    {
      code: 'template_already_launched',
      message: `job ${job.jobId}: another job is already launched for template ${job.templateId}; ${why}, so put that one back to draft first`,
    },
  ]);
}

function jobTooLarge(c: Context<ApiEnv>): Response {
  return apiError(c, 400, 'job_too_large', `a job definition may have at most ${MAX_JOB_BYTES} characters`);
}

/** Smart mapping reads at most MAX_SUGGESTION_COLUMNS headings of at most MAX_HEADING_LENGTH characters each. */
function checkHeadings(columns: readonly string[]): void {
  if (columns.length > MAX_SUGGESTION_COLUMNS) {
    throw new ApiError(400, 'too_many_columns', `at most ${MAX_SUGGESTION_COLUMNS} columns, not ${columns.length}`);
  }
  const long = columns.findIndex((h) => h.length > MAX_HEADING_LENGTH);
  if (long >= 0) {
    throw new ApiError(
      400,
      'column_name_too_long',
      `column ${long + 1}: a heading may have at most ${MAX_HEADING_LENGTH} characters, not ${columns[long]!.length}`,
    );
  }
}

type Sample = { ok: true; header: string[]; rows: string[][]; encoding: string } | { ok: false; problem: Problem };

/**
 * Reads a sample with the import's own CSV reader (same decoding, BOM and quoting rules): its header and up to
 * SAMPLE_ROWS usable rows. A sample is usually the first lines of a file, cut anywhere: rows with the wrong cell
 * count are skipped, and a break-off inside a quoted cell ends the sample.
 */
async function readSample(openCsv: OpenCsv, bytes: Uint8Array, delimiter: string): Promise<Sample> {
  const source = (async function* () {
    yield bytes;
  })();
  let opened: Awaited<ReturnType<OpenCsv>>;
  try {
    opened = await openCsv(source, { fileName: 'the sample', delimiter });
  } catch (err) {
    if (err instanceof FileProblem) return { ok: false, problem: err.problem };
    throw err;
  }
  const rows: string[][] = [];
  try {
    for await (const row of opened.rows) {
      if (!row.problem) rows.push(row.values);
      if (rows.length >= SAMPLE_ROWS) break;
    }
  } catch (err) {
    if (!(err instanceof FileProblem)) throw err;
  }
  return { ok: true, header: opened.header, rows, encoding: opened.encoding };
}
