"""Commands build-student, train, predict, evaluate: the student stages of the workflow.

    python -m mathdistill build-student --preset tiny-t5 --train train.jsonl \\
        --out students/tiny-t5/base -o vocab_size=800
    python -m mathdistill train --base students/tiny-t5/base --examples round0/mixed.jsonl \\
        --out round0/checkpoint -o epochs=8 -o lr=0.003          # + round0/train_log.json
    python -m mathdistill train --base Qwen/Qwen2-0.5B --examples mixed.jsonl --out ckpt \\
        --config train.yaml --lora r=16 --lora alpha=32 --gpus 4   # accelerate launch, 4 GPUs
    python -m mathdistill predict --checkpoint round0/checkpoint --problems gsm8k.jsonl \\
        --strategy pot --out predictions/gsm8k.jsonl -o max_new_tokens=160
    python -m mathdistill predict --checkpoint etd/checkpoint --problems gsm8k.jsonl \\
        --type etd --strategies cot,pot,eot --out etd.jsonl       # PoT -> EoT -> CoT fallback
    python -m mathdistill evaluate --predictions predictions/gsm8k.jsonl --out metrics.json

Each command calls the function its workflow rule's script calls (workflow/scripts/*.py):
`stages.students.build`, `stages.launch.run(stages.students:train)`, `stages.predict.predict`
or `stages.multi_predict.predict`, `metrics.evaluate_file`. Train options (`--config` /
`-o`) are `students.TrainConfig` fields (a student's `train:` block with the method's
overrides), decoding options are `students.GenerationConfig` fields (`generation:`); both
are checked (name and type) before a model is loaded.
"""

from __future__ import annotations

from pathlib import Path

from mathdistill.cli.common import (
    UsageError,
    add_config_args,
    add_method_args,
    config_options,
    parse_option,
    user_call,
)

__all__ = ["COMMANDS", "add_generation_args", "add_train_args", "generation", "log_json",
           "method_check", "train_cfg", "train_summary"]

MULTI_TYPES = ("etd", "combined", "siked")


# ------------------------------------------------------------------ shared option groups
def add_train_args(p) -> None:
    add_config_args(p, "train options (students.TrainConfig fields: epochs, lr, batch_size, "
                    "...)")
    p.add_argument("--lora", action="append", type=parse_option, default=[],
                   metavar="KEY=VALUE", help="fine-tune with LoRA, with this option (r, alpha, "
                   "dropout, target_modules); repeatable; `--lora r=16` alone is enough")
    p.add_argument("--log-json", metavar="FILE",
                   help="the train log (default: train_log.json beside --out)")
    p.add_argument("--resume-from", metavar="DIR", help="start from this checkpoint instead "
                   "of --base (on-policy rounds: round r-1's checkpoint)")
    p.add_argument("--meta", action="append", type=parse_option, default=[],
                   metavar="KEY=VALUE", help="a field copied into the train log; repeatable")
    p.add_argument("--threads", type=int, help="torch CPU threads")


def train_cfg(args) -> dict:
    """The train rule's `cfg` params: {model, finetune, lora, train}, checked."""
    from mathdistill.students import TrainConfig

    train = config_options(args, TrainConfig)
    lora = dict(args.lora)
    if lora:
        user_call(TrainConfig.from_dict, {**train, "lora": lora})  # checks the LoRA keys
    return {"model": str(args.base), "finetune": "lora" if lora else "full", "lora": lora,
            "train": train}


def log_json(args) -> Path:
    return Path(args.log_json) if args.log_json else Path(args.out).parent / "train_log.json"


def add_generation_args(p) -> None:
    add_config_args(p, "decoding options (students.GenerationConfig fields: max_new_tokens, "
                    "batch_size, do_sample, ...)")
    p.add_argument("--threads", type=int, help="torch CPU threads")


def generation(args) -> dict:
    from mathdistill.students import GenerationConfig

    return config_options(args, GenerationConfig)


# ------------------------------------------------------------------ build-student
def _add_build_student(sub) -> None:
    p = sub.add_parser("build-student", help="build a tiny-* student (random init + a "
                       "tokenizer trained on the train set)",
                       description="A random-init model of a tiny-* preset, with a byte-level "
                       "BPE tokenizer trained on the train problems' questions and solutions "
                       "(stages.students.build; rule build_student).")
    p.add_argument("--preset", required=True, help="a tiny-* preset (tiny-t5, tiny-qwen2, ...; "
                   "students.presets.PRESETS)")
    p.add_argument("--train", required=True, metavar="FILE", help="train problems JSONL")
    p.add_argument("--out", required=True, metavar="DIR", help="the model directory")
    p.add_argument("--seed", type=int, default=0)
    add_config_args(p, "build options (the student's `build:` block, e.g. vocab_size)")
    p.set_defaults(func=cmd_build_student)


def cmd_build_student(args) -> int:
    from mathdistill.stages.students import build
    from mathdistill.students.presets import PRESETS

    if args.preset not in PRESETS:
        raise UsageError(f"--preset: unknown preset {args.preset!r}; choose one of "
                         f"{', '.join(sorted(PRESETS))}")
    out = user_call(build, args.preset, args.train, args.out, seed=args.seed,
                    options=config_options(args))
    print(f"build-student: {args.preset} -> {out}")
    return 0


