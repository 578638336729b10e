"""Check a workflow config before any job is planned: every error at once, each naming the
config file, the line and the key path.

    from mathdistill.workflow.validate import ConfigError, check_config, key_lines
    grid = check_config(config, ["config/paper.yaml", "my.yaml"], overrides={"seed": 1},
                        schema="config/schema.yaml")   # -> Grid; ConfigError lists problems
    key_lines("config/config.yaml")[("methods", "cotd", "type")]   # -> 47

`config` is the merged config Snakemake built from `files` (in order; later files win key
by key) and `overrides` (`--config key=value`). The file and line of each key come from
the YAML files themselves (merge keys `<<: *anchor` point at the anchor's lines); a key set
by `--config` is reported as "--config". First the JSON Schema (config/schema.yaml: every
key typed, per method type and teacher backend), then, on a schema-valid config, what the
schema cannot see (workflow.grid.Grid.problems: unknown students, run-name clashes,
round-0 reuse). A ConfigError's message is one line per problem:

    config/bad.yaml:12: methods.cotd.type: 'singel' is not one of ['single', 'etd', ...]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path

import yaml

from mathdistill.workflow.grid import Grid

__all__ = ["ConfigError", "check_config", "key_lines", "schema_errors"]

OVERRIDE = "--config"


class ConfigError(ValueError):
    """A config that must not reach a job; `problems`: one formatted line each."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(f"invalid workflow config ({n} problem{'s' * (n != 1)}):\n  "
                         + "\n  ".join(self.problems))


# ---------------------------------------------------------------- where keys are
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_with_lines(path: str | Path) -> tuple[object, dict[tuple, int]]:
    """(data, {key path: 1-based line}) of a YAML file: every mapping key and list item."""
    loader = _Loader(Path(path).read_text(encoding="utf-8"))
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[tuple, int] = {}
        _walk(node, (), lines, loader)
        return loader.construct_document(node), lines
    finally:
        loader.dispose()


def key_lines(path: str | Path) -> dict[tuple, int]:
    """{key path: 1-based line} of every mapping key and list item of a YAML file."""
    return load_with_lines(path)[1]


def _walk(node, path: tuple, out: dict, loader) -> None:
    if isinstance(node, yaml.MappingNode):
        merge = "tag:yaml.org,2002:merge"
        for key, value in node.value:  # merged keys first: the mapping's own keys win
            if key.tag == merge:
                for sub in value.value if isinstance(value, yaml.SequenceNode) else [value]:
                    _walk(sub, path, out, loader)
        for key, value in node.value:
            if key.tag == merge:
                continue
            k = loader.construct_object(key, deep=True)
            out[(*path, k)] = key.start_mark.line + 1
            _walk(value, (*path, k), out, loader)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), out, loader)


def _origins(files: Iterable, overrides: Mapping | None) -> dict[tuple, tuple[str, int | None]]:
    """{key path: (file, line)} of the merged config: later files win, and a file that
    sets a key to a non-mapping value replaces what earlier files had below it."""
    out: dict[tuple, tuple[str, int | None]] = {}

    def put(path, where, replaces):
        if replaces:
            for p in [p for p in out if p[:len(path)] == path and len(p) > len(path)]:
                del out[p]
        out[path] = where

    for f in files:
        data, lines = load_with_lines(f)
        for path, line in sorted(lines.items(), key=lambda kv: len(kv[0])):
            put(path, (str(f), line), not isinstance(_get(data, path), Mapping))
    for path in _paths(overrides or {}, ()):
        put(path, (OVERRIDE, None), not isinstance(_get(overrides, path), Mapping))
    return out


def _paths(obj, prefix: tuple):
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))


def _get(obj, path: tuple):
    for k in path:
        try:
            obj = obj[k]
        except (KeyError, IndexError, TypeError):
            return None
    return obj


def _dotted(path: Sequence) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) and not isinstance(k, bool) else \
            f"{'.' if out else ''}{k}"
    return out or "(top level)"


def _format(path: tuple, message: str, origins: Mapping, default: str) -> tuple:
    """((file, line) sort key, "file:line: key.path: message") for a problem at `path`."""
    for n in range(len(path), -1, -1):  # the key itself, else the nearest key above it
        where = origins.get(tuple(path[:n]))
        if where:
            break
    else:
        where = (default, None)
    file, line = where
    loc = f"{file}:{line}" if line else file
    return (file, line or 0), f"{loc}: {_dotted(path)}: {message}"


