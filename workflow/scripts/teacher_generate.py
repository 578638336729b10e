"""Rule teacher_generate: teacher rationales in one strategy for the train set."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.teacher import teach
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    t = snakemake.params.teacher  # backend + experiment options; operational ones: config
    options = full("teacher", t["options"], snakemake.config, {"teacher": t["name"]})
    teach(snakemake.input.problems, t["backend"], snakemake.wildcards.strategy,
          snakemake.output.raw, n=snakemake.params.n, options=options,
          cost_out=snakemake.output.cost)
