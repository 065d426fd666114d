"""Encode/decode time, peak memory and quality (track_) of every registered codec.

Parameters: codec spec (one per codec registered at import, fast settings for the GNN), cube
size, target rate.  ``setup`` builds the cube and encodes once (which also compiles any numba
kernels), so the timed methods measure steady-state work only.  A codec that cannot reach a rate
at a size (the GNN's smallest network on a tiny cube) raises ``NotImplementedError`` in setup,
which asv reports as skipped, not failed.
"""

from __future__ import annotations

from ._common import QUALITY_SHAPE, RATES, SHAPES, TIMER, codec_specs, cube, make_codec


def _prepare(spec, shape, rate):
    from hsibench.errors import InvalidRateError

    codec = make_codec(spec)
    x = cube(shape)
    try:
        data = codec.encode(x, bpppb=rate)
    except InvalidRateError as exc:
        raise NotImplementedError(f"{spec} cannot reach {rate} bpppb on {shape}: {exc}") from None
    return codec, x, data


class EncodeDecode:
    """Encode and decode time (CPU seconds, :data:`._common.TIMER`); peak resident memory of an encode."""

    params = [codec_specs(), list(SHAPES), RATES]
    param_names = ["codec", "shape", "bpppb"]
    timer = TIMER
    timeout = 120
    # one timed call is long enough for these sizes; keeps a full run to minutes
    number = 1
    repeat = (1, 5, 20.0)

    def setup(self, spec, shape, rate):
        self.codec, self.cube, self.data = _prepare(spec, shape, rate)
        self.decoder = make_codec(spec)
        self.rate = rate

    def time_encode(self, spec, shape, rate):
        self.codec.encode(self.cube, bpppb=self.rate)

    def time_decode(self, spec, shape, rate):
        self.decoder.decode(self.data, **self.codec.secrets())

    def peakmem_encode(self, spec, shape, rate):
        self.codec.encode(self.cube, bpppb=self.rate)


class Quality:
    """Quality at a fixed rate on the synthetic scene: must not regress (asv flags drops).

    Every codec is encoded once, in ``setup_cache`` (one process), at every rate; the track_
    methods read the numbers.  Codecs are deterministic for a given seed, so the numbers are too.
    """

    params = [codec_specs(), RATES]
    param_names = ["codec", "bpppb"]
    timeout = 300

    def setup_cache(self):
        from hsibench import metrics

        out = {}
        for spec in codec_specs():
            for rate in RATES:
                try:
                    codec, x, data = _prepare(spec, QUALITY_SHAPE, rate)
                    y = make_codec(spec).decode(data, **codec.secrets())
                except NotImplementedError as exc:
                    out[spec, rate] = ("skip", str(exc))
                    continue
                except Exception as exc:  # reported by setup as this benchmark's failure
                    out[spec, rate] = ("error", f"{type(exc).__name__}: {exc}")
                    continue
                out[spec, rate] = ("ok", {
                    "psnr": metrics.psnr(x, y, data_range=metrics.data_range_of(x)),
                    "mse": metrics.mse(x, y),
                    "sam": metrics.sam(x, y),
                    "bpppb": metrics.bpppb(len(data), x.shape),
                })
        return out

    setup_cache.timeout = 600

    def setup(self, cache, spec, rate):
        status, value = cache[spec, rate]
        if status == "skip":
            raise NotImplementedError(value)
        if status == "error":
            raise RuntimeError(f"{spec} at {rate} bpppb failed: {value}")
        self.values = value

    def track_psnr(self, cache, spec, rate):
        """PSNR (dB, peak max − min) of the 64x64x32 synthetic scene at the target rate.

        Higher is better: asv's compare treats larger as worse, so read its sign reversed here
        (``track_mse`` carries the same information in asv's direction).
        """
        return self.values["psnr"]

    track_psnr.unit = "dB"

    def track_mse(self, cache, spec, rate):
        """MSE (squared data units) at the target rate; lower is better, as asv assumes."""
        return self.values["mse"]

    track_mse.unit = "DN^2"

    def track_sam(self, cache, spec, rate):
        """Mean spectral angle (degrees) at the target rate; lower is better."""
        return self.values["sam"]

    track_sam.unit = "degrees"

    def track_bpppb(self, cache, spec, rate):
        """Achieved rate: must stay at or below the target."""
        return self.values["bpppb"]

    track_bpppb.unit = "bpppb"
