"""Rule claims: the papers' qualitative claims with paired 95% intervals (tables/claims.*)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.claims import write_claims
from mathdistill.stages import log_to

with log_to(snakemake.log[0]):
    write_claims(snakemake.params.runs, snakemake.params.methods, snakemake.params.outdir)
