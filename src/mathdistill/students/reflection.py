"""Tailored Learning's training loss: L = L_LM + lambda * L_SR (self-reflection triplet loss).

    from mathdistill.students import TrainConfig, train
    from mathdistill.students.reflection import EXTRA_FIELDS, ReflectionTrainer
    trainer_cls = ReflectionTrainer.configured(margin=1.0, lam=0.5, max_sr_len=192)
    cfg = TrainConfig(epochs=3, extra_fields=EXTRA_FIELDS)
    train(base, examples, "results/tailored/tiny-t5/round0/checkpoint", cfg,
          trainer_cls=trainer_cls)
    # examples: {"prompt", "target", "positives": [...], "negatives": [...]}
    #           (methods.tailored.build_examples); train_log.jsonl gets lm_loss, sr_loss,
    #           sr_active (share of samples with a triplet) per logging step.

Per training sample (authors' code, github.com/Raibows/Learn-to-Reason, [C]):
- anchor = the sample's own target rationale, positive = a random *different* rationale
  of the same question, negative = a random student mistake (`methods.tailored.draw_triplet`;
  a sample with no usable pair is masked out, the loss is the mean over the others);
- each is represented by the last-layer hidden state at the last token of its
  continuation (the rationale's tokens + eos, cut at `max_sr_len` = 192 tokens);
- L_SR = mean max(0, d(a, p) - d(a, n) + margin), d = -cos (`students.triplet`).
How the continuation state is computed:
- causal students (`prefix_cache` True, the default, as upstream): the prompt runs once under
  no_grad and the continuations run on its KV cache (`students.prefix_cache`), so no L_SR
  gradient flows through the prompt; `prefix_cache` False: prompt + continuation in one
  forward pass with gradients everywhere (the project's earlier simplification).
- seq2seq students (an extension: upstream's loss is decoder-only): the prompt goes
  through the encoder once per batch under no_grad (the analogue of upstream's prefix);
  the decoder reads [decoder start] + continuation with gradients, and the state is the
  decoder's last layer at the continuation's last token. The continuations go through the
  decoder sorted by length in `SR_CHUNKS` calls, each padded to its own longest one (about
  40 % fewer padded tokens on the default's round 1; the same states).
Batches: `unique_questions` (upstream's sampler [C], spec §2.3) draws batches in which no
two examples share a prompt (= question), `students.sampler.QuestionUniqueBatchSampler`;
default False (the Trainer's own sampler).
LM loss: the model's token cross-entropy on the target (mean over the micro-batch);
causal students can also weight the prompt tokens (`prompt_loss_weight`, upstream 0.1,
default 0 = the project's target-only loss): sum(w * CE) / number of non-pad tokens.
With gradient accumulation each micro-batch loss is divided by the accumulation steps.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from .encoding import prompt_ids_batch, target_ids_batch  # training layout: states match
from .training import StudentTrainer
from .triplet import DEFAULTS, last_token_state, total_loss, triplet_loss

__all__ = ["EXTRA_FIELDS", "ReflectionTrainer", "continuation_states", "draw_triplets"]

logger = logging.getLogger(__name__)

EXTRA_FIELDS = ("prompt", "target", "positives", "negatives")
SR_CHUNKS = 3  # decoder calls per L_SR batch (seq2seq), each padded to its own longest row
OPTIONS = {"margin": DEFAULTS["margin"], "lam": DEFAULTS["lambda"],
           "max_sr_len": DEFAULTS["max_len"], "prompt_loss_weight": 0.0, "seed": 0,
           "prefix_cache": True, "unique_questions": False}


def draw_triplets(extras: Mapping[str, Sequence], rng: random.Random | None
                  ) -> list[tuple[str, str] | None]:
    """(positive, negative) or None per sample of a batch (`methods.tailored.draw_triplet`)."""
    from mathdistill.methods.tailored import draw_triplet

    return [draw_triplet({"target": t, "positives": p or [], "negatives": n or []}, rng)
            for t, p, n in zip(extras["target"], extras["positives"], extras["negatives"],
                               strict=True)]


def _pad(rows: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long, device=device)
        mask[i, : len(r)] = 1
    return ids, mask


def _length_chunks(lengths: Sequence[int], n: int) -> list[list[int]]:
    """Indices sorted by length, cut into at most `n` runs of (about) equal size: each run is
    padded to its own longest sequence, not the batch's (a speed-up only: a row's states do
    not depend on the rows beside it)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    n = max(1, min(n, len(order)))
    cuts = [round(j * len(order) / n) for j in range(n + 1)]
    return [order[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def continuation_states(model, tok, prompts: Sequence[str], texts: Sequence[str], *,
                        max_len: int = 192, encoder_ids: torch.Tensor | None = None,
                        encoder_mask: torch.Tensor | None = None,
                        prefix_cache: bool = True) -> torch.Tensor:
    """(N, H) last-layer states at the last token of each continuation `texts[i]` after
    `prompts[i % len(prompts)]` (texts are grouped: all anchors, all positives, ...).

    seq2seq: the prompts' encoder states are computed once under no_grad (`encoder_ids` /
    `encoder_mask`: the already tokenized prompts, else `prompts` are tokenized).
    causal: with `prefix_cache` the prompts run once under no_grad as a KV cache."""
    device = next(model.parameters()).device
    seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
    kind = "seq2seq" if seq2seq else "causal"
    cont = [ids[:max_len] for ids in target_ids_batch(tok, texts, kind)]
    reps = len(texts) // len(prompts)
    if reps * len(prompts) != len(texts):
        raise ValueError(f"{len(texts)} continuations for {len(prompts)} prompts")
    if seq2seq:
        if encoder_ids is None:
            encoder_ids, encoder_mask = _pad(prompt_ids_batch(tok, prompts, kind),
                                             tok.pad_token_id, device)
        with torch.no_grad():
            enc = model.get_encoder()(input_ids=encoder_ids, attention_mask=encoder_mask)
        start = model.config.decoder_start_token_id
        seqs = [[start, *c] for c in cont]
        states, order = [], []
        for chunk in _length_chunks([len(x) for x in seqs], SR_CHUNKS):
            src = torch.tensor([i % len(prompts) for i in chunk], device=device)
            dec_ids, dec_mask = _pad([seqs[i] for i in chunk], tok.pad_token_id, device)
            # the decoder alone: its last state is what the full model's decoder_hidden_states[-1]
            # holds, without the LM head's logits over the vocabulary (and their backward)
            out = model.get_decoder()(input_ids=dec_ids, attention_mask=dec_mask,
                                      encoder_hidden_states=enc.last_hidden_state[src],
                                      encoder_attention_mask=encoder_mask[src], use_cache=False)
            states.append(last_token_state(out.last_hidden_state, dec_mask))
            order += chunk
        return torch.cat(states)[torch.argsort(torch.tensor(order, device=device))]
    heads = prompt_ids_batch(tok, prompts, kind)
    if prefix_cache:
        from .prefix_cache import cached_states

        return cached_states(model, heads, cont, tok.pad_token_id)
    ids, mask = _pad([heads[i % len(prompts)] + c for i, c in enumerate(cont)],
                     tok.pad_token_id, device)
    out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=False)
    return last_token_state(out.hidden_states[-1], mask)


def _weighted_causal_lm(model, inputs: Mapping, weight: float):
    """Causal CE with target tokens weighted 1 and prompt tokens `weight`, / non-pad tokens."""
    out = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    logits = out.logits[:, :-1].float()
    gold = inputs["input_ids"][:, 1:]
    valid = inputs["attention_mask"][:, 1:].bool()
    is_target = inputs["labels"][:, 1:] != -100
    w = torch.where(is_target, 1.0, weight) * valid
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), gold.reshape(-1),
                         reduction="none").view_as(w)
    return (ce * w).sum() / valid.sum().clamp(min=1), out


