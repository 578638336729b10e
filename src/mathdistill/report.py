"""Comparison tables from metrics, teacher filter statistics and training logs (Markdown + CSV).

    from mathdistill.report import write_tables
    texts = write_tables(metrics_files, filter_stats_files, train_log_files, "results/tables")
    print(texts["accuracy"])     # Markdown; CSVs beside: accuracy.csv, teacher.csv, training.csv

Tables:
- accuracy: one row per (method, student, round), one column per data set (accuracy in %),
  plus `mean` (unweighted over the data sets of that row); the n per data set is listed under it.
  Seed replicates (metrics `seed`) are averaged: `seeds` counts them, `<set>_ci_low/high` is
  the 95% interval (mathdistill.stats: t over seeds; one seed: Wilson over the test
  problems), `mean_ci_low/high` a t interval of the seeds' means; Markdown shows
  `mean [low, high]` where there are >= 2 seeds.
- teacher: per (teacher, strategy): rationales generated, kept, dropped, drop rate, reasons,
  with the teacher's cost (calls and tokens paid over every run, from the job's ledger);
  then one cost row per kind of call of the other teacher jobs (FDD questions and labels,
  Tailored feedback: `call_cost_files`).
- training: per (method, student, round, seed): examples, steps, first / final loss, time.
- strategies: per (method, student, round, seed, data set): accuracy, the share of each strategy
  among the answers (`share_<s>`; Combined/SIKeD: the tag the student chose, ETD: the format
  that answered), their accuracy (`acc_<s>`), each queried format's own accuracy (ETD Table 3,
  `queried_<s>`) and the fallback counts (`pot->eot`, ...); all in % except the counts;
  `string_match` where predictions carry it (Tailored Learning: the authors' string
  equality, beside the numeric accuracy).
Round "pretrained" (Tailored Learning's untrained, few-shot student) sorts before round 0.
A missing value is an empty CSV cell and "-" in Markdown, never a number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from mathdistill.io import DataError, read_json, write_text
from mathdistill.stats import aggregate_seeds

__all__ = ["accuracy_table", "markdown", "strategy_table", "teacher_table", "training_table",
           "write_tables"]

KEYS = ["method", "student", "round"]
PRETRAINED = "pretrained"  # a round before any training (Tailored Learning's few-shot S_0)


def _by_round(col: pd.Series) -> pd.Series:
    """Sort key: the pretrained round before round 0."""
    return col.map(lambda r: -1 if r == PRETRAINED else r) if col.name == "round" else col


def _need(d: dict, keys, path) -> None:
    missing = [k for k in keys if k not in d]
    if missing:
        raise DataError(f"{path}: missing field(s) {', '.join(missing)}")


def accuracy_table(metrics: Sequence[dict]) -> tuple[pd.DataFrame, dict[str, int]]:
    """(table, n per data set): rows method/student/round(/strategy), columns data sets in %
    (mean over seeds) and their 95% intervals; see the module docstring."""
    long, strategy, sizes = [], {}, {}
    for m in metrics:
        key = tuple(m[k] for k in KEYS)
        if m.get("by_strategy"):
            strategy[key] = "+".join(sorted(m["by_strategy"]))
        long.append({**dict(zip(KEYS, key)), "seed": m.get("seed", 0), "dataset": m["dataset"],
                     "value": m.get("accuracy"), "n_examples": m.get("n")})
        sizes[m["dataset"]] = max(sizes.get(m["dataset"], 0), m.get("n", 0))
    datasets = list(dict.fromkeys(m["dataset"] for m in metrics))
    cis = [f"{d}_ci_{e}" for d in [*datasets, "mean"] for e in ("low", "high")] if datasets else []
    cols = KEYS + ["strategy", "seeds"] + datasets + (["mean"] if datasets else []) + cis
    if not long:
        return pd.DataFrame(columns=cols), sizes
    long = pd.DataFrame(long)
    dup = long.duplicated(KEYS + ["seed", "dataset"])
    if dup.any():
        r = long[dup].iloc[0]
        raise DataError(f"metrics: two results for {r[KEYS + ['seed', 'dataset']].to_dict()}")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    by_set = {(*k[:-1], k[-1]): r for k, r in _agg(long, KEYS + ["dataset"]).iterrows()}
    wide = long.pivot(index=KEYS + ["seed"], columns="dataset", values="value")
    seed_means = wide.reindex(columns=datasets).mean(axis=1, skipna=False).rename("value")
    by_mean = dict(_agg(seed_means.reset_index(), KEYS).iterrows())
    rows = []
    for key, g in long.groupby(KEYS, sort=False):
        row = {**dict(zip(KEYS, key)), "strategy": strategy.get(key), "seeds": g["seed"].nunique()}
        for d in [*datasets, "mean"]:
            a = by_mean.get(key) if d == "mean" else by_set.get((*key, d))
            row[d] = None if a is None else 100.0 * a["mean"]
            for e in ("low", "high"):
                row[f"{d}_ci_{e}"] = None if a is None else 100.0 * a[f"ci_{e}"]
        rows.append(row)
    df = pd.DataFrame(rows, columns=cols).astype({c: float for c in cols[5:]})
    return df.sort_values(KEYS, kind="stable", key=_by_round).reset_index(drop=True), sizes


def _agg(long: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """aggregate_seeds indexed by `keys` (rows without a value are left out)."""
    return aggregate_seeds(long, keys).set_index(keys)


def accuracy_markdown(df: pd.DataFrame) -> str:
    """The accuracy table without CI columns; `mean [low, high]` where seeds >= 2."""
    show = df[[c for c in df.columns if "_ci_" not in c]].astype(object)
    for c in show.columns[5:]:
        for i in df.index[(df["seeds"] >= 2) & df[f"{c}_ci_low"].notna()]:
            show.loc[i, c] = (f"{df.loc[i, c]:.1f} [{df.loc[i, f'{c}_ci_low']:.1f}, "
                              f"{df.loc[i, f'{c}_ci_high']:.1f}]")
    return markdown(show)


COST_COLUMNS = {"requests": "calls", "cached": "cached", "failed": "failed",
                "prompt_tokens": "tokens_in", "completion_tokens": "tokens_out"}
PAID = ("requests", "prompt_tokens", "completion_tokens")  # from the ledger when there is one


def _cost_cells(run: dict, ledger: dict | None) -> dict:
    """Cost columns: calls and tokens paid over every run of the job (its ledger, killed
    runs included), cache hits and failures of the run that wrote the record."""
    return {name: (ledger if ledger is not None and key in PAID else run).get(key, 0)
            for key, name in COST_COLUMNS.items()}


def call_rows(cost: dict) -> list[dict]:
    """One teacher-table row per kind of call of a job's cost record (teachers.job):
    FDD question generation and labelling, Tailored feedback, ..."""
    by_call = (cost.get("ledger") or {}).get("by_call") or {}
    rows = []
    for call, run in sorted((cost.get("calls") or {}).items()):
        strategy = call.partition(":")[2]
        rows.append({"teacher": cost.get("teacher"), "strategy": strategy or None,
                     "job": cost.get("label"), "call": call,
                     **_cost_cells(run, by_call.get(call, {} if cost.get("ledger") else None))})
    return rows


def teacher_table(stats: Sequence[dict], costs: Sequence[dict] = (),
                  call_costs: Sequence[dict] = ()) -> pd.DataFrame:
    """One row per (teacher, strategy) with the filter's kept/dropped counts and reasons, and
    (given `costs`, aligned with `stats`) the teacher's calls, cache hits and tokens; then
    a cost row per kind of call of every record in `call_costs` (FDD, Tailored jobs)."""
    rows = []
    for s in stats:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(s.get("by_error", {}).items(),
                                                         key=lambda kv: -kv[1]))
        rows.append({"teacher": s.get("teacher"), "strategy": s.get("strategy"),
                     "total": s["total"], "kept": s["kept"], "dropped": s["dropped"],
                     "drop_rate": 100.0 * s["drop_rate"], "reasons": reasons})
    columns = ["teacher", "strategy", "total", "kept", "dropped", "drop_rate", "reasons"]
    if costs or call_costs:
        columns[2:2] = ["job", "call"]
        columns += list(COST_COLUMNS.values())
    for row, cost in zip(rows, costs, strict=True) if costs else ():
        row.update({"job": cost.get("label", "teach"), "call": f"rationale:{row['strategy']}",
                    **_cost_cells(cost, cost.get("ledger"))})
    extra = [r for c in call_costs for r in call_rows(c)]
    df = pd.DataFrame(rows, columns=columns).sort_values(["teacher", "strategy"], kind="stable")
    if extra:
        df = pd.concat([df, pd.DataFrame(extra, columns=columns)], ignore_index=True)
    return df.reset_index(drop=True)


def training_table(logs: Sequence[dict]) -> pd.DataFrame:
    cols = KEYS + ["seed", "examples", "epochs", "steps", "first_loss", "final_loss", "seconds"]
    rows = [{c: log.get(c) for c in cols} for log in logs]
    if any(log.get("sr_losses") for log in logs):  # Tailored Learning's self-reflection loss
        cols.insert(cols.index("seconds"), "final_sr_loss")
        for row, log in zip(rows, logs):
            sr = [x for x in log.get("sr_losses") or () if x is not None]
            row["final_sr_loss"] = sr[-1] if sr else None
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(KEYS + ["seed"], kind="stable").reset_index(drop=True)


def _pct(v):
    return None if v is None else 100.0 * v


def strategy_table(metrics: Sequence[dict]) -> pd.DataFrame:
    """One row per (method, student, round, seed, data set): strategy shares and accuracies,
    queried-as accuracies and fallback counts (columns only for what some row has)."""
    rows, groups = [], {"share": set(), "acc": set(), "queried": set(), "hops": {}}
    for m in metrics:
        row = {**{k: m[k] for k in KEYS}, "seed": m.get("seed", 0), "dataset": m["dataset"],
               "n": m.get("n"),
               "accuracy": _pct(m.get("accuracy"))}
        for s, v in (m.get("strategy_share") or {}).items():
            row[f"share_{s}"] = _pct(v)
            groups["share"].add(s)
        for s, v in (m.get("by_strategy") or {}).items():
            row[f"acc_{s}"] = _pct(v.get("accuracy"))
            groups["acc"].add(s)
        for s, v in (m.get("queried_as") or {}).items():
            row[f"queried_{s}"] = _pct(v.get("accuracy"))
            groups["queried"].add(s)
        for hop, c in (m.get("fallbacks") or {}).items():
            row[hop] = c
            groups["hops"][hop] = None
        if m.get("string_match"):  # Tailored Learning: upstream's string equality
            row["string_match"] = _pct(m["string_match"].get("accuracy"))
        rows.append(row)
    order = {s: i for i, s in enumerate(("cot", "pot", "eot", "l2m"))}
    cols = KEYS + ["seed", "dataset", "n", "accuracy"]
    for g in ("share", "acc", "queried"):
        cols += [f"{g}_{s}" for s in sorted(groups[g], key=lambda s: (order.get(s, 9), s))]
    cols += list(groups["hops"])
    if any("string_match" in r for r in rows):
        cols.insert(cols.index("accuracy") + 1, "string_match")
    df = pd.DataFrame(rows, columns=cols)
    for hop in groups["hops"]:  # counts stay integers (a missing count is None, not NaN)
        df[hop] = pd.Series([None if pd.isna(v) else int(v) for v in df[hop]], dtype=object)
    return df.sort_values(KEYS + ["seed", "dataset"], kind="stable",
                          key=_by_round).reset_index(drop=True)


def _cell(v, digits: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def markdown(df: pd.DataFrame, digits: int = 1) -> str:
    """A GitHub Markdown table; floats with `digits` decimals, missing values as "-"."""
    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "|".join(" --- " for _ in df.columns) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, digits) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _read_all(paths, keys) -> list[dict]:
    out = []
    for p in paths:
        d = read_json(p)
        _need(d, keys, p)
        out.append(d)
    return out


def write_tables(metrics_files: Sequence, filter_stats_files: Sequence,
                 train_log_files: Sequence, outdir, cost_files: Sequence = (),
                 call_cost_files: Sequence = ()) -> dict[str, str]:
    """Write accuracy/teacher/training/strategies tables (.md, .csv) in `outdir`; returns the
    Markdown. `cost_files`: the teacher's cost.json per filter_stats file (same order);
    `call_cost_files`: the teacher_cost.json of other teacher jobs (FDD, Tailored)."""
    outdir = Path(outdir)
    acc, sizes = accuracy_table(_read_all(metrics_files, KEYS + ["dataset", "accuracy", "n"]))
    teacher = teacher_table(_read_all(filter_stats_files, ["total", "kept", "dropped",
                                                            "drop_rate"]),
                            _read_all(cost_files, []), _read_all(call_cost_files, []))
    training = training_table(_read_all(train_log_files, KEYS))
    strategies = strategy_table(_read_all(metrics_files, KEYS + ["dataset"]))
    n_line = ", ".join(f"{d} {n}" for d, n in sizes.items())
    texts = {
        "accuracy": "# Accuracy (%)\n\n" + accuracy_markdown(acc)
                    + f"\nProblems per data set: {n_line}. With >= 2 seeds: mean over the "
                      "seeds [95% t interval]; accuracy.csv has every interval.\n",
        "teacher": "# Teacher rationales kept by the filter\n\n" + markdown(teacher)
                   + "\ndrop_rate in %; reasons: why rationales were dropped; job, call: the "
                     "teacher job and kind of call; calls, tokens_in/out: the requests and "
                     "tokens paid over every run of the job (its cost ledger, killed runs "
                     "included); cached, failed: cache hits and failed completions of the "
                     "run that finished.\n",
        "training": "# Training\n\n" + markdown(training, digits=3),
        "strategies": "# Strategies per method, round and data set\n\n" + markdown(strategies)
                      + "\nshare_/acc_/queried_ in %: share of the answers in each strategy, "
                        "their accuracy, each format's own accuracy when queried with its "
                        "trigger (ETD); a->b: answers that fell back from a to b; "
                        "string_match (Tailored Learning): accuracy by the authors' string "
                        "equality, beside the numeric accuracy; round pretrained: the "
                        "untrained student.\n",
    }
    for name, df in (("accuracy", acc), ("teacher", teacher), ("training", training),
                     ("strategies", strategies)):
        write_text(outdir / f"{name}.md", texts[name])
        write_text(outdir / f"{name}.csv", df.to_csv(index=False))
    return texts
