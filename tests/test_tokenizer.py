"""students.tokenizer: number tokens (max_number) and the prompts' fixed words."""

import pytest
from transformers import AutoTokenizer

from mathdistill.students.presets import make_tiny
from mathdistill.students.tokenizer import PROMPT_TEXTS, train_tokenizer

TEXTS = ["Mia has 12 apples. She sells 5 of the apples. Each apple costs $3.\n",
         "apples_left = 12 - 5\ncost = apples_left * 3\nanswer = cost\n"] * 20
SAMPLES = [("Question: Zoe is paid $13.50 an hour, 1234 or 10005 and 0.07 x12y 120\n"
           "answer = money_needed"), "a  \t 99\n  100 7", "pay = 6 * 13\nans = pay"]


def tokens(tok, text):
    return tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_numbers_up_to_max_number_are_single_tokens(kind, tmp_path):
    tok = train_tokenizer(TEXTS, kind=kind, vocab_size=300, max_number=999)
    tok.save_pretrained(tmp_path)
    for t in (tok, AutoTokenizer.from_pretrained(tmp_path)):
        assert len(t) == len(tok)
        for text in SAMPLES:
            assert t.decode(t(text)["input_ids"], skip_special_tokens=True) == text
        got = [x for x in tokens(t, "paid $13.50, 1234 or 10005 and 0.07 then 999") if
               any(c.isdigit() for c in x)]
        # leftmost-longest pieces of at most 999; zeros after a piece stay single digits
        assert got == ["13", "50", "123", "4", "100", "0", "5", "0", "0", "7", "999"]
    # the same number is the same token in a question and in a program
    assert tokens(tok, "costs $120.")[-2] == tokens(tok, "x = 120")[-1] == "120"


def test_without_max_number_digits_stay_single():
    tok = train_tokenizer(TEXTS, kind="causal", vocab_size=300)
    assert [x for x in tokens(tok, "x = 120") if x.isdigit()] == ["1", "2", "0"]


def test_prompt_words_get_their_own_tokens():
    plain = train_tokenizer(TEXTS, kind="causal", vocab_size=400)
    tok = train_tokenizer(TEXTS, kind="causal", vocab_size=400, prompt_words=PROMPT_TEXTS)
    trigger = "Let's break down the code step by step\n"
    assert len(tokens(tok, "Question: " + trigger)) < len(tokens(plain, "Question: " + trigger))
    assert "Question" in tokens(tok, "Question: x")


@pytest.mark.parametrize("bad", [5, 9, 2.5, True])
def test_max_number_must_be_an_int_from_10(bad):
    with pytest.raises(ValueError, match="max_number"):
        train_tokenizer(TEXTS, max_number=bad)


def test_tiny_model_embeds_the_number_tokens():
    model, tok, _ = make_tiny("tiny-llama", TEXTS, vocab_size=300, max_number=500,
                              prompt_words=True)
    assert model.get_input_embeddings().num_embeddings == len(tok) >= 300 + 491
