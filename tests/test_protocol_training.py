"""Per-paper training protocol (issue 15): Tailored's self-reflection prefix under no_grad on
its KV cache, its question-unique batches, and SIKeD/Qwen's cyclic LR schedule.

Tiny random-init students (a Llama preset and a GPT-J built from its config: GPT-J is the
paper's student); references are computed one unpadded sequence at a time."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from transformers import GPTJConfig, GPTJForCausalLM, TrainingArguments, get_scheduler

from mathdistill.students import TrainConfig, make_tiny
from mathdistill.students.encoding import StudentCollator, encode_examples
from mathdistill.students.prefix_cache import cached_states
from mathdistill.students.reflection import EXTRA_FIELDS, ReflectionTrainer, continuation_states
from mathdistill.students.sampler import QuestionUniqueBatchSampler
from mathdistill.students.training import _training_args

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEXTS = ["Question: Tom has 3 pens and buys 4 more. How many pens?\nReasoning:",
         "Tom has 3 + 4 = 7 pens.\nAnswer: 7", "Ann had 10 cups and broke 2. zebra quokka",
         "Bo reads 5 pages a day for 2 days. The answer is 10."]
PROMPTS = ["Question: Tom has 3 pens and buys 4 more. How many pens?\nReasoning:",
           "zebra quokka zebra. Question: Ann had 10 cups and broke 2. How many?\nReasoning:"]
CONTS = [" Tom has 3 + 4 = 7 pens.\nAnswer: 7", " 10 - 2 = 8.\nAnswer: 8",  # anchors
         " He has 7.\nAnswer: 7", " 8 cups are left.\nAnswer: 8",              # positives
         " 3 - 4 = 1.\nAnswer: 1", " 10 + 2 = 12 cups and more.\nAnswer: 12"]  # negatives


def _gptj(tok):
    torch.manual_seed(0)
    cfg = GPTJConfig(vocab_size=len(tok), n_positions=256, n_embd=64, n_layer=2, n_head=4,
                     rotary_dim=8, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id)
    return GPTJForCausalLM(cfg)


@pytest.fixture(scope="module", params=["tiny-llama", "gpt-j"])
def student(request):
    torch.manual_seed(0)
    model, tok, _ = make_tiny("tiny-llama", TEXTS, seed=0, vocab_size=300)
    if request.param == "gpt-j":
        model = _gptj(tok)
    tok.padding_side = "right"
    return model.eval(), tok


def _ids(tok, text, prompt=False):
    ids = tok(text, add_special_tokens=prompt)["input_ids"]
    return list(ids) if prompt else [*ids, tok.eos_token_id]


def _reference(model, tok):
    """State at each continuation's last token, one full unpadded sequence at a time."""
    out = []
    for j, c in enumerate(CONTS):
        ids = _ids(tok, PROMPTS[j % 2], prompt=True) + _ids(tok, c)
        out.append(model(input_ids=torch.tensor([ids]), output_hidden_states=True)
                   .hidden_states[-1][0, -1])
    return torch.stack(out)


def _grads(model, tok, prefix_cache):
    model.zero_grad()
    states = continuation_states(model, tok, PROMPTS, CONTS, prefix_cache=prefix_cache)
    torch.manual_seed(1)
    (states * torch.randn_like(states)).sum().backward()
    return {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}


def test_prefix_cache_states_equal_the_full_sequence(student):
    model, tok = student
    with torch.no_grad():
        want = _reference(model, tok)
        got = continuation_states(model, tok, PROMPTS, CONTS, prefix_cache=True)
        full = continuation_states(model, tok, PROMPTS, CONTS, prefix_cache=False)
    assert torch.allclose(got, want, atol=1e-5) and torch.allclose(full, want, atol=1e-5)
    # the prefixes differ in length: the left padding and position ids are exercised
    assert len({len(_ids(tok, p, prompt=True)) for p in PROMPTS}) == 2


