"""The CCSDS 123.0-B-2 predictor, closed-loop quantiser and mapper (numba), both directions.

One kernel, :func:`run`, walks the image in BIP order (pixel by pixel, every band of a pixel
in turn: the standard allows any order that respects its causality, and this one keeps the
weights of all bands and one band-vector of central local differences hot) and, at each
sample, computes exactly the standard's quantities (section 4; the names are the standard's):

* local sum σ_z(t) (4.4): wide or narrow, neighbour- or column-oriented, from the sample
  representatives s'' of the current and previous rows;
* local difference vector U_z(t) (4.5): the directional differences (full mode) and the central
  differences d_{z-1}(t) … d_{z-P*}(t) of the previous P* = min(z, P) bands;
* predicted central local difference d̂ = W_z(t)ᵀU_z(t), high-resolution prediction s̆ (with the
  register-size wrap mod*_R and clipping), double-resolution prediction s̃, prediction ŝ (4.7);
* maximum error m_z(t) from the absolute and/or relative limits, quantizer index q, clipped
  bin centre s' (4.8-4.9);
* sample representative s'' from Θ, φ, ψ (4.9), prediction error e = 2s' − s̃ and the weight
  update with scaling exponent ρ(t) = clip(ν_min + ⌊(t − N_X)/t_inc⌋, ν_min, ν_max) + D − Ω
  (4.10), from the standard's default weight initialisation;
* mapped quantizer index δ (4.11).

Encoding reads samples and writes δ; decoding reads δ and writes the reconstruction s' (the
clipped bin centre, within m_z(t) of the original).  Everything outside the causal history is
the same code, so encoder and decoder cannot drift apart.  All arithmetic is in int64; with
D <= 16 and Ω <= 19 no intermediate exceeds 2^50, so R = 64 never wraps, and a smaller R is
applied exactly as the standard's mod*_R.  Hostile δ values only move s' inside [s_min, s_max].
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .header import Config, NARROW_NEIGHBOUR, WIDE_COLUMN, WIDE_NEIGHBOUR


@njit(cache=True, inline="always")
def _local_sum(rep, cur, prv, y, x, z, cols, kind, smid):
    """σ_z(t) for t > 0 (standard 4.4) from the sample representatives of rows y and y − 1."""
    if kind == WIDE_NEIGHBOUR or kind == NARROW_NEIGHBOUR:
        if y > 0:
            if x == 0:
                return 2 * (rep[prv, x, z] + rep[prv, x + 1, z])
            if x == cols - 1:
                if kind == WIDE_NEIGHBOUR:
                    return rep[cur, x - 1, z] + rep[prv, x - 1, z] + 2 * rep[prv, x, z]
                return 2 * (rep[prv, x - 1, z] + rep[prv, x, z])
            if kind == WIDE_NEIGHBOUR:
                return rep[cur, x - 1, z] + rep[prv, x - 1, z] + rep[prv, x, z] + rep[prv, x + 1, z]
            return rep[prv, x - 1, z] + 2 * rep[prv, x, z] + rep[prv, x + 1, z]
    elif y > 0:  # column-oriented
        return 4 * rep[prv, x, z]
    # y == 0, x > 0
    if kind == WIDE_NEIGHBOUR or kind == WIDE_COLUMN:
        return 4 * rep[cur, x - 1, z]
    if z > 0:
        return 4 * rep[cur, x - 1, z - 1]
    return 4 * smid


@njit(cache=True, inline="always")
def _mod_star(v, bits):
    """The standard's mod*_R: v wrapped to a signed ``bits``-bit integer."""
    if bits >= 64:
        return v
    half = np.int64(1) << (bits - 1)
    return ((v + half) & ((half << 1) - 1)) - half


@njit(cache=True, inline="always")
def _sign(v):
    return (v > 0) - (v < 0)


