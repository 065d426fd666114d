"""Training: overfit the generator to one cube, prune its FC layer, fold BN, quantisation-aware tune.

Phases, each with its own epoch count from the resolved schedule (:mod:`.schedule`; one epoch =
one optimisation step on the image, or on a random subset of ``tile_batch`` tiles), sharing a
wall-clock budget (if any) in proportion to their epochs:

1. main training of the paper's network (Adam, ``lr``, loss ``mean |y - y_hat|^p``) for
   ``main_epochs``, with mixed precision on CUDA when ``amp`` is on;
2. pruning (if ``prune > 0``): ``prune_rounds`` rounds, each removing the FC weights of lowest
   L1 magnitude up to its share of the requested fraction, then retraining (the paper's
   scheme); ``prune_epochs`` in all, on top of the main epochs;
3. BatchNorm folded into the convolutions (:func:`model.fold_batchnorm`);
4. ``finetune_epochs`` of the folded network in float32 with the storage precision simulated
   (straight-through fake quantisation per output channel for 8-bit weights, float16 rounding
   for half precision).  None for float32 weights of a single image trained without mixed
   precision, where folding is exact (:func:`.schedule.needs_finetune`).

Without a time budget the trainer saves its state every few minutes and at the end of each
phase in the runner's checkpoint folder (:mod:`..checkpoint`), and a killed training resumes from
there to the same bytes.  The result is the deployed tensors the storage module writes.  This
module imports torch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..checkpoint import Store
from ..quant import fake_half, fake_quant, oom_types  # noqa: F401  (oom_types: re-exported for the codec)
from ..runtime import progress_bar
from .model import Generator, deployed_forward, fold_batchnorm
from .schedule import TrainConfig
from .structure import Geometry, Structure, layout, pruned_count
from .tiling import TileGrid


@dataclass
class TrainResult:
    """The deployed tensors (float32 numpy, ``layout`` order), the FC mask and what happened."""

    params: list[np.ndarray]
    mask: np.ndarray | None
    qmax: int
    curve: list[list[float]] = field(default_factory=list)
    epochs_run: dict[str, int] = field(default_factory=dict)
    stopped_by_time: bool = False
    seconds: float = 0.0
    deterministic: bool = True
    snapshots: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (epoch, normalised band image)
    resumed_at_epoch: int | None = None  # resumed from a checkpoint saved after this many epochs
    seconds_before_resume: float = 0.0  # training seconds of the processes before the resume


def loss_fn(out: torch.Tensor, y: torch.Tensor, p: float) -> torch.Tensor:
    """The paper's loss: mean |y - y_hat|^p."""
    d = (out - y).abs()
    if p == 1.0:
        return d.mean()
    if p == 2.0:
        return (d * d).mean()
    return d.pow(p).mean()


