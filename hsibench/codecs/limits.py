"""Decoder limits: how much a stream may make a decoder allocate, and what a payload can describe.

A stream's CRC proves nothing about its author, so before a decoder allocates anything it
checks two things (DESIGN.md, "Decoders treat every stream as hostile"):

* **the voxel limit**: the output (and every intermediate array sized like an output) has at
  most :func:`max_voxels` voxels: ``DEFAULT_MAX_VOXELS`` (2**31, an 8 GiB float32 cube), or the
  environment variable ``HSIBENCH_MAX_VOXELS``, or the ``max_voxels=`` argument of
  ``Codec.decode``, in increasing precedence;
* **what the payload can honestly carry**: a count of values that a payload must code is
  checked against what its bytes can hold (:func:`check_coded`) before the array for them is
  made.  For the adaptive range coder of :mod:`._bits` the bound is exact arithmetic, not a
  guess: an adaptive model's probability of either symbol stays below ``65433 / 65536`` (its
  fast and slow estimates stop 15 and 127 steps short of the ``32 / 65536`` floor), so every
  binary decision narrows the range by at least 0.00226 bits, and ``n`` bytes can never yield
  more than ``DECISIONS_PER_BYTE * (n + 1)`` decisions before the decoder runs out of input.

Violations raise :class:`hsibench.errors.StreamLimitError` (a ``CorruptDataError``).
"""

from __future__ import annotations

import math
import os

from ..errors import InvalidParameterError, StreamLimitError
from ._coder_constants import FAST_SHIFT, PROB_ONE, SLOW_SHIFT

DEFAULT_MAX_VOXELS = 2**31
ENV_MAX_VOXELS = "HSIBENCH_MAX_VOXELS"


def _decisions_per_byte() -> int:
    """Most decisions one byte of range-coded input can carry (see the module docstring).

    The likelier symbol's probability is at most ``top / PROB_ONE`` with ``top`` the mean of the
    fast and slow estimates' ceilings; the decoder's integer rounding can keep up to
    ``(PROB_ONE - top) / 2**24`` more of a range that is at least ``2**24``.
    """
    ceiling = PROB_ONE - 32
    top = ((ceiling - ((1 << FAST_SHIFT) - 1)) + (ceiling - ((1 << SLOW_SHIFT) - 1))) >> 1
    keep = top / PROB_ONE + (PROB_ONE - top) / 2.0**24
    return math.ceil(8.0 / -math.log2(keep))


#: 3 538 with the coder's constants (a run of the likeliest decisions measures about 3 000)
DECISIONS_PER_BYTE = _decisions_per_byte()


def _as_limit(value, where: str) -> int:
    """A voxel limit from an int, an integral float (``1e10``) or such a string (``"2_000_000"``)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, str):
            text = value.strip().replace("_", "")
            try:
                n = int(text)
            except ValueError:
                n = _integral(float(text))
        else:
            n = _integral(value) if isinstance(value, float) else int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError(f"{where} must be a whole number of voxels >= 1; got {value!r}") from None
    if n < 1:
        raise InvalidParameterError(f"{where} must be a whole number of voxels >= 1; got {value!r}")
    return n


def _integral(f: float) -> int:
    if not f.is_integer():
        raise ValueError
    return int(f)


def max_voxels(override=None) -> int:
    """The voxel limit in force: ``override`` (``decode(max_voxels=...)``), else the environment, else 2**31."""
    if override is not None:
        return _as_limit(override, "max_voxels")
    env = os.environ.get(ENV_MAX_VOXELS, "").strip()
    if env:
        return _as_limit(env, f"the environment variable {ENV_MAX_VOXELS}")
    return DEFAULT_MAX_VOXELS


def check_voxels(count: int, limit: int, what: str) -> None:
    """Raise StreamLimitError if ``what`` (an output or an array sized like one) exceeds ``limit`` voxels."""
    if count > limit:
        raise StreamLimitError(
            f"{what} has {count:,} voxels, above the decoder's limit of {limit:,} voxels "
            f"(default {DEFAULT_MAX_VOXELS:,}); if you trust this stream and have the memory, raise the limit "
            f"with decode(data, max_voxels=N) or the environment variable {ENV_MAX_VOXELS}=N"
        )


def check_shape(shape, limit: int, what: str = "the stream's cube") -> int:
    """The voxel count of ``shape`` (exact, no overflow) after :func:`check_voxels`."""
    count = math.prod(int(s) for s in shape)
    check_voxels(count, limit, f"{what} {'x'.join(str(int(s)) for s in shape)}")
    return count


def max_decisions(nbytes: int) -> int:
    """Most binary decisions the range decoder of :mod:`._bits` can read from ``nbytes`` bytes."""
    return DECISIONS_PER_BYTE * (max(0, int(nbytes)) + 1)


def check_coded(count: int, nbytes: int, what: str) -> None:
    """Raise StreamLimitError unless ``count`` range-coded values (one decision each at least) fit ``nbytes``."""
    if count > max_decisions(nbytes):
        raise StreamLimitError(
            f"the stream claims {count:,} {what}, more than its {nbytes:,} coded bytes can hold "
            f"(at most {max_decisions(nbytes):,} binary decisions): it is corrupt or crafted"
        )
