# SIKeD iterations (type siked). Round 0 = the Combined baseline (tagged teacher data);
# round r >= 1: the round r-1 student self-generates K tagged samples per train question and
# strategy (siked_generate), which are scored, filtered and mixed with the teacher data
# (siked_round: mixed.jsonl + mix_stats.json with alpha). Training is rule train: on-policy
# rounds continue from the round r-1 checkpoint (`resume_from`, see get_base_model).
# methods.<name>.round0_from: <a combined method> copies that method's round 0 (rules/reuse.smk).
# Input/param functions: rules/multi.smk.


rule siked_generate:
    wildcard_constraints:
        method=only(methods_of("siked")),
    input:
        checkpoint=siked_previous_checkpoint,
        problems=f"{R}/data/train.jsonl",
        src=lambda w: union(stage_lib("siked"), lib("students", "filtering"), method_lib(w.method)),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/self_samples.jsonl",
    params:
        method=siked_cfg,
        generation=lambda w: student_generation(w.method, w.student),
        seed=config["seed"],
    log:
        f"{R}/logs/siked_generate/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/siked_generate/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/siked_generate.py"


rule siked_round:
    wildcard_constraints:
        method=only(methods_of("siked")),
    input:
        unpack(get_round_inputs),
        src=lambda w: union(stage_lib("siked"), method_lib(w.method)),
    output:
        examples=f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
        stats=f"{R}/{{method}}/{{student}}/round{{round}}/mix_stats.json",
    params:
        method=siked_cfg,
        seed=config["seed"],
        meta=lambda w: {**run_meta(w.method), "student": w.student},
    log:
        f"{R}/logs/siked_round/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/data.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../workflow/scripts/siked_round.py"
