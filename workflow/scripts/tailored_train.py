"""Rule tailored_train: fine-tune with L = L_LM + lambda * L_SR; write a loss log."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.tailored import train

with log_to(snakemake.log[0]):
    base = snakemake.input.get("base") or snakemake.params.cfg["model"]
    train(base, snakemake.input.examples, snakemake.output.checkpoint,
          snakemake.output.log_json, snakemake.params.cfg, options=snakemake.params.options,
          resume_from=snakemake.input.get("resume_from"), threads=snakemake.threads,
          meta=snakemake.params.meta)
