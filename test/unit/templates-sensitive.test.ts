/**
 * Sensitive fields end to end: a passport file (and an employment file with salaries) run through the import engine
 * with the templates as shipped; no raw passport number or salary may appear in the run, its row errors or the
 * customer's outcome file. The masking itself is validate.ts's maskValue; the templates decide what is sensitive.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diskSortScratch } from '../../functions/adapters/disk-sort.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { importFile } from '../../functions/core/transfer/import-file.ts';
import { defaultImportJob, type ImportJob } from '../../functions/core/transfer/jobs.ts';
import { outcomeLines } from '../../functions/core/transfer/outcome.ts';
import { type RowError, startRun } from '../../functions/core/transfer/runs.ts';
import { templates } from '../../functions/core/transfer/templates.ts';
import { maskValue } from '../../functions/core/transfer/validate.ts';
import { bytes, fixedClock, MemoryRecords, MemoryRunLog } from '../fixtures/memory-ports.ts';

async function runFile(templateId: string, fileName: string, text: string, job?: Partial<ImportJob>) {
  const template = templates.byId(templateId)!;
  const records = new MemoryRecords();
  const runLog = new MemoryRunLog();
  const clock = fixedClock();
  const run = startRun({
    org: 'acme',
    runId: 'run-1',
    now: clock.now(),
    file: { key: `inbound/acme/${fileName}`, name: fileName, size: text.length, etag: 'e' },
  });
  const result = await importFile(
    { openCsv, scratch: diskSortScratch(), records, runLog, clock, batchSize: 2 },
    {
      run,
      job: { ...defaultImportJob('acme', templateId, 'job-1'), ...job },
      template,
      source: () => bytes(text),
      fileName,
    },
  );
  const errors = runLog.errorList('acme', 'run-1');
  async function* iterate(): AsyncIterable<RowError> {
    yield* errors;
  }
  let outcome = '';
  for await (const line of outcomeLines(result.run.header ?? [], iterate())) outcome += line;
  return { run: result.run, errors, outcome, records };
}

const PASSPORT_HEADER =
  'Employee ID,Passport Record ID,Passport Number,Issuing Country,Nationality,Issue Date,Expiry Date,Place of Issue,Primary Passport';

test('passport numbers are masked in every row error and the outcome file, whatever the rule broken', async () => {
  const numbers = ['K1234567', 'z9876543', 'P7654321', 'M1112223', 'X5556667'];
  const text = `${[
    PASSPORT_HEADER,
    `E1,,${numbers[0]},IN,IN,2021-06-01,2031-05-31,Mumbai,Yes`, // valid
    `E2,,${numbers[1]},IN,IN,2021-06-01,2031-05-31,Delhi,Yes`, // lower case: invalid format
    `E3,,${numbers[2]},DE,DE,2031-06-01,2021-05-31,Berlin,Yes`, // expiry before issue
    `E1,,${numbers[3]},US,US,2020-01-01,2030-01-01,Boston,No`, // E1 twice
    `E4,,${numbers[4]},india,IN,2021-06-01,2031-05-31,Pune,maybe`, // other fields wrong: the number still masked
  ].join('\r\n')}\r\n`;
  const { run, errors, outcome, records } = await runFile(
    'fn_passport_import',
    'fn_passport_import_20260101.csv',
    text,
  );
  assert.equal(run.status, 'incomplete');
  assert.equal(run.counts.created, 1);
  assert.deepEqual(
    errors.map((e) => [e.row, e.problems.map((p) => p.code)]),
    [
      [2, ['duplicate_key']],
      [3, ['invalid_format']],
      [4, ['date_order']],
      [5, ['duplicate_key']],
      [6, ['invalid_format', 'not_allowed']],
    ],
  );
  const shown = JSON.stringify({ run, errors }) + outcome;
  for (const n of numbers) assert.ok(!shown.includes(n), `passport number ${n} leaked`);
  const formatError = errors.find((e) => e.row === 3)!;
  assert.equal(formatError.problems[0]?.value, maskValue(numbers[1]!));
  assert.match(
    formatError.problems[0]!.message,
    /"Passport Number" value "\*\*\*\*43" must be 5 to 20 capital letters/,
  );
  assert.equal(formatError.values?.[2], maskValue(numbers[1]!));
  assert.match(
    errors.find((e) => e.row === 4)!.problems[0]!.message,
    /must be a date after the Issue Date \(2031-06-01\)/,
  );
  assert.match(outcome, /\*\*\*\*21/);
  // The stored record keeps the real number: masking is for what is shown, not what is imported.
  const stored = [...records.items.values()][0]!;
  assert.equal(stored.passportNumber, numbers[0]);
});

test('with Passport Record ID as the sync key a person keeps several passports; the number is never a key', async () => {
  const t = templates.byId('fn_passport_import')!;
  assert.ok(!t.syncKeyCandidates.includes('passportNumber'));
  const job = { ...defaultImportJob('acme', 'fn_passport_import', 'job-1'), syncKey: 'passportRecordId' };
  const text = `${[
    PASSPORT_HEADER,
    'E1,E1-IN,K1234567,IN,IN,2021-06-01,2031-05-31,Mumbai,Yes',
    'E1,E1-DE,C7654321,DE,DE,2022-06-01,2032-05-31,Berlin,No', // a second passport of the same person
  ].join('\r\n')}\r\n`;
  const { run, errors } = await runFile('fn_passport_import', 'fn_passport_import_20260101.csv', text, job);
  assert.equal(run.status, 'completed');
  assert.equal(run.counts.created, 2);
  assert.deepEqual(errors, []);
});

test('salaries are masked in employment row errors', async () => {
  const header =
    'Employee ID,Legal Entity,Employment Type,Full/Part Time,Hours per Week,Job Title,SOC Code,Annual Salary,Salary Currency,Work Address Line 1,Work Address Line 2,Work City,Work State,Work Postal Code,Work Country,Start Date,End Date';
  const text = `${header}\r\nE1,Acme Inc.,Regular,Full-time,40,Engineer,15-1252,"123,456.78",USD,1 Main St,,Boston,MA,02139,US,2024-01-01,\r\n`;
  const { errors, outcome } = await runFile('fn_employment_import', 'fn_employment_import_20260101.csv', text);
  assert.equal(errors[0]?.problems[0]?.code, 'invalid_format');
  const shown = JSON.stringify(errors) + outcome;
  assert.ok(!shown.includes('456.78'), 'the salary leaked');
  assert.ok(shown.includes('02139'), 'the other cells stay as received');
});
