import type { Context } from 'hono';
import type { Problem } from '../core/problems.ts';

export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 500;

/** The one shape of every error the API returns: `{ error: { code, message, problems? } }`. */
export function apiError(
  c: Context,
  status: ErrorStatus,
  code: string,
  message: string,
  problems?: readonly Problem[],
): Response {
  return c.json({ error: { code, message, ...(problems && problems.length > 0 ? { problems } : {}) } }, status);
}

/**
 * An answer decided deep in a request (a bound exceeded, a malformed parameter): thrown, and turned into its response
 * by the app's error handler by its type, never by comparing message texts.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ErrorStatus,
    readonly code: string,
    message: string,
    readonly problems?: readonly Problem[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}
