# Check tests, references and requests: the proxies that stand for an object of the other process, the
# channel that carries requests and answers between the checker and the program's child, the requests
# each side serves on the objects it lent, and the program's side of a check test (serve_checker).
# Values themselves are encoded by scrl_codec.
#
# Loaded only by fork servers that receive check tests (see forkserver.load_check_machinery).

import builtins
import importlib
import json
import operator
import re
import struct
import sys
import traceback

from scrl_codec import MISSING, Codec, Gone, Reference, WireError, builtin_base, is_mutable, update_in_place
from scrl_program_env import CALL_PRELUDE
from scrl_runner import read_exact, write_all

WIRE_CAP = 16 << 20          # bytes in one message; a bigger answer from the program is `output_limit`
RPC_DEPTH = 50               # requests nested inside requests (callbacks)
RPC_READ, RPC_WRITE = 4, 5   # in both processes of a check test


class Proxy(Reference):
    """A reference to an object of the other process."""
    __slots__ = ()

    # What both kinds of reference forward to the other process the same way.
    def __call__(self, *args, **kwargs):
        return _call(self, args, kwargs)

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        return _ask(self, 'getattr', n=name)

    def __iter__(self):
        return _ask(self, 'iter')

    def __next__(self):
        return _ask(self, 'next')

    def __len__(self):
        return _ask(self, 'len')

    def __getitem__(self, key):
        return _ask(self, 'getitem', k=_send(self, key))


def _ask(proxy, op, **fields):
    codec = object.__getattribute__(proxy, '_codec')
    fields['op'] = op
    fields['ref'] = object.__getattribute__(proxy, '_rid')
    channel = codec.channel
    return channel.result(channel.ask(fields))


def _send(proxy, value):
    return object.__getattribute__(proxy, '_codec').encode(value)


def _call(proxy, args, kwargs):
    return object.__getattribute__(proxy, '_codec').channel.call(object.__getattribute__(proxy, '_rid'), args, kwargs)


class Remote(Proxy):
    """In the checker: an object the program made that has no value encoding (a function, a generator,
    an instance of one of its classes). Using it asks the program's process for data: calling it,
    iterating, indexing, its length, a public attribute, its text, its truth. It cannot be compared:
    its own `__eq__`, which the program wrote, never runs (nor sees what it is compared with), and
    the checker does not guess, so `==`, `!=`, `<`… raise TypeError (a test that compares the result
    fails; one that only passes the object back to the program, or uses `is`, works). It hashes by
    identity."""
    __slots__ = ()

    def _refuse(self, other):
        raise TypeError('the checker does not compare objects made by the program (an object without a value '
                        'encoding): return a value of a builtin type')

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __hash__ = object.__hash__

    def __bool__(self):
        v = _ask(self, 'bool')
        if type(v) is not bool:
            raise TypeError('__bool__ should return bool')
        return v

    def __str__(self):
        v = _ask(self, 'str')
        if type(v) is not str:
            raise TypeError('__str__ returned non-string')
        return v

    def __repr__(self):
        return '<object #%d of the program>' % object.__getattribute__(self, '_rid')


class Lent(Proxy):
    """In the program's process: an object of the test's (a file, a Mock, an instance of a class the
    test defines) passed to the program. Every use is done by the checker on the real object, with
    only its public attributes reachable."""
    __slots__ = ()

    def __setattr__(self, name, value):
        if name.startswith('_'):
            raise AttributeError(name)
        _ask(self, 'setattr', n=name, v=_send(self, value))

    def __setitem__(self, key, value):
        _ask(self, 'setitem', k=_send(self, key), v=_send(self, value))

    def __contains__(self, item):
        return _ask(self, 'contains', x=_send(self, item))

    def __bool__(self):
        return _ask(self, 'bool')

    def __str__(self):
        return _ask(self, 'str')

    def __repr__(self):
        return _ask(self, 'repr')

    def __hash__(self):
        return _ask(self, 'hash')

    def __eq__(self, other):
        return _ask(self, 'cmp', o='eq', x=_send(self, other))

    def __ne__(self, other):
        return _ask(self, 'cmp', o='ne', x=_send(self, other))

    def __lt__(self, other):
        return _ask(self, 'cmp', o='lt', x=_send(self, other))

    def __le__(self, other):
        return _ask(self, 'cmp', o='le', x=_send(self, other))

    def __gt__(self, other):
        return _ask(self, 'cmp', o='gt', x=_send(self, other))

    def __ge__(self, other):
        return _ask(self, 'cmp', o='ge', x=_send(self, other))

    def __enter__(self):
        return _ask(self, 'enter')

    def __exit__(self, *exc):
        _ask(self, 'exit')
        return False


