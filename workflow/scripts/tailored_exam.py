"""Rule tailored_exam: the student's sampled answers on the train questions, its mistakes."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.tailored import exam
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p = snakemake.params  # generation: experiment settings; batch_size, progress: the config
    generation = full("generation", p.generation, snakemake.config, p.source)
    exam(snakemake.input.get("model") or p.model, snakemake.input.train,
         snakemake.output.exam, snakemake.output.mistakes, round=int(snakemake.wildcards.round),
         strategy=p.strategy, generation=generation, options=p.options, seed=p.seed,
         threads=snakemake.threads)
