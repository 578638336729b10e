"""Commands of the methods' rounds: build-round (every method type) and the steps of the
iterative methods (siked generate, fdd pool / generate, tailored exam / feedback / train).

    # round 0 of a single / etd / combined method: the teacher's filtered rationales
    python -m mathdistill build-round --type single --strategies pot \\
        --rationales teacher/pot/filtered.jsonl --out potd/round0/mixed.jsonl
    # SIKeD round 1: the round-0 student's self samples, then the All / Sparse mix
    python -m mathdistill siked generate --checkpoint siked/round0/checkpoint \\
        --problems train.jsonl --round 1 --out siked/round1/self_samples.jsonl -m k=2
    python -m mathdistill build-round --type siked --strategies cot,pot,l2m --round 1 \\
        --rationales teacher/{cot,pot,l2m}/filtered.jsonl \\
        --self-samples siked/round1/self_samples.jsonl --out siked/round1/mixed.jsonl
    # FDD round 1: pool P_1, the exam (predict, greedy), new questions, D_1
    python -m mathdistill fdd pool --train train.jsonl --d0 teacher/pot/filtered.jsonl \\
        --out fdd/round1/pool.jsonl --seed 1
    python -m mathdistill predict --checkpoint fdd/round0/checkpoint --strategy pot \\
        --problems fdd/round1/pool.jsonl --out fdd/round1/exam.jsonl
    python -m mathdistill fdd generate --pool fdd/round1/pool.jsonl --exam fdd/round1/exam.jsonl \\
        --previous teacher/pot/filtered.jsonl --round 1 --out-dir fdd/round1 -m k=1 -m min_agree=1
    python -m mathdistill build-round --type fdd --strategies pot --round 1 \\
        --rationales teacher/pot/filtered.jsonl fdd/round1/programs.jsonl \\
        --out fdd/round1/mixed.jsonl
    # Tailored Learning round r: exam -> (r >= 1) feedback -> round data -> train (+ L_SR)
    python -m mathdistill tailored exam --model students/tiny-t5/base --train train.jsonl \\
        --round 0 --out-dir tl/round0 -m exam_limit=100
    python -m mathdistill build-round --type tailored --strategies cot --round 0 \\
        --rationales teacher/cot/filtered.jsonl --exam tl/round0/exam.jsonl \\
        --mistakes tl/round0/mistakes.json --out tl/round0/mixed.jsonl
    python -m mathdistill tailored train --base students/tiny-t5/base \\
        --examples tl/round0/mixed.jsonl --out tl/round0/checkpoint -o epochs=4
    python -m mathdistill tailored exam --model tl/round0/checkpoint --train train.jsonl \\
        --round 1 --out-dir tl/round1 -m exam_limit=100
    python -m mathdistill tailored feedback --train train.jsonl \\
        --mistakes tl/round1/mistakes.json --out tl/round1/feedback.jsonl

Each command calls what the workflow rule's script calls: `stages.rounds.build_round`,
`stages.siked` (self_generate, build_round), `stages.fdd` (make_pool, generate,
build_examples), `stages.tailored` (exam, feedback, build_examples, train). `-m KEY=VALUE`
are the method's options (methods.<name>.options in the experiment config). The workflow
passes `seed + round` as the FDD pool's seed; here `--seed` is used as given.
"""

from __future__ import annotations

from pathlib import Path

from mathdistill.cli.common import (
    ExamplesFormatter,
    UsageError,
    add_config_args,
    add_method_args,
    config_options,
    user_call,
)
from mathdistill.cli.students import (
    add_generation_args,
    add_train_args,
    generation,
    log_json,
    method_check,
    train_cfg,
    train_summary,
)

__all__ = ["COMMANDS"]

TYPES = ("single", "etd", "combined", "siked", "fdd", "tailored")
EXAMPLES = {"epilog": "examples:\n" + __doc__.split("\n\n")[1],
            "formatter_class": ExamplesFormatter}  # every method's command sequence


def _need(args, *names: str, why: str) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if not getattr(args, n)]
    if missing:
        raise UsageError(f"{' and '.join(missing)} required {why}")


def _stats(args, name: str) -> Path:
    return Path(args.stats) if args.stats else Path(args.out).parent / name


def _one_strategy(cfg: dict) -> str:
    if len(cfg["strategies"]) != 1:
        raise UsageError(f"--type {cfg['type']} learns one strategy, got {cfg['strategies']}")
    return cfg["strategies"][0]


def _add_seed_meta(p) -> None:
    from mathdistill.cli.common import parse_option

    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--meta", action="append", type=parse_option, default=[],
                   metavar="KEY=VALUE", help="a field copied into the statistics; repeatable")


