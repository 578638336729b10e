"""OS-level isolation of a sandbox worker (Linux): what keeps a program away from the host.

    from mathdistill.execution import isolation
    info = isolation.apply(memory_mb=512, tmpdir="/tmp/mathdistill-sandbox-x1", roots=[...])
    isolation.describe(info)   # 'uid 65534, network namespace, landlock ABI 7, seccomp, ...'

Called once per worker, after every import and warm-up, and irreversible. It assumes the
attacker runs arbitrary Python (or native code) in the worker, so it does not depend on
what the program may name or on what scientific libraries do internally (SymPy compiles
code, numpy opens files): it limits what the *process* can do. Layers, each applied when
the machine has it (`info` says which are active; the parent logs it):

1. privileges (root only): `PR_SET_NO_NEW_PRIVS`, a new empty network namespace
   (`unshare(CLONE_NEWNET)`: no interface, no network even for raw sockets), then uid/gid
   `nobody` (65534) for good: no signal to the parent, no root-owned file, no capability;
2. resource limits: `RLIMIT_AS` (the memory limit), `RLIMIT_NPROC=0` (no fork, no thread;
   ignored for root, hence the uid switch), `RLIMIT_FSIZE` (`TMP_FILE_MB`), `RLIMIT_CORE=0`,
   a small `RLIMIT_NOFILE`, parent-death SIGKILL;
3. Landlock (kernel >= 5.13, the `landlock` binding): the filesystem is read-only and only
   below `READ_PATHS` + the Python installation and import paths; reads, writes, creation
   and removal are allowed in the worker's private temp dir `tmpdir` only; nothing may be
   executed;
4. seccomp-bpf (libseccomp through `pyseccomp`; `syscalls.build_filter`): no execve, no
   new process, no socket, signals only to itself, no ptrace/process_vm/pidfd, no
   namespaces/mounts/keyrings/bpf/io_uring/perf...; without Landlock it also refuses every
   file write, creation, removal or permission change (the temp dir is then read-only too).

Why these: they are what the established code-execution sandboxes build on (nsjail and
bubblewrap: namespaces + seccomp-bpf; Docker's default profile: seccomp; OpenAI's Codex CLI
on Linux: Landlock + seccomp), they need no helper binary or daemon, and Landlock and
seccomp work unprivileged (no user namespaces needed: Ubuntu >= 23.10 restricts those).
A layer the machine lacks is skipped and named in `info["missing"]`; the parent logs a
warning with what is still active (`Sandbox.isolation`). What is lost then: without
Landlock, reads are limited only by file permissions (and the audit hook), and nothing
can be written at all (seccomp); without seccomp, exec/fork are still stopped by
`RLIMIT_NPROC` (not for root without the uid switch) and sockets by the network namespace
(root only) or not at all; without root, no uid switch and no network namespace.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys

from mathdistill.execution import syscalls
from mathdistill.execution.process import NOBODY

# what a worker's ready message reports about its isolation (`apply`, `describe`)
ISOLATION_KEYS = ("uid", "netns", "no_new_privs", "landlock", "seccomp", "audit", "missing")

TMP_FILE_MB = 16  # RLIMIT_FSIZE: the largest file a program can write in its temp dir
# Besides Python's own directories (prefixes, sys.path): what a worker may read at run time.
READ_PATHS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib", "/usr/share/zoneinfo",
              "/etc/ld.so.cache", "/etc/localtime", "/dev/null", "/dev/zero", "/dev/urandom")
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS, _CLONE_NEWNET = 1, 38, 0x40000000


def _libc():
    import ctypes  # setup only

    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, arg: int) -> bool:
    return _libc().prctl(option, arg, 0, 0, 0) == 0


def _drop_root(info: dict) -> None:
    """As root: no new privileges, no network, then become `nobody` for good."""
    info["no_new_privs"] = _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    info["netns"] = _libc().unshare(_CLONE_NEWNET) == 0
    if not info["netns"]:  # e.g. a container without CAP_SYS_ADMIN
        info["missing"].append("network namespace (unshare failed; seccomp still refuses "
                               "sockets)")
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)


def read_roots(extra=()) -> list[str]:
    """Existing directories and files a worker may read: Python's, `extra`, `READ_PATHS`."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *extra}
    roots.update(p for p in sys.path if p)
    roots.update(READ_PATHS)
    roots = {os.path.realpath(r) for r in roots if os.path.exists(r)}
    roots.discard(os.sep)
    # drop those below another root (Landlock rules are hierarchical anyway)
    return sorted(r for r in roots if not any(r.startswith(o + os.sep) for o in roots))


