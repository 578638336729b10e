"""Equation-of-Thought (EoT) solver: parse a model-written equation system and solve it.

Usage::

    from mathdistill.execution.equations import parse_system, solve_system

    text = "% Dexter is 8\\ndexter = 8\\ndarcy = 2 * dexter\\ndallas - 1 = 3 * (darcy - 1)\\nans = dallas"
    solve_system(text)        # Result(value=46.0, error=None, detail='propagation')
    eqs, ans = parse_system(text)   # [Eq(dexter, 8), ...], Symbol('ans')

`solve_system` is pure and has no timeout of its own; `mathdistill.execution.solve_equations`
runs it in a sandbox worker process with a timeout.

Why an own parser: model output is untrusted, and `sympify`/`parse_expr` call Python `eval`
internally. Each line is tokenized with one regex and turned into SymPy objects by a small
precedence-climbing parser, so the text never reaches `eval`/`exec`/`sympify`. Names become
plain `sympy.Symbol(name)`, so `E`, `I`, `pi`, `S`, `N`, `beta` are ordinary unknowns.

Format (XoT convention, spec 3.3):
- One statement per line. Blank lines and lines starting with `%` or `#` are comments; a `#`,
  or a `%` that does not directly follow a digit, starts a trailing comment.
- Lines without `=` after removing comments are prose and are ignored. Every other line is an
  equation `lhs = rhs` (both sides expressions); chains `a = 5 * 3 = 15` give `a = 5*3` and
  `5*3 = 15`; `==` counts as `=`. A line that does not parse makes the system a `syntax` error.
- Expressions: numbers (`3`, `2.5`, `.5`, `1e3`, `1,200` -> 1200), names (`[A-Za-z_][A-Za-z0-9_]*`),
  `+ - * / ^ ** ( )`, unary +/-, one-argument functions `sqrt floor ceil ceiling abs Abs
  round` (round: half up), and implicit products after a number or `)`:
  `3x`, `2 x`, `3(10)`, `(a+b)(c)`, `2(a+b)`. `name(...)` is a function call, not a product:
  any other function is rejected. `a b` and `x 2` are syntax errors (prose, not maths).
- `20%` (percent directly after a number) means 0.2. `$ € £` are ignored; `× · ∗` mean `*`,
  `÷` means `/`, `− – —` mean `-`, `²`/`³` mean `^2`/`^3`. Trailing `. , ;` are dropped, and
  so is a leading list marker (`- `, `* `, `1. `, `2) `) directly before a name.
- Decimals are exact rationals, so `1.2 * h = 192` gives exactly 160.
- The answer is the symbol `ans`; without `ans`, the lone symbol on the left of the last
  equation line (`total = a + b` -> `total`); otherwise `no_answer`.

Solving: first propagate — repeatedly solve every equation that has one unknown and is linear
in it, and substitute (this settles most chained-definition systems without a solver call,
and symbol-free equations are checked for consistency). The rest goes to `sympy.linsolve` if
linear, else `sympy.solve(eqs, symbols, dict=True)` as in XoT.

Errors (`Result.error`): `syntax` (a line that does not parse), `forbidden` (code-like input:
quotes, brackets, `;`, attribute access, dunder names, Python keywords, `eval(`-style calls;
oversized input: too many characters/equations/tokens, deep nesting, huge numbers or
exponents, symbolic exponents), `no_answer` (no equations or no answer variable),
`unsolvable` (inconsistent, `ans` free/underdetermined, several distinct real `ans` values,
no real value, division by zero, value beyond float range, or SymPy giving up).
Decision: a system whose answer has several distinct real values (e.g. `x^2 = 49` -> +-7) is
`unsolvable`; non-real solutions are discarded first (so `x^3 = 27` gives 3).
"""

from __future__ import annotations

import keyword
import math
import re
from fractions import Fraction
from itertools import pairwise

import sympy
from sympy.solvers.solveset import NonlinearError

from mathdistill.execution.result import Result

MAX_CHARS = 20_000  # whole text
MAX_EQUATIONS = 100
MAX_LINE_TOKENS = 256
MAX_TOTAL_TOKENS = 4_000
MAX_DEPTH = 40  # nested parentheses / unary signs
MAX_NAME_LEN = 64
MAX_NUMBER_DIGITS = 50
MAX_SCI_EXPONENT = 100  # 1e100 is fine, 1e101 is forbidden
MAX_POWER_EXPONENT = 100  # |n| in x^n, also after SymPy folds (x^10)^20 into x^200
MAX_VALUE_BITS = 4_000  # exact rationals beyond ~1200 digits are rejected

