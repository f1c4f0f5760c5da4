import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { OrganizationConfig } from '../../functions/core/organizations.ts';
import { TENANT_DATA, TENANT_ENV, type TenantDataEntry } from '../../functions/core/tenant-policy.ts';
import { IMPORT_QUEUE_SETTINGS } from '../../functions/core/transfer/import-queue.ts';
import { logsKeyOf } from '../../lib/aws/function.ts';
import { IntegratorStack } from '../../lib/aws/integrator-stack.ts';
import { type TableId, tableEnvName, tables } from '../../schemas/tables.ts';
import { cdkFeatureFlags, stubHandlersDir } from '../support/cdk-test-app.ts';

/**
 * What the synthesized template must guarantee. Feature flags come from cdk.json (as under `cdk synth`); bundling is
 * skipped, so the handler entries can be stubs (only their existence is checked). Three organizations, two of which
 * share a name prefix (acme, acme-corp): the classic way a prefix-based isolation leaks.
 */
const flags = cdkFeatureFlags();
const handlersDir = stubHandlersDir();

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK+NtynIufFPrWfWK1RD9ncB3sS29RFcFnqrH6XHUkSx test';
const organizations: OrganizationConfig[] = [
  { id: 'acme', name: 'Acme', sshPublicKeys: [KEY], allowedRecords: 10 },
  { id: 'acme-corp', name: 'Acme Corp', sshPublicKeys: [KEY], allowedRecords: 10 },
  { id: 'globex', name: 'Globex', sshPublicKeys: [], allowedRecords: 10 },
];

