/** Baseline (a): csv-parse alone, streaming the file, no decoding, mapping or validation. */
import { createReadStream, statSync } from 'node:fs';
import { parse } from 'csv-parse';
import { measure } from './measure.ts';

const file = process.argv[2];
if (!file) throw new Error('usage: csv-parse-only.ts FILE');

await measure('(a) csv-parse alone', statSync(file).size, async () => {
  let rows = 0;
  for await (const _record of createReadStream(file).pipe(parse({ relax_column_count: true }))) rows++;
  return { rows: rows - 1 };
});