class Channel:
    """Length-prefixed JSON messages over a pipe pair. A side that sent a request waits for its
    answer ({'r': 1, 'v': value} or {'r': 0, 'e': exception}) and meanwhile serves the requests the
    other side makes ({'op': ...}: a program calling a method of a Mock it was given, say)."""

    def __init__(self, codec, ops, program_side):
        self.codec = codec
        codec.channel = self
        self.ops = ops
        self.program_side = program_side
        self.depth = 0
        self.broken = None          # the Gone that ended the conversation
        self.before_request = None  # checker: adds the module patches the test made since the last request
        self.before_serve = None    # program: applies them
        self.returned = False       # some call returned a value other than None

    def fail(self, why, limit=None):
        if self.broken is None:
            self.broken = Gone(why, limit)
        raise Gone(why, limit)

    def send(self, message):
        body = json.dumps(message, ensure_ascii=True, separators=(',', ':')).encode('ascii')
        if len(body) > WIRE_CAP:
            if 'r' not in message:
                raise ValueError('a request of %d bytes, over the limit of %d' % (len(body), WIRE_CAP))
            # An answer too big to send: say so instead (the checker counts it as output_limit).
            body = json.dumps({'r': 0, 'limit': 'output_limit', 'e': {'t': 'ValueError', 'm': 'answer too large'}}).encode('ascii')
        try:
            write_all(RPC_WRITE, struct.pack('>I', len(body)) + body)
        except OSError as e:
            self.fail('is gone (%s)' % e.strerror)

    def recv(self):
        try:
            head = read_exact(RPC_READ, 4)
        except OSError:
            head = None
        if head is None:
            self.fail('closed the channel (it ended)')
        (n,) = struct.unpack('>I', head)
        if n > WIRE_CAP:
            self.fail('broke the protocol (a message of %d bytes)' % n)
        try:
            body = read_exact(RPC_READ, n)
        except OSError:
            body = None
        if body is None:
            self.fail('closed the channel in the middle of a message')
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            message = None
        if type(message) is not dict:
            self.fail('broke the protocol (a malformed message)')
        return message

    def ask(self, message):
        if self.broken is not None:
            raise Gone(str(self.broken), self.broken.limit)
        if self.depth >= RPC_DEPTH:
            raise RecursionError('requests between the test and the program nested too deeply')
        if self.before_request is not None:
            self.before_request(message)
        self.depth += 1
        try:
            self.send(message)
            while True:
                m = self.recv()
                if 'r' in m:
                    return m
                if 'op' in m:
                    self.send(self.serve(m))
                else:
                    self.fail('broke the protocol (an unexpected message)')
        finally:
            self.depth -= 1

    def serve(self, m):
        try:
            if self.before_serve is not None:
                self.before_serve(m)
            op = self.ops.get(m.get('op'))
            if op is None:
                raise WireError('unknown operation %r' % (m.get('op'),))
            return op(m)
        except Gone:
            raise
        except (SystemExit, KeyboardInterrupt) as e:
            if self.program_side:
                raise           # the program exits, in the middle of a call or not
            return {'r': 0, 'e': self.describe(e)}
        except BaseException as e:
            return {'r': 0, 'e': self.describe(e)}

    def describe(self, e):
        t = type(e)
        try:
            args = [self.codec.encode(a) for a in e.args]
        except BaseException:
            args = None
        try:
            message = str(e)[:2000]
        except BaseException:
            message = ''
        tb = ''
        if self.program_side:
            try:
                tb = program_traceback(e)[-8000:]
            except BaseException:
                pass
        return {'t': builtin_base(t).__name__, 'n': str(t.__qualname__), 'm': message, 'a': args, 'tb': tb}

    def exception(self, info):
        if type(info) is not dict:
            self.fail('broke the protocol (a malformed answer)')
        name = info.get('t')
        message = info.get('m') if type(info.get('m')) is str else ''
        cls = getattr(builtins, name, None) if type(name) is str else None
        if not (isinstance(cls, type) and issubclass(cls, BaseException)) or cls is BaseException \
                or issubclass(cls, (SystemExit, KeyboardInterrupt, GeneratorExit)):
            cls = Exception
        exc = None
        if type(info.get('a')) is list:
            try:
                exc = cls(*self.codec.decode(info['a']))
            except (WireError, Exception):
                exc = None
        if exc is None:
            try:
                exc = cls(message)
            except Exception:
                exc = Exception(message)
        tb = info.get('tb')
        qualname = info.get('n') if type(info.get('n')) is str else cls.__name__
        try:
            exc._scrl_remote = (tb if type(tb) is str and tb else '%s: %s\n' % (qualname, message))
        except AttributeError:
            pass
        return exc

    def result(self, reply, args=None):
        r = reply.get('r')
        if reply.get('limit') == 'output_limit':
            self.fail('answered with more than %d bytes' % WIRE_CAP, 'output_limit')
        if r == 1:
            v = reply.get('v')
            if args is not None and type(v) is dict and len(v) == 1 and '$arg' in v:
                i = v['$arg']
                if type(i) is int and 0 <= i < len(args):
                    return args[i]
                self.fail('broke the protocol (a malformed answer)')
            try:
                return self.codec.decode(v)
            except WireError as e:
                self.fail('broke the protocol (a malformed answer: %s)' % e)
        if r == 0:
            raise self.exception(reply.get('e'))
        self.fail('broke the protocol (a malformed answer)')

    def call(self, rid, args, kwargs):
        codec = self.codec
        message = {'op': 'call', 'ref': rid, 'a': [codec.encode(a) for a in args],
                   'k': [[k, codec.encode(v)] for k, v in kwargs.items()]}
        reply = self.ask(message)
        after = reply.get('after')
        if after is not None:
            if type(after) is not list:
                self.fail('broke the protocol (a malformed answer)')
            for entry in after:
                if type(entry) is not list or len(entry) != 2 or type(entry[0]) is not int or not 0 <= entry[0] < len(args):
                    self.fail('broke the protocol (a malformed answer)')
                if is_mutable(args[entry[0]]):
                    try:
                        new = codec.decode(entry[1])
                    except WireError as e:
                        self.fail('broke the protocol (a malformed answer: %s)' % e)
                    try:
                        update_in_place(args[entry[0]], new)
                    except Exception:
                        pass
        value = self.result(reply, args)
        if value is not None:
            self.returned = True
        return value


PUBLIC_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_]*\Z')
# Public attributes never handed to the program: SQLite's extension loading (native code in the
# checker), and the frame and code attributes of generators and tracebacks.
DENIED_ATTRIBUTES = frozenset(['load_extension', 'enable_load_extension', 'gi_frame', 'gi_code', 'gi_yieldfrom',
                               'cr_frame', 'cr_code', 'cr_await', 'ag_frame', 'ag_code', 'ag_await', 'f_globals',
                               'f_locals', 'f_builtins', 'f_back', 'f_code', 'tb_frame', 'tb_next', 'func_globals'])
COMPARISONS = {'eq': operator.eq, 'ne': operator.ne, 'lt': operator.lt, 'le': operator.le,
               'gt': operator.gt, 'ge': operator.ge}


def object_ops(codec, restricted):
    """The requests one side serves on the objects it lent. `restricted` (the checker): public
    attribute names only, never the denied ones."""

    def target(m):
        return codec.back(m.get('ref'))

    def name(m):
        n = m.get('n')
        if type(n) is not str or (restricted and (not PUBLIC_NAME.match(n) or n in DENIED_ATTRIBUTES)):
            raise AttributeError('attribute %r is not available to the other process' % (n,))
        return n

    def ok(v):
        return {'r': 1, 'v': codec.encode(v)}

    def call(m):
        fn = target(m)
        raw, kw = m.get('a'), m.get('k')
        if type(raw) is not list or type(kw) is not list:
            raise WireError('bad call')
        args = [codec.decode(a) for a in raw]
        kwargs = {}
        for entry in kw:
            if type(entry) is not list or len(entry) != 2 or type(entry[0]) is not str:
                raise WireError('bad keyword argument')
            kwargs[entry[0]] = codec.decode(entry[1])
        try:
            result = fn(*args, **kwargs)
            for i, a in enumerate(args):
                if result is a:
                    reply = {'r': 1, 'v': {'$arg': i}}
                    break
            else:
                reply = {'r': 1, 'v': codec.encode(result)}
        except (Gone, SystemExit, KeyboardInterrupt):
            raise       # (Channel.serve turns an exit in the checker into an error answer)
        except BaseException as e:
            reply = {'r': 0, 'e': codec.channel.describe(e)}
        after = []
        for i, (before, a) in enumerate(zip(raw, args)):
            if is_mutable(a):
                try:
                    now = codec.encode(a)
                except Exception:
                    continue
                if now != before:
                    after.append([i, now])
        if after:
            reply['after'] = after
        return reply

    def setattr_(m):
        setattr(target(m), name(m), codec.decode(m.get('v')))
        return ok(None)

    def setitem(m):
        target(m)[codec.decode(m.get('k'))] = codec.decode(m.get('v'))
        return ok(None)

    def cmp(m):
        f = COMPARISONS.get(m.get('o'))
        if f is None:
            raise WireError('bad comparison')
        return ok(f(target(m), codec.decode(m.get('x'))))

    return {
        'call': call,
        'getattr': lambda m: ok(getattr(target(m), name(m))),
        'setattr': setattr_,
        'iter': lambda m: ok(iter(target(m))),
        'next': lambda m: ok(next(target(m))),
        'len': lambda m: ok(len(target(m))),
        'getitem': lambda m: ok(target(m)[codec.decode(m.get('k'))]),
        'setitem': setitem,
        'contains': lambda m: ok(codec.decode(m.get('x')) in target(m)),
        'bool': lambda m: ok(bool(target(m))),
        'str': lambda m: ok(str(target(m))),
        'repr': lambda m: ok(repr(target(m))),
        'hash': lambda m: ok(hash(target(m))),
        'cmp': cmp,
        'enter': lambda m: ok(type(target(m)).__enter__(target(m))),
        'exit': lambda m: ok(type(target(m)).__exit__(target(m), None, None, None)),
    }


