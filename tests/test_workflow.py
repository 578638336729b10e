"""The Snakemake workflow: DAG (dry run), lint, schema, methods.single, and (slow) a tiny
end-to-end run in a temporary work copy with rerun-invalidation checks.

The workflow runs in a copy of the repository's workflow files and src/ (never in the
checkout itself), with tests/configs/tiny.yaml copied over config/config.yaml.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mathdistill.records import Rationale

REPO = Path(__file__).resolve().parents[1]
COPY = ["Snakefile", "rules", "workflow", "envs", "profiles", "config", "src", "report"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".snakemake", "results")


def work_copy(dest: Path, config: Path | None = None) -> Path:
    """A copy of the workflow and library; `config` replaces config/config.yaml."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPY:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=IGNORE)
        else:
            shutil.copy2(src, dest / name)
    if config is not None:
        shutil.copy2(config, dest / "config" / "config.yaml")
    return dest


def snakemake(cwd: Path, *args: str, data_dir: Path, check: bool = True, timeout: int = 600,
              env: dict | None = None):
    extra = env or {}
    env = {**os.environ, "MATHDISTILL_DATA": str(data_dir), **extra}
    if "PYTHONPATH" not in extra:  # the Snakefile puts the work copy's src/ there
        env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a dry run: rule -> number of jobs."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Job stats"))
    counts = {}
    for line in lines[start + 3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def expected_counts(cfg: dict) -> dict[str, int]:
    methods, students, evals = cfg["methods"], cfg["students"], cfg["eval_sets"]
    seeds = cfg.get("seeds") or [cfg.get("seed", 0)]
    runs = sum(len(m.get("students") or students) * m.get("rounds", 1) * len(m.get("seeds") or seeds)
               for m in methods.values())
    strategies = {s for m in methods.values() for s in m["strategies"]}
    tiny = sum(1 for s in students.values() if s["model"].startswith("tiny-"))
    counts = {"prepare_data": 1 + len(evals), "build_student": tiny,
              "teacher_generate": len(strategies), "filter_rationales": len(strategies),
              "train": runs, "predict": runs,  # train builds its data; predict: all eval sets
              "tables": 1, "claims": 1, "plots": 1, "paper_tables": 1, "all": 1}
    iterative_counts(cfg, counts)
    return {**counts, "total": sum(counts.values())}


def iterative_counts(cfg: dict, counts: dict) -> None:
    """FDD / Tailored Learning runs use their own rules (rules/fdd.smk, rules/tailored.smk);
    Tailored's positive_strategies are teacher strategies too. Rules with no job drop out."""
    seeds = cfg.get("seeds") or [cfg.get("seed", 0)]
    strategies = set()
    for m in cfg["methods"].values():
        strategies |= {*m["strategies"], *(m.get("options") or {}).get("positive_strategies", [])}
        n = len(m.get("students") or cfg["students"]) * len(m.get("seeds") or seeds)
        r = m.get("rounds", 1)
        own = {"fdd": {"train": -r, "fdd_train": r, "fdd_exam": r - 1,
                       "fdd_generate": r - 1},
               "tailored": {"train": -r, "tailored_train": r, "tailored_exam": r,
                            "tailored_feedback": r - 1}}.get(m["type"], {})
        own = {**own, **multi_counts(m, r)}
        if m["type"] == "fdd" and m.get("round0_from"):  # no round-0 data, training
            own = add_counts(own, reuse_counts("predict", "fdd_train"))
        if m["type"] == "tailored" and m.get("round0_from"):  # no round-0 exam, data, training
            own = add_counts(own, {"tailored_exam": -1,
                                   **reuse_counts("predict", "tailored_train")})
        for rule, k in own.items():
            counts[rule] = counts.get(rule, 0) + n * k
    counts["teacher_generate"] = counts["filter_rationales"] = len(strategies)
    for rule in [k for k, v in counts.items() if v == 0]:
        del counts[rule]


def multi_counts(m: dict, r: int) -> dict[str, int]:
    """ETD / Combined / SIKeD runs (rules/predict.smk predict_multi, rules/siked.smk); a
    round0_from SIKeD run copies the Combined run's round 0 (rules/reuse.smk)."""
    if m["type"] not in ("etd", "combined", "siked"):
        return {}
    own = {"predict": -r, "predict_multi": r}
    if m["type"] == "siked":
        own.update(train=-r, siked_train=r, siked_generate=r - 1)
        if m.get("round0_from"):  # (no round-0 mix: mix_stats.json only of its own rounds)
            own = add_counts(own, reuse_counts("predict_multi", "siked_train"))
    return own


def add_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}


