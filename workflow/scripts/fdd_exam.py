"""Rule fdd_exam: round r-1's student answers round r's question pool with the method's
strategy (no metrics: rules/fdd.smk's fdd_generate splits the answers into easy / hard)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.predict import predict
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p = snakemake.params  # generation: experiment settings; batch_size, progress: the config
    generation = full("generation", p.generation, snakemake.config, p.source)
    predict(snakemake.input.checkpoint, snakemake.input.problems, p.strategy,
            snakemake.output[0], generation, threads=snakemake.threads)