def test_no_gradient_flows_through_the_prefix(student):
    model, tok = student
    cached, full = _grads(model, tok, True), _grads(model, tok, False)
    emb = "model.embed_tokens.weight" if "model.embed_tokens.weight" in cached else \
        "transformer.wte.weight"
    only_prefix = set(_ids(tok, PROMPTS[1], prompt=True)) - {
        t for c in CONTS for t in _ids(tok, c)} - set(_ids(tok, PROMPTS[0], prompt=True))
    assert only_prefix  # "zebra quokka" tokens occur in the second prefix only
    rows = sorted(only_prefix)
    assert cached[emb][rows].abs().sum() == 0          # no_grad prefix: nothing reaches them
    assert full[emb][rows].abs().sum() > 0             # the full pass does train them
    # where the prefix cannot matter, the gradients are the full pass's: the final norm and
    # the last block's MLP only act on the continuation's own positions
    same = [n for n in cached if n.endswith(("norm.weight", "ln_f.weight", "ln_f.bias"))
            and not n.split(".")[-2].startswith(("input", "post"))]
    same += [n for n in cached if ".mlp." in n and (".1." in n)]  # the last of 2 layers
    assert same
    for n in same:
        assert torch.allclose(cached[n], full[n], atol=1e-5), n
    # ... and elsewhere they differ (the full pass also trains the prefix's keys/values)
    assert any(not torch.allclose(cached[n], full[n], atol=1e-5)
               for n in cached if ".0." in n and cached[n] is not None)
    model.zero_grad()


def test_prefix_cache_survives_gradient_checkpointing(monkeypatch):
    import contextlib

    from mathdistill.students import prefix_cache

    torch.manual_seed(0)
    model, tok, _ = make_tiny("tiny-llama", TEXTS, seed=0, vocab_size=300)
    with torch.no_grad():
        want = _reference(model.eval(), tok)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    layers = [m for m in model.modules() if getattr(m, "gradient_checkpointing", False) is True]
    assert layers  # checkpointing is on
    got = continuation_states(model, tok, PROMPTS, CONTS, prefix_cache=True)
    assert torch.allclose(got.detach(), want, atol=1e-5)
    got.sum().backward()  # the continuation pass keeps its graph
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert all(m.gradient_checkpointing for m in layers)  # switched back on
    # without switching it off, transformers drops the cache (the mask then no longer fits
    # the keys, or the states are wrong)
    monkeypatch.setattr(prefix_cache, "no_checkpointing", lambda m: contextlib.nullcontext())
    try:
        broken = continuation_states(model, tok, PROMPTS, CONTS, prefix_cache=True)
        assert not torch.allclose(broken.detach(), want, atol=1e-3)
    except RuntimeError as e:
        assert "size" in str(e)
    with pytest.raises(ValueError, match="multiple"):
        cached_states(model, [[1, 2], [3]], [[3], [4], [5]], 0)


# ---- question-unique batches -------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [1, 2, 3, 8])
def test_sampler_never_puts_two_rationales_of_a_question_in_a_batch(batch_size):
    rng = random.Random(batch_size)
    keys = [f"q{q}" for q in range(40) for _ in range(rng.randint(1, 6))]
    rng.shuffle(keys)
    sampler = QuestionUniqueBatchSampler(keys, batch_size, seed=3)
    epochs = [list(sampler) for _ in range(3)]
    for batches in epochs:
        assert sorted(i for b in batches for i in b) == list(range(len(keys)))  # each once
        assert all(1 <= len(b) <= batch_size for b in batches)
        assert all(len({keys[i] for i in b}) == len(b) for b in batches)
        assert sum(len(b) == batch_size for b in batches) >= len(batches) - 6  # few short
    assert epochs[0] != epochs[1]  # reshuffled per epoch, ...
    again = QuestionUniqueBatchSampler(keys, batch_size, seed=3)
    assert list(again) == epochs[0]  # ... and seeded


def test_reflection_trainer_uses_the_sampler_when_asked(tmp_path):
    model, tok, kind = make_tiny("tiny-t5", TEXTS, seed=0, vocab_size=300)
    tok.padding_side = "right"
    examples = [{"prompt": f"Question {q}?\n", "target": f"r{q}{k}", "positives": [],
                 "negatives": []} for q in range(6) for k in range(q % 3 + 1)]
    feats, _ = encode_examples(examples, tok, kind)
    for f, ex in zip(feats, examples):
        f.update({k: ex[k] for k in EXTRA_FIELDS})
    args = TrainingArguments(output_dir=str(tmp_path / "t"), use_cpu=True, report_to="none",
                             per_device_train_batch_size=4, seed=0,
                             remove_unused_columns=False)
    for unique in (True, False):
        trainer = ReflectionTrainer.configured(unique_questions=unique)(
            model=model, args=args, processing_class=tok, train_dataset=feats,
            data_collator=StudentCollator(tok, kind, model))
        batches = [b["prompt"] for b in trainer.get_train_dataloader()]
        assert sorted(p for b in batches for p in b) == sorted(e["prompt"] for e in examples)
        if unique:
            assert all(len(set(b)) == len(b) for b in batches)


