/**
 * Template compatibility: the rules on synthetic before/after pairs, the release check, and the guard itself: every
 * template in schemas/templates against its latest snapshot in schemas/templates/released.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  checkReleases,
  compareTemplates,
  RELEASED_DIR,
  type ReleasedSnapshot,
  releasedFileName,
} from '../../functions/core/transfer/template-compat.ts';
import { loadTemplate } from '../../functions/core/transfer/template-loader.ts';
import { TEMPLATE_SOURCES } from '../../functions/core/transfer/templates.ts';

// biome-ignore lint/suspicious/noExplicitAny: the tests edit JSON documents freely
type Doc = Record<string, any>;

/** A small template; `export` flips the direction (and gives the sensitive field its exportAs). */
function template(direction: 'import' | 'export' = 'import', version = 1): Doc {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    additionalProperties: false,
    required: ['code'],
    properties: {
      code: { description: 'Code.', type: 'string', minLength: 1, maxLength: 10 },
      name: { description: 'Name.', type: 'string', maxLength: 50 },
      kind: { description: 'Kind.', type: 'string', enum: ['A', 'B'] },
      secret: { description: 'Secret.', type: 'string', maxLength: 20 },
      start: { description: 'Start.', type: 'string', format: 'date' },
      end: { description: 'End.', type: 'string', format: 'date' },
    },
    'x-integrator': {
      id: 'thing_import',
      version,
      direction,
      entity: 'thing',
      title: 'Thing',
      description: 'Things.',
      fileNamePattern: 'thing_import_YYYYMMDD.csv',
      syncKeyCandidates: ['code', 'name'],
      sensitive: ['secret'],
      fields: {
        code: { title: 'Code' },
        name: { title: 'Name', aliases: ['Label'] },
        kind: { title: 'Kind' },
        secret: direction === 'export' ? { title: 'Secret', exportAs: 'full' } : { title: 'Secret' },
        start: { title: 'Start Date' },
        end: { title: 'End Date' },
      },
    },
  };
}

function changed(mutate: (d: Doc) => void, direction: 'import' | 'export' = 'import') {
  const before = template(direction);
  const after = structuredClone(before);
  mutate(after);
  loadTemplate(after); // every "after" is itself a valid template
  const c = compareTemplates(before, after);
  return { breaking: c.breaking.map((x) => x.code), compatible: c.compatible.map((x) => x.code), c };
}

