"""What reruns after a change, on a completed state: placeholder outputs for every job of
a rich grid (tests/configs/grid.yaml, with an OpenAI-compatible teacher, so that its operational options can
be set), recorded as finished with `snakemake --touch`, then one change at a time and a dry
run. A job reruns when, and only when, something that decides its output changed:

- comments and docstrings in every library module at once: nothing;
- operational settings (teacher concurrency, base_url, timeouts, retries; generation
  batch_size / progress; train logging_steps / gradient_checkpointing): nothing;
- a code edit in a module: exactly the jobs whose scripts import it (transitively), and
  what depends on their outputs;
- an experiment setting: the jobs that read it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml
from test_envs import rules
from test_workflow import REPO, expected_counts, snakemake, work_copy

from mathdistill.workflow.closure import ImportGraph

pytestmark = pytest.mark.slow  # ~30 dry runs of a 125-job grid (minutes on 2 cores)

TEACHER = {"backend": "openai", "options": {"model": "teacher-model", "temperature": 0.0,
                                            "base_url": "http://127.0.0.1:9/v1"}, "n": 1}


def dry_jobs(out: str) -> list[dict]:
    """The jobs of a dry run: [{"rule", "reason", "wildcards": {...}, "output": [...]}]."""
    jobs, job = [], None
    for line in out.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):$", line)
        if m:
            job = {"rule": m.group(1), "reason": "", "wildcards": {}, "output": []}
            jobs.append(job)
        elif job and line.startswith("    reason: "):
            job["reason"] = line[len("    reason: "):]
        elif job and line.startswith("    wildcards: "):
            job["wildcards"] = dict(kv.split("=", 1) for kv in line[15:].split(", "))
        elif job and line.startswith("    output: "):
            job["output"] = [f.strip() for f in line[12:].split(",")]
    return jobs


def direct(done) -> dict[str, str]:
    """{output file: status} of the jobs that rerun for a reason of their own, not because
    an input is rebuilt (`snakemake --summary` checks every job, a dry run stops at the
    first changed ancestor)."""
    out = snakemake(done["dir"], "--summary", data_dir=done["data_dir"]).stdout
    rows = [line.split("\t") for line in out.splitlines() if "\t" in line]
    col = rows[0].index("status")
    return {r[0]: r[col] for r in rows[1:] if r[col] not in ("ok", "updated input files")}


@pytest.fixture(scope="module")
def done(tmp_path_factory, data_dir):
    """A work copy whose every output exists and is recorded as up to date."""
    cfg = yaml.safe_load((REPO / "tests" / "configs" / "grid.yaml").read_text())
    cfg["teachers"] = {"openai": TEACHER}
    work = work_copy(tmp_path_factory.mktemp("inv") / "wf")
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = snakemake(work, "-n", data_dir=data_dir).stdout
    outputs = [f.strip() for line in out.splitlines() if line.startswith("    output: ")
               for f in line[len("    output: "):].split(",")]
    for f in outputs:
        path = work / f
        if f.endswith(("/checkpoint", "/base", "/predictions", "/metrics")):  # folders
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("placeholder\n")
    snakemake(work, "--touch", "--forceall", "--cores", "1", data_dir=data_dir, timeout=900)
    proc = snakemake(work, "-n", data_dir=data_dir)
    assert "Nothing to be done" in proc.stdout + proc.stderr
    return {"dir": work, "cfg": cfg, "jobs": len(dry_jobs(out)), "data_dir": data_dir}


def rerun(done) -> list[dict]:
    return dry_jobs(snakemake(done["dir"], "-n", data_dir=done["data_dir"]).stdout)


class Changed:
    """Change files of the work copy for one check; restores contents and mtimes."""

    def __init__(self, work: Path):
        self.work, self.saved = work, {}

    def write(self, rel: str, text: str) -> None:
        path = self.work / rel
        if rel not in self.saved:
            st = path.stat()
            self.saved[rel] = (path.read_text(), st.st_atime_ns, st.st_mtime_ns)
        path.write_text(text)

    def config(self, change) -> None:
        cfg = yaml.safe_load((self.work / "config" / "config.yaml").read_text())
        change(cfg)
        self.write("config/config.yaml", yaml.safe_dump(cfg, sort_keys=False))

    def restore(self) -> None:
        for rel, (text, atime, mtime) in self.saved.items():
            (self.work / rel).write_text(text)
            os.utime(self.work / rel, ns=(atime, mtime))


@pytest.fixture
def change(done):
    c = Changed(done["dir"])
    yield c
    c.restore()
    assert rerun(done) == [], "the restored state is not up to date"


def test_the_completed_state_is_the_whole_grid(done):
    assert done["jobs"] == expected_counts(done["cfg"])["total"] > 50


def test_comments_and_docstrings_rerun_nothing(done, change):
    src = done["dir"] / "src"
    files = sorted(src.rglob("*.py"))
    assert len(files) > 80
    for path in files:
        rel = str(path.relative_to(done["dir"]))
        text = path.read_text()
        edited = f"# a comment added by the test\n{text}\n# and another\n"
        if text.startswith('"""'):  # a module docstring edit too
            edited = edited.replace('"""', '"""Edited docstring. ', 1)
        change.write(rel, edited)
    assert rerun(done) == []


