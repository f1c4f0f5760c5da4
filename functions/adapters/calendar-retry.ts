/**
 * How the calendar adapters call a provider: retried with capped exponential backoff that honours Retry-After, and
 * (Microsoft) at most N requests in flight per mailbox. The adapters decide what is retryable (Graph 429/503/504,
 * Google 429 and 403 rateLimitExceeded/userRateLimitExceeded, network failures); this module only waits and counts.
 * Every method is retried the same way, PATCH included: our creates are idempotent (Graph transactionId, Google
 * client-chosen ids), updates carry the whole body and deletes accept "already gone", so a repeat is harmless.
 *
 * `sleep` is injected so tests need no real waiting; a Retry-After longer than `maxRetryAfterMs` is not waited for
 * here: the failure is surfaced (with `retryAfterMs`) for the push to try again later, instead of holding a Lambda.
 */
import { ProviderFailure } from '../core/calendar/provider.ts';

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Backoff of the first retry; doubled each retry, capped at `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** The longest Retry-After waited for in process. */
  maxRetryAfterMs: number;
  sleep: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter (a delay is drawn in [backoff/2, backoff]). */
  random: () => number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return { ...defaultRetryPolicy, ...overrides };
}

/** What the adapter says about one failed attempt. */
export type AttemptVerdict =
  /** Try again (after Retry-After when the provider sent one); when retries run out, throw `failure`. */
  | { retry: true; failure: ProviderFailure; retryAfterMs?: number }
  /** Give up now with this failure. */
  | { retry: false; failure: ProviderFailure };

/** The delay before retry number `retry` (1 for the first), without Retry-After. */
export function backoffDelay(policy: RetryPolicy, retry: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (policy.random() * ceiling) / 2);
}

/** Retry-After as a number of milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Runs `attempt` until it succeeds, the verdict says stop, or the attempts run out. The failure thrown is always a
 * ProviderFailure; one that outlasted its retries keeps the last Retry-After as `retryAfterMs`.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  judge: (error: unknown) => AttemptVerdict,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      const verdict = judge(error);
      if (!verdict.retry) throw verdict.failure;
      const retryAfter = verdict.retryAfterMs;
      const last = n >= policy.maxAttempts || (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs);
      if (last) {
        const f = verdict.failure;
        throw new ProviderFailure(f.code, f.message, {
          ...f.details,
          retryAfterMs: retryAfter ?? f.details.retryAfterMs ?? backoffDelay(policy, n),
        });
      }
      await policy.sleep(retryAfter ?? backoffDelay(policy, n));
    }
  }
}

/**
 * At most `limit` calls in flight per key (Microsoft: 4 per mailbox, Outlook's MailboxConcurrency limit); the
 * others wait in order. Within one process: each push Lambda keeps to it for the mailboxes it serves.
 */
export class ConcurrencyLimiter {
  readonly #running = new Map<string, number>();
  readonly #waiting = new Map<string, (() => void)[]>();

  constructor(readonly limit: number) {}

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    await this.#acquire(key);
    try {
      return await task();
    } finally {
      this.#release(key);
    }
  }

  async #acquire(key: string): Promise<void> {
    const running = this.#running.get(key) ?? 0;
    if (running < this.limit) {
      this.#running.set(key, running + 1);
      return;
    }
    await new Promise<void>((resolve) => {
      const queue = this.#waiting.get(key) ?? [];
      queue.push(resolve);
      this.#waiting.set(key, queue);
    });
  }

  #release(key: string): void {
    const next = this.#waiting.get(key)?.shift();
    if (next) {
      next(); // the slot passes to the next waiter: the running count stays
      return;
    }
    if (this.#waiting.get(key)?.length === 0) this.#waiting.delete(key);
    const running = (this.#running.get(key) ?? 1) - 1;
    if (running <= 0) this.#running.delete(key);
    else this.#running.set(key, running);
  }
}
