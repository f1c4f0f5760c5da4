import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { Area } from '../../functions/core/transfer/layout.ts';
import {
  type KeyAttribute,
  type TableDefinition,
  type TableId,
  tableDefinition,
  tableEnvName,
  tables,
} from '../../schemas/tables.ts';

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
      ...(definition.stream ? { stream: dynamodb.StreamViewType[definition.stream] } : {}),
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
   * Exactly the listed actions on each listed table (items, plus its named indexes where a Query is granted; no
   * wildcard), the data key's use, and the TABLE_* variables that tell the handler those tables' physical names
   * (functions/adapters/aws-clients.ts reads them). A table left out is neither reachable nor named.
   */
  grantTables(fn: lambda.Function, access: TableAccess): void {
    for (const [id, actions] of Object.entries(access) as [TableId, readonly TableAction[]][]) {
      const definition = tableDefinition(id);
      const table = this.tables.get(id)!;
      const indexes = actions.includes('dynamodb:Query')
        ? (definition.globalIndexes ?? []).map((index) => `${table.tableArn}/index/${index.indexName}`)
        : [];
      iam.Grant.addToPrincipal({ grantee: fn, actions: [...actions], resourceArns: [table.tableArn, ...indexes] });
    }
    this.nameTables(fn, Object.keys(access) as TableId[]);
    this.grantKeyUse(fn);
  }

  /** The TABLE_* variables only, for a function that reaches the tables through another role (the API). */
  nameTables(fn: lambda.Function, ids: readonly TableId[]): void {
    for (const id of ids) fn.addEnvironment(tableEnvName(id), this.tables.get(id)!.tableName);
  }

  /**
   * The tenant-data role's policy: on each table the given actions, only on items whose partition key is the
   * session's `org` tag (`exact`) or starts with `<org>#` (`prefix`), and the data key's use. The API assumes the role
   * with that tag and a session policy naming the organization (functions/core/tenant-policy.ts), so each of its
   * requests reaches one organization's items and no other's.
   */
  grantTenantTables(
    role: iam.Role,
    access: Partial<Record<TableId, { actions: readonly TableAction[]; key: 'exact' | 'prefix' }>>,
  ): void {
    for (const [id, { actions, key }] of Object.entries(access) as [
      TableId,
      { actions: readonly TableAction[]; key: 'exact' | 'prefix' },
    ][]) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [...actions],
          resources: [this.tables.get(id)!.tableArn],
          conditions: {
            [key === 'exact' ? 'ForAllValues:StringEquals' : 'ForAllValues:StringLike']: {
              'dynamodb:LeadingKeys': [key === 'exact' ? SESSION_ORG : `${SESSION_ORG}#*`],
            },
            Null: { 'dynamodb:LeadingKeys': 'false' },
          },
        }),
      );
    }
    this.grantKeyUse(role);
  }

  /** Query on one index of a table, for items whose index partition key starts with `<session org>#`. */
  grantTenantIndex(role: iam.Role, id: TableId, indexName: string, actions: readonly TableAction[]): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [...actions],
        resources: [`${this.tables.get(id)!.tableArn}/index/${indexName}`],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${SESSION_ORG}#*`] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    );
  }

  /**
   * Object access below the given top-level areas (all organizations: only system functions get this), listing
   * restricted to those prefixes, and INTEGRATOR_BUCKET. The per-organization SFTP roles are scoped in sftp.ts.
   */
  grantAreas(fn: lambda.Function, access: AreaAccess): void {
    const areas = [
      ...new Set([
        ...(access.read ?? []),
        ...(access.exists ?? []),
        ...(access.write ?? []),
        ...(access.delete ?? []),
        ...(access.deleteVersions ?? []),
        ...(access.listVersions ?? []),
      ]),
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
    statement(
      ['s3:GetObject'],
      access.exists?.filter((area) => !access.read?.includes(area)),
    );
    statement(OBJECT_WRITE, access.write);
    // On a versioned bucket DeleteObject leaves a delete marker, so a mistaken delete stays undoable for 90 days.
    statement(['s3:DeleteObject'], access.delete);
    statement(['s3:DeleteObjectVersion'], access.deleteVersions);
    if (access.listVersions?.length) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucketVersions'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': access.listVersions.map((area) => `${area}/*`) } },
        }),
      );
    }
    this.grantKeyUse(fn);
    fn.addEnvironment('INTEGRATOR_BUCKET', this.bucket.bucketName);
    // Only areas with object grants have an `<area>/*` resource (listing versions is granted on the bucket).
    const objectAreas = [
      ...new Set([
        ...(access.read ?? []),
        ...(access.exists ?? []),
        ...(access.write ?? []),
        ...(access.delete ?? []),
        ...(access.deleteVersions ?? []),
      ]),
    ];
    acknowledgeAreaWildcards(fn, this.bucket, objectAreas);
  }

  /** Use of the data key through S3 and DynamoDB: exact actions, no `kms:*Key*` wildcards. */
  grantKeyUse(grantee: iam.IGrantable): void {
    this.key.grant(grantee, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
  }
}

export interface AreaAccess {
  /** Objects, their versions and tags. */
  read?: readonly Area[];
  /** Only whether a key holds an object (HeadObject, which S3 authorizes as s3:GetObject). */
  exists?: readonly Area[];
  write?: readonly Area[];
  delete?: readonly Area[];
  /** Permanent deletion of one object version (DeleteObject with a VersionId). */
  deleteVersions?: readonly Area[];
  /** Listing the versions of keys (ListObjectVersions, authorized as s3:ListBucketVersions with the prefix). */
  listVersions?: readonly Area[];
}

/** IAM's policy variable for the session tag `org` (a literal `${...}` in the policy, not a template string). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, resolved by IAM per request
export const SESSION_ORG = '${aws:PrincipalTag/org}';

/** The item and query actions a function may be given on a table; no table administration, no wildcard. */
export type TableAction =
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:ConditionCheckItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:GetItem'
  /** PartiQL (BatchExecuteStatement) is authorized per statement kind: the import's record writes. */
  | 'dynamodb:PartiQLInsert'
  | 'dynamodb:PartiQLUpdate'
  | 'dynamodb:PutItem'
  | 'dynamodb:Query'
  /** Only on the Organizations table (a handful of items), by system functions: never in a tenant session. */
  | 'dynamodb:Scan'
  | 'dynamodb:UpdateItem';

/** Per table, the actions a function's code calls (TransactWriteItems is authorized per action inside it). */
export type TableAccess = Partial<Record<TableId, readonly TableAction[]>>;

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
      reason: `Prefix grant: the function handles every organization's objects under ${area}/ (the actions its code calls there, listed in its pipeline construct) and nothing else.`,
    });
  }
}

/** How cdk-nag names a `Fn::GetAtt` in a finding: `<LogicalId.Attribute>`. */
export function cfnRef(resource: CfnElement, attribute: string): string {
  const stack = Stack.of(resource);
  return `<${stack.resolve(stack.getLogicalId(resource))}.${attribute}>`;
}
