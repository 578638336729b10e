"""One optimizer step on packed rows: varlen attention, chunked CE, fused AdamW, compiled layers.

    from mathdistill.students.fast.packing import pack
    from mathdistill.students.fast.train_step import FastTrainStep
    step = FastTrainStep(model.cuda(), lr=5e-4, weight_decay=0.0, max_grad_norm=1.0)
    step.set_schedule("linear", warmup_steps=0, total_steps=len(batches))
    for b in pack(examples, tokens_per_batch=16384):
        loss = step(b)            # 0-dim tensor (no host sync); float(loss) to log
    # gradient accumulation: step([b1, b2]) = one optimizer step, token-mean over both rows

Causal HF LMs (Qwen2, Llama, SmolLM, Gemma), full or LoRA (peft; only trainable parameters go
to the optimizer). Precision: the parameters stay as loaded (fp32 master weights); on CUDA the
forward runs under bf16 autocast (fp32 where bf16 is missing or bf16=False) and the lm_head matmuls of the
chunked loss run in that dtype, its gradient is accumulated in fp32. On CPU everything is fp32
and nothing is compiled or fused, so CPU results equal a plain fp32 HF forward/backward.
compile (None = on CUDA): torch.compile of each decoder layer (module.compile(); the layers
share one graph) and of the loss' per-chunk softmax math; the step itself stays eager.
Rows keep one shape (pack() pads every row to tokens_per_batch), so nothing recompiles except
once when the number of samples per row (the length of cu_seqlens) first changes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence

import torch
from torch import nn

from .attention import set_attention, use_varlen
from .loss import chunked_cross_entropy
from .packing import IGNORE, PackedBatch

logger = logging.getLogger(__name__)


def _hf_model(model):
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def decoder_body(model) -> nn.Module:
    """The decoder stack (embeddings, layers, final norm) of an HF causal LM, peft or not."""
    hf = _hf_model(model)
    body = hf.get_decoder() if hasattr(hf, "get_decoder") else None
    if body is None:
        body = getattr(hf, hf.base_model_prefix)
    return body


def _plain_lm_head(model) -> nn.Linear | None:
    """The lm_head when the chunked loss can stand in for it (no bias, scaling or soft-capping)."""
    hf = _hf_model(model)
    head = hf.get_output_embeddings()
    cfg = hf.config
    if getattr(cfg, "final_logit_softcapping", None) or getattr(cfg, "logit_scale", None):
        return None
    if type(head) is not nn.Linear or head.bias is not None:  # e.g. a LoRA-wrapped head
        return None
    return head


def _raise_recompile_limit(n: int) -> None:
    """Layers share one compiled forward; make sure 24+ layers (and one dynamic-shape recompile
    for cu_seqlens) never hit dynamo's recompile limit (8 by default) and fall back to eager."""
    cfg = torch._dynamo.config
    for name in ("recompile_limit", "cache_size_limit", "accumulated_recompile_limit"):
        if hasattr(cfg, name) and getattr(cfg, name) < n:
            setattr(cfg, name, n)


