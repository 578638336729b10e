"""Fast training path (students/fast: packing, md_varlen attention, chunked CE, FastTrainStep).

CPU, fp32, tiny presets: packed rows are exact (no cross-sample leakage), the chunked loss
equals plain cross entropy, and train(packing=True) writes the usual checkpoint.
"""

from __future__ import annotations

import itertools
import json
import random

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoModelForCausalLM, Qwen2Config

from mathdistill.students import TrainConfig, build_tiny, load, make_tiny, train
from mathdistill.students.fast import attention as attn
from mathdistill.students.fast.flops import (
    H100_BF16_PEAK,
    attn_seq_len,
    decoder_matmul_params,
    mfu,
    t5_train_flops_per_example,
    train_flops_per_token,
)
from mathdistill.students.fast.loss import chunked_cross_entropy
from mathdistill.students.fast.packing import IGNORE, first_fit_decreasing, pack
from mathdistill.students.fast.train_step import FastTrainStep
from mathdistill.students.lora import apply_lora

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def random_examples(n, lo=3, hi=20, seed=0, vocab=300, loss_from=2):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ids = [rng.randrange(5, vocab) for _ in range(rng.randint(lo, hi))]
        labels = [IGNORE] * min(loss_from, len(ids) - 1) + ids[min(loss_from, len(ids) - 1) :]
        out.append((ids, labels))
    return out


def tiny(preset="tiny-qwen2", seed=0):
    model, tok, _ = make_tiny(preset, seed=seed)
    return model.eval(), tok


# --- packing ----------------------------------------------------------------------------


def test_pack_covers_every_example_once_with_fixed_shapes():
    exs = random_examples(37, lo=1, hi=30)
    rows = pack(exs, 64, pad_id=1)
    seen = []
    for r in rows:
        assert r.input_ids.shape == r.labels.shape == r.position_ids.shape == (1, 64)
        assert r.cu_seqlens.dtype == torch.int32 and int(r.cu_seqlens[-1]) == 64
        assert r.max_seqlen == rows[0].max_seqlen >= 30
        cu = r.cu_seqlens.tolist()
        for s, (a, b) in enumerate(itertools.pairwise(cu)):
            assert 0 < b - a <= r.max_seqlen
            assert r.position_ids[0, a:b].tolist() == list(range(b - a))
            if s < r.n_samples:
                seen.append((r.input_ids[0, a:b].tolist(), r.labels[0, a:b].tolist()))
            else:  # filler: pad id, no loss
                assert set(r.input_ids[0, a:b].tolist()) == {1}
                assert set(r.labels[0, a:b].tolist()) == {IGNORE}
        assert r.n_tokens == cu[r.n_samples]
        assert r.n_loss_tokens == int((r.labels != IGNORE).sum())
    expected = [(ids, [IGNORE, *labels[1:]]) for ids, labels in exs]
    assert sorted(seen) == sorted(expected)  # every example exactly once, first label dropped


def test_first_fit_decreasing_is_tight_and_rejects_too_long():
    lengths = [random.Random(i).randint(1, 100) for i in range(300)]
    bins = first_fit_decreasing(lengths, 256)
    assert sorted(i for b in bins for i in b) == list(range(300))
    assert all(sum(lengths[i] for i in b) <= 256 for b in bins)
    assert len(bins) <= -(-sum(lengths) // 256) + 1
    with pytest.raises(ValueError, match="length 9"):
        pack([([1] * 9, [1] * 9)], 8)


# --- attention: no leakage --------------------------------------------------------------


def _packed_logits(model, row):
    attn.use_varlen(model)
    with torch.no_grad():
        return model(**row.model_kwargs(with_labels=False)).logits[0]


def _alone_logits(model, ids):
    model.set_attn_implementation("sdpa")
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0]


@pytest.mark.parametrize("preset", ["tiny-qwen2", "tiny-llama"])
def test_packed_forward_equals_each_sample_alone(preset):
    model, _ = tiny(preset)
    exs = random_examples(6, lo=4, hi=25, seed=1)
    (row,) = pack(exs, 128)
    logits = _packed_logits(model, row)
    cu = row.cu_seqlens.tolist()
    for s in range(row.n_samples):
        ids = row.input_ids[0, cu[s] : cu[s + 1]].tolist()
        torch.testing.assert_close(
            logits[cu[s] : cu[s + 1]], _alone_logits(model, ids), atol=1e-5, rtol=0
        )


