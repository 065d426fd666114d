"""Training checkpoints: a long training that is killed resumes where it stopped, to the same bytes.

The runner gives every task it runs a folder (``<run>/checkpoints/<task key>``) with
:func:`checkpoints`; a trainer that runs without a time budget then saves its whole state there
(:class:`Store`) every :data:`EVERY_S` seconds and at the end of each phase, and a later
process that runs the same task loads it and continues from that epoch.  On the CPU the result is
bit-identical to an uninterrupted training (tests check the bytes): the state holds the model,
the optimiser, the pruning mask, the tile sampler's generator and the training curve, and a
*fingerprint* of everything that decides the training (target, latents, structure, schedule,
threads, torch version), so a checkpoint made for other inputs is ignored, never loaded.

Outside the runner (no folder set) nothing is saved.  A folder that cannot be written (a Dask
worker on another machine than the run folder) only disables saving, with one warning.  The
trainer removes its checkpoint when it finishes.  No torch at import.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator

EVERY_S = 120.0  # seconds of training between two saves
FILE = "training.pt"

_FOLDER: ContextVar[Path | None] = ContextVar("hsibench_checkpoint_folder", default=None)


@contextmanager
def checkpoints(folder: str | os.PathLike | None) -> Iterator[None]:
    """Let trainings in this block keep their checkpoint in ``folder`` (None: keep none)."""
    token = _FOLDER.set(Path(folder) if folder else None)
    try:
        yield
    finally:
        _FOLDER.reset(token)


def current_folder() -> Path | None:
    """The folder set by the innermost :func:`checkpoints` block, if any."""
    return _FOLDER.get()


def fingerprint(*parts: Any) -> str:
    """sha256 of what decides a training: arrays by dtype, shape and bytes, everything else by ``repr``."""
    import numpy as np

    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            h.update(f"{p.dtype.str}{p.shape}".encode())
            h.update(np.ascontiguousarray(p).data)
        else:
            h.update(repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()


class Store:
    """One training's checkpoint file in ``folder``, valid only for trainings with ``key`` (a fingerprint)."""

    def __init__(self, folder: Path | None, key: str, every_s: float | None = None):
        self.folder, self.key = folder, key
        self.every_s = EVERY_S if every_s is None else every_s
        self.enabled = folder is not None

    @property
    def path(self) -> Path | None:
        return self.folder / FILE if self.folder is not None else None

    def load(self) -> dict | None:
        """The saved state of this training, or None (no file, another training's, or unreadable)."""
        if not self.enabled or not self.path.exists():
            return None
        import torch

        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged checkpoint costs a restart, nothing more
            warnings.warn(f"ignoring the unreadable training checkpoint {self.path}: {exc}", stacklevel=2)
            return None
        if not isinstance(state, dict) or state.get("fingerprint") != self.key:
            return None
        return state

    def save(self, state: dict) -> None:
        """Write ``state`` atomically (a kill while writing leaves the previous checkpoint)."""
        if not self.enabled:
            return
        import torch

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f"{FILE}.tmp{os.getpid()}"
            torch.save({**state, "fingerprint": self.key}, tmp)
            os.replace(tmp, self.path)
        except OSError as exc:
            self.enabled = False
            warnings.warn(f"training checkpoints disabled: cannot write {self.path}: {exc}", stacklevel=2)

    def clear(self) -> None:
        """Remove the checkpoint (and its folder when empty): the training it saved has finished."""
        if self.path is None:
            return
        try:
            self.path.unlink(missing_ok=True)
            for tmp in self.folder.glob(f"{FILE}.tmp*"):  # left by a process killed while writing
                tmp.unlink(missing_ok=True)
            self.folder.rmdir()
        except OSError:
            pass
