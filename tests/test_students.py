"""Students: tokenizer, tiny presets, loading, training (full/LoRA/resume), generation.

All models are tiny random-init presets (no hub access); the whole file runs in well under
a minute on 2 CPU cores, so nothing here is marked slow.
"""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

from mathdistill.students import (
    PRESETS,
    GenerationConfig,
    StudentTrainer,
    TrainConfig,
    build_tiny,
    generate,
    load,
    make_tiny,
    model_kind,
    train,
    train_tokenizer,
    truncate_at_stop,
)
from mathdistill.students.encoding import (
    StudentCollator,
    encode_examples,
    prompt_ids_batch,
    target_ids_batch,
)

CODE = [
    (
        "def solution():\n    total = 0\n    for i in range(10):\n        total += i * 2\n\n"
        "    return total\n"
    ),
    "x = 12\n\ty = x * 3  # tab-indented\n\n\n  z = (x + y) / 4.5   \n",
    "Question: Tom has 1,234 apples.\r\nLet's think step by step\n  - price: $3.50\n",
    "unicode: é ü 中文 ∑ ≤ 0.001 % {a: [1, 2]}",
    " leading space and trailing newline\n",
]


def toy_examples(n=40):
    ex = []
    for i in range(n):
        a, b = i % 10, i // 10 + 1
        ex.append(
            {
                "prompt": f"Question: {a} + {b}\nLet's think step by step\n",
                "target": f"{a} + {b} = {a + b}\nThe answer is {a + b}.",
            }
        )
    return ex


TEXTS = [e["prompt"] + e["target"] for e in toy_examples()] + CODE


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return {
        p: build_tiny(p, TEXTS, root / p, seed=0, vocab_size=400) for p in ("tiny-t5", "tiny-qwen2")
    }


# --- tokenizer -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_tokenizer_round_trips_code_and_whitespace(kind, tmp_path):
    tok = train_tokenizer(TEXTS, kind=kind, vocab_size=400)
    tok.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    for t in (tok, reloaded):
        for text in CODE:
            ids = t(text)["input_ids"]
            assert t.decode(ids, skip_special_tokens=True) == text
        assert t.unk_token_id not in t(CODE[3])["input_ids"]  # byte-level: no <unk>


def test_tokenizer_splits_digits_individually():
    # many repeated numbers would be merged by a plain BPE
    tok = train_tokenizer(["2024 + 2024 = 4048\n"] * 50 + TEXTS, kind="causal", vocab_size=400)
    tokens = tok.convert_ids_to_tokens(
        tok("in 2024 we had 4048.75 and 1,000", add_special_tokens=False)["input_ids"]
    )
    digits = [t for t in tokens if any(c.isdigit() for c in t)]
    assert digits == list("2024404875") + list("1000")
    assert all(len(t) == 1 for t in digits)


def test_tokenizer_special_tokens_and_determinism():
    s2s = train_tokenizer(TEXTS, kind="seq2seq", vocab_size=400)
    causal = train_tokenizer(TEXTS, kind="causal", vocab_size=400)
    assert (s2s.pad_token, s2s.eos_token, s2s.unk_token, s2s.bos_token) == (
        "<pad>",
        "</s>",
        "<unk>",
        None,
    )
    assert causal.bos_token == "<s>"
    assert s2s("a b")["input_ids"][-1] == s2s.eos_token_id  # T5: input ends with </s>
    assert causal("a b")["input_ids"][0] == causal.bos_token_id  # Llama: <s> first
    again = train_tokenizer(TEXTS, kind="causal", vocab_size=400)
    assert again.get_vocab() == causal.get_vocab()
    with pytest.raises(ValueError, match="kind"):
        train_tokenizer(TEXTS, kind="encoder")


# --- presets and loading ---------------------------------------------------------------


