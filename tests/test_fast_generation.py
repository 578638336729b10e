"""Fast causal generation (students/fast): greedy outputs equal HF generate's, on CPU fp32.

The engine (slot KV cache, continuous refill, prefix sharing, in-graph sampling) runs here
without CUDA graphs; the GPU run uses the same code with the decode step captured.
Random-init tiny models have near-tied logits, where a last-bit difference between HF's
left-padded batch and the engine's rows could flip an argmax; `decisive` scales the output
embedding by 8 so the greedy choice has a clear margin (for tied presets the input
embedding is scaled too, which is still a valid model). The checks stay exact equality.
"""

from __future__ import annotations

import pytest
import torch
from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

from mathdistill.students import GenerationConfig, generate, make_tiny
from mathdistill.students.fast.causal import generate_ids
from mathdistill.students.fast.graphs import GraphStep
from mathdistill.students.fast.sampling import filter_logits, sample

TEXTS = [f"Question: {a} + {b}\nLet's think step by step\n{a} + {b} = {a + b}\n"
         for a in range(10) for b in range(1, 5)]
LENGTHS = [3, 11, 6, 1, 14, 8, 5, 9]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def decisive(preset):
    model, tok, kind = make_tiny(preset, TEXTS, seed=0, vocab_size=320)
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(8.0)
    return model.eval(), tok, kind


@pytest.fixture(scope="module", params=["tiny-qwen2", "tiny-llama", "tiny-gemma"])
def tiny(request):
    return decisive(request.param)


def prompts_for(model, lengths=LENGTHS, seed=1):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(5, model.config.vocab_size, (n,), generator=g).tolist()
            for n in lengths]


def hf_greedy(model, prompts, max_new, eos=None, min_new=0, pad=0):
    """HF generate on one left-padded batch, outputs cut before the first EOS."""
    p = max(len(x) for x in prompts)
    ids = torch.tensor([[pad] * (p - len(x)) + x for x in prompts])
    mask = torch.tensor([[0] * (p - len(x)) + [1] * len(x) for x in prompts])
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new,
                         min_new_tokens=min_new or None, do_sample=False,
                         eos_token_id=eos, pad_token_id=pad)
    res = []
    for row in out[:, p:].tolist():
        res.append(row[: row.index(eos)] if eos is not None and eos in row else row)
    return res


def test_greedy_equals_hf_with_refill_and_eos(tiny):
    model, _, _ = tiny
    prompts = prompts_for(model)
    ref = hf_greedy(model, prompts, 12)
    # batch 3 < 8 prompts: finished rows are refilled with waiting prompts
    assert [o[0] for o in generate_ids(model, prompts, max_new_tokens=12, batch_size=3,
                                       sync_every=4)] == ref
    # an EOS that occurs mid-output in some rows: those rows stop early, others run on
    eos = next(t for row in ref for t in row if any(t not in r for r in ref))
    ref_eos = hf_greedy(model, prompts, 12, eos=eos)
    assert any(len(r) < 12 for r in ref_eos) and any(len(r) == 12 for r in ref_eos)
    out = generate_ids(model, prompts, max_new_tokens=12, batch_size=3, sync_every=3,
                       eos_token_id=[eos])
    assert [o[0] for o in out] == ref_eos
    # min_new_tokens: EOS is forbidden for the first 7 tokens
    ref_min = hf_greedy(model, prompts, 12, eos=eos, min_new=7)
    out = generate_ids(model, prompts, max_new_tokens=12, min_new_tokens=7, batch_size=5,
                       eos_token_id=eos)
    assert [o[0] for o in out] == ref_min
    assert all(len(r) >= 7 for r in ref_min)


def test_prefixes_and_greedy_copies(tiny):
    model, _, _ = tiny
    prompts = prompts_for(model, [4, 9, 2, 7], seed=2)
    prefixes = [[7, 8], [9], [], [7, 8]]
    ref = hf_greedy(model, [p + f for p, f in zip(prompts, prefixes, strict=True)], 6)
    out = generate_ids(model, prompts, max_new_tokens=6, prefixes=prefixes, num_samples=3,
                       batch_size=2)
    for o, r, f in zip(out, ref, prefixes, strict=True):
        assert o == [f + r] * 3  # the prefix starts each output; greedy: K equal copies


