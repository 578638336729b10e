"""Rule train (single, etd, combined): the round's examples from the teacher's rationales
(mixed.jsonl), then the student fine-tuned on them. With a `gpu` resource above 1 (e.g.
profiles/slurm: set-resources train:gpu=4) training runs on one process per GPU."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.rounds import build_round
from mathdistill.stages.students import train_on
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    build_round(p.method, int(snakemake.wildcards.round), {"rationales": list(i.rationales)},
                o.examples, seed=p.seed)
    cfg = {**p.cfg, "train": full("train", p.cfg["train"], snakemake.config, p.source)}
    train_on(snakemake.resources.get("gpu", 0), i.get("base") or cfg["model"], o.examples,
             o.checkpoint, o.log_json, cfg, meta=p.meta, threads=snakemake.threads,
             resume_from=i.get("resume_from"))
