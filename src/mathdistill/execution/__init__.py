"""Run untrusted model output: PoT programs and EoT equation systems, in a sandboxed pool.

    from mathdistill.execution import run_programs, solve_equations, Result
    run_programs(["price = 3\\nanswer = price * 4", "while True: pass"], timeout=1.0)
    # [Result(value=12.0, error=None, detail=''), Result(None, 'timeout', '...')]
    solve_equations(["a = 2\\nans = a * 3"])   # [Result(value=6.0, ...)]

Both use one lazily created pool of worker processes (as many as usable CPUs, or
$MATHDISTILL_SANDBOX_WORKERS; `configure(workers=..., memory_mb=...)` changes it; one per
process: a forked child gets its own), shut down at exit (`shutdown()` earlier). For an
explicit lifetime use `Sandbox` as a context manager. `timeout` is CPU seconds per program.
Error kinds: `timeout`, `memory`, `syntax`, `runtime`, `no_answer`, `forbidden` (and
`unsolvable` from the EoT solver).

What a program may do: plain Python computation (no `open`, `eval`, `exec`, `getattr`,
`type`, classes, attribute assignment, names starting with `_`), `print` (discarded), and
import the modules of `policy.ALLOWED_MODULES`, the one list: math, cmath, fractions,
decimal, statistics, numbers, itertools, collections, functools, operator, heapq, bisect,
datetime, calendar, re, string, typing, numpy (+ numpy.linalg) and sympy (+ sympy.abc,
sympy.solvers), each as a fresh
proxy of its public names less `policy.HIDDEN` (numpy's file I/O, `sympy.lambdify`,
`operator.attrgetter`, ...). SymPy may parse strings of numbers, operators and names
(`sympify("2*x + 1")`), never code. Its answer: `answer`, `ans`, the last assigned variable
or `solution()` (`.namespace`; the first element of a list/tuple, as PoT/XoT executors).
What it may not do, enforced by the OS whatever the program manages to run (`.isolation`;
the parent logs which layers are active, `Sandbox.isolation`): use more than `memory_mb`
of memory or `timeout` CPU seconds; start programs or processes (fork bombs fail); open
sockets or reach any network; read files outside the Python installation, its import
paths and system libraries; write, create or remove files outside its private temp dir
(emptied after a program that wrote there, removed with the worker); signal, trace or
change other processes. An attempt is `forbidden` (audit hook, static checks) or an
ordinary error of the program (`runtime`: the OS refused).

Where things are: the pool and its scheduling `.sandbox` (+ `.process`); the worker loop
and timer `.worker`; the program's namespace and the answer convention `.namespace`;
static checks and the allowed imports `.policy`; OS isolation `.isolation` (+ the seccomp
filter `.syscalls`) and the audit hook `.guard`; the EoT solver `.equations`.
"""

from __future__ import annotations

import atexit
import threading

from mathdistill.execution.result import ERRORS, Result
from mathdistill.execution.sandbox import Sandbox, SandboxError

__all__ = ["ERRORS", "Result", "Sandbox", "SandboxError", "configure", "get_pool",
           "run_programs", "shutdown", "solve_equations"]


def run_programs(programs: list[str], *, timeout: float = 5.0, memory_mb: int | None = None,
                 progress: bool = False) -> list[Result]:
    """Execute PoT programs in the shared sandbox pool; one Result per program, in order.

    `timeout` is CPU seconds per program; `memory_mb` the address-space limit of each worker
    (default 512; a different value restarts the shared pool with it)."""
    return get_pool(memory_mb).run_programs(programs, timeout=timeout, progress=progress)


def solve_equations(texts: list[str], *, timeout: float = 5.0,
                    progress: bool = False) -> list[Result]:
    """Solve EoT equation systems (`equations.solve_system`) in the shared sandbox pool."""
    return get_pool().solve_equations(texts, timeout=timeout, progress=progress)


_shared: Sandbox | None = None
_shared_lock = threading.Lock()
_defaults: dict = {}


def configure(**options) -> None:
    """Set the `Sandbox` options (workers, memory_mb, ...) of the shared pool (restarts it)."""
    global _shared
    with _shared_lock:
        _defaults.clear()
        _defaults.update(options)
        if _shared is not None:
            _shared.close()
            _shared = None


def get_pool(memory_mb: int | None = None) -> Sandbox:
    """The shared pool, created on first use (a different `memory_mb` replaces it)."""
    global _shared
    with _shared_lock:
        pool = _shared
        if pool is not None and (not pool.usable or
                                 (memory_mb is not None and pool.memory_mb != memory_mb)):
            pool.close()  # no-op in a forked child: the workers belong to the parent
            pool = None
        if pool is None:
            options = dict(_defaults)
            if memory_mb is not None:
                options["memory_mb"] = memory_mb
            pool = _shared = Sandbox(**options)
        return pool


def shutdown() -> None:
    """Stop the shared pool's workers (also runs at interpreter exit)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.close()
            _shared = None


atexit.register(shutdown)
