"""Rule train: fine-tune the student on the round's examples; write a loss log."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.students import train

with log_to(snakemake.log[0]):
    base = snakemake.input.get("base") or snakemake.params.cfg["model"]
    train(base, snakemake.input.examples, snakemake.output.checkpoint,
          snakemake.output.log_json, snakemake.params.cfg, threads=snakemake.threads,
          meta=snakemake.params.meta,
          resume_from=snakemake.input.get("resume_from"))  # on-policy rounds: round r-1
