"""The namespace a PoT program runs in, and how its answer is read (sandbox worker side).

    from mathdistill.execution import namespace
    namespace.build()                      # once per worker: imports SymPy, builds proxies
    g = namespace.fresh_globals()          # per program
    exec(code, g); namespace.answer(g, source)   # -> (value, error, detail)

The namespace is SIKeD's prefix: `from math import *`, SymPy `Symbol, Eq, solve, symbols,
simplify` and `solve_it(eq, var)`, plus the module `math` (PoT/PAL executors have it in
their globals), with restricted builtins (no `open`, `eval`, `getattr`, `type`,
`__build_class__`...; `print` is a no-op) and an `__import__` that hands out a fresh proxy
module holding what `policy.ALLOWED_MODULES` lists (public, non-module names less
`policy.HIDDEN`; listed submodules such as `numpy.linalg` as nested proxies), so programs
cannot reach `sys`/`os` through a module attribute or change a module for later programs.
SymPy's string parser is replaced by one that only lets numbers, operators and harmless
names reach SymPy's `eval` (`sympify("__import__('os')")` is `forbidden`).

Answer convention: the variable `answer`, else `ans`, else the last variable assigned at
module level in source order (`x = ...`, `x += ...`, `for x in`, `x := ...`), else the
result of calling a function `solution()` the program defines (PAL style). The value must
be an int, float, Fraction, Decimal, numpy integer/float or real SymPy number; of a
list/tuple/dict/numpy array the first element (value) counts, as in the PoT and XoT
executors (`return a, b` answers `a`). It is returned as a finite float; anything else
(a string, a bool, a symbol, nan) is `no_answer`.
This module is imported only by worker processes (and by tests, for `last_assigned`).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import decimal
import math
import os
import re
import shutil
import sys
from fractions import Fraction
from types import FunctionType, ModuleType

from mathdistill.execution import guard, policy
from mathdistill.execution.guard import STATE

DETAIL_CHARS = 300
_FILENAME = guard.PROGRAM_FILE


def _print(*args, **kwargs):  # output is discarded: printing costs nothing and leaks nothing
    return None


def _safe_import(name, globals=None, locals=None, fromlist=(), level=0):
    if type(fromlist) is list:
        # C code of a library (PyImport_Import: numpy's `tofile` imports `os`) looks
        # `__import__` up in the running program's builtins and passes an empty list; the
        # module goes to that C code, not to the program (which cannot pass a list: the
        # name `__import__` is forbidden), so it gets the real import (still audited)
        return _real_import(name, globals, locals, fromlist, level)
    if level or name not in _PROXIES:
        guard.deny(f"import of {name!r} is not allowed")
    if not fromlist:  # `import numpy.linalg` binds `numpy`
        name = name.partition(".")[0]
    mod = _proxy(name)
    if name == "decimal":
        _flags["decimal"] = True
    return mod


def _proxy(name: str) -> ModuleType:
    """A fresh module holding the proxy names of `name` (submodules: fresh proxies too)."""
    mod = ModuleType(name)  # a fresh copy per import: programs cannot affect each other
    mod.__dict__.update(_PROXIES[name])
    for sub in _SUBMODULES.get(name, ()):
        setattr(mod, sub, _proxy(f"{name}.{sub}"))
    if name == "decimal":
        # DefaultContext & co. are shared and mutable (`DefaultContext.traps[...] = False`
        # would change every later Context()): each import gets copies
        mod.__dict__.update({n: v.copy() for n, v in _PROXIES[name].items()
                             if isinstance(v, decimal.Context)})
    return mod


_real_import = builtins.__import__
_SAFE_BUILTIN_NAMES = [
    "abs", "all", "any", "ascii", "bin", "bool", "callable", "chr", "complex", "dict",
    "divmod", "enumerate", "filter", "float", "format", "frozenset", "hash", "hex", "id", "int",
    "isinstance", "issubclass", "iter", "len", "list", "map", "max", "min", "next", "oct",
    "ord", "pow", "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum",
    "tuple", "zip", "True", "False", "None", "Ellipsis", "NotImplemented",
    # Exception subclasses only: programs must not be able to catch Timeout/Forbidden
    "Exception", "ArithmeticError", "AssertionError", "AttributeError", "ImportError",
    "IndexError", "KeyError", "LookupError", "MemoryError", "NameError", "NotImplementedError",
    "OverflowError", "RecursionError", "RuntimeError", "StopIteration", "TypeError",
    "ValueError", "ZeroDivisionError",
]
_PROXIES: dict[str, dict] = {}
_SUBMODULES: dict[str, tuple[str, ...]] = {}  # "numpy" -> ("linalg",)
_TEMPLATE: dict = {}
_flags = {"decimal": False}
_SYMPY = None
_NUMPY = None  # set by build(): numpy scalars and 1-element arrays are numbers


def _public(name: str, module) -> dict:
    """The names a proxy of `module` exposes (`policy.ALLOWED_MODULES`, `policy.HIDDEN`)."""
    names = policy.ALLOWED_MODULES[name]
    hidden = set(policy.HIDDEN.get(name, ()))
    if names is not None:
        return {n: getattr(module, n) for n in names if hasattr(module, n)}
    if hasattr(module, "__all__") and name.partition(".")[0] in ("numpy", "sympy"):
        candidates = {n: getattr(module, n) for n in module.__all__ if hasattr(module, n)}
        own = None  # a package's __all__ re-exports its submodules' functions on purpose
    else:
        candidates = vars(module)
        own = (name, "_" + name)  # e.g. decimal.Decimal.__module__ == "decimal" ("_decimal")
    return {n: v for n, v in candidates.items() if not n.startswith("_") and n not in hidden
            and not isinstance(v, ModuleType)
            and (own is None or not callable(v) or getattr(v, "__module__", name) in own)}


def solve_it(equation, variable):
    """SIKeD's helper: the first solution as a dict {var: value}, or {var: None}."""
    solution = _SYMPY.solve(equation, variable, dict=True)
    if not solution:
        if isinstance(variable, list):
            return {v: None for v in variable}
        return {variable: None}
    return solution[0]


