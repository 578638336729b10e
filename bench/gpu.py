"""GPU throughput: plain Hugging Face vs mathdistill's fast path, generation and training.

    python bench/gpu.py                                  # every model and part; table last
    python bench/gpu.py --models qwen2-0.5b --parts gen,check --json results/bench/gpu.json
    python bench/gpu.py --small                          # toy sizes (also runs on CPU)

Models are random-init copies of the real architectures (no download): qwen2-0.5b
(Qwen2-0.5B), smollm-1.7b (SmolLM-1.7B, Llama), t5-large (T5-large v1.0 / CodeT5-large
shape). Parts:
  gen    generation, batch 256 rows, 256 new tokens forced (min = max new tokens), prompts of
         32-160 random tokens: plain `model.generate` (dynamic cache, left padding) vs
         `fast.generate_ids` (slot cache, CUDA-graph decode, continuous refill) eager and
         with graphs; tokens/s counts generated tokens; peak memory
  check  greedy identity on 64 prompts x 64 tokens, fast vs plain generate, in fp32 (TF32
         off) and bf16; "decisive" = final norm scaled x8 so random-init logits have clear
         maxima (random weights tie often, and then any rounding flips the argmax)
  sample K=8 samples at T=0.7 of 32 prompts (SIKeD-style), fast path only: prefix sharing
  train  full fine-tuning tokens/s and MFU: plain loop (fp32 master weights, bf16 autocast,
         torch AdamW, padded batches of 16 x up to 512 tokens) vs FastTrainStep (packing
         without cross-sample attention, chunked CE, fused AdamW, torch.compile); LoRA r16
MFU = tokens/s x train_flops_per_token / 989e12 (H100 SXM dense bf16 peak); see
mathdistill.students.fast.flops for the formula.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
import traceback
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from transformers import (
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    LlamaConfig,
    Qwen2Config,
    T5Config,
)

ARCH = {
    "qwen2-0.5b": lambda: Qwen2Config(
        hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
        num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768,
        rope_theta=1_000_000.0, tie_word_embeddings=True, rms_norm_eps=1e-6,
        bos_token_id=151643, eos_token_id=151643),
    "smollm-1.7b": lambda: LlamaConfig(
        hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=32,
        num_key_value_heads=32, vocab_size=49152, max_position_embeddings=2048,
        rope_theta=10000.0, tie_word_embeddings=True, rms_norm_eps=1e-5,
        bos_token_id=0, eos_token_id=0),
    "t5-large": lambda: T5Config(
        d_model=1024, d_ff=4096, d_kv=64, num_layers=24, num_decoder_layers=24, num_heads=16,
        vocab_size=32128, feed_forward_proj="relu", tie_word_embeddings=True,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1),
}
SMALL = {  # --small: same families, toy sizes (CPU smoke runs of this script)
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512,
    "d_model": 64, "d_ff": 128, "d_kv": 16, "num_layers": 2, "num_decoder_layers": 2,
    "num_heads": 4,
}
PEAK = 989e12
PROFILE = False
# fast paths per model: (tokens per packed row, loss chunk), the best measured that fit 80 GB
FAST_KNOBS = {"qwen2-0.5b": (49152, 8192), "smollm-1.7b": (16384, 4096)}
ROWS: list[dict] = []


def log(*a):
    print(*a, flush=True)


def record(**row):
    ROWS.append(row)
    log("  " + "  ".join(f"{k}={v}" for k, v in row.items()))


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def reset_peak():
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib() -> float:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if torch.cuda.is_available() else 0


def build(name: str, dtype, small: bool, device: str):
    cfg = ARCH[name]()
    if small:
        for k, v in SMALL.items():
            if hasattr(cfg, k):
                setattr(cfg, k, v)
        if name == "t5-large":
            cfg.num_key_value_heads = None
        else:
            cfg.bos_token_id = cfg.eos_token_id = 1
    cls = AutoModelForSeq2SeqLM if cfg.is_encoder_decoder else AutoModelForCausalLM
    torch.manual_seed(0)
    with torch.device(device):
        model = cls.from_config(cfg, dtype=dtype)
    model.eval()
    model.generation_config.pad_token_id = cfg.pad_token_id if cfg.is_encoder_decoder else 0
    return model


def make_prompts(n: int, lo: int, hi: int, vocab: int, seed: int = 0) -> list[list[int]]:
    g = torch.Generator().manual_seed(seed)
    lens = torch.randint(lo, hi + 1, (n,), generator=g).tolist()
    return [torch.randint(3, vocab, (k,), generator=g).tolist() for k in lens]


def padded(rows, fill, left=False):
    """Rows of ids -> a [n, width] tensor padded with `fill` (left or right), and its mask."""
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), fill, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for j, r in enumerate(rows):
        sl = slice(width - len(r), width) if left else slice(0, len(r))
        ids[j, sl] = torch.tensor(r, dtype=torch.long)
        mask[j, sl] = 1
    return ids, mask


def tokens_per_s(step, steps, warmup=3):
    """Run step(i) (returns the tokens it trained on) warmup + steps times; time the last."""
    for i in range(warmup):
        step(i)
    sync()
    t0 = time.perf_counter()
    tokens = sum(step(warmup + i) for i in range(steps))
    sync()
    return tokens / (time.perf_counter() - t0)


def plain_generate(model, prompts, new, batch, pad=0, do_sample=False, temperature=1.0,
                   num_samples=1, min_new=None):
    """Plain HF generate; causal: left padding. Returns out[i][k] = new token ids."""
    enc_dec = model.config.is_encoder_decoder
    dev = model.device
    outs = []
    for s in range(0, len(prompts), batch):
        chunk = prompts[s : s + batch]
        width = max(map(len, chunk))
        ids, mask = padded(chunk, pad, left=not enc_dec)
        kw = {"max_new_tokens": new, "min_new_tokens": new if min_new is None else min_new, "do_sample": do_sample,
              "pad_token_id": pad, "num_return_sequences": num_samples}
        if do_sample:
            kw.update(temperature=temperature, top_p=1.0, top_k=0)
        out = model.generate(input_ids=ids.to(dev), attention_mask=mask.to(dev), **kw)
        out = out[:, 1:] if enc_dec else out[:, width:]
        rows = out.tolist()
        outs += [rows[j * num_samples : (j + 1) * num_samples] for j in range(len(chunk))]
    return outs


def fast_generate(model, prompts, new, batch, graphs, **kw):
    from mathdistill.students.fast import generate_ids

    eos = model.config.eos_token_id
    return generate_ids(model, prompts, max_new_tokens=new, min_new_tokens=kw.pop("min_new", new),
                        eos_token_id=eos, pad_token_id=0, batch_size=batch, cuda_graphs=graphs,
                        **kw)


def timed(fn):
    sync()
    t = time.perf_counter()
    out = fn()
    sync()
    return out, time.perf_counter() - t


def bench_gen(name, model, a):
    n, new, batch = (16, 16, 8) if a.small else (a.gen_prompts, a.new_tokens, a.batch)
    prompts = make_prompts(n, 8 if a.small else 32, 24 if a.small else 160,
                           model.config.vocab_size)
    variants = [("plain-hf", lambda: plain_generate(model, prompts, new, batch))]
    on_gpu = model.device.type == "cuda"
    variants.append(("fast-eager", lambda: fast_generate(model, prompts, new, batch, False)))
    if on_gpu:
        variants.append(("fast-graphs", lambda: fast_generate(model, prompts, new, batch, True)))
    for label, fn in variants:
        try:
            reset_peak()
            # first call: CUDA/cuBLAS init, graph capture, allocation (reported, not timed)
            _, warm = timed(fn) if label != "plain-hf" else timed(
                lambda: plain_generate(model, prompts[:batch], 4, batch))
            out, dt = timed(fn)
            toks = sum(len(o[0]) for o in out)
            record(part="gen", model=name, path=label, batch=batch, new_tokens=new,
                   tokens=toks, seconds=round(dt, 2), tok_per_s=round(toks / dt),
                   first_call_s=None if warm is None else round(warm, 2), peak_gib=peak_gib())
        except Exception as e:  # noqa: BLE001  (a broken variant must not cost the device run)
            record(part="gen", model=name, path=label, error=repr(e)[:300])
            traceback.print_exc()


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b)) if len(a) != len(b) else None


def bench_check(name, a, device):
    n, new = (8, 12) if a.small else (64, 64)
    for dtype in (torch.float32, torch.bfloat16):
        for decisive in (False, True):
            try:
                model = build(name, dtype, a.small, device)
                if decisive:
                    norm = (model.decoder.final_layer_norm if model.config.is_encoder_decoder
                            else model.model.norm)
                    norm.weight.data *= 8
                prompts = make_prompts(n, 8, 24 if a.small else 120, model.config.vocab_size, 1)
                torch.backends.cuda.matmul.allow_tf32 = False
                ref = plain_generate(model, prompts, new, 16, do_sample=False, min_new=0)
                # baseline for bf16: plain HF against itself at another batch size
                other = plain_generate(model, prompts, new, 64, do_sample=False, min_new=0)
                same = sum(r[0] == o[0] for r, o in zip(ref, other))
                record(part="check", model=name, dtype=str(dtype).split(".")[-1],
                       decisive=decisive, path="plain-hf b16 vs b64", identical=f"{same}/{n}")
                for graphs in ([False, True] if device == "cuda" else [False]):
                    got = fast_generate(model, prompts, new, 16, graphs, min_new=0)
                    # plain generate pads after EOS; fast cuts at EOS: compare up to EOS
                    eos = model.config.eos_token_id
                    def cut(s, eos=eos):
                        return s[: s.index(eos)] if eos in s else s
                    same = sum(cut(r[0]) == cut(g[0]) for r, g in zip(ref, got))
                    diffs = [first_diff(cut(r[0]), cut(g[0])) for r, g in zip(ref, got)]
                    diffs = [d for d in diffs if d is not None]
                    record(part="check", model=name, dtype=str(dtype).split(".")[-1],
                           decisive=decisive, graphs=graphs, identical=f"{same}/{n}",
                           first_diff_mean=round(sum(diffs) / len(diffs), 1) if diffs else None)
                del model
            except Exception as e:  # noqa: BLE001
                record(part="check", model=name, dtype=str(dtype), decisive=decisive,
                       error=repr(e)[:300])
                traceback.print_exc()


def bench_sample(name, model, a):
    n, k, new = (4, 4, 12) if a.small else (32, 8, 256)
    prompts = make_prompts(n, 8, 24 if a.small else 160, model.config.vocab_size, 2)
    for label, fn in [
        ("plain-hf", lambda: plain_generate(model, prompts, new, max(1, a.batch // k),
                                            do_sample=True, temperature=0.7, num_samples=k)),
        ("fast", lambda: fast_generate(model, prompts, new, a.batch if not a.small else 8,
                                       model.device.type == "cuda", do_sample=True,
                                       temperature=0.7, num_samples=k)),
    ]:
        try:
            reset_peak()
            if label == "fast":
                timed(fn)
            out, dt = timed(fn)
            toks = sum(len(s) for o in out for s in o)
            record(part="sample", model=name, path=label, prompts=n, k=k, tokens=toks,
                   seconds=round(dt, 2), tok_per_s=round(toks / dt), peak_gib=peak_gib())
        except Exception as e:  # noqa: BLE001
            record(part="sample", model=name, path=label, error=repr(e)[:300])
            traceback.print_exc()


def train_examples(n, vocab, lo, hi, seed=3):
    """(input_ids, labels): prompt (no loss) + target, lengths like prompt+rationale data."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        length = int(torch.randint(lo, hi + 1, (1,), generator=g))
        ids = torch.randint(3, vocab, (length,), generator=g).tolist()
        cut = length // 3
        out.append((ids, [-100] * cut + ids[cut:]))
    return out


