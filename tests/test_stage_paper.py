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


def _metric(tmp_path, name, **m):
    path = tmp_path / f"{name}.json"
    write_json(path, {"seed": 0, "round": 0, "n": 100, **m})
    return path


def test_per_run_settings_data_set_map_paper_key_lists_and_pretrained(tmp_path):
    """The workflow's several teachers: per-method settings (teacher, teacher_n,
    train_examples), eval sets mapped to the paper's data sets, a run standing for two
    paper keys, Tailored's pretrained round with the string-equality score beside."""
    files = [
        # ETD Table 2 / Fig. 5: full data and a 1K subset, both codet5-base etd
        _metric(tmp_path, "full", method="etd", student="codet5-base", dataset="asdiv",
                accuracy=0.50, queried_as={"pot": {"accuracy": 0.40, "n": 100}}),
        _metric(tmp_path, "k1", method="etd_1k", student="codet5-base", dataset="asdiv",
                accuracy=0.30, queried_as={"pot": {"accuracy": 0.25, "n": 100}}),
        # SIKeD: all-ASDiv eval set, siked_all standing for siked_onpolicy too (§5)
        _metric(tmp_path, "sk", method="siked_all", student="gemma-2b", dataset="asdiv_all",
                round=3, accuracy=0.59),
        # Tailored: the untrained student, few-shot; numeric and string-equality scores
        _metric(tmp_path, "pre", method="tailored", student="gpt-j-6b", dataset="gsm8k",
                round="pretrained", accuracy=0.03, string_match={"accuracy": 0.02, "n": 100}),
        _metric(tmp_path, "tl", method="tailored", student="gpt-j-6b", dataset="gsm8k",
                round=2, accuracy=0.30, string_match={"accuracy": 0.28, "n": 100}),
    ]
    stats = [tmp_path / "s4.json", tmp_path / "s1.json"]
    for path, teacher, total in ((stats[0], "chatgpt", 29892), (stats[1], "llama", 7473)):
        write_json(path, {"teacher": teacher, "strategy": "cot", "total": total,
                          "kept": total - 100, "dropped": 100, "drop_rate": 100 / total})
    settings = {m: {"teacher": "chatgpt", "teacher_n": 4, "train_examples": "all"}
                for m in ("etd", "tailored")}
    settings["etd_1k"] = {"teacher": "chatgpt", "teacher_n": 4, "train_examples": 1000}
    settings["siked_all"] = {"teacher": "llama", "teacher_n": 1, "train_examples": "all"}
    out = tmp_path / "tables"
    paper_tables(files, stats, out, method_map={"etd_1k": "etd",
                                                "siked_all": ["siked_all", "siked_onpolicy"]},
                 dataset_map={"asdiv_all": "asdiv"}, run_settings=settings,
                 teacher_settings=[{"teacher": "chatgpt", "teacher_n": 4, "dataset": "gsm8k"},
                                   {"teacher": "llama", "teacher_n": 1, "dataset": "gsm8k"}])
    etd = _csv(out, "etd")
    fig5 = etd[etd.table == "fig5"].set_index("setting")
    assert fig5.loc["train_examples=1000", "reproduced"] == pytest.approx(25.0)
    assert pd.isna(fig5.loc["train_examples=500", "reproduced"])
    t2 = etd[(etd.table == "table2") & (etd.student == "codet5-base") & (etd.method == "etd")
             & (etd.dataset == "asdiv")]
    assert list(t2.reproduced) == [pytest.approx(50.0)]  # the full-data run only
    t1 = etd[(etd.table == "table1") & (etd.method == "cotd")]
    assert list(t1.reproduced) == [pytest.approx(100 * 100 / 29892)]  # the 4-path teacher
    assert "teacher=chatgpt" in t1.iloc[0].reproduced_setting
    siked = _csv(out, "siked")
    for table, method in (("table1", "siked_all"), ("sec5-policy", "siked_onpolicy")):
        row = siked[(siked.table == table) & (siked.method == method)
                    & (siked.student == "gemma-2b") & (siked.dataset == "asdiv")].iloc[0]
        assert row.reproduced == pytest.approx(59.0) and int(row.reproduced_round) == 3
    tl = _csv(out, "tailored").set_index("round")
    assert tl.loc["pretrained", "reproduced"] == pytest.approx(3.0)
    assert tl.loc["pretrained", "reproduced_string"] == pytest.approx(2.0)
    final = tl[(tl.index == "final") & (tl.dataset == "gsm8k")].iloc[0]
    assert final.reproduced == pytest.approx(30.0) and str(final.reproduced_round) == "2"
    md = (out / "paper_tailored.md").read_text()
    assert "| string = |" in md and "| pretrained |" in md
    assert "| string = |" not in (out / "paper_etd.md").read_text()
