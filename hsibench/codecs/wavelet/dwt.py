"""3-D CDF 9/7 wavelet transforms for the set-partitioning coders (SPECK, SPIHT).

Arrays here are **band-major** ``(bands, rows, cols)``; codecs transpose the ``(rows, cols,
bands)`` cube at their edge.

The 1-D transform is the CDF 9/7 biorthogonal wavelet of PyWavelets (``bior4.4``), computed by
lifting (Daubechies & Sweldens) with whole-sample symmetric extension.  Unlike ``pywt.dwt``,
whose bior4.4 outputs are longer than its input, this transform is *non-expansive*: a length-n
signal gives ``ceil(n/2)`` low-pass and ``floor(n/2)`` high-pass coefficients, any n >= 2, so no
rate is spent on boundary coefficients.  It is the transform QccPack uses.  The normalisation is
PyWavelets' (low-pass DC gain sqrt(2), high-pass equal to ``pywt``'s ``dec_hi``), so interior
coefficients equal ``pywt.dwt(x, "bior4.4")``'s (``tests/test_wavelet.py`` checks it) and the
transform is close to orthonormal, which bit-plane coding wants.  The lifting runs in numba
kernels (:mod:`._dwt_kernels`, cache-friendly slabs, in place); the vectorised numpy lifting
here is the readable reference they are tested against (``impl="numpy"``).

Layout (in-place Mallat, the coefficient array has the input's shape):

* ``kind="packet"`` (the default; QccPack's ``-tl/-sl`` structure): ``spectral_levels`` dyadic
  1-D levels along the bands, then ``spatial_levels`` dyadic 2-D levels on every spectral
  subband.  Subbands: for each spectral subband (lowest first, then the high bands from the
  coarsest to the finest level), the 2-D subbands ``LL, (LH, HL, HH) coarsest ... finest``.
* ``kind="dyadic"``: 3-D Mallat.  Level j (1, 2, ...) transforms the current low box along the
  bands if ``j <= spectral_levels`` and along rows and columns if ``j <= spatial_levels``; with
  equal counts this is the classical 3-D dyadic transform (``wavedecn``).  Subbands: the final
  low box, then the detail boxes of each level from the coarsest to the finest.

In both, :attr:`Layout.subbands` lists ``(z0, z1, y0, y1, x0, x1)`` boxes, coarsest/lowest first,
that tile the array exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..._lazy import lazy_module
from ...errors import InvalidParameterError

# loaded on first use, not when the codecs are imported (hsibench._lazy)
pywt = lazy_module("pywt")
_K = lazy_module("hsibench.codecs.wavelet._dwt_kernels")

__all__ = [
    "KINDS", "Layout", "analysis_filters", "band_major", "choose_levels", "forward", "forward_inplace", "inverse",
    "inverse_inplace", "make_layout", "max_levels", "to_cube", "transform_params",
]

KINDS = ("packet", "dyadic")
WAVELET = "bior4.4"  # the filter definition: CDF 9/7 as PyWavelets names it

# CDF 9/7 lifting factorisation of pywt's bior4.4 (Daubechies & Sweldens 1998, table 9/7).
_ALPHA = -1.586134342059924
_BETA = -0.052980118572961
_GAMMA = 0.882911075530934
_DELTA = 0.443506852043971
_ZETA = 1.149604398860241
# Scaling that gives PyWavelets' normalisation (low-pass DC gain sqrt(2)); checked in the tests.
_K_LOW = _ZETA
_K_HIGH = -1.0 / _ZETA

# Auto level choice: halve while the coarsest band keeps at least this many samples, up to a cap.
_AUTO_MIN_LEN = 4
_AUTO_MAX_LEVELS = 5
# Temporary memory bound of one lifting call (elements per chunk).
_CHUNK = 1 << 22


def analysis_filters() -> tuple[np.ndarray, np.ndarray]:
    """PyWavelets' bior4.4 analysis filters (low, high): the definition the lifting reproduces."""
    w = pywt.Wavelet(WAVELET)
    return np.asarray(w.dec_lo), np.asarray(w.dec_hi)


