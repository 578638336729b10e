"""Answer extraction, number normalisation/formatting and scoring (strategies.extract)."""

import json
import math

import pytest

from mathdistill.strategies.extract import (
    extract_answer,
    extract_label,
    find_numbers,
    format_number,
    is_correct,
    normalize_number,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        # markers, each format
        ("So he paid 66 dollars. Final Answer: 66", 66),
        ("final answer: 12", 12),
        ("FINAL ANSWER:12.5", 12.5),
        ("The final answer is 7", 7),
        ("3 + 4 = 7. The answer is 7.", 7),
        ("Therefore, the answer is 48.", 48),
        ("the answer is: -3", -3),
        ("She has 3 apples.\nAnswer: 9", 9),
        ("Janet sells 9 eggs.\n#### 18", 18),
        ("#### 1,080", 1080),
        ("It costs 5 and then 7 more, so 12", 12),
        # the SIKeD demonstration ending
        ("The tax cost $60*.1=$<<60*.1=6>>6\nFinal Answer: $66<eos>", 66),
        # number shapes
        ("Final Answer: $1,234.50", 1234.5),
        ("The answer is 50%", 50),
        ("The answer is 3/4.", 0.75),
        ("The answer is -3/4", -0.75),
        ("The answer is .5", 0.5),
        ("The answer is 18.", 18),
        ("The answer is 1e3", 1000),
        ("The answer is 2.5E-2", 0.025),
        ("The answer is -$5", -5),
        ("The temperature is now x=-3", -3),
        ("The answer is \u22124", -4),
        ("He has 109,200,000 dollars", 109200000),
        ("100 - 30 = 70", 70),
        ("values 1,2,3", 3),
        # the marker wins over later and earlier numbers
        ("Final Answer: 5. The answer is 7. #### 9 and finally 11", 5),
        ("The answer is 7. #### 9 and finally 11", 7),
        ("#### 9 and finally 11", 9),
        ("10 apples. Final Answer: 66\nQuestion: Tom has 3 cats and 4 dogs.", 66),
        # repeated marker: the first one with a number
        ("Final Answer: 66\nFinal Answer: 70", 66),
        ("Final Answer: unknown. Later: Final Answer: 8", 8),
        # the clause after a marker: equation result, sentence end, next line
        ("The answer is 5 + 6 = 11.", 11),
        ("Final Answer: 3 * 20 = 60", 60),
        ("The answer is 11. Then x = 5 + 1 = 6", 11),
        ("Final Answer:\n66", 66),
        ("the final answer is 15 gallons * 8 pints / gallon = <<15*8=120>>120 pints", 120),
        ("The answer is unclear, but 4 + 4 = 8", 8),
        ("The answer is 7, since x = 3 + 4", 7),
        # a marker without a number falls back to the next rule
        ("The answer is unclear.\n#### 8", 8),
        ("The answer is unclear. I think 4 + 4 makes 8 or 9", 9),
        # digits glued to names are not numbers
        ("step2 gives x_1 and 5 more", 5),
    ],
)
def test_extract_answer(text, expected):
    assert extract_answer(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text", ["", None, "I do not know.", "Final Answer: none", "x_1 and step2", "3/0"]
)
def test_extract_answer_no_number(text):
    assert extract_answer(text) is None


def test_find_numbers_binary_minus_is_not_a_sign():
    assert find_numbers("5-3=2 and -4 and (-1)") == [5, 3, 2, -4, -1]


@pytest.mark.parametrize(
    "s, expected",
    [
        ("48", 48),
        ("48.0", 48),
        ("$1,234.50", 1234.5),
        ("50%", 50),
        ("3/4", 0.75),
        ("-3", -3),
        (".5", 0.5),
        ("18.", 18),
        (" 7 ", 7),
        ("1e3", 1000),
        (2, 2.0),
        (2.5, 2.5),
    ],
)
def test_normalize_number(s, expected):
    assert normalize_number(s) == expected


