"""Shared fixtures: the real data sets live in ../shared/data (or $MATHDISTILL_DATA)."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ.get("MATHDISTILL_DATA", REPO.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.fail(f"data directory not found: {path} (set MATHDISTILL_DATA)")
    return path


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
