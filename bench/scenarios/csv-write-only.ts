/**
 * (g) The CSV writer alone on the same rows as (f): the case rows of the same demo data (same seed, same count),
 * joined and mapped in memory, then written by csv/write-csv.ts with the job's options into a sink that only counts
 * bytes. What the export costs beyond writing CSV is (f) against this.
 */
import { writeCsv } from '../../functions/core/transfer/csv/write-csv.ts';
import { compileColumns } from '../../functions/core/transfer/export-engine.ts';
import { defaultExportJob } from '../../functions/core/transfer/export-jobs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { demoRecords } from '../../lib/local/demo-data.ts';
import { measure } from './measure.ts';

const [peopleArg, seedArg] = process.argv.slice(2);
const people = Number(peopleArg);
const template = templates.byId('case_status_export')!;
const job = defaultExportJob('bench', template, 'cases');
const columns = compileColumns(job, template);

/** The rows (f) writes, as cells: case fields, the person's names and e-mail, the key. */
function* rows(): Generator<string[]> {
  for (const records of demoRecords({ org: 'bench', people, seed: Number(seedArg ?? 1) })) {
    const person = records[0]!.set;
    for (const r of records) {
      if (r.entity !== 'case') continue;
      const values: Record<string, string> = {};
      for (const f of template.fields) values[f.id] = f.id === 'caseId' ? r.key : (r.set[f.id] ?? person[f.id] ?? '');
      yield columns.map((c) => {
        const out = c.run(values);
        return out.ok ? out.cell : '';
      });
    }
  }
}

// Materialized first (not timed), so the measurement is the writer's alone.
const all = [...rows()];
let bytes = 0;
await measure('(g) CSV writer alone, same rows', 0, async () => {
  for await (const chunk of writeCsv(
    columns.map((c) => c.heading),
    all,
    job.csv,
  ))
    bytes += Buffer.byteLength(chunk, 'utf8');
  return { rows: all.length, bytes };
});
