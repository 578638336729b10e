"""Training settings of a student: `TrainConfig` (used by `students.training.train`).

    from mathdistill.students import TrainConfig
    cfg = TrainConfig.from_dict({"lr": 3e-4, "scheduler": "cosine_with_restarts",
                                 "num_cycles": 3})     # unknown keys -> ValueError
    cfg.scheduler_kwargs()                             # {"num_cycles": 3}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import ConfigMixin
from .lora import lora_spec


@dataclass
class TrainConfig(ConfigMixin):
    """Training settings (ETD: lr 5e-4, 10 epochs; SIKeD: LoRA r16/a32, lr 2e-4, 3 epochs)."""

    lr: float = 5e-4
    epochs: float = 3.0
    batch_size: int = 8
    grad_accum: int = 1
    max_source_len: int = 512  # seq2seq encoder input
    max_target_len: int = 512  # seq2seq labels
    max_len: int = 1024  # causal prompt + target
    warmup: float = 0.0  # steps (>= 1) or a ratio of all steps (< 1)
    weight_decay: float = 0.0
    seed: int = 0
    lora: dict[str, Any] | None = None  # {r, alpha, dropout, target_modules}; None = full FT
    keep_adapter: bool = False  # LoRA: save the adapter instead of the merged model
    loss_on_prompt: bool = False  # causal: loss on the prompt tokens too (SIKeD: True)
    bf16: bool | None = None  # None: bf16 on a bf16-capable GPU, fp32 otherwise
    logging_steps: int = 10
    max_steps: int | None = None  # stop after this many optimizer steps (overrides epochs)
    scheduler: str = "linear"
    num_cycles: float | None = None  # cosine: waves (HF default 0.5); cosine_with_restarts: cycles
    group_by_length: bool = True  # batches of similar length (less padding)
    max_grad_norm: float = 1.0
    gradient_checkpointing: bool = False
    extra_fields: tuple[str, ...] = ()  # example keys passed to the batch (custom losses)
    packing: bool = False  # causal: packed rows + FastTrainStep (see the module docstring)
    pack_tokens: int | None = None  # packed row length; None: ~batch_size examples per row
    compile: bool | None = None  # torch.compile (None: packed path on CUDA only)
    fused_optim: bool | None = None  # fused AdamW (None: on CUDA)

    def __post_init__(self):
        self.lora = lora_spec(self.lora)
        self.extra_fields = tuple(self.extra_fields)
        for name in ("batch_size", "grad_accum", "logging_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"TrainConfig.max_steps must be >= 1 or None, got {self.max_steps}")
        if self.pack_tokens is not None and self.pack_tokens < 1:
            raise ValueError(f"TrainConfig.pack_tokens must be >= 1, got {self.pack_tokens}")
        if self.keep_adapter and self.lora is None:
            raise ValueError("TrainConfig.keep_adapter needs lora")
        self.scheduler_kwargs()  # checks num_cycles against the scheduler

    def scheduler_kwargs(self) -> dict[str, Any]:
        """Extra arguments of the LR schedule: {"num_cycles": n} or {} (HF's defaults).

        SIKeD §4 trains Qwen2 with "a cyclic scheduler" [P]; the authors' Qwen configs use
        HF "cosine" [C] (num_cycles 0.5: one decay, no restart). `cosine_with_restarts` with
        num_cycles = N runs N cosine cycles, i.e. N - 1 hard restarts to the peak LR."""
        if self.num_cycles is None:
            return {}
        if self.scheduler not in ("cosine", "cosine_with_restarts"):
            raise ValueError(f"TrainConfig.num_cycles needs scheduler cosine or "
                             f"cosine_with_restarts, not {self.scheduler!r}")
        n = self.num_cycles
        if self.scheduler == "cosine_with_restarts" and (int(n) != n or n < 1):
            raise ValueError(f"TrainConfig.num_cycles must be an int >= 1 for "
                             f"cosine_with_restarts, got {n!r}")
        if n <= 0:
            raise ValueError(f"TrainConfig.num_cycles must be > 0, got {n!r}")
        return {"num_cycles": int(n) if self.scheduler == "cosine_with_restarts" else float(n)}
