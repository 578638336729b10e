"""`mathdistill data fetch` against a local HTTP server on 127.0.0.1 serving the data dir
($MATHDISTILL_DATA, i.e. ../shared/data), and `data_dir()`'s resolution order.

The registry's checksums are checked against the real files here (test_registry_*), so a
fetch from the public sources yields exactly the files of ../shared/data.
"""

from __future__ import annotations

import dataclasses
import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from mathdistill import data
from mathdistill.cli import main
from mathdistill.data import loaders, paths, published, sources
from mathdistill.data.fetch import FetchError, fetch, sha256, verify
from mathdistill.io import DataError

ALL = [f.path for f in sources.FILES]


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves `directory`; records each path; `truncate` paths get half their bytes."""

    truncate: frozenset = frozenset()

    def __init__(self, *a, log: list, **kw):
        self._log = log
        super().__init__(*a, **kw)

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self._log.append(self.path)
        if self.path.lstrip("/") in self.truncate:
            body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])  # then the connection closes
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture
def serve():
    """serve(directory, truncate=()) -> (base URL, list of requested paths)."""
    servers = []

    def start(directory, truncate=()):
        log: list[str] = []
        handler = type("H", (_Handler,), {"truncate": frozenset(truncate)})
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(directory), log=log))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", log

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _cli(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


# ---------------------------------------------------------------- the registry
def test_registry_matches_the_data_dir(data_dir):
    """Every pinned sha256 and size is that of the file in ../shared/data, and the
    registry covers every data file there (its README is the project's own, not fetched)."""
    assert verify(data_dir) == {path: "ok" for path in ALL}
    for f in sources.FILES:
        assert (data_dir / f.path).stat().st_size == f.size, f.path
    on_disk = {str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file()}
    assert on_disk - set(ALL) <= {"README.md"}


def test_registry_covers_the_loaders():
    needed = {path for spec in loaders.REGISTRY.values()
              for path in [*spec.files.values(),
                           *(p for opt in (spec.options or {}).values() for p in opt.values())]}
    # the papers' HF-only splits are not in the fetch registry (no verifiable checksum): each
    # of them must name its public source instead (data.published.SOURCES)
    published_only = {path for name, spec in loaders.REGISTRY.items()
                      for split, path in spec.files.items() if (name, split) in published.SOURCES}
    assert len(published_only) == len(published.SOURCES)
    assert needed - published_only <= set(ALL)
    assert set(sources.DATASETS) == set(loaders.REGISTRY)


def test_registry_entries_are_pinned():
    for f in sources.FILES:
        assert len(f.sha256) == 64 and int(f.sha256, 16) >= 0
        assert f.remotes and f.dataset in f.path.split("/")[0]
        for source, _remote in f.remotes:
            assert source.base.startswith("https://") and source.base.endswith("/")
            assert source.verified
            if "raw.githubusercontent.com" in source.base:  # a full commit id, not a branch
                assert len(source.revision) == 40 and source.revision in source.base
    assert len({f.path for f in sources.FILES}) == len(sources.FILES)
    with pytest.raises(ValueError, match="unknown data set 'gsm9k'.*gsm8k"):
        sources.files(["gsm9k"])


# ---------------------------------------------------------------- fetch
def test_fetch_everything_then_load_each_data_set(tmp_path, data_dir, serve, monkeypatch,
                                                  capsys):
    url, log = serve(data_dir)
    cache = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    monkeypatch.setattr(paths, "_REPO", tmp_path / "clone")  # no ../shared/data beside it
    monkeypatch.chdir(tmp_path)

    rc, out, _ = _cli(capsys, "data", "fetch", "--mirror", url, "--no-progress")
    assert rc == 0 and "11 files downloaded, 0 already present" in out
    dest = paths.cache_dir()
    assert dest == cache / "mathdistill" / "data"
    assert sorted(log) == sorted(f"/{p}" for p in ALL)
    assert _tree(dest) == sorted({*ALL, *(p.split("/")[0] for p in ALL)})  # no staging left
    for path in ALL:
        assert sha256(dest / path) == sha256(data_dir / path)

    assert data.data_dir() == dest  # found after $MATHDISTILL_DATA and ../shared/data
    for name, spec in loaders.REGISTRY.items():
        for split in spec.files:
            if (name, split) in published.SOURCES:  # not fetched (see the test below)
                continue
            got = data.load(name, split)
            want = data.load(name, split, data_dir=data_dir)
            assert got == want and got, (name, split)
    assert data.load("gsm8k", "test", socratic=True) == \
        data.load("gsm8k", "test", socratic=True, data_dir=data_dir)


def test_rerun_is_a_no_op_and_repairs_an_altered_file(tmp_path, data_dir, serve):
    url, log = serve(data_dir)
    dest = tmp_path / "data"
    first = fetch(dest, mirror=url, datasets=["svamp", "multiarith"], progress=False)
    assert sorted(first.fetched) == ["multiarith/MultiArith.json", "svamp/LICENSE",
                                     "svamp/SVAMP.json"]
    log.clear()
    again = fetch(dest, mirror=url, datasets=["svamp", "multiarith"], progress=False)
    assert again.fetched == [] and len(again.present) == 3 and log == []

    (dest / "svamp" / "SVAMP.json").write_text("[]")  # altered by hand
    repaired = fetch(dest, mirror=url, datasets=["svamp", "multiarith"], progress=False)
    assert repaired.fetched == ["svamp/SVAMP.json"] and log == ["/svamp/SVAMP.json"]
    assert sha256(dest / "svamp" / "SVAMP.json") == sha256(data_dir / "svamp" / "SVAMP.json")


def _copy(data_dir: Path, dest: Path, names: list[str]) -> Path:
    for name in names:
        shutil.copytree(data_dir / name, dest / name)
    return dest


def test_wrong_checksum_writes_nothing(tmp_path, data_dir, serve, capsys):
    mirror = _copy(data_dir, tmp_path / "mirror", ["gsm8k", "svamp"])
    bad = mirror / "svamp" / "SVAMP.json"
    bad.write_bytes(bad.read_bytes().replace(b"51.0", b"52.0", 1))
    url, _ = serve(mirror)
    dest = tmp_path / "cache" / "data"  # neither folder exists yet

    rc, _, err = _cli(capsys, "data", "fetch", "--dest", dest, "--mirror", url,
                      "--datasets", "gsm8k", "svamp", "--no-progress")
    line = err.strip().splitlines()[-1]
    assert rc == 2 and line.startswith("mathdistill data fetch: error: svamp/SVAMP.json: ")
    assert "5be77703a6d8" in line and sha256(bad) in line and "nothing was written" in line
    assert not (tmp_path / "cache").exists()  # not even the folders, nor gsm8k's good files

    existing = tmp_path / "existing"
    (existing / "gsm8k").mkdir(parents=True)
    (existing / "gsm8k" / "note.txt").write_text("mine")
    with pytest.raises(FetchError, match="svamp/SVAMP.json"):
        fetch(existing, mirror=url, datasets=["gsm8k", "svamp"], progress=False)
    assert _tree(existing) == ["gsm8k", "gsm8k/note.txt"]


def test_interrupted_download_leaves_nothing(tmp_path, data_dir, serve):
    url, _ = serve(data_dir, truncate={"asdiv/ASDiv.xml"})
    dest = tmp_path / "data"
    with pytest.raises(FetchError, match=r"asdiv/ASDiv.xml: .*IncompleteRead"):
        fetch(dest, mirror=url, datasets=["svamp", "asdiv"], progress=False)
    assert not dest.exists()


def test_ctrl_c_leaves_nothing(tmp_path, data_dir, serve, monkeypatch):
    import pooch

    url, _ = serve(data_dir)
    real = pooch.HTTPDownloader.__call__
    calls = []

    def interrupted(self, url, output_file, pooch_obj, check_only=False):
        calls.append(url)
        if len(calls) == 2:  # the second file: half written, then Ctrl-C
            Path(output_file).write_bytes(b"partial")
            raise KeyboardInterrupt
        return real(self, url, output_file, pooch_obj, check_only=check_only)

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", interrupted)
    dest = tmp_path / "data"
    dest.mkdir()
    with pytest.raises(KeyboardInterrupt):
        fetch(dest, mirror=url, datasets=["svamp"], progress=False)
    assert _tree(dest) == []


def test_fallback_url_and_every_failure_reported(tmp_path, data_dir, serve, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    dead, _ = serve(empty)
    good, _ = serve(data_dir / "svamp")
    f = sources.DataFile("svamp", "svamp/SVAMP.json", sha256(data_dir / "svamp/SVAMP.json"),
                         (data_dir / "svamp/SVAMP.json").stat().st_size,
                         ((sources.Source("dead", dead + "/", "x", "test"), "SVAMP.json"),
                          (sources.Source("good", good + "/", "x", "test"), "SVAMP.json")),
                         "MIT")
    monkeypatch.setattr(sources, "FILES", (f,))
    report = fetch(tmp_path / "a", progress=False)
    assert report.fetched == ["svamp/SVAMP.json"]

    monkeypatch.setattr(sources, "FILES", (dataclasses.replace(f, remotes=f.remotes[:1] * 2),))
    with pytest.raises(FetchError) as e:
        fetch(tmp_path / "b", progress=False)
    assert str(e.value).count("404 Client Error") == 2 and not (tmp_path / "b").exists()


def test_bad_names_and_verify_cli(tmp_path, data_dir, capsys):
    rc, _, err = _cli(capsys, "data", "fetch", "--dest", tmp_path, "--datasets", "gsm9k")
    assert rc == 2 and "unknown data set 'gsm9k'" in err

    rc, out, _ = _cli(capsys, "data", "verify", "--data-dir", data_dir)
    assert rc == 0 and f"all {len(ALL)} files" in out
    copy = _copy(data_dir, tmp_path / "copy", ["gsm8k"])
    (copy / "gsm8k" / "test.jsonl").write_text("{}\n")
    rc, out, err = _cli(capsys, "data", "verify", "--data-dir", copy, "--datasets", "gsm8k")
    assert rc == 2 and f"{copy}/gsm8k/test.jsonl: sha256 mismatch" in out
    assert "1 of 4 data files missing or altered" in err
    rc, out, _ = _cli(capsys, "data", "verify", "--data-dir", copy)
    assert rc == 2 and f"{copy}/asdiv/ASDiv.xml: missing" in out


# ---------------------------------------------------------------- data_dir() resolution
def test_data_dir_resolution_order(tmp_path, monkeypatch):
    clone, work = tmp_path / "a" / "clone", tmp_path / "b" / "work"
    repo_data, cwd_data = tmp_path / "a" / "shared" / "data", tmp_path / "b" / "shared" / "data"
    env_data, given = tmp_path / "env", tmp_path / "given"
    for d in (clone, work, repo_data, cwd_data, env_data, given):
        d.mkdir(parents=True)
    monkeypatch.setattr(paths, "_REPO", clone)
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache = paths.cache_dir()
    cache.mkdir(parents=True)
    monkeypatch.setenv(paths.ENV_VAR, str(env_data))

    assert paths.data_dir(given) == given
    assert paths.data_dir() == env_data
    monkeypatch.setenv(paths.ENV_VAR, "")  # empty: unset
    assert paths.data_dir() == repo_data.resolve()
    repo_data.rmdir()
    assert paths.data_dir() == cwd_data.resolve()
    cwd_data.rmdir()
    assert paths.data_dir() == cache
    cache.rmdir()
    with pytest.raises(DataError, match="tried .*shared/data.*mathdistill/data.*"
                                        "python -m mathdistill data fetch"):
        paths.data_dir()
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "nope"))  # explicit: no fallback
    with pytest.raises(DataError, match=r"nope: data directory not found \(\$MATHDISTILL"):
        paths.data_dir()
    with pytest.raises(DataError, match="given"):
        paths.data_dir(tmp_path / "given-not")


def test_missing_file_says_how_to_fetch_it(tmp_path):
    with pytest.raises(DataError, match=r"gsm8k/test.jsonl: data file not found .*"
                                        r"data fetch --datasets gsm8k"):
        data.load("gsm8k", "test", data_dir=tmp_path)