@dataclass(frozen=True)
class Layout:
    """Where each subband lies in a coefficient array of shape ``shape`` (bands, rows, cols)."""

    shape: tuple[int, int, int]
    kind: str
    spectral_levels: int
    spatial_levels: int
    subbands: tuple[tuple[int, int, int, int, int, int], ...]

    @property
    def n_subbands(self) -> int:
        return len(self.subbands)


# ---------------------------------------------------------------------------------------------
# Level choice
# ---------------------------------------------------------------------------------------------


def _max_halvings(n: int) -> int:
    # a level needs a signal of length >= 2
    levels = 0
    while n >= 2:
        n = (n + 1) // 2
        levels += 1
    return levels


def _auto_halvings(n: int) -> int:
    # halve while the result keeps at least _AUTO_MIN_LEN samples
    levels = 0
    while levels < _AUTO_MAX_LEVELS and (n + 1) // 2 >= _AUTO_MIN_LEN:
        n = (n + 1) // 2
        levels += 1
    return levels


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidParameterError(f"wavelet decomposition kind must be one of {', '.join(KINDS)}; got {kind!r}")
    return kind


def _check_shape(shape_brc) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape_brc)
    if len(shape) != 3 or min(shape) < 1:
        raise InvalidParameterError(f"a wavelet transform needs a non-empty (bands, rows, cols) shape; got {shape_brc}")
    return shape  # type: ignore[return-value]


def max_levels(shape_brc, kind: str = "packet") -> tuple[int, int]:
    """Largest valid (spectral, spatial) level counts for a ``(bands, rows, cols)`` shape.

    A level needs at least two samples along every axis it transforms.  The counts are the same
    for both kinds (in the dyadic kind each axis group stops at its own count).
    """
    _check_kind(kind)
    b, r, c = _check_shape(shape_brc)
    return _max_halvings(b), min(_max_halvings(r), _max_halvings(c))


def choose_levels(shape_brc, kind: str = "packet", spectral_levels=None, spatial_levels=None) -> tuple[int, int]:
    """Level counts to use: the given ones after checking them, or defaults from the dimensions.

    The default halves each axis while its coarsest band keeps at least 4 samples, at most 5
    times.  Too many levels raise :class:`InvalidParameterError` naming the largest valid counts.
    """
    _check_kind(kind)
    b, r, c = _check_shape(shape_brc)
    max_l, max_s = max_levels((b, r, c), kind)
    out = []
    for name, given, auto, top in (
        ("spectral_levels", spectral_levels, _auto_halvings(b), max_l),
        ("spatial_levels", spatial_levels, min(_auto_halvings(r), _auto_halvings(c)), max_s),
    ):
        if given is None:
            out.append(auto)
            continue
        if isinstance(given, bool) or not isinstance(given, (int, np.integer)) or given < 0:
            raise InvalidParameterError(f"{name} must be a non-negative integer; got {given!r}")
        if given > top:
            raise InvalidParameterError(
                f"{name}={given} is too many for a (bands, rows, cols) = {(b, r, c)} cube: "
                f"the largest valid counts are spectral_levels={max_l}, spatial_levels={max_s}"
            )
        out.append(int(given))
    return out[0], out[1]


# ---------------------------------------------------------------------------------------------
# 1-D lifting along axis 0 of a view (in place, Mallat order: low half then high half)
# ---------------------------------------------------------------------------------------------


def _lift_fwd0(v: np.ndarray) -> None:
    n = v.shape[0]
    if n < 2:
        return
    ns, nd = (n + 1) // 2, n // 2
    s = v[0::2].astype(np.float64, copy=True)
    d = v[1::2].astype(np.float64, copy=True)
    odd = ns > nd
    for a, b in ((_ALPHA, _BETA), (_GAMMA, _DELTA)):
        # predict: d[i] += a (s[i] + s[i+1]), s[ns] mirrored to s[ns-1] when n is even
        if nd > 1:
            d[: nd - 1] += a * (s[: nd - 1] + s[1:nd])
        d[nd - 1] += a * (s[nd - 1] + (s[nd] if odd else s[nd - 1]))
        # update: s[i] += b (d[i-1] + d[i]), d[-1] -> d[0] and d[nd] -> d[nd-1]
        if nd > 1:
            s[1:nd] += b * (d[: nd - 1] + d[1:nd])
        s[0] += (2.0 * b) * d[0]
        if odd:
            s[nd] += (2.0 * b) * d[nd - 1]
    s *= _K_LOW
    d *= _K_HIGH
    v[:ns] = s
    v[ns:] = d


