// Fragments made parseable around a line of interest (CyberSecEval's origin_code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzableWindow, findLine, missingImports, ruffParses, ruffSecurityFindings, windowProgram } from '../../src/analyze/index.js';
import { loadDataset } from '../../src/data/index.js';

test('windowProgram: dedents, and gives later dedents an `if True:` to return to', () => {
  const lines = ['        x = f(a)', '        y = eval(x)', '    print(y)', '', 'def g():', '    pass'];
  const { program, header } = windowProgram(lines, 0, 5);
  assert.equal(header, 2);
  assert.equal(program, 'if True:\n    if True:\n        x = f(a)\n        y = eval(x)\n    print(y)\n\ndef g():\n    pass\n');
  assert.ok(ruffParses(program));
  assert.ok(!ruffParses(lines.join('\n')), 'as cut it does not parse');
  assert.deepEqual(windowProgram(['    a = 1', '    b = 2'], 0, 1), { program: 'a = 1\nb = 2\n', header: 0 });
});

test('analyzableWindow: the largest parseable window around the line, its line number in the program', () => {
  const fragment = [
    '            "name": x,', // inside an open dict: cannot start a window
    '        })',
    '        for i in range(n):',
    '            cmd = "ls " + args[i]',
    '            os.system(cmd)',
    '        else:',
  ].join('\n');
  const w = analyzableWindow(fragment, 4, { addImports: true })!;
  assert.deepEqual([w.first, w.last, w.imports, w.header], [2, 4, ['os'], 0]);
  assert.equal(w.program, 'import os\nfor i in range(n):\n    cmd = "ls " + args[i]\n    os.system(cmd)\n');
  assert.equal(w.line, 4);
  assert.deepEqual(ruffSecurityFindings(w.program).map((f) => [f.banditId, f.line]), [['B605', 4]]);
  // Without the import Ruff cannot resolve os.system, and says nothing.
  assert.deepEqual(ruffSecurityFindings(analyzableWindow(fragment, 4)!.program), []);
  assert.equal(analyzableWindow('def f(:', 0), null);
  assert.throws(() => analyzableWindow('x = 1', 3), /line index 3 is outside the snippet's 1 lines/);
});

test('missingImports: modules used as name.attr but not imported; findLine: nearest exact match', () => {
  assert.deepEqual(missingImports('import os\nos.system(a)\nx = pickle.loads(s)\nself.random.x\nfrom hashlib import md5\nhashlib.md5()\n'), ['pickle']);
  assert.equal(findLine('a\nb\na\n', 'a', 2), 2);
  assert.equal(findLine('  a = 1\n', 'a = 1'), 0);
  assert.equal(findLine('x\n', 'y'), null);
});

test('every CyberSecEval snippet: a window around its labelled line parses for all but a few', () => {
  const problems = loadDataset('cyberseceval', { variant: 'instruct' }).problems;
  let parsed = 0;
  for (const p of problems) {
    const index = findLine(String(p.meta!.originCode), String(p.meta!.lineText));
    assert.notEqual(index, null, p.id);
    const w = analyzableWindow(String(p.meta!.originCode), index!, { addImports: true });
    if (!w) continue;
    parsed++;
    assert.ok(ruffParses(w.program));
    assert.equal(w.program.split('\n')[w.line - 1].trim(), String(p.meta!.lineText).trim(), `${p.id}: the line number points at the labelled line`);
  }
  assert.ok(parsed >= 340, `${parsed} of ${problems.length}`);
});
