"""The per-paper protocol as wired into the grid (issue 15), without Snakemake: every option
of an iterative method reaches a rule, several teachers with their own outputs, per-method
train and eval sets, Tailored Learning's few-shot rules and pretrained round."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from mathdistill.workflow.grid import CONTINUES, OPTION_KEYS, Grid
from mathdistill.workflow.jobs import Jobs

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
DEFS = SCHEMA["$defs"]


def _cfg():
    return yaml.safe_load((REPO / "tests" / "configs" / "protocol.yaml").read_text())


# ---------------------------------------------------------------- option routing
def _rule_blocks() -> dict[str, str]:
    """{rule name: its text} of every rule in rules/*.smk."""
    out = {}
    for path in sorted((REPO / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=rule )", path.read_text())[1:]:
            out[block.split(":", 1)[0][5:]] = block
    return out


def _types_of(block: str) -> set[str]:
    """Method types a rule's `method` wildcard is limited to."""
    types = set(re.findall(r'GRID\.of_type\("(\w+)"\)', block))
    if "GRID.fewshot_runs()" in block:
        types.add("tailored")
    return types


@pytest.mark.parametrize("kind", sorted(OPTION_KEYS))
def test_every_option_of_an_iterative_type_reaches_a_rule(kind):
    """A schema option no rule reads would be silently dropped: changing it would rerun
    nothing and change nothing."""
    options = set(DEFS[f"options_{kind}"]["properties"])
    read = {k for keys in OPTION_KEYS[kind].values() for k in keys}
    continues = {CONTINUES[kind][0]}  # decides the train rule's inputs (resume_from)
    assert options == read | continues, sorted(options ^ (read | continues))
    # and every step's subset is a param of a rule limited to this type
    steps = {step: [] for step in OPTION_KEYS[kind]}
    for name, block in _rule_blocks().items():
        for step in re.findall(r'option_subset\(w\.method, "(\w+)"\)', block):
            assert kind not in _types_of(block) or step in steps, (name, step)
            if kind in _types_of(block):
                steps[step].append(name)
    assert all(steps.values()), steps


def test_methods_without_option_subsets_pass_all_their_options():
    blocks = _rule_blocks()
    for name in ("train", "predict_multi", "siked_generate", "siked_train"):
        assert "method=per_run(GRID.method_params)" in blocks[name], name
    g = Grid(_cfg())
    assert g.method_params("siked_all")["options"] == g.run("siked_all").options


def _another(prop: dict, current):
    """A valid value of a schema property that differs from `current`."""
    if "$ref" in prop:
        return {"max_new_tokens": 7} if prop["$ref"].endswith("generation") else (
            current or 0) + 3
    if "enum" in prop:
        return next(v for v in prop["enum"] if v != current)
    kinds = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    if "boolean" in kinds:
        return not current
    if "array" in kinds:
        return ["eot"] if current != ["eot"] else ["l2m"]
    if "string" in kinds:
        return "svamp"
    return (current or 0) + 0.25 if "number" in kinds else (current or 0) + 1


@pytest.mark.parametrize("kind", sorted(OPTION_KEYS))
def test_changing_any_option_changes_what_some_rule_reads(kind):
    cfg = _cfg()
    name = next(m for m, c in cfg["methods"].items() if c["type"] == kind)

    def reads(c):
        g = Grid(c)
        assert g.problems == []
        return ({step: g.option_subset(name, step) for step in OPTION_KEYS[kind]},
                g.on_policy(name))

    before = reads(cfg)
    for key, prop in DEFS[f"options_{kind}"]["properties"].items():
        other = copy.deepcopy(cfg)
        opts = other["methods"][name].setdefault("options", {})
        default = CONTINUES[kind][1] if key == CONTINUES[kind][0] else None
        opts[key] = _another(prop, opts.get(key, default))
        assert reads(other) != before, key


# ---------------------------------------------------------------- several teachers
def test_each_teacher_has_its_own_outputs_shared_by_its_methods():
    cfg = _cfg()
    cfg["teachers"]["other"] = {"backend": "annotated", "n": 2}
    for m in cfg["methods"].values():
        m.setdefault("teacher", "annotated")
    cfg["methods"]["l2md"]["teacher"] = "other"
    cfg["methods"]["cotd_other"] = {"type": "single", "strategies": ["cot"], "teacher": "other"}
    g = Grid(cfg)
    assert g.problems == []
    jobs = Jobs(g, REPO)
    assert g.teacher_strategies() == {"annotated": ["cot", "pot", "eot", "l2m"],
                                      "other": ["cot", "l2m"]}
    assert jobs.round_inputs("cotd_other", "tiny-t5", 0)["rationales"] == [
        "results/teacher/other/cot/filtered.jsonl"]
    assert jobs.round_inputs("cotd", "tiny-t5", 0)["rationales"] == [
        "results/teacher/annotated/cot/filtered.jsonl"]
    assert g.teacher_params("other") == {"name": "other", "backend": "annotated", "options": {}}
    assert jobs.teacher_problems("other") == jobs.teacher_problems("annotated") == \
        "results/data/train.jsonl"
    assert len(jobs.teacher_outputs("cost.json")) == 6


def test_a_method_with_its_own_train_set_and_eval_sets():
    cfg = _cfg()
    cfg["teachers"]["csqa_teacher"] = {"backend": "annotated"}
    for m in cfg["methods"].values():
        m["teacher"] = "annotated"
    cfg["eval_sets"]["csqa"] = {"dataset": "csqa", "split": "dev", "limit": 20}
    cfg["methods"]["tl_csqa"] = {
        "type": "tailored", "strategies": ["cot"], "teacher": "csqa_teacher",
        "train_set": {"dataset": "csqa", "split": "train", "limit": 50},
        "eval_sets": ["csqa"], "options": {"prompt": "fewshot"}}
    g = Grid(cfg)
    assert g.problems == []
    name = g.train_set_of("tl_csqa")
    assert name.startswith("train_csqa_train_") and g.train_set_of("cotd") == "train"
    assert g.loader(name) == {"dataset": "csqa", "split": "train", "limit": 50, "options": {}}
    jobs = Jobs(g, REPO)
    assert jobs.teacher_problems("csqa_teacher") == f"results/data/{name}.jsonl"
    assert jobs.round_inputs("tl_csqa", "tiny-t5", 0)["train_file"] == f"results/data/{name}.jsonl"
    metrics = [m for m in jobs.metrics() if "/tl_csqa/" in m]
    assert metrics and all(m.endswith("/metrics/csqa.json") for m in metrics)
    # the other methods are scored on every eval set (their default), csqa included
    assert "results/cotd/tiny-t5/round0/metrics/csqa.json" in jobs.metrics()
    assert g.eval_task("tl_csqa") == "csqa"


# ---------------------------------------------------------------- Tailored Learning
def test_fewshot_tailored_runs_have_their_own_prediction_rules_and_a_pretrained_round():
    cfg = _cfg()
    cfg["methods"]["tailored"]["options"]["prompt"] = "fewshot"
    g = Grid(cfg)
    assert g.fewshot_runs() == ["tailored"]
    assert "tailored" not in g.predicted_by_predict() and "cotd" in g.predicted_by_predict()
    jobs = Jobs(g, REPO)
    pre = jobs.pretrained_metrics()
    assert pre == [f"results/tailored/tiny-t5/pretrained/metrics/{d}.json"
                   for d in cfg["eval_sets"]]
    assert not set(pre) & set(jobs.metrics())
    assert g.option_subset("tailored", "eval") == {"prompt": "fewshot"}
    assert g.option_subset("tailored", "exam")["prompt"] == "fewshot"
    assert g.option_subset("tailored", "round")["prompt"] == "fewshot"
    assert g.eval_task("tailored") == "synthetic"  # its train set's demos (-> GSM8K's)
    cfg["methods"]["tailored"]["options"]["prompt"] = "project"
    assert Jobs(Grid(cfg), REPO).pretrained_metrics() == []
    blocks = _rule_blocks()
    assert "only(GRID.fewshot_runs())" in blocks["tailored_predict"]
    assert "only(GRID.predicted_by_predict())" in blocks["predict"]
    assert "/pretrained/predictions\")" in blocks["tailored_pretrained"]  # a folder
