"""claims: which runs each paper's claim compares, the paired statistics and the verdicts."""

import pandas as pd
import pytest

from mathdistill.claims import claim_specs, claims_table, verdict, write_claims
from mathdistill.io import DataError, write_jsonl
from mathdistill.records import Prediction
from mathdistill.stats import diff_ci

METHODS = {
    "cotd": {"type": "single", "strategies": ["cot"], "rounds": 1},
    "potd": {"type": "single", "strategies": ["pot"], "rounds": 1},
    "eotd": {"type": "single", "strategies": ["eot"], "rounds": 1},
    "etd": {"type": "etd", "strategies": ["cot", "pot", "eot"]},
    "combined": {"type": "combined", "strategies": ["cot", "pot", "l2m"]},
    "siked": {"type": "siked", "strategies": ["cot", "pot", "l2m"], "rounds": 2},
    "fdd": {"type": "fdd", "strategies": ["pot"], "rounds": 3},
    "tailored": {"type": "tailored", "strategies": ["cot"], "rounds": 3},
    "tailored_nosr": {"type": "tailored", "strategies": ["cot"], "rounds": 2,
                      "options": {"lambda": 0}},
}


def write_run(tmp_path, method, rnd, correct, seed=0, dataset="synthetic", student="tiny"):
    path = tmp_path / f"{method}-{rnd}-{seed}-{dataset}.jsonl"
    write_jsonl(path, [Prediction(id=f"p{i}", dataset=dataset, strategy="pot", text="",
                                  pred=None, correct=bool(c), answer=1.0)
                       for i, c in enumerate(correct)])
    return {"method": method, "seed": seed, "student": student, "round": rnd,
            "dataset": dataset, "path": str(path)}


def test_newcombe_intervals_match_published_values():
    # independent: Newcombe (1998a) example, 56/70 vs 48/80 -> 0.0524 to 0.3339
    d, lo, hi = diff_ci([1] * 56 + [0] * 14, [1] * 48 + [0] * 32, paired=False)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.2, 0.0524, 0.3339)
    # paired: counts (both, only A, only B, neither) = (59, 6, 16, 80); the R package
    # contingencytables (Fagerland et al.) gives -0.0621 (-0.1186 to -0.0046)
    a = [1] * 59 + [1] * 6 + [0] * 16 + [0] * 80
    b = [1] * 59 + [0] * 6 + [1] * 16 + [0] * 80
    d, lo, hi = diff_ci(a, b)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (-0.0621, -0.1186, -0.0046)


def test_paired_interval_is_narrower_than_independent_for_correlated_runs():
    a = [1] * 40 + [1] * 10 + [0] * 1 + [0] * 49
    b = [1] * 40 + [0] * 10 + [1] * 1 + [0] * 49
    _, plo, phi = diff_ci(a, b)
    _, ilo, ihi = diff_ci(a, b, paired=False)
    assert phi - plo < ihi - ilo
    assert plo > 0 > ilo  # the pairing shows what two independent samples cannot


def test_diff_ci_rejects_bad_input():
    with pytest.raises(ValueError, match="length"):
        diff_ci([1, 0], [1])
    with pytest.raises(ValueError, match="need problems"):
        diff_ci([], [])


def test_verdicts():
    assert verdict(0.01, 0.2) == "holds"
    assert verdict(-0.2, -0.01) == "does not hold"
    assert verdict(-0.05, 0.05) == "inconclusive"
    assert verdict(-0.01, 0.05, margin=0.02) == "holds"


def test_specs_follow_types_not_names():
    specs = {s["claim"]: s for s in claim_specs(METHODS)}
    assert specs["PoT > CoT (potd vs cotd)"]["a"] == ("potd", 0)
    assert specs["etd >= its best single format"]["b"] == ["cotd", "potd", "eotd"]
    assert specs["siked: round 1 >= round 0 (Combined)"]["a"] == ("siked", 1)
    assert specs["fdd: round 2 > round 0"]["b"] == ("fdd", 0)
    assert {"tailored: round 1 > round 0", "tailored: round 2 > round 1",
            "tailored_nosr: round 1 > round 0"} <= set(specs)
    sr = specs["self-reflection > without (tailored vs tailored_nosr, last rounds)"]
    assert (sr["a"], sr["b"]) == (("tailored", 2), ("tailored_nosr", 1))
    renamed = {"x": {**METHODS["potd"]}, "y": {**METHODS["cotd"]}}
    assert claim_specs(renamed)[0]["claim"] == "PoT > CoT (x vs y)"


