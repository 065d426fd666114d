"""Training-schedule policies shared by the network codecs: named policies resolved before training.

Every network codec has a ``schedule`` parameter naming a policy (``auto`` picks one by device)
and ``lr``, ``epochs`` and ``time_budget_s`` parameters that override the policy's values.  A
codec declares its policies as a table of :class:`Defaults`; :func:`policy` resolves a config on
a device into a :class:`Policy` (what the runner's task key hashes, through the codec's
``resolved()``), and :func:`cpu_threads` / :func:`budget_epochs` are the rules that complete it
once the network's size is known.  Pure functions: no torch, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ...environment import usable_cores

SMALL_STEP_MACS = 2e7  # below this many MACs per training step the CPU trains single-threaded


@dataclass(frozen=True)
class Defaults:
    """One named policy's values: learning rate, main-phase epochs (None: from a compute budget), time budget."""

    lr: float
    epochs: int | None
    time_budget_s: float | None


@dataclass(frozen=True)
class Policy:
    """The schedule as far as it is known before the cube: enough to key a task by what it will do."""

    name: str
    device: str  # "cpu" or "cuda"
    lr: float
    main_epochs: int | None  # None: from the policy's compute budget, once the structure is known
    time_budget_s: float | None
    amp: bool  # mixed precision (CUDA only, codecs with an ``amp`` parameter)
    threads: int | str | None  # CPU threads: a number, "auto:<cores>" (by network size), None on CUDA

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def policy(config: Mapping[str, Any], device: str, table: Mapping[str, Defaults], *, on_cuda: str, on_cpu: str,
           cores: int | None = None) -> Policy:
    """Resolve ``schedule=auto`` (``on_cuda`` / ``on_cpu``) and fill in the policy's defaults.

    Explicit ``lr``, ``epochs`` and ``time_budget_s`` in ``config`` win over the policy's values;
    ``threads`` fixes the CPU thread count, otherwise it is ``auto:<usable cores>``.
    """
    name = config.get("schedule", "auto")
    if name == "auto":
        name = on_cuda if device == "cuda" else on_cpu
    if name not in table:
        raise ValueError(f"unknown schedule policy {name!r}")
    d = table[name]
    lr = config.get("lr") if config.get("lr") is not None else d.lr
    epochs = config.get("epochs") if config.get("epochs") is not None else d.epochs
    budget = config.get("time_budget_s") if config.get("time_budget_s") is not None else d.time_budget_s
    threads: int | str | None = None
    if device == "cpu":
        threads = config.get("threads") or f"auto:{cores if cores is not None else usable_cores()}"
    amp = bool(config.get("amp", False)) and device == "cuda"
    return Policy(name, device, float(lr), epochs, budget, amp, threads)


@dataclass(frozen=True)
class Run:
    """The resolved schedule fields every trained codec has; codecs subclass it with their phases' epochs."""

    policy: str = "quick"
    device: str = "cpu"
    lr: float = 1e-3
    main_epochs: int = 100
    threads: int | None = None  # CPU threads while training; None: leave torch's setting
    time_budget_s: float | None = None  # wall-clock budget of all phases together, shared in proportion
    seed: int = 0
    progress: bool = True

    def common(self) -> dict[str, Any]:
        """The fields a record's ``schedule`` shows for every trained codec."""
        return {"policy": self.policy, "device": self.device, "lr": self.lr, "threads": self.threads,
                "time_budget_s": self.time_budget_s}


def cpu_threads(pol: Policy, step_macs: float) -> int | None:
    """CPU threads of one training: the fixed count, else every usable core except 1 for tiny steps."""
    if pol.device != "cpu":
        return None
    if isinstance(pol.threads, int):
        return pol.threads
    n = int(str(pol.threads).split(":", 1)[1])
    return 1 if step_macs < SMALL_STEP_MACS else n


def budget_epochs(work_macs: float, step_macs: float, lo: int, hi: int) -> int:
    """Epochs of a compute-budget policy: ``work_macs / step_macs`` clamped to ``lo .. hi``."""
    return int(min(max(work_macs / max(step_macs, 1.0), lo), hi))
