/**
 * The import queue's settings: one definition for the CDK app (lib/aws/import-pipeline.ts) and the twin's queue
 * (lib/local/queue.ts via lib/local/twin.ts), so both behave the same under the same faults.
 */
export const IMPORT_QUEUE_SETTINGS = {
  /** The import function's timeout (Lambda's maximum). */
  functionTimeoutSeconds: 15 * 60,
  /**
   * The queue's visibility timeout: the Lambda event source requires at least the function timeout. The handler sets
   * each message's own visibility down to minutes at once and extends it while its run works (ChangeMessageVisibility),
   * so this applies only to a crash within the first moments of handling.
   */
  visibilityTimeoutSeconds: 15 * 60,
  /** Receives before a message is moved to the dead-letter queue (crashes and reported failures count; pauses not). */
  maxReceiveCount: 5,
  /**
   * Invocations at once (the event source's maximum concurrency): files and the ranges of large files alike
   * (import-ranges.ts). One organization's import is bounded by DynamoDB's write units, not by this, up to it.
   */
  maxConcurrency: 8,
  /** INTEGRATOR_IMPORT_RANGE_ROWS: a file of more rows is cut into ranges of as many rows (import-ranges.ts). */
  rangeRows: 50_000,
} as const;

/** One range of a run cut across workers (import-ranges.ts), as the import queue carries it. */
export interface RangeTask {
  org: string;
  runId: string;
  index: number;
}

/** The body of a range's message: told from the queue's other messages (S3 and Transfer Family events) by its key. */
export function rangeMessage(task: RangeTask): string {
  return JSON.stringify({ importRange: { org: task.org, runId: task.runId, index: task.index } });
}

/** The range a message body names; undefined for every other message. */
export function parseRangeMessage(body: string): RangeTask | undefined {
  if (!body.includes('"importRange"')) return undefined;
  try {
    const task = (JSON.parse(body) as { importRange?: Partial<RangeTask> }).importRange;
    if (typeof task?.org !== 'string' || typeof task.runId !== 'string' || !Number.isInteger(task.index))
      return undefined;
    return { org: task.org, runId: task.runId, index: task.index as number };
  } catch {
    return undefined;
  }
}
