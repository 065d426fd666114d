"""A slow, plain-Python CCSDS 123.0-B-2 encoder body, written from the standard's equations.

Independent of hsibench's numba kernels (different structure: whole-image arrays of every
intermediate quantity indexed (z, y, x) as in the standard, Python integers, no row buffers, no
shared helpers), it is the test oracle for the predictor (sections 4.2-4.11: local sums,
local differences, default weight initialisation, prediction with mod*_R and clipping,
quantiser with absolute/relative limits, sample representatives, weight update, mapper)
and the sample-adaptive (5.4.3.2) and block-adaptive (5.4.3.4) coders.  Tiny images only: it runs at ~10^4 samples/s.
"""

from __future__ import annotations

import math
from fractions import Fraction


def _sgn(v: int) -> int:
    return (v > 0) - (v < 0)


def _clip(v: int, lo: int, hi: int) -> int:
    return lo if v < lo else hi if v > hi else v


def mapped_indices(s, cfg) -> list:
    """δ[z][y][x] for the samples ``s[z][y][x]`` (Python ints) under a header.Config ``cfg``."""
    NZ, NY, NX = cfg.bands, cfg.rows, cfg.cols
    D, P, omega, theta = cfg.D, cfg.P, cfg.omega, cfg.theta
    if cfg.signed:
        smin, smax, smid = -(2 ** (D - 1)), 2 ** (D - 1) - 1, 0
    else:
        smin, smax, smid = 0, 2**D - 1, 2 ** (D - 1)
    wmin, wmax = -(2 ** (omega + 2)), 2 ** (omega + 2) - 1
    grid = lambda: [[[0] * NX for _ in range(NY)] for _ in range(NZ)]  # noqa: E731
    rep, sig, dcen, delta = grid(), grid(), grid(), grid()
    ndir = 3 if cfg.full else 0
    W = []
    for z in range(NZ):  # default weight initialisation
        w = [0] * ndir
        pz = min(z, P)
        if pz:
            w.append(7 * 2**omega // 8)
            for _ in range(1, pz):
                w.append(w[-1] // 8)
        W.append(w)

    def local_sum(z, y, x):
        k = cfg.local_sum
        if k in (0, 1):  # neighbour-oriented
            if y > 0 and 0 < x < NX - 1:
                if k == 0:
                    return rep[z][y][x - 1] + rep[z][y - 1][x - 1] + rep[z][y - 1][x] + rep[z][y - 1][x + 1]
                return rep[z][y - 1][x - 1] + 2 * rep[z][y - 1][x] + rep[z][y - 1][x + 1]
            if y > 0 and x == 0:
                return 2 * (rep[z][y - 1][x] + rep[z][y - 1][x + 1])
            if y > 0 and x == NX - 1:
                if k == 0:
                    return rep[z][y][x - 1] + rep[z][y - 1][x - 1] + 2 * rep[z][y - 1][x]
                return 2 * (rep[z][y - 1][x - 1] + rep[z][y - 1][x])
        elif y > 0:
            return 4 * rep[z][y - 1][x]
        if k in (0, 2):
            return 4 * rep[z][y][x - 1]
        return 4 * rep[z - 1][y][x - 1] if z > 0 else 4 * smid

    for t in range(NX * NY):
        y, x = divmod(t, NX)
        jump = (t - NX) // 2**cfg.t_inc_exp  # Python floor division, as the standard's floor
        rho = _clip(cfg.nu_min + jump, cfg.nu_min, cfg.nu_max) + D - omega
        for z in range(NZ):
            pz = min(z, P)
            if t == 0:
                s_tilde = 2 * s[z - 1][y][x] if (P > 0 and z > 0) else 2 * smid
                s_breve = None
                m = 0
                U = []
            else:
                sigma = local_sum(z, y, x)
                sig[z][y][x] = sigma
                U = []
                if cfg.full:
                    if y == 0:
                        U = [0, 0, 0]
                    elif x == 0:
                        U = [4 * rep[z][y - 1][x] - sigma] * 3
                    else:
                        U = [4 * rep[z][y - 1][x] - sigma, 4 * rep[z][y][x - 1] - sigma, 4 * rep[z][y - 1][x - 1] - sigma]
                U += [dcen[z - i][y][x] for i in range(1, pz + 1)]
                d_hat = sum(w * u for w, u in zip(W[z], U))
                v = d_hat + 2**omega * (sigma - 4 * smid)
                half = 2 ** (cfg.R - 1)
                v = (v + half) % (2 * half) - half  # mod*_R
                s_breve = _clip(v + 2 ** (omega + 2) * smid + 2 ** (omega + 1), 2 ** (omega + 2) * smin, 2 ** (omega + 2) * smax + 2 ** (omega + 1))
                s_tilde = s_breve // 2 ** (omega + 1)
                m = None
                if cfg.uses_abs:
                    m = cfg.abs_limits[z]
                if cfg.uses_rel:
                    mr = cfg.rel_limits[z] * abs(s_tilde // 2) // 2**D
                    m = mr if m is None else min(m, mr)
                m = m or 0
            s_hat = s_tilde // 2
            res = s[z][y][x] - s_hat
            q = _sgn(res) * ((abs(res) + m) // (2 * m + 1))
            s_prime = _clip(s_hat + q * (2 * m + 1), smin, smax)
            th = min((s_hat - smin + m) // (2 * m + 1), (smax - s_hat + m) // (2 * m + 1))
            if abs(q) > th:
                delta[z][y][x] = abs(q) + th
            elif 0 <= (-1) ** (s_tilde % 2) * q <= th:
                delta[z][y][x] = 2 * abs(q)
            else:
                delta[z][y][x] = 2 * abs(q) - 1
            if t == 0:
                rep[z][y][x] = s[z][y][x]
                continue
            phi, psi = cfg.phi, cfg.psi
            dbl = (4 * (2**theta - phi) * (s_prime * 2**omega - _sgn(q) * m * psi * 2 ** (omega - theta)) + phi * s_breve - phi * 2 ** (omega + 1)) // 2 ** (omega + theta + 1)
            rep[z][y][x] = (dbl + 1) // 2
            dcen[z][y][x] = 4 * rep[z][y][x] - sig[z][y][x]
            e = 2 * s_prime - s_tilde
            sg = 1 if e >= 0 else -1
            scale = Fraction(2) ** -rho  # 2^-(rho + weight exponent offset), offsets all zero
            W[z] = [_clip(w + math.floor((sg * scale * u + 1) / 2), wmin, wmax) for w, u in zip(W[z], U)]
    return delta


def sample_adaptive_body(delta, cfg) -> bytes:
    """The body bytes (BI order with depth M, or BSQ) of δ[z][y][x] under ``cfg``."""
    NZ, NY, NX, D = cfg.bands, cfg.rows, cfg.cols, cfg.D
    kp = cfg.K if cfg.K <= 30 - D else 2 * cfg.K + D - 30
    bits: list[str] = []
    acc = [0] * NZ
    cnt = [0] * NZ

    def code(z, y, x):
        t = y * NX + x
        d = delta[z][y][x]
        if t == 0:
            bits.append(format(d, f"0{D}b"))
            return
        if t == 1:
            cnt[z] = 2**cfg.gamma_0
            acc[z] = (3 * 2 ** (kp + 6) - 49) * cnt[z] // 2**7
        else:
            py, px = divmod(t - 1, NX)
            if cnt[z] < 2**cfg.gamma_star - 1:
                acc[z] += delta[z][py][px]
                cnt[z] += 1
            else:
                acc[z] = (acc[z] + delta[z][py][px] + 1) // 2
                cnt[z] = (cnt[z] + 1) // 2
        bound = acc[z] + 49 * cnt[z] // 2**7
        k = 0
        if 2 * cnt[z] <= bound:
            k = max(j for j in range(1, max(D - 2, 1) + 1) if cnt[z] * 2**j <= bound)
            k = min(k, D - 2)
        u = d >> k
        if u < cfg.u_max:
            bits.append("0" * u + "1" + (format(d & (2**k - 1), f"0{k}b") if k else ""))
        else:
            bits.append("0" * cfg.u_max + format(d, f"0{D}b"))

    if cfg.bsq:
        for z in range(NZ):
            for y in range(NY):
                for x in range(NX):
                    code(z, y, x)
    else:
        for y in range(NY):
            for z0 in range(0, NZ, cfg.M):
                for x in range(NX):
                    for z in range(z0, min(z0 + cfg.M, NZ)):
                        code(z, y, x)
    text = "".join(bits)
    text += "0" * (-len(text) % (8 * cfg.B))
    return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


def block_adaptive_body(delta, cfg) -> bytes:
    """The block-adaptive body bytes (5.4.3.4: CCSDS 121.0-B without preprocessor) of δ[z][y][x].

    Written from the standards' text, segment by segment: the blocks of J values (the last
    one filled with zeros) are walked per reference interval of r blocks, each cut into
    segments of 64; inside a segment, a run of all-zero blocks is one zero-block codeword and
    every other block gets the shortest of its candidate codewords, built as bit strings
    (ties: no compression, second extension, then the smallest k).
    """
    NZ, NY, NX, D, J = cfg.bands, cfg.rows, cfg.cols, cfg.D, cfg.J
    if cfg.restricted:
        nid = 1 if D <= 2 else 2
    else:
        nid = 3 if D <= 8 else 4
    values = []
    if cfg.bsq:
        order = [(z, y, x) for z in range(NZ) for y in range(NY) for x in range(NX)]
    else:
        order = [(z, y, x) for y in range(NY) for z0 in range(0, NZ, cfg.M) for x in range(NX)
                 for z in range(z0, min(z0 + cfg.M, NZ))]
    values = [delta[z][y][x] for z, y, x in order]
    values += [0] * (-len(values) % J)
    blocks = [values[i : i + J] for i in range(0, len(values), J)]

    def fs(n):
        return "0" * n + "1"

    def candidates(block):
        """(length, codeword builder) of every option, in the order that wins ties."""
        yield nid + J * D, lambda: "1" * nid + "".join(format(v, f"0{D}b") for v in block)  # no compression
        gammas = [(a + b) * (a + b + 1) // 2 + b for a, b in zip(block[::2], block[1::2])]
        yield nid + 1 + sum(g + 1 for g in gammas), lambda: "0" * nid + "1" + "".join(fs(g) for g in gammas)
        for k in range(2**nid - 2):  # split-sample options k = 0 .. 2^nid - 3
            yield (nid + sum((v >> k) + 1 + k for v in block),
                   lambda k=k: format(k + 1, f"0{nid}b") + "".join(fs(v >> k) for v in block)
                   + ("".join(format(v % 2**k, f"0{k}b") for v in block) if k else ""))

    def zero_run(m, reaches_end):
        code = fs(m - 1) if m <= 4 else fs(4) if reaches_end else fs(m)
        return "0" * (nid + 1) + code

    bits = []
    for interval in range(0, len(blocks), cfg.r):
        for seg in range(interval, min(interval + cfg.r, len(blocks)), 64):
            segment = blocks[seg : min(seg + 64, interval + cfg.r, len(blocks))]
            run = 0
            for block in segment:
                if not any(block):
                    run += 1
                    continue
                if run:
                    bits.append(zero_run(run, False))
                    run = 0
                best = None
                for length, build in candidates(block):
                    if best is None or length < best[0]:
                        best = (length, build)
                code = best[1]()
                assert len(code) == best[0]
                bits.append(code)
            if run:
                bits.append(zero_run(run, True))
    text = "".join(bits)
    text += "0" * (-len(text) % (8 * cfg.B))
    return int(text, 2).to_bytes(len(text) // 8, "big") if text else b""


def check_hostile_bodies(payload: bytes, start: int, D: int, tries: int, too_big: type | None = None) -> None:
    """A header announcing 65536^3 samples is rejected (with ``too_big``, a CorruptDataError by
    default) before any allocation, and random bodies after a valid header decode to samples in
    range or raise CorruptDataError, never crash."""
    import numpy as np
    import pytest

    from hsibench.codecs.predictive.ccsds123 import codestream
    from hsibench.errors import CorruptDataError

    huge = bytearray(payload)
    huge[1:7] = b"\0\0\0\0\0\0"
    with pytest.raises(too_big or CorruptDataError, match="samples"):
        codestream.decode(bytes(huge))
    rng = np.random.default_rng(0)
    for _ in range(tries):
        body = rng.integers(0, 256, len(payload) - start, dtype=np.uint8).tobytes()
        try:
            _, out = codestream.decode(payload[:start] + body)
        except CorruptDataError:
            continue
        assert out.min() >= 0 and out.max() < 2**D
