"""ReflectionTrainer (Tailored Learning): L = L_LM + lambda * L_SR on tiny T5 / Qwen2 batches,
checked against the LM loss and `students.triplet.triplet_loss` on hidden states computed
here one sequence at a time (no padding, no shared code path); gradients; logging."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from transformers import TrainingArguments

from mathdistill.students import TrainConfig, make_tiny, train
from mathdistill.students.encoding import StudentCollator, encode_examples
from mathdistill.students.reflection import EXTRA_FIELDS, ReflectionTrainer
from mathdistill.students.triplet import triplet_loss

TEXTS = ["Question: Tom has 3 pens and buys 4 more. How many pens?",
         "Tom has 3 + 4 = 7 pens. The answer is 7.", "pens = 3 + 4\nanswer = pens",
         "Ann had 10 cups and broke 2. The answer is 8.", "Bo reads 5 pages a day for 2 days."]
EXAMPLES = [
    {"prompt": "Question: Tom has 3 pens and buys 4 more.\n", "target": "3 + 4 = 7. The answer is 7.",
     "positives": ["3 + 4 = 7. The answer is 7.", "Tom has 7 pens. The answer is 7."],
     "negatives": ["3 - 4 = -1. The answer is -1."]},
    {"prompt": "Question: Ann had 10 cups and broke 2.\n", "target": "10 - 2 = 8. The answer is 8.",
     "positives": ["Ann has 8 cups left. The answer is 8."],
     "negatives": ["10 + 2 = 12. The answer is 12."]},
    {"prompt": "Question: Bo reads 5 pages a day for 2 days.\n",  # masked: no negative
     "target": "5 * 2 = 10. The answer is 10.", "positives": ["Bo reads 10 pages."],
     "negatives": []},
    {"prompt": "Question: How many?\n", "target": "The answer is 7.",
     "positives": ["Seven. The answer is 7."],
     "negatives": ["The answer is 4 and 3 more so the answer is 9 pens in all."]},
]
# usable triplets (one positive different from the target and one negative each)
TRIPLETS = {0: ("Tom has 7 pens. The answer is 7.", "3 - 4 = -1. The answer is -1."),
            1: ("Ann has 8 cups left. The answer is 8.", "10 + 2 = 12. The answer is 12."),
            3: ("Seven. The answer is 7.",
                "The answer is 4 and 3 more so the answer is 9 pens in all.")}


@pytest.fixture(scope="module", params=["tiny-t5", "tiny-qwen2"])
def tiny(request):
    torch.manual_seed(0)
    model, tok, kind = make_tiny(request.param, TEXTS, seed=0, vocab_size=300)
    tok.padding_side = "right"
    model.eval()
    return model, tok, kind


def _batch(model, tok, kind):
    feats, _ = encode_examples(EXAMPLES, tok, kind)
    for f, ex in zip(feats, EXAMPLES):
        f.update({k: ex[k] for k in EXTRA_FIELDS})
    return StudentCollator(tok, kind, model)(feats)


def _trainer(model, tok, tmp_path, **options):
    cls = ReflectionTrainer.configured(**options)
    args = TrainingArguments(output_dir=str(tmp_path / "t"), use_cpu=True, report_to="none")
    trainer = cls(model=model, args=args, processing_class=tok)
    trainer.extra_fields = EXTRA_FIELDS
    return trainer


def _state(model, tok, kind, prompt: str, text: str, max_len: int = 192) -> torch.Tensor:
    """The last-layer state at the continuation's last token, for one unpadded sequence."""
    if kind == "seq2seq":
        enc = torch.tensor([tok(prompt)["input_ids"]])
        cont = tok(text)["input_ids"][:max_len]  # T5 layout: ends in eos
        dec = torch.tensor([[model.config.decoder_start_token_id, *cont]])
        out = model(input_ids=enc, decoder_input_ids=dec, output_hidden_states=True)
        return out.decoder_hidden_states[-1][0, -1]
    cont = (tok(text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id])[:max_len]
    ids = torch.tensor([tok(prompt)["input_ids"] + cont])
    return model(input_ids=ids, output_hidden_states=True).hidden_states[-1][0, -1]


