import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileFilters,
  describeFilter,
  type FilterRule,
  filteredFields,
  filterProblems,
} from '../../functions/core/transfer/filters.ts';

const kept = (rules: FilterRule[], row: Record<string, string>) => compileFilters(rules)(row) === undefined;

describe('filters', () => {
  it('equals and notEquals ignore case unless told otherwise', () => {
    const active: FilterRule = { field: 'status', op: 'equals', value: 'Active' };
    assert.equal(kept([active], { status: 'Active' }), true);
    assert.equal(kept([active], { status: 'active' }), true);
    assert.equal(kept([{ ...active, caseSensitive: true }], { status: 'active' }), false);
    assert.equal(kept([active], { status: 'Terminated' }), false);
    assert.equal(kept([active], {}), false);
    assert.equal(kept([{ field: 'status', op: 'notEquals', value: 'Terminated' }], { status: 'TERMINATED' }), false);
    assert.equal(kept([{ field: 'status', op: 'notEquals', value: 'Terminated' }], {}), true);
  });

  it('in and notIn', () => {
    const rule: FilterRule = { field: 'department', op: 'in', values: ['R&D', 'Sales'] };
    assert.equal(kept([rule], { department: 'sales' }), true);
    assert.equal(kept([rule], { department: 'Legal' }), false);
    assert.equal(kept([{ ...rule, op: 'notIn' }], { department: 'Legal' }), true);
    assert.equal(kept([{ ...rule, op: 'notIn' }], { department: 'R&D' }), false);
  });

  it('isEmpty and isNotEmpty (an absent field is empty)', () => {
    assert.equal(kept([{ field: 'email', op: 'isEmpty' }], {}), true);
    assert.equal(kept([{ field: 'email', op: 'isEmpty' }], { email: 'a@b.co' }), false);
    assert.equal(kept([{ field: 'email', op: 'isNotEmpty' }], { email: 'a@b.co' }), true);
    assert.equal(kept([{ field: 'email', op: 'isNotEmpty' }], {}), false);
  });

  it('every rule must hold; the first failing one is returned', () => {
    const rules: FilterRule[] = [
      { field: 'status', op: 'equals', value: 'Active' },
      { field: 'citizenship', op: 'notIn', values: ['US'] },
    ];
    const decide = compileFilters(rules);
    assert.equal(decide({ status: 'Active', citizenship: 'BR' }), undefined);
    assert.equal(decide({ status: 'Active', citizenship: 'US' }), rules[1]);
    assert.equal(decide({ status: 'Leave', citizenship: 'US' }), rules[0]);
    assert.equal(compileFilters([])({}), undefined);
    assert.deepEqual(filteredFields([...rules, rules[0]!]), ['status', 'citizenship']);
  });

  it('describes rules in words', () => {
    const title = (f: string) => (f === 'status' ? 'Status' : f);
    assert.equal(describeFilter({ field: 'status', op: 'equals', value: 'Active' }, title), 'Status equals "Active"');
    assert.equal(describeFilter({ field: 'x', op: 'in', values: ['a', 'b'] }), 'x is one of "a", "b"');
    assert.equal(describeFilter({ field: 'x', op: 'notIn', values: ['a'] }), 'x is none of "a"');
    assert.equal(describeFilter({ field: 'x', op: 'isEmpty' }), 'x is empty');
  });

  it('problems name the filter and what is wrong', () => {
    const mapped = (f: string) => f === 'status';
    const messages = (filters: unknown) =>
      filterProblems(filters, mapped, 'job j1').map((p) => `${p.code}: ${p.message}`);
    assert.deepEqual(messages([{ field: 'status', op: 'equals', value: 'Active' }]), []);
    assert.deepEqual(messages({ field: 'status' }), ['invalid_filter: job j1: filters must be a list']);
    assert.deepEqual(messages([{ field: 'status', op: 'like', value: 'A%' }]), [
      'invalid_filter: job j1: filter 1 op must be one of equals, notEquals, in, notIn, isEmpty, isNotEmpty',
    ]);
    assert.deepEqual(messages([{ field: 'status', op: 'equals' }]), [
      'invalid_filter: job j1: filter 1 (equals) needs a value; use isEmpty / isNotEmpty for empty cells',
    ]);
    assert.deepEqual(messages([{ field: 'status', op: 'in', values: [] }]), [
      'invalid_filter: job j1: filter 1 (in) needs values: a list of 1 to 500 texts',
    ]);
    assert.deepEqual(messages([{ field: 'status', op: 'isEmpty', value: 'x' }]), [
      'invalid_filter: job j1: filter 1 (isEmpty) takes no value',
    ]);
    assert.deepEqual(messages([{ field: 'department', op: 'isNotEmpty' }]), [
      'filter_field_unmapped: job j1: filter 1 tests department, which no column is mapped to',
    ]);
  });
});
