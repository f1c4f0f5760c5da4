import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import type { Api } from './api.ts';
import { HANDLER_FILES, integratorFunction } from './function.ts';
import type { Schedules } from './schedules.ts';
import type { Sftp } from './sftp.ts';
import type { Storage } from './storage.ts';

/** The operator route family of the HTTP API (functions/api/organizations-routes.ts). */
export const OPERATOR_PATH = '/operator/{proxy+}';

/**
 * The operator's interface to organizations: `ANY /operator/{proxy+}` of the stack's HTTP API, authorized by IAM
 * (SigV4, `npm run org` signs it), integrated with a function of its own. An organization's Cognito token is no IAM
 * signature, so API Gateway refuses it (403) before any code runs; the function also refuses a request without the
 * IAM caller. The tenant API's function keeps its least privilege: only this one creates and deletes Transfer Family
 * users and erases an organization's data.
 *
 * Operators get `operatorPolicy` (execute-api:Invoke on these routes only), to attach to their own role or group.
 */
export class Operator extends Construct {
  readonly function: NodejsFunction;
  readonly operatorPolicy: iam.ManagedPolicy;
  readonly route: apigw.HttpRoute;

  constructor(
    scope: Construct,
    id: string,
    props: { storage: Storage; sftp: Sftp; api: Api; schedules: Schedules; handlersDir?: string },
  ) {
    super(scope, id);
    const { storage } = props;
    this.function = integratorFunction(this, 'Handler', {
      handlerFile: HANDLER_FILES.operatorApi,
      ...(props.handlersDir ? { handlersDir: props.handlersDir } : {}),
      serviceName: 'operator',
      description: 'Integrator operator API: organizations, their SFTP users, their erasure',
      timeout: Duration.seconds(29),
      memorySize: 512,
    });
    storage.grantTables(this.function, {
      Organizations: ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      // What a forced delete erases, step by step (functions/adapters/organization-data.ts).
      Jobs: ['dynamodb:Query', 'dynamodb:BatchWriteItem'],
      Runs: ['dynamodb:Query', 'dynamodb:BatchWriteItem'],
      Files: ['dynamodb:Query', 'dynamodb:BatchWriteItem'],
      Notifications: ['dynamodb:Query', 'dynamodb:BatchWriteItem'],
      RunErrors: ['dynamodb:Scan', 'dynamodb:BatchWriteItem'],
      Records: ['dynamodb:Scan', 'dynamodb:BatchWriteItem'],
    });
    // Folder markers (write) and the erase of an organization's objects (list, delete).
    storage.grantAreas(this.function, {
      write: ['inbound', 'archive', 'outbound'],
      delete: ['inbound', 'archive', 'outbound'],
    });
    props.sftp.grantUserManagement(this.function);
    // Removing a deleted organization's job schedules.
    props.schedules.grantManage(this.function);

    this.route = props.api.httpApi.addRoutes({
      path: OPERATOR_PATH,
      methods: [apigw.HttpMethod.ANY],
      integration: new HttpLambdaIntegration('Operator', this.function),
      authorizer: new HttpIamAuthorizer(),
    })[0]!;

    const stack = Stack.of(this);
    this.operatorPolicy = new iam.ManagedPolicy(this, 'OperatorPolicy', {
      description: 'Integrator: call the operator API (npm run org)',
      statements: [
        new iam.PolicyStatement({
          actions: ['execute-api:Invoke'],
          resources: [
            stack.formatArn({
              service: 'execute-api',
              resource: props.api.httpApi.apiId,
              resourceName: '*/*/operator/*',
            }),
          ],
        }),
      ],
    });
    Validations.of(this.operatorPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${stack.resolve(stack.getLogicalId(props.api.httpApi.node.defaultChild as apigw.CfnApi))}>/*/*/operator/*]`,
      reason: 'Every method and stage of the operator routes, and nothing else of the API.',
    });
  }
}
