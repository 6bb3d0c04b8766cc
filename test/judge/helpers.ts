import { readdirSync, readFileSync } from 'node:fs';

/** Processes on this host owned by the given uids, as `{pid, uid, name}` read from /proc. */
export function processesOf(uids: number[]): { pid: number; uid: number; name: string }[] {
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
    const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?';
    if (/^State:\s+Z/m.test(status)) found.push({ pid: Number(entry), uid, name: `${name} (zombie)` });
    else found.push({ pid: Number(entry), uid, name });
  }
  return found;
}
