"""Rule build_round: the method's training examples for one round."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.rounds import build_round

with log_to(snakemake.log[0]):
    inputs = {k: list(v) if isinstance(v, list) else [v]
              for k, v in snakemake.input.items()}
    build_round(snakemake.params.method, int(snakemake.wildcards.round), inputs,
                snakemake.output[0], seed=snakemake.params.seed)
