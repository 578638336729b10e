"""config/schema.yaml and mathdistill.workflow.validate: every key typed, in step with the
library's config dataclasses and options (so the two cannot drift), and every problem of a
config reported at once with its file, line and key path."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from mathdistill.workflow.settings import OPERATIONAL
from mathdistill.workflow.validate import ConfigError, check_config, key_lines, schema_errors

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "config" / "schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_FILE.read_text())
DEFS = SCHEMA["$defs"]
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


CONFIGS = [p for p in sorted((REPO / "config").glob("*.yaml"))
           if p.name not in ("schema.yaml", "paper_results.yaml")]


@pytest.mark.parametrize("path", [*CONFIGS, *sorted((REPO / "tests" / "configs").glob("*.yaml"))],
                         ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    cfg = yaml.safe_load(path.read_text())
    check_config(cfg, [path], schema=SCHEMA_FILE)


# ---------------------------------------------------------------- schema vs the library
def _resolve(prop: dict) -> dict:
    while "$ref" in prop and len(prop) == 1 or "$ref" in prop and "type" not in prop \
            and "enum" not in prop and "anyOf" not in prop:
        prop = {**DEFS[prop["$ref"].rsplit("/", 1)[1]],
                **{k: v for k, v in prop.items() if k != "$ref"}}
    return prop


def _json_types(prop: dict) -> set[str]:
    """The JSON types a property schema accepts (integer counts as a number)."""
    prop = _resolve(prop)
    if "anyOf" in prop:
        return set().union(*(_json_types(p) for p in prop["anyOf"]))
    if "enum" in prop:
        names = {bool: "boolean", int: "integer", float: "number", str: "string",
                 type(None): "null"}
        return {names[type(v)] for v in prop["enum"]}
    types = prop.get("type", [])
    return {types} if isinstance(types, str) else set(types)


ANNOTATION_TYPES = {"None": "null", "int": "integer", "float": "number", "bool": "boolean",
                    "str": "string", "os.PathLike": "string", "dict": "object",
                    "Mapping": "object", "list": "array", "Sequence": "array", "tuple": "array"}


def _annotation_types(annotation) -> set[str]:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    out = set()
    for part in re.split(r"\s*\|\s*", text):
        base = part.split("[")[0].strip()
        assert base in ANNOTATION_TYPES, f"annotation {annotation!r}: no JSON type for {base}"
        out.add(ANNOTATION_TYPES[base])
    if "number" in out:
        out.add("integer")
    return out


def _check_property(where: str, prop: dict, annotation, default, extra: set = frozenset()):
    """The schema accepts only what the annotation allows (+ `extra` types the code converts),
    and the library's default value."""
    schema_types = _json_types(prop)
    allowed = _annotation_types(annotation) | set(extra)
    if "number" in schema_types:
        assert "number" in allowed, f"{where}: schema allows a number, code takes {annotation}"
    assert schema_types <= allowed | ({"integer"} if "number" in allowed else set()), \
        f"{where}: schema types {sorted(schema_types)} vs annotation {annotation}"
    if default is not inspect.Parameter.empty and default is not dataclasses.MISSING:
        sub = jsonschema.Draft202012Validator({**prop, "$defs": DEFS})
        value = list(default) if isinstance(default, tuple) else default
        errors = [e.message for e in sub.iter_errors(value)]
        assert not errors, f"{where}: the default {default!r} is rejected: {errors}"


def _fields(cls) -> dict:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        out[f.name] = (f.type, default)
    return out


@pytest.mark.parametrize("name, cls_path, not_config, converts", [
    ("train", "mathdistill.students.training:TrainConfig",
     {"lora": "students.<name>.lora", "extra_fields": "set by the stages"}, {}),
    ("generation", "mathdistill.students.generation:GenerationConfig", {},
     {"stop": {"string"}}),  # a lone stop string becomes [string]
])
def test_student_settings_match_the_dataclass(name, cls_path, not_config, converts):
    import importlib

    module, _, attr = cls_path.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    fields = _fields(cls)
    props = DEFS[name]["properties"]
    assert set(props) == set(fields) - set(not_config), \
        f"schema {name} vs {cls.__name__}: {sorted(set(props) ^ (set(fields) - set(not_config)))}"
    for key, prop in props.items():
        annotation, default = fields[key]
        _check_property(f"{name}.{key}", prop, annotation, default, converts.get(key, set()))


def test_enums_match_the_library():
    from transformers import SchedulerType

    from mathdistill.students.config import _DTYPES
    from mathdistill.students.generation import BACKENDS

    assert set(DEFS["generation"]["properties"]["backend"]["enum"]) == set(BACKENDS)
    assert set(DEFS["generation"]["properties"]["dtype"]["enum"]) == {"auto", *_DTYPES}
    schedulers = set(DEFS["train"]["properties"]["scheduler"]["enum"])
    assert schedulers <= {s.value for s in SchedulerType} and "linear" in schedulers


