"""Rule siked_generate: K tagged samples per (train question, strategy) from round r-1, scored."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.siked import self_generate
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p = snakemake.params  # generation: experiment settings; batch_size, progress: the config
    generation = full("generation", p.generation, snakemake.config, p.source)
    self_generate(snakemake.input.checkpoint, snakemake.input.problems, p.method,
                  snakemake.output[0], generation,
                  round=int(snakemake.wildcards.round), seed=snakemake.params.seed,
                  threads=snakemake.threads)
