"""Rule fdd_train: FDD round r's training examples, D_r = D_0 ∪ G_1 ∪ ... ∪ G_r
(mixed.jsonl), then the student fine-tuned on them (from the base model, or from round
r-1's checkpoint with `options.init: previous`)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.fdd import build_examples
from mathdistill.stages.students import train_on
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    build_examples(list(i.rationales), o.examples, strategy=p.strategy, seed=p.seed)
    cfg = {**p.cfg, "train": full("train", p.cfg["train"], snakemake.config, p.source)}
    train_on(snakemake.resources.get("gpu", 0), i.get("base") or cfg["model"], o.examples,
             o.checkpoint, o.log_json, cfg, meta=p.meta, threads=snakemake.threads,
             resume_from=i.get("resume_from"))
