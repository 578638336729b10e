# Tailored Learning (type tailored; spec §2, stages/tailored.py). Every round r:
#   tailored_exam (the round r-1 student, round 0: the base, samples K answers per train
#   question: exam.jsonl, mistakes.json) -> tailored_feedback (r >= 1: the teacher's
#   rationale per mistake: feedback.jsonl) -> tailored_round (mixed.jsonl with triplet
#   pools, tailored_stats.json) -> tailored_train (L = L_LM + lambda * L_SR, from the round
#   r-1 checkpoint: `resume_from` of get_base_model, init "previous"; round 0 from the base).
TAILORED = methods_of("tailored")


def tl_strategy(m):
    strategies = METHODS[m]["strategies"]
    if len(strategies) != 1:
        raise ValueError(f"config: methods.{m} (tailored) learns one strategy, got {strategies}")
    return strategies[0]


# the options each rule reads (its params): changing one reruns only the rules that use it
TL_KEYS = {"exam": ["exam_limit", "exam"], "feedback": ["feedback_per_question"],
           "round": ["max_pos", "max_neg", "accumulate", "positives_from_exam",
                     "positive_strategies"],
           "train": ["margin", "lambda", "max_sr_len", "prompt_loss_weight"]}


def tl_options(step):
    def get(w):
        opts = METHODS[w.method].get("options") or {}
        return canon({k: opts[k] for k in TL_KEYS[step] if k in opts})

    return get


def tl_check(m):
    """Fail fast on a bad Tailored config: one strategy, known options, init base|previous."""
    tl_strategy(m)
    opts = METHODS[m].get("options") or {}
    allowed = {k for keys in TL_KEYS.values() for k in keys} | {"init"}
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise ValueError(f"config: methods.{METHOD_BASE[m]}.options: unknown {unknown} "
                         f"(Tailored Learning options: {', '.join(sorted(allowed))})")
    if opts.get("init", "previous") not in ("base", "previous"):
        raise ValueError(f"config: methods.{METHOD_BASE[m]}.options.init: base or previous")


for _m in TAILORED:
    tl_check(_m)


def tl_dir(w, r):
    return f"{R}/{w.method}/{w.student}/round{r}"


def tl_teacher(w, strategy=None):
    return f"{R}/teacher/{TEACHER}/{strategy or tl_strategy(w.method)}/filtered.jsonl"


def tl_exam_model(w):
    """The student that sits round r's exam: round r-1's checkpoint; round 0: the base
    (a tiny-* build; a hub model is loaded by name, params.model)."""
    r = int(w.round)
    if r > 0:
        return {"model": f"{tl_dir(w, r - 1)}/checkpoint"}
    return {"model": f"{R}/students/{w.student}/base"} if is_tiny(w.student) else {}


def tailored_round_inputs(w):
    """build inputs of round r (get_round_inputs): this round's exam and mistakes, the
    teacher's data (round 0) or feedback (r >= 1; + earlier rounds' with `accumulate`),
    and the extra positives (`positive_strategies`)."""
    r, opts = int(w.round), METHODS[w.method].get("options") or {}
    d = tl_dir(w, r)
    out = {"exam_file": f"{d}/exam.jsonl", "mistakes_file": f"{d}/mistakes.json",
           "positive_files": [tl_teacher(w, s) for s in opts.get("positive_strategies", [])]}
    if r == 0:
        out["teacher_files"] = [tl_teacher(w)]
    else:
        out["feedback_files"] = [f"{d}/feedback.jsonl"]
        if opts.get("accumulate", False):
            out["previous_files"] = [tl_teacher(w)] + [
                f"{tl_dir(w, k)}/feedback.jsonl" for k in range(1, r)]
    return out


rule tailored_exam:
    wildcard_constraints:
        method=only(TAILORED),
    input:
        unpack(tl_exam_model),
        train=f"{R}/data/train.jsonl",
        src=lambda w: union(stage_lib("tailored"), lib("students", "filtering", "methods/tailored"),
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
        src=lambda w: union(stage_lib("tailored"), lib("filtering", "methods/tailored"),
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
        src=union(stage_lib("tailored"), lib("students", "methods/tailored")),
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
