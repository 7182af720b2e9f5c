"""Shared fixtures: the shipped dataset and helpers to write small datasets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dashboard import data

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "data"


@pytest.fixture(scope="session")
def shipped():
    """The shipped dataset, loaded once."""
    return data.load_dataset(SHIPPED)


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of the shipped dataset directory."""
    dst = tmp_path / "data"
    shutil.copytree(SHIPPED, dst)
    return dst
