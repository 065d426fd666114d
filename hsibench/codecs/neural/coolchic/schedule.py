"""coolchic's training-schedule policy (the codec's ``schedule`` parameter), on neural/schedule.py.

* ``full`` (the default on CUDA): 3000 main iterations, no time budget;
* ``quick`` (the default on the CPU): main iterations from a compute budget
  (``QUICK_WORK_MACS`` multiply-accumulates, forward + backward, clamped to
  ``QUICK_EPOCHS_RANGE``) and a ``QUICK_TIME_BUDGET_S`` wall-clock budget per encode.

One iteration ("epoch") is one step on the whole cube.  Before the main phase the entropy model
alone warms up for ``WARMUP_SHARE`` of the main iterations (at least ``WARMUP_MIN``) (on the latents of the initial
transform, with the quantisation step fitted to the rate in between); after it, a
straight-through fine-tune with hard rounding and the stored weight precision simulated runs
``FINETUNE_SHARE`` of them at ``FINETUNE_LR_FACTOR`` of the learning rate.  ``lr`` is the
latents' learning rate; the entropy model, the synthesis MLP and the linear parts (gains,
basis, means) learn at fixed fractions of it (``LR_RATIOS``): the linear parts start from the
KLT and only need small corrections.  Explicit ``epochs``, ``lr`` and ``time_budget_s`` win.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import schedule as shared
from .structure import Structure, macs_per_step

POLICIES = ("auto", "full", "quick")
FULL_EPOCHS = 3000
LR = 0.02
QUICK_WORK_MACS = 2.0e11
QUICK_EPOCHS_RANGE = (100, 600)
QUICK_TIME_BUDGET_S = 150.0
WARMUP_SHARE = 0.3
WARMUP_MIN = 20
FINETUNE_SHARE = 0.1
FINETUNE_LR_FACTOR = 0.1
LR_RATIOS = {"latents": 1.0, "arm": 0.5, "mlp": 0.05, "linear": 5e-4}

POLICY_TABLE = {"full": shared.Defaults(LR, FULL_EPOCHS, None), "quick": shared.Defaults(LR, None, QUICK_TIME_BUDGET_S)}


def policy(config: dict[str, Any], device: str, cores: int | None = None) -> shared.Policy:
    """Resolve ``schedule=auto`` (full on CUDA, quick on the CPU) and the policy's defaults."""
    return shared.policy(config, device, POLICY_TABLE, on_cuda="full", on_cpu="quick", cores=cores)


@dataclass(frozen=True)
class TrainConfig(shared.Run):
    """Everything one coolchic training does (what ``info["schedule"]`` records)."""

    lr: float = LR
    warmup_epochs: int = 30
    finetune_epochs: int = 10

    @property
    def total_epochs(self) -> int:
        return self.warmup_epochs + self.main_epochs + self.finetune_epochs

    def schedule(self) -> dict[str, Any]:
        return {**self.common(), "lr_ratios": dict(LR_RATIOS), "finetune_lr": self.lr * FINETUNE_LR_FACTOR,
                "epochs": {"warmup": self.warmup_epochs, "main": self.main_epochs, "finetune": self.finetune_epochs}}


def resolve(config: dict[str, Any], rows: int, cols: int, bands: int, st: Structure, device: str,
            cores: int | None = None) -> TrainConfig:
    """The complete schedule of one encode for this structure and device."""
    pol = policy(config, device, cores)
    step = 3 * macs_per_step(rows, cols, bands, st)
    main = pol.main_epochs if pol.main_epochs is not None else shared.budget_epochs(QUICK_WORK_MACS, step, *QUICK_EPOCHS_RANGE)
    return TrainConfig(
        policy=pol.name, device=device, lr=pol.lr, warmup_epochs=max(WARMUP_MIN, int(round(WARMUP_SHARE * main))),
        main_epochs=int(main), finetune_epochs=max(1, int(round(FINETUNE_SHARE * main))),
        threads=shared.cpu_threads(pol, step), time_budget_s=pol.time_budget_s, seed=int(config.get("seed", 0)),
        progress=bool(config.get("progress", True)),
    )
