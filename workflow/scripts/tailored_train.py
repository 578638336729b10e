"""Rule tailored_train: fine-tune with L = L_LM + lambda * L_SR; write a loss log."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.tailored import train
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p = snakemake.params  # experiment settings; logging_steps etc.: the config
    cfg = {**p.cfg, "train": full("train", p.cfg["train"], snakemake.config, p.source)}
    base = snakemake.input.get("base") or cfg["model"]
    train(base, snakemake.input.examples, snakemake.output.checkpoint,
          snakemake.output.log_json, cfg, options=p.options,
          resume_from=snakemake.input.get("resume_from"), threads=snakemake.threads,
          meta=snakemake.params.meta)
