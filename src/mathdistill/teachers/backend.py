"""Shared driver of the real teacher backends (openai, vllm, hf).

    class MyTeacher(CompletionBackend):
        name = "mine"
        def _execute(self, requests, deliver):      # the only backend-specific part
            for req in requests:
                deliver(req, result={"choices": [{"text": ..., "finish_reason": "stop"}],
                                     "usage": {"prompt_tokens": 9, "completion_tokens": 3}})

    t = MyTeacher("model-name", cache="results/.teacher_cache/x.jsonl", temperature=0.7)
    t.generate(problems, "pot", n=4)                 # -> list[Rationale], n per problem
    t.generate_questions(problems, mode="harder")   # FDD: -> list[str | None]
    t.feedback(problems, wrong_rationales)          # Tailored Learning: -> list[Rationale]
    t.write_cost("results/teacher/openai/pot/cost.json")

A request is (prompt, sample indexes): one per sample, or one per prompt asking for all n
samples with `batch_samples=True`. Requests already in the cache are never sent again;
each answer is cached the moment it arrives (see cache.py). A request that keeps failing
comes back as a Rationale with `error` set (and `meta["failed"] = True`), is counted in the
cost record, and is retried on the next run.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from mathdistill.filtering import TEACHER_FAILED
from mathdistill.io import write_json
from mathdistill.records import Problem, Rationale
from mathdistill.teachers.cache import CompletionCache, request_key
from mathdistill.teachers.prompting import Prompt, PromptBuilder, parse_question, parse_rationale

logger = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = "results/.teacher_cache"


class TeacherError(RuntimeError):
    """A teacher cannot serve at all (bad credentials, unknown model, missing install)."""


@dataclass
class Request:
    index: int  # position of the prompt in the complete() call
    prompt: Prompt
    payload: dict  # {"messages": [...]} or {"prompt": "..."}
    samples: tuple[int, ...]
    params: dict  # sampling params sent (temperature, top_p, max_tokens, stop, seed, ...)
    key: str


@dataclass
class Completion:
    text: str | None  # raw completion; None when the request failed
    error: str | None = None
    finish_reason: str | None = None
    cached: bool = False


@dataclass
class CostMeter:
    """Calls, cache hits, failures and tokens of one teacher (summed over its calls)."""

    requests: int = 0  # requests sent, retries included
    retries: int = 0
    cached: int = 0  # completions served from the cache
    generated: int = 0  # completions received in this run
    failed: int = 0  # completions given up on (recorded, retried next run)
    prompt_tokens: int = 0  # tokens paid in this run
    completion_tokens: int = 0
    total_prompt_tokens: int = 0  # tokens behind every completion returned (cached too)
    total_completion_tokens: int = 0
    wall_s: float = 0.0
    errors: Counter = field(default_factory=Counter)  # failed attempts by kind

    def add_usage(self, usage: dict | None, *, paid: bool) -> None:
        pin = int((usage or {}).get("prompt_tokens") or 0)
        pout = int((usage or {}).get("completion_tokens") or 0)
        self.total_prompt_tokens += pin
        self.total_completion_tokens += pout
        if paid:
            self.prompt_tokens += pin
            self.completion_tokens += pout

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "errors"}
        d["wall_s"] = round(self.wall_s, 3)
        d["errors"] = dict(sorted(self.errors.items()))
        return d


def model_fingerprint(model: str) -> str:
    """A short hash of a local model directory's files; "" for a hub id."""
    path = Path(model)
    if not path.is_dir():
        return ""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f"{f.relative_to(path)}:{f.stat().st_size}:".encode())
        with open(f, "rb") as fh:
            h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", s).strip("_")[-80:] or "model"


