"""Are the data files of a config's data sets there? Checked when the DAG is built, so a
missing data directory stops `snakemake -n` instead of the first prepare_data job.

    from mathdistill.workflow.data_check import DataMissing, check_data
    check_data(grid)        # -> the data directory (None: nothing to check), or DataMissing
                            #    naming the directory, the missing files and the fix

A data set whose prepared file (results/data/<name>.jsonl) already exists is not checked:
nothing needs its source any more. Synthetic data sets have no files. The directory is
`data.paths.data_dir(config data_dir)`: the config's `data_dir`, else $MATHDISTILL_DATA,
else ../shared/data (and whatever else data_dir() searches).
"""

from __future__ import annotations

import os

from mathdistill.io import DataError
from mathdistill.workflow.grid import Grid

__all__ = ["FETCH_HINT", "DataMissing", "check_data", "needed_files"]

FETCH_HINT = ("fetch the data sets with `python -m mathdistill data fetch`, or point "
              "$MATHDISTILL_DATA (or the config's data_dir) at a folder that has them")


class DataMissing(DataError):
    """Data files a config needs are not in the data directory."""


def needed_files(spec) -> list[str]:
    """Files (relative to the data directory) that a loader spec reads."""
    from mathdistill.data.loaders import REGISTRY

    reg = REGISTRY.get(spec["dataset"])
    if reg is None:  # synthetic: generated
        return []
    relative = reg.files[spec["split"]]
    for option, value in (spec.get("options") or {}).items():
        if value and reg.options and option in reg.options:
            relative = reg.options[option].get(spec["split"], relative)
    return [relative]


def check_data(grid: Grid):
    """The data directory when every data set the grid still has to prepare has its files
    there (None: no files needed); else DataMissing naming the directory, the missing
    files and how to get them."""
    from mathdistill.data.paths import data_dir

    names = [*grid.train_sets, *grid.eval_sets]
    todo = {n: grid.loader(n) for n in names
            if not os.path.exists(f"{grid.results}/data/{n}.jsonl")}
    needed = {f: n for n, spec in todo.items() for f in needed_files(spec)}
    if not needed:
        return None
    try:
        root = data_dir(grid.config.get("data_dir"))
    except DataError as e:
        raise DataMissing(f"{e}\nthe config's data sets need {', '.join(sorted(needed))}: "
                          f"{FETCH_HINT}") from None
    missing = sorted(f for f in needed if not (root / f).is_file())
    if missing:
        listed = ", ".join(f"{f} ({needed[f]})" for f in missing)
        raise DataMissing(f"data directory {root} lacks {len(missing)} file(s) the config "
                          f"needs: {listed}\n{FETCH_HINT}")
    return root
