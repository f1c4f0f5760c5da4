import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { OrganizationConfig } from '../../functions/core/organizations.ts';
import { Api } from './api.ts';
import { Calendar } from './calendar.ts';
import { CalendarResume } from './calendar-resume.ts';
import { IntegrationEventBus } from './events.ts';
import { Exports } from './exports.ts';
import { ImportPipeline } from './import-pipeline.ts';
import { Monitoring } from './monitoring.ts';
import { Operations } from './operations.ts';
import { Operator } from './operator.ts';
import { Schedules } from './schedules.ts';
import { Sftp } from './sftp.ts';
import { Storage } from './storage.ts';
import { Sweep } from './sweep.ts';

export interface IntegratorStackProps extends StackProps {
  organizations: readonly OrganizationConfig[];
  alarmEmail?: string;
  /** Where the Lambda handler files are; tests point it at stubs (bundling is skipped there). */
  handlersDir?: string;
  /** The notifications' sender: an address or a domain SES verifies (context `notifySender`). */
  notifySender?: string;
}

/** The whole hub in one stack: storage, the SFTP front door, the import pipeline, the API and their alarms. */
export class IntegratorStack extends Stack {
  readonly storage: Storage;
  readonly sftp: Sftp;
  readonly importPipeline: ImportPipeline;
  readonly api: Api;
  readonly monitoring: Monitoring;
  readonly sweep: Sweep;
  readonly operations: Operations;
  readonly exports: Exports;
  readonly schedules: Schedules;
  readonly events: IntegrationEventBus;
  readonly calendar: Calendar;
  readonly calendarResume: CalendarResume;
  readonly operator: Operator;

  constructor(scope: Construct, id: string, props: IntegratorStackProps) {
    super(scope, id, props);
    this.storage = new Storage(this, 'Storage');
    // Organizations (props.organizations) are data: `npm run org -- sync` creates them after a deploy (README).
    this.sftp = new Sftp(this, 'Sftp', { storage: this.storage });
    const handlers = props.handlersDir ? { handlersDir: props.handlersDir } : {};
    this.importPipeline = new ImportPipeline(this, 'Import', { storage: this.storage, ...handlers });
    this.api = new Api(this, 'Api', { storage: this.storage, ...handlers });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      importFunction: this.importPipeline.function,
      importQueue: this.importPipeline.queue,
      importDeadLetterQueue: this.importPipeline.deadLetterQueue,
      httpApi: this.api.httpApi,
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
    });
    this.exports = new Exports(this, 'Exports', {
      storage: this.storage,
      alarmTopic: this.monitoring.topic,
      ...handlers,
    });

    this.sweep = new Sweep(this, 'Sweep', {
      storage: this.storage,
      importQueue: this.importPipeline.queue,
      alarmTopic: this.monitoring.topic,
      ...handlers,
    });

    this.operations = new Operations(this, 'Operations', {
      storage: this.storage,
      alarmTopic: this.monitoring.topic,
      senderAddress: props.notifySender ?? 'integrator@example.com',
      reportsUrl: this.api.stage.url,
      ...handlers,
    });

    this.schedules = new Schedules(this, 'Schedules', {
      storage: this.storage,
      importPipeline: this.importPipeline,
      alarmTopic: this.monitoring.topic,
      ...handlers,
    });
    // The functions that end runs e-mail a failed run at once (the run watch only retries).
    this.operations.grantNotify(this.importPipeline.function);
    this.operations.grantNotify(this.exports.function);
    // Firings Scheduler could not deliver are notified (schedule_missed) by the run watch.
    this.schedules.deliverMissedFiringsTo(this.operations.function);
    // The API keeps each job's schedule with the job and sends run-now requests.
    this.schedules.grantManage(this.api.function);
    // Export jobs' runs (firings, run now) go from the scheduled-run function to the export function's queue.
    this.exports.grantRequests(this.schedules.function);

    this.calendar = new Calendar(this, 'Calendar', {
      storage: this.storage,
      api: this.api,
      operations: this.operations,
      senderAddress: (props.notifySender ?? 'integrator@example.com').includes('@')
        ? (props.notifySender ?? 'integrator@example.com')
        : `integrator@${props.notifySender}`,
      alarmTopic: this.monitoring.topic,
      ...handlers,
    });
    // Google quota pauses lifted when they lapse, their queued changes then pushed (functions/handlers/calendar-resume.ts).
    this.calendarResume = new CalendarResume(this, 'CalendarResume', {
      storage: this.storage,
      alarmTopic: this.monitoring.topic,
      ...handlers,
    });

    // The firm admin's /v1/sftp-keys: import and delete keys of this server's users.
    this.sftp.grantKeyManagement(this.api.function);
    this.operator = new Operator(this, 'Operator', {
      storage: this.storage,
      sftp: this.sftp,
      api: this.api,
      schedules: this.schedules,
      ...handlers,
    });

    // Integration events: the functions where runs end publish them, and the calendar push (a connection needing re-authentication) (functions/core/integration-events.ts).
    this.events = new IntegrationEventBus(this, 'Events', {
      storage: this.storage,
      publishers: [
        this.importPipeline.function,
        this.exports.function,
        this.operations.function,
        this.calendar.pushFunction,
      ],
      alarmTopic: this.monitoring.topic,
    });

    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'SftpServerId', { value: this.sftp.server.attrServerId });
    new CfnOutput(this, 'SftpEndpoint', { value: this.sftp.endpoint });
    new CfnOutput(this, 'ApiUrl', { value: this.api.stage.url });
    new CfnOutput(this, 'UserPoolId', { value: this.api.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.api.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'EventBusName', { value: this.events.bus.eventBusName });
    new CfnOutput(this, 'OperatorUrl', { value: `${this.api.stage.url}operator/v1` });
    new CfnOutput(this, 'OperatorPolicyArn', { value: this.operator.operatorPolicy.managedPolicyArn });
  }
}
