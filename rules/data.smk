# Stage 1: load each data set split (train set + eval sets) into Problem JSONL.


rule prepare_data:
    input:
        src=lambda w: union(stage_lib("data"), data_lib(w.dataset)),
    output:
        f"{R}/data/{{dataset}}.jsonl",
    params:
        spec=lambda w: loader(w.dataset),
    log:
        f"{R}/logs/prepare_data/{{dataset}}.log",
    conda:
        "../envs/data.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../workflow/scripts/prepare_data.py"
