/**
 * The export-runs queue's settings: one definition for the CDK app (lib/aws/exports.ts) and the twin's queue
 * (lib/local/exports.ts), so both behave the same under the same faults.
 *
 * A message is one export run (its id inside). A redelivery of a message whose run was created finds that run and
 * exports nothing (export-engine.ts), so retries only help a run that failed before it was recorded (the job store
 * unreachable); a crash mid-export leaves the run Running until the run watch ends it Interrupted.
 */
export const EXPORT_QUEUE_SETTINGS = {
  /** The export function's timeout (Lambda's maximum). */
  functionTimeoutSeconds: 15 * 60,
  /** The Lambda event source requires at least the function timeout; a little more, so a slow run is not redelivered. */
  visibilityTimeoutSeconds: 16 * 60,
  /** Receives before a message is moved to the dead-letter queue. */
  maxReceiveCount: 3,
} as const;
