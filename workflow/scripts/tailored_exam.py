"""Rule tailored_exam: the student's sampled answers on the train questions, its mistakes."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.tailored import exam

with log_to(snakemake.log[0]):
    p = snakemake.params
    exam(snakemake.input.get("model") or p.model, snakemake.input.train,
         snakemake.output.exam, snakemake.output.mistakes, round=int(snakemake.wildcards.round),
         strategy=p.strategy, generation=p.generation, options=p.options, seed=p.seed,
         threads=snakemake.threads)
