"""Rule siked_round: SIKeD round r's mixed examples and mix statistics (alpha)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.siked import build_round

with log_to(snakemake.log[0]):
    inputs = {k: list(v) if isinstance(v, list) else [v]
              for k, v in snakemake.input.items()}
    build_round(snakemake.params.method, int(snakemake.wildcards.round), inputs,
                snakemake.output.examples, snakemake.output.stats, seed=snakemake.params.seed,
                meta=snakemake.params.meta)
