"""Turn a GSM8K solution's `<<expr=result>>` calculator annotations into solution steps.

    from mathdistill.teachers.gsm8k_annotations import gsm8k_steps, solution_lines
    steps = gsm8k_steps("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\\n"
                        "Natalia sold 48+24 = <<48+24=72>>72 clips altogether.\\n#### 72")
    # [{"var": "clips_may", "expr": "48 / 2", "value": 24.0, "text": "Natalia sold 48/2 = 24 clips
    #   in May.", "question": None},
    #  {"var": "clips_altogether", "expr": "48 + clips_may", "value": 72.0, ...}]

Each usable annotation becomes one step (the "Solution steps" shape of the contracts):
- `var`: a unique identifier named after the words right after the annotation (its unit,
  e.g. "24 clips in May" -> `clips_may`), else the words before the expression, else `step_k`.
- `expr`: the annotation's left-hand side normalised to `+ - * / **` and parentheses:
  `x`/`X`/`×` between operands -> `*`, `÷` -> `/`, `^` -> `**`, `N%` -> `(N/100)`, commas in
  numbers and `$` dropped, implicit products `2(3+4)` -> `2*(3+4)`, `.5` -> `0.5`.
  A number equal to an earlier step's result (the most recent one) becomes that step's var,
  so the steps chain into one program.
- `value`: the expression evaluated on the chained values (`strategies.arith.evaluate`: no eval).
- `text`: the solution line with its annotations removed (a line with several annotations
  is cut into one piece per annotation); `question`: the socratic sub-question of the line
  (`"Q? ** step"` format of GSM8K's socratic files), else None.

An annotation that cannot be parsed (letters other than `x`, unbalanced parentheses,
division by zero, ...) yields no step; later numbers equal to its result stay literals.
"""

from __future__ import annotations

import builtins
import itertools
import keyword
import math
import re
from decimal import Decimal, InvalidOperation

from mathdistill.strategies.arith import ArithError, evaluate

ANNOTATION = re.compile(r"<<(.*?)>>", re.DOTALL)
SOCRATIC = re.compile(r"^(?P<q>[^\n]*?\?)\s*\*\*\s+(?P<s>.*)$")
_NUMBER = re.compile(r"-?(?:\d+(?:,\d{3})+(?:\.\d*)?|\d+\.?\d*|\.\d+)")
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<op>\*\*|//|[-+*/()%]))")
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
# the expression just before an annotation: digits, operators, "$", and a standalone x
_MATH_TAIL = re.compile(r"(?:[\d\s$=+\-*/×÷().,%^]|(?<![A-Za-z])[xX](?![A-Za-z]))*$")
_STOP = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "and", "or", "but", "is", "are",
    "was", "were", "be", "been", "being", "so", "that", "this", "these", "those", "it",
    "its", "he", "she", "they", "them", "his", "her", "hers", "their", "theirs", "we", "us",
    "our", "you", "your", "i", "me", "my", "will", "would", "can", "could", "should",
    "which", "who", "whom", "with", "by", "from", "as", "than", "then", "there", "here",
    "has", "have", "had", "do", "does", "did", "only", "just", "also", "into", "out", "up",
    "down", "over", "per", "if", "when", "after", "before", "because", "since", "therefore",
    "thus", "means", "now", "already", "one", "x"
})
_RESERVED = frozenset({"answer", "ans", "result", "e", "pi", "i", "j", "oo", "nan", "inf"})


class AnnotationError(ValueError):
    """One `<<...>>` annotation is not a usable arithmetic expression."""


# ---------------------------------------------------------------- expressions
def _normalise(expr: str) -> str:
    s = expr.replace("$", "").replace("−", "-").replace("–", "-").replace("÷", "/")
    s = s.replace("^", "**")
    s = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", s)  # 1,000 -> 1000
    s = re.sub(r"(?<=[\d).%])\s*[xX×]\s*(?=[\d(.])", "*", s)  # 3 x 4 -> 3*4
    return s


