/**
 * A field named like a property every JavaScript object has (`constructor`, `toString`): before the rule, a custom
 * unique key named `constructor` read Object.prototype.constructor for an empty cell and the import threw.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diskSortScratch } from '../../functions/adapters/disk-sort.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { withCustomFields } from '../../functions/core/transfer/custom-fields.ts';
import { importFile } from '../../functions/core/transfer/import-file.ts';
import { defaultImportJob, type ImportJob } from '../../functions/core/transfer/jobs.ts';
import { startRun } from '../../functions/core/transfer/runs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { bytes, fixedClock, MemoryRecords, MemoryRunLog } from '../fixtures/memory-ports.ts';

for (const name of ['constructor', 'toString', 'valueOf']) {
  test(`an empty cell of a sync key named ${name} is a row error, not a crash`, async () => {
    const base = templates.byId('fn_custom_data_import')!;
    const declared = { id: name, title: 'Key', type: 'string' as const };
    const template = withCustomFields(base, [declared]);
    const job: ImportJob = {
      ...defaultImportJob('acme', 'fn_profile_import', 'j1'),
      templateId: base.id,
      customFields: [{ ...declared, unique: true }],
      syncKey: name,
      mapping: [
        { column: 'Employee ID', field: 'employeeId' },
        { column: 'Key', field: name },
      ],
    };
    const clock = fixedClock();
    const records = new MemoryRecords();
    const text = 'Employee ID,Key\r\nE1,\r\nE2,k2\r\n';
    const { run } = await importFile(
      { openCsv, scratch: diskSortScratch(), records, runLog: new MemoryRunLog(), clock },
      {
        run: startRun({
          org: 'acme',
          runId: 'r1',
          now: clock.now(),
          file: { key: 'inbound/acme/f.csv', name: 'f.csv', size: text.length, etag: 'e' },
        }),
        job,
        template,
        source: () => bytes(text),
        fileName: 'fn_custom_data_import_20261124.csv',
      },
    );
    assert.equal(run.status, 'incomplete');
    assert.equal(run.counts.failed, 1);
    assert.equal(run.counts.created, 1);
  });
}
