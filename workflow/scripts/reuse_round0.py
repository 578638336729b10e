"""Rule reuse_round0: round 0's checkpoint = the `round0_from` run's (copied).

The else branch is what rule reuse_predictions ran before it scored its copy too (now
workflow/scripts/reuse_predictions.py); it stays so that this script's code digest, and
with it every reused checkpoint and what was trained from it, is unchanged."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.reuse import reuse_checkpoint, reuse_file

with log_to(snakemake.log[0]):
    if snakemake.rule == "reuse_round0":
        reuse_checkpoint(snakemake.input.checkpoint, snakemake.input.log_json,
                         snakemake.output.checkpoint, snakemake.output.log_json,
                         meta=snakemake.params.meta)
    else:
        reuse_file(snakemake.input.predictions, snakemake.output[0])
