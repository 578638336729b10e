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
