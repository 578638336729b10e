"""report: tables from hand-made metrics, filter stats and training logs."""

import math

import pandas as pd
import pytest

from mathdistill.io import DataError, write_json
from mathdistill.report import accuracy_markdown, accuracy_table, markdown, write_tables
from mathdistill.stats import t_critical, wilson


def metric(method, dataset, acc, n=10, strategy="pot", seed=None):
    m = {"method": method, "student": "tiny", "round": 0, "dataset": dataset,
         "accuracy": acc, "n": n, "by_strategy": {strategy: {}}}
    return m if seed is None else {**m, "seed": seed}


def test_accuracy_table_rows_columns_and_mean():
    df, sizes = accuracy_table([metric("potd", "a", 0.5), metric("potd", "b", 0.25),
                                metric("cotd", "a", 0.1, strategy="cot"),
                                metric("cotd", "b", 0.3, n=20, strategy="cot")])
    assert list(df.columns) == ["method", "student", "round", "strategy", "seeds", "a", "b",
                                "mean", "a_ci_low", "a_ci_high", "b_ci_low", "b_ci_high",
                                "mean_ci_low", "mean_ci_high"]
    assert list(df["method"]) == ["cotd", "potd"]
    potd = df[df.method == "potd"].iloc[0]
    assert potd["a"] == pytest.approx(50.0) and potd["mean"] == pytest.approx(37.5)
    assert df[df.method == "cotd"].iloc[0]["strategy"] == "cot"
    assert sizes == {"a": 10, "b": 20}


def test_seeds_are_averaged_with_t_intervals():
    accs = {0: (0.5, 0.2), 1: (0.6, 0.3), 2: (0.7, 0.1)}
    ms = [metric("potd", d, accs[s][i], n=100, seed=s)
          for s in accs for i, d in enumerate(("a", "b"))]
    ms.append(metric("cotd", "a", 0.25, n=40, seed=0))
    ms.append(metric("cotd", "b", 0.5, n=40, seed=0))
    df, _ = accuracy_table(ms)
    potd = df.set_index("method").loc["potd"]
    assert potd["seeds"] == 3 and potd["a"] == pytest.approx(60.0)
    half = t_critical(2) * 0.1 / math.sqrt(3) * 100  # sd of 0.5, 0.6, 0.7 = 0.1
    assert (potd["a_ci_low"], potd["a_ci_high"]) == pytest.approx((60 - half, 60 + half))
    seed_means = [35.0, 45.0, 40.0]
    assert potd["mean"] == pytest.approx(40.0)
    half = t_critical(2) * 5.0 / math.sqrt(3)
    assert (potd["mean_ci_low"], potd["mean_ci_high"]) == pytest.approx((40 - half, 40 + half))
    assert potd["mean"] == pytest.approx(sum(seed_means) / 3)
    cotd = df.set_index("method").loc["cotd"]  # one seed: Wilson over the 40 problems
    assert cotd["seeds"] == 1
    assert (cotd["a_ci_low"], cotd["a_ci_high"]) == pytest.approx(
        tuple(100 * x for x in wilson(0.25, 40)))
    assert math.isnan(cotd["mean_ci_low"])
    md = accuracy_markdown(df)
    assert f"| 60.0 [{60 - t_critical(2) * 10 / math.sqrt(3):.1f}, " in md
    assert "| cotd | tiny | 0 | pot | 1 | 25.0 | 50.0 | 37.5 |" in md and "_ci_" not in md


def test_a_repeated_run_is_an_error():
    with pytest.raises(DataError, match="two results"):
        accuracy_table([metric("potd", "a", 0.5, seed=1), metric("potd", "a", 0.4, seed=1)])


def test_missing_accuracy_is_not_a_number():
    df, _ = accuracy_table([metric("potd", "a", None, n=0), metric("potd", "b", 0.5)])
    assert math.isnan(df.loc[0, "a"]) and math.isnan(df.loc[0, "mean"])
    assert "| - |" in markdown(df[["a"]])


