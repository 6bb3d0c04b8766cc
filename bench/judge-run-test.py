# One fork server's cost a test, the server and its test processes apart: runs `run_test` of the fork
# server's python/ in a loop, as PID 1 of a new PID namespace with a private /tmp and /dev/shm (as the
# sandbox has them; the server empties both after every test), on the trivial programs of
# judge-per-test.ts, and prints CPU (user/system) and minor page faults a test of the server and of the
# test processes it reaped. No Node, no framing, one test a job: for comparing changes to the
# per-test path. --bare measures the bench's bare fork server's run_test instead.
#
# Run (as root, or where unprivileged user namespaces are allowed):
#   /usr/bin/python3 bench/judge-run-test.py [--tests 3000] [--kind stdin|call|crash] [--server-dir DIR] [--bare]

import gc
import os
import resource
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = {
    'stdin': ('stdin', None, 'print("ok")\n', ''),
    'call': ('call', 'f', 'def f(x):\n    return x\n', [1]),
    'crash': ('stdin', None, 'raise RuntimeError("crash on purpose")\n', ''),
}
LIMITS = dict(cpu_s=4, wall_s=15, memory_mb=1024, processes=32, file_size_mb=16, open_files=64,
              output_bytes=1 << 20, stderr_bytes=1 << 16)


def private_tmpfs(path):
    with open('/proc/self/mountinfo') as f:
        mounts = [line.split() for line in f]
    return any(m[4] == path and m[m.index('-') + 1] == 'tmpfs' for m in mounts) and not os.listdir(path)


def reexec_in_namespace():
    """PID 1 of a new PID and mount namespace, with tmpfs mounted on /tmp and /dev/shm first: the
    server's clean-up empties them, so they must never be the host's."""
    import subprocess   # (not in the measured process: it loads threading, whose fork hook runs in every child)
    mount = 'mount -t tmpfs tmpfs /tmp && mount -t tmpfs tmpfs /dev/shm && exec "$@"'
    user = [] if os.geteuid() == 0 else ['-r']
    command = ['unshare', *user, '-p', '-f', '-m', '--mount-proc', 'sh', '-c', mount, 'sh',
               sys.executable, '-I', '-S', '-B', os.path.abspath(__file__), *sys.argv[1:]]
    sys.exit(subprocess.call(command))


def usage():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (me.ru_utime, me.ru_stime, me.ru_minflt, kids.ru_utime + kids.ru_stime, kids.ru_minflt)


def arguments():
    """The options, parsed by hand: argparse would load modules that every forked child then carries."""
    options = {'tests': '3000', 'kind': 'stdin', 'server-dir': os.path.join(HERE, '..', 'python'), 'bare': False}
    argv = sys.argv[1:]
    while argv:
        name = argv.pop(0)[2:]
        if name not in options:
            sys.exit('judge-run-test: unknown option --%s' % name)
        options[name] = True if name == 'bare' else argv.pop(0)
    if options['kind'] not in PROGRAMS:
        sys.exit('judge-run-test: --kind is one of %s' % ', '.join(PROGRAMS))
    return int(options['tests']), options['kind'], options['server-dir'], options['bare']


def main():
    tests, kind, server_dir, bare_server = arguments()
    if os.getpid() != 1:
        reexec_in_namespace()
    if not (private_tmpfs('/tmp') and private_tmpfs('/dev/shm')):
        sys.exit('judge-run-test: /tmp and /dev/shm are not empty private tmpfs mounts here; refusing to run')
    sys.path.insert(0, os.path.abspath(server_dir))
    style, fn_name, program, test_input = PROGRAMS[kind]
    job = {'style': style, 'fn_name': fn_name}
    code = compile(program, '<program>', 'exec')
    report = os.dup(2)
    devnull = os.open('/dev/null', os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    if bare_server:
        os.dup2(devnull, 2)
        import bare_forkserver
        run = lambda: bare_forkserver.run_test(job, code, False, test_input)  # noqa: E731
    else:
        import scrl_runner
        scrl_runner.install_stdio()
        run = lambda: scrl_runner.run_test(job, code, False, test_input, LIMITS)  # noqa: E731
    gc.collect()
    gc.freeze()
    for _ in range(50):
        run()
    before = usage()
    for _ in range(tests):
        run()
    after = usage()
    user, system, faults, child_cpu, child_faults = ((b - a) / tests for a, b in zip(before, after))
    with open('/proc/self/status') as f:
        anon = next(line.split()[1] for line in f if line.startswith('RssAnon'))
    os.write(report, ('%s %s: server %.0f µs (user %.0f, system %.0f), %.0f faults; test processes %.0f µs, '
                      '%.0f faults; server RssAnon %s kB\n' % (
                          'bare' if bare_server else 'ours', kind, 1e6 * (user + system), 1e6 * user, 1e6 * system,
                          faults, 1e6 * child_cpu, child_faults, anon)).encode())


main()