@pytest.mark.parametrize(
    "preset,kind,cls",
    [
        ("tiny-t5", "seq2seq", AutoModelForSeq2SeqLM),
        ("tiny-qwen2", "causal", AutoModelForCausalLM),
    ],
)
def test_build_tiny_then_load_by_path(tiny_dirs, preset, kind, cls):
    path = tiny_dirs[preset]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json"):
        assert (path / name).is_file(), name
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []  # no temp dirs
    model, tok, got = load(path)
    assert got == kind == model_kind(path) == PRESETS[preset].kind
    assert model.config.model_type == PRESETS[preset].config_cls.model_type
    assert model.get_input_embeddings().num_embeddings == len(tok)
    plain = cls.from_pretrained(path)  # a normal HF dir: the Auto classes load it too
    assert torch.equal(plain.get_input_embeddings().weight, model.get_input_embeddings().weight)


def test_build_tiny_is_seeded(tmp_path):
    a = build_tiny("tiny-qwen2", TEXTS, tmp_path / "a", seed=1, vocab_size=400)
    b = build_tiny("tiny-qwen2", TEXTS, tmp_path / "b", seed=1, vocab_size=400)
    c = build_tiny("tiny-qwen2", TEXTS, tmp_path / "c", seed=2, vocab_size=400)
    wa, wb, wc = (load(p)[0].state_dict() for p in (a, b, c))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)
    build_tiny("tiny-qwen2", TEXTS, a, seed=2, vocab_size=400)  # rebuild replaces the dir
    assert all(torch.equal(load(a)[0].state_dict()[k], wc[k]) for k in wc)


@pytest.mark.parametrize("preset", sorted(p for p in PRESETS if p.startswith("tiny-")))
def test_every_preset_runs_a_forward_pass(preset):
    model, tok, _kind = make_tiny(preset, TEXTS, vocab_size=400)
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    enc = tok(["Question: 1 + 2\n", "x = 3\n"], return_tensors="pt", padding=True)
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    out = model(**enc, labels=labels)
    assert torch.isfinite(out.loss) and out.logits.shape[-1] == len(tok)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="config.json"):
        load(tmp_path)  # a dir that is not a model dir
    with pytest.raises(FileNotFoundError):
        load("./results/nope/student")


def test_configs_reject_unknown_keys():
    with pytest.raises(ValueError, match="unknown keys.*learning_rate"):
        TrainConfig.from_dict({"learning_rate": 1e-3})
    with pytest.raises(ValueError, match="unknown lora keys"):
        TrainConfig(lora={"rank": 8})
    with pytest.raises(ValueError, match="keep_adapter"):
        TrainConfig(keep_adapter=True)
    with pytest.raises(ValueError, match="unknown keys"):
        GenerationConfig.from_dict({"n": 3})
    assert TrainConfig.from_dict({"lora": {"r": 4}}).lora["alpha"] == 32


# --- encoding --------------------------------------------------------------------------


def test_encoding_masks_prompt_for_causal_unless_loss_on_prompt(tiny_dirs):
    _, tok, kind = load(tiny_dirs["tiny-qwen2"])
    ex = toy_examples(2)
    feats, _ = encode_examples(ex, tok, kind)
    n_prompt = len(tok(ex[0]["prompt"])["input_ids"])
    f = feats[0]
    assert f["labels"][:n_prompt] == [-100] * n_prompt
    assert f["labels"][n_prompt:] == f["input_ids"][n_prompt:]
    assert f["input_ids"][-1] == tok.eos_token_id
    full, _ = encode_examples(ex, tok, kind, loss_on_prompt=True)
    assert full[0]["labels"] == full[0]["input_ids"]
    batch = StudentCollator(tok, kind)(
        [
            feats[0],
            {
                **feats[1],
                "input_ids": feats[1]["input_ids"][:-3],
                "attention_mask": [1] * (len(feats[1]["input_ids"]) - 3),
                "labels": feats[1]["labels"][:-3],
            },
        ]
    )
    assert batch["labels"][1, -3:].tolist() == [-100] * 3  # padding is ignored by the loss
    assert batch["attention_mask"][1, -3:].tolist() == [0] * 3
    short, stats = encode_examples(ex, tok, kind, max_len=n_prompt + 2)
    assert stats["truncated"] == 2 and len(short[0]["input_ids"]) == n_prompt + 2