# ------------------------------------------------------------------ build-round
def _add_build_round(sub) -> None:
    p = sub.add_parser("build-round", help="a method's training examples for one round", **EXAMPLES,
                       description="Round r's training examples ({prompt, target} JSONL) of "
                       "a method, by type: single/etd/combined (stages.rounds; the first step "
                       "of rule train), siked (stages.siked.build_round; + mix_stats.json; "
                       "rule siked_train), "
                       "fdd (stages.fdd.build_examples: D_r = the --rationales files in "
                       "order), tailored (stages.tailored.build_examples; + "
                       "tailored_stats.json).")
    add_method_args(p, TYPES)
    p.add_argument("--round", type=int, default=0)
    p.add_argument("--rationales", nargs="+", metavar="FILE", help="the teacher's filtered "
                   "rationales, one file per strategy (fdd: D_0 then G_1..G_r; tailored: "
                   "round 0's teacher data)")
    p.add_argument("--out", required=True, metavar="FILE", help="examples JSONL (mixed.jsonl)")
    p.add_argument("--stats", metavar="FILE", help="siked / tailored statistics (default: "
                   "mix_stats.json / tailored_stats.json beside --out)")
    _add_seed_meta(p)
    g = p.add_argument_group("siked")
    g.add_argument("--self-samples", nargs="+", metavar="FILE",
                   help="round r >= 1: the round r-1 student's scored samples")
    g = p.add_argument_group("tailored")
    g.add_argument("--exam", metavar="FILE", help="this round's exam.jsonl")
    g.add_argument("--mistakes", metavar="FILE", help="this round's mistakes.json")
    g.add_argument("--feedback", nargs="+", metavar="FILE", help="round r >= 1: feedback.jsonl")
    g.add_argument("--previous", nargs="+", metavar="FILE",
                   help="earlier rounds' data (option accumulate)")
    g.add_argument("--positives", nargs="+", metavar="FILE",
                   help="extra positives (option positive_strategies' teacher files)")
    p.set_defaults(func=cmd_build_round)


def cmd_build_round(args) -> int:
    cfg = method_check(args)
    kind, r = cfg["type"], args.round
    if kind != "tailored" or r == 0:
        _need(args, "rationales", why=f"for --type {kind}" + (" round 0" if kind ==
                                                               "tailored" else ""))
    if kind == "siked":
        from mathdistill.stages.siked import build_round

        if r > 0:
            _need(args, "self_samples", why=f"for siked round {r}")
        inputs = {"rationales": args.rationales, "self_samples": args.self_samples or []}
        stats = user_call(build_round, cfg, r, inputs, args.out, _stats(args, "mix_stats.json"),
                          seed=args.seed, meta=dict(args.meta))
        detail = f"alpha {stats['alpha']}"
    elif kind == "fdd":
        from mathdistill.stages.fdd import build_examples

        n = user_call(build_examples, args.rationales, args.out, strategy=_one_strategy(cfg),
                      seed=args.seed)
        detail = f"{n} examples"
    elif kind == "tailored":
        from mathdistill.stages.tailored import build_examples

        _need(args, "exam", "mistakes", why="for --type tailored")
        if r > 0:
            _need(args, "feedback", why=f"for tailored round {r}")
        stats = user_call(
            build_examples, r, args.out, _stats(args, "tailored_stats.json"),
            teacher_files=args.rationales or [], feedback_files=args.feedback or [],
            previous_files=args.previous or [], positive_files=args.positives or [],
            mistakes_file=args.mistakes, exam_file=args.exam, strategy=_one_strategy(cfg),
            options=cfg["options"], seed=args.seed, meta=dict(args.meta))
        detail = f"{stats['data']['examples']} examples, {stats['data']['with_triplet']} " \
                 "with a triplet"
    else:
        from mathdistill.stages.rounds import build_round

        n = user_call(build_round, cfg, r, {"rationales": args.rationales}, args.out,
                      seed=args.seed)
        detail = f"{n} examples"
    print(f"build-round: {kind} round {r}: {detail}; wrote {args.out}")
    return 0


# ------------------------------------------------------------------ siked
def _add_siked(sub) -> None:
    group = sub.add_parser("siked", help="SIKeD's self-generation step", **EXAMPLES,
                           description="SIKeD steps (the round data: build-round --type siked).")
    cmds = group.add_subparsers(dest="siked_command", required=True, metavar="COMMAND")
    p = cmds.add_parser("generate", help="the round r-1 student's scored self samples",
                        description="K tagged samples per (train question, strategy) from the "
                        "round r-1 checkpoint, scored (stages.siked.self_generate; rule "
                        "siked_generate). -m: k, temperature, top_p, max_new_tokens, "
                        "questions, ...")
    p.add_argument("--checkpoint", required=True, help="the round r-1 checkpoint")
    p.add_argument("--problems", required=True, metavar="FILE", help="train problems JSONL")
    p.add_argument("--round", type=int, required=True, help="r >= 1")
    p.add_argument("--out", required=True, metavar="FILE", help="self_samples.jsonl")
    p.add_argument("--seed", type=int, default=0)
    add_method_args(p)
    add_generation_args(p)
    p.set_defaults(func=cmd_siked_generate, command_name="siked generate")