@njit(cache=True)
def run(samples, delta, decode, signed, D, P, full, kind, R, omega, t_inc_exp, nu_min, nu_max,
        use_abs, use_rel, abs_lim, rel_lim, theta, phi, psi):
    """Predict every sample of a ``(rows, cols, bands)`` image: samples -> δ, or δ -> samples.

    ``samples`` and ``delta`` are int32 arrays of the image's shape; with ``decode`` false the
    kernel reads ``samples`` and fills ``delta``, with ``decode`` true it reads ``delta`` and
    fills ``samples`` with the reconstruction.  ``abs_lim``, ``rel_lim``, ``phi`` and ``psi``
    hold one value per band.
    """
    cols, bands = samples.shape[1], samples.shape[2]
    if signed:
        smin = -(np.int64(1) << (D - 1))
        smax = (np.int64(1) << (D - 1)) - 1
        smid = np.int64(0)
    else:
        smin = np.int64(0)
        smax = (np.int64(1) << D) - 1
        smid = np.int64(1) << (D - 1)
    nfull = 3 if full else 0
    ncomp = P + nfull
    one = np.int64(1)
    # default weight initialisation (4.6.3.2): 7/8 of unity for the previous band, then / 8
    weights = np.zeros((bands, max(ncomp, 1)), dtype=np.int64)
    for z in range(bands):
        pz = min(z, P)
        if pz > 0:
            weights[z, nfull] = (7 * (one << omega)) >> 3
            for i in range(1, pz):
                weights[z, nfull + i] = weights[z, nfull + i - 1] >> 3
    rep = np.zeros((2, cols, bands), dtype=np.int64)  # s'' of the current and previous row
    central = np.zeros(bands, dtype=np.int64)  # d_z(t) of the current pixel, band by band
    u = np.zeros(max(ncomp, 1), dtype=np.int64)
    _samples(samples, delta, decode, D, P, full, kind, R, omega, t_inc_exp, nu_min, nu_max, use_abs, use_rel,
             abs_lim, rel_lim, theta, phi, psi, smin, smax, smid, weights, rep, central, u)