class Trainer:
    """Runs the phases for one structure on one normalised cube (band-first, values in [-1, 1]).

    With a ``grid`` the target is cut into tiles: a ``TileGrid`` cuts one cube, an ``ImageStack``
    cuts a stack ``(images, bands, rows, cols)`` of several images learnt by one network.
    """

    def __init__(
        self,
        target: np.ndarray,
        latents: np.ndarray,
        geo: Geometry,
        st: Structure,
        cfg: TrainConfig,
        grid: TileGrid | None = None,
    ):
        self.target, self.geo, self.st, self.cfg, self.grid = target, geo, st, cfg, grid
        self.device = torch.device(cfg.device)
        self.cuda = self.device.type == "cuda"
        self.z_all = torch.from_numpy(latents).to(self.device)
        self.n_tiles = latents.shape[0]
        self.rng = np.random.default_rng(cfg.seed)
        self.batch = min(max(1, cfg.tile_batch), self.n_tiles)
        self.curve: list[list[float]] = []
        self.epoch = 0
        self.t0 = 0.0
        self.pbar = None
        self.stopped_by_time = False
        if self.n_tiles == 1:
            self.y_full = torch.from_numpy(np.ascontiguousarray(target[None])).to(self.device)
        if self.cuda and cfg.amp:  # bfloat16 where the GPU has it
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            self.amp_dtype = None
        self.e_main = max(1, int(cfg.main_epochs))
        self.e_pr = int(cfg.prune_epochs) if st.prune > 0 else 0
        self.e_ft = int(cfg.finetune_epochs)
        self.total = self.e_main + self.e_pr + self.e_ft
        self.log_every = cfg.log_every if cfg.log_every > 0 else max(1, self.total // 100)
        self.snap_epochs: set[int] = set()
        if cfg.snapshots > 0:
            grid_e = np.geomspace(1, self.total, cfg.snapshots) if cfg.snapshots > 1 else [self.total]
            self.snap_epochs = {int(round(e)) for e in grid_e} | {self.total}
        self.snapshots: list[tuple[int, np.ndarray]] = []
        self.store = Store(None, "")
        self.saved_at = 0.0
        self.earlier_s = 0.0  # training seconds of earlier processes (resumed from a checkpoint)

    # -- data -------------------------------------------------------------------------------
    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.n_tiles == 1:
            return self.z_all, self.y_full
        if self.batch >= self.n_tiles:
            idx = np.arange(self.n_tiles)
        else:
            idx = np.sort(self.rng.choice(self.n_tiles, self.batch, replace=False))
        y = torch.from_numpy(self.grid.cut(self.target, idx)).to(self.device, non_blocking=True)
        return self.z_all[torch.from_numpy(idx).to(self.device)], y

    # -- one phase ----------------------------------------------------------------------------
    def _phase(
        self,
        name: str,
        forward: Callable[[torch.Tensor], torch.Tensor],
        params: list[torch.Tensor],
        epochs: int,
        lr: float,
        seconds: float | None,
        post_step: Callable[[], None] | None = None,
        amp: bool = False,
        opt: torch.optim.Optimizer | None = None,
        save: Callable[[int], None] | None = None,
    ) -> int:
        """Run ``epochs`` steps; ``save(done)`` checkpoints every ``store.every_s`` seconds and at the end."""
        opt = opt or torch.optim.Adam(params, lr=lr)
        use_amp = amp and self.amp_dtype is not None
        scaler = None
        if use_amp and self.amp_dtype == torch.float16:  # GPUs without bfloat16: loss scaling
            if hasattr(torch.amp, "GradScaler"):
                scaler = torch.amp.GradScaler("cuda")
            else:  # torch < 2.3
                scaler = torch.cuda.amp.GradScaler()
        start = time.perf_counter()
        done = 0
        for _ in range(epochs):
            if seconds is not None and time.perf_counter() - start > seconds:
                self.stopped_by_time = True
                break
            z, y = self._batch()
            with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype or torch.float32, enabled=use_amp):
                out = forward(z)
            loss = loss_fn(out.float(), y, self.cfg.p)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            if post_step is not None:
                post_step()
            done += 1
            self.epoch += 1
            if self.epoch in self.snap_epochs:  # the output this epoch trained on (tile 0 when tiled)
                with torch.no_grad():
                    img = out if self.n_tiles == 1 else forward(self.z_all[:1])
                    self.snapshots.append((self.epoch, img[0, self.cfg.snapshot_band].float().cpu().numpy()))
            if self.epoch % self.log_every == 0 or self.epoch == self.total:
                with torch.no_grad():
                    mse = float(((out.detach().float() - y) ** 2).mean())
                    psnr = 10 * math.log10(4.0 / mse) if mse > 0 else float("inf")
                if self.cuda:
                    torch.cuda.synchronize()
                self.curve.append([self.epoch, round(time.perf_counter() - self.t0, 4), float(loss.detach()), round(psnr, 4)])
                if self.pbar is not None:
                    self.pbar.set_postfix_str(f"{name} loss={float(loss.detach()):.3e} psnr={psnr:.2f}dB", refresh=False)
            if self.pbar is not None:
                self.pbar.update(1)
            if save is not None and time.perf_counter() - self.saved_at >= self.store.every_s:
                save(done)
                self.saved_at = time.perf_counter()
        if save is not None and done:
            save(done)
            self.saved_at = time.perf_counter()
        return done

    # -- checkpoints ----------------------------------------------------------------------------
    def _common_state(self, runs: dict[str, int]) -> dict:
        """What every checkpoint holds besides the tensors of its stage."""
        return {
            "epoch": self.epoch, "runs": dict(runs), "curve": [list(c) for c in self.curve],
            "snapshots": [(e, torch.from_numpy(img.copy())) for e, img in self.snapshots],
            "rng": self.rng.bit_generator.state, "seconds": self.earlier_s + time.perf_counter() - self.t0,
            "stopped_by_time": self.stopped_by_time,
        }

    def _restore_common(self, saved: dict) -> dict[str, int]:
        """Put the bookkeeping of a checkpoint back; returns the epochs each phase had run."""
        self.epoch = int(saved["epoch"])
        self.curve = [list(c) for c in saved["curve"]]
        self.snapshots = [(int(e), t.numpy()) for e, t in saved["snapshots"]]
        self.rng.bit_generator.state = saved["rng"]
        self.earlier_s = float(saved["seconds"])
        self.stopped_by_time = bool(saved["stopped_by_time"])
        self.t0 = time.perf_counter() - self.earlier_s  # the curve's clock goes on from there
        if self.pbar is not None:
            self.pbar.update(self.epoch)
        return {k: int(v) for k, v in saved["runs"].items()}

    # -- all phases ---------------------------------------------------------------------------
    def run(self, choose_qmax: Callable[[list[np.ndarray], np.ndarray | None], int],
            store: Store | None = None) -> TrainResult:
        """Train, prune, fold, fine-tune; ``choose_qmax(params, mask)`` picks the 8-bit levels.

        With a ``store`` (and no time budget) the state is checkpointed as it goes and a saved
        state of this very training is resumed (:mod:`..checkpoint`).
        """
        cfg, st, geo = self.cfg, self.st, self.geo
        self.store = store if store is not None and cfg.time_budget_s is None else Store(None, "")
        saved = self.store.load()
        # CPU kernels are deterministic for a fixed thread count (tests check same bytes); CUDA's
        # bilinear-upsampling backward uses atomics and has no deterministic kernel.
        deterministic = not self.cuda
        cudnn = torch.backends.cudnn
        saved_flags = (cudnn.benchmark, cudnn.allow_tf32)
        if self.cuda:
            cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest convolution once
        try:
            self.pbar = progress_bar(self.total, f"gnn b{st.blocks} c{st.channels} {st.weights}", cfg.progress)
            self.t0 = time.perf_counter()
            self.saved_at = self.t0
            runs: dict[str, int] = {}
            resumed_at = None
            if saved is not None:
                runs = self._restore_common(saved)
                resumed_at = self.epoch
            budget = cfg.time_budget_s
            share = (lambda e: None) if budget is None else (lambda e: budget * e / self.total)

            if saved is None or saved["stage"] == "train":
                deployed, mask_t = self._train(saved, runs, share)
                mask_np = None if mask_t is None else mask_t.cpu().numpy()
                qmax = 127
                if st.weights == "int8":
                    qmax = int(choose_qmax([p.cpu().numpy() for p in deployed], mask_np))
                leaves = [p.detach().clone().requires_grad_(True) for p in deployed]
                ft_done, ft_opt = 0, None
            else:  # resumed in the fine-tune
                mask_t = saved["mask"].to(self.device) if saved["mask"] is not None else None
                mask_np = None if mask_t is None else mask_t.cpu().numpy()
                qmax = int(saved["qmax"])
                leaves = [t.to(self.device).requires_grad_(True) for t in saved["leaves"]]
                ft_done, ft_opt = int(saved["done"]), saved["opt"]

            if self.cuda:
                cudnn.allow_tf32 = False  # the fine-tune sees the float32 arithmetic the CPU decoder uses
            if self.e_ft > 0:
                runs["finetune"] = runs.get("finetune", 0) + self._finetune(leaves, mask_t, qmax, ft_done, ft_opt, runs,
                                                                            share)
            params = [p.detach().float().cpu().numpy().copy() for p in leaves]
            self.store.clear()
            return TrainResult(
                params=params, mask=mask_np, qmax=qmax, curve=self.curve, epochs_run=runs,
                stopped_by_time=self.stopped_by_time, seconds=self.earlier_s + time.perf_counter() - self.t0,
                deterministic=deterministic, snapshots=self.snapshots, resumed_at_epoch=resumed_at,
                seconds_before_resume=self.earlier_s,
            )
        finally:
            if self.pbar is not None:
                self.pbar.close()
            cudnn.benchmark, cudnn.allow_tf32 = saved_flags

    def _train(self, saved: dict | None, runs: dict[str, int], share) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """Main training and pruning rounds (from a checkpoint when ``saved``); the BN-folded tensors and the mask."""
        cfg, st, geo = self.cfg, self.st, self.geo
        with torch.random.fork_rng(devices=[]):  # initialise on the CPU: same weights on every device
            torch.manual_seed(cfg.seed)
            model = Generator(geo, st)
        model = model.to(self.device)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        mask_t = None
        first, done_before = 0, 0
        if saved is not None:
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["opt"])
            mask_t = saved["mask"].to(self.device) if saved["mask"] is not None else None
            first, done_before = int(saved["segment"]), int(saved["done"])
        # segment 0: the main training; segment r >= 1: pruning round r (mask applied when it starts)
        rounds = max(1, cfg.prune_rounds) if st.prune > 0 else 0
        segments = [self.e_main] + [self.e_pr // rounds + (1 if r <= self.e_pr % rounds else 0)
                                    for r in range(1, rounds + 1)]
        w = model.fc.weight
        total_pruned = pruned_count(w.numel(), st.prune) if rounds else 0
        for seg in range(first, len(segments)):
            name = "main" if seg == 0 else "prune"
            done = done_before if seg == first else 0
            if seg >= 1 and (seg > first or saved is None):  # pruning round `seg` starts here
                mask_t = _prune(w, mask_t, int(round(total_pruned * seg / rounds)))
            hook = None if seg == 0 else _keep_pruned(w, mask_t)

            def save(n: int, name=name, seg=seg, done=done, m=mask_t) -> None:
                ran = {**runs, name: runs.get(name, 0) + n}
                self.store.save({**self._common_state(ran), "stage": "train", "segment": seg, "done": done + n,
                                 "model": model.state_dict(), "opt": opt.state_dict(), "mask": m})

            e = segments[seg] - done
            ran = self._phase("train" if seg == 0 else "prune", model, [], e, cfg.lr, share(e), hook, amp=True,
                              opt=opt, save=save if self.store.enabled else None)
            runs[name] = runs.get(name, 0) + ran
        if rounds:
            runs.setdefault("prune", 0)
        runs.setdefault("main", 0)
        deployed = fold_batchnorm(model, self.z_all)
        if mask_t is not None:
            deployed[0] = deployed[0] * mask_t
        return deployed, mask_t

    def _finetune(self, leaves: list[torch.Tensor], mask_t: torch.Tensor | None, qmax: int, done: int,
                  opt_state: dict | None, runs: dict[str, int], share) -> int:
        """The float32 fine-tune of the folded network with the stored precision simulated; epochs run."""
        st, geo = self.st, self.geo
        specs = layout(geo, st)

        def effective() -> list[torch.Tensor]:
            out = []
            for p, spec in zip(leaves, specs):
                if st.weights == "int8" and spec.quantised:
                    out.append(fake_quant(p, spec.groups, qmax))
                elif st.weights == "float16":
                    out.append(fake_half(p))
                else:
                    out.append(p)
            return out

        def fwd(z: torch.Tensor) -> torch.Tensor:
            return deployed_forward(effective(), z, geo, st)

        def keep_pruned_ft() -> None:
            if mask_t is not None:
                with torch.no_grad():
                    leaves[0].mul_(mask_t)

        opt = torch.optim.Adam(leaves, lr=self.cfg.finetune_lr)
        if opt_state is not None:
            opt.load_state_dict(opt_state)

        def save(n: int) -> None:
            r = dict(runs)
            r["finetune"] = r.get("finetune", 0) + n
            self.store.save({**self._common_state(r), "stage": "finetune", "done": done + n, "opt": opt.state_dict(),
                             "leaves": [p.detach().cpu() for p in leaves], "mask": mask_t, "qmax": qmax})

        e = self.e_ft - done
        return self._phase("tune", fwd, leaves, e, self.cfg.finetune_lr, share(e), keep_pruned_ft, opt=opt,
                           save=save if self.store.enabled else None)


