import { Arn, ArnFormat, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as transfer from 'aws-cdk-lib/aws-transfer';
import { Construct } from 'constructs';
import { TRANSFER_ENV } from '../../functions/adapters/transfer-sftp-users.ts';
import { SFTP_AREAS, userActions } from '../../functions/core/sftp-access.ts';
import { UPLOAD_TAG } from '../../functions/core/transfer/receive-file.ts';
import { logsKeyOf } from './function.ts';
import { cfnRef, type Storage } from './storage.ts';

/**
 * The tag the OnPartialUpload workflow puts on an interrupted upload; receiveFile never imports an object so tagged.
 * Imports are triggered by the server's `SFTP Server File Upload Completed` events (lib/aws/import-pipeline.ts), which
 * Transfer Family sends to the default EventBridge bus without configuration, and a failed upload's event records it
 * as partial; both are best-effort, so this object check stays as a second line.
 */
export const PARTIAL_UPLOAD_TAG = { key: UPLOAD_TAG, value: 'partial' } as const;

/** The Transfer Family calls that manage users and their keys, and who makes which. */
export const USER_MANAGEMENT_ACTIONS = [
  'transfer:CreateUser',
  'transfer:UpdateUser',
  'transfer:DeleteUser',
  'transfer:DescribeUser',
  'transfer:ImportSshPublicKey',
  'transfer:DeleteSshPublicKey',
] as const;
export const KEY_MANAGEMENT_ACTIONS = [
  'transfer:DescribeUser',
  'transfer:ImportSshPublicKey',
  'transfer:DeleteSshPublicKey',
] as const;

/**
 * AWS Transfer Family: one SFTP server; its service-managed users, one per organization, are data, not resources of
 * this stack: the operator route creates them at runtime (functions/adapters/transfer-sftp-users.ts, through
 * `npm run org`). Each user sees a logical home of exactly /inbound, /archive and /outbound (layout.ts, shared with
 * the twin) and assumes the one users' role below, which reaches the three areas of any organization with the
 * actions AREA_ACCESS allows there; the user's session policy (functions/core/sftp-access.ts, from the same table)
 * narrows that to its own organization's prefixes. The mapping hides the rest, the session policy forbids it.
 *
 * Why not CfnUser per organization any more: CloudFormation would own users whose keys the firm admin rotates at
 * runtime, and the next deploy would put the old keys back.
 */
export class Sftp extends Construct {
  readonly server: transfer.CfnServer;
  readonly workflow: transfer.CfnWorkflow;
  readonly workflowRole: iam.Role;
  /** The role every organization's SFTP user assumes (narrowed per user by its session policy). */
  readonly usersRole: iam.Role;
  readonly logGroup: logs.LogGroup;
  private readonly storage: Storage;

  constructor(scope: Construct, id: string, props: { storage: Storage }) {
    super(scope, id);
    const { storage } = props;
    this.storage = storage;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_YEAR,
      encryptionKey: logsKeyOf(this),
    });
    this.workflow = this.partialUploadWorkflow();
    this.workflowRole = this.createWorkflowRole(storage);

    this.server = new transfer.CfnServer(this, 'Server', {
      protocols: ['SFTP'],
      domain: 'S3',
      identityProviderType: 'SERVICE_MANAGED',
      endpointType: 'PUBLIC',
      securityPolicyName: 'TransferSecurityPolicy-2024-01',
      // Structured JSON logs of every session and file operation (who uploaded what, PARTIAL_CLOSE included).
      structuredLogDestinations: [this.logGroup.logGroupArn],
      // Workflow executions are only logged through a logging role (to /aws/transfer/<server id>).
      loggingRole: this.loggingRole().roleArn,
      workflowDetails: {
        onPartialUpload: [{ workflowId: this.workflow.attrWorkflowId, executionRole: this.workflowRole.roleArn }],
      },
    });
    this.usersRole = this.createUsersRole(storage);
  }

  /** The ARN of every user of this server (`user/<server id>/*`): what user and key management is scoped to. */
  get usersArn(): string {
    return Stack.of(this).formatArn({
      service: 'transfer',
      resource: 'user',
      resourceName: `${this.server.attrServerId}/*`,
    });
  }

  /**
   * Creating, changing and deleting this server's users (the operator function): the calls on its users only, and
   * passing the users' role to Transfer Family only. Sets the environment transferSftpUsers reads.
   */
  grantUserManagement(fn: lambda.Function): void {
    this.grantTransfer(fn, USER_MANAGEMENT_ACTIONS);
    fn.addEnvironment(TRANSFER_ENV.userRoleArn, this.usersRole.roleArn);
    fn.addEnvironment(TRANSFER_ENV.bucketArn, this.storage.bucket.bucketArn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.usersRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'transfer.amazonaws.com' } },
      }),
    );
  }

  /** Importing and deleting the users' keys (the API's /v1/sftp-keys): no user is created or changed otherwise. */
  grantKeyManagement(fn: lambda.Function): void {
    this.grantTransfer(fn, KEY_MANAGEMENT_ACTIONS);
  }

  private grantTransfer(fn: lambda.Function, actions: readonly string[]): void {
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: [...actions], resources: [this.usersArn] }));
    // On the role: the finding is raised on its default policy, a child of the role.
    Validations.of(fn.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:transfer:<AWS::Region>:<AWS::AccountId>:user/${cfnRef(this.server, 'ServerId')}/*]`,
      reason: 'Users are created at runtime, one per organization: the grant names this server, never another.',
    });
    fn.addEnvironment(TRANSFER_ENV.serverId, this.server.attrServerId);
  }

  /** Endpoint hostname of a PUBLIC SFTP server. */
  get endpoint(): string {
    return `${this.server.attrServerId}.server.transfer.${Stack.of(this).region}.${Stack.of(this).urlSuffix}`;
  }

  private partialUploadWorkflow(): transfer.CfnWorkflow {
    return new transfer.CfnWorkflow(this, 'PartialUpload', {
      description: 'Tags an interrupted SFTP upload so the import never reads half a file',
      steps: [
        {
          type: 'TAG',
          // Typed `any` in the L1, so CloudFormation's own (PascalCase) names: nothing converts them.
          tagStepDetails: {
            Name: 'tag-partial-upload',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Transfer Family's placeholder for the uploaded file.
            SourceFileLocation: '${original.file}',
            Tags: [{ Key: PARTIAL_UPLOAD_TAG.key, Value: PARTIAL_UPLOAD_TAG.value }],
          },
        },
      ],
    });
  }

  private createWorkflowRole(storage: Storage): iam.Role {
    const role = transferRole(this, 'WorkflowRole', 'Integrator SFTP: tags partial uploads');
    // Partial uploads can only happen where users may write: inbound/.
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          's3:GetObjectTagging',
          's3:GetObjectVersionTagging',
          's3:PutObjectTagging',
          's3:PutObjectVersionTagging',
        ],
        resources: [storage.bucket.arnForObjects('inbound/*')],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${bucketArnRef(storage)}/inbound/*]`,
      reason: 'The workflow runs for every organization’s interrupted upload, all of which lie under inbound/.',
    });
    return role;
  }

  private loggingRole(): iam.Role {
    const role = transferRole(this, 'LoggingRole', 'Integrator SFTP: writes workflow execution logs');
    const stack = Stack.of(this);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        resources: [
          Arn.format(
            {
              service: 'logs',
              resource: 'log-group',
              resourceName: '/aws/transfer/*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            },
            stack,
          ),
        ],
      }),
    );
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/transfer/*]`,
      reason: 'Transfer Family names the workflow log group after the server id, which exists only once deployed.',
    });
    return role;
  }

  /**
   * What any organization's SFTP user may do, by area (AREA_ACCESS through sftp-access.ts): listing below the areas,
   * the allowed object actions in each. Each user's session policy then limits it to `<area>/<its org>/…`.
   */
  private createUsersRole(storage: Storage): iam.Role {
    const role = transferRole(
      this,
      'UsersRole',
      'Integrator SFTP users (each narrowed to its organization by its session policy)',
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [storage.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': SFTP_AREAS.map((area) => `${area}/*`) } },
      }),
    );
    for (const area of SFTP_AREAS) {
      role.addToPolicy(
        new iam.PolicyStatement({ actions: userActions(area), resources: [storage.bucket.arnForObjects(`${area}/*`)] }),
      );
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${bucketArnRef(storage)}/${area}/*]`,
        reason: `The ${area} folders of every organization; each user's session policy narrows it to its own organization's.`,
      });
    }
    storage.grantKeyUse(role);
    return role;
  }
}

/** A role only Transfer Family in this account can assume (the account condition blocks the confused deputy). */
function transferRole(scope: Construct, id: string, description: string): iam.Role {
  return new iam.Role(scope, id, {
    description,
    assumedBy: new iam.ServicePrincipal('transfer.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  });
}

function bucketArnRef(storage: Storage): string {
  return cfnRef(storage.bucket.node.defaultChild as CfnElement, 'Arn');
}
