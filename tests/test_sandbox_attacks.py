"""Attacks on the sandbox's whole surface, with checks on the host, and each layer alone.

1. Hostile PoT programs and EoT texts through a real pool: numpy file I/O, SymPy parsing
   of code strings, pickle, frame and gc walks, importlib, subprocess/os.system, sockets,
   writes outside the temp dir, fork and memory bombs. Afterwards the host must show no
   effect (no file at the targets, a world-writable canary file unchanged, no connection
   to a listening socket, no process left by a worker) and the pool must still answer.
2. "Escaped" programs: a child process hardens itself with `guard.harden` and then runs
   arbitrary Python (as a program that got past every in-process layer would): with only
   the OS layers (no audit hook), as root and as an unprivileged user; and with only the
   audit hook. Library internals (SymPy's exec-built arithmetic, namedtuple, numpy I/O in
   the private temp dir) must keep working under the OS layers.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mathdistill.execution import Sandbox

TAG = f"mathdistill-attack-{os.getpid()}"
TARGET = Path("/tmp") / TAG  # a file no attack may create
CANARY_DIR = Path("/tmp") / f"{TAG}-dir"  # world-writable dir and file (0777 / 0666)
CANARY = CANARY_DIR / "canary.txt"
SRC = str(Path(__file__).resolve().parents[1] / "src")

T = str(TARGET)
CANARY_TEXT = "untouched"
ATTACKS = [  # (name, program, expected error kind)
    # numpy file I/O
    ("np_save", f"import numpy as np\nnp.save({T!r}, [1])", "runtime"),  # not in the proxy
    ("np_from_save", "from numpy import save", "forbidden"),
    ("np_fromfile", "import numpy as np\nanswer = np.fromfile('/etc/shadow').sum()", "runtime"),
    ("np_memmap", f"import numpy as np\nm = np.memmap({T!r}, mode='w+', shape=(4,))", "runtime"),
    ("np_ctypeslib", "import numpy as np\nlib = np.ctypeslib.load_library('libc', '/lib')",
     "runtime"),
    ("np_tofile", f"import numpy as np\nnp.arange(3).tofile({T!r})", "runtime"),
    ("np_dump", f"import numpy as np\nnp.arange(3).dump({str(CANARY)!r})", "forbidden"),
    ("np_savetxt_via_lib", "import numpy as np\nf = np.lib.npyio.savetxt", "runtime"),
    # SymPy parsing of code strings
    ("sympify_code", (f"from sympy import sympify\nv = sympify(\"__import__('os').system('touch "
                     f"{T}')\")"), "forbidden"),
    ("sympy_S_open", f"from sympy import S\nv = S(\"open({T!r}, 'w')\")", "forbidden"),
    ("sympy_solve_string", "x = Symbol('x')\nv = solve(\"exec('import os')\", x)", "forbidden"),
    ("sympy_subs_string", "x = Symbol('x')\nv = (x + 1).subs(x, 'eval(chr(49))')", "forbidden"),
    ("sympy_parse_expr", "from sympy.parsing.sympy_parser import parse_expr", "forbidden"),
    ("sympy_lambdify", "import sympy\nf = sympy.lambdify", "forbidden"),
    # pickle, importlib, frames, gc
    ("pickle", "import pickle\nv = pickle.loads(b'cos\\nsystem\\n(S\"id\"\\ntR.')", "forbidden"),
    ("importlib", "import importlib\nos = importlib.import_module('os')", "forbidden"),
    ("gc_walk", "import gc\nobjs = gc.get_objects()", "forbidden"),
    ("frame_walk", "def g():\n    yield 1\nf = g().gi_frame.f_back.f_globals", "forbidden"),
    ("attrgetter_frame", "import operator\nf = operator.attrgetter('gi_frame')", "runtime"),
    ("formatter_field", "import string\nv = string.Formatter().get_field('0.x', [1], {})",
     "runtime"),
    ("traceback_frame", "try:\n    1 / 0\nexcept Exception as e:\n    t = e.__traceback__",
     "forbidden"),
    ("inspect", "import inspect\nf = inspect.currentframe()", "forbidden"),
    ("sys_modules", "import sys\nos = sys.modules['os']", "forbidden"),
    # processes, network, files
    ("os_system", f"import os\nos.system('touch {T}')", "forbidden"),
    ("subprocess", f"import subprocess\nsubprocess.run(['touch', {T!r}])", "forbidden"),
    ("socket", "import socket\ns = socket.create_connection(('127.0.0.1', PORT))", "forbidden"),
    ("open_write", f"f = open({str(CANARY)!r}, 'w')", "forbidden"),
    ("pathlib_write", f"import pathlib\npathlib.Path({T!r}).write_text('x')", "forbidden"),
    ("fork_bomb", "import os\nwhile True:\n    os.fork()", "forbidden"),
    ("memory_bomb", "a = [[0] * 10**7 for i in range(10**4)]", "memory"),
    ("memory_numpy", "import numpy as np\na = np.ones(10**10)", "memory"),
    ("redos", "import re\nv = re.findall('(a+)+$', 'a' * 40 + 'b')", "timeout"),
]
EOT_ATTACKS = [  # EoT texts are parsed by our tokenizer, never evaluated
    f"x = __import__('os').system('touch {T}')\nans = x",
    "ans = eval(1)",
    "x = sympify(1)\nans = x",
    "a.b = 1\nans = a",
    f"ans = open({T!r})",
]


def _children(pids: list[int]) -> list[str]:
    """Processes (pid and name, from /proc) whose parent or session is one of `pids`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                comm, rest = f.read().rsplit(")", 1)
        except OSError:  # exited meanwhile
            continue
        ppid, _, session = (int(x) for x in rest.split()[1:4])
        if int(entry) not in pids and (ppid in pids or session in pids):
            found.append(f"{entry} {comm.split('(', 1)[1]}")
    return found


