"""The GNN's training-schedule policy: what one encode trains, decided before it trains.

Two named policies (the codec's ``schedule`` parameter):

* ``paper`` — Deng, Cen & Zhang's schedule on any device: the *main* training phase runs
  15 000 epochs with Adam at lr 5e-4.  Pruning rounds and the float32 fine-tune (when one is
  needed) come on top of those 15 000, as further epochs; there is no time budget.
* ``quick`` — a schedule sized for a CPU: main epochs from a compute budget
  (``QUICK_WORK_MACS`` multiply-accumulates in all, clamped to ``QUICK_EPOCHS_RANGE``), lr 5e-3
  (the paper's 5e-4 does not converge in a few hundred epochs), a 20 s wall-clock budget per
  encode, and a rate search that keeps networks small enough for the minimum epochs.

``auto`` (the default) is ``paper`` on CUDA and ``quick`` on the CPU.  Explicit ``epochs``
(main-phase epochs), ``lr`` and ``time_budget_s`` override the policy's values.

:func:`policy` resolves what is known before the cube is seen (it goes into the runner's task
key); :func:`resolve` adds the structure and returns the complete :class:`TrainConfig` that the
trainer runs and the record shows.  Both are pure: no torch, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import schedule as shared
from ..schedule import SMALL_STEP_MACS, Defaults, Policy  # noqa: F401  (re-exported: the GNN's rules use them)
from .structure import Geometry, Structure, macs_per_image

POLICIES = ("auto", "paper", "quick")

PAPER_EPOCHS = 15000  # main-phase epochs of the paper
PAPER_LR = 5e-4  # the paper's Adam learning rate
QUICK_LR = 5e-3  # ten times the paper's: a few hundred epochs do not converge at 5e-4
QUICK_WORK_MACS = 1.0e11  # quick main phase: this many multiply-accumulates (fwd + 2x bwd) in all
QUICK_EPOCHS_RANGE = (300, 2000)  # and the rate search keeps networks small enough for 300 of them
QUICK_TIME_BUDGET_S = 20.0  # safety net per encode; the record says when it stopped training

PRUNE_EPOCH_SHARE = 0.2  # pruning retrains for this fraction of the main epochs, split over the rounds
FINETUNE_EPOCH_SHARE = 0.15  # the float32 fine-tune with the stored precision simulated
FINETUNE_LR_FACTOR = 0.2  # fine-tune learning rate relative to lr

POLICY_TABLE = {
    "paper": Defaults(PAPER_LR, PAPER_EPOCHS, None),
    "quick": Defaults(QUICK_LR, None, QUICK_TIME_BUDGET_S),
}


def policy(config: dict[str, Any], device: str, cores: int | None = None) -> Policy:
    """Resolve ``schedule=auto`` and the policy's defaults for a codec config on ``device``."""
    return shared.policy(config, device, POLICY_TABLE, on_cuda="paper", on_cpu="quick", cores=cores)


def search_cap(pol: Policy, batch: int) -> float | None:
    """The quick CPU policy's cap on a training step's MACs per image for the rate search (else None)."""
    if pol.name == "quick" and pol.device == "cpu" and pol.main_epochs is None:
        return QUICK_WORK_MACS / QUICK_EPOCHS_RANGE[0] / batch
    return None


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run does: the resolved schedule plus the loss and bookkeeping."""

    policy: str = "quick"
    device: str = "cpu"
    lr: float = QUICK_LR
    finetune_lr: float = QUICK_LR * FINETUNE_LR_FACTOR
    main_epochs: int = 300
    prune_epochs: int = 0  # in all, over prune_rounds rounds
    prune_rounds: int = 3
    finetune_epochs: int = 0
    amp: bool = False
    threads: int | None = None  # CPU threads while training; None: leave torch's setting
    time_budget_s: float | None = None  # wall-clock budget of all phases together, shared in proportion
    p: float = 1.5
    seed: int = 0
    tile_batch: int = 4
    log_every: int = 0  # 0: about 100 points per run
    snapshots: int = 0  # output-band images kept at this many (log-spaced) epochs
    snapshot_band: int = 0
    progress: bool = True

    @property
    def total_epochs(self) -> int:
        return self.main_epochs + self.prune_epochs + self.finetune_epochs

    def schedule(self) -> dict[str, Any]:
        """The part a record shows: what was planned (``epochs_run`` says what ran)."""
        return {
            "policy": self.policy, "device": self.device, "lr": self.lr, "finetune_lr": self.finetune_lr,
            "epochs": {"main": self.main_epochs, "prune": self.prune_epochs, "finetune": self.finetune_epochs},
            "prune_rounds": self.prune_rounds if self.prune_epochs else 0, "amp": self.amp, "threads": self.threads,
            "time_budget_s": self.time_budget_s,
        }


def needs_finetune(geo: Geometry, st: Structure, amp: bool) -> bool:
    """Whether the trained network differs from what is stored, so a float32 fine-tune must follow.

    Quantised weights, tiles (BatchNorm statistics change when folded) and mixed-precision
    training; a float32 single-image network trained in float32 folds exactly.
    """
    return st.weights != "float32" or geo.n_tiles > 1 or amp


def resolve(config: dict[str, Any], geo: Geometry, st: Structure, device: str, *, batch: int = 1,
            cores: int | None = None) -> TrainConfig:
    """The complete schedule of one encode: the policy's values for this structure and device."""
    pol = policy(config, device, cores)
    step_macs = 3 * macs_per_image(geo, st) * batch
    main = pol.main_epochs
    if main is None:
        main = shared.budget_epochs(QUICK_WORK_MACS, step_macs, *QUICK_EPOCHS_RANGE)
    rounds = max(1, int(config.get("prune_rounds", 3)))
    prune = max(rounds, int(round(PRUNE_EPOCH_SHARE * main))) if st.prune > 0 else 0
    finetune = max(1, int(round(FINETUNE_EPOCH_SHARE * main))) if needs_finetune(geo, st, pol.amp) else 0
    threads = shared.cpu_threads(pol, step_macs)
    return TrainConfig(
        policy=pol.name, device=device, lr=pol.lr, finetune_lr=pol.lr * FINETUNE_LR_FACTOR, main_epochs=int(main),
        prune_epochs=prune, prune_rounds=rounds, finetune_epochs=finetune, amp=pol.amp, threads=threads,
        time_budget_s=pol.time_budget_s, p=float(config.get("p", 1.5)), seed=int(config.get("seed", 0)),
        tile_batch=int(config.get("tile_batch", 4)), log_every=int(config.get("log_every", 0)),
        snapshots=int(config.get("snapshots", 0)), progress=bool(config.get("progress", True)),
    )
