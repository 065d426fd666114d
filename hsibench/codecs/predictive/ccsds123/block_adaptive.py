"""The CCSDS 123.0-B-2 block-adaptive entropy coder (section 5.4.3.4), numba kernels.

The standard hands the mapped quantizer indices δ, in the encoding order of the body (5.4.2:
band-interleaved in sub-frames of M bands, or band sequential), to the adaptive entropy coder
of CCSDS 121.0-B (Rice coding) with its preprocessor bypassed: the δ are already non-negative
D-bit integers, so no reference samples are inserted, and the reference sample interval r only
marks where zero-block segments restart.  The sequence is cut into blocks of J samples (J in
8, 16, 32, 64; the last block is filled with zeros), and each block is coded with one option,
announced by an ID of ``id_bits`` bits:

* zero-block (ID all zeros, then 0): a run of all-zero blocks, coded once at its end as a
  fundamental-sequence (FS) codeword of the run length m: m − 1 zeros and a one for m <= 4,
  ``00001`` (ROS, "remainder of segment") for a run of 5 or more that reaches the end of its
  segment, m zeros and a one otherwise.  Segments are 64 blocks, restarting every r blocks
  (so the last segment of each reference interval, and of the image, can be shorter);
* second extension (ID all zeros, then 1): each pair (δ_i, δ_{i+1}) as the FS codeword of
  γ = (δ_i + δ_{i+1})(δ_i + δ_{i+1} + 1)/2 + δ_{i+1};
* split-sample k (ID k + 1; k = 0 is the fundamental sequence): the FS codewords of δ >> k
  for the J samples, then the k low bits of each;
* no compression (ID all ones): the J samples in D bits each.

``id_bits`` is 3 for D <= 8 and 4 for D <= 16 (k up to 5 or 13); with the restricted code
options (D <= 4 only) it is 1 for D <= 2 (no split-sample options) and 2 for D <= 4 (k <= 1).
The encoder picks the shortest option of a non-zero block; ties go to no compression, then
second extension, then the smallest k (the standard leaves the choice to the encoder; this
order is the NTNU verification model's, so the bytes can be compared).

Decoding treats the body as hostile: every length read is bounded by what a D-bit δ allows
(larger values are rejected, not decoded), zero runs may not leave their segment, and a body
that ends early is reported instead of read past its end.  One walker serves counting (for
the rate search), writing and reading.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ... import _bits
from .header import Config

SEGMENT = 64  # blocks per zero-block segment (CCSDS 121.0-B)
_COUNT, _WRITE, _READ = 0, 1, 2
# failure codes of the reader (negative "bit counts")
TRUNCATED, BAD_RUN, BAD_VALUE = -1, -2, -3


def id_bits(D: int, restricted: bool) -> int:
    """Length of the code option ID (CCSDS 121.0-B, table 5-1) for D-bit samples."""
    if restricted:
        return 1 if D <= 2 else 2
    return 3 if D <= 8 else 4 if D <= 16 else 5


# --------------------------------------------------------------------------------------------
# Encoding order
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _order(delta, seq, bsq, M, forward):
    """Copy δ (rows, cols, bands) into ``seq`` in the body's encoding order, or back."""
    rows, cols, bands = delta.shape
    i = 0
    if bsq:
        for z in range(bands):
            for y in range(rows):
                for x in range(cols):
                    if forward:
                        seq[i] = delta[y, x, z]
                    else:
                        delta[y, x, z] = seq[i]
                    i += 1
    else:
        for y in range(rows):
            for z0 in range(0, bands, M):
                z1 = min(z0 + M, bands)
                for x in range(cols):
                    for z in range(z0, z1):
                        if forward:
                            seq[i] = delta[y, x, z]
                        else:
                            delta[y, x, z] = seq[i]
                        i += 1