def build() -> None:
    """Import the allowed modules and build the proxies and the globals template (once)."""
    global _SYMPY, _NUMPY
    import importlib

    for name in policy.ALLOWED_MODULES:
        mod = importlib.import_module(name)
        _PROXIES[name] = _public(name, mod)
        parent, _, sub = name.rpartition(".")
        if parent:
            _SUBMODULES[parent] = (*_SUBMODULES.get(parent, ()), sub)
    for name, subs in _SUBMODULES.items():
        for sub in subs:
            _PROXIES[name].pop(sub, None)  # the attribute is set per import (fresh proxy)
    for name in policy.ALLOWED_MODULES:
        policy.register_module_names(name, [*_PROXIES[name], *_SUBMODULES.get(name, ())])
    sympy = _SYMPY = sys.modules["sympy"]
    _NUMPY = sys.modules["numpy"]
    safe = {n: getattr(builtins, n) for n in _SAFE_BUILTIN_NAMES}
    safe.update(print=_print, __import__=_safe_import)
    _TEMPLATE.update(_PROXIES["math"])  # from math import *
    for n in ("Symbol", "Eq", "solve", "symbols", "simplify"):
        _TEMPLATE[n] = getattr(sympy, n)
    # `math` itself: one proxy shared by all programs (they cannot assign attributes)
    _TEMPLATE.update(math=_proxy("math"), solve_it=solve_it, __builtins__=safe,
                     __name__="__program__")
    _patch_sympy_parser(sympy)


def fresh_globals() -> dict:
    """A new globals dict for one program (a shallow copy of the template)."""
    return _TEMPLATE.copy()


# SymPy turns strings into expressions with `eval` (sympify, solve("x-1"), x.subs("y", 1), and
# internally nsimplify on floats). Strings may only hold numbers, operators and names that are
# either whitelisted functions or unknown to SymPy/builtins (they become Symbols).
_TOKEN = re.compile(r"\s+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?"
                    r"|[A-Za-z][A-Za-z0-9]*|\*\*|[-+*/^(),]")
