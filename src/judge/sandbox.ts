import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

/** How the fork server is started. With isolation on (the default) it runs under bubblewrap with no
 * network, a read-only view of /usr only, a private tmpfs, its own PID namespace (where it is PID 1),
 * and, when we are root, an unprivileged host uid of its own so RLIMIT_NPROC binds. */
export interface SandboxOptions {
  isolation: boolean;
  python: string;
  bwrap: string;
  /** Host uid/gid for worker i is `uidBase + i` (only used when running as root). */
  uidBase: number;
  /** Size of the private /tmp, in MiB. */
  tmpfsMb: number;
  /** Extra host paths bound read-only (for a Python outside /usr, say). */
  extraReadOnly: string[];
  /** Import paths added for programs (site-packages are off): Debian's dist-packages by default,
   * where apt's python3-numpy and python3-scipy live. */
  importPaths: string[];
}

export const DEFAULT_SANDBOX: SandboxOptions = {
  isolation: true,
  python: '/usr/bin/python3',
  bwrap: 'bwrap',
  uidBase: 61000,
  tmpfsMb: 64,
  extraReadOnly: [],
  importPaths: ['/usr/lib/python3/dist-packages'],
};

const here = dirname(fileURLToPath(import.meta.url));

/** The fork server's source, shipped in the package's python/ folder. It is passed with `-c` so the
 * sandbox never needs to see the package's directory. */
export function forkServerSource(): string {
  for (const candidate of [join(here, '../../../python/forkserver.py'), join(here, '../../python/forkserver.py')]) {
    if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
  }
  throw new Error(`judge: python/forkserver.py not found next to ${here}`);
}

/** The argv that starts worker `index`. */
export function workerCommand(options: SandboxOptions, index: number, source: string): string[] {
  const python = [options.python, '-I', '-S', '-u', '-c', source, ...options.importPaths];
  if (!options.isolation) return python;
  const bwrap = [
    options.bwrap,
    '--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session', '--as-pid-1',
    '--ro-bind', '/usr', '/usr',
    '--symlink', 'usr/lib', '/lib',
    '--symlink', 'usr/lib64', '/lib64',
    '--symlink', 'usr/bin', '/bin',
    '--symlink', 'usr/sbin', '/sbin',
    // The loader's cache, and the alternatives links that Debian's shared libraries (BLAS) go through.
    ...['/etc/ld.so.cache', '/etc/alternatives'].filter((path) => existsSync(path)).flatMap((path) => ['--ro-bind', path, path]),
    ...options.extraReadOnly.flatMap((path) => ['--ro-bind', path, path]),
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', String(options.tmpfsMb * 1024 * 1024), '--tmpfs', '/tmp',
    '--remount-ro', '/',
    '--chdir', '/tmp',
    '--hostname', 'sandbox',
    '--clearenv',
    '--setenv', 'PATH', '/usr/bin:/bin',
    '--setenv', 'HOME', '/tmp',
    '--setenv', 'LANG', 'C.UTF-8',
    '--setenv', 'PYTHONHASHSEED', '0',
    '--setenv', 'PYTHONIOENCODING', 'utf-8',
    '--',
    ...python,
  ];
  if (process.getuid?.() !== 0) return bwrap;
  const uid = String(options.uidBase + index);
  return ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...bwrap];
}

/** Throws an error that says what to install when the sandbox cannot start here. */
export function checkSandboxAvailable(options: SandboxOptions): void {
  const need = options.isolation ? [options.python, options.bwrap] : [options.python];
  for (const program of need) {
    try {
      execFileSync(program, ['--version'], { stdio: 'ignore' });
    } catch {
      const hint = program === options.bwrap
        ? 'install bubblewrap (apt-get install -y bubblewrap), or pass isolation: false to run unsandboxed (unsafe)'
        : 'install python3 (apt-get install -y python3) or set the judge\'s python option';
      throw new Error(`judge: cannot run ${program}: ${hint}`);
    }
  }
}
