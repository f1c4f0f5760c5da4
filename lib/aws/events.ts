import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../functions/core/integration-events.ts';
import { METRICS_NAMESPACE } from './function.ts';
import type { Storage } from './storage.ts';

/** How long the archive keeps events for replay (a consumer that was down, or a new one catching up). */
export const ARCHIVE_RETENTION = Duration.days(365);

export interface IntegrationEventsProps {
  storage: Storage;
  /** Exactly the functions that publish (the import, the export, the run watch): each may PutEvents on this bus. */
  publishers: readonly lambda.Function[];
  alarmTopic?: sns.ITopic;
}

/**
 * The stack's integration event bus (core/integration-events.ts, catalogue in schemas/events/): a custom bus that
 * the case-management system subscribes to with rules of its own (by source `integrator` and versioned detail type),
 * and an archive of every Integrator event for replay.
 *
 * Least privilege: events:PutEvents on this bus only, for the publishing functions only, with their markers' table
 * (PublishedEvents, the outbox: GetItem to read an entry, UpdateItem to claim and mark it; nothing else) and EVENT_BUS_NAME. The events
 * carry ids, codes, counts and keys, never data from the files, so the bus keeps EventBridge's own encryption at rest.
 */
export class IntegrationEventBus extends Construct {
  readonly bus: events.EventBus;
  readonly archive: events.Archive;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: IntegrationEventsProps) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      description:
        'Integrator integration events (schemas/events/): runs finished, needing attention, export files ready, uploads refused, calendar connections to re-authenticate',
    });
    this.archive = this.bus.archive('Archive', {
      description: 'Every Integrator integration event, for replay',
      eventPattern: { source: [EVENT_SOURCE] },
      retention: ARCHIVE_RETENTION,
    });
    for (const fn of props.publishers) {
      this.bus.grantPutEventsTo(fn);
      fn.addEnvironment('EVENT_BUS_NAME', this.bus.eventBusName);
      props.storage.grantTables(fn, { PublishedEvents: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] });
    }

    const fiveMinutes = Duration.minutes(5);
    // The export does not fail its run over an event (a retry would write a second file): an operator hears of it.
    const notPublished = new cloudwatch.Alarm(this, 'EventsNotPublished', {
      alarmDescription: 'An export run ended but its integration events could not be published (see its log)',
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'IntegrationEventsNotPublished',
        dimensionsMap: { service: 'export-run' },
        period: fiveMinutes,
        statistic: 'Sum',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      const action = new SnsAction(props.alarmTopic);
      notPublished.addAlarmAction(action);
      notPublished.addOkAction(action);
    }
    this.alarms.push(notPublished);
  }
}
