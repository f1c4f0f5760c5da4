import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { HANDLER_FILES, integratorFunction } from './function.ts';
import type { Storage } from './storage.ts';

/** The user attribute naming a user's organization; it reaches the handler as the JWT claim `custom:org`. */
export const ORG_ATTRIBUTE = 'org';

/**
 * The HTTP API: one Lambda behind an HTTP API, every route but GET /health behind a Cognito JWT. A user belongs to
 * exactly one organization, set by an administrator in the `custom:org` attribute, which users cannot change
 * themselves (the app client may not write it): the handler scopes every request to that claim.
 */
export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: { storage: Storage; handlersDir?: string }) {
    super(scope, id);
    this.userPool = this.createUserPool();
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
    props.storage.grantTables(this.function);
    props.storage.grantAreas(this.function, { read: ['inbound', 'archive', 'outbound'] });

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
      removalPolicy: RemovalPolicy.DESTROY,
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
