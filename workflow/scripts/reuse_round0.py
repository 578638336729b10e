"""Rule reuse_round0: round 0's checkpoint = the `round0_from` run's (copied)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.reuse import reuse_checkpoint

with log_to(snakemake.log[0]):
    reuse_checkpoint(snakemake.input.checkpoint, snakemake.input.log_json,
                     snakemake.output.checkpoint, snakemake.output.log_json,
                     meta=snakemake.params.meta)
