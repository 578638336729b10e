"""The arithmetic of solution-step `expr`s, read from the syntax tree (never `eval`).

    from fractions import Fraction
    from mathdistill.strategies.arith import ArithError, evaluate, names
    names("shirts * price")                          # ["shirts", "price"]
    evaluate("shirts * 20", {"shirts": 3.0})         # 60.0
    evaluate("12 * (100 - 25) / 100", number=Fraction)  # Fraction(9, 1): exact

The language (contracts, "Solution steps"): int/float literals, names, `+ - * / **`,
unary `+ -` and parentheses. Anything else, a name not in `env`, division by zero, an
exponent above `MAX_EXPONENT` or a non-finite result raises `ArithError` (a ValueError).
One implementation for the checks of `strategies.base.check_steps`, the GSM8K
annotation chains (`teachers.gsm8k_annotations`) and the synthetic generator.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping

__all__ = ["MAX_EXPONENT", "ArithError", "evaluate", "names", "parse"]

MAX_EXPONENT = 64
_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNOPS = {ast.UAdd: operator.pos, ast.USub: operator.neg}


class ArithError(ValueError):
    """An expression outside the step language, or one without a finite value."""


def parse(expr: str) -> ast.expr:
    """The checked syntax tree of `expr` (ArithError names the first unsupported part)."""
    if not isinstance(expr, str):
        raise ArithError(f"expr must be a string, got {type(expr).__name__}")
    try:
        tree = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError as e:
        raise ArithError(f"expr {expr!r} is not a Python expression ({e.msg})") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise ArithError(f"expr {expr!r} has a non-numeric constant")
        elif not isinstance(node, (ast.Name, ast.Load, ast.BinOp, ast.UnaryOp,
                                   *_BINOPS, *_UNOPS)):
            raise ArithError(f"expr {expr!r} uses {type(node).__name__}")
    return tree


def names(expr: str) -> list[str]:
    """The variable names `expr` uses, in order of appearance (with repeats)."""
    tree = parse(expr)
    found = [(n.lineno, n.col_offset, n.id) for n in ast.walk(tree) if isinstance(n, ast.Name)]
    return [name for *_, name in sorted(found)]


def evaluate(expr: str, env: Mapping[str, object] | None = None, *,
             number: Callable[[str], object] = float):
    """The value of `expr` with names from `env`; literals become `number(text)`
    (float, or `fractions.Fraction` for exact arithmetic)."""
    env = env or {}

    def ev(node):
        if isinstance(node, ast.Constant):
            return number(repr(node.value))
        if isinstance(node, ast.Name):
            if node.id not in env:
                raise ArithError(f"expr {expr!r} uses {node.id!r}, which is not defined")
            return env[node.id]
        if isinstance(node, ast.UnaryOp):
            return _UNOPS[type(node.op)](ev(node.operand))
        left, right = ev(node.left), ev(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ArithError(f"exponent too large in {expr!r}")
        return _BINOPS[type(node.op)](left, right)

    tree = parse(expr)
    try:
        value = ev(tree)
    except ArithError:
        raise
    except (ArithmeticError, TypeError, ValueError) as e:  # 1/0, 10.0**999, huge literals
        raise ArithError(f"{type(e).__name__} in {expr!r}") from None
    if isinstance(value, complex) or (isinstance(value, float) and not math.isfinite(value)):
        raise ArithError(f"{expr!r} has no finite real value")
    return value
