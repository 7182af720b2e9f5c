"""Shared fixtures: the shipped dataset and writable copies of it (helpers and constants: tests/helpers.py)."""

from __future__ import annotations

import shutil

import pytest

from dashboard import data
from tests.helpers import SHIPPED


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
