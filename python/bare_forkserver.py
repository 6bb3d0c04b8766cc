# The limit `bench judge` measures the judge against: a bare fork server with none of the judge's safety
# or verdict work. Per job it compiles the program once; per test it forks a child that execs the
# compiled program on the input and exits, and reads the child's stdout to the end. No sandbox, no
# rlimits, no stderr capture, no clean-up of leftovers, no comparison. Never use it to run untrusted code.
#
# Programs run as in the judge (scrl_program_env): the same warm modules, namespaces and APPS+ entry
# call, so that both run the same code on every test and print the same output.
#
# It speaks the judge's framing (a 4-byte big-endian length, then JSON) on stdin/stdout:
# job {program, style, fn_name, inputs} -> {outputs: [stdout of each test]}. Call-style tests print the
# JSON of the function's result, as the bench's python-per-test baseline does.

import gc
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    from scrl_program_env import CALL_NAMESPACE, STDIN_NAMESPACE, calls_entry
finally:
    sys.path.remove(HERE)


def read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def write_frame(obj):
    body = json.dumps(obj).encode('utf-8', 'surrogatepass')
    data = struct.pack('>I', len(body)) + body
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]


def child(job, code, call_entry, test_input, stdin_fd, out_w):
    status = 1
    try:
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        namespace = STDIN_NAMESPACE if job['style'] == 'stdin' else CALL_NAMESPACE
        exec(code, namespace)
        if job['style'] == 'call':
            fn = namespace.get(job['fn_name']) or getattr(namespace['Solution'](), job['fn_name'])
            print(json.dumps(fn(*test_input)))
        elif call_entry:
            namespace[job['fn_name']]()
        status = 0
    except SystemExit as e:
        status = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
    except BaseException:
        status = 1
    finally:
        try:
            sys.stdout.flush()
        finally:
            os._exit(status)


def run_test(job, code, call_entry, test_input):
    stdin_fd = os.memfd_create('stdin')
    if isinstance(test_input, str):
        os.write(stdin_fd, test_input.encode('utf-8'))
        os.lseek(stdin_fd, 0, os.SEEK_SET)
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(out_r)
        child(job, code, call_entry, test_input, stdin_fd, out_w)
    os.close(stdin_fd)
    os.close(out_w)
    chunks = []
    while True:
        chunk = os.read(out_r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(out_r)
    os.waitpid(pid, 0)
    return b''.join(chunks).decode('utf-8', 'replace')


def main():
    # fds 0/1 are the protocol; a child puts its test's stdin and stdout pipe there, and its sys.stdin
    # and sys.stdout (never used by the server, so their buffers are empty at the fork) follow them.
    devnull = os.open('/dev/null', os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.path.extend(path for path in sys.argv[1:] if os.path.isdir(path))
    gc.collect()
    gc.freeze()
    write_frame({'ready': True})
    while True:
        head = read_exact(0, 4)
        if head is None:
            return
        job = json.loads(read_exact(0, struct.unpack('>I', head)[0]))
        try:
            code = compile(job['program'], '<program>', 'exec')
            call_entry = calls_entry(job, job['program'])
            outputs = [run_test(job, code, call_entry, test_input) for test_input in job['inputs']]
        except SyntaxError:
            outputs = []
        write_frame({'outputs': outputs, 'id': job.get('id')})


if __name__ == '__main__':     # (bench/judge-run-test.py imports it)
    main()
