// Ruff's flake8-bandit (`S`) rules mapped to current Bandit (1.8/1.9): test id, severity, CWE.
// Ruff reports no severity, so this table supplies Bandit's. Data only; `severity.ts` resolves the splits.

import type { Severity } from './finding.js';

/** Rules whose Bandit severity depends on the flagged code rather than on the rule alone. */
export type Split = 'shell-literal' | 'chmod-mode' | 'key-size' | 'hash-module' | 'tar-members';

export interface BanditRow {
  /** Ruff code. */
  rule: string;
  /** Ruff's rule name (Ruff prints names instead of codes in preview mode). */
  name: string;
  banditId: string;
  /** Severity of the usual case; for a split row the worst case, see SPLITS for the rest. */
  severity: Severity;
  /** Bandit's confidence for the check (its plugin's `confidence=`; HIGH for every blacklist call and
   * import). S202 takes its severity's level and S608 depends on the call, see severity.ts. */
  confidence: Severity;
  split?: Split;
  cwe: number | null;
  note?: string;
}

export const SPLITS: Record<Split, string> = {
  'shell-literal': 'HIGH when the command is not a string literal; LOW when it is (Ruff says "seems safe")',
  'chmod-mode': 'HIGH when the mode is world-writable (0o002); MEDIUM for group-write/exec or other-exec only',
  'key-size': 'RSA/DSA: HIGH below 1024 bits, MEDIUM below 2048; EC: HIGH below 160 bits, MEDIUM below 224',
  'hash-module': 'hashlib md4/md5/sha/sha1: HIGH; crypt METHOD_CRYPT/MD5/BLOWFISH: MEDIUM',
  'tar-members': 'HIGH without members=; MEDIUM with members=<value>; LOW with members=<call>(...)',
};

const row = (
  rule: string, name: string, severity: Severity, cwe: number | null, extra: Partial<BanditRow> = {},
): BanditRow => ({ rule, name, banditId: 'B' + rule.slice(1), severity, confidence: 'HIGH', cwe, ...extra });
const MEDIUM_CONF = { confidence: 'MEDIUM' } as const;
const LOW_CONF = { confidence: 'LOW' } as const;

