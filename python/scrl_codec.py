# Check tests, values on the wire. A check test runs in two processes that share no memory: the checker
# (C), which runs the test's code, and the program's child (P), which ran the program and answers C's
# requests. Both are forks of the fork server; everything P does is untrusted, so C trusts nothing P
# says beyond "this is the value": values cross as JSON built from exact types and are decoded on the
# other side into fresh objects of exact builtin, standard-library or numpy types (never a class the
# program defined, never an object whose methods the program wrote). What cannot cross by value crosses
# by reference: the receiver gets a proxy (scrl_proxies), and every use of the proxy is a request to the
# process that owns the object. C's proxies of P's objects only fetch data (call, iterate, index,
# length, attributes, str, truth); they compare and hash by identity, so an `__eq__` that always says
# yes never runs where the verdict is decided. P's proxies of C's objects (a file, a Mock or an
# instance of a class the test defines, passed to the program) allow only their public attributes, on
# an allow-list of types.
#
# Loaded only by fork servers that receive check tests (see forkserver.load_check_machinery).

import base64
import builtins
import collections
import decimal
import fractions
import re
import sys
import time
import types

from scrl_program_env import PROGRAM_NAME

WIRE_DEPTH = 200             # nesting of one value
CHECK_MODULE = '__check__'   # __name__ of the checker's namespace: classes and functions the test defines
MISSING = object()


class Gone(BaseException):
    """The other process of a check test is gone or broke the protocol. A BaseException, so that a
    test's `except Exception:` cannot swallow it (and the checker remembers it happened anyway)."""

    def __init__(self, why, limit=None):
        super().__init__(why)
        self.limit = limit


class WireError(Exception):
    """A malformed message or value."""


class Reference:
    """A reference to an object of the other process: the base of the proxies in scrl_proxies. A
    reference of this codec's channel goes back as `$back`."""
    __slots__ = ('_codec', '_rid', '__weakref__')

    def __init__(self, codec, rid):
        object.__setattr__(self, '_codec', codec)
        object.__setattr__(self, '_rid', rid)


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
        if isinstance(v, Reference):
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

