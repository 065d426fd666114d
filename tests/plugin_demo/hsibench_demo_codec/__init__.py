"""A tiny codec plugin for the tests (and the README's "Benchmark your own codec"): uniform quantiser + zlib.

Its distribution declares the entry point ``quant = hsibench_demo_codec:Quant`` in the group
``hsibench.codecs``; tests/test_plugins.py installs it into a temporary folder.
"""

import zlib

import numpy as np

from hsibench.codecs import Codec, Param
from hsibench.codecs.base import budget_bytes
from hsibench.errors import CorruptDataError, InvalidRateError


class Quant(Codec):
    """Every voxel quantised with one uniform step, then zlib; the step is bisected to fit the rate."""

    name = "quant"
    revision = 1  # bump whenever the bytes or the quality for the same inputs change
    summary = "uniform scalar quantiser + zlib (example plugin)"
    params = {"level": Param(int, 9, "zlib level", check=lambda v: 1 <= v <= 9, check_doc="1..9")}

    def _stream(self, cube, step):
        offset = float(cube.min())
        q = np.rint((cube.astype(np.float64) - offset) / step).astype(np.int32)
        return self._pack(cube, {"step": step, "offset": offset}, zlib.compress(q.tobytes(), self.config["level"]))

    def _encode(self, cube, bpppb):
        budget, span = budget_bytes(bpppb, cube.shape), max(float(cube.max()) - float(cube.min()), 1.0)
        lo, hi = -24, 8  # step = span * 2**(k/2): bisect the smallest k whose stream fits
        if len(self._stream(cube, span * 2.0**(hi / 2))) > budget:
            raise InvalidRateError(f"quant cannot reach {bpppb:g} bpppb on a {cube.shape} cube")
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if len(self._stream(cube, span * 2.0**(mid / 2))) <= budget else (mid, hi)
        return self._stream(cube, span * 2.0**(hi / 2))

    def _decode(self, header, payload, *, max_voxels, **secrets):
        step, offset = header.params.get("step"), header.params.get("offset")
        if not all(isinstance(v, float) and np.isfinite(v) for v in (step, offset)) or step <= 0:
            raise CorruptDataError("quant: bad step or offset in the header")
        d = zlib.decompressobj()
        try:
            raw = d.decompress(payload, 4 * int(np.prod(header.shape)) + 1)
        except zlib.error as exc:
            raise CorruptDataError(f"quant: {exc}") from None
        if len(raw) != 4 * int(np.prod(header.shape)):
            raise CorruptDataError("quant: the payload does not hold one value per voxel")
        return np.frombuffer(raw, np.int32).reshape(header.shape) * step + offset