def _tokens(expr: str) -> list[tuple[str, str]]:
    """[("num", "12.5") | ("op", "*")]; raises AnnotationError on anything else."""
    s, out, pos = _normalise(expr).rstrip("= \t"), [], 0
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            if s[pos:].strip() == "":
                break
            raise AnnotationError(f"unexpected {s[pos:pos + 10]!r} in {expr!r}")
        op = "/" if m["op"] == "//" else m["op"]  # GSM8K writes // for exact division
        out.append(("num", m["num"]) if m["num"] else ("op", op))
        pos = m.end()
    if not out:
        raise AnnotationError("empty expression")
    return _implicit_products(_percent(out))


def _percent(toks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`N%` -> `(N/100)`, `(..)%` -> `((..)/100)`; `%` then an operand -> times."""
    out: list[tuple[str, str]] = []
    for i, tok in enumerate(toks):
        if tok != ("op", "%"):
            out.append(tok)
            continue
        if not out or not (out[-1][0] == "num" or out[-1] == ("op", ")")):
            raise AnnotationError("'%' without a number before it")
        start = len(out) - 1
        if out[-1] == ("op", ")"):  # find the matching "("
            depth = 0
            for start in range(len(out) - 1, -1, -1):
                depth += {("op", ")"): 1, ("op", "("): -1}.get(out[start], 0)
                if depth == 0:
                    break
        out[start:] = [("op", "("), *out[start:], ("op", "/"), ("lit", "100"), ("op", ")")]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt and (nxt[0] == "num" or nxt == ("op", "(")):
            out.append(("op", "*"))
    return out


def _implicit_products(toks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for tok in toks:
        opens = tok[0] == "num" or tok == ("op", "(")
        if opens and out and (out[-1][0] in ("num", "lit") or out[-1] == ("op", ")")):
            out.append(("op", "*"))
        out.append(tok)
    return out


def _fmt_literal(s: str) -> str:
    try:
        d = Decimal(s.replace(",", ""))
    except InvalidOperation:
        raise AnnotationError(f"bad number {s!r}") from None
    return format(d.normalize(), "f")  # "4." -> "4", ".5" -> "0.5", "05" -> "5"


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _number(text: str) -> float | None:
    m = _NUMBER.search(_normalise(text))
    return float(m.group().replace(",", "")) if m else None


# ---------------------------------------------------------------- names
def _name_from(words: list[str]) -> str:
    content = [w.lower().replace("'", "") for w in words if w.lower() not in _STOP and len(w) > 1]
    return "_".join(w[:15] for w in content[:2])


def _words_after(after: str) -> list[str]:
    after = re.sub(r"^\s*\$?\s*-?[\d.,]*\d%?", "", after)  # the echoed result ("24", "$0.2")
    after = re.sub(r"^(?:st|nd|rd|th)\b", "", after)  # "5th floor" -> "floor"
    stop = re.search(r"[.,;:!?()\n]\s|[.,;:!?()\n]$|<<|\d", after)
    return _WORD.findall(after[: stop.start()] if stop else after)


def _words_before(before: str) -> list[str]:
    before = re.split(r"[.;:!?\n]\s|\*\*", before)[-1]
    before = _MATH_TAIL.sub("", before)  # the expression "48/2 = "
    return [w for w in _WORD.findall(before) if w not in ("x", "X")][-3:]


def _unique(name: str, used: set[str], k: int) -> str:
    if not name or not name.isidentifier():
        name = f"step_{k}"
    if keyword.iskeyword(name) or name in _RESERVED or hasattr(builtins, name):
        name = f"{name}_val"
    base, i = name, 2
    while name in used:
        name, i = f"{base}_{i}", i + 1
    used.add(name)
    return name


# ---------------------------------------------------------------- steps
def solution_lines(solution: str) -> list[str]:
    """The solution's step lines: no `#### N` line, no socratic prefix, no annotations."""
    out = []
    for line in solution.splitlines():
        line = line.strip()
        if not line or line.startswith("####"):
            continue
        m = SOCRATIC.match(line)
        out.append(ANNOTATION.sub("", m["s"] if m else line).strip())
    return [line for line in out if line]


def _pieces(line: str, spans: list[tuple[int, int]]) -> list[str]:
    """Cut a line with several annotations into one text piece per annotation."""
    cuts = [0]
    for (_, end), (nxt, _) in itertools.pairwise(spans):
        m = re.search(r"[.,;!?](\s|$)", line[end:nxt])
        if m:
            cuts.append(end + m.end())
        else:  # before the next expression ("... and 4*2=<<...")
            head = _MATH_TAIL.sub("", line[:nxt])
            cuts.append(max(len(head), end))
    cuts.append(len(line))
    return [ANNOTATION.sub("", line[a:b]).strip() for a, b in itertools.pairwise(cuts)]


def _chain(toks: list[tuple[str, str]], results: list[tuple[float, str]]) -> str:
    """The expression text, numbers equal to an earlier result replaced by its var."""

    def ref(x: float) -> str | None:
        return next((var for r, var in reversed(results) if _same(r, x)), None)

    parts: list[str] = []
    for j, (kind, tok) in enumerate(toks):
        if kind != "num":
            parts.append(tok)
            continue
        lit = _fmt_literal(tok)
        unary = j and toks[j - 1] == ("op", "-") and (j == 1 or toks[j - 2][0] == "op"
                                                     and toks[j - 2][1] != ")")
        if unary and ref(-float(lit)):  # "-21 / 3" where a step's result is -21
            parts[-1] = ref(-float(lit))
        else:
            parts.append(ref(float(lit)) or lit)
    return " ".join(parts).replace("( ", "(").replace(" )", ")")


def parse_annotation(inner: str) -> tuple[str, str | None]:
    """`"48/2=24"` -> ("48/2", "24"); a missing or trailing result gives None."""
    parts = [p.strip() for p in inner.split("=")]
    if not parts[0]:
        raise AnnotationError(f"no expression in <<{inner}>>")
    results = [p for p in parts[1:] if p]
    return parts[0], (results[-1] if results else None)


def gsm8k_steps(solution: str) -> list[dict] | None:
    """Solution steps from a GSM8K solution's annotations; None when none is usable."""
    steps: list[dict] = []
    used: set[str] = set()
    env: dict[str, float] = {}
    results: list[tuple[float, str]] = []  # (stated result, var), in order
    for line in solution.splitlines():
        line = line.strip()
        if not line or line.startswith("####"):
            continue
        m = SOCRATIC.match(line)
        question, body = (m["q"], m["s"]) if m else (None, line)
        matches = list(ANNOTATION.finditer(body))
        if not matches:
            continue
        pieces = _pieces(body, [mt.span() for mt in matches])
        for i, mt in enumerate(matches):
            try:
                lhs, stated = parse_annotation(mt.group(1))
                toks = _tokens(lhs)
            except AnnotationError:
                continue
            expr = _chain(toks, results)
            try:
                value = float(evaluate(expr, env))
            except ArithError:
                continue
            if stated is None:  # "<<3*4=>>12": the result follows the annotation
                stated_value = _number(body[mt.end():mt.end() + 20])
            else:
                stated_value = _number(stated)
            start = matches[i - 1].end() if i else 0
            words = _words_after(body[mt.end():]) or _words_before(body[start:mt.start()])
            var = _unique(_name_from(words), used, len(steps) + 1)
            env[var] = value
            results.append((value, var))
            if stated_value is not None and not _same(stated_value, value):
                results.append((stated_value, var))  # a rounded "3.33" still refers to var
            steps.append({"var": var, "expr": expr, "value": value, "text": pieces[i],
                          "question": question if i == len(matches) - 1 else None})
    return steps or None
