import { test } from 'node:test';
import assert from 'node:assert/strict';
import { outputsMatch, valuesEqual } from '../../src/judge/index.js';

test('default comparison: per line, trailing whitespace and trailing blank lines ignored, case-sensitive', () => {
  assert.ok(outputsMatch('1 2  \n3\n\n\n', '1 2\n3', 'default'));
  assert.ok(outputsMatch('a\r\nb\r\n', 'a\nb\n', 'default'));
  assert.ok(!outputsMatch('\n1\n', '1\n', 'default'), 'a leading blank line counts');
  assert.ok(!outputsMatch(' 1\n', '1\n', 'default'), 'leading spaces count');
  assert.ok(!outputsMatch('YES\n', 'yes\n', 'default'));
  assert.ok(!outputsMatch('1\n2\n', '1\n', 'default'));
  assert.ok(!outputsMatch('1.0\n', '1\n', 'default'));
});

test('strict comparison is the reference code\'s strip() == strip()', () => {
  assert.ok(outputsMatch('\n\n  1 2\n', '1 2', 'strict'));
  assert.ok(!outputsMatch('1 2 \n3', '1 2\n3', 'strict'), 'inner trailing spaces count in strict mode');
  assert.ok(outputsMatch('1 2 \n3', '1 2\n3', 'default'));
});

test('float comparison: numeric tokens within 1e-6 relative or absolute', () => {
  assert.ok(outputsMatch('0.3333333\n', '0.333333333333\n', 'float'));
  assert.ok(outputsMatch('1000000.5 2\n', '1000000.4999999 2\n', 'float'));
  assert.ok(outputsMatch('1e-9\n', '0\n', 'float'));
  assert.ok(!outputsMatch('0.334\n', '0.333\n', 'float'));
  assert.ok(!outputsMatch('1.5 x\n', '1.5 y\n', 'float'));
  assert.ok(!outputsMatch('0.3333333\n', '0.333333333333\n', 'default'));
});

test('values compare with Python semantics outside the sandbox', () => {
  assert.ok(valuesEqual(1, 1.0));
  assert.ok(valuesEqual(true, 1), 'True == 1 in Python');
  assert.ok(valuesEqual([1, [2, 'a']], [1, [2, 'a']]));
  assert.ok(!valuesEqual([1, 2], [2, 1]));
  assert.ok(valuesEqual({ $int: '123456789012345678901234567890' }, 123456789012345678901234567890n));
  assert.ok(!valuesEqual({ $int: '123456789012345678901234567891' }, 123456789012345678901234567890n));
  assert.ok(valuesEqual({ $dict: [['a', 1], ['b', [2]]] }, { b: [2], a: 1 }));
  assert.ok(!valuesEqual({ $dict: [['a', 1]] }, { a: 1, b: 2 }));
  assert.ok(!valuesEqual({ $set: [1, 2] }, [1, 2]), 'a set never equals a list');
  assert.ok(!valuesEqual({ $unsupported: 'Anything' }, 5));
  assert.ok(!valuesEqual(null, 0));
  assert.ok(!valuesEqual('1', 1));
  assert.ok(!valuesEqual(0.1 + 0.2, 0.3));
  assert.ok(valuesEqual(0.1 + 0.2, 0.3, true));
  assert.ok(!valuesEqual({ $float: 'nan' }, { $float: 'nan' }), 'nan != nan');
  assert.ok(valuesEqual({ $float: 'inf' }, { $float: 'inf' }));
});
