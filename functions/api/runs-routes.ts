/**
 * The run reports (Need Attention, Completed Runs, a run's details) and the notes people add to runs:
 *
 *   GET  /v1/runs[?view=needs-attention|completed]   -> 200 { runs, next }   newest first, paginated
 *   GET  /v1/runs/:runId                              -> 200 { run } (its files with their SFTP paths) | 404
 *   GET  /v1/runs/:runId/errors                       -> 200 { errors, next } per-record errors in row order | 404
 *   POST /v1/runs/:runId/comments { text }            -> 201 { comment } | 400 | 404 | 409 (comment limit)
 *   POST /v1/runs/:runId/acknowledge                  -> 200 { acknowledged } (the first one, on a repeat) | 404 | 409
 *
 * Another organization's run is a 404 exactly like a missing one: every read and write is keyed by the caller's
 * organization (the store never sees another). A comment's author and an acknowledgement's `by` come from the verified
 * token (the `user` the authentication middleware sets), never from the body.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { type Clock, type Random, type RunReports, systemClock } from '../core/ports.ts';
import { sftpPathOf } from '../core/transfer/layout.ts';
import { commentText, newComment, RUN_VIEWS, type Run, type RunView, randomToken } from '../core/transfer/runs.ts';
import { ApiError, apiError } from './errors.ts';
import { pageSize } from './paging.ts';

/** What the /v1 middleware sets before these routes run. */
export type RunsEnv = { Variables: { org: string; user?: string; stores: { reports: RunReports } } };

export interface RunsApiDependencies {
  clock?: Clock;
  random?: Random;
}

/** Run ids are `<timestamp>-<suffix>`; anything longer or otherwise spelled names no run (and is never a key). */
const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

const systemRandom: Random = { token: (n) => randomToken(n, randomBytes) };

/**
 * A run as the reports show it: beside each bucket key (for operators) the path the organization's SFTP user sees
 * (`/archive/2026-11-24/<runId>_<name>.csv`), which is what a customer looks for. `files` lists every file the run
 * read or wrote (a scheduled run reads several; an arrival run its one `file`).
 */
export function runView(org: string, run: Run): Record<string, unknown> {
  const { org: _org, ...rest } = run as Run & Record<string, unknown>;
  const path = (key: unknown) => (typeof key === 'string' ? sftpPathOf(org, key) : undefined);
  const withPath = (file: unknown) => {
    if (typeof file !== 'object' || file === null) return file;
    const p = path((file as { key?: unknown }).key);
    return { ...file, ...(p ? { path: p } : {}) };
  };
  const many = (rest as { files?: unknown }).files;
  const files = Array.isArray(many) ? many.map(withPath) : run.file ? [withPath(run.file)] : [];
  const archivedPath = path(run.archivedKey);
  const outcomePath = path(run.outcomeKey);
  return {
    ...rest,
    ...(run.file ? { file: withPath(run.file) } : {}),
    files,
    comments: run.comments ?? [],
    ...(archivedPath ? { archivedPath } : {}),
    ...(outcomePath ? { outcomePath } : {}),
  };
}

function viewParam(raw: string | undefined): RunView | undefined {
  if (raw === undefined || raw === '') return undefined;
  if ((RUN_VIEWS as readonly string[]).includes(raw)) return raw as RunView;
  throw new ApiError(400, 'invalid_view', `view: expected one of ${RUN_VIEWS.join(', ')}, not "${raw.slice(0, 40)}"`, [
    { code: 'invalid_view', message: `view must be one of ${RUN_VIEWS.join(', ')}`, column: 'view' },
  ]);
}

/** The caller's user (the token's subject or e-mail): who wrote a comment, who acknowledged. */
function userOf(c: Context<RunsEnv>): string {
  const user = c.get('user');
  if (!user) throw new ApiError(401, 'unauthorized', 'the token names no user');
  return user;
}

export function runRoutes(deps: RunsApiDependencies = {}): Hono<RunsEnv> {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? systemRandom;
  const app = new Hono<RunsEnv>();
  const reports = (c: Context<RunsEnv>) => c.get('stores').reports;
  const runIdOf = (c: Context<RunsEnv>) => {
    const runId = c.req.param('runId') ?? '';
    return RUN_ID.test(runId) ? runId : undefined;
  };
  const runOf = async (c: Context<RunsEnv>) => {
    const runId = runIdOf(c);
    return runId ? reports(c).getRun(c.get('org'), runId) : undefined;
  };
  const notFound = (c: Context<RunsEnv>) => apiError(c, 404, 'not_found', 'no such run');

  app.get('/runs', async (c) => {
    const view = viewParam(c.req.query('view'));
    const limit = pageSize(c.req.query('limit'));
    const cursor = c.req.query('cursor');
    const org = c.get('org');
    const page = view
      ? await reports(c).listView(org, view, limit, cursor)
      : await reports(c).listRuns(org, limit, cursor);
    return c.json({ runs: page.items.map((r) => runView(org, r)), next: page.next ?? null });
  });

  app.get('/runs/:runId', async (c) => {
    const run = await runOf(c);
    if (!run) return notFound(c);
    return c.json({ run: runView(c.get('org'), run) });
  });

  app.get('/runs/:runId/errors', async (c) => {
    const run = await runOf(c);
    if (!run) return notFound(c);
    const page = await reports(c).listRunErrors(
      c.get('org'),
      run.runId,
      pageSize(c.req.query('limit')),
      c.req.query('cursor'),
    );
    return c.json({ errors: page.items, next: page.next ?? null });
  });

  app.post('/runs/:runId/comments', async (c) => {
    const author = userOf(c);
    const runId = runIdOf(c);
    if (!runId) return notFound(c);
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return apiError(c, 400, 'invalid_json', 'the body must be JSON: { "text": "..." }');
    }
    const text = commentText(typeof body === 'object' && body !== null ? (body as { text?: unknown }).text : undefined);
    if (!text.ok) return apiError(c, 400, text.problem.code, text.problem.message, [text.problem]);
    const comment = newComment({ author, text: text.text, now: clock.now(), random });
    const result = await reports(c).addComment(c.get('org'), runId, comment);
    if (result === 'not_found') return notFound(c);
    if (result === 'full') return apiError(c, 409, 'too_many_comments', 'this run holds as many comments as it can');
    return c.json({ comment }, 201);
  });

  app.post('/runs/:runId/acknowledge', async (c) => {
    const by = userOf(c);
    const runId = runIdOf(c);
    if (!runId) return notFound(c);
    const out = await reports(c).acknowledge(c.get('org'), runId, { by, at: clock.now().toISOString() });
    if (out.result === 'not_found') return notFound(c);
    if (out.result === 'not_failed') {
      return apiError(
        c,
        409,
        'not_acknowledgeable',
        `only an interrupted or incomplete run is acknowledged; this one is ${out.status}`,
      );
    }
    return c.json({ acknowledged: out.acknowledged });
  });

  return app;
}
