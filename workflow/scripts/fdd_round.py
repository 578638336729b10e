"""Rule fdd_round: FDD round r's training examples, D_r = D_0 ∪ G_1 ∪ ... ∪ G_r."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.fdd import build_examples

with log_to(snakemake.log[0]):
    build_examples(list(snakemake.input.rationales), snakemake.output[0],
                   strategy=snakemake.params.strategy, seed=snakemake.params.seed)