@pytest.mark.parametrize("edit", [
    lambda c: c["teachers"]["openai"]["options"].update(concurrency=4),
    lambda c: c["teachers"]["openai"]["options"].update(
        base_url="http://elsewhere:8000/v1", timeout=30.0, max_attempts=2, rate_limit=5.0,
        progress=False),
    lambda c: c["students"]["tiny-t5"]["generation"].update(batch_size=3, progress=True),
    lambda c: c["students"]["tiny-t5"]["train"].update(logging_steps=1,
                                                       gradient_checkpointing=True),
    lambda c: c["methods"]["cotd"].update(generation={"batch_size": 8}),
], ids=["concurrency", "server-and-retries", "generation-batch-progress",
        "train-logging-checkpointing", "method-batch-size"])
def test_operational_settings_rerun_nothing(done, change, edit):
    change.config(edit)
    assert rerun(done) == []


def test_resources_are_not_params(done):
    """A GPU machine (student jobs ask for gpu=1) or a profile's resources rerun nothing."""
    out = snakemake(done["dir"], "-n", "--set-resources", "train:mem_mb=1", "--set-threads",
                    "predict=3", data_dir=done["data_dir"], env={"MATHDISTILL_GPUS": "1"})
    assert "Nothing to be done" in out.stdout + out.stderr


def test_where_the_data_lives_is_not_a_param(done, change):
    change.config(lambda c: c.update(data_dir=str(done["data_dir"])))
    assert rerun(done) == []


def _expected_importers(done, module: str, jobs: list[dict]) -> list[dict]:
    """Jobs (of a dry run listing all of them) whose script imports `module`."""
    graph = ImportGraph(done["dir"] / "src")
    script = {name: r["script"] for name, r in rules().items() if r["script"]}
    types = {run: m["type"] for run, m in done["cfg"]["methods"].items()}
    out = []
    for job in jobs:
        if job["rule"] not in script:  # rule all
            continue
        choose = {"teacher": "openai"}
        if job["rule"] == "train":
            choose["method"] = types[job["wildcards"]["method"]]
        path = done["dir"] / "workflow" / "scripts" / script[job["rule"]].name
        if module in graph.closure(path, choose)[0]:
            out.append(job)
    return out


@pytest.fixture(scope="module")
def all_jobs(done):
    """Every job of the grid with its wildcards (a forced dry run)."""
    return dry_jobs(snakemake(done["dir"], "-n", "--forceall", data_dir=done["data_dir"]).stdout)


@pytest.mark.parametrize("module, must", [
    ("io.py", {"prepare_data", "train", "predict", "tables"}),
    ("strategies/arith.py", {"prepare_data", "filter_rationales"}),  # synthetic gold answers
    ("stats.py", {"tables", "paper_tables"}),
    ("stages/launch.py", {"train"}),
    ("metrics.py", {"predict", "predict_multi", "reuse_predictions"}),
    ("methods/fdd.py", {"fdd_generate"}),
    ("teachers/openai_backend.py", {"teacher_generate", "fdd_generate", "tailored_feedback"}),
    ("teachers/prompts/demos.yaml", {"teacher_generate"}),
    ("workflow/settings.py", {"train", "predict", "teacher_generate"}),
])
def test_a_code_edit_reruns_exactly_the_importers(done, change, all_jobs, module, must):
    rel = f"src/mathdistill/{module}"
    text = (done["dir"] / rel).read_text()
    change.write(rel, text + ("\n_EDITED_BY_TEST = 1\n" if module.endswith(".py") else "\nx: 1\n"))
    got = direct(done)
    assert set(got.values()) == {"params changed"}  # the code param
    rule_of = {f: j["rule"] for j in all_jobs for f in j["output"]}
    if module.endswith(".py"):
        name = "mathdistill." + module[:-3].replace("/", ".")
        want = {f for j in _expected_importers(done, name, all_jobs) for f in j["output"]}
        assert set(got) == want
    assert must <= {rule_of[f] for f in got}, sorted({rule_of[f] for f in got})
    rerun_rules = {j["rule"] for j in rerun(done)}  # with what depends on them
    if module == "metrics.py":  # exactly the jobs that write (and score) predictions
        assert {rule_of[f] for f in got} == must
        assert not {"train", "fdd_exam", "reuse_round0", "teacher_generate",
                    "prepare_data"} & rerun_rules


def test_an_experiment_setting_reruns_its_readers(done, change):
    change.config(lambda c: c["teachers"]["openai"]["options"].update(temperature=0.7))
    assert all(f.startswith("results/teacher/openai/") or "/round1/" in f for f in direct(done))
    assert {f.rsplit("/", 1)[1] for f in direct(done)} == {
        "raw.jsonl", "cost.json", "generated.jsonl", "programs.jsonl", "fdd_stats.json",
        "feedback.jsonl", "teacher_cost.json"}  # teacher_generate, fdd_generate, tailored_feedback
    change.restore()
    change.config(lambda c: c["methods"]["cotd"].update(train={"epochs": 1}))
    assert set(direct(done)) == {  # the train job: its examples (rebuilt the same), the model
        f"results/cotd/tiny-t5/round0/{f}" for f in ("mixed.jsonl", "checkpoint",
                                                     "train_log.json")}


def test_a_copied_checkout_keeps_the_state(done, tmp_path):
    """The digests are of the source, not of paths or mtimes: a fresh copy of the same
    workflow (new mtimes, no analysis cache) is up to date with the recorded state."""
    copy = tmp_path / "copy"
    shutil.copytree(done["dir"], copy, symlinks=True)
    shutil.rmtree(copy / ".snakemake" / "mathdistill", ignore_errors=True)
    for path in (copy / "src").rglob("*.py"):
        os.utime(path)  # every library file newer than every output
    out = snakemake(copy, "-n", data_dir=done["data_dir"])
    assert "Nothing to be done" in out.stdout + out.stderr
