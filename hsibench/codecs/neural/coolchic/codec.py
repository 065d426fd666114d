"""The ``coolchic`` codec: COOL-CHIC / C3-style overfitted latent grids, adapted to hyperspectral cubes.

COOL-CHIC (Ladune et al., ICCV 2023) and C3 (Kim et al., CVPR 2024) overfit, per image, integer
latent grids at several resolutions, a small auto-regressive entropy model (ARM) of those
latents, and a small synthesis network, trained for rate *and* distortion with quantisation in
the loop.  Adapted to a hyperspectral cube ``(rows, cols, bands)``:

* ``k`` latent channels per grid, grids at full, 1/2, 1/4, ... resolution (``levels``);
* upsampling: bicubic, every grid to full resolution;
* synthesis: per coefficient ``c``, the gain-weighted sum of channel ``c`` of every upsampled grid,
  plus (``hidden > 0``) a per-pixel MLP (1x1 convolutions) of all of them, giving ``k``
  coefficient maps; then a learned linear map from the ``k`` coefficients to the bands (the
  spectral basis, in the stream) plus the band means;
* entropy model: the ARM predicts a Laplace mean and scale for each latent from 12 causal
  neighbours, the parent latent in the coarser grid and the previous channel; it runs in fixed
  point so encoder and decoder agree bit for bit (:mod:`.entropy`), and the project's range
  coder codes every latent with it;
* training (:mod:`.train`): the initial transform is the spectral KLT (the ``pca`` codec's rate
  search picks ``k`` and a starting quantisation step), the step is fitted to the rate under the
  ARM, then ``D + lambda R`` with noise for rounding, lambda steered to the rate, then a
  straight-through fine-tune with the stored precisions simulated;
* the stream: the container header (shape, value range, structure), the 8-bit weights (gains,
  MLP, basis, ARM; range-coded by :mod:`hsibench.codecs.neural.storage`), the float16 biases and
  band means, the ARM's per-channel exponents, the range-coded latents.

Not implemented: learned upsampling filters (Cool-Chic 2+), 3x3 convolutions in the synthesis,
soft-rounding and Kumaraswamy noise (C3), searching lambda by separate trainings (one training,
lambda steered online instead), several images or tiles per stream.

Rate: the stream lands at or below the target.  The training aims a little below it; the final
rounding then fills the budget by scaling the continuous latents up (a finer step: the gains
go down by the same factor) as far as the stream still fits.  If the trained latents overshoot,
rounding gets a dead zone (``v = sign(y) floor(|y| + tau)``, ``tau`` bisected below 0.5) and, as
a last resort, the latents are scaled down until the stream fits; ``info`` says which.

Decoding runs on the CPU: the fixed-point entropy decoder (numba) and the synthesis in float32
(torch).  The encoder decodes its own bytes and records the PSNR every decoder gets.
"""

from __future__ import annotations

import math
import struct
import time

import numpy as np

from ....errors import CorruptDataError, InvalidParameterError, InvalidRateError
from ... import fields as F
from ... import limits
from ...base import Header, Param, register
from ...transform.pca import klt
from .. import storage
from ..runtime import require_torch, torch_threads
from ..trained import TrainedCodec, training_params
from ...._lazy import lazy_module
from . import schedule
from .constants import MAX_EXPONENT, MAX_LATENT, SKIP
from .structure import MAX_ARM, MAX_HIDDEN, MAX_K, MAX_LEVELS, Structure, grid_shapes, latent_count, layout, max_levels

INT8_BITS = 7.8  # estimate of a range-coded 8-bit weight's bits, for the rate budget before training
RATE_MARGIN = 0.98  # the latents aim at this share of the bytes the network leaves them
TAU_ITERS = 6
FILL_MAX_LOG2, FILL_ITERS, FILL_ENOUGH = 2.0, 8, 0.995  # filling the budget: scale latents by up to 4
MAX_SCALE_STEPS = 24
entropy = lazy_module("hsibench.codecs.neural.coolchic.entropy")  # numba: loaded when first coding
LATENTS_PER_BYTE = 22000  # a valid latent stream codes at most ~22 700 latents per byte (decisions cost >= 2^-12 nats)
SMALL_BUDGET = 4096  # bytes: below, the ARM is 8 wide by default, else 16


