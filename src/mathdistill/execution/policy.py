"""What an untrusted PoT program may use: the static checks the sandbox worker runs.

    from mathdistill.execution.policy import check_code
    code = compile(source, "<program>", "exec", dont_inherit=True)
    problem = check_code(code)      # None, or why the program is forbidden

The check looks at the compiled code object (and every nested one), not at the source
text, so it costs about a microsecond on top of `compile`:
- every name the bytecode loads, stores or reads as an attribute (`co_names`) must not
  start with an underscore (`_` alone is fine) nor be in `FORBIDDEN_ATTRIBUTES`: this
  rejects dunder tricks (`().__class__`, `__import__`, `__builtins__`) and frame walking
  (`gi_frame`, `f_back`, `f_globals`); names of `UNAVAILABLE_NAMES` (`eval`, `open`,
  `getattr`, `type`, ...: absent from the program's builtins anyway) are rejected unless
  the program assigns that name itself (`type = "red"` is a variable, not the builtin);
- no attribute assignment/deletion (`obj.x = ...`, programs must not mutate shared
  objects such as modules or SymPy classes), no `class` statements (metaclass tricks), no
  `match` class patterns (they read attributes by name from a constant);
- imports only of `ALLOWED_MODULES` (the one list of what a program may import), absolute,
  and `from m import n` only of the names the module's proxy holds (what the worker
  registered from `ALLOWED_MODULES` / `HIDDEN`).
This first layer keeps programs to plain computation and from changing state that later
programs in the same worker would see; it gives a clear `forbidden`. It is not what keeps
the host safe: the OS layers are (`isolation`; see `mathdistill.execution`).
"""

from __future__ import annotations

import dis
from types import CodeType

MAX_CHARS = 100_000  # longer programs are rejected as `forbidden` before compiling

# THE list of modules a program may import, and what each shows (`import m`,
# `from m import n`; every import gets a fresh proxy module, so programs cannot change a
# module for later programs). None: the module's public names (numpy, sympy: its
# `__all__`), less `HIDDEN`; a tuple: exactly these names. Submodules are not reachable
# unless listed here (`numpy.linalg`, also as the attribute `np.linalg`).
ALLOWED_MODULES: dict[str, tuple[str, ...] | None] = {
    "math": None, "cmath": None, "fractions": ("Fraction", "gcd"), "decimal": None,
    "statistics": None, "numbers": None, "itertools": None, "collections": None,
    "functools": ("reduce", "lru_cache", "cache", "partial", "cmp_to_key", "total_ordering"),
    "operator": None, "heapq": None, "bisect": None, "datetime": None, "calendar": None,
    "re": None, "string": None, "typing": ("Any", "Dict", "List", "Optional", "Set", "Tuple",
                                           "Union"),
    "numpy": None, "numpy.linalg": None, "sympy": None, "sympy.abc": None, "sympy.solvers": None,
}
# Public names withheld from a proxy: file I/O, code generation/execution, printing
# helpers that start programs, global state that would leak into later programs.
HIDDEN = {
    "numpy": ("save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt",
              "fromfile", "fromregex", "memmap", "DataSource", "ctypeslib", "lib", "testing",
              "f2py", "test", "info", "show_config", "show_runtime", "seterr", "seterrcall",
              "setbufsize", "set_printoptions", "printoptions"),
    "sympy": ("lambdify", "preview", "init_session", "init_printing", "var", "test", "doctest",
              "pager_print", "plot", "plot_implicit", "plot_parametric", "plot_backends",
              "plotting", "textplot", "cacheit", "interactive", "utilities", "external",
              "parsing"),
    "operator": ("attrgetter", "methodcaller"),  # read attributes by a name given as a string
    "string": ("Formatter", "Template"),  # Formatter.get_field reads attributes by name
    "calendar": ("main", "setfirstweekday"),
}
# Not in the program's builtins at all; named here for a clear `forbidden` error. A program
# may still use such a name for its own variable (`type = "red"`, `property = 3`).
UNAVAILABLE_NAMES = frozenset({
    # builtins that execute code, reach objects by name, touch files or the interpreter
    "eval", "exec", "compile", "open", "input", "breakpoint", "help", "exit", "quit",
    "globals", "locals", "vars", "dir", "getattr", "setattr", "delattr", "hasattr",
    "type", "object", "super", "classmethod", "staticmethod", "property", "memoryview",
    "BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit",
    # SymPy entry points that turn strings or expressions into Python code
    "parse_expr", "lambdify",
})
# Attributes that lead out of the sandbox: never allowed, as names or attributes.
FORBIDDEN_ATTRIBUTES = frozenset({
    # frame / code / traceback attributes (reach other scopes' globals and builtins)
    "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "cr_frame", "cr_code", "cr_await",
    "cr_origin", "ag_frame", "ag_code", "ag_await", "f_back", "f_builtins", "f_code",
    "f_globals", "f_locals", "f_trace", "f_lasti", "f_lineno", "tb_frame", "tb_next",
    "co_code", "co_consts", "co_names", "func_globals", "mro", "with_traceback",
    # mutable class-level SymPy state shared by every program in a worker
    "default_assumptions",
})
FORBIDDEN_NAMES = UNAVAILABLE_NAMES | FORBIDDEN_ATTRIBUTES