# ---------------------------------------------------------------- checks
@cache
def _validator(schema: str):
    import jsonschema

    with open(schema, encoding="utf-8") as f:
        spec = yaml.load(f, Loader=_Loader)
    return jsonschema.validators.validator_for(spec)(spec)  # the schema itself: a test


_UNEXPECTED = re.compile(r"\(((?:'[^']*'(?:, )?)+) (?:was|were) unexpected\)")
# keys of earlier config versions: what to write instead
REMOVED = {
    ("teacher",): "the one `teacher:` is now `teachers: {<name>: {backend: <the old "
                  "teacher.name>, options: ..., n: ..., filter: ...}}` (e.g. teachers: "
                  "{annotated: {backend: annotated}}); with several teachers each method "
                  "names its own (methods.<m>.teacher: <name>)",
}


def schema_errors(config: Mapping, schema: str | Path) -> list[tuple[tuple, str]]:
    """[(key path, message)] of every schema violation (an unexpected key: its own path)."""
    out = []
    for error in _validator(str(schema)).iter_errors(config):
        path = tuple(error.absolute_path)
        found = _UNEXPECTED.search(error.message)
        if found and error.validator in ("additionalProperties", "unevaluatedProperties"):
            for key in re.findall(r"'([^']*)'", found.group(1)):
                out.append(((*path, key), REMOVED.get((*path, key),
                                                      "unknown key (not in config/schema.yaml)")))
        elif "propertyNames" in error.relative_schema_path:  # the key itself
            out.append(((*path, error.instance), f"not a valid name: {error.message}"))
        else:
            about = error.schema.get("description") if isinstance(error.schema, dict) else None
            out.append((path, f"{error.message} ({about})" if about else error.message))
    return out


class _ValidCache:
    """Digests of configs the schema accepted (file `path`), so that an unchanged config is
    not validated again: the digest covers the merged config, the schema file and the
    jsonschema version. Only a valid config is kept; problems are always recomputed."""

    KEEP = 32

    def __init__(self, path, config: Mapping, schema: str | Path):
        from importlib.metadata import version

        self.path = Path(path)
        h = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
        h.update(Path(schema).read_bytes())
        h.update(version("jsonschema").encode())
        self.key = h.hexdigest()

    def _read(self) -> list[str]:
        try:
            keys = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return keys if isinstance(keys, list) else []

    def hit(self) -> bool:
        return self.key in self._read()

    def add(self) -> None:
        from mathdistill.io import write_json

        keys = [k for k in self._read() if k != self.key][-(self.KEEP - 1):] + [self.key]
        try:
            write_json(self.path, keys)
        except OSError:  # a read-only checkout: validate every time
            pass


def check_config(config: Mapping, files: Sequence, overrides: Mapping | None = None, *,
                 schema: str | Path, cache_file: str | Path | None = None) -> Grid:
    """The config's Grid; ConfigError listing every schema and grid problem otherwise.
    `cache_file`: where digests of schema-valid configs are kept (_ValidCache)."""
    files = [_display(f) for f in files]
    cached = _ValidCache(cache_file, config, schema) if cache_file else None
    if cached is not None and cached.hit():
        problems = []
    else:
        problems = schema_errors(config, schema)
        if cached is not None and not problems:
            cached.add()
    try:
        grid = Grid(config)
        problems += grid.problems
    except Exception:  # a config the schema rejected: its errors are reported
        if not problems:
            raise
    if problems:
        origins = _origins(files, overrides)
        default = str(files[-1]) if files else OVERRIDE
        lines = sorted({_format(p, m, origins, default) for p, m in problems},
                       key=lambda x: (_file_rank(x[0][0], files), x[0][1], x[1]))
        raise ConfigError([text for _, text in lines])
    return grid


def _display(path) -> str:
    """A path as the user would write it: relative to the working directory below it."""
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def _file_rank(file: str, files: Sequence) -> int:
    names = [str(f) for f in files]
    return names.index(file) if file in names else len(names)
