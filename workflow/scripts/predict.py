"""Rule predict: the trained student answers one eval set with the method's strategy."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.predict import predict

with log_to(snakemake.log[0]):
    predict(snakemake.input.checkpoint, snakemake.input.problems, snakemake.params.strategy,
            snakemake.output[0], snakemake.params.generation, threads=snakemake.threads)
