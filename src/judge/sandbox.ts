import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
  /** Size of the private /tmp, and of /dev/shm, in MiB. */
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

/** Where the sandbox sees the fork server's modules (read-only files; nothing else of the package). */
export const SERVER_DIR_IN_SANDBOX = '/judge';

/** The fork server: the package's python/ folder and the modules the server is made of
 * (`forkserver.py` and the `scrl_*.py` it imports). */
export interface ForkServerFiles {
  dir: string;
  modules: { name: string; text: Buffer }[];
}

/** How to start a worker: its argv, and data to write to its descriptors 3, 4, … (which bubblewrap
 * copies into the sandbox's read-only files). */
export interface WorkerLaunch {
  argv: string[];
  fdData: Buffer[];
}

/** Reads the fork server's modules from the package's python/ folder (next to the compiled module,
 * dist/src/judge, or the source, src/judge). */
export function forkServerFiles(): ForkServerFiles {
  const candidates = [join(here, '../../../python'), join(here, '../../python')];
  const dir = candidates.find((candidate) => existsSync(join(candidate, 'forkserver.py')));
  if (!dir) throw new Error(`judge: python/forkserver.py not found in ${candidates.join(' or ')}`);
  const names = readdirSync(dir).filter((name) => name === 'forkserver.py' || /^scrl_\w+\.py$/.test(name)).sort();
  return { dir, modules: names.map((name) => ({ name, text: readFileSync(join(dir, name)) })) };
}

/** How worker `index` is started. The server runs from its files, not as `python -c SOURCE`, so that a
 * process listing stays small. In the sandbox the files are copies that bubblewrap makes from
 * descriptors we write them to, so the sandbox sees only them, and they need no permission on the
 * package's folder for the workers' uids. `-B`: those files are read-only (and unsandboxed the judge
 * writes nothing into the package). */
export function workerCommand(options: SandboxOptions, index: number, server: ForkServerFiles): WorkerLaunch {
  const script = join(options.isolation ? SERVER_DIR_IN_SANDBOX : server.dir, 'forkserver.py');
  const python = [options.python, '-I', '-S', '-u', '-B', script, ...options.importPaths];
  if (!options.isolation) return { argv: python, fdData: [] };
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
    '--dir', SERVER_DIR_IN_SANDBOX,
    ...server.modules.flatMap(({ name }, i) => ['--ro-bind-data', String(3 + i), `${SERVER_DIR_IN_SANDBOX}/${name}`]),
    '--proc', '/proc',
    // /dev read-only (a file a test writes there would be there for the next), with /dev/shm a bounded
    // tmpfs of its own; /tmp the other. The server empties both after every test.
    '--dev', '/dev',
    '--size', String(options.tmpfsMb * 1024 * 1024), '--tmpfs', '/dev/shm',
    '--remount-ro', '/dev',
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
    // For the server only (it unsets it): symbols bound once at its start, not again in every forked
    // child that first calls a function the server never called (about 10 page faults a test).
    '--setenv', 'LD_BIND_NOW', '1',
    '--',
    ...python,
  ];
  const fdData = server.modules.map(({ text }) => text);
  if (process.getuid?.() !== 0) return { argv: bwrap, fdData };
  const uid = String(options.uidBase + index);
  return { argv: ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...bwrap], fdData };
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
