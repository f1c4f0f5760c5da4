/**
 * (e) Not one of the targets: the import engine itself (importFile: census of duplicate keys, parse, map, validate,
 * content hash, batching, checkpoints) on the file of (a) and (b), with stores that answer at once (no record exists,
 * every write succeeds). What (c) costs beyond the engine is the record store's round trips; how the engine's memory
 * grows with the file shows here, where a million rows is cheap.
 */
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { type DiskSortStats, diskSortScratch } from '../../functions/adapters/disk-sort.ts';
import type { RecordStore, RunLog } from '../../functions/core/ports.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { importFile } from '../../functions/core/transfer/import-file.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { startRun } from '../../functions/core/transfer/runs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { measure } from './measure.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: engine-null-store.ts FILE');

const job = defaultImportJob('bench', 'fn_profile_import', 'bench-job');
const template = templates.byId(job.templateId)!;
let writes = 0;
const sortStats: DiskSortStats = { runsWritten: 0, bytesSpilled: 0 };
const records: RecordStore = {
  current: async () => new Map(),
  apply: async (batch) => {
    writes += batch.length;
    return batch.map(() => ({ effect: 'created' as const, wrote: true }));
  },
};
const runLog: RunLog = {
  save: async () => {},
  get: async () => undefined,
  addErrors: async () => {},
  errors: async function* () {},
};
const now = new Date();
const size = statSync(file).size;

await measure('(e) engine, no-op stores', size, async () => {
  const { run } = await importFile(
    { openCsv, scratch: diskSortScratch({ stats: sortStats }), records, runLog, clock: { now: () => new Date() } },
    {
      run: startRun({ org: 'bench', runId: 'bench', now, file: { key: file, name: basename(file), size, etag: 'x' } }),
      job,
      template,
      source: () => createReadStream(file),
      fileName: basename(file),
    },
  );
  return {
    rows: run.counts.rows,
    notes: `${run.status}: ${run.counts.created} created (${writes} writes handed to the store), ${run.counts.failed} failed; census spilled ${sortStats.runsWritten} sorted runs (${(sortStats.bytesSpilled / 2 ** 20).toFixed(1)} MB) to disk`,
  };
});