def plain_train(model, examples, steps, batch, lr=1e-5):
    """Plain loop: fp32 master weights, bf16 autocast, torch AdamW, padded batches."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    dev = model.device

    def step(i):
        chunk = examples[(i * batch) % len(examples) :][:batch]
        ids, att = padded([x for x, _ in chunk], 0)
        lab, _ = padded([y for _, y in chunk], -100)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            loss = model(input_ids=ids.to(dev), attention_mask=att.to(dev),
                         labels=lab.to(dev)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return sum(len(x) for x, _ in chunk)

    return tokens_per_s(step, steps)


def fast_train(model, examples, steps, tokens_per_batch, loss_chunk=4096, compile_=None):
    from mathdistill.students.fast.packing import pack
    from mathdistill.students.fast.train_step import FastTrainStep

    batches = pack(examples, tokens_per_batch)
    step_fn = FastTrainStep(model, lr=1e-5, compile=compile_, loss_chunk=loss_chunk)
    if PROFILE and model.device.type == "cuda":
        profile(lambda i: step_fn(batches[i % len(batches)]))

    def step(i):
        b = batches[i % len(batches)]
        step_fn(b)
        return int(b.n_tokens)

    return tokens_per_s(step, steps)


def profile(step, n=3):
    """--profile: warm up, then print the top CUDA kernels of n steps."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as prof

    for i in range(3):
        step(i)
    sync()
    with prof(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as p:
        for i in range(n):
            step(i)
        sync()
    log(p.key_averages().table(sort_by="cuda_time_total", row_limit=18, max_name_column_width=60))


def bench_train(name, a, device):
    small = a.small
    max_len = 64 if small else 512
    n_ex = 64 if small else 4096
    steps = 3 if small else a.train_steps
    # fast paths: tokens per packed row and loss chunk (default: FAST_KNOBS)
    grid = [tuple(map(int, g.split(":"))) for g in a.fast_grid.split(",")] if a.fast_grid else [
        FAST_KNOBS.get(name, (16384, 4096))]
    if small:
        grid = [(2048, 1024)]
    runs = [(lab, None) for lab in a.train_paths.split(",") if not lab.startswith(("fast", "lora-f"))]
    runs += [(lab, g) for lab in a.train_paths.split(",") if lab.startswith(("fast", "lora-f"))
             for g in grid]
    for label, knobs in runs:
        if name == "t5-large" and label != "plain-loop":
            continue  # packing is for causal students; T5 reports the plain loop only
        try:
            reset_peak()
            model = build(name, torch.float32, small, device)
            model.train()
            cfg = model.config
            ex = train_examples(n_ex, cfg.vocab_size, max_len // 4, max_len)
            if label.startswith("lora"):
                import peft

                model = peft.get_peft_model(model, peft.LoraConfig(
                    r=16, lora_alpha=32, target_modules=["q_proj", "k_proj", "v_proj",
                                                         "o_proj", "gate_proj", "up_proj",
                                                         "down_proj"]))
            if cfg.is_encoder_decoder:
                # seq2seq plain loop: prompt -> encoder, target -> labels
                tps = plain_train_seq2seq(model, ex, steps, 16 if not small else 4)
            elif label in ("plain-loop", "lora-plain"):
                tps = plain_train(model, ex, steps, 16 if not small else 4)
            else:
                tps = fast_train(model, ex, steps, *knobs,
                                 compile_=False if label == "fast-nocompile" else None)
            record(part="train", model=name, path=label, tok_per_s=round(tps),
                   pack_tokens=knobs and knobs[0], loss_chunk=knobs and knobs[1],
                   mfu=mfu(cfg, tps, ex) if not label.startswith("lora") else None,
                   peak_gib=peak_gib())
            del model
        except Exception as e:  # noqa: BLE001
            record(part="train", model=name, path=label, knobs=knobs, error=repr(e)[:300])
            traceback.print_exc()


def mfu(cfg, tokens_per_s, examples):
    """Model FLOPs utilisation in % (attention over each example's own length)."""
    from mathdistill.students.fast.flops import (
        attn_seq_len,
        t5_train_flops_per_example,
        train_flops_per_token,
    )

    if cfg.is_encoder_decoder:  # plain_train_seq2seq: first third -> encoder, rest -> decoder
        lens = [len(x) for x, _ in examples]
        fpt = sum(t5_train_flops_per_example(cfg, n // 3, n - n // 3) for n in lens) / sum(lens)
    else:
        fpt = train_flops_per_token(cfg, attn_seq_len(len(x) for x, _ in examples))
    return round(tokens_per_s * fpt / PEAK * 100, 1)


def plain_train_seq2seq(model, examples, steps, batch, lr=1e-5):
    """Plain seq2seq loop: first third of each example -> encoder, the rest -> labels."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    dev = model.device

    def step(i):
        chunk = examples[(i * batch) % len(examples) :][:batch]
        ids, att = padded([x[: len(x) // 3] for x, _ in chunk], 0)
        lab, _ = padded([x[len(x) // 3 :] for x, _ in chunk], -100)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            loss = model(input_ids=ids.to(dev), attention_mask=att.to(dev),
                         labels=lab.to(dev)).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return sum(len(x) for x, _ in chunk)

    return tokens_per_s(step, steps)


def env_info() -> dict:
    import transformers

    info = {"torch": torch.__version__, "transformers": transformers.__version__,
            "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
        a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
        for _ in range(3):
            a @ a
        _, dt = timed(lambda: [a @ a for _ in range(10)])
        info["matmul_tflops_bf16"] = round(10 * 2 * 8192**3 / dt / 1e12)
    try:
        from torch.nn.attention import varlen  # noqa: F401

        info["varlen_attn"] = True
    except ImportError:
        info["varlen_attn"] = False
    return info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="qwen2-0.5b,smollm-1.7b,t5-large")
    p.add_argument("--parts", default="gen,check,sample,train")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--new-tokens", type=int, default=256)
    p.add_argument("--gen-prompts", type=int, default=256)
    p.add_argument("--train-steps", type=int, default=20)
    p.add_argument("--train-paths", default="plain-loop,fast,fast-nocompile,lora-plain,lora-fast")
    p.add_argument("--fast-grid", default="",
                   help="pack_tokens:loss_chunk,... for the fast paths (default: per model)")
    p.add_argument("--small", action="store_true", help="toy sizes (CPU smoke test)")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--profile", action="store_true", help="kernel table of the fast train step")
    a = p.parse_args(argv)
    global PROFILE
    PROFILE = a.profile
    device = "cuda" if torch.cuda.is_available() else "cpu"
    gen_dtype = torch.bfloat16 if device == "cuda" else torch.float32
    info = env_info()
    log(json.dumps(info))
    parts = a.parts.split(",")
    for name in a.models.split(","):
        log(f"== {name}")
        if "gen" in parts or "sample" in parts:
            model = build(name, gen_dtype, a.small, device)
            if "gen" in parts:
                bench_gen(name, model, a)
            if "sample" in parts:
                bench_sample(name, model, a)
            del model
        if "check" in parts:
            bench_check(name, a, device)
        if "train" in parts:
            bench_train(name, a, device)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"env": info, "rows": ROWS}, indent=1))
    log("\n| part | model | path | tok/s | MFU % | peak GiB | notes |")
    log("|---|---|---|---|---|---|---|")
    for r in ROWS:
        notes = {k: v for k, v in r.items()
                 if k not in ("part", "model", "path", "tok_per_s", "mfu", "peak_gib")}
        log(f"| {r['part']} | {r['model']} | {r.get('path', '')} | {r.get('tok_per_s', '')} | "
            f"{r.get('mfu') or ''} | {r.get('peak_gib', '')} | {json.dumps(notes)[:160]} |")


if __name__ == "__main__":
    main()
