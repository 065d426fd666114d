"""A deterministic synthetic hyperspectral scene: the embedded default that needs no network.

Model (linear mixing, the standard forward model of the unmixing literature):

* **Endmembers**: 5 smooth reflectance-like spectra, each a random low-order cosine series over
  the band axis (amplitudes decaying with frequency), mapped to ``[0.05, 0.95]``.
* **Abundances**: 5 white-noise fields smoothed with a Gaussian (sigma = 1/12 of the larger image
  side, periodic boundary), standardised and passed through a softmax with temperature 1/3, so
  they are positive, sum to one per pixel and vary smoothly with patches of near-pure material.
* **Signal**: abundances x endmembers, times a smooth per-band sensor response (0.6..1.0), in
  digital numbers: dark level 300 DN + up to 7000 DN, i.e. a 13-bit range (max ~ 7300 DN).
* **Noise**: signal-dependent shot-like noise (variance 0.5 DN per DN of signal) plus read noise
  (sigma 4 DN), Gaussian approximations drawn from the same generator; rounded, clipped to
  ``[0, 65535]``, ``uint16``.

Everything is drawn from ``numpy.random.Generator(PCG64(seed))`` in a fixed order, so a given
``(rows, cols, bands, seed)`` always yields the same bytes.  128x128x64 takes a few tens of ms.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError

N_ENDMEMBERS = 5
DARK_DN = 300.0
SIGNAL_DN = 7000.0
READ_NOISE_DN = 4.0
SHOT_DN_PER_DN = 0.5
MAX_VOXELS = 2**31  # a guard against typos such as rows=1000000


def _check(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterError(f"synthetic: {name} must be an integer, got {value!r}")
    if value < minimum:
        raise InvalidParameterError(f"synthetic: {name} must be >= {minimum}, got {value}")
    return int(value)


def _spectra(rng: np.random.Generator, bands: int) -> np.ndarray:
    """(N_ENDMEMBERS, bands) smooth spectra in [0.05, 0.95]."""
    t = np.linspace(0.0, 1.0, bands)
    orders = np.arange(6)
    basis = np.cos(np.pi * orders[:, None] * t[None, :])  # (6, bands)
    coeffs = rng.standard_normal((N_ENDMEMBERS, orders.size)) / (1.0 + orders) ** 1.5
    curves = coeffs @ basis
    lo = curves.min(axis=1, keepdims=True)
    hi = curves.max(axis=1, keepdims=True)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    levels = rng.uniform(0.35, 1.0, (N_ENDMEMBERS, 1))  # materials differ in brightness
    return 0.05 + 0.9 * levels * (curves - lo) / span


def _abundances(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """(rows, cols, N_ENDMEMBERS) smooth, positive, sum-to-one abundance maps."""
    from scipy.ndimage import gaussian_filter  # imported here: listing datasets needs no scipy

    sigma = max(rows, cols) / 12.0
    fields = rng.standard_normal((N_ENDMEMBERS, rows, cols))
    smooth = np.stack([gaussian_filter(f, sigma, mode="wrap") for f in fields])
    smooth -= smooth.mean(axis=(1, 2), keepdims=True)
    std = smooth.std(axis=(1, 2), keepdims=True)
    smooth /= np.where(std > 0, std, 1.0)
    logits = 3.0 * smooth
    logits -= logits.max(axis=0, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=0, keepdims=True)
    return np.moveaxis(weights, 0, -1)


def synthetic(rows: int = 128, cols: int = 128, bands: int = 64, seed: int = 0) -> np.ndarray:
    """A ``(rows, cols, bands)`` uint16 synthetic scene, identical for identical arguments."""
    rows = _check("rows", rows, 1)
    cols = _check("cols", cols, 1)
    bands = _check("bands", bands, 1)
    seed = _check("seed", seed, 0)
    if rows * cols * bands > MAX_VOXELS:
        raise InvalidParameterError(f"synthetic: {rows}x{cols}x{bands} is too large (limit {MAX_VOXELS} voxels)")

    rng = np.random.Generator(np.random.PCG64(seed))
    spectra = _spectra(rng, bands)
    abundance = _abundances(rng, rows, cols)
    response = 0.6 + 0.4 * np.sin(np.pi * (0.15 + 0.7 * np.linspace(0.0, 1.0, bands)))  # smooth, 0.6..1

    signal = SIGNAL_DN * (abundance.reshape(-1, N_ENDMEMBERS) @ (spectra * response))
    sd = np.sqrt(READ_NOISE_DN**2 + SHOT_DN_PER_DN * signal)
    noisy = DARK_DN + signal + sd * rng.standard_normal(signal.shape)
    cube = np.clip(np.rint(noisy), 0, np.iinfo(np.uint16).max).astype(np.uint16)
    return cube.reshape(rows, cols, bands)
