"""GPU smoke test of the workflow's student calls: train(packing=True) and generate(backend=auto).

    python bench/gpu_smoke.py      # on a CUDA machine; prints PASS/FAIL lines

tiny-qwen2 and tiny-t5 (project tokenizer trained on a few synthetic texts): a packed training
run through students.train on CUDA, then greedy generation with the fast path (backend "auto"
on CUDA) against backend "hf" on the same checkpoint (fp32 weights, TF32 off).
"""

import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from mathdistill.students import GenerationConfig, TrainConfig, build_tiny, generate, train

torch.backends.cuda.matmul.allow_tf32 = False
texts = [f"Question: {a} plus {b}? Answer: {a + b}" for a in range(40) for b in range(10)]
examples = [{"prompt": t.split(" Answer:")[0], "target": t.split("Answer: ")[1]} for t in texts]
ok = True
with tempfile.TemporaryDirectory() as d:
    for preset in ("tiny-qwen2", "tiny-t5"):
        base = build_tiny(preset, texts, f"{d}/{preset}", seed=0)
        cfg = TrainConfig(epochs=2, lr=3e-3, batch_size=32, packing=preset != "tiny-t5",
                          logging_steps=5)
        summary = train(base, examples, f"{d}/{preset}-ckpt", cfg)
        print(preset, "train", {k: summary.get(k) for k in ("train_loss", "tokens_per_s",
                                                             "packing")})
        prompts = [e["prompt"] for e in examples[:64]]
        gen = {"max_new_tokens": 24, "batch_size": 32, "dtype": "float32", "progress": False}
        fast = generate(f"{d}/{preset}-ckpt", prompts, GenerationConfig(backend="auto", **gen))
        hf = generate(f"{d}/{preset}-ckpt", prompts, GenerationConfig(backend="hf", **gen))
        same = sum(a == b for a, b in zip(fast, hf))
        ok &= same == len(prompts)
        print(preset, "generate auto vs hf identical", f"{same}/{len(prompts)}", fast[0])
print("PASS" if ok else "FAIL")
