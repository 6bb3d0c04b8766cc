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
# comes back on a pipe only the checker holds. See "check tests" below.

import ast
import base64
import builtins
import ctypes
import fcntl
import gc
import hashlib
import importlib
import io
import json
import linecache
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
import types

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
# __name__ of call-style programs and of the program's side of check tests: not '__main__', so a
# program's `if __name__ == "__main__":` block (which usually reads stdin) does not run, as in
# HumanEval's and APPS's own harnesses. stdin programs keep '__main__'.
PROGRAM_NAME = '__program__'

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


def wipe(buf):
    if buf:
        buf[:] = bytes(len(buf))


def write_frame(obj):
    body = json.dumps(obj, ensure_ascii=False).encode('utf-8', 'surrogatepass')
    data = struct.pack('>I', len(body)) + body
    write_all(PROTO_OUT, data)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


# ---------------------------------------------------------------- serialising return values

INT_SAFE = 2 ** 53


def to_plain(value, depth=0):
    """A JSON-safe copy built from exact builtin types only, so an object that overrides __eq__ or
    subclasses int/str/list cannot pass a comparison done outside this process. (Values that go to
    a check test's checker use the richer `Codec` below, which keeps tuples, bytes, … apart.)"""
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


# ---------------------------------------------------------------- check tests: values on the wire
#
# A check test runs in two processes that share no memory: the checker (C), which runs the test's
# code, and the program's child (P), which ran the program and answers C's requests. Both are forks of
# this server; everything P does is untrusted, so C trusts nothing P says beyond "this is the value":
# values cross as JSON built from exact types and are decoded on the other side into fresh objects of
# exact builtin, standard-library or numpy types (never a class the program defined, never an object
# whose methods the program wrote). What cannot cross by value crosses by reference: the receiver gets
# a proxy, and every use of the proxy is a request to the process that owns the object. C's proxies of
# P's objects only fetch data (call, iterate, index, length, attributes, str, truth); they compare and
# hash by identity, so an `__eq__` that always says yes never runs where the verdict is decided. P's
# proxies of C's objects (a file, a Mock or an instance of a class the test defines, passed to the
# program) allow only their public attributes, on an allow-list of types.

WIRE_CAP = 16 << 20          # bytes in one message; a bigger answer from the program is `output_limit`
WIRE_DEPTH = 200             # nesting of one value
RPC_DEPTH = 50               # requests nested inside requests (callbacks)
RPC_READ, RPC_WRITE = 4, 5   # in both processes of a check test
VERDICT_FD = 3               # in the checker
CHECK_MODULE = '__check__'   # __name__ of the checker's namespace: classes and functions the test defines
VERDICT_MAGIC = b'SCRL-CHECK-VERDICT/1 '
MISSING = object()


class Gone(BaseException):
    """The other process of a check test is gone or broke the protocol. A BaseException, so that a
    test's `except Exception:` cannot swallow it (and the checker remembers it happened anyway)."""

    def __init__(self, why, limit=None):
        super().__init__(why)
        self.limit = limit


class WireError(Exception):
    """A malformed message or value."""


def b64(data):
    return base64.b64encode(data).decode('ascii')


def unb64(text):
    if type(text) is not str:
        raise WireError('expected base64 text')
    return base64.b64decode(text.encode('ascii'), validate=True)


def _items(codec, values, d):
    return [codec.encode(v, d) for v in values]


def _pairs(codec, mapping, d):
    return [[codec.encode(k, d), codec.encode(v, d)] for k, v in dict.items(mapping)]


def _encode_tz(codec, tz, d):
    if tz is None:
        return None
    import datetime
    if type(tz) is datetime.timezone:
        offset = tz.utcoffset(None)
        name = tz.tzname(None)
        return {'$tz': [codec.encode(offset, d), None if name == datetime.timezone(offset).tzname(None) else name]}
    zoneinfo = sys.modules.get('zoneinfo')
    if zoneinfo is not None and type(tz) is zoneinfo.ZoneInfo and isinstance(tz.key, str):
        return {'$zi': tz.key}
    raise TypeError('a time zone of type %s cannot be sent' % type(tz).__name__)


