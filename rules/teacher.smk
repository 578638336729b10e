# Stages 2-3: teacher rationales per strategy (shared by every method), then the filter
# that drops rationales whose answer is wrong (drop statistics go to the tables).


rule teacher_generate:
    input:
        problems=f"{R}/data/train.jsonl",
        src=lambda w: union(stage_lib("teacher"), teacher_lib(w.strategy)),
    output:
        raw=f"{R}/teacher/{{teacher}}/{{strategy}}/raw.jsonl",
        cost=f"{R}/teacher/{{teacher}}/{{strategy}}/cost.json",
    params:
        options=canon(config["teacher"].get("options", {})),
        n=config["teacher"].get("n", 1),
    log:
        f"{R}/logs/teacher_generate/{{teacher}}/{{strategy}}.log",
    conda:
        "../envs/teacher.yaml"
    threads: res("teacher", "threads")
    resources:
        mem_mb=res("teacher", "mem_mb"),
        runtime=res("teacher", "runtime"),
        gpu=res("teacher", "gpu"),
    script:
        "../workflow/scripts/teacher_generate.py"


rule filter_rationales:
    input:
        raw=f"{R}/teacher/{{teacher}}/{{strategy}}/raw.jsonl",
        src=lambda w: union(stage_lib("teacher"), lib("filtering"), strategy_lib(w.strategy)),
    output:
        filtered=f"{R}/teacher/{{teacher}}/{{strategy}}/filtered.jsonl",
        stats=f"{R}/teacher/{{teacher}}/{{strategy}}/filter_stats.json",
    params:
        options=canon(config["teacher"].get("filter", {})),
    log:
        f"{R}/logs/filter_rationales/{{teacher}}/{{strategy}}.log",
    conda:
        "../envs/teacher.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../workflow/scripts/filter_rationales.py"