@njit(cache=True, _nrt=False)
def _samples(samples, delta, decode, D, P, full, kind, R, omega, t_inc_exp, nu_min, nu_max, use_abs, use_rel,
             abs_lim, rel_lim, theta, phi, psi, smin, smax, smid, weights, rep, central, u):
    """The sample loop of :func:`run` in its state arrays.  Compiled without reference counting
    (``_nrt=False``): every array passed to an inlined helper would otherwise cost an atomic
    increment and decrement per sample and band (a fifth of the codec's time)."""
    rows, cols, bands = samples.shape
    nfull = 3 if full else 0
    one = np.int64(1)
    w_min = -(one << (omega + 2))
    w_max = (one << (omega + 2)) - 1
    lo_breve = smin * (one << (omega + 2))
    hi_breve = smax * (one << (omega + 2)) + (one << (omega + 1))
    mid_breve = smid * (one << (omega + 2)) + (one << (omega + 1))
    for y in range(rows):
        cur = y & 1
        prv = cur ^ 1
        for x in range(cols):
            t = y * cols + x
            if t > 0:
                step = nu_min if t < cols else nu_min + ((t - cols) >> t_inc_exp)
                rho = min(step, nu_max) + D - omega
            else:
                rho = 0
            for z in range(bands):
                pz = min(z, P)
                breve = np.int64(0)
                sigma = np.int64(0)
                if t == 0:
                    tilde = 2 * rep[cur, x, z - 1] if pz > 0 else 2 * smid
                    m = np.int64(0)
                else:
                    sigma = _local_sum(rep, cur, prv, y, x, z, cols, kind, smid)
                    if full:
                        if y > 0:
                            north = rep[prv, x, z]
                            u[0] = 4 * north - sigma
                            if x > 0:
                                u[1] = 4 * rep[cur, x - 1, z] - sigma
                                u[2] = 4 * rep[prv, x - 1, z] - sigma
                            else:
                                u[1] = 4 * north - sigma
                                u[2] = 4 * north - sigma
                        else:
                            u[0] = 0
                            u[1] = 0
                            u[2] = 0
                    for i in range(pz):
                        u[nfull + i] = central[z - 1 - i]
                    dhat = np.int64(0)
                    for i in range(nfull + pz):
                        dhat += weights[z, i] * u[i]
                    breve = _mod_star(dhat + (sigma - 4 * smid) * (one << omega), R) + mid_breve
                    breve = min(max(breve, lo_breve), hi_breve)
                    tilde = breve >> (omega + 1)
                    m = np.int64(0)
                    if use_abs:
                        m = np.int64(abs_lim[z])
                    if use_rel:
                        mr = (np.int64(rel_lim[z]) * abs(tilde >> 1)) >> D
                        m = min(m, mr) if use_abs else mr
                hat = tilde >> 1
                step2 = 2 * m + 1
                theta_z = min((hat - smin + m) // step2, (smax - hat + m) // step2)
                if decode:
                    d = np.int64(delta[y, x, z])
                    if d > 2 * theta_z:
                        q = d - theta_z if hat - smin <= smax - hat else theta_z - d
                    elif d & 1:
                        q = -((d + 1) >> 1) if tilde & 1 == 0 else (d + 1) >> 1
                    else:
                        q = d >> 1 if tilde & 1 == 0 else -(d >> 1)
                    clipped = min(max(hat + q * step2, smin), smax)
                    samples[y, x, z] = clipped
                else:
                    diff = np.int64(samples[y, x, z]) - hat
                    q = _sign(diff) * ((abs(diff) + m) // step2)
                    clipped = min(max(hat + q * step2, smin), smax)
                    aq = abs(q)
                    if aq > theta_z:
                        d = aq + theta_z
                    elif (q if tilde & 1 == 0 else -q) >= 0:
                        d = 2 * aq
                    else:
                        d = 2 * aq - 1
                    delta[y, x, z] = d
                if t == 0:
                    rep[cur, x, z] = clipped
                    continue
                # sample representative (4.9.2)
                dbl = (
                    4 * ((one << theta) - phi[z]) * (clipped * (one << omega) - _sign(q) * m * psi[z] * (one << (omega - theta)))
                    + phi[z] * breve - phi[z] * (one << (omega + 1))
                ) >> (omega + theta + 1)
                representative = (dbl + 1) >> 1
                rep[cur, x, z] = representative
                central[z] = 4 * representative - sigma
                # weight update (4.10)
                err = 2 * clipped - tilde
                sgn = 1 if err >= 0 else -1
                for i in range(nfull + pz):
                    if rho >= 0:
                        inc = (sgn * u[i] + (one << rho)) >> (rho + 1)
                    else:
                        inc = (sgn * u[i] * (one << -rho) + 1) >> 1
                    weights[z, i] = min(max(weights[z, i] + inc, w_min), w_max)


def predict(cfg: Config, samples: np.ndarray | None = None, delta: np.ndarray | None = None) -> np.ndarray:
    """Run the predictor for ``cfg``: given ``samples`` return δ; given ``delta`` return the samples."""
    decode = samples is None
    shape = (cfg.rows, cfg.cols, cfg.bands)
    if decode:
        samples = np.zeros(shape, dtype=np.int32)
        delta = np.ascontiguousarray(delta, dtype=np.int32)
    else:
        samples = np.ascontiguousarray(samples, dtype=np.int32)
        delta = np.zeros(shape, dtype=np.int32)
    bands = cfg.bands
    abs_lim = np.array(cfg.abs_limits if cfg.uses_abs else (0,) * bands, dtype=np.int64)
    rel_lim = np.array(cfg.rel_limits if cfg.uses_rel else (0,) * bands, dtype=np.int64)
    run(
        samples, delta, decode, cfg.signed, cfg.D, cfg.P, cfg.full, cfg.local_sum, cfg.R, cfg.omega,
        cfg.t_inc_exp, cfg.nu_min, cfg.nu_max, cfg.uses_abs, cfg.uses_rel, abs_lim, rel_lim, cfg.theta,
        np.full(bands, cfg.phi, dtype=np.int64), np.full(bands, cfg.psi, dtype=np.int64),
    )
    return samples if decode else delta