def test_encoding_seq2seq(tiny_dirs):
    model, tok, kind = load(tiny_dirs["tiny-t5"])
    feats, _ = encode_examples(toy_examples(2), tok, kind)
    assert feats[0]["labels"][-1] == tok.eos_token_id
    assert tok.decode(feats[0]["labels"], skip_special_tokens=True) == toy_examples(1)[0]["target"]
    batch = StudentCollator(tok, kind, model)(feats)
    assert batch["decoder_input_ids"][0, 0].item() == model.config.decoder_start_token_id
    with pytest.raises(ValueError, match=r"examples\[1\]: empty 'target'"):
        encode_examples([toy_examples(1)[0], {"prompt": "q", "target": ""}], tok, kind)


@pytest.mark.parametrize("preset", ["tiny-t5", "tiny-qwen2"])
def test_batch_encoding_matches_one_text_at_a_time(tiny_dirs, preset):
    """One tokenizer call for all texts gives each text's own ids (no padding, same
    specials), with the layouts' rules: causal prompts without a trailing eos, targets
    ending in exactly one eos."""
    _, tok, kind = load(tiny_dirs[preset])
    texts = [ex["prompt"] for ex in toy_examples(3)] + ["x = 1\nanswer = x", "", "12 + 7"]
    eos = tok.eos_token_id
    for text, ids in zip(texts, prompt_ids_batch(tok, texts, kind), strict=True):
        one = list(tok(text)["input_ids"])
        if kind == "causal" and one and one[-1] == eos:
            one = one[:-1]
        assert ids == one
    for text, ids in zip(texts, target_ids_batch(tok, texts, kind), strict=True):
        one = list(tok(text, add_special_tokens=kind == "seq2seq")["input_ids"])
        assert ids == (one if one and one[-1] == eos else [*one, eos])
        assert ids.count(eos) == 1
    assert prompt_ids_batch(tok, [], kind) == target_ids_batch(tok, [], kind) == []
    feats, _ = encode_examples(toy_examples(3), tok, kind)
    assert [f["input_ids"][: len(p)] for f, p in zip(
        feats, prompt_ids_batch(tok, [e["prompt"] for e in toy_examples(3)], kind),
        strict=True)] == prompt_ids_batch(tok, [e["prompt"] for e in toy_examples(3)], kind)


def test_truncate_at_stop():
    assert truncate_at_stop("a = 1\nQuestion: next", ["\nQuestion:", "###"]) == "a = 1"
    assert truncate_at_stop("x ### y\nQuestion:", ["\nQuestion:", "###"]) == "x "
    assert truncate_at_stop("no stop", ["###"]) == "no stop"


# --- training --------------------------------------------------------------------------


def _weights(path):
    return {k: v.clone() for k, v in load(path)[0].state_dict().items()}


@pytest.mark.parametrize("preset", ["tiny-t5", "tiny-qwen2"])
def test_training_lowers_loss_and_writes_checkpoint(tiny_dirs, tmp_path, preset):
    out = tmp_path / "ckpt"
    cfg = TrainConfig(lr=3e-3, max_steps=30, batch_size=8, logging_steps=1, seed=0)
    summary = train(tiny_dirs[preset], toy_examples(), out, cfg)
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows]
    assert len(losses) == summary["steps"] == 30
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    assert summary["first_loss"] == losses[0] and summary["last_loss"] == losses[-1]
    assert summary["examples_per_s"] > 0 and summary["seconds"] > 0
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "train_config.json",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    assert not (out / "_trainer").exists()
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["config"]["lr"] == 3e-3 and saved["kind"] == PRESETS[preset].kind
    assert load(out)[2] == PRESETS[preset].kind


def test_flos_estimate_is_the_trainers(tiny_dirs, tmp_path):
    """StudentTrainer counts the parameters once; the estimate is the Trainer's own."""
    from transformers import Trainer, TrainingArguments

    model = load(tiny_dirs["tiny-t5"])[0]
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to="none")
    trainer = StudentTrainer(model=model, args=args)
    inputs = {"input_ids": torch.ones(4, 7, dtype=torch.long)}
    want = Trainer.floating_point_ops(trainer, inputs)
    assert want > 0 and trainer.floating_point_ops(inputs) == want
    assert trainer.floating_point_ops({"input_ids": torch.ones(2, 7)}) == want // 2


