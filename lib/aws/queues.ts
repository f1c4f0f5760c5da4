import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * A construct's queues, all encrypted with one customer-managed key of its own (construct id `QueueKey`, kept so a
 * deployed key and its queues stay), SSL only, 14 days' retention unless the queue says otherwise. The key is the
 * construct's, so a sender is granted exactly its GenerateDataKey and nothing of other queues.
 */
export function encryptedQueues(
  scope: Construct,
  keyDescription: string,
): { key: kms.Key; queue(id: string, extra?: Partial<sqs.QueueProps>): sqs.Queue } {
  const key = new kms.Key(scope, 'QueueKey', {
    description: keyDescription,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return {
    key,
    queue: (id, extra = {}) =>
      new sqs.Queue(scope, id, {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: key,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        ...extra,
      }),
  };
}
