"""Per-paper teacher prompts (issue 15): each style carries its paper's own wording.

The quoted strings are checked against the paper texts in ../shared/papers (next to the data
dir) where that folder exists; the SIKeD figures went through OCR, so the figure text is
matched with a similarity threshold and the OCR noise is visible in the failure message."""

import difflib
import itertools
import re
from pathlib import Path

import pytest

from mathdistill.records import Problem
from mathdistill.teachers.prompting import PromptBuilder, file_demos

Q = "Tom has 3 cats and buys 2 more. How many cats does he have?"
ETD_WORDING = {  # App. A.1 (CoT), App. B.1 (PoT), §3.1.1 / Fig. 2 (EoT)
    "cot": "Let's think step by step",
    "pot": "Let's break down the problem step by step",
    "eot": "System of linear equations: (Do not simplify)",
}
SIKED_HEADER = ("Below is an instruction that describes a task, paired with an input that "
                "provides further context. Write a response that appropriately completes the "
                "request.")
SIKED_WORDING = {  # App. A, Fig. 8 (CoT), Fig. 9 (L2M), Fig. 10 (PoT)
    "cot": "Solve the given math problem step by step. Put your final answer after "
           "'Final answer:'.",
    "l2m": "Solve the given math problem by decomposing it into smaller, manageable "
           "sub-questions. Put your final answer after 'Final answer: '.",
    "pot": "Solve the given math problem by writing a python program. Store your result as a "
           "variable named 'answer'.",
}


def _paper(data_dir, name) -> str:
    path = Path(data_dir).parent / "papers" / name
    if not path.is_file():
        pytest.skip(f"{path} not in this checkout: wording not compared with the paper")
    text = path.read_text(encoding="utf-8")
    for curly, plain in (("\u2019", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(curly, plain)
    return text


def _best_match(text: str, quote: str) -> tuple[float, str]:
    """The paper line (or two joined lines) most similar to `quote`."""
    lines = [ln.strip() for ln in text.splitlines()]
    windows = lines + [a + " " + b for a, b in itertools.pairwise(lines)]

    def matched(w: str) -> float:
        blocks = difflib.SequenceMatcher(None, quote, w, autojunk=False).get_matching_blocks()
        return sum(b.size for b in blocks) / len(quote)

    best = max(windows, key=matched)
    return matched(best), best


def test_etd_teacher_prompts_carry_the_appendix_wording(data_dir):
    paper = _paper(data_dir, "eotd-etd-equation-of-thought.txt")
    b = PromptBuilder(style="etd")
    for strategy, wording in ETD_WORDING.items():
        assert f'"{wording}"' in paper, wording  # quoted verbatim in the paper
        p = b.rationale(Problem(id="x/0", dataset="x", question=Q, answer=5.0), strategy)
        assert p.style == "etd"
        assert p.text.endswith(f"Question: {Q}\n{wording}\n")
        assert p.text.count(f"\n{wording}\n") == 9  # 8 demonstrations + the question
        assert "Below is an instruction" not in p.text  # not SIKeD's Alpaca prompt
        assert p.messages[-1]["content"] == f"Question: {Q}\n{wording}"
    # App. A.1 / B.1: the new question "appended with" / "accompanied by" the prompt
    assert re.search(r'new question appended with "Let\'s think step by step"', paper)
    assert re.search(r'accompanied by "Let\'s break down the problem step by step"', paper)


def test_siked_teacher_prompts_carry_the_figure_wording(data_dir):
    paper = _paper(data_dir, "siked-self-guided-iterative.txt")
    for quote in [SIKED_HEADER, *SIKED_WORDING.values()]:
        score, line = _best_match(paper, quote)
        assert score > 0.975, f"{quote!r} vs the paper's {line!r}"
    # the bar separates OCR noise (>= 0.98 above) from paraphrase (the project's old CoT
    # instruction, and the authors' code's "python code" where Fig. 10 says "program")
    old_cot = ("Solve the given math problem step by step. Put your final answer after "
               "'The answer is'.")
    code_pot = ("Solve the given math problem by writing a python code. Store your result as "
                "a variable named 'answer'.")
    for paraphrase in (old_cot, code_pot):
        assert _best_match(paper, paraphrase)[0] < 0.975
    b = PromptBuilder(style="siked")
    demo = file_demos()[0]
    assert demo.question.startswith("John buys 3 dress shirts.")  # the figures' demonstration
    for strategy, wording in SIKED_WORDING.items():
        p = b.rationale(Q, strategy)
        assert p.text.startswith(f"{SIKED_HEADER}\n\nInstruction:\n{wording}\n\n")
        assert p.text.endswith(f"Input:\n{Q}\n\nResponse:\n")
        assert p.messages[0] == {"role": "system",
                                 "content": f"{SIKED_HEADER}\n\nInstruction:\n{wording}"}
        answers = [m["content"].splitlines()[-1] for m in p.messages if m["role"] == "assistant"]
        assert len(answers) == 8
        if strategy in ("cot", "l2m"):  # Figs. 8-9: "... Final Answer: 66"
            assert all(re.fullmatch(r"Final Answer: -?[\d.]+", a) for a in answers), answers
            assert "The answer is" not in p.text
        else:  # Fig. 10: the program stores its result in `answer`
            assert all(a.startswith("answer = ") for a in answers), answers
    assert p.messages[2]["content"] == demo.texts["pot"]


def test_prompt_style_is_selectable_per_strategy():
    mixed = PromptBuilder(style={"cot": "etd", "pot": "siked"})
    assert mixed.rationale(Q, "cot").style == "etd" and mixed.rationale(Q, "pot").style == "siked"
    assert PromptBuilder().style_of("eot") == "etd"  # SIKeD has no EoT prompt
    with pytest.raises(ValueError, match="unknown prompt style"):
        PromptBuilder(style={"cot": "tailored-nope"})


def test_multiple_choice_questions_show_their_choices_to_the_teacher():
    p = Problem(id="csqa/train/0", dataset="csqa", question="Where do grapes go?", answer="B",
                choices=["mouth", "grocery cart", "super market", "fruit basket", "fruit market"])
    for style in ("etd", "siked"):
        text = PromptBuilder(style=style).rationale(p, "cot").text
        assert "Where do grapes go?\nAnswer Choices:\n(a) mouth\n(b) grocery cart\n" in text
        assert text.rstrip().endswith(("(e) fruit market\nLet's think step by step",
                                       "(e) fruit market\n\nResponse:"))
