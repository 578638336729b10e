"""Append-only on-disk cache of teacher completions (JSONL, one request per line).

    from mathdistill.teachers.cache import CompletionCache, request_key
    cache = CompletionCache("results/.teacher_cache/openai-gpt-3.5-turbo.jsonl")
    key = request_key("openai", "gpt-3.5-turbo", {"messages": [...]}, {"temperature": 0}, [0])
    if (hit := cache.get(key)) is None:
        ...call the API...
        cache.put(key, {"choices": [{"text": "...", "finish_reason": "stop"}], "usage": {...}})

Each entry is written, flushed and fsync'ed as it arrives, under an exclusive `flock`, so a
killed run loses only the requests in flight at that moment (up to the backend's
`concurrency`; their answers, possibly paid for, never reach the cache) and several
processes may share one file. Reloading tolerates a torn last line (SIGKILL mid-write): it
is cut off before appending. Failures are appended too (`ok: false`) for the record; they
are retried on the next run. `path=None` keeps the cache in memory only.

`JsonlLog` is the append-only file underneath (also used by ledger.CostLedger):

    log = JsonlLog("x.jsonl"); log.append({"a": 1}); rows = log.read()   # [(lineno, dict)]
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
from pathlib import Path

logger = logging.getLogger(__name__)


def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def request_key(backend: str, model: str, payload: dict, params: dict, samples) -> str:
    """Stable sha256 of (backend, model, prompt/messages, sampling params, sample indexes)."""
    params = {k: v for k, v in params.items() if v is not None}
    parts = {"backend": backend, "model": model, "payload": payload, "params": params,
             "samples": list(samples)}
    return hashlib.sha256(canonical_json(parts).encode("utf-8")).hexdigest()


class JsonlLog:
    """An append-only JSONL file shared by processes: locked, flushed and fsync'ed appends;
    a torn last line (a writer killed mid-line) is cut off on read, an unreadable line is
    skipped with a warning (`skipped_lines`). `path=None`: appends go nowhere."""

    def __init__(self, path: str | os.PathLike | None):
        self.path = Path(path) if path is not None else None
        self.skipped_lines = 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _locked(self):
        # O_APPEND: every write lands at the end, whatever the read position
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        with os.fdopen(fd, "rb+") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield f
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def read(self) -> list[tuple[int, dict]]:
        """(line number, object) of every readable line, in file order."""
        if self.path is None or not self.path.exists():
            return []
        with self._locked() as f:
            data = f.read()
            end = data.rfind(b"\n") + 1
            if end < len(data):  # torn tail from a killed writer: cut it off
                logger.warning("%s: dropping a torn last line (%d bytes)", self.path, len(data) - end)
                f.truncate(end)
                data = data[:end]
        rows = []
        for lineno, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                self.skipped_lines += 1
                logger.warning("%s:%d: unreadable line skipped", self.path, lineno)
                continue
            rows.append((lineno, obj))
        return rows

    def append(self, entry: dict) -> None:
        if self.path is None:
            return
        line = (canonical_json(entry) + "\n").encode("utf-8")
        with self._locked() as f:
            size = f.seek(0, os.SEEK_END)
            if size and (f.seek(size - 1), f.read(1))[1] != b"\n":
                line = b"\n" + line  # another writer was killed mid-line: isolate its tail
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


class CompletionCache:
    """key -> successful entry (dict with "choices", "usage", ...); failures kept apart."""

    def __init__(self, path: str | os.PathLike | None):
        self.log = JsonlLog(path)
        self.path = self.log.path
        self.entries: dict[str, dict] = {}
        self.failures: dict[str, dict] = {}
        self._load()

    @property
    def skipped_lines(self) -> int:
        return self.log.skipped_lines

    # ---- reading --------------------------------------------------------------------
    def _load(self) -> None:
        for lineno, e in self.log.read():
            key = e.get("key")
            if not isinstance(key, str):
                self.log.skipped_lines += 1
                logger.warning("%s:%d: unreadable cache line skipped", self.path, lineno)
                continue
            if e.get("ok"):
                self.entries[key] = e
                self.failures.pop(key, None)
            elif key not in self.entries:
                self.failures[key] = e

    def get(self, key: str) -> dict | None:
        return self.entries.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    # ---- writing --------------------------------------------------------------------
    def _append(self, entry: dict) -> None:
        self.log.append(entry)

    def put(self, key: str, entry: dict) -> dict:
        """Store a successful completion (entry must hold "choices") and persist it now."""
        if "choices" not in entry:
            raise ValueError("cache entry needs 'choices'")
        entry = {**entry, "key": key, "ok": True, "t": round(time.time(), 6)}
        self._append(entry)
        self.entries[key] = entry
        self.failures.pop(key, None)
        return entry

    def put_failure(self, key: str, error: str, **info) -> dict:
        """Record a request that kept failing (not served from cache: retried next run)."""
        entry = {**info, "key": key, "ok": False, "error": error, "t": round(time.time(), 6)}
        self._append(entry)
        if key not in self.entries:
            self.failures[key] = entry
        return entry
