# The judge's fork server: the only Python in securecoderl. It runs inside the bubblewrap sandbox as
# PID 1 of its own PID namespace, under an unprivileged host uid, and is driven by the Node judge over
# its stdin/stdout with length-prefixed JSON frames. Per job it compiles the untrusted program once,
# then forks one child per test; each child sets its rlimits, runs the program on the test input and
# exits. After every test the server kills whatever the child left behind and reaps it.
#
# Being PID 1 matters: processes in a PID namespace cannot send its init a signal it has no handler
# for, so a test cannot kill the server, and kill(-1, SIGKILL) from here reaches every leftover.
# Expected outputs never come here: only programs and test inputs do.

import ast
import ctypes
import gc
import io
import json
import math
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time
import traceback

# Modules that competitive and LeetCode-style programs import; loading them once here means each
# forked child starts with them warm instead of paying the import on every test.
import bisect, collections, copy, decimal, fractions, functools, heapq, itertools  # noqa: E401,F401
import operator, random, re, statistics, string, typing  # noqa: E401,F401

# LeetCode-style call problems assume these names are already imported (as its judge does). Not
# math's names: `from math import *` would shadow the builtin three-argument pow.
CALL_PRELUDE = {}
for module in (typing, collections, heapq, bisect, itertools, functools):
    CALL_PRELUDE.update({name: getattr(module, name) for name in dir(module) if not name.startswith('_')})
CALL_PRELUDE.update({m.__name__: m for m in (collections, heapq, bisect, itertools, functools, math,
                                              string, re, operator, random, copy)})

PROTO_IN, PROTO_OUT = 100, 101      # where the protocol pipes live once fds 0/1 are freed
RESULT_FD = 3                       # the child's channel for harness messages (return values, MemoryError)
READ_CHUNK = 65536


def read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame():
    head = read_exact(PROTO_IN, 4)
    if head is None:
        return None
    (length,) = struct.unpack('>I', head)
    body = read_exact(PROTO_IN, length)
    return None if body is None else json.loads(body)


def write_frame(obj):
    body = json.dumps(obj, ensure_ascii=False).encode('utf-8', 'surrogatepass')
    data = struct.pack('>I', len(body)) + body
    view = memoryview(data)
    while view:
        view = view[os.write(PROTO_OUT, view):]


# ---------------------------------------------------------------- serialising return values

INT_SAFE = 2 ** 53


def to_plain(value, depth=0):
    """A JSON-safe copy built from exact builtin types only, so an object that overrides __eq__ or
    subclasses int/str/list cannot pass a comparison done outside this process."""
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

