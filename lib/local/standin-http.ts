/**
 * The small HTTP plumbing both provider stand-ins share: one request handler per server that applies the fault
 * switch, keeps the request log and answers JSON. The routes themselves (and the error shapes, which differ per
 * provider) live in each stand-in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultSwitch, StandinFault, StandinRequest } from './standin-faults.ts';

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface StandinRequestContext {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  /** The raw body as text ('' when none). */
  text: string;
  /** The JSON body, undefined when absent or not JSON. */
  json: unknown;
  /** The form body (application/x-www-form-urlencoded). */
  form: URLSearchParams;
  /** Set by the route once it knows whose request it is (for the log and concurrency counts). */
  account?: string;
}

export async function readRequest(req: IncomingMessage, origin: string): Promise<StandinRequestContext> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const type = String(req.headers['content-type'] ?? '');
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    url: new URL(req.url ?? '/', origin),
    headers: req.headers,
    text,
    json,
    form: type.includes('application/x-www-form-urlencoded') ? new URLSearchParams(text) : new URLSearchParams(),
  };
}

export function send(res: ServerResponse, answer: Answer): void {
  const headers: Record<string, string> = { ...answer.headers };
  let payload: string | undefined;
  if (answer.body !== undefined) {
    if (typeof answer.body === 'string') {
      payload = answer.body;
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else {
      payload = JSON.stringify(answer.body);
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
  }
  res.writeHead(answer.status, headers);
  res.end(payload);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs one API request through the fault switch: a `status` fault answers at once, a `delay` waits and then
 * handles, `lose-answer` handles (the write is applied) and then drops the connection.
 */
export async function withFaults(
  faults: FaultSwitch,
  log: StandinRequest[],
  ctx: StandinRequestContext,
  res: ServerResponse,
  faultAnswer: (fault: Extract<StandinFault, { kind: 'status' }>) => Answer,
  handle: () => Promise<Answer>,
): Promise<void> {
  const fault = faults.take(ctx.method, ctx.url.pathname);
  const entry: StandinRequest = { method: ctx.method, path: ctx.url.pathname, query: ctx.url.search, status: 0 };
  if (ctx.account) entry.account = ctx.account;
  log.push(entry);
  if (fault?.kind === 'status') {
    const answer = faultAnswer(fault);
    entry.status = answer.status;
    send(res, answer);
    return;
  }
  if (fault?.kind === 'delay') await sleep(fault.ms);
  const answer = await handle();
  if (ctx.account) entry.account = ctx.account;
  if (fault?.kind === 'lose-answer') {
    entry.status = 'lost';
    res.socket?.destroy();
    return;
  }
  entry.status = answer.status;
  send(res, answer);
}

export function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}
