"""What every network codec of the family needs around its training, without importing torch.

* :func:`require_torch` imports torch or raises :class:`MissingDependencyError` naming the codec;
* :func:`training_device` resolves ``device=auto|cpu|cuda`` on this machine;
* :func:`torch_threads` sets torch's CPU thread count for one training and restores it;
* :func:`progress_bar` is the tqdm bar every trainer shows on stderr (off with ``progress=false``,
  when ``HSIBENCH_NO_PROGRESS`` is set, or when stderr is not a terminal).

Torch is imported only inside these functions, so ``import hsibench.codecs`` never needs it.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator

from ...errors import InvalidParameterError, MissingDependencyError


def require_torch(codec: str) -> Any:
    """The torch module, or an error saying that ``codec`` needs it and how to install it."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", f"the {codec} codec") from None
    return torch


def training_device(device: str, codec: str) -> str:
    """The device ``device`` (auto, cpu or cuda) means on this machine; an error if CUDA is asked and absent."""
    torch = require_torch(codec)
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"{codec}[device=cuda]: no CUDA device is available to torch; use device=cpu or auto")
    return device


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch using ``threads`` CPU threads (None: leave the setting), then restore it."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        if threads:
            torch.set_num_threads(before)


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar on stderr for ``total`` steps; disabled as the module docstring says."""
    from tqdm.auto import tqdm

    disable = (not enabled) or bool(os.environ.get("HSIBENCH_NO_PROGRESS")) or None
    return tqdm(total=total, desc=desc, file=sys.stderr, disable=disable, leave=False, dynamic_ncols=True)
