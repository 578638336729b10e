# Stages 2-3: teacher rationales per strategy for the teacher's train set (shared by every
# method naming that teacher: Grid.teacher_of), then the filter that drops rationales
# whose answer is wrong (drop statistics go to the tables). Params: the teacher's experiment settings; its operational options
# (concurrency, base_url, timeouts, ...) are read from the config in the job.


rule teacher_generate:
    input:
        problems=lambda w: JOBS.teacher_problems(w.teacher),
    output:
        raw=f"{R}/teacher/{{teacher}}/{{strategy}}/raw.jsonl",
        cost=f"{R}/teacher/{{teacher}}/{{strategy}}/cost.json",
    params:
        teacher=lambda w: GRID.teacher_params(w.teacher),
        n=lambda w: GRID.teacher(w.teacher)["n"],
        code=lambda w: JOBS.code("teacher_generate", teacher=GRID.teacher(w.teacher)["backend"]),
    log:
        f"{R}/logs/teacher_generate/{{teacher}}/{{strategy}}.log",
    conda:
        "../envs/teacher.yaml"
    threads: res("teacher", "threads")
    resources:
        mem_mb=res("teacher", "mem_mb"),
        runtime=res("teacher", "runtime"),
        gpu=teacher_gpu,
    script:
        "../workflow/scripts/teacher_generate.py"


rule filter_rationales:
    input:
        raw=f"{R}/teacher/{{teacher}}/{{strategy}}/raw.jsonl",
    output:
        filtered=f"{R}/teacher/{{teacher}}/{{strategy}}/filtered.jsonl",
        stats=f"{R}/teacher/{{teacher}}/{{strategy}}/filter_stats.json",
    params:
        options=lambda w: GRID.filter_params(w.teacher),
        code=JOBS.code("filter_rationales"),
    log:
        f"{R}/logs/filter_rationales/{{teacher}}/{{strategy}}.log",
    conda:
        "../envs/teacher.yaml"
    threads: res("default", "threads")
    script:
        "../workflow/scripts/filter_rationales.py"
