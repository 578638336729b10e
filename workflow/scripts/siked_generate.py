"""Rule siked_generate: K tagged samples per (train question, strategy) from round r-1, scored."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.siked import self_generate

with log_to(snakemake.log[0]):
    self_generate(snakemake.input.checkpoint, snakemake.input.problems, snakemake.params.method,
                  snakemake.output[0], snakemake.params.generation,
                  round=int(snakemake.wildcards.round), seed=snakemake.params.seed,
                  threads=snakemake.threads)