describe('compareTemplates: import templates (we read the customer files)', () => {
  test('the synthetic template loads and equals itself', () => {
    loadTemplate(template());
    loadTemplate(template('export'));
    const same = changed(() => {});
    assert.deepEqual([same.breaking, same.compatible], [[], []]);
  });

  test('annotations and aliases are free', () => {
    const r = changed((d) => {
      d.properties.name.description = 'Another description.';
      d['x-integrator'].fields.name.aliases = ['Label', 'Display Name'];
      d['x-integrator'].description = 'Other words.';
      d['x-integrator'].fields.code.rule = 'a code';
    });
    assert.deepEqual([r.breaking, r.compatible], [[], []]);
  });

  const cases: [string, (d: Doc) => void, string[], string[]][] = [
    [
      'removing a field',
      (d) => {
        delete d.properties.kind;
        delete d['x-integrator'].fields.kind;
      },
      ['field_removed'],
      [],
    ],
    [
      'renaming a field (same heading, new id)',
      (d) => {
        d.properties.category = d.properties.kind;
        d['x-integrator'].fields.category = d['x-integrator'].fields.kind;
        delete d.properties.kind;
        delete d['x-integrator'].fields.kind;
      },
      ['field_renamed'],
      [],
    ],
    ['changing a column heading', (d) => (d['x-integrator'].fields.name.title = 'Full Name'), ['title_changed'], []],
    [
      'respelling a heading (case, spaces) is compatible: headings match in any case',
      (d) => (d['x-integrator'].fields.start.title = 'Start  date'),
      [],
      ['title_respelled'],
    ],
    ['removing an enum value', (d) => (d.properties.kind.enum = ['A']), ['narrowed'], []],
    ['adding an enum value', (d) => (d.properties.kind.enum = ['A', 'B', 'C']), [], ['widened']],
    ['adding an enum to a free field', (d) => (d.properties.name.enum = ['X']), ['narrowed'], []],
    [
      'adding a pattern',
      (d) => {
        d.properties.name.pattern = '^[A-Z]';
        d['x-integrator'].fields.name.rule = 'capital first';
      },
      ['narrowed'],
      [],
    ],
    ['adding a format', (d) => (d.properties.name.format = 'email'), ['narrowed'], []],
    ['changing a format', (d) => (d.properties.start.format = 'email'), ['changed'], []],
    ['removing a format', (d) => delete d.properties.start.format, [], ['widened']],
    ['lowering maxLength', (d) => (d.properties.name.maxLength = 40), ['narrowed'], []],
    ['raising maxLength', (d) => (d.properties.name.maxLength = 60), [], ['widened']],
    ['raising minLength', (d) => (d.properties.code.minLength = 2), ['narrowed'], []],
    ['making an optional field required', (d) => d.required.push('name'), ['made_required'], []],
    ['making a required field optional', (d) => (d.required = []), [], ['made_optional']],
    [
      'making a field required with another one',
      (d) => (d.requiredWith = [{ field: 'end', with: 'start' }]),
      ['made_required'],
      [],
    ],
    ['adding a date order', (d) => (d.dateOrder = [{ earlier: 'start', later: 'end' }]), ['narrowed'], []],
    [
      'removing a sync-key candidate',
      (d) => (d['x-integrator'].syncKeyCandidates = ['code']),
      ['sync_key_removed'],
      [],
    ],
    ['adding a sync-key candidate', (d) => d['x-integrator'].syncKeyCandidates.push('kind'), [], ['sync_key_added']],
    [
      'respelling the file-name pattern (names match in any case)',
      (d) => (d['x-integrator'].fileNamePattern = 'Thing_Import_YYYYMMDD.csv'),
      [],
      ['file_name_respelled'],
    ],
    ['adding an optional field', (d) => addField(d, 'note', false), [], ['field_added']],
    ['adding a required field', (d) => addField(d, 'note', true), ['required_field_added'], []],
    ['unmasking a sensitive field', (d) => (d['x-integrator'].sensitive = []), ['unmasked'], []],
    ['masking a field', (d) => d['x-integrator'].sensitive.push('kind'), [], ['made_sensitive']],
    ['changing the entity', (d) => (d['x-integrator'].entity = 'other'), ['entity_changed'], []],
    ['changing the key case', (d) => (d['x-integrator'].fields.code.keyCase = 'lower'), ['key_case_changed'], []],
    ['changing the type', (d) => (d.properties.code.type = 'number'), ['changed'], []],
  ];
  for (const [name, mutate, breaking, compatible] of cases) {
    test(name, () => {
      const r = name === 'changing the type' ? compareOnly(mutate) : changed(mutate);
      assert.deepEqual({ breaking: r.breaking, compatible: r.compatible }, { breaking, compatible });
    });
  }

  test('a file-name pattern that really changes is breaking', () => {
    const before = template();
    const after = structuredClone(before);
    after['x-integrator'].fileNamePattern = 'things_YYYYMMDD.csv';
    assert.deepEqual(
      compareTemplates(before, after).breaking.map((c) => c.code),
      ['file_name_changed'],
    );
  });

  test('messages say which field, what changed and what it does', () => {
    const r = changed((d) => (d.properties.name.maxLength = 40));
    assert.equal(
      r.c.breaking[0]?.message,
      'field name ("Name"): maxLength lowered from 50 to 40: values that were accepted would now be rejected',
    );
    assert.equal(r.c.breaking[0]?.field, 'name');
  });
});

