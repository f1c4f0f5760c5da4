/**
 * Google's answers as ProviderFailure codes. Calendar API errors carry `error.errors[].reason`
 * (https://developers.google.com/calendar/api/guides/errors); the token endpoint answers `{ error: 'invalid_grant' }`.
 * Retried: 429, 403 rateLimitExceeded / userRateLimitExceeded (Google asks for exponential backoff; its client
 * library retries neither 403 nor PATCH), 5xx and network failures. Not retried: quotaExceeded (the daily quota:
 * the user's pushes pause), a 403 for an event the user does not organize (never answered by recreating it).
 */
import { ProviderFailure } from '../core/calendar/provider.ts';
import { type AttemptVerdict, parseRetryAfter } from './calendar-retry.ts';

interface GaxiosErrorLike {
  status?: number;
  message?: string;
  response?: { status?: number; data?: unknown; headers?: unknown };
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

export function googleErrorParts(error: unknown): {
  status?: number;
  reason?: string;
  oauthError?: string;
  message: string;
  retryAfterMs?: number;
} {
  const e = (error ?? {}) as GaxiosErrorLike;
  const status = e.response?.status ?? e.status;
  const data = e.response?.data as { error?: unknown; error_description?: string } | undefined;
  const apiError =
    typeof data?.error === 'object' && data.error !== null
      ? (data.error as { message?: string; errors?: { reason?: string }[] })
      : undefined;
  return {
    status: typeof status === 'number' ? status : undefined,
    reason: apiError?.errors?.[0]?.reason,
    oauthError: typeof data?.error === 'string' ? data.error : undefined,
    message: apiError?.message ?? data?.error_description ?? e.message ?? String(error),
    retryAfterMs: parseRetryAfter(header(e.response?.headers, 'retry-after')),
  };
}

const RATE_LIMITS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);
const DAILY_QUOTA = new Set(['quotaExceeded', 'dailyLimitExceeded']);
const NON_ORGANIZER = new Set(['forbiddenForNonOrganizer', 'forbidden']);

/** One failed Google attempt (token refresh included). */
export function judgeGoogleError(error: unknown, operation: 'read' | 'create' | 'update' | 'delete'): AttemptVerdict {
  if (error instanceof ProviderFailure) {
    return error.code === 'transient' ? { retry: true, failure: error } : { retry: false, failure: error };
  }
  const { status, reason, oauthError, message, retryAfterMs } = googleErrorParts(error);
  const details = { status, providerCode: reason ?? oauthError };
  if (oauthError === 'invalid_grant') {
    return {
      retry: false,
      failure: new ProviderFailure('reauth_required', 'The Google grant was revoked or has expired.', details),
    };
  }
  if (status === undefined) {
    return { retry: true, failure: new ProviderFailure('transient', `Google could not be reached: ${message}`) };
  }
  if (status === 429 || (status === 403 && reason && RATE_LIMITS.has(reason))) {
    return {
      retry: true,
      retryAfterMs,
      failure: new ProviderFailure('throttled', `Google answered ${status} ${reason ?? ''}`.trim(), {
        ...details,
        retryAfterMs,
      }),
    };
  }
  if (status === 403 && reason && DAILY_QUOTA.has(reason)) {
    return {
      retry: false,
      failure: new ProviderFailure('quota_exceeded', "The user's daily Google Calendar quota is used up.", details),
    };
  }
  if (status === 403 && operation === 'update' && reason && NON_ORGANIZER.has(reason)) {
    return {
      retry: false,
      failure: new ProviderFailure(
        'not_organizer',
        'The user does not organize this event: it cannot be changed.',
        details,
      ),
    };
  }
  if (status === 401 || (status === 403 && reason === 'insufficientPermissions')) {
    return {
      retry: false,
      failure: new ProviderFailure('reauth_required', `Google refused the credentials: ${message}`, details),
    };
  }
  if (status === 404 || status === 410) {
    return {
      retry: false,
      failure: new ProviderFailure('not_found', 'The event or calendar does not exist.', details),
    };
  }
  if (status >= 500)
    return { retry: true, failure: new ProviderFailure('transient', `Google answered ${status}.`, details) };
  return {
    retry: false,
    failure: new ProviderFailure(
      'rejected',
      `Google refused the request (${status} ${reason ?? ''}): ${message}`,
      details,
    ),
  };
}
