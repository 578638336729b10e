"""Where the real data sets live, and checked paths into them.

    from mathdistill.data.paths import cache_dir, data_dir, data_file
    root = data_dir()                        # arg > $MATHDISTILL_DATA > ../shared/data > cache
    path = data_file("gsm8k/train.jsonl")    # DataError naming the path if it is missing
    cache_dir()                              # where `mathdistill data fetch` writes by default

Resolution order of `data_dir(path)`:
1. `path`, when given;
2. the environment variable `MATHDISTILL_DATA`, when set (and non-empty);
3. `../shared/data` relative to the repository checkout (the package lives at
   `<repo>/src/mathdistill`), then relative to the current working directory;
4. the user cache that `python -m mathdistill data fetch` fills by default: `cache_dir()`,
   `mathdistill/data` in the platform's user cache directory (platformdirs; on Linux
   `$XDG_CACHE_HOME/mathdistill/data`, by default `~/.cache/mathdistill/data`).
An explicit path or env var that does not exist raises `DataError` (no silent fallback);
when none of 3-4 exists, the error lists what was tried and says how to fetch the data.
"""

from __future__ import annotations

import os
from pathlib import Path

from mathdistill.io import DataError

ENV_VAR = "MATHDISTILL_DATA"
FETCH_HINT = "python -m mathdistill data fetch"
_REPO = Path(__file__).resolve().parents[3]  # <repo>/src/mathdistill/data/paths.py
_RELATIVE = Path("..") / "shared" / "data"


def cache_dir() -> Path:
    """The default destination of `mathdistill data fetch` (the last place `data_dir` looks)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("mathdistill", appauthor=False)) / "data"


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
    for candidate in [(base / _RELATIVE).resolve() for base in (_REPO, Path.cwd())] + [cache_dir()]:
        if candidate.is_dir():
            return candidate
        tried.append(str(candidate))
    raise DataError(
        f"data directory not found: tried {', '.join(dict.fromkeys(tried))}; "
        f"download the data sets with `{FETCH_HINT}`, or pass data_dir= or set ${ENV_VAR}"
    )


def data_file(relative: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """`data_dir(root) / relative`; DataError naming the full path if it is not a file."""
    path = data_dir(root) / relative
    if not path.is_file():
        raise DataError(f"{path}: data file not found")
    return path