def test_lora_and_build_options_match_the_library():
    from mathdistill.students.lora import LORA_KEYS
    from mathdistill.students.presets import build_tiny

    assert set(DEFS["lora"]["properties"]) == LORA_KEYS
    params = {p.name: p for p in inspect.signature(build_tiny).parameters.values()
              if p.kind is p.KEYWORD_ONLY and p.name != "seed"}  # seed: the config's seed
    build = DEFS["student"]["properties"]["build"]["properties"]
    assert set(build) == set(params)
    for key, prop in build.items():
        _check_property(f"build.{key}", prop, params[key].annotation, params[key].default)


def _method_options():
    """type -> (options a method's config may set, with their defaults)."""
    from mathdistill.methods import combined, etd, selection, siked
    from mathdistill.stages import fdd, tailored

    own = {"rounds", "strategy", "strategies"}  # the method's own keys, not options
    out = {"single": selection.DEFAULTS, "etd": etd.DEFAULTS, "combined": combined.DEFAULTS,
           "siked": siked.DEFAULTS,
           "fdd": fdd.parse_options({}), "tailored": tailored.parse_options({})}
    return {t: {k: v for k, v in d.items() if k not in own} for t, d in out.items()}


@pytest.mark.parametrize("kind", ["single", "etd", "combined", "siked", "fdd", "tailored"])
def test_method_options_match_the_library(kind):
    options = _method_options()[kind]
    props = DEFS[f"options_{kind}"]["properties"]
    assert set(props) == set(options), f"{kind}: {sorted(set(props) ^ set(options))}"
    for key, default in options.items():
        sub = jsonschema.Draft202012Validator({**props[key], "$defs": DEFS})
        assert not list(sub.iter_errors(default)), f"{kind}.{key}: default {default!r} rejected"
    # the type of each default is what the schema asks for (None: also a value)
    from mathdistill.methods import selection

    for key, default in options.items():
        if default is not None and not isinstance(default, (dict, list)):
            nullable = {"null"} if key in selection.DEFAULTS else set()  # null: keep all
            _check_property(f"{kind}.{key}", props[key], type(default).__name__, default,
                            extra=nullable)


def test_single_takes_only_the_selection_options():
    errors = schema_errors({**yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text()),
                            "methods": {"x": {"type": "single", "strategies": ["cot"],
                                              "options": {"k": 1}}}}, SCHEMA_FILE)
    assert errors and errors[0][0][:3] == ("methods", "x", "options")
    errors = schema_errors({**yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text()),
                            "methods": {"x": {"type": "single", "strategies": ["cot"],
                                              "options": {"teacher_chains": 1}}}}, SCHEMA_FILE)
    assert not errors


@pytest.mark.parametrize("backend", ["annotated", "openai", "vllm", "hf"])
def test_teacher_options_match_the_backend_signatures(backend):
    from mathdistill import teachers
    from mathdistill.workflow.closure import ImportGraph

    table = ImportGraph(REPO / "src")._table("mathdistill.teachers", "_BACKENDS")
    module, _, attr = table[backend].partition(":")
    import importlib

    params = {p.name: p for p in inspect.signature(
        getattr(importlib.import_module(module), attr)).parameters.values()}
    assert set(table) == set(teachers.TEACHERS)
    schema = DEFS[f"teacher_{backend}"]
    if "$ref" in schema:  # the LLM backends' jobs also take teachers.job's options
        from mathdistill.teachers.job import JOB_OPTIONS

        params.update({k: inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v,
                                            annotation="float") for k, v in JOB_OPTIONS.items()})
    props = dict(schema["properties"])
    if "$ref" in schema:
        props.update(DEFS[schema["$ref"].rsplit("/", 1)[1]]["properties"])
    assert set(props) == set(params), f"{backend}: {sorted(set(props) ^ set(params))}"
    for key, prop in props.items():
        _check_property(f"teacher {backend}.{key}", prop, params[key].annotation,
                        params[key].default)
    required = {k for k, p in params.items() if p.default is inspect.Parameter.empty}
    assert required == set(schema.get("required", [])), backend
    names = SCHEMA["$defs"]["teacher"]["properties"]["backend"]["enum"]
    assert set(names) == set(teachers.TEACHERS)


