import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROLE_TITLES, ROLES } from '../../functions/api/auth-roles.ts';
import {
  TENANT_CALENDAR_KEY_ACTIONS,
  TENANT_DATA,
  TENANT_ENV,
  type TenantDataEntry,
  type TenantDataName,
} from '../../functions/core/tenant-policy.ts';
import { HANDLER_FILES, integratorFunction, logsKeyOf } from './function.ts';
import { SESSION_ORG, type Storage } from './storage.ts';

/** The user attribute naming a user's organization; it reaches the handler as the JWT claim `custom:org`. */
export const ORG_ATTRIBUTE = 'org';

/**
 * The HTTP API: one Lambda behind an HTTP API, every route but GET /health behind a Cognito JWT. A user belongs to
 * exactly one organization, set by an administrator in the `custom:org` attribute, which users cannot change
 * themselves (the app client may not write it): the handler scopes every request to that claim. A user's role is
 * their membership of one of the pool's groups `firm_admin`, `case_manager`, `viewer` (the ID token's
 * `cognito:groups`; functions/api/auth-roles.ts says why a group and what each role may do).
 */
export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly function: NodejsFunction;
  /** The role whose sessions the API's DynamoDB calls run on, one organization per session. */
  readonly tenantRole: iam.Role;

  constructor(scope: Construct, id: string, props: { storage: Storage; handlersDir?: string }) {
    super(scope, id);
    this.userPool = this.createUserPool();
    this.createRoleGroups();
    this.userPoolClient = this.userPool.addClient('Client', {
      authFlows: { userSrp: true },
      // No hosted UI domain yet: without this CDK would enable the implicit flow with an example.com callback.
      disableOAuth: true,
      generateSecret: false,
      preventUserExistenceErrors: true,
      readAttributes: new cognito.ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true, fullname: true })
        .withCustomAttributes(ORG_ATTRIBUTE),
      // Not `org`: a user who could write it could move into another organization.
      writeAttributes: new cognito.ClientAttributes().withStandardAttributes({ fullname: true }),
    });

    this.function = integratorFunction(this, 'Handler', {
      handlerFile: HANDLER_FILES.api,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'api',
      description: 'Integrator HTTP API',
      // An HTTP API gives up on its integration after 30 seconds.
      timeout: Duration.seconds(29),
      memorySize: 512,
    });
    this.tenantRole = this.createTenantRole(props.storage);

    const authorizer = new HttpJwtAuthorizer('CognitoJwt', this.userPool.userPoolProviderUrl, {
      jwtAudience: [this.userPoolClient.userPoolClientId],
    });
    const integration = new HttpLambdaIntegration('Lambda', this.function);
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'Integrator API',
      // The $default route: everything not routed explicitly, always behind the JWT authorizer.
      defaultIntegration: integration,
      defaultAuthorizer: authorizer,
      createDefaultStage: false,
    });
    const [health] = this.httpApi.addRoutes({
      path: '/health',
      methods: [apigw.HttpMethod.GET],
      integration,
      authorizer: new apigw.HttpNoneAuthorizer(),
    });
    Validations.of(health!).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'GET /health is the unauthenticated liveness probe; it returns no data. Every other route needs a JWT.',
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      encryptionKey: logsKeyOf(this),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
  }

  /**
   * The API's function role may do nothing on the data itself: no table, no bucket (the API never calls S3), no key.
   * It may only assume the tenant-data role, tagging the session with the caller's organization; that role reaches
   * only items whose partition key is that tag (or starts with `<tag>#`), and the API narrows each session further
   * with a session policy naming the organization (functions/core/tenant-policy.ts, tenant-stores.ts).
   */
  private createTenantRole(storage: Storage): iam.Role {
    const fnRole = this.function.role!;
    const role = new iam.Role(this, 'TenantDataRole', {
      description: "Integrator API: one organization's jobs and runs, per session (session tag org)",
      // Only the API's role, and only with the org tag set (a session without it could not be scoped).
      assumedBy: new iam.SessionTagsPrincipal(new iam.ArnPrincipal(fnRole.roleArn)).withConditions({
        Null: { 'aws:RequestTag/org': 'false' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['org'] },
      }),
      maxSessionDuration: Duration.hours(1),
    });
    const names = Object.keys(TENANT_DATA) as TenantDataName[];
    const arn = (name: TenantDataName) => {
      const entry: TenantDataEntry = TENANT_DATA[name];
      const table = storage.tables.get(entry.table)!.tableArn;
      return entry.index ? `${table}/index/${entry.index}` : table;
    };
    // Per table its actions and key shape (the session policy names the organization; tenant-policy.ts).
    storage.grantTenantTables(
      role,
      Object.fromEntries(
        names
          .map((name): [TenantDataName, TenantDataEntry] => [name, TENANT_DATA[name]])
          .filter(([, entry]) => !entry.index)
          .map(([, entry]) => [entry.table, { actions: entry.actions, key: entry.key }]),
      ),
    );
    // Indexes (the reports' lists, a case manager's events, the parked pushes): keyed `<org>#...`, queried only.
    for (const name of names) {
      const entry: TenantDataEntry = TENANT_DATA[name];
      if (entry.index) storage.grantTenantIndex(role, entry.table, entry.index, entry.actions);
    }
    fnRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sts:AssumeRole', 'sts:TagSession'], resources: [role.roleArn] }),
    );
    storage.nameTables(this.function, [...new Set(names.map((name) => TENANT_DATA[name].table))]);
    this.function.addEnvironment(TENANT_ENV.roleArn, role.roleArn);
    for (const name of names) this.function.addEnvironment(TENANT_ENV[name], arn(name));
    this.function.addEnvironment(TENANT_ENV.dataKey, storage.key.keyArn);
    return role;
  }

  /**
   * The calendar grants' key for the API's tenant sessions: data keys generated and decrypted only with the session's
   * own organization (and the grant purpose) as encryption context, so one organization's session cannot open
   * another's grants even with a bug building the context (functions/adapters/calendar-grant-vault.ts).
   */
  grantCalendarKey(key: kms.IKey): void {
    this.tenantRole.addToPolicy(
      new iam.PolicyStatement({
        actions: [...TENANT_CALENDAR_KEY_ACTIONS],
        resources: [key.keyArn],
        conditions: {
          StringEquals: {
            'kms:EncryptionContext:org': SESSION_ORG,
            'kms:EncryptionContext:purpose': 'calendar-grant',
          },
        },
      }),
    );
    this.function.addEnvironment(TENANT_ENV.calendarKey, key.keyArn);
  }

  /** One group per role; precedence follows the roles' strength (the API gives a user in several the strongest). */
  private createRoleGroups(): void {
    ROLES.forEach((role, index) => {
      new cognito.CfnUserPoolGroup(this, `Role-${role}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: role,
        description: `Integrator role: ${ROLE_TITLES[role]}${role === 'firm_admin' ? ' (may change everything)' : ' (reads only)'}`,
        precedence: index,
      });
    });
  }

  private createUserPool(): cognito.UserPool {
    return new cognito.UserPool(this, 'Users', {
      // Administrators create users and set their organization; nobody signs themselves up.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      customAttributes: { [ORG_ATTRIBUTE]: new cognito.StringAttribute({ minLen: 2, maxLen: 63, mutable: true }) },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      // Plus: compromised-credential and risk-based sign-in checks, enforced (a handful of staff users per customer).
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

/** Only variables HTTP APIs know ($context.identity.caller and the like would fail the deployment). */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latency: '$context.responseLatency',
  user: '$context.authorizer.claims.sub',
  authorizerError: '$context.authorizer.error',
  integrationError: '$context.integrationErrorMessage',
};
