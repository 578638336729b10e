# Stage 4: the method's data rule turns teacher rationales (and, for iterative methods,
# the round r-1 student) into round r's training examples {"prompt", "target"}.
# single, etd, combined: here; siked: rule siked_round (rules/siked.smk, + mix_stats.json).


rule build_round:
    wildcard_constraints:
        method=only(methods_of("siked", exclude=True)),
    input:
        unpack(get_round_inputs),
        src=lambda w: union(stage_lib("rounds"), method_lib(w.method)),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
    params:
        # only the fields the data rule reads: train overrides do not rebuild the data
        method=lambda w: canon({k: METHODS[w.method].get(k) for k in ("type", "strategies", "options")}),
        seed=config["seed"],
    log:
        f"{R}/logs/build_round/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/data.yaml"
    threads: res("default", "threads")
    resources:
        mem_mb=res("default", "mem_mb"),
        runtime=res("default", "runtime"),
    script:
        "../workflow/scripts/build_round.py"