class FastTrainStep:
    """Callable optimizer step over PackedBatch rows; see the module docstring."""

    def __init__(
        self,
        model,
        lr: float,
        weight_decay: float = 0.0,
        max_grad_norm: float = 1.0,
        compile: bool | None = None,
        fused_optim: bool | None = None,
        loss_chunk: int = 4096,
        *,
        bf16: bool | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        if getattr(_hf_model(model).config, "is_encoder_decoder", False):
            raise ValueError(
                "FastTrainStep is for causal LMs (packed rows); got an encoder-decoder"
            )
        self.model = model
        self.device = next(model.parameters()).device
        on_cuda = self.device.type == "cuda"
        if bf16 is None:
            bf16 = on_cuda and torch.cuda.is_bf16_supported()
        # bf16 autocast on a GPU; otherwise fp32 (as the HF Trainer without bf16/fp16)
        self.amp_dtype = torch.bfloat16 if on_cuda and bf16 else None
        if on_cuda and self.amp_dtype is None:
            logger.warning("FastTrainStep: fp32 on a GPU (no bf16): varlen attention needs "
                           "bf16, so attention runs per sample (slow); layers not compiled")
        # compile (auto) only with bf16: fp32 attention runs per sample with host syncs
        self.compile = (self.amp_dtype is not None) if compile is None else bool(compile)
        self.fused_optim = on_cuda if fused_optim is None else bool(fused_optim)
        self.max_grad_norm = max_grad_norm
        self.loss_chunk = int(loss_chunk)
        self.previous_attn = use_varlen(model)
        self.body = decoder_body(model)
        self.head = _plain_lm_head(model)
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("FastTrainStep: the model has no trainable parameters")
        decay = [p for p in self.params if p.ndim >= 2]
        no_decay = [p for p in self.params if p.ndim < 2]  # biases and norm weights, as HF Trainer
        groups = [{"params": decay, "weight_decay": weight_decay}]
        if no_decay:
            groups.append({"params": no_decay, "weight_decay": 0.0})
        kw = {"fused": True} if self.fused_optim else {"foreach": on_cuda}
        self.optimizer = torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, **kw)
        self.scheduler = None
        self.steps = 0
        self.last_grad_norm: torch.Tensor | None = None
        if self.compile:
            _raise_recompile_limit(64)
            layers = getattr(self.body, "layers", None)
            if layers is None:
                raise ValueError("compile=True: the decoder has no .layers to compile")
            for layer in layers:
                layer.compile()
            norm = getattr(self.body, "norm", None)
            if norm is not None:
                norm.compile()
        model.train()

    def set_schedule(self, name: str = "linear", warmup_steps: int = 0, total_steps: int = 1,
                     **kwargs):
        """HF learning-rate schedule (transformers.get_scheduler), stepped after every step;
        `kwargs` are the schedule's own arguments (e.g. num_cycles)."""
        from transformers import get_scheduler

        self.scheduler = get_scheduler(
            name, self.optimizer, num_warmup_steps=warmup_steps, num_training_steps=total_steps,
            scheduler_specific_kwargs=kwargs or None,
        )
        return self.scheduler

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def loss(self, batch: PackedBatch, denom: float | None = None) -> torch.Tensor:
        """Forward only: sum of the row's token losses / denom (default: its loss tokens)."""
        denom = batch.n_loss_tokens if denom is None else denom
        labels = batch.labels[0, 1:]
        if self.head is None:  # unusual head: plain logits
            with self._autocast():
                logits = self.model(**batch.model_kwargs(with_labels=False)).logits[0, :-1]
            return nn.functional.cross_entropy(
                logits.float(), labels, ignore_index=IGNORE, reduction="sum"
            ) / max(denom, 1)
        with self._autocast():
            hidden = self.body(
                input_ids=batch.input_ids,
                position_ids=batch.position_ids,
                use_cache=False,
                **batch.varlen_kwargs(),
            ).last_hidden_state[0, :-1]
        weight = self.head.weight
        if self.amp_dtype is not None:
            hidden, weight = hidden.to(self.amp_dtype), weight.to(self.amp_dtype)
        return chunked_cross_entropy(
            hidden, weight, labels, chunk=self.loss_chunk, denom=denom, compile=self.compile
        )

    def __call__(self, batch: PackedBatch | Sequence[PackedBatch]) -> torch.Tensor:
        """One optimizer step on a row (or a gradient-accumulation group of rows); the loss is
        the token mean over the group. Returns the loss as a detached 0-dim tensor."""
        rows = [batch] if isinstance(batch, PackedBatch) else list(batch)
        denom = sum(r.n_loss_tokens for r in rows)
        total = torch.zeros((), device=self.device)
        for row in rows:
            row = row.to(self.device)
            loss = self.loss(row, denom)
            loss.backward()
            total += loss.detach()
        if self.max_grad_norm and self.max_grad_norm > 0:
            self.last_grad_norm = torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps += 1
        return total

    def restore_attention(self) -> None:
        """Put back the attention implementation the model had (e.g. before saving)."""
        set_attention(self.model, self.previous_attn)