def _enc_datetime(codec, v, d):
    return {'$dtm': [v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, v.fold,
                     _encode_tz(codec, v.tzinfo, d)]}


def _enc_date(codec, v, d):
    return {'$date': [v.year, v.month, v.day]}


def _enc_time(codec, v, d):
    return {'$time': [v.hour, v.minute, v.second, v.microsecond, v.fold, _encode_tz(codec, v.tzinfo, d)]}


def _enc_timedelta(codec, v, d):
    return {'$td': [v.days, v.seconds, v.microseconds]}


def _enc_ndarray(codec, v, d):
    import numpy
    if type(v) is not numpy.ndarray:
        v = v.view(numpy.ndarray)
    if v.dtype.hasobject:
        return {'$ndo': [list(v.shape), [codec.encode(x, d) for x in v.reshape(-1)]]}
    return {'$nd': [numpy.lib.format.dtype_to_descr(v.dtype), list(v.shape), b64(v.tobytes(order='C'))]}


def _enc_npscalar(codec, v, d):
    import numpy
    return {'$ns': [numpy.lib.format.dtype_to_descr(v.dtype), b64(v.tobytes())]}


def _enc_namedtuple(codec, v, d):
    return {'$nt': [type(v).__name__, list(type(v)._fields), _items(codec, tuple.__iter__(v), d)]}


def _enc_struct_time(codec, v, d):
    return {'$stm': [list(tuple(v)), v.tm_zone, v.tm_gmtoff]}


ENCODERS = {
    list: lambda c, v, d: _items(c, v, d),
    tuple: lambda c, v, d: {'$t': _items(c, v, d)},
    dict: lambda c, v, d: {'$d': _pairs(c, v, d)},
    set: lambda c, v, d: {'$s': _items(c, v, d)},
    frozenset: lambda c, v, d: {'$f': _items(c, v, d)},
    bytes: lambda c, v, d: {'$b': b64(v)},
    bytearray: lambda c, v, d: {'$ba': b64(v)},
    complex: lambda c, v, d: {'$c': [v.real, v.imag]},
    range: lambda c, v, d: {'$r': [v.start, v.stop, v.step]},
    slice: lambda c, v, d: {'$sl': [c.encode(v.start, d), c.encode(v.stop, d), c.encode(v.step, d)]},
    type(Ellipsis): lambda c, v, d: {'$E': 0},
    collections.OrderedDict: lambda c, v, d: {'$od': _pairs(c, v, d)},
    collections.Counter: lambda c, v, d: {'$ctr': _pairs(c, v, d)},
    collections.defaultdict: lambda c, v, d: {'$dd': [c.encode(v.default_factory, d), _pairs(c, v, d)]},
    collections.deque: lambda c, v, d: {'$dq': [_items(c, v, d), v.maxlen]},
    decimal.Decimal: lambda c, v, d: {'$dec': str(v)},
    fractions.Fraction: lambda c, v, d: {'$fr': [v.numerator, v.denominator]},
}
NO_ENCODER = set()

# Library objects that travel by name (`$lib`): functions and classes of modules the other side may
# import itself. Never these builtins.
DENIED_BUILTINS = frozenset(['exec', 'eval', 'compile', 'open', 'input', 'breakpoint', '__import__', 'globals',
                             'locals', 'vars', 'setattr', 'delattr', 'getattr', 'exit', 'quit', 'help', 'copyright',
                             'credits', 'license'])


