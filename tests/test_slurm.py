"""SLURM: the workflow's DAG through profiles/slurm on a single-node cluster on localhost.

    sudo python -m pytest tests/test_slurm.py -q --run-system   # ~3-5 min on 2 cores

The `slurm_cluster` fixture starts the cluster with scripts/slurm/start_cluster.sh (which
installs Debian's slurm-wlm and munge when missing) unless one is already up, and stops
what it started when the module ends. It skips when the machine cannot host one (not
root, no SLURM and no apt-get); under CI=true it fails instead.

The run: in a work copy of the workflow, `--profile profiles/slurm` as shipped (the file
is not rewritten: its keep-going, latency wait, executor options and default resources are
what the run uses) and `--configfile` a one-method cut of tests/configs/tiny.yaml plus an
override that the job steps must see. What a one-node test cluster must differ in goes on
the command line: the per-rule GPU counts, memory and CPUs capped to this node
(`--set-resources`/`--set-threads`, which replace the profile's mappings), status polls
every 2 s and the logs of successful jobs kept. Needs the SLURM executor plugin
(requirements/slurm.txt).
"""

from __future__ import annotations

import csv
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
from test_workflow import work_copy

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts" / "slurm"

# system: installs packages and writes /etc/slurm; opt-in only (tests/conftest.py)
pytestmark = [pytest.mark.slurm, pytest.mark.slow, pytest.mark.system]


def _cannot_host_reason() -> str | None:
    if os.geteuid() != 0:
        return "a local SLURM cluster needs root (apt-get, munged, slurmctld, slurmd)"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it"
    return None


def _node() -> dict | None:
    """This host's SLURM node if the cluster is up and the node takes jobs, else None."""
    if not shutil.which("sinfo"):
        return None
    proc = subprocess.run(["sinfo", "-h", "-N", "-o", "%N %t %c %m %G"],
                          check=False, capture_output=True, text=True, timeout=30)
    for line in proc.stdout.splitlines():
        name, state, cpus, mem, gres = line.split(maxsplit=4)
        if state in ("idle", "mix", "alloc"):
            gpus = re.search(r"gpu(?::[^:(,]+)?:(\d+)", gres)
            return {"name": name, "cpus": int(cpus), "mem_mb": int(mem),
                    "gpus": int(gpus.group(1)) if gpus else 0}
    return None


