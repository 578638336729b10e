"""Rule fdd_pool: FDD's pool P_r (round 1: the questions of D_0; else hard + generated)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.fdd import make_pool

with log_to(snakemake.log[0]):
    files = dict(snakemake.input.items())
    make_pool(snakemake.output[0], limit=snakemake.params.limit, seed=snakemake.params.seed,
              **files)
