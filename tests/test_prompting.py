"""Teacher prompts: demo data files, prompt shapes, completion parsing, test-set hygiene."""

import ast
import json
import xml.etree.ElementTree as ET

import pytest

from mathdistill.io import DataError
from mathdistill.records import STRATEGIES, Problem
from mathdistill.strategies.arith import evaluate
from mathdistill.teachers import prompting
from mathdistill.teachers.prompting import (
    PromptBuilder,
    extract_query,
    file_demos,
    norm_question,
    parse_question,
    parse_rationale,
)


def run_pot(program: str) -> float:
    """Evaluate a `var = arithmetic` program without exec (strategies.arith)."""
    env = {}
    for stmt in ast.parse(program).body:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
        env[stmt.targets[0].id] = evaluate(ast.unparse(stmt.value), env)
    return env["answer"]


def test_demos_are_gsm8k_train_items_with_correct_solutions(data_dir):
    from mathdistill.execution.equations import solve_system
    from mathdistill.strategies import extract_answer

    train = (data_dir / "gsm8k" / "train.jsonl").read_text().splitlines()
    demos = file_demos()
    assert len(demos) >= 9 and len({d.id for d in demos}) == len(demos)
    for d in demos:
        split, idx = d.id.split("/")[1:]
        assert split == "train"
        row = json.loads(train[int(idx)])
        assert norm_question(row["question"]) == norm_question(d.question), d.id
        assert float(row["answer"].split("####")[-1].replace(",", "")) == d.answer, d.id
        assert d.texts["cot"].splitlines()[-1] == f"The answer is {d.answer:g}."
        assert extract_answer(d.texts["cot"]) == d.answer
        assert d.texts["l2m"].splitlines()[-1] == f"Final Answer: {d.answer:g}"
        assert "Sub-question 1:" in d.texts["l2m"]
        assert run_pot(d.texts["pot"]) == pytest.approx(d.answer), d.id
        assert d.texts["eot"].splitlines()[-1].startswith("ans = ")
        res = solve_system(d.texts["eot"])
        assert res.ok and res.value == pytest.approx(d.answer), (d.id, res)


def _test_questions(data_dir) -> set[str]:
    qs = {norm_question(json.loads(line)["question"])
          for line in (data_dir / "gsm8k" / "test.jsonl").read_text().splitlines()}
    for row in json.loads((data_dir / "svamp" / "SVAMP.json").read_text()):
        qs.add(norm_question(row["Body"] + " " + row["Question"]))
    for row in json.loads((data_dir / "multiarith" / "MultiArith.json").read_text()):
        qs.add(norm_question(row["sQuestion"]))
    for p in ET.parse(data_dir / "asdiv" / "ASDiv.xml").getroot().iter("Problem"):
        qs.add(norm_question(p.findtext("Body", "") + " " + p.findtext("Question", "")))
    return qs


def test_no_demo_question_is_in_a_test_set(data_dir):
    tests = _test_questions(data_dir)
    assert len(tests) > 4000
    assert not {norm_question(d.question) for d in file_demos()} & tests


def test_train_drawn_demos_are_seeded_and_never_test_questions(data_dir):
    a = PromptBuilder(demo_source="train", demo_seed=1, data_dir=data_dir).demos("pot")
    b = PromptBuilder(demo_source="train", demo_seed=1, data_dir=data_dir).demos("pot")
    c = PromptBuilder(demo_source="train", demo_seed=2, data_dir=data_dir).demos("pot")
    assert [d.id for d in a] == [d.id for d in b] != [d.id for d in c]
    assert len(a) == 8 and a[0].id == "gsm8k/train/3365"  # SIKeD's fixed first demo
    assert all(d.id.startswith("gsm8k/train/") and d.texts["pot"] for d in a + c)
    tests = _test_questions(data_dir)
    assert not {norm_question(d.question) for d in a + c} & tests


def problem(q="Tom has 3 cats and buys 2 more. How many cats does he have?"):
    return Problem(id="x/0", dataset="x", question=q, answer=5.0)


def test_siked_prompt_shape():
    b = PromptBuilder()
    p = b.rationale(problem(), "pot")
    assert p.style == "siked" and p.text.startswith("Below is an instruction")
    assert "Store your result as a variable named 'answer'." in p.text
    assert p.text.count("Input:\n") == 9 and p.text.endswith(
        "Input:\n" + problem().question + "\n\nResponse:\n")
    # chat: system + 8 (user, assistant) demo pairs + the question
    roles = [m["role"] for m in p.messages]
    assert roles == ["system"] + ["user", "assistant"] * 8 + ["user"]
    assert p.messages[2]["content"] == file_demos()[0].texts["pot"]
    assert p.payload("chat") == {"messages": [dict(m) for m in p.messages]}
    assert p.payload("completions") == {"prompt": p.text}


