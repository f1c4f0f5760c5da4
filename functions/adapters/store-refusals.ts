/**
 * Which store failures are permanent: the one place that decides it. DynamoDB answers a write it will never accept
 * (an item over 400 KB, an attribute it cannot hold) with a ValidationException, or, inside a transaction, with a
 * cancellation whose reason is ValidationError. Retrying those only delays the run's end by the queue's whole
 * redelivery budget, so adapters rethrow them as the core's StoreRefusal (the run ends, naming the problem); every
 * other error (throttling, a network failure, a conditional check) passes through unchanged.
 */
import { StoreRefusal } from '../core/problems.ts';

interface SdkError {
  name?: unknown;
  message?: unknown;
  CancellationReasons?: { Code?: string; Message?: string }[];
}

/** True when DynamoDB refused the request for good. */
export function isStoreRefusal(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as SdkError;
  if (e.name === 'ValidationException') return true;
  return (
    e.name === 'TransactionCanceledException' &&
    (e.CancellationReasons ?? []).some((reason) => reason.Code === 'ValidationError')
  );
}

/** `error` as a StoreRefusal when it is one (see isStoreRefusal), else unchanged. `what` names the write. */
export function asStoreRefusal(error: unknown, what: string): unknown {
  if (error instanceof StoreRefusal || !isStoreRefusal(error)) return error;
  const e = error as SdkError;
  const reason =
    (e.CancellationReasons ?? []).find((r) => r.Code === 'ValidationError')?.Message ?? String(e.message ?? e.name);
  return new StoreRefusal({
    code: 'store_refused',
    // The SDK's words, shortened: they name the limit broken, not the values.
    message: `the store refused to record ${what}: ${reason.slice(0, 300)}`,
    rule: 'a DynamoDB item holds at most 400 KB',
  });
}

/** Runs `write`, turning a permanent refusal into a StoreRefusal. */
export async function refusable<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw asStoreRefusal(error, what);
  }
}
