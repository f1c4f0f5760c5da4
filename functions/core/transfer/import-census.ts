/**
 * The census stage of the import engine (import-file.ts): the first reading of the file, every row judged as the
 * import will judge it (import-rows.ts `rowJudge`) and its record key counted (duplicate-keys.ts), so the duplicate-key
 * rule does not depend on where a batch or an invocation ends. A file that turns unreadable part-way is read as far
 * as it goes; the second reading stops at the same place and reports it. The claim is renewed every
 * CENSUS_KEEP_EVERY rows (a census of millions of rows takes minutes).
 */
import { FileProblem } from '../problems.ts';
import type { CsvRow } from './csv/types.ts';
import type { KeyCensus } from './duplicate-keys.ts';
import type { RowJudge } from './import-rows.ts';

/** Rows of the census between two heartbeats of the claim. */
export const CENSUS_KEEP_EVERY = 1_000;

/** Reads `rows` to their end (or to the first unreadable place) into `census`; the number of the last row read. */
export async function takeCensus(
  rows: AsyncIterable<CsvRow>,
  judge: RowJudge,
  census: KeyCensus,
  holdClaim: () => Promise<void>,
): Promise<number> {
  let lastRow = 0;
  try {
    let censused = 0;
    for await (const row of rows) {
      lastRow = row.rowNumber;
      if (++censused % CENSUS_KEEP_EVERY === 0) await holdClaim();
      const evaluated = judge.evaluate(row);
      if (evaluated.filtered || evaluated.recordKey === undefined) continue;
      const adding = census.add(evaluated.recordKey, row.rowNumber, evaluated.problems.length === 0);
      if (adding) await adding;
    }
  } catch (err) {
    if (!(err instanceof FileProblem)) throw err;
  }
  return lastRow;
}
