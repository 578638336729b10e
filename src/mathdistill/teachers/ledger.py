"""What a teacher's calls cost: an in-memory meter and an append-only ledger that survives kills.

    from mathdistill.teachers.ledger import CostLedger, CostMeter
    ledger = CostLedger("results/teacher/openai/cot/cost.ledger.jsonl", label="teach cot")
    ledger.record("rationale:cot", key, "ok", {"prompt_tokens": 812, "completion_tokens": 95})
    ledger.record("rationale:cot", key, "500")           # an error response: no usage
    ledger.totals()   # {"runs", "requests", "prompt_tokens", ..., "by_call": {...}}: every run

The ledger has one line per response (or failed attempt) a backend received, written and
fsync'ed the moment it arrives, so the calls of a run killed with SIGKILL (or one that
failed) stay on record and the next run of the same job appends to the same file: its
totals are what the job's output has cost over all its runs. `outcome` is "ok" (a usable
answer), "short" (fewer choices than asked for; its usage counts all the same) or an error
kind ("429", "500", "timeout", "connection", "malformed", ...).

`CostMeter` sums one run (one backend instance), per call kind ("rationale:cot",
"question:harder", "feedback", ...) and in total; cache hits are counted there only.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from mathdistill.teachers.cache import JsonlLog

__all__ = ["OK_OUTCOMES", "CostLedger", "CostMeter", "ledger_path", "sum_meters"]

OK_OUTCOMES = ("ok", "short")


def _tokens(usage: dict | None) -> tuple[int, int]:
    u = usage or {}
    return int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)


@dataclass
class CostMeter:
    """Calls, cache hits, failures and tokens of one run (summed over its calls)."""

    requests: int = 0  # responses and failed attempts received, retries included
    retries: int = 0
    cached: int = 0  # completions served from the cache
    generated: int = 0  # completions received in this run
    failed: int = 0  # completions given up on (recorded, retried next run)
    short: int = 0  # responses with fewer choices than asked for (batch_samples fallback)
    prompt_tokens: int = 0  # tokens paid in this run
    completion_tokens: int = 0
    total_prompt_tokens: int = 0  # tokens behind every completion returned (cached too)
    total_completion_tokens: int = 0
    wall_s: float = 0.0
    errors: Counter = field(default_factory=Counter)  # failed attempts by kind
    failed_by_kind: Counter = field(default_factory=Counter)  # given-up completions by kind

    def add_response(self, outcome: str, usage: dict | None = None) -> None:
        """One response or failed attempt received (paid for if it carries usage)."""
        self.requests += 1
        if outcome == "short":
            self.short += 1
        elif outcome not in OK_OUTCOMES:
            self.errors[outcome] += 1
        pin, pout = _tokens(usage)
        self.prompt_tokens += pin
        self.completion_tokens += pout
        self.total_prompt_tokens += pin
        self.total_completion_tokens += pout

    def add_cached(self, completions: int, usage: dict | None) -> None:
        self.cached += completions
        pin, pout = _tokens(usage)
        self.total_prompt_tokens += pin
        self.total_completion_tokens += pout

    def add_failed(self, completions: int, kind: str) -> None:
        self.failed += completions
        self.failed_by_kind[kind] += completions

    def as_dict(self) -> dict:
        counters = ("errors", "failed_by_kind")
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in counters}
        d["wall_s"] = round(self.wall_s, 3)
        for k in counters:
            d[k] = dict(sorted(getattr(self, k).items()))
        return d


def ledger_path(cost_out: str | os.PathLike) -> str:
    """The ledger beside a cost record: cost.json -> cost.ledger.jsonl."""
    return os.fspath(cost_out).removesuffix(".json") + ".ledger.jsonl"


class CostLedger:
    """Append-only record of every response of a job (see the module docstring).

    `path=None` keeps nothing on disk (totals then cover this run only)."""

    def __init__(self, path: str | os.PathLike | None, *, label: str = "",
                 run: str | None = None):
        self.log = JsonlLog(path)
        self.path = self.log.path
        self.label = label
        self.run = run or f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._memory: list[dict] = []

    def record(self, call: str, key: str, outcome: str, usage: dict | None = None) -> dict:
        pin, pout = _tokens(usage)
        line = {"t": round(time.time(), 3), "run": self.run, "job": self.label, "call": call,
                "key": key, "outcome": outcome, "prompt_tokens": pin, "completion_tokens": pout}
        if self.path is None:
            self._memory.append(line)
        else:
            self.log.append(line)
        return line

    def lines(self) -> list[dict]:
        return self._memory if self.path is None else [e for _, e in self.log.read()]

    def totals(self) -> dict:
        """Sums over every line (every run of the job, killed ones included)."""
        by_call: dict[str, CostMeter] = {}
        runs = []
        for e in self.lines():
            if e.get("run") not in runs:
                runs.append(e.get("run"))
            by_call.setdefault(str(e.get("call")), CostMeter()).add_response(
                str(e.get("outcome")), e)
        total = sum_meters(by_call.values())
        keep = ("requests", "short", "prompt_tokens", "completion_tokens", "errors")

        def pick(m: CostMeter) -> dict:
            return {k: v for k, v in m.as_dict().items() if k in keep}

        return {"path": None if self.path is None else str(self.path), "runs": len(runs),
                "this_run": self.run, **pick(total),
                "by_call": {c: pick(m) for c, m in sorted(by_call.items())}}


def sum_meters(meters) -> CostMeter:
    """One CostMeter that adds up `meters` (e.g. the per-call meters of a run)."""
    out = CostMeter()
    for m in meters:
        for k in out.__dataclass_fields__:
            mine = getattr(out, k)
            if isinstance(mine, Counter):
                mine.update(getattr(m, k))
            else:
                setattr(out, k, mine + getattr(m, k))
    return out

