"""The PoT/EoT sandbox: answers of normal programs, containment of hostile ones, the pool.

Hostile programs run in one batch on a 2-worker pool (module fixture) with a 0.5 s CPU limit;
each is then checked for its error kind, and the pool must still answer correctly after.
Attacks on the newer surface (numpy, SymPy parsing, frame/gc walks, ...) with host checks,
and each isolation layer on its own: tests/test_sandbox_attacks.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mathdistill import execution
from mathdistill.execution import Result, Sandbox, SandboxError, policy
from mathdistill.execution.namespace import last_assigned

WRITE_PATH = Path(f"/tmp/mathdistill-sandbox-test-{os.getpid()}.txt")
CHR_PATH = "+".join(f"chr({ord(c)})" for c in str(WRITE_PATH))  # the path without quotes

NORMAL = [  # (program, expected value)
    ("price = 3\nanswer = price * 4", 12.0),
    ("ans = 7 / 2", 3.5),
    ("answer = 1\nans = 2", 1.0),  # `answer` wins over `ans`
    ("ans = 2\nx = 5", 2.0),  # `ans` wins over the last assigned variable
    ("a = 10\nb = a - 4\ntotal = a + b", 16.0),  # last assigned
    ("total = 0\nfor i in range(5):\n    total += i\nprint(total)", 10.0),
    ("x = 5\ny = 7\nx = x + y", 12.0),  # source order, not first assignment
    ("a, b = 3, 4\nc = hypot(a, b)", 5.0),
    ("def solution():\n    eggs = 16 - 3 - 4\n    return eggs * 2", 18.0),  # PAL style
    ("from fractions import Fraction\nanswer = Fraction(1, 3) + Fraction(1, 6)", 0.5),
    ("import fractions\nanswer = fractions.Fraction(3, 4) * 4", 3.0),
    ("from decimal import Decimal\nanswer = Decimal('0.1') + Decimal('0.2')", 0.3),
    ("answer = sqrt(16) + floor(2.7) + ceil(0.2) + factorial(3)", 13.0),
    ("import math\nanswer = math.gcd(12, 18) + math.log(e)", 7.0),
    ("answer = [4.5]", 4.5),
    ("answer = (2,)", 2.0),
    ("x = Symbol('x')\nanswer = solve(Eq(3 * x + 2, 11), x)[0]", 3.0),
    ("x = Symbol('x')\nanswer = solve_it(Eq(x * 1.07, 535), x)[x]", 500.0),
    ("x = Symbol('x')\nanswer = solve_it(Eq(x / 4 + 0.5, 3), x)", 10.0),  # {x: 10}
    ("x, y = symbols('x y')\nr = solve([Eq(x + y, 10), Eq(x - y, 2)], [x, y])\nanswer = r[y]",
     4.0),
    ("x = Symbol('x')\nanswer = simplify((x**2 - 1) / (x - 1)).subs(x, 4)", 5.0),
    ("from sympy import Rational, nsimplify\nanswer = Rational(1, 4) + nsimplify(0.25)", 0.5),
    ("x = Symbol('x')\nanswer = solve('x - 3', x)[0]", 3.0),  # a plain string is parsed
    ("import statistics\nanswer = statistics.mean([1, 2, 3, 4])", 2.5),
    ("from functools import reduce\nanswer = reduce(lambda a, b: a * b, [1, 2, 3, 4])", 24.0),
    ("try:\n    x = 1 / 0\nexcept ZeroDivisionError:\n    x = -1\nanswer = x", -1.0),
    ("type = 3\nproperty = 4\nanswer = type * property", 12.0),  # variables, not builtins
    ("answer = [1, 2]", 1.0),  # a list/tuple answers its first element (PoT, XoT executors)
    ("def solver():\n    return 4, 5\nans = solver()", 4.0),
    ("answer = {'x': 3}", 3.0),
    ("answer = math.floor(2.5) + math.pi * 0", 2.0),  # `math` is in the namespace
    # real zero-shot PoT: imports numpy, defines solver()
    (("import math\nimport numpy as np\ndef solver():\n    a = np.array([1.5, 2.5])\n"
     "    return np.sum(a) * math.sqrt(4)\nans = solver()"), 8.0),
    ("import numpy as np\nanswer = np.int64(7) // 2", 3.0),
    ("import numpy as np\nanswer = np.linalg.solve([[2, 1], [1, 3]], [3, 5])", 0.8),
    ("import numpy.linalg\nanswer = numpy.linalg.norm([3, 4])", 5.0),
    ("from sympy.abc import x\nfrom sympy.solvers import solve\nanswer = solve(x - 3, x)[0]", 3.0),
    (("import datetime\nd = datetime.date(2024, 3, 1) - datetime.date(2024, 2, 1)\n"
     "answer = d.days"), 29.0),
    (("from collections import Counter, namedtuple\nP = namedtuple('P', 'x y')\n"
     "answer = P(2, 3).y * Counter('abca')['a']"), 6.0),
    (("import statistics, itertools, functools, operator\n"
     "answer = functools.reduce(operator.mul, itertools.repeat(2, 3)) + statistics.median([1, 3])"),
     10.0),
    ("import re, string\nanswer = len(re.findall('[0-9]', 'a1b22')) + len(string.digits)", 13.0),
    (("from sympy import sympify, nsolve, Matrix\nx = Symbol('x')\n"
     "answer = sympify('2*x + 1').subs(x, 3) + Matrix([[1, 2], [3, 4]]).det()"), 5.0),
]

NOT_NUMBERS = [  # (program, detail substring): all `no_answer`
    ("answer = 'five'", "str"),
    ("answer = True", "bool"),
    ("answer = []", "list"),
    ("import numpy as np\nanswer = np.array([])", "ndarray"),
    ("answer = float('nan')", "nan"),
    ("answer = 10 ** 400", "not a real number"),
    ("x = Symbol('x')\nanswer = solve(x**2 + 1, x)[0]", "not a real number"),
    ("x = Symbol('x')\nanswer = x + 1", "not a number"),
    ("print(5)", "no `answer`"),
]

GEN_FINALIZER = ("def g():\n    try:\n        yield 1\n    finally:\n        while True:\n"
                 "            pass\nx = g()\nnext(x)\nanswer = 1")
HOSTILE = [  # (name, program, expected error kind)
    ("infinite_loop", "while True:\n    pass", "timeout"),
    ("swallow_bare_except", ("while True:\n    try:\n        while True:\n            pass\n"
                             "    except:\n        pass"), "timeout"),
    ("swallow_exception", ("n = 0\nwhile True:\n    try:\n        n += 1\n"
                           "    except Exception:\n        pass"), "timeout"),
    ("finally_continue", ("while True:\n    try:\n        while True:\n            pass\n"
                          "    finally:\n        continue"), "timeout"),
    ("generator_finalizer", GEN_FINALIZER, "timeout"),
    ("c_level_loop", "answer = sum(range(10**12))", "timeout"),  # no signal check: killed
    ("huge_power", "answer = 10**10**10", "timeout"),
    ("fork_bomb", "import os\nwhile True:\n    os.fork()", "forbidden"),
    ("memory_list", "a = [0] * 10**10", "memory"),
    ("memory_doubling", "s = 'a'\nwhile True:\n    s += s", "memory"),
    ("write_file", f"f = open({str(WRITE_PATH)!r}, 'w')\nf.write('x')", "forbidden"),
    ("write_pathlib", f"import pathlib\npathlib.Path({str(WRITE_PATH)!r}).write_text('x')",
     "forbidden"),
    ("read_passwd", "answer = len(open('/etc/passwd').read())", "forbidden"),
    ("socket", "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 80))", "forbidden"),
    ("os_system", f"import os\nos.system('touch {WRITE_PATH}')", "forbidden"),
    ("subprocess", f"import subprocess\nsubprocess.run(['touch', '{WRITE_PATH}'])",
     "forbidden"),
    ("dunder_import", "os = __import__('os')\nos.system('id')", "forbidden"),
    ("subclasses", "answer = ().__class__.__base__.__subclasses__()", "forbidden"),
    ("getattr_builtins", "f = getattr(__builtins__, 'open')", "forbidden"),
    ("globals", "g = globals()", "forbidden"),
    ("builtins_mutation", "__builtins__['len'] = None", "forbidden"),
    ("deep_recursion", "def f(n):\n    return f(n + 1)\nanswer = f(0)", "runtime"),
    ("sys_exit", "import sys\nsys.exit(0)", "forbidden"),
    ("os_exit", "import os\nos._exit(0)", "forbidden"),
    ("raise_system_exit", "raise SystemExit(0)", "forbidden"),
    ("raise_keyboard_interrupt", "raise KeyboardInterrupt", "forbidden"),
    ("exit_builtin", "exit()", "forbidden"),
    ("signal_alarm", "import signal\nsignal.alarm(0)", "forbidden"),
    ("signal_handler", ("from signal import signal, SIGPROF, SIG_IGN\n"
                        "signal(SIGPROF, SIG_IGN)\nwhile True:\n    pass"), "forbidden"),
    ("ctypes", "import ctypes\nctypes.CDLL(None).system(b'id')", "forbidden"),
    ("builtins_open", "import builtins\nbuiltins.open('/tmp/x', 'w')", "forbidden"),
    ("exec_string", "exec('import os')", "forbidden"),
    ("eval_string", "answer = eval('1 + 1')", "forbidden"),
    ("compile_string", "c = compile('1', 'x', 'eval')", "forbidden"),
    ("thread", "import threading\nthreading.Thread(target=print).start()", "forbidden"),
    ("sleep", "import time\ntime.sleep(100)", "forbidden"),
    ("kill_parent", "import os\nos.kill(os.getppid(), 9)", "forbidden"),
    ("mutate_math", "import math\nmath.pi = 3", "forbidden"),
    ("mutate_math_vars", "import math\nvars(math)['pi'] = 3", "forbidden"),
    ("gi_frame", "def g():\n    yield 1\nx = g()\nf = x.gi_frame.f_back.f_globals", "forbidden"),
    ("lambda_code", "f = (lambda: 0).__code__", "forbidden"),
    ("traceback_frame", "try:\n    1 / 0\nexcept Exception as e:\n    f = e.__traceback__",
     "forbidden"),
    ("type_metaclass", "X = type('X', (), {})", "forbidden"),
    ("class_statement", "class M(int):\n    pass\nanswer = M(1)", "forbidden"),
    ("match_class", "match 1:\n    case int(real=r):\n        answer = r", "forbidden"),
    ("sympy_string_eval", "x = Symbol('x')\nanswer = solve(\"__import__('os').system('id')\", x)",
     "forbidden"),
    ("sympy_subs_open", f"x = Symbol('x')\nanswer = (x + 1).subs(x, 'open({CHR_PATH}, chr(119))')",
     "forbidden"),
    ("sympy_lambdify", "from sympy import lambdify", "forbidden"),
    ("sympy_shared_state", "x = Symbol('x')\nd = x.default_assumptions", "forbidden"),
    ("unicode_eval", "answer = \uff45\uff56\uff41\uff4c('1')", "forbidden"),  # NFKC -> eval
    ("input", "answer = input()", "forbidden"),
    ("relative_import", "from . import x", "forbidden"),
    ("syntax_error", "answer = (", "syntax"),
    ("null_byte", "answer = 1\x00", "syntax"),
    ("too_long", "x = 1\n" * 20_000, "forbidden"),
    ("int_str_limit", "answer = int('9' * 10**6)", "runtime"),
    ("format_leak", "answer = '{0.__class__}'.format(1)", "no_answer"),  # a string, no object
    ("long_output", "for i in range(10**5):\n    print('x' * 10**4)\nanswer = 1", None),
]


@pytest.fixture(scope="module")
def box():
    with Sandbox(workers=2, timeout=0.5, memory_mb=256) as b:
        yield b


@pytest.fixture(scope="module")
def hostile(box):
    WRITE_PATH.unlink(missing_ok=True)
    results = box.run_programs([p for _, p, _ in HOSTILE])
    return {name: r for (name, _, _), r in zip(HOSTILE, results)}


def test_normal_programs(box):
    results = box.run_programs([p for p, _ in NORMAL])
    for (program, expected), r in zip(NORMAL, results):
        assert r.ok and r.value == pytest.approx(expected), (program, r)


def test_not_numbers_are_no_answer(box):
    for (program, detail), r in zip(NOT_NUMBERS, box.run_programs([p for p, _ in NOT_NUMBERS])):
        assert r.error == "no_answer" and detail in r.detail, (program, r)


def test_errors_and_details(box):
    r1, r2, r3 = box.run_programs(["x = 1\ny = (", "answer = 1 / 0", "answer = undefined + 1"])
    assert (r1.error, r1.detail) == ("syntax", "line 2: '(' was never closed")
    assert r2 == Result(None, "runtime", "ZeroDivisionError: division by zero")
    assert r3.error == "runtime" and "NameError" in r3.detail


def test_order_duplicates_and_non_strings(box):
    programs = [f"answer = {i % 50}" for i in range(600)] + [None]
    results = box.run_programs(programs)
    assert [r.value for r in results[:-1]] == [float(i % 50) for i in range(600)]
    assert results[-1].error == "syntax"
    assert box.run_programs([]) == []


@pytest.mark.parametrize("name,program,kind", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_program_contained(hostile, name, program, kind):
    r = hostile[name]
    if kind is None:
        assert r.ok, r
    else:
        assert r.error == kind and r.value is None, r


def test_hostile_side_effects_and_recovery(box, hostile):
    assert not WRITE_PATH.exists()
    assert box.stats["killed"] >= 1  # the C-level loop needed the parent's kill
    results = box.run_programs([p for p, _ in NORMAL])  # replaced workers answer correctly
    assert all(r.ok and r.value == pytest.approx(v) for r, (_, v) in zip(results, NORMAL))


def test_isolation_between_programs():
    # one worker, so every program runs after the previous ones in the same process
    with Sandbox(workers=1, timeout=1.0) as solo:
        results = solo.run_programs([
            "pi = 3\nanswer = pi",
            "answer = pi",  # the prefix is fresh
            "secret = 42\nanswer = 1",
            "answer = secret",  # no globals survive
            "import decimal\ndecimal.setcontext(decimal.Context(prec=2))\nanswer = 1",
            "from decimal import Decimal\nanswer = Decimal(1) / Decimal(3)",
            "x = Symbol('x', positive=True)\nanswer = 1",
            "x = Symbol('x')\nanswer = 1 if x.is_positive is None else 0",
            ("from decimal import DefaultContext, DivisionByZero\n"
             "DefaultContext.traps[DivisionByZero] = False\nanswer = 1"),
            "from decimal import Decimal\nanswer = Decimal(1) / Decimal(0)",  # still raises
        ])
    assert [r.value for r in results] == [3.0, 3.141592653589793, 1.0, None, 1.0,
                                          1 / 3, 1.0, 1.0, 1.0, None]
    assert results[-1].error == "runtime" and "DivisionByZero" in results[-1].detail
    assert results[3].error == "runtime" and "NameError" in results[3].detail


def test_shared_between_threads(box):
    from concurrent.futures import ThreadPoolExecutor

    batches = [[f"answer = {t} * 1000 + {i}" for i in range(300)] for t in range(4)]
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(box.run_programs, batches))
    for t, out in enumerate(outs):
        assert [r.value for r in out] == [float(t * 1000 + i) for i in range(300)]


def test_workers_are_recycled():
    with Sandbox(workers=1, timeout=1.0, chunk_size=4, max_tasks_per_worker=8) as b:
        results = b.run_programs([f"answer = {i}" for i in range(20)])
        assert [r.value for r in results] == [float(i) for i in range(20)]
        assert b.stats["recycled"] >= 2 and b.stats["started"] >= 3


def test_closed_sandbox_and_processes_gone():
    b = Sandbox(workers=1, timeout=1.0)
    assert b.run_programs(["answer = 2"])[0].value == 2.0
    procs = [w.proc for w in b._workers]
    b.close()
    assert procs and all(p.poll() is not None for p in procs)
    with pytest.raises(SandboxError, match="closed"):
        b.run_programs(["answer = 1"])


def test_memory_limit_too_small():
    with Sandbox(workers=1, memory_mb=16) as b, pytest.raises(SandboxError, match="too small"):
        b.run_programs(["answer = 1"])


STAND_IN = '''
import faulthandler
from mathdistill.execution.result import Result

def solve_system(text):
    if text == "crash":
        faulthandler._sigsegv()
    if text == "hang":
        sum(range(10**12))
    if text == "loop":
        while True:
            pass
    if text == "boom":
        raise ValueError("bad system")
    if text == "not a result":
        return 42
    if text == "unsolvable":
        return Result(None, "unsolvable", "inconsistent")
    return Result(float(len(text)), None, "")
'''


def test_eot_kind_with_stand_in_solver(tmp_path):
    (tmp_path / "standin_equations.py").write_text(STAND_IN)
    with Sandbox(workers=1, timeout=0.5, equations="standin_equations",
                 pythonpath=[tmp_path]) as b:
        texts = ["abc", "crash", "hang", "loop", "boom", "not a result", "unsolvable", "abcd"]
        r = dict(zip(texts, b.solve_equations(texts)))
        assert r["abc"] == Result(3.0, None, "") and r["abcd"].value == 4.0
        assert r["crash"].error == "runtime" and "killed its worker" in r["crash"].detail
        assert r["hang"].error == "timeout" and r["loop"].error == "timeout"
        assert r["boom"] == Result(None, "runtime", "ValueError: bad system")
        assert r["not a result"].error == "runtime"
        assert r["unsolvable"] == Result(None, "unsolvable", "inconsistent")
        assert b.stats["crashed"] >= 2 and b.stats["killed"] >= 1  # crash retried once
        assert b.solve_equations(["xy"]) == [Result(2.0, None, "")]


def test_module_api_with_real_equation_solver():
    try:
        programs = execution.run_programs(["answer = 6 * 7", "while True: pass"], timeout=1.0)
        assert programs[0] == Result(42.0, None, "") and programs[1].error == "timeout"
        eqs = execution.solve_equations(["a = 2\nans = a * 3", "x = = 1"], timeout=2.0)
        assert eqs[0].value == 6.0 and eqs[1].error == "syntax"
        assert execution.get_pool() is execution.get_pool()
    finally:
        execution.shutdown()


def test_policy_static_checks():
    def check(src):
        return policy.check_code(compile(src, "<program>", "exec", dont_inherit=True))

    assert check("import math\nfrom sympy import Symbol\nx = [i for i in range(3)]") is None
    assert "import of 'os'" in check("def f():\n    import os")
    assert "cannot import 'get_type_hints'" in check("from typing import get_type_hints as s")
    assert "'lambdify'" in check("import sympy\nf = sympy.lambdify")
    assert "underscore" in check("x = 1\n_y = x.__class__")
    assert "'f_globals'" in check("lambda g: g.f_globals")
    assert "attribute assignment" in check("def f(o):\n    o.x = 1")
    assert check("_ = 1\nfor _ in range(2): pass") is None
    # builtin names a program assigns itself are its variables; attributes never are
    assert check("type = 'red'\nproperty = 3\ndef f(input):\n    return input") is None
    assert "'type'" in check("x = type(1)")
    assert "'gi_frame'" in check("gi_frame = 1\ndef g():\n    yield\nf = g().gi_frame")


def test_last_assigned():
    assert last_assigned("a = 1\nb = 2\na += b") == "a"
    assert last_assigned("x, y = 1, 2") == "y"
    assert last_assigned("def f():\n    z = 1\nt = f()") == "t"
    assert last_assigned("for i in range(3):\n    s = i\nprint(s)") == "s"
    assert last_assigned("print(1)") is None


def test_starved_worker_is_not_killed_as_a_timeout():
    """A worker that gets no CPU (here: stopped) past its wall-clock deadline is waited for:
    on a busy machine a right program must not come back as a `timeout`."""
    import signal
    import threading
    import time

    with Sandbox(workers=1, timeout=1.0, kill_factor=1.0, kill_grace=0.1) as b:  # 1.15 s
        assert b.run_programs(["answer = 1"])[0].value == 1.0  # started and warm
        worker = b._workers[0]
        if worker.cpu_seconds() is None:
            pytest.skip("no /proc: a starved worker cannot be told from a hung one")
        out = []
        program = "t = 0\nfor i in range(3 * 10**6):\n    t += 1\nanswer = t"  # ~0.3 s CPU
        thread = threading.Thread(target=lambda: out.extend(b.run_programs([program])))
        thread.start()
        while worker.current() == -1 and thread.is_alive():
            time.sleep(0.001)
        os.kill(worker.pid, signal.SIGSTOP)
        time.sleep(2.5)  # past the 1.15 s deadline, within 10x of it
        os.kill(worker.pid, signal.SIGCONT)
        thread.join(30)
        assert out == [Result(3e6, None, "")], out
        assert b.stats["killed"] == 0
