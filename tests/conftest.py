"""Shared fixtures: the real data sets live in ../shared/data (or $MATHDISTILL_DATA).

Test tiers (README "Tests"): `python -m pytest -m "not slow and not workflow"` is the
quick tier (unit tests); `python -m pytest` the full one. Every test of the modules in
WORKFLOW_MODULES (they run snakemake: dry runs of DAGs, or whole runs) is marked `workflow`
here. Tests marked `system` change the machine they run
on (tests/test_slurm.py: apt-get installs, /etc/slurm, munge and slurm daemons): they run
only with `--run-system` or MATHDISTILL_SYSTEM_TESTS=1 (.ci/run sets it), and are otherwise
reported as skipped with that reason.
"""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SYSTEM_ENV = "MATHDISTILL_SYSTEM_TESTS"
SYSTEM_SKIP = ("changes this machine (apt-get installs, /etc/slurm, system daemons): "
               f"run with --run-system or {SYSTEM_ENV}=1 (CI: .ci/run sets it)")


def pytest_addoption(parser):
    parser.addoption("--run-system", action="store_true", default=False,
                     help="also run the tests marked `system` (they install packages and "
                          f"write /etc; same as {SYSTEM_ENV}=1)")


def _system_opt_in(config) -> bool:
    return bool(config.getoption("--run-system")) or \
        os.environ.get(SYSTEM_ENV, "").strip().lower() in ("1", "true", "yes")


WORKFLOW_MODULES = ("test_workflow.py", "test_workflow_iterative.py",
                    "test_workflow_methods.py", "test_paper_config.py", "test_slurm.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in WORKFLOW_MODULES:
            item.add_marker(pytest.mark.workflow)
    if _system_opt_in(config):
        return
    skip = pytest.mark.skip(reason=SYSTEM_SKIP)
    for item in items:
        if item.get_closest_marker("system") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The library's data dir: $MATHDISTILL_DATA, ../shared/data, else the fetch cache."""
    from mathdistill.data.paths import data_dir as resolve
    from mathdistill.io import DataError

    try:
        return resolve()
    except DataError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="module")
def one_torch_thread():
    """The test machine's 2 cores are shared: one torch thread is faster than two here.
    Use per module: pytestmark = pytest.mark.usefixtures("one_torch_thread")."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
