"""Rule evaluate: predictions -> metrics JSON."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.metrics import evaluate_file
from mathdistill.stages import log_to

with log_to(snakemake.log[0]):
    evaluate_file(snakemake.input.predictions, snakemake.output[0], meta=snakemake.params.meta)
