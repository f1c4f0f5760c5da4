/**
 * Microsoft's answers as ProviderFailure codes. Graph errors arrive as the Graph client's GraphError (statusCode,
 * code, headers); identity-platform errors as MSAL's AuthError (errorCode, subError, errorMessage with the AADSTS
 * code).
 */
import { ProviderFailure } from '../core/calendar/provider.ts';
import { type AttemptVerdict, parseRetryAfter } from './calendar-retry.ts';

interface GraphErrorLike {
  statusCode?: number;
  code?: string | null;
  message?: string;
  headers?: Headers;
}

interface MsalErrorLike {
  errorCode?: string;
  subError?: string;
  errorMessage?: string;
  message?: string;
}

const RETRYABLE_STATUS = new Set([429, 503, 504]);

export function isMsalError(error: unknown): error is MsalErrorLike {
  return typeof error === 'object' && error !== null && 'errorCode' in error;
}

/** An MSAL failure (token endpoint or cache) as the port's failure. */
export function msalFailure(error: unknown): ProviderFailure {
  if (error instanceof ProviderFailure) return error;
  const e = (isMsalError(error) ? error : {}) as MsalErrorLike;
  const text = `${e.errorMessage ?? ''} ${e.message ?? String(error)}`;
  const aadsts = /AADSTS(\d+)/.exec(text)?.[0];
  if (e.subError === 'consent_required' || aadsts === 'AADSTS65001') {
    return new ProviderFailure('consent_required', "The tenant's administrator has not consented to Integrator.", {
      providerCode: aadsts ?? 'consent_required',
    });
  }
  const reauthCodes = [
    'invalid_grant',
    'interaction_required',
    'no_tokens_found',
    'refresh_token_expired',
    'login_required',
    'bad_token',
  ];
  if (e.errorCode && reauthCodes.includes(e.errorCode)) {
    return new ProviderFailure('reauth_required', 'The Microsoft grant was revoked or has expired.', {
      providerCode: aadsts ?? e.errorCode,
    });
  }
  if (e.errorCode === 'invalid_client' || e.errorCode === 'unauthorized_client' || e.errorCode === 'invalid_request') {
    return new ProviderFailure('rejected', `Microsoft refused the request (${e.errorCode}).`, {
      providerCode: aadsts ?? e.errorCode,
    });
  }
  return new ProviderFailure(
    'transient',
    `The Microsoft identity platform could not be reached (${e.errorCode ?? 'error'}).`,
    {
      providerCode: aadsts ?? e.errorCode,
    },
  );
}

/** One failed Graph attempt: retry 429/503/504 (with Retry-After) and network failures; the rest is final. */
export function judgeGraphError(error: unknown, operation: 'read' | 'create' | 'update' | 'delete'): AttemptVerdict {
  if (error instanceof ProviderFailure) {
    return error.code === 'transient' ? { retry: true, failure: error } : { retry: false, failure: error };
  }
  const e = (error ?? {}) as GraphErrorLike;
  const status = typeof e.statusCode === 'number' && e.statusCode > 0 ? e.statusCode : undefined;
  const providerCode = e.code ?? undefined;
  const details = { status, providerCode: providerCode ?? undefined };
  if (status === undefined) {
    return {
      retry: true,
      failure: new ProviderFailure('transient', `Graph could not be reached: ${e.message ?? String(error)}`),
    };
  }
  if (RETRYABLE_STATUS.has(status)) {
    const retryAfterMs = parseRetryAfter(e.headers?.get?.('retry-after'));
    return {
      retry: true,
      retryAfterMs,
      failure: new ProviderFailure('throttled', `Graph answered ${status} (${providerCode ?? 'throttled'}).`, {
        ...details,
        retryAfterMs,
      }),
    };
  }
  if (status === 401) {
    return {
      retry: false,
      failure: new ProviderFailure('reauth_required', 'Graph refused the access token.', details),
    };
  }
  if (status === 403 && operation === 'update') {
    return {
      retry: false,
      failure: new ProviderFailure(
        'not_organizer',
        'The user does not organize this event: it cannot be changed.',
        details,
      ),
    };
  }
  if (status === 404 || status === 410) {
    return {
      retry: false,
      failure: new ProviderFailure('not_found', 'The event or calendar does not exist.', details),
    };
  }
  if (status >= 500) {
    return { retry: true, failure: new ProviderFailure('transient', `Graph answered ${status}.`, details) };
  }
  return {
    retry: false,
    failure: new ProviderFailure(
      'rejected',
      `Graph refused the request (${status} ${providerCode ?? ''}): ${e.message ?? ''}`.trim(),
      details,
    ),
  };
}
