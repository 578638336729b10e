"""Tests for the Equation-of-Thought solver (mathdistill.execution.equations)."""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import sys

import pytest
import sympy
import sympy.parsing.sympy_parser

from mathdistill.execution import equations
from mathdistill.execution.equations import EquationError, parse_system, solve_system
from mathdistill.execution.result import ERRORS, Result


def value(text: str) -> float:
    r = solve_system(text)
    assert r.ok, r
    return r.value


def error(text: str) -> str:
    r = solve_system(text)
    assert not r.ok and r.value is None, r
    assert r.error in ERRORS and r.detail
    return r.error


# ---------------------------------------------------------------- valid systems

# XoT-style demonstrations (own wording): `%` comment lines, `x` as the unknown, `ans` last.
DEMO_BOXES = """\
% Let x be the number of pencils in each box:
per_box = x
% Ten boxes of pencils:
total = 10 * per_box
% He kept 10 pencils and gave 8 to each of his 5 friends:
total = kept + given
kept = 10
given = 8 * 5
% How many pencils are in each box? The answer is per_box:
ans = per_box
"""
DEMO_AGES = """\
% Let Dallas be x years old now:
dallas = x
% Last year Dallas was 3 times the age of his sister Darcy:
dallas - 1 = 3 * (darcy - 1)
% Darcy is twice as old as Dexter, who is 8:
darcy = 2 * dexter
dexter = 8
ans = dallas
"""
DEMO_SHARE = """\
% Three friends ate 100 nuggets; two of them each ate twice as many as the first:
first = x
first + second + third = 100
second = 2 * first
third = 2 * first
ans = first
"""
DEMO_MONEY = """\
% Shoes cost $95, savings are $5 a month for 3 months:
shoe_cost = 95
savings = 5 * 3
lawn_charge = 15
shovel_charge = 7
% After buying the shoes he has $15 left; he mowed 4 lawns:
left = 15
lawns = 4
shovels = x
shoe_cost + left = savings + lawns * lawn_charge + shovels * shovel_charge
ans = shovels
"""


@pytest.mark.parametrize(("text", "expected"), [
    (DEMO_BOXES, 5.0), (DEMO_AGES, 46.0), (DEMO_SHARE, 20.0), (DEMO_MONEY, 5.0)])
def test_xot_style_demos(text, expected):
    assert value(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # chained definitions
    ("a = 3\nb = a * 4\nc = b - a\nans = c", 9.0),
    # expressions on both sides, and the unknown on the right
    ("dallas - 1 = 3 * (darcy - 1)\ndarcy = 16\nans = dallas", 46.0),
    ("2 * x + 3 = x + 10\nans = x", 7.0),
    # implicit multiplication
    ("y = 3x\nx = 4\nans = y", 12.0),
    ("y = 2 x\nx = 4\nans = y", 8.0),
    ("ans = 3(10)", 30.0),
    ("a = 1\nb = 2\nc = 5\nans = (a+b)(c)", 15.0),
    ("a = 1\nans = 2(a + 1)(3)", 12.0),
    ("x = 2\nans = 3x^2", 12.0),
    # fractions and negative numbers
    ("ans = 1/3 + 1/6", 0.5),
    ("ans = -3 - -2", -1.0),
    ("x = -5\nans = x^2", 25.0),
    ("x = 3\nans = -x^2", -9.0),
    ("ans = 2^3^2", 512.0),
    ("ans = 2 ** -1", 0.5),
    ("half = total / 2\ntotal = 9\nans = half", 4.5),
    # decimals are exact rationals
    ("height_a = 1.2 * height_b\nheight_a = 192\nans = height_b", 160.0),
    ("ans = .5 + 5. + 1e3", 1005.5),
    # percent directly after a number
    ("tip = 20% * bill\nbill = 50\nans = tip", 10.0),
    ("price = 80\nans = price * (1 - 25%)", 60.0),
    ("ans = 50%x\nx = 8", 4.0),
    # what real models write
    ("x = 5 * 3\nans = x", 15.0),
    ("cost_per_item_2 = $1,200\nn_items = 3\nans = cost_per_item_2 × n_items.", 3600.0),
    ("ans = 12 ÷ 4 − 1", 2.0),
    ("side = 3\nans = side²", 9.0),
    ("total = 3 * 20 = 60\nans = total", 60.0),
    ("a == 4\nans = a + 1;", 5.0),
    ("- apples = 5\n1. pears = apples + 2\n2) ans = pears * 2", 14.0),
    ("ans = sqrt(16) + sqrt(2)^2", 6.0),
    ("n = 7 / 2\nans = ceil(n) + floor(n) + ceiling(0.5)", 8.0),
    ("ans = round(2.5) + round(2.4) + abs(3 - 5) + Abs(-1)", 8.0),  # round: half up
    ("boxes = ceil(total / 12)\ntotal = 30\nans = boxes", 3.0),
    # nonlinear in form, solvable by substitution or with a unique real solution
    ("area = w * h\nw = 4\nh = 2.5\nans = area", 10.0),
    ("a * b = 12\na = 3\nans = b", 4.0),
    ("12 / n = 3\nans = n", 4.0),
    ("x^3 = 27\nans = x", 3.0),  # the two complex roots are discarded
    ("a * b = 12\na + b = 7\nans = a * b", 12.0),  # two branches, one answer value
    # symbol-free checks that hold
    ("3 * 4 = 12\nans = 2", 2.0),
])
def test_valid(text, expected):
    assert value(text) == pytest.approx(expected, rel=1e-12)