def encoder_for(t):
    """The encoder of a type that is not an exact builtin one: library types by identity (looked up
    when their module is loaded), subclasses of builtins by the builtin they extend."""
    f = None
    module = getattr(t, '__module__', None)
    if module == 'datetime' or (module or '').startswith('pandas'):
        dt = sys.modules.get('datetime')
        if dt is not None:
            if issubclass(t, dt.datetime):
                f = _enc_datetime
            elif issubclass(t, dt.date):
                f = _enc_date
            elif issubclass(t, dt.time):
                f = _enc_time
            elif issubclass(t, dt.timedelta):
                f = _enc_timedelta
            elif t is dt.timezone:
                f = _encode_tz
    elif module == 'time' and t is time.struct_time:
        f = _enc_struct_time
    elif module == 'pathlib':
        pathlib = sys.modules.get('pathlib')
        if pathlib is not None and t in (pathlib.PurePosixPath, pathlib.PosixPath, pathlib.PurePath, pathlib.Path):
            f = lambda c, v, d: {'$pp': [type(v).__name__, str(v)]}  # noqa: E731
    if f is None:
        numpy = sys.modules.get('numpy')
        if numpy is not None and issubclass(t, numpy.ndarray) and 'MaskedArray' not in t.__name__:
            f = _enc_ndarray
        elif numpy is not None and issubclass(t, numpy.generic) and module == 'numpy' and t is not numpy.object_:
            f = _enc_npscalar
    if f is None:
        if issubclass(t, tuple) and isinstance(getattr(t, '_fields', None), tuple) \
                and all(type(n) is str for n in t._fields):
            f = _enc_namedtuple
        elif issubclass(t, int):
            f = lambda c, v, d: int.__int__(v)  # noqa: E731
        elif issubclass(t, float):
            f = lambda c, v, d: float.__float__(v)  # noqa: E731
        elif issubclass(t, str):
            f = lambda c, v, d: str.__str__(v)  # noqa: E731
        elif issubclass(t, bytes):
            f = lambda c, v, d: {'$b': b64(bytes.__bytes__(v) if hasattr(bytes, '__bytes__') else bytes(memoryview(v)))}  # noqa: E731
        elif issubclass(t, list):
            f = lambda c, v, d: _items(c, list.__iter__(v), d)  # noqa: E731
        elif issubclass(t, tuple):
            f = lambda c, v, d: {'$t': _items(c, tuple.__iter__(v), d)}  # noqa: E731
        elif issubclass(t, dict):
            f = lambda c, v, d: {'$d': _pairs(c, v, d)}  # noqa: E731
        elif issubclass(t, frozenset):
            f = lambda c, v, d: {'$f': _items(c, frozenset.__iter__(v), d)}  # noqa: E731
        elif issubclass(t, set):
            f = lambda c, v, d: {'$s': _items(c, set.__iter__(v), d)}  # noqa: E731
    return f


def library_name(v):
    """(module, qualified name) of a library function or class that the other side can import by
    name, or None. A module-level function or class of the program is not one (its module is the
    program's)."""
    if not isinstance(v, (type, types.FunctionType, types.BuiltinFunctionType)):
        return None
    if isinstance(v, types.BuiltinFunctionType) and not isinstance(getattr(v, '__self__', None), (types.ModuleType, type(None))):
        return None     # a bound builtin method
    module, qualname = getattr(v, '__module__', None), getattr(v, '__qualname__', None)
    if type(module) is not str or type(qualname) is not str or module in (PROGRAM_NAME, CHECK_MODULE, '__main__'):
        return None
    if '<' in qualname or module.split('.')[0] not in PURE_LIBRARY_MODULES or not module_allowed(module):
        return None     # (a function of another module travels by reference: it runs where it lives)
    if module == 'builtins' and qualname in DENIED_BUILTINS:
        return None
    target = sys.modules.get(module)
    for part in qualname.split('.'):
        target = getattr(target, part, None)
    return (module, qualname) if target is v else None


# Modules the checker may import because the program's side names them (`np` bound to numpy by the
# program's own import, a standard function passed by name): standard-library modules and the data
# sets' third-party libraries, never one that acts on import or a private one.
THIRD_PARTY_MODULES = frozenset(['numpy', 'scipy', 'pandas', 'matplotlib', 'requests'])
UNSAFE_MODULES = frozenset(['antigravity', 'this', 'turtle', 'turtledemo', 'tkinter', 'idlelib', 'pydoc'])
MODULE_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z')


