"""speck's and spiht's parallel coding (``streams=N``): CPU cost against one stream, and quality cost.

The wall-clock speed-up on every core is measured beside SPERR by ``benchmarks/speck_vs_sperr.py
--threads N`` (README, "Codecs"); here the CPU seconds (:data:`._common.TIMER`) catch a
regression in the work done, and ``track_psnr_cost`` pins what the slab edges and the byte split
cost in dB against one stream on the synthetic scene (exactly, in golden_quality.json).
"""

from __future__ import annotations

from ._common import TIMER, cube

SHAPE = "64x64x32"
RATE = 1.0
CODECS = ["speck", "spiht"]


def _psnr(spec: str) -> float:
    from hsibench import codecs, metrics

    x = cube(SHAPE)
    codec = codecs.get(spec)
    return metrics.psnr(x, codec.decode(codec.encode(x, bpppb=RATE)), data_range=metrics.data_range_of(x))


class Streams:
    """Encode and decode CPU seconds with 1, 2 and 4 streams at 1 bpppb."""

    params = [CODECS, [1, 2, 4]]
    param_names = ["codec", "streams"]
    timer = TIMER
    number = 1
    repeat = (1, 5, 20.0)

    def setup(self, codec, streams):
        from hsibench import codecs

        self.codec = codecs.get(codec, streams=streams)
        self.cube = cube(SHAPE)
        self.data = self.codec.encode(self.cube, bpppb=RATE)

    def time_encode(self, codec, streams):
        self.codec.encode(self.cube, bpppb=RATE)

    def time_decode(self, codec, streams):
        self.codec.decode(self.data)


class StreamsQuality:
    """PSNR lost to ``streams=N`` against one stream (dB; must not grow)."""

    params = [CODECS, [2, 4]]
    param_names = ["codec", "streams"]

    def track_psnr_cost(self, codec, streams):
        return _psnr(codec) - _psnr(f"{codec}[streams={streams}]")