def reuse_counts(predict_rule: str, train_rule: str = "train") -> dict[str, int]:
    """A round0_from run (SIKeD, FDD, Tailored) copies round 0's checkpoint and (same generation
    settings) predictions: no round-0 train / predict jobs, one reuse job each instead
    (changes to a run's counts)."""
    return {train_rule: -1, "reuse_round0": 1, "reuse_predictions": 1, predict_rule: -1}


# ------------------------------------------------------------------ fast tests
def test_dry_run_default_config_dag(tmp_path, data_dir):
    work = work_copy(tmp_path / "wf")
    out = snakemake(work, "-n", "--cores", "2", data_dir=data_dir).stdout
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert job_counts(out) == expected_counts(cfg)
    assert "results/tables/accuracy.md" in out and "results/tables/claims.md" in out
    assert cfg["budget"]["steps_per_round"] >= 1  # one training budget for every run
    assert len(cfg["eval_sets"]) == 1 and cfg["eval_sets"]["synthetic"]["options"]["n"] >= 500
    for m in cfg["methods"]:  # one folder per model: predictions/<eval set>.jsonl
        assert f"results/{m}/tiny-t5/round0/predictions," in out


def test_dry_run_tiny_config_dag(tmp_path, data_dir):
    """--configfile replaces the default config (nothing of config/config.yaml leaks in)."""
    config = REPO / "tests" / "configs" / "tiny.yaml"
    work = work_copy(tmp_path / "wf")
    out = snakemake(work, "-n", "--cores", "2", "--configfile", str(config),
                    data_dir=data_dir).stdout
    assert job_counts(out) == expected_counts(yaml.safe_load(config.read_text()))
    assert "results/eotd/" not in out  # a default-only method


def test_configfiles_merge_in_order_and_config_overrides(tmp_path, data_dir):
    """Several --configfile merge in order; --config key=value wins over both."""
    tiny = REPO / "tests" / "configs" / "tiny.yaml"
    over = tmp_path / "over.yaml"
    over.write_text(yaml.safe_dump({"methods": {"l2md": {"type": "single",
                                                         "strategies": ["l2m"]}}}))
    work = work_copy(tmp_path / "wf")
    out = snakemake(work, "-n", "--configfile", str(tiny), str(over),
                    "--config", "results_dir=elsewhere", data_dir=data_dir).stdout
    cfg = yaml.safe_load(tiny.read_text())
    cfg["methods"]["l2md"] = {"type": "single", "strategies": ["l2m"]}
    assert job_counts(out) == expected_counts(cfg)
    assert "elsewhere/l2md/tiny-t5/round0/checkpoint" in out and "results/" not in out
    # no --configfile: the default config, still overridable key by key
    out = snakemake(work, "-n", "--config", "results_dir=other", data_dir=data_dir).stdout
    assert job_counts(out) == expected_counts(yaml.safe_load(
        (REPO / "config" / "config.yaml").read_text()))
    assert "other/eotd/tiny-t5/round0/checkpoint" in out


