"""The ``gnn`` codec: a generator network overfitted to the cube is the compressed cube.

Deng, Cen & Zhang, "Learning-Based Hyperspectral Imagery Compression through Generative Neural
Networks", Remote Sensing 2020, 12(21), 3657.  Encoding normalises the cube to [-1, 1], picks a
structure for the rate (``structure.search``), trains it (``train.Trainer``), and stores the
BN-folded weights (``storage``).  Decoding rebuilds the network from the bytes and runs it on the
CPU in float32, so every decoder gets the same cube whatever device trained it; the encoder
decodes its own bytes and records the PSNR that decoders get.

The training schedule is a named policy (``schedule=auto|paper|quick``, :mod:`.schedule`):

* ``paper`` (the default on CUDA): the paper's 15 000 main-phase epochs at lr 5e-4, pruning
  rounds and fine-tunes on top, no time budget; on CUDA, bfloat16 autocast for the main
  training and the pruning rounds (``amp=false`` turns it off; the final fine-tune is float32).
* ``quick`` (the default on the CPU): lr 5e-3, main epochs = 1e11 / (3 x forward MACs of a
  step) clamped to 300..2000, the rate search keeps networks small enough for 300 such epochs
  (so high rates may stay below the target), and a 20 s training budget per encode as a safety
  net (``info["stopped_by_time_budget"]`` says when it cut training; bytes are then not
  reproducible).

On the CPU, training uses every core this process may run on, except 1 thread for tiny networks
(``threads=`` fixes it).  ``info["schedule"]`` holds the resolved schedule, ``info["epochs_run"]``
the epochs each phase ran.

Several images in one network (the paper's "the embedding gives each image its own latent
code")::

    codec = hsibench.codecs.get("gnn[epochs=300]")
    data = codec.encode_images([cube_a, cube_b], bpppb=2.0)   # one ordinary hsibench container
    cube_a2, cube_b2 = hsibench.codecs.get("gnn").decode_images(data)

The cubes must share (rows, cols, bands) and dtype (``InvalidCubeError`` otherwise); each image
is its own "tile" with its own latent (``tiling.ImageStack``; with ``tile=`` each image is also
tiled), is min-max normalised with its own min and max, and the header holds ``images`` and the
lists of mins and maxs.  The rate counts all images' voxels: ``8 * len(data) / (images * rows *
cols * bands)``; ``info["psnr_decoded"]`` is then a list, one PSNR per image.  Keyed streams
derive image ``i``'s latent from the key and ``i``; decode them with ``decode_images(data,
key=K)``.  ``decode`` of a multi-image stream raises ``MultiImageStreamError`` (a
``CorruptDataError``) that points to ``decode_images``: the contract's ``decode`` returns one
cube of the header's shape.  ``encode_images`` of one cube writes exactly ``encode``'s stream,
and ``decode_images`` of an ordinary stream returns a list of one cube.

This module does not import torch at import time: ``import hsibench.codecs`` works without it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ....errors import (
    DeviceMemoryError,
    CorruptDataError,
    InvalidCubeError,
    InvalidParameterError,
    InvalidRateError,
    KeyRequiredError,
    MultiImageStreamError,
)
from ... import limits
from ...base import Codec, Header, Param, as_output, budget_bytes, register, validate_cube, validate_rate
from .. import checkpoint, storage
from ..runtime import require_torch, training_device
from . import schedule, stream
from .latent import latent_codes
from .structure import Geometry, Structure, layout, max_blocks, param_count, payload_size, search
from .tiling import ImageStack, TileGrid

QMAX_STEPS = storage.QMAX_STEPS
FORMAT, MAX_IMAGES = stream.FORMAT, stream.MAX_IMAGES


def _torch():
    return require_torch("gnn")


def _positive(v: Any) -> bool:
    return v > 0


def _denormalise(y_bhw: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Network output in [-1, 1], band-first, back to a float32 ``(rows, cols, bands)`` cube in [lo, hi]."""
    x = (y_bhw.astype(np.float64) + 1.0) * 0.5 * (hi - lo) + lo
    return np.clip(x, lo, hi).transpose(1, 2, 0).astype(np.float32)


