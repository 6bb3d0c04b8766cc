# Check tests, the server's side: for each one the fork server draws a nonce, forks the checker
# (scrl_checker) and then the program's child, watches both under the test's limits, and at the end of
# the job accepts the checker's verdict only as one record carrying that nonce.
#
# Loaded only by fork servers that receive check tests (see forkserver.load_check_machinery).

import ctypes
import hashlib
import json
import os
import select
import signal
import time

from scrl_checker import VERDICT_FD, VERDICT_MAGIC, run_checker
from scrl_proxies import RPC_READ, RPC_WRITE, serve_checker
from scrl_runner import (IN_SANDBOX, LIBC, PR_SET_DUMPABLE, READ_CHUNK, append_capped, clear_writable_dirs, kill_leftovers,
                         place_fds, rlimits, set_limits, start_child, wipe)

def start_checker(spec_buf, nonce, limits):
    """Forks a check test's checker, before the program's child exists: it holds nothing of the
    program's, and the program's child (forked after) none of its descriptors: its end of their
    channel, its output pipe and the verdict pipe. Returns the checker's pid, the server's ends of
    the verdict and output pipes, and the program's ends of the channel (read, write)."""
    flat_limits = rlimits(limits)
    to_program_r, to_program_w = os.pipe()
    to_checker_r, to_checker_w = os.pipe()
    verdict_r, verdict_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            # Non-dumpable (inherited from the server, set again): a process of the same uid can
            # neither ptrace it nor open its /proc/<pid>/mem, fd/ or environ.
            LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
            devnull = os.open('/dev/null', os.O_RDONLY)
            place_fds({0: devnull, 1: out_w, 2: out_w, VERDICT_FD: verdict_w,
                       RPC_READ: to_checker_r, RPC_WRITE: to_program_w})
            for fd in (VERDICT_FD, RPC_READ, RPC_WRITE):
                os.set_inheritable(fd, False)
            # SIGINT would be a KeyboardInterrupt that a test's bare `except:` swallows.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            set_limits(flat_limits)
        except BaseException:
            os._exit(120)
        run_checker(spec_buf, nonce)
    for fd in (verdict_w, out_w, to_checker_r, to_program_w):
        os.close(fd)
    return pid, verdict_r, out_r, (to_program_r, to_checker_w)


# ---------------------------------------------------------------- the parent side

VERDICT_CAP = 1 << 16
SCRATCH = bytearray(READ_CHUNK)     # where what overflows a Sink is read and dropped


class Sink:
    """Reads a pipe into a fixed bytearray (what overflows is read and dropped). The checker's output
    and verdict stay in these until the job is over and are wiped then: the program's children of
    the job's later tests, forked from this server, must not find a test's failure message (which
    may quote its expected value) in the memory they inherit."""

    def __init__(self, fd, cap):
        self.fd = fd
        self.buf = bytearray(cap)
        self.n = 0
        self.overflow = False

    def read(self):
        """Reads what is there; False at end of file."""
        if self.n < len(self.buf):
            with memoryview(self.buf) as view:
                got = os.readv(self.fd, [view[self.n:]])
            self.n += got
        else:
            got = os.readv(self.fd, [SCRATCH])
            self.overflow = self.overflow or got > 0
        return got > 0

    def data(self):
        return bytes(self.buf[:self.n])

    def wipe(self):
        wipe(self.buf)


def draw_nonce():
    nonce = bytearray(16)
    buf = (ctypes.c_char * len(nonce)).from_buffer(nonce)
    if LIBC.getrandom(buf, len(nonce), 0) != len(nonce):
        del buf
        raise OSError('getrandom failed')
    del buf
    return nonce


def cpu_timeout(status, cpu, limits):
    """SIGXCPU is the soft CPU limit; SIGKILL past the limit is the hard one (SIGXCPU ignored)."""
    return os.WIFSIGNALED(status) and (os.WTERMSIG(status) == signal.SIGXCPU
                                       or os.WTERMSIG(status) == signal.SIGKILL and cpu >= limits['cpu_s'])