def test_eot_uses_etd_trigger_and_styles_are_configurable():
    b = PromptBuilder()
    p = b.rationale(problem(), "eot")
    assert p.style == "etd"
    assert p.text.count("System of linear equations: (Do not simplify)") == 9
    assert p.text.endswith("Question: " + problem().question +
                           "\nSystem of linear equations: (Do not simplify)\n")
    e = PromptBuilder(style="etd").rationale(problem(), "cot")
    assert e.text.count("Let's think step by step") == 9 and e.style == "etd"
    assert PromptBuilder(n_shots=3).rationale(problem(), "l2m").text.count("Input:\n") == 4
    with pytest.raises(ValueError, match="style"):
        PromptBuilder(style="nope")


def test_query_that_is_a_demo_question_gets_the_reserve_demo():
    demos = file_demos()
    for s in STRATEGIES:
        p = PromptBuilder().rationale(demos[0].question, s)
        # its own solution is never shown (the answer line may be reworded by the style)
        assert p.text.count(demos[0].texts[s].splitlines()[0]) == 0
        assert demos[8].texts[s].splitlines()[0] in p.text
    with pytest.raises(ValueError, match="n_shots"):
        PromptBuilder(n_shots=len(demos)).rationale(demos[0].question, "cot")


def test_parse_rationale():
    b = PromptBuilder()
    pot = b.rationale(problem(), "pot")
    assert parse_rationale("```python\nx = 3\nanswer = x\n```\nThis prints 3.", pot) == \
        "x = 3\nanswer = x"
    assert parse_rationale("### Response:\nx = 1\nanswer = x\n\n### Input:\nMore", pot) == \
        "x = 1\nanswer = x"
    eot = b.rationale(problem(), "eot")
    assert parse_rationale("System of linear equations: (Do not simplify)\nans = 5\n\n"
                           "Question: next one", eot) == "ans = 5"
    cot = b.rationale(problem(), "cot")
    assert parse_rationale("  3 + 2 = 5.\nThe answer is 5.</s>junk", cot) == \
        "3 + 2 = 5.\nThe answer is 5."


def test_question_and_feedback_prompts():
    b = PromptBuilder()
    q = b.question(problem(), "harder")
    assert "harder than it" in q.messages[0]["content"] and q.text.endswith("\nNew problem:")
    assert problem().question in q.text
    assert parse_question("New problem: Ann has 4 dogs. How many legs?\nSolution: 16", q) == \
        "Ann has 4 dogs. How many legs?"
    assert parse_question("  ", q) is None
    assert parse_question(problem().question, q, original=problem().question) is None
    with pytest.raises(ValueError, match="mode"):
        b.question(problem(), "easier")
    f = b.feedback(problem(), "He has 3 + 2 = 6 cats.\n")
    body = f.messages[0]["content"]
    assert "A student answered:\nHe has 3 + 2 = 6 cats.\nThe correct answer is 5." in body
    assert body.endswith('"Therefore, the answer is 5."')


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("style", ["siked", "etd"])
@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_extract_query_inverts_the_prompt(strategy, style, mode):
    p = PromptBuilder(style=style).rationale(problem(), strategy)
    assert extract_query(p.payload(mode)) == (problem().question, strategy)
    q = PromptBuilder().question(problem(), "similar")
    assert extract_query(q.payload(mode)) == (None, None)


def test_bad_prompt_file_names_the_file(tmp_path, monkeypatch):
    (tmp_path / "templates.yaml").write_text("styles: [unclosed\n")
    monkeypatch.setattr(prompting, "PROMPT_DIR", tmp_path)
    prompting.load_prompt_file.cache_clear()
    try:
        with pytest.raises(DataError, match=r"templates\.yaml:\d+: invalid YAML"):
            prompting.load_prompt_file("templates")
        with pytest.raises(DataError, match="questions.yaml: prompt file not found"):
            prompting.load_prompt_file("questions")
    finally:
        prompting.load_prompt_file.cache_clear()


def test_prompt_files_are_package_data():
    from importlib import resources
    names = {p.name for p in (resources.files("mathdistill.teachers") / "prompts").iterdir()}
    assert {"demos.yaml", "templates.yaml", "questions.yaml", "feedback.yaml"} <= names
