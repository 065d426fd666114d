"""Deliberately broken decoders, one per kind of finding the fuzz harness must report.

Imported only inside the fuzz worker subprocess (``fuzz_codec(..., imports=("tests.fuzz_targets",))``),
never by the test process: its codec registry must stay the project's own.  Each codec breaks in
``decode`` itself, whatever the stream, so every crafted stream gives the same finding.
"""

from __future__ import annotations

import os
import time

import numpy as np

from hsibench.codecs.base import Codec, register
from hsibench.errors import CorruptDataError, InvalidParameterError


class _Broken(Codec):
    revision = 1

    def _encode(self, cube, bpppb):
        return self._pack(cube, {}, b"")

    def _decode(self, header, payload, *, max_voxels, **_):
        return np.zeros(header.shape, np.float32)


@register
class Raises(_Broken):
    name = "fuzzbad_exception"

    def decode(self, data, **_):
        raise ValueError("a decoder bug")


@register
class WrongError(_Broken):
    name = "fuzzbad_wrong_error"

    def decode(self, data, **_):
        raise InvalidParameterError("not an error about the stream")


@register
class NonFinite(_Broken):
    name = "fuzzbad_nonfinite"

    def decode(self, data, **_):
        return np.full((4, 4, 2), np.nan, np.float32)


@register
class WrongShape(_Broken):
    name = "fuzzbad_shape"

    def decode(self, data, **_):
        return np.zeros((1, 2, 3), np.float32)


@register
class Allocates(_Broken):
    """Touches 1 GiB: more than the worker's headroom in the test, so only the address-space limit stops it."""

    name = "fuzzbad_memory"

    def decode(self, data, **_):
        return np.ones(1 << 30, np.uint8)


@register
class Hangs(_Broken):
    name = "fuzzbad_hang"

    def decode(self, data, **_):
        while True:
            time.sleep(0.01)


@register
class Crashes(_Broken):
    name = "fuzzbad_crash"

    def decode(self, data, **_):
        os.abort()


@register
class Slow(_Broken):
    """Rejects every stream, but only after 0.3 CPU seconds."""

    name = "fuzzbad_slow"

    def decode(self, data, **_):
        t0 = time.process_time()
        while time.process_time() - t0 < 0.3:
            pass
        raise CorruptDataError("rejected, slowly")
