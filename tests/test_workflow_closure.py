"""mathdistill.workflow.closure: the library closure of a workflow script and its digest
(the `code` param of every rule): comments and docstrings do not count, code does, in
exactly the modules a script imports (transitively, function-level and by-name imports
included), and the on-disk cache notices every edit."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from mathdistill.workflow.closure import ImportGraph, Registry, normalised_source

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "workflow" / "scripts").glob("*.py"))


def test_normalised_source_ignores_comments_docstrings_and_layout():
    a = 'def f(x):\n    """Doc."""\n    return x + 1\n'
    b = '# header\ndef f(x):  # why\n\n    """Another doc,\n    longer."""\n    return x + 1\n'
    c = 'def f(x):\n    return x + 2\n'
    assert normalised_source(a) == normalised_source(b) != normalised_source(c)
    assert normalised_source('"""Module doc."""\nX = 1\n') == normalised_source("X = 1\n")
    # a docstring-only body keeps a valid, distinct body
    assert normalised_source('def f():\n    """Doc."""\n') != normalised_source('def f():\n    return\n')


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def toy(tmp_path):
    """A small mathdistill package: a stage with a function-level import, a registry, a
    re-export, a by-name table and package data named by one module."""
    src = tmp_path / "src"
    _write(src, {
        "mathdistill/__init__.py": "",
        "mathdistill/io.py": "import json\n\ndef write(x):\n    return json.dumps(x)\n",
        "mathdistill/heavy.py": "import numpy\n\ndef big():\n    return numpy.zeros(1)\n",
        "mathdistill/util.py": """
            from mathdistill.io import write

            def used():
                return write(1)

            def unused():
                from mathdistill import heavy
                return heavy.big()
            """,
        "mathdistill/kinds/__init__.py": "",
        "mathdistill/kinds/a.py": "def build():\n    return 'a'\n",
        "mathdistill/kinds/b.py": "import pandas\n\ndef build():\n    return 'b'\n",
        "mathdistill/backends/__init__.py": """
            import importlib
            _TABLE = {"x": "mathdistill.backends.x:X", "y": "mathdistill.backends.y:Y"}

            def get(name):
                module, _, attr = _TABLE[name].partition(":")
                return getattr(importlib.import_module(module), attr)
            """,
        "mathdistill/backends/x.py": "class X:\n    pass\n",
        "mathdistill/backends/y.py": "import torch\n\nclass Y:\n    pass\n",
        "mathdistill/prompts_user.py": "NAME = 'prompts'\n",
        "mathdistill/prompts/demo.yaml": "a: 1\n",
        "mathdistill/stage.py": """
            import importlib
            from mathdistill.util import used

            def run(kind):
                from mathdistill.io import write
                return write(importlib.import_module(f"mathdistill.kinds.{kind}").build())
            """,
    })
    scripts = tmp_path / "scripts"
    _write(scripts, {
        "one.py": "from mathdistill.stage import run\nrun('a')\n",
        "two.py": "from mathdistill import backends\nbackends.get('x')\n",
        "three.py": "import mathdistill.prompts_user\nX = 'mathdistill.util:used'\n",
    })
    dynamic = {("mathdistill.stage", "run"): Registry("kind", pattern="mathdistill.kinds.{}:build"),
               ("mathdistill.backends", "get"): Registry("backend", table="mathdistill.backends:_TABLE")}
    return src, scripts, dynamic


def test_closure_follows_calls_and_by_name_imports_only_where_reached(toy):
    src, scripts, dynamic = toy
    g = ImportGraph(src, dynamic)
    mods, ext = g.closure(scripts / "one.py", {"kind": "a"})
    assert {"mathdistill.stage", "mathdistill.util", "mathdistill.io", "mathdistill.kinds.a"} <= mods
    assert "mathdistill.heavy" not in mods and "numpy" not in ext  # util.unused is not reached
    assert "mathdistill.kinds.b" not in mods
    mods, ext = g.closure(scripts / "one.py")  # no choice: every registered kind
    assert {"mathdistill.kinds.a", "mathdistill.kinds.b"} <= mods and "pandas" in ext
    mods, ext = g.closure(scripts / "two.py", {"backend": "x"})
    assert "mathdistill.backends.x" in mods and "mathdistill.backends.y" not in mods
    assert "torch" not in ext
    assert "torch" in g.closure(scripts / "two.py", {"backend": ["x", "y"]})[1]
    with pytest.raises(ValueError, match="no entry 'z'"):
        g.closure(scripts / "two.py", {"backend": "z"})
    mods, _ = g.closure(scripts / "three.py")  # "module:function" strings of a script
    assert "mathdistill.util" in mods and "mathdistill.io" in mods


def _edit(path: Path, text: str) -> None:
    st = path.stat()
    path.write_text(path.read_text() + text)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_digest_changes_with_code_in_the_closure_only(toy, tmp_path):
    src, scripts, dynamic = toy
    cache = tmp_path / "cache.json"

    def digests():
        g = ImportGraph(src, dynamic, cache_file=cache)
        return {s: g.digest(scripts / s, {"kind": "a", "backend": "x"})
                for s in ("one.py", "two.py", "three.py")}

    base = digests()
    assert cache.is_file()
    io = src / "mathdistill/io.py"
    io.write_text('"""A new module docstring."""\n' + io.read_text())
    _edit(io, "\n# a comment\n")
    assert digests() == base  # neither a docstring nor a comment counts
    _edit(src / "mathdistill/heavy.py", "\nX = 2\n")  # not reached by any script
    assert digests() == base
    _edit(src / "mathdistill/io.py", "\nY = 3\n")  # code: one.py and three.py import io
    now = digests()
    assert now["one.py"] != base["one.py"] and now["three.py"] != base["three.py"]
    assert now["two.py"] == base["two.py"]
    _edit(src / "mathdistill/prompts/demo.yaml", "b: 2\n")  # data named by prompts_user
    after = digests()
    assert after["three.py"] != now["three.py"] and after["one.py"] == now["one.py"]


def test_cache_is_used_and_dropped_when_files_come_or_go(toy, tmp_path, monkeypatch):
    src, scripts, dynamic = toy
    cache = tmp_path / "cache.json"
    first = ImportGraph(src, dynamic, cache_file=cache).digest(scripts / "one.py", {"kind": "a"})
    from mathdistill.workflow import closure

    def no_parse(*a, **k):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(closure.ImportGraph, "_analyse", no_parse)
    assert ImportGraph(src, dynamic, cache_file=cache).digest(scripts / "one.py", {"kind": "a"}) == first
    monkeypatch.undo()
    (src / "mathdistill/new.py").write_text("Z = 1\n")  # layout changed: nothing reused
    monkeypatch.setattr(closure.ImportGraph, "_analyse", no_parse)
    with pytest.raises(AssertionError, match="parsed although cached"):
        ImportGraph(src, dynamic, cache_file=cache).digest(scripts / "one.py", {"kind": "a"})


@pytest.fixture(scope="module")
def src_copy(tmp_path_factory):
    dest = tmp_path_factory.mktemp("closure") / "src"
    shutil.copytree(REPO / "src", dest, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return dest


CHOICES = {"teacher": ["annotated", "openai"]}  # methods: every type


def test_every_module_edit_changes_exactly_its_importers_digests(src_copy):
    """For each library module: a code edit changes the digest of exactly the workflow
    scripts whose closure holds it; a comment edit changes none."""
    graph = ImportGraph(src_copy)

    def state():
        graph.refresh()
        return graph, {s.name: graph.digest(s, CHOICES) for s in SCRIPTS}

    graph, base = state()
    closures = {s.name: graph.closure(s, CHOICES)[0] for s in SCRIPTS}
    modules = sorted(graph._modules)
    assert len(modules) > 80
    reached = set().union(*closures.values())
    for module in modules:
        path = graph.module_file(module)
        original, st = path.read_text(), path.stat()
        _edit(path, "\n# only a comment\n")
        assert state()[1] == base, f"a comment in {module} changed a digest"
        _edit(path, "\n_EDITED_BY_TEST = 1\n")
        changed = {s for s, d in state()[1].items() if d != base[s]}
        assert changed == {s for s, mods in closures.items() if module in mods}, module
        path.write_text(original)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 3 * 10**9))
    assert "mathdistill.stages.launch" in reached and "mathdistill.strategies.arith" in reached


def test_lazy_exports_are_followed_only_where_used(tmp_path):
    """A package whose __getattr__ imports names on first use (PEP 562) lists them in LAZY:
    a script that uses the lazy name depends on its module, one that does not, does not."""
    src = tmp_path / "src"
    _write(src, {
        "mathdistill/__init__.py": "",
        "mathdistill/pkg/__init__.py": """
            import importlib

            from mathdistill.pkg.light import gen

            LAZY = {"fit": "mathdistill.pkg.heavy:fit"}

            def __getattr__(name):
                module, _, attr = LAZY[name].partition(":")
                return getattr(importlib.import_module(module), attr)
            """,
        "mathdistill/pkg/light.py": "def gen():\n    return 1\n",
        "mathdistill/pkg/heavy.py": "import torch\n\ndef fit():\n    return torch.ones(1)\n",
    })
    fits = tmp_path / "fit.py"
    fits.write_text("from mathdistill.pkg import fit\nfit()\n")
    gens = tmp_path / "gen.py"
    gens.write_text("from mathdistill.pkg import gen\ngen()\n")
    graph = ImportGraph(src)
    modules, ext = graph.closure(fits)
    assert "mathdistill.pkg.heavy" in modules and "torch" in ext
    modules, ext = graph.closure(gens)
    assert "mathdistill.pkg.heavy" not in modules and "torch" not in ext
    before = graph.digest(fits), graph.digest(gens)
    _edit(src / "mathdistill" / "pkg" / "heavy.py", "import torch\n\ndef fit():\n    return 2\n")
    graph = ImportGraph(src)
    assert graph.digest(fits) != before[0] and graph.digest(gens) == before[1]


def test_the_students_package_keeps_training_out_of_generation_jobs():
    """mathdistill.students imports its training module (transformers' Trainer) lazily:
    the train scripts' closures have it, the generation scripts' do not."""
    import subprocess
    import sys

    graph = ImportGraph(REPO / "src")
    for script in ("train", "tailored_train"):
        assert "mathdistill.students.training" in graph.closure(
            REPO / "workflow" / "scripts" / f"{script}.py")[0]
    for script in ("predict", "predict_multi", "tailored_exam", "siked_generate", "fdd_exam"):
        assert "mathdistill.students.training" not in graph.closure(
            REPO / "workflow" / "scripts" / f"{script}.py")[0]
    code = ("import sys, mathdistill.students as s; assert 'transformers.trainer' not in "
            "sys.modules and 'peft' not in sys.modules; s.train; "
            "assert 'mathdistill.students.training' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
