"""Few-shot teacher prompts from the data files in `teachers/prompts/`, and completion parsing.

    from mathdistill.teachers.prompting import PromptBuilder, parse_rationale
    builder = PromptBuilder(n_shots=8)                 # demos from prompts/demos.yaml
    prompt = builder.rationale(problem, "pot")         # .text (completions), .messages (chat)
    text = parse_rationale(raw_completion, prompt)     # strip echoed cue, cut at stop strings
    builder.question(problem, "harder")                # FDD question generation
    builder.feedback(problem, wrong_text)              # Tailored-Learning feedback

Demonstrations are GSM8K *train* problems: hand-written in `demos.yaml` (default), or with
`demo_source="train"` the first file demo plus `n_shots - 1` train problems drawn with
`demo_seed` and rendered by the annotated teacher (SIKeD: "7 more examples randomly sampled
from the training set"). A demo whose question is the query itself is never shown.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from mathdistill.io import DataError, read_yaml
from mathdistill.records import STRATEGIES, Problem

logger = logging.getLogger(__name__)

PROMPT_DIR = resources.files("mathdistill.teachers") / "prompts"


@dataclass(frozen=True)
class Prompt:
    """One teacher request: the same content as a completion prompt and as chat messages."""

    text: str
    messages: tuple[dict, ...]
    kind: str  # "rationale" | "question" | "feedback"
    strategy: str | None = None
    style: str | None = None
    stop: tuple[str, ...] = ()
    strip_prefixes: tuple[str, ...] = ()

    def payload(self, mode: str) -> dict:
        """The request content for `mode` ("chat" | "completions"); part of the cache key."""
        if mode == "chat":
            return {"messages": [dict(m) for m in self.messages]}
        if mode == "completions":
            return {"prompt": self.text}
        raise ValueError(f"unknown mode {mode!r} (chat | completions)")


@dataclass(frozen=True)
class Demo:
    id: str
    question: str
    answer: float
    texts: dict = field(hash=False)


def norm_question(q: str) -> str:
    """Whitespace- and case-insensitive form used to compare questions."""
    return " ".join(q.split()).lower()


@cache
def load_prompt_file(name: str) -> dict:
    """Parse prompts/<name>.yaml; DataError names the file on bad YAML."""
    path = PROMPT_DIR / f"{name}.yaml"
    if not path.is_file():
        raise DataError(f"{path}: prompt file not found")
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping at the top level")
    return data


def _require(data: dict, key: str, name: str):
    if key not in data:
        raise DataError(f"{PROMPT_DIR / (name + '.yaml')}: missing key {key!r}")
    return data[key]


@cache
def file_demos() -> tuple[Demo, ...]:
    """The hand-written demos of demos.yaml, validated (all four strategies present)."""
    rows = _require(load_prompt_file("demos"), "demos", "demos")
    out = []
    for i, row in enumerate(rows):
        missing = [k for k in ("id", "question", "answer", *STRATEGIES) if k not in row]
        if missing:
            raise DataError(f"{PROMPT_DIR / 'demos.yaml'}: demo {i}: missing {', '.join(missing)}")
        texts = {s: str(row[s]).strip() for s in STRATEGIES}
        out.append(Demo(row["id"], row["question"], float(row["answer"]), texts))
    return tuple(out)


def _train_demos(strategy: str, k: int, seed: int, data_dir=None) -> list[Demo]:
    """k GSM8K train problems (seeded draw) rendered by the annotated teacher; only problems
    whose annotated chain reaches the gold answer are used."""
    from mathdistill import data
    from mathdistill.strategies import is_correct
    from mathdistill.teachers.annotated import gsm8k_steps, rationale_text

    train = data.load("gsm8k", "train", data_dir=data_dir)
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    out = []
    for i in order:
        p = train[i]
        steps = gsm8k_steps((p.gold or {}).get("solution", ""))
        if not steps or not is_correct(steps[-1]["value"], p.answer):
            continue
        text = rationale_text(p, strategy)
        if text:
            out.append(Demo(p.id, p.question, float(p.answer), {strategy: text}))
        if len(out) == k:
            break
    return out


_ANSWER_LINE = re.compile(r"^\s*(the answer is|final answer\s*:)", re.IGNORECASE)


def with_final_answer(text: str, answer: float, template: str | None) -> str:
    """`text` with its answer line ("The answer is N." / "Final Answer: N", if last) replaced
    by `template` filled with the answer (e.g. SIKeD's "Final Answer: {answer}"); None: as is."""
    if not template:
        return text
    from mathdistill.strategies.base import show

    lines = text.rstrip().splitlines()
    if lines and _ANSWER_LINE.match(lines[-1]):
        lines = lines[:-1]
    return "\n".join([*lines, template.format(answer=show(answer))])


class PromptBuilder:
    """Builds the prompts of every teacher request from the YAML data files.

    n_shots: demonstrations per rationale prompt (papers: 8).
    style: the paper whose teacher prompts to use: "siked" (SIKeD App. A, Figs. 8-10:
      Alpaca instruction, "Final Answer: N") | "etd" (ETD App. A.1/B.1, §3.1.1: the question
      followed by the thought's trigger), or {strategy: style}; unset strategies use
      templates.yaml's `default_style`. Each style's wording and its source are in
      templates.yaml.
    demo_source: "file" (demos.yaml) | "train" (seeded GSM8K-train draw, see module doc).
    """

    def __init__(self, *, n_shots: int = 8, style: str | dict | None = None,
                 demo_source: str = "file", demo_seed: int = 0, data_dir: str | Path | None = None):
        tpl = load_prompt_file("templates")
        self.styles = _require(tpl, "styles", "templates")
        self.default_style = dict(_require(tpl, "default_style", "templates"))
        if isinstance(style, str):
            style = {s: style for s in STRATEGIES}
        self.default_style.update(style or {})
        for s, name in self.default_style.items():
            if name not in self.styles:
                raise ValueError(f"unknown prompt style {name!r} for {s} ({', '.join(self.styles)})")
        if demo_source not in ("file", "train"):
            raise ValueError(f"demo_source must be 'file' or 'train', not {demo_source!r}")
        self.n_shots, self.demo_source, self.demo_seed = n_shots, demo_source, demo_seed
        self.data_dir = data_dir
        self._pool: dict[str, list[Demo]] = {}

    # ---- demonstrations -------------------------------------------------------------
    def demo_pool(self, strategy: str) -> list[Demo]:
        if strategy not in self._pool:
            pool = list(file_demos())
            if self.demo_source == "train":
                drawn = _train_demos(strategy, self.n_shots + 1, self.demo_seed, self.data_dir)
                seen = {norm_question(pool[0].question)}
                pool = [pool[0]] + [d for d in drawn if norm_question(d.question) not in seen]
            self._pool[strategy] = pool
        return self._pool[strategy]

    def demos(self, strategy: str, exclude_question: str | None = None) -> list[Demo]:
        """The first n_shots demos of the pool whose question is not the query's."""
        skip = norm_question(exclude_question) if exclude_question else None
        out = [d for d in self.demo_pool(strategy) if norm_question(d.question) != skip]
        if len(out) < self.n_shots:
            raise ValueError(f"only {len(out)} demonstrations available for {strategy}, "
                             f"n_shots={self.n_shots}")
        return out[: self.n_shots]

    # ---- prompts --------------------------------------------------------------------
    def style_of(self, strategy: str) -> str:
        return self.default_style[strategy]

    def rationale(self, problem: Problem | str, strategy: str) -> Prompt:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r} ({', '.join(STRATEGIES)})")
        question = problem if isinstance(problem, str) else problem.question
        if not isinstance(problem, str) and problem.choices:  # multiple choice (CSQA)
            from mathdistill.strategies.extract import format_choices

            question = f"{question}\nAnswer Choices:{format_choices(problem.choices)}"
        style = self.style_of(strategy)
        st = self.styles[style]
        fill = {
            "header": st.get("header", ""),
            "instruction": (st.get("instruction") or {}).get(strategy, ""),
            "trigger": (st.get("trigger") or {}).get(strategy, ""),
        }

        def f(template: str, **kw) -> str:
            return template.format(**fill, **kw)

        sep = st.get("separator", "\n\n")
        demos = self.demos(strategy, exclude_question=question)
        parts, messages = [f(st.get("prefix", ""))], []
        system = f(st["system"]).strip() if st.get("system") else ""
        if system:
            messages.append({"role": "system", "content": system})
        final = (st.get("final_answer") or {}).get(strategy)
        for d in demos:
            q = f(st["query"], question=d.question)
            text = with_final_answer(d.texts[strategy], d.answer, final)
            parts.append(q + text + sep)
            messages.append({"role": "user", "content": q.strip()})
            messages.append({"role": "assistant", "content": text})
        q = f(st["query"], question=question)
        parts.append(q)
        messages.append({"role": "user", "content": q.strip()})
        return Prompt(
            text="".join(parts), messages=tuple(messages), kind="rationale", strategy=strategy,
            style=style, stop=tuple(st.get("stop", ())),
            strip_prefixes=tuple(f(p) for p in st.get("strip_prefixes", ())),
        )

    def question(self, problem: Problem | str, mode: str = "harder") -> Prompt:
        spec = load_prompt_file("questions")
        modes = _require(spec, "modes", "questions")
        if mode not in modes:
            raise ValueError(f"unknown question mode {mode!r} ({', '.join(modes)})")
        question = problem if isinstance(problem, str) else problem.question
        body = modes[mode].format(question=question)
        return Prompt(
            text=body + spec.get("completion_suffix", ""),
            messages=({"role": "user", "content": body},), kind="question",
            stop=tuple(spec.get("stop", ())), strip_prefixes=tuple(spec.get("strip_prefixes", ())),
        )

    def feedback(self, problem: Problem, wrong_rationale: str) -> Prompt:
        from mathdistill.strategies.base import show

        spec = load_prompt_file("feedback")
        body = _require(spec, "template", "feedback").format(
            question=problem.question, wrong_rationale=wrong_rationale.strip(),
            gold=show(problem.answer))
        return Prompt(
            text=body + spec.get("completion_suffix", ""),
            messages=({"role": "user", "content": body},), kind="feedback", strategy="cot",
            stop=tuple(spec.get("stop", ())), strip_prefixes=tuple(spec.get("strip_prefixes", ())),
        )