def run_check_test(job, code, spec_buf, limits):
    """One check test: the checker first, then the program's child, both under the test's limits and
    wall-clock backstop. The verdict is the checker's; the program's child only counts for what it
    did itself (CPU time, output, memory). Returns a result whose checker part is finalised at the
    end of the job (finalize_check)."""
    started = time.monotonic()
    nonce = draw_nonce()
    digest = hashlib.sha256(nonce).digest()
    try:
        cpid, verdict_r, cout_r, rpc = start_checker(spec_buf, nonce, limits)
    finally:
        wipe(spec_buf)
        wipe(nonce)
    try:
        pid, out_r, err_r, res_r = start_child(job, code, False, '', limits, {RPC_READ: rpc[0], RPC_WRITE: rpc[1]},
                                               serve_checker)
    finally:
        for fd in rpc:
            os.close(fd)
    pidfd, cpidfd = os.pidfd_open(pid), os.pidfd_open(cpid)
    streams = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray()}
    caps = {out_r: limits['output_bytes'], err_r: limits['stderr_bytes'], res_r: limits['output_bytes']}
    sinks = {verdict_r: Sink(verdict_r, VERDICT_CAP), cout_r: Sink(cout_r, limits['stderr_bytes'])}
    poller = select.poll()
    for fd in (pidfd, cpidfd, out_r, err_r, res_r, verdict_r, cout_r):
        poller.register(fd, select.POLLIN)
    wall_deadline = started + limits['wall_s']
    outcome = None
    program_done = checker_done = False
    grace = None            # once the checker is done, the program's child gets a moment to exit
    while not (program_done and checker_done) and outcome is None:
        now = time.monotonic()
        if now >= wall_deadline:
            outcome = 'timeout'
            break
        if grace is not None and now >= grace:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            grace = None
        until = wall_deadline if grace is None else min(wall_deadline, grace)
        for fd, _ in poller.poll(max(0.0, until - now) * 1000):
            if fd == pidfd:
                program_done = True
                poller.unregister(fd)
            elif fd == cpidfd:
                checker_done = True
                poller.unregister(fd)
                if not program_done:
                    grace = time.monotonic() + 1.0
            elif fd in sinks:
                if not sinks[fd].read():
                    poller.unregister(fd)
            else:
                chunk = os.read(fd, READ_CHUNK)
                if not chunk:
                    poller.unregister(fd)
                    continue
                if append_capped(streams[fd], chunk, caps[fd]) and fd != err_r:
                    outcome = 'output_limit'
    if outcome is not None or not program_done:
        for target in (cpid, pid):
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
    _, status, usage = os.wait4(pid, 0)
    _, cstatus, cusage = os.wait4(cpid, 0)
    wall = time.monotonic() - started
    kill_leftovers()
    if IN_SANDBOX:
        clear_writable_dirs()
    for fd, buf in streams.items():
        while len(buf) < caps[fd]:
            chunk = os.read(fd, READ_CHUNK)
            if not chunk:
                break
            buf += chunk[:caps[fd] - len(buf)]
    for sink in sinks.values():
        while sink.read():
            pass
    for fd in (pidfd, cpidfd, out_r, err_r, res_r, verdict_r, cout_r):
        os.close(fd)
    cpu = usage.ru_utime + usage.ru_stime
    ccpu = cusage.ru_utime + cusage.ru_stime
    if outcome is None and (cpu_timeout(status, cpu, limits) or cpu_timeout(cstatus, ccpu, limits)):
        outcome = 'timeout'
    result = {
        'exit_code': os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        'stdout': streams[out_r].decode('utf-8', 'replace'),
        'stderr': streams[err_r].decode('utf-8', 'replace'),
        'cpu_s': round(cpu + ccpu, 4),
        'wall_s': round(wall, 4),
        'max_rss_kb': max(usage.ru_maxrss, cusage.ru_maxrss),
        'limit': outcome,
        '_check': (sinks[verdict_r], sinks[cout_r], cstatus, digest),
    }
    for line in streams[res_r].decode('utf-8', 'replace').splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get('memory_error'):
            result['memory_error'] = True
    return result


CHECK_OUTCOMES = frozenset(['passed', 'failed', 'error', 'program_error', 'program_gone', 'output_limit'])


def parse_verdict(sink, status, digest):
    """The checker's verdict record, or None: it must have exited by itself with status 0 after
    writing exactly one record, carrying the nonce drawn for this test (which the program's child,
    forked after the server wiped it, never had)."""
    if sink.overflow or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    data = sink.data()
    if not data.startswith(VERDICT_MAGIC) or not data.endswith(b'\n') or data.count(b'\n') != 1:
        return None
    try:
        verdict = json.loads(data[len(VERDICT_MAGIC):-1])
        nonce = bytes.fromhex(verdict['nonce'])
    except (ValueError, TypeError, KeyError):
        return None
    if type(verdict) is not dict or hashlib.sha256(nonce).digest() != digest \
            or verdict.get('outcome') not in CHECK_OUTCOMES:
        return None
    return verdict


def describe_status(status):
    if os.WIFSIGNALED(status):
        return 'killed by signal %d' % os.WTERMSIG(status)
    return 'exit status %d' % os.WEXITSTATUS(status)


def finalize_check(result):
    verdict_sink, out_sink, status, digest = result.pop('_check')
    try:
        verdict = parse_verdict(verdict_sink, status, digest)
        if verdict is None:
            check = {'outcome': 'checker_died', 'returned': False}
            report_text = 'checker: ended without a verdict (%s)\n' % describe_status(status)
        else:
            check = {'outcome': verdict['outcome'], 'returned': verdict.get('returned') is True}
            report_text = verdict.get('error') if type(verdict.get('error')) is str else ''
            if verdict.get('memory') is True:
                result['memory_error'] = True
            if verdict['outcome'] == 'output_limit' and result['limit'] is None:
                result['limit'] = 'output_limit'
        result['check'] = check
        parts = [out_sink.data().decode('utf-8', 'replace'), report_text, result['stderr']]
        result['stderr'] = ''.join(p if p.endswith('\n') or not p else p + '\n' for p in parts)
    finally:
        verdict_sink.wipe()
        out_sink.wipe()
        wipe(SCRATCH)

