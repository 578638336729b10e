"""Local teacher backends: hf (a tiny random GPT-2 built here) and vllm (API stand-in)."""

import sys
import types
from typing import ClassVar

import pytest

from mathdistill.records import Problem
from mathdistill.teachers.backend import TeacherError


def probs(k):
    return [Problem(id=f"p/{i}", dataset="p", question=f"Sue has {i} pens and buys 4. How many?",
                    answer=float(i + 4)) for i in range(k)]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("torch")
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    d = tmp_path_factory.mktemp("tiny-gpt2")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(["Sue has 3 pens and buys 4. How many? The answer is 7."] * 20,
                            vocab_size=300, special_tokens=["<eos>", "<pad>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<eos>", pad_token="<pad>")
    tok.save_pretrained(d)
    import torch
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=2048, n_embd=32,
                                       n_layer=2, n_head=2, eos_token_id=0, pad_token_id=1))
    model.save_pretrained(d)
    return d


@pytest.mark.slow
def test_hf_teacher_generates_caches_and_skips_loading_when_cached(tiny_model, tmp_path):
    from mathdistill.teachers.hf_backend import HFTeacher

    cfg = {"cache": tmp_path / "c.jsonl", "n_shots": 1, "max_tokens": 6, "batch_size": 2,
           "progress": False}
    t = HFTeacher(str(tiny_model), **cfg)
    assert t.mode == "completions"  # no chat template
    got = t.generate(probs(3), "cot")
    assert len(got) == 3 and all(r.error is None for r in got)
    c = t.cost()
    assert c["requests"] == 3 and c["prompt_tokens"] > 100 and 0 < c["completion_tokens"] <= 18
    # greedy decoding is deterministic whatever the batching
    fresh = HFTeacher(str(tiny_model), **{**cfg, "cache": None, "batch_size": 3}).generate(
        probs(3), "cot")
    assert [r.meta.get("raw", r.text) for r in fresh] == [r.meta.get("raw", r.text) for r in got]
    t2 = HFTeacher(str(tiny_model), **cfg)
    again = t2.generate(probs(3), "cot")
    assert t2._model is None and t2.cost()["requests"] == 0 and t2.cost()["cached"] == 3
    assert [r.text for r in again] == [r.text for r in got]
    sampled = HFTeacher(str(tiny_model), **{**cfg, "temperature": 1.0}).generate(probs(2), "pot", n=2)
    assert len(sampled) == 4 and [r.meta["sample"] for r in sampled] == [0, 1, 0, 1]


def test_hf_model_fingerprint_changes_with_weights(tmp_path):
    from mathdistill.teachers.backend import model_fingerprint

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"a" * 100)
    fp = model_fingerprint(str(tmp_path))
    assert fp and fp == model_fingerprint(str(tmp_path))
    (tmp_path / "model.safetensors").write_bytes(b"b" * 100)
    assert model_fingerprint(str(tmp_path)) != fp
    assert model_fingerprint("org/hub-id") == ""
    # local-weight backends put it in their cache keys; a hub id stays as it is
    from mathdistill.teachers.vllm_backend import VLLMTeacher

    local = VLLMTeacher(str(tmp_path), cache=None, progress=False)
    assert local.model_id == f"{tmp_path}@{model_fingerprint(str(tmp_path))}"
    assert VLLMTeacher("org/hub-id", cache=None, progress=False).model_id == "org/hub-id"


class _FakeLLM:
    instances: ClassVar[list] = []

    def __init__(self, model, seed, **kw):
        self.model, self.seed, self.kw, self.calls = model, seed, kw, []
        _FakeLLM.instances.append(self)

    def _out(self, params):
        choices = [types.SimpleNamespace(text=f"x = {params.seed}\nanswer = x",
                                         finish_reason="stop", token_ids=[1, 2, 3])
                   for _ in range(params.n)]
        return types.SimpleNamespace(prompt_token_ids=[0] * 50, outputs=choices)

    def generate(self, prompts, params, use_tqdm=True):
        self.calls.append(("generate", len(prompts)))
        assert all(isinstance(p, str) for p in prompts)
        return [self._out(p) for p in params]

    def chat(self, conversations, params, use_tqdm=True):
        self.calls.append(("chat", len(conversations)))
        assert all(c[-1]["role"] == "user" for c in conversations)
        return [self._out(p) for p in params]


@pytest.fixture
def fake_vllm(monkeypatch):
    _FakeLLM.instances.clear()
    mod = types.SimpleNamespace(LLM=_FakeLLM,
                                SamplingParams=lambda **kw: types.SimpleNamespace(**kw))
    monkeypatch.setitem(sys.modules, "vllm", mod)
    return _FakeLLM


@pytest.mark.parametrize("mode", ["chat", "completions"])
def test_vllm_teacher_chunks_seeds_and_caches(fake_vllm, tmp_path, mode):
    from mathdistill.teachers.vllm_backend import VLLMTeacher

    cfg = {"cache": tmp_path / "c.jsonl", "chunk_size": 2, "mode": mode, "temperature": 0.7,
           "seed": 10, "tensor_parallel_size": 4, "progress": False}
    t = VLLMTeacher("meta-llama/Meta-Llama-3-70B-Instruct", **cfg)
    got = t.generate(probs(5), "pot", n=2)
    (llm,) = fake_vllm.instances
    assert llm.kw["tensor_parallel_size"] == 4 and llm.seed == 10
    assert llm.calls == [("chat" if mode == "chat" else "generate", k) for k in (2, 2, 2, 2, 2)]
    assert [r.text for r in got[:2]] == ["x = 10\nanswer = x", "x = 11\nanswer = x"]  # seed+sample
    c = t.cost()
    assert (c["requests"], c["prompt_tokens"], c["completion_tokens"]) == (10, 500, 30)
    t2 = VLLMTeacher("meta-llama/Meta-Llama-3-70B-Instruct", **cfg)
    assert [r.text for r in t2.generate(probs(5), "pot", n=2)] == [r.text for r in got]
    assert len(fake_vllm.instances) == 1  # fully cached: no engine started


def test_vllm_missing_is_a_clear_error(monkeypatch, tmp_path):
    from mathdistill.teachers.vllm_backend import VLLMTeacher

    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(TeacherError, match="vllm is not installed"):
        VLLMTeacher("m", cache=None, progress=False).generate(probs(1), "cot")
