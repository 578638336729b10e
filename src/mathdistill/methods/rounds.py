"""Where round r's student starts: the base model or round r-1's checkpoint.

    plan = round_plan("fdd", 1, cfg, defaults, base="base/", previous="round0/checkpoint")
"""

from __future__ import annotations

from collections.abc import Mapping


def round_plan(method: str, round: int, cfg: Mapping | None, defaults: Mapping, base: str,
               previous: str | None) -> dict:
    """`init` option "base": every round from `base`; "previous": round r > 0 from S_{r-1}."""
    init = {**defaults, **dict((cfg or {}).get("options") or cfg or {})}["init"]
    if init not in ("base", "previous"):
        raise ValueError(f"{method}: init must be 'base' or 'previous', got {init!r}")
    resume = previous if init == "previous" and round > 0 else None
    if init == "previous" and round > 0 and previous is None:
        raise ValueError(f"{method} round {round}: the round {round - 1} checkpoint is needed")
    return {"round": round, "init": resume or base, "resume_from": resume}
