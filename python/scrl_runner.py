# The test runner: one test's life. The server forks a child that places the test's pipes, sets its
# rlimits and runs the precompiled program on the test's input; the server reads its output up to the
# caps, stops it at the wall-clock backstop, reaps it and whatever it left behind, and reports what
# happened (verdicts are decided outside the sandbox, by the Node judge).
#
# Also here, because every part of the fork server uses them: the descriptor helpers, and `LIBC` for
# the prctl and inotify calls.

import ctypes
import fcntl
import io
import json
import math
import os
import resource
import select
import signal
import sys
import time

from scrl_program_env import CALL_NAMESPACE, STDIN_NAMESPACE

RESULT_FD = 3                       # the child's channel for harness messages (return values, MemoryError)
READ_CHUNK = 65536

LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 4, 36


def read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def wipe(buf):
    if buf:
        buf[:] = bytes(len(buf))


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# ---------------------------------------------------------------- serialising return values

INT_SAFE = 2 ** 53


def to_plain(value, depth=0):
    """A JSON-safe copy built from exact builtin types only, so an object that overrides __eq__ or
    subclasses int/str/list cannot pass a comparison done outside this process. (Values that go to
    a check test's checker use the richer `Codec` of scrl_codec, which keeps tuples, bytes, … apart.)"""
    if depth > 100:
        raise ValueError('value nested too deeply')
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if -INT_SAFE <= value <= INT_SAFE else {'$int': str(value)}
    if t is float:
        return value if math.isfinite(value) else {'$float': repr(value)}
    if t is list or t is tuple:
        return [to_plain(v, depth + 1) for v in value]
    if t is dict:
        if all(type(k) is str for k in value):
            return {'$dict': [[k, to_plain(v, depth + 1)] for k, v in value.items()]}
        return {'$dict': [[to_plain(k, depth + 1), to_plain(v, depth + 1)] for k, v in value.items()]}
    if t is set or t is frozenset:
        return {'$set': [to_plain(v, depth + 1) for v in value]}
    return {'$unsupported': t.__name__}


# ---------------------------------------------------------------- the child

_rlimits_of = [None, ()]     # the limits dict of the current job, and its rlimits


def rlimits(limits):
    """The rlimits of a test's processes, worked out once per job (a job's tests share its limits dict)
    in the server, so that each child only applies them: one flat tuple of (resource, soft, hard)
    triples. Flat, because every object a child touches costs it a page copy: six pairs of pairs,
    scattered over the heap, cost ~12 page faults a test."""
    if _rlimits_of[0] is not limits:
        cpu = max(1, int(math.ceil(limits['cpu_s'])))
        mem = limits['memory_mb'] * 1024 * 1024
        fsize = limits['file_size_mb'] * 1024 * 1024
        processes, files = limits['processes'], limits['open_files']
        _rlimits_of[:] = [limits, (resource.RLIMIT_CPU, cpu, cpu + 1, resource.RLIMIT_AS, mem, mem,
                                   resource.RLIMIT_NPROC, processes, processes, resource.RLIMIT_FSIZE, fsize, fsize,
                                   resource.RLIMIT_NOFILE, files, files, resource.RLIMIT_CORE, 0, 0)]
    return _rlimits_of[1]


def set_limits(flat, setrlimit=resource.setrlimit):
    """In a freshly forked child: applies `rlimits(...)`."""
    for i in range(0, len(flat), 3):
        setrlimit(flat[i], (flat[i + 1], flat[i + 2]))


def install_stdio():
    """Text streams over fds 0, 1 and 2, made once: every child inherits them with empty buffers
    (we never use them ourselves) and they reach the test's pipes once the child has dup2'd those
    onto the same fd numbers. Building them per child cost a quarter of a millisecond."""
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, 'r', closefd=False)), encoding='utf-8')
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, 'w', closefd=False)), encoding='utf-8')
    sys.stderr = io.TextIOWrapper(io.FileIO(2, 'w', closefd=False), encoding='utf-8',
                                  errors='backslashreplace', write_through=True)
    global STDERR, STDERR_BUFFERED
    STDERR = sys.stderr
    STDERR_BUFFERED = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, 'w', closefd=False)), encoding='utf-8',
                                       errors='backslashreplace')