# Library functions and classes the checker takes by name from the program's side (a test name the
# program bound with `from math import sqrt`, a function returned by a call) run in the checker: only
# those of modules that compute, never of one that reaches files, processes or memory (os, io, ctypes…).
PURE_LIBRARY_MODULES = frozenset([
    'builtins', 'math', 'cmath', 'operator', 'functools', 'itertools', 'collections', 'heapq', 'bisect',
    'statistics', 'string', 're', 'random', 'decimal', 'fractions', 'datetime', 'time', 'json', 'copy',
    'typing', 'numbers', 'textwrap', 'unicodedata', 'difflib', 'hashlib', 'base64', 'binascii', 'struct',
    'array', 'calendar', 'enum', 'numpy', 'scipy'])
# A test name that the program's side says is a module is bound only to the module of that name, or of a
# conventional alias (so the program cannot swap `math` for `cmath` under a test that forgot to import it).
MODULE_ALIASES = {'np': 'numpy', 'pd': 'pandas', 'plt': 'matplotlib.pyplot', 'sp': 'scipy', 'dt': 'datetime'}


def module_allowed(name):
    if type(name) is not str or not MODULE_NAME.match(name):
        return False
    top = name.split('.')[0]
    return (top in sys.stdlib_module_names or top in THIRD_PARTY_MODULES) and top not in UNSAFE_MODULES


class Codec:
    """Encodes values for the other process and decodes what it sends. `lendable(v)` says whether an
    object that has no value encoding may be lent by reference; `proxy_class` wraps references to the
    other side's objects; `import_module(name)` resolves `$mod`/`$lib` (the checker allows only
    `module_allowed` names)."""

    def __init__(self, lendable, proxy_class, import_module, library_modules=None):
        self.lendable = lendable
        self.library_modules = library_modules
        self.proxy_class = proxy_class
        self.import_module = import_module
        self.channel = None
        self.lent = {}          # ref id -> our object, lent to the other side
        self.lent_ids = {}      # id(object) -> ref id (the object is kept alive by self.lent)
        self.proxies = {}       # ref id -> proxy of the other side's object (one per id: identity holds)
        self.next_ref = 1
        self.namedtuples = {}

    # ---- encoding

    def encode(self, v, d=0):
        if d > WIRE_DEPTH:
            raise ValueError('a value nested more than %d deep cannot be sent' % WIRE_DEPTH)
        t = type(v)
        if v is None or t is str or t is bool or t is int or t is float:
            return v
        f = ENCODERS.get(t)
        if f is not None:
            return f(self, v, d + 1)
        if isinstance(v, Proxy):
            if object.__getattribute__(v, '_codec') is self:
                return {'$back': object.__getattribute__(v, '_rid')}
            raise TypeError('a proxy of another channel cannot be sent')
        if t not in NO_ENCODER:
            f = encoder_for(t)
            if f is not None:
                if module_allowed(getattr(t, '__module__', None) or '') or t.__module__ == 'builtins':
                    ENCODERS[t] = f
                return f(self, v, d + 1)
            if getattr(t, '__module__', None) in ('builtins', 'datetime', 'time', 'pathlib', 'collections'):
                NO_ENCODER.add(t)
        if isinstance(v, types.ModuleType) and module_allowed(getattr(v, '__name__', None)):
            return {'$mod': v.__name__}
        lib = library_name(v)
        if lib is not None:
            return {'$lib': list(lib)}
        if self.lendable(v):
            return self.lend(v)
        raise TypeError('a %s cannot be sent to the other process' % t.__name__)

    def lend(self, v):
        rid = self.lent_ids.get(id(v))
        if rid is None:
            rid = self.next_ref
            self.next_ref += 1
            self.lent[rid] = v
            self.lent_ids[id(v)] = rid
        return {'$ref': rid}

    # ---- decoding

    def decode(self, x):
        try:
            return self._decode(x, 0)
        except (WireError, Gone, MemoryError):
            raise
        except Exception as e:
            raise WireError('malformed value: %s: %s' % (type(e).__name__, e))

    def _decode(self, x, d):
        t = type(x)
        if x is None or t is str or t is int or t is float or t is bool:
            return x
        if d > WIRE_DEPTH:
            raise WireError('value nested too deeply')
        if t is list:
            return [self._decode(v, d + 1) for v in x]
        if t is not dict or len(x) != 1:
            raise WireError('expected a tagged value')
        ((tag, arg),) = x.items()
        f = DECODERS.get(tag)
        if f is None:
            raise WireError('unknown tag %r' % (tag,))
        return f(self, arg, d + 1)

    def items(self, arg, d):
        if type(arg) is not list:
            raise WireError('expected a list')
        return [self._decode(v, d) for v in arg]

    def pairs(self, arg, d):
        if type(arg) is not list or not all(type(p) is list and len(p) == 2 for p in arg):
            raise WireError('expected key/value pairs')
        return [(self._decode(k, d), self._decode(v, d)) for k, v in arg]

    def proxy(self, rid):
        if type(rid) is not int:
            raise WireError('bad reference')
        p = self.proxies.get(rid)
        if p is None:
            p = self.proxy_class(self, rid)
            self.proxies[rid] = p
        return p

    def back(self, rid):
        if type(rid) is not int or rid not in self.lent:
            raise WireError('unknown reference %r' % (rid,))
        return self.lent[rid]

    def namedtuple(self, name, fields):
        key = (name, tuple(fields))
        cls = self.namedtuples.get(key)
        if cls is None:
            if type(name) is not str or not all(type(f) is str for f in fields) or len(self.namedtuples) > 1000:
                raise WireError('bad named tuple')
            cls = collections.namedtuple(name, fields, module='scrl_wire')
            self.namedtuples[key] = cls
        return cls