def _script(name: str, timeout: int) -> None:
    proc = subprocess.run(["bash", str(SCRIPTS / name)], check=False, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@pytest.fixture(scope="module")
def slurm_cluster(request):
    """The node of a running single-node cluster: started here (and stopped after) if needed."""
    reason = _cannot_host_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true, but {reason}")
        pytest.skip(reason)
    node = _node()
    if node is None:
        request.addfinalizer(lambda: _script("stop_cluster.sh", timeout=120))
        _script("start_cluster.sh", timeout=900)  # apt-get install on a fresh machine
        node = _node()
    assert node is not None, "start_cluster.sh returned but no node is idle (sinfo)"
    return node


def _node_fit(node: dict) -> list[str]:
    """Command-line options that fit the shipped profile's per-rule GPUs, memory and CPUs
    to this node (each replaces the profile's whole mapping, so every rule is repeated),
    poll every 2 s (default 40 s) and keep the logs of successful jobs."""
    prof = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    threads = max(1, node["cpus"] // 2)           # two jobs at once
    mem = node["mem_mb"] // max(1, node["cpus"])  # memory is a consumable: one CPU's share
    resources, cpus = [], []
    for rule, res in prof.get("set-resources", {}).items():
        for key, value in res.items():
            if key == "gpu":
                value = min(value, node["gpus"])
            elif key == "mem_mb":
                value = min(value, mem)
            resources.append(f"{rule}:{key}={value}")
    for rule, n in prof.get("set-threads", {}).items():
        cpus.append(f"{rule}={min(n, threads)}")
    return ["--set-resources", *resources, "--set-threads", *cpus,
            "--slurm-init-seconds-before-status-checks", "2", "--slurm-keep-successful-logs"]


def _rows(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def _finite(value: str) -> float:
    x = float(value)
    assert math.isfinite(x), value
    return x


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory, data_dir):
    base = tmp_path_factory.mktemp("slurm")
    work = work_copy(base / "wf")
    profile = work / "profiles" / "slurm"
    shipped = (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    assert (profile / "config.yaml").read_text() == shipped
    # `--configfile tiny.yaml override.yaml` (merged in order; no config/config.yaml): the
    # job steps see them only if the executor passes them on (a step that loaded the
    # embedded default instead would write under results/, a step without the override
    # would train 2 epochs).
    cfg = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    first = next(iter(cfg["methods"]))
    cfg["methods"] = {first: cfg["methods"][first]}  # one method keeps the run short
    tiny = base / "tiny_one_method.yaml"
    tiny.write_text(yaml.safe_dump(cfg, sort_keys=False))
    override = base / "override.yaml"
    student = next(iter(cfg["students"]))
    override.write_text(yaml.safe_dump({"results_dir": "slurm_results",
                                        "students": {student: {"train": {"epochs": 1}}}}))
    env = {**os.environ, "MATHDISTILL_DATA": str(data_dir)}
    env.pop("PYTHONPATH", None)
    argv = ["--profile", str(profile), "--configfile", str(tiny), str(override),
            *_node_fit(slurm_cluster)]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "snakemake", *argv],
                          check=False, cwd=work, env=env, capture_output=True, text=True,
                          timeout=900)
    seconds = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        logs = sorted((work / ".snakemake" / "slurm_logs").rglob("*.log"))
        tails = "\n".join(f"== {p}\n{p.read_text()[-1500:]}" for p in logs[-3:])
        raise AssertionError(f"snakemake --executor slurm failed ({proc.returncode}) after "
                             f"{seconds:.0f}s:\n{out[-6000:]}\n{tails}")
    print(f"\nSLURM run of {len(cfg['methods'])} method(s): {seconds:.0f} s")
    return {"dir": work, "cfg": cfg, "out": out, "seconds": seconds, "argv": argv}


def test_the_run_used_the_profile_as_shipped(slurm_run):
    """What the run's command line gives Snakemake (parsed as Snakemake parses it, in the
    work copy, where a workflow profile would be found): the profile's own settings."""
    from snakemake.cli import parse_args

    old = os.getcwd()
    os.chdir(slurm_run["dir"])
    try:
        args = parse_args(slurm_run["argv"])[1]
    finally:
        os.chdir(old)
    assert args.executor == "slurm" and args.jobs == 100
    assert args.latency_wait == 60 and args.keep_going is True
    assert args.slurm_status_command == "squeue" and args.workflow_profile is None
    assert not (slurm_run["dir"] / "profiles" / "default").exists()


def test_every_job_ran_as_a_slurm_job(slurm_run):
    work, out = slurm_run["dir"], slurm_run["out"]
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", out)
    stats = re.search(r"^total\s+(\d+)$", out, re.MULTILINE)
    assert stats, "no job stats table in the snakemake output"
    local = len(re.findall(r"^localrule ", out, re.MULTILINE))
    assert len(submitted) == int(stats.group(1)) - local > 0
    assert len(set(submitted)) == len(submitted)
    logs = work / ".snakemake" / "slurm_logs"
    for rule in ("prepare_data", "teacher_generate", "filter_rationales", "train", "predict"):
        assert list((logs / f"rule_{rule}").rglob("*.log")), f"no SLURM log for {rule}"
    for rule in ("tables", "paper_tables"):  # local rules: on the login node
        assert re.search(rf"^localrule {rule}:$", out, re.MULTILINE), rule
        assert not (logs / f"rule_{rule}").exists(), rule


def test_tables_have_finite_numbers(slurm_run):
    work, cfg = slurm_run["dir"], slurm_run["cfg"]
    tables = work / "slurm_results" / "tables"
    assert not (work / "results").exists(), "a job step did not get --configfile"
    for name in ("accuracy", "teacher", "training"):
        assert (tables / f"{name}.md").read_text().startswith("# ")
    acc = _rows(tables / "accuracy.csv")
    assert sorted(r["method"] for r in acc) == sorted(cfg["methods"])
    for r in acc:
        for d in cfg["eval_sets"]:
            assert 0.0 <= _finite(r[d]) <= 100.0
    teacher = _rows(tables / "teacher.csv")
    assert teacher and all(int(r["kept"]) > 0 for r in teacher)
    for r in teacher:
        _finite(r["drop_rate"])
    training = _rows(tables / "training.csv")
    assert len(training) == len(cfg["methods"])
    for r in training:
        assert _finite(r["epochs"]) == 1.0  # the --configfile override reached the job step
        assert _finite(r["first_loss"]) > 0 and _finite(r["final_loss"]) > 0


def test_cluster_is_left_without_jobs(slurm_run, slurm_cluster):
    proc = subprocess.run(["squeue", "-h", "-o", "%i %T", "--states=PENDING,RUNNING"],
                          check=False, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr
