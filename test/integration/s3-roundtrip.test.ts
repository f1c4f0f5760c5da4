import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import {
  CopyObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Event } from 'aws-lambda';
import { s3Client } from '../../functions/adapters/aws-clients.ts';
import { s3FileStore } from '../../functions/adapters/s3-file-store.ts';
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

// The data bucket is versioned in AWS; the twin's S3 server must keep each version too (lib/local/s3-versions.ts),
// or a second upload of one name overwrites the first one's bytes before its import reads them.
test('the local bucket is versioned: each upload of one key keeps its own bytes, events and tags name the version', async () => {
  const s3 = s3Client(parts.config);
  const Bucket = parts.bucket;
  const Key = 'inbound/acme/twice (1).csv';
  const events: S3Event['Records'] = [];
  parts.s3.onEvent((e) => events.push(...e.Records.filter((r) => r.eventName.startsWith('ObjectCreated:'))));
  const first = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'first\n' }));
  await s3.send(
    new PutObjectTaggingCommand({ Bucket, Key, Tagging: { TagSet: [{ Key: 'integrator-upload', Value: 'partial' }] } }),
  );
  const second = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'second, longer\n' }));
  assert.ok(first.VersionId && second.VersionId && first.VersionId !== second.VersionId);
  const mine = events.filter((r) => r.s3.object.key === 'inbound/acme/twice+%281%29.csv');
  assert.deepEqual(
    mine.map((r) => r.s3.object.versionId),
    [first.VersionId, second.VersionId],
  );

  const files = s3FileStore(s3, { bucket: Bucket });
  const read = async (versionId?: string) => {
    const info = await files.head(Key, versionId);
    if (!info) return undefined;
    let text = '';
    for await (const chunk of await files.read({ key: Key, etag: info.etag, ...(info.versionId ? { versionId } : {}) }))
      text += Buffer.from(chunk).toString('utf8');
    return text;
  };
  assert.equal(await read(first.VersionId), 'first\n');
  assert.equal(await read(second.VersionId), 'second, longer\n');
  assert.equal(await read(), 'second, longer\n');
  assert.equal((await files.head(Key, first.VersionId))?.versionId, first.VersionId);
  // Tags belong to their version: the first one was marked partial, the second is clean.
  assert.deepEqual(await files.tags({ key: Key, versionId: first.VersionId! }), { 'integrator-upload': 'partial' });
  assert.deepEqual(await files.tags({ key: Key, versionId: second.VersionId! }), {});

  // A copy of the older version copies its bytes; deleting a version that is not current leaves the key as it is.
  assert.equal(await files.copy({ key: Key, versionId: first.VersionId! }, 'archive/acme/first.csv'), true);
  const archived = await s3.send(new GetObjectCommand({ Bucket, Key: 'archive/acme/first.csv' }));
  assert.equal(await archived.Body!.transformToString(), 'first\n');
  assert.equal(await files.remove({ key: Key, versionId: first.VersionId! }), true);
  assert.equal(await files.head(Key, first.VersionId), undefined);
  assert.equal(await read(), 'second, longer\n');
  // Deleting the current version: the key is gone once no older version is left.
  const third = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'third\n' }));
  assert.equal(await files.remove({ key: Key, versionId: third.VersionId! }), true);
  assert.equal(await read(), 'second, longer\n', 'the previous version is current again, as in S3');
  assert.equal(await files.remove({ key: Key, versionId: second.VersionId! }), true);
  assert.equal(await files.head(Key), undefined);
  // Hidden versions are not listed under the customer's prefixes.
  const listed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'inbound/acme/' }));
  assert.ok(!(listed.Contents ?? []).some((o) => o.Key?.includes('~versions')));
});

// Transfer Family's upload-completed event names the key, ETag and end time, not the version: the import finds the
// version by ETag (FileStore.versionOf), which needs ListObjectVersions in AWS and in the twin (s3-versions.ts).
test('versionOf finds the newest version of exactly that key with that ETag, not after the given time', async () => {
  const s3 = s3Client(parts.config);
  const Bucket = parts.bucket;
  const Key = 'inbound/acme/again & again.csv';
  const files = s3FileStore(s3, { bucket: Bucket });
  const put = (Body: string, key = Key) => s3.send(new PutObjectCommand({ Bucket, Key: key, Body }));
  const first = await put('a,b\n1,2\n');
  const second = await put('a,b\n3,4\n');
  const beforeThird = new Date();
  // LastModified has 1-second resolution (versionOf allows 1 s of slack): the third version lands seconds later.
  await new Promise((resolve) => setTimeout(resolve, 2100));
  const third = await put('a,b\n1,2\n');
  const other = await put('a,b\n5,6\n', `${Key}.bak`);
  assert.ok(first.ETag && second.ETag && other.ETag && first.ETag === third.ETag && first.ETag !== second.ETag);

  assert.equal((await files.versionOf(Key, first.ETag))?.versionId, third.VersionId);
  assert.equal((await files.versionOf(Key, first.ETag.replace(/"/g, '')))?.versionId, third.VersionId);
  assert.equal((await files.versionOf(Key, first.ETag, beforeThird))?.versionId, first.VersionId);
  assert.equal((await files.versionOf(Key, second.ETag))?.versionId, second.VersionId);
  assert.equal(await files.versionOf(Key, second.ETag, new Date(beforeThird.getTime() - 60_000)), undefined);
  assert.equal(await files.versionOf(Key, '"0123456789abcdef0123456789abcdef"'), undefined);
  // Another key sharing the prefix is never taken for this one.
  assert.equal(await files.versionOf(Key, other.ETag), undefined);
  assert.equal((await files.versionOf(`${Key}.bak`, other.ETag))?.versionId, other.VersionId);
  const found = await files.versionOf(Key, first.ETag, beforeThird);
  assert.equal(found?.key, Key);
  assert.equal(found?.size, 'a,b\n1,2\n'.length);

  // The listing itself, as S3 answers it: newest first per key, only the current one latest, hidden keys never listed.
  const listed = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: 'inbound/acme/again' }));
  assert.deepEqual(
    (listed.Versions ?? []).map((v) => [v.Key, v.VersionId, v.IsLatest]),
    [
      [Key, third.VersionId, true],
      [Key, second.VersionId, false],
      [Key, first.VersionId, false],
      [`${Key}.bak`, other.VersionId, true],
    ],
  );
  const everything = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: '' }));
  assert.ok((everything.Versions ?? []).length >= 4);
  assert.ok(!(everything.Versions ?? []).some((v) => v.Key?.includes('~versions')));
  // Paging by key and version marker returns the same versions, one at a time.
  const paged: string[] = [];
  let markers: { KeyMarker?: string; VersionIdMarker?: string } = {};
  for (let page = 0; page < 10; page++) {
    const out = await s3.send(new ListObjectVersionsCommand({ Bucket, Prefix: Key, MaxKeys: 1, ...markers }));
    paged.push(...(out.Versions ?? []).map((v) => v.VersionId!));
    if (!out.IsTruncated) break;
    markers = { KeyMarker: out.NextKeyMarker, VersionIdMarker: out.NextVersionIdMarker };
  }
  assert.deepEqual(paged, [third.VersionId, second.VersionId, first.VersionId, other.VersionId]);
});