def _lift_inv0(v: np.ndarray) -> None:
    n = v.shape[0]
    if n < 2:
        return
    ns, nd = (n + 1) // 2, n // 2
    s = v[:ns] * (1.0 / _K_LOW)
    d = v[ns:] * (1.0 / _K_HIGH)
    odd = ns > nd
    for a, b in ((_GAMMA, _DELTA), (_ALPHA, _BETA)):
        if nd > 1:
            s[1:nd] -= b * (d[: nd - 1] + d[1:nd])
        s[0] -= (2.0 * b) * d[0]
        if odd:
            s[nd] -= (2.0 * b) * d[nd - 1]
        if nd > 1:
            d[: nd - 1] -= a * (s[: nd - 1] + s[1:nd])
        d[nd - 1] -= a * (s[nd - 1] + (s[nd] if odd else s[nd - 1]))
    v[0::2] = s
    v[1::2] = d


def _along(arr: np.ndarray, box, axis: int, fn) -> None:
    """Apply a 1-D lifting ``fn`` along ``axis`` of ``arr[box]`` in chunks (bounded temporaries)."""
    z0, z1, y0, y1, x0, x1 = box
    view = np.moveaxis(arr[z0:z1, y0:y1, x0:x1], axis, 0)
    if view.shape[0] < 2 or view.size == 0:
        return
    # chunk along the largest other axis so temporaries stay small
    other = 1 if view.shape[1] >= view.shape[2] else 2
    per = max(1, _CHUNK // max(1, view.size // view.shape[other]))
    for j in range(0, view.shape[other], per):
        if other == 1:
            fn(view[:, j : j + per, :])
        else:
            fn(view[:, :, j : j + per])


def _level(a: np.ndarray, nb: int, nr: int, nc: int, axis: int, inverse: bool, impl: str) -> None:
    """One lifting level along ``axis`` of the corner box ``a[:nb, :nr, :nc]``."""
    if impl == "numba":
        _K.lift_axis(a, nb, nr, nc, axis, inverse, _K.threads())
    elif impl == "serial":
        _K.lift_span(a, nb, nr, nc, axis, inverse, 0, nr if axis == 0 else nb)
    elif impl == "numpy":
        _along(a, (0, nb, 0, nr, 0, nc), axis, _lift_inv0 if inverse else _lift_fwd0)
    else:
        raise InvalidParameterError(f"impl must be 'numba', 'serial' or 'numpy'; got {impl!r}")


# ---------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------


def _spatial_boxes(r: int, c: int, levels: int) -> list[tuple[int, int, int, int]]:
    """2-D dyadic subbands (y0, y1, x0, x1): LL first, then LH, HL, HH from coarsest to finest."""
    sizes = [(r, c)]
    for _ in range(levels):
        rr, cc = sizes[-1]
        sizes.append(((rr + 1) // 2, (cc + 1) // 2))
    lr, lc = sizes[-1]
    boxes = [(0, lr, 0, lc)]
    for j in range(levels, 0, -1):
        rr, cc = sizes[j - 1]  # size before level j
        hr, hc = sizes[j]
        boxes += [(hr, rr, 0, hc), (0, hr, hc, cc), (hr, rr, hc, cc)]
    return boxes


def _spectral_ranges(b: int, levels: int) -> list[tuple[int, int]]:
    sizes = [b]
    for _ in range(levels):
        sizes.append((sizes[-1] + 1) // 2)
    ranges = [(0, sizes[-1])]
    for j in range(levels, 0, -1):
        ranges.append((sizes[j], sizes[j - 1]))
    return ranges


def _dyadic_plan(shape, spectral_levels, spatial_levels):
    """Per level j: the low box (b, r, c) it transforms and which axes."""
    b, r, c = shape
    plan = []
    for j in range(1, max(spectral_levels, spatial_levels) + 1):
        axes = []
        if j <= spectral_levels:
            axes.append(0)
        if j <= spatial_levels:
            axes += [1, 2]
        plan.append(((b, r, c), tuple(axes)))
        if 0 in axes:
            b = (b + 1) // 2
        if 1 in axes:
            r = (r + 1) // 2
            c = (c + 1) // 2
    return plan, (b, r, c)


def make_layout(shape_brc, kind: str = "packet", spectral_levels=None, spatial_levels=None) -> Layout:
    """The :class:`Layout` that :func:`forward` produces for this shape and these levels."""
    kind = _check_kind(kind)
    shape = _check_shape(shape_brc)
    sl, tl = choose_levels(shape, kind, spectral_levels, spatial_levels)
    b, r, c = shape
    boxes: list[tuple[int, int, int, int, int, int]] = []
    if kind == "packet":
        sp = _spatial_boxes(r, c, tl)
        for z0, z1 in _spectral_ranges(b, sl):
            boxes += [(z0, z1, y0, y1, x0, x1) for (y0, y1, x0, x1) in sp]
    else:
        plan, low = _dyadic_plan(shape, sl, tl)
        boxes.append((0, low[0], 0, low[1], 0, low[2]))
        for (bb, rr, cc), axes in reversed(plan):
            split = [
                ((0, (n + 1) // 2), ((n + 1) // 2, n)) if ax in axes else ((0, n),)
                for ax, n in enumerate((bb, rr, cc))
            ]
            for zi, zr in enumerate(split[0]):
                for yi, yr in enumerate(split[1]):
                    for xi, xr in enumerate(split[2]):
                        if zi == 0 and yi == 0 and xi == 0:
                            continue
                        boxes.append((*zr, *yr, *xr))
    return Layout(shape=shape, kind=kind, spectral_levels=sl, spatial_levels=tl, subbands=tuple(boxes))


# ---------------------------------------------------------------------------------------------
# Forward and inverse
# ---------------------------------------------------------------------------------------------


def forward(x_brc: np.ndarray, kind: str = "packet", spectral_levels=None, spatial_levels=None):
    """3-D CDF 9/7 transform of a band-major array: ``(float64 coefficients, Layout)``.

    The coefficients have the input's shape (non-expansive, in-place Mallat layout).
    """
    x = np.asarray(x_brc)
    if x.ndim != 3:
        raise InvalidParameterError(f"forward() needs a 3-D (bands, rows, cols) array; got shape {x.shape}")
    layout = make_layout(x.shape, kind, spectral_levels, spatial_levels)
    a = np.array(x, dtype=np.float64, order="C", copy=True)
    forward_inplace(a, layout)
    return a, layout


def forward_inplace(a: np.ndarray, layout: Layout, *, impl: str = "numba") -> None:
    """:func:`forward` on a C-contiguous float64 array of ``layout.shape``, overwriting it (no copy).

    ``impl="numpy"`` runs the vectorised numpy reference instead of the numba kernels;
    ``impl="serial"`` runs the numba kernels on the calling thread alone, without the GIL (for
    one of several arrays transformed on as many threads at once).  The result is the same.
    """
    _check_work_array(a, layout)
    b, r, c = a.shape
    if layout.kind == "packet":
        nb = b
        for _ in range(layout.spectral_levels):
            _level(a, nb, r, c, 0, False, impl)
            nb = (nb + 1) // 2
        nr, nc = r, c
        for _ in range(layout.spatial_levels):
            _level(a, b, nr, nc, 1, False, impl)
            _level(a, b, nr, nc, 2, False, impl)
            nr, nc = (nr + 1) // 2, (nc + 1) // 2
    else:
        plan, _ = _dyadic_plan(a.shape, layout.spectral_levels, layout.spatial_levels)
        for (bb, rr, cc), axes in plan:
            for ax in axes:
                _level(a, bb, rr, cc, ax, False, impl)


def _check_work_array(a: np.ndarray, layout: Layout) -> None:
    if a.shape != tuple(layout.shape):
        raise InvalidParameterError(f"coefficient shape {a.shape} does not match the layout's {layout.shape}")
    if a.dtype != np.float64 or not a.flags.c_contiguous or not a.flags.writeable:
        raise InvalidParameterError("in-place transforms need a writeable C-contiguous float64 array")


def band_major(cube: np.ndarray, offset: float = 0.0) -> np.ndarray:
    """A fresh C-contiguous float64 ``(bands, rows, cols)`` copy of a ``(rows, cols, bands)`` cube,
    minus ``offset`` (the coders' work array), by a tiled numba copy of any real dtype."""
    out = np.empty((cube.shape[2], cube.shape[0], cube.shape[1]), dtype=np.float64)
    if cube.dtype.kind == "f" and cube.dtype.itemsize < 4:  # numba has no float16 arrays
        cube = cube.astype(np.float32)
    elif not cube.dtype.isnative:  # nor non-native byte orders (same values)
        cube = cube.astype(cube.dtype.newbyteorder("="))
    _K.to_band_major(np.ascontiguousarray(cube), out, float(offset))
    return out


def to_cube(coeffs: np.ndarray, out: np.ndarray, offset: float, lo: float, hi: float, *, impl: str = "numba") -> None:
    """``out[r, c, b] = clip(coeffs[b, r, c] + offset, lo, hi)``: a decoded work array back into
    ``(rows, cols, bands)`` order, by a tiled numba copy; ``impl="serial"`` on the calling thread
    alone, without the GIL (one of several slabs converted at once)."""
    if impl == "serial":
        _K.to_cube_rows(coeffs, out, offset, lo, hi, 0, coeffs.shape[1])
    elif impl == "numba":
        _K.to_cube(coeffs, out, offset, lo, hi)
    else:
        raise InvalidParameterError(f"impl must be 'numba' or 'serial'; got {impl!r}")


def inverse(coeffs: np.ndarray, layout: Layout) -> np.ndarray:
    """Invert :func:`forward`: float64 array of ``layout.shape``."""
    a = np.array(coeffs, dtype=np.float64, order="C", copy=True)
    inverse_inplace(a, layout)
    return a


def inverse_inplace(a: np.ndarray, layout: Layout, *, impl: str = "numba") -> None:
    """:func:`inverse` on a C-contiguous float64 coefficient array, overwriting it (no copy);
    ``impl`` as for :func:`forward_inplace`."""
    _check_work_array(a, layout)
    b, r, c = a.shape
    if layout.kind == "packet":
        sizes = [(r, c)]
        for _ in range(layout.spatial_levels):
            sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))
        for nr, nc in reversed(sizes[:-1]):
            _level(a, b, nr, nc, 2, True, impl)
            _level(a, b, nr, nc, 1, True, impl)
        nbs = [b]
        for _ in range(layout.spectral_levels):
            nbs.append((nbs[-1] + 1) // 2)
        for nb in reversed(nbs[:-1]):
            _level(a, nb, r, c, 0, True, impl)
    else:
        plan, _ = _dyadic_plan(a.shape, layout.spectral_levels, layout.spatial_levels)
        for (bb, rr, cc), axes in reversed(plan):
            for ax in reversed(axes):
                _level(a, bb, rr, cc, ax, True, impl)


def transform_params() -> dict:
    """Codec parameters that choose the transform (``kind`` and level counts), shared by the
    wavelet coders so ``speck`` and ``spiht`` accept and document them identically."""
    from ..base import Param

    def count(v) -> bool:
        return v >= 0

    return {
        "kind": Param(str, "packet", "wavelet decomposition: packet (spectral levels, then spatial levels on "
                      "every spectral subband) or dyadic", choices=KINDS),
        "spectral_levels": Param(int, None, "wavelet levels along the bands (default: from the size)",
                                 optional=True, check=count, check_doc="a count >= 0"),
        "spatial_levels": Param(int, None, "2-D wavelet levels over rows and columns (default: from the size)",
                                optional=True, check=count, check_doc="a count >= 0"),
    }
