# Stage 7: predictions -> metrics JSON (accuracy, n, by_strategy, error counts). A local
# rule (rules/common.smk): on a cluster it runs in the main process, not as a job.


rule evaluate:
    input:
        predictions=f"{R}/{{method}}/{{student}}/round{{round}}/predictions/{{dataset}}.jsonl",
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/metrics/{{dataset}}.json",
    params:
        # method = the configured method; run = the seed replicate's name (Grid.meta)
        meta=lambda w: {**round_meta(w), "dataset": w.dataset},
        code=JOBS.code("evaluate"),
    log:
        f"{R}/logs/evaluate/{{method}}/{{student}}/round{{round}}/{{dataset}}.log",
    conda:
        "../envs/report.yaml"
    threads: res("default", "threads")
    script:
        "../workflow/scripts/evaluate.py"
