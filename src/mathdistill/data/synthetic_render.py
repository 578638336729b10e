"""Rendering of synthetic plans: a plan (scene, start, step ops) -> question, steps, answer.

    from mathdistill.data.synthetic_render import render, arith
    question, steps, answer = render(problem.gold["plan"])
    arith("12 * (100 - 25) / 100")       # Fraction(9, 1): exact, no eval

Used by `synthetic` (sampling, perturb, extend); templates are in `synthetic_templates`.
A `State` is the quantity the next step works on; `advance` applies one step op
(`{"t": template id, "w": wording index, "p": pronoun flag, "a": the new number}`) and
returns None when the result is not "nice" (not positive, not whole for counts and
times, not in cents for money, or above the size cap).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from mathdistill.data.synthetic_templates import FRACTIONS, STARTS, TEMPLATES, Template, magnitude
from mathdistill.strategies.arith import ArithError, evaluate

_RESERVED = frozenset({"answer", "ans"})  # result names of the PoT / EoT renderings


# ------------------------------------------------------------------ numbers
def num(x: Fraction) -> str:
    """Exact text of a number with at most 2 decimals: 12 -> "12", 2.5 -> "2.5"."""
    if x.denominator == 1:
        return str(x.numerator)
    if (x * 100).denominator != 1:
        raise ValueError(f"{x} has more than 2 decimals")
    return f"{float(x):.2f}".rstrip("0")


def dollars(x: Fraction) -> str:
    return f"${x.numerator}" if x.denominator == 1 else f"${float(x):.2f}"


def store(x: Fraction) -> int | float:
    return x.numerator if x.denominator == 1 else float(num(x))


def to_fraction(x) -> Fraction:
    return Fraction(str(x))


def arith(expr: str) -> Fraction:
    """Exact value of an arithmetic expression over number literals (+ - * / and parens)."""
    return evaluate(expr, number=Fraction)


# ------------------------------------------------------------------ rendering
@dataclass(frozen=True)
class State:
    """The quantity the next step works on, and who/what the story is about."""

    kind: str  # "count" | "money" | "hours" | "minutes"
    role: str | None  # money: "spent" | "has" | "need"
    unit: str  # count unit: "item" | "container" | "goods" | "adj"
    words: tuple[str, str]  # (singular, plural) of the count unit
    holder: str
    gender: str | None
    subject: str | None  # who the last sentence was about (for pronouns)
    value: Fraction
    ref: str  # var of the step that computed value, or its literal (before step 1)
    fresh: int  # persons[fresh] is the next new person
    last: str | None  # previous template id


def _ident(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _cap(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def applies(t: Template, st: State) -> bool:
    return (t.kind == st.kind and t.id != st.last
            and (t.roles is None or st.role in t.roles) and st.unit not in t.not_units)


def _context(scene: dict, st: State, op: dict, a: Fraction) -> dict:
    names = [p[0] for p in scene["persons"]]
    other = names[1] if st.holder != names[1] else names[0]
    new = next(n for k in range(4) if (n := names[(st.fresh + k) % 4]) != st.holder)
    pron = {"f": "she", "m": "he"}.get(st.gender)
    use_pron = bool(op.get("p")) and pron is not None and st.subject == st.holder
    sg, pl = st.words
    n_others = int(a) - 1 if a.denominator == 1 else 0
    return {
        "H": st.holder, "S": _cap(pron) if use_pron else st.holder,
        "S_lc": pron if use_pron else st.holder, "O": other, "N": new,
        "poss": {"f": "her", "m": "his"}.get(st.gender, "their"),
        "sg": sg, "pl": pl, "csg": scene["container"][0], "cpl": scene["container"][1],
        "gsg": scene["goods"][0], "gpl": scene["goods"][1],
        "isg": scene["item"][0], "ipl": scene["item"][1], "adj": scene["adj"],
        "extra": scene["extra"], "goal": scene["goal"], "job": scene["job"],
        "task": scene["task"], "verb": scene["verb"][0], "verbs": scene["verb"][1],
        "frac": FRACTIONS.get(int(a), "") if a.denominator == 1 else "",
        "others": "a friend" if n_others == 1 else f"{n_others} friends",
        "a": num(a), "m": dollars(a),
        "u": _ident(pl), "c": _ident(scene["container"][1]), "g": _ident(scene["goods"][1]),
        "i": _ident(scene["item"][1]), "n": _ident(new),
    }


def _nice(kind: str, value: Fraction, difficulty: int) -> bool:
    if value <= 0 or value > 2000 * magnitude(difficulty):
        return False
    return (value * 100).denominator == 1 if kind == "money" else value.denominator == 1


def advance(scene: dict, st: State, op: dict, used: set[str], difficulty: int):
    """Apply one step op to the state: (new state, step dict, fact sentence) or None."""
    t = TEMPLATES.get(op["t"])
    if t is None or not applies(t, st):
        return None
    a = to_fraction(op["a"])
    calc = t.expr.format(x=num(st.value), a=num(a))
    try:
        value = arith(calc)
    except ArithError:  # division by zero
        return None
    out = t.out
    kind = out.get("kind", st.kind)
    if not _nice(kind, value, difficulty):
        return None
    ctx = _context(scene, st, op, a)
    var = _ident(t.var.format(**ctx)) or "value"
    base, k = var, 2
    while var in used or var in _RESERVED:
        var, k = f"{base}_{k}", k + 1
    fact_t = t.facts[op["w"] % len(t.facts)]
    step = {
        "var": var,
        "expr": t.expr.format(x=st.ref, a=num(a)),
        "value": float(value),
        "text": _cap(t.text.format(**ctx, calc=calc, r=num(value), rm=dollars(value))),
        "question": _cap(t.question.format(**ctx)),
    }
    holder, gender = st.holder, st.gender
    fresh = st.fresh
    if out.get("holder") == "new":
        holder = ctx["N"]
        gender = dict(map(tuple, scene["persons"]))[holder]
        fresh = [p[0] for p in scene["persons"]].index(holder) + 1
    elif out.get("holder"):
        holder, gender = out["holder"], None
    unit, words = st.unit, st.words
    if "unit" in out:
        unit = out["unit"]
        words = (tuple(f"{scene['adj']} {w}" for w in st.words) if unit == "adj"
                 else tuple(scene[unit]))
    if fact_t.startswith(("{S}", "{H}")):
        subject = st.holder
    elif fact_t.startswith("{N}"):
        subject = ctx["N"]
    else:
        subject = None
    used.add(var)
    role = out.get("role", st.role if kind == st.kind else None)  # roles are per kind
    new = State(kind=kind, role=role, unit=unit, words=words,
                 holder=holder, gender=gender, subject=subject, value=value, ref=var,
                 fresh=fresh, last=t.id)
    return new, step, _cap(fact_t.format(**ctx)) if fact_t else ""


def start_state(scene: dict, start: dict) -> tuple[State, str]:
    s = STARTS[start["t"]]
    a = to_fraction(start["a"])
    name, gender = scene["persons"][0]
    st = State(kind=s.kind, role=s.role, unit="item", words=tuple(scene["item"]),
                holder=name, gender=gender, subject=name, value=a, ref=num(a), fresh=2,
                last=None)
    ctx = {"H": name, "a": num(a), "m": dollars(a), "pl": scene["item"][1],
           "csg": scene["container"][0], "job": scene["job"]}
    return st, s.facts[start["w"] % len(s.facts)].format(**ctx)


def run_plan(plan: dict):
    """(final state, facts, steps) of a plan; ValueError if a step does not apply."""
    scene, d = plan["scene"], plan["difficulty"]
    st, intro = start_state(scene, plan["start"])
    facts, steps, used = [intro], [], set()
    for i, op in enumerate(plan["ops"], 1):
        res = advance(scene, st, op, used, d)
        if res is None:
            raise ValueError(f"synthetic plan: step {i} ({op.get('t')!r}) does not apply")
        st, step, fact = res
        steps.append(step)
        facts.append(fact)
    return st, facts, steps


def render(plan: dict) -> tuple[str, list[dict], float]:
    """(question, steps, answer) of a plan: the question is fully determined by it."""
    _st, facts, steps = run_plan(plan)
    if not steps:
        raise ValueError("synthetic plan has no steps")
    question = " ".join(f for f in facts if f) + " " + steps[-1]["question"]
    return question, steps, steps[-1]["value"]
