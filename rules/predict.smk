# Stage 6: the trained student answers its run's eval sets with the method's eval strategy;
# answers come from that strategy's executor (extraction / sandboxed program / solver).
# One job per model (run, student, round) loads it once for all the eval sets and scores
# them (stages.eval_sets): folders predictions/<set>.jsonl and metrics/<set>.json (accuracy,
# n, by_strategy, error counts; meta: round_meta + the set). Changing a run's eval sets
# reruns its prediction jobs. Multi-strategy methods (etd: PoT -> EoT -> CoT fallback;
# combined/siked: the student's strategy tag routes the answer) use rule predict_multi.
# Params: the experiment settings of generation; batch_size and progress are read from the
# config in the job. Tailored Learning with the paper's few-shot prompt:
# rules/tailored_eval.smk.


rule predict:
    wildcard_constraints:
        method=only(GRID.predicted_by_predict()),
    input:
        checkpoint=f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint",
        problems=eval_problems,
    output:
        predictions=directory(f"{R}/{{method}}/{{student}}/round{{round}}/predictions"),
        metrics=directory(f"{R}/{{method}}/{{student}}/round{{round}}/metrics"),
    params:
        datasets=eval_sets,
        strategy=per_run(GRID.eval_strategy),
        generation=lambda w: GRID.generation(w.method, w.student),
        source=source,
        meta=round_meta,
        code=JOBS.code("predict"),
    log:
        f"{R}/logs/predict/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/predict/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/predict.py"


rule predict_multi:
    wildcard_constraints:
        method=only(GRID.of_type(*MULTI_TYPES)),
    input:
        checkpoint=f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint",
        problems=eval_problems,
    output:
        predictions=directory(f"{R}/{{method}}/{{student}}/round{{round}}/predictions"),
        metrics=directory(f"{R}/{{method}}/{{student}}/round{{round}}/metrics"),
    params:
        datasets=eval_sets,
        method=per_run(GRID.method_params),
        generation=lambda w: GRID.generation(w.method, w.student),
        source=source,
        meta=round_meta,
        code=JOBS.code("predict_multi"),
    log:
        f"{R}/logs/predict/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/predict_multi/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/predict_multi.py"
