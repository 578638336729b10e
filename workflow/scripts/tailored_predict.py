"""Rules tailored_predict / tailored_pretrained: a Tailored student (a trained round's
checkpoint, or the untrained base) answers each eval set of its run with the paper's
few-shot prompt; the answers are scored (stages.eval_sets: predictions/ and metrics/)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.eval_sets import answer_eval_sets
from mathdistill.stages.tailored_eval import predict
from mathdistill.students import preload
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    generation = full("generation", p.generation, snakemake.config, p.source)
    student = preload(inp.get("checkpoint") or inp.get("model") or p.model, generation)
    answer_eval_sets(
        lambda problems, preds: predict(
            student, problems, preds, task=p.task or p.options.get("task"),
            fewshot=p.options.get("prompt") == "fewshot", generation=generation,
            threads=snakemake.threads, round=p.round),
        dict(zip(p.datasets, inp.problems, strict=True)), out.predictions, out.metrics,
        meta=p.meta)
