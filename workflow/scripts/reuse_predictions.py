"""Rule reuse_predictions: round 0's predictions = the `round0_from` run's (copied, same
eval sets), scored with this run's meta (stages.eval_sets)."""
# ruff: noqa: F821  (snakemake is injected by Snakemake's script directive)
from pathlib import Path

from mathdistill.stages import log_to
from mathdistill.stages.eval_sets import answer_eval_sets
from mathdistill.stages.reuse import reuse_file

with log_to(snakemake.log[0]):
    p, out = snakemake.params, snakemake.output
    src = Path(snakemake.input.predictions)
    # "answering" an eval set = copying the reused run's predictions of it
    answer_eval_sets(reuse_file, {d: src / f"{d}.jsonl" for d in p.datasets},
                     out.predictions, out.metrics, meta=p.meta)
