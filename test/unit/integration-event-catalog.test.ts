/**
 * The event catalogue (schemas/events/): every versioned detail type has its schema, every schema is closed (no
 * property it does not name) at every level, and every example validates, while a detail carrying one more property
 * (a row value, a name) does not.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DETAIL_TYPES,
  type DetailType,
  detailProblems,
  EVENT_SCHEMAS,
} from '../../functions/core/integration-event-catalog.ts';
import { REFUSAL_CODES } from '../../functions/core/integration-events.ts';

const DIR = join(import.meta.dirname, '../../schemas/events');
const types = Object.keys(DETAIL_TYPES) as DetailType[];

test('every schema file in schemas/events is a detail type of the catalogue, named <name>.v<version>.json', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  assert.deepEqual(
    files.sort(),
    Object.values(DETAIL_TYPES)
      .map((f) => `${f}.json`)
      .sort(),
  );
  for (const type of types) {
    const file = JSON.parse(readFileSync(join(DIR, `${DETAIL_TYPES[type]}.json`), 'utf8'));
    assert.equal(file.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(file.title, type, `${DETAIL_TYPES[type]}: its title is its detail type`);
    const version = /\.v(\d+)$/.exec(type)?.[1];
    assert.ok(version, `${type} carries its version`);
    assert.ok(DETAIL_TYPES[type].endsWith(`.v${version}`), `${type}: file and detail type name the same version`);
  }
});

/** Every object schema under `node`, with its path. */
function objects(node: unknown, path = ''): { path: string; schema: Record<string, unknown> }[] {
  if (typeof node !== 'object' || node === null) return [];
  const schema = node as Record<string, unknown>;
  const here = schema.type === 'object' ? [{ path: path || '(detail)', schema }] : [];
  const props = (schema.properties ?? {}) as Record<string, unknown>;
  return [...here, ...Object.entries(props).flatMap(([name, sub]) => objects(sub, `${path}/${name}`))];
}

for (const type of types) {
  test(`${type}: closed at every level, requires its event id, and its examples validate`, () => {
    const schema = EVENT_SCHEMAS[type];
    for (const { path, schema: o } of objects(schema)) {
      assert.equal(o.additionalProperties, false, `${type} ${path}: additionalProperties must be false`);
    }
    assert.ok((schema.required as string[]).includes('eventId'));
    assert.ok((schema.required as string[]).includes('org'));
    assert.ok(schema.examples.length >= 1, `${type} has an example`);
    for (const example of schema.examples) {
      assert.deepEqual(detailProblems(type, example), [], `${type}: its example validates`);
      // A value from a file riding along is refused.
      assert.match(detailProblems(type, { ...example, passportNumber: 'X12345678' }).join('\n'), /passportNumber/);
      assert.match(detailProblems(type, { ...example, firstName: 'Ana' }).join('\n'), /firstName/);
      const { eventId: _id, ...withoutId } = example;
      assert.notDeepEqual(detailProblems(type, withoutId), [], `${type}: eventId is required`);
    }
  });
}

test('a nested object is closed too: counts take numbers of the schema only', () => {
  const example = EVENT_SCHEMAS['Run Finished.v1'].examples[0]!;
  const counts = { ...(example.counts as object), lastName: 3 };
  assert.match(detailProblems('Run Finished.v1', { ...example, counts }).join('\n'), /lastName/);
});

test('the refusal reasons of Upload Refused.v1 are the ones the core publishes', () => {
  const reason = (EVENT_SCHEMAS['Upload Refused.v1'].properties as Record<string, { enum: string[] }>).reasonCode!;
  assert.deepEqual([...reason.enum].sort(), [...REFUSAL_CODES].sort());
});
