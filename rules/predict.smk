# Stage 6: the trained student answers each eval set with the method's eval strategy;
# answers come from that strategy's executor (extraction / sandboxed program / solver).
# Multi-strategy methods (etd: PoT -> EoT -> CoT fallback; combined/siked: the student's
# strategy tag routes the answer) use rule predict_multi (MULTI_TYPES: rules/multi.smk).


rule predict:
    wildcard_constraints:
        method=only(methods_of(*MULTI_TYPES, exclude=True)),
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


rule predict_multi:
    wildcard_constraints:
        method=only(methods_of(*MULTI_TYPES)),
    input:
        checkpoint=f"{R}/{{method}}/{{student}}/round{{round}}/checkpoint",
        problems=f"{R}/data/{{dataset}}.jsonl",
        src=lambda w: union(
            stage_lib("multi_predict"), lib("students", "filtering"), method_lib(w.method)
        ),
    output:
        f"{R}/{{method}}/{{student}}/round{{round}}/predictions/{{dataset}}.jsonl",
    params:
        method=lambda w: canon({k: METHODS[w.method].get(k) for k in ("type", "strategies", "options")}),
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
        "../workflow/scripts/predict_multi.py"