@pytest.mark.parametrize(
    "s", ["", "abc", "3 apples", "1,23", "3/0", "1 2", True, None, float("nan")]
)
def test_normalize_number_rejects(s):
    assert normalize_number(s) is None


@pytest.mark.parametrize(
    "x, text",
    [
        (60.0, "60"),
        (2.5, "2.5"),
        (-2.5, "-2.5"),
        (0.1 + 0.2, "0.3"),
        (-0.0, "0"),
        (48.00000000000001, "48"),
        (1 / 3, "0.3333333333"),
        (123456789.123, "123456789.123"),
        (1e-5, "0.00001"),
        (7, "7"),
    ],
)
def test_format_number(x, text):
    assert format_number(x) == text


@pytest.mark.parametrize(
    "pred, gold, tol, exact",
    [
        (48.0, 48.0, True, True),
        (48.0, "48", True, True),  # numeric gold as text
        ("48.0", 48.0, True, True),
        (0.1 * 480, 48.0, True, True),  # float noise from a program
        (48.00001, 48.0, True, False),  # within 1e-4, but not the same number as text
        (47.9, 48.0, False, False),
        (48.5, 48.0, False, False),
        (109200010.0, 109200000.0, False, False),  # rel_tol alone would accept this
        (10000.4, 10000.0, False, False),  # an integral gold is compared exactly
        (47.995, 48.0, False, False),
        (1000000001.0, 1e9, False, False),
        (100 / 3, 33.3333, True, False),
        (0.30000000000000004, 0.3, True, True),
        (-3.0, 3.0, False, False),
        (None, 48.0, False, False),
        ("abc", 48.0, False, False),
        (True, 1.0, False, False),
        ("Yes", "yes", True, True),  # labels: case-insensitive
        (" b ", "B", True, True),
        ("no", "yes", False, False),
        (1.0, "yes", False, False),
    ],
)
def test_is_correct(pred, gold, tol, exact):
    assert is_correct(pred, gold) is tol
    assert is_correct(pred, gold, mode="tolerance") is tol
    assert is_correct(pred, gold, mode="exact") is exact


def test_is_correct_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        is_correct(1.0, 1.0, mode="fuzzy")


def test_is_correct_non_integral_gold_uses_tolerance():
    assert is_correct(2.50005, 2.5)
    assert not is_correct(2.5005, 2.5)
    assert not math.isclose(2.5005, 2.5, rel_tol=1e-4, abs_tol=1e-4)


@pytest.mark.parametrize(
    "text, choices, expected",
    [
        ("Birds can fly. So the answer is yes.", None, "yes"),
        ("No. Hmm. Answer: Yes", None, "yes"),
        ("Yes, they could. But actually no", None, "no"),
        ("Nobody knows; yesterday it rained.", None, None),
        ("The answer is (b).", ["bank", "store", "park"], "b"),
        ("(a) is wrong. Therefore, the answer is park (c).", ["bank", "store", "park"], "c"),
        ("It is (e).", ["bank", "store", "park"], None),  # no such choice, no choice text
        ("People keep money in a bank.", ["bank", "store", "park"], "a"),
        ("", ["bank"], None),
        ("I pick (c), the park", [""] * 5, "c"),  # letters only, no choice texts
        ("I pick the park", [""] * 5, None),
    ],
)
def test_extract_label(text, choices, expected):
    assert extract_label(text, choices) == expected


def test_gsm8k_gold_solutions_extract_to_their_answer(data_dir):
    """Every GSM8K solution ends in `#### N`; extraction must recover N exactly."""
    n = 0
    for split in ("train", "test"):
        with open(data_dir / "gsm8k" / f"{split}.jsonl") as f:
            for line in f:
                solution = json.loads(line)["answer"]
                gold = float(solution.rsplit("####", 1)[1].strip().replace(",", ""))
                assert extract_answer(solution) == gold, solution
                assert is_correct(extract_answer(solution), gold, mode="exact")
                n += 1
    assert n == 7473 + 1319
