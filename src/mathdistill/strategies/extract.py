"""Answer extraction from free text, number formatting and answer scoring.

    from mathdistill.strategies.extract import extract_answer, is_correct, format_number
    extract_answer("3 * 20 = 60 dollars. Final Answer: $66<eos>")   # -> 66.0
    extract_answer("No idea.")                                       # -> None
    is_correct(66.00000001, 66.0)                 # True  (tolerance mode)
    is_correct(66.5, "66", mode="exact")          # False
    format_number(60.0), format_number(2.5)       # "60", "2.5"
    extract_label("... so the answer is (b).", choices=["x", "y", "z"])  # -> "b"

Extraction priority (the first rule that finds a number wins):
  1. `Final Answer:` / `Final answer is` (any case)
  2. `The answer is` (any case; covers "Therefore, the answer is")
  3. a line starting with `Answer:` (Tailored Learning's `\\nAnswer:` suffix)
  4. `#### N` (GSM8K gold format)
  5. the last number anywhere in the text
A marker's value is read from the clause after it (to the end of that sentence or
line): its first number, or, when the clause is an equation, the first number after
its last `=` ("The answer is 5 + 6 = 11." -> 11; one GSM8K gold solution says "the
final answer is 15 gallons * 8 pints / gallon = <<15*8=120>>120 pints"). The *first*
occurrence of a marker whose clause has a number is used: a small student that
keeps generating after its answer repeats itself, and its first committed answer
is the one it meant.

Number syntax accepted (see `normalize_number`): optional sign (`-3`, unicode minus;
a `-` right after a digit/word is a binary minus, not a sign), optional `$`,
thousands commas (`1,234.50`), decimals (`2.5`, `.5`), a trailing sentence period
(`18.` -> 18), percent (`50%` -> 50, the number as written, not 0.5), simple
fractions without spaces (`3/4` -> 0.75; `x/0` is rejected), and scientific notation
(`1e3`, `2.5E-2`: rare in text but PoT/EoT values are printed that way). Digits glued
to a preceding letter or underscore (`step2`, `x_1`) are not numbers.
"""

from __future__ import annotations

import math
import re

__all__ = [
    "extract_answer",
    "extract_label",
    "find_numbers",
    "format_choices",
    "format_number",
    "is_correct",
    "normalize_number",
]

# One number as it appears in text. Groups: sign, int/dec body, exponent, denominator, pct.
_NUMBER = r"""
    (?P<sign>(?<![\w.)\]])[-\u2212])?            # a sign, unless it is a binary minus
    \$?\s?                                       # optional dollar sign
    (?<![\w.])                                   # not glued to a word or another number
    (?P<body>\d{1,3}(?:,\d{3})+(?:\.\d+)?        # 1,234 / 1,234.50
           |\d+(?:\.\d+)?                        # 12 / 12.5
           |\.\d+)                               # .5
    (?:[eE](?P<exp>[-+]?\d+))?                   # 1e3
    (?:/(?P<den>\d+(?:\.\d+)?)(?![\d/]))?        # 3/4 (not a date such as 1/2/2020)
    (?P<pct>\s?%)?                               # 50%
"""
_NUMBER_RE = re.compile(_NUMBER, re.VERBOSE)
_WHOLE_RE = re.compile(r"\s*" + _NUMBER + r"\s*\.?\s*", re.VERBOSE)

_MARKERS = [
    re.compile(r"final\s+answer\s*(?:is\b)?\s*[:\uff1a]?", re.IGNORECASE),
    re.compile(r"the\s+answer\s+is\b\s*[:\uff1a]?", re.IGNORECASE),
    re.compile(r"^\s*answer\s*[:\uff1a]", re.IGNORECASE | re.MULTILINE),
    re.compile(r"####"),
]


def _value(m: re.Match) -> float | None:
    """The float value of one `_NUMBER` match, or None (zero denominator, overflow)."""
    text = m.group("body").replace(",", "")
    if m.group("exp"):
        text += "e" + m.group("exp")
    try:
        value = float(text)
        if m.group("den"):
            den = float(m.group("den"))
            if den == 0:
                return None
            value /= den
    except (ValueError, OverflowError):
        return None
    if m.group("sign"):
        value = -value
    return value if math.isfinite(value) else None


def find_numbers(text: str) -> list[float]:
    """All numbers in `text`, in order of appearance."""
    values = (_value(m) for m in _NUMBER_RE.finditer(text))
    return [v for v in values if v is not None]


def normalize_number(s: str | float) -> float | None:
    """Parse one number written as text (`"$1,234.50"`, `"50%"`, `"3/4"`, `"18."`) to float.

    Returns None when `s` is not exactly one number (extra words, empty, `"3/0"`).
    Real numbers (not bool) are returned as float; NaN/inf give None.
    """
    if isinstance(s, bool):
        return None
    if isinstance(s, (int, float)):
        value = float(s)
        return value if math.isfinite(value) else None
    if not isinstance(s, str):
        return None
    m = _WHOLE_RE.fullmatch(s)
    return _value(m) if m else None


_CLAUSE_END = re.compile(r"\n|\.(?=\s|$)")
_CONTINUES = re.compile(r"\s*[-+*/\u00d7\u00f7]\s*[\d.($]")  # the number is an operand


