"""A CCSDS 123.0-B-2 codestream: the standard's header followed by the sample-adaptive body.

:func:`encode` and :func:`decode` join the three parts (:mod:`.header`, :mod:`.predictor`,
:mod:`.sample_adaptive`); :func:`size` is what the rate search calls: the exact byte count of
the codestream for a configuration, without writing it.  The decoder treats its input as
hostile: the header is validated field by field, the image may not hold more samples than the
body has bits (every codeword is at least one bit long, which bounds both allocation and time),
and a body that ends early or carries bytes beyond its last output word is rejected.
"""

from __future__ import annotations

import numpy as np

from ....errors import CorruptDataError
from ...._lazy import lazy_module
from . import header
from .header import Config

# numba kernels: loaded when first coding (hsibench._lazy)
predictor = lazy_module("hsibench.codecs.predictive.ccsds123.predictor")
sample_adaptive = lazy_module("hsibench.codecs.predictive.ccsds123.sample_adaptive")


def size(cfg: Config, samples: np.ndarray) -> int:
    """Bytes of the codestream of ``samples`` (int32, ``(rows, cols, bands)``) under ``cfg``."""
    delta = predictor.predict(cfg, samples=samples)
    return len(header.write(cfg)) + sample_adaptive.body_size(cfg, delta)


def encode(cfg: Config, samples: np.ndarray) -> bytes:
    """The standard codestream (header + body) of ``samples`` under ``cfg``."""
    delta = predictor.predict(cfg, samples=samples)
    return header.write(cfg) + sample_adaptive.encode(cfg, delta)


def decode(data: bytes) -> tuple[Config, np.ndarray]:
    """Configuration and reconstructed samples (int32, ``(rows, cols, bands)``) of a codestream."""
    cfg, start = header.read(data)
    body = np.frombuffer(data, dtype=np.uint8, offset=start)
    if cfg.voxels > 8 * body.size:
        raise CorruptDataError(
            f"the CCSDS 123 header announces {cfg.voxels} samples but the body holds only {8 * body.size} bits"
        )
    delta, bits = sample_adaptive.decode(cfg, body)
    if bits < 0:
        raise CorruptDataError("the CCSDS 123 body ends before every sample is decoded; the stream is truncated")
    used = sample_adaptive.padded_bytes(cfg, bits)
    if used != body.size:
        raise CorruptDataError(f"the CCSDS 123 body is {body.size} bytes but its samples take {used}")
    return cfg, predictor.predict(cfg, delta=delta)