class CapturingTrainer(StudentTrainer):
    """Keeps a copy of the (peft) model's weights right after training, before the merge."""

    captured: ClassVar[dict] = {}

    def train(self, *args, **kwargs):
        result = super().train(*args, **kwargs)
        CapturingTrainer.captured = {
            k: v.detach().clone() for k, v in self.model.state_dict().items()
        }
        return result


def test_lora_trains_only_adapters_and_saves_a_plain_merged_model(tiny_dirs, tmp_path):
    base = tiny_dirs["tiny-qwen2"]
    before = _weights(base)
    cfg = TrainConfig(
        lr=5e-3, max_steps=10, batch_size=8, lora={"r": 4, "alpha": 8}, logging_steps=5
    )
    summary = train(base, toy_examples(), tmp_path / "lora", cfg, trainer_cls=CapturingTrainer)
    after = CapturingTrainer.captured
    lora_keys = [k for k in after if "lora_" in k]
    assert lora_keys and summary["saved"] == "merged"
    assert any(
        not torch.equal(after[k], torch.zeros_like(after[k])) for k in lora_keys if "lora_B" in k
    )
    for k, v in after.items():  # every non-adapter weight is untouched
        if "lora_" not in k:
            name = k.replace("base_model.model.", "").replace(".base_layer", "")
            assert torch.equal(v, before[name]), k
    assert not (tmp_path / "lora" / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "lora")  # plain HF model
    assert not any("lora" in k for k in merged.state_dict())
    w = merged.state_dict()
    assert torch.equal(w["model.embed_tokens.weight"], before["model.embed_tokens.weight"])
    assert not torch.equal(
        w["model.layers.0.self_attn.q_proj.weight"],
        before["model.layers.0.self_attn.q_proj.weight"],
    )


def test_lora_keep_adapter_loads_merged(tiny_dirs, tmp_path):
    cfg = TrainConfig(lr=5e-3, max_steps=4, batch_size=8, lora={"r": 4}, keep_adapter=True)
    summary = train(tiny_dirs["tiny-t5"], toy_examples(), tmp_path / "ad", cfg)
    assert summary["saved"] == "adapter" and (tmp_path / "ad" / "adapter_config.json").is_file()
    model, _, kind = load(tmp_path / "ad")
    assert kind == "seq2seq" and type(model).__name__ == "T5ForConditionalGeneration"
    assert not torch.equal(
        model.state_dict()["encoder.block.0.layer.0.SelfAttention.q.weight"],
        _weights(tiny_dirs["tiny-t5"])["encoder.block.0.layer.0.SelfAttention.q.weight"],
    )


def test_resume_from_continues_from_the_checkpoint(tiny_dirs, tmp_path):
    base = tiny_dirs["tiny-qwen2"]
    r0 = train(
        base, toy_examples(), tmp_path / "r0", TrainConfig(lr=3e-3, max_steps=20, logging_steps=1)
    )
    # lr 0: the round-1 model must equal the round-0 checkpoint, not the fresh base
    r1 = train(
        base,
        toy_examples(),
        tmp_path / "r1",
        TrainConfig(lr=0.0, max_steps=2, logging_steps=1),
        resume_from=tmp_path / "r0",
    )
    w_base, w0, w1 = _weights(base), _weights(tmp_path / "r0"), _weights(tmp_path / "r1")
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert not all(torch.equal(w_base[k], w1[k]) for k in w_base)
    assert r1["first_loss"] < 0.7 * r0["first_loss"]  # starts where round 0 stopped
    saved = json.loads((tmp_path / "r1" / "train_config.json").read_text())
    assert saved["resume_from"] == str(tmp_path / "r0")


# --- generation ------------------------------------------------------------------------

FOUR = toy_examples(40)[::10]  # 4 examples with different prompts and answers