ANSWER = "ans"
_ANS = sympy.Symbol(ANSWER)
# one-argument functions real EoT outputs use (XoT/gpt-3.5: ceil, round, abs, floor)
_FUNCTIONS = {"sqrt": sympy.sqrt, "floor": sympy.floor, "ceil": sympy.ceiling,
              "ceiling": sympy.ceiling, "abs": sympy.Abs, "Abs": sympy.Abs,
              "round": lambda x: sympy.floor(x + sympy.Rational(1, 2))}  # half up
_DANGEROUS = {"eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "globals",
              "locals", "vars", "input", "breakpoint", "sympify", "parse_expr", "system"}
_FORBIDDEN_CHARS = set("'\"`\\[]{};@")
_UNICODE = str.maketrans({"×": "*", "·": "*", "⋅": "*", "∗": "*", "÷": "/", "∕": "/",
                          "−": "-", "–": "-", "—": "-", "²": "^2", "³": "^3", "\u00a0": " "})
_TOKEN = re.compile(r"""
    (?P<ws>[\s$€£]+)
  | (?P<num>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|==|[-+*/^()=%])
""", re.VERBOSE)
_LIST_MARKER = re.compile(r"^(?:[-*•]|\d{1,2}[.)])\s+(?=[A-Za-z_])")


class EquationError(ValueError):
    """A system that cannot be parsed or solved; `kind` is a `Result.error` kind."""

    def __init__(self, kind: str, message: str, line: int | None = None):
        self.kind = kind
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


# ---------------------------------------------------------------- parsing

def _code_part(raw: str) -> str | None:
    """The equation part of a line, or None for comments, blank lines and prose."""
    line = raw.translate(_UNICODE).strip()
    if not line or line[0] in "%#":
        return None
    for i, ch in enumerate(line):  # trailing comment: '#', or '%' not right after a digit
        if ch == "#" or (ch == "%" and not (i and line[i - 1].isdigit())):
            line = line[:i]
            break
    line = _LIST_MARKER.sub("", line.strip()).rstrip(" \t.,;")
    return line if "=" in line else None


def _tokenize(code: str, lineno: int) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(code):
        m = _TOKEN.match(code, pos)
        if m is None:
            ch = code[pos]
            if ch in _FORBIDDEN_CHARS:
                raise EquationError("forbidden", f"character {ch!r} is not allowed", lineno)
            if ch == "." and code[pos + 1:pos + 2].isidentifier():
                raise EquationError("forbidden", "attribute access is not allowed", lineno)
            raise EquationError("syntax", f"unexpected character {ch!r}", lineno)
        pos = m.end()
        if m.lastgroup != "ws":
            tokens.append((m.lastgroup, m.group()))
        if len(tokens) > MAX_LINE_TOKENS:
            raise EquationError("forbidden", f"more than {MAX_LINE_TOKENS} tokens", lineno)
    return tokens


def _number(text: str, lineno: int) -> sympy.Rational:
    mantissa, _, exp = text.replace(",", "").lower().partition("e")
    if sum(c.isdigit() for c in mantissa) > MAX_NUMBER_DIGITS:
        raise EquationError("forbidden", f"number {text[:20]}... is too long", lineno)
    if exp and abs(int(exp)) > MAX_SCI_EXPONENT:
        raise EquationError("forbidden", f"exponent of {text} is too large", lineno)
    value = Fraction(text.replace(",", ""))  # regex-checked decimal literal, no eval
    return sympy.Rational(value.numerator, value.denominator)


def _bits(r: sympy.Rational) -> int:
    return max(int(r.p).bit_length(), int(r.q).bit_length())


