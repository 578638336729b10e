"""Process-level defences of a sandbox worker: OS limits and an audit hook (Linux).

    from mathdistill.execution import guard
    info = guard.harden(memory_mb=512, parent_pid=os.getppid())   # once, after all imports
    guard.STATE.code = code; exec(code, namespace)                 # allow exactly this exec

These layers matter only if a program got past the static check and the restricted
namespace (`policy`, `worker`); they assume the attacker can run arbitrary Python:
- as root: `PR_SET_NO_NEW_PRIVS`, a new empty network namespace (no interfaces: no network
  even for raw sockets), then switch to uid/gid `nobody` (65534), so the worker cannot
  signal the parent, write root-owned files, or read private files;
- `RLIMIT_NPROC=0` (fork/threads fail: for root this limit is ignored, hence the uid
  switch), `RLIMIT_FSIZE=0` (no file gets a byte), `RLIMIT_CORE=0`, a small `RLIMIT_NOFILE`,
  `RLIMIT_AS` (the memory limit), parent-death signal SIGKILL;
- `sys.addaudithook` (cannot be removed once added): blocks process creation, signals,
  sockets, ctypes, file writes (and reads outside Python's own directories), rlimit
  changes, frame access, and any `compile`/`exec` other than the one the worker is
  running now, module code being imported, or `worker`'s sanitized SymPy string parser.
Every block sets `STATE.violation` (sticky: the program's result becomes `forbidden` even
if it catches the exception) and raises `Forbidden`.
"""

from __future__ import annotations

import os
import resource
import signal
import sys

NOBODY = 65534
PROGRAM_FILE = "<program>"  # the filename programs are compiled with


class Forbidden(BaseException):
    """A blocked operation. BaseException, so `except Exception` in a program cannot hide it."""


class _State:
    code = None  # the code object the worker is about to exec
    filename = None  # the filename object of the worker's own compile() call (identity)
    parse_depth = 0  # > 0 while the sanitized SymPy parser runs
    violation: str | None = None
    roots: tuple[str, ...] = ()  # directories whose files may be read (Python, packages)


STATE = _State()

_DENY_PREFIXES = (
    "os.", "subprocess.", "socket.", "ctypes.", "_ctypes.", "shutil.", "tempfile.", "pty.",
    "signal.", "resource.", "sys.setprofile", "sys.settrace", "sys._getframe",
    "sys._current_frames", "sys._current_exceptions", "sys.addaudithook", "code.__new__",
    "function.__new__", "gc.", "mmap.", "fcntl.", "urllib.", "http.", "ftplib.", "smtplib.",
    "imaplib.", "poplib.", "nntplib.", "telnetlib.", "webbrowser.", "sqlite3.", "syslog.",
    "_thread.", "threading.", "time.sleep", "pickle.find_class", "cpython.", "setopencode",
    "sys.monitoring", "msvcrt.", "winreg.", "_winapi.", "_posixsubprocess.",
)
_ALLOW = frozenset({"os.listdir", "os.scandir"})  # the import system lists directories
_DENY_IMPORTS = frozenset({
    "ctypes", "_ctypes", "subprocess", "_posixsubprocess", "socket", "_socket", "ssl",
    "multiprocessing", "_multiprocessing", "threading", "_thread", "pty", "signal", "_signal",
    "resource", "posix", "os", "shutil", "tempfile", "mmap", "fcntl", "gc",
})
_FRAME_ATTRS = frozenset({"gi_frame", "cr_frame", "ag_frame", "tb_frame", "f_back"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _deny(what: str):
    STATE.violation = what
    raise Forbidden(what)


def _readable(path) -> bool:
    if isinstance(path, int):
        return False  # opening an inherited descriptor
    path = os.path.normpath(os.path.abspath(os.fsdecode(path)))
    return any(path == r or path.startswith(r + os.sep) for r in STATE.roots)


def _audit(event: str, args: tuple) -> None:
    if event == "open":
        path, mode, flags = args
        if path == PROGRAM_FILE:  # compile() looking for the source line of a SyntaxError
            raise FileNotFoundError(path)
        if (mode and any(c in mode for c in "wax+")) or (flags and flags & _WRITE_FLAGS):
            _deny(f"writing files is not allowed ({path!r})")
        if not _readable(path):
            _deny(f"reading {path!r} is not allowed")
    elif event == "compile":
        name = args[1]
        if name is STATE.filename or STATE.parse_depth:
            return
        if not (isinstance(name, str) and name.endswith(".py") and _readable(name)):
            _deny("compile() is not allowed")
    elif event == "exec":
        code = args[0]
        if code is STATE.code or STATE.parse_depth:
            return
        name = getattr(code, "co_filename", None)
        if not (isinstance(name, str) and name.endswith(".py") and _readable(name)):
            _deny("exec()/eval() is not allowed")
    elif event == "import":
        if args[0] in _DENY_IMPORTS:
            _deny(f"import of {args[0]!r} is not allowed")
    elif event == "object.__getattr__":
        if args[1] in _FRAME_ATTRS:
            _deny(f"access to {args[1]!r} is not allowed")
    elif event.startswith(_DENY_PREFIXES) and event not in _ALLOW:
        _deny(f"{event} is not allowed")


def _read_roots(extra=()) -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *extra}
    roots.update(p for p in sys.path if p and os.path.isdir(p))
    roots = {os.path.normpath(os.path.abspath(r)) for r in roots}
    roots.discard(os.sep)
    return tuple(sorted(roots))


def _libc_call(name: str, *args) -> bool:
    import ctypes  # only during setup; dropped from sys.modules afterwards

    fn = getattr(ctypes.CDLL(None, use_errno=True), name, None)
    return fn is not None and fn(*args) == 0


def _drop_root(info: dict) -> None:
    """As root: no new privileges, no network, then become `nobody` for good."""
    info["no_new_privs"] = _libc_call("prctl", 38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    info["netns"] = _libc_call("unshare", 0x40000000)  # CLONE_NEWNET
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


def harden(*, memory_mb: int, parent_pid: int | None = None, read_roots=(),
           audit: bool = True) -> dict:
    """Apply every OS limit and install the audit hook (`audit=False`: only the OS layer, for
    tests of that layer alone). Irreversible; call once per process."""
    info = {"uid": os.getuid(), "netns": False}
    if os.getuid() == 0:
        _drop_root(info)
    info["uid"] = os.getuid()
    if sys.platform.startswith("linux"):
        _libc_call("prctl", 1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG (after setuid)
        if parent_pid is not None and os.getppid() != parent_pid:
            os._exit(3)  # the parent is already gone
    for mod in [m for m in sys.modules if m == "ctypes" or m.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[mod]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past RLIMIT_FSIZE fails, no kill
    nofile = len(os.listdir("/proc/self/fd")) + 16 if os.path.isdir("/proc/self/fd") else 64
    vm_bytes = _vm_bytes()
    limit = memory_mb * 2**20
    info["baseline_mb"] = round(vm_bytes / 2**20)
    if vm_bytes + 64 * 2**20 > limit:
        raise RuntimeError(f"memory_mb={memory_mb} is too small: the worker already maps "
                           f"{info['baseline_mb']} MiB (needs 64 MiB more)")
    for res, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 0),
                       (resource.RLIMIT_NPROC, 0), (resource.RLIMIT_NOFILE, nofile),
                       (resource.RLIMIT_AS, limit)):
        resource.setrlimit(res, (value, value))
    STATE.roots = _read_roots(read_roots)
    if audit:
        sys.addaudithook(_audit)
    return info


def _vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
