"""Rule teacher_generate: teacher rationales in one strategy for the train set."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.teacher import teach

with log_to(snakemake.log[0]):
    teach(snakemake.input.problems, snakemake.wildcards.teacher, snakemake.wildcards.strategy,
          snakemake.output.raw, n=snakemake.params.n, options=snakemake.params.options,
          cost_out=snakemake.output.cost)
