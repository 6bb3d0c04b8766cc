# What a program sees when it runs: the modules loaded before the fork (each forked child starts with
# them warm), the namespaces programs run in, and the APPS+ stdin entry convention. Shared by the
# judge's fork server and the bench's bare fork server, so that both run every program the same way.

import builtins
import os
import re
import sys


def import_without_fork_hooks(name):
    """Imports a module with `os.register_at_fork` switched off while it loads (see `random` below)."""
    if name in sys.modules:
        raise RuntimeError('%s was imported before its fork hooks could be left out' % name)
    register = os.register_at_fork
    os.register_at_fork = lambda **hooks: None
    try:
        return __import__(name)
    finally:
        os.register_at_fork = register


# `random` registers a reseed of its shared generator, in Python, to run in every forked child: ~50 µs
# of each test's ~1 ms. Without it every test starts from the same generator state, seeded here with a
# fixed value, as PYTHONHASHSEED=0 fixes str hashes: a program that draws from `random` draws the same
# numbers, and gets the same verdict, on every run (random.seed() and SystemRandom still use the system's).
random = import_without_fork_hooks('random')
random.seed(0)

# Modules that competitive and LeetCode-style programs import; loading them once in the server means
# each forked child starts with them warm instead of paying the import on every test.
import bisect, collections, copy, decimal, fractions, functools, heapq, itertools  # noqa: E401,F401
import math, operator, statistics, string, typing  # noqa: E401,F401

# LeetCode-style call problems assume these names are already imported (as its judge does). Not
# math's names: `from math import *` would shadow the builtin three-argument pow.
CALL_PRELUDE = {}
for module in (typing, collections, heapq, bisect, itertools, functools):
    CALL_PRELUDE.update({name: getattr(module, name) for name in dir(module) if not name.startswith('_')})
CALL_PRELUDE.update({m.__name__: m for m in (collections, heapq, bisect, itertools, functools, math,
                                              string, re, operator, random, copy)})

# __name__ of call-style programs and of the program's side of check tests: not '__main__', so a
# program's `if __name__ == "__main__":` block (which usually reads stdin) does not run, as in
# HumanEval's and APPS's own harnesses. stdin programs keep '__main__'.
PROGRAM_NAME = '__program__'

# The namespaces programs run in, built once here and never changed by the server: each child runs its
# program in its own copy-on-write copy instead of building one (copying the prelude's ~250 names into a
# fresh dict cost a call-style test about a hundred page faults).
STDIN_NAMESPACE = {'__name__': '__main__', '__builtins__': builtins}
CALL_NAMESPACE = {'__name__': PROGRAM_NAME, '__builtins__': builtins, **CALL_PRELUDE}


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
    return not program_calls(program, fn_name)


def program_calls(program, name):
    """True if the module calls `name` anywhere outside the body of `def name` itself."""
    import ast      # (rarely needed: see calls_entry)
    tree = ast.parse(program)
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            inside.update(id(n) for n in ast.walk(node))
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
               and id(node) not in inside for node in ast.walk(tree))