def _prune(w: torch.Tensor, mask: torch.Tensor | None, k: int) -> torch.Tensor:
    """The mask that removes the ``k`` FC weights of lowest magnitude (the paper's L1 pruning), applied to ``w``."""
    with torch.no_grad():
        kept = mask if mask is not None else torch.ones_like(w, dtype=torch.bool)
        mag = (w.detach() * kept).abs().reshape(-1).cpu().numpy()
        order = np.argsort(mag, kind="stable")  # device-independent tie order
        m = np.ones(w.numel(), dtype=bool)
        m[order[:k]] = False
        mask = torch.from_numpy(m.reshape(w.shape)).to(w.device)
        w.mul_(mask)
    return mask


def _keep_pruned(w: torch.Tensor, mask: torch.Tensor) -> Callable[[], None]:
    """A post-step hook that keeps the pruned weights at zero."""
    def hook() -> None:
        with torch.no_grad():
            w.mul_(mask)
    return hook


@torch.no_grad()
def generate(
    params: list[np.ndarray], latents: np.ndarray, geo: Geometry, st: Structure, grid: TileGrid | None, chunk: int = 4
) -> np.ndarray:
    """Run the deployed network on the CPU in float32: band-first ``(bands, rows, cols)`` output.

    This is the decoder's forward pass (and the encoder's check of what the decoder gets).
    """
    tensors = [torch.from_numpy(np.ascontiguousarray(p, dtype=np.float32)) for p in params]
    z = torch.from_numpy(np.ascontiguousarray(latents, dtype=np.float32))
    outs = [deployed_forward(tensors, z[i : i + chunk], geo, st).numpy() for i in range(0, z.shape[0], chunk)]
    tiles = np.concatenate(outs, axis=0)
    if grid is None:
        return tiles[0]
    return grid.blend(tiles)
