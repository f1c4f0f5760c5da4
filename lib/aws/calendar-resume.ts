import { type CfnElement, Duration, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { HANDLER_FILES, monitoredFunction } from './function.ts';
import { cfnRef, type Storage } from './storage.ts';

/** How often the resume check runs: queued changes go out at most this long after Google's quota resets. */
export const RESUME_RATE = Duration.minutes(15);

export interface CalendarResumeProps {
  storage: Storage;
  alarmTopic: sns.ITopic;
  handlersDir?: string;
}

/**
 * The calendar resume check (functions/handlers/calendar-resume.ts) on an EventBridge Scheduler schedule: every
 * RESUME_RATE it reads the connections whose quota pause has lapsed (CalendarConnections' sparse byPause index, of
 * every organization), lifts each pause and writes a flush marker to CalendarEvents, whose stream then sends the
 * queued changes through the push function. Least privilege: Query (the table and its indexes), GetItem and PutItem
 * on the connections, PutItem on the events table (the marker); no provider call, no grant, no mail.
 *
 * Failures are not lost: a missed check is made up by the next (the index still lists the pause); the schedule's
 * undeliverable invocations and the function's failed ones go to its dead-letter queue, alarmed with its errors and
 * throttles (lib/aws/function.ts).
 */
export class CalendarResume extends Construct {
  readonly function: NodejsFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly schedule: scheduler.Schedule;
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: CalendarResumeProps) {
    super(scope, id);
    const monitored = monitoredFunction(this, 'Resume', {
      handlerFile: HANDLER_FILES.calendarResume,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'calendar-resume',
      description: 'Lifts lapsed calendar quota pauses and flushes the queued changes (through the events stream)',
      timeout: Duration.minutes(2),
      memorySize: 256,
      alarmPrefix: 'CalendarResume',
      alarmTopic: props.alarmTopic,
      deadLetters: {
        holds: 'a resume check that could not run (its schedule or its invocation failed for good)',
        asyncInvoke: { retryAttempts: 2, maxEventAge: Duration.hours(1) },
      },
    });
    this.function = monitored.function;
    this.deadLetterQueue = monitored.deadLetterQueue;
    props.storage.grantTables(this.function, {
      CalendarConnections: ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem'],
      CalendarEvents: ['dynamodb:PutItem'],
    });

    // Its own role: lambda:InvokeFunction on this function only.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Integrator calendar resume schedule: invokes the resume function',
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${cfnRef(this.function.node.defaultChild as CfnElement, 'Arn')}:*]`,
      reason:
        "CDK's LambdaInvoke target grants the function's ARN and its versions (`:*`); both are this one function.",
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Integrator: lift lapsed calendar quota pauses and send the queued changes',
      schedule: scheduler.ScheduleExpression.rate(RESUME_RATE),
      target: new LambdaInvoke(this.function, {
        role: scheduleRole,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });
    this.alarms = monitored.alarms;
  }
}
