"""Generate K continuations per prompt with a student (HF generate, or vLLM for causal LMs).

    from mathdistill.students import generate, GenerationConfig
    outs = generate("results/run/round0/checkpoint", prompts,
                    GenerationConfig(max_new_tokens=256, batch_size=32))       # greedy
    outs = generate(path, prompts, GenerationConfig(do_sample=True, num_samples=10,
                    temperature=0.7, top_p=0.95, stop=["\\nQuestion:"]))   # SIKeD sampling
    outs[i][k]   # k-th output for prompts[i], prompt text not included, stop string cut

Prompts are encoded exactly as in training (encoding.prompt_ids_batch), sorted by length so each
batch has little padding (causal: left padding), and results come back in input order.
`batch_size` counts sequences per forward pass (prompts per batch = batch_size // K).
Sampling is seeded per batch, so a run is reproducible. Stop strings are passed to HF
generate (it stops early) and the text is cut before the first stop string afterwards.
backend="vllm" uses vLLM's offline API (causal models given by path; vllm must be installed).
backend="fast" uses mathdistill.students.fast (static slot KV cache, CUDA-graph decode,
continuous refill of finished rows, prefix sharing of the K samples; greedy outputs equal
"hf"'s); "auto" (the default) is "fast" when CUDA is available and "hf" otherwise.

`prefixes` (one per prompt, or None) forces the start of each output, e.g. SIKeD's strategy
tag: `generate(path, prompts, cfg, prefixes=["[pot]:"] * len(prompts))`. Seq2seq: the prefix
goes into `decoder_input_ids` after the decoder start token; causal: its tokens are appended
to the prompt's. It is encoded without special tokens and without trailing whitespace (in
the project's BPE vocabularies a space belongs to the next token), and each output text
starts with it. Prompts are batched per prefix, so every batch has one prefix length.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig as HFGenerationConfig

from .config import ConfigMixin, cuda_available
from .encoding import pad_prompts, prompt_ids_batch
from .loading import load, model_kind

logger = logging.getLogger(__name__)


BACKENDS = ("auto", "hf", "fast", "vllm")


@dataclass
class GenerationConfig(ConfigMixin):
    """Decoding settings; greedy by default (FDD/ETD/Tailored evaluation)."""

    max_new_tokens: int = 256
    min_new_tokens: int = 0  # benchmarks: = max_new_tokens for a fixed output length
    batch_size: int = 16  # sequences per forward pass
    do_sample: bool = False
    num_samples: int = 1  # K outputs per prompt (greedy: K copies of the one output)
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0 = off (as vLLM's -1); HF's default of 50 is not applied
    stop: list[str] = field(default_factory=list)
    seed: int = 0
    backend: str = "auto"  # "auto" (fast on CUDA, hf on CPU) | "hf" | "fast" | "vllm"
    dtype: str = "auto"  # bf16 on a GPU, fp32 on CPU
    max_input_len: int | None = None  # keep the last N prompt tokens (None: no limit)
    progress: bool = True

    def __post_init__(self):
        self.stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if self.num_samples < 1 or self.batch_size < 1 or self.max_new_tokens < 1:
            raise ValueError(
                "GenerationConfig: num_samples, batch_size, max_new_tokens must be >= 1"
            )
        if self.min_new_tokens > self.max_new_tokens:
            raise ValueError("GenerationConfig: min_new_tokens > max_new_tokens")
        if self.backend not in BACKENDS:
            raise ValueError(
                f"GenerationConfig.backend must be one of {BACKENDS}, got {self.backend!r}"
            )
        if self.do_sample and self.temperature <= 0:
            raise ValueError("GenerationConfig: sampling needs temperature > 0")


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut `text` before the earliest occurrence of any stop string."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return text if cut < 0 else text[:cut]


def _hf_config(cfg: GenerationConfig, tok, model, n_return: int) -> HFGenerationConfig:
    gen = {
        "max_new_tokens": cfg.max_new_tokens,
        "min_new_tokens": cfg.min_new_tokens or None,
        "do_sample": cfg.do_sample,
        "num_return_sequences": n_return,
        "pad_token_id": tok.pad_token_id,
        "eos_token_id": model.generation_config.eos_token_id or tok.eos_token_id,
        "repetition_penalty": 1.0,
    }
    if cfg.do_sample:  # explicit values: a model's own defaults (e.g. top_k 20) are not merged in
        gen.update(temperature=cfg.temperature, top_p=cfg.top_p, top_k=cfg.top_k)
    if getattr(model.config, "is_encoder_decoder", False):
        gen["decoder_start_token_id"] = model.generation_config.decoder_start_token_id
    if cfg.stop:
        gen["stop_strings"] = list(cfg.stop)
    return HFGenerationConfig(**gen)


def _encode(tok, prompts: Sequence[str], kind: str, max_input_len: int | None) -> list[list[int]]:
    ids = prompt_ids_batch(tok, prompts, kind)
    if max_input_len:
        cut = sum(len(x) > max_input_len for x in ids)
        if cut:
            logger.warning(
                "%d prompts longer than %d tokens: keeping their last tokens", cut, max_input_len
            )
        ids = [x[-max_input_len:] for x in ids]
    return ids


def _prefix_ids(tok, prefixes: Sequence[str | None] | None, n: int) -> list[tuple[int, ...]]:
    if prefixes is None:
        return [()] * n
    if len(prefixes) != n:
        raise ValueError(f"generate: {len(prefixes)} prefixes for {n} prompts")
    return [tuple(tok(p.rstrip(), add_special_tokens=False)["input_ids"]) if p else ()
            for p in prefixes]


@torch.inference_mode()
def _generate_hf(loaded, prompts: Sequence[str], cfg: GenerationConfig,
                 prefixes: Sequence[str | None] | None = None) -> list[list[str]]:
    model, tok, kind = loaded
    if cuda_available() and model.device.type != "cuda":
        model = model.to("cuda")
    model.eval()
    k_seq = cfg.num_samples if cfg.do_sample else 1  # greedy outputs are identical: decode once
    per_batch = max(1, cfg.batch_size // k_seq)
    ids = _encode(tok, prompts, kind, cfg.max_input_len)
    pre = _prefix_ids(tok, prefixes, len(ids))
    # one prefix per batch; longest prompts first within it (OOM shows early)
    order = sorted(range(len(ids)), key=lambda i: (pre[i], -len(ids[i])))
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < per_batch and pre[batches[-1][0]] == pre[i]:
            batches[-1].append(i)
        else:
            batches.append([i])
    gen_cfg = _hf_config(cfg, tok, model, k_seq)
    start = gen_cfg.decoder_start_token_id if kind == "seq2seq" else None
    results: list[list[str]] = [[] for _ in prompts]
    bar = tqdm(total=len(order), desc="generate", unit="prompt", disable=not cfg.progress)
    for b, idx in enumerate(batches):
        prefix = list(pre[idx[0]])
        rows = [ids[i] + prefix if kind == "causal" else ids[i] for i in idx]
        batch = pad_prompts(tok, rows, "left" if kind == "causal" else "right")
        if kind == "seq2seq" and prefix:
            batch["decoder_input_ids"] = torch.tensor([[start, *prefix]] * len(idx))
        batch = {k: v.to(model.device) for k, v in batch.items()}
        torch.manual_seed(cfg.seed + b)  # reproducible sampling, independent of earlier batches
        out = model.generate(**batch, generation_config=gen_cfg, tokenizer=tok)
        if kind == "causal":  # drop the (left-padded) prompt, keep the forced prefix
            out = out[:, batch["input_ids"].shape[1] - len(prefix) :]
        texts = tok.batch_decode(out, skip_special_tokens=True)
        for j, i in enumerate(idx):
            outs = [truncate_at_stop(t, cfg.stop) for t in texts[j * k_seq : (j + 1) * k_seq]]
            results[i] = outs * (cfg.num_samples // k_seq)
        bar.update(len(idx))
    bar.close()
    return results


@torch.inference_mode()
def _generate_fast(loaded, prompts: Sequence[str], cfg: GenerationConfig,
                   prefixes: Sequence[str | None] | None = None) -> list[list[str]]:
    """As _generate_hf (same encoding, prefixes, stop handling), decoded by fast.generate_ids."""
    from .fast.causal import generate_ids  # dispatches seq2seq models to fast/seq2seq.py

    model, tok, kind = loaded
    if cuda_available() and model.device.type != "cuda":
        model = model.to("cuda")
    ids = _encode(tok, prompts, kind, cfg.max_input_len)
    pre = [list(p) for p in _prefix_ids(tok, prefixes, len(ids))]
    stop_fn = None
    if cfg.stop:  # end rows early once a stop string is in their text
        def stop_fn(row: list[int]) -> bool:
            text = tok.decode(row, skip_special_tokens=True)
            return any(s and s in text for s in cfg.stop)
    extra = {"stop_fn": stop_fn} if stop_fn is not None else {}
    outs = generate_ids(
        model, ids, max_new_tokens=cfg.max_new_tokens, min_new_tokens=cfg.min_new_tokens,
        do_sample=cfg.do_sample, temperature=cfg.temperature, top_p=cfg.top_p, top_k=cfg.top_k,
        num_samples=cfg.num_samples,
        eos_token_id=model.generation_config.eos_token_id or tok.eos_token_id,
        pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else 0,
        batch_size=cfg.batch_size, seed=cfg.seed, prefixes=pre if prefixes is not None else None,
        progress=cfg.progress, **extra,
    )
    return [[truncate_at_stop(t, cfg.stop) for t in tok.batch_decode(rows, skip_special_tokens=True)]
            for rows in outs]


def _generate_vllm(model_path, prompts: Sequence[str], cfg: GenerationConfig,
                   prefixes: Sequence[str | None] | None = None) -> list[list[str]]:
    try:
        from vllm import LLM, SamplingParams
    except ImportError as e:
        raise ImportError(
            "backend='vllm' needs the vllm package (pip install 'mathdistill[vllm]', Linux + "
            "CUDA); use backend='hf' otherwise"
        ) from e
    if not isinstance(model_path, str) and not hasattr(model_path, "__fspath__"):
        raise TypeError("backend='vllm' takes a model path or hub id, not a loaded model")
    if model_kind(model_path) != "causal":
        raise ValueError(f"backend='vllm' supports causal LMs only; {model_path} is seq2seq")
    if prefixes is not None and len(prefixes) != len(prompts):
        raise ValueError(f"generate: {len(prefixes)} prefixes for {len(prompts)} prompts")
    forced = [(p or "").rstrip() for p in prefixes] if prefixes else [""] * len(prompts)
    prompts = [p + f for p, f in zip(prompts, forced, strict=True)]
    greedy = not cfg.do_sample
    params = SamplingParams(
        n=1 if greedy else cfg.num_samples,  # greedy with n > 1 is rejected by vLLM
        temperature=0.0 if greedy else cfg.temperature,
        top_p=1.0 if greedy else cfg.top_p,
        top_k=-1 if greedy or cfg.top_k <= 0 else cfg.top_k,
        max_tokens=cfg.max_new_tokens,
        min_tokens=cfg.min_new_tokens,
        stop=list(cfg.stop) or None,
        seed=cfg.seed,
    )
    llm = LLM(
        model=str(model_path), seed=cfg.seed, dtype="auto" if cfg.dtype == "auto" else cfg.dtype
    )
    if cfg.max_input_len:
        tok = llm.get_tokenizer()
        enc = _encode(tok, prompts, "causal", cfg.max_input_len)
        outputs = llm.generate(
            [{"prompt_token_ids": x} for x in enc], params, use_tqdm=cfg.progress
        )
    else:
        outputs = llm.generate(list(prompts), params, use_tqdm=cfg.progress)  # input order kept
    reps = cfg.num_samples if greedy else 1
    return [[pre + truncate_at_stop(o.text, cfg.stop) for o in out.outputs] * reps
            for pre, out in zip(forced, outputs, strict=True)]


def _auto_backend() -> str:
    """backend "auto": the fast path on a GPU, HF generate on CPU."""
    return "fast" if cuda_available() else "hf"


def preload(model, cfg: GenerationConfig | Mapping | None = None):
    """`model` loaded once for several generate() calls with `cfg`: (model, tokenizer, kind);
    a loaded tuple as it is, and with backend "vllm" the path (vLLM loads it itself)."""
    cfg = GenerationConfig.from_dict(dict(cfg)) if isinstance(cfg, Mapping) else cfg
    cfg = cfg or GenerationConfig()
    if isinstance(model, tuple) or cfg.backend == "vllm":
        return model
    return load(model, dtype=cfg.dtype)


def generate(model, prompts: Sequence[str], cfg: GenerationConfig | None = None,
             prefixes: Sequence[str | None] | None = None) -> list[list[str]]:
    """K = cfg.num_samples outputs for each prompt, in the prompts' order.

    `model`: a path / hub id / tiny preset, or a (model, tokenizer, kind) tuple from load().
    `prefixes`: an output prefix per prompt (None/"" = none); each output starts with it.
    """
    cfg = cfg or GenerationConfig()
    if isinstance(cfg, dict):
        cfg = GenerationConfig.from_dict(cfg)
    prompts = list(prompts)
    if not all(isinstance(p, str) for p in prompts):
        raise TypeError("generate: prompts must be strings")
    if not prompts:
        return []
    if cfg.backend == "vllm":
        return _generate_vllm(model, prompts, cfg, prefixes)
    loaded = preload(model, cfg)
    backend = _auto_backend() if cfg.backend == "auto" else cfg.backend
    if backend == "fast" and cfg.backend == "auto":
        try:
            return _generate_fast(loaded, prompts, cfg, prefixes)
        except NotImplementedError as e:  # a model family the fast path does not cover
            logger.warning("generate: fast path unavailable (%s); using HF generate", e)
            return _generate_hf(loaded, prompts, cfg, prefixes)
    if backend == "fast":
        return _generate_fast(loaded, prompts, cfg, prefixes)
    return _generate_hf(loaded, prompts, cfg, prefixes)