export const BANDIT_TABLE: readonly BanditRow[] = [
  row('S101', 'assert', 'LOW', 703),
  row('S102', 'exec-builtin', 'MEDIUM', 78),
  row('S103', 'bad-file-permissions', 'HIGH', 732, { split: 'chmod-mode' }),
  row('S104', 'hardcoded-bind-all-interfaces', 'MEDIUM', 605, MEDIUM_CONF),
  row('S105', 'hardcoded-password-string', 'LOW', 259, MEDIUM_CONF),
  row('S106', 'hardcoded-password-func-arg', 'LOW', 259, MEDIUM_CONF),
  row('S107', 'hardcoded-password-default', 'LOW', 259, MEDIUM_CONF),
  row('S108', 'hardcoded-temp-file', 'MEDIUM', 377, MEDIUM_CONF),
  row('S110', 'try-except-pass', 'LOW', 703),
  row('S112', 'try-except-continue', 'LOW', 703),
  row('S113', 'request-without-timeout', 'MEDIUM', 400, LOW_CONF),
  row('S201', 'flask-debug-true', 'HIGH', 94, MEDIUM_CONF),
  row('S202', 'tarfile-unsafe-members', 'HIGH', 22, { split: 'tar-members' }),
  row('S301', 'suspicious-pickle-usage', 'MEDIUM', 502),
  row('S302', 'suspicious-marshal-usage', 'MEDIUM', 502),
  row('S303', 'suspicious-insecure-hash-usage', 'MEDIUM', 327,
    { note: 'pycrypto/cryptography MD2/MD4/MD5/SHA1; hashlib.md5/sha1 are S324 (B324 HIGH)' }),
  row('S304', 'suspicious-insecure-cipher-usage', 'HIGH', 327),
  row('S305', 'suspicious-insecure-cipher-mode-usage', 'MEDIUM', 327),
  row('S306', 'suspicious-mktemp-usage', 'MEDIUM', 377),
  row('S307', 'suspicious-eval-usage', 'MEDIUM', 78),
  row('S308', 'suspicious-mark-safe-usage', 'MEDIUM', 79,
    { note: 'Bandit also reports B703 (CWE 80) on the same call; Ruff has no twin' }),
  row('S310', 'suspicious-url-open-usage', 'MEDIUM', 22),
  row('S311', 'suspicious-non-cryptographic-random-usage', 'LOW', 330),
  row('S312', 'suspicious-telnet-usage', 'HIGH', 319),
  row('S313', 'suspicious-xmlc-element-tree-usage', 'MEDIUM', 20),
  row('S314', 'suspicious-xml-element-tree-usage', 'MEDIUM', 20),
  row('S315', 'suspicious-xml-expat-reader-usage', 'MEDIUM', 20),
  row('S316', 'suspicious-xml-expat-builder-usage', 'MEDIUM', 20),
  row('S317', 'suspicious-xml-sax-usage', 'MEDIUM', 20),
  row('S318', 'suspicious-xml-mini-dom-usage', 'MEDIUM', 20),
  row('S319', 'suspicious-xml-pull-dom-usage', 'MEDIUM', 20),
  row('S321', 'suspicious-ftp-lib-usage', 'HIGH', 319),
  row('S323', 'suspicious-unverified-context-usage', 'MEDIUM', 295),
  row('S324', 'hashlib-insecure-hash-function', 'HIGH', 327, { split: 'hash-module' }),
  row('S401', 'suspicious-telnetlib-import', 'HIGH', 319),
  row('S402', 'suspicious-ftplib-import', 'HIGH', 319),
  row('S403', 'suspicious-pickle-import', 'LOW', 502),
  row('S404', 'suspicious-subprocess-import', 'LOW', 78),
  row('S405', 'suspicious-xml-etree-import', 'LOW', 20),
  row('S406', 'suspicious-xml-sax-import', 'LOW', 20),
  row('S407', 'suspicious-xml-expat-import', 'LOW', 20),
  row('S408', 'suspicious-xml-minidom-import', 'LOW', 20),
  row('S409', 'suspicious-xml-pulldom-import', 'LOW', 20),
  row('S411', 'suspicious-xmlrpc-import', 'HIGH', 20,
    { note: 'Ruff misses `import xmlrpc.client`, which Bandit flags' }),
  row('S412', 'suspicious-httpoxy-import', 'HIGH', 284),
  row('S413', 'suspicious-pycrypto-import', 'HIGH', 327),
  row('S415', 'suspicious-pyghmi-import', 'HIGH', 319, { note: 'Ruff misses `import pyghmi.<sub>`' }),
  row('S501', 'request-with-no-cert-validation', 'HIGH', 295),
  row('S502', 'ssl-insecure-version', 'HIGH', 327),
  row('S503', 'ssl-with-bad-defaults', 'MEDIUM', 327, MEDIUM_CONF),
  row('S504', 'ssl-with-no-version', 'LOW', 327, MEDIUM_CONF),
  row('S505', 'weak-cryptographic-key', 'HIGH', 326, { split: 'key-size' }),
  row('S506', 'unsafe-yaml-load', 'MEDIUM', 20),
  row('S507', 'ssh-no-host-key-verification', 'HIGH', 295, MEDIUM_CONF),
  row('S508', 'snmp-insecure-version', 'MEDIUM', 319),
  row('S509', 'snmp-weak-cryptography', 'MEDIUM', 319),
  row('S601', 'paramiko-call', 'MEDIUM', 78,
    { ...MEDIUM_CONF, note: 'Ruff only flags `paramiko.exec_command`; Bandit any `.exec_command` once paramiko is imported' }),
  row('S602', 'subprocess-popen-with-shell-equals-true', 'HIGH', 78, { split: 'shell-literal' }),
  row('S603', 'subprocess-without-shell-equals-true', 'LOW', 78),
  row('S604', 'call-with-shell-equals-true', 'MEDIUM', 78, LOW_CONF),
  row('S605', 'start-process-with-a-shell', 'HIGH', 78, { split: 'shell-literal' }),
  row('S606', 'start-process-with-no-shell', 'LOW', 78, MEDIUM_CONF),
  row('S607', 'start-process-with-partial-path', 'LOW', 78),
  row('S608', 'hardcoded-sql-expression', 'MEDIUM', 89, LOW_CONF),
  row('S609', 'unix-command-wildcard-injection', 'HIGH', 155, MEDIUM_CONF),
  row('S610', 'django-extra', 'MEDIUM', 89, MEDIUM_CONF),
  row('S611', 'django-raw-sql', 'MEDIUM', 89, MEDIUM_CONF),
  row('S612', 'logging-config-insecure-listen', 'MEDIUM', 94),
  row('S701', 'jinja2-autoescape-false', 'HIGH', 94),
  row('S702', 'mako-templates', 'MEDIUM', 80),
  row('S704', 'unsafe-markup-use', 'MEDIUM', 79),
];

