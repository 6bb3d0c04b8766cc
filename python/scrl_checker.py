# Check tests, the checker: the process that runs a check test's code. The fork server forks it before
# the program's child, so it holds nothing of the program's; it binds the program's names the test uses
# to values or proxies (asking the program's child over the channel of scrl_proxies), runs the test,
# and writes its verdict record, with the nonce the server drew for the test, on a pipe only it holds.
#
# Loaded only by fork servers that receive check tests (see forkserver.load_check_machinery).

import ast
import builtins
import importlib
import io
import json
import linecache
import os
import sys
import traceback
import types

from scrl_codec import (CHECK_MODULE, MISSING, MODULE_ALIASES, PURE_LIBRARY_MODULES, Codec, Gone, WireError,
                        module_allowed)
from scrl_proxies import Channel, Remote, object_ops
from scrl_program_env import CALL_PRELUDE
from scrl_runner import wipe, write_all

VERDICT_FD = 3               # in the checker
VERDICT_MAGIC = b'SCRL-CHECK-VERDICT/1 '


# Objects of the test's that may be lent to the program: instances of the classes and the functions
# the test defines, files, Mocks, queues, SQLite connections and cursors, iterators of builtin types.
LENDABLE_LIBRARY_TYPES = (('unittest.mock', ('NonCallableMock',)), ('queue', ('Queue', 'SimpleQueue')),
                          ('sqlite3', ('Connection', 'Cursor')), ('tempfile', ('_TemporaryFileWrapper',)))


def checker_lendable(v):
    t = type(v)
    if getattr(t, '__module__', None) == CHECK_MODULE:
        return True
    if t is types.FunctionType or isinstance(v, type):
        return getattr(v, '__module__', None) == CHECK_MODULE
    if t is types.MethodType or t is types.BuiltinMethodType:
        owner = getattr(v, '__self__', None)
        return owner is not None and not isinstance(owner, (types.ModuleType, type)) and checker_lendable(owner)
    if isinstance(v, io.IOBase):
        return True
    if t.__module__ == 'builtins' and hasattr(t, '__next__'):
        return t is not types.GeneratorType or v.gi_code.co_filename in ('<test>', '<test setup>')
    for module_name, names in LENDABLE_LIBRARY_TYPES:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(v, tuple(getattr(module, n) for n in names if hasattr(module, n))):
            return True
    return False


def checker_import(name):
    if not module_allowed(name):
        raise WireError('the checker does not import %r' % (name,))
    return importlib.import_module(name)


class MissingFunction:
    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise NameError('the program defines no %r' % self.name)

    def __repr__(self):
        return '<missing %s>' % self.name


# Process state a test may read after the program changed it: read from the program's process.
MIRRORED_STATE = {'sys': frozenset(['path', 'argv']), 'warnings': frozenset(['filters']), 'os': frozenset(['environ'])}


class Mirror:
    """In the checker: a module whose process-state attributes (`sys.path`, `os.environ`,
    `warnings.filters`) are read from the program's process, where the program changed them."""
    __slots__ = ('_real', '_names', '_channel')

    def __init__(self, real, names, channel):
        object.__setattr__(self, '_real', real)
        object.__setattr__(self, '_names', names)
        object.__setattr__(self, '_channel', channel)

    def __getattribute__(self, name):
        real = object.__getattribute__(self, '_real')
        if name in object.__getattribute__(self, '_names'):
            channel = object.__getattribute__(self, '_channel')
            return channel.result(channel.ask({'op': 'state', 'm': real.__name__, 'a': name}))
        return getattr(real, name)

    def __setattr__(self, name, value):
        setattr(object.__getattribute__(self, '_real'), name, value)

    def __delattr__(self, name):
        delattr(object.__getattribute__(self, '_real'), name)

    def __repr__(self):
        return repr(object.__getattribute__(self, '_real'))


def dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def scan_names(trees):
    """Names the test's code reads and binds, module attributes it assigns (`subprocess.call = Mock()`)
    and module attributes it reads (`sys.path`)."""
    loads, bound, stores, reads = set(), set(), [], []
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (loads if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name != '*':
                        bound.add((alias.asname or alias.name).split('.')[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                bound.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                bound.add(node.rest)
            elif isinstance(node, ast.Attribute):
                chain = dotted(node.value)
                if chain is not None:
                    (reads if isinstance(node.ctx, ast.Load) else stores).append((chain, node.attr))
    return loads, bound, stores, reads


def watch_patches(channel, codec, ns, stores):
    """Module attributes the test replaces (`subprocess.call = Mock()`, before calling a program
    that runs a command) are replaced in the program's process too, before each request, by a
    reference to the test's object."""
    watched, seen = [], set()
    for chain, attribute in stores:
        obj = ns.get(chain[0], MISSING)
        for part in chain[1:]:
            obj = getattr(obj, part, MISSING) if isinstance(obj, types.ModuleType) else MISSING
        if isinstance(obj, types.ModuleType) and module_allowed(obj.__name__) and (obj.__name__, attribute) not in seen:
            seen.add((obj.__name__, attribute))
            watched.append((obj, attribute, obj.__dict__.get(attribute, MISSING)))
    if not watched:
        return
    sent = {}

    def add_patches(message):
        patches = []
        for module, attribute, original in watched:
            key = (module.__name__, attribute)
            now = module.__dict__.get(attribute, MISSING)
            if sent.get(key, original) is now:
                continue
            sent[key] = now
            if now is original:
                patches.append([module.__name__, attribute, 'restore'])
            elif now is MISSING:
                patches.append([module.__name__, attribute, 'delete'])
            else:
                try:
                    patches.append([module.__name__, attribute, 'set', codec.encode(now)])
                except (TypeError, ValueError):
                    pass
        if patches:
            message['patch'] = patches

    channel.before_request = add_patches


def test_traceback(e):
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename not in ('<test>', '<test setup>'):
        tb = tb.tb_next
    return ''.join(traceback.format_exception(type(e), e, tb or e.__traceback__))


def run_check(spec):
    """Runs one check test; returns the verdict record (without its nonce)."""
    setup, body, bind = spec.get('setup') or '', spec.get('body') or '', spec.get('bind') or {}
    if type(setup) is not str or type(body) is not str or type(bind) is not dict \
            or not all(type(k) is str and type(v) is str for k, v in bind.items()):
        return {'outcome': 'error', 'returned': False, 'error': 'checker: a malformed check test'}
    codec = Codec(checker_lendable, Remote, checker_import, PURE_LIBRARY_MODULES)
    channel = Channel(codec, object_ops(codec, restricted=True), program_side=False)
    ns = {'__name__': CHECK_MODULE, '__builtins__': builtins}
    outcome, error, memory = 'passed', '', False
    try:
        setup_tree = ast.parse(setup, '<test setup>')
        body_tree = ast.parse(body, '<test>')
        for filename, text in (('<test setup>', setup), ('<test>', body)):
            linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        loads, bound, stores, reads = scan_names([setup_tree, body_tree])
        wanted = sorted(n for n in (loads - bound - set(bind)) | set(bind.values())
                        if not n.startswith('__') and (not hasattr(builtins, n) or n in bind.values()))
        # The program's names the test uses: values, or references for what has no value (functions).
        # Asked first, so the setup sees them too; always asked, so a program that fails to load
        # fails every check test, as it fails every other test.
        reply = channel.ask({'op': 'hello', 'names': wanted})
        names = reply.get('names')
        if reply.get('r') != 1 or type(names) is not dict:
            channel.fail('broke the protocol (a malformed answer)')
        found = {}
        for n in wanted:
            entry = names.get(n)
            if type(entry) is not list or not entry or entry[0] not in ('value', 'missing', 'prelude') \
                    or (entry[0] == 'value' and len(entry) != 2):
                channel.fail('broke the protocol (a malformed answer)')
            if entry[0] == 'value':
                try:
                    value = codec.decode(entry[1])
                except WireError:
                    continue    # a module the checker does not import, say: the name stays unbound
                if isinstance(value, types.ModuleType) and value.__name__.rsplit('.', 1)[-1] != n \
                        and MODULE_ALIASES.get(n) != value.__name__:
                    continue
                found[n] = value
            elif n in CALL_PRELUDE:
                found[n] = CALL_PRELUDE[n]
        ns.update(found)
        for alias, target in bind.items():
            ns[alias] = found[target] if target in found else MissingFunction(target)
        exec(compile(setup_tree, '<test setup>', 'exec'), ns)
        wrapper = ast.parse('def check():\n    pass\n')
        wrapper.body[0].body = body_tree.body or [ast.Pass()]
        prior = ns.pop('check', MISSING)
        exec(compile(wrapper, '<test>', 'exec'), ns)
        test = ns.pop('check')
        if prior is not MISSING:
            ns['check'] = prior
        watch_patches(channel, codec, ns, stores)
        mirrored = {}
        for chain, attribute in reads:
            module = ns.get(chain[0]) if len(chain) == 1 else None
            if isinstance(module, types.ModuleType) and attribute in MIRRORED_STATE.get(module.__name__, ()):
                mirrored.setdefault(chain[0], set()).add(attribute)
        for name, attributes in mirrored.items():
            ns[name] = Mirror(ns[name], frozenset(attributes), channel)
        test()
    except Gone as e:
        outcome = 'output_limit' if e.limit == 'output_limit' else 'program_gone'
        error = "checker: the program's process %s\n" % e
    except BaseException as e:
        remote = getattr(e, '_scrl_remote', None)
        memory = isinstance(e, MemoryError)
        if type(remote) is str:
            outcome = 'program_error'
            error = remote
        elif isinstance(e, AssertionError):
            outcome = 'failed'
            error = test_traceback(e)
        else:
            outcome = 'error'
            error = test_traceback(e)
    if channel.broken is not None and outcome in ('passed', 'failed', 'error'):
        limit = channel.broken.limit == 'output_limit'
        outcome = 'output_limit' if limit else 'program_gone'
        error = "checker: the program's process %s\n%s" % (channel.broken, error)
    return {'outcome': outcome, 'returned': channel.returned, 'memory': memory, 'error': error[-8000:]}


def run_checker(spec_buf, nonce):
    """The checker's process: never returns. Its one message to the server, on a pipe only it holds,
    is the verdict record: magic, JSON with the nonce the server drew for this test, newline."""
    verdict = {'outcome': 'error', 'returned': False}
    try:
        try:
            sys.set_int_max_str_digits(0)
        except AttributeError:
            pass
        spec = json.loads(bytes(spec_buf).decode('utf-8'))
        wipe(spec_buf)
        verdict = run_check(spec) if type(spec) is dict else {'outcome': 'error', 'returned': False}
    except BaseException as e:
        verdict = {'outcome': 'error', 'returned': False, 'memory': isinstance(e, MemoryError),
                   'error': 'checker: %s: %s' % (type(e).__name__, e)}
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        try:
            verdict['nonce'] = bytes(nonce).hex()
            record = VERDICT_MAGIC + json.dumps(verdict, ensure_ascii=True).encode('ascii') + b'\n'
            write_all(VERDICT_FD, record)
        except BaseException:
            pass
        os._exit(0)