def test_packed_sample_ignores_its_neighbours():
    model, _ = tiny()
    a = random_examples(1, lo=8, hi=8, seed=2)[0]
    others1 = random_examples(3, lo=12, hi=12, seed=3)  # longer: FFD puts them before a
    others2 = random_examples(3, lo=12, hi=12, seed=4)
    r1 = pack([a, *others1], 64)[0]
    r2 = pack([a, *others2], 64)[0]
    assert r1.input_ids[0, 36:44].tolist() == r2.input_ids[0, 36:44].tolist() == a[0]
    assert not torch.equal(r1.input_ids[:, :36], r2.input_ids[:, :36])
    l1, l2 = _packed_logits(model, r1)[36:44], _packed_logits(model, r2)[36:44]
    torch.testing.assert_close(l1, l2, atol=1e-5, rtol=0)


def test_mask_function_builds_no_mask_for_packed_rows():
    assert attn.varlen_mask(batch_size=1, q_length=8, kv_length=8, attention_mask=None) is None
    pad = torch.tensor([[0, 1, 1], [1, 1, 1]], dtype=torch.bool)
    mask = attn.varlen_mask(batch_size=2, q_length=3, kv_length=3, attention_mask=pad)
    assert mask.shape == (2, 1, 3, 3)


def test_md_varlen_without_cu_seqlens_is_plain_sdpa_for_padded_batches():
    model, _ = tiny()
    ids = torch.tensor([[0, 0, 7, 8, 9], [5, 6, 7, 8, 9]])
    am = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=am).logits
        attn.use_varlen(model)
        got = model(input_ids=ids, attention_mask=am).logits
    torch.testing.assert_close(got[am.bool()], ref[am.bool()], atol=1e-5, rtol=0)


@pytest.mark.parametrize("params", ["old", "new"])
def test_flash_varlen_call_adapts_to_the_torch_signature(monkeypatch, params):
    """varlen_attn is CUDA-only: check the argument mapping with a CPU stand-in."""
    calls = {}

    def fake(q, k, v, cu_q, cu_k, max_q, max_k, **kw):
        calls.update(kw, hq=q.shape[1], hk=k.shape[1])
        assert kw.get("is_causal") or kw.get("window_size") == (-1, 0)
        scale = kw.get("scale", q.shape[-1] ** -0.5)
        return attn._segment_sdpa(q, k, v, cu_q, scale)

    names = {"old": {"is_causal"}, "new": {"window_size", "enable_gqa", "scale"}}[params]
    monkeypatch.setattr(attn, "_varlen_attn", fake)
    monkeypatch.setattr(attn, "_VARLEN_PARAMS", frozenset(names))
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(12, h, 8, generator=g) for h in (4, 2, 2))
    cu = torch.tensor([0, 5, 12], dtype=torch.int32)
    out = attn._flash_varlen(q, k, v, cu, 16, 0.2)
    torch.testing.assert_close(out, attn._segment_sdpa(q, k, v, cu, 0.2), atol=1e-6, rtol=0)
    assert calls["hk"] == (2 if params == "new" else 4)


# --- loss -----------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [7, 64])
def test_chunked_cross_entropy_equals_plain(chunk):
    g = torch.Generator().manual_seed(0)
    h = torch.randn(30, 16, generator=g, requires_grad=True)
    w = torch.randn(50, 16, generator=g, requires_grad=True)
    t = torch.randint(0, 50, (30,), generator=g)
    t[::4] = IGNORE
    ref = F.cross_entropy(h @ w.t(), t, ignore_index=IGNORE)
    gh, gw = torch.autograd.grad(ref * 3, (h, w))
    got = chunked_cross_entropy(h, w, t, chunk=chunk)
    ch, cw = torch.autograd.grad(got * 3, (h, w))
    torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(ch, gh, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(cw, gw, atol=1e-6, rtol=1e-5)
    s = chunked_cross_entropy(h, w, t, chunk=chunk, denom=1)  # a sum
    torch.testing.assert_close(s, ref * int((t != IGNORE).sum()), atol=1e-4, rtol=1e-6)


# --- train step -------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["tiny-qwen2", "tiny-llama"])
def test_packed_loss_and_grads_equal_unpacked(preset):
    model, _ = tiny(preset)
    exs = random_examples(5, lo=4, hi=20, seed=5)
    rows = pack(exs, 96)
    total = sum(r.n_loss_tokens for r in rows)
    step = FastTrainStep(model, lr=1e-3, compile=False, fused_optim=False, loss_chunk=16)
    packed = sum(step.loss(r, total) for r in rows)
    packed.backward()
    gp = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model.set_attn_implementation("sdpa")
    ref = 0
    for ids, labels in exs:  # HF loss is a per-example mean: undo it, token-mean over all
        out = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels]))
        ref = ref + out.loss * sum(1 for x in labels[1:] if x != IGNORE)
    ref = ref / total
    ref.backward()
    torch.testing.assert_close(packed, ref, atol=1e-5, rtol=1e-5)
    for n, p in model.named_parameters():
        torch.testing.assert_close(gp[n], p.grad, atol=1e-5, rtol=1e-4, msg=n)


