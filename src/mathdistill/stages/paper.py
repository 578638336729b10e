"""Stage paper_tables: reproduced metrics next to the papers' numbers (config/paper_results.yaml).

    from mathdistill.stages.paper import paper_tables
    paths = paper_tables(metrics_files, filter_stats_files, "results/tables",
                         student_map={"my-t5": "codet5-small"}, method_map={"etd3": "etd"},
                         settings={"teacher_n": 4}, train_dataset="gsm8k")
    # {"etd": {"md": results/tables/paper_etd.md, "csv": ..., "tex": ...}, "siked": ...}

Reproduced rows come from the metrics JSON files (`method` = the configured method, `seed`
= the replicate; `queried_as` for multi-format methods) and the teacher's filter statistics
(ETD Table 1, matched only when the train set is GSM8K train: `train_dataset`). Names are
mapped to the YAML's student/method keys with `student_map` / `method_map` (the workflow
builds them from `paper_key:` in the config; unmapped names are used as they are).
`settings` become columns of every row (e.g. `teacher_n`, the teacher's paths per question),
so a paper table whose setting differs (ETD Table 3: one path) shows no reproduced value
instead of a mismatched one. Seeds are averaged with a 95% interval by `paper_tables.compare`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pandas as pd

from mathdistill.io import read_json

__all__ = ["paper_tables"]

logger = logging.getLogger(__name__)


def paper_tables(metrics_files: Sequence, filter_stats_files: Sequence, outdir, *,
                 reported=None, student_map: Mapping | None = None,
                 method_map: Mapping | None = None, settings: Mapping | None = None,
                 train_dataset: str | None = "gsm8k") -> dict:
    """Write paper_<id>.md/.csv/.tex for every paper in `reported` (default: the YAML in
    config/); returns {paper: {format: path}}. `train_dataset=None`: no teacher rows."""
    from mathdistill.paper_tables import (
        compare,
        load_reported,
        rows_from_metrics,
        teacher_rows,
        write_paper_tables,
    )

    rep = load_reported(reported)
    rows = rows_from_metrics(read_json(p) for p in metrics_files)
    if train_dataset:
        rows += teacher_rows((read_json(p) for p in filter_stats_files), dataset=train_dataset)
    df = pd.DataFrame(rows)
    for key, value in (settings or {}).items() if len(df) else ():  # (compare: empty = no run)
        df[key] = value
    cmp = compare(df, rep, student_map=student_map, method_map=method_map)
    matched = cmp["reproduced"].notna().sum() if len(cmp) else 0
    logger.info("%d reproduced rows; %d of %d reported cells have a reproduced value",
                len(df), matched, len(cmp))
    return write_paper_tables(cmp, outdir, rep)
