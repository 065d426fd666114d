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

import time

import numpy as np

from ....errors import InvalidRateError
from ... import fields as F
from ...base import Header, Param, register
from .. import storage
from ..runtime import require_torch, torch_threads
from ..trained import TrainedCodec, training_params
from . import schedule
from .structure import MAX_DEPTH, MAX_WIDTH, PRECISIONS, Structure, candidates, layout, param_count, payload_size

MAX_OMEGA = 1000.0


@register
class SirenCodec(TrainedCodec):
    """SIREN implicit neural representation (x, y) -> spectrum, overfitted to one cube."""

    name = "siren"
    revision = 1  # bump when the bytes or quality for the same inputs change (tests/test_golden.py)
    policies = schedule
    summary = "SIREN MLP (x, y) -> spectrum overfitted to the cube (Rezasoltani & Qureshi 2023), depth x width searched"
    params = {
        "depth": Param(int, None, "hidden sine layers (auto: searched over 2..5)", lambda v: 1 <= v <= MAX_DEPTH,
                       f"1..{MAX_DEPTH}", optional=True),
        "width": Param(int, None, "units per hidden layer (auto: the widest that fits the rate)",
                       lambda v: 1 <= v <= MAX_WIDTH, f"1..{MAX_WIDTH}", optional=True),
        "weights": Param(str, "float16", "stored weight precision", choices=PRECISIONS),
        "omega0": Param(float, 30.0, "SIREN's frequency factor of the sine layers", lambda v: 0 < v <= MAX_OMEGA,
                        f"in (0, {MAX_OMEGA:g}]"),
        **training_params("training schedule policy: full (10000 epochs, lr 1e-4), quick (CPU-sized, 120 s budget), "
                          "auto (full on CUDA, quick on the CPU)", schedule.POLICIES,
                          "main-phase epochs (auto: the schedule's); probes and fine-tune come on top",
                          "seed of the initial weights"),
    }

    def _header_params(self, lo: float, hi: float, st: Structure | None, qmax: int = 127) -> dict:
        hp = self._base_header(lo, hi)
        if st is not None:
            hp.update(depth=st.depth, width=st.width, weights=st.weights, omega0=self.config["omega0"])
            if st.weights == "int8":
                hp["qmax"] = qmax
        return hp

    # -- encode ----------------------------------------------------------------------------------
    def _encode_trained(self, cube: np.ndarray, bpppb: float, budget: int, lo: float, hi: float) -> bytes:
        cfg = self.config
        rows, cols, bands = cube.shape
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
        target = self._scaled(cube, lo, hi).reshape(-1, bands).astype(np.float32)
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
        self.info = {
            "structure": st.as_dict(),
            "searched": [n for n in ("depth", "width") if cfg[n] is None],
            "probes": result.probes,
            "params": param_count(st, bands),
            "qmax": qmax if st.weights == "int8" else None,
            "header_bytes": len(data) - len(payload),
            "payload_bytes": len(payload),
            **self._training_info(cube, data, device, tcfg.threads or torch.get_num_threads(), tcfg, result, train_s),
        }
        return data

    # -- decode ----------------------------------------------------------------------------------
    def _decode_trained(self, header: Header, payload: bytes, lo: float, hi: float, max_voxels: int) -> np.ndarray:
        hp = header.params
        rows, cols, bands = header.shape
        st = Structure(F.read_int(hp, "depth", "siren", 1, MAX_DEPTH), F.read_int(hp, "width", "siren", 1, MAX_WIDTH),
                       F.read_choice(hp, "weights", "siren", PRECISIONS))
        omega0 = float(F.read_number(hp, "omega0", "siren", 0.0, MAX_OMEGA, positive=True))
        qmax = F.read_int(hp, "qmax", "siren", 1, 127, default=127)
        params = storage.decode(payload, layout(st, bands), st.weights, qmax)  # checks every length first
        require_torch(self.name)
        from .train import render

        return self._unscaled(render(params, rows, cols, omega0), lo, hi).reshape(rows, cols, bands)
