"""Hardening of a sandbox worker: the OS isolation, then a cheap audit hook on top (Linux).

    from mathdistill.execution import guard
    info = guard.harden(memory_mb=512, tmpdir=tmp, parent_pid=os.getppid())  # once, last
    STATE.violation                 # set when the program tried something blocked

`harden` applies `isolation.apply` (separate unprivileged process, rlimits, Landlock,
seccomp: the layers that keep the host safe even if a program runs arbitrary code), then
adds `sys.addaudithook` (cannot be removed once added) as a first, Python-level layer that
turns an attempt into a clear `forbidden` result instead of an `OSError`: process creation,
signals, sockets, ctypes, rlimit changes, `gc` walks, tracing hooks, file writes outside
the private temp dir and reads outside Python's directories (`isolation.read_roots`), and
imports of modules that only serve such things. It deliberately does NOT watch `compile`,
`exec` or `sys._getframe`: SymPy builds its polynomial arithmetic with `exec`, parses
strings with `eval`, and `collections.namedtuple` reads its caller's frame; blocking those
broke real programs and EoT systems, and the OS layers do not depend on it.
Every block sets `STATE.violation` (sticky: the program's result becomes `forbidden` even
if it catches the exception) and raises `Forbidden`.
"""

from __future__ import annotations

import os
import sys

from mathdistill.execution import isolation

PROGRAM_FILE = "<program>"  # the filename programs are compiled with


class Forbidden(BaseException):
    """A blocked operation. BaseException, so `except Exception` in a program cannot hide it."""


class _State:
    violation: str | None = None
    roots: tuple[str, ...] = ()  # paths whose files may be read (Python, packages, libraries)
    tmpdir: str | None = None  # the worker's private temp dir: the only writable place
    dirty = False  # something was opened for writing in tmpdir since the last wipe


STATE = _State()

_DENY_PREFIXES = (  # audit events (prefixes) that no computation needs
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill",
    "os.killpg", "os.setuid", "os.setgid", "os.putenv", "os.unsetenv", "os.chdir",
    "subprocess.", "_posixsubprocess.", "pty.", "socket.", "ctypes.", "signal.", "resource.",
    "sys.setprofile", "sys.settrace", "sys._current_frames", "sys._current_exceptions",
    "sys.addaudithook", "sys.monitoring", "gc.", "mmap.", "fcntl.", "urllib.", "http.",
    "ftplib.", "smtplib.", "imaplib.", "poplib.", "webbrowser.", "sqlite3.", "syslog.",
    "_thread.", "threading.", "time.sleep", "pickle.find_class", "cpython.", "setopencode",
    "msvcrt.", "winreg.", "_winapi.",
)
# Modules (not imported at worker start) that only serve what is denied above.
_DENY_IMPORTS = frozenset({
    "ctypes", "_ctypes", "subprocess", "_posixsubprocess", "socket", "_socket", "ssl",
    "multiprocessing", "_multiprocessing", "pty", "mmap", "fcntl", "resource",
})
_FRAME_ATTRS = frozenset({"gi_frame", "cr_frame", "ag_frame", "tb_frame", "f_back"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def deny(what: str):
    STATE.violation = what
    raise Forbidden(what)


def _below(path: str, roots) -> bool:
    return any(path == r or path.startswith(r + os.sep) for r in roots)


def _open(path, mode, flags) -> None:
    if path == PROGRAM_FILE:  # compile() looking for the source line of a SyntaxError
        raise FileNotFoundError(path)
    if isinstance(path, int):
        deny("opening an inherited file descriptor is not allowed")
    path = os.path.normpath(os.path.join(STATE.tmpdir or "/", os.fsdecode(path)))
    in_tmp = STATE.tmpdir is not None and _below(path, (STATE.tmpdir,))
    if (mode and any(c in mode for c in "wax+")) or (flags and flags & _WRITE_FLAGS):
        if not in_tmp:
            deny(f"writing files outside the temp dir is not allowed ({path!r})")
        STATE.dirty = True
    elif not (in_tmp or _below(path, STATE.roots)):
        deny(f"reading {path!r} is not allowed")


def _audit(event: str, args: tuple) -> None:
    if event == "open":
        _open(*args)
    elif event == "import":
        if args[0] in _DENY_IMPORTS:
            deny(f"import of {args[0]!r} is not allowed")
    elif event == "object.__getattr__":
        if args[1] in _FRAME_ATTRS:
            deny(f"access to {args[1]!r} is not allowed")
    elif event.startswith(_DENY_PREFIXES):
        deny(f"{event} is not allowed")


def harden(*, memory_mb: int, tmpdir: str | None = None, parent_pid: int | None = None,
           read_roots=(), audit: bool = True, os_layers: bool = True) -> dict:
    """Apply `isolation.apply` and install the audit hook (`audit=False` / `os_layers=False`:
    leave one out, for tests of the other alone). Irreversible; call once per process."""
    info = isolation.apply(memory_mb=memory_mb, tmpdir=tmpdir, parent_pid=parent_pid,
                           roots=read_roots, os_layers=os_layers)
    STATE.roots = tuple(isolation.read_roots(read_roots))
    STATE.tmpdir = os.path.realpath(tmpdir) if tmpdir else None
    for mod in [m for m in sys.modules if m == "ctypes" or m.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[mod]  # a later `import ctypes` runs the import machinery: audited
    if audit:
        sys.addaudithook(_audit)
    info["audit"] = audit
    return info
