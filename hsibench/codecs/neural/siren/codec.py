"""The ``siren`` codec: a SIREN overfitted to the cube is the compressed cube.

Rezasoltani & Qureshi, "Hyperspectral Image Compression Using Implicit Neural Representation"
(CRV 2023, arXiv:2302.04129): an MLP with sine activations (SIREN, Sitzmann et al. 2020;
``omega0 = 30``, SIREN's initialisation) maps a pixel's coordinates to its spectrum; the cube is
min-max normalised to [-1, 1] (as the GNN does) and fitted with the mean squared error; the
structure (depth x width) is chosen for the bit budget by an architecture search (each candidate
depth at the widest width that fits is overfitted briefly; the best is trained on); the weights
are stored at reduced precision.  Decoding evaluates the network at every pixel.

Storage (``weights``): ``float16`` by default (16-bit weights, the reduced precision of the INR
papers; the exact bit depth of Rezasoltani & Qureshi could not be checked here), ``float32``,
or ``int8`` (per-output-unit scales, range-coded integers, with a quantisation-aware fine-tune:
beyond the paper).  All through :mod:`hsibench.codecs.neural.storage`; the container header
(shape, value range, structure) counts in the rate like the weights.

Training schedule (``schedule``, :mod:`.schedule`): ``full`` on CUDA, ``quick`` on the CPU, with
``lr``, ``epochs``, ``time_budget_s`` and ``threads`` overriding; ``info`` holds the resolved
schedule, the epochs each phase ran, the probe losses and whether the time budget stopped it.
The encoder decodes its own bytes and records the PSNR every decoder gets.

Not implemented: the meta-learned variant of the authors' later work, positional encodings,
pruning.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ....errors import CorruptDataError, HsibenchError, InvalidParameterError, InvalidRateError
from ...base import Codec, Header, Param, budget_bytes, register
from .. import storage
from ..runtime import require_torch, torch_threads, training_device
from . import schedule
from .structure import MAX_DEPTH, MAX_WIDTH, PRECISIONS, Structure, candidates, layout, param_count, payload_size

FORMAT = 1
MAX_OMEGA = 1000.0
MAX_VOXELS = 2**31  # the decoder evaluates the network at every pixel: a bound on its work


def _positive(v: Any) -> bool:
    return v > 0


@register
class SirenCodec(Codec):
    """SIREN implicit neural representation (x, y) -> spectrum, overfitted to one cube."""

    name = "siren"
    revision = 1  # bump when the bytes or quality for the same inputs change (tests/test_golden.py)
    stochastic = True
    in_default_run = False
    default_excluded = ("a trained codec that takes up to a few minutes per encode on a CPU (its quick schedule); "
                        "name it: --codecs siren")
    summary = "SIREN MLP (x, y) -> spectrum overfitted to the cube (Rezasoltani & Qureshi 2023), depth x width searched"
    params = {
        "depth": Param(int, None, "hidden sine layers (auto: searched over 2..5)", lambda v: 1 <= v <= MAX_DEPTH,
                       f"1..{MAX_DEPTH}", optional=True),
        "width": Param(int, None, "units per hidden layer (auto: the widest that fits the rate)",
                       lambda v: 1 <= v <= MAX_WIDTH, f"1..{MAX_WIDTH}", optional=True),
        "weights": Param(str, "float16", "stored weight precision", choices=PRECISIONS),
        "omega0": Param(float, 30.0, "SIREN's frequency factor of the sine layers", lambda v: 0 < v <= MAX_OMEGA,
                        f"in (0, {MAX_OMEGA:g}]"),
        "schedule": Param(str, "auto", "training schedule policy: full (10000 epochs, lr 1e-4), quick (CPU-sized, "
                          "120 s budget), auto (full on CUDA, quick on the CPU)", choices=schedule.POLICIES),
        "lr": Param(float, None, "Adam learning rate (auto: the schedule's)", _positive, "> 0", optional=True),
        "epochs": Param(int, None, "main-phase epochs (auto: the schedule's); probes and fine-tune come on top",
                        _positive, "> 0", optional=True),
        "time_budget_s": Param(float, None, "wall-clock training budget in seconds (auto: the schedule's)",
                               _positive, "> 0", optional=True),
        "seed": Param(int, 0, "seed of the initial weights", lambda v: 0 <= v < 2**63, "in [0, 2^63)"),
        "device": Param(str, "auto", "training device", choices=("auto", "cpu", "cuda")),
        "threads": Param(int, None, "CPU threads for training (auto: every usable core, 1 for tiny networks)",
                         _positive, "> 0", optional=True),
        "progress": Param(bool, True, "progress bar on stderr (also off when not a terminal or HSIBENCH_NO_PROGRESS is set)"),
    }

    def _device(self) -> str:
        return training_device(self.config["device"], self.name)

    def resolved(self) -> dict[str, Any]:
        """The configuration as it will train here (device, schedule, lr, epochs, budget, threads)."""
        cfg = {k: v for k, v in self.config.items() if k != "progress"}
        pol = schedule.policy(self.config, self._device())
        cfg.update(device=pol.device, schedule=pol.name, lr=pol.lr,
                   epochs=pol.main_epochs if pol.main_epochs is not None else "compute-budget",
                   time_budget_s=pol.time_budget_s, threads=pol.threads)
        return cfg

    def _header_params(self, lo: float, hi: float, st: Structure | None, qmax: int = 127) -> dict:
        hp: dict[str, Any] = {"v": FORMAT, "min": lo, "max": hi}
        if st is not None:
            hp.update(depth=st.depth, width=st.width, weights=st.weights, omega0=self.config["omega0"])
            if st.weights == "int8":
                hp["qmax"] = qmax
        return hp

    # -- encode ----------------------------------------------------------------------------------
    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        cfg = self.config
        rows, cols, bands = cube.shape
        budget = budget_bytes(bpppb, cube.shape)
        lo, hi = float(cube.min()), float(cube.max())
        if lo == hi:
            hp = self._header_params(lo, hi, None)
            if self._header_size(cube, hp) > budget:
                raise InvalidRateError(f"siren needs {8 * self._header_size(cube, hp) / cube.size:.4g} bpppb even for "
                                       "a constant cube")
            self.info = {"structure": "constant", "psnr_decoded": None}
            return self._pack(cube, hp, b"")
        widest = Structure(MAX_DEPTH, MAX_WIDTH, cfg["weights"])
        capacity = budget - self._header_size(cube, self._header_params(lo, hi, widest))
        cands = candidates(bands, capacity, cfg["weights"], cfg["depth"], cfg["width"])
        if not cands:
            d, w = cfg["depth"] or 1, cfg["width"] or 1
            need = budget - capacity + payload_size(Structure(d, w, cfg["weights"]), bands)
            raise InvalidRateError(
                f"siren cannot reach {bpppb:g} bpppb on a {rows}x{cols}x{bands} cube: the smallest network "
                f"(depth={d}, width={w}, {cfg['weights']}) needs about {8 * need / cube.size:.4g} bpppb; ask for more"
                + (" or leave depth / width to the search" if cfg["depth"] or cfg["width"] else "")
            )
        torch = require_torch(self.name)
        device = self._device()
        tcfg = schedule.resolve(cfg, rows * cols, bands, cands, device)
        target = (2.0 * (cube.astype(np.float64) - lo) / (hi - lo) - 1.0).reshape(-1, bands).astype(np.float32)
        from .train import Trainer

        def choose_qmax(st: Structure, params: list[np.ndarray]) -> int:
            fit = storage.fit_qmax(params, layout(st, bands), capacity)
            return fit[0] if fit else 1

        t0 = time.perf_counter()
        with torch_threads(tcfg.threads):
            result = Trainer(target, rows, cols, cfg["omega0"], tcfg).run(cands, choose_qmax)
        train_s = time.perf_counter() - t0
        st, qmax = result.structure, result.qmax
        specs = layout(st, bands)
        payload = storage.encode(result.params, specs, st.weights, qmax)
        if len(payload) > capacity and st.weights == "int8":
            fit = storage.fit_qmax(result.params, specs, capacity)
            if fit is not None:
                qmax, payload = fit
        data = self._pack(cube, self._header_params(lo, hi, st, qmax), payload)
        if len(data) > budget:
            raise InvalidRateError(f"siren: the trained network needs {8 * len(data) / cube.size:.4g} bpppb, above the "
                                   f"{bpppb:g} asked; ask for a slightly higher rate")
        decoded = self.decode(data)
        err = decoded.astype(np.float64) - cube.astype(np.float64)
        mse = float(np.mean(err * err))
        self.info = {
            "structure": st.as_dict(),
            "searched": [n for n in ("depth", "width") if cfg[n] is None],
            "probes": result.probes,
            "params": param_count(st, bands),
            "qmax": qmax if st.weights == "int8" else None,
            "header_bytes": len(data) - len(payload),
            "payload_bytes": len(payload),
            "bpppb": 8 * len(data) / cube.size,
            "device": device,
            "threads": tcfg.threads or torch.get_num_threads(),
            "schedule": tcfg.schedule(),
            "epochs": tcfg.main_epochs,
            "lr": tcfg.lr,
            "epochs_run": result.epochs_run,
            "time_budget_s": tcfg.time_budget_s,
            "stopped_by_time_budget": result.stopped_by_time,
            "train_seconds": round(train_s, 3),
            "curve": result.curve,
            "mse_normalised": mse * 4.0 / (hi - lo) ** 2,
            "psnr_decoded": 10 * math.log10((hi - lo) ** 2 / mse) if mse > 0 else None,
        }
        return data

    # -- decode ----------------------------------------------------------------------------------
    def _decode(self, header: Header, payload: bytes, **secrets: Any) -> np.ndarray:
        if secrets:
            raise InvalidParameterError(f"siren decode takes no secrets; got {', '.join(sorted(secrets))}")
        hp = header.params
        rows, cols, bands = header.shape
        try:
            if hp.get("v") != FORMAT:
                raise CorruptDataError(f"siren stream format {hp.get('v')!r} is not supported (this hsibench reads {FORMAT})")
            lo, hi = float(hp["min"]), float(hp["max"])
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise CorruptDataError("siren stream has an invalid value range")
            if lo == hi:
                if payload:
                    raise CorruptDataError("a constant siren stream must have no payload")
                return np.full(header.shape, lo, dtype=np.float32)
            st = Structure(int(hp["depth"]), int(hp["width"]), str(hp["weights"]))
            omega0 = float(hp["omega0"])
            qmax = int(hp.get("qmax", 127))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, HsibenchError):
                raise
            raise CorruptDataError(f"siren stream header is incomplete or malformed ({exc!r})") from None
        if not (1 <= st.depth <= MAX_DEPTH and 1 <= st.width <= MAX_WIDTH and st.weights in PRECISIONS
                and 0 < omega0 <= MAX_OMEGA and 1 <= qmax <= 127):
            raise CorruptDataError("siren stream describes an impossible network")
        params = storage.decode(payload, layout(st, bands), st.weights, qmax)  # checks every length first
        if rows * cols * bands > MAX_VOXELS:
            raise CorruptDataError(f"siren stream announces {rows}x{cols}x{bands} voxels, above the decoder's limit "
                                   f"of {MAX_VOXELS}")
        require_torch(self.name)
        from .train import render

        y = render(params, rows, cols, omega0)
        out = (y.astype(np.float64) + 1.0) * 0.5 * (hi - lo) + lo
        return np.clip(out, lo, hi).reshape(rows, cols, bands).astype(np.float32)