def test_filter_options_match_the_library():
    from mathdistill.execution import run_programs, solve_equations
    from mathdistill.filtering import filter_rationales

    params = {}
    for fn in (filter_rationales, run_programs, solve_equations):
        params.update({p.name: p for p in inspect.signature(fn).parameters.values()
                       if p.kind is p.KEYWORD_ONLY})
    props = DEFS["filter"]["properties"]
    assert set(props) == set(params)
    for key, prop in props.items():
        _check_property(f"filter.{key}", prop, params[key].annotation, params[key].default)


def test_loaders_match_the_data_registry():
    from mathdistill.data.loaders import DATASETS, REGISTRY, SPLITS, SYNTHETIC_OPTIONS

    loader = DEFS["loader"]
    assert set(loader["properties"]["dataset"]["enum"]) == set(DATASETS)
    seen = set()
    for rule in loader["allOf"]:
        names = rule["if"]["properties"]["dataset"]
        names = [names["const"]] if "const" in names else names["enum"]
        then = rule["then"]["properties"]
        for name in names:
            seen.add(name)
            assert set(then["split"]["enum"]) == set(SPLITS[name]), name
            opts = then["options"]
            allowed = set(opts.get("properties", {})) if opts.get("maxProperties") != 0 else set()
            want = set(SYNTHETIC_OPTIONS) if name == "synthetic" else {
                *(REGISTRY[name].options or {}), *REGISTRY[name].flags}
            assert allowed == want, name
    assert seen == set(DATASETS)


def test_operational_keys_exist_in_their_sections():
    teacher = set(DEFS["teacher_common"]["properties"])
    for backend in ("annotated", "openai", "vllm", "hf"):
        teacher |= set(DEFS[f"teacher_{backend}"]["properties"])
    sections = {"train": set(DEFS["train"]["properties"]),
                "generation": set(DEFS["generation"]["properties"]),
                "teacher": teacher, "filter": set(DEFS["filter"]["properties"])}
    assert set(OPERATIONAL) == set(sections)
    for name, keys in OPERATIONAL.items():
        assert keys <= sections[name], f"{name}: {sorted(keys - sections[name])}"
    # what an experiment decides stays a param
    assert not {"epochs", "lr", "batch_size", "seed"} & OPERATIONAL["train"]
    assert not {"max_new_tokens", "temperature", "do_sample", "num_samples"} & OPERATIONAL[
        "generation"]
    assert not {"model", "temperature", "max_tokens", "n_shots", "prompt_style"} & OPERATIONAL[
        "teacher"]


# ---------------------------------------------------------------- validation messages
BAD = """\
seed: 0
train_set: {dataset: synthetic, split: train, options: {n: 10}}
eval_sets:
  gsm8k: {dataset: gsm8k, split: tset}
teachers:
  t:
    backend: annotated
    options: {concurrency: 4}
students:
  small:
    model: tiny-t5
    train: {epochs: eight}
methods:
  cotd: {type: singel, strategies: [cot]}
  potd: {type: single, strategies: [pot], students: [nobody]}
  siked: {type: siked, strategies: [cot], options: {policy: off}}
"""


def test_every_problem_at_once_with_file_line_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(ConfigError) as err:
        check_config(yaml.safe_load(BAD), [path], schema=SCHEMA_FILE)
    problems = err.value.problems
    expect = [(4, "eval_sets.gsm8k.split", "'tset' is not one of ['train', 'test']"),
              (8, "teachers.t.options.concurrency", "unknown key"),
              (12, "students.small.train.epochs", "'eight' is not of type 'number'"),
              (14, "methods.cotd.type", "'singel' is not one of"),
              (15, "methods.potd.students", "unknown student 'nobody'"),
              (16, "methods.siked.options.policy", "False is not one of ['on', 'off']")]
    assert len(problems) == len(expect), problems
    for line, (n, key, message) in zip(problems, expect):
        assert line.startswith(f"{path}:{n}: {key}: ") and message in line, (line, key)
    assert f"{len(expect)} problems" in str(err.value)