# ---- parsing completions ------------------------------------------------------------
_FENCE = re.compile(r"```[a-zA-Z0-9_+-]*[ \t]*\n(.*?)(?:\n```|$)", re.DOTALL)


def cut_at_stop(text: str, stop) -> str:
    """Text before the earliest stop string."""
    cut = len(text)
    for s in stop or ():
        i = text.find(s)
        if s and i != -1:
            cut = min(cut, i)
    return text[:cut]


def _strip_prefixes(text: str, prefixes) -> str:
    changed = True
    while changed:
        changed = False
        t = text.lstrip()
        for p in prefixes:
            if p and t.lower().startswith(p.lower()):
                text, changed = t[len(p):], True
                break
    return text.strip()


def parse_rationale(text: str, prompt: Prompt) -> str:
    """A raw completion -> rationale text: drop an echoed cue and markdown fences, cut at stops."""
    text = cut_at_stop(text, prompt.stop)
    text = _strip_prefixes(text, prompt.strip_prefixes)
    if prompt.strategy in ("pot", "eot"):
        m = _FENCE.search(text)
        if m:
            text = m.group(1)
    return text.strip()


def parse_question(text: str, prompt: Prompt, original: str | None = None) -> str | None:
    """A raw completion -> the generated question, or None if empty / a copy of the original."""
    text = cut_at_stop(text, prompt.stop)
    text = _strip_prefixes(text, prompt.strip_prefixes).strip().strip('"').strip()
    if not text or (original and norm_question(text) == norm_question(original)):
        return None
    return text


# ---- inverse: what a prompt asks (used by the fake server to answer) ------------------
def extract_query(payload: dict) -> tuple[str | None, str | None]:
    """(question, strategy) of a rationale request built by PromptBuilder, else (None, None)."""
    if "messages" in payload:
        msgs = payload["messages"] or [{}]
        text = str(msgs[-1].get("content", ""))
        system = " ".join(str(m.get("content", "")) for m in msgs if m.get("role") == "system")
    else:
        text, system = str(payload.get("prompt", "")), ""
    styles = load_prompt_file("templates")["styles"]
    for st in styles.values():
        for strategy, cue in {**st.get("instruction", {}), **st.get("trigger", {})}.items():
            q = st["query"]
            head, _, tail = q.partition("{question}")
            tail = tail.format(trigger=cue, instruction=cue, header="").strip()
            head = head.format(trigger=cue, instruction=cue, header="")
            i, j = text.rfind(head), text.rfind(tail) if tail else -1
            if i == -1 or j <= i:
                continue
            if "{trigger}" in q or cue in text or cue in system:
                return text[i + len(head):j].strip(), strategy
    return None, None
