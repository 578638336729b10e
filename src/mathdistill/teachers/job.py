"""A teacher job (teach, FDD questions, Tailored feedback): cost on record, failures loud.

    from mathdistill.teachers.job import TeacherJob
    with TeacherJob("openai", options, cost_out="results/teacher/openai/cot/cost.json",
                    label="teach cot") as job:
        rationales = job.teacher.generate(problems, "cot", n=4)
        meta = job.finish()            # writes cost.json; raises TeacherFailed if requests failed
        write_jsonl(out, rationales)   # reached only when the job may succeed

Job option, taken out of the teacher options before the backend sees them:
`max_failed_fraction` (default 0): the share of the job's completions that may fail (each
kept as a failed record, e.g. a Rationale with `error` set) without failing the job. Above
it, `finish()` writes the cost record and raises TeacherFailed: the message names the
teacher's endpoint (server URL), model and the failures by kind. Everything that succeeded
is in the completion cache already, so a rerun requests only the failed keys. A run the
backend aborts (TeacherAbort: a dead or misconfigured endpoint, see openai_backend) leaves
the job the same way. `finish()` returns the metadata for the job's outputs (failed,
failed_fraction, max_failed_fraction, ...).

The cost record (`cost_out`, JSON): this run's totals (requests, cached, generated, failed,
tokens, errors and failures by kind), the same per kind of call under "calls", and
"ledger": the totals of `cost.ledger.jsonl` beside it (ledger.CostLedger: every response of
every run of this job, killed and failed runs included; it is never removed by the job).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Self

from mathdistill.io import write_json
from mathdistill.teachers.backend import CompletionBackend, TeacherAbort, TeacherError
from mathdistill.teachers.ledger import CostLedger, ledger_path

__all__ = ["JOB_OPTIONS", "TeacherFailed", "TeacherJob"]

logger = logging.getLogger(__name__)

JOB_OPTIONS = {"max_failed_fraction": 0.0}


class TeacherFailed(TeacherError):
    """A teacher job ended with more failed requests than it accepts (or was aborted)."""


def _fraction(value, where: str) -> float:
    from mathdistill.teachers import TeacherConfigError

    try:
        f = float(value)
    except (TypeError, ValueError):
        f = -1.0
    if not 0.0 <= f <= 1.0:
        raise TeacherConfigError(f"{where}: max_failed_fraction must be a number in [0, 1], "
                         f"got {value!r}")
    return f


class TeacherJob:
    """See the module docstring. `teacher`: the backend built from `options`."""

    def __init__(self, teacher: str, options: Mapping | None = None, *,
                 cost_out: str | os.PathLike | None = None, label: str = ""):
        from mathdistill.teachers import get_teacher

        opts = dict(options or {})
        self.label = label or f"teacher {teacher}"
        self.max_failed_fraction = _fraction(
            opts.pop("max_failed_fraction", JOB_OPTIONS["max_failed_fraction"]),
            f"{self.label}: teacher option")
        self.name, self.cost_out = teacher, cost_out
        self.teacher = get_teacher(teacher, **opts)
        self.real = isinstance(self.teacher, CompletionBackend)  # makes calls, counts them
        if self.real and cost_out is not None:
            self.teacher.ledger = CostLedger(ledger_path(cost_out), label=self.label)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, typ, exc, tb) -> bool:
        if isinstance(exc, TeacherAbort):
            msg = f"{self.label}: aborted: {exc}. {self._resume()}"
            self._write("aborted", msg)
            raise TeacherFailed(msg) from exc
        return False

    # ---- accounting -----------------------------------------------------------------
    def summary(self) -> dict:
        """The metadata for the job's outputs: completions, failures, the accepted share."""
        out = {"teacher": self.name, "max_failed_fraction": self.max_failed_fraction}
        if not self.real:
            return {**out, "completions": None, "failed": 0, "failed_fraction": 0.0}
        m = self.teacher.meter
        total = m.cached + m.generated + m.failed
        return {**out, "model": self.teacher.model, "endpoint": self.teacher.endpoint,
                "completions": total, "failed": m.failed,
                "failed_fraction": m.failed / total if total else 0.0,
                "failed_by_kind": dict(sorted(m.failed_by_kind.items()))}

    def _resume(self) -> str:
        m = self.teacher.meter
        cache = self.teacher.cache.path or "memory (cache: false)"
        return (f"{m.cached + m.generated} completions succeeded and are cached in {cache}; "
                f"rerunning the job requests only what is missing")

    def _write(self, status: str, message: str | None = None, produced: int | None = None) -> dict:
        if self.real:
            record = {"label": self.label, "status": status, **self.teacher.cost(),
                      **self.summary(), "ledger": self.teacher.ledger.totals()}
        else:  # an offline teacher makes no calls
            record = {"label": self.label, "status": status, "teacher": self.name,
                      "requests": 0, "cached": 0, "generated": produced, "failed": 0,
                      "prompt_tokens": 0, "completion_tokens": 0, **self.summary()}
        if message:
            record["message"] = message
        if self.cost_out is not None:
            write_json(self.cost_out, record)
        return record

    def finish(self, produced: int | None = None) -> dict:
        """Write the cost record; raise TeacherFailed when more than `max_failed_fraction`
        of the completions failed. `produced`: records made by an offline teacher."""
        meta = self.summary()
        if meta["failed"] and meta["failed_fraction"] > self.max_failed_fraction:
            kinds = ", ".join(f"{k}: {v}" for k, v in meta["failed_by_kind"].items())
            msg = (f"{self.label}: {meta['failed']} of {meta['completions']} completions failed "
                   f"({kinds}) from teacher {self.name} at {meta['endpoint']}, model "
                   f"{meta['model']!r}. {self._resume()} (the {meta['failed']} failed). To "
                   f"accept losses, set teacher option max_failed_fraction (now "
                   f"{self.max_failed_fraction:g}; this run {meta['failed_fraction']:.4f}).")
            self._write("failed", msg)
            raise TeacherFailed(msg)
        if meta["failed"]:
            logger.warning("%s: %d of %d completions failed, accepted (max_failed_fraction "
                           "%g)", self.label, meta["failed"], meta["completions"],
                           self.max_failed_fraction)
        self._write("ok", produced=produced)
        return meta
