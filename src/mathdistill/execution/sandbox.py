"""A pool of sandbox worker processes that runs untrusted PoT programs and EoT systems.

    from mathdistill.execution.sandbox import Sandbox
    with Sandbox(workers=2, memory_mb=512) as box:
        box.run_programs(["x = 3\\nanswer = x * 4"], timeout=5.0)   # [Result(12.0, None, '')]
        box.solve_equations(["a = 2\\nans = a * 3"])                 # [Result(6.0, ...)]

Design: each worker is a fresh interpreter (`subprocess`, like the "spawn" start method
but with an explicit protocol) running `mathdistill.execution.worker`. Why not
`multiprocessing`: results come back as plain JSON (never unpickled from a process that
ran untrusted code), nothing of the parent (threads, torch, open files, secrets in the
environment) is inherited, and a worker can be SIGKILLed at any moment without corrupting a
shared queue. Programs go to workers in batches (one message per up to `chunk_size`
programs); results stream back in order, at least every 50 ms.

Hangs and crashes. The timeout is CPU time, enforced inside the worker. A worker that sends
nothing for `kill_factor * timeout + kill_grace` s of wall-clock time (a C-level
`sum(range(10**12))`, a program that keeps swallowing its timeout) is SIGKILLed and a new
worker starts in the background; one that used less CPU than that meanwhile was starved by
a busy machine, not hung, and waits longer (`_starved`). The worker writes the id of the item it is running into
8 bytes of shared memory (a memfd; a store, no syscall), so the parent knows the culprit:
it gets `timeout`, and the other unreported items of the batch are re-queued. A worker that
dies on its own (crash) costs its item one retry, then `runtime`. Without the shared page
(no `os.memfd_create`) unreported items go back as a "precise" batch, whose worker reports
after every item, so the culprit shows on the second run. Identical texts in one call run
once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import selectors
import subprocess
import threading
import time
from collections import deque
from pathlib import Path
from typing import Self

from tqdm import tqdm

from mathdistill.execution.isolation import ISOLATION_KEYS as _ISOLATION_KEYS
from mathdistill.execution.isolation import describe
from mathdistill.execution.process import ProtocolError, WorkerProcess
from mathdistill.execution.result import ERRORS, Result

logger = logging.getLogger(__name__)

EQUATIONS = "mathdistill.execution.equations:solve_system"
_SRC_ROOT = str(Path(__file__).resolve().parents[2])
_FLUSH_S = 0.05  # = worker.FLUSH_S (not imported: the worker module is for workers only)


class SandboxError(RuntimeError):
    """The pool cannot run anything (workers fail to start)."""


def default_workers() -> int:
    env = os.environ.get("MATHDISTILL_SANDBOX_WORKERS")
    if env:
        return max(1, int(env))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class Sandbox:
    """A pool of worker processes; a context manager. Safe to share between threads.

    workers: processes (default: usable CPUs or $MATHDISTILL_SANDBOX_WORKERS); memory_mb: the
    address-space limit of each worker (RLIMIT_AS, including the ~60-100 MiB the interpreter
    and SymPy take); timeout: default CPU seconds per program; kill_factor/kill_grace: the
    wall-clock deadline without progress is `kill_factor * timeout + kill_grace`; equations:
    "module:function" run for EoT texts; pythonpath: extra import paths for the workers;
    chunk_size: programs per message; max_tasks_per_worker: recycle a worker after this many
    programs (bounds any state a program could leave behind); max_starved_factor: how many
    times the kill deadline a worker starved of CPU may wait; debug: keep workers' stderr.
    `isolation` (after the first worker started): which OS layers are active
    (`isolation.apply`: uid, netns, landlock ABI, seccomp, audit, missing).
    """

    def __init__(self, workers: int | None = None, *, memory_mb: int = 512,
                 timeout: float = 5.0, kill_factor: float = 2.0, kill_grace: float = 1.0,
                 equations: str | None = EQUATIONS, pythonpath=(), chunk_size: int = 256,
                 max_tasks_per_worker: int = 200_000, start_timeout: float = 120.0,
                 max_starved_factor: float = 10.0, debug: bool = False):
        self.size = workers or default_workers()
        self.memory_mb = int(memory_mb)
        self.timeout = float(timeout)
        self.kill_factor, self.kill_grace = kill_factor, kill_grace
        self.chunk_size = chunk_size
        self.max_tasks = max_tasks_per_worker
        self.start_timeout = start_timeout
        self.max_starved_factor = max_starved_factor
        self.stats = {"started": 0, "killed": 0, "crashed": 0, "recycled": 0}
        self._cfg = {"memory_mb": self.memory_mb, "equations": equations,
                     "pythonpath": [str(p) for p in pythonpath], "parent_pid": os.getpid(),
                     "debug": debug}
        self._env = {"PATH": os.defpath, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
                     "PYTHONPATH": os.pathsep.join([_SRC_ROOT, *self._cfg["pythonpath"]]),
                     # one thread per worker: the pool is the parallelism (and threads
                     # cannot start once the worker is isolated)
                     "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self._workers: list[WorkerProcess] = []
        self._sel = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        self._start_failures = 0
        self.isolation: dict | None = None  # what the first worker reported (`_on_ready`)

    # -- public API ---------------------------------------------------------------------------
    def run_programs(self, programs: list[str], *, timeout: float | None = None,
                     progress: bool = False) -> list[Result]:
        """Run PoT programs; one `Result` per program, in order."""
        return self._run("pot", programs, self.timeout if timeout is None else timeout, progress)

    def solve_equations(self, texts: list[str], *, timeout: float | None = None,
                        progress: bool = False) -> list[Result]:
        """Solve EoT systems with `equations.solve_system` in the workers."""
        return self._run("eot", texts, self.timeout if timeout is None else timeout, progress)

    def close(self) -> None:
        if self._closed or os.getpid() != self._pid:
            return
        self._closed = True
        procs = [w.proc for w in self._workers]
        for w in list(self._workers):
            self._stop(w, kill=w.chunk is not None or not w.ready)
        deadline = time.monotonic() + 2.0  # idle workers exit on EOF
        for proc in procs:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._sel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        with contextlib.suppress(Exception):  # interpreter shutdown: best effort
            self.close()

    @property
    def pids(self) -> list[int]:
        """Process ids of the current workers (for monitoring)."""
        return [w.pid for w in self._workers]

    @property
    def usable(self) -> bool:
        """Not closed, and created by this process (a forked child must make its own)."""
        return not self._closed and os.getpid() == self._pid

    def kill_deadline(self, timeout: float) -> float:
        """Seconds without progress after which a worker's current item is killed."""
        return self.kill_factor * timeout + self.kill_grace + _FLUSH_S

    # -- the scheduler ------------------------------------------------------------------------
    def _run(self, kind: str, texts, timeout: float, progress: bool) -> list[Result]:
        texts = list(texts)
        if os.getpid() != self._pid:
            raise SandboxError("this Sandbox belongs to the parent process; create a new one")
        if self._closed:
            raise SandboxError("the Sandbox is closed")
        results: list[Result | None] = [None] * len(texts)
        uids: dict[str, int] = {}  # text -> unique id; duplicates run once
        owners: list[list[int]] = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                results[i] = Result(None, "syntax", f"expected a string, got {type(text).__name__}")
                continue
            uid = uids.setdefault(text, len(owners))
            if uid == len(owners):
                owners.append([])
            owners[uid].append(i)
        todo = list(uids.items())  # [(text, uid)]
        if not todo:
            return results
        with self._lock, tqdm(total=len(todo), disable=not progress, desc=f"sandbox {kind}",
                              unit="prog") as bar:
            state = _Run(kind, timeout, self._chunks(todo), owners, results, bar)
            try:
                self._loop(state)
            except BaseException:
                for w in list(self._workers):  # leave no worker half-way through a batch
                    if w.chunk is not None:
                        self._stop(w, kill=True)
                raise
        return results

    def _chunks(self, todo) -> deque:
        per = max(1, min(self.chunk_size, math.ceil(len(todo) / (4 * self.size))))
        chunks, cur, size = deque(), [], 0  # of (items, precise)
        for text, uid in todo:
            cur.append((uid, text))
            size += len(text)
            if len(cur) >= per or size > 2**20:
                chunks.append((cur, False))
                cur, size = [], 0
        if cur:
            chunks.append((cur, False))
        return chunks

    def _loop(self, st: _Run) -> None:
        while st.remaining:
            self._fill()
            for w in self._workers:
                if w.ready and w.chunk is None and st.queue:
                    self._send(w, st)
            now = time.monotonic()
            deadlines = [w.kill_at for w in self._workers if w.chunk is not None]
            deadlines += [w.started + self.start_timeout for w in self._workers if not w.ready]
            wait = max(0.0, min(deadlines) - now) if deadlines else 0.1
            for key, _ in self._sel.select(min(wait, 1.0)):
                self._read(key.data, st)
            now = time.monotonic()
            for w in list(self._workers):
                if w.chunk is not None and now > w.kill_at and not self._starved(w, st, now):
                    uid, _ = w.chunk[w.done]
                    logger.debug("killing worker %s: no progress on item %s", w.pid, uid)
                    self.stats["killed"] += 1
                    self._fail(w, st, Result(None, "timeout", (
                        f"killed after {now - w.progress_at:.1f} s without finishing "
                        f"(wall clock; CPU limit {st.timeout:g} s)")))
                elif not w.ready and now > w.started + self.start_timeout:
                    self._start_failed(w, f"no ready message within {self.start_timeout:g} s")

    def _starved(self, w: WorkerProcess, st: _Run, now: float) -> bool:
        """Past its deadline, but it used less than `kill_factor * timeout + kill_grace` s of
        CPU since its last progress (a hung item burns CPU): it waits until it has, or for
        `max_starved_factor` times the deadline (a blocked worker)."""
        cpu = w.cpu_seconds()
        cpu_limit = self.kill_factor * st.timeout + self.kill_grace
        hard_limit = w.progress_at + self.max_starved_factor * self.kill_deadline(st.timeout)
        if cpu is None or cpu - w.cpu_at >= cpu_limit or now >= hard_limit:
            return False
        w.kill_at = min(hard_limit, now + max(0.05, cpu_limit - (cpu - w.cpu_at)))
        return True

    def _send(self, w: WorkerProcess, st: _Run) -> None:
        (w.chunk, w.precise), w.done = st.queue.popleft(), 0
        w.mark_progress(self.kill_deadline(st.timeout))
        w.send({"kind": st.kind, "timeout": st.timeout, "items": w.chunk,
                "flush": 0.0 if w.precise else _FLUSH_S})

    def _read(self, w: WorkerProcess, st: _Run | None) -> None:
        try:
            lines = w.read_lines()
        except ProtocolError as e:
            self._protocol_error(w, st, str(e))
            return
        if lines is None:
            self._died(w, st)
            return
        for line in lines:
            if w not in self._workers:
                return
            try:
                msg = json.loads(line)
            except ValueError:
                self._protocol_error(w, st, "malformed message")
                return
            if not w.ready:
                self._on_ready(w, msg)
            elif not self._accept(w, st, msg):
                self._protocol_error(w, st, "unexpected results")
                return

    def _on_ready(self, w: WorkerProcess, msg) -> None:
        if not isinstance(msg, dict) or not msg.get("ready"):
            error = msg.get("error") if isinstance(msg, dict) else None
            self._stop(w, kill=True)
            raise SandboxError(f"sandbox worker failed to start: {error or msg!r}")
        w.ready, w.info = True, msg
        self._start_failures = 0
        if self.isolation is None:  # said once per pool
            self.isolation = {k: msg.get(k) for k in _ISOLATION_KEYS}
            logger.info("sandbox isolation: %s", describe(msg))
            if msg.get("missing"):
                logger.warning("sandbox: isolation layers unavailable on this machine: %s; "
                               "active: %s", "; ".join(msg["missing"]), describe(msg))
        if msg.get("solver_error") and self._cfg["equations"]:
            logger.warning("sandbox: EoT solver unavailable: %s", msg["solver_error"])

    def _accept(self, w: WorkerProcess, st: _Run | None, msg) -> bool:
        if st is None or w.chunk is None or not isinstance(msg, list):
            return False
        for row in msg:
            if not (isinstance(row, list) and len(row) == 4 and w.done < len(w.chunk)
                    and row[0] == w.chunk[w.done][0]):
                return False
            _, value, error, detail = row
            if error is None and isinstance(value, (int, float)) and math.isfinite(value):
                res = Result(float(value), None, "")
            elif error in ERRORS and value is None:
                res = Result(None, error, str(detail)[:300])
            else:
                return False
            st.finish(row[0], res)
            w.done += 1
            w.tasks += 1
        w.mark_progress(self.kill_deadline(st.timeout))
        if w.done == len(w.chunk):
            w.chunk = None
            if w.tasks >= self.max_tasks:
                self.stats["recycled"] += 1
                self._stop(w, kill=False)
        return True

    def _fail(self, w: WorkerProcess, st: _Run | None, result: Result | None) -> None:
        """Stop `w` (hung: `result` is its timeout; crashed: None) and re-queue its batch.

        In a normal batch any unreported item may be the culprit: all go back as a precise
        batch. In a precise batch the first unreported item is it: it gets `result` (a crash:
        one retry, then `runtime`); the items after it go back as a normal batch."""
        chunk, done, precise = w.chunk, w.done, w.precise
        current = w.current()
        reason = w.exit_reason() if result is None else ""
        self._stop(w, kill=True)
        if chunk is None or st is None:
            return
        pos = next((k for k in range(done, len(chunk)) if chunk[k][0] == current), None)
        if pos is not None:  # the shared page names the culprit
            uid, text = chunk[pos]
            others = chunk[done:pos] + chunk[pos + 1:]
            if result is None and not st.retried.get(uid):
                st.retried[uid] = True
                others = chunk[done:]
            else:
                st.finish(uid, result or Result(
                    None, "runtime", f"the program killed its worker ({reason})"))
            if others:
                st.queue.appendleft((others, False))
            return
        if not precise:
            st.queue.appendleft((chunk[done:], True))
            return
        uid, text = chunk[done]
        rest = chunk[done + 1:]
        if result is None and not st.retried.get(uid):
            st.retried[uid] = True
            rest, result = [(uid, text)] + rest, None
        elif result is None:
            result = Result(None, "runtime", f"the program killed its worker ({reason})")
        if result is not None:
            st.finish(uid, result)
        if rest:
            st.queue.appendleft((rest, result is None))

    def _died(self, w: WorkerProcess, st: _Run | None) -> None:
        if not w.ready:
            self._start_failed(w, f"exited during startup ({w.exit_reason()})")
            return
        if w.chunk is not None:
            self.stats["crashed"] += 1
            logger.debug("sandbox worker %s died (%s)", w.pid, w.exit_reason())
        self._fail(w, st, None)

    def _protocol_error(self, w: WorkerProcess, st: _Run | None, why: str) -> None:
        logger.warning("sandbox worker %s: %s; replacing it", w.pid, why)
        if w.chunk is None or st is None:
            self._stop(w, kill=True)
        else:
            self._fail(w, st, Result(None, "runtime", f"worker protocol error: {why}"))

    def _start_failed(self, w: WorkerProcess, why: str) -> None:
        self._stop(w, kill=True)
        self._start_failures += 1
        if self._start_failures >= 3:
            raise SandboxError(f"sandbox workers keep failing to start: {why}")

    # -- processes ----------------------------------------------------------------------------
    def _fill(self) -> None:
        while len(self._workers) < self.size:
            self._spawn()

    def _spawn(self) -> None:
        w = WorkerProcess(self._cfg, self._env, debug=self._cfg["debug"])
        self._workers.append(w)
        self._sel.register(w.fd, selectors.EVENT_READ, w)
        self.stats["started"] += 1

    def _stop(self, w: WorkerProcess, *, kill: bool) -> None:
        if w in self._workers:
            self._workers.remove(w)
            self._sel.unregister(w.fd)
        w.chunk = None
        w.stop(kill=kill)


class _Run:
    """The state of one `_run` call."""

    def __init__(self, kind, timeout, queue, owners, results, bar):
        self.kind, self.timeout, self.queue = kind, float(timeout), queue
        self.owners, self.results, self.bar = owners, results, bar
        self.remaining = len(owners)
        self.retried: dict[int, bool] = {}

    def finish(self, uid: int, result: Result) -> None:
        for i in self.owners[uid]:
            self.results[i] = result
        self.remaining -= 1
        self.bar.update(1)
