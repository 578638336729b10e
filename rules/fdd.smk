# FDD, Feedback-Driven Distillation (type fdd; spec §1, stages/fdd.py). Round 0 = PoT
# distillation on D_0 (the teacher's filtered programs). Round r >= 1:
#   fdd_pool (P_r) -> fdd_exam (S_{r-1}, greedy, on P_r) -> fdd_generate (easy/hard, teacher
#   questions, ROUGE-L dedup, k programs + majority label: generated.jsonl, programs.jsonl =
#   G_r, fdd_stats.json) -> fdd_round (D_r = D_0 ∪ G_1..G_r: mixed.jsonl) -> rule train
#   (from the base model: spec default; `options.init: previous` continues from S_{r-1}).
# Input functions and option subsets: rules/iterative.smk.


rule fdd_pool:
    wildcard_constraints:
        method=only(FDD),
    input:
        unpack(fdd_pool_inputs),
        src=stage_lib("fdd") + lib("methods/fdd", "methods/rounds", "methods/single"),
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
        src=lambda w: union(stage_lib("fdd"), lib("methods/fdd", "methods/rounds", "methods/single", "filtering",
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
