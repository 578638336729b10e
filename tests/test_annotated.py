"""The annotated teacher: GSM8K annotation parsing, rationale formats, registry, filtering."""

import keyword
import math

import pytest

from mathdistill.io import DataError
from mathdistill.records import STRATEGIES, Problem, Rationale
from mathdistill.teachers import TEACHERS, TeacherConfigError, get_teacher
from mathdistill.teachers.annotated import AnnotatedTeacher, gsm8k_steps
from mathdistill.teachers.gsm8k_annotations import evaluate, solution_lines


def chain(steps):
    env = {}
    for s in steps:
        env[s["var"]] = evaluate(s["expr"], env)
    return env[steps[-1]["var"]]


# ---------------------------------------------------------------- annotation parsing
def test_basic_chain_names_and_texts():
    sol = ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
           "Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72")
    s1, s2 = gsm8k_steps(sol)
    assert (s1["var"], s1["expr"], s1["value"]) == ("clips_may", "48 / 2", 24.0)
    assert s1["text"] == "Natalia sold 48/2 = 24 clips in May."
    assert s1["question"] is None
    assert s2["expr"] == "48 + clips_may"  # 24 refers to the first step
    assert s2["value"] == 72.0
    assert solution_lines(sol) == [s1["text"], s2["text"]]


@pytest.mark.parametrize("annotation, value", [
    ("<<3x4=12>>", 12.0),                # x as multiplication
    ("<<3 X 4=12>>", 12.0),
    ("<<3×4=12>>", 12.0),
    ("<<20%*50=10>>", 10.0),             # percent
    ("<<50%80=40>>", 40.0),              # "50% of 80"
    ("<<(10+10)%*50=10>>", 10.0),
    ("<<1,000*3=3,000>>", 3000.0),       # thousands commas
    ("<<$12 * 2=$24>>", 24.0),           # dollar signs and spaces
    ("<<3*4=>>", 12.0),                  # trailing =, no result
    ("<<3*4=12=>>", 12.0),
    ("<<3*4>>", 12.0),                   # no = at all
    ("<<560//10=56>>", 56.0),            # // for exact division
    ("<<2^3=8>>", 8.0),
    ("<<12÷4=3>>", 3.0),
    ("<<2(3+4)=14>>", 14.0),             # implicit product
    ("<<.5*4=2>>", 2.0),
    ("<<05*2=10>>", 10.0),               # leading zero
    ("<<3*+6=18>>", 18.0),               # unary plus (a real GSM8K annotation)
    ("<<−3+5=2>>", 2.0),                 # unicode minus
])
def test_expression_forms(annotation, value):
    [step] = gsm8k_steps(f"He has {annotation} apples.\n#### 1")
    assert step["value"] == pytest.approx(value)
    assert set(step["expr"]) <= set("0123456789.+-*/() ")  # plain Python arithmetic
    assert evaluate(step["expr"], {}) == pytest.approx(value)


@pytest.mark.parametrize("solution", [
    "No annotation here: 3 + 4 = 7.\n#### 7",
    "Bad <<a+b=5>> one.\n#### 5",
    "Zero <<3/0=0>> division.\n#### 0",
    "Unbalanced <<(3+4=7>> paren.\n#### 7",
    "Empty <<=5>> expression.\n#### 5",
    "#### 5",
    "",
])
def test_no_usable_annotation_gives_none(solution):
    assert gsm8k_steps(solution) is None


def test_unusable_annotation_is_skipped_and_chain_continues():
    sol = "A <<foo=3>>3 cats.\nThey had 2+3=<<2+3=5>>5 dogs.\nSo 5*2=<<5*2=10>>10 legs.\n#### 10"
    steps = gsm8k_steps(sol)
    assert [s["var"] for s in steps] == ["dogs", "legs"]
    assert steps[1]["expr"] == "dogs * 2"


def test_negative_results_chain():
    sol = ("-14 + (-8) + 1 = <<-14+-8+1=-21>>-21 degrees Fahrenheit\n"
           "-21/3 = <<-21/3=-7>>-7 degrees Fahrenheit\n#### -7")
    steps = gsm8k_steps(sol)
    assert steps[1]["expr"] == "degrees_fahrenheit / 3"
    assert chain(steps) == -7.0


