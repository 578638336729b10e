"""Shared helpers for the students' config dataclasses and devices/dtypes.

cfg = TrainConfig.from_dict({"lr": 5e-4, "epochs": 10})   # unknown keys -> ValueError
cfg.to_dict()                                              # JSON-ready
resolve_dtype("auto")   # torch.bfloat16 on a bf16-capable GPU, else torch.float32
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
}


class ConfigMixin:
    """from_dict (rejects unknown keys, names the class) and to_dict for dataclasses."""

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None):
        d = dict(d or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown keys {unknown}; allowed: {sorted(names)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def cuda_available() -> bool:
    return torch.cuda.is_available()


def bf16_available() -> bool:
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def resolve_dtype(dtype) -> torch.dtype:
    """None/'float32' -> fp32; 'auto' -> bf16 on a bf16 GPU else fp32; names or torch dtypes."""
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        return torch.bfloat16 if bf16_available() else torch.float32
    try:
        return _DTYPES[str(dtype).lower()]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r}; use auto or one of {sorted(_DTYPES)}") from None