def test_dry_run_hub_student_and_method_subsets(tmp_path, data_dir):
    """A hub-id student needs no build_student job; methods may pick students."""
    cfg = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    cfg["students"]["flan-small"] = {"model": "google/flan-t5-small", "finetune": "lora",
                                     "lora": {"r": 8}}
    cfg["methods"]["cotd"]["students"] = ["flan-small"]
    cfg["methods"]["eotd"] = {"type": "single", "strategies": ["eot", "pot"],
                              "eval_strategy": "pot"}
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(cfg))
    work = work_copy(tmp_path / "wf", path)
    out = snakemake(work, "-n", "--cores", "2", data_dir=data_dir).stdout
    assert job_counts(out) == expected_counts(cfg)
    assert "results/cotd/flan-small/round0/checkpoint" in out
    assert "results/cotd/tiny-t5/" not in out and "results/students/flan-small" not in out


def _rule_resources(out: str, rule: str) -> list[str]:
    """The `resources:` / `threads:` lines of every job of `rule` in a dry run's output."""
    lines, found, inside = out.splitlines(), [], False
    for line in lines:
        if line.startswith("rule "):
            inside = line == f"rule {rule}:"
        elif inside and line.strip().startswith(("resources:", "threads:")):
            found.append(line.strip())
    return found


def test_resources_are_per_rule_and_profiles_override_them(tmp_path, data_dir):
    """Rule defaults (mathdistill.workflow.resources); --set-resources/--set-threads win."""
    work = work_copy(tmp_path / "wf")
    tiny = str(REPO / "tests" / "configs" / "tiny.yaml")
    cpu = {"MATHDISTILL_GPUS": "0"}
    out = snakemake(work, "-n", "--cores", "8", "--configfile", tiny, data_dir=data_dir,
                    env=cpu).stdout
    train = _rule_resources(out, "train")
    assert train and all("mem_mb=6000" in x and "gpu=0" in x for x in train if "resources" in x)
    out = snakemake(work, "-n", "--cores", "8", "--configfile", tiny,
                    "--set-resources", "train:mem_mb=1234", "train:gpu=2",
                    "--set-threads", "train=3", data_dir=data_dir, env=cpu).stdout
    train = _rule_resources(out, "train")
    assert [x for x in train if x.startswith("threads")] == ["threads: 3"] * job_counts(out)["train"]
    assert all("mem_mb=1234" in x and "gpu=2" in x for x in train if "resources" in x)
    predict = [x for x in _rule_resources(out, "predict") if "resources" in x]
    assert predict and all("mem_mb=4000" in x and "gpu=0" in x for x in predict)


def test_student_jobs_ask_for_the_gpu_on_a_gpu_machine(tmp_path, data_dir):
    """With a GPU visible (here: MATHDISTILL_GPUS=1 stands in for one), train and predict
    jobs ask for gpu=1 and nothing else does; the run caps `gpu` at the GPUs (checked by the
    end-to-end run below: no two GPU jobs at once)."""
    work = work_copy(tmp_path / "wf")
    tiny = str(REPO / "tests" / "configs" / "tiny.yaml")
    out = snakemake(work, "-n", "--cores", "8", "--configfile", tiny, data_dir=data_dir,
                    env={"MATHDISTILL_GPUS": "1"}).stdout
    for rule in ("train", "predict"):
        lines = [x for x in _rule_resources(out, rule) if "resources" in x]
        assert lines and all("gpu=1" in x for x in lines), rule
    for rule in ("prepare_data", "filter_rationales", "teacher_generate", "tables"):
        lines = [x for x in _rule_resources(out, rule) if "resources" in x]
        assert lines and not any("gpu=1" in x for x in lines), rule


