"""The shipped profiles work as shipped: the real command line is parsed
(snakemake.cli.parse_args) and the DAG built with each profile, and what a job gets
(threads, mem_mb, gpu, runtime) and how the run behaves (latency-wait, keep-going) is what
the profile says -- no workflow profile is loaded behind the user's back.

The SLURM profile needs the executor plugin (requirements/slurm.txt; CI installs it for the
tests marked `slurm`); without it these tests skip, and under CI=true they fail.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
from pathlib import Path

import pytest
import yaml
from test_workflow import REPO, snakemake, work_copy

SLURM = REPO / "profiles" / "slurm"
LOCAL = REPO / "profiles" / "local"
OPTIONS = ("cores", "jobs", "executor", "latency_wait", "keep_going", "rerun_incomplete",
           "default_resources", "set_threads", "set_resources", "printshellcmds")


@contextlib.contextmanager
def _in(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def parse(*argv: str):
    """snakemake's own command-line parsing, run from the checkout (where a workflow
    profile would be found)."""
    from snakemake.cli import parse_args

    with _in(REPO):
        return parse_args(list(argv))[1]


def options(args) -> dict:
    """The parsed options that decide what jobs get (resources as their CLI form)."""
    out = {}
    for key in OPTIONS:
        value = getattr(args, key)
        out[key] = value.args if hasattr(value, "args") else value
    return out


def _needs_plugin():
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but snakemake-executor-plugin-slurm is not installed "
                        "(pip install -r requirements/slurm.txt)")
        pytest.skip("snakemake-executor-plugin-slurm is not installed (requirements/slurm.txt)")


def test_no_workflow_profile_ships():
    """Snakemake loads profiles/default next to the Snakefile as the workflow profile."""
    assert not (REPO / "profiles" / "default").exists()
    assert sorted(p.name for p in (REPO / "profiles").iterdir() if p.is_dir()) == ["local", "slurm"]


def test_local_profile_as_shipped():
    args = parse("--profile", str(LOCAL))
    assert options(args) == options(parse("--profile", str(LOCAL), "--workflow-profile", "none"))
    assert args.cores == os.cpu_count() and args.rerun_incomplete and not args.keep_going
    assert args.executor is None and not args.set_resources and not args.default_resources


def _job_resources(out: str) -> dict[str, dict]:
    """rule -> {"threads": n, resource: value} of its first job in a dry run (a job with
    one thread shows no threads line)."""
    found, rule = {}, None
    for line in out.splitlines():
        if line.startswith(("rule ", "localrule ")):
            rule = line.split()[1].rstrip(":")
            found.setdefault(rule, {}).setdefault("threads", 1)
        elif rule and line.startswith("    threads: "):
            found.setdefault(rule, {})["threads"] = int(line.split(":")[1])
        elif rule and line.startswith("    resources: ") and "resources" not in found.get(rule, {}):
            res = dict(kv.split("=", 1) for kv in line[len("    resources: "):].split(", "))
            found.setdefault(rule, {}).update(res, resources=True)
    return found


# what profiles/slurm/README.md promises a job (threads = --cpus-per-task)
CLUSTER_JOBS = {
    "train": {"threads": 8, "gpu": "1", "mem_mb": "64000", "runtime": "1440"},
    "siked_train": {"threads": 8, "gpu": "1", "mem_mb": "64000", "runtime": "1440"},
    "fdd_train": {"threads": 8, "gpu": "1", "mem_mb": "64000", "runtime": "1440"},
    "tailored_train": {"threads": 8, "gpu": "1", "mem_mb": "64000", "runtime": "1440"},
    "predict": {"threads": 8, "gpu": "1", "mem_mb": "32000", "runtime": "240"},
    "predict_multi": {"threads": 8, "gpu": "1", "mem_mb": "32000", "runtime": "240"},
    "fdd_exam": {"threads": 8, "gpu": "1", "mem_mb": "32000", "runtime": "480"},
    "siked_generate": {"threads": 8, "gpu": "1", "mem_mb": "32000", "runtime": "480"},
    "tailored_exam": {"threads": 8, "gpu": "1", "mem_mb": "32000", "runtime": "480"},
    "teacher_generate": {"threads": 4, "gpu": "0", "mem_mb": "8000", "runtime": "1440"},
    "filter_rationales": {"threads": 4, "gpu": "0", "mem_mb": "8000", "runtime": "120"},
    "build_student": {"threads": 4, "gpu": "0", "mem_mb": "8000", "runtime": "60"},
    "prepare_data": {"threads": 1, "gpu": "0", "mem_mb": "4000", "runtime": "60"},
}


@pytest.mark.slurm
def test_slurm_profile_command_line_as_shipped():
    _needs_plugin()
    args = parse("--profile", str(SLURM))
    assert options(args) == options(parse("--profile", str(SLURM), "--workflow-profile", "none"))
    assert args.executor == "slurm" and args.jobs == 100
    assert args.cores is None  # nothing caps a job's threads (a `cores: 2` capped them at 2)
    assert args.latency_wait == 60 and args.keep_going is True and args.rerun_incomplete
    assert args.set_threads["train"] == 8 and args.set_resources["train"]["gpu"] == 1
    assert args.slurm_status_command == "squeue"


@pytest.mark.slurm
def test_what_a_cluster_job_gets(tmp_path, data_dir):
    """The DAG built through the shipped profile (dry run, every rule of the default
    config): each job's threads and resources are the profile's, local rules run on the
    login node."""
    _needs_plugin()
    work = work_copy(tmp_path / "wf")
    # a dry run caps threads at --cores, 1 unless given; a real SLURM run has no cap (cores
    # None, checked above): --cores 64 only lifts the dry run's cap
    out = snakemake(work, "-n", "--profile", str(SLURM), "--cores", "64",
                    data_dir=data_dir).stdout
    jobs = _job_resources(out)
    for rule, want in CLUSTER_JOBS.items():
        got = jobs[rule]
        assert {k: got.get(k) for k in want} == want, rule
    profile = yaml.safe_load((SLURM / "config.yaml").read_text())
    for rule, res in profile["set-resources"].items():
        for key, value in res.items():
            if rule in jobs and not key.startswith("slurm"):
                assert jobs[rule][key] == str(value), (rule, key)
    for rule, threads in profile["set-threads"].items():
        if rule in jobs:
            assert jobs[rule]["threads"] == threads, rule
    # the tiny jobs are local rules (a dry run does not mark them; tests/test_slurm.py sees
    # them run on the login node)
    common = (REPO / "rules" / "common.smk").read_text()
    local = re.search(r"^localrules: (.+)$", common, re.MULTILINE).group(1).split(", ")
    assert set(local) == {"reuse_round0", "reuse_predictions", "tables", "claims", "plots",
                          "paper_tables", "all"}
    assert not set(local) & set(CLUSTER_JOBS)
