"""Strategies: triggers, prompts, rendering of solution steps, tags, answers."""

import pytest

from mathdistill.execution.result import Result
from mathdistill.strategies import (
    STRATEGY_NAMES,
    StepsError,
    Strategy,
    generic_question,
    get,
    is_correct,
    split_tag,
    student_prompt,
    tag,
)

# John buys 3 shirts at $20 and pays 10% tax (the SIKeD demonstration problem).
STEPS = [
    {
        "var": "shirts",
        "expr": "3",
        "value": 3.0,
        "text": "John buys 3 dress shirts.",
        "question": None,
    },
    {
        "var": "price",
        "expr": "20",
        "value": 20.0,
        "text": "Each shirt costs $20.",
        "question": None,
    },
    {
        "var": "shirt_cost",
        "expr": "shirts * price",
        "value": 60.0,
        "text": "The shirts cost 3 * 20 = 60 dollars.",
        "question": "How much did the shirts cost?",
    },
    {
        "var": "tax",
        "expr": "shirt_cost * 0.1",
        "value": 6.0,
        "text": "The tax is 60 * 0.1 = 6 dollars.",
        "question": "How much is the tax?",
    },
    {
        "var": "total_cost",
        "expr": "shirt_cost + tax",
        "value": 66.0,
        "text": "In total he pays 60 + 6 = 66 dollars.",
        "question": None,
    },
]

# A non-integral answer, a negative intermediate and a power.
STEPS_FRACTION = [
    {"var": "a", "expr": "7", "value": 7.0, "text": "There are 7 cakes."},
    {"var": "b", "expr": "a - 12", "value": -5.0, "text": "7 - 12 = -5."},
    {"var": "c", "expr": "(b + 10) / 2 ** 1", "value": 2.5, "text": "(-5 + 10) / 2 = 2.5."},
]

def test_names_and_registry():
    assert STRATEGY_NAMES == ("cot", "pot", "eot", "l2m")
    for name in STRATEGY_NAMES:
        s = get(name)
        assert isinstance(s, Strategy) and s.name == name
        assert s.trigger and s.teacher_instruction
        assert get(s) is s
    assert len({get(n).trigger for n in STRATEGY_NAMES}) == 4
    with pytest.raises(ValueError, match="unknown strategy 'tot'"):
        get("tot")


def test_triggers_and_teacher_instructions():
    assert get("cot").trigger == "Let's think step by step"
    assert get("pot").trigger == "Let's break down the code step by step"
    assert get("eot").trigger == "System of linear equations: (Do not simplify)"
    assert get("l2m").trigger == "Let's break down the problem into sub-questions"
    assert "'Final answer:'" in get("cot").teacher_instruction
    assert "sub-questions" in get("l2m").teacher_instruction
    assert "named 'answer'" in get("pot").teacher_instruction
    assert get("eot").teacher_instruction == "System of linear equations: (Do not simplify)"


def test_student_prompt():
    q = "John buys 3 dress shirts. How much did he pay?"
    assert student_prompt(q, "cot") == f"Question: {q}\nLet's think step by step\n"
    assert student_prompt(q, get("eot")) == (
        f"Question: {q}\nSystem of linear equations: (Do not simplify)\n"
    )


def test_render_cot():
    assert get("cot").render(STEPS, 66.0) == (
        "John buys 3 dress shirts.\n"
        "Each shirt costs $20.\n"
        "The shirts cost 3 * 20 = 60 dollars.\n"
        "The tax is 60 * 0.1 = 6 dollars.\n"
        "In total he pays 60 + 6 = 66 dollars.\n"
        "The answer is 66."
    )
    assert get("cot").render(STEPS_FRACTION, 2.5).endswith("\nThe answer is 2.5.")


def test_render_pot():
    assert get("pot").render(STEPS, 66.0) == (
        "shirts = 3\n"
        "price = 20\n"
        "shirt_cost = shirts * price\n"
        "tax = shirt_cost * 0.1\n"
        "total_cost = shirt_cost + tax\n"
        "answer = total_cost"
    )
    # a last step already called `answer` needs no extra line
    steps = [{"var": "x", "expr": "2"}, {"var": "answer", "expr": "x * 3", "value": 6.0}]
    assert get("pot").render(steps, 6.0) == "x = 2\nanswer = x * 3"


def test_render_eot():
    assert get("eot").render(STEPS, 66.0) == (
        "shirts = 3\n"
        "price = 20\n"
        "shirt_cost = shirts * price\n"
        "tax = shirt_cost * 0.1\n"
        "total_cost = shirt_cost + tax\n"
        "ans = total_cost"
    )
    steps = [{"var": "ans", "expr": "1"}, {"var": "y", "expr": "ans + 1"}]
    with pytest.raises(StepsError, match="reserved"):
        get("eot").render(steps, 2.0)


def test_render_l2m_uses_questions_and_generic_subquestions():
    assert get("l2m").render(STEPS, 66.0) == (
        "Sub-question 1: How much did the shirts cost?\n"
        "Answer to Sub-question 1: The shirts cost 3 * 20 = 60 dollars.\n"
        "Sub-question 2: How much is the tax?\n"
        "Answer to Sub-question 2: The tax is 60 * 0.1 = 6 dollars.\n"
        "Sub-question 3: What is the total cost?\n"
        "Answer to Sub-question 3: In total he pays 60 + 6 = 66 dollars.\n"
        "Final Answer: 66"
    )


