"""The sandbox worker process: runs untrusted PoT programs and EoT systems, one batch at a time.

Started by `mathdistill.execution.sandbox.Sandbox` as
`python -P -s -c "from mathdistill.execution.worker import main; main()" CONFIG_JSON`; never
import this in the main process for running programs. Protocol (newline-delimited JSON on
the worker's original stdin/stdout, which it moves to private descriptors; 0/1/2 become
/dev/null so programs cannot print into the protocol):
- worker -> parent, once: `{"ready": true, "pid": ..., "uid": ..., "netns": ..., ...}`
  (or `{"ready": false, "error": "..."}`);
- parent -> worker: `{"kind": "pot"|"eot", "timeout": seconds, "flush": seconds,
  "items": [[i, text], ...]}`;
- worker -> parent: `[[i, value|null, error|null, detail], ...]` for the next finished items,
  in order, at least every `flush` seconds while working (0: after every item) and at the
  end of a batch. The id of the item being run (-1 between items) is also stored in a
  shared 8-byte page (`progress_fd`), so the parent can tell which item hung.

Per program: `compile` (SyntaxError -> `syntax`), `policy.check_code` (-> `forbidden`),
`exec` in `namespace.fresh_globals()`, then `namespace.answer` (see there for the answer
convention). EoT: `solve_system(text)` from the configured module. Timeouts are CPU time,
via `setitimer(ITIMER_PROF)` armed per item (0.8 us per item, measured; `compile` alone is
~17 us), re-firing every `TICK_S` in case the program swallows the `Timeout`; the item is a
`timeout` once the timer fired, even if the program caught it. C-level work that never
returns to the interpreter is the parent's job (it kills the worker). After setup (imports,
warm-up programs that fill SymPy's and numpy's lazy state) `guard.harden` applies the OS
layers (`isolation`: uid, rlimits, Landlock with the private temp dir `tmpdir` of the
config, seccomp) and the audit hook; the ready message reports which are active.
"""

from __future__ import annotations

import json
import mmap
import os
import signal
import sys
import time

from mathdistill.execution import guard, namespace, policy
from mathdistill.execution.guard import STATE, Forbidden
from mathdistill.execution.namespace import DETAIL_CHARS, detail
from mathdistill.execution.result import ERRORS, Result

_FILENAME = guard.PROGRAM_FILE
TICK_S = 0.05  # re-fire interval of the CPU timer once a program is over its budget
FLUSH_S = 0.05  # send finished results at least this often during a batch


class Timeout(BaseException):
    """The program used up its CPU time (BaseException: `except Exception` cannot catch it)."""


_armed = False
_fired = False  # the timer fired for the current item (sticky: the item is a timeout)


def _on_sigprof(signum, frame):
    global _fired
    if _armed:
        _fired = True
        raise Timeout()


def _arm(timeout: float) -> None:
    global _armed, _fired
    _armed, _fired = True, False
    signal.setitimer(signal.ITIMER_PROF, max(timeout, 1e-3), TICK_S)


def _disarm() -> None:
    global _armed
    _armed = False
    signal.setitimer(signal.ITIMER_PROF, 0)


def _pot(source: str):
    try:
        code = compile(source, _FILENAME, "exec", dont_inherit=True)
    except SyntaxError as e:
        return (None, "syntax", f"line {e.lineno}: {e.msg}"[:DETAIL_CHARS])
    except (ValueError, OverflowError, RecursionError) as e:
        return (None, "syntax", detail(e))
    problem = policy.check_code(code)
    if problem:
        return (None, "forbidden", problem)
    g = namespace.fresh_globals()
    try:
        exec(code, g)  # noqa: S102  (the sandboxed program, in a worker process)
    except MemoryError as e:
        return (None, "memory", detail(e))
    except Exception as e:  # noqa: BLE001  (any error of the program is its result)
        return (None, "runtime", detail(e))
    try:
        return namespace.answer(g, source)
    finally:
        g.clear()


def _load_solver(spec: str):
    module, _, func = spec.partition(":")
    try:
        __import__(module)
        return getattr(sys.modules[module], func or "solve_system"), None
    except Exception as e:  # noqa: BLE001  (reported to the parent as solver_error)
        return None, f"cannot load {spec!r}: {detail(e)}"


_solver, _solver_error = None, "no equation solver configured"


def _eot(text: str):
    if _solver is None:
        return (None, "runtime", f"equation solver unavailable: {_solver_error}"[:DETAIL_CHARS])
    try:
        r = _solver(text)
    except MemoryError as e:
        return (None, "memory", detail(e))
    except Exception as e:  # noqa: BLE001  (any error of the program is its result)
        return (None, "runtime", detail(e))
    if not isinstance(r, Result) or (r.error is not None and r.error not in ERRORS):
        return (None, "runtime", f"solver returned {type(r).__name__}, not a Result")
    if r.error is not None or r.value is None:
        return (None, r.error or "no_answer", str(r.detail)[:DETAIL_CHARS])
    return namespace.number(r.value, "solution")


