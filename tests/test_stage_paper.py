"""stages.paper: metrics files of a run -> paper_<id>.{md,csv,tex} (the paper_tables rule)."""

from __future__ import annotations

import pandas as pd
import pytest

from mathdistill.io import write_json
from mathdistill.stages.paper import paper_tables
from mathdistill.stats import t_critical

ACC = {0: 0.30, 1: 0.34, 2: 0.32}  # etd on gsm8k per seed


@pytest.fixture
def run_files(tmp_path):
    metrics = []
    for seed, acc in ACC.items():
        for ds, n in (("gsm8k", 1319), ("asdiv", 2096), ("svamp", 1000), ("multiarith", 600)):
            m = {"method": "my_etd", "run": "my_etd" if seed == 0 else f"my_etd-s{seed}",
                 "seed": seed, "student": "small", "round": 0, "dataset": ds,
                 "accuracy": acc if ds == "gsm8k" else 0.5, "n": n,
                 "queried_as": {"pot": {"accuracy": acc - 0.01, "n": n}}}
            metrics.append(tmp_path / f"m{seed}{ds}.json")
            write_json(metrics[-1], m)
    stats = tmp_path / "cot_stats.json"
    write_json(stats, {"teacher": "openai", "strategy": "cot", "total": 29892, "kept": 24000,
                       "dropped": 5892, "drop_rate": 5892 / 29892})
    return metrics, [stats]


def _csv(out, paper):
    return pd.read_csv(out / f"paper_{paper}.csv")


def test_paper_tables_join_seeds_maps_and_settings(run_files, tmp_path):
    metrics, stats = run_files
    out = tmp_path / "tables"
    paths = paper_tables(metrics, stats, out, student_map={"small": "codet5-base"},
                         method_map={"my_etd": "etd"}, settings={"teacher_n": 4},
                         train_dataset="gsm8k")
    assert set(paths) == {"etd", "siked", "fdd", "tailored"}
    for fmts in paths.values():
        assert all(p.is_file() for p in fmts.values())
    df = _csv(out, "etd")
    t2 = df[(df.table == "table2") & (df.student == "codet5-base") & (df.method == "etd")]
    g = t2[t2.dataset == "gsm8k"].iloc[0]
    assert g.reproduced == pytest.approx(32.0) and g.seeds == 3 and g.ci_kind == "t"
    half = t_critical(2) * 2.0 / 3 ** 0.5  # sd of 30, 34, 32 = 2
    assert (g.ci_low, g.ci_high) == pytest.approx((32 - half, 32 + half))
    assert g["diff"] == pytest.approx(32.0 - 40.63)
    avg = t2[t2.dataset == "avg"].iloc[0]
    assert avg.reproduced == pytest.approx((32.0 + 3 * 50.0) / 4)
    # Fig. 6 (CodeT5-Base, 4 paths) matches the queried-as-PoT value; Table 3 (1 path) not
    fig6 = df[(df.table == "fig6") & (df.queried_as == "pot") & (df.setting == "teacher_n=4")]
    assert fig6.iloc[0].reproduced == pytest.approx(31.0)
    t3 = df[(df.table == "table3") & (df.method == "etd")]
    assert t3.reproduced.isna().all() and len(t3) > 0
    # ETD Table 1 from the teacher's filter statistics
    t1 = df[(df.table == "table1") & (df.method == "cotd")].iloc[0]
    assert t1.reproduced == pytest.approx(100 * 5892 / 29892)
    assert "32.00" in (out / "paper_etd.md").read_text()
    assert r"\begin{longtable}" in (out / "paper_etd.tex").read_text()


def test_unmapped_names_and_other_train_sets_match_nothing(run_files, tmp_path):
    metrics, stats = run_files
    out = tmp_path / "tables"
    paper_tables(metrics, stats, out, settings={"teacher_n": 4}, train_dataset=None)
    df = _csv(out, "etd")
    assert df.reproduced.isna().all()  # "small"/"my_etd" are not paper keys; no teacher rows


def test_no_runs_gives_empty_tables(tmp_path):
    paths = paper_tables([], [], tmp_path / "t", settings={"teacher_n": 4})
    assert _csv(tmp_path / "t", "siked").reproduced.isna().all()
    assert paths["siked"]["tex"].read_text().startswith("% siked")
