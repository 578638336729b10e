"""Step templates and word pools of the synthetic word-problem generator.

    from mathdistill.data.synthetic_templates import TEMPLATES, STARTS, new_scene
    TEMPLATES["unit_cost"].expr          # "{x} * {a}": previous quantity times a price

A problem is a chain: a *start* fact introduces one quantity ("Mia has 12 apples."),
then every *step template* takes the previous quantity `x` and one new number `a`
and computes the next quantity with `expr`. Each template has:
- `kind`/`roles`/`not_units`: the quantities it applies to (count of things, money spent /
  held / still needed, hours, minutes), and `out` how the quantity changes;
- `facts`: wording variants of the sentence the question gets; `text`: the solution
  step ("{calc} = {r}" shows the computation); `question`: the sub-question, which is
  also the problem's final question when the step is the last one;
- `var`: the step's variable name; `sample(rng, state, difficulty)`: the new number
  `a` (a `Fraction`) or None when the template does not fit (e.g. no exact divisor).
The generic checks (positive, whole counts, money in cents, a size cap) and the
rendering of the sentences live in `synthetic_render.py`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

F = Fraction

# ------------------------------------------------------------------ word pools
NAMES = (
    ("Mia", "f"), ("Leo", "m"), ("Ava", "f"), ("Noah", "m"), ("Emma", "f"), ("Liam", "m"),
    ("Zoe", "f"), ("Omar", "m"), ("Ines", "f"), ("Ravi", "m"), ("Sofia", "f"), ("Ben", "m"),
    ("Lena", "f"), ("Jack", "m"), ("Nora", "f"), ("Sam", "m"), ("Aisha", "f"), ("Tom", "m"),
    ("Yuki", "f"), ("Carlos", "m"), ("Hana", "f"), ("Max", "m"), ("Julia", "f"), ("Ethan", "m"),
    ("Grace", "f"), ("Lucas", "m"), ("Maya", "f"), ("Owen", "m"), ("Chloe", "f"), ("Daniel", "m"),
    ("Priya", "f"), ("Marco", "m"),
)
ITEMS = (
    ("apple", "apples"), ("orange", "oranges"), ("pencil", "pencils"), ("sticker", "stickers"),
    ("marble", "marbles"), ("cookie", "cookies"), ("cupcake", "cupcakes"), ("book", "books"),
    ("toy car", "toy cars"), ("seashell", "seashells"), ("flower", "flowers"), ("egg", "eggs"),
    ("candle", "candles"), ("postcard", "postcards"), ("muffin", "muffins"),
    ("crayon", "crayons"), ("balloon", "balloons"), ("button", "buttons"), ("lemon", "lemons"),
    ("card", "cards"), ("bead", "beads"), ("ribbon", "ribbons"),
)
GOODS = (  # things bought with money
    ("notebook", "notebooks"), ("ticket", "tickets"), ("plant", "plants"),
    ("comic book", "comic books"), ("mug", "mugs"), ("puzzle", "puzzles"), ("kite", "kites"),
    ("board game", "board games"), ("T-shirt", "T-shirts"), ("sandwich", "sandwiches"),
    ("scarf", "scarves"), ("paintbrush", "paintbrushes"),
)
CONTAINERS = (("box", "boxes"), ("bag", "bags"), ("basket", "baskets"), ("jar", "jars"),
              ("tray", "trays"), ("crate", "crates"), ("pack", "packs"))
ADJECTIVES = ("red", "blue", "green", "yellow", "small", "large", "striped")
EXTRAS = ("a delivery fee", "gift wrapping", "a shopping bag", "shipping", "a greeting card")
GOALS = ("a bike", "a video game", "a tent", "a guitar", "a skateboard", "a telescope")
JOBS = ("babysitting", "mowing lawns", "walking dogs", "tutoring", "washing cars")
TASKS = ("wrap", "label", "clean", "sort", "decorate", "check")
MAKE_VERBS = (("make", "makes"), ("pack", "packs"), ("sort", "sorts"), ("wrap", "wraps"),
              ("paint", "paints"), ("label", "labels"))
FRACTIONS = {2: "half", 3: "a third", 4: "a quarter", 5: "a fifth"}
BILLS = (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)


def new_scene(rng: random.Random) -> dict:
    """Names and nouns of one problem (JSON-serialisable; stored in gold["plan"])."""
    return {
        "persons": [list(p) for p in rng.sample(NAMES, 4)],
        "item": list(rng.choice(ITEMS)), "goods": list(rng.choice(GOODS)),
        "container": list(rng.choice(CONTAINERS)), "adj": rng.choice(ADJECTIVES),
        "extra": rng.choice(EXTRAS), "goal": rng.choice(GOALS), "job": rng.choice(JOBS),
        "task": rng.choice(TASKS), "verb": list(rng.choice(MAKE_VERBS)),
    }


# ------------------------------------------------------------------ number draws
def magnitude(difficulty: int) -> int:
    """Scale of the numbers: 1, 3, 10, 32, 100, ... for difficulty 1, 2, 3, ..."""
    return round(10 ** ((difficulty - 1) / 2))


def money(rng: random.Random, lo: int, hi: int, difficulty: int) -> Fraction:
    """A price: whole dollars at difficulty 1, else half the time in quarters."""
    if difficulty <= 1 or rng.random() < 0.5:
        return F(rng.randint(lo, hi))
    return F(rng.randint(lo * 4, hi * 4), 4)


def percents(difficulty: int) -> tuple[int, ...]:
    return (10, 20, 25, 50, 75) if difficulty <= 1 else tuple(range(5, 100, 5))


def _pick(rng: random.Random, options) -> Fraction | None:
    options = list(options)
    return F(rng.choice(options)) if options else None


def _split(rng: random.Random, total: Fraction, parts, difficulty: int,
           lo: int = 0, hi: int | None = None) -> Fraction | None:
    """A divisor k of a money `total` from `parts` whose share total/k is in cents and in
    [lo, hi]; shares in whole dollars (difficulty 1) or quarters are preferred."""
    ks = [k for k in parts if _cents(total / k) and lo <= total / k <= (hi or total)]
    step = 1 if difficulty <= 1 else F(1, 4)  # prefer whole dollars, then quarters
    if any(_whole(total / k / step) for k in ks):
        ks = [k for k in ks if _whole(total / k / step)]
    return F(rng.choice(ks)) if ks else None


def _price(k: Fraction | None, total: Fraction) -> Fraction | None:
    """The price (rate) that buys (takes) exactly k units of `total`."""
    return None if k is None else total / k


def _whole(x: Fraction) -> bool:
    return x.denominator == 1


def _cents(x: Fraction) -> bool:
    return (x * 100).denominator == 1


# ------------------------------------------------------------------ templates
@dataclass(frozen=True)
class Template:
    id: str
    kind: str  # kind of the previous quantity: "count" | "money" | "hours" | "minutes"
    expr: str  # over {x} (previous quantity) and {a} (the new number)
    facts: tuple[str, ...]
    text: str
    question: str
    var: str
    sample: Callable[[random.Random, object, int], Fraction | None]
    out: dict = field(default_factory=dict)  # changes to the quantity: kind, role, unit, holder
    roles: tuple[str | None, ...] | None = None  # roles it applies to (None: any)
    not_units: tuple[str, ...] = ()  # count units it does not apply to


def _t(*args, **kw) -> Template:
    return Template(*args, **kw)


_ALL = [
    # ---- counts of things
    _t("add_more", "count", "{x} + {a}",
       ("{S} buys {a} more {pl}.", "{S} finds {a} more {pl}.", "{O} gives {H} {a} more {pl}."),
       "{H} has {calc} = {r} {pl} now.", "How many {pl} does {H} have now?", "{u}_now",
       lambda rng, s, d: F(rng.randint(2, 12 * magnitude(d)))),
    _t("take_away", "count", "{x} - {a}",
       ("{S} gives {a} of the {pl} to {O}.", "{S} sells {a} of the {pl}.",
        "{S} loses {a} of the {pl}."),
       "{H} has {calc} = {r} {pl} left.", "How many {pl} does {H} have left?", "{u}_left",
       lambda rng, s, d: F(rng.randint(1, min(int(s.value) - 1, 12 * magnitude(d))))
       if s.value >= 2 else None),
    _t("times_as_many", "count", "{x} * {a}",
       ("{N} has {a} times as many {pl} as {H}.",
        "{N} collects {a} times as many {pl} as {H} has."),
       "{N} has {calc} = {r} {pl}.", "How many {pl} does {N} have?", "{n}_{u}",
       lambda rng, s, d: F(rng.randint(2, 3 + d)), out={"holder": "new"}),
    _t("pack", "count", "{x} / {a}",
       ("{S} packs the {pl} into {cpl} of {a}.", "{S} puts {a} {pl} in each {csg}."),
       "{H} fills {calc} = {r} {cpl}.", "How many {cpl} does {H} fill?", "{c}",
       lambda rng, s, d: _pick(rng, (a for a in range(2, 13) if a < s.value and s.value % a == 0)),
       out={"unit": "container"}, not_units=("container",)),
    _t("percent_part", "count", "{x} * {a} / 100",
       ("{a}% of the {pl} are {adj}.", "{S} notices that {a}% of the {pl} are {adj}."),
       "There are {calc} = {r} {adj} {pl}.", "How many of the {pl} are {adj}?", "{adj}_{u}",
       lambda rng, s, d: _pick(rng, (p for p in percents(d) if _whole(s.value * p / 100))),
       out={"unit": "adj"}, not_units=("adj",)),
    _t("fraction_left", "count", "{x} - {x} / {a}",
       ("{S} gives {frac} of the {pl} to {O}.", "{S} sells {frac} of the {pl}.",
        "{S} uses {frac} of the {pl}."),
       "{H} has {calc} = {r} {pl} left.", "How many {pl} does {H} have left?", "{u}_left",
       lambda rng, s, d: _pick(rng, (a for a in FRACTIONS if s.value % a == 0))),
    _t("share_items", "count", "{x} / {a}",
       ("{S} shares the {pl} equally among {a} friends.",
        "{S} splits the {pl} equally between {a} friends."),
       "Each friend gets {calc} = {r} {pl}.", "How many {pl} does each friend get?",
       "{u}_each",
       lambda rng, s, d: _pick(rng, (a for a in range(2, 9) if a < s.value and s.value % a == 0)),
       out={"holder": "each friend"}),
    _t("minutes_each", "count", "{x} * {a}",
       ("It takes {H} {a} minutes to {task} each {sg}.", "{S} needs {a} minutes to {task} one {sg}."),
       "{H} spends {calc} = {r} minutes.", "How many minutes does {H} spend?", "minutes",
       lambda rng, s, d: F(rng.randint(2, 6 + 2 * d)), out={"kind": "minutes"}),
    _t("unit_cost", "count", "{x} * {a}",
       ("Each {sg} costs {m}.", "{S} pays {m} for each {sg}."),
       "The {pl} cost {calc} = {rm}.", "How much do the {pl} cost?", "cost",
       lambda rng, s, d: money(rng, 1, 10 * magnitude(d), d),
       out={"kind": "money", "role": "spent"}),
    _t("sell_each", "count", "{x} * {a}",
       ("{S} sells each {sg} for {m}.", "{S} sells the {pl} for {m} each."),
       "{H} earns {calc} = {rm}.", "How much money does {H} earn?", "earnings",
       lambda rng, s, d: money(rng, 1, 10 * magnitude(d), d),
       out={"kind": "money", "role": "has"}),
    # ---- money
    _t("extra_fee", "money", "{x} + {a}",
       ("{S} also pays {m} for {extra}.", "{S} has to pay {m} more for {extra}."),
       "{H} pays {calc} = {rm} in total.", "How much does {H} pay in total?", "total_cost",
       lambda rng, s, d: money(rng, 1, 10 * magnitude(d), d), roles=("spent",)),
    _t("discount", "money", "{x} * (100 - {a}) / 100",
       ("The shop gives {H} a {a}% discount.", "{S} uses a coupon for {a}% off."),
       "After the discount, {H} pays {calc} = {rm}.",
       "How much does {H} pay after the discount?", "discounted_cost",
       lambda rng, s, d: F(rng.choice(percents(d))), roles=("spent",)),
    _t("change", "money", "{a} - {x}",
       ("{S} pays with {m}.", "{S} hands the cashier {m}."),
       "{H} gets {calc} = {rm} in change.", "How much change does {H} get?", "change",
       lambda rng, s, d: _pick(rng, [b for b in BILLS if b > s.value][:2]),
       out={"role": "has"}, roles=("spent",)),
    _t("split_cost", "money", "{x} / {a}",
       ("{S} splits the cost equally among {a} people.",
        "{S} and {others} share the cost equally."),
       "Each person pays {calc} = {rm}.", "How much does each person pay?", "share",
       lambda rng, s, d: _split(rng, s.value, range(2, 7), d),
       out={"holder": "each person"}, roles=("spent",)),
    _t("share_money", "money", "{x} / {a}",
       ("{S} shares the money equally among {a} people.",
        "{S} and {others} split the money equally."),
       "Each person gets {calc} = {rm}.", "How much money does each person get?", "share",
       lambda rng, s, d: _split(rng, s.value, range(2, 7), d),
       out={"holder": "each person"}, roles=("has",)),
    _t("bonus", "money", "{x} + {a}",
       ("{S} also gets a {m} tip.", "{O} gives {H} {m} more.", "{S} finds {m} more in {poss} pocket."),
       "{H} has {calc} = {rm} now.", "How much money does {H} have now?", "total_money",
       lambda rng, s, d: money(rng, 2, 20 * magnitude(d), d), roles=("has",)),
    _t("still_needs", "money", "{a} - {x}",
       ("{S} wants to buy {goal} that costs {m}.", "{S} is saving for {goal} that costs {m}."),
       "{H} still needs {calc} = {rm}.", "How much more money does {H} need?", "money_needed",
       lambda rng, s, d: F(int(s.value) // 5 * 5 + 5 * rng.randint(3, 10 * magnitude(d))),
       out={"role": "need"}, roles=("has",)),
    _t("buy_with", "money", "{x} / {a}",
       ("{S} spends all of it on {gpl} that cost {m} each.",
        "{S} uses the money to buy {gpl} for {m} each."),
       "{H} buys {calc} = {r} {gpl}.", "How many {gpl} does {H} buy?", "{g}",
       lambda rng, s, d: _price(_split(rng, s.value, range(2, 21), d, lo=1), s.value),
       out={"kind": "count", "unit": "goods"}, roles=("has",)),
    _t("hours_to_earn", "money", "{x} / {a}",
       ("{S} earns {m} per hour {job}.", "{S} makes {m} an hour {job}."),
       "{H} needs to work {calc} = {r} hours.", "How many hours does {H} need to work?",
       "hours_needed",
       lambda rng, s, d: _price(_split(rng, s.value, range(2, 41), d, lo=2,
                                       hi=40 * magnitude(d)), s.value),
       out={"kind": "hours"}, roles=("need",)),
    # ---- time
    _t("hourly_pay", "hours", "{x} * {a}",
       ("{S} earns {m} per hour.", "{S} is paid {m} an hour."),
       "{H} earns {calc} = {rm}.", "How much does {H} earn?", "pay",
       lambda rng, s, d: money(rng, 8, 25 * magnitude(d), d),
       out={"kind": "money", "role": "has"}),
    _t("per_hour", "hours", "{x} * {a}",
       ("{S} can {verb} {a} {ipl} per hour.", "Every hour, {S_lc} {verbs} {a} {ipl}."),
       "{H} {verbs} {calc} = {r} {ipl}.", "How many {ipl} does {H} {verb}?", "{i}_done",
       lambda rng, s, d: F(rng.randint(2, 6 * magnitude(d))),
       out={"kind": "count", "unit": "item"}),
    _t("days", "hours", "{x} * {a}",
       ("{S} works like this for {a} days.", "{S} keeps this up for {a} days."),
       "{H} works {calc} = {r} hours in total.", "How many hours does {H} work in total?",
       "total_hours", lambda rng, s, d: F(rng.randint(2, 7))),
    _t("to_hours", "minutes", "{x} / {a}", ("",),
       "That is {calc} = {r} hours.", "How many hours does {H} spend?", "hours",
       lambda rng, s, d: F(60) if s.value % 60 == 0 else None, out={"kind": "hours"}),
    _t("break_time", "minutes", "{x} + {a}",
       ("{S} also takes a {a}-minute break.", "Then {S_lc} rests for {a} minutes."),
       "{H} spends {calc} = {r} minutes in total.",
       "How many minutes does {H} spend in total?", "total_minutes",
       lambda rng, s, d: F(5 * rng.randint(1, 6))),
    _t("cleanup", "minutes", "{x} + {a}",
       ("{S} then spends {a} minutes cleaning up.", "Afterwards, {S_lc} spends {a} more minutes tidying up."),
       "{H} spends {calc} = {r} minutes altogether.",
       "How many minutes does {H} spend altogether?", "all_minutes",
       lambda rng, s, d: F(rng.randint(3, 20))),
    _t("minutes_days", "minutes", "{x} * {a}",
       ("{S} does this on {a} days.", "{S} does the same every day for {a} days."),
       "{H} spends {calc} = {r} minutes over {a} days.",
       "How many minutes does {H} spend over {a} days?", "minutes_all_days",
       lambda rng, s, d: F(rng.randint(2, 7)), out={"role": "days"}, roles=(None,)),
    _t("spread_days", "minutes", "{x} / {a}",
       ("{S} spreads this time evenly over {a} days.", "{S} splits the work equally over {a} days."),
       "{H} spends {calc} = {r} minutes each day.", "How many minutes does {H} spend each day?",
       "minutes_per_day",
       lambda rng, s, d: _pick(rng, (a for a in range(2, 8) if s.value % a == 0)),
       out={"role": "per_day"}, roles=(None,)),
]
TEMPLATES: dict[str, Template] = {t.id: t for t in _ALL}


# ------------------------------------------------------------------ starts
@dataclass(frozen=True)
class Start:
    id: str
    kind: str
    role: str | None
    facts: tuple[str, ...]
    sample: Callable[[random.Random, int], Fraction]


STARTS: dict[str, Start] = {s.id: s for s in (
    Start("count", "count", None,
          ("{H} has {a} {pl}.", "{H} collects {a} {pl}.", "{H} buys {a} {pl}.",
           "{H} starts with {a} {pl}."),
          lambda rng, d: F(rng.randint(4, 25 * magnitude(d)))),
    Start("money", "money", "has", ("{H} has {m}.", "{H} has saved {m}.", "{H} earned {m} last week."),
          lambda rng, d: money(rng, 10, 60 * magnitude(d), d)),
    Start("hours", "hours", None,
          ("{H} works {a} hours a day.", "{H} spends {a} hours a day {job}."),
          lambda rng, d: F(rng.randint(2, 8))),
)}