_OP = dis.opmap
_BAD_OPS = {
    _OP["STORE_ATTR"]: "attribute assignment is not allowed",
    _OP["DELETE_ATTR"]: "attribute deletion is not allowed",
    _OP["LOAD_BUILD_CLASS"]: "class definitions are not allowed",
    _OP["MATCH_CLASS"]: "match class patterns are not allowed",
}
_IMPORT_NAME = _OP["IMPORT_NAME"]
_IMPORT_FROM = _OP["IMPORT_FROM"]

_allowed_names = {m: frozenset(names) for m, names in ALLOWED_MODULES.items() if names}


def register_module_names(module: str, names) -> None:
    """Record which names `from module import ...` may take (the worker calls this)."""
    _allowed_names[module] = frozenset(names)


def check_name(name: str) -> str | None:
    if name in FORBIDDEN_NAMES:
        return f"use of {name!r} is not allowed"
    if name[:1] == "_" and name != "_":
        return f"names starting with an underscore are not allowed: {name!r}"
    return None


def _codes(code: CodeType):
    stack = [code]
    while stack:
        c = stack.pop()
        yield c
        stack.extend(k for k in c.co_consts if isinstance(k, CodeType))


_STORES = frozenset(_OP[n] for n in ("STORE_NAME", "STORE_GLOBAL", "STORE_FAST", "STORE_DEREF"))


def _assigned(code: CodeType) -> set[str]:
    """Every variable name the program assigns or takes as a parameter (slow path only)."""
    names = set()
    for c in _codes(code):
        names.update(c.co_varnames, c.co_cellvars)
        names.update(i.argval for i in dis.get_instructions(c) if i.opcode in _STORES)
    return names


def _check_imports(code: CodeType) -> str | None:
    module, consts = None, [None, None]  # the two constants before IMPORT_NAME: level, fromlist
    for ins in dis.get_instructions(code):
        if ins.opcode == _IMPORT_NAME:
            module = ins.argval
            if consts[-2] != 0:
                return "relative imports are not allowed"
            if module not in ALLOWED_MODULES:
                return f"import of {module!r} is not allowed"
        elif ins.opcode == _IMPORT_FROM:
            names = _allowed_names.get(module)
            if names is not None and ins.argval not in names:
                return f"cannot import {ins.argval!r} from {module!r}"
        elif ins.opname == "LOAD_CONST":
            consts = [consts[-1], ins.argval]
    return None


def check_code(code: CodeType) -> str | None:
    """Return why `code` (a compiled program) is forbidden, or None if it may run."""
    unavailable = []  # builtin names used: fine only if they are the program's own variables
    for c in _codes(code):
        for name in c.co_names:
            if name in UNAVAILABLE_NAMES:
                unavailable.append(name)
                continue
            problem = check_name(name)
            if problem:
                return problem
        ops = c.co_code[::2]  # one opcode per 2-byte code unit (3.11+: caches are opcode 0)
        for op, why in _BAD_OPS.items():
            if op in ops:
                return why
        if _IMPORT_NAME in ops:
            problem = _check_imports(c)
            if problem:
                return problem
    if unavailable:
        assigned = _assigned(code)
        for name in unavailable:
            if name not in assigned:
                return check_name(name)
    return None
