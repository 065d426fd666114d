"""Codec plugins: codecs from other installed distributions, through the entry-point group ``hsibench.codecs``.

A distribution declares, in its ``pyproject.toml``::

    [project.entry-points."hsibench.codecs"]
    mycodec = "mypkg.codec:MyCodec"

and ``MyCodec`` (a :class:`~hsibench.codecs.base.Codec` subclass whose ``name`` is
``"mycodec"`` and which declares an integer ``revision``) is registered on the
first lookup that needs it (``names()``, or ``get``/``codec_class`` of a name that is not built
in): in ``hsibench codecs list``, ``hsibench run``, and every worker process (``--jobs`` spawns
workers that look codecs up afresh, so they load the same plugins; Dask workers need the plugin installed, like hsibench itself).

A plugin that cannot be loaded (an import error, not a Codec, a clashing name) never breaks
hsibench: it is left out with a warning, and :func:`errors` lists why (``codecs list`` shows it).
"""

from __future__ import annotations

import warnings
from importlib import metadata

from .base import Codec, codec_class, names, register

GROUP = "hsibench.codecs"

_ERRORS: dict[str, str] = {}  # entry-point name -> why it was left out
_SOURCES: dict[str, str] = {}  # codec name -> "distribution version" it came from


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=GROUP))


def _load_one(ep: metadata.EntryPoint) -> None:
    cls = ep.load()
    if not (isinstance(cls, type) and issubclass(cls, Codec)):
        raise TypeError(f"{ep.value} is not a subclass of hsibench.codecs.Codec")
    if getattr(cls, "name", None) != ep.name:
        raise ValueError(f"the entry point is named {ep.name!r} but {ep.value}.name is {getattr(cls, 'name', None)!r}; "
                         "make them equal")
    if ep.name in names() and codec_class(ep.name) is not cls:
        raise ValueError(f"a codec named {ep.name!r} is already registered (built in or by another plugin)")
    register(cls)


def load() -> None:
    """Register the codec of every ``hsibench.codecs`` entry point (once per process; idempotent)."""
    for ep in _entry_points():
        if ep.name in _SOURCES or ep.name in _ERRORS:
            continue
        dist = getattr(ep, "dist", None)
        origin = f"{dist.name} {dist.version}" if dist is not None else ep.value
        try:
            _load_one(ep)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break hsibench
            _ERRORS[ep.name] = f"{origin}: {type(exc).__name__}: {exc}"
            warnings.warn(f"hsibench: codec plugin {ep.name!r} ({origin}) left out: {type(exc).__name__}: {exc}",
                          RuntimeWarning, stacklevel=2)
            continue
        _SOURCES[ep.name] = origin


def source(name: str) -> str | None:
    """The distribution (name and version) a plugin codec came from; None for built-in codecs."""
    return _SOURCES.get(name)


def errors() -> dict[str, str]:
    """Entry points that were left out, and why."""
    return dict(_ERRORS)
