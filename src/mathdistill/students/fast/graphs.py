"""Replay a fixed step function as a CUDA graph (eager on CPU or when switched off).

    from mathdistill.students.fast.graphs import GraphStep
    step = GraphStep(fn, static_inputs=[ids_buf, pos_buf], enabled=None)  # None: on for CUDA
    out = step(ids, pos)   # copies into the static buffers, then runs fn once
    out = step()           # no inputs: fn reads/writes its own static state buffers

Every call runs `fn` exactly once, so a stateful step (one that advances counters or writes a
KV cache) keeps its meaning: the first `warmup` calls run eagerly on a side stream (as
torch.cuda.graph requires before capture), the next call captures the graph and replays it,
and later calls only replay. `fn` must not sync with the host (.item(), nonzero, boolean
indexing, Python branches on tensor values, torch.multinomial) and must take no arguments:
it reads its inputs from the static buffers. The tensors it returns are static as well:
each replay overwrites them, so copy (or read) them before the next call.
Random numbers drawn with the default CUDA generator advance correctly on every replay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import torch

logger = logging.getLogger(__name__)


class GraphStep:
    """`fn` captured once in a torch.cuda.CUDAGraph over static buffers; replayed per call."""

    def __init__(self, fn: Callable[[], Any], static_inputs: Sequence[torch.Tensor] = (), *,
                 enabled: bool | None = None, warmup: int = 2, pool: Any = None):
        self.fn = fn
        self.static_inputs = list(static_inputs)
        devices = {t.device.type for t in self.static_inputs}
        if enabled is None:
            enabled = torch.cuda.is_available() and devices <= {"cuda"}
        if enabled and not torch.cuda.is_available():
            raise RuntimeError("GraphStep: CUDA graphs need a CUDA device")
        self.enabled = bool(enabled)
        self.warmup = max(1, warmup)
        self.pool = pool
        self.graph: torch.cuda.CUDAGraph | None = None
        self._out: Any = None
        self._calls = 0

    def _copy_inputs(self, inputs: Sequence[torch.Tensor]) -> None:
        if inputs and len(inputs) != len(self.static_inputs):
            raise ValueError(f"GraphStep: {len(inputs)} inputs for "
                             f"{len(self.static_inputs)} static buffers")
        for buf, x in zip(self.static_inputs, inputs, strict=False):
            buf.copy_(x, non_blocking=True)

    def __call__(self, *inputs: torch.Tensor) -> Any:
        self._copy_inputs(inputs)
        if not self.enabled:
            return self.fn()
        if self.graph is not None:
            self.graph.replay()
            return self._out
        self._calls += 1
        if self._calls <= self.warmup:  # eager runs on a side stream before capture
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                out = self.fn()
            torch.cuda.current_stream().wait_stream(side)
            return out
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph, pool=self.pool):
                self._out = self.fn()
        except RuntimeError as e:  # an op that cannot be captured: stay eager (nothing ran)
            logger.warning("GraphStep: CUDA graph capture failed, running eagerly: %s", e)
            self.enabled, self._out = False, None
            torch.cuda.synchronize()
            return self.fn()
        self.graph = graph
        graph.replay()  # capture records without running: this call's step runs now
        return self._out

    def reset(self) -> None:
        """Drop the captured graph (e.g. when the buffers are reallocated)."""
        self.graph, self._out, self._calls = None, None, 0
