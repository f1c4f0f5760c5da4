/**
 * The DynamoDB tables, defined once. The CDK storage construct and the local twin both build their tables from this
 * list, so a key or index added here exists in AWS and on a developer's machine alike.
 *
 * Every key starts with the organization id: tenant isolation is part of the key design, not a filter applied later.
 */
export type AttributeType = 'S' | 'N';

export interface KeyAttribute {
  name: string;
  type: AttributeType;
}

export interface IndexDefinition {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
}

export interface TableDefinition {
  /** Logical id: the CDK construct id and the local table name. */
  id: TableId;
  description: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  globalIndexes?: IndexDefinition[];
  /** Attribute holding an epoch-seconds expiry, for items that age out (idempotency claims). */
  timeToLiveAttribute?: string;
  /** Customer data lives here: deletion protection on, retained when the stack is deleted. */
  holdsCustomerData: boolean;
  /**
   * A change stream (DynamoDB Streams in AWS, DynamoDB Local's streams on the twin) with the images it carries: the
   * calendar push is driven by the CalendarEvents table's.
   */
  stream?: 'NEW_AND_OLD_IMAGES' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'KEYS_ONLY';
}

/**
 * Shards of the Records table's index key `orgEntity` (`<org>#<entity>#<n>`, n in 0..N-1 from a hash of the record
 * key, functions/core/transfer/records.ts orgEntityShard). One index partition takes about 1,000 write units a second
 * in AWS; without shards every record of one organization and entity would write the same index partition, holding
 * one organization's import near 1,000 rows/s whatever the writers. 16 shards lift that to about 16,000 rows/s, above
 * what the Lambda fan-out of one file reaches; readers query all 16 and merge (dynamodb-system-of-record.ts). Fixed:
 * changing it means re-keying every record (scripts/shard-records-index.ts).
 */
export const RECORDS_INDEX_SHARDS = 16;

export type TableId =
  | 'Organizations'
  | 'Jobs'
  | 'Runs'
  | 'RunErrors'
  | 'Files'
  | 'Records'
  | 'Notifications'
  | 'PublishedEvents'
  | 'CalendarEvents'
  | 'CalendarConnections'
  | 'CalendarLinks'
  | 'CalendarGrants';

