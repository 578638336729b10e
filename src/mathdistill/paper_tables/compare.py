"""Reproduced rows -> per-seed aggregates joined with the reported numbers.

    from mathdistill.paper_tables.compare import rows_from_metrics, teacher_rows, compare
    df = pd.DataFrame(rows_from_metrics(metrics) + teacher_rows(filter_stats))
    cmp = compare(df, load_reported(), student_map={"my-t5": "codet5-small"})
    # one row per reported cell: reported, reproduced (mean %), diff, ci_low/high, ci_kind, seeds

Input columns and matching rules: see mathdistill.paper_tables and the header of
config/paper_results.yaml.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

from mathdistill.io import DataError
from mathdistill.paper_tables.reported import (
    AVG,
    DATASETS,
    KEY,
    METRICS,
    PRETRAINED,
    SINGLE,
    Reported,
    load_reported,
)
from mathdistill.stats import aggregate_seeds

__all__ = ["IDENTITY", "SETTING_DEFAULTS", "compare", "rows_from_metrics", "teacher_rows"]

SINGLE_BY_STRATEGY = {s: m for m, s in SINGLE.items()}
# setting columns kept apart whenever the reproduced rows carry them, though no paper table
# names them (two teachers' rows are two reproduced values, never one mean)
IDENTITY = ("teacher",)
# a reported cell without one of these settings stands for its default: a run trained on a
# subset (ETD Fig. 5's data sizes) matches only the cells that name its size
SETTING_DEFAULTS = {"train_examples": "all"}
_PRE = -1  # the "pretrained" round, internally (before round 0; never a "final" round)


def rows_from_metrics(metrics: Iterable[Mapping]) -> list[dict]:
    """metrics.json dicts -> reproduced rows; an optional `queried_as` mapping
    {strategy: {"accuracy", "n"}} adds one row per queried format."""
    rows = []
    for m in metrics:
        base = {"metric": "accuracy", "method": m["method"], "student": m["student"],
                "dataset": m["dataset"], "round": m["round"], "seed": m.get("seed", 0)}
        string = (m.get("string_match") or {}).get("accuracy")
        rows.append({**base, "strategy": m.get("strategy"), "value": m["accuracy"],
                     "n_examples": m.get("n"), **({"string_value": string}
                                                   if string is not None else {})})
        for s, q in (m.get("queried_as") or {}).items():
            if s == SINGLE.get(m["method"]) and not m.get("strategy"):
                continue  # a single-strategy method's own answer: already the row above
            rows.append({**base, "strategy": s, "value": q["accuracy"], "n_examples": q.get("n")})
    return rows


def teacher_rows(filter_stats: Iterable[Mapping], dataset: str = "gsm8k") -> list[dict]:
    """filter_stats.json dicts (per teacher strategy) -> drop_rate/sampled/kept rows (ETD
    Table 1). `dataset` is the train set the teacher annotated; only gsm8k matches the paper."""
    rows = []
    for s in filter_stats:
        base = {"method": SINGLE_BY_STRATEGY.get(s["strategy"], s["strategy"]), "student": None,
                "dataset": dataset, "round": 0, "strategy": s["strategy"],
                "seed": s.get("seed", 0)}
        rows += [{**base, "metric": "drop_rate", "value": s["drop_rate"], "n_examples": s["total"]},
                 {**base, "metric": "sampled", "value": s["total"]},
                 {**base, "metric": "kept", "value": s["kept"]}]
    return rows


def _norm_strategy(method: str, strategy) -> str:
    strategy = "" if strategy is None or (isinstance(strategy, float) and math.isnan(strategy)) \
        else str(strategy)
    return strategy or SINGLE.get(method, "")


def _round(r):
    return _PRE if r == PRETRAINED else r


def _prepare(df: pd.DataFrame, student_map, method_map, settings, dataset_map) -> pd.DataFrame:
    """Validated, normalised copy: value (fraction), "" for no student/strategy, int rounds;
    columns other than the key, seed, value, n_examples and `settings` are dropped."""
    df = df.copy()
    if df.empty:  # nothing reproduced yet: every cell shows "–"
        df = pd.DataFrame(columns=["metric", "method", "student", "dataset", "round",
                                   "strategy", "seed", "value"])
    if "value" not in df and "accuracy" not in df:
        raise DataError("reproduced rows: need a 'value' or 'accuracy' column")
    if "n_examples" not in df and "n" in df:  # metrics.json's n = test problems
        df = df.rename(columns={"n": "n_examples"})
    if "accuracy" in df:  # accuracy fills the rows without a value (e.g. mixed with teacher_rows)
        acc = df.pop("accuracy")
        df["value"] = df["value"].fillna(acc) if "value" in df else acc
    missing = [c for c in ("method", "student", "dataset", "round") if c not in df]
    if missing:
        raise DataError(f"reproduced rows: missing column(s) {missing}")
    for col, default in (("metric", "accuracy"), ("seed", 0), ("strategy", None)):
        if col not in df:
            df[col] = default
    df["metric"] = df["metric"].fillna("accuracy")
    unknown = sorted(set(df["metric"]) - set(METRICS))
    if unknown:
        raise DataError(f"reproduced rows: unknown metric(s) {unknown}")
    df["student"] = [student_map.get(s, s) if isinstance(s, str) else "" for s in df["student"]]
    df["method"] = [method_map.get(m, m) for m in df["method"]]
    df = df.explode("method", ignore_index=True)  # a run may stand for several paper keys
    df["dataset"] = [dataset_map.get(d, d) for d in df["dataset"]]
    df["strategy"] = [_norm_strategy(m, s) for m, s in zip(df["method"], df["strategy"])]
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    rounds = pd.to_numeric(df["round"].map(_round), errors="coerce")
    bad = rounds.isna() | (rounds != rounds.round()) | (rounds < _PRE)
    if bad.any():
        raise DataError(f"reproduced rows: round must be an integer >= 0 or "
                        f"'{PRETRAINED}', got {df['round'][bad].tolist()[:3]}")
    df["round"] = rounds.astype(int)
    pct = df["metric"].map(METRICS) == "percent"
    bad = df[pct & ((df["value"] > 1) | (df["value"] < 0))]
    if len(bad):
        r = bad.iloc[0]
        raise DataError(f"reproduced rows: {r['metric']} must be a fraction in [0, 1] (not a "
                        f"percent); got {r['value']} for {r['method']}/{r['student']}/"
                        f"{r['dataset']}")
    df = df[[c for c in (*KEY, "seed", "value", "n_examples", "string_value", *settings)
             if c in df]]
    dup = df.duplicated(KEY + ["seed"] + [c for c in settings if c in df], keep=False)
    if dup.any():
        r = df[dup].iloc[0]
        raise DataError(f"reproduced rows: duplicate run {r[KEY + ['seed']].to_dict()}")
    return df


def _with_averages(df: pd.DataFrame, settings: list[str]) -> pd.DataFrame:
    """Add per-run 'avg' rows (mean of the four data sets; `var` for the one-run interval)."""
    acc = df[(df["metric"] == "accuracy") & df["dataset"].isin(DATASETS)]
    group = [c for c in KEY if c != "dataset"] + ["seed"] + settings
    rows = []
    for key, g in acc.groupby(group, dropna=False, sort=False):
        g = g.dropna(subset=["value"])
        if sorted(g["dataset"]) != sorted(DATASETS):
            continue
        sizes = g["n_examples"] if "n_examples" in g else pd.Series([None] * len(g))
        var = (sum(p * (1 - p) / n for p, n in zip(g["value"], sizes)) / len(DATASETS) ** 2
               if sizes.notna().all() and (sizes > 0).all() else None)
        rows.append({**dict(zip(group, key)), "dataset": AVG, "value": g["value"].mean(),
                     "var": var})
    return pd.concat([df, pd.DataFrame(rows)], ignore_index=True) if rows else df


# ---- the comparison ----------------------------------------------------------------------

def _plain(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _string_means(df: pd.DataFrame, keys: list[str]) -> dict:
    """{key tuple: mean string-equality accuracy over seeds} (Tailored Learning's score)."""
    if "string_value" not in df or df["string_value"].isna().all():
        return {}
    agg = aggregate_seeds(df.astype({c: object for c in keys}), keys, value="string_value")
    return {_key(r, keys): r["mean"] for _, r in agg.iterrows()}


def _key(row, keys) -> tuple:
    """The values of `keys` in `row`, missing ones (NaN) as None: a dict key."""
    return tuple(None if not isinstance(row[k], str) and pd.isna(row[k]) else row[k]
                 for k in keys)


def compare(reproduced: pd.DataFrame, reported: Reported | None = None, *,
            student_map: Mapping | None = None, method_map: Mapping | None = None,
            dataset_map: Mapping | None = None) -> pd.DataFrame:
    """One row per reported cell (and per matching reproduced setting), in file order.
    `dataset_map`: reproduced data set (eval set) name -> the paper's data set key."""
    reported = reported or load_reported()
    known = {k for e in reported.entries for k, _ in e.setting} | set(SETTING_DEFAULTS)
    settings = [c for c in (*sorted(known), *IDENTITY) if c in reproduced]
    df = _prepare(reproduced, dict(student_map or {}), dict(method_map or {}), settings,
                  dict(dataset_map or {}))
    df = _with_averages(df, settings)
    agg = aggregate_seeds(df.astype({c: object for c in settings}), KEY + settings)
    strings = _string_means(df, KEY + settings)
    index = {k: g for k, g in agg.groupby(["metric", "method", "student", "dataset", "strategy"],
                                          sort=False)}
    out = []
    for e in reported.entries:
        strategy = _norm_strategy(e.method, e.strategy)
        cand = index.get((e.metric, e.method, e.student, e.dataset, strategy))
        matches = []
        if cand is not None:
            named = dict(e.setting)
            for k, v in [*e.setting, *((k, d) for k, d in SETTING_DEFAULTS.items()
                                        if k not in named)]:
                if k in cand:
                    cand = cand[cand[k].isna() | (cand[k] == v)]
            if e.round == "final" and len(cand):
                cand = cand[cand["round"] != _PRE]
                others = [c for c in settings if c in cand]
                last = cand.groupby(others, dropna=False)["round"].transform("max") \
                    if others and len(cand) else cand["round"].max()
                cand = cand[cand["round"] == last]
            elif e.round != "final":
                cand = cand[cand["round"] == _round(e.round)]
            matches = [r for _, r in cand.iterrows()]
        scale = 100.0 if METRICS[e.metric] == "percent" else 1.0
        for m in matches or [None]:
            rep = None if m is None else m["mean"] * scale
            out.append({
                "paper": e.paper, "table": e.table, "metric": e.metric,
                "student": e.student, "method": e.method, "queried_as": e.strategy,
                "round": e.round,
                "reproduced_round": None if m is None else _shown_round(m["round"]),
                "dataset": e.dataset, "reported": e.value, "reproduced": rep,
                "diff": None if rep is None or e.value is None else rep - e.value,
                "reproduced_string": None if m is None else _scaled(
                    strings.get(_key(m, KEY + settings)), scale),
                "ci_low": None if m is None or pd.isna(m["ci_low"]) else m["ci_low"] * scale,
                "ci_high": None if m is None or pd.isna(m["ci_high"]) else m["ci_high"] * scale,
                "ci_kind": "" if m is None else m["ci_kind"],
                "seeds": 0 if m is None else int(m["n"]),
                "n_examples": None if m is None else m["n_examples"],
                "setting": ", ".join(f"{k}={_plain(v)}" for k, v in e.setting),
                "reproduced_setting": "" if m is None else ", ".join(
                    f"{c}={_plain(m[c])}" for c in settings if not pd.isna(m[c])),
                "tag": e.tag, "flag": e.flag, "note": e.note, "line": e.line})
    return pd.DataFrame(out)


def _shown_round(r):
    return PRETRAINED if int(r) == _PRE else int(r)


def _scaled(v, scale):
    return None if v is None or pd.isna(v) else v * scale
