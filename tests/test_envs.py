"""envs/*.yaml: one pinned conda env per rule family (data, teacher, torch, report).

Conda cannot run here, so the tests check what conda would rely on:
- every rule that runs code names an env (`conda:`), and each env file exists and parses;
- every package is pinned exactly (python=X.Y, pip name==version), at the version of the
  lock files (requirements/cpu.txt, cuda.txt: what `.ci/run` and the README install), and
  the lock files satisfy pyproject.toml's requirements;
- the library code a rule's script runs (its imports, followed through mathdistill
  modules, function-level imports and the known dynamic imports: the call graph of
  mathdistill.workflow.closure, which also gives each job its code digest) needs only
  packages its env provides (declared or pulled in by a declared package);
- the Snakefile's mechanism, PYTHONPATH=<workflow>/src with the package NOT installed,
  imports all of it: a `python -S` subprocess (no site-packages .pth files, so not the
  editable install) with the third-party packages on sys.path imports every module of each
  family from a copy of src/.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from functools import cache
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from mathdistill.workflow.closure import ImportGraph

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
ENVS = REPO / "envs"
LOCKS = {"cpu": REPO / "requirements" / "cpu.txt", "cuda": REPO / "requirements" / "cuda.txt",
         "slurm": REPO / "requirements" / "slurm.txt"}
LOCK_PYTHON = "3.11"  # requirements/lock.sh --python-version
FAMILIES = ("data", "teacher", "torch", "report")

# The teacher env serves these backends (teachers.get_teacher); hf / vllm run in the torch
# env on a GPU node (docs/cluster.md). Other imports by name: closure.DYNAMIC.
TEACHER_ENV_BACKENDS = ["annotated", "openai"]
# Optional at run time: imported only when configured (GenerationConfig.backend="vllm" on a
# GPU node, where vllm is installed next to the CUDA torch build).
OPTIONAL = {"vllm"}
GRAPH = ImportGraph(SRC)


# ---------------------------------------------------------------- rules and env files
RULE = re.compile(r"^rule (\w+):\n((?:[ \t]+.*\n|[ \t]*\n)*)", re.MULTILINE)


@cache
def rules() -> dict[str, dict]:
    """rule -> {"conda": env path | None, "script": path | None, "code": runs code?}."""
    out = {}
    for smk in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        for m in RULE.finditer(smk.read_text()):
            body = m.group(2)
            found = {}
            for key in ("conda", "script"):
                hit = re.search(rf'^\s+{key}:\s*\n\s+"([^"]+)"', body, re.MULTILINE)
                found[key] = (smk.parent / hit.group(1)).resolve() if hit else None
            found["code"] = bool(re.search(r"^\s+(script|shell|run|notebook|wrapper):",
                                           body, re.MULTILINE))
            out[m.group(1)] = found
    return out


def env_spec(family: str) -> dict:
    return yaml.safe_load((ENVS / f"{family}.yaml").read_text())


def pip_pins(family: str) -> dict[str, str]:
    deps = env_spec(family)["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    pins = {}
    for line in pip:
        name, sep, version = line.partition("==")
        assert sep and version and re.fullmatch(r"[\w.-]+", name), f"{family}: unpinned {line!r}"
        pins[_norm(name)] = version
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# ---------------------------------------------------------------- import closure
def closure(script: Path) -> tuple[frozenset, frozenset]:
    """(mathdistill modules, third-party top-level packages) a workflow script imports when
    it runs: the library's call-graph closure (mathdistill.workflow.closure), every method
    type, and the teacher backends of the teacher env."""
    return GRAPH.closure(script, choose={"teacher": TEACHER_ENV_BACKENDS})


def family_scripts(family: str) -> list[Path]:
    env = (ENVS / f"{family}.yaml").resolve()
    return sorted({r["script"] for r in rules().values() if r["conda"] == env and r["script"]})


@cache
def provided(family: str) -> set[str]:
    """Distributions the env installs: its pins and everything they require (this venv's
    metadata; environment markers evaluated here, extras off)."""
    todo, out = set(pip_pins(family)), set()
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        try:
            reqs = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        for r in map(Requirement, reqs):
            if r.marker is None or r.marker.evaluate({"extra": ""}):
                todo.add(_norm(r.name))
    return out


# ---------------------------------------------------------------- tests
def test_every_rule_that_runs_code_has_a_conda_env():
    found = rules()
    assert len(found) >= 10 and "train" in found and "all" in found
    for name, r in found.items():
        if r["code"]:
            assert r["conda"] is not None, f"rule {name} has no conda: env"
            assert r["conda"].parent == ENVS.resolve() and r["conda"].is_file(), name
    used = {r["conda"].stem for r in found.values() if r["conda"]}
    assert used == set(FAMILIES)
    assert {p.stem for p in ENVS.glob("*.yaml")} == set(FAMILIES)


@cache
def lock(variant: str) -> dict[str, str]:
    """name -> exact version in requirements/<variant>.txt (pip-compile format)."""
    pins = {}
    for n, line in enumerate(LOCKS[variant].read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith(("#", "-")):
            continue
        req = Requirement(line.split("#")[0].strip())
        spec = str(req.specifier)
        assert spec.startswith("==") and "," not in spec, f"{LOCKS[variant]}:{n}: not exact: {line!r}"
        pins[_norm(req.name)] = spec[2:]
    return pins


@pytest.mark.parametrize("family", FAMILIES)
def test_env_yaml_is_pinned_at_the_locked_versions(family):
    spec = env_spec(family)
    assert spec["channels"] == ["conda-forge", "nodefaults"]
    conda = [d for d in spec["dependencies"] if isinstance(d, str)]
    for dep in conda:
        assert re.fullmatch(r"[\w.-]+=[\d.]+", dep), f"{family}: unpinned conda dep {dep!r}"
    assert f"python={LOCK_PYTHON}" in conda
    locked = lock("cpu")
    for name, version in pip_pins(family).items():
        assert name in locked, f"envs/{family}.yaml pins {name}, requirements/cpu.txt does not"
        want = locked[name].split("+")[0]  # torch 2.x.y+cpu is the CPU wheel of 2.x.y
        assert version == want, f"envs/{family}.yaml pins {name}=={version}, the lock {want}"


def test_cpu_and_cuda_locks_differ_only_in_the_torch_build():
    cpu, cuda = lock("cpu"), lock("cuda")
    assert cpu["torch"].endswith("+cpu") and cuda["torch"] == cpu["torch"].removesuffix("+cpu")
    assert not any(n.startswith(("nvidia-", "triton")) for n in cpu)
    assert any(n.startswith("nvidia-") for n in cuda)
    shared = set(cpu) & set(cuda) - {"torch"}
    assert {n: cpu[n] for n in shared} == {n: cuda[n] for n in shared}
    extra = set(cuda) - set(cpu)
    assert all(n.startswith(("nvidia-", "triton", "cuda-")) for n in extra), sorted(extra)


def test_locks_satisfy_pyproject_requirements():
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = [*meta["dependencies"], *meta["optional-dependencies"]["dev"]]
    for variant in ("cpu", "cuda"):
        pins = lock(variant)
        for req in map(Requirement, reqs):
            name = _norm(req.name)
            assert name in pins, f"requirements/{variant}.txt lacks {name} (pyproject.toml)"
            assert req.specifier.contains(pins[name], prereleases=True), \
                f"requirements/{variant}.txt: {name}=={pins[name]} violates pyproject's {req}"


def test_slurm_lock_adds_only_the_plugin_at_the_base_versions():
    """requirements/slurm.txt = the extra `slurm` and what it adds to cpu.txt/cuda.txt (which
    leave the plugin out: installed, Snakemake loads it on every call)."""
    import tomllib

    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["slurm"]
    slurm, cpu, cuda = lock("slurm"), lock("cpu"), lock("cuda")
    assert not any(n.startswith("snakemake-executor-plugin") for n in {*cpu, *cuda})
    for req in map(Requirement, extra):
        name = _norm(req.name)
        assert name in slurm and req.specifier.contains(slurm[name], prereleases=True), req
    assert not set(slurm) & set(cpu), "slurm.txt repeats packages of cpu.txt"
    for name in slurm:  # what it needs beyond itself comes from the base locks
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue  # not installed here (the plugin stays out of local venvs)
        for r in map(Requirement, requires):
            if r.marker is None and _norm(r.name) not in slurm:
                assert _norm(r.name) in cpu and r.specifier.contains(cpu[_norm(r.name)]), r


@pytest.mark.parametrize("family", FAMILIES)
def test_env_provides_every_package_its_rules_import(family):
    dists = md.packages_distributions()
    have = provided(family)
    missing = {}
    for script in family_scripts(family):
        for top in closure(script)[1] - OPTIONAL:
            names = {_norm(d) for d in dists.get(top, [top])}
            if not names & have:
                missing.setdefault(top, []).append(script.name)
    assert not missing, f"envs/{family}.yaml lacks packages imported by its rules: {missing}"


def test_closure_follows_lazy_and_dynamic_imports():
    mods, ext = closure(REPO / "workflow" / "scripts" / "train.py")
    assert "mathdistill.students.training" in mods and "torch" in ext  # function-level import
    assert "mathdistill.methods.etd" in mods                            # importlib, by type
    mods, _ = GRAPH.closure(REPO / "workflow" / "scripts" / "train.py", {"method": "etd"})
    assert "mathdistill.methods.etd" in mods and "mathdistill.methods.combined" not in mods
    mods, ext = closure(REPO / "workflow" / "scripts" / "teacher_generate.py")
    assert "mathdistill.teachers.openai_backend" in mods and "openai" in ext
    assert "mathdistill.teachers.hf_backend" not in mods and "torch" not in ext


@pytest.mark.parametrize("family", FAMILIES)
def test_family_imports_from_src_via_pythonpath_only(tmp_path, family):
    """What a conda env without the package sees: PYTHONPATH=<copy>/src (Snakefile),
    site-packages without .pth files; every module of the family's closure imports, from
    the copy."""
    copy = tmp_path / "wf" / "src"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    modules = sorted(set().union(*(closure(s)[0] for s in family_scripts(family))))
    assert "mathdistill.stages" in modules
    code = "\n".join([
        "import importlib, sys",
        f"sys.path.append({sysconfig.get_paths()['purelib']!r})",
        f"for m in {modules!r}:",
        "    importlib.import_module(m)",
        "import mathdistill",
        "print(mathdistill.__file__)",
    ])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(copy)
    proc = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert Path(proc.stdout.strip()).is_relative_to(copy), proc.stdout
    # and without PYTHONPATH the package is not importable there (the check is not vacuous)
    env.pop("PYTHONPATH")
    proc = subprocess.run([sys.executable, "-S", "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0 and "No module named 'mathdistill'" in proc.stderr


def test_snakefile_puts_src_on_pythonpath():
    text = (REPO / "Snakefile").read_text()
    assert 'os.path.join(workflow.basedir, "src")' in text and "PYTHONPATH" in text