def _ints(arg, n):
    if type(arg) is not list or len(arg) != n or not all(type(v) is int for v in arg):
        raise WireError('expected %d integers' % n)
    return arg


def _dec_tz(c, x, d):
    if x is None:
        return None
    import datetime
    if type(x) is dict and list(x) == ['$tz'] and type(x['$tz']) is list and len(x['$tz']) == 2:
        offset = c._decode(x['$tz'][0], d)
        name = x['$tz'][1]
        if type(offset) is not datetime.timedelta or (name is not None and type(name) is not str):
            raise WireError('bad time zone')
        return datetime.timezone(offset) if name is None else datetime.timezone(offset, name)
    if type(x) is dict and list(x) == ['$zi'] and type(x['$zi']) is str:
        import zoneinfo
        return zoneinfo.ZoneInfo(x['$zi'])
    raise WireError('bad time zone')


def _dec_datetime(c, a, d):
    import datetime
    if type(a) is not list or len(a) != 9:
        raise WireError('bad datetime')
    y, mo, dd, h, mi, s, us, fold = _ints(a[:8], 8)
    return datetime.datetime(y, mo, dd, h, mi, s, us, tzinfo=_dec_tz(c, a[8], d), fold=fold)


def _dec_time(c, a, d):
    import datetime
    if type(a) is not list or len(a) != 6:
        raise WireError('bad time')
    h, mi, s, us, fold = _ints(a[:5], 5)
    return datetime.time(h, mi, s, us, tzinfo=_dec_tz(c, a[5], d), fold=fold)


def _dec_date(c, a, d):
    import datetime
    return datetime.date(*_ints(a, 3))


def _dec_timedelta(c, a, d):
    import datetime
    days, seconds, micro = _ints(a, 3)
    return datetime.timedelta(days=days, seconds=seconds, microseconds=micro)


def _dec_struct_time(c, a, d):
    if type(a) is not list or len(a) != 3:
        raise WireError('bad struct_time')
    fields, zone, gmtoff = a
    _ints(fields, 9)
    if (zone is not None and type(zone) is not str) or (gmtoff is not None and type(gmtoff) is not int):
        raise WireError('bad struct_time')
    return time.struct_time(tuple(fields) + (zone, gmtoff))


