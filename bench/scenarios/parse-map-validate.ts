/**
 * (b) Our parse + map + validate core on the same file as (a): openCsv (decode, csv-parse, header checks) -> the
 * default job's mapping resolved against the header -> per row mapRow and validateRow for fn_profile_import, as
 * importFile runs them. No I/O besides reading the file; no record store, no duplicate-key census, no hashing.
 */
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { defaultImportJob } from '../../functions/core/transfer/jobs.ts';
import { mapRow, resolveHeader } from '../../functions/core/transfer/mapping.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { validateRow } from '../../functions/core/transfer/validate.ts';
import { measure } from './measure.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: parse-map-validate.ts FILE');

const job = defaultImportJob('bench', 'fn_profile_import', 'bench-job');
const template = templates.byId(job.templateId)!;

await measure('(b) parse + map + validate', statSync(file).size, async () => {
  const opened = await openCsv(createReadStream(file), { fileName: basename(file), delimiter: job.delimiter });
  const header = resolveHeader(opened.header, job.mapping, template, job.syncKey);
  if (header.missingRequired.length > 0) throw new Error(`header lacks ${header.missingRequired[0]?.column}`);
  let rows = 0;
  let invalid = 0;
  for await (const row of opened.rows) {
    rows++;
    if (row.problem) {
      invalid++;
      continue;
    }
    if (validateRow(template, mapRow(row.values, header)).length > 0) invalid++;
  }
  return { rows, notes: `${invalid} invalid rows, ${opened.encoding}` };
});
