import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { templates } from '../../functions/core/transfer/templates.ts';
import { REFERENCE_FILE, renderTemplateReference } from '../../scripts/template-reference.ts';

test('docs/templates.md is what the schemas render', () => {
  const url = new URL(`../../${REFERENCE_FILE}`, import.meta.url);
  let onDisk = '';
  try {
    onDisk = readFileSync(url, 'utf8');
  } catch {
    assert.fail(`${REFERENCE_FILE} is missing: run \`npm run docs:templates\` and commit it`);
  }
  const rendered = renderTemplateReference();
  if (onDisk !== rendered) {
    const a = onDisk.split('\n');
    const b = rendered.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(
      `${REFERENCE_FILE} is out of date with schemas/templates (first difference at line ${line + 1}):\n` +
        `  file:     ${a[line] ?? '(end of file)'}\n  schemas:  ${b[line] ?? '(end of file)'}\n` +
        'Run `npm run docs:templates` and commit docs/templates.md; never edit it by hand.',
    );
  }
});

test('the reference shows every template and column with its facts', () => {
  const text = renderTemplateReference();
  for (const t of templates.all) {
    assert.match(text, new RegExp(`^## ${t.id}$`, 'm'));
    assert.ok(text.includes(`| [${t.id}](#${t.id}) |`), `${t.id} in the index`);
    for (const f of t.fields) assert.ok(text.includes(`| ${f.title} | \`${f.id}\` |`), `${t.id}.${f.id}`);
  }
  assert.ok(
    text.includes(
      "| Passport Number | `passportNumber` | text: 5 to 20 capital letters and digits, without spaces (use the job's upper-case transform if your system stores lower case) | yes |  | yes: masked in errors, outcome files and logs |",
    ),
  );
  assert.ok(text.includes('| Salary Currency | `salaryCurrency` |'));
  assert.match(text, /\| Salary Currency \| `salaryCurrency` \| [^|]+ \| when Annual Salary is given \|/);
  assert.match(text, /\| Status \| `status` \| [^|]+ \| no \| Active, Inactive, Terminated, Leave \|/);
  assert.match(text, /- Rule: Expiry Date must be after Issue Date when both are given/);
  assert.match(text, /\| Document Number \| `documentNumber` \| [^|]+ \| no \| {2}\| yes: masked, in the file too \|/);
  assert.match(
    text,
    /\| Passport Number \| `passportNumber` \| [^|]+ \| yes \| {2}\| yes: in full in the file, masked elsewhere \|/,
  );
  assert.match(text, /- File name: `fn_Custom_Data_import_YYYYMMDD\.csv` \(letter case ignored/);
  assert.match(text, /\*\*Custom fields\.\*\* .* up to 100 fields/);
});
