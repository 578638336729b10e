"""Where the real data sets live, and checked paths into them.

    from mathdistill.data.paths import data_dir, data_file
    root = data_dir()                        # arg > $MATHDISTILL_DATA > ../shared/data
    path = data_file("gsm8k/train.jsonl")    # DataError naming the path if it is missing

Resolution order of `data_dir(path)`:
1. `path`, when given;
2. the environment variable `MATHDISTILL_DATA`, when set (and non-empty);
3. `../shared/data` relative to the repository checkout (the package lives at
   `<repo>/src/mathdistill`), then relative to the current working directory.
An explicit path or env var that does not exist raises `DataError` (no silent fallback).
"""

from __future__ import annotations

import os
from pathlib import Path

from mathdistill.io import DataError

ENV_VAR = "MATHDISTILL_DATA"
_REPO = Path(__file__).resolve().parents[3]  # <repo>/src/mathdistill/data/paths.py
_RELATIVE = Path("..") / "shared" / "data"


def _checked(path: Path, origin: str) -> Path:
    if not path.is_dir():
        raise DataError(f"{path}: data directory not found ({origin})")
    return path


def data_dir(path: str | os.PathLike | None = None) -> Path:
    """The data directory (see the module docstring); DataError if it does not exist."""
    if path is not None:
        return _checked(Path(path).expanduser(), "given data_dir")
    env = os.environ.get(ENV_VAR)
    if env:
        return _checked(Path(env).expanduser(), f"${ENV_VAR}")
    tried = []
    for base in (_REPO, Path.cwd()):
        candidate = (base / _RELATIVE).resolve()
        if candidate.is_dir():
            return candidate
        tried.append(str(candidate))
    raise DataError(
        f"data directory not found: tried {', '.join(tried)}; "
        f"pass data_dir= or set ${ENV_VAR}"
    )


def data_file(relative: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """`data_dir(root) / relative`; DataError naming the full path if it is not a file."""
    path = data_dir(root) / relative
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    return path
