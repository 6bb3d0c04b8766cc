import { readdirSync, readFileSync } from 'node:fs';

/** Processes on this host owned by the given uids, as `{pid, uid, name}` read from /proc. Processes of
 * another Node process's judge (another test run on a shared machine uses the same worker uids) are left
 * out with `{ ownOnly: true }`: a process that escaped a sandbox is re-parented away from any judge, so
 * it is still reported. */
export function processesOf(uids: number[], options: { ownOnly?: boolean } = {}): { pid: number; uid: number; name: string }[] {
  const found: { pid: number; uid: number; name: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    if (!uids.includes(uid)) continue;
    if (options.ownOnly && underAnotherNode(Number(entry))) continue;
    const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
    if (/^State:\s+Z/m.test(status)) found.push({ pid: Number(entry), uid, name: `${name} (zombie)` });
    else found.push({ pid: Number(entry), uid, name });
  }
  return found;
}

/** True when an ancestor of `pid` is a Node process other than this one. */
function underAnotherNode(pid: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    let status: string;
    try {
      status = readFileSync(`/proc/${p}/status`, 'utf8');
    } catch {
      return false;
    }
    const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '';
    if (p !== pid && p !== process.pid && (name === 'node' || name === 'MainThread')) return true;
    if (p === process.pid) return false;
    p = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  }
  return false;
}

/** Command lines of the processes on this host whose command line contains `needle`, read from /proc one
 * process at a time (not from `ps`, whose whole listing must fit a buffer: on a busy machine it did not). */
export function commandLinesContaining(needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let line: string;
    try {
      line = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // exited while we looked
    }
    if (line.includes(needle)) found.push(line);
  }
  return found;
}
