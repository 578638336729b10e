"""Reported numbers: load and validate config/paper_results.yaml (errors name file:line).

    from mathdistill.paper_tables.reported import load_reported, average_mismatches
    rep = load_reported()                 # Reported(path, entries, papers, students, methods)
    rep.entries[0]                        # Entry(paper="etd", table="table1", metric=..., ...)
    average_mismatches(rep.entries)       # printed averages != mean of the printed values

The file's schema and the matching rules are documented at its top.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mathdistill.io import DataError

__all__ = ["AVG", "DATASETS", "KEY", "METRICS", "PRETRAINED", "SINGLE", "Entry", "Reported",
           "average_mismatches", "load_reported"]

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "paper_results.yaml"
DATASETS = ("gsm8k", "asdiv", "svamp", "multiarith")
AVG = "avg"
METRICS = {"accuracy": "percent", "drop_rate": "percent", "sampled": "count", "kept": "count"}
TAGS = set("PACMSRXD")
SINGLE = {"cotd": "cot", "potd": "pot", "eotd": "eot", "l2md": "l2m"}
STRATEGIES = ("cot", "pot", "eot", "l2m")
KEY = ["metric", "method", "student", "dataset", "round", "strategy"]
PRETRAINED = "pretrained"  # round: the untrained student (Tailored Learning's S_0)
ROW_KEYS = {"student", "method", "queried_as", "round", "values", "flags", "deltas", "setting",
            "tag", "note"}


@dataclass(frozen=True)
class Entry:
    """One reported number (a row x data set cell of a paper table)."""
    paper: str
    table: str
    metric: str
    student: str          # "" = no student (teacher data)
    method: str
    strategy: str         # queried_as; "" = the method's own answer
    round: int | str      # int, "final" or "pretrained"
    dataset: str
    value: float | None   # percent (or a count); None = not reported
    tag: str
    line: int
    flag: str = ""
    note: str = ""
    delta: float | None = None
    setting: tuple = field(default_factory=tuple)  # sorted (key, value) pairs


@dataclass
class Reported:
    path: Path
    entries: list[Entry]
    papers: dict          # paper -> {title, arxiv, source, test_sizes, tables: [table meta]}
    students: dict
    methods: dict


# ---- loading -----------------------------------------------------------------------------

class _Map(dict):
    line = 0


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader, node):
    loader.flatten_mapping(node)
    pairs = loader.construct_pairs(node, deep=True)
    m = _Map()
    for k, v in pairs:
        if k in m:
            raise DataError(f"{loader.name}:{node.start_mark.line + 1}: duplicate key {k!r}")
        m[k] = v
    m.line = node.start_mark.line + 1
    return m


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def _fail(path, node, msg):
    raise DataError(f"{path}:{getattr(node, 'line', 0) or '?'}: {msg}")


def _check_keys(path, node, allowed, required=(), what="entry"):
    if not isinstance(node, dict):
        _fail(path, node, f"{what} must be a mapping, got {type(node).__name__}")
    extra = sorted(set(node) - set(allowed))
    if extra:
        _fail(path, node, f"unknown key(s) {extra} in {what} (allowed: {sorted(allowed)})")
    missing = [k for k in required if k not in node]
    if missing:
        _fail(path, node, f"{what} is missing {missing}")


def _number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _expand(path, paper, table, row, students, methods) -> list[Entry]:
    """One table row (with the table's defaults merged in) -> one Entry per data set."""
    r = {**table.get("defaults", {}), **row}
    where = f"paper {paper}, table {table['id']}"
    _check_keys(path, row, ROW_KEYS, what=f"row of {where}")
    for k in ("method", "values"):
        if k not in r:
            _fail(path, row, f"row of {where} has no {k!r} (nor a default)")
    student, method, q = r.get("student"), r["method"], r.get("queried_as")
    if student is not None and student not in students:
        _fail(path, row, f"unknown student {student!r} (declare it under students:)")
    if method not in methods:
        _fail(path, row, f"unknown method {method!r} (declare it under methods:)")
    if q is not None and q not in STRATEGIES:
        _fail(path, row, f"queried_as must be one of {STRATEGIES} or null, got {q!r}")
    rnd = r.get("round", 0)
    if not (rnd in ("final", PRETRAINED)
            or (isinstance(rnd, int) and not isinstance(rnd, bool) and rnd >= 0)):
        _fail(path, row, f"round must be an integer >= 0, 'final' or '{PRETRAINED}', got {rnd!r}")
    tag = r.get("tag", table.get("tag"))
    if tag not in TAGS:
        _fail(path, row, f"provenance tag must be one of {sorted(TAGS)}, got {tag!r}")
    values, flags, deltas = r["values"], r.get("flags", {}), r.get("deltas", {})
    if not isinstance(values, dict) or not values:
        _fail(path, row, "values must be a non-empty mapping data set -> number|null")
    unit = METRICS[table["metric"]]
    for ds, v in values.items():
        if ds not in (*DATASETS, AVG):
            _fail(path, values, f"unknown data set {ds!r} (use {', '.join(DATASETS)}, {AVG})")
        if v is not None and not (_number(v) and v >= 0 and (unit == "count" or v <= 100)):
            _fail(path, values, f"{ds}: value must be a number in [0, 100] (percent) or null, "
                                f"got {v!r}" if unit == "percent" else
                                f"{ds}: count must be a non-negative number, got {v!r}")
    for name, extra in (("flags", flags), ("deltas", deltas)):
        if not isinstance(extra, dict) or set(extra) - set(values):
            _fail(path, extra if isinstance(extra, dict) else row,
                  f"{name} must map data sets listed in values to a {name[:-1]}")
    setting = {**table.get("setting", {}), **r.get("setting", {})}
    notes = "; ".join(n for n in (table.get("note"), r.get("note")) if n)
    return [Entry(paper=paper, table=table["id"], metric=table["metric"], student=student or "",
                  method=method, strategy=q or "", round=rnd, dataset=ds,
                  value=None if v is None else float(v), tag=tag, line=getattr(values, "line", 0),
                  flag=str(flags.get(ds, "")), note=notes, delta=deltas.get(ds),
                  setting=tuple(sorted(setting.items())))
            for ds, v in values.items()]


def load_reported(path=None) -> Reported:
    """Read and validate paper_results.yaml; a malformed entry is a DataError naming file:line."""
    path = Path(path or DEFAULT_PATH)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        with open(path, encoding="utf-8") as f:
            loader = _Loader(f)
            loader.name = str(path)
            try:
                doc = loader.get_single_data()
            finally:
                loader.dispose()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else "?"
        raise DataError(f"{path}:{line}: invalid YAML: {getattr(e, 'problem', e)}") from None
    _check_keys(path, doc, {"students", "methods", "papers"}, ["students", "methods", "papers"],
                what="top level")
    entries, papers, seen = [], {}, {}
    for pid, paper in doc["papers"].items():
        _check_keys(path, paper, {"title", "arxiv", "source", "test_sizes", "tables"},
                    ["title", "source", "tables"], what=f"paper {pid}")
        metas = []
        for table in paper["tables"]:
            _check_keys(path, table, {"id", "caption", "metric", "tag", "setting", "defaults",
                                      "rows", "note"}, ["id", "caption", "metric", "rows"],
                        what=f"table of paper {pid}")
            if table["metric"] not in METRICS:
                _fail(path, table, f"metric must be one of {sorted(METRICS)}")
            if any(m["id"] == table["id"] for m in metas):
                _fail(path, table, f"duplicate table id {table['id']!r} in paper {pid}")
            _check_keys(path, table.get("defaults", {}), ROW_KEYS - {"values", "flags", "deltas"},
                        what=f"defaults of table {table['id']}")
            metas.append({k: table.get(k) for k in ("id", "caption", "metric", "tag",
                                                     "setting", "note")})
            for row in table["rows"]:
                for e in _expand(path, pid, table, row, doc["students"], doc["methods"]):
                    k = (e.paper, e.table, *(getattr(e, c) for c in KEY), e.setting)
                    if k in seen:
                        _fail(path, row, f"duplicate cell {k[2:-1]} (first at line {seen[k]})")
                    seen[k] = e.line
                    entries.append(e)
        papers[pid] = {**{k: paper.get(k) for k in ("title", "arxiv", "source")},
                       "test_sizes": dict(paper.get("test_sizes") or {}), "tables": metas}
    return Reported(path, entries, papers, dict(doc["students"]), dict(doc["methods"]))


def average_mismatches(entries: Iterable[Entry], tol: float = 0.011) -> list[tuple[Entry, float]]:
    """Printed averages that differ from the mean of the row's four printed values by > tol."""
    cells = {}
    for e in entries:
        cells[(e.paper, e.table, e.student, e.method, e.strategy, e.round, e.setting,
               e.dataset)] = e
    out = []
    for k, e in cells.items():
        if e.dataset != AVG or e.value is None:
            continue
        parts = [cells.get((*k[:-1], d)) for d in DATASETS]
        if all(p is not None and p.value is not None for p in parts):
            mean = sum(p.value for p in parts) / len(parts)
            if abs(mean - e.value) > tol:
                out.append((e, mean))
    return out
