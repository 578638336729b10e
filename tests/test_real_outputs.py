"""Real, published LLM outputs (tests/fixtures/real_outputs/, provenance in its README).

PoT programs (Codex, gpt-3.5; GSM8K, SVAMP, GSM-Hard) run in the sandbox, EoT systems
(gpt-3.5, XoT) go to the EoT solver in the sandbox, CoT answers (gpt-3.5, XoT) to our
extractor, and each is compared with the value the authors' own executor / solver /
extractor recorded for the same output. The authors' executors post-processed values in
ways ours does not (SVAMP few-shot: `abs`; PoT zero-shot: 0 became None, numpy and SymPy
values were rounded to 2 decimals): `authors_post` in the fixture says which, and it is
applied to our value before comparing. A table with our accuracy next to the authors' (on
these outputs, against the gold answer) is printed (`pytest -s` not needed).
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from mathdistill.execution import Sandbox
from mathdistill.strategies.extract import extract_answer

FIXTURES = Path(__file__).parent / "fixtures" / "real_outputs"
POST = {None: lambda v: v, "abs": abs,
        "zero_is_none_round2": lambda v: None if v == 0 else round(v, 2)}


def load(name: str) -> list[dict]:
    with open(FIXTURES / name) as f:
        return [json.loads(line) for line in f]


def number(value) -> float | None:
    """The authors' value as a number (their executors also stored strings: no number)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def same(ours: float | None, theirs: float | None) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-6) or \
        round(ours, 2) == round(theirs, 2)


def correct(value: float | None, gold) -> bool:
    gold = number(gold)
    return value is not None and gold is not None and math.isclose(value, gold, abs_tol=1e-3)


def report(capsys, title: str, rows: dict[str, Counter]) -> None:
    with capsys.disabled():
        print(f"\n{title}\n| source | items | agree | ours correct | authors correct |")
        for source, c in rows.items():
            n = c["items"]
            print(f"| {source} | {n} | {c['agree'] / n:.1%} | {c['ours_correct'] / n:.1%} "
                  f"| {c['theirs_correct'] / n:.1%} |")


@pytest.fixture(scope="module")
def box():
    with Sandbox(workers=2, timeout=5.0) as b:
        yield b


def test_fixtures_are_the_documented_sample():
    pot, eot, cot = load("pot.jsonl"), load("eot.jsonl"), load("cot.jsonl")
    assert (len(pot), len(eot), len(cot)) == (600, 300, 300)
    assert len({r["source"] for r in pot}) == 6
    readme = (FIXTURES / "README.md").read_text()
    for source in {r["source"] for r in pot + eot + cot}:
        assert source in readme, f"{source} has no provenance in the README"


def test_pot_programs_agree_with_the_authors_executors(box, capsys):
    items = load("pot.jsonl")
    results = box.run_programs([r["text"] for r in items])
    rows: dict[str, Counter] = defaultdict(Counter)
    mismatches = []
    for item, res in zip(items, results, strict=True):
        ours = None if res.value is None else POST[item["authors_post"]](res.value)
        theirs = number(item["authors_value"])
        c = rows[item["source"]]
        c["items"] += 1
        c["agree"] += same(ours, theirs)
        c["theirs_numeric"] += theirs is not None
        c["agree_numeric"] += theirs is not None and same(ours, theirs)
        c["ours_correct"] += correct(res.value, item["gold"])  # ours as is, no post-processing
        c["theirs_correct"] += correct(theirs, item["gold"])
        c["forbidden"] += res.error == "forbidden"
        if not same(ours, theirs):
            mismatches.append((item["source"], item["line"], theirs, res))
    report(capsys, "PoT programs (sandbox vs the authors' executor)", rows)
    total = sum(rows.values(), Counter())
    assert total["forbidden"] == 0, [m for m in mismatches if m[3].error == "forbidden"]
    assert total["agree"] / total["items"] >= 0.99, mismatches
    assert total["agree_numeric"] / total["theirs_numeric"] >= 0.99, mismatches


def test_eot_systems_solved_at_least_as_often_as_by_the_authors_solver(box, capsys):
    items = load("eot.jsonl")
    results = box.solve_equations([r["text"] for r in items], timeout=5.0)
    c = Counter(items=len(items))
    for item, res in zip(items, results, strict=True):
        theirs = number(item["authors_value"])
        c["ours_solved"] += res.ok
        c["theirs_solved"] += theirs is not None
        c["both"] += res.ok and theirs is not None
        c["agree_both"] += res.ok and theirs is not None and same(res.value, theirs)
        c["agree"] += same(res.value, theirs)
        c["ours_correct"] += correct(res.value, item["gold"])
        c["theirs_correct"] += correct(theirs, item["gold"])
        if res.error is not None:
            c[f"error:{res.error}"] += 1
    errors = {k[6:]: v for k, v in c.items() if k.startswith("error:")}
    report(capsys, f"EoT systems (solved: ours {c['ours_solved']}, authors' "
                   f"{c['theirs_solved']}; our errors {errors})",
           {"xot/gsm8k-eot-gpt35": c})
    assert c["error:forbidden"] <= 2  # code-like text (quotes, brackets) in a few outputs
    assert c["ours_solved"] >= c["theirs_solved"]
    assert c["agree_both"] / c["both"] >= 0.99
    assert c["ours_correct"] >= c["theirs_correct"]


def test_cot_answer_extraction_agreement(capsys):
    items = load("cot.jsonl")
    c = Counter(items=len(items))
    for item in items:
        ours, theirs = extract_answer(item["text"]), number(item["authors_value"])
        c["agree"] += same(ours, theirs)
        c["ours_correct"] += correct(ours, item["gold"])
        c["theirs_correct"] += correct(theirs, item["gold"])
    report(capsys, "CoT answer extraction (ours vs the authors' extractor)",
           {"xot/gsm8k-cot-gpt35": c})
    # a regression guard, not a target: 97.5 % on all 1319 outputs (README); the rest are
    # answers the authors' extractor misreads ("$29.00" -> 0.29, "20%" -> 0.2)
    assert c["agree"] / c["items"] >= 0.95
    assert c["ours_correct"] >= c["theirs_correct"]
