"""Rule fdd_generate: FDD round r's easy/hard split, new questions, dedup and labels."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.fdd import generate
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    w, out, t = snakemake.wildcards, snakemake.output, snakemake.params.teacher
    generate(snakemake.input.pool, snakemake.input.exam, list(snakemake.input.previous),
             out.generated, out.programs, out.stats, teacher=t["backend"],
             teacher_options=full("teacher", t["options"], snakemake.config,
                                  {"teacher": t["name"]}), options=snakemake.params.options,
             round=int(w.round), strategy=snakemake.params.strategy, seed=snakemake.params.seed,
             meta=snakemake.params.meta, cost_out=out.cost)
