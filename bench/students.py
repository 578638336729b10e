"""Throughput of mathdistill.students: training steps/s, examples/s and generation tokens/s.

CPU, tiny presets (about a minute; one torch thread by default, the machine is shared):
    python bench/students.py
    python bench/students.py --presets tiny-t5 tiny-qwen2 tiny-llama --threads 2 --lora
GPU, the Qwen2-0.5B architecture with random weights (preset random-qwen2-0.5b, bf16;
exits with an error when there is no CUDA device):
    bash bench/students_gpu.sh          # = python bench/students.py --gpu

What is timed: `train()` (the HF Trainer loop: forward, backward, optimizer, collation;
not the model load or the checkpoint save, which are reported separately) and `generate()`
on an already loaded model, with min_new_tokens = max_new_tokens so every sequence
produces exactly that many tokens (tokens/s = prompts x K x new tokens / seconds).
The workload is synthetic arithmetic word problems with CoT-style targets (about 100-200
tokens each with the project tokenizer). A JSON report goes to --out.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers

from mathdistill.io import write_json
from mathdistill.students import GenerationConfig, TrainConfig, build_tiny, generate, load, train

NAMES = ["Tom", "Ana", "Lee", "Mia", "Raj", "Zoe"]
ITEMS = ["apples", "pencils", "stickers", "books", "marbles", "cookies"]


def workload(n: int, seed: int = 0) -> list[dict[str, str]]:
    """Deterministic toy problems: prompt = question + trigger, target = CoT steps + answer."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        who, item = rng.choice(NAMES), rng.choice(ITEMS)
        a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.randint(2, 9)
        q = (
            f"{who} has {a} {item}. {who} buys {b} more {item} and then gives away a {c}th "
            f"of them to friends. How many {item} does {who} have left?"
        )
        total = a + b
        gone = total / c
        left = total - gone
        target = (
            f"{who} starts with {a} {item}.\n{who} buys {b} more, so {a} + {b} = {total}.\n"
            f"{who} gives away {total} / {c} = {gone:g} {item}.\n"
            f"{who} has {total} - {gone:g} = {left:g} {item} left.\nThe answer is {left:g}."
        )
        out.append({"prompt": f"Question: {q}\nLet's think step by step\n", "target": target})
    return out


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return f"{platform.machine()} ({os.cpu_count()} cores)"


