# Stage 5: fine-tune the student (full or LoRA) on the round's examples.


rule train:
    input:
        unpack(get_base_model),
        examples=f"{R}/{{method}}/{{student}}/round{{round}}/mixed.jsonl",
        src=union(stage_lib("students"), lib("students")),
    output:
        checkpoint=directory(f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint"),
        log_json=f"{R}/{{method}}/{{student}}/round{{round}}/train_log.json",
    params:
        cfg=lambda w: student_train(w.method, w.student),
        meta=lambda w: {**run_meta(w.method), "student": w.student, "round": int(w.round)},
    log:
        f"{R}/logs/train/{{method}}/{{student}}/round{{round}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{method}}/{{student}}/round{{round}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("train", "threads")
    resources:
        mem_mb=res("train", "mem_mb"),
        runtime=res("train", "runtime"),
        gpu=res("train", "gpu"),
    script:
        "../workflow/scripts/train.py"