def _unavailable(info: dict, layer: str, e: BaseException) -> None:
    first = (str(e).splitlines() or [""])[0]
    info["missing"].append(f"{layer} ({type(e).__name__}: {first})")


def _landlock(tmpdir: str | None, roots: list[str], info: dict) -> None:
    try:
        import landlock
        from landlock import FSAccess

        abi = landlock.landlock_abi_version()
    except Exception as e:  # noqa: BLE001  (no binding, no kernel support, not Linux)
        _unavailable(info, "landlock", e)
        return
    read_file = FSAccess.READ_FILE
    read_dir = read_file | FSAccess.READ_DIR
    ruleset = landlock.Ruleset()  # handles every access right of this ABI: all denied ...
    for root in roots:  # ... except reading below the roots
        ruleset.allow(root, rules=read_dir if os.path.isdir(root) else read_file)
    if tmpdir:  # ... and everything but execution in the private temp dir
        ruleset.allow(tmpdir, rules=FSAccess.all() & ~FSAccess.EXECUTE)
    ruleset.apply()
    os.close(ruleset._fd)  # the binding keeps it open; restrictions stay in force
    info["landlock"] = abi


def _seccomp(flt, info: dict) -> None:
    if isinstance(flt, BaseException):
        _unavailable(info, "seccomp", flt)
        return
    if info["landlock"] is None:  # no Landlock: refuse file changes everywhere
        flt = _build(files_writable=False)
        if isinstance(flt, BaseException):
            _unavailable(info, "seccomp", flt)
            return
    flt.load()
    info["seccomp"] = True


def _build(*, files_writable: bool):
    try:
        return syscalls.build_filter(os.getpid(), files_writable=files_writable)
    except Exception as e:  # noqa: BLE001  (no pyseccomp/libseccomp, unsupported platform)
        return e


def _vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _rlimits(memory_mb: int, info: dict) -> None:
    vm_bytes = _vm_bytes()
    limit = memory_mb * 2**20
    info["baseline_mb"] = round(vm_bytes / 2**20)
    if vm_bytes + 64 * 2**20 > limit:
        raise RuntimeError(f"memory_mb={memory_mb} is too small: the worker already maps "
                           f"{info['baseline_mb']} MiB (needs 64 MiB more)")
    nofile = len(os.listdir("/proc/self/fd")) + 16 if os.path.isdir("/proc/self/fd") else 64
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past RLIMIT_FSIZE fails, no kill
    for res, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, TMP_FILE_MB * 2**20),
                       (resource.RLIMIT_NPROC, 0), (resource.RLIMIT_NOFILE, nofile),
                       (resource.RLIMIT_AS, limit)):
        resource.setrlimit(res, (value, value))


def apply(*, memory_mb: int, tmpdir: str | None = None, parent_pid: int | None = None,
          roots=(), os_layers: bool = True) -> dict:
    """Isolate this process (see the module docstring); returns what is active.

    `roots`: extra readable paths; `os_layers=False` applies only the resource limits (for
    tests and measurements of the other layers alone)."""
    info = {"uid": os.getuid(), "netns": False, "no_new_privs": False, "landlock": None,
            "seccomp": False, "missing": []}
    linux = sys.platform.startswith("linux")
    if os_layers and linux:  # build (and import the bindings) while subprocesses still work
        with contextlib.suppress(ImportError):  # reported by _landlock
            import landlock  # noqa: F401
        flt = _build(files_writable=True)
    if os_layers and linux and os.getuid() == 0:
        _drop_root(info)
    elif os_layers and linux:  # an ordinary user: Landlock and seccomp do the work
        info["no_new_privs"] = _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    info["uid"] = os.getuid()
    if linux:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it
        if parent_pid is not None and os.getppid() != parent_pid:
            os._exit(3)  # the parent is already gone
    _rlimits(memory_mb, info)
    if os_layers and linux:
        _landlock(tmpdir, read_roots(roots), info)
        _seccomp(flt, info)
    elif os_layers:
        info["missing"].append(f"landlock, seccomp (not Linux: {sys.platform})")
    return info


def describe(info: dict) -> str:
    """One line: which layers are active (from a worker's `apply` result)."""
    parts = [f"uid {info.get('uid')}" + ("" if info.get("uid") in (0, NOBODY) else
                                         " (not started as root: no uid switch)")]
    if info.get("netns"):
        parts.append("empty network namespace")
    if info.get("landlock") is not None:
        parts.append(f"landlock ABI {info['landlock']} (read-only filesystem, private temp dir)")
    if info.get("seccomp"):
        parts.append("seccomp (no exec/fork/sockets/signals to others)")
    parts.append("rlimits (memory, no processes, file size)")
    if info.get("audit"):
        parts.append("audit hook")
    return ", ".join(parts)
