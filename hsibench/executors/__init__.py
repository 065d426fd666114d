"""Executors: where tasks run.  The driver hands them tasks and gets back (record, stream bytes).

* ``local`` (:class:`LocalExecutor`) — this process, plus ``jobs - 1`` spawned worker processes
  for codecs that run on the CPU (GPU-capable codecs stay in this process).  The default.
* ``dask`` (:class:`~hsibench.executors.dask_executor.DaskExecutor`) — a Dask distributed
  cluster, started here or reached by address; needs the ``dask`` extra
  (``pip install "hsibench[dask]"``) and imports it only when chosen.

:mod:`.base` holds the contract every executor keeps (:class:`Executor`, :func:`worker_failure`).
"""

from __future__ import annotations

from ..errors import InvalidParameterError
from .base import Deliver, Executor, Status, label, worker_failure  # noqa: F401  (the package's vocabulary)
from .local import LocalExecutor


def _dask(**options) -> Executor:
    from .dask_executor import DaskExecutor  # imported on demand: dask is an optional extra

    return DaskExecutor(**options)


EXECUTORS = {"local": LocalExecutor, "dask": _dask}


def make(name: str, **options) -> Executor:
    """The executor called ``name`` (``local`` or ``dask``), configured with ``options``."""
    try:
        factory = EXECUTORS[name]
    except KeyError:
        raise InvalidParameterError(f"unknown executor {name!r}; available: {', '.join(EXECUTORS)}") from None
    return factory(**options)
