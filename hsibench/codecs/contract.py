"""The codec contract as checks anyone can run: built-in codecs (tests/test_contract.py) and plugins alike.

Each ``check_*`` function raises :class:`ContractViolation` (an ``AssertionError``) saying what
is wrong; :func:`check` runs them all on one spec and returns ``(check name, problem or None)``
pairs (``hsibench codecs check SPEC`` prints them).  What every codec must do (DESIGN.md):
round trip to a finite float32 cube of the same shape, never exceed the target rate, gain
quality with rate, decode from the bytes alone (a fresh instance with default parameters),
give the same bytes for the same inputs, reject garbage, truncated and bit-flipped bytes with
``CorruptDataError``, reject NaN cubes, wrong dimensions and bad rates, and code a constant cube.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..errors import CorruptDataError, InvalidCubeError, InvalidRateError
from .base import Codec, get, parse_spec

DEFAULT_RATES = (0.5, 1.0, 2.0)


class ContractViolation(AssertionError):
    """A codec breaks the contract; the message says which rule and how."""


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ContractViolation(message)


def contract_cube() -> np.ndarray:
    """The small cube of :func:`check`: the synthetic scene at 24 x 20 x 16 (uint16, deterministic)."""
    from ..datasets import synthetic

    return synthetic(rows=24, cols=20, bands=16, seed=0)


def _psnr(x: np.ndarray, y: np.ndarray) -> float:
    from .. import metrics

    return metrics.psnr(x, y, data_range=max(metrics.data_range_of(x), 1.0))


def check_round_trip(codec: Codec, cube: np.ndarray, rates: Sequence[float], streams: Sequence[bytes]) -> None:
    """Bytes at or below each rate that decode to a finite float32 cube of the original shape."""
    for rate, data in zip(rates, streams):
        _require(isinstance(data, bytes), f"encode returned {type(data).__name__}, not bytes")
        _require(8 * len(data) / cube.size <= rate + 1e-12,
                 f"{8 * len(data) / cube.size:.4f} bpppb exceeds the target {rate:g}")
        out = codec.decode(data, **codec.secrets())
        _require(out.shape == cube.shape and out.dtype == np.float32,
                 f"decode gave {out.shape} {out.dtype}, expected {cube.shape} float32")
        _require(bool(np.isfinite(out).all()), "decode gave non-finite values")


def check_quality_rises(codec: Codec, cube: np.ndarray, streams: Sequence[bytes]) -> None:
    """PSNR never drops by more than 0.05 dB from one rate to the next, and the top rate beats the bottom."""
    psnrs = [_psnr(cube, codec.decode(d, **codec.secrets())) for d in streams]
    _require(all(b >= a - 0.05 for a, b in zip(psnrs, psnrs[1:])) and psnrs[-1] > psnrs[0],
             f"PSNR does not rise with the rate: {', '.join(f'{p:.2f}' for p in psnrs)} dB")


def check_bytes_alone(spec: str, codec: Codec, streams: Sequence[bytes]) -> None:
    """A fresh instance with default parameters decodes every stream to the same cube."""
    fresh = get(parse_spec(spec)[0])
    for data in streams:
        _require(np.array_equal(fresh.decode(data, **codec.secrets()), codec.decode(data, **codec.secrets())),
                 "a fresh default instance decodes the stream differently: decode must need only the bytes")


def check_deterministic(spec: str, cube: np.ndarray, rate: float, stream: bytes) -> None:
    """The same spec, cube and rate give the same bytes."""
    _require(get(spec).encode(cube, bpppb=rate) == stream, "encoding the same cube twice gave different bytes")


def check_garbage_rejected(codec: Codec, streams: Sequence[bytes]) -> None:
    """Random bytes, no bytes, a flipped bit and a truncated stream raise CorruptDataError."""
    data = streams[-1]
    flipped = bytearray(data)
    flipped[len(data) // 2 + 20 if len(data) > 60 else -1] ^= 0x40
    rng = np.random.default_rng(1)
    cases = {"random bytes": rng.integers(0, 256, len(data), dtype=np.uint8).tobytes(), "no bytes": b"",
             "a flipped bit": bytes(flipped), "a truncated stream": data[: len(data) - 3]}
    for what, bad in cases.items():
        try:
            codec.decode(bad, **codec.secrets())
        except CorruptDataError:
            continue
        except Exception as exc:  # noqa: BLE001 - any other exception breaks the contract
            raise ContractViolation(f"decode of {what} raised {type(exc).__name__}, not CorruptDataError") from None
        raise ContractViolation(f"decode of {what} returned a cube instead of raising CorruptDataError")


def check_bad_inputs(codec: Codec, cube: np.ndarray) -> None:
    """NaN cubes, 2-D and empty arrays raise InvalidCubeError; rates 0, -1, NaN and above the bit depth InvalidRateError."""
    nan = cube.astype(np.float32)
    nan[1, 2, 3] = np.nan
    for what, bad in {"a NaN cube": nan, "a 2-D array": cube[:, :, 0], "an empty cube": cube[:0]}.items():
        try:
            codec.encode(bad, bpppb=1.0)
        except InvalidCubeError:
            continue
        raise ContractViolation(f"encoding {what} did not raise InvalidCubeError")
    for rate in (0, -1, float("nan"), np.dtype(cube.dtype).itemsize * 8 + 1):
        try:
            codec.encode(cube, bpppb=rate)
        except InvalidRateError:
            continue
        raise ContractViolation(f"a rate of {rate} did not raise InvalidRateError")


def check_constant(codec: Codec, cube: np.ndarray, rate: float) -> None:
    """A constant cube decodes to within 1 of its value."""
    const = np.full(cube.shape, 1234, dtype=cube.dtype)
    out = codec.decode(codec.encode(const, bpppb=rate), **codec.secrets())
    _require(float(np.abs(out - 1234).max()) < 1.0, "a constant cube does not decode to its value")


def check(spec: str, rates: Sequence[float] = DEFAULT_RATES, cube: np.ndarray | None = None
          ) -> list[tuple[str, str | None]]:
    """Run every check on ``spec`` at ``rates`` (increasing); ``(name, None)`` for each check passed."""
    cube = contract_cube() if cube is None else cube
    rates = sorted(float(r) for r in rates)
    codec = get(spec)
    try:
        streams = [codec.encode(cube, bpppb=r) for r in rates]
    except Exception as exc:  # noqa: BLE001
        return [("encode", f"{type(exc).__name__}: {exc}")]
    checks: list[tuple[str, Callable[[], None]]] = [
        ("round trip, shape, dtype and rate", lambda: check_round_trip(codec, cube, rates, streams)),
        ("quality rises with rate", lambda: check_quality_rises(codec, cube, streams)),
        ("decode from the bytes alone", lambda: check_bytes_alone(spec, codec, streams)),
        ("same inputs, same bytes", lambda: check_deterministic(spec, cube, rates[0], streams[0])),
        ("garbage bytes rejected", lambda: check_garbage_rejected(codec, streams)),
        ("bad cubes and rates rejected", lambda: check_bad_inputs(codec, cube)),
        ("constant cube", lambda: check_constant(codec, cube, rates[-1])),
    ]
    results = []
    for name, run in checks:
        try:
            run()
            results.append((name, None))
        except Exception as exc:  # noqa: BLE001 - report every check, not only the first failure
            results.append((name, str(exc) if isinstance(exc, ContractViolation) else f"{type(exc).__name__}: {exc}"))
    return results
