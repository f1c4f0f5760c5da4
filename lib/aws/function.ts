import { join } from 'node:path';
import { type Duration, RemovalPolicy, Size, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { repoPath } from './paths.ts';

/** The handler files (in functions/handlers/, each exporting `handler`) that become Lambda functions. */
export const HANDLER_FILES = {
  importFile: 'import-file.ts',
  api: 'api.ts',
  sweep: 'sweep.ts',
  runWatch: 'run-watch.ts',
  exportRun: 'export-run.ts',
  scheduledRun: 'scheduled-run.ts',
  operatorApi: 'operator-api.ts',
} as const;

/** Where the handler files are: the repository's functions/handlers, unless a test points elsewhere. */
export const DEFAULT_HANDLERS_DIR = repoPath('functions/handlers');

export interface IntegratorFunctionProps {
  handlerFile: (typeof HANDLER_FILES)[keyof typeof HANDLER_FILES];
  handlersDir?: string;
  /** POWERTOOLS_SERVICE_NAME: how logs and metrics name this function. */
  serviceName: string;
  description: string;
  timeout: Duration;
  memorySize: number;
  /** /tmp; Lambda's default is 512 MiB. */
  ephemeralStorageMb?: number;
  logRetention?: logs.RetentionDays;
}

/** The Powertools metrics namespace shared by every handler. */
export const METRICS_NAMESPACE = 'Integrator';

/** How long function and access logs are kept. */
export const LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

const LOGS_KEY_ID = 'LogsKey';

/**
 * The stack's key for CloudWatch Logs (function and API access logs), made once per stack. Logs hold file names,
 * organization ids and error messages: encrypted with a key of our own, usable by CloudWatch Logs of this account
 * and region only for this account's log groups (the encryption context names the log group). Retained, like the
 * log groups: their contents stay readable after the stack is gone.
 */
export function logsKeyOf(scope: Construct): kms.Key {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(LOGS_KEY_ID);
  if (existing) return existing as kms.Key;
  const key = new kms.Key(stack, LOGS_KEY_ID, {
    description: 'Integrator: CloudWatch Logs (functions, API access logs)',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: [
        'kms:Encrypt',
        'kms:Decrypt',
        'kms:ReEncryptFrom',
        'kms:ReEncryptTo',
        'kms:GenerateDataKey',
        'kms:GenerateDataKeyWithoutPlaintext',
        'kms:DescribeKey',
      ],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:*`,
        },
      },
    }),
  );
  return key;
}

/**
 * The one way this project builds a Lambda function, so runtime, bundling and logging cannot drift apart between
 * handlers. Each function gets its own role and log group (KMS-encrypted, kept for LOG_RETENTION and retained with
 * the stack): the role starts with nothing but writing to that log group (no AWSLambdaBasicExecutionRole, which
 * would allow writing to every log group of the account); each construct then grants what its code calls.
 */
export function integratorFunction(scope: Construct, id: string, props: IntegratorFunctionProps): NodejsFunction {
  const group = new Construct(scope, id);
  const logGroup = new logs.LogGroup(group, 'Logs', {
    retention: props.logRetention ?? LOG_RETENTION,
    encryptionKey: logsKeyOf(scope),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const role = new iam.Role(group, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `Integrator ${props.serviceName} function`,
  });
  logGroup.grantWrite(role);

  const fn = new NodejsFunction(group, 'Function', {
    entry: join(props.handlersDir ?? DEFAULT_HANDLERS_DIR, props.handlerFile),
    handler: 'handler',
    projectRoot: repoPath(''),
    depsLockFilePath: repoPath('package-lock.json'),
    // Node 22 is what the twin and the tests run on (the node@22 package) and what esbuild targets below.
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    description: props.description,
    timeout: props.timeout,
    memorySize: props.memorySize,
    ...(props.ephemeralStorageMb ? { ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMb) } : {}),
    role,
    logGroup,
    tracing: lambda.Tracing.ACTIVE,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: props.serviceName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      LOG_LEVEL: 'INFO',
    },
    bundling: BUNDLING,
  });

  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (tracing: ACTIVE).',
  });
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason: 'Pinned to nodejs22.x on purpose: the local twin and the tests run Node 22 and esbuild targets node22.',
  });
  return fn;
}

/**
 * ESM bundles, as the sources are ESM. Some CommonJS dependencies call `require` for Node built-ins, which an ESM
 * bundle lacks: the banner defines it. The AWS SDK v3 is left to the runtime (NodejsFunction's default for Node 22).
 */
const BUNDLING = {
  minify: true,
  sourceMap: true,
  format: OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
};