export const tables: readonly TableDefinition[] = [
  {
    id: 'Organizations',
    description: 'One item per organization: name, allowed record limit, integration contacts.',
    partitionKey: { name: 'org', type: 'S' },
    holdsCustomerData: true,
  },
  {
    id: 'Jobs',
    description: 'Import and export jobs of an organization: template, mapping, options, draft or launched.',
    partitionKey: { name: 'org', type: 'S' },
    sortKey: { name: 'jobId', type: 'S' },
    holdsCustomerData: true,
  },
  {
    id: 'Runs',
    description: 'One item per run of a job: status, start and end, counts, file. runId sorts by start time.',
    partitionKey: { name: 'org', type: 'S' },
    sortKey: { name: 'runId', type: 'S' },
    // Sparse: `listedIn` is `<org>#needs-attention` / `<org>#completed` (the reports' lists, runs.ts viewOf) or
    // `running` (every organization's running runs, for the run watch; no `#`, so no tenant session can query it).
    globalIndexes: [
      { indexName: 'byList', partitionKey: { name: 'listedIn', type: 'S' }, sortKey: { name: 'runId', type: 'S' } },
    ],
    holdsCustomerData: true,
  },
  {
    id: 'RunErrors',
    description:
      'Per-record errors of a run, one item per failed row, so every failed record can be found and retried.',
    partitionKey: { name: 'orgRun', type: 'S' },
    sortKey: { name: 'seq', type: 'S' },
    holdsCustomerData: true,
  },
  {
    id: 'Files',
    description:
      'The arrival ledger: one item per received object version; claims make event redelivery harmless and record each outcome.',
    partitionKey: { name: 'org', type: 'S' },
    sortKey: { name: 'fileId', type: 'S' },
    // Sparse: only a pending entry (waiting for its job's scheduled run) carries `pendingOf` (its organization).
    globalIndexes: [
      {
        indexName: 'byPending',
        partitionKey: { name: 'pendingOf', type: 'S' },
        sortKey: { name: 'fileId', type: 'S' },
      },
    ],
    holdsCustomerData: true,
  },
  {
    id: 'Records',
    description:
      'The system of record: imported records and the entities the case-management system writes (cases, visas, passports, documents, petitions). The partition key spreads one organization over many partitions (org#entity#key); byOrgEntity lists them per organization and entity, byOrgEntityChange by change sequence, both under the sharded key orgEntity = org#entity#<shard> (RECORDS_INDEX_SHARDS); byPerson lists the records of one person per entity. Each organization also has one change-sequence counter item (pk org#~changeSequence).',
    partitionKey: { name: 'pk', type: 'S' },
    globalIndexes: [
      {
        indexName: 'byOrgEntity',
        partitionKey: { name: 'orgEntity', type: 'S' },
        sortKey: { name: 'recordKey', type: 'S' },
      },
      {
        // What changed since a mark: an incremental export reads the records whose change sequence is above it.
        indexName: 'byOrgEntityChange',
        partitionKey: { name: 'orgEntity', type: 'S' },
        sortKey: { name: 'changeSeq', type: 'N' },
      },
      {
        // Sparse: a record of another entity that names its person (a case's employeeId) carries `personOf` =
        // org#entity#<person>, so an incremental export finds the cases of a person whose name changed.
        indexName: 'byPerson',
        partitionKey: { name: 'personOf', type: 'S' },
        sortKey: { name: 'recordKey', type: 'S' },
      },
    ],
    holdsCustomerData: true,
  },
  {
    id: 'Notifications',
    description:
      'The notifications outbox: one item per event (run failed, run overdue, scheduled run missed), claimed with a conditional write before its e-mail is sent, so each event is e-mailed once.',
    partitionKey: { name: 'org', type: 'S' },
    sortKey: { name: 'eventKey', type: 'S' },
    // Sparse: only an entry not yet sent carries `unsent` (its organization): the run watch's retries read these.
    globalIndexes: [
      { indexName: 'byUnsent', partitionKey: { name: 'unsent', type: 'S' }, sortKey: { name: 'eventKey', type: 'S' } },
    ],
    timeToLiveAttribute: 'expiresAt',
    holdsCustomerData: false,
  },
  {
    id: 'PublishedEvents',
    description:
      'Integration events published to the event bus: one marker per event id (core/integration-events.ts), written after the bus accepted it, so a retried handler does not publish the same fact again.',
    partitionKey: { name: 'org', type: 'S' },
    sortKey: { name: 'eventId', type: 'S' },
    timeToLiveAttribute: 'expiresAt',
    holdsCustomerData: false,
  },
  {
    id: 'CalendarEvents',
    description:
      'Our calendar (issue 14): appointments, court dates, interview dates and case step reminders per case manager. Its stream (old and new images) drives the push to external calendars; flush markers (eventId ~flush#..., expiresAt) travel the same stream.',
    partitionKey: { name: 'org', type: 'S' },
    sortKey: { name: 'eventId', type: 'S' },
    // A case manager's events by start: ownerKey is `<org>#<caseManagerId>`, startKey the start's wall time.
    globalIndexes: [
      {
        indexName: 'byCaseManager',
        partitionKey: { name: 'ownerKey', type: 'S' },
        sortKey: { name: 'startKey', type: 'S' },
      },
    ],
    timeToLiveAttribute: 'expiresAt',
    stream: 'NEW_AND_OLD_IMAGES',
    holdsCustomerData: true,
  },
  {
    id: 'CalendarConnections',
    description:
      'Calendar sync settings of an organization, one partition per organization: the subscription (itemKey `subscription`), case managers (`manager#<userId>`), connections (`connection#<id>`: provider, account, calendar, status, inbound subscription/channel ids, delta link or sync token) and OAuth states (`state#<token>`, with the PKCE verifier, expiring after ten minutes).',
    partitionKey: { name: 'org', type: 'S' },
    sortKey: { name: 'itemKey', type: 'S' },
    // Sparse: only a connection whose pushes are paused (Google's daily quota) carries `pauseList` (`paused`, no `#`,
    // so no tenant session can query it), sorted by when the pause lapses: the resume check reads the lapsed ones of
    // every organization. Few connections are ever paused at once, so one partition is no hot spot.
    globalIndexes: [
      {
        indexName: 'byPause',
        partitionKey: { name: 'pauseList', type: 'S' },
        sortKey: { name: 'pausedUntil', type: 'S' },
      },
    ],
    timeToLiveAttribute: 'expiresAt',
    holdsCustomerData: true,
  },
  {
    id: 'CalendarLinks',
    description:
      'Per connection and event: the external event id and version (etag / changeKey), what we last wrote, the queued change and the parked failure. connKey is `<org>#<connectionId>`; parked ones are listed per organization by byParked (sparse).',
    partitionKey: { name: 'connKey', type: 'S' },
    sortKey: { name: 'eventId', type: 'S' },
    globalIndexes: [
      {
        indexName: 'byParked',
        partitionKey: { name: 'parkedList', type: 'S' },
        sortKey: { name: 'parkedKey', type: 'S' },
      },
    ],
    holdsCustomerData: true,
  },
  {
    id: 'CalendarGrants',
    description:
      'The grant vault: per connection its OAuth grant (refresh token, MSAL token cache) envelope-encrypted (KMS data key + AES-256-GCM). grantKey is `<org>#<connectionId>`.',
    partitionKey: { name: 'grantKey', type: 'S' },
    holdsCustomerData: true,
  },
];

export function tableDefinition(id: TableId): TableDefinition {
  const table = tables.find((t) => t.id === id);
  if (!table) throw new Error(`unknown table ${id}`);
  return table;
}

/** Environment variable through which a handler learns a table's physical name (set by CDK and by the twin). */
export function tableEnvName(id: TableId): string {
  return `TABLE_${id.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`;
}
