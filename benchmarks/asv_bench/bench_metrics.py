"""CPU time of the distortion metrics on a fixed pair of 64x64x32 cubes (original, noisy copy)."""

from __future__ import annotations

import numpy as np

from ._common import TIMER, cube


class Metrics:
    """CPU time of each metric (and peak memory of ``evaluate``) on a 64x64x32 pair."""

    timer = TIMER

    def setup(self):
        from hsibench import metrics

        self.m = metrics
        self.x = cube("64x64x32")
        rng = np.random.default_rng(0)
        self.y = (self.x + rng.normal(0, 20, self.x.shape)).astype(np.float32)
        self.r = metrics.data_range_of(self.x)

    def time_mse(self):
        self.m.mse(self.x, self.y)

    def time_psnr(self):
        self.m.psnr(self.x, self.y, data_range=self.r)

    def time_sam(self):
        self.m.sam(self.x, self.y)

    def time_ssim(self):
        self.m.ssim(self.x, self.y, data_range=self.r)

    def time_band_psnr(self):
        self.m.band_psnr(self.x, self.y, data_range=self.r)

    def time_evaluate(self):
        self.m.evaluate(self.x, self.y, native_bits=16, with_band_psnr=True)

    def peakmem_evaluate(self):
        self.m.evaluate(self.x, self.y, native_bits=16, with_band_psnr=True)