def test_origins_follow_the_merge_order_and_anchors(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    over = tmp_path / "over.yaml"
    over.write_text("students:\n  tiny-t5:\n    train: {epochs: many}\n"
                    "methods:\n  extra: &m {type: single, strategies: [xot]}\n"
                    "  again: {<<: *m, rounds: 1}\n")
    merged = yaml.safe_load(base.read_text())
    merged["students"]["tiny-t5"]["train"]["epochs"] = "many"
    merged["methods"]["extra"] = {"type": "single", "strategies": ["xot"]}
    merged["methods"]["again"] = {"type": "single", "strategies": ["xot"], "rounds": 1}
    merged["results_dir"] = 5
    with pytest.raises(ConfigError) as err:
        check_config(merged, [base, over], {"results_dir": 5}, schema=SCHEMA_FILE)
    text = "\n".join(err.value.problems)
    assert f"{over}:3: students.tiny-t5.train.epochs: 'many'" in text
    assert f"{over}:5: methods.extra.strategies[0]: 'xot'" in text
    assert f"{over}:5: methods.again.strategies[0]: 'xot'" in text  # the anchor's line
    assert "--config: results_dir: 5 is not of type 'string'" in text
    assert key_lines(over)[("methods", "again", "rounds")] == 6


def test_the_old_singular_teacher_key_says_what_to_write(tmp_path):
    cfg = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    cfg["teacher"] = {"name": "annotated"}
    del cfg["teachers"]
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        check_config(cfg, [path], schema=SCHEMA_FILE)
    text = "\n".join(err.value.problems)
    assert "teacher: the one `teacher:` is now `teachers: {<name>: {backend:" in text
    assert "'teachers' is a required property" in text
    assert "methods.cotd" not in text  # no teacher problem per method on top of it


def test_teacher_train_and_eval_set_problems(tmp_path):
    cfg = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    cfg["teachers"]["other"] = {"backend": "annotated", "n": 2}
    cfg["eval_sets"]["gsm8k_again"] = {"dataset": "gsm8k", "split": "test", "limit": 3,
                                       "paper_key": "gsm8k"}
    cfg["methods"]["potd"]["teacher"] = "nobody"
    cfg["methods"]["l2md"] = {"type": "single", "strategies": ["l2m"], "teacher": "other",
                              "eval_sets": ["gsm8k", "gsm8k_again", "nowhere"]}
    cfg["methods"]["csqa"] = {"type": "single", "strategies": ["cot"], "teacher": "other",
                              "train_set": {"dataset": "csqa", "split": "train"},
                              "eval_sets": ["synthetic"]}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    with pytest.raises(ConfigError) as err:
        check_config(cfg, [path], schema=SCHEMA_FILE)
    text = "\n".join(err.value.problems)
    assert "methods.cotd.teacher: the config has 2 teachers (annotated, other): name" in text
    assert "methods.potd.teacher: unknown teacher 'nobody' (teachers: annotated, other)" in text
    assert "methods.l2md.eval_sets: unknown eval set 'nowhere'" in text
    assert ("methods.l2md.eval_sets: eval sets 'gsm8k' and 'gsm8k_again' both stand for the "
            "paper data set 'gsm8k'") in text
    assert ("teachers.other: a teacher annotates one train set, but the methods naming "
            "'other' use 2 (train: l2md; train_csqa_train: csqa)") in text
    # cotd and potd are scored on every eval set (default): gsm8k twice as well
    assert "methods.cotd.eval_sets: eval sets 'gsm8k' and 'gsm8k_again'" in text
    assert len(err.value.problems) == 7, text


def test_a_schema_valid_config_is_not_validated_again(tmp_path, monkeypatch):
    """check_config(cache_file=...) keeps digests of configs the schema accepted: the same
    config (and schema) skips the schema; another config, or one the schema rejects, does not."""
    from mathdistill.workflow import validate

    path = REPO / "tests" / "configs" / "tiny.yaml"
    cfg = yaml.safe_load(path.read_text())
    cache = tmp_path / "cache" / "valid.json"
    calls = []
    real = validate.schema_errors
    monkeypatch.setattr(validate, "schema_errors",
                        lambda c, s: calls.append(1) or real(c, s))
    check_config(cfg, [path], schema=SCHEMA_FILE, cache_file=cache)
    check_config(cfg, [path], schema=SCHEMA_FILE, cache_file=cache)
    assert len(calls) == 1 and len(json.loads(cache.read_text())) == 1
    other = {**cfg, "seed": 7}
    check_config(other, [path], schema=SCHEMA_FILE, cache_file=cache)
    assert len(calls) == 2 and len(json.loads(cache.read_text())) == 2
    bad = {**cfg, "seed": "seven"}
    for _ in range(2):  # never cached: reported every time
        with pytest.raises(ConfigError, match="seed"):
            check_config(bad, [path], schema=SCHEMA_FILE, cache_file=cache)
    assert len(calls) == 4 and len(json.loads(cache.read_text())) == 2
    schema = tmp_path / "schema.yaml"  # another schema: validated again
    schema.write_text(SCHEMA_FILE.read_text() + "\n# edited\n")
    check_config(cfg, [path], schema=schema, cache_file=cache)
    assert len(calls) == 5
    cache.write_text("not json")  # a damaged cache is ignored, then rewritten
    check_config(cfg, [path], schema=SCHEMA_FILE, cache_file=cache)
    assert len(calls) == 6 and len(json.loads(cache.read_text())) == 1
