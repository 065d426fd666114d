"""A deterministic synthetic hyperspectral scene: the embedded default that needs no network.

It is built to behave like the real airborne cubes the benchmark is about (AVIRIS Jasper
Ridge, Indian Pines, ROSIS Pavia), so that codecs rank and differ on it as they do there:
spectrally low rank but spatially detailed, noise-limited at high rates, with a few noisy
bands.  (The previous scene, five smooth spectra with smooth abundances under strong white
noise, put every classical codec within 0.5 dB of the others from 0.1 to 1 bpppb.)  On this one,
as on jasper_ridge, pca is 2-4 dB above speck and jpeg2000 0.3-2 dB below it (README, "The
synthetic default scene").

* **Wavelengths**: ``bands`` centres spread evenly over 400-2500 nm (:func:`wavelengths`), as
  a VNIR-SWIR imaging spectrometer.
* **Endmembers**: 12 reflectance spectra (:func:`endmembers`): three vegetation-like (green
  peak, red edge at ~720 nm, leaf-water dips at 1450/1950 nm), a water-like one, and eight
  soils and materials (smooth random curves with a few Gaussian absorption features).
* **Abundances**: a field map (warped Voronoi cells of 48 random seeds at 128 x 128, each a
  Dirichlet mixture dominated by four main materials, the others in traces, edges softened
  over about a pixel) times 1/f texture of every material inside the fields; positive,
  summing to one per pixel.
* **Variability**: every material's spectrum varies from pixel to pixel along two smooth
  spectral directions (15 % of its level), with 1/f spatial weights: the slowly decaying tail
  of eigenvalues real scenes have.
* **At-sensor signal**: reflectance x a 1/f illumination field (shading, +-30 %) x
  atmospheric transmission (water-vapour and oxygen absorptions; the 1380 and 1880 nm bands
  keep a few per cent of the light) x a solar/sensor response that falls towards the SWIR,
  scaled to about 6000 DN at most, plus a 200 DN dark level.
* **Noise**: band-dependent and signal-dependent, ``sigma_b^2 = read_b^2 + 0.1 x signal``
  (SNR about 50-100 in bright bands, a few in the absorption bands), read noise 12 DN,
  tripled at the ends of the range and 8x in two "bad detector" bands (:func:`bad_bands`
  marks them and the absorption bands, as an ENVI ``bbl`` would); rounded, clipped, uint16.

Everything is drawn from ``numpy.random.Generator(PCG64(seed))`` in a fixed order, so a given
``(rows, cols, bands, seed)`` always yields the same bytes.  128 x 128 x 64 takes about 0.3 s.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError

N_ENDMEMBERS = 12
VARIABILITY = 0.15  # spatially varying spectral variability of each material, relative to its mean
N_VARIATIONS = 2  # spectral directions of variability per material
MAIN = (0, 3, 4, 5)  # the materials that dominate the fields (vegetation, water, two soils)
MAIN_ALPHA, MINOR_ALPHA = 2.0, 0.05  # Dirichlet concentrations of a field's mixture
SHADING = 0.3  # amplitude of the illumination field
TEXTURE = 0.3  # log-amplitude of the within-field texture of every material
N_FIELDS = 48  # Voronoi cells at 128 x 128 (scaled with the area)
WL_MIN_NM, WL_MAX_NM = 400.0, 2500.0
DARK_DN = 200.0
PEAK_DN = 6000.0
READ_NOISE_DN = 12.0
SHOT_DN_PER_DN = 0.1
#: (centre nm, width nm, depth) of the atmospheric absorptions applied to every spectrum
ATMOSPHERE = ((760.0, 8.0, 0.6), (940.0, 35.0, 0.6), (1140.0, 40.0, 0.45), (1380.0, 70.0, 0.97),
              (1880.0, 90.0, 0.98), (2500.0, 60.0, 0.6))
#: relative positions (0..1 along the bands) of the two noisy detector elements
NOISY_AT = (0.31, 0.66)
MAX_VOXELS = 2**31  # a guard against typos such as rows=1000000


def _check(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterError(f"synthetic: {name} must be an integer, got {value!r}")
    if value < minimum:
        raise InvalidParameterError(f"synthetic: {name} must be >= {minimum}, got {value}")
    return int(value)


def wavelengths(bands: int) -> np.ndarray:
    """Band centres in nm of a ``bands``-band synthetic scene: evenly spaced over 400-2500 nm."""
    return np.linspace(WL_MIN_NM, WL_MAX_NM, int(bands))


def transmission(wl: np.ndarray) -> np.ndarray:
    """Atmospheric transmission (0..1) at the wavelengths ``wl`` (nm): Gaussian absorption bands."""
    t = np.ones_like(wl, dtype=np.float64)
    for centre, width, depth in ATMOSPHERE:
        t *= 1.0 - depth * np.exp(-0.5 * ((wl - centre) / width) ** 2)
    return t


def _noisy_bands(bands: int) -> list[int]:
    return sorted({int(round(f * (bands - 1))) for f in NOISY_AT}) if bands >= 8 else []


def bad_bands(bands: int) -> np.ndarray:
    """ENVI-style ``bbl`` of a ``bands``-band scene: 0 for the deep absorption bands (< 10 % transmission)
    and the two noisy detector bands, 1 for the others."""
    bbl = (transmission(wavelengths(bands)) >= 0.1).astype(np.uint8)
    bbl[_noisy_bands(bands)] = 0
    return bbl


def endmembers(rng: np.random.Generator, wl: np.ndarray) -> np.ndarray:
    """(N_ENDMEMBERS, bands) reflectance spectra (0.01..0.7) at ``wl`` nm."""
    t = (wl - WL_MIN_NM) / (WL_MAX_NM - WL_MIN_NM)
    orders = np.arange(7)
    basis = np.cos(np.pi * orders[:, None] * t[None, :])
    out = np.empty((N_ENDMEMBERS, wl.size))
    for k in range(N_ENDMEMBERS):
        curve = rng.standard_normal(orders.size) / (1.0 + orders) ** 1.7 @ basis
        curve = (curve - curve.min()) / max(np.ptp(curve), 1e-12)
        if k < 3:  # vegetation: dark visible with a green peak, red edge, bright NIR, leaf water dips
            edge = 1.0 / (1.0 + np.exp(-(wl - rng.uniform(705, 735)) / 12.0))
            green = 0.05 * np.exp(-0.5 * ((wl - 550.0) / 30.0) ** 2)
            swir = np.exp(-np.clip(wl - 1300.0, 0, None) / rng.uniform(900, 1500))
            refl = 0.04 + green + rng.uniform(0.35, 0.55) * edge * swir * (0.85 + 0.15 * curve)
            for c, w, d in ((1450.0, 60.0, 0.5), (1950.0, 80.0, 0.6), (980.0, 30.0, 0.05), (1200.0, 40.0, 0.08)):
                refl *= 1.0 - d * np.exp(-0.5 * ((wl - c) / w) ** 2)
        elif k == 3:  # water: some blue-green, nothing beyond the NIR
            refl = 0.02 + 0.06 * np.exp(-np.clip(wl - 450.0, 0, None) / 120.0) + 0.01 * curve
        else:  # soils, rock, roofs, roads: smooth brightness curves with a few absorption features
            refl = rng.uniform(0.08, 0.25) + rng.uniform(0.1, 0.4) * curve
            for _ in range(rng.integers(1, 4)):
                c, w, d = rng.uniform(450, 2450), rng.uniform(15, 80), rng.uniform(0.05, 0.3)
                refl *= 1.0 - d * np.exp(-0.5 * ((wl - c) / w) ** 2)
        out[k] = np.clip(refl, 0.01, 0.7)
    return out


def _fractal(rng: np.random.Generator, rows: int, cols: int, beta: float, count: int = 1) -> np.ndarray:
    """``count`` (rows, cols) fields of zero-mean, unit-std 1/f^beta noise (periodic)."""
    fy = np.fft.fftfreq(rows)[:, None]
    fx = np.fft.rfftfreq(cols)[None, :]
    f = np.sqrt(fy * fy + fx * fx)
    f[0, 0] = np.inf
    amp = f ** (-beta / 2.0)
    spec = (rng.standard_normal((count, rows, fx.size)) + 1j * rng.standard_normal((count, rows, fx.size))) * amp
    fields = np.fft.irfft2(spec, s=(rows, cols), axes=(1, 2))
    fields -= fields.mean(axis=(1, 2), keepdims=True)
    std = fields.std(axis=(1, 2), keepdims=True)
    return fields / np.where(std > 0, std, 1.0)


def _abundances(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """(rows, cols, N_ENDMEMBERS) positive, sum-to-one abundances: fields with sharp edges and texture."""
    from scipy.ndimage import gaussian_filter  # imported here: listing datasets needs no scipy

    n = max(2, int(round(N_FIELDS * rows * cols / 128.0**2)))
    seeds = rng.uniform(0, 1, (n, 2)) * (rows, cols)
    alpha = np.full(N_ENDMEMBERS, MINOR_ALPHA)
    alpha[list(MAIN)] = MAIN_ALPHA
    mix = rng.dirichlet(alpha, size=n)  # fields of a few main materials, the others in traces
    # warp the coordinates with smooth noise so field edges are irregular, not straight Voronoi lines
    warp = _fractal(rng, rows, cols, 3.0, 2) * (0.04 * max(rows, cols))
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float64)
    yy, xx = yy + warp[0], xx + warp[1]
    cell = np.empty((rows, cols), dtype=np.int64)
    best = np.full((rows, cols), np.inf)
    for i, (sy, sx) in enumerate(seeds):
        d = (yy - sy) ** 2 + (xx - sx) ** 2
        closer = d < best
        cell[closer], best[closer] = i, d[closer]
    ab = mix[cell]  # (rows, cols, N)
    texture = _fractal(rng, rows, cols, 1.8, N_ENDMEMBERS)  # within-field variation of every material
    ab = ab * np.exp(TEXTURE * np.moveaxis(texture, 0, -1))
    ab = np.stack([gaussian_filter(ab[:, :, k], 0.6, mode="wrap") for k in range(N_ENDMEMBERS)], axis=-1)
    return ab / ab.sum(axis=-1, keepdims=True)


def synthetic(rows: int = 128, cols: int = 128, bands: int = 64, seed: int = 0) -> np.ndarray:
    """A ``(rows, cols, bands)`` uint16 synthetic scene, identical for identical arguments."""
    rows = _check("rows", rows, 1)
    cols = _check("cols", cols, 1)
    bands = _check("bands", bands, 1)
    seed = _check("seed", seed, 0)
    if rows * cols * bands > MAX_VOXELS:
        raise InvalidParameterError(f"synthetic: {rows}x{cols}x{bands} is too large (limit {MAX_VOXELS} voxels)")

    rng = np.random.Generator(np.random.PCG64(seed))
    wl = wavelengths(bands)
    spectra = endmembers(rng, wl)
    abundance = _abundances(rng, rows, cols)
    shading = 1.0 + SHADING * np.tanh(_fractal(rng, rows, cols, 2.2)[0])  # illumination, 0.75..1.25
    solar = np.exp(-0.5 * ((wl - 650.0) / 700.0) ** 2) * (0.55 + 0.45 * np.exp(-np.clip(wl - 1000.0, 0, None) / 1500.0))
    response = transmission(wl) * solar
    gain = PEAK_DN / (1.25 * 0.7 * response.max())

    # endmember variability: every material's spectrum varies from pixel to pixel along a few
    # smooth spectral directions, with textured spatial weights (as leaves, soils and roofs do)
    t = (wl - WL_MIN_NM) / (WL_MAX_NM - WL_MIN_NM)
    basis = np.cos(np.pi * np.arange(1, 12)[:, None] * t[None, :])
    directions = rng.standard_normal((N_ENDMEMBERS * N_VARIATIONS, basis.shape[0])) @ basis
    directions /= np.abs(directions).max(axis=1, keepdims=True)
    directions *= VARIABILITY * np.repeat(spectra, N_VARIATIONS, axis=0)
    weights = _fractal(rng, rows, cols, 1.5, N_ENDMEMBERS * N_VARIATIONS).reshape(N_ENDMEMBERS * N_VARIATIONS, -1).T
    a = abundance.reshape(-1, N_ENDMEMBERS)
    reflectance = a @ spectra + (np.repeat(a, N_VARIATIONS, axis=1) * weights) @ directions  # (pixels, bands)
    reflectance = np.clip(reflectance, 0.005, None)
    signal = gain * reflectance * shading.reshape(-1, 1) * response
    read = np.full(bands, float(READ_NOISE_DN))
    read[(wl < 450) | (wl > 2400)] *= 3.0
    read[_noisy_bands(bands)] *= 8.0
    sd = np.sqrt(read**2 + SHOT_DN_PER_DN * signal)
    noisy = DARK_DN + signal + sd * rng.standard_normal(signal.shape)
    cube = np.clip(np.rint(noisy), 0, np.iinfo(np.uint16).max).astype(np.uint16)
    return cube.reshape(rows, cols, bands)
