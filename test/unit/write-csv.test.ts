import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startsLikeFormula } from '../../functions/core/transfer/csv/formula-guard.ts';
import { openCsv } from '../../functions/core/transfer/csv/read-csv.ts';
import {
  csvLineWriter,
  csvWriteOptions,
  csvWriteProblems,
  writeCsv,
} from '../../functions/core/transfer/csv/write-csv.ts';

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const c of chunks) out += c;
  return out;
}

test('RFC 4180 quoting: delimiter, quote, CR, LF and edge spaces are quoted; quotes doubled', () => {
  const w = csvLineWriter(csvWriteOptions({ bom: false, neutralizeFormulas: false }));
  assert.equal(
    w.line(['a', 'b,c', 'say "hi"', 'x\ny', 'r\rs', ' lead', 'trail ', '']),
    'a,"b,c","say ""hi""","x\ny","r\rs"," lead","trail ",\r\n',
  );
  const semi = csvLineWriter(csvWriteOptions({ delimiter: ';', lineEnding: 'lf' }));
  assert.equal(semi.line(['a,b', 'c;d']), 'a,b;"c;d"\n');
  const tab = csvLineWriter(csvWriteOptions({ delimiter: '\t', neutralizeFormulas: false }));
  assert.equal(tab.line(['a b', 'c\td']), 'a b\t"c\td"\r\n');
});

test('formula cells are neutralized by default (OWASP) and left alone with the switch off', () => {
  const people = csvLineWriter(csvWriteOptions());
  const machines = csvLineWriter(csvWriteOptions({ neutralizeFormulas: false }));
  for (const cell of ['=1+1', '+49 30 1234', '-5', '@SUM(A1)', '\tx', '\rx', ' =cmd', '＝1']) {
    assert.ok(startsLikeFormula(cell), JSON.stringify(cell));
    assert.match(people.cell(cell), /^"?'/, JSON.stringify(cell));
    assert.doesNotMatch(machines.cell(cell), /^"?'/, JSON.stringify(cell));
  }
  assert.equal(people.cell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
  for (const cell of ['Ana', 'a=b', 'x@example.com', 'E-1', '2026-12-01']) assert.equal(people.cell(cell), cell);
});

test('BOM and line endings; the file reads back to the same cells', async () => {
  const rows = [
    ['E1', 'Ana, Maria', '=2+3'],
    ['E2', 'Zoë "Z"', 'multi\nline'],
  ];
  const withBom = await text(writeCsv(['id', 'name', 'note'], rows, csvWriteOptions({ neutralizeFormulas: false })));
  assert.ok(withBom.startsWith('\uFEFFid,name,note\r\n'));
  assert.ok(withBom.endsWith('\r\n'));
  const lf = await text(writeCsv(['id'], [['1']], csvWriteOptions({ bom: false, lineEnding: 'lf' })));
  assert.equal(lf, 'id\n1\n');
  // Our own reader (BOM-aware, RFC 4180) gets the very cells back.
  const bytes = new TextEncoder().encode(withBom);
  const opened = await openCsv(
    (async function* () {
      yield bytes;
    })(),
    { fileName: 'x.csv', delimiter: ',' },
  );
  assert.deepEqual([...opened.header], ['id', 'name', 'note']);
  const back: string[][] = [];
  for await (const r of opened.rows) back.push([...r.values]);
  assert.deepEqual(back, rows);
});

test('chunks hold many lines, never the whole file', async () => {
  const rows = Array.from({ length: 5000 }, (_, i) => [`E${i}`, 'x'.repeat(50)]);
  const chunks: string[] = [];
  for await (const c of writeCsv(['id', 'v'], rows, csvWriteOptions(), 16 * 1024)) chunks.push(c);
  assert.ok(chunks.length > 10);
  assert.ok(chunks.every((c) => c.length < 16 * 1024 + 200));
});

test('option problems name the option', () => {
  assert.deepEqual(csvWriteProblems(undefined), []);
  assert.deepEqual(csvWriteProblems({ delimiter: ',', bom: true, lineEnding: 'lf', neutralizeFormulas: false }), []);
  const problems = csvWriteProblems({ delimiter: 'ab', bom: 'yes', lineEnding: 'cr', quote: "'" }, 'csv');
  assert.equal(problems.length, 4);
  assert.match(problems[0]!, /csv\.delimiter/);
  assert.match(problems[1]!, /csv\.bom/);
  assert.match(problems[2]!, /csv\.lineEnding/);
  assert.match(problems[3]!, /csv\.quote is not an option/);
});
