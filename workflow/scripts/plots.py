"""Rule plots: accuracy per round and strategy share per round (PNG)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.plots import write_plots
from mathdistill.stages import log_to

with log_to(snakemake.log[0]):
    write_plots(snakemake.params.metrics, snakemake.input.mix_stats, snakemake.params.outdir,
                share_methods=snakemake.params.share_methods)
