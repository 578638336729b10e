"""Batches in which no two items share a question (Tailored Learning's sampler, spec §2.3).

    from mathdistill.students.sampler import QuestionUniqueBatchSampler
    sampler = QuestionUniqueBatchSampler(["q1", "q1", "q2", "q3"], batch_size=2, seed=0)
    list(sampler)          # e.g. [[2, 0], [3, 1]]: indexes, one per question per batch
    DataLoader(dataset, batch_sampler=sampler, collate_fn=collator)

Several rationales of one question exist (teacher paths, feedback per mistake); the
self-reflection loss compares a sample with *other* rationales of its question, and the
authors' code keeps those out of the sample's batch (github.com/Raibows/Learn-to-Reason,
data.py `UniqueQuestionSampler` [C]). Per epoch (reshuffled with seed + epoch):
repeatedly walk the questions that still have unused items in a random order and put one
random unused item of each into the current batch; a full batch is emitted, a partial one
keeps filling from the next walk with the questions it does not hold yet. Every item is
used exactly once per epoch. Unlike the upstream sampler (which pads the last batch with
random items and lets a batch run across two walks), no batch ever holds a question twice;
batches can therefore be smaller than batch_size at the end of an epoch when few
questions are left.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Iterator, Sequence

from torch.utils.data import Sampler

__all__ = ["QuestionUniqueBatchSampler"]


class QuestionUniqueBatchSampler(Sampler[list[int]]):
    """Batch sampler over items grouped by `keys[i]` (the question of item i)."""

    def __init__(self, keys: Sequence[Hashable], batch_size: int, seed: int = 0):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if not keys:
            raise ValueError("QuestionUniqueBatchSampler: no items")
        self.keys, self.batch_size, self.seed = list(keys), int(batch_size), int(seed)
        self.epoch = 0
        self._batches: list[list[int]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for `epoch` (also done automatically at the end of each pass)."""
        self.epoch, self._batches = int(epoch), None

    def batches(self) -> list[list[int]]:
        """This epoch's batches (cached until the epoch changes)."""
        if self._batches is None:
            self._batches = self._make(random.Random(f"{self.seed}:{self.epoch}"))
        return self._batches

    def _make(self, rng: random.Random) -> list[list[int]]:
        groups: dict[Hashable, list[int]] = {}
        for i, k in enumerate(self.keys):
            groups.setdefault(k, []).append(i)
        for items in groups.values():
            rng.shuffle(items)
        out: list[list[int]] = []
        batch: list[int] = []
        in_batch: set[Hashable] = set()
        while groups:
            order = list(groups)
            rng.shuffle(order)
            progressed = False
            for k in order:
                if k in in_batch:
                    continue
                batch.append(groups[k].pop())
                in_batch.add(k)
                progressed = True
                if not groups[k]:
                    del groups[k]
                if len(batch) == self.batch_size:
                    out.append(batch)
                    batch, in_batch = [], set()
            if not progressed:  # every question left is already in the batch: close it
                out.append(batch)
                batch, in_batch = [], set()
        if batch:
            out.append(batch)
        rng.shuffle(out)
        return out

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches()
        self.set_epoch(self.epoch + 1)

    def __len__(self) -> int:
        return len(self.batches())
