"""Reported-vs-reproduced tables per paper (Markdown, CSV, LaTeX) from config/paper_results.yaml.

    from mathdistill.paper_tables import (load_reported, rows_from_metrics, teacher_rows,
                                          compare, write_paper_tables)
    reported = load_reported()                      # DataError "file:line: ..." if malformed
    rows = pd.DataFrame(rows_from_metrics(metrics_dicts) + teacher_rows(filter_stats))
    rows["teacher_n"] = 4                           # a setting column, if the run has one
    cmp = compare(rows, reported, student_map={"codet5s": "codet5-small"})
    paths = write_paper_tables(cmp, "results/tables", reported)  # paper_etd.md/.csv/.tex, ...

Reproduced rows (a DataFrame, one row per run and data set): method, student, dataset,
round (int), strategy (queried-as format, or None for the method's own answer), seed
(default 0), `accuracy` or `value` as a FRACTION in [0, 1] (like metrics.json; a value
above 1 is an error, since it looks like a percent), optional n_examples (test problems,
for the one-seed Wilson interval; metrics.json's `n` is taken as n_examples), optional
metric (default "accuracy"; teacher_rows adds drop_rate/sampled/kept rows) and optional
setting columns named in the YAML's `setting:` entries (e.g. teacher_n); other columns are
ignored. The matching rules are in the header of config/paper_results.yaml. Per cell: mean
over seeds, n, a 95% interval (mathdistill.stats: t over seeds, or Wilson/normal for one
run, named in the table) and diff = reproduced - reported, in percentage points. Missing
values print "–" (Markdown/LaTeX) or an empty cell (CSV). Files: paper_<paper>.md/.csv/.tex.

Modules: reported (YAML loading/validation), compare (rows, join), render (writers).
"""

from mathdistill.paper_tables.compare import compare, rows_from_metrics, teacher_rows
from mathdistill.paper_tables.render import to_latex, to_markdown, write_paper_tables
from mathdistill.paper_tables.reported import (
    AVG,
    DATASETS,
    Entry,
    Reported,
    average_mismatches,
    load_reported,
)

__all__ = ["AVG", "DATASETS", "Entry", "Reported", "average_mismatches", "compare",
           "load_reported", "rows_from_metrics", "teacher_rows", "to_latex", "to_markdown",
           "write_paper_tables"]