def test_seeds_make_one_run_per_seed(tmp_path, data_dir):
    """seeds: [0, 1, 2] -> runs cotd, cotd-s1, cotd-s2 (own train seed); a method's own
    seeds win; metrics carry the configured method name and the seed."""
    cfg = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    cfg["seeds"] = [0, 1, 2]
    cfg["methods"]["potd"]["seeds"] = [5]
    path = tmp_path / "seeds.yaml"
    path.write_text(yaml.safe_dump(cfg))
    work = work_copy(tmp_path / "wf")
    out = snakemake(work, "-n", "-p", "--configfile", str(path), data_dir=data_dir).stdout
    assert job_counts(out) == expected_counts(cfg)
    for run in ("cotd", "cotd-s1", "cotd-s2", "potd"):
        assert f"results/{run}/tiny-t5/round0/checkpoint" in out
    assert "results/potd-s5/" not in out and "results/cotd-s0/" not in out
    clash = dict(cfg, methods={**cfg["methods"], "cotd-s1": {"type": "single",
                                                             "strategies": ["cot"]}})
    path.write_text(yaml.safe_dump(clash))
    proc = snakemake(work, "-n", "--configfile", str(path), data_dir=data_dir, check=False)
    assert proc.returncode != 0 and "clashes with another method" in proc.stdout + proc.stderr


def test_lint_passes(tmp_path, data_dir):
    work = work_copy(tmp_path / "wf")
    proc = snakemake(work, "--lint", data_dir=data_dir)
    assert "Congratulations" in proc.stdout + proc.stderr