STDERR = STDERR_BUFFERED = None     # install_stdio's stderr, and a buffered one over the same descriptor


def report(message):
    try:
        os.write(RESULT_FD, json.dumps(message).encode() + b'\n')
    except OSError:
        pass


def run_child(job, code, call_entry, test_input, serve=None):
    """Runs in the forked child; never returns. `serve`: the program's side of a check test, called
    with the program's namespace once the program ran (it answers the checker's requests)."""
    status = 1
    try:
        namespace = STDIN_NAMESPACE if job['style'] == 'stdin' and serve is None else CALL_NAMESPACE
        exec(code, namespace)
        if serve is not None:
            serve(namespace)
        elif job['style'] == 'call':
            target = resolve_callable(namespace, job['fn_name'])
            value = target(*test_input)
            report({'return': to_plain(value)})
        elif call_entry:
            namespace[job['fn_name']]()
        status = 0
    except SystemExit as e:
        if e.code is None:
            status = 0
        elif isinstance(e.code, int):
            status = e.code & 0xFF
        else:
            print(e.code, file=sys.stderr)
            status = 1
    except MemoryError:
        report({'memory_error': True})
        status = 1
    except BaseException as e:
        try:
            # Without our own frame, so that the traceback starts in the program as `python program.py`
            # shows it. Printed by the interpreter's own display, as the traceback module prints it
            # (chains, groups, notes alike) at a third of the cost of a crashing test.
            e.__traceback__ = e.__traceback__.tb_next
            if sys.stderr is STDERR:
                # Into a buffer and then written at once: the display writes piece by piece (nine
                # writes for a one-line traceback, each one a wake-up of the server).
                sys.stderr = STDERR_BUFFERED
                try:
                    sys.__excepthook__(type(e), e, e.__traceback__)
                finally:
                    sys.stderr = STDERR
                    STDERR_BUFFERED.flush()
            else:
                sys.__excepthook__(type(e), e, e.__traceback__)
        except BaseException:
            pass
        status = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            if stream is STDERR:
                continue    # ours writes through: nothing is ever left in it to flush
            try:
                stream.flush()
            except BaseException:
                status = status or 1
        os._exit(status)


def resolve_callable(namespace, fn_name):
    if fn_name in namespace and callable(namespace[fn_name]):
        return namespace[fn_name]
    solution = namespace.get('Solution')
    if isinstance(solution, type):
        return getattr(solution(), fn_name)
    raise NameError('the program defines no function %r (nor Solution.%s)' % (fn_name, fn_name))


def place_fds(mapping):
    """In a freshly forked child: puts each source descriptor at its target number ({target: source};
    a source may be another target's number), then closes every descriptor above the highest target,
    the server's protocol pipes included."""
    moved = {target: fcntl.fcntl(source, fcntl.F_DUPFD, 500) for target, source in mapping.items()}
    for target, fd in moved.items():
        os.dup2(fd, target)
    os.closerange(max(mapping) + 1, 1 << 16)


def start_child(job, code, call_entry, test_input, limits, extra_fds=None, serve=None):
    """Forks the program's child. Check tests: `extra_fds` ({target: source}) are the ends of its
    channel to the checker, and `serve` answers the checker (see run_child)."""
    flat_limits = rlimits(limits)
    stdin_fd = os.memfd_create('stdin')
    if isinstance(test_input, str) and test_input:
        os.write(stdin_fd, test_input.encode('utf-8'))
        os.lseek(stdin_fd, 0, os.SEEK_SET)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            if extra_fds:
                place_fds({0: stdin_fd, 1: out_w, 2: err_w, RESULT_FD: res_w, **extra_fds})
            else:
                # The plain case of place_fds, without its moves: every source is a fresh descriptor
                # (>= 3, as 0-2 are always open), and stdin_fd, the only one that can be 3, is placed
                # before 3 is overwritten.
                os.dup2(stdin_fd, 0)
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                os.dup2(res_w, RESULT_FD)
                os.closerange(RESULT_FD + 1, 1 << 16)
            set_limits(flat_limits)
        except BaseException:
            os._exit(120)
        run_child(job, code, call_entry, test_input, serve)
    for fd in (stdin_fd, out_w, err_w, res_w):
        os.close(fd)
    return pid, out_r, err_r, res_r


