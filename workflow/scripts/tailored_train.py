"""Rule tailored_train: round r's examples with triplet pools (mixed.jsonl) and
tailored_stats.json, then fine-tuning with L = L_LM + lambda * L_SR; a loss log."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.tailored import build_examples, train
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    w, i, o, p = snakemake.wildcards, snakemake.input, snakemake.output, snakemake.params
    files = {k: (list(v) if k.endswith("_files") else v) for k, v in i.items()
             if k not in ("base", "resume_from")}
    build_examples(int(w.round), o.examples, o.stats, strategy=p.strategy,
                   options=p.data_options, seed=p.seed, meta=p.meta, **files)
    cfg = {**p.cfg, "train": full("train", p.cfg["train"], snakemake.config, p.source)}
    train(i.get("base") or cfg["model"], o.examples, o.checkpoint, o.log_json, cfg,
          options=p.options, resume_from=i.get("resume_from"), threads=snakemake.threads,
          meta=p.meta)
