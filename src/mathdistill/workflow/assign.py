"""Which teacher, train set and eval sets serve each configured method (the grid's protocol).

    from mathdistill.workflow.assign import assign
    a = assign(config)              # a schema-valid config
    a.teacher["siked_all"]          # "llama3-70b": the method's `teacher`, or the only teacher
    a.train["tailored_csqa"]        # "train_csqa_train": its data file results/data/<name>.jsonl
    a.train_sets["train"]           # the loader spec of the top-level train_set
    a.evals["siked_all"]            # ["gsm8k", "asdiv_all", ...]: its `eval_sets` (default all)
    a.problems                      # [(key path, message)]: what the schema cannot check

A teacher annotates one train set: its outputs (teacher/<name>/<strategy>/) are that set's
rationales, so the methods naming one teacher must share their train set; a method with
another train set names a teacher of its own. Train sets are named by what they are: "train"
for the top-level `train_set`, else `train_<dataset>_<split>` (plus a digest of `limit` /
`options` when set), so two methods with the same train set share one prepared file. Eval
sets map to the papers' data sets by `paper_key` (default: their name); one method may not
be scored on two eval sets that stand for the same paper data set.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Assignment", "assign", "train_set_name"]

TRAIN = "train"  # the name of the top-level train_set


def _spec(spec: Mapping) -> dict:
    """The part of a loader spec that decides its problems (paper_key does not)."""
    return {"dataset": spec["dataset"], "split": spec["split"], "limit": spec.get("limit"),
            "options": dict(spec.get("options") or {})}


def train_set_name(spec: Mapping, default: Mapping) -> str:
    """"train" for the top-level train set, else a name made of what the set is."""
    spec = _spec(spec)
    if spec == _spec(default):
        return TRAIN
    name = f"train_{spec['dataset']}_{spec['split']}"
    if spec["limit"] is not None or spec["options"]:
        blob = json.dumps({"limit": spec["limit"], "options": spec["options"]}, sort_keys=True)
        name += "_" + hashlib.sha256(blob.encode()).hexdigest()[:8]
    return name


@dataclass
class Assignment:
    teacher: dict[str, str | None] = field(default_factory=dict)  # method -> teacher
    train: dict[str, str] = field(default_factory=dict)           # method -> train set name
    train_sets: dict[str, dict] = field(default_factory=dict)     # name -> loader spec
    evals: dict[str, list[str]] = field(default_factory=dict)     # method -> eval set names
    problems: list[tuple[tuple, str]] = field(default_factory=list)


def assign(config: Mapping) -> Assignment:
    a = Assignment()
    teachers = dict(config.get("teachers") or {})
    eval_sets = dict(config["eval_sets"])
    a.train_sets[TRAIN] = _spec(config["train_set"])
    if "paper_key" in config["train_set"]:
        a.problems.append((("train_set", "paper_key"), "only eval sets have a paper_key"))
    for name, cfg in config["methods"].items():
        where = ("methods", name)
        a.teacher[name] = _teacher(cfg, teachers, where, a.problems)
        spec = cfg.get("train_set") or config["train_set"]
        if "paper_key" in spec:
            a.problems.append(((*where, "train_set", "paper_key"),
                               "only eval sets have a paper_key"))
        a.train[name] = train_set_name(spec, config["train_set"])
        a.train_sets.setdefault(a.train[name], _spec(spec))
        a.evals[name] = _evals(cfg, eval_sets, where, a.problems)
    for t in teachers:
        used = sorted({a.train[m] for m, tt in a.teacher.items() if tt == t})
        if len(used) > 1:
            users = {s: [m for m in a.train if a.teacher[m] == t and a.train[m] == s]
                     for s in used}
            listed = "; ".join(f"{s}: {', '.join(ms)}" for s, ms in users.items())
            message = (f"a teacher annotates one train set, but the methods naming {t!r} use "
                       f"{len(used)} ({listed}): give each train set a teacher of its own")
            a.problems.append((("teachers", t), message))
    for clash in sorted(set(a.train_sets) & set(eval_sets)):
        a.problems.append((("eval_sets", clash), f"{clash!r} is the name of a train set"))
    return a


def _teacher(cfg: Mapping, teachers: Mapping, where: tuple, problems: list) -> str | None:
    name = cfg.get("teacher")
    if not teachers:  # the schema reports the missing `teachers`
        return None
    if name is None:
        if len(teachers) == 1:
            return next(iter(teachers))
        message = (f"the config has {len(teachers)} teachers ({', '.join(teachers)}): name "
                   f"this method's with teacher: <name>")
        problems.append(((*where, "teacher"), message))
        return None
    if name not in teachers:
        problems.append(((*where, "teacher"),
                         f"unknown teacher {name!r} (teachers: {', '.join(teachers)})"))
        return None
    return name


def _evals(cfg: Mapping, eval_sets: Mapping, where: tuple, problems: list) -> list[str]:
    names = list(cfg.get("eval_sets") or eval_sets)
    for bad in [n for n in names if n not in eval_sets]:
        problems.append(((*where, "eval_sets"),
                         f"unknown eval set {bad!r} (eval_sets: {', '.join(eval_sets)})"))
    names = [n for n in names if n in eval_sets]
    seen: dict[str, str] = {}
    for n in names:
        key = eval_sets[n].get("paper_key", n)
        if key in seen:
            message = (f"eval sets {seen[key]!r} and {n!r} both stand for the paper data set "
                       f"{key!r} (paper_key): score the method on one")
            problems.append(((*where, "eval_sets"), message))
        seen.setdefault(key, n)
    return names
