"""coolchic's training: from the spectral KLT to rate-distortion-optimised latents and networks.

Phases (iteration counts from :mod:`.schedule`; a wall-clock budget, if any, is shared in
proportion to them):

0. *Initial transform*: the coefficient images of the ``k`` leading KLT components, divided by
   a quantisation step, are the full-resolution grid's latents; the coarser grids start at zero,
   the gains at the step, the basis and means at the KLT's.  With hard rounding this is a KLT
   codec (the ``pca`` codec's transform) whose entropy coder is the learned ARM.
1. *Warm-up*: the ARM alone learns the rounded latents' distribution (half of the warm-up), the
   step is then fitted by bisection so that the latents' bits under the ARM meet the rate
   (:meth:`Trainer.fit_step`), and the ARM goes on learning at the fitted step.
2. *Main*: every tensor trains on ``D + lambda R`` (D the mean squared error of the normalised
   cube, R the ARM's bits per voxel) with additive uniform noise standing in for rounding
   (COOL-CHIC's proxy), Adam with a cosine learning-rate decay.  ``lambda`` starts at the
   high-rate slope of a uniform quantiser (``ln 2 / 6 * step^2``) and is steered every
   ``CONTROL_EVERY`` iterations towards the rate (the bits of the hard-rounded latents).
3. *Fine-tune*: hard rounding with a straight-through gradient and the stored precision of every
   tensor simulated (8-bit weights, float16 biases), at a tenth of the learning rate.

This module imports torch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..quant import fake_store
from ..runtime import progress_bar
from .constants import MAX_EXPONENT, MAX_LATENT, SKIP
from .model import arm_bits, synthesise
from .schedule import FINETUNE_LR_FACTOR, LR_RATIOS, TrainConfig
from .structure import Structure, grid_shapes, layout

CONTROL_EVERY = 10
CONTROL_GAIN = 2.0
CONTROL_CLAMP = 0.2
STEP_SEARCH_ITERS = 8


@dataclass
class TrainResult:
    """Float tensors in layout order (8-bit list, float16 list), continuous latents, exponents, history."""

    qtensors: list[np.ndarray]
    ftensors: list[np.ndarray]
    latents: list[np.ndarray]
    exps: np.ndarray
    lam: float
    step: float
    curve: list[list[float]] = field(default_factory=list)
    epochs_run: dict[str, int] = field(default_factory=dict)
    stopped_by_time: bool = False


def exponents(grids: list[torch.Tensor], skip: bool = False) -> torch.Tensor:
    """Per grid and channel: round(log2(mean |latent| + 1)) in 0..MAX_EXPONENT (``skip``: SKIP if all zero)."""
    out = []
    for g in grids:
        a = g.detach().abs()
        e = torch.clamp(torch.round(torch.log2(a.mean(dim=(1, 2)) + 1.0)), 0, MAX_EXPONENT)
        if skip:
            e = torch.where(a.amax(dim=(1, 2)) == 0, torch.full_like(e, SKIP), e)
        out.append(e)
    return torch.stack(out).to(torch.int64)


class Trainer:
    """Trains one coolchic network on a normalised band-first cube (values in [-1, 1])."""

    def __init__(self, target: np.ndarray, st: Structure, cfg: TrainConfig, basis: np.ndarray, mean: np.ndarray,
                 coeffs: np.ndarray, step: float, target_bits: float):
        self.st, self.cfg = st, cfg
        self.bands, self.rows, self.cols = target.shape
        self.voxels = target.size
        self.y = torch.from_numpy(np.ascontiguousarray(target, dtype=np.float32))
        self.target_bits = float(target_bits)
        self.step = float(step)
        g = torch.Generator().manual_seed(cfg.seed)
        self.noise_gen = g
        shapes = grid_shapes(self.rows, self.cols, st.levels)
        self.latents = [torch.zeros(st.k, h, w) for h, w in shapes]
        self.latents[0] = torch.from_numpy((coeffs / step).astype(np.float32))
        qspecs, fspecs = layout(st, self.bands)
        self.qspecs, self.fspecs = qspecs, fspecs
        p: dict[str, torch.Tensor] = {}
        p["gain"] = torch.full((st.levels, st.k), float(step))
        if st.hidden:
            for name, spec in ((s.name, s) for s in qspecs + fspecs if s.name.startswith("mlp")):
                fan_in = spec.shape[-1] if len(spec.shape) == 2 else st.hidden
                p[name] = (torch.rand(spec.shape, generator=g) * 2 - 1) / math.sqrt(fan_in)
            p["mlp3"].zero_()  # the MLP starts as a no-op: the initial transform is the KLT's
            p["mlp3_b"].zero_()
        p["basis"] = torch.from_numpy(np.ascontiguousarray(basis, dtype=np.float32))
        p["mean"] = torch.from_numpy(np.ascontiguousarray(mean, dtype=np.float32))
        for name, spec in ((s.name, s) for s in qspecs + fspecs if s.name.startswith("arm")):
            fan_in = spec.shape[-1] if len(spec.shape) == 2 else st.arm
            p[name] = (torch.rand(spec.shape, generator=g) * 2 - 1) / math.sqrt(fan_in)
        p["arm3"].mul_(0.1)
        p["arm3_b"].zero_()
        self.p = p
        for t in list(p.values()) + self.latents:
            t.requires_grad_(True)
        self.exps = exponents(self.latents)
        self.lam = math.log(2) / 6 * self.step**2
        self.curve: list[list[float]] = []
        self.epoch = 0
        self.t0 = time.perf_counter()
        self.stopped_by_time = False
        self.pbar = None

    # -- helpers ----------------------------------------------------------------------------
    def effective(self, qat: bool) -> dict[str, torch.Tensor]:
        """The tensors as the forward pass sees them (with ``qat``: as storage will give them back)."""
        if not qat:
            return self.p
        out = {s.name: fake_store(self.p[s.name], "int8", True, s.groups) for s in self.qspecs}
        out.update({s.name: fake_store(self.p[s.name], "float16", False, 1) for s in self.fspecs})
        return out

    def rounded(self) -> list[torch.Tensor]:
        return [torch.clamp(torch.round(t.detach()), -MAX_LATENT, MAX_LATENT) for t in self.latents]

    @torch.no_grad()
    def measure(self, qat: bool = False) -> tuple[float, float]:
        """(bits, PSNR in dB on the normalised scale) of the hard-rounded latents."""
        p = self.effective(qat)
        q = self.rounded()
        zero = exponents(q, skip=True) == SKIP  # channels the coder skips
        bits = float(arm_bits(q, torch.where(zero, torch.full_like(self.exps, SKIP), self.exps), p))
        mse = float(((synthesise(q, p, self.st, self.rows, self.cols) - self.y) ** 2).mean())
        return bits, (10 * math.log10(4.0 / mse) if mse > 0 else float("inf"))

    def _log(self, name: str, loss: float) -> None:
        bits, psnr = self.measure()
        self.curve.append([self.epoch, round(time.perf_counter() - self.t0, 4), float(loss), round(psnr, 4),
                           round(bits / self.voxels, 6)])
        if self.pbar is not None:
            self.pbar.set_postfix_str(f"{name} {psnr:.2f}dB {bits / self.voxels:.4f}bpppb", refresh=False)

    def _out_of_time(self, start: float, seconds: float | None) -> bool:
        if seconds is not None and time.perf_counter() - start > seconds:
            self.stopped_by_time = True
            return True
        return False

    def _tick(self) -> None:
        self.epoch += 1
        if self.pbar is not None:
            self.pbar.update(1)

    # -- phases -------------------------------------------------------------------------------
    def warm_arm(self, epochs: int, seconds: float | None) -> int:
        """Train the ARM alone on the rounded latents."""
        params = [self.p[s.name] for s in self.qspecs + self.fspecs if s.name.startswith("arm")]
        opt = torch.optim.Adam(params, lr=self.cfg.lr * LR_RATIOS["arm"])
        q = self.rounded()
        start, done = time.perf_counter(), 0
        for _ in range(epochs):
            if self._out_of_time(start, seconds):
                break
            bits = arm_bits(q, self.exps, self.p)
            opt.zero_grad(set_to_none=True)
            bits.backward()
            opt.step()
            done += 1
            self._tick()
        return done

    @torch.no_grad()
    def fit_step(self) -> None:
        """Scale the latents (and inversely the gains) so their rounded bits meet the target (bisection)."""
        base = [t.detach().clone() for t in self.latents]

        def bits_at(log_a: float) -> float:
            a = 2.0**log_a
            q = [torch.clamp(torch.round(t * a), -MAX_LATENT, MAX_LATENT) for t in base]
            return float(arm_bits(q, exponents(q, skip=True), self.p))

        lo, hi = -4.0, 4.0
        if bits_at(0.0) > self.target_bits:
            hi = 0.0
        else:
            lo = 0.0
        for _ in range(STEP_SEARCH_ITERS):
            mid = 0.5 * (lo + hi)
            if bits_at(mid) > self.target_bits:
                hi = mid
            else:
                lo = mid
        a = 2.0**lo
        for t, b in zip(self.latents, base):
            t.copy_(b * a)
        self.p["gain"].div_(a)
        self.step /= a
        self.lam = math.log(2) / 6 * self.step**2
        self.exps = exponents(self.latents)

    def _optimizer(self, lr: float) -> torch.optim.Adam:
        """Adam over every tensor, each group at its fraction of ``lr`` (``LR_RATIOS``)."""
        names = {"arm": [n for n in self.p if n.startswith("arm")], "linear": ["gain", "basis", "mean"],
                 "mlp": [n for n in self.p if n.startswith("mlp")]}
        groups = [{"params": self.latents, "lr": lr * LR_RATIOS["latents"]}]
        groups += [{"params": [self.p[n] for n in ns], "lr": lr * LR_RATIOS[g]} for g, ns in names.items() if ns]
        return torch.optim.Adam(groups)

    def _rd_step(self, opt: torch.optim.Optimizer, grids: list[torch.Tensor], p: dict[str, torch.Tensor]) -> torch.Tensor:
        """One optimisation step on ``D + lambda R`` for these (noisy or straight-through) grids; the loss."""
        rec = synthesise(grids, p, self.st, self.rows, self.cols)
        loss = ((rec - self.y) ** 2).mean() + self.lam * arm_bits(grids, self.exps, p) / self.voxels
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        self._tick()
        return loss.detach()

    def main(self, epochs: int, seconds: float | None) -> int:
        """D + lambda R with uniform noise for rounding; lambda steered towards the target bits."""
        opt = self._optimizer(self.cfg.lr)
        base = [g["lr"] for g in opt.param_groups]
        warm = max(1, epochs // 20)
        start, done = time.perf_counter(), 0
        for it in range(epochs):
            if self._out_of_time(start, seconds):
                break
            f = min(1.0, (it + 1) / warm) * 0.5 * (1 + math.cos(math.pi * it / epochs))
            for g, b in zip(opt.param_groups, base):
                g["lr"] = b * f
            noisy = [t + (torch.rand(t.shape, generator=self.noise_gen) - 0.5) for t in self.latents]
            loss = self._rd_step(opt, noisy, self.p)
            done += 1
            if (it + 1) % CONTROL_EVERY == 0 or it + 1 == epochs:
                hard, _ = self.measure()
                err = hard / self.target_bits - 1.0
                self.lam *= math.exp(max(-CONTROL_CLAMP, min(CONTROL_CLAMP, CONTROL_GAIN * err)))
                self._log("main", float(loss))
        return done

    def finetune(self, epochs: int, seconds: float | None) -> int:
        """Hard rounding (straight-through) with the stored precision simulated, small learning rate."""
        self.exps = exponents(self.latents)
        opt = self._optimizer(self.cfg.lr * FINETUNE_LR_FACTOR)
        start, done = time.perf_counter(), 0
        for _ in range(epochs):
            if self._out_of_time(start, seconds):
                break
            hard = [t + (torch.clamp(torch.round(t), -MAX_LATENT, MAX_LATENT) - t).detach() for t in self.latents]
            self._rd_step(opt, hard, self.effective(qat=True))
            done += 1
        self._log("tune", float("nan"))
        return done

    def run(self) -> TrainResult:
        cfg = self.cfg
        total = cfg.total_epochs
        budget = cfg.time_budget_s
        share = (lambda e: None) if budget is None else (lambda e: budget * e / total)
        self.pbar = progress_bar(total, f"coolchic k{self.st.k} L{self.st.levels}", cfg.progress)
        try:
            self.t0 = time.perf_counter()
            half = max(1, cfg.warmup_epochs // 2)
            runs = {"warmup": self.warm_arm(half, share(half))}
            self.fit_step()
            rest = cfg.warmup_epochs - half
            runs["warmup"] += self.warm_arm(rest, share(rest))
            self._log("warm", float("nan"))
            runs["main"] = self.main(cfg.main_epochs, share(cfg.main_epochs))
            runs["finetune"] = self.finetune(cfg.finetune_epochs, share(cfg.finetune_epochs))
        finally:
            self.pbar.close()
        p = {k: v.detach() for k, v in self.p.items()}
        return TrainResult(
            qtensors=[p[s.name].numpy().copy() for s in self.qspecs], ftensors=[p[s.name].numpy().copy() for s in self.fspecs],
            latents=[t.detach().numpy().copy() for t in self.latents], exps=self.exps.numpy().copy(), lam=self.lam,
            step=self.step, curve=self.curve, epochs_run=runs, stopped_by_time=self.stopped_by_time,
        )
