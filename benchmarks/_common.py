"""What the standalone benchmark scripts share: the QccPack reference table, cube loading, PSNR.

The scripts run as ``python benchmarks/<script>.py`` (this folder is then on ``sys.path``);
asv's suites live in ``benchmarks/asv_bench/`` and do not use this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hsibench import datasets, metrics

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: QccPack 0.61 3D-SPECK PSNR (dB) at 0.1, 0.25, 0.5, 1, 2 bpppb (4 spectral + 3 spatial packet
#: levels, data_range = max - min), from ../shared/data/README.md
QCCPACK_SPECK = {
    "jasper_ridge": [37.22, 43.53, 47.87, 52.48, 58.68],
    "indian_pines_sub85x70": [38.26, 41.48, 45.27, 51.14, 59.57],
    "paviaU_sub50x50": [34.28, 41.66, 46.50, 51.03, 57.47],
    "synthetic_128x128x64": [38.46, 44.51, 49.34, 52.80, 56.84],
}
RATES = [0.1, 0.25, 0.5, 1.0, 2.0]


def load_cube(spec: str) -> np.ndarray:
    """A cube from a file path (``.npy``, ``.mat``, ...) or an hsibench dataset spec (``synthetic``)."""
    return datasets.load(spec).cube


def psnr(x: np.ndarray, y: np.ndarray) -> float:
    """PSNR with the README's peak: max - min of the original."""
    return metrics.psnr(x, y, data_range=metrics.data_range_of(x))
