"""Rule tailored_round: round r's examples with triplet pools, and tailored_stats.json."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.tailored import build_examples

with log_to(snakemake.log[0]):
    w, p = snakemake.wildcards, snakemake.params
    files = {k: (list(v) if k.endswith("_files") else v)
             for k, v in snakemake.input.items()}
    build_examples(int(w.round), snakemake.output.examples, snakemake.output.stats,
                   strategy=p.strategy, options=p.options, seed=p.seed,
                   meta=p.meta, **files)
