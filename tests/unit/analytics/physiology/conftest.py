"""Fixtures for the physiology tests: real RR series shipped in PyPI packages, and reference libraries."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import sys
from pathlib import Path
from types import ModuleType
from unittest import mock

import numpy as np
import pytest

from analytics.physiology import PeakHrSource, Prescription, Sex, karvonen_prescription


def _pyhrv_file(name: str) -> Path:
    """A data file shipped in the pyhrv wheel (a pinned dev dependency), located without importing pyhrv."""
    path = Path(str(importlib.metadata.distribution("pyhrv").locate_file(f"pyhrv/files/{name}")))
    assert path.exists(), f"pyhrv wheel has no {name}"
    return path


@pytest.fixture(scope="session")
def pyhrv_nn_long_ms() -> np.ndarray:
    """Real NN series from the pyhrv wheel (SampleNNISeriesLong.npy, ~1 h, 4684 intervals, ms)."""
    return np.load(_pyhrv_file("SampleNNISeriesLong.npy")).astype(np.float64)


@pytest.fixture(scope="session")
def pyhrv_nn_short_ms() -> np.ndarray:
    """Real NN series from the pyhrv wheel (SampleNNISeriesShort.npy, 337 intervals, ms)."""
    return np.load(_pyhrv_file("SampleNNISeriesShort.npy")).astype(np.float64)


@pytest.fixture(scope="session")
def pyhrv_ecg() -> tuple[np.ndarray, float]:
    """Real single-lead ECG from the pyhrv wheel (SampleECG.txt, BITalino, 1000 Hz, ADC units)."""
    data = np.loadtxt(_pyhrv_file("SampleECG.txt"))
    return data[:, -1].astype(np.float64), 1000.0


@pytest.fixture(scope="session")
def hrvanalysis() -> ModuleType:
    """hrv-analysis, imported around a Python 3.11 bug in its dependency nolds 0.6.3.

    nolds calls ``importlib.resources.files(__name__)`` on a module, which only Python >= 3.12 accepts; the
    importlib_resources backport (pinned dev dependency) does, so it stands in while nolds is imported.
    """
    try:
        import hrvanalysis as mod
    except TypeError:
        import importlib_resources

        for name in [m for m in sys.modules if m == "nolds" or m.startswith("nolds.")]:
            del sys.modules[name]
        with mock.patch.object(importlib.resources, "files", importlib_resources.files):
            import hrvanalysis as mod
    return mod


@pytest.fixture
def prescription() -> Prescription:
    """A typical measured prescription: rest 65, CPET peak 150 bpm, Karvonen 40-60 % HRR."""
    return karvonen_prescription(65.0, 150.0, PeakHrSource.CPET, sex=Sex.MALE)
