import { readFileSync } from 'node:fs';

/** Clock ticks per second of the times in /proc/<pid>/stat (USER_HZ, 100 on Linux whatever the kernel's HZ). */
const USER_HZ = 100;

/** CPU seconds and minor page faults of a process itself and of the children it reaped (with theirs),
 * from /proc/<pid>/stat; null when the process is gone. Reaped children include a fork server's test
 * processes, so the two split a server's cost into its own work and the tests' (the child's
 * copy-on-write faults after the fork included). */
export function processCpu(pid: number): { own: number; children: number; ownFaults: number; childrenFaults: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name, which may itself hold spaces and parentheses: f[0] is field 3 (state).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  return { own: (f[11] + f[12]) / USER_HZ, children: (f[13] + f[14]) / USER_HZ, ownFaults: f[7], childrenFaults: f[8] };
}

/** The process a sandboxed worker runs the fork server in: the only child of the process the worker
 * started (setpriv and bwrap exec each other; bwrap's child is the server, PID 1 of its namespace).
 * Unsandboxed, the worker's process is the server. */
export function forkServerPid(workerPid: number, sandboxed: boolean): number | null {
  if (!sandboxed) return workerPid;
  try {
    const children = readFileSync(`/proc/${workerPid}/task/${workerPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return children.length === 1 ? Number(children[0]) : null;
  } catch {
    return null;
  }
}

/** CPU per test of one runner over the passes measured: the bench's Node process, the fork servers'
 * own work, and the processes they reaped, in microseconds; and the minor page faults of the last two. */
export interface CpuPerTest {
  node_us: number;
  server_us: number;
  children_us: number;
  server_faults: number;
  children_faults: number;
}

/** Sums a runner's CPU over passes. A pass during which a server was replaced (its pid gone or changed)
 * is left out of the sums, and `executions` counts only the passes summed. */
export class CpuTally {
  private node = 0;
  private own = 0;
  private children = 0;
  private ownFaults = 0;
  private childrenFaults = 0;
  private executions = 0;

  /** Starts a pass over the servers `pids` (null where unknown); returns the function that ends it. */
  begin(pids: (number | null)[]): (executions: number) => void {
    const node = process.cpuUsage();
    const before = pids.map((pid) => (pid === null ? null : processCpu(pid)));
    return (executions: number) => {
      const nodeUsed = process.cpuUsage(node);
      const after = pids.map((pid) => (pid === null ? null : processCpu(pid)));
      if (before.some((b) => b === null) || after.some((a) => a === null)) return;
      this.node += (nodeUsed.user + nodeUsed.system) / 1e6;
      before.forEach((b, i) => {
        this.own += after[i]!.own - b!.own;
        this.children += after[i]!.children - b!.children;
        this.ownFaults += after[i]!.ownFaults - b!.ownFaults;
        this.childrenFaults += after[i]!.childrenFaults - b!.childrenFaults;
      });
      this.executions += executions;
    };
  }

  /** Per test, or null when no pass could be summed. */
  perTest(): CpuPerTest | null {
    if (this.executions === 0) return null;
    const us = (seconds: number) => Math.round((1e6 * seconds) / this.executions);
    const each = (count: number) => Math.round(count / this.executions);
    return {
      node_us: us(this.node), server_us: us(this.own), children_us: us(this.children),
      server_faults: each(this.ownFaults), children_faults: each(this.childrenFaults),
    };
  }
}