// CloudFormation's own template rules cost ~10 s on first use; nag.test.ts runs them once over the same stack.
const app = new App({ context: { ...flags, 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
const stack = new IntegratorStack(app, 'Test', { organizations, alarmEmail: 'ops@example.com', handlersDir });
const template = Template.fromStack(stack);
const json = template.toJSON() as { Resources: Record<string, CfnResourceJson>; Outputs: Record<string, unknown> };

interface CfnResourceJson {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

const id = (element: unknown) => stack.resolve(stack.getLogicalId(element as CfnElement)) as string;
const bucketId = id(stack.storage.bucket.node.defaultChild);
/** The tables the API reads and writes (through the tenant role). */
/** The tables the API reaches through the tenant role (functions/core/tenant-policy.ts TENANT_DATA). */
const API_TABLES = [...new Set(Object.values(TENANT_DATA).map((entry) => entry.table))];
/** IAM's policy variable for the session tag `org`, as it appears in the template. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a template string
const SESSION_ORG = '${aws:PrincipalTag/org}';
const dataKeyId = id(stack.storage.key.node.defaultChild);

describe('data bucket', () => {
  const bucket = json.Resources[bucketId]!;

  test('SSE-KMS with the data key, versioned, all public access blocked, access logs to the log bucket', () => {
    assert.deepEqual(bucket.Properties.BucketEncryption, {
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [dataKeyId, 'Arn'] },
          },
        },
      ],
    });
    assert.deepEqual(bucket.Properties.VersioningConfiguration, { Status: 'Enabled' });
    assert.deepEqual(bucket.Properties.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    assert.deepEqual(bucket.Properties.LoggingConfiguration, {
      DestinationBucketName: { Ref: id(stack.storage.accessLogBucket.node.defaultChild) },
      LogFilePrefix: 'data-bucket/',
    });
    assert.equal(bucket.DeletionPolicy, 'Retain');
  });

  test('denies every request without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test('lifecycle: old versions 90 days, stale multipart uploads 7 days, archive/ ages then expires', () => {
    const rules = (bucket.Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    assert.deepEqual(
      rules.find((r) => r.Id === 'versions-and-uploads'),
      {
        Id: 'versions-and-uploads',
        Status: 'Enabled',
        NoncurrentVersionExpiration: { NoncurrentDays: 90 },
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        ExpiredObjectDeleteMarker: true,
      },
    );
    const archive = rules.find((r) => r.Id === 'archive-ageing')!;
    assert.equal(archive.Prefix, 'archive/');
    assert.equal(archive.ExpirationInDays, 400);
    assert.deepEqual(archive.Transitions, [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }]);
  });

  test('the data key rotates and is retained', () => {
    const key = json.Resources[dataKeyId]!;
    assert.equal(key.Properties.EnableKeyRotation, true);
    assert.equal(key.DeletionPolicy, 'Retain');
  });
});

describe('tables', () => {
  const tableResources = Object.values(json.Resources).filter((r) => r.Type === 'AWS::DynamoDB::Table');

  test('exactly the tables of schemas/tables.ts', () => {
    assert.equal(tableResources.length, tables.length);
  });

  for (const definition of tables) {
    test(`${definition.id}: keys, indexes, on-demand, PITR, KMS, protection`, () => {
      const logicalId = id(stack.storage.tables.get(definition.id)!.node.defaultChild);
      const table = json.Resources[logicalId]!;
      const keySchema = (pk: { name: string }, sk?: { name: string }) => [
        { AttributeName: pk.name, KeyType: 'HASH' },
        ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' }] : []),
      ];
      assert.deepEqual(table.Properties.KeySchema, keySchema(definition.partitionKey, definition.sortKey));
      const attributes = [
        definition.partitionKey,
        definition.sortKey,
        ...(definition.globalIndexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey]),
      ]
        .filter((a) => a !== undefined)
        .map((a) => ({ AttributeName: a.name, AttributeType: a.type }));
      assert.deepEqual(
        new Set((table.Properties.AttributeDefinitions as unknown[]).map((a) => JSON.stringify(a))),
        new Set(attributes.map((a) => JSON.stringify(a))),
      );
      assert.deepEqual(
        table.Properties.GlobalSecondaryIndexes,
        definition.globalIndexes?.map((index) => ({
          IndexName: index.indexName,
          KeySchema: keySchema(index.partitionKey, index.sortKey),
          Projection: { ProjectionType: 'ALL' },
        })),
      );
      assert.equal(table.Properties.BillingMode, 'PAY_PER_REQUEST');
      assert.deepEqual(table.Properties.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
      assert.deepEqual(table.Properties.SSESpecification, {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [dataKeyId, 'Arn'] },
      });
      assert.deepEqual(
        table.Properties.TimeToLiveSpecification,
        definition.timeToLiveAttribute ? { AttributeName: definition.timeToLiveAttribute, Enabled: true } : undefined,
      );
      assert.equal(table.Properties.DeletionProtectionEnabled, definition.holdsCustomerData);
      assert.equal(table.DeletionPolicy, definition.holdsCustomerData ? 'Retain' : 'Delete');
    });
  }
});

describe('functions', () => {
  const functions = {
    'import-file': stack.importPipeline.function,
    api: stack.api.function,
  };

  for (const [name, fn] of Object.entries(functions)) {
    test(`${name}: Node 22 on arm64, traced, its own log group, the environment the handlers read`, () => {
      const resource = json.Resources[id(fn.node.defaultChild)]!;
      assert.equal(resource.Properties.Runtime, 'nodejs22.x');
      assert.deepEqual(resource.Properties.Architectures, ['arm64']);
      assert.equal(resource.Properties.Handler, 'index.handler');
      assert.deepEqual(resource.Properties.TracingConfig, { Mode: 'Active' });
      assert.ok((resource.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup);
      const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      // Each function is told only the tables it uses: the import all of them, the API its four (through the
      // tenant role), and the bucket only where the code calls S3.
      // (The import names the notifications outbox too: it e-mails a run it ends failed, lib/aws/operations.ts; the
      // calendar tables are the calendar functions' alone.)
      const named = name === 'api' ? API_TABLES : tables.map((t) => t.id).filter((t) => !t.startsWith('Calendar'));
      assert.deepEqual(
        Object.keys(variables).sort(),
        [
          'LOG_LEVEL',
          'NODE_OPTIONS',
          'POWERTOOLS_METRICS_NAMESPACE',
          'POWERTOOLS_SERVICE_NAME',
          ...named.map((t) => tableEnvName(t)),
          // EVENT_BUS_NAME: the import publishes integration events (test/infra/events.test.ts).
          ...(name === 'import-file'
            ? [
                'EVENT_BUS_NAME',
                'IMPORT_QUEUE_URL',
                'INTEGRATOR_BUCKET',
                'INTEGRATOR_IMPORT_RANGE_ROWS',
                'NOTIFY_FROM',
                'NOTIFY_MESSAGE_DOMAIN',
                'REPORTS_URL',
                'SES_CONFIGURATION_SET',
              ]
            : Object.values(TENANT_ENV)),
          // Job schedules and run now (lib/aws/schedules.ts grantManage).
          ...(name === 'api'
            ? ['JOB_RUNS_QUEUE_ARN', 'JOB_RUNS_QUEUE_URL', 'SCHEDULER_DLQ_ARN', 'SCHEDULER_ROLE_ARN', 'SCHEDULE_GROUP']
            : []),
          // The firm admin's SFTP keys (lib/aws/sftp.ts grantKeyManagement).
          ...(name === 'api' ? ['SFTP_SERVER_ID'] : []),
          // Calendar sync: the OAuth redirect and the providers' clients (lib/aws/calendar.ts).
          ...(name === 'api'
            ? ['CALENDAR_GOOGLE_SECRET_ARN', 'CALENDAR_MICROSOFT_SECRET_ARN', 'CALENDAR_REDIRECT_URI']
            : []),
        ].sort(),
      );
      for (const table of named) {
        assert.deepEqual(variables[tableEnvName(table)], {
          Ref: id(stack.storage.tables.get(table)!.node.defaultChild),
        });
      }
      if (name === 'import-file') assert.deepEqual(variables.INTEGRATOR_BUCKET, { Ref: bucketId });
      assert.equal(variables.NODE_OPTIONS, '--enable-source-maps');
      assert.equal(variables.POWERTOOLS_SERVICE_NAME, name);
      assert.equal(variables.POWERTOOLS_METRICS_NAMESPACE, 'Integrator');
    });
  }

  test('import function: 15 minutes, one full vCPU (1,769 MB), 2 GiB of /tmp for the duplicate-key census', () => {
    const resource = json.Resources[id(stack.importPipeline.function.node.defaultChild)]!;
    assert.equal(resource.Properties.Timeout, 900);
    assert.equal(resource.Properties.MemorySize, 1769);
    assert.deepEqual(resource.Properties.EphemeralStorage, { Size: 2048 });
  });

  test('log groups: KMS-encrypted with the logs key, kept for a set time, retained with the stack', () => {
    const logsKeyId = id(logsKeyOf(stack).node.defaultChild);
    const groups = Object.entries(json.Resources).filter(([, r]) => r.Type === 'AWS::Logs::LogGroup');
    assert.ok(groups.length >= 3, 'two functions and the API access logs');
    for (const [logicalId, group] of groups) {
      assert.deepEqual(group.Properties.KmsKeyId, { 'Fn::GetAtt': [logsKeyId, 'Arn'] }, logicalId);
      assert.ok((group.Properties.RetentionInDays as number) >= 90, logicalId);
      assert.equal(group.DeletionPolicy, 'Retain', logicalId);
    }
    for (const fn of Object.values(functions)) {
      const resource = json.Resources[id(fn.node.defaultChild)]!;
      const { LogGroup } = resource.Properties.LoggingConfig as { LogGroup: { Ref: string } };
      assert.ok(groups.some(([logicalId]) => logicalId === LogGroup.Ref));
    }
    // CloudWatch Logs may use the key only for this account's log groups.
    const key = json.Resources[logsKeyId]!;
    const statements = (key.Properties.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
    const forLogs = statements.find((st) => JSON.stringify(st.Principal).includes('logs.'))!;
    assert.ok(JSON.stringify(forLogs.Condition).includes('kms:EncryptionContext:aws:logs:arn'));
    assert.equal(key.DeletionPolicy, 'Retain');
  });

  test('no function role carries an AWS managed policy (CDK’s deploy-time notification handler aside)', () => {
    for (const fn of Object.values(functions)) {
      const role = json.Resources[id(fn.role!.node.defaultChild)]!;
      assert.equal(role.Properties.ManagedPolicyArns, undefined);
    }
  });
});

describe('import pipeline', () => {
  const queueId = id(stack.importPipeline.queue.node.defaultChild);
  const dlqId = id(stack.importPipeline.deadLetterQueue.node.defaultChild);

  test("Transfer Family's upload events (completed, failed) of files into inbound/ are sent to the queue", () => {
    const ruleId = id(stack.importPipeline.uploadEvents.node.defaultChild);
    const rule = json.Resources[ruleId]!.Properties;
    assert.deepEqual(rule.EventPattern, {
      source: ['aws.transfer'],
      'detail-type': ['SFTP Server File Upload Completed', 'SFTP Server File Upload Failed'],
      detail: { 'file-path': [{ prefix: { 'Fn::Join': ['', ['/', { Ref: bucketId }, '/inbound/']] } }] },
    });
    assert.equal(rule.State, 'ENABLED');
    assert.deepEqual(
      (rule.Targets as { Arn: unknown }[]).map((t) => t.Arn),
      [{ 'Fn::GetAtt': [queueId, 'Arn'] }],
    );
    // The queue lets EventBridge of this account send to it (and use its key).
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
          }),
        ]),
      },
    });
  });

  test('of S3 notifications only copies under inbound/ (SFTP renames) are sent: a put may be a partial upload', () => {
    template.resourceCountIs('Custom::S3BucketNotifications', 1);
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId },
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Events: ['s3:ObjectCreated:Copy'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'inbound/' }] } },
            QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
          },
        ],
      },
    });
  });

  test("the queue: KMS, no delay, visibility the function's timeout, dead letters after 5 receives: the twin's settings", () => {
    const queue = json.Resources[queueId]!.Properties;
    assert.ok(queue.KmsMasterKeyId);
    assert.equal(queue.DelaySeconds, undefined);
    // The least the Lambda event source accepts; the handler sets each message's own visibility to minutes.
    const fn = json.Resources[id(stack.importPipeline.function.node.defaultChild)]!.Properties;
    assert.equal(queue.VisibilityTimeout, fn.Timeout);
    assert.equal(queue.VisibilityTimeout, IMPORT_QUEUE_SETTINGS.visibilityTimeoutSeconds);
    assert.deepEqual(queue.RedrivePolicy, {
      deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      maxReceiveCount: IMPORT_QUEUE_SETTINGS.maxReceiveCount,
    });
    assert.equal(IMPORT_QUEUE_SETTINGS.maxReceiveCount, 5);
    const dlq = json.Resources[dlqId]!.Properties;
    assert.ok(dlq.KmsMasterKeyId);
    assert.ok((dlq.MessageRetentionPeriod as number) > ((queue.MessageRetentionPeriod as number) ?? 345_600));
  });

  test('both queues refuse requests without TLS', () => {
    for (const queue of [queueId, dlqId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queue }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  test('the import function consumes it one file at a time and reports failures per item', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: id(stack.importPipeline.function.node.defaultChild) },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  test('a large file across many workers: ranges of INTEGRATOR_IMPORT_RANGE_ROWS, at most maxConcurrency at once', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      ScalingConfig: { MaximumConcurrency: IMPORT_QUEUE_SETTINGS.maxConcurrency },
    });
    const fn = json.Resources[id(stack.importPipeline.function.node.defaultChild)]!;
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.equal(variables.INTEGRATOR_IMPORT_RANGE_ROWS, String(IMPORT_QUEUE_SETTINGS.rangeRows));
  });

  test('the import function continues paused runs on its own queue: IMPORT_QUEUE_URL, SendMessage there only', () => {
    const fn = json.Resources[id(stack.importPipeline.function.node.defaultChild)]!;
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(variables.IMPORT_QUEUE_URL, { Ref: queueId });
    const queueArn = `<${queueId}.Arn>`;
    const queueKeyArn = `<${id(stack.importPipeline.queue.encryptionMasterKey!.node.defaultChild)}.Arn>`;
    const policy = rolePolicy(stack.importPipeline.function.role!.node.defaultChild);
    assert.ok(allows(policy, 'sqs:SendMessage', queueArn));
    // SSE-KMS: a producer needs a data key from the queue's key.
    assert.ok(allows(policy, 'kms:GenerateDataKey', queueKeyArn));
    assert.ok(!allows(policy, 'sqs:SendMessage', `<${dlqId}.Arn>`));
    const sending = policy.filter((s) => s.actions.some((a) => glob(a).test('sqs:SendMessage')));
    assert.deepEqual(
      sending.flatMap((s) => s.resources),
      [queueArn],
    );
    for (const s of policy) {
      for (const action of s.actions) {
        if (/^(sqs|kms):/.test(action)) assert.ok(!action.includes('*'), `no wildcard action: ${action}`);
      }
    }
    // The API function does not send to the queue.
    assert.ok(!allows(rolePolicy(stack.api.function.role!.node.defaultChild), 'sqs:SendMessage', queueArn));
  });

  test('the import function reads inbound, writes only archive, erases only versions in inbound', () => {
    const policy = rolePolicy(stack.importPipeline.function.role!.node.defaultChild);
    const inbound = `${bucketArn}/inbound/acme/x.csv`;
    const archive = `${bucketArn}/archive/acme/2026-11-24/r_x.csv`;
    const outbound = `${bucketArn}/outbound/acme/x.csv`;
    for (const action of ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging']) {
      assert.ok(allows(policy, action, inbound), action);
    }
    // The archived copy and the .errors.csv; HeadObject there to see whether an earlier attempt archived already.
    assert.ok(allows(policy, 's3:PutObject', archive));
    assert.ok(allows(policy, 's3:PutObjectTagging', archive), 'CopyObject copies the tags');
    assert.ok(allows(policy, 's3:GetObject', archive));
    assert.ok(allows(policy, 's3:DeleteObjectVersion', inbound));
    for (const [action, resource] of [
      ['s3:PutObject', inbound],
      ['s3:PutObject', outbound],
      ['s3:GetObject', outbound],
      ['s3:DeleteObject', inbound],
      ['s3:DeleteObject', archive],
      ['s3:DeleteObject', outbound],
      ['s3:DeleteObjectVersion', archive],
      ['s3:DeleteObjectVersion', outbound],
      ['s3:GetObjectTagging', archive],
      ['s3:GetObject', `${bucketArn}/elsewhere/x.csv`],
    ] as const) {
      assert.ok(!allows(policy, action, resource), `${action} on ${resource}`);
    }
    assert.ok(!allows(policy, 's3:ListBucket', bucketArn, { 's3:prefix': '' }));
    assert.ok(!allows(policy, 's3:ListBucket', bucketArn, { 's3:prefix': 'outbound/acme/' }));
    // The versions of an uploaded key (the version an upload event means), and of nothing else.
    assert.ok(allows(policy, 's3:ListBucketVersions', bucketArn, { 's3:prefix': 'inbound/acme/x.csv' }));
    assert.ok(!allows(policy, 's3:ListBucketVersions', bucketArn, { 's3:prefix': 'archive/acme/' }));
    assert.ok(!allows(policy, 's3:ListBucketVersions', bucketArn, { 's3:prefix': '' }));
  });

  test('the import function has on each table exactly what its adapters call', () => {
    const policy = rolePolicy(stack.importPipeline.function.role!.node.defaultChild);
    const expected: Record<string, string[]> = {
      Files: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      // GetItem: a failed run's contacts; Notifications: its outbox entry (lib/aws/operations.ts grantNotify).
      Jobs: ['dynamodb:GetItem', 'dynamodb:Query'],
      Notifications: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      Organizations: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      Records: ['dynamodb:BatchGetItem', 'dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate', 'dynamodb:UpdateItem'],
      Runs: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      RunErrors: ['dynamodb:BatchWriteItem', 'dynamodb:Query'],
      // The integration events' markers (test/infra/events.test.ts).
      PublishedEvents: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    };
    for (const definition of tables) {
      const arn = `<${id(stack.storage.tables.get(definition.id)!.node.defaultChild)}.Arn>`;
      const granted = [
        ...new Set(
          policy
            .filter((st) => st.resources.includes(arn))
            .flatMap((st) => st.actions)
            .sort(),
        ),
      ];
      assert.deepEqual(granted, (expected[definition.id] ?? []).sort(), definition.id);
    }
    const all = policy.flatMap((st) => st.actions);
    for (const action of ['dynamodb:Scan', 'dynamodb:DeleteItem', 'dynamodb:DescribeTable']) {
      assert.ok(!all.includes(action), action);
    }
  });

  test('the API function touches no data itself: it only assumes the tenant role, tagging the session', () => {
    const policy = rolePolicy(stack.api.function.role!.node.defaultChild);
    // Besides: sending run-now requests to the job-runs queue, whose key encrypts no customer data (schedules.ts).
    const queueKey = `<${id(stack.schedules.queueKey.node.defaultChild)}.Arn>`;
    const actions = policy.filter((st) => !st.resources.includes(queueKey)).flatMap((st) => st.actions);
    assert.ok(!actions.some((a) => /^(s3|dynamodb|kms):/.test(a)), actions.join(', '));
    const tenantArn = `<${id(stack.api.tenantRole.node.defaultChild)}.Arn>`;
    const sts = policy.filter((st) => st.actions.some((a) => a.startsWith('sts:')));
    assert.deepEqual(sts.flatMap((st) => st.actions).sort(), ['sts:AssumeRole', 'sts:TagSession']);
    assert.deepEqual(
      sts.flatMap((st) => st.resources),
      [tenantArn],
    );
  });

  test('the tenant role: assumed only by the API role with an org tag; each table keyed by that tag', () => {
    const role = json.Resources[id(stack.api.tenantRole.node.defaultChild)]!.Properties;
    const trust = (role.AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    assert.equal(trust.length, 1);
    const [statement] = trust;
    assert.deepEqual((statement!.Action as string[]).sort(), ['sts:AssumeRole', 'sts:TagSession']);
    assert.deepEqual(statement!.Principal, {
      AWS: { 'Fn::GetAtt': [id(stack.api.function.role!.node.defaultChild), 'Arn'] },
    });
    assert.deepEqual(statement!.Condition, {
      Null: { 'aws:RequestTag/org': 'false' },
      'ForAllValues:StringEquals': { 'aws:TagKeys': ['org'] },
    });

    const policy = Object.values(json.Resources).find(
      (r) =>
        r.Type === 'AWS::IAM::Policy' &&
        JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: id(stack.api.tenantRole.node.defaultChild) }]),
    )!;
    const statements = (policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    // CDK merges statements of equal actions and conditions (RunErrors and the Runs index byList): look inside lists.
    const arnOf = (tableId: TableId) => ({
      'Fn::GetAtt': [id(stack.storage.tables.get(tableId)!.node.defaultChild), 'Arn'],
    });
    const tableStatement = (tableId: TableId) =>
      statements.find((st) =>
        list(st.Resource as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify(arnOf(tableId))),
      )!;
    const indexStatement = (tableId: TableId, index: string) =>
      statements.find((st) =>
        list(st.Resource as unknown[]).some(
          (r) => JSON.stringify(r) === JSON.stringify({ 'Fn::Join': ['', [arnOf(tableId), `/index/${index}`]] }),
        ),
      )!;
    for (const entry of Object.values(TENANT_DATA) as TenantDataEntry[]) {
      const st = entry.index ? indexStatement(entry.table, entry.index) : tableStatement(entry.table);
      const what = `${entry.table}${entry.index ? `/${entry.index}` : ''}`;
      assert.ok(st, what);
      assert.deepEqual(
        st.Condition,
        entry.key === 'exact'
          ? {
              'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [SESSION_ORG] },
              Null: { 'dynamodb:LeadingKeys': 'false' },
            }
          : {
              'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${SESSION_ORG}#*`] },
              Null: { 'dynamodb:LeadingKeys': 'false' },
            },
        what,
      );
      const actions: string[] = list(st.Action as string | string[]).sort();
      assert.ok(!actions.includes('dynamodb:Scan') && !actions.includes('dynamodb:BatchWriteItem'), what);
      assert.deepEqual(actions, [...entry.actions].sort(), what);
    }
    // The reports' lists: never the run watch's `running` list (no `#`), as the condition above says.
    assert.ok(indexStatement('Runs', 'byList'));
    // The calendar grant key: data keys only, with the session's own organization as encryption context.
    const grantKey = statements.find(
      (st) =>
        JSON.stringify(st.Resource) ===
        JSON.stringify({ 'Fn::GetAtt': [id(stack.calendar.key.node.defaultChild), 'Arn'] }),
    )!;
    assert.deepEqual(list(grantKey.Action as string | string[]).sort(), ['kms:Decrypt', 'kms:GenerateDataKey']);
    assert.deepEqual(grantKey.Condition, {
      StringEquals: { 'kms:EncryptionContext:org': SESSION_ORG, 'kms:EncryptionContext:purpose': 'calendar-grant' },
    });
    // No other table (Records, Files) and no bucket.
    const resources = JSON.stringify(statements.map((st) => st.Resource));
    for (const other of ['Records', 'Files'] as const) {
      assert.ok(!resources.includes(id(stack.storage.tables.get(other)!.node.defaultChild)), other);
    }
    assert.ok(!resources.includes(bucketId));
    // The API learns the role and the resources the session policy names.
    const fn = json.Resources[id(stack.api.function.node.defaultChild)]!;
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    assert.deepEqual(variables[TENANT_ENV.roleArn], {
      'Fn::GetAtt': [id(stack.api.tenantRole.node.defaultChild), 'Arn'],
    });
    assert.deepEqual(variables[TENANT_ENV.dataKey], { 'Fn::GetAtt': [dataKeyId, 'Arn'] });
  });
});

describe('SFTP', () => {
  const serverId = id(stack.sftp.server);
  const workflowId = id(stack.sftp.workflow);

  test('a service-managed, public SFTP server with a current security policy and structured logs', () => {
    const server = json.Resources[serverId]!.Properties;
    assert.deepEqual(server.Protocols, ['SFTP']);
    assert.equal(server.IdentityProviderType, 'SERVICE_MANAGED');
    assert.equal(server.EndpointType, 'PUBLIC');
    assert.match(server.SecurityPolicyName as string, /^TransferSecurityPolicy-20(2[4-9]|[3-9]\d)-/);
    assert.deepEqual(server.StructuredLogDestinations, [
      { 'Fn::GetAtt': [id(stack.sftp.logGroup.node.defaultChild), 'Arn'] },
    ]);
    assert.ok(server.LoggingRole);
  });

  test('interrupted uploads run the workflow that tags them partial', () => {
    const server = json.Resources[serverId]!.Properties;
    assert.deepEqual((server.WorkflowDetails as { OnPartialUpload: unknown }).OnPartialUpload, [
      {
        WorkflowId: { 'Fn::GetAtt': [workflowId, 'WorkflowId'] },
        ExecutionRole: { 'Fn::GetAtt': [id(stack.sftp.workflowRole.node.defaultChild), 'Arn'] },
      },
    ]);
    assert.deepEqual(json.Resources[workflowId]!.Properties.Steps, [
      {
        Type: 'TAG',
        TagStepDetails: {
          Name: 'tag-partial-upload',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Transfer Family's placeholder, not JavaScript.
          SourceFileLocation: '${original.file}',
          Tags: [{ Key: 'integrator-upload', Value: 'partial' }],
        },
      },
    ]);
  });

  // The users are data now (created at runtime through the operator route): what each may reach is its session
  // policy, tested with the Transfer Family calls in test/infra/organizations.test.ts. Here: the role they share.
  test('no user is a resource of the stack; the users share one role reaching the areas AREA_ACCESS allows', () => {
    template.resourceCountIs('AWS::Transfer::User', 0);
    const policy = rolePolicy(stack.sftp.usersRole.node.defaultChild);
    assert.ok(allows(policy, 's3:PutObject', `${bucketArn}/inbound/acme/upload.csv`));
    assert.ok(!allows(policy, 's3:PutObject', `${bucketArn}/archive/acme/x.csv`));
    assert.ok(!allows(policy, 's3:DeleteObject', `${bucketArn}/archive/acme/x.csv`));
    assert.ok(!allows(policy, 's3:PutObject', `${bucketArn}/outbound/acme/x.csv`));
    assert.ok(!allows(policy, 's3:GetObject', `${bucketArn}/other/acme/x.csv`));
    for (const statement of policy) {
      for (const resource of statement.resources) {
        assert.ok(resource.startsWith(bucketArn) || resource === `<${dataKeyId}.Arn>`, resource);
      }
    }
  });

  test('only Transfer Family of this account can assume the users role', () => {
    assert.deepEqual(json.Resources[id(stack.sftp.usersRole.node.defaultChild)]!.Properties.AssumeRolePolicyDocument, {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'transfer.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ],
    });
  });
});

describe('API', () => {
  test('every route but GET /health needs a Cognito JWT; the operator routes an IAM signature instead', () => {
    const routes = Object.values(json.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    assert.deepEqual(routes.map((r) => r.Properties.RouteKey).sort(), [
      '$default',
      'ANY /operator/{proxy+}',
      'GET /health',
      'GET /oauth/calendar/callback',
    ]);
    const expected: Record<string, string> = {
      'GET /health': 'NONE',
      'GET /oauth/calendar/callback': 'NONE',
      'ANY /operator/{proxy+}': 'AWS_IAM',
    };
    for (const route of routes) {
      const key = String(route.Properties.RouteKey);
      assert.equal(route.Properties.AuthorizationType, expected[key] ?? 'JWT', key);
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Audience: [{ Ref: id(stack.api.userPoolClient.node.defaultChild) }] },
    });
  });

  test('the stage throttles and writes access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });

  test('users carry custom:org, which they cannot change themselves; MFA is required', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Schema: Match.arrayWith([Match.objectLike({ Name: 'org', AttributeDataType: 'String' })]),
      MfaConfiguration: 'ON',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    const client = json.Resources[id(stack.api.userPoolClient.node.defaultChild)]!.Properties;
    assert.ok((client.ReadAttributes as string[]).includes('custom:org'));
    assert.ok(!(client.WriteAttributes as string[]).includes('custom:org'));
    assert.equal(client.AllowedOAuthFlows, undefined, 'no implicit flow, no placeholder callback');
  });
});

describe('monitoring', () => {
  test('the alarm topic is KMS-encrypted, TLS-only, and mails the alarm address', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  const topicRef = () => ({ Ref: id(stack.monitoring.topic.node.defaultChild) });
  const expected: [string, string, string, number][] = [
    ['dead letters', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 1],
    ['import errors', 'AWS/Lambda', 'Errors', 1],
    ['import throttles', 'AWS/Lambda', 'Throttles', 1],
    ['import backlog older than an hour', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 3600],
    ['API 5xx', 'AWS/ApiGateway', '5xx', 1],
  ];
  for (const [what, namespace, metric, threshold] of expected) {
    test(`alarm: ${what}, sent to the topic`, () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: namespace,
        MetricName: metric,
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [topicRef()],
      });
    });
  }

  test('the dead-letter alarm watches the dead-letter queue, the backlog alarm the arrivals queue', () => {
    const dimension = (queue: unknown) => [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(queue), 'QueueName'] } }];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: dimension(stack.importPipeline.deadLetterQueue.node.defaultChild),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: dimension(stack.importPipeline.queue.node.defaultChild),
    });
  });
});

test('outputs: bucket, SFTP server and endpoint, API URL, user pool', () => {
  for (const output of ['BucketName', 'SftpServerId', 'SftpEndpoint', 'ApiUrl', 'UserPoolId', 'UserPoolClientId']) {
    assert.ok(json.Outputs[output], output);
  }
});

/* A small evaluator of the Allow statements of a role's policy, enough to ask "may this role do X on Y". */

const bucketArn = `<${bucketId}.Arn>`;

interface Statement {
  actions: string[];
  resources: string[];
  prefixes?: string[];
}

/** The statements of the role's default policy, with CloudFormation references flattened to `<LogicalId.Attr>`. */
function rolePolicy(role: unknown): Statement[] {
  const roleId = id(role);
  const policy = Object.values(json.Resources).find(
    (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
  );
  assert.ok(policy, `no policy for ${roleId}`);
  const document = policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] };
  return document.Statement.map((s) => {
    assert.equal(s.Effect, 'Allow');
    const conditions = s.Condition as Record<string, Record<string, unknown>> | undefined;
    // StringLike: S3 prefixes; StringEquals: the SES sender (operations.ts grantNotify).
    if (conditions) assert.ok(['StringLike', 'StringEquals'].includes(Object.keys(conditions).join()));
    const prefixes = conditions?.StringLike?.['s3:prefix'];
    return {
      actions: list(s.Action as string | string[]),
      resources: list(s.Resource).map(flatten),
      ...(prefixes ? { prefixes: list(prefixes as string | string[]) } : {}),
    };
  });
}

function allows(
  policy: Statement[],
  action: string,
  resource: string,
  context: { 's3:prefix'?: string } = {},
): boolean {
  return policy.some(
    (s) =>
      s.actions.some((a) => glob(a).test(action)) &&
      s.resources.some((r) => glob(r).test(resource)) &&
      (!s.prefixes ||
        (context['s3:prefix'] !== undefined && s.prefixes.some((p) => glob(p).test(context['s3:prefix']!)))),
  );
}

function list<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v['Fn::GetAtt']) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if (v.Ref) return `<${v.Ref as string}>`;
  if (v['Fn::Join']) {
    const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(separator);
  }
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}
