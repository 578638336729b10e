"""Rules tailored_predict / tailored_pretrained: a Tailored student (a trained round's
checkpoint, or the untrained base) answers one eval set with the paper's few-shot prompt;
the answers are scored (metrics JSON)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.metrics import evaluate_file
from mathdistill.stages import log_to
from mathdistill.stages.tailored_eval import predict
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    generation = full("generation", p.generation, snakemake.config, p.source)
    model = inp.get("checkpoint") or inp.get("model") or p.model
    predict(model, inp.problems, out.predictions, task=p.task or p.options.get("task"),
            fewshot=p.options.get("prompt") == "fewshot", generation=generation,
            threads=snakemake.threads, round=p.round)
    evaluate_file(out.predictions, out.metrics, meta=p.meta)
