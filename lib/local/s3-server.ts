import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { freePort } from './ports.ts';
import { isVersionKey, objectVersioning, type VersionStore } from './s3-versions.ts';

const require = createRequire(import.meta.url);
// s3rver is CommonJS and untyped; only the surface used here is declared.
interface S3rverInstance {
  store: S3rverStore;
  /** Koa's middleware list: composed when the server starts listening. */
  middleware: unknown[];
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  on(event: 'event', listener: (event: { Records: S3rverRecord[] }) => void): void;
}
interface S3rverStore extends VersionStore {
  putObject(object: { bucket: string; key: string }): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<unknown>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    ...rest: unknown[]
  ): Promise<unknown>;
  getSubresource(bucket: string, key: string, type: 'tagging'): Promise<unknown>;
  putSubresource(bucket: string, key: string, resource: unknown): Promise<void>;
  deleteSubresource(bucket: string, key: string, type: 'tagging'): Promise<void>;
}
interface S3rverRecord {
  eventName: string;
  eventTime: string;
  s3: {
    bucket: { name: string };
    object: { key: string; size?: number; eTag?: string; sequencer?: string; versionId?: string };
  };
}
const S3rver = require('@20minutes/s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** Called with AWS-shaped S3 notifications for every object change in the bucket. */
  onEvent(listener: (event: S3Event) => void): void;
  stop(): Promise<void>;
}

export interface LocalS3Options {
  directory: string;
  bucket: string;
  port?: number;
}

/** s3rver's credentials are fixed; clients must use them and path-style addressing. */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * Starts an S3-compatible server on loopback (s3rver) holding one bucket, versioned as the AWS bucket is
 * (s3-versions.ts). Its events differ from AWS in two ways that are corrected here, so the handler never
 * special-cases the twin: keys arrive URL-decoded (AWS encodes them, `+` for a space) and multipart completion is
 * named `Post`.
 */
export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  mkdirSync(options.directory, { recursive: true });
  const port = options.port ?? (await freePort());
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket }],
    // s3rver signs `/bucket` where the SDK signs `/bucket/` for a listing, failing every ListObjectsV2; the twin is
    // loopback-only and not a place to test signatures.
    allowMismatchedSignatures: true,
  });
  tagsFollowObjects(server.store);
  const listeners: ((event: S3Event) => void)[] = [];
  let sequence = 0;
  const deliver = (record: S3rverRecord) => {
    if (record.s3.bucket.name !== options.bucket || isVersionKey(record.s3.object.key)) return;
    const event = { Records: [toAwsRecord(record, ++sequence)] };
    for (const listener of listeners) listener(event);
  };
  // The bucket is versioned, as in AWS (s3-versions.ts): events wait until their version is kept, then carry its id.
  const versioning = objectVersioning(options.bucket, server.store, (record, versionId, key) => {
    const r = record as S3rverRecord;
    deliver({ ...r, s3: { ...r.s3, object: { ...r.s3.object, key, versionId } } });
  });
  server.middleware.unshift(versioning.middleware);
  server.on('event', (event) => {
    for (const record of event.Records) if (versioning.hold(record)) deliver(record);
  });
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket: options.bucket,
    onEvent: (listener) => listeners.push(listener),
    stop: () => server.close(),
  };
}

/**
 * S3 encodes keys in notifications like an HTML form (Java's URLEncoder): letters, digits, `.-*_` and `/` stay,
 * a space becomes `+`, every other byte of the UTF-8 encoding becomes %XX.
 */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/');
}

function toAwsRecord(record: S3rverRecord, sequence: number): S3EventRecord {
  const kind = record.eventName.replace(/^ObjectCreated:Post$/, 'ObjectCreated:CompleteMultipartUpload');
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: record.eventTime,
    eventName: kind,
    userIdentity: { principalId: 'local' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': `local-${sequence}`, 'x-amz-id-2': 'local' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'local',
      bucket: {
        name: record.s3.bucket.name,
        ownerIdentity: { principalId: 'local' },
        arn: `arn:aws:s3:::${record.s3.bucket.name}`,
      },
      object: {
        key: encodeEventKey(record.s3.object.key),
        size: record.s3.object.size ?? 0,
        eTag: record.s3.object.eTag ?? '',
        ...(record.s3.object.versionId ? { versionId: record.s3.object.versionId } : {}),
        // S3 sequencers are hex strings that order a key's events; a zero-padded counter has the same property.
        sequencer: sequence.toString(16).toUpperCase().padStart(16, '0'),
      },
    },
  } as S3EventRecord;
}

/**
 * s3rver keeps an object's tags when the key is overwritten or deleted, and drops them on copy. In S3 tags belong to
 * the object: a new upload has none, a copy carries the source's. Without this a fixed daily file name stays tagged
 * `partial` forever after one dropped upload, so put, delete and copy are corrected here (multipart completion goes
 * through putObject too).
 */
function tagsFollowObjects(store: S3rverStore): void {
  const put = store.putObject.bind(store);
  const remove = store.deleteObject.bind(store);
  const copy = store.copyObject.bind(store);
  store.putObject = async (object) => {
    await store.deleteSubresource(object.bucket, object.key, 'tagging');
    return put(object);
  };
  store.deleteObject = async (bucket, key) => {
    await store.deleteSubresource(bucket, key, 'tagging');
    return remove(bucket, key);
  };
  store.copyObject = async (srcBucket, srcKey, destBucket, destKey, ...rest) => {
    const tags = await store.getSubresource(srcBucket, srcKey, 'tagging');
    const result = await copy(srcBucket, srcKey, destBucket, destKey, ...rest);
    if (srcBucket !== destBucket || srcKey !== destKey) await store.deleteSubresource(destBucket, destKey, 'tagging');
    if (tags) await store.putSubresource(destBucket, destKey, tags);
    return result;
  };
}
