# Stage 6: the trained student answers each eval set with the method's eval strategy;
# answers come from that strategy's executor (extraction / sandboxed program / solver).


rule predict:
    input:
        checkpoint=f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint",
        problems=f"{R}/data/{{dataset}}.jsonl",
        src=lambda w: union(
            stage_lib("predict"), lib("students", "filtering"), strategy_lib(eval_strategy(w.method))
        ),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/predictions/{{dataset}}.jsonl",
    params:
        strategy=lambda w: eval_strategy(w.method),
        generation=lambda w: student_generation(w.method, w.student),
    log:
        f"{R}/logs/predict/{{method}}/{{student}}/round{{round}}/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/predict/{{method}}/{{student}}/round{{round}}/{{dataset}}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("predict", "threads")
    resources:
        mem_mb=res("predict", "mem_mb"),
        runtime=res("predict", "runtime"),
        gpu=res("predict", "gpu"),
    script:
        "../workflow/scripts/predict.py"
