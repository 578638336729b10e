"""Rule paper_tables: reproduced vs reported numbers per paper (Markdown, CSV, LaTeX)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.paper import paper_tables

with log_to(snakemake.log[0]):
    p = snakemake.params
    paper_tables(snakemake.params.metrics, snakemake.input.filter_stats, p.outdir,
                 reported=snakemake.input.reported, student_map=p.student_map,
                 method_map=p.method_map, dataset_map=p.dataset_map,
                 run_settings=p.run_settings, teacher_settings=p.teacher_settings)
