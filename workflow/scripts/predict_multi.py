"""Rule predict_multi: a multi-strategy student (ETD fallback, Combined/SIKeD tags) answers
one eval set; the answers are scored (metrics JSON)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.metrics import evaluate_file
from mathdistill.stages import log_to
from mathdistill.stages.multi_predict import predict
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p, out = snakemake.params, snakemake.output
    # generation: experiment settings; batch_size, progress: the config
    generation = full("generation", p.generation, snakemake.config, p.source)
    predict(snakemake.input.checkpoint, snakemake.input.problems, p.method,
            out.predictions, generation, threads=snakemake.threads)
    evaluate_file(out.predictions, out.metrics, meta=p.meta)
