"""Rule predict_multi: a multi-strategy student (ETD fallback, Combined/SIKeD tags) answers one eval set."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.multi_predict import predict

with log_to(snakemake.log[0]):
    predict(snakemake.input.checkpoint, snakemake.input.problems, snakemake.params.method,
            snakemake.output[0], snakemake.params.generation, threads=snakemake.threads)
