"""Rule tables: accuracy / teacher / training tables (Markdown + CSV)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.report import write_tables
from mathdistill.stages import log_to

with log_to(snakemake.log[0]):
    write_tables(snakemake.params.metrics, snakemake.input.filter_stats,
                 snakemake.input.train_logs, snakemake.params.outdir,
                 cost_files=snakemake.input.costs,
                 call_cost_files=snakemake.input.call_costs)
