"""hsibench: a benchmark suite for lossy hyperspectral-image compression.

The notebook API, two functions::

    import hsibench
    df = hsibench.run(codecs="pca,speck", datasets="synthetic", rates=[0.25, 1])
    df = hsibench.load("results/synthetic")            # a run's records, any time later

Both return a pandas DataFrame with the columns of ``hsibench report --format csv``.  The
sub-packages (``hsibench.codecs``, ``hsibench.datasets``, ``hsibench.metrics``, ...) are
imported on first use, so ``import hsibench`` stays a few milliseconds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Sequence

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    import pandas

_SUBMODULES = {"bd", "cli", "codecs", "datasets", "environment", "errors", "executors", "fuzz", "matching",
               "metrics", "plots", "presets", "report", "results", "runner", "streams", "tasks"}


def __getattr__(name: str) -> Any:
    """Import a sub-module on first access (``hsibench.codecs.get(...)`` after ``import hsibench``)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'hsibench' has no attribute {name!r}")


def _specs(value: str | Sequence[str] | None) -> list[str] | None:
    """A comma-separated string or a list of specs -> a list (commas inside brackets kept)."""
    if value is None:
        return None
    from .codecs import split_specs

    if isinstance(value, str):
        return split_specs(value)
    return [s for v in value for s in split_specs(str(v))]


def run(codecs: str | Sequence[str] | None = None, datasets: str | Sequence[str] = "synthetic",
        rates: str | Sequence[float] | None = None, out: str | None = None, **options: Any) -> "pandas.DataFrame":
    """Run codecs x datasets x rates like ``hsibench run`` and return this command's records as a DataFrame.

    ``codecs``: specs as a list or one comma-separated string (default: every codec in the
    default run); ``datasets``: names, specs or file paths (default ``"synthetic"``);
    ``rates``: bpppb (default 0.1, 0.25, 0.5, 1, 2); ``out``: the run directory (default
    ``results/<dataset>`` as the CLI, so running the same call again resumes).  ``options``
    are :func:`hsibench.runner.run`'s keywords: ``seeds``, ``jobs``, ``force``, ``data_dir``,
    ``download``, ``progress``, ``keep_streams``, ``warmup``, ``preset``, ``match_rate``,
    ``executor``.  One row per task of this call (newest record of each key; failed tasks are
    rows with ``status == "failed"`` and the ``error``), columns as the report's CSV.
    """
    from . import report, runner
    from .results import load_records

    if isinstance(rates, str):
        rates = [float(r) for r in rates.split(",") if r.strip()]
    summary = runner.run(dataset_specs=_specs(datasets) or [runner.DEFAULT_DATASET], codec_specs=_specs(codecs),
                         rates=runner.DEFAULT_RATES if rates is None else list(rates), out=out, **options)
    keys = set(summary.keys)
    return report.frame([r for r in load_records(summary.out) if r.get("key") in keys])


def load(run_dir: str) -> "pandas.DataFrame":
    """The records of a run directory (or a ``records.jsonl`` file) as the report's CSV columns."""
    from . import report
    from .results import load_records

    return report.frame(load_records(run_dir))


__all__ = ["__version__", "load", "run"]