def program_traceback(e):
    """The traceback of an exception the program raised, from its first frame in the program."""
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != '<program>':
        tb = tb.tb_next
    return ''.join(traceback.format_exception(type(e), e, tb))


# ---------------------------------------------------------------- the program's side

def serve_checker(namespace):
    """In the program's child, after the program ran: answer the checker's requests until it hangs up."""
    try:
        sys.set_int_max_str_digits(0)
    except AttributeError:
        pass
    codec = Codec(lambda v: True, Lent, importlib.import_module)
    ops = object_ops(codec, restricted=False)
    channel = Channel(codec, ops, program_side=True)

    def hello(m):
        names = m.get('names')
        if type(names) is not list:
            raise WireError('bad hello')
        found = {}
        for n in names:
            if type(n) is not str:
                continue
            v = namespace.get(n, MISSING)
            if v is MISSING:
                found[n] = ['missing']
            elif CALL_PRELUDE.get(n, MISSING) is v:
                found[n] = ['prelude']
            else:
                try:
                    found[n] = ['value', codec.encode(v)]
                except Exception:
                    found[n] = ['missing']
        return {'r': 1, 'names': found}

    def state(m):
        module, attribute = m.get('m'), m.get('a')
        if type(module) is not str or type(attribute) is not str or module not in sys.modules:
            raise AttributeError('no state %r.%r' % (module, attribute))
        return {'r': 1, 'v': codec.encode(getattr(sys.modules[module], attribute))}

    ops['hello'] = hello
    ops['state'] = state
    originals = {}

    def apply_patches(m):
        for p in m.get('patch') or ():
            try:
                module_name, attribute, action = p[0], p[1], p[2]
                if type(module_name) is not str or type(attribute) is not str:
                    continue
                module = sys.modules.get(module_name) or importlib.import_module(module_name)
                key = (module_name, attribute)
                if key not in originals:
                    originals[key] = module.__dict__.get(attribute, MISSING)
                if action == 'set' and len(p) == 4:
                    setattr(module, attribute, codec.decode(p[3]))
                elif action == 'restore' and originals[key] is not MISSING:
                    setattr(module, attribute, originals[key])
                else:
                    module.__dict__.pop(attribute, None)
            except Exception:
                pass

    channel.before_serve = apply_patches
    try:
        while True:
            m = channel.recv()
            if 'op' not in m:
                return
            channel.send(channel.serve(m))
    except Gone:
        return

