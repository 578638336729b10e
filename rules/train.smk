# Stages 4-5 of single, etd and combined methods: the round's examples from the teacher's
# rationales (mixed.jsonl; iterative types: their own train rules in siked.smk, fdd.smk,
# tailored.smk), then the student fine-tuned (full or LoRA) on them. One job builds the data
# and trains: the data takes seconds and feeds only this training. Params: the experiment
# settings (Grid.method_params, Grid.train); logging_steps, gradient_checkpointing, compile
# and fused_optim are read from the config in the job (workflow.settings). With a `gpu`
# resource above 1 training starts one process per GPU (stages.students.train_on).


rule train:
    wildcard_constraints:
        method=only(GRID.of_type("single", "etd", "combined")),
    input:
        unpack(job(JOBS.train_inputs)),
    output:
        examples=f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
        checkpoint=directory(f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint"),
        log_json=f"{R}/{{method}}/{{student}}/round{{round}}/train_log.json",
    params:
        method=per_run(GRID.method_params),  # the data's settings; cfg: the training's
        seed=GRID.seed,
        cfg=lambda w: GRID.train(w.method, w.student),
        source=source,
        meta=round_meta,
        code=lambda w: JOBS.code("train", method=GRID.run(w.method).type),
    log:
        f"{R}/logs/train/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    priority: round_priority
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    script:
        "../workflow/scripts/train.py"
