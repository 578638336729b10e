"""Stage paper_tables: reproduced metrics next to the papers' numbers (config/paper_results.yaml).

    from mathdistill.stages.paper import paper_tables
    paths = paper_tables(metrics_files, filter_stats_files, "results/tables",
                         student_map={"my-t5": "codet5-small"}, method_map={"etd3": "etd"},
                         settings={"teacher_n": 4}, train_dataset="gsm8k")
    # {"etd": {"md": results/tables/paper_etd.md, "csv": ..., "tex": ...}, "siked": ...}
    # several teachers (the workflow: Grid.paper_settings / paper_teacher_settings):
    paper_tables(metrics_files, filter_stats_files, "results/tables",
                 dataset_map={"asdiv_all": "asdiv"},
                 run_settings={"etd": {"teacher": "chatgpt", "teacher_n": 4}},
                 teacher_settings=[{"teacher": "chatgpt", "teacher_n": 4, "dataset": "gsm8k"}])

Reproduced rows come from the metrics JSON files (`method` = the configured method, `seed`
= the replicate; `queried_as` for multi-format methods) and the teacher's filter statistics
(ETD Table 1, matched only when the train set is GSM8K train: `train_dataset`, or per file
the `dataset` of `teacher_settings`, aligned with `filter_stats_files`). Names are mapped to
the YAML's student/method/data set keys with `student_map` / `method_map` / `dataset_map`
(the workflow builds them from `paper_key:` in the config; unmapped names are used as they
are). `settings` become columns of every row, `run_settings[method]` of that method's rows,
`teacher_settings[i]` of file i's rows (e.g. `teacher_n`, the teacher's paths per question;
`train_examples`), so a paper table whose setting differs (ETD Table 3: one path) shows no
reproduced value instead of a mismatched one. Seeds are averaged with a 95% interval by
`paper_tables.compare`.
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
                 method_map: Mapping | None = None, dataset_map: Mapping | None = None,
                 settings: Mapping | None = None, run_settings: Mapping | None = None,
                 teacher_settings: Sequence[Mapping] | None = None,
                 train_dataset: str | None = "gsm8k") -> dict:
    """Write paper_<id>.md/.csv/.tex for every paper in `reported` (default: the YAML in
    config/); returns {paper: {format: path}}. `train_dataset=None` (and no
    `teacher_settings`): no teacher rows."""
    from mathdistill.paper_tables import (
        compare,
        load_reported,
        rows_from_metrics,
        teacher_rows,
        write_paper_tables,
    )

    rep = load_reported(reported)
    rows = [{**r, **dict((run_settings or {}).get(r["method"]) or {})}
            for r in rows_from_metrics(read_json(p) for p in metrics_files)]
    if teacher_settings is not None:
        if len(teacher_settings) != len(filter_stats_files):
            raise ValueError(f"{len(teacher_settings)} teacher_settings for "
                             f"{len(filter_stats_files)} filter_stats files")
        for path, ts in zip(filter_stats_files, teacher_settings, strict=True):
            extra = {k: v for k, v in ts.items() if k != "dataset"}
            if ts.get("dataset"):
                rows += [{**r, **extra}
                         for r in teacher_rows([read_json(path)], dataset=ts["dataset"])]
    elif train_dataset:
        rows += teacher_rows((read_json(p) for p in filter_stats_files), dataset=train_dataset)
    df = pd.DataFrame(rows)
    for key, value in (settings or {}).items() if len(df) else ():  # (compare: empty = no run)
        df[key] = value
    cmp = compare(df, rep, student_map=student_map, method_map=method_map,
                  dataset_map=dataset_map)
    matched = cmp["reproduced"].notna().sum() if len(cmp) else 0
    logger.info("%d reproduced rows; %d of %d reported cells have a reproduced value",
                len(df), matched, len(cmp))
    return write_paper_tables(cmp, outdir, rep)
