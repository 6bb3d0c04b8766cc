import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonical, jsonAscii, literalValue, pythonFloatRepr, reindent, statements, tokenize } from '../../src/data/python-syntax.js';

const canon = (src: string) => {
  const v = literalValue(src);
  return v === null ? null : canonical(v);
};

test('tokenizer: strings with prefixes and escapes, comments, continuations, brackets', () => {
  const src = "x = rb'a\\'b' + \"\"\"q\n\"\"\"  # c\ny = [1,\n  2] \\\n  + 3\n";
  const tokens = tokenize(src);
  assert.deepEqual(tokens.map((t) => t.text), ['x', '=', "rb'a\\'b'", '+', '"""q\n"""', '\n', 'y', '=', '[', '1', ',', '2', ']', '+', '3', '\n']);
  assert.equal(tokens.find((t) => t.text === '2')!.depth, 1);
  assert.throws(() => tokenize("'open"), /unterminated string/);
});

test('statements: compound statements keep their blocks and else/except clauses; reindent leaves strings alone', () => {
  const src = '    a = 1\n    for i in range(3):\n        assert f(i)\n    else:\n        pass\n    assert g() == """x\n  y"""\n';
  const stmts = statements(src);
  assert.deepEqual(stmts.map((s) => s.tokens[0].text), ['a', 'for', 'assert']);
  assert.equal(stmts[1].text, '    for i in range(3):\n        assert f(i)\n    else:\n        pass');
  assert.equal(reindent(stmts[2].text, ''), 'assert g() == """x\n  y"""');
  assert.equal(reindent('a = 1\nif a:\n    b = 2', '  '), '  a = 1\n  if a:\n      b = 2');
});

test('literal folding: what literal_eval takes, plus pure builtins and arithmetic', () => {
  assert.equal(canon('(4, 5)'), '(4, 5)');
  assert.equal(canon('set((4, 5))'), canon('{5, 4}'));
  assert.equal(canon('[1, 2.0, True]'), '[1, 2, 1]');            // bool == int == integral float
  assert.equal(canon('{1: "a", (2, 3): [None]}'), '{(2, 3): [None], 1: "a"}');
  assert.equal(canon('2.0/3.0'), '0.6666666666666666');
  assert.equal(canon('(3 + 5 + 7, 3 * 5 * 7)'), '(15, 105)');
  assert.equal(canon('-7 // 2'), '-4');
  assert.equal(canon('2 ** 100'), '1267650600228229401496703205376');
  assert.equal(canon("'a' 'b' + 'c' * 2"), '"abcc"');
  assert.equal(canon("'\\u00e9\\n'"), '"\\u00e9\\n"');
  assert.equal(canon("b'\\x00A'"), 'b"0041"');
  assert.equal(canon('1+2j'), 'complex(1, 2)');
  assert.equal(canon("float('inf')"), 'inf');
  assert.equal(canon('tuple(range(3))'), '(0, 1, 2)');
  assert.equal(canon('sorted([3, 1, 2])'), '[1, 2, 3]');
  assert.equal(canon('frozenset()'), 'set{}');
  // not constants
  for (const src of ['x', 'f(1)', 'sys.getsizeof((1,))', "f'{x}'", 'tuple({1, 2})', '[1, 2][0]', 'datetime.date(2013, 5, 7)', '{[1]: 2}']) {
    assert.equal(literalValue(src), null, src);
  }
});

test('Python float repr and json.dumps ensure_ascii', () => {
  const cases: [number, string][] = [[0.1, '0.1'], [1e-5, '1e-05'], [0.0001, '0.0001'], [1.5e-7, '1.5e-07'], [1e16, '1e+16'],
    [1e15, '1000000000000000.0'], [123456789.123, '123456789.123'], [-2.5, '-2.5'], [5e-324, '5e-324'], [1.7976931348623157e308, '1.7976931348623157e+308']];
  for (const [x, repr] of cases) assert.equal(pythonFloatRepr(x), repr, String(x));
  assert.equal(jsonAscii('a"\\\u007f\u00e9\ud83d\ude00\u0001'), '"a\\"\\\\\\u007f\\u00e9\\ud83d\\ude00\\u0001"');
});
