# SIKeD iterations (type siked). Round 0 = the Combined baseline (tagged teacher data);
# round r >= 1: the round r-1 student self-generates K tagged samples per train question and
# strategy (siked_generate), which are scored, filtered and mixed with the teacher data;
# siked_train writes the mix (mixed.jsonl + mix_stats.json with alpha) and trains on it.
# On-policy rounds continue from the round r-1 checkpoint (`resume_from`, Jobs.base_model).
# methods.<name>.round0_from: <a combined method> copies that method's round 0 (rules/reuse.smk).


rule siked_generate:
    wildcard_constraints:
        method=only(GRID.of_type("siked")),
    input:
        checkpoint=job(JOBS.previous_checkpoint, "siked_generate"),
        problems=per_run(JOBS.train_file),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/self_samples.jsonl",
    params:
        method=per_run(GRID.method_params),
        generation=lambda w: GRID.generation(w.method, w.student),
        source=source,
        seed=GRID.seed,
        code=JOBS.code("siked_generate"),
    log:
        f"{R}/logs/siked_generate/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/siked_generate/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    priority: round_priority
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/siked_generate.py"


rule siked_train:
    wildcard_constraints:
        method=only(GRID.of_type("siked")),
    input:
        unpack(job(JOBS.train_inputs)),
    output:
        examples=f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
        stats=f"{R}/{{method}}/{{student}}/round{{round}}/mix_stats.json",
        checkpoint=directory(f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint"),
        log_json=f"{R}/{{method}}/{{student}}/round{{round}}/train_log.json",
    params:
        method=per_run(GRID.method_params),
        seed=GRID.seed,
        cfg=lambda w: GRID.train(w.method, w.student),
        source=source,
        meta=round_meta,
        code=JOBS.code("siked_train"),
    log:
        f"{R}/logs/train/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/siked_train/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    priority: round_priority
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    script:
        "../workflow/scripts/siked_train.py"
