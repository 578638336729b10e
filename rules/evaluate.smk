# Stage 7: predictions -> metrics JSON (accuracy, n, by_strategy, error counts).


rule evaluate:
    input:
        predictions=f"{R}/{{method}}/{{student}}/round{{round}}/predictions/{{dataset}}.jsonl",
        src=lib(*BASE_LIB, "stages/__init__", "metrics"),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/metrics/{{dataset}}.json",
    params:
        # method = the configured method; run = the seed replicate's name (run_meta)
        meta=lambda w: {**run_meta(w.method), "student": w.student, "round": int(w.round),
                        "dataset": w.dataset},
    log:
        f"{R}/logs/evaluate/{{method}}/{{student}}/round{{round}}/{{dataset}}.log",
    conda:
        "../envs/report.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../workflow/scripts/evaluate.py"
