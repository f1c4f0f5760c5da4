import { Arn, ArnFormat, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as transfer from 'aws-cdk-lib/aws-transfer';
import { Construct } from 'constructs';
import { type OrganizationConfig, sftpUserName } from '../../functions/core/organizations.ts';
import {
  AREA_ACCESS,
  type Area,
  type AreaAccess,
  areaPrefix,
  logicalDirectories,
} from '../../functions/core/transfer/layout.ts';
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

/**
 * The S3 actions behind each permission of functions/core/transfer/layout.ts's AREA_ACCESS, which the local SFTP
 * server enforces as well: listing is granted separately (s3:ListBucket on the organization's prefixes).
 */
const S3_ACTIONS: Record<keyof AreaAccess, readonly string[]> = {
  read: ['s3:GetObject'],
  write: ['s3:PutObject'],
  delete: ['s3:DeleteObject'],
};

/** The object actions the role of an organization's SFTP user gets in one of its folders. */
function userActions(area: Area): string[] {
  const access = AREA_ACCESS[area];
  return (Object.keys(S3_ACTIONS) as (keyof AreaAccess)[]).filter((p) => access[p]).flatMap((p) => S3_ACTIONS[p]);
}

/**
 * AWS Transfer Family: one SFTP server, one service-managed user per organization. Each user sees a logical home
 * of exactly /inbound, /archive and /outbound (functions/core/transfer/layout.ts, shared with the local twin) and
 * assumes its own role, which reaches nothing but that organization's prefixes: the mapping hides the rest, the
 * role forbids it.
 */
export class Sftp extends Construct {
  readonly server: transfer.CfnServer;
  readonly workflow: transfer.CfnWorkflow;
  readonly workflowRole: iam.Role;
  readonly users: ReadonlyMap<string, transfer.CfnUser>;
  readonly userRoles: ReadonlyMap<string, iam.Role>;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: { storage: Storage; organizations: readonly OrganizationConfig[] }) {
    super(scope, id);
    const { storage } = props;

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

    const users = new Map<string, transfer.CfnUser>();
    const roles = new Map<string, iam.Role>();
    for (const org of props.organizations) {
      const role = this.userRole(org, storage);
      roles.set(org.id, role);
      users.set(
        org.id,
        new transfer.CfnUser(this, `User-${org.id}`, {
          serverId: this.server.attrServerId,
          userName: sftpUserName(org.id),
          role: role.roleArn,
          homeDirectoryType: 'LOGICAL',
          homeDirectoryMappings: logicalDirectories(org.id).map(({ entry, target }) => ({
            entry,
            target: `/${storage.bucket.bucketName}/${target}`,
            type: 'DIRECTORY',
          })),
          ...(org.sshPublicKeys.length > 0 ? { sshPublicKeys: org.sshPublicKeys } : {}),
        }),
      );
    }
    this.users = users;
    this.userRoles = roles;
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

  /** The organization's own prefixes, nothing else: listing is limited by s3:prefix, objects by their ARN. */
  private userRole(org: OrganizationConfig, storage: Storage): iam.Role {
    const role = transferRole(this, `UserRole-${org.id}`, `Integrator SFTP user of organization ${org.id}`);
    const areas = Object.keys(AREA_ACCESS) as Area[];
    const prefixes = areas.map((area) => areaPrefix(area, org.id));
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [storage.bucket.bucketArn],
        // Only `inbound/acme/…`, never the bare `inbound/acme`: as a listing prefix that would also match
        // `inbound/acme-corp/…` and name another organization's files.
        conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
      }),
    );
    for (const area of areas) {
      const prefix = areaPrefix(area, org.id);
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: userActions(area),
          resources: [storage.bucket.arnForObjects(`${prefix}*`)],
        }),
      );
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${bucketArnRef(storage)}/${prefix}*]`,
        reason: `Prefix grant limited to organization ${org.id}'s own ${area} folder: any file its SFTP user names.`,
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