@pytest.fixture(scope="module")
def attacked():
    TARGET.unlink(missing_ok=True)
    CANARY_DIR.mkdir(exist_ok=True)
    CANARY_DIR.chmod(0o777)
    CANARY.write_text(CANARY_TEXT)
    CANARY.chmod(0o666)
    with socket.socket() as server, Sandbox(workers=2, timeout=1.0, memory_mb=512) as box:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        box.run_programs(["answer = 1"] * 4)
        pids = box.pids
        programs = [p.replace("PORT", str(port)) for _, p, _ in ATTACKS]
        results = dict(zip([a[0] for a in ATTACKS], box.run_programs(programs), strict=True))
        eot = box.solve_equations(EOT_ATTACKS)
        try:
            server.accept()
            connected = True
        except BlockingIOError:
            connected = False
        host = {"target": TARGET.exists(), "canary": CANARY.read_text(),
                "canary_dir": sorted(p.name for p in CANARY_DIR.iterdir()),
                "connected": connected, "children": _children(pids + box.pids)}
        after = box.run_programs(["import numpy as np\nanswer = np.sum([1, 2])",
                                  "x = Symbol('x')\nanswer = solve(Eq(2 * x, 8), x)[0]"])
        after += box.solve_equations(["lost = x\nwon = lost + 8\nwon + lost = 22\nans = won"])
        yield results, eot, host, after, dict(box.stats)
    TARGET.unlink(missing_ok=True)