# ------------------------------------------------------------------ train
def _add_train(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a student on a round's examples",
                       description="Fine-tune --base (a model directory or hub id) on the "
                       "examples JSONL ({prompt, target} rows from build-round): full or LoRA "
                       "(stages.students.train; rules train, siked_train, fdd_train). "
                       "--gpus N > 1 runs it under `accelerate launch` (stages.launch).")
    p.add_argument("--base", required=True, help="model directory or hub id")
    p.add_argument("--examples", required=True, metavar="FILE", help="training examples JSONL")
    p.add_argument("--out", required=True, metavar="DIR", help="the checkpoint directory")
    add_train_args(p)
    p.add_argument("--gpus", type=int, default=0, help="processes (GPUs) to train on; > 1: "
                   "accelerate launch (default: this process)")
    p.set_defaults(func=cmd_train)


def train_summary(log: dict | None, out) -> str:
    log = log or {}
    return (f"{log.get('examples', '?')} examples, {log.get('steps', '?')} steps, "
            f"final loss {log.get('final_loss')}; checkpoint {out}")


def cmd_train(args) -> int:
    from mathdistill.stages.launch import run

    cfg = train_cfg(args)
    out_log = log_json(args)
    kwargs = {"base": cfg["model"], "examples_file": args.examples, "out_dir": args.out,
              "log_out": str(out_log), "cfg": cfg, "meta": dict(args.meta),
              "threads": args.threads, "resume_from": args.resume_from}
    log = user_call(run, "mathdistill.stages.students:train", kwargs,
                    num_processes=args.gpus, log_out=out_log)
    print(f"train: {train_summary(log, args.out)}; log {out_log}")
    return 0


# ------------------------------------------------------------------ predict
def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="a trained student answers a problem file",
                       description="Generate with the student, grade each answer with the "
                       "strategy's executor and write Prediction JSONL. --strategy: one "
                       "strategy (stages.predict; rule predict). --type etd|combined|siked: "
                       "the multi-strategy inference (stages.multi_predict; rule "
                       "predict_multi): ETD's fallback over --strategies, or the strategy tag "
                       "the Combined/SIKeD student writes.")
    p.add_argument("--checkpoint", required=True, help="model directory or hub id")
    p.add_argument("--problems", required=True, metavar="FILE", help="problems JSONL")
    p.add_argument("--out", required=True, metavar="FILE", help="predictions JSONL")
    p.add_argument("--strategy", choices=("cot", "pot", "eot", "l2m"),
                   help="single-strategy inference")
    add_method_args(p, MULTI_TYPES, type_required=False)
    add_generation_args(p)
    p.set_defaults(func=cmd_predict)


def cmd_predict(args) -> int:
    gen = generation(args)
    if (args.strategy is None) == (args.type is None):
        raise UsageError("give --strategy (one strategy) or --type (etd, combined, siked)")
    if args.strategy:
        from mathdistill.stages.predict import predict

        preds = user_call(predict, args.checkpoint, args.problems, args.strategy, args.out, gen,
                          threads=args.threads)
    else:
        from mathdistill.methods import combined, etd
        from mathdistill.stages.multi_predict import predict

        defaults = {"etd": list(etd.ETD_STRATEGIES), "combined": combined.DEFAULTS["strategies"],
                    "siked": combined.DEFAULTS["strategies"]}
        method = method_check(args, defaults)
        preds = user_call(predict, args.checkpoint, args.problems, method, args.out, gen,
                          threads=args.threads)
    correct = sum(bool(p.correct) for p in preds)
    pct = f" ({100 * correct / len(preds):.1f}%)" if preds else ""
    print(f"predict: {correct} of {len(preds)} correct{pct}; wrote {args.out}")
    return 0


def method_check(args, defaults=None) -> dict:
    """The method cfg of --type/--strategies/-m, its options checked by the method's own
    parser where it has one (etd order, siked, fdd, tailored)."""
    from mathdistill.cli.common import method_cfg

    cfg = method_cfg(args, defaults)
    opts = cfg["options"]
    if cfg["type"] == "etd":
        from mathdistill.methods.etd import fallback_order

        user_call(fallback_order, cfg["strategies"], opts.get("order"))
    elif cfg["type"] == "siked":
        from mathdistill.methods.siked import options

        user_call(options, cfg)
    elif cfg["type"] in ("fdd", "tailored"):
        import importlib

        user_call(importlib.import_module(f"mathdistill.stages.{cfg['type']}").parse_options,
                  opts)
    return cfg


# ------------------------------------------------------------------ evaluate
def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="predictions -> metrics JSON",
                       description="Accuracy, counts, per-strategy accuracy and share, error "
                       "kinds (and ETD's queried-as / fallbacks) of a predictions file "
                       "(metrics.evaluate_file; in the workflow, each prediction job "
                       "scores its own predictions).")
    p.add_argument("--predictions", required=True, metavar="FILE", help="predictions JSONL")
    p.add_argument("--out", required=True, metavar="FILE", help="metrics JSON")
    p.add_argument("--meta", action="append", type=parse_option, default=[],
                   metavar="KEY=VALUE", help="a field copied into the metrics (method, "
                   "student, dataset, ...); repeatable")
    p.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args) -> int:
    from mathdistill.metrics import evaluate_file

    m = evaluate_file(args.predictions, args.out, meta=dict(args.meta))
    acc = "n/a" if m["accuracy"] is None else f"{100 * m['accuracy']:.1f}%"
    print(f"evaluate: accuracy {acc} ({m['correct']} of {m['n']}); wrote {args.out}")
    return 0


COMMANDS = [_add_build_student, _add_train, _add_predict, _add_evaluate]