# ---------------------------------------------------------------- the parent side of one test

IN_SANDBOX = os.getpid() == 1      # PID 1 of bubblewrap's PID namespace: everything else here is a test's
WRITABLE_DIRS = ('/tmp', '/dev/shm')
SIGKILL, SIGXCPU = int(signal.SIGKILL), int(signal.SIGXCPU)

IN_MOVED_TO, IN_CREATE = 0x80, 0x100


def watch_writable_dirs():
    """An inotify descriptor that turns readable when an entry is created in, or moved into, one of the
    writable places. They are empty when a test starts (we empty them after every test), so if it is
    still unreadable once the test's processes are gone, nothing was left there and clearing them can be
    skipped: one more descriptor in the test's poll instead of a stat of each place (whose result objects
    cost the server ~15 page faults a test). -1 where inotify cannot be had: then every clearing lists them."""
    fd = LIBC.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        return -1
    for top in WRITABLE_DIRS:
        if LIBC.inotify_add_watch(fd, top.encode(), IN_CREATE | IN_MOVED_TO) < 0:
            os.close(fd)
            return -1
    return fd


WRITES_WATCH = watch_writable_dirs() if IN_SANDBOX else -1


def clear_writable_dirs():
    """Empty the sandbox's writable places so nothing carries over from one run to the next."""
    try:
        while WRITES_WATCH >= 0 and os.read(WRITES_WATCH, 65536):   # (the events only said that something was made)
            pass
    except OSError:
        pass
    for top in WRITABLE_DIRS:
        try:
            entries = os.listdir(top)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(top, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    import shutil     # (rare: not loaded into every child)
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


def children_list_path():
    return '/proc/self/task/%d/children' % os.getpid()


def open_children_list():
    """Our children as /proc lists them (zombies included), to be read with pread from offset 0: an
    empty read says we have no child at all, without the exception that `waitpid` raises for that
    (its objects cost the server ~6 page faults a test). -1 where /proc has no such list."""
    try:
        return os.open(children_list_path(), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return -1


CHILDREN_LIST = open_children_list() if IN_SANDBOX else -1


def our_children():
    try:
        with open(children_list_path()) as f:
            return [int(pid) for pid in f.read().split()]
    except OSError:
        return []


def kill_leftovers():
    """Kill and reap every process a test left behind; True if there was one. In the sandbox that is
    every process in the namespace but us. Unsandboxed, kill(-1) would hit the whole machine, so we are a
    child subreaper instead (orphans of a test become our children) and kill our children until none is
    left."""
    if IN_SANDBOX:
        # No child of ours (not even a zombie) means no other process in the namespace: each one
        # descends from us, and an orphan is re-parented to us (or to a subreaper that descends from
        # us). Then kill(-1) would find no one: the usual case, a program that left nothing, costs one
        # read of our children list instead of a kill and a wait.
        if CHILDREN_LIST >= 0:
            if not os.pread(CHILDREN_LIST, 1, 0):
                return False
        else:
            try:
                os.waitpid(-1, os.WNOHANG)     # (reaps one zombie, if any; the loop below sees to the rest)
            except ChildProcessError:
                return False
    while True:
        try:
            if IN_SANDBOX:
                os.kill(-1, SIGKILL)
            else:
                for pid in our_children():
                    os.kill(pid, SIGKILL)
        except ProcessLookupError:
            pass
        # Unsandboxed, a blocking wait could hang on a grandchild that is not reparented to us yet.
        try:
            while os.waitpid(-1, 0 if IN_SANDBOX else os.WNOHANG)[0] != 0:
                pass
        except ChildProcessError:
            if IN_SANDBOX:      # every orphan here is our child, so none is left
                return True
        if not our_children():
            return True


def append_capped(buf, chunk, cap):
    """Appends to a bytearray what fits under `cap` bytes; True when some of `chunk` did not fit."""
    if len(buf) + len(chunk) > cap:
        buf += chunk[:max(0, cap - len(buf))]
        return True
    buf += chunk
    return False



def run_test(job, code, call_entry, test_input, limits):
    # Written for the fewest objects touched between the fork and the next one: every page the server
    # writes while a child shares it is copied (plain locals, no per-test dicts or sets).
    started = time.monotonic()
    pid, out_r, err_r, res_r = start_child(job, code, call_entry, test_input, limits)
    pidfd = os.pidfd_open(pid)
    out, err, res = bytearray(), bytearray(), bytearray()
    out_cap, err_cap = limits['output_bytes'], limits['stderr_bytes']
    poller = select.poll()
    # The writes watch after the pidfd: a poll that finds the child gone then sees every entry it made.
    for fd in (pidfd, out_r, err_r, res_r, WRITES_WATCH):
        if fd >= 0:
            poller.register(fd, select.POLLIN)
    wall_deadline = started + limits['wall_s']
    outcome = None          # 'timeout' | 'output_limit' when we stop the program ourselves
    exited = False
    open_streams = [out_r, err_r, res_r]    # those not at end of file
    wrote = WRITES_WATCH < 0    # something may have been created in the writable places
    while not exited:
        remaining = wall_deadline - time.monotonic()
        if remaining <= 0:
            outcome = 'timeout'
            break
        for fd, _ in poller.poll(remaining * 1000):
            if fd == pidfd:
                exited = True
                continue
            if fd == WRITES_WATCH:
                wrote = True
                poller.unregister(fd)
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                poller.unregister(fd)
                open_streams.remove(fd)
            elif fd == err_r:
                append_capped(err, chunk, err_cap)
            elif append_capped(out if fd == out_r else res, chunk, out_cap):
                outcome = 'output_limit'
                exited = True
    if outcome is not None:
        try:
            os.kill(pid, SIGKILL)
        except ProcessLookupError:
            pass
    _, wait_status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    # A program stopped by us may have written after our last poll; leftovers, at any time.
    if kill_leftovers() or wrote or outcome is not None:
        if IN_SANDBOX:
            clear_writable_dirs()
    # Every writer is gone now: what is still buffered in the pipes is the rest of the output.
    for fd in open_streams:
        buf, cap = (err, err_cap) if fd == err_r else (out if fd == out_r else res, out_cap)
        while len(buf) < cap:
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                break
            buf += chunk[:cap - len(buf)]
    for fd in (pidfd, out_r, err_r, res_r):
        os.close(fd)
    cpu = usage.ru_utime + usage.ru_stime
    code = os.waitstatus_to_exitcode(wait_status)     # -N: killed by signal N
    # SIGXCPU is the soft CPU limit; SIGKILL past the limit is the hard one (the program ignored SIGXCPU).
    if outcome is None and (code == -SIGXCPU or code == -SIGKILL and cpu >= limits['cpu_s']):
        outcome = 'timeout'
    result = {
        'exit_code': code if code >= 0 else None,
        'signal': -code if code < 0 else None,
        'stdout': out.decode('utf-8', 'replace'),
        'stderr': err.decode('utf-8', 'replace'),
        'cpu_s': round(cpu, 4),
        'wall_s': round(wall, 4),
        'max_rss_kb': usage.ru_maxrss,
        'limit': outcome,
    }
    if res:     # the child's own messages on RESULT_FD (a call's return value, MemoryError): read by the judge
        result['harness'] = res.decode('utf-8', 'replace')
    return result