@pytest.mark.parametrize("change, message", [
    (lambda c: c["methods"]["cotd"].update(type="nosuch"),
     "methods.cotd.type: 'nosuch' is not one of"),
    (lambda c: c["methods"]["potd"].update(strategies=["xot"]),
     "methods.potd.strategies[0]: 'xot' is not one of"),
    (lambda c: c["eval_sets"].update(train={"dataset": "gsm8k", "split": "test"}),
     "eval_sets.train: not a valid name: 'train' should not be valid"),
    (lambda c: c.update(extra_key=1), "extra_key: unknown key"),
    (lambda c: c.update(resources={"train": {"gpu": 1}}), "resources: unknown key"),
    (lambda c: c["students"]["tiny-t5"].update(finetune="half"),
     "students.tiny-t5.finetune: 'half' is not one of"),
    (lambda c: c["students"]["tiny-t5"]["train"].update(epochs="eight"),
     "students.tiny-t5.train.epochs: 'eight' is not of type 'number'"),
])
def test_schema_rejects_bad_config(tmp_path, data_dir, change, message):
    """A bad value never reaches a job: the dry run fails, naming the file and key."""
    cfg = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    change(cfg)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    work = work_copy(tmp_path / "wf")
    proc = snakemake(work, "-n", "--configfile", str(bad), data_dir=data_dir, check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "invalid workflow config" in out and message in out
    assert re.search(rf"{re.escape(str(bad))}:\d+: {re.escape(message)}", out), out[-2000:]
    assert "Job stats" not in out and not (work / "results").exists()


def test_missing_data_stops_the_dry_run(tmp_path, data_dir):
    # a grid with real data sets (the embedded default's are synthetic: it needs no files)
    work = work_copy(tmp_path / "wf", REPO / "tests" / "configs" / "grid.yaml")
    empty = tmp_path / "data"
    (empty / "gsm8k").mkdir(parents=True)
    proc = snakemake(work, "-n", data_dir=empty, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Job stats" not in out
    assert f"data directory {empty} lacks" in out and "svamp/SVAMP.json" in out
    assert "python -m mathdistill data fetch" in out
    proc = snakemake(work, "-n", data_dir=tmp_path / "nowhere", check=False)
    assert proc.returncode != 0 and "data directory not found" in proc.stdout + proc.stderr


def _rationale(i, strategy, correct=True, text=None):
    return Rationale(id=f"s/train/{i}", question=f"Q{i}?", answer=1.0, strategy=strategy,
                     text=text if text is not None else f"{strategy} text {i}", correct=correct)


def test_single_builds_prompt_target_pairs():
    from mathdistill.methods.single import build_examples
    from mathdistill.strategies import student_prompt

    rs = [_rationale(0, "pot"), _rationale(1, "pot", correct=False), _rationale(2, "cot"),
          _rationale(3, "pot"), _rationale(3, "pot"), _rationale(4, "pot", text="  ")]
    ex = build_examples(rs, ["pot"], seed=0)
    assert sorted(e["id"] for e in ex) == ["s/train/0", "s/train/3"]  # wrong/other/dup/empty out
    e0 = next(e for e in ex if e["id"] == "s/train/0")
    assert e0 == {"prompt": student_prompt("Q0?", "pot"), "target": "pot text 0",
                  "id": "s/train/0", "strategy": "pot"}


def test_single_order_is_seeded_and_input_order_free():
    from mathdistill.methods.single import build_examples

    rs = [_rationale(i, "cot") for i in range(30)]
    a = build_examples(rs, ["cot"], seed=1)
    assert a == build_examples(list(reversed(rs)), ["cot"], seed=1)
    assert [e["id"] for e in a] != [e["id"] for e in build_examples(rs, ["cot"], seed=2)]


def test_single_build_round_reads_files_and_rejects_empty(tmp_path):
    from mathdistill.io import DataError, write_jsonl
    from mathdistill.methods.single import build_round

    f = tmp_path / "filtered.jsonl"
    write_jsonl(f, [_rationale(0, "eot"), _rationale(1, "eot")])
    assert len(build_round({"rationales": [str(f)]}, {"strategies": ["eot"]}, 0)) == 2
    with pytest.raises(DataError, match="filtered.jsonl"):
        build_round({"rationales": [str(f)]}, {"strategies": ["pot"]}, 0)
    with pytest.raises(ValueError, match="round 1"):
        build_round({"rationales": [str(f)]}, {"strategies": ["eot"]}, 1)


# ------------------------------------------------------------------ slow: a real run
# Recorded by every job's Python (a sitecustomize on PYTHONPATH): the mathdistill modules
# the job really imported, to compare with the closure its code digest covers.
IMPORT_HOOK = """
import atexit, json, os, sys
_log = os.environ.get("MATHDISTILL_IMPORT_LOG")
if _log and "/.snakemake/scripts/" in (sys.argv[0] if sys.argv else ""):
    def _dump():
        mods = sorted(m for m in sys.modules if m.split(".")[0] == "mathdistill")
        with open(os.path.join(_log, f"{os.getpid()}.json"), "w") as f:
            json.dump({"script": sys.argv[0], "modules": mods}, f)
    atexit.register(_dump)
"""
GPU_RULES = ("train", "tailored_train", "predict", "predict_multi", "fdd_exam",
             "siked_generate", "tailored_exam")


def recording_imports(base: Path) -> dict:
    """Environment under which every job's Python records the mathdistill modules it
    imported into base/imports (IMPORT_HOOK)."""
    (base / "hook").mkdir()
    (base / "hook" / "sitecustomize.py").write_text(IMPORT_HOOK)
    (base / "imports").mkdir()
    return {"PYTHONPATH": str(base / "hook"), "MATHDISTILL_IMPORT_LOG": str(base / "imports")}


def check_recorded_imports(work: Path, imports: Path, choose: dict) -> set[str]:
    """Every module a job imported is in its script's closure (so its code digest covers
    it); returns the scripts seen."""
    from mathdistill.workflow.closure import ImportGraph

    graph = ImportGraph(work / "src")
    records = [json.loads(p.read_text()) for p in imports.glob("*.json")]
    for r in records:
        name = r["script"].rsplit(".", 2)[-2]
        closure = graph.closure(work / "workflow" / "scripts" / f"{name}.py", choose)[0]
        assert set(r["modules"]) <= closure | {"mathdistill"}, (name, set(r["modules"]) - closure)
    return {r["script"].rsplit(".", 2)[-2] for r in records}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, data_dir):
    """Run the tiny config end to end once; later tests inspect and modify this copy. One
    GPU is declared (MATHDISTILL_GPUS=1: the student jobs ask for it, the run has one), and
    each job's imports are recorded."""
    base = tmp_path_factory.mktemp("tiny")
    config = REPO / "tests" / "configs" / "tiny.yaml"
    work = work_copy(base / "wf", config)
    env = {"MATHDISTILL_GPUS": "1", **recording_imports(base)}
    t0 = time.perf_counter()
    proc = snakemake(work, "--cores", "2", data_dir=data_dir, timeout=1200, env=env)
    return {"dir": work, "seconds": time.perf_counter() - t0, "stdout": proc.stdout,
            "log": proc.stdout + proc.stderr, "imports": base / "imports",
            "cfg": yaml.safe_load(config.read_text())}


@pytest.mark.slow
def test_one_gpu_runs_one_gpu_job_at_a_time(tiny_run):
    """--cores 2 would run two student jobs at once; with one GPU there is never more
    than one (the Snakefile caps the gpu resource at the visible GPUs)."""
    running, rule_of, most, starts = set(), {}, 0, 0
    lines = tiny_run["log"].splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(?:local)?rule (\w+):$", line)
        if m:
            jobid = next(int(x.split(":")[1]) for x in lines[i + 1:i + 30]
                         if x.strip().startswith("jobid:"))
            rule_of[jobid] = m.group(1)
            if m.group(1) in GPU_RULES:
                running.add(jobid)
                starts += 1
                most = max(most, len(running))
        m = re.match(r"^Finished jobid: (\d+)", line) or re.match(r"^Finished job (\d+)\.", line)
        if m:
            running.discard(int(m.group(1)))
    assert starts >= 6 and most == 1, (starts, most)


@pytest.mark.slow
def test_jobs_import_only_what_their_code_digest_covers(tiny_run):
    """Every module a job really imported is in its script's closure (so an edit to it
    changes the job's code param)."""
    scripts = check_recorded_imports(tiny_run["dir"], tiny_run["imports"],
                                     {"teacher": "annotated"})
    assert {"prepare_data", "teacher_generate", "filter_rationales", "build_student",
            "train", "predict", "tables", "plots", "paper_tables"} <= scripts


def _rows(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_end_to_end_tables_and_learning(tiny_run):
    work, cfg = tiny_run["dir"], tiny_run["cfg"]
    tables = work / "results" / "tables"
    for name in ("accuracy", "teacher", "training"):
        assert (tables / f"{name}.md").read_text().startswith("# ")
    acc = _rows(tables / "accuracy.csv")
    assert sorted(r["method"] for r in acc) == sorted(cfg["methods"])
    for r in acc:
        for d in cfg["eval_sets"]:
            assert 0.0 <= float(r[d]) <= 100.0  # a finite percentage (nan fails)
    for r in _rows(tables / "teacher.csv"):
        assert math.isfinite(float(r["drop_rate"])) and int(r["kept"]) > 0
    training = _rows(tables / "training.csv")
    assert len(training) == sum(len(method_runs(cfg, m)) for m in cfg["methods"])
    for r in training:
        assert float(r["final_loss"]) < float(r["first_loss"]), r  # the student learned
    assert "# Accuracy" in tiny_run["stdout"]  # tables printed at the end of the run
    n = cfg["eval_sets"]["synthetic"]["options"]["n"]
    preds = work / "results" / "potd" / "tiny-t5" / "round0" / "predictions" / "synthetic.jsonl"
    assert len(preds.read_text().splitlines()) == n


@pytest.mark.slow
def test_end_to_end_seed_runs_are_averaged(tiny_run):
    """potd runs with seeds 0 and 1 (runs potd, potd-s1): own train seed, metrics name the
    method and the seed, the accuracy table averages them with a t interval."""
    work = tiny_run["dir"]
    logs = {s: json.loads((work / f"results/{run}/tiny-t5/round0/train_log.json").read_text())
            for s, run in ((0, "potd"), (1, "potd-s1"))}
    assert [logs[s]["config"]["seed"] for s in (0, 1)] == [0, 1]
    assert logs[1]["method"] == "potd" and logs[1]["seed"] == 1 and logs[1]["run"] == "potd-s1"
    m1 = json.loads((work / "results/potd-s1/tiny-t5/round0/metrics/gsm8k.json").read_text())
    assert (m1["method"], m1["seed"], m1["run"]) == ("potd", 1, "potd-s1")
    m0 = json.loads((work / "results/potd/tiny-t5/round0/metrics/synthetic.json").read_text())
    m1 = json.loads((work / "results/potd-s1/tiny-t5/round0/metrics/synthetic.json").read_text())
    row = next(r for r in _rows(work / "results/tables/accuracy.csv") if r["method"] == "potd")
    assert int(row["seeds"]) == 2
    assert float(row["synthetic"]) == pytest.approx(50.0 * (m0["accuracy"] + m1["accuracy"]))
    if m0["accuracy"] != m1["accuracy"]:
        assert float(row["synthetic_ci_low"]) < float(row["synthetic"]) < float(
            row["synthetic_ci_high"])
    training = _rows(work / "results/tables/training.csv")
    assert sorted(r["seed"] for r in training if r["method"] == "potd") == ["0", "1"]


@pytest.mark.slow
def test_html_report_has_the_tables_and_plots(tiny_run, data_dir):
    """`snakemake --report`: a self-contained HTML file with every report() output."""
    work = tiny_run["dir"]
    out = work / "results" / "report.html"
    snakemake(work, "--report", str(out), data_dir=data_dir)
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and len(html) > 10_000
    for name in ("accuracy.csv", "teacher.csv", "training.csv", "strategies.csv",
                 "paper_etd.csv", "paper_siked.csv", "accuracy.png", "strategy_share.png"):
        assert name in html, name
    for category in ("Tables", "Paper tables", "Plots"):
        assert category in html
    assert "mathdistill" in html  # report/workflow.rst


def pending(work: Path, data_dir: Path) -> set[str]:
    """Outputs that a run would (re)create now, from `snakemake --summary`."""
    out = snakemake(work, "--summary", data_dir=data_dir).stdout
    rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
    header = rows[0]
    return {r[0] for r in rows[1:] if r[header.index("plan")] == "update pending"}


def method_runs(cfg: dict, method: str) -> list[str]:
    """The runs of a method: its name for the first seed, `<name>-s<seed>` for the others."""
    seeds = cfg["methods"][method].get("seeds") or cfg.get("seeds") or [cfg.get("seed", 0)]
    return [method] + [f"{method}-s{s}" for s in seeds[1:]]


def run_outputs(method: str, cfg: dict) -> set[str]:
    """What rerunning a run's training reruns: its train job (the round's examples, the
    checkpoint, the loss log) and its prediction job (one folder each: every eval set)."""
    out = set()
    for run in method_runs(cfg, method):
        base = f"results/{run}/tiny-t5/round0"
        out |= {f"{base}/mixed.jsonl", f"{base}/checkpoint", f"{base}/train_log.json"}
        out |= {f"{base}/predictions", f"{base}/metrics"}
    return out


PAPERS = list(yaml.safe_load((REPO / "config" / "paper_results.yaml").read_text())["papers"])
# every output that summarises the runs: run tables, claims (from the predictions), plots,
# paper tables
CLAIMS = {f"results/tables/claims.{e}" for e in ("md", "csv")}
TABLES = ({f"results/tables/{n}.{e}" for n in ("accuracy", "teacher", "training", "strategies")
           for e in ("md", "csv")} | CLAIMS
          | {f"results/plots/{n}.png" for n in ("accuracy", "strategy_share")}
          | {f"results/tables/paper_{p}.{e}" for p in PAPERS for e in ("md", "csv", "tex")})


@pytest.mark.slow
def test_second_run_is_a_no_op(tiny_run, data_dir):
    proc = snakemake(tiny_run["dir"], "-n", data_dir=data_dir)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    assert pending(tiny_run["dir"], data_dir) == set()


@pytest.mark.slow
def test_method_config_change_reruns_only_that_method(tiny_run, data_dir):
    work, cfg = tiny_run["dir"], tiny_run["cfg"]
    path = work / "config" / "config.yaml"
    original = path.read_text()
    changed = yaml.safe_load(original)
    changed["methods"]["cotd"]["train"] = {"lr": 0.001}
    path.write_text(yaml.safe_dump(changed))
    try:
        assert pending(work, data_dir) == run_outputs("cotd", cfg) | TABLES
    finally:
        path.write_text(original)
    assert pending(work, data_dir) == set()  # params match the recorded ones again


def edit(path: Path, code: bool = True):
    """Append a statement (code: True) or a comment to a source file; returns a function
    that restores it (and its mtime)."""
    text, st = path.read_text(), path.stat()
    path.write_text(text + ("\n_EDITED_BY_TEST_WORKFLOW = 1\n" if code else
                            "\n# edited by test_workflow\n"))

    def restore():
        path.write_text(text)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    return restore


def _reverse_keys(obj):
    if isinstance(obj, dict):
        return {k: _reverse_keys(obj[k]) for k in reversed(list(obj))}
    return obj


@pytest.mark.slow
def test_config_key_order_does_not_rerun(tiny_run, data_dir):
    path = tiny_run["dir"] / "config" / "config.yaml"
    original = path.read_text()
    path.write_text(yaml.safe_dump(_reverse_keys(yaml.safe_load(original)), sort_keys=False))
    try:
        assert pending(tiny_run["dir"], data_dir) == set()
    finally:
        path.write_text(original)


@pytest.mark.slow
def test_editing_metrics_reruns_the_prediction_jobs_and_tables(tiny_run, data_dir):
    """The prediction jobs write the metrics too (their scripts import metrics.py): their
    predictions and metrics, then the tables; not the checkpoints."""
    work, cfg = tiny_run["dir"], tiny_run["cfg"]
    restore = edit(work / "src" / "mathdistill" / "metrics.py")
    try:
        evals = {f"results/{run}/tiny-t5/round0/{kind}"
                 for m in cfg["methods"] for run in method_runs(cfg, m)
                 for kind in ("predictions", "metrics")}
        assert pending(work, data_dir) == evals | TABLES
    finally:
        restore()
    assert pending(work, data_dir) == set()


@pytest.mark.slow
def test_a_comment_reruns_nothing(tiny_run, data_dir):
    restore = edit(tiny_run["dir"] / "src" / "mathdistill" / "io.py", code=False)
    try:
        assert pending(tiny_run["dir"], data_dir) == set()
    finally:
        restore()


@pytest.mark.slow
def test_editing_the_launcher_reruns_training_and_what_follows(tiny_run, data_dir):
    """stages/launch.py is imported by the train script only: the train jobs (examples,
    checkpoints), then the predictions and metrics of every run and the tables; not the
    data, the teacher or the student's build."""
    work, cfg = tiny_run["dir"], tiny_run["cfg"]
    restore = edit(work / "src" / "mathdistill" / "stages" / "launch.py")
    try:
        runs = set().union(*(run_outputs(m, cfg) for m in cfg["methods"]))
        assert pending(work, data_dir) == runs | TABLES
    finally:
        restore()


@pytest.mark.slow
def test_editing_the_students_package_reruns_training_not_the_teacher(tiny_run, data_dir):
    work, cfg = tiny_run["dir"], tiny_run["cfg"]
    restore = edit(work / "src" / "mathdistill" / "students" / "generation.py")
    try:
        runs = set().union(*(run_outputs(m, cfg) for m in cfg["methods"]))
        assert pending(work, data_dir) == runs | {"results/students/tiny-t5/base"} | TABLES
    finally:
        restore()