/** Current Bandit checks with no Ruff rule (the bandit backend can still report them). */
export const BANDIT_ONLY: readonly { banditId: string; severity: Severity; confidence: Severity; cwe: number; note: string }[] = [
  { banditId: 'B613', severity: 'HIGH', confidence: 'MEDIUM', cwe: 838, note: 'bidirectional control characters (trojan source)' },
  { banditId: 'B614', severity: 'MEDIUM', confidence: 'HIGH', cwe: 502, note: 'torch.load' },
  { banditId: 'B615', severity: 'MEDIUM', confidence: 'HIGH', cwe: 494, note: 'Hugging Face from_pretrained without a pinned revision' },
  { banditId: 'B703', severity: 'MEDIUM', confidence: 'HIGH', cwe: 80, note: 'django mark_safe (second report beside B308)' },
];

/** Rows whose confidence depends on the flagged code (resolved in severity.ts). */
const CONFIDENCE_NOTE: Record<string, string> = {
  S202: 'as severity',
  S608: 'MEDIUM in execute(), else LOW',
  S701: 'MEDIUM when autoescape= is not False, else HIGH',
};

export const ROW_BY_RULE = new Map(BANDIT_TABLE.map((r) => [r.rule, r]));
export const ROW_BY_NAME = new Map(BANDIT_TABLE.map((r) => [r.name, r]));
export const ROW_BY_BANDIT_ID = new Map(BANDIT_TABLE.map((r) => [r.banditId, r]));

export function cweForBanditId(banditId: string): number | null {
  return ROW_BY_BANDIT_ID.get(banditId)?.cwe ?? BANDIT_ONLY.find((b) => b.banditId === banditId)?.cwe ?? null;
}

/** Bandit's confidence for a test id, for reports that carry none (null for an id the tables lack). */
export function confidenceForBanditId(banditId: string): Severity | null {
  return ROW_BY_BANDIT_ID.get(banditId)?.confidence ?? BANDIT_ONLY.find((b) => b.banditId === banditId)?.confidence ?? null;
}

/** The table as Markdown; docs/security.md embeds this text verbatim (a test checks it). */
export function banditTableMarkdown(): string {
  const lines = ['| Ruff | Ruff name | Bandit | severity | confidence | CWE | note |', '|---|---|---|---|---|---|---|'];
  for (const r of BANDIT_TABLE) {
    const note = [r.split ? SPLITS[r.split] : '', r.note ?? ''].filter(Boolean).join('; ');
    lines.push(`| ${r.rule} | ${r.name} | ${r.banditId} | ${r.severity} | ${CONFIDENCE_NOTE[r.rule] ?? r.confidence} | ${r.cwe ?? ''} | ${note} |`);
  }
  for (const b of BANDIT_ONLY) lines.push(`| — | — | ${b.banditId} | ${b.severity} | ${b.confidence} | ${b.cwe} | Bandit only: ${b.note} |`);
  return lines.join('\n');
}