def test_rounded_result_still_refers_to_its_step():
    sol = ("Each gets 10/3 = <<10/3=3.33>>3.33 cakes.\n"
           "All get 3.33*3 = <<3.33*3=10>>10 cakes.\n#### 10")
    steps = gsm8k_steps(sol)
    assert steps[1]["expr"] == "cakes * 3"
    assert chain(steps) == pytest.approx(10.0)


def test_var_names_are_unique_safe_identifiers():
    sol = ("The sum is 2+3 = <<2+3=5>>5.\n"        # "sum" is a builtin
           "<<5*2=10>>\n"                          # no words at all
           "He pays 10+1 = $<<10+1=11>>11 dollars.\n"
           "She pays 11+1 = $<<11+1=12>>12 dollars.\n"
           "The class has 12*2 = <<12*2=24>>24 kids in class.\n#### 24")
    steps = gsm8k_steps(sol)
    names = [s["var"] for s in steps]
    assert len(set(names)) == len(names)
    assert names[0] == "sum_val" and names[1] == "step_2"
    assert names[2:4] == ["dollars", "dollars_2"]
    for n in names:
        assert n.isidentifier() and not keyword.iskeyword(n) and n not in ("answer", "ans")


def test_words_before_when_nothing_follows():
    [step] = gsm8k_steps("Working 50 minutes, she earned 0.2 x 50 = $<<0.2*50=10>>10.\n#### 10")
    assert step["var"] == "minutes_earned"
    assert step["text"] == "Working 50 minutes, she earned 0.2 x 50 = $10."


def test_several_annotations_in_one_line_get_one_piece_each():
    sol = "He bought 3*2=<<3*2=6>>6 apples, and 4*2=<<4*2=8>>8 pears.\n#### 8"
    s1, s2 = gsm8k_steps(sol)
    assert s1["text"] == "He bought 3*2=6 apples,"
    assert s2["text"] == "and 4*2=8 pears."
    assert (s1["var"], s2["var"]) == ("apples", "pears")


def test_socratic_sub_questions():
    sol = ("How many eggs does Janet sell? ** Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs.\n"
           "How much does she make? ** She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18")
    s1, s2 = gsm8k_steps(sol)
    assert s1["question"] == "How many eggs does Janet sell?"
    assert s1["text"] == "Janet sells 16 - 3 - 4 = 9 duck eggs."
    assert s2["expr"] == "duck_eggs * 2"
    assert solution_lines(sol)[1] == "She makes 9 * 2 = $18 every day."


def test_gsm8k_train_steps_are_valid_solution_steps(data_dir):
    """Every parsed GSM8K train solution passes the strategies' step checks."""
    from mathdistill.io import read_jsonl
    from mathdistill.strategies import check_steps

    rows = read_jsonl(data_dir / "gsm8k" / "train.jsonl")
    parsed = [gsm8k_steps(r["answer"]) for r in rows]
    none = sum(s is None for s in parsed)
    assert none == sum("<<" not in r["answer"] for r in rows)  # README: 95 have none
    for steps in parsed:
        if steps:
            check_steps(steps, need=("var", "expr", "text"))
            for s in steps:
                assert math.isclose(evaluate(s["expr"], {x["var"]: x["value"] for x in steps}),
                                    s["value"], rel_tol=1e-12)


# ---------------------------------------------------------------- teacher
STEPS = [
    {"var": "shirts", "expr": "3", "value": 3.0, "text": "Tom buys 3 shirts.",
     "question": "How many shirts does Tom buy?"},
    {"var": "total_cost", "expr": "shirts * 20", "value": 60.0,
     "text": "The shirts cost 3 * 20 = 60 dollars.", "question": "How much did the shirts cost?"},
    {"var": "change", "expr": "100 - total_cost", "value": 40.0,
     "text": "His change is 100 - 60 = 40 dollars.", "question": "How much change does he get?"},
]
SYN = Problem(id="synthetic/train/0", dataset="synthetic", answer=40.0,
              question="Tom buys 3 shirts at $20 each and pays with $100. What is his change?",
              gold={"steps": STEPS})
GSM = Problem(id="gsm8k/train/0", dataset="gsm8k", answer=72.0, question="Natalia ...?",
              gold={"solution": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n"
                                "Natalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72"})
