"""Stages teacher_generate and filter_rationales.

    from mathdistill.stages.teacher import teach, filter_file
    teach("results/data/train.jsonl", "annotated", "pot", "raw.jsonl", n=1, options={})
    stats = filter_file("raw.jsonl", "filtered.jsonl", "filter_stats.json",
                        meta={"teacher": "annotated", "strategy": "pot"})
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from mathdistill.io import read_records, write_json, write_jsonl
from mathdistill.records import Problem, Rationale

__all__ = ["filter_file", "teach"]

logger = logging.getLogger(__name__)


def teach(problems_file, teacher: str, strategy: str, out, *, n: int = 1,
          options: Mapping | None = None, cost_out=None) -> int:
    """Teacher rationales in `strategy` for every problem of `problems_file` -> `out`;
    calls, cache hits and tokens -> `cost_out` (default: cost.json beside `out`), every
    response also -> cost.ledger.jsonl beside it. Too many failed requests (teacher option
    `max_failed_fraction`, default 0): nothing is written to `out`, TeacherFailed is raised
    (see teachers.job)."""
    from mathdistill.teachers.job import TeacherJob

    problems = read_records(problems_file, Problem)
    cost_out = cost_out or Path(out).with_name("cost.json")
    with TeacherJob(teacher, options, cost_out=cost_out, label=f"teach {strategy}") as job:
        rationales = job.teacher.generate(problems, strategy, n=n)
        job.finish(produced=len(rationales))
        count = write_jsonl(out, rationales)
    logger.info("teacher %s/%s: %d rationales for %d problems", teacher, strategy, count,
                len(problems))
    return count


def filter_file(raw, out, stats_out, *, meta: Mapping | None = None,
                options: Mapping | None = None) -> dict:
    """Keep the rationales whose answer is correct; write them and the drop statistics."""
    from mathdistill.filtering import filter_rationales

    kept, stats = filter_rationales(read_records(raw, Rationale), **dict(options or {}))
    write_jsonl(out, kept)
    stats = {**dict(meta or {}), **stats}
    write_json(stats_out, stats)
    return stats
