"""Rule predict: the trained student answers each eval set of its run with the method's
strategy; the answers are scored (stages.eval_sets: predictions/ and metrics/ folders)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.eval_sets import answer_eval_sets
from mathdistill.stages.predict import predict
from mathdistill.students import preload
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    # generation: experiment settings; batch_size, progress: the config
    generation = full("generation", p.generation, snakemake.config, p.source)
    student = preload(inp.checkpoint, generation)
    answer_eval_sets(
        lambda problems, preds: predict(student, problems, p.strategy, preds, generation,
                                        threads=snakemake.threads),
        dict(zip(p.datasets, inp.problems, strict=True)), out.predictions, out.metrics,
        meta=p.meta)
