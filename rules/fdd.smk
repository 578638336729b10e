# FDD, Feedback-Driven Distillation (type fdd; spec §1, stages/fdd.py). Round 0 = PoT
# distillation on D_0 (the teacher's filtered programs). Round r >= 1:
#   fdd_pool (P_r) -> fdd_exam (S_{r-1}, greedy, on P_r) -> fdd_generate (easy/hard, teacher
#   questions, ROUGE-L dedup, k programs + majority label: generated.jsonl, programs.jsonl =
#   G_r, fdd_stats.json) -> fdd_round (D_r = D_0 ∪ G_1..G_r: mixed.jsonl) -> rule train
#   (from the base model: spec default; `options.init: previous` continues from S_{r-1}).
FDD = methods_of("fdd")


def fdd_strategy(m):
    strategies = METHODS[m]["strategies"]
    if len(strategies) != 1:
        raise ValueError(f"config: methods.{m} (fdd) learns one strategy, got {strategies}")
    return strategies[0]


def fdd_dir(w, r):
    return f"{R}/{w.method}/{w.student}/round{r}"


def fdd_d0(w):
    return f"{R}/teacher/{TEACHER}/{fdd_strategy(w.method)}/filtered.jsonl"


def fdd_rationales(w, upto):
    """D_upto's files: D_0, then G_1 .. G_upto (programs.jsonl of those rounds)."""
    return [fdd_d0(w)] + [f"{fdd_dir(w, r)}/programs.jsonl" for r in range(1, upto + 1)]


def fdd_round_inputs(w):
    """build inputs of round r (get_round_inputs): D_r = D_0 ∪ G_1 .. G_r."""
    return {"rationales": fdd_rationales(w, int(w.round))}


def fdd_need_round(w):
    r = int(w.round)
    if r < 1:
        raise ValueError(f"method {w.method}: FDD's exam/generation run in rounds >= 1, not {r}")
    return r


def fdd_pool_inputs(w):
    r = fdd_need_round(w)
    if r == 1:  # P_1: the questions of D_0
        return {"train": f"{R}/data/train.jsonl", "d0": fdd_d0(w)}
    prev = fdd_dir(w, r - 1)  # P_r = hard(P_{r-1}) ∪ the questions generated in round r-1
    return {"pool": f"{prev}/pool.jsonl", "exam": f"{prev}/exam.jsonl",
            "generated": f"{prev}/generated.jsonl"}


# the options each rule reads (its params): changing one reruns only the rules that use it
FDD_KEYS = {"pool": ["pool_limit"], "exam": ["exam"],
            "generate": ["k", "min_agree", "rouge_threshold", "dedup_within_round"]}


def fdd_options(step):
    def get(w):
        opts = METHODS[w.method].get("options") or {}
        return canon({k: opts[k] for k in FDD_KEYS[step] if k in opts})

    return get


def fdd_check(m):
    """Fail fast on a bad FDD config: one strategy, known options, init base|previous."""
    fdd_strategy(m)
    opts = METHODS[m].get("options") or {}
    allowed = {k for keys in FDD_KEYS.values() for k in keys} | {"init"}
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise ValueError(f"config: methods.{METHOD_BASE[m]}.options: unknown {unknown} "
                         f"(FDD options: {', '.join(sorted(allowed))})")
    if opts.get("init", "base") not in ("base", "previous"):
        raise ValueError(f"config: methods.{METHOD_BASE[m]}.options.init: base or previous")


for _m in FDD:
    fdd_check(_m)


rule fdd_pool:
    wildcard_constraints:
        method=only(FDD),
    input:
        unpack(fdd_pool_inputs),
        src=stage_lib("fdd") + lib("methods/fdd", "methods/single"),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/pool.jsonl",
    params:
        limit=lambda w: fdd_options("pool")(w).get("pool_limit"),
        seed=lambda w: config["seed"] + int(w.round),
    log:
        f"{R}/logs/fdd_pool/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/data.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../workflow/scripts/fdd_pool.py"


rule fdd_exam:
    wildcard_constraints:
        method=only(FDD),
    input:
        checkpoint=lambda w: f"{fdd_dir(w, fdd_need_round(w) - 1)}/checkpoint",
        problems=f"{R}/{{method}}/{{student}}/round{{round}}/pool.jsonl",
        src=lambda w: union(stage_lib("predict"), lib("students", "filtering"),
                            strategy_lib(fdd_strategy(w.method))),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/exam.jsonl",
    params:
        strategy=lambda w: fdd_strategy(w.method),
        # the exam is greedy, one sample [D]; options.exam overrides decoding fields
        generation=lambda w: canon(_merge(student_generation(w.method, w.student),
                                          {"do_sample": False, "num_samples": 1,
                                           **fdd_options("exam")(w).get("exam", {})})),
    log:
        f"{R}/logs/fdd_exam/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/fdd_exam/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/predict.py"


rule fdd_generate:
    wildcard_constraints:
        method=only(FDD),
    input:
        pool=f"{R}/{{method}}/{{student}}/round{{round}}/pool.jsonl",
        exam=f"{R}/{{method}}/{{student}}/round{{round}}/exam.jsonl",
        previous=lambda w: fdd_rationales(w, fdd_need_round(w) - 1),
        src=lambda w: union(stage_lib("fdd"), lib("methods/fdd", "methods/single", "filtering",
                                                  "data"), teacher_lib(fdd_strategy(w.method))),
    output:
        generated=f"{R}/{{method}}/{{student}}/round{{round}}/generated.jsonl",
        programs=f"{R}/{{method}}/{{student}}/round{{round}}/programs.jsonl",
        stats=f"{R}/{{method}}/{{student}}/round{{round}}/fdd_stats.json",
    params:
        strategy=lambda w: fdd_strategy(w.method),
        options=fdd_options("generate"),
        teacher=TEACHER,
        teacher_options=canon(config["teacher"].get("options", {})),
        seed=config["seed"],
        meta=lambda w: {**run_meta(w.method), "student": w.student},
    log:
        f"{R}/logs/fdd_generate/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/teacher.yaml"
    threads: res("teacher", "threads")
    resources:
        mem_mb=res("teacher", "mem_mb"),
        runtime=res("teacher", "runtime"),
        gpu=res("teacher", "gpu"),
    script:
        "../workflow/scripts/fdd_generate.py"


rule fdd_round:
    wildcard_constraints:
        method=only(FDD),
    input:
        unpack(get_round_inputs),
        src=lambda w: union(stage_lib("fdd"), method_lib(w.method), lib("methods/single")),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
    params:
        strategy=lambda w: fdd_strategy(w.method),
        seed=config["seed"],
    log:
        f"{R}/logs/fdd_round/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/data.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../workflow/scripts/fdd_round.py"


# build_round (rules/methods.smk) also matches FDD's mixed.jsonl; fdd_round makes it.
ruleorder: fdd_round > build_round
