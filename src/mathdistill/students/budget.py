"""The training budget: one rule for every method, student and round, applied here.

    from mathdistill.students.budget import train_options
    cfg = {"model": "tiny-t5", "finetune": "full", "lora": {},
           "train": {"lr": 3e-3, "batch_size": 32}, "budget": {"steps_per_round": 400}}
    train_options(cfg)   # {"lr": 0.003, "batch_size": 32, "max_steps": 400}
    TrainConfig.from_dict(train_options(cfg))

`cfg` is what the train rules pass (rules/common.smk `student_train`): the student's train
options with the method's overrides, and the config's top-level `budget` when it has one.

Rule `steps_per_round`: every training job (each method, each round of an iterative method,
each student, each seed) runs exactly that many optimizer steps of `batch_size x grad_accum`
examples, however many examples its round has. So CoTD, PoTD and the ETD student (three
formats of the same questions) see the same number of examples, the ETD student fewer epochs
of each format; a SIKeD / Tailored round that continues from round r-1 adds that many steps.
With a budget, `epochs` and `max_steps` in any train options are an error (the budget, not a
per-method epoch count, sets the length of training); without one, they apply as given.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["BUDGET_RULES", "LENGTH_KEYS", "apply_budget", "train_options"]

BUDGET_RULES = ("steps_per_round",)
LENGTH_KEYS = ("epochs", "max_steps")


def apply_budget(train: Mapping, budget: Mapping | None) -> dict:
    """`train` options with the budget's rule applied (a copy); see the module docstring.
    ValueError naming the key for an unknown rule, a bad value or a per-run epoch count."""
    out = dict(train or {})
    if not budget:
        return out
    unknown = sorted(set(budget) - set(BUDGET_RULES))
    if unknown or len(budget) != 1:
        raise ValueError(f"config: budget needs exactly one of {list(BUDGET_RULES)}, "
                         f"got {sorted(budget)}")
    steps = budget["steps_per_round"]
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"config: budget.steps_per_round must be an int >= 1, got {steps!r}")
    clash = [k for k in LENGTH_KEYS if out.get(k) is not None]
    if clash:
        raise ValueError(
            f"config: budget.steps_per_round sets the length of every training run; remove "
            f"train.{' and train.'.join(clash)} (students.<name>.train or methods.<name>.train)")
    out["max_steps"] = steps
    return out


def train_options(cfg: Mapping) -> dict:
    """TrainConfig options from a train rule's params (model, finetune, lora, train, budget):
    the train options, `lora` for finetune "lora", and the budget applied."""
    out = apply_budget(cfg.get("train") or {}, cfg.get("budget"))
    if cfg.get("finetune", "full") == "lora":
        out["lora"] = dict(cfg.get("lora") or {})
    return out
