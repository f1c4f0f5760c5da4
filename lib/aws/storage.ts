import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { Area } from '../../functions/core/transfer/layout.ts';
import { type KeyAttribute, type TableDefinition, type TableId, tableEnvName, tables } from '../../schemas/tables.ts';

/**
 * Where the data lives: one customer-managed KMS key, the data bucket (with its access-log bucket) and the DynamoDB
 * tables of schemas/tables.ts. Other constructs never touch these resources' policies directly: they ask for access
 * through the grant helpers below, so every permission on customer data is written in one file.
 */
export class Storage extends Construct {
  readonly key: kms.Key;
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;
  readonly tables: ReadonlyMap<TableId, dynamodb.Table>;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.key = new kms.Key(this, 'DataKey', {
      description: 'Integrator: customer data at rest (bucket and tables)',
      enableKeyRotation: true,
      // Everything encrypted with it would be unreadable after a deletion: never delete it with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      // The S3 log delivery service cannot write to a bucket encrypted with a customer-managed key.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(400) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'Data', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket instead of per object: far fewer KMS calls for the same protection.
      bucketKeyEnabled: true,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        {
          id: 'versions-and-uploads',
          // Versioning is the undo for an overwritten or deleted file; 90 days is long enough to notice.
          noncurrentVersionExpiration: Duration.days(90),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
          expiredObjectDeleteMarker: true,
        },
        {
          id: 'archive-ageing',
          prefix: 'archive/',
          // Archived originals and outcome files are rarely read after the first weeks, but must open instantly.
          transitions: [
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(30) },
          ],
          expiration: Duration.days(400),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const built = new Map<TableId, dynamodb.Table>();
    for (const definition of tables) built.set(definition.id, this.table(definition));
    this.tables = built;
  }

  private table(definition: TableDefinition): dynamodb.Table {
    const table = new dynamodb.Table(this, definition.id, {
      partitionKey: attribute(definition.partitionKey),
      ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
      ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      deletionProtection: definition.holdsCustomerData,
      removalPolicy: definition.holdsCustomerData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const index of definition.globalIndexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    return table;
  }

  /**
   * Read/write on every table (items and the named indexes, no wildcard) and the TABLE_* variables that tell the
   * handler each table's physical name (functions/adapters/aws-clients.ts reads them).
   */
  grantTables(fn: lambda.Function): void {
    for (const definition of tables) {
      const table = this.tables.get(definition.id)!;
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: TABLE_READ_WRITE,
        resourceArns: [
          table.tableArn,
          ...(definition.globalIndexes ?? []).map((index) => `${table.tableArn}/index/${index.indexName}`),
        ],
      });
      fn.addEnvironment(tableEnvName(definition.id), table.tableName);
    }
    this.grantKeyUse(fn);
  }

  /**
   * Object access below the given top-level areas (all organizations: only system functions get this), listing
   * restricted to those prefixes, and INTEGRATOR_BUCKET. The per-organization SFTP roles are scoped in sftp.ts.
   */
  grantAreas(fn: lambda.Function, access: AreaAccess): void {
    const areas = [
      ...new Set([...access.read, ...(access.write ?? []), ...(access.delete ?? []), ...(access.deleteVersions ?? [])]),
    ];
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': areas.flatMap((area) => [area, `${area}/*`]) } },
      }),
    );
    const statement = (actions: string[], granted: readonly Area[] | undefined) => {
      if (!granted?.length) return;
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions, resources: granted.map((area) => this.bucket.arnForObjects(`${area}/*`)) }),
      );
    };
    statement(OBJECT_READ, access.read);
    statement(OBJECT_WRITE, access.write);
    // On a versioned bucket DeleteObject leaves a delete marker, so a mistaken delete stays undoable for 90 days.
    statement(['s3:DeleteObject'], access.delete);
    statement(['s3:DeleteObjectVersion'], access.deleteVersions);
    this.grantKeyUse(fn);
    fn.addEnvironment('INTEGRATOR_BUCKET', this.bucket.bucketName);
    acknowledgeAreaWildcards(fn, this.bucket, areas);
  }

  /** Use of the data key through S3 and DynamoDB: exact actions, no `kms:*Key*` wildcards. */
  grantKeyUse(grantee: iam.IGrantable): void {
    this.key.grant(grantee, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
  }
}

export interface AreaAccess {
  read: readonly Area[];
  write?: readonly Area[];
  delete?: readonly Area[];
  /** Permanent deletion of one object version (DeleteObject with a VersionId). */
  deleteVersions?: readonly Area[];
}

/** What a handler needs on a table: items, queries, conditional and batched writes; no table administration. */
const TABLE_READ_WRITE = [
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DeleteItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:UpdateItem',
];

/** Versions and tags are read too: the arrival ledger is per object version, and partial uploads carry a tag. */
const OBJECT_READ = ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'];
/** PutObjectTagging too: CopyObject copies the source's tags by default, which needs it on the destination. */
const OBJECT_WRITE = ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload'];

function attribute(key: KeyAttribute): dynamodb.Attribute {
  return { name: key.name, type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER };
}

/** The `<area>/*` object resources are prefix grants by design; cdk-nag reports each as a wildcard. */
function acknowledgeAreaWildcards(fn: lambda.Function, bucket: s3.Bucket, areas: readonly string[]): void {
  const bucketRef = cfnRef(bucket.node.defaultChild as s3.CfnBucket, 'Arn');
  for (const area of areas) {
    // On the role: the finding is raised on its default policy, a child of the role, not of the function.
    Validations.of(fn.role!).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${bucketRef}/${area}/*]`,
      reason: `Prefix grant: the function handles every organization's objects under ${area}/ and nothing else.`,
    });
  }
}

/** How cdk-nag names a `Fn::GetAtt` in a finding: `<LogicalId.Attribute>`. */
export function cfnRef(resource: CfnElement, attribute: string): string {
  const stack = Stack.of(resource);
  return `<${stack.resolve(stack.getLogicalId(resource))}.${attribute}>`;
}
