"""One sandbox worker process as the parent sees it: pipes, a shared progress page, state.

    w = WorkerProcess(cfg, env, debug=False)   # starts `python -P -s -c <worker main> CFG`
    w.send({"kind": "pot", "timeout": 5.0, "flush": 0.05, "items": [[0, "answer = 1"]]})
    lines = w.read_lines()                      # complete protocol lines; None at EOF
    w.current()                                 # id of the item it is running, -1 between
    w.cpu_seconds()                             # CPU time it has used (None without /proc)
    w.stop(kill=True)

The worker gets a scrubbed environment (no API keys or tokens of the parent), its own
private temp dir as cwd, `TMPDIR` and `HOME` (mode 0700, owned by the uid the worker
switches to; removed when it stops), its own session (a Ctrl-C in the terminal does not
reach it), no inherited descriptors except its pipes and the 8-byte memfd page through
which it publishes the id of the item it runs.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import subprocess
import sys
import tempfile
import time

BOOT = "from mathdistill.execution.worker import main; main()"
NOBODY = 65534  # the uid/gid a worker started as root switches to
MAX_LINE = 64 * 2**20  # a longer protocol line means a misbehaving worker
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ProtocolError(RuntimeError):
    pass


def _progress_page():
    """(fd to pass, mmap, int64 view) of a fresh shared page, or Nones without memfd."""
    if not hasattr(os, "memfd_create"):
        return None, None, None
    fd = os.memfd_create("mathdistill-sandbox", os.MFD_CLOEXEC)
    os.ftruncate(fd, 8)
    shm = mmap.mmap(fd, 8)
    view = memoryview(shm).cast("q")
    view[0] = -1
    return fd, shm, view


def _private_dir() -> str:
    """A fresh 0700 temp dir for one worker (owned by `nobody` when we are root)."""
    path = tempfile.mkdtemp(prefix="mathdistill-sandbox-")
    if os.getuid() == 0:
        os.chown(path, NOBODY, NOBODY)
    return os.path.realpath(path)


class WorkerProcess:
    def __init__(self, cfg: dict, env: dict, *, debug: bool = False):
        self.tmpdir = _private_dir()
        fd, self._shm, self._progress = _progress_page()
        cmd = [sys.executable, "-P", "-s", "-c", BOOT,
               json.dumps({**cfg, "progress_fd": fd, "tmpdir": self.tmpdir})]
        env = {**env, "TMPDIR": self.tmpdir, "HOME": self.tmpdir}
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=None if debug else subprocess.DEVNULL, env=env, cwd=self.tmpdir,
                start_new_session=True, close_fds=True, pass_fds=() if fd is None else (fd,))
        except BaseException:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            raise
        finally:
            if fd is not None:
                os.close(fd)
        self.fd = self.proc.stdout.fileno()
        self.buf = bytearray()
        self.ready = False
        self.info: dict = {}
        self.started = time.monotonic()
        self.chunk: list | None = None  # [(uid, text)] being run
        self.precise = False  # the worker reports after every item of `chunk`
        self.done = 0  # results received for `chunk`
        self.progress_at = 0.0  # when the chunk was sent or the last results came
        self.cpu_at = 0.0  # the worker's CPU seconds at progress_at
        self.kill_at = 0.0  # wall-clock deadline of the current chunk (see Sandbox._loop)
        self.tasks = 0  # items finished over the worker's life

    @property
    def pid(self) -> int:
        return self.proc.pid

    def current(self) -> int:
        """The id of the item the worker is running (-1: between items, or unknown)."""
        return self._progress[0] if self._progress is not None else -1

    def mark_progress(self, deadline: float) -> None:
        """Record progress now; the next deadline is `deadline` seconds away."""
        self.progress_at = time.monotonic()
        self.cpu_at = self.cpu_seconds() or 0.0
        self.kill_at = self.progress_at + deadline

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds the worker has used (Linux /proc), else None."""
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()  # after "(comm)"
            return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime
        except (OSError, IndexError, ValueError):
            return None

    def send(self, msg: dict) -> None:
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:  # it died while idle: the reader sees EOF
            pass

    def read_lines(self) -> list[bytes] | None:
        """The complete lines available now; None when the worker closed its end."""
        try:
            data = os.read(self.fd, 1 << 20)
        except OSError:
            data = b""
        if not data:
            return None
        self.buf += data
        if len(self.buf) > MAX_LINE:
            raise ProtocolError("oversized message")
        *lines, rest = self.buf.split(b"\n")
        self.buf = bytearray(rest)
        return lines

    def stop(self, *, kill: bool) -> None:
        """Close the pipes (an idle worker exits on EOF); `kill`: SIGKILL and reap it."""
        if kill:
            self.proc.kill()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        if kill:
            self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        if self._shm is not None:
            self._progress.release()
            self._shm.close()
            self._shm = self._progress = None

    def exit_reason(self) -> str:
        code = self.proc.poll()
        if code is None:
            try:
                code = self.proc.wait(1.0)
            except subprocess.TimeoutExpired:
                return "still running"
        return f"signal {-code}" if code < 0 else f"exit code {code}"
