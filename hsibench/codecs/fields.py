"""Typed, range-checked reads of a stream's JSON decode parameters.

JSON gives a decoder whatever its author wrote: a string where a count belongs, ``true`` for
``1``, ``1e308`` or ``NaN`` for a scale, ``2.5`` levels.  Every decoder reads its parameters
through these functions, which accept exactly the JSON types an encoder writes and values in
the range it can produce, and raise :class:`CorruptDataError` naming the codec, the field and
what it must be.  No ``int(...)`` or ``float(...)`` coercion: a crafted ``"3"`` or ``true`` is
refused, not reinterpreted.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import CorruptDataError

#: bound on values in a cube's own units (means, ranges, offsets): cubes are limited to the float32
#: range (validate_cube), so 2**129 leaves room for rounding and keeps arithmetic far from overflow
VALUE_MAX = 2.0**129
_MISSING = object()


def _get(p: dict, key: str, codec: str, default: Any) -> Any:
    if not isinstance(p, dict):
        raise CorruptDataError(f"the {codec} stream's parameters are not a JSON object")
    if key in p:
        return p[key]
    if default is _MISSING:
        raise CorruptDataError(f"the {codec} stream's header lacks the parameter '{key}'")
    return default


def is_int(v: Any) -> bool:
    """A JSON integer (not a bool, not a float)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    """A finite JSON number (int or float, not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_value(v: Any) -> bool:
    """A finite JSON number within ``VALUE_MAX`` (a value in a cube's units)."""
    return is_number(v) and abs(v) <= VALUE_MAX


def read_list(p: dict, key: str, codec: str, n: int, item, what: str) -> list:
    """A list of ``n`` elements, each accepted by the predicate ``item`` (``what`` says what they must be)."""
    v = _get(p, key, codec, _MISSING)
    if not (isinstance(v, list) and len(v) == n and all(map(item, v))):
        raise CorruptDataError(f"the {codec} stream's '{key}' must be a list of {n} {what}; got {v!r}")
    return v


def read_int(p: dict, key: str, codec: str, lo: int, hi: int, default: Any = _MISSING) -> int:
    """An integer parameter in ``lo..hi``."""
    v = _get(p, key, codec, default)
    if not is_int(v) or not lo <= v <= hi:
        raise CorruptDataError(f"the {codec} stream's '{key}' must be an integer in {lo}..{hi}; got {v!r}")
    return v


def read_number(p: dict, key: str, codec: str, lo: float = -VALUE_MAX, hi: float = VALUE_MAX,
                default: Any = _MISSING, positive: bool = False) -> int | float:
    """A finite number in ``[lo, hi]`` (``positive``: also > 0), as written (int or float)."""
    v = _get(p, key, codec, default)
    if not is_number(v) or not lo <= v <= hi or (positive and not v > 0):
        what = "a positive" if positive else "a finite"
        raise CorruptDataError(f"the {codec} stream's '{key}' must be {what} number in [{lo:g}, {hi:g}]; got {v!r}")
    return v


def read_choice(p: dict, key: str, codec: str, choices, default: Any = _MISSING) -> Any:
    """One of ``choices`` (compared by type and value: ``1`` is not ``true``)."""
    v = _get(p, key, codec, default)
    if not any(type(v) is type(c) and v == c for c in choices):
        raise CorruptDataError(
            f"the {codec} stream's '{key}' must be one of {', '.join(map(repr, choices))}; got {v!r}"
        )
    return v


def read_range(lo: float, hi: float, codec: str) -> tuple[float, float]:
    """A value range ``lo <= hi`` (both already read as numbers)."""
    if lo > hi:
        raise CorruptDataError(f"the {codec} stream's value range [{lo:g}, {hi:g}] is empty")
    return lo, hi
