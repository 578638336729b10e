"""Rule siked_train: SIKeD round r's mixed examples (teacher data + the round r-1 student's
self-samples) and mix statistics (alpha), then the student fine-tuned on them (on-policy
rounds continue from round r-1's checkpoint: input resume_from)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.siked import build_round
from mathdistill.stages.students import train_on
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    data = {"rationales": list(i.rationales),  # round r >= 1: + the self-samples file
            "self_samples": [i.self_samples] if i.get("self_samples") else []}
    build_round(p.method, int(snakemake.wildcards.round), data, o.examples, o.stats,
                seed=p.seed, meta=p.meta)
    cfg = {**p.cfg, "train": full("train", p.cfg["train"], snakemake.config, p.source)}
    train_on(snakemake.resources.get("gpu", 0), i.get("base") or cfg["model"], o.examples,
             o.checkpoint, o.log_json, cfg, meta=p.meta, threads=snakemake.threads,
             resume_from=i.get("resume_from"))