def _clause_value(text: str, start: int) -> float | None:
    """The value stated by the clause that starts at `start` (after a marker).

    The clause runs to the end of its sentence or line (the next line if the marker
    ends its line). Its value is the first number, or, if the clause holds an
    equation ("3 * 20 = 60", "15 * 8 = <<15*8=120>>120"), the number right after its
    last `=` unless that number is an operand of more arithmetic.
    """
    rest = text[start:]
    if rest.split("\n", 1)[0].strip() == "":  # "Final Answer:\n66"
        rest = rest.lstrip()
    end = _CLAUSE_END.search(rest)
    clause = rest[: end.start()] if end else rest
    if "=" in clause:  # "5 + 6 = 11" -> 11, but not "7, since x = 3 + 4" -> 3
        after = clause[clause.rindex("=") + 1 :]
        m = _NUMBER_RE.search(after)
        if m and not _CONTINUES.match(after, m.end()) and (value := _value(m)) is not None:
            return value
    numbers = find_numbers(clause)
    return numbers[0] if numbers else None


def extract_answer(text: str | None) -> float | None:
    """The answer a rationale commits to (see the module docstring for the rules)."""
    if not text:
        return None
    for marker in _MARKERS:
        for m in marker.finditer(text):
            value = _clause_value(text, m.end())
            if value is not None:
                return value
    numbers = find_numbers(text)
    return numbers[-1] if numbers else None


def format_number(x: float) -> str:
    """Canonical text for a number: 60.0 -> "60", 2.5 -> "2.5", 0.1 + 0.2 -> "0.3".

    Values are rounded to 10 decimal places first, which removes float noise from
    computed values (PoT/EoT) without changing any number a person would write.
    """
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    r = round(x, 10)
    if r == int(r) and abs(r) < 1e16:
        return str(int(r))  # also turns -0.0 into "0"
    text = repr(r)  # shortest text that round-trips: 123456789.123, not ...1229999959
    if "e" in text and abs(r) < 1:  # 1e-05 -> 0.00001
        text = f"{r:.10f}".rstrip("0").rstrip(".")
    return text


def _is_integral(x: float) -> bool:
    return math.isfinite(x) and x == int(x)


def is_correct(pred: float | str | None, gold: float | str, mode: str = "tolerance") -> bool:
    """Whether a predicted answer matches the gold answer.

    Numbers (floats, or strings that `normalize_number` parses):
      - mode="tolerance" (default, used for every method): an *integral* gold is
        compared exactly up to float noise (spec section 4: "integers compared
        exactly"): |pred - gold| <= 1e-4 (relative 1e-12 above 1e8), so 10000.4 is
        not 10000 and 109,200,010 is not 109,200,000. Any other gold: `math.isclose(
        pred, gold, rel_tol=1e-4, abs_tol=1e-4)`. The 1e-4 follows the FDD/ETD specs
        ("pass if |pred - gold| < 1e-4"): PoT/EoT answers are computed floats (0.1*480
        = 48.00000000000001, 100/3 = 33.333...), so plain equality would mark right
        programs wrong; the relative part accepts 33.3333 for a gold of 33.33333.
      - mode="exact": Tailored Learning's string equality after normalising both
        numbers to canonical text with `format_number` (so 48.0 == "48", 48.5 != 48).
    Labels (a gold string that is not a number, e.g. "yes" or "b"): case-insensitive
    equality of the stripped strings, in both modes. A None prediction is never correct.
    """
    if mode not in ("tolerance", "exact"):
        raise ValueError(f"is_correct: mode must be 'tolerance' or 'exact', got {mode!r}")
    if pred is None or isinstance(pred, bool):
        return False
    g = normalize_number(gold)
    if g is None:
        if not isinstance(gold, str):
            raise TypeError(f"is_correct: gold must be a number or a label, got {gold!r}")
        return isinstance(pred, str) and pred.strip().lower() == gold.strip().lower()
    p = normalize_number(pred)
    if p is None:
        return False
    if mode == "exact":
        return format_number(p) == format_number(g)
    if _is_integral(g):
        return math.isclose(p, g, rel_tol=1e-12, abs_tol=1e-4)
    return math.isclose(p, g, rel_tol=1e-4, abs_tol=1e-4)


# --- labels (Tailored Learning section 2.6: StrategyQA yes/no, CSQA (a)-(e)) ---

_ANSWER_MARKER = re.compile(r"\banswer\b\s*(?:is\b)?\s*[:\uff1a]?", re.IGNORECASE)
_YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)
_LETTER = re.compile(r"\(([a-e])\)", re.IGNORECASE)


def format_choices(choices) -> str:
    """Answer choices as CSQA prompts list them: "\n(a) first\n(b) second..." ("" for none)."""
    return "".join(f"\n({'abcde'[i]}) {t}" for i, t in enumerate(choices or ()))


def extract_label(text: str | None, choices: list[str] | None = None) -> str | None:
    """A yes/no answer (choices=None) or a choice letter "a".."e" (choices given).

    The first label after the last "answer" marker wins, else the last label in the
    text. For multiple choice the label is a parenthesised letter `(b)`; without one,
    the choice whose text occurs last (whole words, any case) is taken.
    """
    if not text:
        return None
    if choices is None:
        pattern, letters = _YES_NO, None
    else:
        letters = "abcde"[: len(choices)]
        pattern = _LETTER
    found = [m.group(1).lower() for m in pattern.finditer(text)]
    if letters is not None:
        found = [f for f in found if f in letters]
    markers = list(_ANSWER_MARKER.finditer(text))
    if markers:
        tail = text[markers[-1].end() :]
        after = [m.group(1).lower() for m in pattern.finditer(tail)]
        after = [f for f in after if letters is None or f in letters]
        if after:
            return after[0]
    if found:
        return found[-1]
    if choices:  # fall back to the choice text mentioned last
        best, best_pos = None, -1
        for letter, choice in zip(letters, choices):
            if not choice.strip():
                continue
            hits = list(re.finditer(rf"\b{re.escape(choice.strip())}\b", text, re.IGNORECASE))
            if hits and hits[-1].start() > best_pos:
                best, best_pos = letter, hits[-1].start()
        return best
    return None
