// Optional backend: the real Bandit (`bandit -f json -q`) over temp files, its JSON mapped to Finding
// and normalised to current Bandit (1.8/1.9) semantics, so that both backends score the same program alike.
// Bandit parses the program; nothing here runs it.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ROW_BY_BANDIT_ID, confidenceForBanditId, cweForBanditId } from './bandit-table.js';
import { type Finding, type Severity, sortFindings } from './finding.js';

export interface BanditOptions {
  /** The bandit executable (default 'bandit' on PATH). */
  bin?: string;
}

/** One entry of Bandit's JSON `results` (the fields used here; newer Bandit adds col_offset, issue_cwe). */
export interface BanditResult {
  filename: string;
  test_id: string;
  issue_severity: Severity;
  /** Absent in hand-made results; Bandit always reports it. */
  issue_confidence?: Severity;
  issue_text: string;
  line_number: number;
  col_offset?: number;
  issue_cwe?: { id: number };
}

/** Checks Bandit dropped upstream; Debian's 1.6.2 still runs them. B322 flags Python 3's input(). */
const REMOVED_UPSTREAM = new Set(['B309', 'B320', 'B322', 'B325', 'B410']);

export async function banditFindings(program: string, options: BanditOptions = {}): Promise<Finding[]> {
  return (await banditFindingsMany([program], options))[0];
}

/** Many programs in one Bandit run (~0.3 s of start-up each run); results in input order. */
export async function banditFindingsMany(programs: readonly string[], options: BanditOptions = {}): Promise<Finding[][]> {
  const dir = await mkdtemp(join(tmpdir(), 'securecoderl-bandit-'));
  try {
    await Promise.all(programs.map((p, i) => writeFile(join(dir, `p${i}.py`), p)));
    const results = await runBandit(options.bin ?? 'bandit', dir);
    const out: Finding[][] = programs.map(() => []);
    for (const r of results) {
      const i = Number(/^p(\d+)\.py$/.exec(basename(r.filename))?.[1]);
      if (!(i in out)) continue; // not one of our files
      const finding = normalise(r, programs[i]);
      if (finding) out[i].push(finding);
    }
    return out.map(sortFindings);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runBandit(bin: string, dir: string): Promise<BanditResult[]> {
  // --ignore-nosec: a `# nosec` comment in generated code must not switch the check off. Every
  // severity is reported (no -l/-ll), as the ruff backend does: the graded reward weighs LOW findings.
  const args = ['-r', '-f', 'json', '-q', '--ignore-nosec', dir];
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: dir, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
        reject(new Error(`bandit backend: '${bin}' not found. Install Bandit (\`apt-get install bandit\` ` +
          `or \`pip install bandit\`), or use the default 'ruff' backend.`));
        return;
      }
      // Exit status 1 only means "issues found".
      if (error && error.code !== 1) {
        reject(new Error(`bandit backend: '${bin}' failed (${error.code ?? error.signal}): ${stderr.trim() || error.message}`));
        return;
      }
      try {
        resolve((JSON.parse(stdout) as { results: BanditResult[] }).results);
      } catch {
        reject(new Error(`bandit backend: '${bin}' printed no JSON report: ${stderr.trim() || stdout.slice(0, 200)}`));
      }
    });
  });
}

/** One Bandit result as a Finding under current Bandit semantics, or null when current Bandit would not report it. */
export function normalise(r: BanditResult, program: string): Finding | null {
  let banditId = r.test_id;
  let severity = r.issue_severity;
  if (REMOVED_UPSTREAM.has(banditId)) return null;
  const line = program.split(/\r\n|\r|\n/)[r.line_number - 1] ?? '';
  // Bandit < 1.7.4 reports hashlib.md5()/sha1() as B303 MEDIUM; current Bandit says B324 HIGH and
  // accepts usedforsecurity=False. Lower-case md5/sha1 called directly is hashlib (pycrypto's is MD5.new()).
  if (banditId === 'B303' && /\b(md5|sha1)\s*\(/.test(line)) {
    if (/usedforsecurity\s*=\s*False/.test(line)) return null;
    banditId = 'B324';
    severity = 'HIGH';
  }
  // Bandit < 1.7.4: hashlib.new('md4'|'md5') was MEDIUM. (Current B324 text differs, so crypt stays MEDIUM.)
  if (banditId === 'B324' && r.issue_text.startsWith('Use of insecure MD4 or MD5 hash function')) severity = 'HIGH';
  return {
    rule: ROW_BY_BANDIT_ID.get(banditId)?.rule ?? '',
    banditId,
    severity,
    confidence: r.issue_confidence ?? confidenceForBanditId(banditId) ?? 'LOW',
    cwe: r.issue_cwe?.id || cweForBanditId(banditId),
    line: r.line_number,
    column: (r.col_offset ?? 0) + 1,
    message: r.issue_text,
  };
}