def bench_train(path, examples, args, lora: bool) -> dict:
    cfg = TrainConfig(
        lr=(2e-4 if lora else 5e-5) if args.gpu else 1e-3,
        max_steps=args.train_steps,
        batch_size=args.train_batch,
        logging_steps=max(1, args.train_steps // 4),
        max_len=args.max_len,
        max_source_len=args.max_len,
        max_target_len=args.max_len,
        lora={"r": 16, "alpha": 32, "dropout": 0.0} if lora else None,
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        s = train(path, examples, Path(tmp) / "ckpt", cfg)
        total = time.perf_counter() - t0
    return {
        "mode": "lora" if lora else "full",
        "steps": s["steps"],
        "batch_size": args.train_batch,
        "train_seconds": round(s["seconds"], 3),
        "overhead_seconds": round(total - s["seconds"], 3),  # load + encode + save
        "steps_per_s": round(s["steps_per_s"], 3),
        "examples_per_s": round(s["examples_per_s"], 2),
        "target_tokens_per_s": round(s["target_tokens_per_s"], 1),
        "first_loss": round(s["first_loss"], 4),
        "last_loss": round(s["last_loss"], 4),
    }


def bench_generate(path, prompts, args, k: int) -> dict:
    loaded = load(path, dtype="auto")
    if torch.cuda.is_available():
        loaded = (loaded[0].to("cuda"), loaded[1], loaded[2])
    cfg = GenerationConfig(
        max_new_tokens=args.new_tokens,
        min_new_tokens=args.new_tokens,
        batch_size=args.gen_batch,
        do_sample=k > 1,
        num_samples=k,
        temperature=0.7,
        top_p=0.95,
        progress=False,
    )
    generate(loaded, prompts[:2], cfg.replace(max_new_tokens=4, min_new_tokens=4))  # warm-up
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    outs = generate(loaded, prompts, cfg)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    n_seq = sum(len(o) for o in outs)
    return {
        "mode": "greedy" if k == 1 else f"sample K={k}",
        "prompts": len(prompts),
        "batch_size": args.gen_batch,
        "new_tokens": args.new_tokens,
        "dtype": str(next(loaded[0].parameters()).dtype).replace("torch.", ""),
        "seconds": round(secs, 3),
        "tokens_per_s": round(n_seq * args.new_tokens / secs, 1),
        "sequences_per_s": round(n_seq / secs, 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--gpu",
        action="store_true",
        help="GPU mode: random-qwen2-0.5b, bf16, batch 256 x 256 new tokens",
    )
    ap.add_argument("--presets", nargs="+", default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--train-steps", type=int, default=None)
    ap.add_argument("--train-batch", type=int, default=None)
    ap.add_argument("--max-len", type=int, default=512)
    ap.add_argument("--prompts", type=int, default=None)
    ap.add_argument("--gen-batch", type=int, default=None)
    ap.add_argument("--new-tokens", type=int, default=None)
    ap.add_argument("--samples", type=int, default=4, help="K for the sampling run (0: skip)")
    ap.add_argument("--lora", action="store_true", help="also time LoRA training (r16, a32)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    transformers.logging.set_verbosity_error()
    if args.gpu:
        if not torch.cuda.is_available():
            print(
                "error: --gpu needs a CUDA device, and torch.cuda.is_available() is False "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda})",
                file=sys.stderr,
            )
            return 2
        defaults = {
            "presets": ["random-qwen2-0.5b"],
            "train_steps": 30,
            "train_batch": 8,
            "prompts": 256,
            "gen_batch": 256,
            "new_tokens": 256,
        }
        args.lora = True
    else:
        torch.set_num_threads(args.threads)
        defaults = {
            "presets": ["tiny-t5", "tiny-qwen2"],
            "train_steps": 40,
            "train_batch": 8,
            "prompts": 32,
            "gen_batch": 16,
            "new_tokens": 64,
        }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    examples = workload(max(256, args.train_batch * args.train_steps))
    prompts = [e["prompt"] for e in workload(args.prompts, seed=1)]
    texts = [e["prompt"] + e["target"] for e in examples]
    device = torch.cuda.get_device_name(0) if args.gpu else cpu_name()
    report = {
        "device": device,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "args": vars(args),
        "results": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets:
            t0 = time.perf_counter()
            path = build_tiny(preset, texts, Path(tmp) / preset, seed=0, vocab_size=1024)
            build_s = time.perf_counter() - t0
            n_params = sum(p.numel() for p in load(path)[0].parameters())
            rows = [bench_train(path, examples, args, lora=False)]
            if args.lora:
                rows.append(bench_train(path, examples, args, lora=True))
            rows.append(bench_generate(path, prompts, args, 1))
            if args.samples > 1:
                rows.append(bench_generate(path, prompts, args, args.samples))
            for row in rows:
                row.update(
                    preset=preset, params_M=round(n_params / 1e6, 2), build_s=round(build_s, 2)
                )
                report["results"].append(row)
                print(_fmt(row), flush=True)
    out = args.out or f"results/bench/students_{'gpu' if args.gpu else 'cpu'}.json"
    write_json(out, report)
    print(f"device: {device}, threads {report['threads']}; report: {out}")
    return 0


def _fmt(row: dict) -> str:
    if "steps_per_s" in row:
        return (
            f"{row['preset']:<18} train {row['mode']:<5} bs {row['batch_size']:>3}: "
            f"{row['steps_per_s']:8.2f} steps/s {row['examples_per_s']:9.1f} ex/s "
            f"{row['target_tokens_per_s']:10.0f} target tok/s  loss {row['first_loss']:.2f}"
            f" -> {row['last_loss']:.2f}"
        )
    return (
        f"{row['preset']:<18} gen {row['mode']:<12} {row['prompts']} prompts bs "
        f"{row['batch_size']} x {row['new_tokens']} tok ({row['dtype']}): "
        f"{row['tokens_per_s']:10.1f} tok/s {row['sequences_per_s']:8.2f} seq/s"
    )


if __name__ == "__main__":
    sys.exit(main())