NOANN = Problem(id="gsm8k/train/9", dataset="gsm8k", answer=5.0, question="?",
                gold={"solution": "He has 2 + 3 = 5 apples.\n#### 5"})


def test_registry():
    assert "annotated" in TEACHERS
    teacher = get_teacher("annotated")
    assert teacher.name == "annotated"
    from mathdistill.teachers.base import Teacher
    assert isinstance(teacher, Teacher)
    with pytest.raises(TeacherConfigError, match="unknown teacher 'nope'"):
        get_teacher("nope")
    with pytest.raises(TeacherConfigError, match="bad options"):
        get_teacher("annotated", model="gpt")


EXPECTED = {
    "cot": "Tom buys 3 shirts.\nThe shirts cost 3 * 20 = 60 dollars.\n"
           "His change is 100 - 60 = 40 dollars.\nThe answer is 40.",
    "pot": "shirts = 3\ntotal_cost = shirts * 20\nchange = 100 - total_cost\nanswer = change",
    "eot": "shirts = 3\ntotal_cost = shirts * 20\nchange = 100 - total_cost\nans = change",
    "l2m": "Sub-question 1: How many shirts does Tom buy?\n"
           "Answer to Sub-question 1: Tom buys 3 shirts.\n"
           "Sub-question 2: How much did the shirts cost?\n"
           "Answer to Sub-question 2: The shirts cost 3 * 20 = 60 dollars.\n"
           "Sub-question 3: How much change does he get?\n"
           "Answer to Sub-question 3: His change is 100 - 60 = 40 dollars.\n"
           "Final Answer: 40",
}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_synthetic_rationale_formats(strategy):
    [r] = AnnotatedTeacher().generate([SYN], strategy)
    assert r.text == EXPECTED[strategy]
    assert (r.id, r.answer, r.strategy, r.source, r.round) == (SYN.id, 40.0, strategy, "teacher", 0)
    assert r.correct is None and r.pred is None and r.meta["teacher"] == "annotated"


def test_gsm8k_rationales():
    t = AnnotatedTeacher()
    [cot] = t.generate([GSM], "cot")
    assert cot.text == ("Natalia sold 48/2 = 24 clips in May.\n"
                        "Natalia sold 48+24 = 72 clips altogether.\nThe answer is 72.")
    [pot] = t.generate([GSM], "pot")
    assert pot.text == ("clips_may = 48 / 2\nclips_altogether = 48 + clips_may\n"
                        "answer = clips_altogether")
    [l2m] = t.generate([GSM], "l2m")
    assert l2m.text.startswith("Sub-question 1: What is the clips may?\n")  # generic question
    assert l2m.text.endswith("Final Answer: 72")
    # no annotation: CoT still derivable, PoT/EoT/L2M are not
    assert [r.id for r in t.generate([NOANN, GSM], "pot")] == [GSM.id]
    assert [r.strategy for r in t.generate([NOANN], "cot")] == ["cot"]
    assert t.generate([NOANN], "eot") == [] and t.generate([NOANN], "l2m") == []


def test_n_samples():
    assert len(AnnotatedTeacher().generate([SYN, GSM], "pot", n=3)) == 2
    rs = get_teacher("annotated", repeat=True).generate([SYN, GSM], "pot", n=3)
    assert [r.meta["sample"] for r in rs] == [0, 1, 2, 0, 1, 2]
    assert len({r.text for r in rs[:3]}) == 1
    with pytest.raises(ValueError, match="n must be"):
        AnnotatedTeacher().generate([SYN], "pot", n=0)
    with pytest.raises(ValueError, match="unknown strategy"):
        AnnotatedTeacher().generate([SYN], "tot")


def test_unannotated_dataset_is_a_clear_error():
    svamp = Problem(id="svamp/test/0", dataset="svamp", question="?", answer=3.0)
    with pytest.raises(DataError, match="svamp/test/0.*no annotations"):
        AnnotatedTeacher().generate([SYN, svamp], "cot")


# ---------------------------------------------------------------- filtering
def _r(i, strategy, text, answer=40.0):
    return Rationale(id=f"p{i}", question="?", answer=answer, strategy=strategy, text=text)


