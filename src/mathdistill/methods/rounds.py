"""Shared by the multi-round methods (FDD, Tailored): their options, and where round r's
student starts (the base model or round r-1's checkpoint).

    opts = round_options("fdd", DEFAULTS, {"pool_limit": None}, {"k": 1}, limit="pool_limit")
    plan = round_plan("fdd", 1, cfg, defaults, base="base/", previous="round0/checkpoint")
"""

from __future__ import annotations

from collections.abc import Mapping


def round_options(method: str, defaults: Mapping, extra: Mapping, opts: Mapping | None,
                  limit: str) -> dict:
    """`defaults` + `extra` overridden by `opts`; unknown keys, rounds/strategy (set with the
    method's own keys), a bad `init` or a `limit` option < 1 -> ValueError."""
    opts = dict(opts or {})
    for key, where in (("rounds", "methods.<name>.rounds"),
                       ("strategy", "methods.<name>.strategies")):
        if key in opts:
            raise ValueError(f"{method} options: set {key!r} with {where}, not in options")
    allowed = (set(defaults) | set(extra)) - {"rounds", "strategy"}
    unknown = sorted(set(opts) - allowed)
    if unknown:
        raise ValueError(f"{method} options: unknown {unknown}; allowed: {sorted(allowed)}")
    out = {**defaults, **extra, **opts}
    if out["init"] not in ("base", "previous"):
        raise ValueError(f"{method} options: init must be 'base' or 'previous', "
                         f"got {out['init']!r}")
    if out[limit] is not None and int(out[limit]) < 1:
        raise ValueError(f"{method} options: {limit} must be >= 1 or null, got {out[limit]}")
    return out


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
