# Stage 8: comparison tables (Markdown + CSV): method x dataset accuracy, teacher drop
# rates per strategy, and training loss per run.


rule tables:
    input:
        metrics=all_metrics(),
        filter_stats=all_filter_stats(),
        costs=all_teacher_costs(),
        train_logs=all_train_logs(),
        src=lib(*BASE_LIB, "stages/__init__", "report"),
    output:
        f"{R}/tables/accuracy.md",
        report(f"{R}/tables/accuracy.csv", caption="../report/tables.rst", category="Tables",
               labels={"table": "accuracy"}),
        f"{R}/tables/teacher.md",
        report(f"{R}/tables/teacher.csv", caption="../report/tables.rst", category="Tables",
               labels={"table": "teacher"}),
        f"{R}/tables/training.md",
        report(f"{R}/tables/training.csv", caption="../report/tables.rst", category="Tables",
               labels={"table": "training"}),
        f"{R}/tables/strategies.md",
        report(f"{R}/tables/strategies.csv", caption="../report/tables.rst", category="Tables",
               labels={"table": "strategies"}),
    params:
        outdir=lambda w, output: os.path.dirname(output[0]),
    log:
        f"{R}/logs/tables.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    script:
        "../workflow/scripts/tables.py"


# Plots: accuracy per round (every method), strategy share per round (multi-strategy methods).
rule plots:
    input:
        metrics=all_metrics(),
        mix_stats=all_mix_stats(),
        src=lib(*BASE_LIB, "stages/__init__", "plots"),
    output:
        report(f"{R}/plots/accuracy.png", caption="../report/plots.rst", category="Plots",
               labels={"plot": "accuracy per round"}),
        report(f"{R}/plots/strategy_share.png", caption="../report/plots.rst",
               category="Plots", labels={"plot": "strategy share"}),
    params:
        outdir=lambda w, output: os.path.dirname(output[0]),
        share_methods=methods_of("etd", "combined", "siked"),
    log:
        f"{R}/logs/plots.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    script:
        "../workflow/scripts/plots.py"


# The papers' qualitative claims on this run's predictions (mathdistill.claims): A vs B with
# paired 95% intervals and a verdict per claim, student and eval set.
def claim_runs():
    return [{**run_meta(m), "student": st, "round": r, "dataset": d,
             "path": f"{R}/{m}/{st}/round{r}/predictions/{d}.jsonl"}
            for m in METHODS for st in method_students(m) for r in rounds(m) for d in EVAL_SETS]


rule claims:
    input:
        predictions=[run["path"] for run in claim_runs()],
        src=lib(*BASE_LIB, "claims", "stats", "methods/tailored", "methods/rounds"),
    output:
        f"{R}/tables/claims.md",
        report(f"{R}/tables/claims.csv", caption="../report/tables.rst", category="Tables",
               labels={"table": "claims"}),
    params:
        runs=claim_runs(),
        methods=canon({m: {k: cfg[k] for k in ("type", "strategies", "rounds", "options")
                           if k in cfg} for m, cfg in config["methods"].items()}),
        outdir=lambda w, output: os.path.dirname(output[0]),
    log:
        f"{R}/logs/claims.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    script:
        "../workflow/scripts/claims.py"
