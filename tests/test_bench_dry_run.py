"""bench/dry_run.py: the job count of a dry run's output, and two checkouts timed in turn."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("dry_run", REPO / "bench" / "dry_run.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_jobs_of_reads_the_total_row():
    mod = _module()
    assert mod.jobs_of("Job stats:\njob    count\n---  -----\ntrain    3\ntotal    12\n") == 12
    assert mod.jobs_of("Nothing to be done (all requested files are present and up to date).") \
        is None


def test_two_checkouts_are_timed_in_turn(monkeypatch):
    mod = _module()
    calls = []
    walls = iter([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])

    def fake(workdir, config, quiet=True):
        calls.append((workdir.name, quiet))
        if not quiet:  # the untimed run of each checkout: its job count
            return 0.0, 0.0, f"total {10 if workdir.name == 'a' else 20}\n"
        return next(walls), 0.5, ""

    monkeypatch.setattr(mod, "dry_run", fake)
    rows = mod.bench([Path("a"), Path("b")], "config/paper.yaml", 3)
    assert calls == [("a", False), ("b", False)] + [("a", True), ("b", True)] * 3
    assert [(r["jobs"], r["wall_s"], r["median_s"], r["min_s"]) for r in rows] == [
        (10, [1.0, 3.0, 5.0], 3.0, 1.0), (20, [2.0, 4.0, 6.0], 4.0, 2.0)]
    table = mod.markdown(rows)
    assert "| a | config/paper.yaml | 10 | 3 | 3.00 | 1.00 | 0.50 |" in table


def test_a_folder_without_a_snakefile_is_a_one_line_error(tmp_path, capsys):
    mod = _module()
    with pytest.raises(SystemExit) as exit_info:
        mod.main(["--against", str(tmp_path / "missing"), "config/paper.yaml"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'missing'}: no Snakefile (not a mathdistill checkout)" in err
    assert "Traceback" not in err
