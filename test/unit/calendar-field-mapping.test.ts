import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { MAPPING_FILE, renderFieldMapping } from '../../scripts/calendar-field-mapping.ts';

test('docs/calendar-field-mapping.md is what the mapping code renders (run scripts/calendar-field-mapping.ts)', () => {
  assert.equal(readFileSync(MAPPING_FILE, 'utf8'), renderFieldMapping());
});
