import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { diskSortScratch } from '../../functions/adapters/disk-sort.ts';
import { type KeyNote, keyCensus, NoteCursor } from '../../functions/core/transfer/duplicate-keys.ts';

const root = mkdtempSync(join(tmpdir(), 'duplicate-keys-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function notesOf(rows: [string, boolean][], memoryBytes?: number): Promise<KeyNote[]> {
  const census = keyCensus(diskSortScratch({ dir: root, ...(memoryBytes ? { memoryBytes } : {}) }));
  for (const [i, [key, valid]] of rows.entries()) await census.add(key, i + 2, valid);
  const notes: KeyNote[] = [];
  for await (const n of census.notes()) notes.push(n);
  return notes;
}

test('unique keys produce no notes', async () => {
  assert.deepEqual(
    await notesOf([
      ['E1', true],
      ['E2', true],
      ['E3', false],
    ]),
    [],
  );
});

test('a repeated key: the first row is kept and told the next one, later rows repeat it, in row order', async () => {
  const notes = await notesOf([
    ['E1', true], // row 2
    ['E2', true], // row 3
    ['E1', false], // row 4: its own validity does not matter
    ['E3', true], // row 5
    ['E1', true], // row 6
    ['E2', true], // row 7
  ]);
  assert.deepEqual(notes, [
    { kind: 'first', row: 2, nextRow: 4, repeats: 2 },
    { kind: 'first', row: 3, nextRow: 7, repeats: 1 },
    { kind: 'repeat', row: 4, firstRow: 2, firstValid: true },
    { kind: 'repeat', row: 6, firstRow: 2, firstValid: true },
    { kind: 'repeat', row: 7, firstRow: 3, firstValid: true },
  ]);
});

test('when the first row of a key failed, it gets no note and the later rows know it', async () => {
  assert.deepEqual(
    await notesOf([
      ['E1', false],
      ['E1', true],
    ]),
    [{ kind: 'repeat', row: 3, firstRow: 2, firstValid: false }],
  );
});

test('the same notes when the census spills to disk: 20,000 rows, every 7th key repeated', async () => {
  const rows: [string, boolean][] = Array.from({ length: 20_000 }, (_, i) => [
    i % 7 === 6 ? `K${i - 3}` : `K${i}`,
    i % 11 !== 0,
  ]);
  const inMemory = await notesOf(rows);
  const spilled = await notesOf(rows, 4096);
  const groups = Array.from({ length: 20_000 }, (_, i) => i).filter((i) => i % 7 === 6);
  assert.equal(inMemory.filter((n) => n.kind === 'repeat').length, groups.length);
  assert.equal(
    inMemory.filter((n) => n.kind === 'first').length,
    groups.filter((i) => (i - 3) % 11 !== 0).length,
    'a first row that failed gets no note',
  );
  assert.deepEqual(spilled, inMemory);
  assert.deepEqual(readdirSync(root), [], 'scratch space released');
});

test('the note cursor answers rows in order and passes over notes of rows it is not asked for', async () => {
  const cursor = await NoteCursor.open(
    (async function* () {
      yield { kind: 'first', row: 2, nextRow: 9, repeats: 1 } as KeyNote;
      yield { kind: 'repeat', row: 5, firstRow: 1, firstValid: true } as KeyNote;
      yield { kind: 'repeat', row: 9, firstRow: 2, firstValid: true } as KeyNote;
    })(),
  );
  assert.equal(await cursor.at(3), undefined, 'row 2 was skipped (a resumed run)');
  assert.equal(await cursor.at(4), undefined);
  assert.deepEqual(await cursor.at(5), { kind: 'repeat', row: 5, firstRow: 1, firstValid: true });
  assert.equal(await cursor.at(8), undefined);
  assert.equal((await cursor.at(9))?.row, 9);
  assert.equal(await cursor.at(10), undefined);
  await cursor.close();
});
