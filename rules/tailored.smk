# Tailored Learning (type tailored; spec §2, stages/tailored.py). Every round r:
#   tailored_exam (the round r-1 student, round 0: the base, samples K answers per train
#   question: exam.jsonl, mistakes.json) -> tailored_feedback (r >= 1: the teacher's
#   rationale per mistake: feedback.jsonl) -> tailored_round (mixed.jsonl with triplet
#   pools, tailored_stats.json) -> tailored_train (L = L_LM + lambda * L_SR, from the round
#   r-1 checkpoint: `resume_from` of get_base_model, init "previous"; round 0 from the base).
# Input functions and option subsets: rules/iterative.smk.


rule tailored_exam:
    wildcard_constraints:
        method=only(TAILORED),
    input:
        unpack(tl_exam_model),
        train=f"{R}/data/train.jsonl",
        src=lambda w: union(stage_lib("tailored"), lib("students", "filtering", "methods/tailored", "methods/rounds"),
                            strategy_lib(tl_strategy(w.method))),
    output:
        exam=f"{R}/{{method}}/{{student}}/round{{round}}/exam.jsonl",
        mistakes=f"{R}/{{method}}/{{student}}/round{{round}}/mistakes.json",
    params:
        model=lambda w: STUDENTS[w.student]["model"],
        strategy=lambda w: tl_strategy(w.method),
        generation=lambda w: student_generation(w.method, w.student),
        options=tl_options("exam"),
        seed=config["seed"],
    log:
        f"{R}/logs/tailored_exam/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/tailored_exam/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/tailored_exam.py"


rule tailored_feedback:
    wildcard_constraints:
        method=only(TAILORED),
    input:
        train=f"{R}/data/train.jsonl",
        mistakes=f"{R}/{{method}}/{{student}}/round{{round}}/mistakes.json",
        src=lambda w: union(stage_lib("tailored"), lib("filtering", "methods/tailored", "methods/rounds"),
                            teacher_lib(tl_strategy(w.method))),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/feedback.jsonl",
    params:
        teacher=TEACHER,
        teacher_options=canon(config["teacher"].get("options", {})),
        options=tl_options("feedback"),
    log:
        f"{R}/logs/tailored_feedback/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/teacher.yaml"
    threads: res("teacher", "threads")
    resources:
        mem_mb=res("teacher", "mem_mb"),
        runtime=res("teacher", "runtime"),
        gpu=res("teacher", "gpu"),
    script:
        "../workflow/scripts/tailored_feedback.py"


rule tailored_round:
    wildcard_constraints:
        method=only(TAILORED),
    input:
        unpack(get_round_inputs),
        src=lambda w: union(stage_lib("tailored"), method_lib(w.method)),
    output:
        examples=f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
        stats=f"{R}/{{method}}/{{student}}/round{{round}}/tailored_stats.json",
    params:
        strategy=lambda w: tl_strategy(w.method),
        options=tl_options("round"),
        seed=config["seed"],
        meta=lambda w: {**run_meta(w.method), "student": w.student},
    log:
        f"{R}/logs/tailored_round/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/data.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../workflow/scripts/tailored_round.py"


rule tailored_train:
    wildcard_constraints:
        method=only(TAILORED),
    input:
        unpack(get_base_model),
        examples=f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
        src=union(stage_lib("tailored"), lib("students", "methods/tailored", "methods/rounds")),
    output:
        checkpoint=directory(f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint"),
        log_json=f"{R}/{{method}}/{{student}}/round{{round}}/train_log.json",
    params:
        cfg=lambda w: student_train(w.method, w.student),
        options=tl_options("train"),
        meta=lambda w: {**run_meta(w.method), "student": w.student, "round": int(w.round)},
    log:
        f"{R}/logs/train/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    script:
        "../workflow/scripts/tailored_train.py"


# build_round and train (rules/methods.smk, rules/train.smk) also match these outputs.
ruleorder: tailored_round > build_round
ruleorder: tailored_train > train