@pytest.fixture(scope="module", params=["tiny-t5", "tiny-qwen2"])
def overfit(request, tiny_dirs, tmp_path_factory):
    """A tiny model trained until it memorises FOUR (train -> generate end to end)."""
    out = tmp_path_factory.mktemp("overfit") / request.param
    cfg = TrainConfig(
        lr=5e-3, max_steps=80, batch_size=4, logging_steps=10, warmup=5, group_by_length=False
    )
    train(tiny_dirs[request.param], FOUR, out, cfg)
    return out


def test_overfit_model_reproduces_targets_in_order(overfit):
    prompts = [e["prompt"] for e in FOUR][::-1] + [FOUR[0]["prompt"] + "Note: "]  # mixed lengths
    outs = generate(
        overfit, prompts, GenerationConfig(max_new_tokens=40, batch_size=2, progress=False)
    )
    assert [o[0] for o in outs[:4]] == [e["target"] for e in FOUR][::-1]
    assert all(len(o) == 1 for o in outs)


def test_greedy_is_deterministic_and_batch_independent(overfit):
    prompts = [e["prompt"] for e in FOUR] + ["Question: 7 + 7\nLet's think", "Question"]
    loaded = load(overfit)
    cfg = GenerationConfig(max_new_tokens=24, batch_size=6, num_samples=2, progress=False)
    a = generate(loaded, prompts, cfg)
    b = generate(loaded, prompts, cfg.replace(batch_size=1))
    assert a == b and all(len(x) == 2 and x[0] == x[1] for x in a)


def test_stop_strings_truncate(overfit):
    prompts = [e["prompt"] for e in FOUR]
    outs = generate(
        overfit, prompts, GenerationConfig(max_new_tokens=40, stop=["\n"], progress=False)
    )
    assert [o[0] for o in outs] == [e["target"].split("\n")[0] for e in FOUR]
    outs = generate(
        overfit,
        prompts[:1],
        GenerationConfig(max_new_tokens=40, stop=["answer", "\n\n"], progress=False),
    )
    assert outs[0][0] == FOUR[0]["target"].split("answer")[0]


def test_sampled_k_outputs_belong_to_their_prompt(overfit):
    prompts = [e["prompt"] for e in FOUR][::-1]
    cfg = GenerationConfig(
        max_new_tokens=40,
        batch_size=6,
        do_sample=True,
        num_samples=3,
        temperature=0.05,
        progress=False,
    )  # 2 prompts x 3 samples per batch; near-greedy sampling of a memorised task
    outs = generate(overfit, prompts, cfg)
    assert outs == [[e["target"]] * 3 for e in FOUR][::-1]


def test_sampling_returns_k_seeded_outputs(tiny_dirs):
    prompts = ["Question: 1 + 2\n", "Question: 33 + 4\nLet's think step by step\n", "x"]
    cfg = GenerationConfig(
        max_new_tokens=12,
        batch_size=4,
        do_sample=True,
        num_samples=3,
        temperature=1.5,
        progress=False,
    )
    a = generate(tiny_dirs["tiny-qwen2"], prompts, cfg)
    assert [len(x) for x in a] == [3, 3, 3]
    assert len({s for x in a for s in x}) > 3  # random-init model at T=1.5: varied samples
    assert generate(tiny_dirs["tiny-qwen2"], prompts, cfg) == a
    assert generate(tiny_dirs["tiny-qwen2"], prompts, cfg.replace(seed=1)) != a


def test_min_new_tokens_forces_length(tiny_dirs):
    model, tok, kind = load(tiny_dirs["tiny-qwen2"])
    short = generate(
        (model, tok, kind), ["Question"], GenerationConfig(max_new_tokens=3, progress=False)
    )
    long = generate(
        (model, tok, kind),
        ["Question"],
        GenerationConfig(max_new_tokens=30, min_new_tokens=30, progress=False),
    )
    assert len(long[0][0]) > len(short[0][0])


def test_vllm_backend_needs_vllm(tiny_dirs):
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="vllm"):
            generate(tiny_dirs["tiny-qwen2"], ["x"], GenerationConfig(backend="vllm"))
    else:
        pytest.skip("vllm is installed")