ISSUE_12 = """\
% Assume the number of games they lost is x:
lost = x
won = lost + 8
won + lost = 22
ans = won
"""


def test_free_unknown_systems_solve_inside_the_sandbox():
    """The bug of issue 12: SymPy builds its polynomial arithmetic with exec; the sandbox
    refused that (`forbidden: compile() is not allowed`)."""
    from mathdistill.execution import Sandbox

    texts = [ISSUE_12, DEMO_BOXES, DEMO_AGES, DEMO_SHARE, DEMO_MONEY,
             "2 * x + 3 = x + 10\nans = x", "y = 3x\nx = 4\nans = y", "ans = 3(10) % ten",
             "a * b = 12\na = 3\nans = b", "x^3 = 27\nans = x", "s^2 = 49\nans = s"]
    with Sandbox(workers=1, timeout=5.0) as box:
        results = box.solve_equations(texts)
    assert [r.value for r in results[:-1]] == [15.0, 5.0, 46.0, 20.0, 5.0, 7.0, 12.0, 30.0,
                                              4.0, 3.0]
    assert results[-1].error == "unsolvable" and "several values" in results[-1].detail


def test_result_detail_names_the_method():
    assert solve_system("a = 2\nans = a").detail == "propagation"
    assert solve_system(DEMO_SHARE).detail == "linsolve"
    assert solve_system("x^3 = 27\nans = x").detail == "solve"


def test_comments_and_prose_are_ignored():
    text = """System of linear equations: (Do not simplify)
Let's write the equations.
% a line comment with = signs: a = 99
# another comment, b = 1
a = 4   % trailing comment: a = 99
b = a + 1  # b = 100
c = 10% % a percent, then a comment
ans = b + c
"""
    assert value(text) == pytest.approx(5.1)


def test_answer_symbol_rules():
    eqs, ans = parse_system("ans = a\na = 2")
    assert ans == sympy.Symbol("ans")
    assert all(isinstance(e, sympy.Eq) for e in eqs) and len(eqs) == 2
    # without `ans`: the lone symbol on the left of the last equation line
    eqs, ans = parse_system("a = 1\nb = a + 1")
    assert ans == sympy.Symbol("b")
    assert value("a = 1\nb = a + 1") == 2.0
    # `ans` anywhere wins over the last line
    assert value("ans = a * 2\na = 5\nb = 7") == 10.0


def test_symbol_free_equations_stay_eq_objects():
    eqs, _ = parse_system("3 * 4 = 12\nx = x\nans = 1")
    assert [type(e) for e in eqs] == [sympy.Eq] * 3


@pytest.mark.parametrize("name", ["E", "I", "pi", "S", "N", "Symbol", "beta", "oo", "zoo",
                                  "nan", "Q", "O", "gamma", "x", "ans_2", "_tmp"])
def test_sympy_names_are_plain_symbols(name):
    text = f"{name} = 5\nans = {name} + 1" if name != "ans_2" else "ans_2 = 5\nans = ans_2 + 1"
    assert value(text) == 6.0
    eqs, _ = parse_system(f"{name} = 5")
    assert eqs[0].lhs == sympy.Symbol(name)


def test_sympy_constants_all_together():
    text = "E = 5\nI = 3\npi = 2\nS = 4\nN = 1\nSymbol = 3\nans = E + I + pi + S + N + Symbol"
    assert value(text) == 18.0


