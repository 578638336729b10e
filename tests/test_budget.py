"""students.budget: one training-budget rule for every run, applied by the library."""

import pytest

from mathdistill.students import TrainConfig
from mathdistill.students.budget import apply_budget, train_options


def test_steps_per_round_sets_max_steps_and_keeps_the_rest():
    out = apply_budget({"lr": 0.003, "batch_size": 32}, {"steps_per_round": 250})
    assert out == {"lr": 0.003, "batch_size": 32, "max_steps": 250}
    assert TrainConfig.from_dict(out).max_steps == 250


def test_no_budget_leaves_the_options_as_given():
    assert apply_budget({"epochs": 8}, None) == {"epochs": 8}
    assert apply_budget({"epochs": 8}, {}) == {"epochs": 8}


@pytest.mark.parametrize("key", ["epochs", "max_steps"])
def test_a_per_run_length_with_a_budget_is_an_error(key):
    with pytest.raises(ValueError, match=f"remove train.{key}"):
        apply_budget({key: 3}, {"steps_per_round": 10})


@pytest.mark.parametrize("budget,match", [
    ({"tokens": 5}, "exactly one of"),
    ({"steps_per_round": 0}, "int >= 1"),
    ({"steps_per_round": 2.5}, "int >= 1"),
    ({"steps_per_round": True}, "int >= 1"),
])
def test_bad_budgets_name_the_key(budget, match):
    with pytest.raises(ValueError, match=match):
        apply_budget({}, budget)


def test_train_options_from_rule_params():
    cfg = {"model": "tiny-t5", "finetune": "lora", "lora": {"r": 4},
           "train": {"lr": 0.01}, "budget": {"steps_per_round": 7}}
    assert train_options(cfg) == {"lr": 0.01, "max_steps": 7, "lora": {"r": 4}}
    assert train_options({"train": {"epochs": 2}}) == {"epochs": 2}


def test_every_method_of_the_default_gets_the_same_steps(repo):
    """The embedded default states one budget; no student or method sets its own length."""
    import yaml

    cfg = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    steps = cfg["budget"]["steps_per_round"]
    for name, student in cfg["students"].items():
        for m, method in cfg["methods"].items():
            train = {**student.get("train", {}), **method.get("train", {})}
            assert apply_budget(train, cfg["budget"])["max_steps"] == steps, (name, m)
