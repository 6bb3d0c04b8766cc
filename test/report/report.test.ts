import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAppsPlus } from '../../src/data/index.js';
import { BUNDLED_DATA } from '../../src/eval/demo.js';
import { runEval } from '../../src/eval/run.js';
import { writeReport, type ReportResult } from '../../src/report/index.js';
import { Scorer } from '../../src/reward/scorer.js';

const CHROMIUM = '/usr/bin/chromium';
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../../docs/report-screenshot.png', import.meta.url));

/** Deterministic damage to a correct program, so the second "model" fails in known ways. */
function mutate(code: string, i: number): string {
  switch (i % 6) {
    case 0: return code;
    case 1: return code.replaceAll('print(', 'str('); // computes, prints nothing
    case 2: return `${code}\n    )(\n`; // syntax error
    case 3: return `${code}\n_unused = eval("1")\n`; // B307 MEDIUM
    case 4: return `raise RuntimeError("boom")\n${code}`; // crash
    default: return code.replace(/return (.+)/, 'return None'); // wrong or no output on call style
  }
}

let dir: string;
let report: ReportResult;
const scorer = new Scorer();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scrl-report-'));
  const apps = join(BUNDLED_DATA, 'apps_plus/valid_500.json');
  const { problems } = loadAppsPlus(apps);
  const chosen = problems.slice(0, 400).filter((_, i) => i % 16 === 0); // 25 problems, both styles
  const reference: string[] = [];
  const damaged: string[] = [];
  chosen.forEach((p, i) => {
    for (let s = 0; s < 2; s++) {
      reference.push(JSON.stringify({ problem_id: p.id, completion: p.canonicalSolution }));
      damaged.push(JSON.stringify({ problem_id: p.id, completion: mutate(p.canonicalSolution ?? '', i + 3 * s) }));
    }
  });
  writeFileSync(join(dir, 'reference.jsonl'), reference.join('\n') + '\n');
  writeFileSync(join(dir, 'damaged.jsonl'), damaged.join('\n') + '\n');
  for (const name of ['reference', 'damaged']) {
    await runEval({ data: apps, backend: { kind: 'completions-file', path: join(dir, `${name}.jsonl`) }, samplesPerPrompt: 2, label: name === 'reference' ? 'APPS+ reference' : 'damaged copies' }, { outDir: join(dir, name), scorer });
  }
  report = writeReport([join(dir, 'reference'), join(dir, 'damaged')], { outDir: join(dir, 'report') });
});
after(() => scorer.close());

test('report: Markdown tables, SVG and PNG charts, one HTML page', () => {
  assert.deepEqual(report.warnings, []);
  const md = readFileSync(report.markdown, 'utf8');
  for (const heading of ['Results (the paper\'s Table 3 columns', 'Benchmark summary (the paper\'s Table 2 columns)', 'Paired differences against APPS+ reference', 'Ladder stage distribution', 'Failure taxonomy', 'pass@k', 'Security findings by rule']) {
    assert.ok(md.includes(heading), heading);
  }
  // The reference solutions pass everything: 100.0 with a degenerate interval.
  assert.match(md, /\| APPS\+ reference \| 25 \| 50 \| 100\.0 \[100\.0, 100\.0\] \| 100\.0 \[100\.0, 100\.0\] \| 100\.0 \[100\.0, 100\.0\] \|/);
  assert.match(md, /\| damaged copies − APPS\+ reference \| −/);
  assert.match(md, /B307/);
  assert.match(md, /!\[Ladder stage distribution\]\(charts\/stages\.png\)/);
  assert.equal(report.charts.length, 5);
  for (const c of report.charts) {
    assert.match(readFileSync(c.svg, 'utf8'), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const png = readFileSync(c.png!);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(png.readUInt32BE(16) >= 1000, 'PNG at 2x is at least 1000 px wide');
  }
  const html = readFileSync(report.html, 'utf8');
  assert.ok(!/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), 'no scripts and no external URLs');
});

test('report: headless Chromium shows the tables and the charts (screenshot)', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) assert.fail(`${CHROMIUM} missing: apt-get install -y chromium (.ci/run installs it)`);
    t.skip(`${CHROMIUM} not installed (apt-get install -y chromium)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'scrl-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${report.html}`);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), [], 'the page is self-contained');
    assert.match(await page.title(), /APPS\+ reference vs damaged copies/);
    for (const id of ['main', 'table2', 'paired', 'stages', 'failures', 'passk', 'rules']) {
      const table = page.locator(`table[data-table="${id}"]`);
      assert.ok(await table.isVisible(), `table ${id} visible`);
    }
    const mainRows = await page.locator('table[data-table="main"] tbody tr').allInnerTexts();
    assert.equal(mainRows.length, 2);
    assert.match(mainRows[0], /APPS\+ reference\s+25\s+50\s+100\.0\s+\[100\.0, 100\.0\]/);
    for (const id of ['rates', 'stages', 'rewards', 'failures', 'passk']) {
      const chart = page.locator(`figure[data-chart="${id}"] svg`);
      const box = await chart.boundingBox();
      assert.ok(box && box.width > 400 && box.height > 100, `chart ${id} rendered (${JSON.stringify(box)})`);
      assert.ok((await chart.locator('rect, polyline, circle').count()) > 3, `chart ${id} has marks`);
    }
    assert.ok(await page.locator('figure[data-chart="stages"] svg text', { hasText: 'Ladder stage distribution (% of samples)' }).isVisible());
    const shot = join(dir, 'report-screenshot.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).length > 20_000);
    if (process.env.SCRL_UPDATE_SCREENSHOT === '1') {
      mkdirSync(join(DOCS_SCREENSHOT, '..'), { recursive: true });
      await page.screenshot({ path: DOCS_SCREENSHOT, fullPage: true });
    }
  } finally {
    await context.close();
  }
});
