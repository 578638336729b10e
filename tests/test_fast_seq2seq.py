"""fast/seq2seq.py: T5 fast decoding equals HF generate (greedy), on tiny-t5 in fp32 on CPU.

The tiny-t5 preset at its random init copies its decoder input (tied embeddings dominate the
residual stream), so every output would be the start token repeated. The test model has its
non-embedding matrices scaled by 4: the blocks then dominate and outputs depend on the prompt
and the position, with clear top-1 margins (no near-ties that padding numerics could flip).
"""

from __future__ import annotations

import pytest
import torch
from transformers import GenerationConfig

from mathdistill.students import make_tiny
from mathdistill.students.fast import seq2seq
from mathdistill.students.fast.seq2seq import generate_ids_seq2seq

TEXTS = [
    f"Question: {a} + {b} apples\nLet's think step by step\n{a} + {b} = {a + b}. The answer is"
    for a in range(10)
    for b in range(6)
]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def t5():
    model, tok, _ = make_tiny("tiny-t5", TEXTS, seed=0, vocab_size=400)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2 and "shared" not in name:
                p.mul_(4.0)  # see the module docstring: a decisive, input-dependent model
    model.eval()
    prompts = [tok(f"Question: {i} + {3 * i} apples and {i} more").input_ids for i in range(7)]
    prompts[2] = prompts[2][:-1] * 3 + prompts[2][-1:]  # a long one
    prompts[5] = prompts[5][:4] + prompts[5][-1:]  # a short one
    return model, tok, prompts


def hf_ref(model, tok, prompt, n, *, prefix=(), eos=None, min_new=0):
    """HF generate on one prompt (no padding), in the fast API's output convention."""
    start = model.generation_config.decoder_start_token_id
    eos = tok.eos_token_id if eos is None else eos
    cfg = GenerationConfig(
        max_new_tokens=n, min_new_tokens=min_new or None, do_sample=False, num_beams=1,
        eos_token_id=eos, pad_token_id=tok.pad_token_id, decoder_start_token_id=start,
    )
    kw = {"decoder_input_ids": torch.tensor([[start, *prefix]])} if prefix else {}
    out = model.generate(
        torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
        generation_config=cfg, **kw,
    )[0].tolist()[1:]
    eos_set = {eos} if isinstance(eos, int) else set(eos)
    cut = next((t for t in range(len(prefix), len(out)) if out[t] in eos_set), len(out))
    return out[:cut]


def fast(model, tok, prompts, n, **kw):
    kw.setdefault("pad_token_id", tok.pad_token_id)
    return generate_ids_seq2seq(model, prompts, max_new_tokens=n, **kw)


def test_greedy_matches_hf_generate(t5):
    model, tok, prompts = t5
    ref = [hf_ref(model, tok, p, 12) for p in prompts]
    assert len({tuple(r) for r in ref}) > 3  # the outputs depend on the prompt
    out = fast(model, tok, prompts, 12, batch_size=3, num_samples=2)  # 3 batches, last has 1
    assert [o[0] for o in out] == ref
    assert all(o[1] == o[0] and o[1] is not o[0] for o in out)  # greedy: K copies
    assert fast(model, tok, prompts, 12, batch_size=16) == [[r] for r in ref]  # one batch


def test_eos_and_min_new_tokens(t5):
    model, tok, prompts = t5
    free = [hf_ref(model, tok, p, 12) for p in prompts]
    eos = free[0][3]  # a token the model does emit: call it EOS, so outputs stop early
    ref = [hf_ref(model, tok, p, 12, eos=eos) for p in prompts]
    assert len(ref[0]) == free[0].index(eos) < 12
    assert fast(model, tok, prompts, 12, batch_size=4, eos_token_id=eos) == [[r] for r in ref]
    ref = [hf_ref(model, tok, p, 12, eos=[eos, 7], min_new=6) for p in prompts]
    assert all(len(r) >= 6 for r in ref)
    got = fast(model, tok, prompts, 12, batch_size=4, eos_token_id=[eos, 7], min_new_tokens=6)
    assert got == [[r] for r in ref]


def test_prefixes(t5):
    model, tok, prompts = t5
    pre_tok = tok("[pot]:", add_special_tokens=False).input_ids
    prefixes = [pre_tok, [], pre_tok[:1], pre_tok, [], pre_tok[:2], pre_tok]
    ref = [hf_ref(model, tok, p, 10, prefix=f) for p, f in zip(prompts, prefixes, strict=True)]
    got = fast(model, tok, prompts, 10, batch_size=3, prefixes=prefixes)
    assert got == [[r] for r in ref]
    assert all(r[: len(f)] == f and len(r) == len(f) + 10 for r, f in zip(ref, prefixes,
                                                                         strict=True))


def test_sampling_reproducible(t5):
    model, tok, prompts = t5
    kw = {"do_sample": True, "temperature": 1.0, "num_samples": 3, "batch_size": 6}
    a = fast(model, tok, prompts, 10, seed=1, **kw)
    assert a == fast(model, tok, prompts, 10, seed=1, **kw)
    assert a != fast(model, tok, prompts, 10, seed=2, **kw)
    assert all(len(o) == 3 and all(len(s) == 10 for s in o) for o in a)
    assert any(len({tuple(s) for s in o}) > 1 for o in a)  # K samples differ
    # top_k=1 sampling is greedy decoding
    greedy = fast(model, tok, prompts, 10, batch_size=6)
    top1 = fast(model, tok, prompts, 10, seed=3, **{**kw, "top_k": 1, "top_p": 0.9})
    assert top1 == [g * 3 for g in greedy]


