"""Rule filter_rationales: keep correct teacher rationales, write drop statistics."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.teacher import filter_file

with log_to(snakemake.log[0]):
    filter_file(snakemake.input.raw, snakemake.output.filtered, snakemake.output.stats,
                meta=dict(snakemake.wildcards), options=snakemake.params.options)
