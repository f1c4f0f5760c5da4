/**
 * Template compatibility: what a change to a template does to the jobs, mappings and files built on its released
 * version. Pure; works on the JSON documents (a released snapshot must stay comparable even when the loader's rules
 * move on).
 *
 * The rules depend on who reads the files:
 * - import templates (we read the customer's files): narrowing what a field accepts is breaking (values that were
 *   accepted would be rejected), widening is compatible;
 * - export templates (the customer's system reads our files): widening is breaking (a value or an empty cell the
 *   reader has never seen), narrowing is compatible; columns are assumed to be read by heading, so a new column is
 *   compatible and a removed or renamed one is breaking.
 * Either way: removing or renaming a field, changing a column heading, the file-name pattern, the entity, a sync-key
 * candidate removed, a sensitive field unmasked, and a new built-in field in a template that accepts custom fields
 * (it could collide with an organization's own field) are breaking.
 *
 * Versioning (checkRelease): every template's released versions are frozen as schemas/templates/released/<id>@<n>.json.
 * The current template is compared with its latest snapshot: a breaking change fails unless the version is bumped
 * and the new version released. Compatible changes pass and are listed as notes.
 */
import { isRecord } from '../guards.ts';
import { normalizeHeading } from './headings.ts';

export type Severity = 'breaking' | 'compatible';

export interface TemplateChange {
  severity: Severity;
  /** Stable code: field_removed, field_renamed, title_changed, made_required, narrowed, widened... */
  code: string;
  field?: string;
  /** What changed and what it does, in words. */
  message: string;
}

export interface Comparison {
  id: string;
  from: number;
  to: number;
  direction: string;
  breaking: TemplateChange[];
  compatible: TemplateChange[];
}

interface FieldContract {
  id: string;
  title: string;
  required: boolean;
  /** Fields whose presence makes this one required. */
  requiredWith: Set<string>;
  sensitive: boolean;
  keyCase?: unknown;
  exportAs?: unknown;
  /** The field's schema without annotations. */
  constraints: Record<string, unknown>;
  /** Earlier field -> allowEqual, for `dateOrder` rules whose later field is this one. */
  after: Map<string, boolean>;
}

interface Contract {
  id: string;
  version: number;
  direction: string;
  entity: unknown;
  fileNamePattern: string;
  syncKeyCandidates: string[];
  customFieldsMax?: number;
  fields: Map<string, FieldContract>;
}

const ANNOTATIONS = new Set([
  'description',
  'title',
  '$comment',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

function obj(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** The parts of a template document that jobs, mappings and files depend on. */
export function contractOf(document: unknown): Contract {
  const schema = obj(document);
  const meta = obj(schema['x-integrator']);
  const properties = obj(schema.properties);
  const fieldMeta = obj(meta.fields);
  const required = new Set(strings(schema.required));
  const sensitive = new Set(strings(meta.sensitive));
  const fields = new Map<string, FieldContract>();
  for (const [id, raw] of Object.entries(properties)) {
    const m = obj(fieldMeta[id]);
    const constraints: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj(raw))) if (!ANNOTATIONS.has(k)) constraints[k] = v;
    fields.set(id, {
      id,
      title: typeof m.title === 'string' ? m.title : id,
      required: required.has(id),
      requiredWith: new Set(),
      sensitive: sensitive.has(id),
      keyCase: m.keyCase,
      exportAs: m.exportAs,
      constraints,
      after: new Map(),
    });
  }
  for (const r of Array.isArray(schema.dateOrder) ? schema.dateOrder : []) {
    const rule = obj(r);
    const later = fields.get(String(rule.later));
    if (later) later.after.set(String(rule.earlier), rule.allowEqual === true);
  }
  for (const r of Array.isArray(schema.requiredWith) ? schema.requiredWith : []) {
    const rule = obj(r);
    fields.get(String(rule.field))?.requiredWith.add(String(rule.with));
  }
  const custom = obj(meta.customFields);
  return {
    id: String(meta.id ?? '?'),
    version: typeof meta.version === 'number' ? meta.version : 0,
    direction: String(meta.direction ?? 'import'),
    entity: meta.entity,
    fileNamePattern: String(meta.fileNamePattern ?? ''),
    syncKeyCandidates: strings(meta.syncKeyCandidates),
    ...(meta.customFields !== undefined ? { customFieldsMax: typeof custom.max === 'number' ? custom.max : 0 } : {}),
    fields,
  };
}

type DomainChange = 'narrowed' | 'widened' | 'changed';

function show(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** How the set of values a field accepts changed, keyword by keyword. */
function domainChanges(before: FieldContract, after: FieldContract): { change: DomainChange; what: string }[] {
  const out: { change: DomainChange; what: string }[] = [];
  const b = before.constraints;
  const a = after.constraints;
  const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
  for (const key of keys) {
    const was = b[key];
    const now = a[key];
    if (sameValue(was, now)) continue;
    switch (key) {
      case 'enum': {
        if (now === undefined) {
          out.push({ change: 'widened', what: 'no longer limited to a list of values' });
          break;
        }
        if (was === undefined) {
          out.push({ change: 'narrowed', what: `now limited to ${strings(now).join(', ')}` });
          break;
        }
        const removed = strings(was).filter((v) => !strings(now).includes(v));
        const added = strings(now).filter((v) => !strings(was).includes(v));
        if (removed.length > 0)
          out.push({ change: 'narrowed', what: `allowed value(s) ${removed.join(', ')} removed` });
        if (added.length > 0) out.push({ change: 'widened', what: `allowed value(s) ${added.join(', ')} added` });
        break;
      }
      case 'maxLength':
      case 'maxItems':
      case 'maximum': {
        if (now === undefined) out.push({ change: 'widened', what: `${key} ${show(was)} removed` });
        else if (was === undefined) out.push({ change: 'narrowed', what: `${key} ${show(now)} added` });
        else if (Number(now) < Number(was))
          out.push({ change: 'narrowed', what: `${key} lowered from ${was} to ${now}` });
        else out.push({ change: 'widened', what: `${key} raised from ${was} to ${now}` });
        break;
      }
      case 'minLength':
      case 'minItems':
      case 'minimum': {
        if (now === undefined) out.push({ change: 'widened', what: `${key} ${show(was)} removed` });
        else if (was === undefined) out.push({ change: 'narrowed', what: `${key} ${show(now)} added` });
        else if (Number(now) > Number(was))
          out.push({ change: 'narrowed', what: `${key} raised from ${was} to ${now}` });
        else out.push({ change: 'widened', what: `${key} lowered from ${was} to ${now}` });
        break;
      }
      default: {
        // type, format, pattern and any other keyword: adding one narrows, removing one widens, and a different
        // value cannot be proven either way (two patterns), so it counts as both.
        if (now === undefined) out.push({ change: 'widened', what: `${key} ${show(was)} removed` });
        else if (was === undefined) out.push({ change: 'narrowed', what: `${key} ${show(now)} added` });
        else out.push({ change: 'changed', what: `${key} changed from ${show(was)} to ${show(now)}` });
      }
    }
  }
  for (const [earlier, allowEqual] of before.after) {
    if (!after.after.has(earlier)) out.push({ change: 'widened', what: `no longer has to follow ${earlier}` });
    else if (allowEqual && !after.after.get(earlier)) {
      out.push({ change: 'narrowed', what: `may no longer equal ${earlier}` });
    } else if (!allowEqual && after.after.get(earlier))
      out.push({ change: 'widened', what: `may now equal ${earlier}` });
  }
  for (const earlier of after.after.keys()) {
    if (!before.after.has(earlier)) out.push({ change: 'narrowed', what: `must now follow ${earlier} (dateOrder)` });
  }
  return out;
}

/** Everything that changed from `before` to `after` (documents of the same template), breaking or compatible. */
export function compareTemplates(before: unknown, after: unknown): Comparison {
  const b = contractOf(before);
  const a = contractOf(after);
  const isExport = a.direction === 'export' && b.direction === 'export';
  const changes: TemplateChange[] = [];
  const add = (severity: Severity, code: string, message: string, field?: string) =>
    changes.push({ severity, code, message, ...(field ? { field } : {}) });
  const label = (f: FieldContract) => `field ${f.id} ("${f.title}")`;

  if (a.id !== b.id) add('breaking', 'id_changed', `the template id changed from ${b.id} to ${a.id}`);
  if (a.direction !== b.direction) {
    add('breaking', 'direction_changed', `the direction changed from ${b.direction} to ${a.direction}`);
  }
  if (!sameValue(a.entity, b.entity)) {
    add(
      'breaking',
      'entity_changed',
      `the entity changed from ${show(b.entity)} to ${show(a.entity)}: stored records are keyed by entity`,
    );
  }
  const sameName = isExport
    ? a.fileNamePattern === b.fileNamePattern
    : a.fileNamePattern.toLowerCase() === b.fileNamePattern.toLowerCase();
  if (!sameName) {
    add(
      'breaking',
      'file_name_changed',
      `the file-name pattern changed from ${b.fileNamePattern} to ${a.fileNamePattern}: ${isExport ? "the customer's system looks for the old name" : 'files named as before would no longer be recognized'}`,
    );
  } else if (a.fileNamePattern !== b.fileNamePattern) {
    add(
      'compatible',
      'file_name_respelled',
      `the file-name pattern is now spelled ${a.fileNamePattern} (matched in any case)`,
    );
  }
  for (const key of b.syncKeyCandidates) {
    if (!a.syncKeyCandidates.includes(key)) {
      add(
        'breaking',
        'sync_key_removed',
        `sync-key candidate ${key} removed: jobs keyed by it could no longer run`,
        key,
      );
    }
  }
  for (const key of a.syncKeyCandidates) {
    if (!b.syncKeyCandidates.includes(key)) add('compatible', 'sync_key_added', `sync-key candidate ${key} added`, key);
  }
  if (b.customFieldsMax !== undefined) {
    if (a.customFieldsMax === undefined) {
      add(
        'breaking',
        'custom_fields_removed',
        'custom fields are no longer accepted: jobs that declare some would break',
      );
    } else if (a.customFieldsMax < b.customFieldsMax) {
      add(
        'breaking',
        'custom_fields_limited',
        `at most ${a.customFieldsMax} custom fields instead of ${b.customFieldsMax}`,
      );
    } else if (a.customFieldsMax > b.customFieldsMax) {
      add(
        'compatible',
        'custom_fields_raised',
        `up to ${a.customFieldsMax} custom fields instead of ${b.customFieldsMax}`,
      );
    }
  } else if (a.customFieldsMax !== undefined) {
    add('compatible', 'custom_fields_accepted', `custom fields are now accepted (up to ${a.customFieldsMax})`);
  }

  // Fields gone: renamed when a new field has the same heading, removed otherwise.
  const addedIds = [...a.fields.keys()].filter((id) => !b.fields.has(id));
  for (const f of b.fields.values()) {
    if (a.fields.has(f.id)) continue;
    const renamed = addedIds.find((id) => normalizeHeading(a.fields.get(id)!.title) === normalizeHeading(f.title));
    if (renamed) {
      add(
        'breaking',
        'field_renamed',
        `${label(f)} renamed to ${renamed}: mappings and stored records use the field id`,
        f.id,
      );
    } else {
      add(
        'breaking',
        'field_removed',
        `${label(f)} removed: ${isExport ? 'readers of the column lose it' : 'mappings to it would fail and files with its column would lose the values'}`,
        f.id,
      );
    }
  }
  const renamedTo = new Set(
    [...b.fields.values()]
      .filter((f) => !a.fields.has(f.id))
      .map((f) => addedIds.find((id) => normalizeHeading(a.fields.get(id)!.title) === normalizeHeading(f.title)))
      .filter((id): id is string => id !== undefined),
  );
  for (const id of addedIds) {
    if (renamedTo.has(id)) continue;
    const f = a.fields.get(id)!;
    if (b.customFieldsMax !== undefined && a.customFieldsMax !== undefined) {
      add(
        'breaking',
        'field_added_to_custom_template',
        `${label(f)} added to a template that accepts custom fields: it may collide with an organization's custom field of that id or heading`,
        id,
      );
    } else if (isExport) {
      add('compatible', 'column_added', `${label(f)} added: a new column (readers that map by heading ignore it)`, id);
    } else if (f.required) {
      add('breaking', 'required_field_added', `${label(f)} added as required: existing files and mappings lack it`, id);
    } else if (f.requiredWith.size > 0) {
      add('compatible', 'field_added', `${label(f)} added, required only with ${[...f.requiredWith].join(', ')}`, id);
    } else {
      add('compatible', 'field_added', `${label(f)} added as optional`, id);
    }
  }

  for (const f of b.fields.values()) {
    const n = a.fields.get(f.id);
    if (!n) continue;
    if (normalizeHeading(n.title) !== normalizeHeading(f.title)) {
      add(
        'breaking',
        'title_changed',
        `${label(f)}: column heading changed to "${n.title}": ${isExport ? "the customer's reader looks for the old heading" : 'files and mappings use the old heading'}`,
        f.id,
      );
    } else if (n.title !== f.title) {
      if (isExport) {
        add('breaking', 'title_changed', `${label(f)}: column heading respelled "${n.title}" in the export file`, f.id);
      } else {
        add(
          'compatible',
          'title_respelled',
          `${label(f)}: heading respelled "${n.title}" (headings match in any case)`,
          f.id,
        );
      }
    }
    if (!f.required && n.required) {
      add(
        isExport ? 'compatible' : 'breaking',
        'made_required',
        `${label(f)} made required${isExport ? '' : ': rows without a value, and mappings or files without the column, would now fail'}`,
        f.id,
      );
    } else if (f.required && !n.required) {
      add(
        isExport ? 'breaking' : 'compatible',
        'made_optional',
        `${label(f)} made optional${isExport ? ': the export may now leave the column empty' : ''}`,
        f.id,
      );
    }
    for (const w of n.requiredWith) {
      if (!f.requiredWith.has(w) && !n.required) {
        add(
          isExport ? 'compatible' : 'breaking',
          'made_required',
          `${label(f)} made required when ${w} is given${isExport ? '' : ': rows that were valid would now fail'}`,
          f.id,
        );
      }
    }
    for (const w of f.requiredWith) {
      if (!n.requiredWith.has(w) && !n.required) {
        add(
          isExport ? 'breaking' : 'compatible',
          'made_optional',
          `${label(f)} no longer required when ${w} is given${isExport ? ': the column may now be empty' : ''}`,
          f.id,
        );
      }
    }
    if (!sameValue(n.keyCase, f.keyCase)) {
      add('breaking', 'key_case_changed', `${label(f)}: keyCase changed: record keys built from it would change`, f.id);
    }
    if (f.sensitive && !n.sensitive) {
      add(
        'breaking',
        'unmasked',
        `${label(f)} is no longer sensitive: values that were masked would appear in errors, outcome files and logs`,
        f.id,
      );
    } else if (!f.sensitive && n.sensitive) {
      const masksExport = isExport && n.exportAs === 'masked';
      add(
        masksExport ? 'breaking' : 'compatible',
        'made_sensitive',
        `${label(f)} is now sensitive${masksExport ? ' and masked in the export file: readers lose the value' : ''}`,
        f.id,
      );
    } else if (f.sensitive && n.sensitive && isExport && f.exportAs !== n.exportAs) {
      add(
        'breaking',
        'export_masking_changed',
        n.exportAs === 'masked'
          ? `${label(f)} is now masked in the export file: readers lose the value`
          : `${label(f)} is now exported in full: a privacy decision that needs its own version`,
        f.id,
      );
    }
    for (const d of domainChanges(f, n)) {
      const breaking = d.change === 'changed' || (isExport ? d.change === 'widened' : d.change === 'narrowed');
      const effect =
        d.change === 'changed'
          ? isExport
            ? "the export's values change shape"
            : 'values that were accepted may now be rejected'
          : d.change === 'narrowed'
            ? isExport
              ? 'the export writes fewer kinds of values'
              : 'values that were accepted would now be rejected'
            : isExport
              ? "the export may write values the customer's system has never seen"
              : 'more values are accepted';
      add(breaking ? 'breaking' : 'compatible', d.change, `${label(f)}: ${d.what}: ${effect}`, f.id);
    }
  }
  return {
    id: a.id,
    from: b.version,
    to: a.version,
    direction: a.direction,
    breaking: changes.filter((c) => c.severity === 'breaking'),
    compatible: changes.filter((c) => c.severity === 'compatible'),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Releases

export const RELEASED_DIR = 'schemas/templates/released';
export const RELEASE_COMMAND = 'npm run docs:templates -- --release';

export interface ReleasedSnapshot {
  /** The snapshot's file name, `<id>@<version>.json`. */
  file: string;
  document: unknown;
}

export function releasedFileName(id: string, version: number): string {
  return `${id}@${version}.json`;
}

export interface ReleaseCheck {
  /** Why the templates may not ship as they are, each with what to do. Empty when fine. */
  problems: string[];
  /** Compatible changes since the latest release, for information. */
  notes: string[];
}

/**
 * The guard: every current template against its latest released snapshot. `current` are the template documents
 * (with `file`, their path); `released` every snapshot in schemas/templates/released.
 */
export function checkReleases(
  current: readonly { file: string; document: unknown }[],
  released: readonly ReleasedSnapshot[],
): ReleaseCheck {
  const problems: string[] = [];
  const notes: string[] = [];
  const byId = new Map<string, { version: number; snapshot: ReleasedSnapshot }[]>();
  for (const s of released) {
    const c = contractOf(s.document);
    const expected = releasedFileName(c.id, c.version);
    if (s.file !== expected) {
      problems.push(
        `${RELEASED_DIR}/${s.file} holds ${c.id} version ${c.version}, so it must be named ${expected}; snapshots are written by \`${RELEASE_COMMAND}\`, never by hand`,
      );
      continue;
    }
    byId.set(c.id, [...(byId.get(c.id) ?? []), { version: c.version, snapshot: s }]);
  }
  const currentIds = new Set<string>();
  for (const { file, document } of current) {
    const now = contractOf(document);
    currentIds.add(now.id);
    const releases = (byId.get(now.id) ?? []).sort((x, y) => x.version - y.version);
    const latest = releases.at(-1);
    if (!latest) {
      problems.push(
        `${now.id} (${file}) has no released version: run \`${RELEASE_COMMAND}\` to freeze version ${now.version} as ${RELEASED_DIR}/${releasedFileName(now.id, now.version)}, and commit it`,
      );
      continue;
    }
    const latestFile = `${RELEASED_DIR}/${latest.snapshot.file}`;
    if (now.version < latest.version) {
      problems.push(
        `${now.id} (${file}) is version ${now.version}, but version ${latest.version} was already released (${latestFile}); versions only go up`,
      );
      continue;
    }
    const comparison = compareTemplates(latest.snapshot.document, document);
    const listed = (changes: TemplateChange[]) => changes.map((c) => `  - ${c.message}`).join('\n');
    if (now.version > latest.version) {
      const expected = latest.version + 1;
      problems.push(
        now.version !== expected
          ? `${now.id} (${file}) jumped from released version ${latest.version} to ${now.version}; the next version is ${expected}`
          : `${now.id} (${file}) is version ${now.version}, which is not released yet: run \`${RELEASE_COMMAND}\` to freeze it as ${RELEASED_DIR}/${releasedFileName(now.id, now.version)}, and commit it` +
              (comparison.breaking.length > 0
                ? `. Breaking changes since version ${latest.version} (jobs and files built on it must be reviewed):\n${listed(comparison.breaking)}`
                : ''),
      );
      continue;
    }
    if (comparison.breaking.length > 0) {
      problems.push(
        `${now.id} (${file}) changed in a way that breaks existing mappings or files built on released version ${latest.version} (${latestFile}):\n` +
          `${listed(comparison.breaking)}\n` +
          `What to do: undo the change, or make it a new version: set "version": ${latest.version + 1} under x-integrator in ${file}, ` +
          `run \`${RELEASE_COMMAND}\` (freezes ${RELEASED_DIR}/${releasedFileName(now.id, latest.version + 1)} and regenerates docs/templates.md), ` +
          `commit both, and review the jobs and customer files that use version ${latest.version}.`,
      );
    }
    if (comparison.compatible.length > 0) {
      notes.push(
        `${now.id}: compatible changes since released version ${latest.version} (no new version needed; releasing one freezes them so that later changes are checked against them too):\n${listed(comparison.compatible)}`,
      );
    }
  }
  for (const [id, releases] of byId) {
    if (!currentIds.has(id)) {
      problems.push(
        `${id} was released (${releases.map((r) => `${RELEASED_DIR}/${r.snapshot.file}`).join(', ')}) but is no longer a template: removing a template breaks every job and file that uses it`,
      );
    }
  }
  return { problems, notes };
}
