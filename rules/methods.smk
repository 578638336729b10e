# Stage 4: the method's data rule turns teacher rationales (and, for iterative methods,
# the round r-1 student) into round r's training examples {"prompt", "target"}.
# single, etd, combined: here; siked, fdd, tailored: their own rules (rules/siked.smk,
# fdd.smk, tailored.smk). Inputs per type: mathdistill.workflow.jobs.Jobs.round_inputs.


rule build_round:
    wildcard_constraints:
        method=only(GRID.of_type("single", "etd", "combined")),
    input:
        unpack(job(JOBS.round_inputs)),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
    params:
        # only the fields the data rule reads: train overrides do not rebuild the data
        method=per_run(GRID.method_params),
        seed=GRID.seed,
        code=lambda w: JOBS.code("build_round", method=GRID.run(w.method).type),
    log:
        f"{R}/logs/build_round/{{method}}/{{student}}/round{{round}}.log",
    conda:
        "../envs/data.yaml"
    priority: round_priority
    threads: res("default", "threads")
    script:
        "../workflow/scripts/build_round.py"
