"""Train a small byte-level BPE tokenizer for the tiny-* student presets.

    from mathdistill.students.tokenizer import train_tokenizer
    tok = train_tokenizer(texts, kind="causal", vocab_size=1024)   # a PreTrainedTokenizerFast
    ids = tok("x = 12\n    y = x * 3\n").input_ids                     # digits are single tokens
    assert tok.decode(ids, skip_special_tokens=True) == "x = 12\n    y = x * 3\n"
    tok = train_tokenizer(texts, vocab_size=1024, max_number=999,  # "12", "999": one token
                          prompt_words=PROMPT_TEXTS)               # "Question:": one token
    tok.save_pretrained("out/")                                       # AutoTokenizer can load it

Design: byte-level BPE (like GPT-2/Qwen2), so every string is encodable (no <unk> in
practice) and decode(encode(x)) == x exactly, including spaces, tabs, newlines and
indentation of programs. Digits are split individually before BPE (as in Qwen2/Llama), so
numbers are never merged into multi-digit tokens by BPE. `max_number` N adds every integer
10..N (no leading zeros) as one token, matched leftmost-longest before BPE ("1234" with N
999: "123", "4"); a number in the question and the same number in a program or equation
are then the same single token, so a student copies a quantity with one attention lookup
instead of a digit-by-digit pointer walk. `prompt_words` adds texts that every tokenizer
learns from as if each were in every text (a student's examples each hold a prompt), e.g.
the strategies' fixed triggers, so "Question:" and "answer" get tokens of their own. Special tokens: <pad>=0, </s>=1 (eos),
<unk>=2 and, for causal models, <s>=3 (bos). Seq2seq tokenizers append </s> to each input
(T5 convention); causal tokenizers prepend <s> (Llama convention).
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import (
    AddedToken,
    Tokenizer,
    decoders,
    models,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import PreTrainedTokenizerFast

PAD, EOS, UNK, BOS = "<pad>", "</s>", "<unk>", "<s>"

# Default corpus when no texts are given (e.g. load("tiny-t5")): printable ASCII plus a few
# math/program lines, so common merges exist; any other text still encodes byte by byte.
DEFAULT_TEXTS = [
    "".join(chr(c) for c in range(32, 127)),
    (
        "Question: Natalia sold clips to 48 of her friends in April, and then she sold half as "
        "many clips in May. How many clips did Natalia sell altogether in April and May?\n"
        "Let's think step by step\n"
    ),
    (
        "Natalia sold 48 / 2 = 24 clips in May. Natalia sold 48 + 24 = 72 clips altogether. "
        "The answer is 72.\n"
    ),
    (
        "Let's break down the code step by step\n"
        "clips_april = 48\nclips_may = clips_april / 2\nanswer = clips_april + clips_may\n"
    ),
    (
        "System of linear equations: (Do not simplify)\n% clips sold in May\n"
        "may = april / 2\nans = april + may\n"
    ),
    (
        "Sub-question 1: How many clips did she sell in May?\n"
        "Answer to Sub-question 1: 48 / 2 = 24.\nFinal Answer: 72\n"
    ),
    (
        "def solution():\n    total = 0\n    for i in range(10):\n        total += i * 2\n"
        "    return total\n"
    ),
]


# The fixed words of the students' prompts and rationales (the strategies' triggers and
# answer lines), for `prompt_words`: the train set's questions do not contain them.
PROMPT_TEXTS = (
    "Question: ",
    "Let's think step by step\n",
    "Let's break down the code step by step\n",
    "System of linear equations: (Do not simplify)\n",
    "Let's break down the problem into sub-questions\n",
    "The answer is ",
    "\nanswer = ",
    "\nans = ",
    "Sub-question 1: ",
    "Answer to Sub-question 1: ",
    "Final Answer: ",
)


def special_tokens(kind: str) -> dict[str, str]:
    """The special tokens of a tiny tokenizer for `kind` ("seq2seq" or "causal")."""
    toks = {"pad_token": PAD, "eos_token": EOS, "unk_token": UNK}
    if kind == "causal":
        toks["bos_token"] = BOS
    elif kind != "seq2seq":
        raise ValueError(f"kind must be 'seq2seq' or 'causal', got {kind!r}")
    return toks


def train_tokenizer(
    texts: Iterable[str] | None = None,
    *,
    kind: str = "causal",
    vocab_size: int = 1024,
    model_max_length: int = 2048,
    max_number: int | None = None,
    prompt_words: Iterable[str] = (),
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on `texts` (DEFAULT_TEXTS if None); deterministic.
    `vocab_size` counts the BPE vocabulary; `max_number` adds the number tokens on top."""
    specials = special_tokens(kind)
    ordered = [PAD, EOS, UNK] + ([BOS] if kind == "causal" else [])
    texts = list(DEFAULT_TEXTS if texts is None else texts)
    if not texts:
        raise ValueError("train_tokenizer: no texts to train on")
    if max_number is not None and (isinstance(max_number, bool) or not isinstance(max_number, int)
                                   or max_number < 10):
        raise ValueError(f"train_tokenizer: max_number must be an int >= 10, got {max_number!r}")
    texts += [w for w in prompt_words for _ in range(len(texts))]
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(alphabet) + len(ordered):
        raise ValueError(
            f"vocab_size {vocab_size} < {len(alphabet) + len(ordered)} (bytes + specials)"
        )

    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=ordered,
        initial_alphabet=alphabet,
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    if max_number is not None:  # after training: BPE never sees (or merges) them
        tok.add_tokens([AddedToken(str(i), normalized=False) for i in range(10, max_number + 1)])
    if kind == "seq2seq":  # T5: "text </s>"
        tok.post_processor = processors.TemplateProcessing(
            single=f"$A {EOS}",
            pair=f"$A {EOS} $B {EOS}",
            special_tokens=[(EOS, tok.token_to_id(EOS))],
        )
    else:  # Llama: "<s> text"
        tok.post_processor = processors.TemplateProcessing(
            single=f"{BOS} $A",
            pair=f"{BOS} $A {BOS} $B",
            special_tokens=[(BOS, tok.token_to_id(BOS))],
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
        padding_side="right",
        **specials,
    )