# ---------------------------------------------------------------- failures

@pytest.mark.parametrize("text", [
    "a = 1\na = 2\nans = a",                        # inconsistent definitions
    "a + b = 3\na + b = 4\nans = 5",                # inconsistent, even with ans fixed
    "3 * 4 = 13\nans = 1",                          # false arithmetic check
    "total = 100 / 3 = 33.33\nans = total",         # rounded chain is not equal
    "x = x + 1\nans = x",
    "a = 0\nb = 5 / a\nans = b",                    # division by zero
    "ans = 1 / (2 - 2)",
])
def test_inconsistent_is_unsolvable(text):
    assert error(text) == "unsolvable"


@pytest.mark.parametrize("text", [
    "a + b = 3\nans = a",                           # underdetermined
    "ans = ans",
    "ans = x + y\nx = 1",
    "a * b = 12\nans = a",                          # nonlinear, ans free
])
def test_underdetermined_is_unsolvable(text):
    r = solve_system(text)
    assert r.error == "unsolvable" and ("free" in r.detail or "determined" in r.detail)


def test_several_answer_values_are_unsolvable():
    r = solve_system("side^2 = 49\nans = side")
    assert r.error == "unsolvable" and "several values" in r.detail
    assert error("a * b = 12\na + b = 7\nans = a") == "unsolvable"


def test_non_real_is_unsolvable():
    assert error("x^2 = -4\nans = x") == "unsolvable"
    assert error("y = sqrt(-4)\nans = 1 + y") == "unsolvable"


def test_value_beyond_float_range_is_unsolvable():
    assert error("a = 10^100\nb = a^3\nc = b^3\nans = c") == "unsolvable"


@pytest.mark.parametrize("text", ["", "   \n\n", "% only a comment", "The answer is 5.",
                                  "a = 1\n3 = a + b", "2 + 3 = 5"])
def test_no_answer(text):
    assert error(text) == "no_answer"


@pytest.mark.parametrize(("text", "line"), [
    ("a = 1\nb = a +\nans = b", 2),
    ("ans = 3 4", 1),
    ("a b = 5\nans = a", 1),
    ("ans = x 2", 1),
    ("ans = (1 + 2", 1),
    ("ans = 1 + 2)", 1),
    ("a = 1\nans = mod(a)", 2),         # not one of the supported functions
    ("a = 1\nans = a(2)", 2),           # name( is a call, not a product
    ("ans = 2 = ", 1),
    ("ans = 5 mod 2", 1),
    ("ans = 1,2", 1),                   # not a thousands separator
    ("ans = 1,2345", 1),
    ("ans = 3 < 4", 1),
    ("ans = 5 ! ", 1),
    ("ans = ünïcode", 1),
    ("x = 1.5.2", 1),
])
def test_syntax_errors_name_the_line(text, line):
    r = solve_system(text)
    assert r.error == "syntax", r
    assert r.detail.startswith(f"line {line}:")


def test_parse_system_raises_equation_error():
    with pytest.raises(EquationError) as info:
        parse_system("ans = (1")
    assert info.value.kind == "syntax" and info.value.line == 1
    assert solve_system(None).error == "syntax"  # type: ignore[arg-type]


# ---------------------------------------------------------------- untrusted input

@pytest.mark.parametrize("text", [
    "ans = __import__('os').system('x')",
    "ans = __import__",
    "ans = eval(1)",
    "ans = exec(1)",
    'ans = eval("1 + 1")',
    "ans = (lambda: 1)()",
    "ans = lambda",
    "import os = 1\nans = 1",
    "ans = a.b",
    "ans = (1).real",
    "ans = x.__class__",
    "ans = '5'",
    'ans = "5"',
    "ans = [1][0]",
    "ans = {1: 2}",
    "ans = 1; import os",
    "ans = `ls`",
    "ans = getattr(x, y)",
    "ans = open(f)",
    "ans = compile(a)",
    "ans = x if 1 else 2",
    "ans = not x",
    "ans = x @ y",
    "ans = 1 \\\n+ 2",
    "ans = globals()",
    "ans = sympify(x)",
])
def test_injection_attempts_are_rejected(text):
    assert error(text) in ("forbidden", "syntax")


def test_code_in_prose_lines_is_never_run(monkeypatch):
    # a line without `=` is prose; it is ignored, not executed
    monkeypatch.setattr(builtins, "__import__", _raise_on_os_import(builtins.__import__))
    assert value("__import__('os').system('echo pwned')\nans = 2") == 2.0