def test_missing_methods_are_listed_as_not_run(tmp_path):
    runs = [write_run(tmp_path, "potd", 0, [1, 0])]
    df = claims_table(runs, {"potd": METHODS["potd"]})
    assert set(df["verdict"]) == {"not run"}
    assert df["note"].str.startswith("needs ").all()
    assert len(df) == 5  # PoT > CoT, ETD, SIKeD, FDD, self-reflection


def test_table_numbers_and_verdicts(tmp_path):
    n = 200
    runs = [write_run(tmp_path, "potd", 0, [1] * 120 + [0] * 80),
            write_run(tmp_path, "cotd", 0, [1] * 40 + [0] * 160),
            write_run(tmp_path, "eotd", 0, [1] * 100 + [0] * 100),
            write_run(tmp_path, "etd", 0, [1] * 60 + [0] * 140)]
    methods = {k: METHODS[k] for k in ("potd", "cotd", "eotd", "etd")}
    df = claims_table(runs, methods).set_index("claim")
    pot = df.loc["PoT > CoT (potd vs cotd)"]
    assert pot["a_acc"] == pytest.approx(60.0) and pot["b_acc"] == pytest.approx(20.0)
    d, lo, hi = diff_ci([1] * 120 + [0] * 80, [1] * 40 + [0] * 160)
    assert (pot["diff"], pot["diff_ci_low"], pot["diff_ci_high"]) == pytest.approx(
        (100 * d, 100 * lo, 100 * hi))
    assert pot["verdict"] == "holds" and pot["n"] == n and pot["ci_kind"] == "newcombe paired"
    etd = df.loc["etd >= its best single format"]
    assert etd["b"] == "potd r0" and "best of cotd, potd, eotd: potd" in etd["note"]
    assert etd["verdict"] == "does not hold"


def test_equal_runs_are_inconclusive_and_seeds_use_t(tmp_path):
    runs = []
    for seed, (a, b) in enumerate([(60, 50), (62, 50), (58, 52)]):
        runs += [write_run(tmp_path, "fdd", 1, [1] * a + [0] * (100 - a), seed=seed),
                 write_run(tmp_path, "fdd", 0, [1] * b + [0] * (100 - b), seed=seed)]
    methods = {"fdd": {**METHODS["fdd"], "rounds": 2}}
    row = claims_table(runs, methods).set_index("claim").loc["fdd: round 1 > round 0"]
    assert row["ci_kind"] == "t over seeds" and row["seeds"] == 3
    assert row["diff"] == pytest.approx((10 + 12 + 6) / 3)
    assert row["verdict"] == "holds"
    same = [write_run(tmp_path, "fdd", r, [1, 0] * 50, seed=9) for r in (0, 1)]
    row = claims_table(same, methods).set_index("claim").loc["fdd: round 1 > round 0"]
    assert row["diff"] == 0 and row["verdict"] == "inconclusive"


def test_a_second_file_for_the_same_run_is_an_error(tmp_path):
    run = write_run(tmp_path, "potd", 0, [1])
    with pytest.raises(DataError, match="second prediction file"):
        claims_table([run, run], {"potd": METHODS["potd"]})


def test_write_claims_md_and_csv(tmp_path):
    runs = [write_run(tmp_path, "potd", 0, [1] * 30 + [0] * 70),
            write_run(tmp_path, "cotd", 0, [1] * 31 + [0] * 69)]
    text = write_claims(runs, {k: METHODS[k] for k in ("potd", "cotd")}, tmp_path / "t")
    assert "| ETD | PoT > CoT (potd vs cotd) | tiny | synthetic |" in text
    assert "inconclusive" in text and "not run" in text
    df = pd.read_csv(tmp_path / "t" / "claims.csv")
    assert list(df.columns)[:4] == ["paper", "claim", "student", "dataset"]
    assert df.loc[0, "n"] == 100 and "| 100 | inconclusive |" in text
