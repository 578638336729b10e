"""Rule filter_rationales: keep correct teacher rationales, write drop statistics."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.teacher import filter_file
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    options = full("filter", snakemake.params.options, snakemake.config,
                   {"teacher": snakemake.wildcards.teacher})
    filter_file(snakemake.input.raw, snakemake.output.filtered, snakemake.output.stats,
                meta=dict(snakemake.wildcards), options=options)
