"""The namespace a PoT program runs in, and how its answer is read (sandbox worker side).

    from mathdistill.execution import namespace
    namespace.build()                      # once per worker: imports SymPy, builds proxies
    g = namespace.fresh_globals()          # per program
    exec(code, g); namespace.answer(g, source)   # -> (value, error, detail)

The namespace is SIKeD's prefix: `from math import *`, SymPy `Symbol, Eq, solve, symbols,
simplify` and `solve_it(eq, var)`, with restricted builtins (no `open`, `eval`, `getattr`,
`type`, `__build_class__`...; `print` is a no-op) and an `__import__` that hands out a fresh
proxy module holding only the public, non-module names of `policy.ALLOWED_MODULES` (SymPy:
`policy.MODULE_NAMES["sympy"]`), so programs cannot reach `sys`/`os` through a module
attribute or change a module for later programs. SymPy's string parser is replaced by one
that only lets numbers, operators and harmless names reach SymPy's `eval`.

Answer convention: the variable `answer`, else `ans`, else the last variable assigned at
module level in source order (`x = ...`, `x += ...`, `for x in`, `x := ...`), else the
result of calling a function `solution()` the program defines (PAL style). The value must
be an int, float, Fraction, Decimal or real SymPy number, or a list/tuple/dict holding
exactly one of them; it is returned as a finite float, anything else is `no_answer`.
This module is imported only by worker processes (and by tests, for `last_assigned`).
"""

from __future__ import annotations

import ast
import builtins
import decimal
import math
import re
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
    if level or name not in _PROXIES:
        guard._deny(f"import of {name!r} is not allowed")
    mod = ModuleType(name)  # a fresh copy per import: programs cannot affect each other
    mod.__dict__.update(_PROXIES[name])
    if name == "decimal":
        _flags["decimal"] = True
        # DefaultContext & co. are shared and mutable (`DefaultContext.traps[...] = False`
        # would change every later Context()): each import gets copies
        mod.__dict__.update({n: v.copy() for n, v in _PROXIES[name].items()
                             if isinstance(v, decimal.Context)})
    return mod


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
_TEMPLATE: dict = {}
_flags = {"decimal": False}
_SYMPY = None


def _public(name: str, module) -> dict:
    """The names a proxy of `module` exposes: a fixed list, or its own public names."""
    names = policy.MODULE_NAMES.get(name)
    if names is not None:
        return {n: getattr(module, n) for n in names}
    own = (name, "_" + name)  # e.g. decimal.Decimal.__module__ == "decimal", "_decimal" in C
    return {n: v for n, v in vars(module).items() if not n.startswith("_")
            and not isinstance(v, ModuleType)
            and (not callable(v) or getattr(v, "__module__", name) in own)}


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
    global _SYMPY
    import cmath
    import functools
    import itertools
    import statistics

    import sympy

    _SYMPY = sympy
    mods = {"math": math, "cmath": cmath, "fractions": sys.modules["fractions"],
            "decimal": decimal, "statistics": statistics, "itertools": itertools,
            "functools": functools, "sympy": sympy}
    assert set(mods) == set(policy.ALLOWED_MODULES)
    for name, mod in mods.items():
        _PROXIES[name] = _public(name, mod)
        policy.register_module_names(name, _PROXIES[name])
    safe = {n: getattr(builtins, n) for n in _SAFE_BUILTIN_NAMES}
    safe.update(print=_print, __import__=_safe_import)
    _TEMPLATE.update(_PROXIES["math"])  # from math import *
    for n in ("Symbol", "Eq", "solve", "symbols", "simplify"):
        _TEMPLATE[n] = getattr(sympy, n)
    _TEMPLATE.update(solve_it=solve_it, __builtins__=safe, __name__="__program__")
    _patch_sympy_parser(sympy)


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
            guard._deny("SymPy may only parse short strings")
        pos = 0
        while pos < len(s):
            m = _TOKEN.match(s, pos)
            if m is None:
                guard._deny(f"SymPy may not parse the character {s[pos]!r} in a string")
            tok = m.group()
            if tok[0].isalpha() and (keyword.iskeyword(tok) or
                                     (tok in known and tok not in _PARSE_OK)):
                guard._deny(f"SymPy may not parse the name {tok!r} in a string")
            pos = m.end()
        STATE.parse_depth += 1
        try:
            return original(s, *args, **kwargs)
        finally:
            STATE.parse_depth -= 1

    for mod in list(sys.modules.values()):  # every module that bound the original
        if getattr(mod, "parse_expr", None) is original:
            mod.parse_expr = parse_expr


# ---- reading the answer ---------------------------------------------------------------------

def detail(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"[:DETAIL_CHARS]


def number(value, name: str):
    kind = type(value)
    if kind in (list, tuple) and len(value) == 1:
        value = value[0]
    elif kind is dict and len(value) == 1:
        value = next(iter(value.values()))
    kind = type(value)
    try:
        numeric = kind in (int, float, Fraction, decimal.Decimal) or (
            isinstance(value, _SYMPY.Expr) and value.is_number)
        if numeric:
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
    STATE.filename = _FILENAME
    try:
        tree = compile(source, _FILENAME, "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    finally:
        STATE.filename = None
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


def fresh_globals() -> dict:
    """A new globals dict for one program (a shallow copy of the template)."""
    return _TEMPLATE.copy()


def after_program() -> None:
    """Undo what a program may change outside its globals (the decimal context)."""
    if _flags["decimal"]:
        decimal.setcontext(decimal.Context())
        _flags["decimal"] = False