describe('compareTemplates: export templates (the customer reads our files)', () => {
  const cases: [string, (d: Doc) => void, string[], string[]][] = [
    ['adding an enum value', (d) => (d.properties.kind.enum = ['A', 'B', 'C']), ['widened'], []],
    ['removing an enum value', (d) => (d.properties.kind.enum = ['A']), [], ['narrowed']],
    ['raising maxLength', (d) => (d.properties.name.maxLength = 60), ['widened'], []],
    ['making a required column optional', (d) => (d.required = []), ['made_optional'], []],
    ['making a column always filled', (d) => d.required.push('name'), [], ['made_required']],
    ['adding a column', (d) => addField(d, 'note', true), [], ['column_added']],
    ['respelling a heading', (d) => (d['x-integrator'].fields.start.title = 'Start date'), ['title_changed'], []],
    [
      'removing a column',
      (d) => {
        delete d.properties.kind;
        delete d['x-integrator'].fields.kind;
      },
      ['field_removed'],
      [],
    ],
    [
      'masking a value the file carried in full',
      (d) => (d['x-integrator'].fields.secret.exportAs = 'masked'),
      ['export_masking_changed'],
      [],
    ],
    [
      'changing the case of the file name',
      (d) => (d['x-integrator'].fileNamePattern = 'Thing_Import_YYYYMMDD.csv'),
      ['file_name_changed'],
      [],
    ],
  ];
  for (const [name, mutate, breaking, compatible] of cases) {
    test(name, () => {
      const r = changed(mutate, 'export');
      assert.deepEqual({ breaking: r.breaking, compatible: r.compatible }, { breaking, compatible });
    });
  }
});

describe('compareTemplates: templates that accept custom fields', () => {
  function custom(): Doc {
    const d = template();
    d['x-integrator'].customFields = { max: 10 };
    return d;
  }
  test('a new built-in field could collide with an organization field', () => {
    const after = custom();
    addField(after, 'note', false);
    assert.deepEqual(
      compareTemplates(custom(), after).breaking.map((c) => c.code),
      ['field_added_to_custom_template'],
    );
  });
  test('accepting fewer or no custom fields is breaking; more is compatible', () => {
    const fewer = custom();
    fewer['x-integrator'].customFields.max = 5;
    assert.deepEqual(
      compareTemplates(custom(), fewer).breaking.map((c) => c.code),
      ['custom_fields_limited'],
    );
    const none = custom();
    delete none['x-integrator'].customFields;
    assert.deepEqual(
      compareTemplates(custom(), none).breaking.map((c) => c.code),
      ['custom_fields_removed'],
    );
    const more = custom();
    more['x-integrator'].customFields.max = 50;
    assert.deepEqual(
      compareTemplates(custom(), more).compatible.map((c) => c.code),
      ['custom_fields_raised'],
    );
  });
});