_PARSE_OK = frozenset([
    "sqrt", "cbrt", "root", "exp", "log", "pi", "E", "I", "oo", "zoo", "nan", "Rational",
    "Integer", "Float", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "Abs", "floor", "ceiling", "factorial", "binomial", "gamma", "Min", "Max",
])


def _patch_sympy_parser(sympy) -> None:
    import keyword

    from sympy.parsing import sympy_parser

    original = sympy_parser.parse_expr
    known = set(dir(sympy)) | set(dir(builtins))

    def parse_expr(s, *args, **kwargs):
        if not isinstance(s, str) or len(s) > 2000:
            guard.deny("SymPy may only parse short strings")
        pos = 0
        while pos < len(s):
            m = _TOKEN.match(s, pos)
            if m is None:
                guard.deny(f"SymPy may not parse the character {s[pos]!r} in a string")
            tok = m.group()
            if tok[0].isalpha() and (keyword.iskeyword(tok) or
                                     (tok in known and tok not in _PARSE_OK)):
                guard.deny(f"SymPy may not parse the name {tok!r} in a string")
            pos = m.end()
        return original(s, *args, **kwargs)

    for mod in list(sys.modules.values()):  # every module that bound the original
        if getattr(mod, "parse_expr", None) is original:
            mod.parse_expr = parse_expr


# ---- reading the answer ---------------------------------------------------------------------

def detail(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:DETAIL_CHARS]


def _first(value):
    """The first element of a list/tuple/dict(values)/numpy array, as the PoT and XoT
    executors read such answers (`return a, b` gives `a`); other values unchanged."""
    kind = type(value)
    if kind in (list, tuple) and value:
        return value[0]
    if kind is dict and value:
        return next(iter(value.values()))
    np = _NUMPY
    if np is not None and kind is np.ndarray and value.size:
        return value.flat[0]
    return value


def number(value, name: str):
    kind = type(value)
    if kind is not int and kind is not float:  # the common case needs no unpacking
        value = _first(value)
        kind = type(value)
    np = _NUMPY
    try:
        if kind in (int, float, Fraction, decimal.Decimal) or (
                np is not None and isinstance(value, (np.integer, np.floating))) or (
                isinstance(value, _SYMPY.Expr) and value.is_number):
            f = float(value)
        else:
            return (None, "no_answer", f"`{name}` is a {kind.__name__}, not a number")
    except (TypeError, ValueError, OverflowError, ArithmeticError) as e:
        return (None, "no_answer", f"`{name}` is not a real number ({detail(e)})")
    if not math.isfinite(f):
        return (None, "no_answer", f"`{name}` is {f}")
    return (f, None, "")


def last_assigned(source: str) -> str | None:
    """The variable assigned last (in source order) at module level, or None."""
    best, best_pos = None, (-1, -1)
    tree = compile(source, _FILENAME, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                             ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        targets = ()
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr, ast.For)):
            targets = (node.target,)
        for t in targets:
            names = [n.id for n in ast.walk(t) if isinstance(n, ast.Name)]
            pos = (node.lineno, node.col_offset)
            if names and pos >= best_pos:
                best, best_pos = names[-1], pos
        stack.extend(ast.iter_child_nodes(node))
    return best


def answer(g: dict, source: str):
    """(value, error, detail) of the program that ran in globals `g`."""
    for name in ("answer", "ans"):
        if name in g:
            return number(g[name], name)
    name = last_assigned(source)
    if name is not None and name in g:
        return number(g[name], name)
    sol = g.get("solution")
    if type(sol) is FunctionType and sol.__code__.co_argcount == 0:
        return number(sol(), "solution()")
    return (None, "no_answer", "no `answer`, `ans` or assigned variable")


def after_program() -> None:
    """Undo what a program may change outside its globals: the decimal context, files."""
    if _flags["decimal"]:
        decimal.setcontext(decimal.Context())
        _flags["decimal"] = False
    if STATE.dirty:
        wipe_tmpdir()


def wipe_tmpdir() -> None:
    """Empty the worker's private temp dir (something was opened for writing in it)."""
    STATE.dirty = False
    if STATE.tmpdir:
        for entry in os.scandir(STATE.tmpdir):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