def _descr(x):
    """A numpy dtype description back from JSON (where its tuples became lists)."""
    if type(x) is str:
        return x
    if type(x) is not list:
        raise WireError('bad dtype')
    fields = []
    for f in x:
        if type(f) is not list or len(f) not in (2, 3):
            raise WireError('bad dtype field')
        name = tuple(f[0]) if type(f[0]) is list else f[0]
        entry = (name, _descr(f[1]))
        if len(f) == 3:
            entry += (tuple(_ints(f[2], len(f[2])) if type(f[2]) is list else f[2]),)
        fields.append(entry)
    return fields


def _dtype(c, descr):
    numpy = c.import_module('numpy')
    dt = numpy.lib.format.descr_to_dtype(_descr(descr))
    if dt.hasobject:
        raise WireError('object dtypes travel element by element')
    return numpy, dt


def _dec_ndarray(c, a, d):
    if type(a) is not list or len(a) != 3 or type(a[1]) is not list:
        raise WireError('bad array')
    numpy, dt = _dtype(c, a[0])
    shape = tuple(_ints(a[1], len(a[1])))
    data = unb64(a[2])
    if dt.itemsize == 0 or len(data) == 0:
        if len(data) != 0:
            raise WireError('bad array')
        return numpy.zeros(shape, dtype=dt)
    return numpy.frombuffer(data, dtype=dt).reshape(shape).copy()


def _dec_ndarray_objects(c, a, d):
    if type(a) is not list or len(a) != 2 or type(a[0]) is not list:
        raise WireError('bad array')
    numpy = c.import_module('numpy')
    shape = tuple(_ints(a[0], len(a[0])))
    values = c.items(a[1], d)
    arr = numpy.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        arr[i] = v
    return arr.reshape(shape)


def _dec_npscalar(c, a, d):
    if type(a) is not list or len(a) != 2:
        raise WireError('bad numpy scalar')
    numpy, dt = _dtype(c, a[0])
    data = unb64(a[1])
    if len(data) != dt.itemsize or dt.itemsize == 0:
        raise WireError('bad numpy scalar')
    return numpy.frombuffer(data, dtype=dt)[0]


def _dec_path(c, a, d):
    if type(a) is not list or len(a) != 2 or a[0] not in ('PurePath', 'PurePosixPath', 'PosixPath', 'Path') or type(a[1]) is not str:
        raise WireError('bad path')
    import pathlib
    return getattr(pathlib, a[0])(a[1])


def _dec_module(c, name, d):
    return c.import_module(name)


def _dec_library(c, a, d):
    if type(a) is not list or len(a) != 2 or type(a[1]) is not str:
        raise WireError('bad library name')
    module, qualname = a
    if c.library_modules is not None and (type(module) is not str or module.split('.')[0] not in c.library_modules):
        raise WireError('functions of %r are not taken by name' % (module,))
    if module == 'builtins' and qualname in DENIED_BUILTINS:
        raise WireError('builtins.%s is not sent by name' % qualname)
    target = c.import_module(module)
    for part in qualname.split('.'):
        if not part or part.startswith('_'):
            raise WireError('bad library name')
        target = getattr(target, part)
    if not isinstance(target, (type, types.FunctionType, types.BuiltinFunctionType)):
        raise WireError('%s.%s is not a function or a class' % (module, qualname))
    return target


def _dec_counter(c, a, d):
    counter = collections.Counter()
    dict.update(counter, c.pairs(a, d))
    return counter


def _dec_defaultdict(c, a, d):
    if type(a) is not list or len(a) != 2:
        raise WireError('bad defaultdict')
    return collections.defaultdict(c._decode(a[0], d), c.pairs(a[1], d))


def _dec_deque(c, a, d):
    if type(a) is not list or len(a) != 2 or (a[1] is not None and type(a[1]) is not int):
        raise WireError('bad deque')
    return collections.deque(c.items(a[0], d), a[1])


