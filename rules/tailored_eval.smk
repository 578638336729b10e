# Tailored Learning with the paper's few-shot prompt (methods.<m>.options.prompt: fewshot;
# stages.tailored_eval, spec §2.5-2.6): every trained round answers the eval sets with the
# prompt it was trained with (tailored_predict: demos of its train set's task, or
# options.task), and the untrained student does too (round "pretrained", the paper's S_0:
# tailored_pretrained, under {method}/{student}/pretrained/; the paper's 2.7 on GSM8K).
# One job per model answers all the run's eval sets and scores them (folders predictions/
# and metrics/, stages.eval_sets); the metrics carry upstream's string-equality score
# beside the numeric one (metrics string_match). Which runs: Grid.fewshot_runs.


rule tailored_predict:
    wildcard_constraints:
        method=only(GRID.fewshot_runs()),
    input:
        checkpoint=f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint",
        problems=eval_problems,
    output:
        predictions=directory(f"{R}/{{method}}/{{student}}/round{{round}}/predictions"),
        metrics=directory(f"{R}/{{method}}/{{student}}/round{{round}}/metrics"),
    params:
        datasets=eval_sets,
        task=per_run(GRID.eval_task),
        options=lambda w: GRID.option_subset(w.method, "eval"),
        generation=lambda w: GRID.generation(w.method, w.student),
        source=source,
        round=lambda w: int(w.round),
        meta=round_meta,
        code=JOBS.code("tailored_predict"),
    log:
        f"{R}/logs/tailored_predict/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/tailored_predict/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/tailored_predict.py"


rule tailored_pretrained:
    wildcard_constraints:
        method=only(GRID.fewshot_runs()),
    input:
        unpack(lambda w: JOBS.tailored_exam_model(w.method, w.student, 0)),
        problems=eval_problems,
    output:
        predictions=directory(f"{R}/{{method}}/{{student}}/pretrained/predictions"),
        metrics=directory(f"{R}/{{method}}/{{student}}/pretrained/metrics"),
    params:
        datasets=eval_sets,
        model=lambda w: GRID.students[w.student]["model"],
        task=None,  # each eval set's own demos (upstream prompts S_0 per task)
        options=lambda w: GRID.option_subset(w.method, "eval"),
        generation=lambda w: GRID.generation(w.method, w.student),
        source=source,
        round="pretrained",
        meta=lambda w: {**run_meta(w), "round": "pretrained"},
        code=JOBS.code("tailored_predict"),
    log:
        f"{R}/logs/tailored_predict/{{method}}/{{student}}/pretrained.log",
    benchmark:
        f"{R}/benchmarks/tailored_pretrained/{{method}}/{{student}}/pretrained.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/tailored_predict.py"

