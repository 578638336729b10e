# FDD, Feedback-Driven Distillation (type fdd; spec §1, stages/fdd.py). Round 0 = PoT
# distillation on D_0 (the teacher's filtered programs). Round r >= 1:
#   fdd_exam (the pool P_r: pool.jsonl, then S_{r-1} answers it greedily: exam.jsonl) ->
#   fdd_generate (easy/hard, teacher questions, ROUGE-L dedup, k programs + majority label:
#   generated.jsonl, programs.jsonl = G_r, fdd_stats.json) -> fdd_train (D_r = D_0 ∪ G_1..G_r:
#   mixed.jsonl, and the student trained on it from the base model: spec default;
#   `options.init: previous` continues from S_{r-1}).
# Input functions: mathdistill.workflow.jobs.Jobs (fdd_*); option subsets per rule:
# Grid.option_subset.


rule fdd_exam:
    wildcard_constraints:
        method=only(GRID.of_type("fdd")),
    input:
        unpack(job(JOBS.fdd_exam_inputs)),
    output:
        pool=f"{R}/{{method}}/{{student}}/round{{round}}/pool.jsonl",
        exam=f"{R}/{{method}}/{{student}}/round{{round}}/exam.jsonl",
    params:
        # the pool: its size and sampling seed
        limit=lambda w: GRID.option_subset(w.method, "pool").get("pool_limit"),
        pool_seed=lambda w: GRID.seed + int(w.round),
        strategy=per_run(GRID.strategy),
        # the exam is greedy, one sample [D]; options.exam overrides decoding fields
        generation=lambda w: GRID.generation(w.method, w.student, do_sample=False, num_samples=1,
                                             **GRID.option_subset(w.method, "exam").get("exam", {})),
        source=source,
        code=JOBS.code("fdd_exam"),
    log:
        f"{R}/logs/fdd_exam/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/fdd_exam/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    priority: round_priority
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/fdd_exam.py"


rule fdd_generate:
    wildcard_constraints:
        method=only(GRID.of_type("fdd")),
    input:
        pool=f"{R}/{{method}}/{{student}}/round{{round}}/pool.jsonl",
        exam=f"{R}/{{method}}/{{student}}/round{{round}}/exam.jsonl",
        previous=lambda w: JOBS.fdd_rationales(w.method, w.student, int(w.round) - 1),
    output:
        generated=f"{R}/{{method}}/{{student}}/round{{round}}/generated.jsonl",
        programs=f"{R}/{{method}}/{{student}}/round{{round}}/programs.jsonl",
        stats=f"{R}/{{method}}/{{student}}/round{{round}}/fdd_stats.json",
        cost=f"{R}/{{method}}/{{student}}/round{{round}}/teacher_cost.json",
    params:
        strategy=per_run(GRID.strategy),
        options=lambda w: GRID.option_subset(w.method, "generate"),
        teacher=lambda w: GRID.teacher_params(GRID.teacher_of(w.method)),
        seed=GRID.seed,
        meta=run_meta,
        code=lambda w: JOBS.code("fdd_generate", teacher=GRID.run_backend(w.method)),
    log:
        f"{R}/logs/fdd_generate/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/teacher.yaml"
    priority: round_priority
    threads: res("teacher", "threads")
    resources:
        mem_mb=res("teacher", "mem_mb"),
        runtime=res("teacher", "runtime"),
        gpu=run_teacher_gpu,
    script:
        "../workflow/scripts/fdd_generate.py"


rule fdd_train:
    wildcard_constraints:
        method=only(GRID.of_type("fdd")),
    input:
        unpack(job(JOBS.train_inputs)),
    output:
        examples=f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
        checkpoint=directory(f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint"),
        log_json=f"{R}/{{method}}/{{student}}/round{{round}}/train_log.json",
    params:
        strategy=per_run(GRID.strategy),
        seed=GRID.seed,
        cfg=lambda w: GRID.train(w.method, w.student),
        source=source,
        meta=round_meta,
        code=JOBS.code("fdd_train"),
    log:
        f"{R}/logs/train/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/fdd_train/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    priority: round_priority
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    script:
        "../workflow/scripts/fdd_train.py"
