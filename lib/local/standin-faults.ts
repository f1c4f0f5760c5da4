/**
 * Fault injection shared by the provider stand-ins (lib/local/microsoft-standin.ts, lib/local/google-standin.ts).
 * A test arms a fault for the next N API requests that match (the OAuth endpoints are never faulted); each matching
 * request consumes one occurrence. Faults are taken in the order they were armed, one per request.
 *
 * - `status`: answer with that status before doing anything (the write is NOT applied), in the provider's own error
 *   shape; `retryAfterSeconds` adds a Retry-After header; `reason` picks the provider's error code or reason
 *   (Graph: `TooManyRequests`, `ServiceUnavailable`...; Google: `rateLimitExceeded`, `userRateLimitExceeded`,
 *   `quotaExceeded`...).
 * - `delay`: wait `ms` before handling the request normally.
 * - `lose-answer`: handle the request normally (the write IS applied), then drop the connection without answering,
 *   as a response lost on the network after the provider committed it.
 */

export type StandinFault =
  | { kind: 'status'; status: number; reason?: string; message?: string; retryAfterSeconds?: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'lose-answer' };

export interface FaultMatch {
  /** HTTP method, e.g. 'POST'. Any when absent. */
  method?: string;
  /** Tested against the request's path (without the query). Any when absent. */
  path?: RegExp;
}

interface Armed {
  fault: StandinFault;
  remaining: number;
  match: FaultMatch;
}

export class FaultSwitch {
  readonly #armed: Armed[] = [];

  /** Arms `fault` for the next `times` matching requests (1 by default). */
  inject(fault: StandinFault, options: { times?: number; match?: FaultMatch } = {}): void {
    this.#armed.push({ fault, remaining: options.times ?? 1, match: options.match ?? {} });
  }

  /** Disarms everything. */
  clear(): void {
    this.#armed.length = 0;
  }

  /** How many occurrences are still armed (a test can assert that its faults were all met). */
  pending(): number {
    return this.#armed.reduce((n, a) => n + a.remaining, 0);
  }

  /** Takes the first armed fault that matches this request, if any. */
  take(method: string, path: string): StandinFault | undefined {
    const index = this.#armed.findIndex(
      (a) =>
        a.remaining > 0 &&
        (!a.match.method || a.match.method.toUpperCase() === method.toUpperCase()) &&
        (!a.match.path || a.match.path.test(path)),
    );
    if (index < 0) return undefined;
    const armed = this.#armed[index]!;
    armed.remaining -= 1;
    if (armed.remaining === 0) this.#armed.splice(index, 1);
    return armed.fault;
  }
}

/** One request as the stand-in saw it: what tests and the bench count (provider calls per change). */
export interface StandinRequest {
  method: string;
  path: string;
  /** The query string, `?` included ('' when none): e.g. Google's sendUpdates. */
  query: string;
  status: number | 'lost';
  /** The mailbox or user the request was made for, when authenticated. */
  account?: string;
}