def test_train_step_lowers_loss_with_accumulation():
    model, _ = tiny()
    rows = pack(random_examples(24, seed=6), 64)
    step = FastTrainStep(model, lr=3e-3, compile=False, fused_optim=False)
    step.set_schedule("linear", 0, 30)
    first = float(step(rows[:2]))
    for _ in range(25):
        last = float(step(rows[:2]))
    assert last < 0.7 * first and step.steps == 26
    assert step.last_grad_norm is not None and step.lr < 3e-3


def test_lora_with_packing_trains_only_adapters():
    model, _ = tiny()
    model = apply_lora(model, {"r": 4, "alpha": 8}, "causal")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    rows = pack(random_examples(10, seed=7), 64)
    step = FastTrainStep(model, lr=1e-2, compile=False, fused_optim=False)
    assert all("lora_" in n for n, p in model.named_parameters() if p.requires_grad)
    assert len(step.params) == sum(p.requires_grad for p in model.parameters())
    for _ in range(3):
        step(rows[0])
    for n, p in model.named_parameters():
        changed = not torch.equal(p, before[n])
        assert changed == ("lora_B" in n or "lora_A" in n), n


# --- train() integration ---------------------------------------------------------------


def toy(n=40):
    return [
        {
            "prompt": f"Question: {i % 10} + {i // 10}\n",
            "target": f"The answer is {i % 10 + i // 10}.",
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def qwen_dir(tmp_path_factory):
    texts = [e["prompt"] + e["target"] for e in toy()]
    return build_tiny("tiny-qwen2", texts, tmp_path_factory.mktemp("m") / "q", vocab_size=300)


def test_train_with_packing_writes_the_usual_checkpoint(qwen_dir, tmp_path):
    out = tmp_path / "ckpt"
    cfg = TrainConfig(lr=3e-3, max_steps=12, batch_size=8, logging_steps=1, packing=True)
    summary = train(qwen_dir, toy(), out, cfg)
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert len(rows) == summary["steps"] == 12
    assert {"step", "loss", "grad_norm", "learning_rate", "epoch"} <= set(rows[0])
    assert rows[-1]["loss"] < rows[0]["loss"]
    assert summary["tokens_per_s"] > 0 and summary["packing"]["rows"] >= 1
    for name in ("config.json", "model.safetensors", "tokenizer.json", "train_config.json"):
        assert (out / name).is_file(), name
    model, _, kind = load(out)
    assert kind == "causal" and model.config._attn_implementation != attn.NAME
    assert json.loads((out / "train_config.json").read_text())["config"]["packing"] is True
    AutoModelForCausalLM.from_pretrained(out)


def test_train_lora_with_packing(qwen_dir, tmp_path):
    cfg = TrainConfig(lr=5e-3, max_steps=3, packing=True, lora={"r": 4, "alpha": 8})
    summary = train(qwen_dir, toy(), tmp_path / "l", cfg)
    assert summary["saved"] == "merged" and summary["steps"] == 3


# --- flops ------------------------------------------------------------------------------


def test_flops_for_qwen2_0_5b():
    cfg = Qwen2Config(
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        vocab_size=151936,
        tie_word_embeddings=True,
    )
    n = decoder_matmul_params(cfg)
    assert n == 24 * (896 * (14 + 4) * 64 + 14 * 64 * 896 + 3 * 896 * 4864) + 896 * 151936
    fpt = train_flops_per_token(cfg, 1024)
    assert fpt == 6 * n + 6 * 24 * 896 * 1024
    assert mfu(100_000, fpt) == pytest.approx(100_000 * fpt / H100_BF16_PEAK)
    assert attn_seq_len([2, 2]) == 2 and attn_seq_len([1, 3]) == 2.5
    t5, _, _ = make_tiny("tiny-t5")
    assert t5_train_flops_per_example(t5.config, 10, 5) > 0


def test_packing_leaves_multi_process_launches_to_the_trainer(monkeypatch):
    from mathdistill.students import training

    cfg = TrainConfig(packing=True)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert training._can_pack("causal", cfg, training.StudentTrainer, None)
    monkeypatch.setenv("WORLD_SIZE", "2")  # accelerate launch: DDP lives in the Trainer path
    assert not training._can_pack("causal", cfg, training.StudentTrainer, None)