class _Parser:
    """Precedence climbing over one line's tokens; builds SymPy expressions directly."""

    def __init__(self, tokens: list[tuple[str, str]], lineno: int):
        self.toks, self.pos, self.line, self.depth = tokens, 0, lineno, 0

    def error(self, message: str, kind: str = "syntax") -> EquationError:
        return EquationError(kind, message, self.line)

    def peek(self) -> tuple[str, str]:
        return self.toks[self.pos] if self.pos < len(self.toks) else ("end", "")

    def take(self, text: str) -> bool:
        if self.peek() == ("op", text):
            self.pos += 1
            return True
        return False

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH}", "forbidden")

    def equation(self) -> list[sympy.Expr]:
        sides = [self.expr()]
        while self.take("=") or self.take("=="):
            sides.append(self.expr())
        kind, text = self.peek()
        if kind != "end":
            raise self.error(f"unexpected {text!r}")
        if len(sides) < 2:
            raise self.error("no '=' in equation")
        return sides

    def expr(self) -> sympy.Expr:
        self.enter()
        node = self.term()
        while True:
            if self.take("+"):
                node = node + self.term()
            elif self.take("-"):
                node = node - self.term()
            else:
                break
        self.depth -= 1
        return node

    def term(self) -> sympy.Expr:
        node = self.unary()
        while True:
            if self.take("*"):
                node = node * self.unary()
            elif self.take("/"):
                node = node / self.unary()
            elif self.implicit_product():
                node = node * self.power()
            else:
                return node

    def implicit_product(self) -> bool:
        """`3x`, `2 x`, `3(10)`, `(a+b)(c)`, `20% x`: after a number, `%` or `)`."""
        prev = self.toks[self.pos - 1] if self.pos else ("end", "")
        after_value = prev[0] == "num" or prev in (("op", ")"), ("op", "%"))
        kind, text = self.peek()
        return after_value and (kind == "name" or (kind, text) == ("op", "("))

    def unary(self) -> sympy.Expr:
        for sign in "+-":
            if self.take(sign):
                self.enter()
                node = self.unary()
                self.depth -= 1
                return -node if sign == "-" else node
        return self.power()

    def power(self) -> sympy.Expr:
        base = self.atom()
        if self.take("^") or self.take("**"):
            return self.pow(base, self.unary())  # right-associative, -x^2 == -(x^2)
        return base

    def pow(self, base: sympy.Expr, exp: sympy.Expr) -> sympy.Expr:
        if exp.free_symbols:
            raise self.error("exponent must be a number", "forbidden")
        if abs(exp) > MAX_POWER_EXPONENT:
            raise self.error(f"exponent {exp} is larger than {MAX_POWER_EXPONENT}", "forbidden")
        if base.is_Rational and exp.is_Integer and abs(exp) * _bits(base) > MAX_VALUE_BITS:
            raise self.error("number too large", "forbidden")
        return base**exp

    def atom(self) -> sympy.Expr:
        kind, text = self.peek()
        self.pos += 1
        if kind == "num":
            value = _number(text, self.line)
            return value / 100 if self.take("%") else value
        if kind == "name":
            return self.name(text)
        if (kind, text) == ("op", "("):
            node = self.expr()
            if not self.take(")"):
                raise self.error("missing ')'")
            return node
        raise self.error(f"unexpected {text!r}" if text else "unexpected end of line")

    def name(self, text: str) -> sympy.Expr:
        if "__" in text or keyword.iskeyword(text):
            raise self.error(f"name {text!r} is not allowed", "forbidden")
        if len(text) > MAX_NAME_LEN:
            raise self.error(f"name longer than {MAX_NAME_LEN} characters", "forbidden")
        if self.peek() == ("op", "("):
            if text in _DANGEROUS:
                raise self.error(f"call of {text!r} is not allowed", "forbidden")
            if text not in _FUNCTIONS:
                raise self.error(f"unknown function {text!r} (supported: "
                                 f"{', '.join(sorted(_FUNCTIONS))})")
            self.pos += 1
            arg = self.expr()
            if not self.take(")"):
                raise self.error("missing ')'")
            return _FUNCTIONS[text](arg)
        return sympy.Symbol(text)


def _check_powers(expr: sympy.Expr, lineno: int) -> None:
    """SymPy folds (x^10)^20 into x^200 and a^9*a^9 into a^18: bound the folded exponent."""
    for p in expr.atoms(sympy.Pow):
        if p.exp.is_Number and abs(p.exp) > MAX_POWER_EXPONENT:
            raise EquationError("forbidden", f"exponent {p.exp} is too large", lineno)


def parse_system(text: str) -> tuple[list[sympy.Eq], sympy.Symbol]:
    """Parse an EoT text into equations and the answer symbol; raises EquationError."""
    if not isinstance(text, str):
        raise EquationError("syntax", f"expected a string, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise EquationError("forbidden", f"text longer than {MAX_CHARS} characters")
    eqs: list[sympy.Eq] = []
    last_lhs, n_tokens = None, 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        code = _code_part(raw)
        if code is None:
            continue
        tokens = _tokenize(code, lineno)
        n_tokens += len(tokens)
        if n_tokens > MAX_TOTAL_TOKENS:
            raise EquationError("forbidden", f"more than {MAX_TOTAL_TOKENS} tokens", lineno)
        sides = _Parser(tokens, lineno).equation()
        for side in sides:
            _check_powers(side, lineno)
        eqs += [sympy.Eq(lhs, rhs, evaluate=False) for lhs, rhs in pairwise(sides)]
        if len(eqs) > MAX_EQUATIONS:
            raise EquationError("forbidden", f"more than {MAX_EQUATIONS} equations", lineno)
        last_lhs = sides[0]
    if not eqs:
        raise EquationError("no_answer", "no equations")
    if any(_ANS in eq.free_symbols for eq in eqs):
        return eqs, _ANS
    if isinstance(last_lhs, sympy.Symbol):
        return eqs, last_lhs
    raise EquationError("no_answer", f"no '{ANSWER}' and the last equation defines no variable")


# ---------------------------------------------------------------- solving

_BAD = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)


