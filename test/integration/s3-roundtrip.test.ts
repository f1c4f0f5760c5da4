import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import {
  CopyObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Event } from 'aws-lambda';
import { s3Client } from '../../functions/adapters/aws-clients.ts';
import { type LocalParts, startLocalParts } from '../support/local-parts.ts';

let parts: LocalParts;
before(async () => {
  parts = await startLocalParts({ dynamodb: false });
});
after(() => parts.stop());

// s3rver stored the SDK's aws-chunked framing inside streamed objects under default checksum settings; the client
// factory turns those checksums off for the local endpoint. These bytes must come back exactly.
test('streamed and multipart uploads round-trip byte for byte through the local S3 server', async () => {
  const s3 = s3Client(parts.config);
  const payload = randomBytes(5 * 1024 * 1024 + 123);
  await s3.send(
    new PutObjectCommand({
      Bucket: parts.bucket,
      Key: 'inbound/acme/stream.bin',
      Body: Readable.from([payload]),
      ContentLength: payload.length,
    }),
  );
  await new Upload({
    client: s3,
    params: { Bucket: parts.bucket, Key: 'inbound/acme/multi.bin', Body: Readable.from([payload, payload]) },
  }).done();
  const one = await (
    await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: 'inbound/acme/stream.bin' }))
  ).Body!.transformToByteArray();
  const two = await (
    await s3.send(new GetObjectCommand({ Bucket: parts.bucket, Key: 'inbound/acme/multi.bin' }))
  ).Body!.transformToByteArray();
  assert.equal(Buffer.compare(Buffer.from(one), payload), 0);
  assert.equal(Buffer.compare(Buffer.from(two), Buffer.concat([payload, payload])), 0);
});

test('object events reach listeners in the AWS shape, with the key URL-encoded', async () => {
  const s3 = s3Client(parts.config);
  const seen: S3Event[] = [];
  parts.s3.onEvent((e) => seen.push(e));
  await s3.send(new PutObjectCommand({ Bucket: parts.bucket, Key: 'inbound/acme/Payroll Q1 (1).csv', Body: 'a,b\n' }));
  const record = seen.flatMap((e) => e.Records).find((r) => r.eventName.startsWith('ObjectCreated:'));
  assert.ok(record, 'an ObjectCreated event was emitted');
  assert.equal(record.s3.object.key, 'inbound/acme/Payroll+Q1+%281%29.csv');
  assert.equal(record.s3.bucket.name, parts.bucket);
});

// Tags belong to an object version in S3. The local server kept them across overwrite and delete, which would leave a
// fixed daily file name tagged as a partial upload forever.
test('a new upload under the same key has no tags; a copy keeps the source tags', async () => {
  const s3 = s3Client(parts.config);
  const Bucket = parts.bucket;
  const tagsOf = async (Key: string) =>
    (await s3.send(new GetObjectTaggingCommand({ Bucket, Key }))).TagSet?.map((t) => `${t.Key}=${t.Value}`) ?? [];
  await s3.send(new PutObjectCommand({ Bucket, Key: 'inbound/acme/daily.csv', Body: 'part' }));
  await s3.send(
    new PutObjectTaggingCommand({
      Bucket,
      Key: 'inbound/acme/daily.csv',
      Tagging: { TagSet: [{ Key: 'integrator-upload', Value: 'partial' }] },
    }),
  );
  await s3.send(
    new CopyObjectCommand({ Bucket, Key: 'inbound/acme/copy.csv', CopySource: `${Bucket}/inbound/acme/daily.csv` }),
  );
  assert.deepEqual(await tagsOf('inbound/acme/copy.csv'), ['integrator-upload=partial']);
  await s3.send(new PutObjectCommand({ Bucket, Key: 'inbound/acme/daily.csv', Body: 'complete' }));
  assert.deepEqual(await tagsOf('inbound/acme/daily.csv'), []);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'inbound/acme/' }));
  assert.ok((listed.KeyCount ?? 0) >= 2, 'listing works against the local server');
});
