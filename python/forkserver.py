# The judge's fork server: the only Python in securecoderl. It runs inside the bubblewrap sandbox as
# PID 1 of its own PID namespace, under an unprivileged host uid, and is driven by the Node judge over
# its stdin/stdout with length-prefixed JSON frames. Per job it compiles the untrusted program once,
# then forks one child per test; each child sets its rlimits, runs the program on the test input and
# exits. After every test the server kills whatever the child left behind and reaps it.
#
# Being PID 1 matters: processes in a PID namespace cannot send its init a signal it has no handler
# for, so a test cannot kill the server, and kill(-1, SIGKILL) from here reaches every leftover.
# Expected outputs never come here: only programs and test inputs do.
#
# Check tests (the `check` field of a judge test) are the exception: their test code decides the
# verdict, so it must run where the program cannot reach it. For each one the server forks a checker
# first (from itself, so it holds none of the program's descriptors), then the program's child; the
# checker runs the test code with the program's functions bound to proxies, and each call crosses a
# private pipe pair to the program's child as values encoded from exact types. The checker's verdict
# comes back on a pipe only the checker holds.
#
# The modules, one concept each (all in this folder, which the sandbox sees read-only at /judge):
#   forkserver.py     this file: the protocol with the Node judge and the job loop
#   scrl_program_env.py what programs see: warm modules, namespaces, the APPS+ entry convention
#   scrl_runner.py    one test's life: the program's child, its limits, output, reaping, clean-up
#   scrl_checktest.py the server's side of a check test: checker and program's child, the verdict
#   scrl_checker.py   the checker process that runs a check test's code
#   scrl_proxies.py   the channel between checker and program, proxies, the program's side
#   scrl_codec.py     values on that channel
# The last four are loaded only when a job brings check tests (load_check_machinery).

import gc
import json
import os
import signal
import struct
import sys

# `python -I` leaves this file's folder out of sys.path: our modules are imported from it explicitly,
# and the folder is taken out again, so that a program's imports see only the standard library and
# the configured import paths.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    from scrl_program_env import calls_entry
    from scrl_runner import (IN_SANDBOX, LIBC, PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, install_stdio, read_exact,
                             run_test, wipe, write_all)
finally:
    sys.path.remove(HERE)

PROTO_IN, PROTO_OUT = 100, 101      # where the protocol pipes live once fds 0/1 are freed


def read_frame():
    head = read_exact(PROTO_IN, 4)
    if head is None:
        return None
    (length,) = struct.unpack('>I', head)
    body = read_exact(PROTO_IN, length)
    return None if body is None else json.loads(body)


def read_secret_frame():
    """The next frame, read straight into a bytearray that the caller wipes: a check test's code must
    not be left in the memory that the program's child inherits, and here it is never parsed (the
    checker parses its own copy)."""
    head = read_exact(PROTO_IN, 4)
    if head is None:
        raise EOFError('the judge closed the pipe in the middle of a job')
    (length,) = struct.unpack('>I', head)
    buf = bytearray(length)
    view = memoryview(buf)
    got = 0
    while got < length:
        n = os.readv(PROTO_IN, [view[got:]])
        if n == 0:
            view.release()
            raise EOFError('the judge closed the pipe in the middle of a job')
        got += n
    view.release()
    return buf


def write_frame(obj):
    body = json.dumps(obj, ensure_ascii=False).encode('utf-8', 'surrogatepass')
    data = struct.pack('>I', len(body)) + body
    write_all(PROTO_OUT, data)


# ---------------------------------------------------------------- jobs

check_machinery = None      # scrl_checktest, once a job brought check tests


def load_check_machinery():
    """The check-test modules (two thirds of the fork server's code), loaded on the first job that
    has check tests. A server that never gets one keeps them out of its memory: every test forks the
    server, and the fork and the child's exit cost more the more memory the server maps (a plain test
    took 1.5 ms instead of 1.0 ms on one worker when they were always loaded)."""
    global check_machinery
    if check_machinery is None:
        sys.path.insert(0, HERE)
        try:
            import scrl_checktest
        finally:
            sys.path.remove(HERE)
        check_machinery = scrl_checktest
        settle()
    return check_machinery


def run_job(job):
    """Runs a job's tests in order. The code of each check test (indexes in `checks`) follows the job
    as a frame of its own, read just before its test runs (see read_secret_frame)."""
    program = job['program']
    checks = set(job.get('checks') or ())
    unread = len(checks)
    try:
        checktest = load_check_machinery() if checks else None
        try:
            code = compile(program, '<program>', 'exec', dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as e:
            return {'compile_error': '%s: %s' % (type(e).__name__, e)}
        call_entry = calls_entry(job, program)
        results = []
        for i, test_input in enumerate(job['inputs']):
            if i in checks:
                spec = read_secret_frame()
                unread -= 1
                try:
                    results.append(checktest.run_check_test(job, code, spec, job['limits']))
                finally:
                    wipe(spec)
            else:
                results.append(run_test(job, code, call_entry, test_input, job['limits']))
        for result in results:
            if '_check' in result:
                checktest.finalize_check(result)
        return {'compile_error': None, 'results': results}
    finally:
        while unread > 0:       # a job that ended early still consumes its check frames
            wipe(read_secret_frame())
            unread -= 1


def harden():
    # Non-dumpable: the children (same uid) cannot ptrace us or open /proc/1/mem or /proc/1/fd.
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if not IN_SANDBOX:
        LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def settle():
    """After loading code: what is loaded lives as long as we do. Frozen, the garbage collector in each
    forked child never walks it, so the child does not copy those pages just to mark them; and the
    memory that compiling it left free goes back to the system (malloc_trim), so that a fork copies
    and an exit releases fewer pages."""
    gc.collect()
    gc.freeze()
    LIBC.malloc_trim(0)


def main():
    os.environ.pop('LD_BIND_NOW', None)     # (the sandbox sets it for us, not for programs)
    # Extra import paths (site-packages stay off with -S; this adds, say, Debian's dist-packages).
    sys.path.extend(path for path in sys.argv[1:] if os.path.isdir(path))
    os.dup2(0, PROTO_IN)
    os.dup2(1, PROTO_OUT)
    devnull = os.open('/dev/null', os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    os.close(devnull)
    install_stdio()
    # SIG_DFL for every catchable signal: init ignores default-action signals from its own namespace.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    harden()
    settle()
    write_frame({'ready': True, 'python': sys.version.split()[0]})
    while True:
        job = read_frame()
        if job is None:
            return
        try:
            reply = run_job(job)
        except BaseException as e:
            reply = {'error': '%s: %s' % (type(e).__name__, e)}
        reply['id'] = job.get('id')
        write_frame(reply)


main()