def _hand_sr(model, tok, kind, max_len=192, margin=1.0):
    a, p, n, mask = [], [], [], []
    for i, ex in enumerate(EXAMPLES):
        pos, neg = TRIPLETS.get(i, (ex["target"], ex["target"]))  # masked rows: any values
        a.append(_state(model, tok, kind, ex["prompt"], ex["target"], max_len))
        p.append(_state(model, tok, kind, ex["prompt"], pos, max_len))
        n.append(_state(model, tok, kind, ex["prompt"], neg, max_len))
        mask.append(float(i in TRIPLETS))
    return triplet_loss(torch.stack(a), torch.stack(p), torch.stack(n), torch.tensor(mask),
                        margin=margin)


def test_loss_is_lm_plus_lambda_times_triplet(tiny, tmp_path):
    model, tok, kind = tiny
    batch = _batch(model, tok, kind)
    trainer = _trainer(model, tok, tmp_path, lam=0.5, margin=1.0)
    with torch.no_grad():
        loss = trainer.compute_loss(model, batch)
        lm = model(**{k: batch[k] for k in batch if k not in EXTRA_FIELDS}).loss
        sr = _hand_sr(model, tok, kind)
    assert sr.item() > 0.05  # a real triplet term (random init: cos far from 1)
    assert loss.item() == pytest.approx((lm + 0.5 * sr).item(), abs=1e-5)
    terms = trainer.loss_terms(model, batch)
    assert terms["active"] == 3
    # lambda scales only the triplet term
    with torch.no_grad():
        loss2 = _trainer(model, tok, tmp_path, lam=2.0).compute_loss(model, batch)
    assert loss2.item() == pytest.approx((lm + 2.0 * sr).item(), abs=1e-5)


def test_lambda_zero_skips_the_triplet_passes(tiny, tmp_path, monkeypatch):
    """Without self-reflection the loss is L_LM alone and L_SR is not computed at all."""
    from mathdistill.students import reflection

    model, tok, kind = tiny
    batch = _batch(model, tok, kind)

    def boom(*args, **kwargs):
        raise AssertionError("continuation_states called with lam 0")

    monkeypatch.setattr(reflection, "continuation_states", boom)
    trainer = _trainer(model, tok, tmp_path, lam=0.0)
    with torch.no_grad():
        loss = trainer.compute_loss(model, batch)
        lm = model(**{k: batch[k] for k in batch if k not in EXTRA_FIELDS}).loss
    assert loss.item() == pytest.approx(lm.item(), abs=1e-6)
    terms = trainer.loss_terms(model, batch)
    assert terms["sr"] is None and terms["active"] == 3


def test_continuation_cut_and_margin(tiny, tmp_path):
    model, tok, kind = tiny
    batch = _batch(model, tok, kind)
    with torch.no_grad():
        terms = _trainer(model, tok, tmp_path, max_sr_len=3, margin=0.3).loss_terms(model, batch)
        want = _hand_sr(model, tok, kind, max_len=3, margin=0.3)
        full = _hand_sr(model, tok, kind, max_len=192, margin=0.3)
    assert terms["sr"].item() == pytest.approx(want.item(), abs=1e-5)
    assert abs(want.item() - full.item()) > 1e-4  # the cut changes the states


def test_no_triplet_in_batch_gives_lm_loss_only(tiny, tmp_path):
    model, tok, kind = tiny
    batch = _batch(model, tok, kind)
    batch["negatives"] = [[] for _ in batch["negatives"]]
    with torch.no_grad():
        terms = _trainer(model, tok, tmp_path).loss_terms(model, batch)
        lm = model(**{k: batch[k] for k in batch if k not in EXTRA_FIELDS}).loss
    assert terms["active"] == 0 and terms["sr"].item() == 0.0
    assert terms["lm"].item() == pytest.approx(lm.item(), abs=1e-6)


def test_triplet_gradient_reaches_the_weights(tiny, tmp_path):
    model, tok, kind = tiny
    batch = _batch(model, tok, kind)
    model.zero_grad()
    terms = _trainer(model, tok, tmp_path).loss_terms(model, batch)
    terms["sr"].backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    layer = "decoder.block.1" if kind == "seq2seq" else "model.layers.1"
    assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if layer in n)
    if kind == "seq2seq":  # the prompt is encoded under no_grad (upstream's prefix)
        assert all(g is None or g.abs().sum() == 0 for n, g in grads.items()
                   if n.startswith("encoder."))
    model.zero_grad()


