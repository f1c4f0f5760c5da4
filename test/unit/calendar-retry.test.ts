/**
 * The provider call rules (functions/adapters/calendar-retry.ts): capped exponential backoff, Retry-After honoured
 * (and surfaced when too long to wait), the failure thrown after the last attempt, at most N calls in flight per
 * key; and the Google event id derived from an idempotency key (base32hex, stable).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AttemptVerdict,
  backoffDelay,
  ConcurrencyLimiter,
  parseRetryAfter,
  retryPolicy,
  withRetries,
} from '../../functions/adapters/calendar-retry.ts';
import { googleEventId } from '../../functions/adapters/google-calendar-mapping.ts';
import { ProviderFailure } from '../../functions/core/calendar/provider.ts';

const throttled = (retryAfterMs?: number): AttemptVerdict => ({
  retry: true,
  retryAfterMs,
  failure: new ProviderFailure('throttled', 'throttled', { status: 429 }),
});

test('backoff doubles from the base and stops at the cap', () => {
  const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0.999999 });
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n)),
    [100, 200, 400, 800, 1000, 1000],
  );
  const low = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000, random: () => 0 });
  assert.equal(backoffDelay(low, 3), 200, 'jitter stays within [half, full]');
});

test('Retry-After: seconds or an HTTP date', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter(new Date(10_000 + 5000).toUTCString(), 10_000), 5000);
  assert.equal(parseRetryAfter(undefined), undefined);
  assert.equal(parseRetryAfter('soon'), undefined);
});

test('a call retried until it succeeds waits what Retry-After says, else the backoff', async () => {
  const waits: number[] = [];
  const policy = retryPolicy({ baseDelayMs: 100, random: () => 0.999999, sleep: async (ms) => void waits.push(ms) });
  let calls = 0;
  const verdicts = [throttled(2000), throttled(undefined)];
  const result = await withRetries(
    policy,
    async () => {
      calls += 1;
      if (calls <= 2) throw new Error('429');
      return 'ok';
    },
    () => verdicts.shift()!,
  );
  assert.equal(result, 'ok');
  assert.equal(calls, 3);
  assert.deepEqual(waits, [2000, 200]);
});

test('when the attempts run out the failure is thrown with when to try again', async () => {
  const policy = retryPolicy({ maxAttempts: 3, sleep: async () => {} });
  let calls = 0;
  await assert.rejects(
    withRetries(
      policy,
      async () => {
        calls += 1;
        throw new Error('503');
      },
      () => throttled(1000),
    ),
    (e: unknown) => e instanceof ProviderFailure && e.code === 'throttled' && e.details.retryAfterMs === 1000,
  );
  assert.equal(calls, 3);
});

test('a Retry-After longer than the policy waits for is surfaced at once, not slept', async () => {
  const waits: number[] = [];
  const policy = retryPolicy({ maxRetryAfterMs: 60_000, sleep: async (ms) => void waits.push(ms) });
  await assert.rejects(
    withRetries(
      policy,
      async () => Promise.reject(new Error('429')),
      () => throttled(3_600_000),
    ),
    (e: unknown) => e instanceof ProviderFailure && e.details.retryAfterMs === 3_600_000,
  );
  assert.deepEqual(waits, []);
});

test('a final verdict is thrown without retrying', async () => {
  let calls = 0;
  await assert.rejects(
    withRetries(
      retryPolicy({ sleep: async () => {} }),
      async () => {
        calls += 1;
        throw new Error('403');
      },
      () => ({ retry: false, failure: new ProviderFailure('quota_exceeded', 'quota') }),
    ),
    (e: unknown) => e instanceof ProviderFailure && e.code === 'quota_exceeded',
  );
  assert.equal(calls, 1);
});

test('the limiter keeps at most N calls in flight per key, and keys apart', async () => {
  const limiter = new ConcurrencyLimiter(4);
  const inFlight = new Map<string, number>();
  const max = new Map<string, number>();
  const task = (key: string) =>
    limiter.run(key, async () => {
      inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
      max.set(key, Math.max(max.get(key) ?? 0, inFlight.get(key)!));
      await new Promise((r) => setTimeout(r, 5));
      inFlight.set(key, inFlight.get(key)! - 1);
      return key;
    });
  const results = await Promise.all([
    ...Array.from({ length: 20 }, () => task('a')),
    ...Array.from({ length: 3 }, () => task('b')),
  ]);
  assert.equal(results.length, 23);
  assert.equal(max.get('a'), 4);
  assert.equal(max.get('b'), 3);
});

test('the Google event id is base32hex, 52 characters, and the same for the same key', () => {
  const id = googleEventId('event-1:create');
  assert.match(id, /^[a-v0-9]{52}$/);
  assert.equal(googleEventId('event-1:create'), id);
  assert.notEqual(googleEventId('event-2:create'), id);
  // SHA-256 of "" is e3b0c442...: its first 5 bits 11100 are base32hex "s".
  assert.equal(googleEventId('')[0], 's');
});
