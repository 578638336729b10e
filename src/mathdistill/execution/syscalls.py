"""The seccomp-bpf filter of a sandbox worker: the system calls a program may not make.

    from mathdistill.execution import syscalls
    flt = syscalls.build_filter(os.getpid(), files_writable=True)   # a pyseccomp filter
    flt.load()                     # irreversible; inherited by every thread

Built with libseccomp (through `pyseccomp`, a ctypes binding with the API of libseccomp's
own Python module; the system library is Debian's/Ubuntu's `libseccomp2`, present on any
machine with systemd or apt). Default action: allow. A refused call fails with EPERM
(ENOSYS for `clone3`, so that glibc falls back to `clone`, which is checked), so a library
that tries one gets an ordinary `OSError`, and the worker survives. Calls of other
architectures (i386 `int 0x80`, x32) kill the process (libseccomp's bad-arch action).

Why a deny list and not an allow list: an allow list must name every call CPython,
OpenBLAS, numpy and SymPy make on every version and path (the failure mode the sandbox
had with its import-level guard); the calls below are the ones that reach outside the
process, and none is needed to compute an answer.
"""

from __future__ import annotations

import contextlib
import errno
import os

# Refused outright: new programs and processes, network, other processes, the kernel's
# global state, namespaces and mounts, and interfaces that bypass seccomp (io_uring).
DENIED = (
    "execve", "execveat", "fork", "vfork",
    "socket", "socketpair",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_open",
    "pidfd_getfd", "pidfd_send_signal", "setpriority", "ioprio_set", "migrate_pages",
    "move_pages",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key", "personality",
    "name_to_handle_at", "open_by_handle_at", "fanotify_init", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "syslog", "iopl", "ioperm", "vhangup",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
)
# Refused only without Landlock, which otherwise confines them to the private temp dir.
FILE_CHANGES = (
    "creat", "truncate", "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir",
    "mkdirat", "rmdir", "link", "linkat", "symlink", "symlinkat", "mknod", "mknodat",
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "utime", "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr",
    "removexattr", "lremovexattr", "fremovexattr", "openat2",
)
_OPEN_FLAGS = {"open": 1, "openat": 2}  # syscall -> index of its flags argument
_WRITE_FLAGS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND)
_CLONE_THREAD = 0x00010000


def _add(flt, action, name: str, *args) -> bool:
    """Add a rule; False if this architecture has no such call (e.g. `open` on arm64)."""
    try:
        flt.add_rule(action, name, *args)
    except (OSError, RuntimeError, ValueError):
        return False
    return True


def build_filter(pid: int, *, files_writable: bool):
    """The filter for worker `pid` (not loaded). `files_writable=False` also refuses every
    file write, creation, removal and permission change (use it when Landlock is absent).
    Import errors (no pyseccomp, no libseccomp: RuntimeError) propagate. Call it before any
    limit: pyseccomp looks libseccomp up on import (`ldconfig -p`, a subprocess)."""
    import pyseccomp as sc
    deny = sc.ERRNO(errno.EPERM)
    flt = sc.SyscallFilter(sc.ALLOW)
    # libseccomp >= 2.5: a binary tree instead of a list of checks, and no forced
    # speculative-store-bypass mitigation (kernels with `spec_store_bypass_disable=seccomp`
    # slow the whole worker down; the worker holds nothing a program may not read anyway)
    for attr, value in ((sc.Attr.CTL_OPTIMIZE, 2), (sc.Attr.CTL_SSB, 1)):
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            flt.set_attr(attr, value)
    for name in DENIED:
        _add(flt, deny, name)
    # processes: `clone` only for threads (RLIMIT_NPROC=0 refuses those too, for non-root)
    _add(flt, deny, "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_THREAD, 0))
    _add(flt, sc.ERRNO(errno.ENOSYS), "clone3")  # flags are in memory: make glibc use clone
    # signals: only to itself (a non-root worker could otherwise signal the user's processes)
    for name in ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        _add(flt, deny, name, sc.Arg(0, sc.NE, pid))
    # limits and scheduling of other processes (pid 0 is itself)
    for name in ("prlimit64", "sched_setaffinity", "sched_setparam", "sched_setscheduler",
                 "sched_setattr"):
        _add(flt, deny, name, sc.Arg(0, sc.NE, 0))
    if not files_writable:
        for name in FILE_CHANGES:
            _add(flt, deny, name)
        for name, index in _OPEN_FLAGS.items():
            for flag in _WRITE_FLAGS:
                _add(flt, deny, name, sc.Arg(index, sc.MASKED_EQ, flag, flag))
    return flt