def _dec_namedtuple(c, a, d):
    if type(a) is not list or len(a) != 3 or type(a[1]) is not list:
        raise WireError('bad named tuple')
    return c.namedtuple(a[0], a[1])(*c.items(a[2], d))


def _dec_complex(c, a, d):
    if type(a) is not list or len(a) != 2 or not all(type(v) in (int, float) for v in a):
        raise WireError('bad complex')
    return complex(float(a[0]), float(a[1]))


def _dec_fraction(c, a, d):
    n, den = _ints(a, 2)
    return fractions.Fraction(n, den)


def _dec_decimal(c, a, d):
    if type(a) is not str:
        raise WireError('bad decimal')
    return decimal.Decimal(a)


DECODERS = {
    '$t': lambda c, a, d: tuple(c.items(a, d)),
    '$d': lambda c, a, d: dict(c.pairs(a, d)),
    '$s': lambda c, a, d: set(c.items(a, d)),
    '$f': lambda c, a, d: frozenset(c.items(a, d)),
    '$b': lambda c, a, d: unb64(a),
    '$ba': lambda c, a, d: bytearray(unb64(a)),
    '$c': _dec_complex,
    '$r': lambda c, a, d: range(*_ints(a, 3)),
    '$sl': lambda c, a, d: slice(*c.items(a, d)) if type(a) is list and len(a) == 3 else _bad('slice'),
    '$E': lambda c, a, d: Ellipsis,
    '$od': lambda c, a, d: collections.OrderedDict(c.pairs(a, d)),
    '$ctr': _dec_counter,
    '$dd': _dec_defaultdict,
    '$dq': _dec_deque,
    '$nt': _dec_namedtuple,
    '$dec': _dec_decimal,
    '$fr': _dec_fraction,
    '$date': _dec_date,
    '$dtm': _dec_datetime,
    '$time': _dec_time,
    '$td': _dec_timedelta,
    '$tz': lambda c, a, d: _dec_tz(c, {'$tz': a}, d),
    '$zi': lambda c, a, d: _dec_tz(c, {'$zi': a}, d),
    '$stm': _dec_struct_time,
    '$pp': _dec_path,
    '$nd': _dec_ndarray,
    '$ndo': _dec_ndarray_objects,
    '$ns': _dec_npscalar,
    '$mod': _dec_module,
    '$lib': _dec_library,
    '$ref': lambda c, a, d: c.proxy(a),
    '$back': lambda c, a, d: c.back(a),
}


def _bad(what):
    raise WireError('bad ' + what)


# Arguments the receiver may change in place; their new state travels back after a call.
MUTABLE_TYPES = (list, dict, set, bytearray, collections.OrderedDict, collections.Counter,
                 collections.defaultdict, collections.deque)


def is_mutable(v):
    if type(v) in MUTABLE_TYPES:
        return True
    numpy = sys.modules.get('numpy')
    return numpy is not None and type(v) is numpy.ndarray


def update_in_place(orig, new):
    """Gives a caller's argument the state the callee left its copy in (copy-in, copy-out)."""
    t = type(orig)
    if t is not type(new):
        return
    if t is list or t is bytearray:
        orig[:] = new
    elif t is collections.deque:
        orig.clear()
        orig.extend(new)
    elif t is set:
        orig.clear()
        orig.update(new)
    elif t in (dict, collections.OrderedDict, collections.Counter, collections.defaultdict):
        dict.clear(orig)
        dict.update(orig, new)
    else:   # numpy array
        if orig.shape == new.shape and orig.flags.writeable:
            orig[...] = new


def builtin_base(t):
    for c in t.__mro__:
        if c.__module__ == 'builtins' and getattr(builtins, c.__name__, None) is c:
            return c
    return BaseException


# ---------------------------------------------------------------- check tests: references and requests

