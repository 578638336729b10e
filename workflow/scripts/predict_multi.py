"""Rule predict_multi: a multi-strategy student (ETD fallback, Combined/SIKeD tags) answers one eval set."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.multi_predict import predict
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p = snakemake.params  # generation: experiment settings; batch_size, progress: the config
    generation = full("generation", p.generation, snakemake.config, p.source)
    predict(snakemake.input.checkpoint, snakemake.input.problems, p.method,
            snakemake.output[0], generation, threads=snakemake.threads)