def cmd_siked_generate(args) -> int:
    from mathdistill.methods.siked import DEFAULTS
    from mathdistill.stages.siked import sample_stats, self_generate

    args.type = "siked"
    cfg = method_check(args, {"siked": DEFAULTS["strategies"]})
    if args.round < 1:
        raise UsageError(f"--round: self-generation is for rounds >= 1, not {args.round}")
    scored = user_call(self_generate, args.checkpoint, args.problems, cfg, args.out,
                       generation(args), round=args.round, seed=args.seed, threads=args.threads)
    print(f"siked generate: {len(scored)} samples {sample_stats(scored)}; wrote {args.out}")
    return 0


# ------------------------------------------------------------------ fdd
def _add_teacher_args(p) -> None:
    p.add_argument("--teacher", default="annotated", help="teacher backend (default: annotated)")
    add_config_args(p, "teacher backend options", flag="-t", long="--teacher-option",
                    config="--teacher-config")


def _teacher_options(args) -> dict:
    return config_options(args, config="teacher_config", option="teacher_option", flag="-t")


def _add_fdd(sub) -> None:
    group = sub.add_parser("fdd", help="FDD's pool and question-generation steps", **EXAMPLES,
                           description="FDD steps of round r >= 1 (the exam is `predict "
                           "--strategy pot`, greedy; the round data: build-round --type fdd).")
    cmds = group.add_subparsers(dest="fdd_command", required=True, metavar="COMMAND")
    p = cmds.add_parser("pool", help="P_r: the questions the student is examined on",
                        description="Round 1: --train and --d0 (the questions of D_0); round "
                        "r > 1: --pool, --exam and --generated of round r-1 (hard questions + "
                        "the new ones) (stages.fdd.make_pool; rule fdd_exam writes it before "
                        "the exam).")
    inputs = {"train": "train problems (round 1)",
              "d0": "D_0: the teacher's filtered programs (round 1)",
              "pool": "round r-1's pool", "exam": "round r-1's exam",
              "generated": "round r-1's generated.jsonl"}
    for name, what in inputs.items():
        p.add_argument(f"--{name}", metavar="FILE", help=what)
    p.add_argument("--out", required=True, metavar="FILE", help="pool.jsonl")
    p.add_argument("--limit", type=int, help="a seeded sample of at most N (option pool_limit)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_fdd_pool, command_name="fdd pool")

    g = cmds.add_parser("generate", help="easy/hard split, new questions, labels: G_r",
                        description="The teacher writes harder variants of easy and similar "
                        "variants of hard questions, deduplicated (ROUGE-L) and labelled by "
                        "majority over k programs (stages.fdd.generate; rule fdd_generate). "
                        "Writes generated.jsonl, programs.jsonl, fdd_stats.json in --out-dir.")
    g.add_argument("--pool", required=True, metavar="FILE")
    g.add_argument("--exam", required=True, metavar="FILE", help="the student's exam "
                   "predictions on the pool")
    g.add_argument("--previous", required=True, nargs="+", metavar="FILE",
                   help="D_{r-1}: D_0 and G_1..G_{r-1}")
    g.add_argument("--round", type=int, required=True)
    g.add_argument("--out-dir", required=True, metavar="DIR")
    g.add_argument("--strategy", default="pot", choices=("cot", "pot", "eot", "l2m"))
    _add_seed_meta(g)
    _add_teacher_args(g)
    add_method_args(g, strategies=False)
    g.set_defaults(func=cmd_fdd_generate, command_name="fdd generate")


def cmd_fdd_pool(args) -> int:
    from mathdistill.stages.fdd import make_pool

    first, later = args.train and args.d0, args.pool and args.exam and args.generated
    if bool(first) == bool(later):
        raise UsageError("give --train and --d0 (round 1), or --pool, --exam and --generated")
    pool = user_call(make_pool, args.out, train=args.train, d0=args.d0, pool=args.pool,
                     exam=args.exam, generated=args.generated, limit=args.limit,
                     seed=args.seed)
    print(f"fdd pool: {len(pool)} questions; wrote {args.out}")
    return 0


def cmd_fdd_generate(args) -> int:
    from mathdistill.stages.fdd import generate

    args.type, args.strategies = "fdd", [args.strategy]
    cfg = method_check(args)
    out = Path(args.out_dir)
    stats = user_call(generate, args.pool, args.exam, args.previous, out / "generated.jsonl",
                      out / "programs.jsonl", out / "fdd_stats.json", teacher=args.teacher,
                      teacher_options=_teacher_options(args), options=cfg["options"],
                      round=args.round, strategy=args.strategy, seed=args.seed,
                      meta=dict(args.meta))
    print(f"fdd generate: round {args.round}: {stats['generated']} new questions, "
          f"{stats['rationales_added']} programs; wrote {out}")
    return 0


# ------------------------------------------------------------------ tailored
def _add_tailored(sub) -> None:
    group = sub.add_parser("tailored", help="Tailored Learning's exam, feedback and training",
                           **EXAMPLES, description="Tailored Learning steps of round r (the "
                           "round data: build-round --type tailored).")
    cmds = group.add_subparsers(dest="tailored_command", required=True, metavar="COMMAND")
    e = cmds.add_parser("exam", help="the student's sampled answers and its mistakes",
                        description="The round r-1 student (round 0: the base) samples answers "
                        "per train question (stages.tailored.exam; rule tailored_exam). Writes "
                        "exam.jsonl and mistakes.json in --out-dir.")
    e.add_argument("--model", required=True, help="checkpoint, base model dir or hub id")
    e.add_argument("--train", required=True, metavar="FILE", help="train problems JSONL")
    e.add_argument("--round", type=int, required=True)
    e.add_argument("--out-dir", required=True, metavar="DIR")
    e.add_argument("--strategy", default="cot", choices=("cot", "pot", "eot", "l2m"))
    e.add_argument("--seed", type=int, default=0)
    add_method_args(e, strategies=False)
    add_generation_args(e)
    e.set_defaults(func=cmd_tailored_exam, command_name="tailored exam")

    f = cmds.add_parser("feedback", help="the teacher's rationale per mistake (r >= 1)",
                        description="stages.tailored.feedback; rule tailored_feedback.")
    f.add_argument("--train", required=True, metavar="FILE", help="train problems JSONL")
    f.add_argument("--mistakes", required=True, metavar="FILE", help="this round's mistakes.json")
    f.add_argument("--out", required=True, metavar="FILE", help="feedback.jsonl")
    _add_teacher_args(f)
    add_method_args(f, strategies=False)
    f.set_defaults(func=cmd_tailored_feedback, command_name="tailored feedback")

    t = cmds.add_parser("train", help="fine-tune with L = L_LM + lambda * L_SR",
                        description="stages.tailored.train; rule tailored_train. -m: margin, "
                        "lambda, max_sr_len, prompt_loss_weight.")
    t.add_argument("--base", required=True, help="model directory or hub id")
    t.add_argument("--examples", required=True, metavar="FILE", help="the round's mixed.jsonl")
    t.add_argument("--out", required=True, metavar="DIR", help="the checkpoint directory")
    add_train_args(t)
    add_method_args(t, strategies=False)
    t.set_defaults(func=cmd_tailored_train, command_name="tailored train")


def _tailored(args, strategy: str = "cot") -> dict:
    args.type, args.strategies = "tailored", [strategy]
    return method_check(args)["options"]


def cmd_tailored_exam(args) -> int:
    from mathdistill.stages.tailored import exam

    opts = _tailored(args, args.strategy)
    out = Path(args.out_dir)
    mistakes = user_call(exam, args.model, args.train, out / "exam.jsonl", out / "mistakes.json",
                         round=args.round, strategy=args.strategy, generation=generation(args),
                         options=opts, seed=args.seed, threads=args.threads)
    print(f"tailored exam: round {args.round}: {len(mistakes)} questions with mistakes; "
          f"wrote {out}")
    return 0


def cmd_tailored_feedback(args) -> int:
    from mathdistill.stages.tailored import feedback

    n = user_call(feedback, args.train, args.mistakes, args.out, teacher=args.teacher,
                  teacher_options=_teacher_options(args), options=_tailored(args))
    print(f"tailored feedback: {n} rationales; wrote {args.out}")
    return 0


def cmd_tailored_train(args) -> int:
    from mathdistill.stages.tailored import train

    opts = _tailored(args)
    out_log = log_json(args)
    log = user_call(train, args.base, args.examples, args.out, out_log, train_cfg(args),
                    options=opts, resume_from=args.resume_from, threads=args.threads,
                    meta=dict(args.meta))
    print(f"tailored train: {train_summary(log, args.out)}; log {out_log}")
    return 0


COMMANDS = [_add_build_round, _add_siked, _add_fdd, _add_tailored]