class Proxy:
    """A reference to an object of the other process."""
    __slots__ = ('_codec', '_rid', '__weakref__')

    def __init__(self, codec, rid):
        object.__setattr__(self, '_codec', codec)
        object.__setattr__(self, '_rid', rid)

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


# ---------------------------------------------------------------- check tests: the program's side

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


# ---------------------------------------------------------------- check tests: the checker

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


def run_child(job, code, call_entry, test_input, check=False):
    """Runs in the forked child; never returns. `check`: the program's side of a check test (run the
    program, then answer the checker's requests)."""
    status = 1
    try:
        stdin_style = job['style'] == 'stdin' and not check
        namespace = {'__name__': '__main__' if stdin_style else PROGRAM_NAME, '__builtins__': __builtins__}
        if not stdin_style:
            namespace.update(CALL_PRELUDE)
        exec(code, namespace)
        if check:
            serve_checker(namespace)
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


def place_fds(mapping):
    """In a freshly forked child: puts each source descriptor at its target number ({target: source};
    a source may be another target's number), then closes every descriptor above the highest target,
    the server's protocol pipes included."""
    moved = {target: fcntl.fcntl(source, fcntl.F_DUPFD, 500) for target, source in mapping.items()}
    for target, fd in moved.items():
        os.dup2(fd, target)
    os.closerange(max(mapping) + 1, 1 << 16)


def start_child(job, code, call_entry, test_input, limits, rpc=None):
    """Forks the program's child. `rpc` (check tests): the (read, write) ends of its channel to the
    checker, which it gets as descriptors 4 and 5."""
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
            mapping = {0: stdin_fd, 1: out_w, 2: err_w, RESULT_FD: res_w}
            if rpc is not None:
                mapping[RPC_READ], mapping[RPC_WRITE] = rpc
            place_fds(mapping)
            set_limits(limits)
        except BaseException:
            os._exit(120)
        run_child(job, code, call_entry, test_input, check=rpc is not None)
    for fd in (stdin_fd, out_w, err_w, res_w):
        os.close(fd)
    return pid, out_r, err_r, res_r


def start_checker(spec_buf, nonce, limits):
    """Forks a check test's checker, before the program's child exists: it holds nothing of the
    program's, and the program's child (forked after) none of its descriptors: its end of their
    channel, its output pipe and the verdict pipe. Returns the checker's pid, the server's ends of
    the verdict and output pipes, and the program's ends of the channel (read, write)."""
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
            set_limits(limits)
        except BaseException:
            os._exit(120)
        run_checker(spec_buf, nonce)
    for fd in (verdict_w, out_w, to_checker_r, to_program_w):
        os.close(fd)
    return pid, verdict_r, out_r, (to_program_r, to_checker_w)


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


# ---------------------------------------------------------------- the parent side of a check test

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
        pid, out_r, err_r, res_r = start_child(job, code, False, '', limits, rpc=rpc)
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
                buf = streams[fd]
                if len(buf) + len(chunk) > caps[fd]:
                    buf += chunk[:max(0, caps[fd] - len(buf))]
                    if fd != err_r:
                        outcome = 'output_limit'
                else:
                    buf += chunk
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


# ---------------------------------------------------------------- jobs

def run_job(job):
    """Runs a job's tests in order. The code of each check test (indexes in `checks`) follows the job
    as a frame of its own, read just before its test runs (see read_secret_frame)."""
    program = job['program']
    checks = set(job.get('checks') or ())
    unread = len(checks)
    try:
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
                    results.append(run_check_test(job, code, spec, job['limits']))
                finally:
                    wipe(spec)
            else:
                results.append(run_test(job, code, call_entry, test_input, job['limits']))
        for result in results:
            if '_check' in result:
                finalize_check(result)
        return {'compile_error': None, 'results': results}
    finally:
        while unread > 0:       # a job that ended early still consumes its check frames
            wipe(read_secret_frame())
            unread -= 1


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
    # Non-dumpable: the children (same uid) cannot ptrace us or open /proc/1/mem or /proc/1/fd.
    LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if not IN_SANDBOX:
        LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


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