def test_render_l2m_without_any_questions():
    text = get("l2m").render(STEPS_FRACTION, 2.5)
    assert text == (
        "Sub-question 1: What is the b?\n"
        "Answer to Sub-question 1: 7 - 12 = -5.\n"
        "Sub-question 2: What is the c?\n"
        "Answer to Sub-question 2: (-5 + 10) / 2 = 2.5.\n"
        "Final Answer: 2.5"
    )
    # only given numbers: nothing to drop, every step becomes a sub-question
    given = [{"var": "eggs", "expr": "12", "value": 12.0, "text": "She has 12 eggs."}]
    assert get("l2m").render(given, 12) == (
        "Sub-question 1: What is the eggs?\n"
        "Answer to Sub-question 1: She has 12 eggs.\n"
        "Final Answer: 12"
    )


@pytest.mark.parametrize(
    "var, question",
    [
        ("total_cost", "What is the total cost?"),
        ("numEggs", "What is the num eggs?"),
        ("step2", "What is the step 2?"),
        ("__x__", "What is the x?"),
        ("", "What is the result?"),
    ],
)
def test_generic_question(var, question):
    assert generic_question(var) == question


def test_render_uses_last_value_when_no_answer_given():
    assert get("cot").render(STEPS).endswith("The answer is 66.")
    assert get("l2m").render(STEPS, None).endswith("Final Answer: 66")


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_render_rejects_an_answer_the_steps_do_not_compute(name):
    with pytest.raises(StepsError, match="does not match"):
        get(name).render(STEPS, 67.0)


@pytest.mark.parametrize(
    "steps, match",
    [
        ([], "non-empty list"),
        ("x = 1", "non-empty list"),
        ([{"var": "x"}], "missing 'expr'"),
        ([{"var": "1x", "expr": "1"}], "not a usable identifier"),
        ([{"var": "lambda", "expr": "1"}], "not a usable identifier"),
        ([{"var": "x", "expr": "1"}, {"var": "x", "expr": "2"}], "assigned twice"),
        ([{"var": "x", "expr": "y + 1"}, {"var": "y", "expr": "2"}], "'y' before it is defined"),
        ([{"var": "x", "expr": "__import__('os')"}], "uses Call"),
        ([{"var": "x", "expr": "'a' * 3"}], "non-numeric constant"),
        ([{"var": "x", "expr": "3x"}], "not a Python expression"),
        ([{"var": "x", "expr": "1", "value": "one"}], "finite number"),
        ([{"var": "x", "expr": "1", "value": float("nan")}], "finite number"),
    ],
)
def test_bad_steps_are_rejected_for_programs(steps, match):
    for name in ("pot", "eot"):
        with pytest.raises(StepsError, match=match):
            get(name).render(steps, 1.0)


def test_text_strategies_need_step_texts():
    steps = [{"var": "x", "expr": "1", "value": 1.0}]
    for name in ("cot", "l2m"):
        with pytest.raises(StepsError, match="step 1: missing 'text'"):
            get(name).render(steps, 1.0)
    assert get("pot").render(steps, 1.0) == "x = 1\nanswer = x"


@pytest.mark.parametrize("name", STRATEGY_NAMES)
@pytest.mark.parametrize("rest", ["x = 1\nanswer = x", " leading space", "", "[cot]: nested"])
def test_tag_round_trip(name, rest):
    assert tag(name) == f"[{name}]: "
    assert split_tag(tag(name) + rest) == (name, rest)


@pytest.mark.parametrize("text", ["no tag here", "[tot]: x", "cot: x", "The answer is [cot]: 5"])
def test_split_tag_without_a_known_tag(text):
    assert split_tag(text) == (None, text)


@pytest.mark.parametrize("name", ["cot", "l2m"])
def test_text_answers_round_trip(name):
    s = get(name)
    texts = [s.render(STEPS, 66.0), s.render(STEPS_FRACTION, 2.5), "I am not sure."]
    results = s.answers(texts)
    assert [r.value for r in results] == [66.0, 2.5, None]
    assert results[2] == Result(None, "no_answer", "no number")
    assert results[0].ok and not results[2].ok
    assert s.answer("Final Answer: $1,234") == Result(1234.0)


@pytest.mark.parametrize("name, broken, error", [
    ("pot", "answer = 1 / 0", "runtime"),
    ("eot", "x = 1\nx = 2\nans = x", "unsolvable"),
])
def test_program_answers_of_rendered_steps(name, broken, error):
    """PoT runs in the sandbox, EoT is solved in a worker: rendered steps give their answer."""
    s = get(name)
    results = s.answers([s.render(STEPS, 66.0), s.render(STEPS_FRACTION, 2.5), broken])
    assert len(results) == 3
    assert results[0].ok and is_correct(results[0].value, 66.0)
    assert results[1].ok and is_correct(results[1].value, 2.5)
    assert results[2].value is None and results[2].error == error


def test_step_arithmetic_without_eval():
    from fractions import Fraction

    from mathdistill.strategies.arith import ArithError, evaluate, names

    assert names("b + a * b") == ["b", "a", "b"]
    assert evaluate("shirts * 20 - -1", {"shirts": 3.0}) == 61.0
    assert evaluate("0.1 + 0.2", number=Fraction) == Fraction(3, 10)  # exact
    for bad, match in [("1 / 0", "ZeroDivisionError"), ("2 ** 100", "exponent"),
                       ("x + 1", "'x'"), ("__import__('os')", "uses Call"),
                       ("'a' * 3", "non-numeric"), ("True + 1", "non-numeric"),
                       ("(-8) ** 0.5", "finite"), ("1e308 * 10", "finite"), ("3x", "not a Python")]:
        with pytest.raises(ArithError, match=match):
            evaluate(bad)
