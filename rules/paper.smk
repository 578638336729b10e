# Stage 9: the reproduced numbers next to the papers' (config/paper_results.yaml), one
# Markdown / CSV / LaTeX file per paper: results/tables/paper_<id>.{md,csv,tex}.


rule paper_tables:
    input:
        metrics=all_metrics(),
        filter_stats=all_filter_stats(),
        reported=PAPER_RESULTS,
        src=lib(*BASE_LIB, "stages/__init__", "stages/paper", "paper_tables", "stats"),
    output:
        [report(p, caption="../report/paper_tables.rst", category="Paper tables",
                labels={"paper": p.rsplit("paper_", 1)[1][:-4]}) if p.endswith(".csv") else p
         for p in expand(f"{R}/tables/paper_{{paper}}.{{ext}}", paper=PAPERS,
                         ext=("md", "csv", "tex"))],
    params:
        outdir=lambda w, output: os.path.dirname(output[0]),
        student_map=canon(paper_keys("students")),
        method_map=canon(paper_keys("methods")),
        settings={"teacher_n": config["teacher"].get("n", 1)},
        train_dataset=paper_train_dataset(),
    log:
        f"{R}/logs/paper_tables.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    script:
        "../workflow/scripts/paper_tables.py"
