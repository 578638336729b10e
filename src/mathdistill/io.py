"""JSON/JSONL/YAML reading with file:line errors, and atomic writes (temp file + rename).

    from mathdistill.io import read_jsonl, write_jsonl, read_records
    write_jsonl("out.jsonl", [{"a": 1}])          # never leaves a half-written file
    rows = read_jsonl("out.jsonl")                 # DataError("out.jsonl:3: ...") on bad input
    problems = read_records("data.jsonl", Problem) # validates each line into a record
    for lineno, r in iter_records("r.jsonl", Rationale): ...   # with line numbers
    cfg = read_yaml("teacher.yaml")                # DataError("teacher.yaml:4: invalid YAML: ...")
    with atomic_dir("results/ckpt") as tmp:        # a directory: built in a temp dir beside
        model.save_pretrained(tmp)                 # it, renamed over it only on success
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class DataError(ValueError):
    """Bad input data; the message names the file (and line where there is one)."""


def _read_umask() -> int:
    mask = os.umask(0o022)  # the only portable way to read it: set it, then restore it
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import (os.umask is process-wide: not per call)
_FILE_MODE = 0o666 & ~_UMASK
_DIR_MODE = 0o777 & ~_UMASK


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8"):
    """Open a temp file beside `path`; rename it over `path` only if the block succeeds.

    The file gets the usual permissions (0o666 minus the umask), not mkstemp's 0o600.
    An OSError (directory in the way, no permission) names `path`, not the temp file.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise type(e)(e.errno, e.strerror, str(path)) from None
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as f:
            os.fchmod(f.fileno(), _FILE_MODE)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike):
    """Yield a fresh temp dir beside `path` (.<name>.XXXX.tmp); if the block succeeds it
    replaces `path` (an older `path` is moved aside, then deleted), else it is deleted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    os.chmod(tmp, _DIR_MODE)  # mkdtemp makes it 0700
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
            os.replace(path, old / "x")  # move the old dir aside, then swap in the new one
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(path, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def write_json(path, obj: Any) -> None:
    with atomic_open(path) as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def read_json(path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: invalid JSON: {e.msg}") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start})") from None


def read_yaml(path) -> Any:
    """Parse a YAML file (`yaml.safe_load`); DataError names file:line on bad YAML."""
    import yaml

    path = path if hasattr(path, "read_text") else Path(path)  # also importlib resources
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise DataError(f"{where}: invalid YAML: {getattr(e, 'problem', None) or e}") from None


def write_jsonl(path, rows: Iterable[Any]) -> int:
    """Write rows (dicts, or objects with .to_dict()) atomically; returns the row count."""
    n = 0
    with atomic_open(path) as f:
        for row in rows:
            if hasattr(row, "to_dict"):
                row = row.to_dict()
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")
            n += 1
    return n


def iter_jsonl(path) -> Iterator[tuple[int, Any]]:
    """Yield (line_number, object) for each non-blank line; DataError names file:line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(f"{path}:{lineno}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: invalid JSON: {e.msg}") from None


def read_jsonl(path) -> list[Any]:
    return [obj for _, obj in iter_jsonl(path)]


def iter_records(path, cls: type[T]) -> Iterator[tuple[int, T]]:
    """Yield (line_number, record of `cls`); DataError names file:line of a bad record."""
    for lineno, obj in iter_jsonl(path):
        try:
            record = cls.from_dict(obj)
        except (TypeError, ValueError) as e:
            raise DataError(f"{path}:{lineno}: {e}") from None
        yield lineno, record


def read_records(path, cls: type[T]) -> list[T]:
    """Read a JSONL file into records of `cls` (Problem, Rationale, Prediction)."""
    return [record for _, record in iter_records(path, cls)]
