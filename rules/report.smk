# Stage 8: comparison tables (Markdown + CSV): method x dataset accuracy, teacher drop
# rates per strategy, and training loss per run (local rules: rules/common.smk).


rule tables:
    input:
        metrics=JOBS.metrics_dirs() + JOBS.pretrained_metrics_dirs(),
        filter_stats=JOBS.teacher_outputs("filter_stats.json"),
        costs=JOBS.teacher_outputs("cost.json"),
        call_costs=JOBS.teacher_call_costs(),
        train_logs=JOBS.train_logs(),
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
        metrics=sorted(JOBS.metrics() + JOBS.pretrained_metrics()),  # those folders' files
        outdir=lambda w, output: os.path.dirname(output[0]),
        code=JOBS.code("tables"),
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
        metrics=JOBS.metrics_dirs(),
        mix_stats=JOBS.mix_stats(),
    output:
        report(f"{R}/plots/accuracy.png", caption="../report/plots.rst", category="Plots",
               labels={"plot": "accuracy per round"}),
        report(f"{R}/plots/strategy_share.png", caption="../report/plots.rst",
               category="Plots", labels={"plot": "strategy share"}),
    params:
        metrics=sorted(JOBS.metrics()),  # (sorted: the config's key order reruns nothing)
        outdir=lambda w, output: os.path.dirname(output[0]),
        share_methods=GRID.of_type(*MULTI_TYPES),
        code=JOBS.code("plots"),
    log:
        f"{R}/logs/plots.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    script:
        "../workflow/scripts/plots.py"


# The papers' qualitative claims on this run's predictions (mathdistill.claims): A vs B with
# paired 95% intervals and a verdict per claim, student and eval set.
rule claims:
    input:
        predictions=JOBS.predictions_dirs(),  # params.runs: the files in them
    output:
        f"{R}/tables/claims.md",
        report(f"{R}/tables/claims.csv", caption="../report/tables.rst", category="Tables",
               labels={"table": "claims"}),
    params:
        runs=JOBS.claim_runs(),
        methods=canon({m: {k: cfg[k] for k in ("type", "strategies", "rounds", "options")
                           if k in cfg} for m, cfg in config["methods"].items()}),
        outdir=lambda w, output: os.path.dirname(output[0]),
        code=JOBS.code("claims"),
    log:
        f"{R}/logs/claims.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    script:
        "../workflow/scripts/claims.py"
