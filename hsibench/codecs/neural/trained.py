"""What the overfitted network codecs (siren, coolchic) share around their own model.

:class:`TrainedCodec` is a :class:`~hsibench.codecs.base.Codec` whose subclasses set
``policies`` (their :mod:`.schedule`-style module with a ``policy(config, device)`` function)
and get: the common training parameters (:func:`training_params`), ``device=auto`` resolved,
``resolved()`` for the runner's task key, the constant-cube stream, the [-1, 1] scaling of the
cube and back, the checks every decoder starts with (no secrets, header a JSON object, format,
a finite value range, read through :mod:`..fields`; the voxel limit is the base class's), and the
part of ``info`` every trained
codec records (schedule, epochs run, time-budget stop, the PSNR a decoder gets).  No torch here.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from ...errors import CorruptDataError, InvalidParameterError, InvalidRateError
from .. import fields as F
from ..base import Codec, Header, Param, budget_bytes
from .runtime import training_device


def _positive(v: Any) -> bool:
    return v > 0


def training_params(schedule_doc: str, choices: tuple[str, ...], epochs_doc: str, seed_doc: str,
                    lr_doc: str = "Adam learning rate (auto: the schedule's)") -> dict[str, Param]:
    """The parameters every trained codec takes: schedule, lr, epochs, time budget, seed, device, threads, progress."""
    return {
        "schedule": Param(str, "auto", schedule_doc, choices=choices),
        "lr": Param(float, None, lr_doc, _positive, "> 0", optional=True),
        "epochs": Param(int, None, epochs_doc, _positive, "> 0", optional=True),
        "time_budget_s": Param(float, None, "wall-clock training budget in seconds (auto: the schedule's)",
                               _positive, "> 0", optional=True),
        "seed": Param(int, 0, seed_doc, lambda v: 0 <= v < 2**63, "in [0, 2^63)"),
        "device": Param(str, "auto", "training device", choices=("auto", "cpu", "cuda")),
        "threads": Param(int, None, "CPU threads for training (auto: every usable core, 1 for tiny networks)",
                         _positive, "> 0", optional=True),
        "progress": Param(bool, True, "progress bar on stderr (also off when not a terminal or HSIBENCH_NO_PROGRESS is set)"),
    }


class TrainedCodec(Codec):
    """Base of the overfitted codecs: a stream is a trained network plus what decoding needs."""

    policies: ClassVar[ModuleType]
    stream_format: ClassVar[int] = 1
    stochastic = True
    in_default_run = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "default_excluded" not in cls.__dict__ and "name" in cls.__dict__:
            cls.default_excluded = ("a trained codec that takes up to a few minutes per encode on a CPU (its quick "
                                    f"schedule); name it: --codecs {cls.name}")

    def _device(self) -> str:
        return training_device(self.config["device"], self.name)

    def resolved(self) -> dict[str, Any]:
        """The configuration as it will train here (device, schedule, lr, epochs, budget, threads)."""
        cfg = {k: v for k, v in self.config.items() if k != "progress"}
        pol = self.policies.policy(self.config, self._device())
        cfg.update(device=pol.device, schedule=pol.name, lr=pol.lr,
                   epochs=pol.main_epochs if pol.main_epochs is not None else "compute-budget",
                   time_budget_s=pol.time_budget_s, threads=pol.threads)
        return cfg

    # -- encode ----------------------------------------------------------------------------------
    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        budget = budget_bytes(bpppb, cube.shape)
        lo, hi = float(cube.min()), float(cube.max())
        if lo == hi:
            return self._constant_stream(cube, budget, lo)
        return self._encode_trained(cube, bpppb, budget, lo, hi)

    @abstractmethod
    def _encode_trained(self, cube: np.ndarray, bpppb: float, budget: int, lo: float, hi: float) -> bytes:
        """Train and store a network for a non-constant cube within ``budget`` bytes (the subclass's work)."""

    def _base_header(self, lo: float, hi: float) -> dict[str, Any]:
        return {"v": self.stream_format, "min": lo, "max": hi}

    def _constant_stream(self, cube: np.ndarray, budget: int, lo: float) -> bytes:
        """The header-only stream of a constant cube (nothing to learn)."""
        hp = self._base_header(lo, lo)
        if self._header_size(cube, hp) > budget:
            raise InvalidRateError(f"{self.name} needs {8 * self._header_size(cube, hp) / cube.size:.4g} bpppb even "
                                   "for a constant cube")
        self.info = {"structure": "constant", "psnr_decoded": None}
        return self._pack(cube, hp, b"")

    @staticmethod
    def _scaled(cube: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """The cube min-max scaled to [-1, 1] (float64, the GNN's normalisation)."""
        return 2.0 * (cube.astype(np.float64) - lo) / (hi - lo) - 1.0

    @staticmethod
    def _unscaled(y: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """[-1, 1] values back to float32 in the cube's units, clipped to [lo, hi]."""
        return np.clip((y.astype(np.float64) + 1.0) * 0.5 * (hi - lo) + lo, lo, hi).astype(np.float32)

    def _training_info(self, cube: np.ndarray, data: bytes, device: str, threads: int, tcfg: Any, result: Any,
                       train_s: float) -> dict[str, Any]:
        """What every trained codec records: schedule, epochs, budget stop, curve, the PSNR a decoder gets."""
        lo, hi = float(cube.min()), float(cube.max())
        err = self.decode(data).astype(np.float64) - cube.astype(np.float64)
        mse = float(np.mean(err * err))
        return {
            "bpppb": 8 * len(data) / cube.size,
            "device": device,
            "threads": threads,
            "schedule": tcfg.schedule(),
            "epochs": tcfg.main_epochs,  # main-phase epochs planned
            "lr": tcfg.lr,
            "epochs_run": result.epochs_run,
            "time_budget_s": tcfg.time_budget_s,
            "stopped_by_time_budget": result.stopped_by_time,
            "train_seconds": round(train_s, 3),
            "curve": result.curve,
            "mse_normalised": mse * 4.0 / (hi - lo) ** 2,
            "psnr_decoded": 10 * math.log10((hi - lo) ** 2 / mse) if mse > 0 else None,
        }

    # -- decode --------------------------------------------------------------------------------
    def _decode(self, header: Header, payload: bytes, *, max_voxels: int, **secrets: Any) -> np.ndarray:
        lo, hi = self._value_range(header, payload, secrets)
        if lo == hi:
            return np.full(header.shape, lo, dtype=np.float32)
        return self._decode_trained(header, payload, lo, hi, max_voxels)

    @abstractmethod
    def _decode_trained(self, header: Header, payload: bytes, lo: float, hi: float, max_voxels: int) -> np.ndarray:
        """Rebuild the network a non-constant stream stores and render the cube (the subclass's work)."""

    def _value_range(self, header: Header, payload: bytes, secrets: dict) -> tuple[float, float]:
        """(min, max) from a verified header, after the checks every decoder makes first."""
        if secrets:
            raise InvalidParameterError(f"{self.name} decode takes no secrets; got {', '.join(sorted(secrets))}")
        hp = header.params
        if not isinstance(hp, dict):
            raise CorruptDataError(f"the {self.name} stream's parameters are not a JSON object")
        if not (F.is_int(hp.get("v")) and hp["v"] == self.stream_format):
            raise CorruptDataError(f"{self.name} stream format {hp.get('v')!r} is not supported "
                                   f"(this hsibench reads {self.stream_format})")
        lo, hi = F.read_range(F.read_number(hp, "min", self.name), F.read_number(hp, "max", self.name), self.name)
        if lo == hi and payload:
            raise CorruptDataError(f"a constant {self.name} stream must have no payload")
        return lo, hi
