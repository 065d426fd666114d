"""Shared fixtures: tiny deterministic cubes made here, and the shared real cubes when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def make_cube(rows: int = 24, cols: int = 20, bands: int = 16, seed: int = 0, dtype=np.uint16) -> np.ndarray:
    """A small linear-mixing cube: smooth spectra times smooth abundances plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:rows, 0:cols] / max(rows, cols)
    wl = np.linspace(0, 1, bands)
    spectra = np.stack([1000 + 800 * np.sin(2 * np.pi * (f * wl + p)) for f, p in [(0.5, 0), (1.0, 0.3), (1.5, 0.7)]])
    ab = np.stack([1 + np.sin(3 * x + 1), 1 + np.cos(4 * y), 1 + np.sin(2 * (x + y))])
    ab /= ab.sum(axis=0, keepdims=True)
    cube = np.einsum("krc,kb->rcb", ab, spectra) + rng.normal(0, 5, (rows, cols, bands))
    if np.dtype(dtype).kind == "f":
        return cube.astype(dtype)
    return np.clip(np.round(cube), 0, np.iinfo(dtype).max).astype(dtype)


def psnr_of(x: np.ndarray, y: np.ndarray) -> float:
    """PSNR with the project's default peak (max - min of the original), via hsibench.metrics."""
    from hsibench import metrics

    return metrics.psnr(x, y, data_range=metrics.data_range_of(x))


@pytest.fixture
def tiny_cube() -> np.ndarray:
    return make_cube()


def shared_cube(name: str) -> np.ndarray:
    """Load ``../shared/data/<name>.npy`` or skip the test when the folder is absent."""
    path = SHARED_DATA / f"{name}.npy"
    if not path.exists():
        pytest.skip(f"shared cube {path} not present")
    return np.load(path)
