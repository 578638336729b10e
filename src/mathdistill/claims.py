"""The papers' qualitative claims, tested on this run's predictions (Markdown + CSV).

    from mathdistill.claims import claims_table, write_claims
    runs = [{"method": "potd", "seed": 0, "student": "tiny-t5", "round": 0,
             "dataset": "synthetic", "path": "results/potd/tiny-t5/round0/predictions/synthetic.jsonl"},
            ...]                                  # one entry per prediction file (rule claims)
    methods = config["methods"]                   # name -> {type, strategies, rounds, options}
    df = claims_table(runs, methods)              # one row per claim, student and data set
    write_claims(runs, methods, "results/tables") # claims.md, claims.csv

Claims (each paper's qualitative result; which methods play which part is read from the
methods' `type`, `strategies`, `rounds` and `options`, never from their names):
- ETD (Table 3: PoTD > CoTD): PoT > CoT (a `single` method on [pot] vs one on [cot]).
- ETD: the ETD student >= its best single format (the `single` method, among those on one of
  ETD's strategies, with the highest accuracy on that student and data set).
- SIKeD: its last round >= round 0 (round 0 is the Combined run, or a copy of it).
- FDD: its last round > round 0.
- Tailored Learning: round k > round k-1 (k = 1 .. last), and with self-reflection
  (options.lambda > 0, default 0.5) > without (lambda 0), last rounds compared.

Statistics: A - B in accuracy points on the problems both runs answered. One seed: the paired
Newcombe interval (`stats.diff_ci`: every run answers the same test problems); several seeds
shared by A and B: the mean of the per-seed differences with a t interval over the seeds
(`stats.t_critical`). A and B's own accuracy: Wilson (one seed) or t over the seeds.
Verdict (all 95 %): "holds" when the interval of A - B lies above 0, "does not hold" when it
lies below 0, "inconclusive" otherwise; ">" and ">=" claims are read alike (a ">=" claim
cannot be shown from an interval that straddles 0 without a non-inferiority margin:
`margin` > 0 moves both thresholds to -margin for ">=" claims). "not run": the methods a
claim needs are not in the config (the row says which); "no data": they have no common
problems.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from mathdistill.io import DataError, read_records, write_text
from mathdistill.records import Prediction
from mathdistill.stats import diff_ci, mean_ci, t_critical, wilson

__all__ = ["COLUMNS", "claim_specs", "claims_table", "verdict", "write_claims"]

COLUMNS = ["paper", "claim", "student", "dataset", "a", "b", "a_acc", "a_ci_low", "a_ci_high",
           "b_acc", "b_ci_low", "b_ci_high", "diff", "diff_ci_low", "diff_ci_high", "ci_kind",
           "n", "seeds", "verdict", "note"]


def verdict(low: float, high: float, margin: float = 0.0) -> str:
    """"holds" if low > -margin, "does not hold" if high < -margin, else "inconclusive"."""
    if low > -margin:
        return "holds"
    if high < -margin:
        return "does not hold"
    return "inconclusive"


# ------------------------------------------------------------------ which runs a claim compares
def _of(methods: Mapping[str, Mapping], kind: str) -> list[str]:
    return [m for m, cfg in methods.items() if cfg.get("type") == kind]


def _single_on(methods: Mapping[str, Mapping], strategy: str) -> list[str]:
    return [m for m in _of(methods, "single") if list(methods[m]["strategies"]) == [strategy]]


def _last(methods: Mapping[str, Mapping], m: str) -> int:
    return int(methods[m].get("rounds", 1)) - 1


def _lam(cfg: Mapping) -> float:
    from mathdistill.methods.tailored import DEFAULTS

    return float((cfg.get("options") or {}).get("lambda", DEFAULTS["lambda"]))


def claim_specs(methods: Mapping[str, Mapping]) -> list[dict]:
    """The claims this config can test: {paper, claim, op, a, b} with a/b = (method, round)
    or, for ETD's comparison, b = a list of candidate single methods (the best is taken);
    a claim whose methods are missing comes back with `missing` (what it needs)."""
    specs: list[dict] = []

    def add(paper, claim, op, a=None, b=None, missing=None):
        specs.append({"paper": paper, "claim": claim, "op": op, "a": a, "b": b,
                      "missing": missing})

    pots, cots = _single_on(methods, "pot"), _single_on(methods, "cot")
    for a in pots:
        for b in cots:
            add("ETD", f"PoT > CoT ({a} vs {b})", ">", (a, 0), (b, 0))
    if not (pots and cots):
        add("ETD", "PoT > CoT", ">",
            missing="a single method on [pot] and one on [cot]")
    etds = _of(methods, "etd")
    for m in etds:
        singles = [s for st in methods[m]["strategies"] for s in _single_on(methods, st)]
        if singles:
            add("ETD", f"{m} >= its best single format", ">=", (m, 0), singles)
        else:
            add("ETD", f"{m} >= its best single format", ">=",
                missing=f"single methods on {list(methods[m]['strategies'])}")
    if not etds:
        add("ETD", "ETD >= its best single format", ">=", missing="an etd method")
    for kind, paper, op, text in (("siked", "SIKeD", ">=", "round {r} >= round 0 (Combined)"),
                                  ("fdd", "FDD", ">", "round {r} > round 0")):
        ms = [m for m in _of(methods, kind) if _last(methods, m) >= 1]
        for m in ms:
            r = _last(methods, m)
            add(paper, f"{m}: {text.format(r=r)}", op, (m, r), (m, 0))
        if not ms:
            add(paper, text.format(r="R"), op,
                missing=f"a {kind} method with >= 2 rounds")
    tailored = _of(methods, "tailored")
    for m in tailored:
        for r in range(1, _last(methods, m) + 1):
            add("Tailored Learning", f"{m}: round {r} > round {r - 1}", ">", (m, r), (m, r - 1))
    with_sr = [m for m in tailored if _lam(methods[m]) > 0]
    without = [m for m in tailored if _lam(methods[m]) == 0]
    for a in with_sr:
        for b in without:
            if list(methods[a]["strategies"]) == list(methods[b]["strategies"]):
                add("Tailored Learning", f"self-reflection > without ({a} vs {b}, last rounds)",
                    ">", (a, _last(methods, a)), (b, _last(methods, b)))
    if not (with_sr and without):
        add("Tailored Learning", "self-reflection > without", ">",
            missing="tailored methods with options.lambda > 0 and = 0")
    return specs


# ------------------------------------------------------------------ numbers
def _load(runs: Sequence[Mapping]) -> dict:
    """(method, round, student, dataset) -> {seed: {problem id: correct}}."""
    out: dict = defaultdict(dict)
    for run in runs:
        key = (run["method"], int(run["round"]), run["student"], run["dataset"])
        seed = int(run.get("seed", 0))
        if seed in out[key]:
            raise DataError(f"{run['path']}: a second prediction file for {key}, seed {seed}")
        out[key][seed] = {p.id: bool(p.correct) for p in read_records(run["path"], Prediction)}
    return out


def _acc(by_seed: Mapping[int, Mapping[str, bool]], ids) -> tuple[float, float, float]:
    accs = [sum(by_seed[s][i] for i in ids) / len(ids) for s in sorted(by_seed)]
    if len(accs) == 1:
        return (accs[0], *wilson(accs[0], len(ids)))
    return mean_ci(accs)


def _compare(a: Mapping[int, Mapping[str, bool]], b: Mapping[int, Mapping[str, bool]],
             margin: float) -> dict:
    seeds = sorted(set(a) & set(b))
    ids = sorted(set.intersection(*(set(a[s]) & set(b[s]) for s in seeds))) if seeds else []
    if not ids:
        return {"verdict": "no data", "note": "no seed and problem answered by both",
                "seeds": len(seeds), "n": 0}
    a_, b_ = {s: a[s] for s in seeds}, {s: b[s] for s in seeds}
    if len(seeds) == 1:
        s = seeds[0]
        d, lo, hi = diff_ci([a[s][i] for i in ids], [b[s][i] for i in ids], paired=True)
        kind = "newcombe paired"
    else:
        diffs = [(sum(a[s][i] for i in ids) - sum(b[s][i] for i in ids)) / len(ids)
                 for s in seeds]
        d = sum(diffs) / len(diffs)
        sd = math.sqrt(sum((x - d) ** 2 for x in diffs) / (len(diffs) - 1))
        half = t_critical(len(diffs) - 1) * sd / math.sqrt(len(diffs))
        lo, hi, kind = d - half, d + half, "t over seeds"
    (aa, al, ah), (ba, bl, bh) = _acc(a_, ids), _acc(b_, ids)
    pct = 100.0
    return {"a_acc": pct * aa, "a_ci_low": pct * al, "a_ci_high": pct * ah,
            "b_acc": pct * ba, "b_ci_low": pct * bl, "b_ci_high": pct * bh,
            "diff": pct * d, "diff_ci_low": pct * lo, "diff_ci_high": pct * hi,
            "ci_kind": kind, "n": len(ids), "seeds": len(seeds),
            "verdict": verdict(lo, hi, margin)}


def _label(ref) -> str:
    m, r = ref
    return f"{m} r{r}"


def claims_table(runs: Sequence[Mapping], methods: Mapping[str, Mapping], *,
                 margin: float = 0.0) -> pd.DataFrame:
    """One row per (claim, student, data set); see the module docstring. Accuracies and
    differences in points (%); `margin` (0-1 scale): non-inferiority margin of ">=" claims."""
    data = _load(runs)
    pairs = sorted({(k[2], k[3]) for k in data})
    rows = []
    for spec in claim_specs(methods):
        base = {"paper": spec["paper"], "claim": spec["claim"]}
        if spec["missing"]:
            rows.append({**base, "verdict": "not run", "note": f"needs {spec['missing']}"})
            continue
        m = margin if spec["op"] == ">=" else 0.0
        for student, dataset in pairs:
            a = data.get((*spec["a"], student, dataset))
            if isinstance(spec["b"], list):  # ETD: the best single format on this set
                cands = {s: data[(s, 0, student, dataset)] for s in spec["b"]
                         if (s, 0, student, dataset) in data}
                best = max(cands, key=lambda s: _acc(cands[s], _all_ids(cands[s]))[0],
                           default=None)
                b_ref = (best, 0) if best else None
                note = f"best of {', '.join(spec['b'])}: {best}" if best else ""
            else:
                b_ref, note = spec["b"], ""
            b = data.get((*b_ref, student, dataset)) if b_ref else None
            row = {**base, "student": student, "dataset": dataset, "a": _label(spec["a"]),
                   "b": _label(b_ref) if b_ref else None}
            if a is None or b is None:
                rows.append({**row, "verdict": "no data", "note": "predictions missing"})
                continue
            got = _compare(a, b, m)
            rows.append({**row, **got, "note": "; ".join(x for x in (note, got.pop("note", ""))
                                                         if x)})
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("n", "seeds"):  # counts stay integers (a missing one is empty, not NaN)
        df[col] = df[col].astype("Int64")
    return df


def _all_ids(by_seed: Mapping[int, Mapping[str, bool]]) -> list[str]:
    return sorted(set.intersection(*(set(v) for v in by_seed.values())))


def _cell(v, digits: int = 1) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _ci(row, value: str, prefix: str) -> str:
    """`value [low, high]` of row[value] and row[prefix_ci_low/high]; "-" when missing."""
    v = row.get(value)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    sign = "+" if value == "diff" and v > 0 else ""
    return f"{sign}{v:.1f} [{row[prefix + '_ci_low']:.1f}, {row[prefix + '_ci_high']:.1f}]"


def claims_markdown(df: pd.DataFrame) -> str:
    """The claims as a Markdown table: A and B with their 95 % intervals, A - B, verdict."""
    head = ["paper", "claim", "student", "data set", "A", "A %", "B", "B %", "A - B (points)",
            "n", "verdict", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for row in df.to_dict("records"):
        cells = [row["paper"], row["claim"], row.get("student"), row.get("dataset"),
                 row.get("a"), _ci(row, "a_acc", "a"), row.get("b"), _ci(row, "b_acc", "b"),
                 _ci(row, "diff", "diff"), row.get("n"), row["verdict"],
                 row.get("note")]
        lines.append("| " + " | ".join(_cell(c) if not isinstance(c, str) else c
                                       for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_claims(runs: Sequence[Mapping], methods: Mapping[str, Mapping], outdir, *,
                 margin: float = 0.0) -> str:
    """Write claims.md and claims.csv in `outdir`; returns the Markdown."""
    df = claims_table(runs, methods, margin=margin)
    text = ("# The papers' claims on this run\n\n" + claims_markdown(df)
            + "\nAccuracy in % with 95 % intervals (one seed: Wilson; several: t over seeds). "
              "A - B in points on the same test problems: paired Newcombe interval (one seed) "
              "or t over the per-seed differences. Verdict: holds if the interval of A - B is "
              "above 0, does not hold if it is below 0, inconclusive otherwise.\n")
    outdir = Path(outdir)
    write_text(outdir / "claims.md", text)
    write_text(outdir / "claims.csv", df.to_csv(index=False))
    return text
