/**
 * Logging and metrics shared by the handlers (Powertools). Structured JSON logs with the Lambda context and
 * correlation keys; CloudWatch metrics through the embedded metric format.
 *
 * Never log row values, file contents or document numbers: logs carry ids, keys, counts and codes only.
 * Configuration through the standard Powertools variables: POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
 * POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_DISABLED (tests), POWERTOOLS_DEV (readable local output).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'integrator';

export const logger = new Logger({ serviceName });

export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Integrator',
});

export { MetricUnit };

let stored = 0;

/** Adds a count metric (zeros too: a dashboard shows 0 failed rows rather than a gap). */
export function count(name: string, value: number): void {
  metrics.addMetric(name, MetricUnit.Count, value);
  stored++;
}

/** Flushes the metrics added since the last call, if any (no empty-metrics warning on invocations without a run). */
export function publishMetrics(): void {
  if (stored === 0) return;
  stored = 0;
  metrics.publishStoredMetrics();
}
