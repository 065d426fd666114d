"""A CCSDS 123.0-B-2 codestream: the standard's header followed by the entropy-coded body.

:func:`encode` and :func:`decode` join the parts (:mod:`.header`, :mod:`.predictor`, and the
entropy coder the header names: :mod:`.sample_adaptive` or :mod:`.block_adaptive`);
:func:`size` is what the rate search calls: the exact byte count of the codestream for a
configuration, without writing it, and :func:`sizes` counts several entropy-coder settings
on one run of the predictor (the coders see the same mapped quantizer indices).  The decoder
treats its input as hostile: the header is validated field by field, the image may not hold
more samples than the body can describe (a sample-adaptive codeword is at least one bit; a
block-adaptive ROS codeword covers at most a segment of 64 blocks), which bounds both
allocation and time, and a body that ends early, codes a value a D-bit sample cannot have, or
carries bytes beyond its last output word is rejected.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from ....errors import CorruptDataError, StreamLimitError
from ...._lazy import lazy_module
from . import header
from .header import Config

# numba kernels: loaded when first coding (hsibench._lazy)
predictor = lazy_module("hsibench.codecs.predictive.ccsds123.predictor")
sample_adaptive = lazy_module("hsibench.codecs.predictive.ccsds123.sample_adaptive")
block_adaptive = lazy_module("hsibench.codecs.predictive.ccsds123.block_adaptive")


def _padded(cfg: Config, bits: int) -> int:
    """Bytes a body of ``bits`` bits takes once filled to whole output words (B bytes each)."""
    word = 8 * cfg.B
    return (bits + word - 1) // word * cfg.B


def mapped(cfg: Config, samples: np.ndarray) -> np.ndarray:
    """The mapped quantizer indices δ of ``samples`` under ``cfg`` (what every entropy coder codes)."""
    return predictor.predict(cfg, samples=samples)


def sizes(cfgs: Iterable[Config], samples: np.ndarray | None = None, *, delta: np.ndarray | None = None) -> list[int]:
    """Bytes of the codestreams of ``samples`` (or of their ``delta``) under configurations that
    differ only in their entropy coder."""
    cfgs = list(cfgs)
    if delta is None:
        delta = mapped(cfgs[0], samples)
    seq = None
    out = []
    for cfg in cfgs:
        if cfg.block_adaptive:
            if seq is None:
                seq = block_adaptive.sequence(cfg, delta)
            body = _padded(cfg, block_adaptive.body_bits(cfg, seq))
        else:
            body = sample_adaptive.body_size(cfg, delta)
        out.append(len(header.write(cfg)) + body)
    return out


def size(cfg: Config, samples: np.ndarray) -> int:
    """Bytes of the codestream of ``samples`` (int32, ``(rows, cols, bands)``) under ``cfg``."""
    return sizes([cfg], samples)[0]


def encode(cfg: Config, samples: np.ndarray | None = None, *, delta: np.ndarray | None = None) -> bytes:
    """The standard codestream (header + body) of ``samples`` (or of their ``delta``) under ``cfg``."""
    if delta is None:
        delta = mapped(cfg, samples)
    if cfg.block_adaptive:
        body = block_adaptive.encode(cfg, delta)
        body += bytes(_padded(cfg, 8 * len(body)) - len(body))
    else:
        body = sample_adaptive.encode(cfg, delta)
    return header.write(cfg) + body


def decode(data: bytes) -> tuple[Config, np.ndarray]:
    """Configuration and reconstructed samples (int32, ``(rows, cols, bands)``) of a codestream."""
    cfg, start = header.read(data)
    body = np.frombuffer(data, dtype=np.uint8, offset=start)
    bits = 8 * body.size
    limit = block_adaptive.max_samples(cfg, bits) if cfg.block_adaptive else bits
    if cfg.voxels > limit:
        raise StreamLimitError(
            f"the CCSDS 123 header announces {cfg.voxels} samples but the body can describe at most {limit}"
            f" ({body.size} bytes)"
        )
    if cfg.block_adaptive:
        delta, bits = block_adaptive.decode(cfg, body)
        if bits == block_adaptive.BAD_RUN:
            raise CorruptDataError("the CCSDS 123 block-adaptive body codes a zero-block run beyond its segment")
        if bits == block_adaptive.BAD_VALUE:
            raise CorruptDataError(f"the CCSDS 123 block-adaptive body codes a value above 2^{cfg.D} - 1")
    else:
        delta, bits = sample_adaptive.decode(cfg, body)
    if bits < 0:
        raise CorruptDataError("the CCSDS 123 body ends before every sample is decoded; the stream is truncated")
    used = _padded(cfg, bits)
    if used != body.size:
        raise CorruptDataError(f"the CCSDS 123 body is {body.size} bytes but its samples take {used}")
    return cfg, predictor.predict(cfg, delta=delta)
