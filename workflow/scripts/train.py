"""Rule train: fine-tune the student on the round's examples; write a loss log.
With a `gpu` resource above 1 (e.g. profiles/slurm: set-resources train:gpu=4) the stage
runs under `accelerate launch`, one process per GPU (mathdistill.stages.launch)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.launch import run
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p = snakemake.params  # experiment settings; logging_steps etc.: the config
    cfg = {**p.cfg, "train": full("train", p.cfg["train"], snakemake.config, p.source)}
    n = int(getattr(snakemake.resources, "gpu", 0) or 0)
    args = {"base": snakemake.input.get("base") or cfg["model"],
            "examples_file": snakemake.input.examples,
            "out_dir": snakemake.output.checkpoint, "log_out": snakemake.output.log_json,
            "cfg": cfg, "meta": p.meta,
            "threads": max(1, snakemake.threads // max(n, 1)),
            "resume_from": snakemake.input.get("resume_from")}  # on-policy rounds: r-1
    run("mathdistill.stages.students:train", args, num_processes=n,
        log_out=snakemake.output.log_json)
