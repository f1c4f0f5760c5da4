import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type TableId, tableEnvName } from '../../schemas/tables.ts';

/**
 * The SDK clients, configured from the environment. In AWS nothing is set and the SDK's defaults apply; the twin and
 * the tests set INTEGRATOR_S3_ENDPOINT / INTEGRATOR_DYNAMODB_ENDPOINT to the local servers. Same code, other endpoint.
 */
export interface ClientConfig {
  region?: string;
  dynamodbEndpoint?: string;
  s3Endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    dynamodbEndpoint: env.INTEGRATOR_DYNAMODB_ENDPOINT,
    s3Endpoint: env.INTEGRATOR_S3_ENDPOINT,
  };
}

export function dynamoDbDocumentClient(config: ClientConfig = configFromEnv()): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: config.region,
    ...(config.dynamodbEndpoint
      ? {
          endpoint: config.dynamodbEndpoint,
          credentials: config.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : {}),
  });
  return DynamoDBDocumentClient.from(client, DOCUMENT_OPTIONS);
}

/** How every document client marshals: undefined attributes are left out, class instances refused. */
export const DOCUMENT_OPTIONS = {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
} as const;

export function s3Client(config: ClientConfig = configFromEnv()): S3Client {
  if (!config.s3Endpoint) return new S3Client({ region: config.region });
  return new S3Client({
    region: config.region,
    endpoint: config.s3Endpoint,
    forcePathStyle: true,
    credentials: config.s3Credentials ?? { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // s3rver stores the aws-chunked framing of checksummed streaming uploads inside the object: only send
    // checksums where S3 requires them (test/integration/s3-roundtrip.test.ts guards this).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function tableName(id: TableId, env: NodeJS.ProcessEnv = process.env): string {
  const name = env[tableEnvName(id)];
  if (!name) throw new Error(`${tableEnvName(id)} is not set: the handler does not know the ${id} table`);
  return name;
}

export function bucketName(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.INTEGRATOR_BUCKET;
  if (!name) throw new Error('INTEGRATOR_BUCKET is not set: the handler does not know the data bucket');
  return name;
}
