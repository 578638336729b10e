"""Experiment settings vs operational settings, and where a job's settings come from.

    from mathdistill.workflow.settings import experimental, full, section
    gen = section(config, "generation", method="cotd", student="tiny-t5")  # student ⊕ method
    experimental("generation", gen)     # what decides the output: a rule's params
    # in the job (workflow script): the params + the operational keys of the same config
    full("generation", snakemake.params.generation, snakemake.config,
         {"method": "cotd", "student": "tiny-t5"})

A job reruns when, and only when, something that decides its output changed. The settings
in `OPERATIONAL` only say how a job runs (concurrency, rate limits, timeouts, where a
server or a cache lives, batch sizes of generation, progress bars, logging): they are not
rule params, so changing them reruns nothing; the job reads them from the config it was
started with (`snakemake.config`: the same --configfile/--config as the main process, also
in SLURM job steps). Keys of a method's `options` (e.g. `options.exam`) are always
experiment settings.

A teacher's settings are looked up here and only here (`teacher_spec`), by the name a
teacher's jobs carry in their paths (`teachers: {name: spec}`; which teacher serves a
method: `grid.Grid.teacher_of`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

__all__ = ["OPERATIONAL", "experimental", "full", "merge", "operational", "section",
           "teacher_spec"]

# section -> keys that do not decide a job's output
OPERATIONAL: dict[str, frozenset[str]] = {
    # students.<name>.train / methods.<name>.train (TrainConfig): logging and memory/speed
    # trade-offs that compute the same step (activation checkpointing, compile, fused AdamW)
    "train": frozenset({"logging_steps", "gradient_checkpointing", "compile", "fused_optim"}),
    # students.<name>.generation / methods.<name>.generation (GenerationConfig)
    "generation": frozenset({"batch_size", "progress"}),
    # teachers.<name>.options (the backends' keyword options): where the server/cache/demo data
    # live, credentials, client concurrency, retries, timeouts, batching and devices
    "teacher": frozenset({
        "base_url", "api_key", "api_key_env", "send_key_header", "max_tokens_field",
        "concurrency", "rate_limit", "timeout", "max_attempts", "backoff_initial",
        "backoff_max", "max_retry_after", "cache", "cache_dir",
        "data_dir", "progress", "batch_size", "device", "chunk_size", "tensor_parallel_size",
        "gpu_memory_utilization", "max_failed_streak", "max_connection_failures",
        "connect_timeout"}),
    # teachers.<name>.filter (filtering.filter_rationales options)
    "filter": frozenset({"progress"}),
}


def merge(base: Mapping | None, over: Mapping | None) -> dict:
    """Deep merge of two dicts (`over` wins); the inputs are not modified."""
    out = copy.deepcopy(dict(base or {}))
    for k, v in (over or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) \
            else copy.deepcopy(v)
    return out


def experimental(name: str, settings: Mapping | None) -> dict:
    """The keys of `settings` (a `name` section) that decide a job's output."""
    drop = OPERATIONAL[name]
    return {k: v for k, v in (settings or {}).items() if k not in drop}


def operational(name: str, settings: Mapping | None) -> dict:
    """The keys of `settings` (a `name` section) that only say how a job runs."""
    keep = OPERATIONAL[name]
    return {k: v for k, v in (settings or {}).items() if k in keep}


def teacher_spec(config: Mapping, name: str) -> dict:
    """{"backend", "options", "n", "filter"} of the teacher `name`: `config["teachers"][name]`
    (its results folder teacher/<name>/)."""
    teachers = config.get("teachers") or {}
    if name not in teachers:
        raise KeyError(f"config: no teacher {name!r} (teachers: {', '.join(teachers) or 'none'})")
    spec = teachers[name]
    return {"backend": spec["backend"], "options": dict(spec.get("options") or {}),
            "n": spec.get("n", 1), "filter": dict(spec.get("filter") or {})}


def section(config: Mapping, name: str, *, method: str | None = None,
            student: str | None = None, teacher: str | None = None) -> dict:
    """The complete settings of a section for a job: "train"/"generation": the student's,
    merged with the configured method's overrides; "teacher"/"filter": the teacher's
    options/filter."""
    if name in ("train", "generation"):
        return merge(config["students"][student].get(name),
                     config["methods"][method].get(name))
    spec = teacher_spec(config, teacher)
    return spec["options"] if name == "teacher" else spec["filter"]


def full(name: str, params: Mapping | None, config: Mapping, source: Mapping) -> dict:
    """In a job: its experiment settings (`params`, from the rule) + the operational keys
    of the same section in `config`; `source`: {"method", "student"} or {"teacher"}. A key
    the params hold wins (e.g. an FDD exam's own batch_size, from options.exam)."""
    return {**operational(name, section(config, name, **source)), **dict(params or {})}
