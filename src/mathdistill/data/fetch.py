"""Download the data sets of the registry (`data.sources`) into a data directory, checked.

    from mathdistill.data.fetch import fetch, verify
    report = fetch()                          # every data set -> paths.cache_dir()
    report.fetched, report.present            # paths downloaded / already there and intact
    fetch("mydata", datasets=["gsm8k"])       # one data set into ./mydata
    fetch(mirror="http://127.0.0.1:8000")     # an offline mirror with ../shared/data's layout
    verify()                                  # {path: "ok" | "missing" | "sha256 mismatch"}

Command line: `python -m mathdistill data fetch [--dest DIR] [--mirror URL] [--datasets ...]`
and `python -m mathdistill data verify [--data-dir DIR]`.

All or nothing: every missing (or altered) file is downloaded with pooch (a tqdm bar per
file) into a staging folder inside the destination, and its sha256 is checked against the
registry; only when every file is verified are they moved into place (`os.replace`, atomic
per file). A wrong checksum, an HTTP error or an interrupted download (Ctrl-C included)
removes the staging folder, and the folders this call created, and raises `FetchError`
(a `DataError`: the CLI prints it on one line and exits 2): nothing is written. A file
with several URLs tries them in order; the error lists each URL's failure. Files already
present with the pinned sha256 are not downloaded again, so a rerun is a no-op.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mathdistill.data import sources
from mathdistill.data.paths import cache_dir, data_dir
from mathdistill.io import DataError

__all__ = ["FetchError", "FetchReport", "fetch", "sha256", "verify"]

logger = logging.getLogger(__name__)

TIMEOUT_S = 60  # per HTTP request (connect / between bytes)


class FetchError(DataError):
    """A data file could not be downloaded with its pinned checksum; nothing was written."""


@dataclass
class FetchReport:
    dest: Path
    fetched: list[str] = field(default_factory=list)  # downloaded now
    present: list[str] = field(default_factory=list)  # already there with the right sha256


def sha256(path: str | os.PathLike) -> str:
    import pooch

    return pooch.file_hash(str(path), alg="sha256")


def _intact(path: Path, f: sources.DataFile) -> bool:
    return path.is_file() and path.stat().st_size == f.size and sha256(path) == f.sha256


def _new_dirs(path: Path) -> list[Path]:
    """`path` and the ancestors that do not exist yet, deepest first (removed on failure)."""
    missing = []
    for p in [path, *path.parents]:
        if p.exists():
            break
        missing.append(p)
    return missing


@contextlib.contextmanager
def _quiet_pooch():
    """pooch logs each download at INFO with the staging path; this module logs instead."""
    import pooch

    log = pooch.get_logger()
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        log.setLevel(level)


def _download(f: sources.DataFile, target: Path, mirror: str | None, progress: bool,
              timeout: float) -> str:
    """Download `f` to `target` (pooch: temp file, sha256 check, rename); the URL used."""
    import pooch

    errors = []
    for url in f.urls(mirror):
        logger.info("%s <- %s", f.path, url)
        try:
            pooch.retrieve(url, known_hash=f"sha256:{f.sha256}", fname=target.name,
                           path=target.parent,
                           downloader=pooch.HTTPDownloader(progressbar=progress,
                                                           timeout=timeout))
            return url
        except ValueError as e:  # pooch: checksum mismatch (the download is deleted)
            errors.append(f"{url}: {str(e).split('. Deleted')[0]}")
        except OSError as e:  # requests' errors are OSErrors: HTTP status, network, truncation
            errors.append(f"{url}: {e}")
    raise FetchError(f"{f.path}: no copy with the pinned sha256 {f.sha256} could be "
                     f"downloaded ({'; '.join(errors)}); nothing was written")


def fetch(dest: str | os.PathLike | None = None, *, mirror: str | None = None,
          datasets: Iterable[str] | None = None, progress: bool = True,
          timeout: float = TIMEOUT_S) -> FetchReport:
    """Download the registry's files of `datasets` (all by default) into `dest`
    (default: `paths.cache_dir()`); see the module docstring."""
    todo = sources.files(datasets)
    dest = Path(dest).expanduser() if dest is not None else cache_dir()
    present = [f for f in todo if _intact(dest / f.path, f)]
    missing = [f for f in todo if f not in present]
    report = FetchReport(dest=dest, present=[f.path for f in present])
    if not missing:
        logger.info("%s: all %d files present with their pinned sha256", dest, len(todo))
        return report
    created = _new_dirs(dest)
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest))
    done = False
    try:
        with _quiet_pooch():
            for f in missing:
                if (dest / f.path).exists():
                    logger.warning("%s: sha256 differs from the pinned one; downloading it "
                                   "again", dest / f.path)
                _download(f, staging / f.path, mirror, progress, timeout)
        for f in missing:  # every file verified: move them into place
            target = dest / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / f.path, target)
            report.fetched.append(f.path)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            for d in created:  # deepest first; only folders this call made, only if empty
                with contextlib.suppress(OSError):
                    d.rmdir()
    logger.info("%s: fetched %d files, %d already present", dest, len(report.fetched),
                len(report.present))
    return report


def verify(root: str | os.PathLike | None = None,
           datasets: Iterable[str] | None = None) -> dict[str, str]:
    """{path: "ok" | "missing" | "sha256 mismatch"} for the registry's files in
    `data_dir(root)` (the resolution order of `paths.data_dir`)."""
    base = data_dir(root)
    out = {}
    for f in sources.files(datasets):
        path = base / f.path
        out[f.path] = ("missing" if not path.is_file()
                       else "ok" if _intact(path, f) else "sha256 mismatch")
    return out
