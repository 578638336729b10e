"""One prediction job per trained model: it answers every eval set of its run, and scores each.

    from mathdistill.stages.eval_sets import answer_eval_sets
    from mathdistill.stages.predict import predict
    from mathdistill.students import preload
    student = preload("results/potd/tiny-t5/round0/checkpoint", {"max_new_tokens": 160})
    answer_eval_sets(lambda problems, out: predict(student, problems, "pot", out, gen),
                     {"gsm8k": "results/data/gsm8k.jsonl", "svamp": "results/data/svamp.jsonl"},
                     "results/potd/tiny-t5/round0/predictions",
                     "results/potd/tiny-t5/round0/metrics", meta={"method": "potd", ...})

The workflow's prediction rules (predict, predict_multi, tailored_predict,
tailored_pretrained, reuse_predictions) write two folders per model: `predictions/<set>.jsonl`
and `metrics/<set>.json` (`metrics.evaluate_file`, with `meta` + `"dataset": <set>`). One job
loads the student and imports torch once for all of its eval sets, instead of once per set.
Each folder appears whole or not at all (`io.atomic_dir`): a failed set leaves the previous
folders as they were.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from mathdistill.io import atomic_dir
from mathdistill.metrics import evaluate_file

__all__ = ["answer_eval_sets"]

logger = logging.getLogger(__name__)


def answer_eval_sets(answer: Callable[[Path, Path], object], problems: Mapping[str, str | Path],
                     predictions_dir, metrics_dir, *, meta: Mapping) -> dict[str, dict]:
    """Call `answer(problems_file, predictions_file)` for each eval set (name -> problems file)
    and score what it wrote; return {name: metrics}."""
    if not problems:
        raise ValueError(f"{predictions_dir}: no eval sets to answer")
    out = {}
    with atomic_dir(predictions_dir) as preds, atomic_dir(metrics_dir) as mets:
        for name, problems_file in problems.items():
            pred_file = preds / f"{name}.jsonl"
            answer(Path(problems_file), pred_file)
            out[name] = evaluate_file(pred_file, mets / f"{name}.json",
                                      meta={**dict(meta), "dataset": name})
            logger.info("%s: accuracy %s on %d problems", name, out[name].get("accuracy"),
                        out[name].get("n", 0))
    return out