def test_prompt_token_weight_for_causal_students(tmp_path):
    model, tok, kind = make_tiny("tiny-qwen2", TEXTS, seed=0, vocab_size=300)
    tok.padding_side = "right"
    model.eval()
    batch = _batch(model, tok, kind)
    batch["negatives"] = [[] for _ in batch["negatives"]]  # LM term only
    with torch.no_grad():
        got = _trainer(model, tok, tmp_path, prompt_loss_weight=0.1).loss_terms(model, batch)
        num = den = 0.0
        for ex in EXAMPLES:  # one sequence at a time: prompt tokens 0.1, target tokens 1
            head = tok(ex["prompt"])["input_ids"]
            ids = head + tok(ex["target"], add_special_tokens=False)["input_ids"] + [
                tok.eos_token_id]
            logits = model(input_ids=torch.tensor([ids])).logits[0, :-1]
            ce = F.cross_entropy(logits, torch.tensor(ids[1:]), reduction="none")
            w = torch.tensor([0.1 if j + 1 < len(head) else 1.0 for j in range(len(ids) - 1)])
            num += float((ce * w).sum())
            den += len(ids) - 1
    assert got["lm"].item() == pytest.approx(num / den, rel=1e-5)


def test_unknown_option_and_missing_fields(tmp_path):
    with pytest.raises(ValueError, match="unknown options"):
        ReflectionTrainer.configured(lambda_=0.5)
    model, tok, kind = make_tiny("tiny-t5", TEXTS, seed=0, vocab_size=300)
    tok.padding_side = "right"
    feats, _ = encode_examples(EXAMPLES, tok, kind)
    batch = StudentCollator(tok, kind, model)(feats)
    with pytest.raises(ValueError, match="extra_fields"):
        _trainer(model, tok, tmp_path).loss_terms(model, batch)


@pytest.mark.slow
def test_train_logs_the_self_reflection_loss(tmp_path):
    examples = EXAMPLES * 4
    cfg = TrainConfig(epochs=2, batch_size=4, lr=1e-3, logging_steps=1, extra_fields=EXTRA_FIELDS)
    summary = train("tiny-t5", examples, tmp_path / "ckpt", cfg,
                    trainer_cls=ReflectionTrainer.configured(lam=0.5, seed=1))
    rows = [json.loads(line) for line in (tmp_path / "ckpt" / "train_log.jsonl").open()]
    assert summary["steps"] == 8 and len(rows) == 8
    assert all({"lm_loss", "sr_loss", "sr_active"} <= set(r) for r in rows)
    assert any(r["sr_loss"] > 0 for r in rows)
    # loss = lm + 0.5 * sr for each logged step (logging_steps=1: one batch per row)
    for r in rows:
        assert r["loss"] == pytest.approx(r["lm_loss"] + 0.5 * r["sr_loss"], rel=1e-3, abs=1e-4)
    assert 0 < rows[0]["sr_active"] <= 1


def test_length_chunks_cover_every_row_once_sorted_by_length():
    from mathdistill.students.reflection import _length_chunks
    lengths = [5, 90, 12, 40, 7, 88, 30]
    chunks = _length_chunks(lengths, 3)
    assert len(chunks) == 3 and sorted(i for c in chunks for i in c) == list(range(7))
    flat = [lengths[i] for c in chunks for i in c]
    assert flat == sorted(lengths)                      # short rows pad to short rows
    assert _length_chunks([3, 1], 5) == [[1], [0]] and _length_chunks([], 3) == []


def test_states_do_not_depend_on_the_chunking(tiny, monkeypatch):
    """The continuations' states, in their order, whatever the number of decoder calls."""
    from mathdistill.students import reflection
    model, tok, kind = tiny
    prompts = [ex["prompt"] for ex in EXAMPLES]
    texts = [ex["target"] for ex in EXAMPLES] + [ex["positives"][0] for ex in EXAMPLES]
    with torch.no_grad():
        ref = torch.stack([_state(model, tok, kind, prompts[i % 4], t) for i, t in enumerate(texts)])
        for n in (1, 3, 8):
            monkeypatch.setattr(reflection, "SR_CHUNKS", n)
            got = reflection.continuation_states(model, tok, prompts, texts)
            assert torch.allclose(got, ref, atol=1e-5), n