def _raise_on_os_import(real):
    def guarded(name, *args, **kwargs):
        if name in ("os", "subprocess"):
            raise AssertionError(f"import of {name} during solving")
        return real(name, *args, **kwargs)
    return guarded


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("text", "kind"), [
    ("ans = 10^1000", "forbidden"),
    ("ans = 10**101", "forbidden"),
    ("ans = 1e400", "forbidden"),
    ("ans = 2.5E-999", "forbidden"),
    ("ans = " + "9" * 60, "forbidden"),
    ("ans = (10^50)^100", "forbidden"),
    ("ans = ((x^10)^10)^10\nx = 2", "forbidden"),
    ("ans = x^10 * x^95\nx = 2", "forbidden"),
    ("a = 10^50\nb = a^100\nans = b", "forbidden"),
    ("n = 3\nans = 2^n", "forbidden"),  # symbolic exponents are not supported
    ("ans = 2^(10^100)", "forbidden"),
    ("ans = " + "(" * 100 + "1" + ")" * 100, "forbidden"),
    ("ans = " + "-" * 100 + "1", "forbidden"),
    ("ans = " + " + ".join(["1"] * 300), "forbidden"),
    ("\n".join(f"v{i} = {i}" for i in range(150)) + "\nans = v1", "forbidden"),
    ("ans = 1\n" + "% padding\n" * 3000, "forbidden"),
    ("ans = " + "a" * 100, "forbidden"),
])
def test_oversized_input_is_rejected(text, kind):
    assert error(text) == kind


@pytest.mark.timeout(60)
def test_long_but_allowed_system_solves():
    lines = [f"v{i} = v{i - 1} + {i}" for i in range(1, 90)]
    text = "v0 = 0\n" + "\n".join(lines) + "\nans = v89"
    assert value(text) == sum(range(90))


def test_no_eval_sympify_or_parse_expr_on_the_text(monkeypatch):
    """Every string handed to sympify/parse_expr/eval/exec while solving fails the test."""
    calls = []

    def guard(real):
        def wrapper(*args, **kwargs):
            if args and isinstance(args[0], str):
                calls.append((getattr(real, "__name__", real), args[0]))
                raise AssertionError(f"{real} called on {args[0]!r}")
            return real(*args, **kwargs)
        return wrapper

    sympify_module = sys.modules["sympy.core.sympify"]  # `sympy.core.sympify` is the function
    for module, attr in [(sympy, "sympify"), (sympify_module, "sympify"), (sympy, "parse_expr"),
                         (sympy.parsing.sympy_parser, "parse_expr"), (builtins, "eval"),
                         (builtins, "exec"), (builtins, "compile")]:
        monkeypatch.setattr(module, attr, guard(getattr(module, attr)))
    texts = [DEMO_AGES, DEMO_SHARE, "x^3 = 27\nans = x", "a * b = 12\na + b = 7\nans = a * b",
             "E = 5\nI = 2\nans = E * I", "ans = sqrt(16) + 20%", "side^2 = 49\nans = side"]
    results = [solve_system(t) for t in texts]
    assert calls == []
    assert [r.value for r in results] == [46.0, 20.0, 3.0, 12.0, 10.0, 4.2, None]


def test_module_source_has_no_eval_calls():
    tree = ast.parse(inspect.getsource(equations))
    called = {ast.unparse(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert "re.compile" in called and "sympy.Symbol" in called  # the walk sees calls
    banned = {"eval", "exec", "compile", "sympify", "parse_expr", "S", "__import__"}
    assert not {name.split(".")[-1] for name in called - {"re.compile"}} & banned


# ---------------------------------------------------------------- real data

def test_rendered_gsm8k_steps_solve_to_their_values(data_dir):
    """EoT texts rendered from GSM8K annotations (teacher + strategy) solve exactly."""
    from mathdistill.strategies.eot import EoT
    from mathdistill.teachers.gsm8k_annotations import gsm8k_steps

    n = 0
    with open(data_dir / "gsm8k" / "train.jsonl", encoding="utf-8") as f:
        for line in f:
            steps = gsm8k_steps(json.loads(line)["answer"])
            if not steps:
                continue
            r = solve_system(EoT().render(steps))
            assert isinstance(r, Result) and r.ok, r
            assert r.value == pytest.approx(steps[-1]["value"], rel=1e-9, abs=1e-9)
            n += 1
            if n == 150:
                break
    assert n == 150