def _to_float(value: sympy.Expr) -> complex:
    """Numeric value as complex; EquationError when undefined or too large."""
    if value.has(*_BAD):
        raise EquationError("unsolvable", "division by zero or infinite value")
    if value.is_Rational and _bits(value) > MAX_VALUE_BITS:
        raise EquationError("forbidden", "number too large")
    try:
        if value.is_Rational:  # exact: int division is much faster than evalf
            z = complex(int(value.p) / int(value.q))
        else:
            z = complex(sympy.N(value, 30))
    except OverflowError:
        z = complex(math.inf)
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        raise EquationError("unsolvable", "value beyond float range")
    return z


def _is_real(z: complex) -> bool:
    return abs(z.imag) <= 1e-9 * max(1.0, abs(z.real))


def _propagate(exprs: list[sympy.Expr]) -> tuple[dict, list[sympy.Expr]]:
    """Solve one-unknown linear equations and substitute until nothing changes."""
    known: dict[sympy.Symbol, sympy.Expr] = {}
    pending, changed = exprs, True
    while changed and pending:
        changed, rest = False, []
        for ex in pending:
            ex = ex.xreplace(known) if known else ex
            if ex.has(*_BAD):
                raise EquationError("unsolvable", "division by zero or infinite value")
            syms = ex.free_symbols
            if not syms:  # a check like `3 * 4 = 12`, or everything substituted
                if ex != 0 and (ex.is_Rational or abs(_to_float(ex)) > 1e-9):
                    raise EquationError("unsolvable", f"inconsistent equation ({ex} != 0)")
                continue
            if len(syms) == 1:
                (s,) = syms
                d = ex.diff(s)
                if d != 0 and not d.has(s):
                    val = -ex.xreplace({s: 0}) / d
                    if not _is_real(_to_float(val)):
                        raise EquationError("unsolvable", f"{s} has no real value")
                    known[s], changed = val, True
                    continue
            rest.append(ex)
        pending = rest
    return known, pending


def _solve_rest(pending: list[sympy.Expr]) -> tuple[list[dict], str]:
    """Solve what propagation left; returns solution dicts and the method used."""
    syms = sorted(set().union(*(ex.free_symbols for ex in pending)), key=str)
    try:
        a, b = sympy.linear_eq_to_matrix(pending, syms)
    except NonlinearError:
        return sympy.solve(pending, syms, dict=True), "solve"
    return [dict(zip(syms, sol)) for sol in sympy.linsolve((a, b), syms)], "linsolve"


def _answer_values(solutions: list[dict], known: dict, ans: sympy.Symbol) -> list[float]:
    values = []
    for sol in solutions:
        val = known.get(ans, sol.get(ans))
        if val is None or val.free_symbols:
            raise EquationError("unsolvable", f"'{ans}' is not determined (underdetermined)")
        nums = [_to_float(v) for v in sol.values() if not v.free_symbols]
        z = _to_float(val)
        if _is_real(z) and all(_is_real(n) for n in nums):
            values.append(z.real)
    return values


def _solve(eqs: list[sympy.Eq], ans: sympy.Symbol) -> Result:
    known, pending = _propagate([eq.lhs - eq.rhs for eq in eqs])
    method = "propagation"
    solutions: list[dict] = [{}]
    if pending:
        solutions, method = _solve_rest(pending)
        if not solutions:
            raise EquationError("unsolvable", f"no solution ({method})")
    if ans not in known and not any(ans in sol for sol in solutions):
        raise EquationError("unsolvable", f"'{ans}' is free (underdetermined)")
    values = sorted(_answer_values(solutions, known, ans))
    if not values:
        raise EquationError("unsolvable", f"no real value for '{ans}'")
    if values[-1] - values[0] > 1e-9 * max(1.0, abs(values[0]), abs(values[-1])):
        shown = ", ".join(f"{v:g}" for v in values[:5])
        raise EquationError("unsolvable", f"several values for '{ans}': {shown}")
    return Result(float(values[0]), None, method)


def solve_system(text: str) -> Result:
    """Parse and solve an EoT text; never raises for bad input (errors are in the Result)."""
    try:
        eqs, ans = parse_system(text)
        return _solve(eqs, ans)
    except EquationError as e:
        return Result(None, e.kind, str(e))
    except MemoryError:
        return Result(None, "memory", "out of memory while solving")
    except Exception as e:  # noqa: BLE001 - SymPy raises many internal exception types
        return Result(None, "unsolvable", f"sympy {type(e).__name__}: {e}"[:300])
