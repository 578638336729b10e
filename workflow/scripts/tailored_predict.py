"""Rules tailored_predict / tailored_pretrained: a Tailored student (a trained round's
checkpoint, or the untrained base) answers one eval set with the paper's few-shot prompt."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from mathdistill.stages import log_to
from mathdistill.stages.tailored_eval import predict
from mathdistill.workflow.settings import full

with log_to(snakemake.log[0]):
    p, inp = snakemake.params, snakemake.input
    generation = full("generation", p.generation, snakemake.config, p.source)
    model = inp.get("checkpoint") or inp.get("model") or p.model
    predict(model, inp.problems, snakemake.output[0], task=p.task or p.options.get("task"),
            fewshot=p.options.get("prompt") == "fewshot", generation=generation,
            threads=snakemake.threads, round=p.round)
