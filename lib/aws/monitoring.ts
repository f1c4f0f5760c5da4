import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { integratorAlarm } from './function.ts';

export interface MonitoringProps {
  importFunction: lambda.IFunction;
  importQueue: sqs.IQueue;
  importDeadLetterQueue: sqs.IQueue;
  httpApi: apigw.HttpApi;
  /** Who hears about alarms; without it the topic exists and can be subscribed to later. */
  alarmEmail?: string;
}

/**
 * Alarms on what means "a customer's file is not being imported" or "the API is failing", all sent to one topic.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);

    // Its own key: CloudWatch must be allowed to use the topic's key, and the customer-data key should not grant
    // anything to a service that never needs the data.
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Integrator: alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Alarms', { masterKey: key, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const fiveMinutes = Duration.minutes(5);
    this.alarm('ImportDeadLetters', 'A file failed to import five times and waits in the dead-letter queue', {
      metric: props.importDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
    });
    this.alarm('ImportErrors', 'The import function failed', {
      metric: props.importFunction.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
    });
    this.alarm('ImportThrottles', 'The import function was throttled', {
      metric: props.importFunction.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
    });
    this.alarm('ImportBacklog', 'An arrived file has waited more than an hour for its import', {
      metric: props.importQueue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: Duration.hours(1).toSeconds(),
    });
    this.alarm('ApiServerErrors', 'The HTTP API answered with 5xx', {
      metric: props.httpApi.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
    });
  }

  private alarm(id: string, description: string, props: { metric: cloudwatch.IMetric; threshold: number }): void {
    this.alarms.push(integratorAlarm(this, id, { description, ...props, topic: this.topic }));
  }
}