class ReflectionTrainer(StudentTrainer):
    """StudentTrainer with L = L_LM + lam * L_SR (see the module docstring).

    Options are class attributes; `ReflectionTrainer.configured(**options)` returns a
    subclass with them set (the `train(..., trainer_cls=...)` hook builds the trainer)."""

    margin: float = OPTIONS["margin"]
    lam: float = OPTIONS["lam"]
    max_sr_len: int = OPTIONS["max_sr_len"]
    prompt_loss_weight: float = OPTIONS["prompt_loss_weight"]
    seed: int = OPTIONS["seed"]
    prefix_cache: bool = OPTIONS["prefix_cache"]
    unique_questions: bool = OPTIONS["unique_questions"]
    loss_is_scaled_for_ga = False  # per-micro-batch means; the Trainer divides by GA steps
    extra_fields: tuple[str, ...] = EXTRA_FIELDS

    @classmethod
    def configured(cls, **options) -> type[ReflectionTrainer]:
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"ReflectionTrainer: unknown options {unknown}; "
                             f"allowed: {sorted(OPTIONS)}")
        opts = {k: v for k, v in options.items() if v is not None}
        if opts.get("max_sr_len", 1) < 1 or opts.get("lam", 0) < 0:
            raise ValueError(f"ReflectionTrainer: need max_sr_len >= 1 and lam >= 0, got {opts}")
        return type(cls.__name__, (cls,), opts)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rng = random.Random(self.seed)
        self._sums: dict[str, float] = defaultdict(float)

    def loss_terms(self, model, inputs: Mapping, rng: random.Random | None = None) -> dict:
        """{"lm", "sr", "active", "outputs"}: the two losses of one batch (tensors) and the
        number of samples with a triplet. `rng` None: the trainer's seeded generator.
        With lam 0, "sr" is None: L_SR is not computed (it would be multiplied by 0)."""
        missing = [k for k in EXTRA_FIELDS if k not in inputs]
        if missing:
            raise ValueError(f"ReflectionTrainer: batch lacks {missing}; set "
                             f"TrainConfig(extra_fields={EXTRA_FIELDS})")
        extras = {k: inputs[k] for k in EXTRA_FIELDS}
        core = {k: v for k, v in inputs.items() if k not in self.extra_fields}
        seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
        if self.prompt_loss_weight and not seq2seq:
            lm, outputs = _weighted_causal_lm(model, core, float(self.prompt_loss_weight))
        else:
            outputs = model(**core)
            lm = outputs.loss
        triplets = draw_triplets(extras, self._rng if rng is None else rng)
        rows = [i for i, t in enumerate(triplets) if t is not None]
        if not rows:
            return {"lm": lm, "sr": lm.new_zeros(()), "active": 0, "outputs": outputs}
        if not self.lam:  # L_SR would count 0 times: not computed (no extra forward passes)
            return {"lm": lm, "sr": None, "active": len(rows), "outputs": outputs}
        texts = ([extras["target"][i] for i in rows] + [triplets[i][0] for i in rows]
                 + [triplets[i][1] for i in rows])
        index = torch.tensor(rows, device=core["input_ids"].device)
        states = continuation_states(
            model, self.processing_class, [extras["prompt"][i] for i in rows], texts,
            max_len=int(self.max_sr_len),
            encoder_ids=core["input_ids"][index] if seq2seq else None,
            encoder_mask=core["attention_mask"][index] if seq2seq else None,
            prefix_cache=bool(self.prefix_cache))
        a, p, n = states.split(len(rows))
        sr = triplet_loss(a, p, n, margin=float(self.margin))
        return {"lm": lm, "sr": sr, "active": len(rows), "outputs": outputs}

    def get_train_dataloader(self):
        """The Trainer's loader, or (`unique_questions`) one whose batches never hold two
        examples of one prompt (`students.sampler`)."""
        if not self.unique_questions:
            return super().get_train_dataloader()
        from torch.utils.data import DataLoader

        from .sampler import QuestionUniqueBatchSampler

        data = self.train_dataset
        sampler = QuestionUniqueBatchSampler([f["prompt"] for f in data],
                                             self.args.per_device_train_batch_size,
                                             seed=self.args.seed)
        return self.accelerator.prepare(DataLoader(
            data, batch_sampler=sampler, collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        terms = self.loss_terms(model, inputs)
        sr = terms["sr"]
        loss = terms["lm"] if sr is None else total_loss(terms["lm"], sr, lam=float(self.lam))
        if model.training:
            s = self._sums
            s["lm"] += float(terms["lm"].detach())
            if sr is not None:
                s["sr"] += float(sr.detach())
                s["sr_calls"] += 1
            s["active"] += terms["active"]
            s["samples"] += len(inputs["target"])
            s["calls"] += 1
        return (loss, terms["outputs"]) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        """Add the mean lm_loss / sr_loss and the triplet share since the last log."""
        s = self._sums
        if "loss" in logs and s["calls"]:
            sr = {"sr_loss": s["sr"] / s["sr_calls"]} if s["sr_calls"] else {}
            logs = {**logs, "lm_loss": s["lm"] / s["calls"], **sr,
                    "sr_active": s["active"] / max(s["samples"], 1)}
            s.clear()
        super().log(logs, start_time)
