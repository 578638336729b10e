# Stage 5: fine-tune the student (full or LoRA) on the round's examples. Params: the
# experiment settings (Grid.train); logging_steps, gradient_checkpointing, compile and
# fused_optim are read from the config in the job (workflow.settings). With a `gpu`
# resource above 1 the script starts one process per GPU (stages.launch).


rule train:
    wildcard_constraints:
        method=only(GRID.of_type("tailored", exclude=True)),
    input:
        unpack(job(JOBS.base_model)),
        examples=f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
    output:
        checkpoint=directory(f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint"),
        log_json=f"{R}/{{method}}/{{student}}/round{{round}}/train_log.json",
    params:
        cfg=lambda w: GRID.train(w.method, w.student),
        source=source,
        meta=round_meta,
        code=JOBS.code("train"),
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
