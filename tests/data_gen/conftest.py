"""Small datasets shared by the data tests: generated once per session at the 'tiny' size."""

from __future__ import annotations

import pytest

from kit.data import load_dataset


@pytest.fixture(scope="session")
def kws_tiny():
    return load_dataset("kws", seed=0, size="tiny")


@pytest.fixture(scope="session")
def motion_tiny():
    return load_dataset("motion", seed=0, size="tiny")


@pytest.fixture(scope="session")
def anomaly_tiny():
    return load_dataset("anomaly", seed=0, size="tiny")


@pytest.fixture(scope="session")
def vww_tiny():
    return load_dataset("visual-wake-words", seed=0, size="tiny")


@pytest.fixture(scope="session")
def fruit_tiny():
    return load_dataset("image-classification", seed=0, size="tiny")
