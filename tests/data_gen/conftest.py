"""Small datasets shared by the data tests: generated once per session at the 'tiny' size."""

from __future__ import annotations

import pytest

from kit.data import load_dataset


@pytest.fixture(scope="session")
def kws_tiny():
    return load_dataset("kws", seed=0, size="tiny")
