"""siren's training: the rate search's probes, the main fit, the storage-aware fine-tune.

1. *Probes* (when the rate search has several candidate depths): every candidate, initialised
   from the same seed, trains ``probe_epochs`` full-batch Adam steps; the lowest loss wins (the
   paper's architecture search: overfit several MLPs, keep the best at the bit budget).
2. *Main*: the winner trains on, ``main_epochs`` more steps (MSE on the normalised cube; with the
   quick policy the learning rate follows a cosine decay).
3. *Fine-tune* (stored precision other than float32): the forward pass sees the weights as the
   storage will give them back (float16 rounding, or 8-bit with the codec's quantisation levels),
   straight-through gradients.

A wall-clock budget, if any, is shared by the phases in proportion to their epochs.  This
module imports torch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..quant import fake_store
from ..runtime import progress_bar
from .model import coordinates, forward, initial
from .schedule import FINETUNE_LR_FACTOR, TrainConfig
from .structure import Structure, layout


@dataclass
class TrainResult:
    structure: Structure
    params: list[np.ndarray]
    qmax: int
    probes: dict[str, float] = field(default_factory=dict)  # "depth x width" -> loss after the probe
    curve: list[list[float]] = field(default_factory=list)
    epochs_run: dict[str, int] = field(default_factory=dict)
    stopped_by_time: bool = False


class Trainer:
    """Fits SIRENs to one normalised cube ``(pixels, bands)`` (values in [-1, 1])."""

    def __init__(self, target: np.ndarray, rows: int, cols: int, omega0: float, cfg: TrainConfig):
        self.y = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))
        self.bands = target.shape[1]
        self.xy = coordinates(rows, cols)
        self.omega0, self.cfg = omega0, cfg
        self.curve: list[list[float]] = []
        self.epoch = 0
        self.total = 1
        self.t0 = time.perf_counter()
        self.stopped_by_time = False
        self.pbar = None

    def _steps(self, params: list[torch.Tensor], opt: torch.optim.Optimizer, epochs: int, seconds: float | None,
               lr_at: Callable[[int], float], name: str, view: Callable[[list[torch.Tensor]], list[torch.Tensor]] = list
               ) -> tuple[int, float]:
        """``epochs`` full-batch steps (fewer if ``seconds`` run out); (steps done, last loss)."""
        start, done, last = time.perf_counter(), 0, float("inf")
        log_every = max(1, self.total // 100)
        for it in range(epochs):
            if seconds is not None and time.perf_counter() - start > seconds:
                self.stopped_by_time = True
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(it)
            loss = ((forward(view(params), self.xy, self.omega0) - self.y) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            self.epoch += 1
            last = float(loss.detach())
            if self.epoch % log_every == 0 or it == epochs - 1:
                psnr = 10 * math.log10(4.0 / last) if last > 0 else float("inf")
                self.curve.append([self.epoch, round(time.perf_counter() - self.t0, 4), last, round(psnr, 4)])
                if self.pbar is not None:
                    self.pbar.set_postfix_str(f"{name} {psnr:.2f}dB", refresh=False)
            if self.pbar is not None:
                self.pbar.update(1)
        return done, last

    def run(self, structures: list[Structure], choose_qmax: Callable[[Structure, list[np.ndarray]], int]) -> TrainResult:
        """Probe the candidates, train the best, fine-tune it for its storage; ``choose_qmax`` picks 8-bit levels."""
        cfg = self.cfg
        self.total = cfg.probe_epochs * len(structures) + cfg.main_epochs + cfg.finetune_epochs
        budget = cfg.time_budget_s
        share = (lambda e: None) if budget is None else (lambda e: budget * e / self.total)
        constant = lambda it: cfg.lr  # noqa: E731
        self.pbar = progress_bar(self.total, "siren", cfg.progress)
        runs: dict[str, int] = {}
        try:
            self.t0 = time.perf_counter()
            trials = []
            for st in structures:
                gen = torch.Generator().manual_seed(cfg.seed)
                params = [t.requires_grad_(True) for t in initial(st, self.bands, self.omega0, gen)]
                opt = torch.optim.Adam(params, lr=cfg.lr)
                loss = float("inf")
                if len(structures) > 1:
                    done, loss = self._steps(params, opt, cfg.probe_epochs, share(cfg.probe_epochs), constant, "probe")
                    runs["probe"] = runs.get("probe", 0) + done
                trials.append((loss, st, params, opt))
            loss, st, params, opt = min(trials, key=lambda t: t[0])
            probes = {f"{t[1].depth}x{t[1].width}": t[0] for t in trials} if len(trials) > 1 else {}
            del trials
            if self.pbar is not None:
                self.pbar.set_description(f"siren {st.depth}x{st.width} {st.weights}")

            def cosine(it: int) -> float:
                return cfg.lr * 0.5 * (1 + math.cos(math.pi * it / cfg.main_epochs)) if cfg.cosine else cfg.lr

            runs["main"], _ = self._steps(params, opt, cfg.main_epochs, share(cfg.main_epochs), cosine, "main")
            qmax = choose_qmax(st, [p.detach().numpy() for p in params]) if st.weights == "int8" else 127
            if cfg.finetune_epochs:
                specs = layout(st, self.bands)

                def stored(ps: list[torch.Tensor]) -> list[torch.Tensor]:
                    return [fake_store(p, st.weights, s.quantised, s.groups, qmax) for p, s in zip(ps, specs)]

                opt = torch.optim.Adam(params, lr=cfg.lr * FINETUNE_LR_FACTOR)
                runs["finetune"], _ = self._steps(params, opt, cfg.finetune_epochs, share(cfg.finetune_epochs),
                                                  lambda it: cfg.lr * FINETUNE_LR_FACTOR, "tune", stored)
        finally:
            self.pbar.close()
        return TrainResult(st, [p.detach().numpy().copy() for p in params], qmax, probes, self.curve, runs,
                           self.stopped_by_time)


@torch.no_grad()
def render(params: list[np.ndarray], rows: int, cols: int, omega0: float, chunk: int = 65536) -> np.ndarray:
    """The decoder's forward pass on the CPU in float32: ``(rows * cols, bands)`` in [-1, 1] scale."""
    tensors = [torch.from_numpy(np.ascontiguousarray(p, dtype=np.float32)) for p in params]
    xy = coordinates(rows, cols)
    return torch.cat([forward(tensors, xy[i : i + chunk], omega0) for i in range(0, xy.shape[0], chunk)]).numpy()
