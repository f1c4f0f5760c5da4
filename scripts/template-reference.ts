/**
 * The template reference, rendered from the schemas (never written twice): `npm run docs:templates` writes
 * docs/templates.md; a unit test fails when the file is not what the schemas render.
 *
 * `npm run docs:templates -- --release` also freezes every template version that has no snapshot yet as
 * schemas/templates/released/<id>@<version>.json (a byte copy of the template file). An existing snapshot is never
 * overwritten: released versions are frozen.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CUSTOM_FIELD_TYPES } from '../functions/core/transfer/custom-fields.ts';
import { CUSTOM_FORMATS } from '../functions/core/transfer/template-ajv.ts';
import { RELEASE_COMMAND, RELEASED_DIR, releasedFileName } from '../functions/core/transfer/template-compat.ts';
import {
  BOOLEAN_VALUES,
  type CrossFieldRule,
  type Template,
  type TemplateField,
} from '../functions/core/transfer/template-types.ts';
import { type TemplateCatalog, templates } from '../functions/core/transfer/templates.ts';

export const REFERENCE_FILE = 'docs/templates.md';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
}

function code(text: string): string {
  return `\`${text}\``;
}

function lengths(schema: Readonly<Record<string, unknown>>): string {
  const min = typeof schema.minLength === 'number' ? schema.minLength : undefined;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : undefined;
  if (min !== undefined && max !== undefined) return `, ${min} to ${max} characters`;
  if (max !== undefined) return `, at most ${max} characters`;
  if (min !== undefined) return `, at least ${min} characters`;
  return '';
}

function typeCell(f: TemplateField): string {
  switch (f.kind) {
    case 'date':
      return 'date, YYYY-MM-DD';
    case 'boolean':
      return BOOLEAN_VALUES.join(' / ');
    case 'enum':
      return 'one of the allowed values, written exactly so';
    case 'email':
      return `e-mail address${lengths(f.schema)}`;
    case 'number':
      return `${f.schema.format === 'amount' ? 'amount' : 'number'}${f.rule ? `: ${f.rule}` : ''}`;
    case 'country':
      return `country code${f.rule ? `: ${f.rule}` : ', ISO 3166-1 alpha-2'}`;
    case 'currency':
      return `currency code${f.rule ? `: ${f.rule}` : ', ISO 4217'}`;
    default:
      return f.rule ? `text: ${f.rule}` : `text${lengths(f.schema)}`;
  }
}

function requiredCell(t: Template, f: TemplateField): string {
  if (f.required) return 'yes';
  const with_ = t.rules.find((r) => r.kind === 'requiredWith' && r.field === f.id);
  if (with_ && with_.kind === 'requiredWith') return `when ${t.field(with_.with)?.title ?? with_.with} is given`;
  if (t.direction === 'import' && t.syncKeyCandidates.includes(f.id)) return 'when it is the sync key';
  return 'no';
}

function sensitiveCell(t: Template, f: TemplateField): string {
  if (!f.sensitive) return '';
  if (t.direction === 'export')
    return f.exportAs === 'full' ? 'yes: in full in the file, masked elsewhere' : 'yes: masked, in the file too';
  return 'yes: masked in errors, outcome files and logs';
}

function describeRule(t: Template, r: CrossFieldRule): string {
  const title = (id: string) => `${t.field(id)?.title ?? id}`;
  if (r.kind === 'dateOrder') {
    const checked =
      t.direction === 'import' ? `a row error (${code('date_order')}) otherwise` : 'checked before writing';
    return `${title(r.later)} must be ${r.allowEqual ? 'on or after' : 'after'} ${title(r.earlier)} when both are given; ${checked}.`;
  }
  return `${title(r.field)} is required when ${title(r.with)} is given.`;
}

function renderTemplate(t: Template): string[] {
  const lines: string[] = [];
  lines.push(`## ${t.id}`, '', `**${t.title}** (${t.direction}). ${t.description}`, '');
  const released = `${RELEASED_DIR}/${releasedFileName(t.id, t.version)}`;
  lines.push(`- Version: ${t.version} (frozen as ${code(released)})`);
  lines.push(`- Direction: ${t.direction}`);
  lines.push(`- Entity: ${code(t.entity)}`);
  lines.push(
    `- File name: ${code(t.fileNamePattern)}${t.direction === 'import' ? ' (letter case ignored; YYYYMMDD is the upload date)' : ' (YYYYMMDD is the export date)'}`,
  );
  const keys = t.syncKeyCandidates.map((k) => `${t.field(k)?.title ?? k} (${code(k)})`).join(', ');
  lines.push(
    t.direction === 'import'
      ? `- Sync-key candidates: ${keys}; the job picks one, the first is the default`
      : `- Row key: ${keys}`,
  );
  const sensitive = t.fields.filter((f) => f.sensitive).map((f) => `${f.title} (${code(f.id)})`);
  lines.push(`- Sensitive fields: ${sensitive.length > 0 ? sensitive.join(', ') : 'none'}`);
  for (const r of t.rules.filter((r) => r.kind === 'dateOrder')) lines.push(`- Rule: ${describeRule(t, r)}`);
  lines.push('');
  lines.push('| Column title | Field id | Type / format | Required | Allowed values | Sensitive | Description |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const f of t.fields) {
    const row = [
      f.title,
      code(f.id),
      typeCell(f),
      requiredCell(t, f),
      f.values ? f.values.join(', ') : '',
      sensitiveCell(t, f),
      f.description,
    ];
    lines.push(`| ${row.map(cell).join(' | ')} |`);
  }
  lines.push('');
  if (t.acceptsCustomFields) {
    lines.push(
      `**Custom fields.** Besides the columns above, the organization declares up to ${t.acceptsCustomFields.max} fields of its own on the import job; ` +
        "each becomes a field of the job's row schema (mapping, validation, masking and smart mapping treat it like a built-in one). A declaration: " +
        `${code('id')} (camelCase, stored attribute name), ${code('title')} (the column heading), ${code('type')}, ` +
        `${code('values')} (enum), ${code('required')}, ${code('sensitive')}, ${code('maxLength')} (string, default 255), ` +
        `${code('description')}, ${code('aliases')}. Ids and headings may not repeat the template's.`,
      '',
      '| Custom field type | How a cell is written |',
      '| --- | --- |',
    );
    const how: Record<string, string> = {
      string: 'text, at most maxLength characters',
      number: CUSTOM_FORMATS.decimal!.rule,
      date: 'a real date, YYYY-MM-DD',
      boolean: BOOLEAN_VALUES.join(' or '),
      enum: 'one of the declared values, written exactly so',
    };
    for (const type of CUSTOM_FIELD_TYPES) lines.push(`| ${code(type)} | ${cell(how[type] ?? '')} |`);
    lines.push('');
  }
  return lines;
}

/** docs/templates.md as the schemas say it. */
export function renderTemplateReference(catalog: TemplateCatalog = templates): string {
  const lines: string[] = [
    '# Template reference',
    '',
    `<!-- Generated from schemas/templates/*.json by \`npm run docs:templates\`. Do not edit: edit the schemas and run it. -->`,
    '',
    'The pre-defined templates of data transfer. An import template describes a CSV file a customer uploads to its SFTP ' +
      'folder; an export template describes a file Integrator writes there. Each column is a field, each row a record.',
    '',
    '- Every cell is text. Dates are written YYYY-MM-DD (a date Excel rewrote in a local format is a row error, never ' +
      `guessed); yes/no fields take ${BOOLEAN_VALUES.join(' and ')} (Excel turns true and false into TRUE and FALSE); ` +
      'country codes are ISO 3166-1 alpha-2 and currency codes ISO 4217, in capitals.',
    "- Column headings match in any letter case and spacing. A job maps the customer's own headings to these fields; " +
      'the aliases in the schemas feed smart mapping.',
    '- In import templates "Required" means the cell may not be empty; in export templates it means the column is ' +
      'always filled.',
    '- Sensitive values (passport, visa and document numbers, salaries) are masked wherever a value is shown: row ' +
      'errors, run reports, outcome files and logs. A sensitive value is never a sync key. An export file carries a ' +
      "sensitive value in full only when the file exists to hand it to the customer's own system (passport " +
      'information, visa information); the document expirations export masks document numbers.',
    `- Versions: a change that would break existing mappings or files (a field removed or renamed, a heading ` +
      'changed, a rule narrowed for imports or widened for exports, a field made required, a sync-key candidate ' +
      `removed, the file-name pattern changed) needs a new version, frozen by \`${RELEASE_COMMAND}\` under ` +
      `${code(`${RELEASED_DIR}/`)}; a unit test compares every template with its latest released version.`,
    '',
    '| Template | Title | Version | Direction | Entity | File name |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const t of catalog.all) {
    lines.push(
      `| [${t.id}](#${t.id}) | ${cell(t.title)} | ${t.version} | ${t.direction} | ${code(t.entity)} | ${code(t.fileNamePattern)} |`,
    );
  }
  lines.push('');
  for (const direction of ['import', 'export'] as const) {
    for (const t of catalog.all.filter((x) => x.direction === direction)) lines.push(...renderTemplate(t));
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Copies each template version that has no snapshot yet to schemas/templates/released; returns what it did. */
export function releaseTemplates(root: string, catalog: TemplateCatalog = templates): string[] {
  const report: string[] = [];
  for (const t of catalog.all) {
    if (!t.file) throw new Error(`template ${t.id} has no file`);
    const target = join(root, RELEASED_DIR, releasedFileName(t.id, t.version));
    const source = join(root, t.file);
    if (!existsSync(target)) {
      copyFileSync(source, target);
      report.push(`released ${t.id} version ${t.version}: ${RELEASED_DIR}/${releasedFileName(t.id, t.version)}`);
    } else if (readFileSync(target, 'utf8') !== readFileSync(source, 'utf8')) {
      report.push(
        `${t.id} version ${t.version} is already released and differs from ${t.file}; the snapshot stays frozen (a breaking change needs a new version)`,
      );
    }
  }
  return report;
}

function main(): void {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  if (process.argv.includes('--release')) for (const line of releaseTemplates(root)) console.log(line);
  writeFileSync(join(root, REFERENCE_FILE), renderTemplateReference());
  console.log(`wrote ${REFERENCE_FILE}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
