"""siren's training-schedule policy (the codec's ``schedule`` parameter), on neural/schedule.py.

* ``full`` (the default on CUDA): SIREN's optimiser setting (Adam, lr 1e-4, Sitzmann et al.
  2020) for 10 000 main epochs, no time budget.  Rezasoltani & Qureshi's exact epoch count and
  learning rate could not be read here; this is the long schedule a GPU affords.
* ``quick`` (the default on the CPU): lr 1e-3 with a cosine decay, main epochs from a compute
  budget (``QUICK_WORK_MACS`` multiply-accumulates, forward + backward, clamped to
  ``QUICK_EPOCHS_RANGE``) and a ``QUICK_TIME_BUDGET_S`` wall-clock budget per encode.

One epoch is one full-batch step on every pixel.  When the rate search compares several depths,
each candidate first trains ``PROBE_SHARE`` of the main epochs; the best goes on for the main
epochs.  Stored precisions other than float32 add a fine-tune with the precision simulated
(``FINETUNE_SHARE`` of the main epochs at ``FINETUNE_LR_FACTOR`` of the learning rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import schedule as shared
from .structure import Structure, macs_per_pixel

POLICIES = ("auto", "full", "quick")
FULL_EPOCHS = 10000
FULL_LR = 1e-4
QUICK_LR = 1e-3
QUICK_WORK_MACS = 3.0e11
QUICK_EPOCHS_RANGE = (200, 3000)
QUICK_TIME_BUDGET_S = 120.0
PROBE_SHARE = 0.1
FINETUNE_SHARE = 0.1
FINETUNE_LR_FACTOR = 0.1

POLICY_TABLE = {"full": shared.Defaults(FULL_LR, FULL_EPOCHS, None),
                "quick": shared.Defaults(QUICK_LR, None, QUICK_TIME_BUDGET_S)}


def policy(config: dict[str, Any], device: str, cores: int | None = None) -> shared.Policy:
    """Resolve ``schedule=auto`` (full on CUDA, quick on the CPU) and the policy's defaults."""
    return shared.policy(config, device, POLICY_TABLE, on_cuda="full", on_cpu="quick", cores=cores)


@dataclass(frozen=True)
class TrainConfig(shared.Run):
    """Everything one siren training does (what ``info["schedule"]`` records)."""

    cosine: bool = True
    probe_epochs: int = 0
    finetune_epochs: int = 0

    def schedule(self) -> dict[str, Any]:
        return {**self.common(), "cosine": self.cosine, "finetune_lr": self.lr * FINETUNE_LR_FACTOR,
                "epochs": {"probe": self.probe_epochs, "main": self.main_epochs, "finetune": self.finetune_epochs}}


def resolve(config: dict[str, Any], pixels: int, bands: int, structures: list[Structure], device: str,
            cores: int | None = None) -> TrainConfig:
    """The complete schedule of one encode: epochs sized for the largest candidate structure."""
    pol = policy(config, device, cores)
    step = 3.0 * pixels * max(macs_per_pixel(st, bands) for st in structures)
    main = pol.main_epochs if pol.main_epochs is not None else shared.budget_epochs(QUICK_WORK_MACS, step, *QUICK_EPOCHS_RANGE)
    probe = max(1, int(round(PROBE_SHARE * main))) if len(structures) > 1 else 0
    finetune = max(1, int(round(FINETUNE_SHARE * main))) if structures[0].weights != "float32" else 0
    return TrainConfig(policy=pol.name, device=device, lr=pol.lr, cosine=pol.name == "quick", probe_epochs=probe,
                       main_epochs=int(main), finetune_epochs=finetune, threads=shared.cpu_threads(pol, step),
                       time_budget_s=pol.time_budget_s, seed=int(config.get("seed", 0)),
                       progress=bool(config.get("progress", True)))