@register
class CoolChicCodec(TrainedCodec):
    """COOL-CHIC/C3-style latent grids + ARM + synthesis + spectral basis, overfitted to one cube."""

    name = "coolchic"
    revision = 2  # bump when the bytes or quality for the same inputs change (tests/test_golden.py); 2: pca revision 2 starts it
    policies = schedule
    summary = "COOL-CHIC/C3-style overfitted latent grids, fixed-point ARM entropy model, synthesis and spectral basis"
    params = {
        "k": Param(int, None, "latent channels per grid = spectral basis size (auto: the pca codec's choice at the rate)",
                   lambda v: 1 <= v <= MAX_K, f"1..{MAX_K}", optional=True),
        "levels": Param(int, None, "latent grids (full, 1/2, 1/4, ... resolution; auto: down to ~4 pixels)",
                        lambda v: 1 <= v <= MAX_LEVELS, f"1..{MAX_LEVELS}", optional=True),
        "hidden": Param(int, None, "synthesis MLP width, 0 for a linear synthesis (auto: 0; see the README)",
                        lambda v: 0 <= v <= MAX_HIDDEN, f"0..{MAX_HIDDEN}", optional=True),
        "arm": Param(int, None, f"ARM hidden width (auto: 8 below {SMALL_BUDGET} bytes, else 16)",
                     lambda v: 1 <= v <= MAX_ARM, f"1..{MAX_ARM}", optional=True),
        **training_params("training schedule policy: full (3000 iterations), quick (CPU-sized, 150 s budget), auto "
                          "(full on CUDA, quick on the CPU)", schedule.POLICIES,
                          "main-phase iterations (auto: the schedule's); warm-up and fine-tune come on top",
                          "seed of the initial networks and the training noise",
                          f"learning rate of the latents (auto: {schedule.LR}; the other tensors learn at fixed "
                          "fractions of it)"),
    }

    def _structure(self, shape: tuple[int, int, int], budget: int, k: int) -> Structure:
        rows, cols, _ = shape
        cfg = self.config
        top = max_levels(rows, cols)
        levels = cfg["levels"] if cfg["levels"] is not None else top
        if levels > top:
            raise InvalidParameterError(f"coolchic[levels={levels}]: a {rows}x{cols} cube allows at most {top} levels")
        hidden = cfg["hidden"] if cfg["hidden"] is not None else 0
        arm = cfg["arm"] if cfg["arm"] is not None else (8 if budget < SMALL_BUDGET else 16)
        return Structure(k, levels, hidden, arm)

    @staticmethod
    def _weight_bytes(st: Structure, bands: int) -> int:
        """Estimated bytes of both weight sections (8-bit sizes are estimates, float16 sizes exact)."""
        q, f = layout(st, bands)
        qb = sum(s.size for s in q) * INT8_BITS / 8 + 4 * sum(s.groups for s in q) + 9
        return int(math.ceil(qb + 2 * sum(s.size for s in f) + 1 + 8))

    def _header_params(self, lo: float, hi: float, st: Structure | None) -> dict:
        hp = self._base_header(lo, hi)
        if st is not None:
            hp.update(k=st.k, levels=st.levels, hidden=st.hidden, arm=st.arm)
        return hp

    # -- encode ----------------------------------------------------------------------------------
    def _encode_trained(self, cube: np.ndarray, bpppb: float, budget: int, lo: float, hi: float) -> bytes:
        cfg = self.config
        rows, cols, bands = cube.shape
        x = self._scaled(cube, lo, hi).reshape(-1, bands)
        k, step = self._initial_transform(cube, bpppb, lo, hi)
        if cfg["k"] is not None:
            k = min(cfg["k"], bands)
        st = self._structure(cube.shape, budget, k)
        mean, _, vecs = klt(x)
        basis = vecs[:, :k].T
        coeffs = ((x - mean) @ vecs[:, :k]).T.reshape(k, rows, cols)

        fixed = self._header_size(cube, self._header_params(lo, hi, st)) + self._weight_bytes(st, bands) + \
            (st.levels * st.k + 1) // 2 + 8
        target_bits = 8.0 * (budget - fixed) * RATE_MARGIN
        if target_bits <= 0:
            raise InvalidRateError(
                f"coolchic cannot reach {bpppb:g} bpppb on a {rows}x{cols}x{bands} cube: its networks alone "
                f"(k={st.k}, levels={st.levels}, hidden={st.hidden}, arm={st.arm}) need about "
                f"{8 * fixed / cube.size:.4g} bpppb; ask for more, or set smaller k / arm / hidden"
            )
        torch = require_torch(self.name)
        device = self._device()
        tcfg = schedule.resolve(cfg, rows, cols, bands, st, device)
        from .train import Trainer

        target = x.astype(np.float32).T.reshape(bands, rows, cols)
        t0 = time.perf_counter()
        with torch_threads(tcfg.threads):
            result = Trainer(target, st, tcfg, basis, mean, coeffs, step, target_bits).run()
        train_s = time.perf_counter() - t0
        data, fit = self._finalise(cube, st, result, lo, hi, budget)
        self.info = {
            "structure": st.as_dict(),
            "searched": [n for n in ("k", "levels", "hidden", "arm") if cfg[n] is None],
            "latents": latent_count(rows, cols, st),
            "header_bytes": self._header_size(cube, self._header_params(lo, hi, st)),
            **fit,
            "lambda": result.lam,
            "step": result.step,
            **self._training_info(cube, data, device, tcfg.threads or torch.get_num_threads(), tcfg, result, train_s),
        }
        return data

    def _initial_transform(self, cube: np.ndarray, bpppb: float, lo: float, hi: float) -> tuple[int, float]:
        """(k, quantisation step on the normalised scale) of the pca codec at this rate: the initial transform."""
        from ...transform.pca import PCA

        pca = PCA()
        try:
            pca.encode(cube, bpppb=bpppb)
        except InvalidRateError:
            return 1, 0.05
        k = max(1, min(int(pca.info["components"]), MAX_K, cube.shape[2]))
        return k, float(pca.info["step"]) * 2.0 / (hi - lo)

    def _finalise(self, cube: np.ndarray, st: Structure, result, lo: float, hi: float, budget: int) -> tuple[bytes, dict]:
        """Store the tensors, round the latents and code them; fit the budget (dead zone, then scaling)."""
        qspecs, fspecs = layout(st, cube.shape[2])
        hp = self._header_params(lo, hi, st)
        fsec = storage.encode(result.ftensors, fspecs, "float16")
        gain_at = [s.name for s in qspecs].index("gain")

        def attempt(tau: float, scale: float) -> bytes:
            qt = list(result.qtensors)
            qt[gain_at] = (qt[gain_at] / scale).astype(np.float32)
            qsec = storage.encode(qt, qspecs, "int8")
            arm = self._fixed_arm(storage.decode(qsec, qspecs, "int8"), storage.decode(fsec, fspecs, "float16"), st, cube.shape[2])
            grids = []
            for y in result.latents:
                y = y.astype(np.float64) * scale
                grids.append(np.clip(np.sign(y) * np.floor(np.abs(y) + tau), -MAX_LATENT, MAX_LATENT)
                             .astype(np.int64))
            exps = np.where(_all_zero(grids), SKIP, result.exps if scale == 1.0 else _exponents(grids))
            lat = entropy.encode_latents(grids, exps, arm)
            payload = b"".join([struct.pack("<I", len(qsec)), qsec, struct.pack("<I", len(fsec)), fsec,
                                _pack_nibbles(exps.reshape(-1)), lat])
            return self._pack(cube, hp, payload)

        data = attempt(0.5, 1.0)
        if len(data) <= budget:  # fill the budget: a finer step (latents scaled up) while the stream fits
            lo_s, hi_s = 0.0, FILL_MAX_LOG2
            for _ in range(FILL_ITERS):
                if len(data) >= FILL_ENOUGH * budget:
                    break
                mid = 0.5 * (lo_s + hi_s)
                trial = attempt(0.5, 2.0**mid)
                if len(trial) <= budget:
                    lo_s, data = mid, trial
                else:
                    hi_s = mid
            return data, {"rounding_tau": 0.5, "latent_scale": 2.0**lo_s}
        lo_t, hi_t = 0.0, 0.5
        best = attempt(0.0, 1.0)
        if len(best) <= budget:
            for _ in range(TAU_ITERS):
                mid = 0.5 * (lo_t + hi_t)
                trial = attempt(mid, 1.0)
                if len(trial) <= budget:
                    lo_t, best = mid, trial
                else:
                    hi_t = mid
            return best, {"rounding_tau": lo_t, "latent_scale": 1.0}
        scale = 1.0
        for _ in range(MAX_SCALE_STEPS):
            scale *= 0.8
            trial = attempt(0.5, scale)
            if len(trial) <= budget:
                return trial, {"rounding_tau": 0.5, "latent_scale": scale}
        raise InvalidRateError(
            f"coolchic: the trained networks and latents need {8 * len(trial) / cube.size:.4g} bpppb, above the "
            f"{8 * budget / cube.size:.4g} asked; ask for a higher rate or set smaller k / arm / hidden"
        )

    @staticmethod
    def _fixed_arm(qt: list[np.ndarray], ft: list[np.ndarray], st: Structure, bands: int) -> entropy.FixedArm:
        """The fixed-point ARM from the tensors as the decoder rebuilds them."""
        qspecs, fspecs = layout(st, bands)
        q = dict(zip((s.name for s in qspecs), qt))
        f = dict(zip((s.name for s in fspecs), ft))
        return entropy.FixedArm.from_float(q["arm1"], f["arm1_b"], q["arm2"], f["arm2_b"], q["arm3"], f["arm3_b"])

    # -- decode ----------------------------------------------------------------------------------
    def _decode_trained(self, header: Header, payload: bytes, lo: float, hi: float, max_voxels: int) -> np.ndarray:
        hp = header.params
        rows, cols, bands = header.shape
        st = Structure(F.read_int(hp, "k", "coolchic", 1, min(MAX_K, bands)),
                       F.read_int(hp, "levels", "coolchic", 1, max_levels(rows, cols)),
                       F.read_int(hp, "hidden", "coolchic", 0, MAX_HIDDEN), F.read_int(hp, "arm", "coolchic", 1, MAX_ARM))
        # the synthesis holds every grid upsampled to full resolution (and the MLP's hidden maps) at once
        limits.check_voxels((st.levels * st.k + 2 * st.hidden) * rows * cols, max_voxels,
                            f"the synthesis' {st.levels} x {st.k} upsampled grids (+ {st.hidden}-wide MLP maps) of "
                            f"{rows}x{cols}")
        qspecs, fspecs = layout(st, bands)
        pos = 0

        def take(n: int, what: str) -> bytes:
            nonlocal pos
            if n < 0 or pos + n > len(payload):
                raise CorruptDataError(f"coolchic payload ends inside {what}: the stream is truncated")
            out = payload[pos : pos + n]
            pos += n
            return out

        qsec = take(struct.unpack("<I", take(4, "a section length"))[0], "the 8-bit weights")
        fsec = take(struct.unpack("<I", take(4, "a section length"))[0], "the float16 weights")
        qt = storage.decode(qsec, qspecs, "int8")
        ft = storage.decode(fsec, fspecs, "float16")
        exps = _unpack_nibbles(take((st.levels * st.k + 1) // 2, "the exponents"), st.levels * st.k)
        lat_bytes = payload[pos:]
        n_lat = latent_count(rows, cols, st)
        if n_lat > LATENTS_PER_BYTE * (len(lat_bytes) + 8):
            raise CorruptDataError(f"coolchic stream announces {n_lat} latents, more than its {len(lat_bytes)} bytes can code")
        grids = entropy.decode_latents(lat_bytes, grid_shapes(rows, cols, st.levels), st.k,
                                       exps.reshape(st.levels, st.k), self._fixed_arm(qt, ft, st, bands))
        return _render(grids, qt, ft, st, qspecs, fspecs, rows, cols, lo, hi)


def _render(grids, qt, ft, st, qspecs, fspecs, rows, cols, lo, hi) -> np.ndarray:
    """Synthesise the cube (float32, original units) from decoded latents and tensors, on the CPU."""
    torch = require_torch("coolchic")
    from .model import synthesise

    p = {s.name: torch.from_numpy(np.ascontiguousarray(t, dtype=np.float32)) for s, t in zip(qspecs + fspecs, qt + ft)}
    with torch.no_grad():
        g = [torch.from_numpy(x.astype(np.float32)) for x in grids]
        y = synthesise(g, p, st, rows, cols).numpy()
    return TrainedCodec._unscaled(y, lo, hi).transpose(1, 2, 0)


def _exponents(grids: list[np.ndarray]) -> np.ndarray:
    """numpy twin of ``train.exponents`` for integer grids."""
    return np.stack([np.clip(np.round(np.log2(np.abs(g).mean(axis=(1, 2)) + 1.0)), 0, MAX_EXPONENT)
                     for g in grids]).astype(np.int64)


def _all_zero(grids: list[np.ndarray]) -> np.ndarray:
    """(levels, channels): whether a channel's rounded latents are all zero (the coder skips it)."""
    return np.stack([~g.reshape(g.shape[0], -1).any(axis=1) for g in grids])


def _pack_nibbles(v: np.ndarray) -> bytes:
    v = np.asarray(v, dtype=np.uint8)
    if v.size % 2:
        v = np.concatenate([v, np.zeros(1, np.uint8)])
    return ((v[0::2] << 4) | v[1::2]).astype(np.uint8).tobytes()


def _unpack_nibbles(b: bytes, n: int) -> np.ndarray:
    a = np.frombuffer(b, dtype=np.uint8)
    return np.stack([a >> 4, a & 15], axis=1).reshape(-1)[:n].astype(np.int64)
