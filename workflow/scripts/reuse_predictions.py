"""Rule reuse_predictions: round 0's predictions on one eval set = the `round0_from` run's
(copied), scored with this run's meta."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.metrics import evaluate_file
from mathdistill.stages import log_to
from mathdistill.stages.reuse import reuse_file

with log_to(snakemake.log[0]):
    out = snakemake.output
    reuse_file(snakemake.input.predictions, out.predictions)
    evaluate_file(out.predictions, out.metrics, meta=snakemake.params.meta)
