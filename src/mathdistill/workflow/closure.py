"""The library code a workflow script runs, and one digest of it (a rule's code param).

    from mathdistill.workflow.closure import ImportGraph
    graph = ImportGraph("src")                                  # a checkout's src/ folder
    modules, packages = graph.closure("workflow/scripts/train.py")
    graph.closure("workflow/scripts/train.py", choose={"method": "etd"})
    graph.digest("workflow/scripts/teacher_generate.py", choose={"teacher": "annotated"})

The closure is a small call graph: from a script's module-level code, follow the functions
and classes it uses (by name, through imports and `module.attr`), and for each unit reached
the imports it executes (module-level imports of every module imported, function-level
imports of the functions reached). A stage module serves several rules (stages.siked: a
torch rule and a data rule), so whole-module closures would be far too wide.

A module that exports names lazily (PEP 562 `__getattr__`, e.g. mathdistill.students: its
training code imports transformers' Trainer only when used) lists them in a module-level
dict `LAZY = {name: "module:attr"}`, which is followed like an import.

Imports made by name at run time are listed in `DYNAMIC`: fixed targets, or a registry
whose entry the job chooses (`choose={"teacher": "openai"}`, `{"method": "fdd"}`; a list
chooses several, no choice means every entry). Strings "mathdistill.x:f" in a script (what
`stages.launch.run` calls) are followed too.

The digest hashes the script and every module of the closure as normalised source: the
parsed AST without docstrings (comments never reach the AST), so neither a comment nor a
docstring edit changes it. Package data files that a module names (`"prompts"`: the folder
teachers/prompts/) are hashed byte for byte with that module.

`cache_file` keeps each file's analysis (units, digest) between runs, keyed by the file's
size, mtime and ctime: a dry run re-reads only what changed (any added or removed file
drops the cache).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DYNAMIC", "ImportGraph", "Registry", "normalised_source"]

ROOT = "mathdistill"
DATA_SUFFIXES = (".txt", ".yaml", ".json", ".jsonl")
CACHE_VERSION = 2
SCRIPT = "__script__"
LAZY = "LAZY"  # a module's lazy exports (ImportGraph._lazy)


@dataclass(frozen=True)
class Registry:
    """Targets chosen per job: `key` names the choice; `pattern` formats a target from the
    chosen name ("mathdistill.methods.{}:build_round"), or `table` ("module:NAME") is a
    module-level dict literal {name: "module:attr"} read from the source."""

    key: str
    pattern: str | None = None
    table: str | None = None


# unit (module, function or class) -> targets ("module:attr"; "pkg.*" = every module) or a
# Registry: imports made by name at run time
DYNAMIC: dict[tuple[str, str], list[str] | Registry] = {
    ("mathdistill.stages.rounds", "build_round"):
        Registry("method", pattern="mathdistill.methods.{}:build_round"),
    ("mathdistill.teachers", "get_teacher"):
        Registry("teacher", table="mathdistill.teachers:_BACKENDS"),
    ("mathdistill.execution.process", "WorkerProcess"): [
        "mathdistill.execution.worker:main", "mathdistill.execution.equations:solve_system"],
}


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def normalised_source(text: str) -> str:
    """The code of `text` without comments, docstrings and layout (an AST dump)."""
    return ast.dump(_strip_docstrings(ast.parse(text)))


def _reach(name: str) -> list[list]:
    """Importing a.b.c runs a, a.b and a.b.c."""
    parts = name.split(".")
    return [["unit", ".".join(parts[:i]), None] for i in range(1, len(parts) + 1)]


def _stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class ImportGraph:
    """Closures and digests of scripts over the library below `src`."""

    def __init__(self, src: str | Path, dynamic: Mapping | None = None,
                 cache_file: str | Path | None = None):
        self.src = Path(src).resolve()
        self.dynamic = DYNAMIC if dynamic is None else dynamic
        self._modules, data = self._scan()
        layout = "\n".join(sorted(str(p) for p in [*self._modules.values(), *data]))
        self.layout = hashlib.sha256(layout.encode()).hexdigest()
        self.cache_file = Path(cache_file) if cache_file else None
        self._files: dict[str, dict] = self._load_cache()
        self._fresh: dict[str, dict] = {}  # analyses checked or made in this process
        self._dirty = False
        self._closures: dict = {}
        self._digests: dict = {}

    # ---------------------------------------------------------------- files
    def _scan(self):
        modules, data = {}, []
        for dirpath, dirnames, filenames in os.walk(self.src):
            dirnames[:] = sorted(d for d in dirnames
                                 if d != "__pycache__" and not d.endswith(".egg-info"))
            parts = Path(dirpath).relative_to(self.src).parts
            for f in filenames:
                if f.endswith(".py") and parts:
                    name = parts if f == "__init__.py" else (*parts, f[:-3])
                    modules[".".join(name)] = Path(dirpath, f)
                elif f.endswith(DATA_SUFFIXES):
                    data.append(Path(dirpath, f))
        return modules, data

    def module_file(self, name: str) -> Path | None:
        return self._modules.get(name)

    def _load_cache(self) -> dict:
        if not self.cache_file or not self.cache_file.is_file():
            return {}
        try:
            store = json.loads(self.cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if store.get("version") != CACHE_VERSION or store.get("layout") != self.layout:
            return {}
        return store.get("files") or {}

    def refresh(self) -> None:
        """Forget the closures and digests made so far: files are checked (stat) again and
        re-read where they changed (a long-lived graph over files being edited)."""
        self._files.update(self._fresh)
        self._fresh, self._closures, self._digests = {}, {}, {}

    def save(self) -> None:
        """Write the analyses to `cache_file` (atomically) if anything was analysed."""
        if not (self.cache_file and self._dirty):
            return
        from mathdistill.io import write_json

        try:
            write_json(self.cache_file, {"version": CACHE_VERSION, "layout": self.layout,
                                         "files": {**self._files, **self._fresh}})
            self._dirty = False
        except OSError:  # a read-only checkout: no cache, same results
            pass

    # ---------------------------------------------------------------- analysis
    def _analysis(self, path: Path, module: str) -> dict:
        """{"digest", "units": {name or "": edges}, "bind": {name: target}, "data": [...]}
        of a module (or of a script: module "__script__"), from the cache when unchanged."""
        key = str(path)
        if key in self._fresh:
            return self._fresh[key]
        stamp = _stamp(path)
        found = self._files.get(key)
        if not found or found.get("stamp") != stamp or found.get("module") != module:
            found = {"stamp": stamp, "module": module, **self._analyse(path, module)}
            self._dirty = True
        self._fresh[key] = found
        return found

    def _analyse(self, path: Path, module: str) -> dict:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        package = (module if path.name == "__init__.py" else module.rpartition(".")[0]) \
            if module != SCRIPT else ""
        defs = {n.name: n for n in tree.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
        top = [n for n in tree.body if defs.get(getattr(n, "name", None)) is not n]
        bind = self._bindings(top, package)[0]
        units = {"": self._unit_edges(top, defs, bind, package, module)}
        for name, node in defs.items():
            units[name] = self._unit_edges([node], defs, bind, package, module)
        strings = {n.value for n in ast.walk(tree)
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        digest = hashlib.sha256(normalised_source(text).encode()).hexdigest()
        return {"digest": digest, "units": units, "bind": bind,
                "data": [] if module == SCRIPT else self._data_files(path, strings)}

    def _data_files(self, path: Path, strings: set) -> list[str]:
        """Package data the module names (paths below src): a data file or a non-package
        folder of its package directory whose name is one of its strings."""
        out = []
        for entry in sorted(path.parent.iterdir()):
            if entry.name not in strings:
                continue
            if entry.is_dir() and not (entry / "__init__.py").exists():
                files = sorted(f for f in entry.rglob("*")
                               if f.is_file() and f.suffix in DATA_SUFFIXES)
            else:
                files = [entry] if entry.is_file() and entry.suffix in DATA_SUFFIXES else []
            out += [str(f.relative_to(self.src)) for f in files]
        return out

    def _data_digest(self, relative: str) -> str:
        """sha256 of a data file's bytes (cached like the analyses)."""
        path = self.src / relative
        key, stamp = str(path), _stamp(path)
        found = self._fresh.get(key) or self._files.get(key)
        if not found or found.get("stamp") != stamp:
            found = {"stamp": stamp, "module": "__data__",
                     "digest": hashlib.sha256(path.read_bytes()).hexdigest()}
            self._dirty = True
        self._fresh[key] = found
        return found["digest"]

    def _bindings(self, nodes, package: str) -> tuple[dict, set, set]:
        """Imports among `nodes` (walked): local name -> target, modules run, third-party
        tops. Targets: ["mod", name] | ["attr", module, name] | ["ext", top]."""
        bind, run, ext = {}, set(), set()
        for node in (n for root in nodes for n in ast.walk(root)):
            if isinstance(node, ast.Import):
                for a in node.names:
                    top = a.name.split(".")[0]
                    if top == ROOT:
                        run.add(a.name)
                        bind[a.asname or top] = ["mod", a.name if a.asname else top]
                    elif top not in sys.stdlib_module_names:
                        ext.add(top)
                        bind[a.asname or top] = ["ext", top]
            elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
                if node.level:
                    parts = package.split(".")
                    mod = ".".join([*parts[: len(parts) - node.level + 1],
                                    *([node.module] if node.module else [])])
                else:
                    mod = node.module
                top = mod.split(".")[0]
                if top != ROOT:
                    if top not in sys.stdlib_module_names:
                        ext.add(top)
                        for a in node.names:
                            bind[a.asname or a.name] = ["ext", top]
                    continue
                run.add(mod)
                for a in node.names:
                    sub = f"{mod}.{a.name}"
                    if self.module_file(sub):  # `from pkg import module` imports it
                        run.add(sub)
                        bind[a.asname or a.name] = ["mod", sub]
                    else:
                        bind[a.asname or a.name] = ["attr", mod, a.name]
        return bind, run, ext

    def _resolve(self, target) -> list[list]:
        if target[0] == "mod":
            return _reach(target[1])
        if target[0] == "attr":
            return [*_reach(target[1]), ["unit", target[1], target[2]]]
        return [["ext", target[1]]]

    def _unit_edges(self, nodes, defs, mod_bind, package, module) -> list[list]:
        """What running a unit reaches: ["unit", module, name | None] and ["ext", top]."""
        edges: list[list] = []
        if module == SCRIPT:  # stages.launch.run("mathdistill.stages.x:f", ...)
            for n in ast.walk(ast.Module(body=nodes, type_ignores=[])):
                if isinstance(n, ast.Constant) and isinstance(n.value, str) \
                        and re.fullmatch(r"mathdistill(\.\w+)+:\w+", n.value):
                    edges += self._dynamic_edges(n.value)
        local, run, found = self._bindings(nodes, package)
        edges += [["ext", t] for t in sorted(found)]
        for mod in sorted(run):
            edges += _reach(mod)
        bind = {**mod_bind, **local}
        for node in (n for root in nodes for n in ast.walk(root)):
            if isinstance(node, ast.Name):
                if node.id in bind:
                    edges += self._resolve(bind[node.id])
                elif node.id in defs:
                    edges.append(["unit", module, node.id])
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                target = bind.get(node.value.id)
                if target and target[0] == "mod":
                    sub = f"{target[1]}.{node.attr}"
                    edges += self._resolve(["mod", sub] if self.module_file(sub)
                                           else ["attr", target[1], node.attr])
        unique = {json.dumps(e): e for e in edges}
        return list(unique.values())

    def _dynamic_edges(self, dyn: str) -> list[list]:
        edges = []
        pkg, star, rest = dyn.partition(".*")
        names = [dyn] if not star else [f"{m}{rest}" for m in sorted(self._modules)
                                         if m.rpartition(".")[0] == pkg]
        for target in names:
            mod, _, attr = target.partition(":")
            edges += _reach(mod)
            if attr:
                edges.append(["unit", mod, attr])
        return edges

    def _registry_targets(self, reg: Registry, chosen) -> list[str]:
        if reg.pattern:
            if chosen is None:
                return [reg.pattern.replace("{}", "*")]
            return [reg.pattern.format(c) for c in chosen]
        module, _, name = reg.table.partition(":")
        table = self._table(module, name)
        names = list(table) if chosen is None else chosen
        unknown = [c for c in names if c not in table]
        if unknown:
            raise ValueError(f"{reg.table}: no entry {unknown[0]!r} (has {', '.join(table)})")
        return [table[c] for c in names]

    def _table(self, module: str, name: str) -> dict:
        key = ("table", module, name)
        if key not in self._closures:
            self._closures[key] = self._read_table(module, name)
        return self._closures[key]

    def _lazy(self, module: str) -> dict:
        """The module's lazy exports: a module-level dict LAZY {name: "module:attr"} that its
        `__getattr__` imports on first use (PEP 562); {} when it has none."""
        key = ("lazy", module)
        if key not in self._closures:
            try:
                self._closures[key] = self._read_table(module, LAZY)
            except ValueError:
                self._closures[key] = {}
        return self._closures[key]

    def _read_table(self, module: str, name: str) -> dict:
        tree = ast.parse(self.module_file(module).read_text(encoding="utf-8"))
        for node in tree.body:
            target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
            if isinstance(target, ast.Name) and target.id == name and node.value is not None:
                return ast.literal_eval(node.value)
        raise ValueError(f"{module}: no module-level dict {name}")

    # ---------------------------------------------------------------- closure
    def closure(self, script: str | Path, choose: Mapping | None = None
                ) -> tuple[frozenset, frozenset]:
        """(mathdistill modules imported, third-party top-level packages imported) when the
        script runs, as far as the call graph sees; `choose`: registry key -> name(s)."""
        chosen = {k: ([v] if isinstance(v, str) else list(v)) for k, v in (choose or {}).items()}
        script = Path(script).resolve()
        key = (str(script), tuple(sorted((k, tuple(v)) for k, v in chosen.items())))
        if key not in self._closures:
            self._closures[key] = self._closure(script, chosen)
        return self._closures[key]

    def _closure(self, script: Path, chosen: dict) -> tuple[frozenset, frozenset]:
        ext: set[str] = set()
        modules: set[str] = set()
        seen: set[tuple] = set()
        todo: list[tuple] = [(SCRIPT, None)]
        while todo:
            unit = todo.pop()
            if unit in seen:
                continue
            seen.add(unit)
            module, name = unit
            if module == SCRIPT:
                info = self._analysis(script, SCRIPT)
            elif self.module_file(module):
                modules.add(module)
                info = self._analysis(self.module_file(module), module)
            else:
                continue
            if name is None:
                edges = list(info["units"][""])
            elif name in info["units"]:
                edges = list(info["units"][name])
            elif name in info["bind"]:  # a name the module imports (a re-export)
                edges = self._resolve(info["bind"][name])
            else:  # a lazy export (the module's LAZY table), or a constant
                lazy = self._lazy(module).get(name)
                edges = self._dynamic_edges(lazy) if lazy else []
            targets = self.dynamic.get(unit, [])
            if isinstance(targets, Registry):
                targets = self._registry_targets(targets, chosen.get(targets.key))
            for dyn in targets:
                edges += self._dynamic_edges(dyn)
            for kind, *rest in edges:
                if kind == "ext":
                    ext.add(rest[0])
                else:
                    todo.append(tuple(rest))
        return frozenset(modules), frozenset(ext)

    # ---------------------------------------------------------------- digest
    def files(self, script: str | Path, choose: Mapping | None = None) -> list[Path]:
        """The library files behind `digest`: the closure's modules and their data."""
        out = set()
        for module in self.closure(script, choose)[0]:
            path = self.module_file(module)
            out.add(path)
            out.update(self.src / f for f in self._analysis(path, module)["data"])
        return sorted(out)

    def digest(self, script: str | Path, choose: Mapping | None = None) -> str:
        """sha256 (hex, 16 chars) of the script and its library closure, normalised."""
        modules, _ = self.closure(script, choose)
        key = (str(Path(script).resolve()), modules)
        if key not in self._digests:
            h = hashlib.sha256(self._analysis(Path(script).resolve(), SCRIPT)["digest"].encode())
            for module in sorted(modules):
                info = self._analysis(self.module_file(module), module)
                h.update(f"\n{module}:{info['digest']}".encode())
                for f in info["data"]:
                    h.update(f"\n{f}:{self._data_digest(f)}".encode())
            self._digests[key] = h.hexdigest()[:16]
            self.save()
        return self._digests[key]