describe('checkReleases', () => {
  const file = 'schemas/templates/thing_import.json';
  const snap = (d: Doc): ReleasedSnapshot => ({
    file: releasedFileName(d['x-integrator'].id, d['x-integrator'].version),
    document: d,
  });

  test('unchanged since its release: fine', () => {
    assert.deepEqual(checkReleases([{ file, document: template() }], [snap(template())]), { problems: [], notes: [] });
  });

  test('never released: says how to release', () => {
    const r = checkReleases([{ file, document: template() }], []);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /thing_import \(schemas\/templates\/thing_import\.json\) has no released version/);
    assert.match(r.problems[0]!, /npm run docs:templates -- --release/);
    assert.match(r.problems[0]!, /schemas\/templates\/released\/thing_import@1\.json/);
  });

  test('a breaking change without a new version fails, saying what changed and what to do', () => {
    const now = template();
    now.properties.kind.enum = ['A'];
    delete now.properties.name;
    delete now['x-integrator'].fields.name;
    now['x-integrator'].syncKeyCandidates = ['code'];
    const r = checkReleases([{ file, document: now }], [snap(template())]);
    assert.equal(r.problems.length, 1);
    const message = r.problems[0]!;
    assert.match(message, /breaks existing mappings or files built on released version 1/);
    assert.match(message, /sync-key candidate name removed/);
    assert.match(message, /field name \("Name"\) removed/);
    assert.match(message, /field kind \("Kind"\): allowed value\(s\) B removed/);
    assert.match(message, /set "version": 2 under x-integrator in schemas\/templates\/thing_import\.json/);
    assert.match(message, /npm run docs:templates -- --release/);
    assert.match(message, /released\/thing_import@2\.json/);
  });

  test('a breaking change with a bumped version needs its snapshot, then passes', () => {
    const v2 = template('import', 2);
    v2.properties.kind.enum = ['A'];
    const unreleased = checkReleases([{ file, document: v2 }], [snap(template())]);
    assert.equal(unreleased.problems.length, 1);
    assert.match(unreleased.problems[0]!, /is version 2, which is not released yet/);
    assert.match(unreleased.problems[0]!, /Breaking changes since version 1/);
    assert.deepEqual(checkReleases([{ file, document: v2 }], [snap(template()), snap(v2)]).problems, []);
  });

  test('compatible changes pass, listed as notes', () => {
    const now = template();
    now.properties.kind.enum = ['A', 'B', 'C'];
    const r = checkReleases([{ file, document: now }], [snap(template())]);
    assert.deepEqual(r.problems, []);
    assert.equal(r.notes.length, 1);
    assert.match(r.notes[0]!, /allowed value\(s\) C added/);
  });

  test('versions only go up, one at a time; snapshots are named by their content; released templates stay', () => {
    const v3 = template('import', 3);
    assert.match(checkReleases([{ file, document: template() }], [snap(v3)]).problems[0]!, /versions only go up/);
    assert.match(
      checkReleases([{ file, document: v3 }], [snap(template())]).problems[0]!,
      /jumped from released version 1 to 3; the next version is 2/,
    );
    const misnamed = checkReleases(
      [{ file, document: template() }],
      [snap(template()), { file: 'thing_import@7.json', document: template() }],
    );
    assert.match(
      misnamed.problems[0]!,
      /thing_import@7\.json holds thing_import version 1, so it must be named thing_import@1\.json/,
    );
    const gone = checkReleases([], [snap(template())]);
    assert.match(gone.problems[0]!, /thing_import was released .* but is no longer a template/);
  });
});

describe('the guard: every template against its latest released version', () => {
  const releasedDir = new URL(`../../${RELEASED_DIR}/`, import.meta.url);
  const released: ReleasedSnapshot[] = readdirSync(releasedDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: f, document: JSON.parse(readFileSync(new URL(f, releasedDir), 'utf8')) }));

  test('no template changed in a way that breaks existing mappings or files', (t) => {
    const { problems, notes } = checkReleases(TEMPLATE_SOURCES, released);
    for (const note of notes) t.diagnostic(note);
    assert.ok(problems.length === 0, `\n${problems.join('\n\n')}\n`);
  });

  test('every snapshot is a template that still loads', () => {
    assert.ok(released.length >= TEMPLATE_SOURCES.length);
    for (const s of released) {
      const loaded = loadTemplate(s.document);
      assert.equal(s.file, releasedFileName(loaded.id, loaded.version));
    }
  });
});

function addField(d: Doc, id: string, required: boolean): void {
  d.properties[id] = { description: `${id}.`, type: 'string', maxLength: 10 };
  d['x-integrator'].fields[id] = { title: id.toUpperCase() };
  if (required) d.required.push(id);
}

/** For changes no valid template can make (a type other than string), compare without loading. */
function compareOnly(mutate: (d: Doc) => void) {
  const before = template();
  const after = structuredClone(before);
  mutate(after);
  const c = compareTemplates(before, after);
  return { breaking: c.breaking.map((x) => x.code), compatible: c.compatible.map((x) => x.code) };
}