def run_item(kind: str, text, timeout: float):
    """Run one program/system under the CPU timer; return (value, error, detail)."""
    if not isinstance(text, str):
        return (None, "syntax", f"expected a string, got {type(text).__name__}")
    if len(text) > policy.MAX_CHARS:
        return (None, "forbidden", f"longer than {policy.MAX_CHARS} characters")
    STATE.violation = None
    try:
        _arm(timeout)
        try:
            res = _pot(text) if kind == "pot" else _eot(text)
        finally:
            _disarm()
    except Timeout:
        _disarm()
        res = (None, "timeout", f"more than {timeout:g} s of CPU time")
    except Forbidden as e:
        res = (None, "forbidden", str(e)[:DETAIL_CHARS])
    except MemoryError as e:
        res = (None, "memory", detail(e))
    except BaseException as e:  # noqa: BLE001  (anything a program raised past our handlers)
        res = (None, "runtime", detail(e))
    if STATE.violation is not None:  # sticky, even if the program caught Forbidden
        res = (None, "forbidden", STATE.violation[:DETAIL_CHARS])
    elif _fired and res[1] != "timeout":  # it caught its Timeout, but used up its time
        res = (None, "timeout", f"more than {timeout:g} s of CPU time (timeout caught)")
    namespace.after_program()
    return res


# ---- process setup and the message loop ---------------------------------------------------

PREWARM = [  # runs before hardening: lazy SymPy imports happen now (later they may be denied)
    ("x = Symbol('x')\nanswer = solve(Eq(3*x + 2, 11), x)[0]", 3.0),
    ("x = Symbol('x')\nanswer = solve_it(Eq(0.25*x + 1.5, 10), x)[x]", 34.0),
    ("x, y = symbols('x y')\nr = solve([Eq(x + y, 10), Eq(x - y, 2)], [x, y])\nanswer = r[x]",
     6.0),
    ("x = Symbol('x')\nanswer = simplify((x**2 - 1)/(x - 1)).subs(x, 3)", 4.0),
    ("from fractions import Fraction\nans = Fraction(1, 3) * 3", 1.0),
    ("import sympy\nt = sqrt(16) + floor(2.5) + sympy.Rational(1, 2)\nt += 0.5", 7.0),
    (("import numpy as np\nm = np.array([[2.0, 1.0], [1.0, 3.0]])\n"
     "answer = np.linalg.solve(m, np.array([3.0, 5.0]))[1] + np.sum(np.arange(3)) * 0"), 1.4),
    (("import datetime\nfrom collections import namedtuple, Counter\nP = namedtuple('P', 'x y')\n"
     "d = datetime.date(2024, 3, 1) - datetime.timedelta(days=1)\nanswer = d.day + P(1, 2).y"
     " + Counter('aab')['a']"), 33.0),
]
EOT_PREWARM = ("x = 2\nans = x * 3", "lost = x\nwon = lost + 8\nwon + lost = 22\nans = won",
               "a * b = 12\na + b = 7\nans = a")


def _send(fd: int, obj) -> None:
    data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def _setup(cfg: dict) -> dict:
    global _solver, _solver_error
    sys.dont_write_bytecode = True
    namespace.build()
    for source, expected in PREWARM:
        value, error, why = run_item("pot", source, 60.0)
        if error or abs(value - expected) > 1e-9:
            raise RuntimeError(f"prewarm program failed ({error}: {why}): {source!r}")
    if cfg.get("equations"):
        _solver, _solver_error = _load_solver(cfg["equations"])
        if _solver is not None:
            _, error, why = run_item("eot", EOT_PREWARM[0], 60.0)
            if error:
                _solver, _solver_error = None, f"prewarm failed: {error}: {why}"
            for text in EOT_PREWARM[1:]:  # fills SymPy's caches (speed only)
                run_item("eot", text, 60.0)
    roots = [os.path.dirname(os.path.dirname(os.path.dirname(__file__)))]  # src/
    info = guard.harden(memory_mb=cfg["memory_mb"], tmpdir=cfg.get("tmpdir"),
                        parent_pid=cfg.get("parent_pid"),
                        read_roots=roots + list(cfg.get("pythonpath", ())))
    info["solver_error"] = None if _solver else _solver_error
    return info


def main() -> None:
    cfg = json.loads(sys.argv[1])
    proto_in, proto_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1) if cfg.get("debug") else (0, 1, 2):
        os.dup2(null, fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGPROF, _on_sigprof)
    reader = os.fdopen(proto_in, "rb", buffering=1 << 16)
    progress = [-1]  # shared with the parent: the id of the item being run, -1 between items
    if cfg.get("progress_fd") is not None:
        shm = mmap.mmap(cfg["progress_fd"], 8)
        os.close(cfg["progress_fd"])
        progress = memoryview(shm).cast("q")
    try:
        info = _setup(cfg)
    except BaseException as e:  # noqa: BLE001  (reported to the parent)
        _send(proto_out, {"ready": False, "error": detail(e)})
        os._exit(2)
    _send(proto_out, {"ready": True, "pid": os.getpid(), **info})
    while True:
        line = reader.readline()
        if not line:
            os._exit(0)  # the parent closed the pipe
        msg = json.loads(line)
        kind, timeout = msg["kind"], float(msg["timeout"])
        flush = float(msg.get("flush", FLUSH_S))
        out, last = [], time.monotonic()
        for idx, text in msg["items"]:
            progress[0] = idx
            out.append([idx, *run_item(kind, text, timeout)])
            progress[0] = -1
            now = time.monotonic()
            if now - last >= flush:
                _send(proto_out, out)
                out, last = [], now
        if out:
            _send(proto_out, out)
