# Stage 9: the reproduced numbers next to the papers' (config/paper_results.yaml), one
# Markdown / CSV / LaTeX file per paper: results/tables/paper_<id>.{md,csv,tex}.


rule paper_tables:
    input:
        metrics=JOBS.metrics_dirs() + JOBS.pretrained_metrics_dirs(),
        filter_stats=JOBS.teacher_outputs("filter_stats.json"),
        reported=PAPER_RESULTS,
    output:
        [report(p, caption="../report/paper_tables.rst", category="Paper tables",
                labels={"paper": p.rsplit("paper_", 1)[1][:-4]}) if p.endswith(".csv") else p
         for p in expand(f"{R}/tables/paper_{{paper}}.{{ext}}", paper=PAPERS,
                         ext=("md", "csv", "tex"))],
    params:
        metrics=sorted(JOBS.metrics() + JOBS.pretrained_metrics()),  # those folders' files
        outdir=lambda w, output: os.path.dirname(output[0]),
        student_map=GRID.paper_keys("students"),
        method_map=GRID.paper_keys("methods"),
        dataset_map=GRID.paper_keys("eval_sets"),
        run_settings=GRID.paper_settings(),
        teacher_settings=GRID.paper_teacher_settings(),
        code=JOBS.code("paper_tables"),
    log:
        f"{R}/logs/paper_tables.log",
    conda:
        "../envs/report.yaml"
    threads: 1
    script:
        "../workflow/scripts/paper_tables.py"