# ---- cyclic learning rate ------------------------------------------------------------------
def _lrs(cfg: TrainConfig, total: int, tmp_path) -> list[float]:
    args = _training_args(cfg, tmp_path, on_gpu=False)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    sched = get_scheduler(args.lr_scheduler_type, opt, num_warmup_steps=int(cfg.warmup),
                          num_training_steps=total,
                          scheduler_specific_kwargs=args.lr_scheduler_kwargs)
    out = []
    for _ in range(total):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


def _restarts(lrs: list[float]) -> int:
    return sum(1 for a, b in itertools.pairwise(lrs) if b > a + 1e-12)


@pytest.mark.parametrize("cycles", [1, 2, 3, 5])
def test_cosine_with_restarts_runs_num_cycles_cycles(cycles, tmp_path):
    cfg = TrainConfig(lr=3e-4, scheduler="cosine_with_restarts", num_cycles=cycles)
    lrs = _lrs(cfg, 60, tmp_path)
    assert _restarts(lrs) == cycles - 1  # N cycles: N - 1 jumps back to the peak
    assert lrs[0] == pytest.approx(3e-4)
    assert sum(1 for x in lrs if x == pytest.approx(3e-4)) == cycles  # one peak per cycle
    # HF's default is one cycle: the old config (cosine_with_restarts, no num_cycles) and the
    # authors' Qwen "cosine" [C] give the same schedule, without any restart
    plain = _lrs(TrainConfig(lr=3e-4, scheduler="cosine_with_restarts"), 60, tmp_path)
    assert _restarts(plain) == 0
    assert plain == pytest.approx(_lrs(TrainConfig(lr=3e-4, scheduler="cosine"), 60, tmp_path))


def test_num_cycles_reaches_the_packed_path_and_is_checked():
    from mathdistill.students.fast.train_step import FastTrainStep

    model, _, _ = make_tiny("tiny-llama", TEXTS, seed=0, vocab_size=300)
    step = FastTrainStep(model, 3e-4, 0.0, 1.0, compile=False, fused_optim=False, bf16=False)
    cfg = TrainConfig(scheduler="cosine_with_restarts", num_cycles=3)
    sched = step.set_schedule(cfg.scheduler, 0, 30, **cfg.scheduler_kwargs())
    lrs = []
    for _ in range(30):
        lrs.append(sched.get_last_lr()[0])
        step.optimizer.step()
        sched.step()
    step.restore_attention()
    assert _restarts(lrs) == 2
    with pytest.raises(ValueError, match="num_cycles"):
        TrainConfig(scheduler="linear", num_cycles=2)
    with pytest.raises(ValueError, match="int >= 1"):
        TrainConfig(scheduler="cosine_with_restarts", num_cycles=1.5)
    assert TrainConfig(scheduler="cosine", num_cycles=1.5).scheduler_kwargs() == {
        "num_cycles": 1.5}


@pytest.mark.slow
def test_tailored_training_with_prefix_cache_and_unique_batches(tmp_path):
    """The real thing: train() with the paper's settings on a tiny causal student."""
    import json

    from mathdistill.students import train

    examples = [{"prompt": PROMPTS[q % 2], "target": CONTS[q % 2 + 2 * k][1:],
                 "positives": [CONTS[q % 2 + 2], CONTS[q % 2][1:]], "negatives": [CONTS[q % 2 + 4]]}
                for q in range(2) for k in range(2)] * 3
    cfg = TrainConfig(epochs=2, batch_size=2, lr=1e-3, logging_steps=1, extra_fields=EXTRA_FIELDS,
                      scheduler="cosine_with_restarts", num_cycles=2)
    summary = train("tiny-llama", examples, tmp_path / "ckpt", cfg,
                    trainer_cls=ReflectionTrainer.configured(
                        lam=0.5, prompt_loss_weight=0.1, unique_questions=True))
    rows = [json.loads(line) for line in (tmp_path / "ckpt" / "train_log.jsonl").open()]
    assert summary["steps"] == 12 and all(r["sr_active"] > 0 for r in rows)
    assert _restarts([r["learning_rate"] for r in rows]) == 1