@pytest.mark.parametrize("name,program,kind", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_attack_contained(attacked, name, program, kind):
    r = attacked[0][name]
    assert r.error == kind and r.value is None, r


def test_eot_texts_are_not_evaluated(attacked):
    for text, r in zip(EOT_ATTACKS, attacked[1], strict=True):
        assert r.error in ("forbidden", "syntax"), (text, r)


def test_no_host_effects_and_pool_recovers(attacked):
    _, _, host, after, _stats = attacked
    assert host == {"target": False, "canary": CANARY_TEXT, "canary_dir": ["canary.txt"],
                    "connected": False, "children": []}
    assert [r.value for r in after] == [3.0, 4.0, 15.0]


ESCAPED = r'''
import json, os, socket, subprocess, sys
from collections import namedtuple
import numpy as np
import sympy
from mathdistill.execution import guard
tmp, target, canary, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if int(sys.argv[6]) >= 0:  # become an ordinary user first, after every import (here the
    import landlock, pyseccomp  # Python install is under /root: not readable by that user)
    uid = int(sys.argv[6])
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
info = guard.harden(memory_mb=768, tmpdir=tmp, parent_pid=os.getppid(), audit=AUDIT,
                    os_layers=OS_LAYERS)
x = sympy.Symbol("x")
attempts = {
    "system": lambda: os.system("touch " + target) == 0 or 1 / 0,
    "subprocess": lambda: subprocess.run(["touch", target]),
    "fork": lambda: os.fork(),
    "write": lambda: open(target, "w").write("x"),
    "canary": lambda: open(canary, "w").write("x"),
    "os.open": lambda: os.open(target, os.O_WRONLY | os.O_CREAT),
    "passwd": lambda: open("/etc/passwd").read(),
    "np.save": lambda: np.save(target, np.arange(3)),
    "np.fromfile": lambda: np.fromfile("/etc/passwd", dtype=np.uint8),
    "np.memmap": lambda: np.memmap(target, mode="w+", shape=(4,)),
    "socket": lambda: socket.create_connection(("127.0.0.1", port), timeout=2),
    "kill parent": lambda: os.kill(os.getppid(), 0),
    "kill neighbour": lambda: os.kill(int(sys.argv[5]), 0),
    "memory": lambda: bytearray(900 * 2**20),
    "thread": lambda: __import__("_thread").start_new_thread(len, ("x",)),
    "libc system": lambda: __import__("ctypes").CDLL(None).system(b"touch " + target.encode())
                           == 0 or 1 / 0,
}
out = {"info": info}
for name, fn in attempts.items():
    try:
        fn()
        out[name] = "NOT BLOCKED"
    except BaseException as e:
        out[name] = type(e).__name__
# what must keep working: library internals and the private temp dir
ok = {}
ok["linsolve"] = str(sympy.linsolve([x + 1], [x]))
ok["namedtuple"] = namedtuple("P", "a b")(1, 2).b
np.save(os.path.join(tmp, "a.npy"), np.arange(3))
ok["np tmp"] = int(np.load(os.path.join(tmp, "a.npy")).sum())
out["ok"] = ok
print(json.dumps(out))
'''
MUST_BLOCK_OS = ("system", "subprocess", "fork", "write", "canary", "os.open", "passwd",
                 "np.save", "np.fromfile", "np.memmap", "socket", "kill parent",
                 "kill neighbour", "memory", "thread", "libc system")


@pytest.fixture
def base():
    """A scratch dir under /tmp (pytest's tmp_path is 0700 root: another uid cannot enter)."""
    path = Path(tempfile.mkdtemp(prefix=f"{TAG}-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _escaped(tmp_path, *, audit: bool, os_layers: bool, uid: int | None = None) -> dict:
    work = tmp_path / "work"
    work.mkdir()
    target = tmp_path / "pwned"
    canary_dir = tmp_path / "canary"
    canary_dir.mkdir()
    canary = canary_dir / "c.txt"
    canary.write_text(CANARY_TEXT)
    for p, mode in ((canary_dir, 0o777), (canary, 0o666), (work, 0o700)):
        p.chmod(mode)
    child_uid = uid if uid is not None else (65534 if os.getuid() == 0 else os.getuid())
    if os.getuid() == 0:
        os.chown(work, child_uid, child_uid)
    neighbour = subprocess.Popen(["sleep", "60"], user=uid)  # same uid as the child
    script = ESCAPED.replace("AUDIT", str(audit)).replace("OS_LAYERS", str(os_layers))
    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            proc = subprocess.run(
                [sys.executable, "-c", script, str(work), str(target), str(canary),
                 str(server.getsockname()[1]), str(neighbour.pid), str(-1 if uid is None else uid)],
                capture_output=True, text=True, timeout=120, check=False,
                env={"PATH": os.defpath, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "1"})
    finally:
        alive = neighbour.poll() is None
        neighbour.kill()
        neighbour.wait()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert alive, "the neighbour process was killed"
    assert not target.exists() and canary.read_text() == CANARY_TEXT
    out = json.loads(proc.stdout)
    assert out.pop("ok") == {"linsolve": "{(-1,)}", "namedtuple": 2, "np tmp": 3}
    return out


def _kernel_layers() -> tuple[bool, bool]:
    """(Landlock, seccomp) usable on this machine, checked without the sandbox's code."""
    try:
        import landlock

        has_landlock = landlock.landlock_abi_version() >= 1
    except Exception:  # noqa: BLE001
        has_landlock = False
    try:
        import pyseccomp  # noqa: F401  (RuntimeError without libseccomp)

        has_seccomp = True
    except Exception:  # noqa: BLE001
        has_seccomp = False
    return has_landlock, has_seccomp


def test_escaped_program_is_stopped_by_os_layers_alone(base):
    if _kernel_layers() != (True, True):
        pytest.skip(f"(Landlock, seccomp) usable: {_kernel_layers()}; the degraded path is "
                    "test_without_landlock_seccomp_refuses_every_file_change")
    out = _escaped(base, audit=False, os_layers=True)
    info = out.pop("info")
    assert info["landlock"] is not None and info["seccomp"], info
    assert {k for k in MUST_BLOCK_OS if out[k] == "NOT BLOCKED"} == set()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to switch the child to another user")
def test_escaped_program_is_stopped_as_unprivileged_user(base):
    """A typical user's machine: no uid switch, no network namespace; Landlock and seccomp
    alone must hold (the neighbour process has the child's uid)."""
    if _kernel_layers() != (True, True):
        pytest.skip(f"(Landlock, seccomp) usable: {_kernel_layers()}")
    out = _escaped(base, audit=False, os_layers=True, uid=1000)
    info = out.pop("info")
    assert info["uid"] == 1000 and not info["netns"] and info["landlock"] and info["seccomp"]
    assert {k for k in MUST_BLOCK_OS if out[k] == "NOT BLOCKED"} == set()


def test_escaped_program_is_stopped_by_audit_hook_alone(base):
    out = _escaped(base, audit=True, os_layers=False)
    out.pop("info")
    python_level = set(MUST_BLOCK_OS) - {"thread"}  # 3.11 has no audit event for threads
    assert {k for k in python_level if out[k] == "NOT BLOCKED"} == set()


NO_LANDLOCK = r'''
import json, os, sys
import numpy as np
import sympy
sys.modules["landlock"] = None  # as on a kernel or Python without Landlock
from mathdistill.execution import guard
tmp, target = sys.argv[1], sys.argv[2]
info = guard.harden(memory_mb=768, tmpdir=tmp, audit=False)
out = {"info": info, "linsolve": str(sympy.linsolve([sympy.Symbol("x") - 2], sympy.symbols("x")))}
for name, fn in {"write": lambda: open(target, "w"), "tmp write": lambda: open("a", "w"),
                 "mkdir": lambda: os.mkdir("d"), "np.save": lambda: np.save(target, [1]),
                 "exec": lambda: os.execv("/bin/true", ["true"])}.items():
    try:
        fn()
        out[name] = "NOT BLOCKED"
    except BaseException as e:
        out[name] = type(e).__name__
print(json.dumps(out))
'''


def test_without_landlock_seccomp_refuses_every_file_change(base):
    work = base / "work"
    work.mkdir(mode=0o700)
    if os.getuid() == 0:
        os.chown(work, 65534, 65534)
    target = base / "pwned"
    base.chmod(0o777)  # writable by the worker's uid: only seccomp stands in the way
    proc = subprocess.run([sys.executable, "-c", NO_LANDLOCK, str(work), str(target)],
                          capture_output=True, text=True, timeout=120, check=False, cwd=work,
                          env={"PATH": os.defpath, "PYTHONPATH": SRC})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    info = out.pop("info")
    assert info["landlock"] is None and info["seccomp"]
    assert any(m.startswith("landlock") for m in info["missing"])
    assert out.pop("linsolve") == "{(2,)}"
    assert {k for k, v in out.items() if v == "NOT BLOCKED"} == set()
    assert not target.exists() and os.listdir(work) == []


def test_missing_layer_is_logged(tmp_path, caplog):
    """A worker on a machine without Landlock (stand-in module on its path) says so."""
    (tmp_path / "landlock.py").write_text(
        "def landlock_abi_version():\n    raise OSError('Landlock is not supported')\n")
    tmp_path.chmod(0o755)
    with caplog.at_level("INFO", logger="mathdistill.execution.sandbox"), \
            Sandbox(workers=1, timeout=1.0, pythonpath=[tmp_path]) as box:
        assert box.run_programs(["answer = 2"])[0].value == 2.0
        assert box.isolation["landlock"] is None and box.isolation["seccomp"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("isolation layers unavailable" in w and "landlock" in w and "seccomp" in w
               for w in warnings), warnings


def test_private_temp_dir_is_emptied_after_a_program_and_removed_with_the_worker():
    with Sandbox(workers=1, timeout=2.0) as box:
        r = box.run_programs(["import numpy as np\nnp.arange(3).dump('a.pkl')\nanswer = 1",
                              "answer = 2"])
        tmp = box._workers[0].tmpdir
        assert [x.value for x in r] == [1.0, 2.0]
        assert os.path.isdir(tmp) and os.listdir(tmp) == []
        assert os.stat(tmp).st_mode & 0o777 == 0o700
    assert not os.path.exists(tmp)
