"""Rule build_student: a tiny-* student (random init, tokenizer trained on the train set)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.students import build

with log_to(snakemake.log[0]):
    build(snakemake.params.preset, snakemake.input.train, snakemake.output[0],
          seed=snakemake.params.seed, options=snakemake.params.options)
