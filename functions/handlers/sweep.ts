/**
 * The sweep Lambda, started by an EventBridge Scheduler schedule (lib/aws/sweep.ts; the twin runs it on a timer):
 * compares every organization's inbound prefix with the arrival ledger and puts an arrival of each settled object
 * version the ledger does not know on the import queue (functions/core/transfer/sweep.ts has the rules). Thin: the
 * adapters, the core, a log line and metrics. Exactly once is the import's ledger claim, so a sweep that fails half
 * way (and is retried, or runs again at its next time) can only announce a version again, harmlessly.
 *
 * Environment: INTEGRATOR_BUCKET and TABLE_FILES (storage grants), IMPORT_QUEUE_URL (where arrivals go),
 * INTEGRATOR_SWEEP_SETTLE_MS (objects younger than this are left to their event; default 10 minutes).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { configFromEnv, dynamoDbDocumentClient, s3Client } from '../adapters/aws-clients.ts';
import { dynamoDbLedgerLookup } from '../adapters/dynamodb-ledger-lookup.ts';
import { s3ObjectListing } from '../adapters/s3-object-listing.ts';
import { continuationsFromEnv } from '../adapters/sqs-continuations.ts';
import { systemClock } from '../core/ports.ts';
import { arrivalMessage } from '../core/transfer/s3-events.ts';
import { DEFAULT_SWEEP_SETTLE_MS, type SweepDeps, type SweepReport, sweepInbound } from '../core/transfer/sweep.ts';
import { count, logger, publishMetrics } from './observability.ts';

export function sweepDependenciesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  clients: { db?: DynamoDBDocumentClient; s3?: S3Client } = {},
): SweepDeps {
  const config = configFromEnv(env);
  const continuations = continuationsFromEnv(
    env,
    () => new SQSClient({ region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1' }),
  );
  if (!continuations) throw new Error('IMPORT_QUEUE_URL is not set: the sweep has nowhere to announce arrivals');
  const settle = Number(env.INTEGRATOR_SWEEP_SETTLE_MS);
  return {
    inbound: s3ObjectListing(clients.s3 ?? s3Client(config), { env }),
    ledger: dynamoDbLedgerLookup(clients.db ?? dynamoDbDocumentClient(config), { env }),
    announce: (object) => continuations.continueLater(arrivalMessage(object, 'integrator:sweep')),
    clock: systemClock,
    settleMs: env.INTEGRATOR_SWEEP_SETTLE_MS && Number.isFinite(settle) ? settle : DEFAULT_SWEEP_SETTLE_MS,
  };
}

export function createSweepHandler(options: { dependencies?: () => SweepDeps } = {}) {
  let deps: SweepDeps | undefined;
  return async (
    _event?: unknown,
    context?: Context,
  ): Promise<Omit<SweepReport, 'announced'> & { announced: number }> => {
    deps ??= (options.dependencies ?? sweepDependenciesFromEnv)();
    if (context) logger.addContext(context);
    const report = await sweepInbound(deps);
    const summary = { ...report, announced: report.announced.length };
    count('SweepObjectsListed', report.listed);
    // An operator must know: each one is a file whose upload event never reached the import (an alarm watches it).
    count('SweepFilesFound', report.announced.length);
    if (report.announced.length > 0) {
      logger.warn('the sweep found files whose upload event was lost; they are imported now', {
        ...summary,
        keys: report.announced.map((r) => r.key),
      });
    } else {
      logger.info('sweep done', summary);
    }
    publishMetrics();
    return summary;
  };
}

/** The Lambda entry point. */
export const handler = createSweepHandler();