def test_guard_against_a_wrong_step(t5, monkeypatch):
    model, tok, prompts = t5

    def no_bias(t5_parts, n_pos, dtype, device):
        causal = torch.ones(n_pos, n_pos, dtype=torch.bool, device=device).tril()
        table = torch.zeros(t5_parts.n_heads, n_pos, n_pos, dtype=dtype, device=device)
        return table.masked_fill(~causal, torch.finfo(dtype).min)

    monkeypatch.setattr(seq2seq, "_bias_table", no_bias)
    with pytest.raises(RuntimeError, match="disagrees with the HF forward"):
        fast(model, tok, prompts[:2], 4)


def test_rejects_bad_arguments(t5):
    model, tok, prompts = t5
    assert fast(model, tok, [], 4) == []
    with pytest.raises(ValueError, match="prefixes"):
        fast(model, tok, prompts, 4, prefixes=[[]])
    with pytest.raises(ValueError, match="min_new_tokens"):
        fast(model, tok, prompts, 4, min_new_tokens=5)
    with pytest.raises(ValueError, match="cuda_graphs"):
        fast(model, tok, prompts, 4, cuda_graphs=True)


def test_stop_fn_ends_rows_at_a_host_check(t5):
    model, tok, prompts = t5
    greedy = [o[0] for o in fast(model, tok, prompts, 12, batch_size=4)]
    x = greedy[0][5]

    def expected(g):  # cut at the first host check (every 4 steps) that sees x
        if x not in g:
            return g
        return g[: min(len(g), -(-(g.index(x) + 1) // 4) * 4)]

    got = fast(model, tok, prompts, 12, batch_size=4, sync_every=4, stop_fn=lambda ids: x in ids)
    assert [o[0] for o in got] == [expected(g) for g in greedy]
    assert len(got[0][0]) == 8


def test_chunked_static_cache_reads(t5, monkeypatch):
    """The CUDA-graph schedule (cache read in chunks, stale entries from earlier batches of the
    same shape masked out) gives the same outputs; here run eagerly with 8-position chunks."""
    model, tok, prompts = t5
    ref = fast(model, tok, prompts, 12, batch_size=2)
    monkeypatch.setattr(seq2seq, "EAGER_KV_CHUNK", 8)
    same_shape = [prompts[0], prompts[1], prompts[3], prompts[4]]  # two batches, one shape
    assert fast(model, tok, same_shape, 12, batch_size=2) == [ref[i] for i in (0, 1, 3, 4)]
    assert fast(model, tok, prompts, 12, batch_size=2) == ref


def test_students_generate_fast_backend_matches_hf(t5):
    """students.generate(backend="fast") reaches generate_ids_seq2seq for a T5 student and
    gives the hf backend's texts (greedy, forced prefixes, stop strings)."""
    from mathdistill.students import GenerationConfig as GenCfg
    from mathdistill.students import generate

    model, tok, _ = t5
    texts = [f"Question: {i} + {2 * i} apples" for i in range(5)]
    prefixes = ["[pot]:", None, "[pot]:", "", "[cot]:"]
    outs = {}
    for backend in ("hf", "fast"):
        cfg = GenCfg(max_new_tokens=10, batch_size=2, num_samples=2, backend=backend,
                     progress=False)
        outs[backend] = generate((model, tok, "seq2seq"), texts, cfg, prefixes=prefixes)
    assert outs["fast"] == outs["hf"]
    assert outs["fast"][0][0].startswith("[pot]:") and outs["fast"][0][1] == outs["fast"][0][0]
    stop = outs["hf"][1][0][3:6]  # a stop string that occurs in an output
    got = [generate((model, tok, "seq2seq"), texts,
                    GenCfg(max_new_tokens=10, batch_size=2, stop=[stop], backend=backend,
                           progress=False))
           for backend in ("hf", "fast")]
    assert got[1] == got[0] and stop not in got[0][1][0]


@pytest.mark.parametrize(("ff", "tied"), [("relu", True), ("gated-gelu", False)])
def test_t5_variants(ff, tied):
    """T5 v1.0 (ReLU, decoder output scaled by d_model**-0.5) and v1.1 / Flan-T5 (gated GELU,
    untied: not scaled), with more encoder than decoder layers."""
    from transformers import T5Config, T5ForConditionalGeneration

    cfg = T5Config(vocab_size=300, d_model=64, d_kv=16, d_ff=128, num_layers=3,
                   num_decoder_layers=2, num_heads=4, feed_forward_proj=ff,
                   tie_word_embeddings=tied, dropout_rate=0.0, decoder_start_token_id=0,
                   pad_token_id=0, eos_token_id=1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = T5ForConditionalGeneration(cfg).eval()
        prompts = [torch.randint(2, 300, (n,)).tolist() + [1] for n in (5, 17, 40, 9)]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2 and "shared" not in name:
                p.mul_(4.0)
    gen = GenerationConfig(max_new_tokens=10, do_sample=False, eos_token_id=1, pad_token_id=0,
                           decoder_start_token_id=0)
    ref = [model.generate(torch.tensor([p]), generation_config=gen)[0, 1:].tolist()
           for p in prompts]
    ref = [r[: r.index(1)] if 1 in r else r for r in ref]
    assert [o[0] for o in generate_ids_seq2seq(model, prompts, max_new_tokens=10,
                                                batch_size=2)] == ref
