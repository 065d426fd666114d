"""ccsds123 where it works: lossless, near-lossless and rate-controlled encode/decode, and its rates.

This suite times it at a fixed error limit (lossless with the default coder choice and with the
block-adaptive coder, max_error=4) and with the rate search at 2 bpppb, and tracks the lossless
rate and the rate at max_error=4 (bits must not grow).
"""

from __future__ import annotations

from ._common import SHAPES, TIMER, cube, make_codec

#: spec -> target rate: a fixed limit needs a budget it fits (16 bpppb: the native bits)
RUNS = {"ccsds123[max_error=0]": 16.0, "ccsds123[max_error=0,coder=block,J=64]": 16.0, "ccsds123[max_error=4]": 16.0,
        "ccsds123": 2.0}


class EncodeDecode:
    """Encode and decode time (CPU seconds) of ccsds123 at fixed limits and with the rate search."""

    params = [list(RUNS), list(SHAPES)]
    param_names = ["codec", "shape"]
    timer = TIMER
    timeout = 120
    number = 1
    repeat = (1, 5, 20.0)

    def setup(self, spec, shape):
        self.codec = make_codec(spec)
        self.cube = cube(shape)
        self.data = self.codec.encode(self.cube, bpppb=RUNS[spec])  # also compiles the kernels
        self.decoder = make_codec(spec)

    def time_encode(self, spec, shape):
        self.codec.encode(self.cube, bpppb=RUNS[spec])

    def time_decode(self, spec, shape):
        self.decoder.decode(self.data)


class Rate:
    """Achieved bpppb at a fixed error limit on the synthetic scene (deterministic; lower is better)."""

    params = [["ccsds123[max_error=0]", "ccsds123[max_error=4]"], list(SHAPES)]
    param_names = ["codec", "shape"]

    def track_bpppb(self, spec, shape):
        from hsibench import metrics

        x = cube(shape)
        return metrics.bpppb(len(make_codec(spec).encode(x, bpppb=16.0)), x.shape)

    track_bpppb.unit = "bpppb"