def sequence(cfg: Config, delta: np.ndarray) -> np.ndarray:
    """δ as one int64 vector in the encoding order, filled with zeros to whole blocks of 64 (every J)."""
    n = delta.size
    seq = np.zeros(-(-n // 64) * 64, dtype=np.int64)
    _order(np.ascontiguousarray(delta, dtype=np.int32), seq, cfg.bsq, cfg.M, True)
    return seq


# --------------------------------------------------------------------------------------------
# The coder
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _zero_run(mode, state, buf, m, at_segment_end, nid):
    """Count or write the zero-block codeword of a run of ``m`` blocks; return its length."""
    if m <= 4:
        fs = m - 1
    elif at_segment_end:
        fs = 4  # ROS
    else:
        fs = m
    if mode == _WRITE:
        _bits.bw_put_bits(state, buf, 0, nid + 1)
        for _ in range(fs):
            _bits.bw_put(state, buf, 0)
        _bits.bw_put(state, buf, 1)
    return nid + 1 + fs + 1


@njit(cache=True, inline="always")
def _fs_put(state, buf, zeros):
    """A fundamental-sequence codeword: ``zeros`` zeros and a one."""
    while zeros > 48:
        _bits.bw_put_bits(state, buf, 0, 48)
        zeros -= 48
    _bits.bw_put_bits(state, buf, 1, zeros + 1)


@njit(cache=True)
def _block(mode, seq, start, J, D, nid, kmax, state, buf):
    """Count or write the shortest option for the non-zero block at ``seq[start:start+J]``."""
    best = nid + J * D  # no compression
    option = -1
    se = nid + 1
    for i in range(start, start + J, 2):
        s = seq[i] + seq[i + 1]
        se += s * (s + 1) // 2 + seq[i + 1] + 1
    if se < best:
        best = se
        option = -2
    for k in range(kmax + 1):
        length = nid + J * (k + 1)
        for i in range(start, start + J):
            length += seq[i] >> k
        if length < best:
            best = length
            option = k
    if mode == _WRITE:
        if option == -1:
            _bits.bw_put_bits(state, buf, (1 << nid) - 1, nid)
            for i in range(start, start + J):
                _bits.bw_put_bits(state, buf, seq[i], D)
        elif option == -2:
            _bits.bw_put_bits(state, buf, 0, nid)
            _bits.bw_put(state, buf, 1)
            for i in range(start, start + J, 2):
                s = seq[i] + seq[i + 1]
                _fs_put(state, buf, s * (s + 1) // 2 + seq[i + 1])
        else:
            _bits.bw_put_bits(state, buf, option + 1, nid)
            for i in range(start, start + J):
                _fs_put(state, buf, seq[i] >> option)
            if option > 0:
                for i in range(start, start + J):
                    _bits.bw_put_bits(state, buf, seq[i], option)
    return best


@njit(cache=True)
def encode_walk(mode, seq, n, J, D, r, nid, buf):
    """Count (mode 0) or write (mode 1, into ``buf``) the body of the ``n`` first values of ``seq``.

    ``seq`` holds zeros from ``n`` to a whole number of blocks.  Returns the body's length in
    bits (-1: ``buf`` was too small).
    """
    kmax = (1 << nid) - 3
    blocks = (n + J - 1) // J
    state = _bits.bw_new()
    total = np.int64(0)
    run = 0
    for b in range(blocks):
        if (b % r) % SEGMENT == 0 and run > 0:  # a run that reached the end of its segment
            total += _zero_run(mode, state, buf, run, True, nid)
            run = 0
        start = b * J
        zero = True
        for i in range(start, start + J):
            if seq[i] != 0:
                zero = False
                break
        if zero:
            run += 1
            continue
        if run > 0:
            total += _zero_run(mode, state, buf, run, False, nid)
            run = 0
        total += _block(mode, seq, start, J, D, nid, kmax, state, buf)
    if run > 0:  # the image's last segment ends with the last block
        total += _zero_run(mode, state, buf, run, True, nid)
    if mode == _WRITE and _bits.bw_finish(state, buf) < 0:
        return -1
    return total


@njit(cache=True, inline="always")
def _fs_get(state, data, limit):
    """Read a fundamental-sequence codeword; -1 past the end of ``data``, -2 above ``limit`` zeros."""
    zeros = np.int64(0)
    while _bits.br_get(state, data) == 0:
        if _bits.br_exhausted(state, data):
            return -1
        zeros += 1
        if zeros > limit:
            return -2
    return zeros


@njit(cache=True)
def decode_walk(seq, J, D, r, nid, data):
    """Read the body ``data`` into ``seq`` (whole blocks); return the bits read or a negative failure code."""
    kmax = (1 << nid) - 3
    top = (np.int64(1) << D) - 1  # largest δ
    gamma_top = top * (2 * top + 1) + top  # largest second-extension value: δ_i = δ_{i+1} = top
    blocks = seq.shape[0] // J
    state = _bits.br_new()
    b = 0
    while b < blocks:
        option = _bits.br_get_bits(state, data, nid)
        if _bits.br_exhausted(state, data):
            return TRUNCATED
        start = b * J
        if option == 0:
            if _bits.br_get(state, data) == 0:  # zero-block run
                fs = _fs_get(state, data, SEGMENT)
                if fs < 0:
                    return TRUNCATED if fs == -1 else BAD_RUN
                segment_end = min(b - b % r + min(r, (b % r) // SEGMENT * SEGMENT + SEGMENT), blocks)
                if fs == 4:
                    m = segment_end - b  # ROS
                elif fs < 4:
                    m = fs + 1
                else:
                    m = fs
                if b + m > segment_end:
                    return BAD_RUN
                for i in range(start, (b + m) * J):
                    seq[i] = 0
                b += m
                continue
            for i in range(start, start + J, 2):  # second extension
                gamma = _fs_get(state, data, gamma_top)
                if gamma < 0:
                    return TRUNCATED if gamma == -1 else BAD_VALUE
                s = np.int64((np.sqrt(8.0 * gamma + 1.0) - 1.0) / 2.0)  # s(s+1)/2 <= gamma < (s+1)(s+2)/2
                while s * (s + 1) // 2 > gamma:
                    s -= 1
                while (s + 1) * (s + 2) // 2 <= gamma:
                    s += 1
                second = gamma - s * (s + 1) // 2
                first = s - second
                if first > top or second > top:
                    return BAD_VALUE
                seq[i] = first
                seq[i + 1] = second
        elif option == (1 << nid) - 1:  # no compression
            for i in range(start, start + J):
                seq[i] = _bits.br_get_bits(state, data, D)
        else:
            k = option - 1  # 0 <= k <= kmax by construction of the IDs
            for i in range(start, start + J):
                high = _fs_get(state, data, top >> k)
                if high < 0:
                    return TRUNCATED if high == -1 else BAD_VALUE
                seq[i] = high << k
            if k > 0:
                for i in range(start, start + J):
                    seq[i] |= _bits.br_get_bits(state, data, k)
                    if seq[i] > top:
                        return BAD_VALUE
        if _bits.br_exhausted(state, data):
            return TRUNCATED
        b += 1
    if _bits.br_exhausted(state, data):
        return TRUNCATED
    return state[2]  # the reader's position, in bits (the raw reader's position slot)


# --------------------------------------------------------------------------------------------
# Python entry points
# --------------------------------------------------------------------------------------------


def _nid(cfg: Config) -> int:
    return id_bits(cfg.D, cfg.restricted)


def body_bits(cfg: Config, seq: np.ndarray) -> int:
    """Bits of the body of ``seq`` (from :func:`sequence`; any J) under ``cfg``, before the fill."""
    empty = np.zeros(0, dtype=np.uint8)
    return int(encode_walk(_COUNT, seq, cfg.voxels, cfg.J, cfg.D, cfg.r, _nid(cfg), empty))


def max_samples(cfg: Config, bits: int) -> int:
    """The most samples a body of ``bits`` bits can describe (a ROS codeword covers a whole segment)."""
    return (bits // (_nid(cfg) + 6) + 1) * SEGMENT * cfg.J


def encode(cfg: Config, delta: np.ndarray) -> bytes:
    """The coded body of the mapped quantizer indices ``delta`` (int32, image shape), without the fill."""
    seq = sequence(cfg, delta)
    nid = _nid(cfg)
    blocks = -(-cfg.voxels // cfg.J)
    bound = blocks * (2 * nid + cfg.J * cfg.D + SEGMENT + 3)  # a block at its longest plus a zero-run codeword
    buf = np.zeros(bound // 8 + 16, dtype=np.uint8)
    bits = encode_walk(_WRITE, seq, cfg.voxels, cfg.J, cfg.D, cfg.r, nid, buf)
    if bits < 0:
        raise AssertionError("the block-adaptive body outgrew its bound")
    return buf[: (bits + 7) // 8].tobytes()


def decode(cfg: Config, body: np.ndarray) -> tuple[np.ndarray, int]:
    """δ (image shape) decoded from ``body`` (uint8) and the bits read, or a negative failure code."""
    n = cfg.voxels
    seq = np.zeros(-(-n // cfg.J) * cfg.J, dtype=np.int64)
    bits = int(decode_walk(seq, cfg.J, cfg.D, cfg.r, _nid(cfg), body))
    delta = np.zeros((cfg.rows, cfg.cols, cfg.bands), dtype=np.int32)
    if bits >= 0:
        _order(delta, seq, cfg.bsq, cfg.M, False)
    return delta, bits
