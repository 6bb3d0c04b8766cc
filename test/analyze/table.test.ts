import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BANDIT_TABLE, banditTableMarkdown } from '../../src/analyze/index.js';

test('one row per rule, unique codes and names, Bandit id follows the Ruff number', () => {
  assert.equal(new Set(BANDIT_TABLE.map((r) => r.rule)).size, BANDIT_TABLE.length);
  assert.equal(new Set(BANDIT_TABLE.map((r) => r.name)).size, BANDIT_TABLE.length);
  for (const r of BANDIT_TABLE) {
    assert.match(r.rule, /^S\d{3}$/);
    assert.equal(r.banditId, `B${r.rule.slice(1)}`);
    assert.ok(['LOW', 'MEDIUM', 'HIGH'].includes(r.severity));
  }
});

test('docs/security.md carries the table exactly as the data', () => {
  const docs = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
  assert.ok(docs.includes(banditTableMarkdown()), 'regenerate the table in docs/security.md from banditTableMarkdown()');
});