def test_filter_stats_on_a_mix():
    from mathdistill.filtering import filter_rationales, score_rationales

    mix = [
        _r(0, "cot", "3 * 20 = 60. 100 - 60 = 40.\nThe answer is 40."),          # right
        _r(1, "cot", "The answer is 41."),                                       # wrong
        _r(2, "cot", "I do not know."),                                          # no number
        _r(3, "pot", "a = 3 * 20\nanswer = 100 - a"),                            # right
        _r(4, "pot", "a = 3 *\nanswer = a"),                                     # syntax
        _r(5, "pot", "answer = 1 / 0"),                                          # runtime
        _r(6, "eot", "a = 3 * 20\nans = 100 - a"),                               # right
        _r(7, "l2m", "Sub-question 1: ?\nAnswer to Sub-question 1: 60\nFinal Answer: 60"),  # wrong
    ]
    scored = score_rationales(mix)
    assert [r.correct for r in scored] == [True, False, False, True, False, False, True, False]
    assert scored[3].pred == pytest.approx(40.0) and scored[1].pred == 41.0
    assert mix[0].correct is None  # inputs untouched
    kept, stats = filter_rationales(mix)
    assert [r.id for r in kept] == ["p0", "p3", "p6"]
    assert all(r.correct for r in kept)
    assert (stats["total"], stats["kept"], stats["dropped"]) == (8, 3, 5)
    assert stats["drop_rate"] == pytest.approx(5 / 8)
    assert stats["by_error"] == {"no_answer": 1, "runtime": 1, "syntax": 1, "wrong_answer": 2}
    assert stats["by_strategy"]["pot"] == {"total": 3, "kept": 1, "dropped": 2,
                                           "drop_rate": pytest.approx(2 / 3)}


def test_filter_labels_and_no_rescore():
    from mathdistill.filtering import filter_rationales

    rs = [_r(0, "cot", "Birds fly, so the answer is yes.", answer="yes"),
          _r(1, "cot", "So the answer is (c).", answer="b"),
          Rationale(id="p2", question="?", answer=1.0, strategy="cot", text="wrong: 2",
                    correct=True)]
    kept, stats = filter_rationales(rs, rescore=False)
    assert [r.id for r in kept] == ["p0", "p2"]  # p2's earlier verdict is kept
    assert kept[0].pred == "yes" and stats["by_error"] == {"wrong_answer": 1}


# ---------------------------------------------------------------- real data (sandbox)
def test_gsm8k_train_pot_reproduces_gold(data_dir):
    """README: 6981 of the 7473 GSM8K train solutions chain into a program that reproduces
    the gold answer. Run every PoT rationale through the sandbox and count."""
    from mathdistill import data
    from mathdistill.filtering import filter_rationales

    problems = data.load("gsm8k", "train", data_dir=data_dir)
    assert len(problems) == 7473
    rationales = AnnotatedTeacher().generate(problems, "pot")
    assert len(rationales) == 7473 - 95  # README: 95 have no annotation
    kept, stats = filter_rationales(rationales)
    assert stats["kept"] == len(kept) >= 6981, stats
    assert stats["by_error"].get("timeout", 0) == 0


def test_synthetic_all_strategies_are_correct(data_dir):
    """Rationales of generated problems are right in every strategy (after filtering)."""
    from mathdistill import data
    from mathdistill.filtering import filter_rationales

    problems = data.load("synthetic", "train", n=30, seed=3)
    t = AnnotatedTeacher()
    for strategy in STRATEGIES:
        rationales = t.generate(problems, strategy)
        assert len(rationales) == len(problems)
        _, stats = filter_rationales(rationales)
        assert stats["dropped"] == 0, (strategy, stats)


def test_filter_reasons_for_failed_requests_and_missing_gold():
    from mathdistill.filtering import filter_rationales

    failed = Rationale(id="p0", question="?", answer=40.0, strategy="pot", text="",
                       error="teacher_failed: 500: server error")
    no_gold = _r(2, "cot", "The answer is 40.", answer=None)
    kept, stats = filter_rationales([failed, _r(1, "cot", "The answer is 40."), no_gold])
    assert [r.id for r in kept] == ["p1"]
    # not "no_answer" / "wrong_answer"
    assert stats["by_error"] == {"teacher_failed": 1, "no_gold": 1}