def test_write_tables_md_and_csv(tmp_path):
    files = []
    for i, (m, d, a) in enumerate([("potd", "syn", 0.4), ("potd", "gsm8k", 0.05),
                                   ("cotd", "syn", 0.2), ("cotd", "gsm8k", 0.0)]):
        files.append(tmp_path / f"m{i}.json")
        write_json(files[-1], metric(m, d, a))
    stats = tmp_path / "s.json"
    write_json(stats, {"teacher": "annotated", "strategy": "pot", "total": 10, "kept": 9,
                       "dropped": 1, "drop_rate": 0.1, "by_error": {"syntax": 1}})
    logs = [tmp_path / "t.json"]
    write_json(logs[0], {"method": "potd", "student": "tiny", "round": 0, "examples": 9,
                         "first_loss": 5.0, "final_loss": 1.25, "seconds": 3.0})
    texts = write_tables(files, [stats], logs, tmp_path / "tables")
    acc = pd.read_csv(tmp_path / "tables" / "accuracy.csv")
    assert acc.set_index("method").loc["potd", "syn"] == pytest.approx(40.0)
    assert "| potd | tiny | 0 | pot | 1 | 40.0 | 5.0 | 22.5 |" in texts["accuracy"]
    teacher = pd.read_csv(tmp_path / "tables" / "teacher.csv")
    assert teacher.loc[0, "drop_rate"] == pytest.approx(10.0)
    assert "syntax 1" in (tmp_path / "tables" / "teacher.md").read_text()
    training = pd.read_csv(tmp_path / "tables" / "training.csv")
    assert training.loc[0, "final_loss"] == pytest.approx(1.25)


def test_write_tables_names_file_with_missing_field(tmp_path):
    bad = tmp_path / "bad.json"
    write_json(bad, {"method": "potd"})
    with pytest.raises(DataError, match="bad.json: missing field"):
        write_tables([bad], [], [], tmp_path / "tables")


def test_teacher_table_shows_teacher_cost(tmp_path):
    stats = tmp_path / "s.json"
    write_json(stats, {"teacher": "openai", "strategy": "pot", "total": 4, "kept": 3,
                       "dropped": 1, "drop_rate": 0.25, "by_error": {"wrong_answer": 1}})
    cost = tmp_path / "cost.json"
    write_json(cost, {"teacher": "openai", "requests": 3, "cached": 1, "failed": 0,
                      "prompt_tokens": 1200, "completion_tokens": 340})
    write_tables([], [stats], [], tmp_path / "tables", cost_files=[cost])
    teacher = pd.read_csv(tmp_path / "tables" / "teacher.csv")
    row = teacher.iloc[0]
    assert (row["calls"], row["cached"], row["tokens_in"], row["tokens_out"]) == (3, 1, 1200, 340)
    assert "tokens_in" in (tmp_path / "tables" / "teacher.md").read_text()


def test_teacher_table_has_a_cost_row_for_every_kind_of_call(tmp_path):
    """Calls/tokens come from the job's ledger (every run, killed ones too); FDD and
    Tailored teacher jobs get one row per kind of call."""
    stats = tmp_path / "s.json"
    write_json(stats, {"teacher": "openai", "strategy": "cot", "total": 4, "kept": 4,
                       "dropped": 0, "drop_rate": 0.0})
    cost = tmp_path / "cost.json"
    write_json(cost, {"teacher": "openai", "label": "teach cot", "requests": 1, "cached": 3,
                      "failed": 0, "prompt_tokens": 100, "completion_tokens": 10,
                      "ledger": {"requests": 5, "prompt_tokens": 500, "completion_tokens": 50}})
    fdd = tmp_path / "teacher_cost.json"
    calls = {"question:harder": {"requests": 2, "cached": 0, "failed": 1},
             "rationale:pot": {"requests": 4, "cached": 1, "failed": 0}}
    write_json(fdd, {"teacher": "openai", "label": "fdd questions+labels (r1)", "calls": calls,
                     "ledger": {"by_call": {"question:harder": {"requests": 3, "prompt_tokens": 30,
                                                                "completion_tokens": 6}}}})
    write_tables([], [stats], [], tmp_path / "tables", cost_files=[cost], call_cost_files=[fdd])
    t = pd.read_csv(tmp_path / "tables" / "teacher.csv")
    assert list(t["call"]) == ["rationale:cot", "question:harder", "rationale:pot"]
    assert list(t["calls"]) == [5, 3, 0] and list(t["tokens_in"]) == [500, 30, 0]
    assert list(t["cached"]) == [3, 0, 1] and list(t["failed"]) == [0, 1, 0]
    assert list(t["strategy"].fillna("-")) == ["cot", "harder", "pot"]
    assert t.loc[1, "job"] == "fdd questions+labels (r1)" and pd.isna(t.loc[1, "kept"])