def test_sampling_shapes_seed_and_limits():
    model = make_tiny("tiny-qwen2", TEXTS, seed=0, vocab_size=320)[0].eval()  # flat logits
    prompts = prompts_for(model, [5, 3, 8])
    kw = {"max_new_tokens": 8, "do_sample": True, "num_samples": 4, "batch_size": 6,
          "temperature": 2.0}
    a = generate_ids(model, prompts, seed=3, **kw)
    assert [len(o) for o in a] == [4, 4, 4] and all(len(s) == 8 for o in a for s in o)
    assert generate_ids(model, prompts, seed=3, **kw) == a  # reproducible
    assert generate_ids(model, prompts, seed=4, **kw) != a
    assert any(len(set(map(tuple, o))) > 1 for o in a)  # K samples of one prompt differ
    greedy = [o[0] for o in generate_ids(model, prompts, max_new_tokens=8)]
    for cold in ({"temperature": 1e-4}, {"top_k": 1}, {"top_p": 1e-6}):
        out = generate_ids(model, prompts, **{**kw, **cold})
        assert out == [[g] * 4 for g in greedy], cold


def test_sample_filters_match_hf_warpers():
    torch.manual_seed(0)
    logits = torch.randn(6, 50) * 3
    for top_k, top_p in ((5, 1.0), (0, 0.8), (10, 0.5)):
        ref = logits.clone()
        if top_k:
            ref = TopKLogitsWarper(top_k)(None, ref)
        if top_p < 1:
            ref = TopPLogitsWarper(top_p)(None, ref)
        assert torch.equal(torch.isinf(filter_logits(logits, top_p, top_k)), torch.isinf(ref))
    assert torch.equal(sample(logits, 0.0), logits.argmax(-1))
    # the exponential race draws from softmax(logits / T)
    row = torch.tensor([[1.0, 0.0, -1.0, 2.0]]).expand(20000, 4)
    ids = sample(row, 1.0, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(ids, minlength=4).float() / len(ids)
    assert torch.allclose(freq, row[0].softmax(-1), atol=0.02)


def test_graph_step_runs_once_per_call_on_cpu():
    x = torch.zeros(2)
    buf = torch.zeros(2)
    step = GraphStep(lambda: x.add_(buf), static_inputs=[buf])
    assert not step.enabled
    step(torch.ones(2))
    step(torch.full((2,), 2.0))
    assert x.tolist() == [3.0, 3.0]


def test_stop_fn_ends_rows_early():
    model, _, _ = decisive("tiny-llama")
    prompts = prompts_for(model, [4, 6])
    full = generate_ids(model, prompts, max_new_tokens=20)
    out = generate_ids(model, prompts, max_new_tokens=20, sync_every=2,
                       stop_fn=lambda ids: len(ids) >= 5)
    for f, o in zip(full, out, strict=True):
        assert 5 <= len(o[0]) <= 6 and f[0][: len(o[0])] == o[0]


def test_generate_backend_fast_equals_hf():
    loaded = decisive("tiny-qwen2")
    prompts = [f"Question: {a} + {b}\nLet's think step by step\n" for a, b in
               ((1, 2), (3, 4), (5, 1), (9, 9), (0, 3))]
    base = {"max_new_tokens": 10, "batch_size": 2, "num_samples": 2, "progress": False,
            "stop": ["+"]}
    prefixes = ["1 +", None, "The", "", "1 +"]
    hf = generate(loaded, prompts, GenerationConfig(backend="hf", **base), prefixes=prefixes)
    fast = generate(loaded, prompts, GenerationConfig(backend="fast", **base), prefixes=prefixes)
    assert fast == hf
    assert GenerationConfig().backend == "auto"
    with pytest.raises(ValueError, match="backend"):
        GenerationConfig(backend="fastest")


def test_stop_fn_reaches_the_seq2seq_engine():
    t5, _, _ = make_tiny("tiny-t5", TEXTS, seed=0, vocab_size=320)
    prompts = prompts_for(t5, [4, 6])
    out = generate_ids(t5, prompts, max_new_tokens=20, min_new_tokens=20, sync_every=2,
                       stop_fn=lambda ids: len(ids) >= 5)
    assert all(5 <= len(o[0]) <= 6 for o in out)


def test_auto_falls_back_to_hf_when_the_fast_path_cannot(monkeypatch, caplog):
    from mathdistill.students import generation

    loaded = decisive("tiny-qwen2")
    cfg = {"max_new_tokens": 6, "progress": False}
    hf = generate(loaded, ["Question: 1 + 2\n"], GenerationConfig(backend="hf", **cfg))

    def unsupported(*args, **kwargs):
        raise NotImplementedError("softcapping")

    monkeypatch.setattr(generation, "_auto_backend", lambda: "fast")  # as on a GPU
    monkeypatch.setattr(generation, "_generate_fast", unsupported)
    got = generate(loaded, ["Question: 1 + 2\n"], GenerationConfig(backend="auto", **cfg))
    assert got == hf and "fast path unavailable" in caplog.text
    with pytest.raises(NotImplementedError):  # an explicit "fast" does not fall back
        generate(loaded, ["Question: 1 + 2\n"], GenerationConfig(backend="fast", **cfg))
