# Tailored Learning (type tailored; spec §2, stages/tailored.py). Every round r:
#   tailored_exam (the round r-1 student, round 0: the base, samples K answers per train
#   question: exam.jsonl, mistakes.json) -> tailored_feedback (r >= 1: the teacher's
#   rationale per mistake: feedback.jsonl) -> tailored_train (the round's examples with
#   triplet pools: mixed.jsonl, tailored_stats.json; then L = L_LM + lambda * L_SR from the
#   round r-1 checkpoint: `resume_from` of Jobs.base_model, init "previous"; round 0 from
#   the base).
# Input functions: mathdistill.workflow.jobs.Jobs (tailored_*); option subsets per rule:
# Grid.option_subset. Without self-reflection (lambda 0) round 0 may be a single method's
# (round0_from: rule reuse_round0, rules/reuse.smk).


rule tailored_exam:
    wildcard_constraints:
        method=only(GRID.of_type("tailored")),
    input:
        unpack(job(JOBS.tailored_exam_model)),
        train=per_run(JOBS.train_file),
    output:
        exam=f"{R}/{{method}}/{{student}}/round{{round}}/exam.jsonl",
        mistakes=f"{R}/{{method}}/{{student}}/round{{round}}/mistakes.json",
    params:
        model=lambda w: GRID.students[w.student]["model"],
        strategy=per_run(GRID.strategy),
        generation=lambda w: GRID.generation(w.method, w.student),
        source=source,
        options=lambda w: GRID.option_subset(w.method, "exam"),
        seed=GRID.seed,
        code=JOBS.code("tailored_exam"),
    log:
        f"{R}/logs/tailored_exam/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/tailored_exam/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    priority: round_priority
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/tailored_exam.py"


rule tailored_feedback:
    wildcard_constraints:
        method=only(GRID.of_type("tailored")),
    input:
        train=per_run(JOBS.train_file),
        mistakes=f"{R}/{{method}}/{{student}}/round{{round}}/mistakes.json",
    output:
        feedback=f"{R}/{{method}}/{{student}}/round{{round}}/feedback.jsonl",
        cost=f"{R}/{{method}}/{{student}}/round{{round}}/teacher_cost.json",
    params:
        teacher=lambda w: GRID.teacher_params(GRID.teacher_of(w.method)),
        options=lambda w: GRID.option_subset(w.method, "feedback"),
        code=lambda w: JOBS.code("tailored_feedback", teacher=GRID.run_backend(w.method)),
    log:
        f"{R}/logs/tailored_feedback/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/teacher.yaml"
    priority: round_priority
    threads: res("teacher", "threads")
    resources:
        mem_mb=res("teacher", "mem_mb"),
        runtime=res("teacher", "runtime"),
        gpu=run_teacher_gpu,
    script:
        "../workflow/scripts/tailored_feedback.py"


rule tailored_train:
    wildcard_constraints:
        method=only(GRID.of_type("tailored")),
    input:
        unpack(job(JOBS.train_inputs)),
    output:
        examples=f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
        stats=f"{R}/{{method}}/{{student}}/round{{round}}/tailored_stats.json",
        checkpoint=directory(f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint"),
        log_json=f"{R}/{{method}}/{{student}}/round{{round}}/train_log.json",
    params:
        strategy=per_run(GRID.strategy),
        data_options=lambda w: GRID.option_subset(w.method, "round"),
        seed=GRID.seed,
        cfg=lambda w: GRID.train(w.method, w.student),
        source=source,
        options=lambda w: GRID.option_subset(w.method, "train"),
        meta=round_meta,
        code=JOBS.code("tailored_train"),
    log:
        f"{R}/logs/train/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/tailored_train/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    priority: round_priority
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    script:
        "../workflow/scripts/tailored_train.py"
