/**
 * The csv-spectrum acid test (node_modules/csv-spectrum): every csvs/NAME.csv must read as exactly json/NAME.json,
 * an array of objects mapping header -> value. Each file is also fed in 1-byte and 7-byte chunks so that quotes,
 * CRLF pairs and multi-byte characters cut by chunk boundaries are covered.
 *
 * Corpus errata (csv-spectrum 2.0.0, both open upstream), corrected here rather than in our reader:
 * - json/location_coordinates.json holds an object rather than an array of one (max-mapper/csv-spectrum#22).
 * - its "Contact Phone Number" is 1234567890 while the CSV says 2095257564 (max-mapper/csv-spectrum#20): we expect
 *   what the CSV holds.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import { chunked } from '../support/csv-sources.ts';

const root = dirname(createRequire(import.meta.url).resolve('csv-spectrum/package.json'));
const names = readdirSync(join(root, 'csvs'))
  .filter((file) => file.endsWith('.csv'))
  .map((file) => basename(file, '.csv'))
  .sort();

type Expected = Record<string, string>[];

const errata: Record<string, (expected: Expected) => Expected> = {
  location_coordinates: (expected) => {
    assert.equal(expected[0]?.['Contact Phone Number'], '1234567890', 'upstream fixed #20: remove this erratum');
    return [{ ...expected[0], 'Contact Phone Number': '2095257564' }];
  },
};

function expectedFor(name: string): Expected {
  const json: unknown = JSON.parse(readFileSync(join(root, 'json', `${name}.json`), 'utf8'));
  const expected = (Array.isArray(json) ? json : [json]) as Expected;
  return errata[name]?.(expected) ?? expected;
}

async function readObjects(bytes: Uint8Array, chunkSize: number, fileName: string) {
  const opened = await openCsv(chunked(bytes, chunkSize), { fileName });
  const objects: Record<string, string>[] = [];
  for await (const row of opened.rows) {
    assert.equal(row.problem, undefined, row.problem?.message);
    objects.push(Object.fromEntries(opened.header.map((name, i) => [name, row.values[i]!])));
  }
  return { encoding: opened.encoding, objects };
}

describe('csv-spectrum', () => {
  it('finds the whole corpus', () => {
    assert.ok(names.length >= 12, `only ${names.length} cases found in ${root}`);
  });

  for (const name of names) {
    it(name, async () => {
      const bytes = readFileSync(join(root, 'csvs', `${name}.csv`));
      const expected = expectedFor(name);
      for (const chunkSize of [bytes.length, 1, 7]) {
        const { encoding, objects } = await readObjects(bytes, chunkSize, `${name}.csv`);
        assert.equal(encoding, 'utf-8');
        assert.deepEqual(objects, expected, `${name}.csv in chunks of ${chunkSize} bytes`);
      }
    });
  }
});