@register
class GNNCodec(Codec):
    """Generative-network codec: the network's stored weights are the compressed cube."""

    name = "gnn"
    revision = 1  # bump when the bytes or quality for the same inputs change (tests/test_golden.py)
    stochastic = True
    summary = "generator network overfitted to the cube (Deng, Cen & Zhang 2020), pruned, quantised, keyed, tiled"
    params = {
        "blocks": Param(int, None, "upsampling blocks (auto: chosen for the rate)", lambda v: 1 <= v <= 8, "1..8", optional=True),
        "channels": Param(int, None, "channels per block (auto: chosen for the rate)", lambda v: 1 <= v <= 256, "1..256",
                          optional=True),
        "prune": Param(float, None, "fraction of FC weights pruned (auto: chosen for the rate; the paper: 0.67)",
                       lambda v: 0 <= v <= 0.99, "in [0, 0.99]", optional=True),
        "weights": Param(str, None, "stored weight precision (auto: chosen for the rate)",
                         choices=("float32", "float16", "int8"), optional=True),
        "latent": Param(int, 50, "length of the latent code", lambda v: 1 <= v <= 4096, "1..4096"),
        "p": Param(float, 1.5, "loss power: mean |y - y_hat|^p", lambda v: 0.5 <= v <= 4, "in [0.5, 4]"),
        "schedule": Param(str, "auto", "training schedule policy: paper (15000 main epochs, lr 5e-4), quick (CPU-sized), "
                          "auto (paper on CUDA, quick on the CPU)", choices=schedule.POLICIES),
        "lr": Param(float, None, "Adam learning rate (auto: the schedule's: 5e-4 paper, 5e-3 quick)",
                    _positive, "> 0", optional=True),
        "epochs": Param(int, None, "main-phase training epochs; pruning and fine-tune epochs come on top "
                        "(auto: the schedule's: 15000 paper, a compute budget quick)", _positive, "> 0", optional=True),
        "time_budget_s": Param(float, None, "wall-clock training budget in seconds (auto: the schedule's: none paper, "
                               "20 quick)", _positive, "> 0", optional=True),
        "seed": Param(int, 0, "seed of the latent code, initial weights and tile sampling", lambda v: 0 <= v < 2**63,
                      "in [0, 2^63)"),
        "device": Param(str, "auto", "training device", choices=("auto", "cpu", "cuda")),
        "amp": Param(bool, True, "mixed precision (bfloat16) for the main training on CUDA"),
        "keyed": Param(bool, False, "derive the latent from a secret key that is not stored"),
        "key": Param(int, None, "the secret key of a keyed stream (implies keyed=true)", optional=True),
        "tile": Param(int, 0, "train tiles of this many pixels square, one latent each (0: whole image)",
                      lambda v: v == 0 or v >= 2, "0 or >= 2"),
        "overlap": Param(int, None, "tile overlap in pixels (auto: tile / 8)", lambda v: v >= 0, ">= 0", optional=True),
        "tile_batch": Param(int, 4, "tiles per training step", _positive, "> 0"),
        "prune_rounds": Param(int, 3, "prune-and-retrain rounds", _positive, "> 0"),
        "log_every": Param(int, 0, "training-curve interval in epochs (0: about 100 points)", lambda v: v >= 0, ">= 0"),
        "snapshots": Param(int, 0, "keep the output band image at this many log-spaced epochs in info (paper Fig. 9)",
                           lambda v: 0 <= v <= 50, "0..50"),
        "snapshot_band": Param(int, None, "band of the snapshots (auto: the middle band)", lambda v: v >= 0, ">= 0",
                               optional=True),
        "progress": Param(bool, True, "progress bar on stderr (also off when not a terminal or HSIBENCH_NO_PROGRESS is set)"),
        "threads": Param(int, None, "torch CPU threads while encoding (auto: 1 for tiny networks, else every core)",
                         _positive, "> 0", optional=True),
    }

    def __init__(self, **params: Any):
        super().__init__(**params)
        cfg = self.config
        if cfg["key"] is not None:
            cfg["keyed"] = True
        if cfg["keyed"] and cfg["key"] is None:
            raise InvalidParameterError("gnn[keyed=true] needs the secret key: give key=<integer>")
        if cfg["tile"] and cfg["overlap"] is not None and cfg["overlap"] >= cfg["tile"]:
            raise InvalidParameterError("gnn: overlap must be smaller than tile")

    def secrets(self) -> dict[str, Any]:
        return {"key": self.config["key"]} if self.config["keyed"] else {}

    def _device(self) -> str:
        """The training device ``device=auto`` resolves to on this machine (an error if CUDA is asked and absent)."""
        return training_device(self.config["device"], "gnn")

    def resolved(self) -> dict[str, Any]:
        """The configuration as it will train here: device, schedule policy, lr, epochs, amp, threads.

        What the runner's task key hashes, so a rerun on another device or with another
        schedule runs again.  The secret key is never part of it, and the progress bar is not.
        """
        cfg = {k: v for k, v in self.config.items() if k not in ("progress", "key")}
        pol = schedule.policy(self.config, self._device())
        cfg.update(device=pol.device, schedule=pol.name, lr=pol.lr,
                   epochs=pol.main_epochs if pol.main_epochs is not None else "compute-budget",
                   time_budget_s=pol.time_budget_s, amp=pol.amp, threads=pol.threads)
        return cfg

    # ------------------------------------------------------------------------------------------
    # geometry and rate
    # ------------------------------------------------------------------------------------------
    def _geometry(self, shape: tuple[int, int, int], images: int = 1) -> tuple[Geometry, TileGrid | ImageStack | None]:
        """The generated image's geometry and the tiles of one cube, or of ``images`` cubes of ``shape``."""
        rows, cols, bands = shape
        cfg = self.config
        grid = None
        if cfg["tile"] and cfg["tile"] < max(rows, cols):
            overlap = cfg["overlap"] if cfg["overlap"] is not None else cfg["tile"] // 8
            grid = TileGrid(rows, cols, cfg["tile"], min(overlap, cfg["tile"] - 1))
            geo = Geometry(grid.th, grid.tw, bands, cfg["latent"], len(grid), cfg["keyed"])
        else:
            geo = Geometry(rows, cols, bands, cfg["latent"], 1, cfg["keyed"])
        top = max_blocks(geo)
        what = "tiles" if grid else "the cube"
        if top == 0:
            raise InvalidCubeError(f"gnn needs {what} at least 2x2 pixels; got {geo.out_h}x{geo.out_w}")
        b = cfg["blocks"]
        if b is not None and b > top:
            raise InvalidCubeError(
                f"gnn[blocks={b}] needs {what} at least 2^{b} = {1 << b} pixels in rows and columns "
                f"(and more than 2^{b} in one of them); got {geo.out_h}x{geo.out_w} (use blocks <= {top})"
            )
        if images > 1:  # every image (or every tile of every image) is a tile with its own latent
            grid = ImageStack(images, rows, cols, grid)
            geo = replace(geo, n_tiles=len(grid))
        return geo, grid

    def _header_params(self, lo: float | list[float], hi: float | list[float], st: Structure | None, qmax: int,
                       grid: TileGrid | ImageStack | None, images: int = 1) -> dict:
        """What decode needs; a multi-image stream adds ``images`` and lists ``min`` and ``max`` per image."""
        cfg = self.config
        hp: dict[str, Any] = {"v": FORMAT, "min": lo, "max": hi}
        if images > 1:
            hp["images"] = images
        if isinstance(grid, ImageStack):
            grid = grid.grid
        if st is None:
            return hp
        hp.update(blocks=st.blocks, channels=st.channels, weights=st.weights, prune=round(st.prune, 4), latent=cfg["latent"])
        if st.weights == "int8":
            hp["qmax"] = qmax
        if cfg["keyed"]:
            hp["keyed"] = True
        else:
            hp["seed"] = cfg["seed"]
        if grid is not None:
            hp["tile"] = [grid.tile, grid.overlap]
        return hp

    # ------------------------------------------------------------------------------------------
    # encode
    # ------------------------------------------------------------------------------------------
    def encode_images(self, cubes: Sequence[np.ndarray], *, bpppb: float) -> bytes:
        """Compress several same-shape cubes into one network: one stream, one rate for all.

        The paper's embedding gives each image its own latent code, so one generator learns all
        of them (each image a "tile" with its own latent; with ``tile=`` each image is also cut
        into tiles).  Every image is min-max normalised with its own min and max (stored in the
        header).  The cubes must share (rows, cols, bands) and dtype.  The rate counts the voxels
        of all images: ``bpppb = 8 * len(data) / (images * rows * cols * bands)``.  Decode with
        :meth:`decode_images`; a single cube gives exactly :meth:`encode`'s stream.
        """
        if isinstance(cubes, np.ndarray) and cubes.ndim != 4:
            raise InvalidCubeError(
                f"encode_images takes a list of (rows, cols, bands) cubes (or one 4-D stack); got an array of "
                f"shape {cubes.shape} (use encode() for one cube)"
            )
        cubes = [validate_cube(c) for c in cubes]
        if not cubes:
            raise InvalidCubeError("encode_images needs at least one cube; got none")
        if len(cubes) > MAX_IMAGES:
            raise InvalidCubeError(f"encode_images takes at most {MAX_IMAGES} cubes; got {len(cubes)}")
        first = cubes[0]
        for i, c in enumerate(cubes[1:], 1):
            if c.shape != first.shape or c.dtype != first.dtype:
                raise InvalidCubeError(
                    "gnn encode_images needs cubes of one shape (rows, cols, bands) and dtype: cube 0 is "
                    f"{first.shape} {first.dtype}, cube {i} is {c.shape} {c.dtype}; crop them to a common "
                    "shape, or encode them separately"
                )
        rate = validate_rate(bpppb, first.dtype)
        self.info = {}
        return self._encode_stack(cubes, rate)

    def _encode(self, cube: np.ndarray, bpppb: float) -> bytes:
        return self._encode_stack([cube], bpppb)

    def _encode_stack(self, cubes: list[np.ndarray], bpppb: float) -> bytes:
        """Encode one cube (an ordinary stream) or several validated same-shape cubes (``images`` > 1)."""
        cfg = self.config
        cube = cubes[0]  # the shape and dtype every image shares, for the header
        n = len(cubes)
        multi = n > 1
        rows, cols, bands = cube.shape
        voxels = n * cube.size
        what = f"{n} cubes of {rows}x{cols}x{bands}" if multi else f"a {rows}x{cols}x{bands} cube"
        budget = budget_bytes(bpppb, (n, *cube.shape))
        los, his = [float(c.min()) for c in cubes], [float(c.max()) for c in cubes]
        lo, hi = (los, his) if multi else (los[0], his[0])  # what the header stores
        if all(a == b for a, b in zip(los, his)):  # constant cubes: nothing to learn, the header says it all
            hp = self._header_params(lo, hi, None, 0, None, n)
            if self._header_size(cube, hp) > budget:
                raise InvalidRateError(
                    f"gnn needs {8 * self._header_size(cube, hp) / voxels:.4g} bpppb even for {what} of constant values"
                )
            self.info = {"structure": "constant", "psnr_decoded": None}  # exact: no finite PSNR
            if multi:
                self.info.update(images=n, psnr_decoded=[None] * n)
            return self._pack(cube, hp, b"")

        geo, grid = self._geometry(cube.shape, n)
        tiled = (grid.grid if isinstance(grid, ImageStack) else grid) is not None
        widest = Structure(8, 256, 0.6667, "float32")
        header_est = self._header_size(cube, self._header_params(lo, hi, widest, 127, grid, n) | {"qmax": 127})
        fixed = {k: cfg[k] for k in ("blocks", "channels", "prune", "weights")}
        torch = _torch()
        device = self._device()
        batch = min(cfg["tile_batch"], geo.n_tiles)
        cap = schedule.search_cap(schedule.policy(cfg, device), batch)  # quick CPU policy: small networks
        st, smallest = search(geo, budget - header_est, **fixed, max_step_macs=cap)
        if st is None:
            need = header_est + payload_size(geo, smallest)
            hint = " or leave more choices to the search" if any(v is not None for v in fixed.values()) else ""
            raise InvalidRateError(
                f"gnn cannot reach {bpppb:g} bpppb on {what}: the smallest network "
                f"(blocks={smallest.blocks}, channels={smallest.channels}, prune={smallest.prune:.2f}, "
                f"weights={smallest.weights}) needs about {8 * need / voxels:.4g} bpppb ({need} bytes); "
                f"ask for at least that rate{hint}"
            )

        from .train import Trainer, oom_types

        def normalised(c: np.ndarray, a: float, b: float) -> np.ndarray:  # band-first, in [-1, 1]
            y = 2.0 * (c.astype(np.float64) - a) / ((b - a) or 1.0) - 1.0  # a constant image: all -1
            return y.astype(np.float32).transpose(2, 0, 1)

        planes = [normalised(c, a, b) for c, a, b in zip(cubes, los, his)]
        target = np.stack(planes) if multi else np.ascontiguousarray(planes[0])
        del planes
        secret = cfg["key"] if cfg["keyed"] else cfg["seed"]
        latents = latent_codes(secret, geo.n_tiles, geo.latent, keyed=cfg["keyed"])
        specs = layout(geo, st)

        def total_size(params: list[np.ndarray], mask: np.ndarray | None, qmax: int) -> int:
            payload = storage.encode(params, specs, st.weights, qmax, mask)
            return len(payload) + self._header_size(cube, self._header_params(lo, hi, st, qmax, grid, n))

        def choose_qmax(params: list[np.ndarray], mask: np.ndarray | None) -> int:
            for q in QMAX_STEPS:
                if total_size(params, mask, q) <= budget:
                    return q
            return 1

        band = min(bands - 1, cfg["snapshot_band"] if cfg["snapshot_band"] is not None else bands // 2)
        tcfg = replace(schedule.resolve(cfg, geo, st, device, batch=batch), snapshot_band=band)
        threads_before = torch.get_num_threads()
        if tcfg.threads:
            torch.set_num_threads(tcfg.threads)
        folder = checkpoint.current_folder()  # the fingerprint hashes the cube: only when checkpoints are kept
        store = checkpoint.Store(folder, checkpoint.fingerprint(
            "gnn", self.revision, target, latents, geo, st, grid, replace(tcfg, progress=True), torch.__version__,
            torch.get_num_threads()) if folder is not None else "")
        t0 = time.perf_counter()
        try:
            result = Trainer(target, latents, geo, st, tcfg, grid).run(choose_qmax, store)
        except oom_types() as exc:
            if device == "cuda":
                torch.cuda.empty_cache()
            raise DeviceMemoryError(
                f"gnn ran out of {device} memory training a {geo.out_h}x{geo.out_w}x{bands} "
                f"{'tile' if tiled else 'cube'} with {st.channels} channels and {st.blocks} blocks "
                f"(tile_batch={batch}): lower channels (or the rate), set tile=<pixels> (e.g. tile=128) "
                f"to train tiles, lower tile_batch, or use device=cpu ({exc})"
            ) from None
        finally:
            if tcfg.threads:
                torch.set_num_threads(threads_before)
        train_s = time.perf_counter() - t0

        qmax = result.qmax
        while True:  # the 8-bit size was estimated before the fine-tune: make sure it fits
            payload = storage.encode(result.params, specs, st.weights, qmax, result.mask)
            hp = self._header_params(lo, hi, st, qmax, grid, n)
            if len(payload) + self._header_size(cube, hp) <= budget:
                break
            smaller = [q for q in QMAX_STEPS if q < qmax]
            if st.weights != "int8" or not smaller:
                raise InvalidRateError(
                    f"gnn: the trained network needs {8 * (len(payload) + self._header_size(cube, hp)) / voxels:.4g} "
                    f"bpppb, above the {bpppb:g} asked; ask for a slightly higher rate"
                )
            qmax = smaller[0]
        data = self._pack(cube, hp, payload)

        decoded = self._generate(storage.decode(payload, specs, st.weights, qmax), latents, geo, st, grid, lo, hi)
        psnrs, mses = [], []
        for c, out, a, b in zip(cubes, decoded if multi else [decoded], los, his):
            err = out.astype(np.float64) - c.astype(np.float64)
            mse = float(np.mean(err * err))
            psnrs.append(10 * math.log10((b - a) ** 2 / mse) if mse > 0 and b > a else None)
            mses.append(mse * 4.0 / (b - a) ** 2 if b > a else 0.0)
        self.info = {
            "structure": st.as_dict(),
            "searched": [k for k, v in fixed.items() if v is None],
            "search_step_macs_cap": cap,  # quick CPU policy: the search kept networks under this compute
            "params": param_count(geo, st),
            "qmax": qmax if st.weights == "int8" else None,
            "header_bytes": len(data) - len(payload),
            "payload_bytes": len(payload),
            "bpppb": 8 * len(data) / voxels,
            "device": device,
            "threads": tcfg.threads or threads_before,
            "amp": tcfg.amp,
            "deterministic": result.deterministic,
            "schedule": tcfg.schedule(),
            "epochs": tcfg.main_epochs,  # main-phase epochs planned (the paper's "epochs")
            "lr": tcfg.lr,
            "epochs_run": result.epochs_run,
            "time_budget_s": tcfg.time_budget_s,
            "stopped_by_time_budget": result.stopped_by_time,
            "train_seconds": round(train_s, 3),  # this process's; a resumed training adds the earlier ones
            "resumed_at_epoch": result.resumed_at_epoch,  # None: trained in one go
            "train_seconds_before_resume": round(result.seconds_before_resume, 3),
            "tiles": geo.n_tiles,
            "tile_batch": batch,
            "curve": result.curve,
            # what every decoder gets (CPU, float32, stored weights); a list of one per image when several
            "mse_normalised": mses if multi else mses[0],
            "psnr_decoded": psnrs if multi else psnrs[0],
            "psnr_training_device": result.curve[-1][3] if result.curve else None,  # last step, on `device`
        }
        if multi:
            self.info["images"] = n
        if result.snapshots:  # tile 0 belongs to image 0
            scale, lo0 = 0.5 * (his[0] - los[0]), los[0]
            self.info["snapshots"] = {
                "band": tcfg.snapshot_band,
                "tile": 0 if grid is not None else None,  # tiled runs: the first tile's image
                "epochs": [e for e, _ in result.snapshots],
                "images": [np.round((img.astype(np.float64) + 1.0) * scale + lo0, 2).tolist() for _, img in result.snapshots],
            }
        return data

    # ------------------------------------------------------------------------------------------
    # decode
    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _generate(params, latents, geo, st, grid, lo, hi) -> np.ndarray | list[np.ndarray]:
        """Run the stored network: one cube, or (``grid`` an ImageStack) a list of cubes, one per image."""
        _torch()
        from .train import generate

        y = generate(params, latents, geo, st, grid)
        if isinstance(grid, ImageStack):
            return [_denormalise(img, a, b) for img, a, b in zip(y, lo, hi)]
        return _denormalise(y, lo, hi)

    def _decode(self, header: Header, payload: bytes, *, max_voxels: int, **secrets: Any) -> np.ndarray:
        n = header.params.get("images")
        if n is not None:
            raise MultiImageStreamError(
                f"this gnn stream holds {n!r} images of {'x'.join(map(str, header.shape))} in one network: decode it "
                "with GNNCodec.decode_images(data) (e.g. hsibench.codecs.get('gnn').decode_images(data)), "
                "which returns a list of cubes"
            )
        return self._decode_stream(header, payload, secrets, max_voxels)

    def decode_images(self, data: bytes, *, max_voxels: int | None = None, **secrets: Any) -> list[np.ndarray]:
        """Rebuild every cube of an :meth:`encode_images` stream (float32, original units), in order.

        Needs nothing but the bytes (plus the key of a keyed stream).  An ordinary single-cube
        gnn stream gives a list of one cube.  ``max_voxels`` bounds all images together (see
        :meth:`Codec.decode`).
        """
        header, payload = self._open(data)
        out = self._decode_stream(header, payload, secrets, limits.max_voxels(max_voxels))
        return [as_output(c, header.shape) for c in (out if isinstance(out, list) else [out])]

    def _decode_stream(self, header: Header, payload: bytes, secrets: dict, max_voxels: int) -> np.ndarray | list[np.ndarray]:
        """Decode one cube, or a list of cubes for a multi-image stream."""
        unknown = set(secrets) - {"key"}
        if unknown:
            raise InvalidParameterError(f"gnn decode takes only key=...; got {', '.join(sorted(unknown))}")
        plan = stream.read(header.params, header.shape, max_voxels)
        if plan.constant:
            if payload:
                raise CorruptDataError("a constant gnn stream must have no payload")
            cubes = [np.full(header.shape, a, dtype=np.float32) for a in plan.los]
            return cubes if plan.multi else cubes[0]
        key = secrets.get("key")
        keyed = plan.geo.keyed
        if keyed:
            if key is None:
                raise KeyRequiredError(
                    "this gnn stream is keyed: decode it with decode(data, key=<the integer key>) "
                    "(decode_images(data, key=...) for a multi-image stream)"
                )
            if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
                raise InvalidParameterError(f"a gnn key is an integer; got {type(key).__name__}")
        params = storage.decode(payload, layout(plan.geo, plan.st), plan.st.weights, plan.qmax)  # before costly work
        latents = latent_codes(int(key) if keyed else plan.seed, plan.geo.n_tiles, plan.geo.latent, keyed=keyed)
        lo, hi = (plan.los, plan.his) if plan.multi else (plan.los[0], plan.his[0])
        return self._generate(params, latents, plan.geo, plan.st, plan.grid, lo, hi)
