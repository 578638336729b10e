"""Rule fdd_exam: FDD round r's question pool P_r (round 1: the questions of D_0; else the
hard questions of P_{r-1} and those generated in round r-1), then round r-1's student
answers it with the method's strategy (no metrics: fdd_generate splits the answers into
easy / hard)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.fdd import make_pool
from mathdistill.stages.predict import predict
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    i, o, p = snakemake.input, snakemake.output, snakemake.params
    pool_files = {k: v for k, v in i.items() if k != "checkpoint"}
    make_pool(o.pool, limit=p.limit, seed=p.pool_seed, **pool_files)
    # generation: experiment settings; batch_size, progress: the config
    generation = full("generation", p.generation, snakemake.config, p.source)
    predict(i.checkpoint, o.pool, p.strategy, o.exam, generation, threads=snakemake.threads)