class CompletionBackend:
    """Prompts, cache, sampling and cost for a backend that only implements `_execute`."""

    name = "base"
    supports_seed = True
    local_weights = False  # True: the model may be a local dir, fingerprinted in cache keys

    def __init_subclass__(cls, **kw):
        # Publish every accepted option (the subclass's own + these) as the class signature,
        # so `get_teacher(name, **cfg)` rejects a misspelt option before building anything.
        super().__init_subclass__(**kw)
        own = [p for p in inspect.signature(cls.__init__).parameters.values()
               if p.name != "self" and p.kind is not p.VAR_KEYWORD]
        names = {p.name for p in own}
        common = [p for p in inspect.signature(CompletionBackend.__init__).parameters.values()
                  if p.kind is p.KEYWORD_ONLY and p.name not in names]
        cls.__signature__ = inspect.Signature(own + common)

    def __init__(self, model: str, *, mode: str = "chat", temperature: float = 0.0,
                 top_p: float = 1.0, max_tokens: int = 512, stop: Sequence[str] | None = None,
                 max_stop: int | None = None, seed: int | None = 0, batch_samples: bool = False,
                 cache: str | os.PathLike | bool | None = True, cache_dir: str | None = None,
                 n_shots: int = 8, prompt_style: str | dict | None = None,
                 demo_source: str = "file", demo_seed: int = 0, data_dir: str | None = None,
                 question_sampling: dict | None = None, feedback_sampling: dict | None = None,
                 progress: bool = True):
        if not model:
            raise TeacherError(f"{self.name} teacher: no model given (config key 'model')")
        if mode not in ("chat", "completions"):
            raise ValueError(f"mode must be 'chat' or 'completions', not {mode!r}")
        self.model, self.mode = str(model), mode
        self.sampling = {"temperature": float(temperature), "top_p": float(top_p),
                         "max_tokens": int(max_tokens)}
        self.stop = list(stop) if stop is not None else None
        self.max_stop, self.seed, self.batch_samples = max_stop, seed, batch_samples
        self.question_sampling = dict(question_sampling or {})
        self.feedback_sampling = dict(feedback_sampling or {})
        self.prompts = PromptBuilder(n_shots=n_shots, style=prompt_style, demo_source=demo_source,
                                     demo_seed=demo_seed, data_dir=data_dir)
        if cache is True:
            cache_dir = cache_dir or os.environ.get("MATHDISTILL_TEACHER_CACHE", DEFAULT_CACHE_DIR)
            cache = Path(cache_dir) / f"{self.name}-{_slug(self.model)}.jsonl"
        self.cache = CompletionCache(cache or None)
        self.progress = progress
        self.meter = CostMeter()
        self._warned_greedy = False
        self._fingerprint = model_fingerprint(self.model) if self.local_weights else ""

    # ---- what a backend implements -------------------------------------------------
    @property
    def model_id(self) -> str:
        """Model identity in cache keys: `model@fingerprint` for a local model directory."""
        return f"{self.model}@{self._fingerprint}" if self._fingerprint else self.model

    def _execute(self, requests: list[Request], deliver: Callable[..., None]) -> None:
        """Serve `requests`; call deliver(req, result=..., attempts=k) for each success
        (result: {"choices": [{"text", "finish_reason"}] * len(req.samples), "usage": {...}})
        or deliver(req, error="...", attempts=k) for a request given up on. Raise TeacherError
        when nothing can be served."""
        raise NotImplementedError

    # ---- requests -------------------------------------------------------------------
    def _params(self, prompt: Prompt, samples: tuple[int, ...], overrides: dict) -> dict:
        p = {**self.sampling, **overrides}
        stop = self.stop if self.stop is not None else list(prompt.stop)
        p["stop"] = stop[: self.max_stop] if self.max_stop else stop
        if self.seed is not None and self.supports_seed:
            p["seed"] = int(self.seed) + (0 if len(samples) > 1 else samples[0])
        return p

    def complete(self, prompts: Sequence[Prompt], n: int = 1, **overrides) -> list[list[Completion]]:
        """n raw completions per prompt, from the cache where present, else from the backend."""
        t0 = time.perf_counter()
        if n > 1 and {**self.sampling, **overrides}["temperature"] == 0 and not self._warned_greedy:
            logger.warning("%s: n=%d samples with temperature 0 will be identical", self.name, n)
            self._warned_greedy = True
        grid: list[list[Completion | None]] = [[None] * n for _ in prompts]
        groups = [tuple(range(n))] if self.batch_samples else [(s,) for s in range(n)]
        pending: dict[str, list[Request]] = {}
        for i, prompt in enumerate(prompts):
            payload = prompt.payload(self.mode)
            for samples in groups:
                params = self._params(prompt, samples, overrides)
                key = request_key(self.name, self.model_id, payload, params, samples)
                req = Request(i, prompt, payload, samples, params, key)
                hit = self.cache.get(key)
                if hit is not None and len(hit.get("choices", ())) == len(samples):
                    self._fill(grid, req, hit, cached=True)
                else:
                    pending.setdefault(key, []).append(req)

        if pending:
            unique = [reqs[0] for reqs in pending.values()]
            bar = tqdm(total=len(unique), desc=f"{self.name} {unique[0].prompt.kind}",
                       disable=not self.progress, leave=False)

            def deliver(req: Request, result: dict | None = None, error: str | None = None,
                        attempts: int = 1) -> None:
                if result is not None and len(result.get("choices", ())) != len(req.samples):
                    error, result = f"expected {len(req.samples)} choices", None
                if result is not None:
                    entry = self.cache.put(req.key, {**result, "samples": list(req.samples)})
                    self.meter.add_usage(entry.get("usage"), paid=True)
                    for r in pending[req.key]:
                        self._fill(grid, r, entry, cached=False)
                else:
                    self.cache.put_failure(req.key, error or "unknown error", attempts=attempts,
                                           samples=list(req.samples))
                    for r in pending[req.key]:
                        for s in r.samples:
                            grid[r.index][s] = Completion(None, error=error)
                    self.meter.failed += len(req.samples)
                    logger.warning("%s: request failed after %d attempt(s): %s",
                                   self.name, attempts, error)
                bar.update()

            try:
                self._execute(unique, deliver)
            finally:
                bar.close()
        missing = sum(c is None for row in grid for c in row)
        if missing:  # a backend bug: never drop a completion silently
            raise TeacherError(f"{self.name}: {missing} completion(s) neither served nor failed")
        self.meter.wall_s += time.perf_counter() - t0
        m = self.meter
        logger.info("%s %s: %d completions requested; so far %d cached, %d new, %d failed, "
                    "%d requests, tokens in/out %d/%d", self.name, self.model, len(prompts) * n,
                    m.cached, m.generated, m.failed, m.requests, m.prompt_tokens, m.completion_tokens)
        return grid  # type: ignore[return-value]

    def _fill(self, grid, req: Request, entry: dict, *, cached: bool) -> None:
        for s, ch in zip(req.samples, entry["choices"]):
            grid[req.index][s] = Completion(ch.get("text") or "", finish_reason=ch.get("finish_reason"),
                                            cached=cached)
        if cached:
            self.meter.cached += len(req.samples)
            self.meter.add_usage(entry.get("usage"), paid=False)
        else:
            self.meter.generated += len(req.samples)

    # ---- the Teacher API -------------------------------------------------------------
    def _meta(self, sample: int, c: Completion, prompt: Prompt, parsed: str) -> dict:
        meta = {"teacher": self.name, "model": self.model, "sample": sample, "cached": c.cached}
        if prompt.style:
            meta["prompt_style"] = prompt.style
        if c.finish_reason:
            meta["finish_reason"] = c.finish_reason
        if c.text is not None and c.text.strip() != parsed:
            meta["raw"] = c.text
        if c.error:
            meta["failed"] = True
        return meta

    def generate(self, problems: Sequence[Problem], strategy: str, n: int = 1) -> list[Rationale]:
        """n rationales per problem in `strategy` (failed requests: text "", error set)."""
        prompts = [self.prompts.rationale(p, strategy) for p in problems]
        grid = self.complete(prompts, n)
        out = []
        for p, prompt, row in zip(problems, prompts, grid):
            for s, c in enumerate(row):
                text = parse_rationale(c.text, prompt) if c.text is not None else ""
                out.append(Rationale(
                    id=p.id, question=p.question, answer=p.answer, strategy=strategy, text=text,
                    error=f"{TEACHER_FAILED}: {c.error}" if c.error else None,
                    meta=self._meta(s, c, prompt, text)))
        return out

    def generate_questions(self, problems: Sequence[Problem], mode: str = "harder") -> list[str | None]:
        """FDD: one new question per problem ("harder" | "similar"); None if failed/empty."""
        prompts = [self.prompts.question(p, mode) for p in problems]
        grid = self.complete(prompts, 1, **self.question_sampling)
        return [parse_question(row[0].text, pr, p.question) if row[0].text is not None else None
                for p, pr, row in zip(problems, prompts, grid)]

    def feedback(self, problems: Sequence[Problem], wrong_rationales: Sequence[Rationale | str],
                 n: int = 1) -> list[Rationale]:
        """Tailored Learning: a corrected CoT rationale for each (problem, wrong rationale)."""
        if len(problems) != len(wrong_rationales):
            raise ValueError(f"{len(problems)} problems but {len(wrong_rationales)} rationales")
        wrong = [w.text if isinstance(w, Rationale) else str(w) for w in wrong_rationales]
        prompts = [self.prompts.feedback(p, w) for p, w in zip(problems, wrong)]
        grid = self.complete(prompts, n, **self.feedback_sampling)
        out = []
        for p, w, prompt, row in zip(problems, wrong, prompts, grid):
            for s, c in enumerate(row):
                text = parse_rationale(c.text, prompt) if c.text is not None else ""
                meta = {**self._meta(s, c, prompt, text), "feedback": True, "wrong": w}
                out.append(Rationale(
                    id=p.id, question=p.question, answer=p.answer, strategy="cot", text=text,
                    error=f"{TEACHER_FAILED}: {c.error}" if c.error else None, meta=meta))
        return out

    # ---- cost -----------------------------------------------------------------------
    def cost(self) -> dict:
        return {"teacher": self.name, "model": self.model, **self.meter.as_dict()}

    def write_cost(self, path: str | os.PathLike) -> dict:
        """Write cost() as JSON (atomically), e.g. to cost.json beside the stage output."""
        record = self.cost()
        write_json(path, record)
        return record

    def reset_cost(self) -> None:
        self.meter = CostMeter()
