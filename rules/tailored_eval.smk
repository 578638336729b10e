# Tailored Learning with the paper's few-shot prompt (methods.<m>.options.prompt: fewshot;
# stages.tailored_eval, spec §2.5-2.6): every trained round answers the eval sets with the
# prompt it was trained with (tailored_predict: demos of its train set's task, or
# options.task), and the untrained student does too (round "pretrained", the paper's S_0:
# tailored_pretrained, under {method}/{student}/pretrained/; the paper's 2.7 on GSM8K).
# Each job also scores its predictions (metrics JSON), which carry upstream's
# string-equality score beside the numeric one (metrics string_match). Which runs:
# Grid.fewshot_runs.


rule tailored_predict:
    wildcard_constraints:
        method=only(GRID.fewshot_runs()),
    input:
        checkpoint=f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint",
        problems=f"{R}/data/{{dataset}}.jsonl",
    output:
        predictions=f"{R}/{{method}}/{{student}}/round{{round}}/predictions/{{dataset}}.jsonl",
        metrics=f"{R}/{{method}}/{{student}}/round{{round}}/metrics/{{dataset}}.json",
    params:
        task=per_run(GRID.eval_task),
        options=lambda w: GRID.option_subset(w.method, "eval"),
        generation=lambda w: GRID.generation(w.method, w.student),
        source=source,
        round=lambda w: int(w.round),
        meta=eval_meta,
        code=JOBS.code("tailored_predict"),
    log:
        f"{R}/logs/tailored_predict/{{method}}/{{student}}/round{{round}}/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/tailored_predict/{{method}}/{{student}}/round{{round}}/{{dataset}}.tsv"
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
        problems=f"{R}/data/{{dataset}}.jsonl",
    output:
        predictions=f"{R}/{{method}}/{{student}}/pretrained/predictions/{{dataset}}.jsonl",
        metrics=f"{R}/{{method}}/{{student}}/pretrained/metrics/{{dataset}}.json",
    params:
        model=lambda w: GRID.students[w.student]["model"],
        task=None,  # each eval set's own demos (upstream prompts S_0 per task)
        options=lambda w: GRID.option_subset(w.method, "eval"),
        generation=lambda w: GRID.generation(w.method, w.student),
        source=source,
        round="pretrained",
        meta=lambda w: {**run_meta(w), "round": "pretrained", "dataset": w.dataset},
        code=JOBS.code("tailored_predict"),
    log:
        f"{R}/logs/tailored_predict/{{method}}/{{student}}/pretrained/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/tailored_predict/{{method}}/{{student}}/pretrained/{{dataset}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/tailored_predict.py"