def program_calls(tree, name):
    """True if the module calls `name` anywhere outside the body of `def name` itself."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            inside.update(id(n) for n in ast.walk(node))
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
               and id(node) not in inside for node in ast.walk(tree))


def set_limits(limits):
    cpu = max(1, int(math.ceil(limits['cpu_s'])))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = limits['memory_mb'] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits['processes'], limits['processes']))
    fsize = limits['file_size_mb'] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits['open_files'], limits['open_files']))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def install_stdio():
    """Text streams over fds 0, 1 and 2, made once: every child inherits them with empty buffers
    (we never use them ourselves) and they reach the test's pipes once the child has dup2'd those
    onto the same fd numbers. Building them per child cost a quarter of a millisecond."""
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, 'r', closefd=False)), encoding='utf-8')
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, 'w', closefd=False)), encoding='utf-8')
    sys.stderr = io.TextIOWrapper(io.FileIO(2, 'w', closefd=False), encoding='utf-8',
                                  errors='backslashreplace', write_through=True)


def report(message):
    try:
        os.write(RESULT_FD, json.dumps(message).encode() + b'\n')
    except OSError:
        pass


def run_child(job, code, call_entry, test_input):
    """Runs in the forked child; never returns."""
    status = 1
    try:
        namespace = {'__name__': '__main__', '__builtins__': __builtins__}
        if job['style'] == 'call':
            namespace.update(CALL_PRELUDE)
        exec(code, namespace)
        if job['style'] == 'call':
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
            # Skip our own frame so the traceback starts in the program, as `python program.py` shows it.
            traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        except BaseException:
            pass
        status = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
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


def start_child(job, code, call_entry, test_input, limits):
    stdin_fd = os.memfd_create('stdin')
    data = test_input.encode('utf-8') if isinstance(test_input, str) else b''
    os.write(stdin_fd, data)
    os.lseek(stdin_fd, 0, os.SEEK_SET)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(stdin_fd, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.dup2(res_w, RESULT_FD)
            os.closerange(RESULT_FD + 1, 1 << 16)
            set_limits(limits)
        except BaseException:
            os._exit(120)
        run_child(job, code, call_entry, test_input)
    for fd in (stdin_fd, out_w, err_w, res_w):
        os.close(fd)
    return pid, out_r, err_r, res_r


# ---------------------------------------------------------------- the parent side of one test

WRITABLE_DIRS = ('/tmp', '/dev/shm')


def clear_writable_dirs():
    """Empty the sandbox's writable places so nothing carries over from one run to the next."""
    for top in WRITABLE_DIRS:
        try:
            entries = os.listdir(top)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(top, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


IN_SANDBOX = os.getpid() == 1      # PID 1 of bubblewrap's PID namespace: everything else here is a test's


def our_children():
    try:
        with open('/proc/self/task/%d/children' % os.getpid()) as f:
            return [int(pid) for pid in f.read().split()]
    except OSError:
        return []


def kill_leftovers():
    """Kill and reap every process a test left behind. In the sandbox that is every process in the
    namespace but us. Unsandboxed, kill(-1) would hit the whole machine, so we are a child subreaper
    instead (orphans of a test become our children) and kill our children until none is left."""
    while True:
        try:
            if IN_SANDBOX:
                os.kill(-1, signal.SIGKILL)
            else:
                for pid in our_children():
                    os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        # Unsandboxed, a blocking wait could hang on a grandchild that is not reparented to us yet.
        try:
            while os.waitpid(-1, 0 if IN_SANDBOX else os.WNOHANG)[0] != 0:
                pass
        except ChildProcessError:
            if IN_SANDBOX:      # every orphan here is our child, so none is left
                return
        if not our_children():
            return


def run_test(job, code, call_entry, test_input, limits):
    started = time.monotonic()
    pid, out_r, err_r, res_r = start_child(job, code, call_entry, test_input, limits)
    pidfd = os.pidfd_open(pid)
    streams = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
    caps = {out_r: limits['output_bytes'], err_r: limits['stderr_bytes'], res_r: limits['output_bytes']}
    poller = select.poll()
    for fd in (pidfd, out_r, err_r, res_r):
        poller.register(fd, select.POLLIN)
    wall_deadline = started + limits['wall_s']
    outcome = None          # 'timeout' | 'output_limit' when we stop the program ourselves
    exited = False
    open_streams = 3
    while not exited:
        remaining = wall_deadline - time.monotonic()
        if remaining <= 0:
            outcome = 'timeout'
            break
        for fd, _ in poller.poll(remaining * 1000):
            if fd == pidfd:
                exited = True
                continue
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                poller.unregister(fd)
                open_streams -= 1
                continue
            buf = streams[fd]
            if len(buf) + len(chunk) > caps[fd]:
                buf += chunk[:max(0, caps[fd] - len(buf))]
                if fd != err_r:
                    outcome = 'output_limit'
                    exited = True
            else:
                buf += chunk
    if outcome is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, wait_status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    kill_leftovers()
    if IN_SANDBOX:
        clear_writable_dirs()
    # Every writer is gone now: what is still buffered in the pipes is the rest of the output.
    for fd, buf in streams.items():
        while len(buf) < caps[fd]:
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                break
            buf += chunk[:caps[fd] - len(buf)]
    for fd in (pidfd, out_r, err_r, res_r):
        os.close(fd)
    cpu = usage.ru_utime + usage.ru_stime
    result = {
        'exit_code': os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else None,
        'signal': os.WTERMSIG(wait_status) if os.WIFSIGNALED(wait_status) else None,
        'stdout': streams[out_r].decode('utf-8', 'replace'),
        'stderr': streams[err_r].decode('utf-8', 'replace'),
        'cpu_s': round(cpu, 4),
        'wall_s': round(wall, 4),
        'max_rss_kb': usage.ru_maxrss,
        'limit': outcome,
    }
    # SIGXCPU is the soft CPU limit; SIGKILL past the limit is the hard one (the program ignored SIGXCPU).
    if outcome is None and (result['signal'] == signal.SIGXCPU
                            or result['signal'] == signal.SIGKILL and cpu >= limits['cpu_s']):
        result['limit'] = 'timeout'
    for line in streams[res_r].decode('utf-8', 'replace').splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            if 'return' in message and 'return' not in result:
                result['return'] = message['return']
            if message.get('memory_error'):
                result['memory_error'] = True
    return result


# ---------------------------------------------------------------- jobs

def run_job(job):
    program = job['program']
    try:
        code = compile(program, '<program>', 'exec', dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as e:
        return {'compile_error': '%s: %s' % (type(e).__name__, e)}
    call_entry = calls_entry(job, program)
    return {'compile_error': None,
            'results': [run_test(job, code, call_entry, test_input, job['limits']) for test_input in job['inputs']]}


def calls_entry(job, program):
    """APPS+ stdin convention: call the stub's zero-argument function after the program is defined,
    unless the program calls it itself. The text is checked first; the AST only when the name is
    mentioned more than once (walking it cost more than running a light test)."""
    fn_name = job.get('fn_name')
    if job['style'] != 'stdin' or not fn_name:
        return False
    name = re.escape(fn_name)
    if not re.search(r'^def\s+%s\s*\(\s*\)' % name, program, re.M):
        return False
    if len(re.findall(r'\b%s\s*\(' % name, program)) <= 1:
        return True
    return not program_calls(ast.parse(program), fn_name)


def harden():
    libc = ctypes.CDLL(None, use_errno=True)
    # Non-dumpable: the children (same uid) cannot ptrace us or open /proc/1/mem or /proc/1/fd.
    PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER = 4, 36
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if not IN_SANDBOX:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def main():
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
    # Everything loaded so far lives as long as we do: frozen, the garbage collector in each forked
    # child never walks it, so the child does not copy those pages just to mark them.
    gc.collect()
    gc.freeze()
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
