"""Shared pieces of the command line: the usage error, KEY=VALUE options, config files.

    from mathdistill.cli.common import UsageError, add_config_args, config_options
    add_config_args(parser, "TrainConfig fields")        # --config FILE, -o KEY=VALUE
    opts = config_options(args, TrainConfig)             # typed, unknown keys -> UsageError

Options come from `--config FILE` (a YAML mapping) with `-o KEY=VALUE` on top; VALUE is
parsed as JSON when it can be (`8`, `0.003`, `true`, `null`, `[1, 2]`, `{"r": 16}`), else
it is a string. A dataclass config (TrainConfig, GenerationConfig) is checked here, before
any model is loaded: an unknown key or a value of the wrong type is a `UsageError` that
names where it came from (`FILE: key 'epochs'` or `-o epochs`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from mathdistill.io import DataError, read_yaml
from mathdistill.records import STRATEGIES

__all__ = ["ExamplesFormatter", "UsageError", "add_config_args", "add_method_args",
           "config_options", "method_cfg", "parse_option", "strategies_arg", "user_call"]


class UsageError(ValueError):
    """A bad option value (reported like a DataError: one line, exit code 2)."""


class ExamplesFormatter(argparse.HelpFormatter):
    """Wraps descriptions as usual but keeps an epilog that starts with "examples:" as is."""

    def _fill_text(self, text, width, indent):
        if text.startswith("examples:\n"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def parse_option(text: str) -> tuple[str, object]:
    """argparse type of `-o KEY=VALUE`: (key, JSON value or the plain string)."""
    key, eq, value = text.partition("=")
    if not eq or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value  # a plain string


def strategies_arg(text: str) -> list[str]:
    """argparse type of `--strategies cot,pot,l2m`."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    bad = [s for s in items if s not in STRATEGIES]
    if not items or bad:
        raise argparse.ArgumentTypeError(f"expected strategies from {', '.join(STRATEGIES)} "
                                         f"separated by commas, got {text!r}")
    return items


def add_config_args(p: argparse.ArgumentParser, what: str, *, flag: str = "-o",
                    long: str = "--option", config: str = "--config") -> None:
    p.add_argument(config, metavar="FILE", help=f"YAML mapping of {what}; {flag} overrides it")
    p.add_argument(flag, long, action="append", type=parse_option, default=[],
                   metavar="KEY=VALUE", help=f"one of the {what} (VALUE parsed as JSON if it "
                   "can be, else a string); repeatable")


def gather(config_file: str | None, pairs, flag: str = "-o") -> tuple[dict, dict[str, str]]:
    """(options, where each came from): the YAML mapping of `config_file`, then `pairs`."""
    opts: dict = {}
    origin: dict[str, str] = {}
    if config_file:
        loaded = read_yaml(config_file)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise DataError(f"{config_file}: expected a mapping of options, got "
                            f"{type(loaded).__name__}")
        opts.update(loaded)
        origin.update({k: f"{config_file}: key {k!r}" for k in loaded})
    for key, value in pairs:
        opts[key] = value
        origin[key] = f"{flag} {key}"
    return opts, origin


def _accepts(tp, value) -> bool:
    """Whether `value` (from YAML/JSON) fits the annotation `tp` (int also fits float)."""
    if tp is Any:
        return True
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(a, value) for a in args)
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp in (int, float):
        ok = (int,) if tp is int else (int, float)
        return isinstance(value, ok) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    base = origin or tp
    if base in (list, tuple):  # a lone string too (GenerationConfig.stop: one stop string)
        return isinstance(value, (list, tuple, str))
    if base is dict:
        return isinstance(value, dict)
    return True


def typed(cls, opts: Mapping, origin: Mapping[str, str]) -> dict:
    """Check `opts` against the fields of the dataclass `cls` (unknown key, wrong type)."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key, value in opts.items():
        where = origin.get(key, key)
        if key not in hints:
            raise UsageError(f"{where}: {cls.__name__} has no field {key!r}; fields: "
                             f"{', '.join(names)}")
        if not _accepts(hints[key], value):
            raise UsageError(f"{where}: {cls.__name__}.{key} must be "
                             f"{_name(hints[key])}, got {value!r}")
    return dict(opts)


def _name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def config_options(args, cls=None, *, config: str = "config", option: str = "option",
                   flag: str = "-o") -> dict:
    """The options of `--config` + `-o` (see the module docstring), checked against `cls`."""
    opts, origin = gather(getattr(args, config), getattr(args, option), flag)
    if cls is None:
        return opts
    typed(cls, opts, origin)
    user_call(cls.from_dict, opts)  # the config's own checks (ranges, combinations)
    return opts


def user_call(fn: Callable, *a, **kw):
    """`fn(*a, **kw)`, with a ValueError (the library's message for bad options or inputs)
    turned into a UsageError: one line on stderr, exit code 2."""
    try:
        return fn(*a, **kw)
    except (DataError, UsageError):
        raise
    except ValueError as e:
        raise UsageError(str(e)) from None


def add_method_args(p: argparse.ArgumentParser, types_: tuple[str, ...] = (), *,
                    type_required: bool = True, strategies: bool = True) -> None:
    """--type (when `types_`), --strategies (when `strategies`), -m KEY=VALUE: a method's
    config entry (type, strategies, options), as the workflow passes it to the stages."""
    if types_:
        p.add_argument("--type", required=type_required, choices=types_,
                       help="the method type")
    if strategies:
        p.add_argument("--strategies", type=strategies_arg, metavar="S1,S2",
                       help="the method's strategies, comma-separated (e.g. cot,pot,l2m)")
    p.add_argument("-m", "--method-option", action="append", type=parse_option, default=[],
                   metavar="KEY=VALUE", help="a method option (methods.<name>.options in the "
                   "experiment config; VALUE parsed as JSON if it can be); repeatable")


def method_cfg(args, default_strategies: Mapping[str, list[str]] | None = None) -> dict:
    """{"type", "strategies", "options"} from add_method_args' options."""
    strategies = args.strategies or (default_strategies or {}).get(args.type)
    if not strategies:
        raise UsageError(f"--strategies is required for --type {args.type}")
    return {"type": args.type, "strategies": list(strategies),
            "options": dict(args.method_option)}
